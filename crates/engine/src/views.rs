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
            | crate::EngineError::Internal(_)
            | crate::EngineError::Vault(_)
            | crate::EngineError::Forbidden { .. }) => other.to_string(),
        };
        CommandError {
            code: e.code().to_owned(),
            message,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Issue 4: console views at scale (timeline, search pages, fallback matrix, charts, finance,
// operators, policies, audit). Owned by the console-backend helper.
// ---------------------------------------------------------------------------------------------

/// Search filters with keyset pagination (issue 4 §2). Every field is optional; filters AND.
/// Results are newest first by `(created_at, id)`; pass the previous page's `next_cursor` as
/// `cursor` to get the next page.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct SearchFilter {
    /// Exact payment id (UUID).
    #[ts(optional)]
    pub payment_id: Option<String>,
    /// Merchant reference, prefix match (case-sensitive).
    #[ts(optional)]
    pub merchant_reference: Option<String>,
    /// Exact provider reference of any attempt (`pi_…`).
    #[ts(optional)]
    pub provider_reference: Option<String>,
    /// Amount lower bound, minor units, inclusive (set min = max for an exact amount).
    #[ts(optional, type = "number")]
    pub amount_min_minor: Option<i64>,
    /// Amount upper bound, minor units, inclusive.
    #[ts(optional, type = "number")]
    pub amount_max_minor: Option<i64>,
    /// ISO 4217 currency.
    #[ts(optional)]
    pub currency: Option<String>,
    /// Created at or after, UTC ms.
    #[ts(optional, type = "number")]
    pub from_ms: Option<i64>,
    /// Created before, UTC ms (exclusive).
    #[ts(optional, type = "number")]
    pub to_ms: Option<i64>,
    /// Payment status.
    #[ts(optional)]
    pub status: Option<PaymentStatus>,
    /// Payments with an attempt on this connector (UUID).
    #[ts(optional)]
    pub connector_id: Option<String>,
    /// Payments with an attempt of this outcome class (on `connector_id` when both are given).
    #[ts(optional)]
    pub outcome: Option<OutcomeClass>,
    /// Free text: a payment id, provider reference or merchant-reference prefix (as the old
    /// [`PaymentSearch::query`]). Empty = no text filter.
    #[ts(optional)]
    pub query: Option<String>,
    /// Opaque cursor from [`PaymentPage::next_cursor`].
    #[ts(optional)]
    pub cursor: Option<String>,
    /// Page size, 1..=500 (default 100).
    #[ts(optional)]
    pub limit: Option<u32>,
}

/// One page of search results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct PaymentPage {
    /// Rows, newest first.
    pub rows: Vec<PaymentSummary>,
    /// Cursor for the next page; `null` when this is the last page.
    pub next_cursor: Option<String>,
}

/// One mark on an attempt lane (or the payment lane) of the timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct TimelineMark {
    /// UTC ms.
    #[ts(type = "number")]
    pub at_ms: i64,
    /// `route_decided`, `request_sent`, `response`, `timeout`, `classified`, `fallback_decision`,
    /// `reconciled`, `provider_webhook`, `provider_webhook_rejected`, `merchant_webhook`,
    /// `status_changed`, `event`.
    pub kind: String,
    /// Short label for the lane ("HTTP 402 card_declined", "fall back to Adyen EU").
    pub label: String,
    /// Longer text (message, raw codes, reason).
    pub detail: String,
}

/// One attempt lane: the attempt and its marks on the shared time axis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct AttemptLane {
    /// The attempt.
    pub attempt: AttemptView,
    /// Marks in time order.
    pub marks: Vec<TimelineMark>,
}

/// Whether one attempt holds (or may hold) the customer's money.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ChargeHold {
    /// Attempt id.
    pub attempt_id: String,
    /// 1-based attempt number.
    pub seq: i32,
    /// Connector name.
    pub connector_name: String,
    /// Provider reference to look up at the PSP (copyable).
    pub provider_reference: Option<String>,
    /// Amount held, minor units (the payment amount).
    #[ts(type = "number")]
    pub amount_minor: i64,
    /// `charged` (approved: authorized or captured) or `possibly_charged` (unknown outcome,
    /// not reconciled to a definite answer).
    pub state: String,
}

/// "Was the customer charged twice, and where?" answered from the attempts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ChargeSummary {
    /// Attempts that hold money (approved) or may (unknown outcome).
    pub holds: Vec<ChargeHold>,
    /// Number of attempts with a definite charge.
    pub charged_attempts: u32,
    /// True when more than one attempt holds (or may hold) money.
    pub possible_double_charge: bool,
    /// Human verdict, e.g. "Charged once, on Stripe US (pi_123)".
    pub verdict: String,
}

