//! The normalised payment context a route is decided for.

use crate::connector::{ConnectorId, Provider};
use crate::money::{Country, Currency, Money, MoneyError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Payment method type (DESIGN.md §3). Serialised snake_case (`"card"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethodType {
    /// Card (credit/debit), tokenised.
    Card,
    /// Wallet (Apple Pay, Google Pay, PayPal...).
    Wallet,
    /// Bank transfer / bank redirect (iDEAL, SEPA...).
    Bank,
}

/// Whether an approval captures at once (`automatic`) or only authorises (`manual`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum CaptureMode {
    /// Approval = captured.
    Automatic,
    /// Approval = authorized; a later capture call moves the money.
    Manual,
}

/// Where a payment-method token may be used (REFERENCE.md §6: tokens never leave their scope).
///
/// JSON: `{"type":"connector","connector_id":"…"}`, `{"type":"provider","provider":"stripe"}`,
/// `{"type":"portable"}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum TokenScope {
    /// One connector account only (a real Stripe `pm_…` belongs to one Stripe account).
    Connector {
        /// The account the token was created on.
        connector_id: ConnectorId,
    },
    /// Any account of one provider (e.g. Stripe's documented test methods `pm_card_visa`).
    Provider {
        /// The provider.
        provider: Provider,
    },
    /// A network token or vault reference; usable on connectors that declare
    /// [`crate::Capabilities::accepts_portable_tokens`].
    Portable,
}

/// One payment-method token and its scope.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct PaymentToken {
    /// The provider's token (`pm_card_visa`, `cnon:…`, `tkn_…`, `sim_approve`).
    pub token: String,
    /// Where it may be used.
    pub scope: TokenScope,
}

/// Why a payment context is invalid. Each variant names the offending field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContextError {
    /// Currency, country or amount rejected.
    #[error(transparent)]
    Money(#[from] MoneyError),
    /// The payment carries no token at all.
    #[error("payment_method.tokens must contain at least one token")]
    NoTokens,
    /// A token string is empty or longer than 255 bytes.
    #[error("payment_method.tokens[{0}].token must be 1..=255 bytes")]
    BadToken(usize),
    /// Metadata too large: at most 50 keys, keys 1..=40 bytes, values <= 500 bytes (Stripe's limits).
    #[error("metadata: {0}")]
    BadMetadata(String),
}

/// A normalised payment context: everything routing may look at. Build it with [`PaymentContext::new`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentContext {
    /// Amount (minor units) and ISO 4217 currency.
    pub money: Money,
    /// Billing country, ISO 3166-1 alpha-2.
    pub country: Country,
    /// Payment method type.
    pub method: PaymentMethodType,
    /// Card brand (`visa`, `mastercard`…), lower case, when known.
    pub card_brand: Option<String>,
    /// Capture mode.
    pub capture: CaptureMode,
    /// Tokens the checkout produced, one per provider/account it tokenised with.
    pub tokens: Vec<PaymentToken>,
    /// Merchant metadata (string keys and values).
    pub metadata: BTreeMap<String, String>,
}

impl PaymentContext {
    /// Validates and normalises raw input (DESIGN.md §4.1): upper-cases currency and country,
    /// checks the amount (minor units, positive, bounded), tokens and metadata sizes.
    ///
    /// Errors: the first problem found, as a [`ContextError`].
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        amount_minor: i64,
        currency: &str,
        country: &str,
        method: PaymentMethodType,
        card_brand: Option<String>,
        capture: CaptureMode,
        tokens: Vec<PaymentToken>,
        metadata: BTreeMap<String, String>,
    ) -> Result<PaymentContext, ContextError> {
        let currency = Currency::parse(currency)?;
        let money = Money::new(amount_minor, currency)?;
        let country = Country::parse(country)?;
        if tokens.is_empty() {
            return Err(ContextError::NoTokens);
        }
        if let Some(i) = tokens
            .iter()
            .position(|t| t.token.is_empty() || t.token.len() > 255)
        {
            return Err(ContextError::BadToken(i));
        }
        if metadata.len() > 50 {
            return Err(ContextError::BadMetadata("at most 50 keys".into()));
        }
        for (k, v) in &metadata {
            if k.is_empty() || k.len() > 40 {
                return Err(ContextError::BadMetadata(format!(
                    "key {k:?} must be 1..=40 bytes"
                )));
            }
            if v.len() > 500 {
                return Err(ContextError::BadMetadata(format!(
                    "value of {k:?} must be <= 500 bytes"
                )));
            }
        }
        Ok(PaymentContext {
            money,
            country,
            method,
            card_brand: card_brand.map(|b| b.to_ascii_lowercase()),
            capture,
            tokens,
            metadata,
        })
    }
}
