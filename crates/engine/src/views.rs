//! Read models the console receives over IPC. Plain data; TypeScript bindings are generated from
//! these by `src-tauri` (ts-rs) and committed in `ui/src/bindings/`; a test fails when stale.
//!
//! Conventions: timestamps are UTC milliseconds since the Unix epoch (`*_ms`); amounts are integer
//! minor units plus an ISO 4217 `currency`, with a pre-formatted decimal `amount_display`.

use routing::{OutcomeClass, PaymentStatus, RouteTrace};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// One connector card in the Connectors view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ConnectorView {
    /// Connector id (UUID).
    pub id: String,
    /// Name, e.g. "Stripe US Primary".
    pub name: String,
    /// Provider (`stripe`, `simulator`…).
    pub provider: String,
    /// `test` or `live`.
    pub mode: String,
    /// Weighted-traffic share (0 = drained).
    pub weight: u32,
    /// The merchant's primary (last resort).
    pub is_primary: bool,
    /// `active` or `disabled`.
    pub status: String,
    /// Circuit state (`closed`, `open`, `half_open`).
    pub circuit: String,
    /// Provider calls in the last 24 h.
    #[ts(type = "number")]
    pub attempts_24h: i64,
    /// Approved calls in the last 24 h.
    #[ts(type = "number")]
    pub approved_24h: i64,
    /// approved / (approved + declined + failed) over the last 24 h, `null` without traffic.
    pub approval_rate_24h: Option<f64>,
    /// p95 latency of calls in the last 24 h, milliseconds.
    #[ts(type = "number | null")]
    pub p95_latency_ms: Option<i64>,
}

/// One row of the payments list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct PaymentSummary {
    /// Payment id (UUID).
    pub id: String,
    /// Merchant's order reference.
    pub merchant_reference: Option<String>,
    /// Amount, minor units.
    #[ts(type = "number")]
    pub amount_minor: i64,
    /// ISO 4217 currency.
    pub currency: String,
    /// Decimal amount with the currency's exponent ("10.50").
    pub amount_display: String,
    /// Status.
    pub status: PaymentStatus,
    /// Creation time, UTC ms.
    #[ts(type = "number")]
    pub created_at_ms: i64,
    /// Provider calls made.
    pub attempt_count: i32,
    /// Name of the connector of the last attempt.
    pub last_connector: Option<String>,
}

/// One attempt column of the payment detail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct AttemptView {
    /// Attempt id (UUID), also the provider idempotency key.
    pub id: String,
    /// 1-based order within the payment.
    pub seq: i32,
    /// Connector id.
    pub connector_id: String,
    /// Connector name.
    pub connector_name: String,
    /// Provider.
    pub provider: String,
    /// `pending`, `succeeded`, `failed`, `requires_action`, `unknown`.
    pub status: String,
    /// Outcome class, once answered.
    pub outcome: Option<OutcomeClass>,
    /// Provider reference (`pi_…`).
    pub provider_reference: Option<String>,
    /// Provider's own status string.
    pub provider_status: Option<String>,
    /// HTTP status of the provider's answer.
    pub http_status: Option<i32>,
    /// Provider error code.
    pub raw_code: Option<String>,
    /// Provider decline code.
    pub decline_code: Option<String>,
    /// Provider's message or our transport error description.
    pub message: Option<String>,
    /// When the request was sent, UTC ms.
    #[ts(type = "number")]
    pub requested_at_ms: i64,
    /// When the answer (or timeout) came, UTC ms.
    #[ts(type = "number | null")]
    pub responded_at_ms: Option<i64>,
    /// Latency, ms.
    #[ts(type = "number | null")]
    pub latency_ms: Option<i64>,
    /// The decision taken after this attempt (`succeed`, `stop`, `fall_back`, `reconcile`…).
    pub next_step: Option<String>,
    /// Human explanation of that decision.
    pub next_step_detail: Option<String>,
    /// Result of a reconciliation (retrieve) of this attempt, when one was made.
    pub reconciliation: Option<String>,
}