/// Everything the payment detail timeline shows (issue 4 §1). No secrets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct PaymentTimeline {
    /// The detail (summary, route trace with every skipped connector and its reason, attempts,
    /// events).
    pub detail: PaymentDetail,
    /// Axis start: payment creation, UTC ms.
    #[ts(type = "number")]
    pub start_ms: i64,
    /// Axis end: the latest mark, UTC ms.
    #[ts(type = "number")]
    pub end_ms: i64,
    /// Payment-level marks (route decision, status changes, merchant webhook deliveries).
    pub payment_marks: Vec<TimelineMark>,
    /// One lane per attempt, in attempt order.
    pub lanes: Vec<AttemptLane>,
    /// Who holds the money.
    pub charges: ChargeSummary,
}

/// One connector column of the fallback matrix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct MatrixConnector {
    /// Connector id.
    pub id: String,
    /// Name.
    pub name: String,
}

/// One cell: outcome class x connector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct MatrixCell {
    /// Connector id.
    pub connector_id: String,
    /// Provider calls on this connector with this class in the period (retries included).
    #[ts(type = "number")]
    pub observed: i64,
    /// Of those, attempts whose payment was later approved on another connector (counted once
    /// per payment, connector and class).
    #[ts(type = "number")]
    pub rescued: i64,
    /// The search that lists the payments behind this cell.
    pub search: SearchFilter,
}

/// One row of the fallback matrix: one outcome class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct MatrixRow {
    /// Outcome class.
    pub class: OutcomeClass,
    /// Action of the published policy: `stop`, `retry`, `fall_back`, `reconcile` (fixed for
    /// unknown outcomes), `succeed` (approved).
    pub action: String,
    /// Human text of the action ("retry up to 1 time, then fall back").
    pub action_text: String,
    /// Whether the class's action is configurable in a policy (soft decline, auth/config error,
    /// rate limited, provider unavailable) or fixed by DESIGN.md §5.
    pub configurable: bool,
    /// One cell per connector, in [`FallbackMatrixView::connectors`] order.
    pub cells: Vec<MatrixCell>,
}

/// The fallback matrix for a period (issue 4 §3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct FallbackMatrixView {
    /// Period start, UTC ms (rounded down to the hour).
    #[ts(type = "number")]
    pub from_ms: i64,
    /// Period end, UTC ms (exclusive, rounded up to the hour).
    #[ts(type = "number")]
    pub to_ms: i64,
    /// Columns.
    pub connectors: Vec<MatrixConnector>,
    /// One row per outcome class (all 9, in `OutcomeClass::ALL` order).
    pub rows: Vec<MatrixRow>,
}

/// Chart period, from 1 hour to 90 days, with its bucket size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ChartPeriod {
    /// Last hour, one bucket (the rollup is hourly).
    Hour1,
    /// Last 6 hours, hourly buckets.
    Hours6,
    /// Last 24 hours, hourly buckets.
    Hours24,
    /// Last 7 days, 6-hour buckets.
    Days7,
    /// Last 30 days, daily buckets.
    Days30,
    /// Last 90 days, daily buckets.
    Days90,
}

/// What to chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ChartKind {
    /// Approval rate per connector (see [`SuccessRateSeries::definition`]).
    ApprovalRate,
    /// Share of counted calls per connector.
    TrafficShare,
    /// p95 latency per connector, ms.
    P95Latency,
}

/// Export format of a chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ChartFormat {
    /// SVG text.
    Svg,
    /// PNG image.
    Png,
}

/// Chart input: the period ends at `end_ms` (default now).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ChartQuery {
    /// Period.
    pub period: ChartPeriod,
    /// End of the period, UTC ms (default: now).
    #[ts(optional, type = "number")]
    #[serde(default)]
    pub end_ms: Option<i64>,
    /// Restrict to these connectors (empty = all).
    #[serde(default)]
    pub connector_ids: Vec<String>,
    /// Restrict to one ISO 4217 currency.
    #[ts(optional)]
    #[serde(default)]
    pub currency: Option<String>,
}

