//! Connectors: configured provider accounts, and what they can take.

use crate::context::{CaptureMode, PaymentMethodType};
use crate::money::{Country, Currency};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

/// Identifier of a connector (a UUID, stable for the connector's life).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(transparent)]
pub struct ConnectorId(#[cfg_attr(feature = "ts", ts(type = "string"))] pub uuid::Uuid);

impl fmt::Display for ConnectorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A payment service provider (PSP). Serialised snake_case (`"stripe"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    /// Stripe PaymentIntents API.
    Stripe,
    /// Square Payments API v2.
    Square,
    /// Braintree GraphQL API.
    Braintree,
    /// Mollie Payments API v2.
    Mollie,
    /// Deterministic in-process simulator (tests and demo only).
    Simulator,
}

impl Provider {
    /// Lower-case name as stored and serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Stripe => "stripe",
            Provider::Square => "square",
            Provider::Braintree => "braintree",
            Provider::Mollie => "mollie",
            Provider::Simulator => "simulator",
        }
    }
    /// Inverse of [`Self::as_str`].
    pub fn parse(s: &str) -> Option<Provider> {
        match s {
            "stripe" => Some(Provider::Stripe),
            "square" => Some(Provider::Square),
            "braintree" => Some(Provider::Braintree),
            "mollie" => Some(Provider::Mollie),
            "simulator" => Some(Provider::Simulator),
            _ => None,
        }
    }
}

/// Test or live: a connector is only ever called for payments of its own mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Test keys, no real money.
    Test,
    /// Live keys.
    Live,
}

/// Administrative status of a connector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ConnectorStatus {
    /// May be routed to.
    Active,
    /// Never called.
    Disabled,
}

/// Circuit-breaker state as routing sees it (the breaker itself is issue 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum CircuitState {
    /// Healthy: eligible.
    Closed,
    /// Failing: never called.
    Open,
    /// Probing: eligible in its normal place while `probe_budget > 0`.
    HalfOpen {
        /// Probes still allowed now.
        probe_budget: u32,
    },
}

/// What a connector can take. An empty `currencies`/`countries` set means "any".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Capabilities {
    /// ISO 4217 currencies accepted; empty = any.
    #[cfg_attr(feature = "ts", ts(type = "string[]"))]
    pub currencies: BTreeSet<Currency>,
    /// ISO 3166 billing countries accepted; empty = any.
    #[cfg_attr(feature = "ts", ts(type = "string[]"))]
    pub countries: BTreeSet<Country>,
    /// Payment method types accepted (must not be empty to receive traffic).
    pub methods: BTreeSet<PaymentMethodType>,
    /// Capture modes accepted.
    pub capture_modes: BTreeSet<CaptureMode>,
    /// Whether portable tokens (network tokens, vault references) are accepted.
    pub accepts_portable_tokens: bool,
}

impl Capabilities {
    /// Cards only, any currency and country, both capture modes, no portable tokens.
    pub fn cards_anywhere() -> Capabilities {
        Capabilities {
            currencies: BTreeSet::new(),
            countries: BTreeSet::new(),
            methods: BTreeSet::from([PaymentMethodType::Card]),
            capture_modes: BTreeSet::from([CaptureMode::Automatic, CaptureMode::Manual]),
            accepts_portable_tokens: false,
        }
    }
}

/// A configured provider account, as routing sees it (no credentials here).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connector {
    /// Stable id.
    pub id: ConnectorId,
    /// Human name, e.g. "Stripe US Primary".
    pub name: String,
    /// Which PSP.
    pub provider: Provider,
    /// Test or live.
    pub mode: Mode,
    /// Non-negative share of weighted traffic; 0 = no weighted traffic.
    pub weight: u32,
    /// Last resort of every default route (at most one per merchant and mode).
    pub is_primary: bool,
    /// Active or disabled.
    pub status: ConnectorStatus,
    /// What it can take.
    pub capabilities: Capabilities,
    /// Circuit-breaker state.
    pub circuit: CircuitState,
    /// Creation order (ties in weight are broken by it, ascending).
    pub created_seq: i64,
}
