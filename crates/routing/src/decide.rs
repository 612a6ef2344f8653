//! The route decision: DESIGN.md §4, exactly.
//!
//! [`decide`] takes the normalised context, the merchant's connectors, the published policy, the
//! payment's mode and a random roll in `[0, 1)`, and returns the ordered path of connectors to try
//! plus a [`RouteTrace`] with a verdict for every connector. Same inputs + same roll = same output.

use crate::connector::{Connector, ConnectorId, Mode};
use crate::context::PaymentContext;
use crate::policy::{Policy, PolicyIssue};
use crate::money::{Country, Currency};
use crate::context::{CaptureMode, PaymentMethodType};
use serde::{Deserialize, Serialize};

/// How the path was chosen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RouteSource {
    /// Rule `index` (0-based) named `name` matched; weights were ignored.
    Rule {
        /// 0-based rule index.
        index: u32,
        /// Rule name.
        name: String,
    },
    /// No rule matched; weighted pick with this roll.
    Weighted {
        /// The roll in `[0, 1)`.
        roll: f64,
    },
    /// No rule matched and no weighted connector was eligible; the primary alone.
    Primary,
    /// Nothing eligible: the payment fails with `no_eligible_connector`.
    NoEligibleConnector,
}

/// Why a connector is in the path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SelectReason {
    /// Listed in the matched rule's path at this 0-based position.
    RulePath {
        /// Position in the rule's path.
        position: u32,
    },
    /// Won the weighted pick: `lower <= roll < upper`.
    WeightedPick {
        /// Lower bound of its interval.
        lower: f64,
        /// Upper bound of its interval.
        upper: f64,
        /// The roll.
        roll: f64,
    },
    /// Another eligible weighted connector, ordered by descending weight.
    WeightedOrder {
        /// Its weight.
        weight: u32,
    },
    /// The primary, last resort of the default route.
    PrimaryLastResort,
}

/// Why a connector is not in the path (or not called).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SkipReason {
    /// Status is disabled.
    Disabled,
    /// Connector is in the other mode (test vs live).
    OtherMode {
        /// The connector's mode.
        connector_mode: Mode,
    },
    /// Circuit open.
    CircuitOpen,
    /// Half-open with no probe budget left.
    ProbeBudgetExhausted,
    /// Weight 0: receives no weighted traffic (and is not the primary).
    WeightZero,
    /// Currency not in its capabilities.
    CurrencyUnsupported {
        /// The payment currency.
        #[cfg_attr(feature = "ts", ts(type = "string"))]
        currency: Currency,
    },
    /// Billing country not in its capabilities.
    CountryUnsupported {
        /// The billing country.
        #[cfg_attr(feature = "ts", ts(type = "string"))]
        country: Country,
    },
    /// Payment method type not accepted.
    MethodUnsupported {
        /// The payment method type.
        method: PaymentMethodType,
    },
    /// Capture mode not accepted.
    CaptureModeUnsupported {
        /// The capture mode.
        capture: CaptureMode,
    },
    /// None of the payment's tokens may be used on this connector.
    NoUsableToken,
    /// A rule matched and this connector is not in it.
    NotInMatchedRule,
    /// Eligible, but the path cap was reached before its turn.
    PathCapReached,
}

/// Verdict for one connector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// In the path at this 0-based position.
    Selected {
        /// Position in the path.
        position: u32,
        /// Why.
        reason: SelectReason,
    },
    /// Not in the path.
    Skipped {
        /// Why.
        reason: SkipReason,
    },
}

/// One line of the trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TraceEntry {
    /// Connector id.
    pub connector_id: ConnectorId,
    /// Connector name at decision time.
    pub connector_name: String,
    /// Verdict.
    pub verdict: Verdict,
    /// Human sentence, the same text "explain" shows, e.g.
    /// `"Stripe EU Backup: selected #1, rule 1 \"EUR to EU\" matched"` or
    /// `"Square Fallback: skipped, no token usable on Square Fallback"`.
    pub explanation: String,
}

/// The trace: one entry per connector of the merchant (in the input order), plus the source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RouteTrace {
    /// How the path was chosen.
    pub source: RouteSource,
    /// One entry per connector.
    pub entries: Vec<TraceEntry>,
}

/// The decision: the ordered path (length <= policy.max_attempts) and its trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RouteDecision {
    /// Connectors to call, in order. Empty = `no_eligible_connector`.
    pub path: Vec<ConnectorId>,
    /// Why each connector is or is not in it.
    pub trace: RouteTrace,
}

/// Decides the route (DESIGN.md §4):
/// 1. rules in priority order; the first match gives the whole route (weights ignored, no fall
///    through to weights or the primary); a rule whose steps are all ineligible gives an empty path;
/// 2. no match: weighted pick among eligible connectors with weight > 0, intervals laid out by
///    descending weight (ties by `created_seq`), `roll` in `[0, 1)` picks the first step; then the
///    other eligible weighted connectors by descending weight; then the primary (once);
/// 3. no eligible weighted connector: the primary alone, if eligible;
/// 4. eligibility: active, same `mode`, circuit not open (half-open only with probe budget),
///    capabilities (currency, country, method, capture mode) and at least one usable token;
/// 5. the path is capped at `policy.max_attempts`.
///
/// `roll` outside `[0, 1)` (or NaN) is clamped into it. Never panics.
pub fn decide(
    ctx: &PaymentContext,
    connectors: &[Connector],
    policy: &Policy,
    mode: Mode,
    roll: f64,
) -> RouteDecision {
    let _ = (ctx, connectors, policy, mode, roll);
    RouteDecision {
        path: Vec::new(),
        trace: RouteTrace { source: RouteSource::NoEligibleConnector, entries: Vec::new() },
    }
}

/// The token of `ctx` to send to `connector`, if any (connector-scoped first, then
/// provider-scoped, then portable when the connector accepts portable tokens).
pub fn usable_token<'a>(ctx: &'a PaymentContext, connector: &Connector) -> Option<&'a str> {
    let _ = (ctx, connector);
    None
}

pub(crate) fn validate(policy: &Policy, known: &[ConnectorId]) -> Vec<PolicyIssue> {
    let _ = (policy, known);
    Vec::new()
}