/// One connector's series; `null` where a bucket has no counted calls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ConnectorSeries {
    /// Connector id.
    pub connector_id: String,
    /// Name.
    pub name: String,
    /// Approval rate 0..=1 per bucket.
    pub approval_rate: Vec<Option<f64>>,
    /// Share 0..=1 of the bucket's counted calls.
    pub traffic_share: Vec<Option<f64>>,
    /// p95 latency (upper bound of the histogram bucket holding the 95th percentile), ms.
    #[ts(type = "Array<number | null>")]
    pub p95_latency_ms: Vec<Option<i64>>,
    /// Approved calls per bucket.
    #[ts(type = "Array<number>")]
    pub approved: Vec<i64>,
    /// Approval-rate denominator per bucket.
    #[ts(type = "Array<number>")]
    pub counted: Vec<i64>,
}

/// Per-connector time series over a period (issue 4 §4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct SuccessRateSeries {
    /// The approval-rate definition, to show next to the chart.
    pub definition: String,
    /// First bucket start, UTC ms.
    #[ts(type = "number")]
    pub start_ms: i64,
    /// Bucket width, ms.
    #[ts(type = "number")]
    pub bucket_ms: i64,
    /// Number of buckets.
    pub buckets: u32,
    /// One series per connector with traffic (or requested).
    pub connectors: Vec<ConnectorSeries>,
}

/// The three charts as SVG for the view, plus their data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct SuccessRateCharts {
    /// Data.
    pub series: SuccessRateSeries,
    /// Approval-rate chart, SVG text.
    pub approval_svg: String,
    /// Traffic-share chart, SVG text.
    pub share_svg: String,
    /// p95-latency chart, SVG text.
    pub latency_svg: String,
}

/// An exported file: bytes and a suggested file name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ExportFile {
    /// Suggested file name, e.g. `approval-rate-30d-20261121T1900Z.png`.
    pub filename: String,
    /// MIME type (`image/svg+xml`, `image/png`).
    pub mime: String,
    /// File content.
    pub bytes: Vec<u8>,
}

/// Finance period and accounts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct FinanceQuery {
    /// Period start, UTC ms (rounded down to the hour).
    #[ts(type = "number")]
    pub from_ms: i64,
    /// Period end, UTC ms (exclusive, rounded up to the hour).
    #[ts(type = "number")]
    pub to_ms: i64,
    /// Connector accounts to compare (empty = all).
    #[serde(default)]
    pub connector_ids: Vec<String>,
}

/// Volume of one connector account in one currency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct FinanceRow {
    /// Connector id.
    pub connector_id: String,
    /// Connector name.
    pub connector_name: String,
    /// ISO 4217.
    pub currency: String,
    /// Approved volume, minor units.
    #[ts(type = "number")]
    pub volume_minor: i64,
    /// Approved volume as a decimal string with the currency's exponent.
    pub volume_display: String,
    /// Approved calls (= approved payments on this account).
    #[ts(type = "number")]
    pub approved_count: i64,
    /// All answered provider calls.
    #[ts(type = "number")]
    pub calls: i64,
    /// Approval rate (see [`SuccessRateSeries::definition`]); `null` without counted calls.
    pub approval_rate: Option<f64>,
}

/// Finance table: rows by connector then currency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct FinanceTable {
    /// Period start, UTC ms.
    #[ts(type = "number")]
    pub from_ms: i64,
    /// Period end, UTC ms (exclusive).
    #[ts(type = "number")]
    pub to_ms: i64,
    /// Rows.
    pub rows: Vec<FinanceRow>,
}

/// Progress of a CSV export.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, TS)]
pub struct ExportProgress {
    /// Rows written so far.
    #[ts(type = "number")]
    pub rows_done: u64,
    /// Rows to write in total.
    #[ts(type = "number")]
    pub rows_total: u64,
}

/// Live state of one connector card (issue 4 §6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ConnectorCard {
    /// Static data and 24 h figures.
    pub connector: ConnectorView,
    /// Answered calls in the last 5 minutes.
    #[ts(type = "number")]
    pub calls_5m: i64,
    /// Approval rate in the last 5 minutes; `null` without counted calls.
    pub approval_rate_5m: Option<f64>,
    /// Alert threshold for the approval rate (0..=1).
    pub approval_threshold: f64,
    /// Share of provider-side failures (auth/config, rate limited, unavailable, unknown) in the
    /// last 5 minutes; `null` without calls.
    pub failure_rate_5m: Option<f64>,
    /// Alert threshold for the failure rate (0..=1).
    pub failure_threshold: f64,
    /// Weight to restore after a drain (the weight before the last drain), if drained.
    pub restore_weight: Option<u32>,
    /// Active alerts of this connector.
    pub alerts: Vec<ConnectorAlert>,
}