/// One event of a payment's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct EventView {
    /// Event sequence number.
    #[ts(type = "number")]
    pub id: i64,
    /// UTC ms.
    #[ts(type = "number")]
    pub at_ms: i64,
    /// `api`, `provider_response`, `webhook`, `reconciler`, `operator`.
    pub cause: String,
    /// Event kind (`payment_created`, `attempt_started`, `status_changed`…).
    pub kind: String,
    /// Payment status before, when it changed.
    pub from_status: Option<String>,
    /// Payment status after, when it changed.
    pub to_status: Option<String>,
    /// Attempt the event is about, if any.
    pub attempt_id: Option<String>,
    /// Human detail.
    pub detail: String,
}

/// Everything the payment detail view shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct PaymentDetail {
    /// The list-row fields.
    pub summary: PaymentSummary,
    /// ISO 3166 billing country.
    pub country: String,
    /// `card`, `wallet`, `bank`.
    pub method: String,
    /// `automatic` or `manual`.
    pub capture_mode: String,
    /// Captured amount, minor units.
    #[ts(type = "number")]
    pub captured_minor: i64,
    /// Refunded amount, minor units.
    #[ts(type = "number")]
    pub refunded_minor: i64,
    /// Mode (`test`/`live`).
    pub mode: String,
    /// Why the payment failed (`card_declined`, `no_eligible_connector`…), if it did.
    pub failure_code: Option<String>,
    /// Human failure explanation.
    pub failure_message: Option<String>,
    /// Where the customer must go (3DS), for `requires_action`.
    pub next_action_url: Option<String>,
    /// Route decision and its trace.
    pub route: RouteTrace,
    /// Attempts in order.
    pub attempts: Vec<AttemptView>,
    /// Event log in order.
    pub events: Vec<EventView>,
    /// Last update, UTC ms.
    #[ts(type = "number")]
    pub updated_at_ms: i64,
}

/// One audit-log row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct AuditEntry {
    /// Sequence number.
    #[ts(type = "number")]
    pub id: i64,
    /// UTC ms.
    #[ts(type = "number")]
    pub at_ms: i64,
    /// Who (database role or console user).
    pub actor: String,
    /// `connector`, `policy`…
    pub entity: String,
    /// Entity id.
    pub entity_id: String,
    /// `set_weight`…
    pub action: String,
    /// Reason given.
    pub reason: String,
    /// JSON before (no secrets).
    pub before: String,
    /// JSON after (no secrets).
    pub after: String,
}

/// Payments search input. `query` matches a payment id, a merchant reference or a provider
/// reference exactly (a prefix of a merchant reference too); empty = latest payments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct PaymentSearch {
    /// Free text, see above.
    pub query: String,
    /// Restrict to a status.
    pub status: Option<PaymentStatus>,
    /// Maximum rows (1..=1000, default 200).
    pub limit: Option<u32>,
}

/// Set a connector's weight (0 = drain). The reason is required and audited.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct SetWeight {
    /// Connector id.
    pub connector_id: String,
    /// New weight (0..=1000).
    pub weight: u32,
    /// Why (required, 3..=500 chars).
    pub reason: String,
}

/// An error as the console receives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct CommandError {
    /// Stable machine-readable code (see `EngineError::code`).
    pub code: String,
    /// Human sentence.
    pub message: String,
}

impl From<crate::EngineError> for CommandError {
    fn from(e: crate::EngineError) -> Self {
        let message = match &e {
            crate::EngineError::Database(_) => {
                "the database is unavailable or refused the request".to_owned()
            }
            other @ (crate::EngineError::InvalidInput { .. }
            | crate::EngineError::NotFound { .. }
            | crate::EngineError::IdempotencyKeyReused
            | crate::EngineError::IdempotencyKeyInUse
            | crate::EngineError::InvalidState { .. }
            | crate::EngineError::Internal(_)) => other.to_string(),
        };
        CommandError {
            code: e.code().to_owned(),
            message,
        }
    }
}
