//! Payments: see crate docs.