/// A connector below its threshold (the UI raises an OS notification on a new one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ConnectorAlert {
    /// Connector id.
    pub connector_id: String,
    /// Connector name.
    pub connector_name: String,
    /// `approval_rate_low`, `failure_rate_high` or `circuit_open`.
    pub kind: String,
    /// Observed value (rate 0..=1; 1 for circuit_open).
    pub value: f64,
    /// Threshold crossed.
    pub threshold: f64,
    /// Human sentence for the notification.
    pub message: String,
}

/// Drain or restore a connector; the reason is required and audited.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ConnectorAction {
    /// Connector id.
    pub connector_id: String,
    /// Why (3..=500 chars).
    pub reason: String,
}

/// A policy version as the editor shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct PolicyVersionView {
    /// Policy row id.
    pub id: String,
    /// Version number.
    pub version: i32,
    /// `draft`, `published` or `archived`.
    pub status: String,
    /// The policy as pretty JSON (rules, fallback, max_attempts).
    pub json: String,
    /// Publication note.
    pub note: String,
    /// Created (or last saved), UTC ms.
    #[ts(type = "number")]
    pub created_at_ms: i64,
    /// Published, UTC ms.
    #[ts(type = "number | null")]
    pub published_at_ms: Option<i64>,
}

/// The policy editor's state for the console's mode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct PolicyState {
    /// Mode (`test`/`live`) the policies are for.
    pub mode: String,
    /// The published policy, if any.
    pub published: Option<PolicyVersionView>,
    /// The draft, if any.
    pub draft: Option<PolicyVersionView>,
    /// Connectors a rule may name.
    pub connectors: Vec<MatrixConnector>,
}

/// Result of validating a policy JSON (parse errors are an issue with code `invalid_json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct PolicyValidation {
    /// Empty = valid.
    pub issues: Vec<routing::PolicyIssue>,
}

/// One structured difference between the published policy and the draft.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct PolicyChange {
    /// JSON path, e.g. `rules[1].action`, `fallback.soft_decline`, `max_attempts`.
    pub path: String,
    /// `added`, `removed` or `changed`.
    pub kind: String,
    /// Value before (JSON), if any.
    pub before: Option<String>,
    /// Value after (JSON), if any.
    pub after: Option<String>,
    /// Human sentence ("rule 2 \"EUR\" added").
    pub summary: String,
}

/// Diff draft vs published.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct PolicyDiff {
    /// Changes, rules first.
    pub changes: Vec<PolicyChange>,
}

/// Share of first attempts per connector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ShareRow {
    /// Connector id (empty for "no eligible connector").
    pub connector_id: String,
    /// Name ("no eligible connector" when none).
    pub name: String,
    /// Payments routed first to it.
    #[ts(type = "number")]
    pub payments: i64,
    /// Share 0..=1.
    pub share: f64,
}

/// A payment whose path changes under the draft.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ChangedPath {
    /// Payment id.
    pub payment_id: String,
    /// Creation time, UTC ms.
    #[ts(type = "number")]
    pub created_at_ms: i64,
    /// Path (connector names) under the published policy.
    pub before: Vec<String>,
    /// Path under the draft.
    pub after: Vec<String>,
}

/// Simulation of the draft on stored payment contexts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct SimulationResult {
    /// Days looked back.
    pub days: u32,
    /// Payments replayed (the newest, at most the requested limit).
    #[ts(type = "number")]
    pub payments: i64,
    /// First-connector share under the published policy.
    pub share_before: Vec<ShareRow>,
    /// First-connector share under the draft.
    pub share_after: Vec<ShareRow>,
    /// Number of payments whose path changes.
    #[ts(type = "number")]
    pub changed_count: i64,
    /// The first changed payments (at most 200).
    pub changed: Vec<ChangedPath>,
    /// How the replay works (stored roll, current connectors).
    pub approach: String,
}

/// Audit filters. Newest first; `before_id` pages back.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct AuditQuery {
    /// `connector`, `policy`, `credential`…
    #[ts(optional)]
    pub entity: Option<String>,
    /// Entity id.
    #[ts(optional)]
    pub entity_id: Option<String>,
    /// Actor, exact.
    #[ts(optional)]
    pub actor: Option<String>,
    /// At or after, UTC ms.
    #[ts(optional, type = "number")]
    pub from_ms: Option<i64>,
    /// Before, UTC ms.
    #[ts(optional, type = "number")]
    pub to_ms: Option<i64>,
    /// Only rows with id < this (paging).
    #[ts(optional, type = "number")]
    pub before_id: Option<i64>,
    /// 1..=1000, default 200.
    #[ts(optional)]
    pub limit: Option<u32>,
}
