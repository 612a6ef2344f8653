//! Stripe PaymentIntents adapter (stub).
