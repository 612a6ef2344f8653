//! The console's read models and operator actions, over one merchant.

use crate::EngineError;
use crate::views::{
    AttemptView, AuditEntry, ConnectorView, EventView, PaymentDetail, PaymentSearch,
    PaymentSummary, SetWeight,
};
use routing::{
    CircuitState, ConnectorStatus, OutcomeClass, PaymentStatus, RouteSource, RouteTrace,
};
use sqlx::PgPool;
use store::read::{AttemptRow, PaymentRow};
use store::to_ms;
use time::OffsetDateTime;
use uuid::Uuid;

/// Largest accepted connector weight.
pub const MAX_WEIGHT: u32 = 1000;

/// The console's view of one merchant's data.
#[derive(Clone)]
pub struct Console {
    pool: PgPool,
    merchant_id: Uuid,
    actor: String,
}

impl Console {
    /// A console over `merchant_id`, acting as `actor` (recorded in audit rows).
    pub fn new(pool: PgPool, merchant_id: Uuid, actor: impl Into<String>) -> Console {
        Console {
            pool,
            merchant_id,
            actor: actor.into(),
        }
    }

    /// The merchant this console shows.
    pub fn merchant_id(&self) -> Uuid {
        self.merchant_id
    }

    /// The pool (for the other `impl Console` blocks, e.g. `console_ops`).
    pub(crate) fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The operator recorded in audit rows.
    pub(crate) fn actor(&self) -> &str {
        &self.actor
    }

    /// Connectors with their last-24 h figures (the last 24 whole UTC hours including the
    /// current one, from the hourly rollups; approval rate per [`APPROVAL_RATE_DEFINITION`]),
    /// primary first then by creation order.
    pub async fn connectors(&self) -> Result<Vec<ConnectorView>, EngineError> {
        // The last 24 whole UTC hours including the current one, from the hourly rollups.
        let now = to_ms(OffsetDateTime::now_utc());
        let to = ceil_to(now + 1, HOUR_MS);
        let (records, stats) = tokio::try_join!(
            async {
                Ok::<_, EngineError>(store::config::connectors(&self.pool, self.merchant_id).await?)
            },
            async {
                Ok(store::rollups::totals_by_connector(
                    &self.pool,
                    self.merchant_id,
                    from_ms(to - 24 * HOUR_MS)?,
                    from_ms(to)?,
                )
                .await?)
            },
        )?;
        let mut views: Vec<ConnectorView> = records
            .iter()
            .map(|r| {
                let c = &r.connector;
                let s = stats
                    .iter()
                    .find(|(id, _)| *id == c.id.0)
                    .map(|(_, s)| s.clone())
                    .unwrap_or_default();
                ConnectorView {
                    id: c.id.to_string(),
                    name: c.name.clone(),
                    provider: c.provider.as_str().to_owned(),
                    mode: store::config::mode_str(c.mode).to_owned(),
                    weight: c.weight,
                    is_primary: c.is_primary,
                    status: match c.status {
                        ConnectorStatus::Active => "active",
                        ConnectorStatus::Disabled => "disabled",
                    }
                    .to_owned(),
                    circuit: match c.circuit {
                        CircuitState::Closed => "closed",
                        CircuitState::Open => "open",
                        CircuitState::HalfOpen { .. } => "half_open",
                    }
                    .to_owned(),
                    attempts_24h: s.calls,
                    approved_24h: s.approved(),
                    approval_rate_24h: rate(s.approved(), s.counted()),
                    p95_latency_ms: s.p95_latency_ms(),
                }
            })
            .collect();
        views.sort_by_key(|v| !v.is_primary);
        Ok(views)
    }

    /// Sets a connector's weight with an audited reason; takes effect for the very next payment
    /// (the gateway reads connector weights from the database for every payment).
    /// Errors: `invalid_weight` (> [`MAX_WEIGHT`]), `reason_required` (blank or > 500 chars),
    /// `not_found`.
    pub async fn set_weight(&self, req: SetWeight) -> Result<ConnectorView, EngineError> {
        if req.weight > MAX_WEIGHT {
            return Err(EngineError::invalid(
                "invalid_weight",
                Some("weight".into()),
                format!("weight must be 0..={MAX_WEIGHT}"),
            ));
        }
        let reason = req.reason.trim();
        if reason.chars().count() < 3 || reason.chars().count() > 500 {
            return Err(EngineError::invalid(
                "reason_required",
                Some("reason".into()),
                "a reason of 3 to 500 characters is required to change a weight",
            ));
        }
        let id = Uuid::parse_str(&req.connector_id)
            .map_err(|_| EngineError::NotFound { what: "connector" })?;
        if !store::config::set_weight(
            &self.pool,
            self.merchant_id,
            id,
            req.weight,
            &self.actor,
            reason,
        )
        .await?
        {
            return Err(EngineError::NotFound { what: "connector" });
        }
        self.connectors()
            .await?
            .into_iter()
            .find(|c| c.id == req.connector_id)
            .ok_or(EngineError::NotFound { what: "connector" })
    }

    /// Searches payments (newest first). See [`PaymentSearch`].
    pub async fn search_payments(
        &self,
        search: PaymentSearch,
    ) -> Result<Vec<PaymentSummary>, EngineError> {
        let limit = i64::from(search.limit.unwrap_or(200).clamp(1, 1000));
        let rows = store::read::search_payments(
            &self.pool,
            self.merchant_id,
            &search.query,
            search.status.map(PaymentStatus::as_str),
            limit,
        )
        .await?;
        Ok(rows.iter().map(summary).collect())
    }

    /// One payment with attempts, route trace and events. Errors: `not_found`.
    pub async fn payment_detail(&self, payment_id: &str) -> Result<PaymentDetail, EngineError> {
        let id = Uuid::parse_str(payment_id.trim())
            .map_err(|_| EngineError::NotFound { what: "payment" })?;
        let (payment, attempts, events) = tokio::try_join!(
            store::read::payment(&self.pool, self.merchant_id, id),
            store::read::attempts(&self.pool, self.merchant_id, id),
            store::read::events(&self.pool, self.merchant_id, id),
        )?;
        let p = payment.ok_or(EngineError::NotFound { what: "payment" })?;
        let route: RouteTrace = serde_json::from_value(p.route.clone()).unwrap_or(RouteTrace {
            source: RouteSource::NoEligibleConnector,
            entries: Vec::new(),
        });
        Ok(PaymentDetail {
            summary: summary(&p),
            country: p.country.clone(),
            method: p.method.clone(),
            capture_mode: p.capture_mode.clone(),
            captured_minor: p.captured_minor,
            refunded_minor: p.refunded_minor,
            mode: p.mode.clone(),
            failure_code: p.failure_code.clone(),
            failure_message: p.failure_message.clone(),
            next_action_url: p.next_action_url.clone(),
            route,
            attempts: attempts.iter().map(attempt_view).collect(),
            events: events
                .into_iter()
                .map(|e| EventView {
                    id: e.id,
                    at_ms: to_ms(e.at),
                    cause: e.cause,
                    kind: e.kind,
                    from_status: e.from_status,
                    to_status: e.to_status,
                    attempt_id: e.attempt_id.map(|a| a.to_string()),
                    detail: e.detail,
                })
                .collect(),
            updated_at_ms: to_ms(p.updated_at),
        })
    }

    /// Latest audit entries, newest first (1..=1000).
    pub async fn audit_log(&self, limit: u32) -> Result<Vec<AuditEntry>, EngineError> {
        let rows = store::read::audit_log(
            &self.pool,
            self.merchant_id,
            i64::from(limit.clamp(1, 1000)),
        )
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| AuditEntry {
                id: r.id,
                at_ms: to_ms(r.at),
                actor: r.actor,
                entity: r.entity,
                entity_id: r.entity_id,
                action: r.action,
                reason: r.reason,
                before: r.before.map(|v| v.to_string()).unwrap_or_default(),
                after: r.after.map(|v| v.to_string()).unwrap_or_default(),
            })
            .collect())
    }
}

fn summary(p: &PaymentRow) -> PaymentSummary {
    PaymentSummary {
        id: p.id.to_string(),
        merchant_reference: p.merchant_reference.clone(),
        amount_minor: p.amount_minor,
        currency: p.currency.clone(),
        amount_display: routing::Currency::parse(&p.currency)
            .map(|c| c.format_minor(p.amount_minor))
            .unwrap_or_else(|_| p.amount_minor.to_string()),
        status: PaymentStatus::parse(&p.status).unwrap_or(PaymentStatus::Unknown),
        created_at_ms: to_ms(p.created_at),
        attempt_count: p.attempt_count,
        last_connector: p.last_connector.clone(),
    }
}

fn attempt_view(a: &AttemptRow) -> AttemptView {
    AttemptView {
        id: a.id.to_string(),
        seq: a.seq,
        connector_id: a.connector_id.to_string(),
        connector_name: a.connector_name.clone(),
        provider: a.provider.clone(),
        status: a.status.clone(),
        outcome: a.outcome.as_deref().and_then(OutcomeClass::parse),
        provider_reference: a.provider_reference.clone(),
        provider_status: a.provider_status.clone(),
        http_status: a.http_status,
        raw_code: a.raw_code.clone(),
        decline_code: a.decline_code.clone(),
        message: a.message.clone(),
        requested_at_ms: to_ms(a.requested_at.unwrap_or(a.created_at)),
        responded_at_ms: a.responded_at.map(to_ms),
        latency_ms: a.latency_ms.map(i64::from),
        next_step: a.next_step.clone(),
        next_step_detail: a.next_step_detail.clone(),
        reconciliation: a.reconciliation.clone(),
    }
}

/// The merchant a console should show: `id` when given, else the oldest merchant.
/// `Ok(None)` when there is no such merchant. Errors: database failures.
pub async fn find_merchant(
    pool: &PgPool,
    id: Option<Uuid>,
) -> Result<Option<(Uuid, String)>, EngineError> {
    Ok(match id {
        Some(id) => store::config::merchant(pool, id).await?,
        None => store::config::first_merchant(pool).await?,
    })
}

// ---------------------------------------------------------------------------------------------
// Issue 4: timeline, search pages, fallback matrix, charts, finance, operators, policies, audit.
// ---------------------------------------------------------------------------------------------

use crate::views::{
    AttemptLane, AuditQuery, ChargeHold, ChargeSummary, ChartFormat, ChartKind, ChartPeriod,
    ChartQuery, ConnectorAction, ConnectorAlert, ConnectorCard, ConnectorSeries, ExportFile,
    ExportProgress, FallbackMatrixView, FinanceQuery, FinanceRow, FinanceTable, MatrixCell,
    MatrixConnector, MatrixRow, PaymentPage, PaymentTimeline, PolicyChange, PolicyDiff,
    PolicyState, PolicyValidation, PolicyVersionView, SearchFilter, SimulationResult,
    SuccessRateCharts, SuccessRateSeries, TimelineMark,
};
use routing::{FallbackAction, Mode, Policy, PolicyIssue, RouteDecision};
use store::rollups::Counters;

/// The approval-rate definition shown next to every chart and used by finance and the cards.
pub const APPROVAL_RATE_DEFINITION: &str = "Approval rate = approved / (approved + declined + failed) provider calls. \
Declined = hard and soft declines; failed = validation errors, auth/config errors, rate limits and provider-unavailable \
answers. A failed call that was retried on the same connector is not counted (only the retry's result is), so retries \
are not double-counted; a fallback to another connector counts once on each connector it reached. Calls needing a \
customer action (3DS) and unknown outcomes are left out until they resolve. Buckets are by the time the call was made (UTC).";

/// Alert when the last-5-minute approval rate is below this (with at least
/// [`ALERT_MIN_CALLS`] counted calls).
pub const APPROVAL_ALERT_THRESHOLD: f64 = 0.60;
/// Alert when provider-side failures exceed this share of the last-5-minute calls, for a
/// connector without its own circuit-breaker threshold (`circuit_failure_threshold_pct`,
/// migration 0004, used when present).
pub const FAILURE_ALERT_THRESHOLD: f64 = 0.20;
/// Minimum calls in the window before a rate alert fires.
pub const ALERT_MIN_CALLS: i64 = 10;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

fn from_ms(ms: i64) -> Result<OffsetDateTime, EngineError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).map_err(|_| {
        EngineError::invalid(
            "invalid_time",
            None,
            format!("{ms} is not a valid UTC millisecond time"),
        )
    })
}

fn parse_uuid(s: &str, field: &str) -> Result<Uuid, EngineError> {
    Uuid::parse_str(s.trim()).map_err(|_| {
        EngineError::invalid(
            "invalid_id",
            Some(field.to_owned()),
            format!("{field} must be a UUID"),
        )
    })
}

fn parse_uuids(ids: &[String], field: &str) -> Result<Vec<Uuid>, EngineError> {
    ids.iter().map(|s| parse_uuid(s, field)).collect()
}

fn rate(num: i64, den: i64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

fn floor_to(ms: i64, step: i64) -> i64 {
    ms.div_euclid(step) * step
}

fn ceil_to(ms: i64, step: i64) -> i64 {
    let f = floor_to(ms, step);
    if f == ms { f } else { f + step }
}

/// `(period length ms, bucket ms)` of a chart period.
pub fn period_buckets(p: ChartPeriod) -> (i64, i64) {
    match p {
        ChartPeriod::Hour1 => (HOUR_MS, 5 * 60_000),
        ChartPeriod::Hours6 => (6 * HOUR_MS, HOUR_MS),
        ChartPeriod::Hours24 => (24 * HOUR_MS, HOUR_MS),
        ChartPeriod::Days7 => (7 * DAY_MS, 6 * HOUR_MS),
        ChartPeriod::Days30 => (30 * DAY_MS, DAY_MS),
        ChartPeriod::Days90 => (90 * DAY_MS, DAY_MS),
    }
}

fn period_label(p: ChartPeriod) -> &'static str {
    match p {
        ChartPeriod::Hour1 => "1h",
        ChartPeriod::Hours6 => "6h",
        ChartPeriod::Hours24 => "24h",
        ChartPeriod::Days7 => "7d",
        ChartPeriod::Days30 => "30d",
        ChartPeriod::Days90 => "90d",
    }
}

fn action_text(class: OutcomeClass, action: Option<FallbackAction>) -> (String, String) {
    match (class, action) {
        (OutcomeClass::Approved, _) => ("succeed".into(), "payment succeeds".into()),
        (_, None) => (
            "reconcile".into(),
            "retrieve from the provider first; never fall back while a charge may exist".into(),
        ),
        (_, Some(FallbackAction::Stop)) => ("stop".into(), "stop, no fallback".into()),
        (_, Some(FallbackAction::FallBack)) => {
            ("fall_back".into(), "fall back to the next connector".into())
        }
        (_, Some(FallbackAction::Retry { max })) => (
            "retry".into(),
            format!("retry the same connector up to {max} time(s), then fall back"),
        ),
    }
}

fn configurable(class: OutcomeClass) -> bool {
    match class {
        OutcomeClass::SoftDecline
        | OutcomeClass::AuthConfigError
        | OutcomeClass::RateLimited
        | OutcomeClass::ProviderUnavailable => true,
        OutcomeClass::Approved
        | OutcomeClass::HardDecline
        | OutcomeClass::NeedsCustomerAction
        | OutcomeClass::ValidationError
        | OutcomeClass::UnknownOutcome => false,
    }
}

fn mark(
    at_ms: i64,
    kind: &str,
    label: impl Into<String>,
    detail: impl Into<String>,
) -> TimelineMark {
    TimelineMark {
        at_ms,
        kind: kind.to_owned(),
        label: label.into(),
        detail: detail.into(),
    }
}

/// The marks of one attempt lane, from its row and the events about it.
fn lane_marks(a: &AttemptView, events: &[EventView]) -> Vec<TimelineMark> {
    let mut marks = vec![mark(
        a.requested_at_ms,
        "request_sent",
        format!("request to {}", a.connector_name),
        format!(
            "attempt #{} ({}), idempotency key {}",
            a.seq, a.provider, a.id
        ),
    )];
    if let Some(at) = a.responded_at_ms {
        let timeout = a.outcome == Some(OutcomeClass::UnknownOutcome) && a.http_status.is_none();
        let codes: Vec<String> = [
            a.http_status.map(|s| format!("HTTP {s}")),
            a.raw_code.clone(),
            a.decline_code.clone(),
        ]
        .into_iter()
        .flatten()
        .collect();
        marks.push(mark(
            at,
            if timeout { "timeout" } else { "response" },
            if timeout {
                "no answer (timeout)".to_owned()
            } else if codes.is_empty() {
                "answered".to_owned()
            } else {
                codes.join(" ")
            },
            format!(
                "{}{}",
                a.message.clone().unwrap_or_default(),
                a.latency_ms
                    .map(|l| format!(" ({l} ms)"))
                    .unwrap_or_default()
            ),
        ));
        if let Some(class) = a.outcome {
            marks.push(mark(
                at,
                "classified",
                class.as_str(),
                a.provider_status
                    .as_deref()
                    .map(|s| format!("provider status {s}"))
                    .unwrap_or_default(),
            ));
        }
        if let Some(step) = &a.next_step {
            marks.push(mark(
                at,
                "fallback_decision",
                step.clone(),
                a.next_step_detail.clone().unwrap_or_default(),
            ));
        }
    }
    for e in events
        .iter()
        .filter(|e| e.attempt_id.as_deref() == Some(a.id.as_str()))
    {
        let kind = match (e.cause.as_str(), e.kind.as_str()) {
            (_, "attempt_started") | (_, "attempt_finished") => continue,
            ("reconciler", _) | (_, "attempt_reconciled") => "reconciled",
            ("webhook", _) => "provider_webhook",
            _ => "event",
        };
        marks.push(mark(e.at_ms, kind, e.kind.clone(), e.detail.clone()));
    }
    if let Some(r) = &a.reconciliation
        && !marks.iter().any(|m| m.kind == "reconciled")
    {
        marks.push(mark(
            a.responded_at_ms.unwrap_or(a.requested_at_ms),
            "reconciled",
            "reconciled",
            r.clone(),
        ));
    }
    marks.sort_by_key(|m| m.at_ms);
    marks
}

/// Who holds the money, from the attempts (pure).
pub fn charge_summary(
    attempts: &[AttemptView],
    amount_minor: i64,
    currency: &str,
) -> ChargeSummary {
    let holds: Vec<ChargeHold> = attempts
        .iter()
        .filter_map(|a| {
            let state = match (a.outcome, a.status.as_str()) {
                (Some(OutcomeClass::Approved), _) | (_, "succeeded") => "charged",
                (Some(OutcomeClass::UnknownOutcome), _) | (_, "unknown") => "possibly_charged",
                _ => return None,
            };
            Some(ChargeHold {
                attempt_id: a.id.clone(),
                seq: a.seq,
                connector_name: a.connector_name.clone(),
                provider_reference: a.provider_reference.clone(),
                amount_minor,
                state: state.to_owned(),
            })
        })
        .collect();
    let charged = holds.iter().filter(|h| h.state == "charged").count();
    let amount = routing::Currency::parse(currency)
        .map(|c| format!("{} {currency}", c.format_minor(amount_minor)))
        .unwrap_or_else(|_| format!("{amount_minor} {currency}"));
    let place = |h: &ChargeHold| {
        format!(
            "{} ({})",
            h.connector_name,
            h.provider_reference
                .as_deref()
                .unwrap_or("no provider reference")
        )
    };
    let verdict = match (charged, holds.len()) {
        (0, 0) => "Not charged: no attempt was approved or is unresolved.".to_owned(),
        (0, _) => format!(
            "Possibly charged: unresolved outcome on {}; check at the provider.",
            holds.iter().map(place).collect::<Vec<_>>().join(", ")
        ),
        (1, 1) => format!(
            "Charged once ({amount}) on {}.",
            holds.iter().map(place).collect::<Vec<_>>().join("")
        ),
        (1, _) => format!(
            "Charged once for sure, and possibly again: {}.",
            holds
                .iter()
                .map(|h| format!("{} {}", h.state, place(h)))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        (n, _) => format!(
            "CHARGED {n} TIMES ({amount} each): {}.",
            holds.iter().map(place).collect::<Vec<_>>().join("; ")
        ),
    };
    ChargeSummary {
        possible_double_charge: holds.len() > 1,
        charged_attempts: u32::try_from(charged).unwrap_or(u32::MAX),
        holds,
        verdict,
    }
}

fn pretty(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

fn policy_view(r: &store::policies::PolicyRow) -> PolicyVersionView {
    PolicyVersionView {
        id: r.id.to_string(),
        version: r.version,
        status: r.status.clone(),
        json: pretty(&r.body),
        note: r.note.clone(),
        created_at_ms: to_ms(r.created_at),
        published_at_ms: r.published_at.map(to_ms),
    }
}

/// Parses a policy JSON text; a parse error is returned as one `invalid_json` issue.
pub fn parse_policy(json: &str) -> Result<Policy, PolicyIssue> {
    serde_json::from_str(json).map_err(|e| PolicyIssue {
        rule: None,
        code: "invalid_json".to_owned(),
        message: format!("the policy is not valid JSON for a policy: {e}"),
    })
}

/// Structured differences between two policies (pure): max_attempts, each fallback class, and
/// rules by position (added, removed, changed name/conditions/action).
pub fn diff_policies(before: &Policy, after: &Policy) -> PolicyDiff {
    let mut changes = Vec::new();
    let js = |v: &dyn erased::Json| v.json();
    let mut push =
        |path: String, kind: &str, b: Option<String>, a: Option<String>, summary: String| {
            changes.push(PolicyChange {
                path,
                kind: kind.to_owned(),
                before: b,
                after: a,
                summary,
            });
        };
    let n = before.rules.len().max(after.rules.len());
    for i in 0..n {
        match (before.rules.get(i), after.rules.get(i)) {
            (Some(b), Some(a)) => {
                if b.name != a.name {
                    push(
                        format!("rules[{i}].name"),
                        "changed",
                        Some(js(&b.name)),
                        Some(js(&a.name)),
                        format!("rule {} renamed \"{}\" -> \"{}\"", i + 1, b.name, a.name),
                    );
                }
                if b.conditions != a.conditions {
                    push(
                        format!("rules[{i}].conditions"),
                        "changed",
                        Some(js(&b.conditions)),
                        Some(js(&a.conditions)),
                        format!("rule {} \"{}\": conditions changed", i + 1, a.name),
                    );
                }
                if b.action != a.action {
                    push(
                        format!("rules[{i}].action"),
                        "changed",
                        Some(js(&b.action)),
                        Some(js(&a.action)),
                        format!("rule {} \"{}\": action changed", i + 1, a.name),
                    );
                }
            }
            (None, Some(a)) => push(
                format!("rules[{i}]"),
                "added",
                None,
                Some(js(a)),
                format!("rule {} \"{}\" added", i + 1, a.name),
            ),
            (Some(b), None) => push(
                format!("rules[{i}]"),
                "removed",
                Some(js(b)),
                None,
                format!("rule {} \"{}\" removed", i + 1, b.name),
            ),
            (None, None) => {}
        }
    }
    for class in OutcomeClass::ALL.into_iter().filter(|c| configurable(*c)) {
        let (b, a) = (
            before.fallback.action_for(class),
            after.fallback.action_for(class),
        );
        if b != a {
            push(
                format!("fallback.{}", class.as_str()),
                "changed",
                Some(js(&b)),
                Some(js(&a)),
                format!(
                    "{}: {} -> {}",
                    class.as_str(),
                    action_text(class, b).1,
                    action_text(class, a).1
                ),
            );
        }
    }
    if before.max_attempts != after.max_attempts {
        push(
            "max_attempts".into(),
            "changed",
            Some(before.max_attempts.to_string()),
            Some(after.max_attempts.to_string()),
            format!(
                "max attempts {} -> {}",
                before.max_attempts, after.max_attempts
            ),
        );
    }
    PolicyDiff { changes }
}

mod erased {
    /// Serialises any value to compact JSON text (for diffs).
    pub trait Json {
        fn json(&self) -> String;
    }
    impl<T: serde::Serialize> Json for T {
        fn json(&self) -> String {
            serde_json::to_string(self).unwrap_or_default()
        }
    }
}

fn encode_cursor(t: OffsetDateTime, id: Uuid) -> String {
    format!("{}:{id}", t.unix_timestamp_nanos() / 1000)
}

fn decode_cursor(c: &str) -> Result<(OffsetDateTime, Uuid), EngineError> {
    let bad = || {
        EngineError::invalid(
            "invalid_cursor",
            Some("cursor".into()),
            "the cursor is not one this console issued",
        )
    };
    let (t, id) = c.split_once(':').ok_or_else(bad)?;
    let micros: i128 = t.parse().map_err(|_| bad())?;
    let t = OffsetDateTime::from_unix_timestamp_nanos(micros * 1000).map_err(|_| bad())?;
    Ok((t, Uuid::parse_str(id).map_err(|_| bad())?))
}

impl Console {
    /// Payment detail timeline (issue 4 §1): the detail plus one lane per attempt on a shared
    /// time axis, payment-level marks and the charge summary. Errors: `not_found`.
    pub async fn payment_timeline(&self, payment_id: &str) -> Result<PaymentTimeline, EngineError> {
        let id = Uuid::parse_str(payment_id.trim())
            .map_err(|_| EngineError::NotFound { what: "payment" })?;
        let (detail, webhooks, outbox, deliveries) = tokio::try_join!(
            self.payment_detail(payment_id),
            async {
                Ok::<_, EngineError>(
                    store::webhooks::webhooks_for_payment(&self.pool, self.merchant_id, id).await?,
                )
            },
            async {
                Ok(store::outbox::outbox_for_payment(&self.pool, self.merchant_id, id).await?)
            },
            async {
                Ok(store::outbox::deliveries_for_payment(&self.pool, self.merchant_id, id).await?)
            },
        )?;
        let start_ms = detail.summary.created_at_ms;
        let mut payment_marks = vec![mark(
            start_ms,
            "route_decided",
            match &detail.route.source {
                RouteSource::Rule { index, name } => {
                    format!("rule {} \"{name}\" matched", index + 1)
                }
                RouteSource::Weighted { roll } => format!("weighted pick, roll {roll:.4}"),
                RouteSource::Primary => "primary only".to_owned(),
                RouteSource::NoEligibleConnector => "no eligible connector".to_owned(),
            },
            detail.route.explain(),
        )];
        for e in detail
            .events
            .iter()
            .filter(|e| e.attempt_id.is_none() || e.kind == "status_changed")
        {
            if e.kind == "payment_created" {
                continue;
            }
            let kind = if e.kind == "status_changed" {
                "status_changed"
            } else {
                "event"
            };
            let label = match (&e.from_status, &e.to_status) {
                (Some(f), Some(t)) => format!("{f} -> {t}"),
                (None, Some(t)) => t.clone(),
                _ => e.kind.clone(),
            };
            payment_marks.push(mark(e.at_ms, kind, label, e.detail.clone()));
        }
        for d in &deliveries {
            let event = outbox
                .iter()
                .find(|o| o.id == d.outbox_id)
                .map(|o| o.event_type.as_str())
                .unwrap_or("event");
            payment_marks.push(mark(
                to_ms(d.at),
                "merchant_webhook",
                format!(
                    "{event} -> {} (try {})",
                    d.status_code
                        .map(|c| format!("HTTP {c}"))
                        .unwrap_or_else(|| "no answer".to_owned()),
                    d.attempt
                ),
                format!(
                    "{} {} ms{}{}",
                    d.url,
                    d.latency_ms,
                    d.error
                        .as_deref()
                        .map(|e| format!(", {e}"))
                        .unwrap_or_default(),
                    d.actor
                        .as_deref()
                        .map(|a| format!(", replayed by {a}"))
                        .unwrap_or_default()
                ),
            ));
        }
        let mut lanes: Vec<AttemptLane> = detail
            .attempts
            .iter()
            .map(|a| AttemptLane {
                attempt: a.clone(),
                marks: lane_marks(a, &detail.events),
            })
            .collect();
        for w in &webhooks {
            let kind = if w.verdict == "verified" {
                "provider_webhook"
            } else {
                "provider_webhook_rejected"
            };
            let m = mark(
                to_ms(w.received_at),
                kind,
                match (&w.event_type, &w.rejection_code) {
                    (_, Some(code)) => format!("rejected: {code}"),
                    (Some(t), None) => t.clone(),
                    (None, None) => "webhook".to_owned(),
                },
                format!(
                    "{}{}{}",
                    w.result,
                    if w.result_detail.is_empty() { "" } else { ": " },
                    w.result_detail
                ),
            );
            let lane = w
                .attempt_id
                .map(|a| a.to_string())
                .and_then(|a| lanes.iter_mut().find(|l| l.attempt.id == a));
            match lane {
                Some(l) => {
                    l.marks.push(m);
                    l.marks.sort_by_key(|m| m.at_ms);
                }
                None => payment_marks.push(m),
            }
        }
        payment_marks.sort_by_key(|m| m.at_ms);
        let end_ms = lanes
            .iter()
            .flat_map(|l| l.marks.iter().map(|m| m.at_ms))
            .chain(payment_marks.iter().map(|m| m.at_ms))
            .chain([detail.updated_at_ms, start_ms])
            .max()
            .unwrap_or(start_ms);
        let charges = charge_summary(
            &detail.attempts,
            detail.summary.amount_minor,
            &detail.summary.currency,
        );
        Ok(PaymentTimeline {
            start_ms,
            end_ms,
            payment_marks,
            lanes,
            charges,
            detail,
        })
    }

    /// One page of payments matching `filter` (issue 4 §2), newest first, keyset-paginated.
    /// Errors: `invalid_id` (malformed UUID filter), `invalid_cursor`, `invalid_time`.
    pub async fn search_page(&self, filter: SearchFilter) -> Result<PaymentPage, EngineError> {
        let limit = i64::from(filter.limit.unwrap_or(100).clamp(1, 500));
        let nonempty = |s: &Option<String>| {
            s.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let connector_id = nonempty(&filter.connector_id)
            .map(|s| parse_uuid(&s, "connector_id"))
            .transpose()?;
        let outcome = filter.outcome.map(|o| o.as_str().to_owned());
        let params = store::read::SearchParams {
            payment_id: nonempty(&filter.payment_id)
                .map(|s| parse_uuid(&s, "payment_id"))
                .transpose()?,
            reference_prefix: nonempty(&filter.merchant_reference),
            provider_reference: nonempty(&filter.provider_reference),
            text: nonempty(&filter.query),
            amount_min: filter.amount_min_minor,
            amount_max: filter.amount_max_minor,
            currency: nonempty(&filter.currency).map(|c| c.to_ascii_uppercase()),
            from: filter.from_ms.map(from_ms).transpose()?,
            to: filter.to_ms.map(from_ms).transpose()?,
            status: filter.status.map(|s| s.as_str().to_owned()),
            connector_id,
            outcome: outcome.clone(),
            after: nonempty(&filter.cursor)
                .map(|c| decode_cursor(&c))
                .transpose()?,
            limit: limit + 1,
        };
        let mut rows = store::read::search_page(&self.pool, self.merchant_id, &params).await?;
        let more = rows.len() as i64 > limit;
        rows.truncate(usize::try_from(limit).unwrap_or(100));
        let next_cursor = match (more, rows.last()) {
            (true, Some(last)) => {
                let t = if connector_id.is_some() || outcome.is_some() {
                    store::read::matching_attempt_time(
                        &self.pool,
                        self.merchant_id,
                        last.id,
                        connector_id,
                        outcome.as_deref(),
                    )
                    .await?
                    .unwrap_or(last.created_at)
                } else {
                    last.created_at
                };
                Some(encode_cursor(t, last.id))
            }
            _ => None,
        };
        Ok(PaymentPage {
            rows: rows.iter().map(summary).collect(),
            next_cursor,
        })
    }

    async fn published_policy(&self) -> Result<Policy, EngineError> {
        Ok(
            store::config::published_policy(&self.pool, self.merchant_id, self.mode().await?)
                .await?
                .map(|(_, p)| p)
                .unwrap_or_default(),
        )
    }

    /// The mode of the console's policies and simulations: the mode of the merchant's primary
    /// connector, else of its first connector, else `test`.
    async fn mode(&self) -> Result<Mode, EngineError> {
        let records = store::config::connectors(&self.pool, self.merchant_id).await?;
        Ok(records
            .iter()
            .find(|r| r.connector.is_primary)
            .or(records.first())
            .map(|r| r.connector.mode)
            .unwrap_or(Mode::Test))
    }

    /// Fallback matrix for `[from_ms, to_ms)` (hour-aligned outwards), read from the rollups
    /// (issue 4 §3). Errors: `invalid_time`.
    pub async fn fallback_matrix(
        &self,
        from_ms_: i64,
        to_ms_: i64,
    ) -> Result<FallbackMatrixView, EngineError> {
        let (f, t) = (floor_to(from_ms_, HOUR_MS), ceil_to(to_ms_, HOUR_MS));
        let (from, to) = (from_ms(f)?, from_ms(t)?);
        let (records, totals, rescues, policy) = tokio::try_join!(
            async {
                Ok::<_, EngineError>(store::config::connectors(&self.pool, self.merchant_id).await?)
            },
            async {
                Ok(store::rollups::totals_by_connector_currency(
                    &self.pool,
                    self.merchant_id,
                    from,
                    to,
                    &[],
                )
                .await?)
            },
            async { Ok(store::rollups::rescues(&self.pool, self.merchant_id, from, to).await?) },
            self.published_policy(),
        )?;
        let connectors: Vec<MatrixConnector> = records
            .iter()
            .map(|r| MatrixConnector {
                id: r.connector.id.to_string(),
                name: r.connector.name.clone(),
            })
            .collect();
        let rows = OutcomeClass::ALL
            .into_iter()
            .enumerate()
            .map(|(ci, class)| {
                let (action, action_text) = action_text(class, policy.fallback.action_for(class));
                let cells = records
                    .iter()
                    .map(|r| {
                        let id = r.connector.id.0;
                        let observed = totals
                            .iter()
                            .filter(|c| c.connector_id == id)
                            .map(|c| c.counters.by_class[ci])
                            .sum();
                        let rescued = rescues
                            .iter()
                            .filter(|x| x.connector_id == id && x.outcome == class.as_str())
                            .map(|x| x.rescued)
                            .sum();
                        MatrixCell {
                            connector_id: id.to_string(),
                            observed,
                            rescued,
                            search: SearchFilter {
                                connector_id: Some(id.to_string()),
                                outcome: Some(class),
                                from_ms: Some(f),
                                to_ms: Some(t),
                                ..SearchFilter::default()
                            },
                        }
                    })
                    .collect();
                MatrixRow {
                    class,
                    action,
                    action_text,
                    configurable: configurable(class),
                    cells,
                }
            })
            .collect();
        Ok(FallbackMatrixView {
            from_ms: f,
            to_ms: t,
            connectors,
            rows,
        })
    }

    /// Per-connector series for a chart period (issue 4 §4), from the hourly rollups (the 1-hour
    /// period reads the last hour of attempts in 5-minute buckets). Errors: `invalid_id`,
    /// `invalid_time`.
    pub async fn success_rate_series(
        &self,
        q: &ChartQuery,
    ) -> Result<SuccessRateSeries, EngineError> {
        let (len, bucket) = period_buckets(q.period);
        let end = ceil_to(
            q.end_ms.unwrap_or_else(|| to_ms(OffsetDateTime::now_utc())),
            bucket,
        );
        let start = end - len;
        let n = usize::try_from(len / bucket).unwrap_or(1);
        let ids = parse_uuids(&q.connector_ids, "connector_ids")?;
        let currency = q.currency.as_deref().map(str::to_ascii_uppercase);
        let (records, cells) = tokio::try_join!(
            async {
                Ok::<_, EngineError>(store::config::connectors(&self.pool, self.merchant_id).await?)
            },
            async {
                Ok(match q.period {
                    ChartPeriod::Hour1 => {
                        store::rollups::series_from_attempts(
                            &self.pool,
                            self.merchant_id,
                            from_ms(start)?,
                            from_ms(end)?,
                            bucket / 1000,
                            &ids,
                            currency.as_deref(),
                        )
                        .await?
                    }
                    ChartPeriod::Hours6
                    | ChartPeriod::Hours24
                    | ChartPeriod::Days7
                    | ChartPeriod::Days30
                    | ChartPeriod::Days90 => {
                        store::rollups::series(
                            &self.pool,
                            self.merchant_id,
                            from_ms(start)?,
                            from_ms(end)?,
                            bucket / 1000,
                            &ids,
                            currency.as_deref(),
                        )
                        .await?
                    }
                })
            },
        )?;
        // Totals of counted calls per bucket, for the traffic share.
        let mut totals = vec![0i64; n];
        for c in &cells {
            if let Some(slot) = usize::try_from((to_ms(c.bucket) - start) / bucket)
                .ok()
                .and_then(|i| totals.get_mut(i))
            {
                *slot += c.counters.counted();
            }
        }
        let mut series = Vec::new();
        for r in &records {
            let id = r.connector.id.0;
            if !ids.is_empty() && !ids.contains(&id) {
                continue;
            }
            let mut per = vec![Counters::default(); n];
            let mut any = false;
            for c in cells.iter().filter(|c| c.connector_id == id) {
                if let Some(slot) = usize::try_from((to_ms(c.bucket) - start) / bucket)
                    .ok()
                    .and_then(|i| per.get_mut(i))
                {
                    slot.add(&c.counters);
                    any = true;
                }
            }
            if !any && ids.is_empty() {
                continue;
            }
            series.push(ConnectorSeries {
                connector_id: id.to_string(),
                name: r.connector.name.clone(),
                approval_rate: per
                    .iter()
                    .map(|c| rate(c.approved(), c.counted()))
                    .collect(),
                traffic_share: per
                    .iter()
                    .zip(&totals)
                    .map(|(c, t)| rate(c.counted(), *t))
                    .collect(),
                p95_latency_ms: per.iter().map(Counters::p95_latency_ms).collect(),
                approved: per.iter().map(Counters::approved).collect(),
                counted: per.iter().map(Counters::counted).collect(),
            });
        }
        Ok(SuccessRateSeries {
            definition: APPROVAL_RATE_DEFINITION.to_owned(),
            start_ms: start,
            bucket_ms: bucket,
            buckets: u32::try_from(n).unwrap_or(u32::MAX),
            connectors: series,
        })
    }

    /// The three charts of a period as SVG (issue 4 §4). Errors: as
    /// [`Self::success_rate_series`], `chart_failed`.
    pub async fn success_rate_charts(
        &self,
        q: &ChartQuery,
    ) -> Result<SuccessRateCharts, EngineError> {
        let series = self.success_rate_series(q).await?;
        let svg = |kind| {
            charts::svg(&chart_of(&series, kind, q.period))
                .map_err(|e| EngineError::invalid("chart_failed", None, e.to_string()))
        };
        Ok(SuccessRateCharts {
            approval_svg: svg(ChartKind::ApprovalRate)?,
            share_svg: svg(ChartKind::TrafficShare)?,
            latency_svg: svg(ChartKind::P95Latency)?,
            series,
        })
    }

    /// One chart as an SVG or PNG file (bytes + file name). Errors: as
    /// [`Self::success_rate_series`], `chart_failed`.
    pub async fn export_chart(
        &self,
        q: &ChartQuery,
        kind: ChartKind,
        format: ChartFormat,
    ) -> Result<ExportFile, EngineError> {
        let series = self.success_rate_series(q).await?;
        let chart = chart_of(&series, kind, q.period);
        let fail =
            |e: charts::ChartError| EngineError::invalid("chart_failed", None, e.to_string());
        let stamp = stamp(series.start_ms + series.bucket_ms * i64::from(series.buckets));
        let name = match kind {
            ChartKind::ApprovalRate => "approval-rate",
            ChartKind::TrafficShare => "traffic-share",
            ChartKind::P95Latency => "p95-latency",
        };
        let base = format!("{name}-{}-{stamp}", period_label(q.period));
        Ok(match format {
            ChartFormat::Svg => ExportFile {
                filename: format!("{base}.svg"),
                mime: "image/svg+xml".into(),
                bytes: charts::svg(&chart).map_err(fail)?.into_bytes(),
            },
            ChartFormat::Png => ExportFile {
                filename: format!("{base}.png"),
                mime: "image/png".into(),
                bytes: charts::png(&chart).map_err(fail)?,
            },
        })
    }

    /// Finance table (issue 4 §5): approved volume (minor units), counts and approval rate per
    /// connector account and currency for `[from_ms, to_ms)` (hour-aligned outwards), from the
    /// rollups. Errors: `invalid_id`, `invalid_time`.
    pub async fn finance(&self, q: &FinanceQuery) -> Result<FinanceTable, EngineError> {
        let (f, t) = (floor_to(q.from_ms, HOUR_MS), ceil_to(q.to_ms, HOUR_MS));
        let ids = parse_uuids(&q.connector_ids, "connector_ids")?;
        let (records, cells) = tokio::try_join!(
            async {
                Ok::<_, EngineError>(store::config::connectors(&self.pool, self.merchant_id).await?)
            },
            async {
                Ok(store::rollups::totals_by_connector_currency(
                    &self.pool,
                    self.merchant_id,
                    from_ms(f)?,
                    from_ms(t)?,
                    &ids,
                )
                .await?)
            },
        )?;
        let name = |id: Uuid| {
            records
                .iter()
                .find(|r| r.connector.id.0 == id)
                .map(|r| r.connector.name.clone())
                .unwrap_or_else(|| id.to_string())
        };
        let rows = cells
            .iter()
            .map(|c| FinanceRow {
                connector_id: c.connector_id.to_string(),
                connector_name: name(c.connector_id),
                currency: c.currency.clone(),
                volume_minor: c.counters.approved_amount_minor,
                volume_display: routing::Currency::parse(&c.currency)
                    .map(|cur| cur.format_minor(c.counters.approved_amount_minor))
                    .unwrap_or_else(|_| c.counters.approved_amount_minor.to_string()),
                approved_count: c.counters.approved(),
                calls: c.counters.calls,
                approval_rate: rate(c.counters.approved(), c.counters.counted()),
            })
            .collect();
        Ok(FinanceTable {
            from_ms: f,
            to_ms: t,
            rows,
        })
    }

    /// Streams the approved calls of a finance period to a CSV file at `path` in chunks of
    /// 5,000 rows, calling `progress` after each chunk (and once at the start with 0 done).
    /// Columns: `approved_at_utc` (ISO 8601), `payment_id`, `merchant_reference`, `connector_id`,
    /// `connector_name`, `provider_reference`, `amount_minor`, `amount_decimal`, `currency`
    /// (ISO 4217), `payment_status`. The file is written to `path.partial` and renamed when
    /// complete, so a failed export leaves no half-written file. Errors: `invalid_id`,
    /// `invalid_time`, `export_failed` (IO).
    pub async fn export_finance_csv(
        &self,
        q: &FinanceQuery,
        path: &std::path::Path,
        mut progress: impl FnMut(ExportProgress) + Send,
    ) -> Result<ExportProgress, EngineError> {
        use std::io::Write as _;
        let (from, to) = (from_ms(q.from_ms)?, from_ms(q.to_ms)?);
        let ids = parse_uuids(&q.connector_ids, "connector_ids")?;
        let io = |e: std::io::Error| {
            EngineError::invalid(
                "export_failed",
                None,
                format!("could not write the export: {e}"),
            )
        };
        let total = u64::try_from(
            store::read::finance_line_count(&self.pool, self.merchant_id, from, to, &ids).await?,
        )
        .unwrap_or(0);
        let partial = path.with_extension("partial");
        let file = std::fs::File::create(&partial).map_err(io)?;
        let mut w = std::io::BufWriter::new(file);
        writeln!(w, "approved_at_utc,payment_id,merchant_reference,connector_id,connector_name,provider_reference,amount_minor,amount_decimal,currency,payment_status").map_err(io)?;
        let mut done = ExportProgress {
            rows_done: 0,
            rows_total: total,
        };
        progress(done);
        let mut after = None;
        loop {
            let lines = store::read::finance_lines(
                &self.pool,
                self.merchant_id,
                from,
                to,
                &ids,
                after,
                5000,
            )
            .await?;
            let Some(last) = lines.last() else { break };
            after = Some((last.created_at, last.attempt_id));
            for l in &lines {
                let decimal = routing::Currency::parse(&l.currency)
                    .map(|c| c.format_minor(l.amount_minor))
                    .unwrap_or_else(|_| l.amount_minor.to_string());
                writeln!(
                    w,
                    "{},{},{},{},{},{},{},{},{},{}",
                    iso(l.created_at),
                    l.payment_id,
                    csv_field(l.merchant_reference.as_deref().unwrap_or("")),
                    l.connector_id,
                    csv_field(&l.connector_name),
                    csv_field(l.provider_reference.as_deref().unwrap_or("")),
                    l.amount_minor,
                    decimal,
                    l.currency,
                    l.status
                )
                .map_err(io)?;
            }
            done.rows_done += lines.len() as u64;
            done.rows_total = done.rows_total.max(done.rows_done);
            progress(done);
            if lines.len() < 5000 {
                break;
            }
        }
        w.flush().map_err(io)?;
        drop(w);
        std::fs::rename(&partial, path).map_err(io)?;
        Ok(done)
    }

    /// Connector cards with live state (issue 4 §6): the 24 h view plus last-5-minute figures,
    /// thresholds, the weight a drained connector would be restored to, and its alerts.
    pub async fn connector_cards(&self) -> Result<Vec<ConnectorCard>, EngineError> {
        let since = OffsetDateTime::now_utc() - time::Duration::minutes(5);
        let (views, recent, thresholds) = tokio::try_join!(
            self.connectors(),
            async { Ok(store::rollups::recent(&self.pool, self.merchant_id, since).await?) },
            async { Ok(store::read::failure_thresholds(&self.pool, self.merchant_id).await?) },
        )?;
        let mut cards = Vec::with_capacity(views.len());
        for v in views {
            let id = parse_uuid(&v.id, "connector_id")?;
            let c = recent
                .iter()
                .find(|(cid, _)| *cid == id)
                .map(|(_, c)| c.clone())
                .unwrap_or_default();
            let restore_weight = if v.weight == 0 {
                store::read::weight_before_drain(&self.pool, self.merchant_id, id)
                    .await?
                    .and_then(|w| u32::try_from(w).ok())
            } else {
                None
            };
            let approval_rate_5m = rate(c.approved(), c.counted());
            let failure_rate_5m = rate(c.provider_failures(), c.calls);
            let failure_threshold = thresholds
                .iter()
                .find(|(cid, _)| *cid == id)
                .map(|(_, pct)| f64::from(*pct) / 100.0)
                .unwrap_or(FAILURE_ALERT_THRESHOLD);
            let alerts = alerts_for(&v, &c, approval_rate_5m, failure_rate_5m, failure_threshold);
            cards.push(ConnectorCard {
                calls_5m: c.calls,
                approval_rate_5m,
                approval_threshold: APPROVAL_ALERT_THRESHOLD,
                failure_rate_5m,
                failure_threshold,
                restore_weight,
                alerts,
                connector: v,
            });
        }
        Ok(cards)
    }

    /// Connectors below their approval-rate or health threshold now (the UI raises an OS
    /// notification for each new one).
    pub async fn alerts(&self) -> Result<Vec<ConnectorAlert>, EngineError> {
        Ok(self
            .connector_cards()
            .await?
            .into_iter()
            .flat_map(|c| c.alerts)
            .collect())
    }

    /// Drains a connector (weight 0) with a required, audited reason. Errors: as
    /// [`Self::set_weight`], `already_drained`.
    pub async fn drain(&self, req: ConnectorAction) -> Result<ConnectorView, EngineError> {
        let id = parse_uuid(&req.connector_id, "connector_id")?;
        let current = store::config::connector(&self.pool, self.merchant_id, id)
            .await?
            .ok_or(EngineError::NotFound { what: "connector" })?;
        if current.connector.weight == 0 {
            return Err(EngineError::invalid(
                "already_drained",
                Some("connector_id".into()),
                "the connector already has weight 0",
            ));
        }
        self.set_weight(SetWeight {
            connector_id: req.connector_id,
            weight: 0,
            reason: req.reason,
        })
        .await
    }

    /// Restores a drained connector to the weight it had before its last drain, with a
    /// required, audited reason. Errors: as [`Self::set_weight`], `not_drained` (weight > 0),
    /// `no_previous_weight` (no drain in the audit log).
    pub async fn restore(&self, req: ConnectorAction) -> Result<ConnectorView, EngineError> {
        let id = parse_uuid(&req.connector_id, "connector_id")?;
        let current = store::config::connector(&self.pool, self.merchant_id, id)
            .await?
            .ok_or(EngineError::NotFound { what: "connector" })?;
        if current.connector.weight > 0 {
            return Err(EngineError::invalid(
                "not_drained",
                Some("connector_id".into()),
                "the connector is not drained (its weight is above 0)",
            ));
        }
        let weight = store::read::weight_before_drain(&self.pool, self.merchant_id, id)
            .await?
            .and_then(|w| u32::try_from(w).ok())
            .ok_or_else(|| {
                EngineError::invalid(
                    "no_previous_weight",
                    Some("connector_id".into()),
                    "no earlier drain of this connector is recorded; set a weight explicitly",
                )
            })?;
        self.set_weight(SetWeight {
            connector_id: req.connector_id,
            weight,
            reason: req.reason,
        })
        .await
    }

    /// The policy editor's state: published policy, draft, connectors.
    pub async fn policy_state(&self) -> Result<PolicyState, EngineError> {
        let mode = self.mode().await?;
        let ((published, draft), records) = tokio::try_join!(
            async {
                Ok::<_, EngineError>(
                    store::policies::current(&self.pool, self.merchant_id, mode).await?,
                )
            },
            async { Ok(store::config::connectors(&self.pool, self.merchant_id).await?) },
        )?;
        Ok(PolicyState {
            mode: store::config::mode_str(mode).to_owned(),
            published: published.as_ref().map(policy_view),
            draft: draft.as_ref().map(policy_view),
            connectors: records
                .iter()
                .map(|r| MatrixConnector {
                    id: r.connector.id.to_string(),
                    name: r.connector.name.clone(),
                })
                .collect(),
        })
    }

    /// Static validation of a policy JSON against the merchant's connectors: parse errors
    /// (`invalid_json`) and every `routing::validate_policy` issue.
    pub async fn validate_policy(&self, json: &str) -> Result<PolicyValidation, EngineError> {
        let policy = match parse_policy(json) {
            Ok(p) => p,
            Err(issue) => {
                return Ok(PolicyValidation {
                    issues: vec![issue],
                });
            }
        };
        let records = store::config::connectors(&self.pool, self.merchant_id).await?;
        let known: Vec<routing::ConnectorId> = records.iter().map(|r| r.connector.id).collect();
        Ok(PolicyValidation {
            issues: routing::validate_policy(&policy, &known),
        })
    }

    /// Saves a draft (it may have issues; publishing refuses them). Errors: `invalid_policy`
    /// (not parseable JSON of a policy).
    pub async fn save_draft(&self, json: &str) -> Result<PolicyVersionView, EngineError> {
        let policy = parse_policy(json)
            .map_err(|i| EngineError::invalid("invalid_policy", Some("json".into()), i.message))?;
        let body =
            serde_json::to_value(&policy).map_err(|e| EngineError::Internal(e.to_string()))?;
        let row = store::policies::save_draft(
            &self.pool,
            self.merchant_id,
            self.mode().await?,
            &body,
            &self.actor,
        )
        .await?;
        Ok(policy_view(&row))
    }

    /// Structured diff of the draft against the published policy (an absent one = the default
    /// policy). Errors: `no_draft`.
    pub async fn diff_draft(&self) -> Result<PolicyDiff, EngineError> {
        let (published, draft) = self.policies_pair().await?;
        Ok(diff_policies(&published, &draft))
    }

    async fn policies_pair(&self) -> Result<(Policy, Policy), EngineError> {
        let (published, draft) =
            store::policies::current(&self.pool, self.merchant_id, self.mode().await?).await?;
        let parse = |v: &serde_json::Value| {
            serde_json::from_value::<Policy>(v.clone())
                .map_err(|e| EngineError::Internal(format!("stored policy unreadable: {e}")))
        };
        let draft = draft.ok_or_else(|| {
            EngineError::invalid("no_draft", None, "there is no draft policy; save one first")
        })?;
        Ok((
            published
                .as_ref()
                .map(|p| parse(&p.body))
                .transpose()?
                .unwrap_or_default(),
            parse(&draft.body)?,
        ))
    }

    /// Publishes the draft with a note (3..=500 chars), audited. Errors: `no_draft`,
    /// `note_required`, `policy_invalid` (validation issues; the message lists them).
    pub async fn publish_draft(&self, note: &str) -> Result<PolicyVersionView, EngineError> {
        let note = note.trim();
        if note.chars().count() < 3 || note.chars().count() > 500 {
            return Err(EngineError::invalid(
                "note_required",
                Some("note".into()),
                "a note of 3 to 500 characters is required to publish",
            ));
        }
        let (_, draft) = self.policies_pair().await?;
        let records = store::config::connectors(&self.pool, self.merchant_id).await?;
        let known: Vec<routing::ConnectorId> = records.iter().map(|r| r.connector.id).collect();
        let issues = routing::validate_policy(&draft, &known);
        if !issues.is_empty() {
            return Err(EngineError::invalid(
                "policy_invalid",
                Some("draft".into()),
                issues
                    .iter()
                    .map(|i| i.message.clone())
                    .collect::<Vec<_>>()
                    .join("; "),
            ));
        }
        let row = store::policies::publish_draft(
            &self.pool,
            self.merchant_id,
            self.mode().await?,
            note,
            &self.actor,
        )
        .await?
        .ok_or_else(|| {
            EngineError::invalid("no_draft", None, "there is no draft policy; save one first")
        })?;
        Ok(policy_view(&row))
    }

    /// Replays the newest stored payment contexts of the last `days` days (at most `limit`,
    /// 1..=200,000, default 50,000) through routing with the published policy and the draft
    /// (see [`crate::simulate`]). Errors: `no_draft`, `invalid_days` (1..=90).
    pub async fn simulate_draft(
        &self,
        days: u32,
        limit: Option<u32>,
    ) -> Result<SimulationResult, EngineError> {
        if !(1..=90).contains(&days) {
            return Err(EngineError::invalid(
                "invalid_days",
                Some("days".into()),
                "days must be 1..=90",
            ));
        }
        let (published, draft) = self.policies_pair().await?;
        let mode = self.mode().await?;
        let records = store::config::connectors(&self.pool, self.merchant_id).await?;
        let connectors: Vec<routing::Connector> =
            records.iter().map(|r| r.connector.clone()).collect();
        let since = OffsetDateTime::now_utc() - time::Duration::days(i64::from(days));
        let limit = i64::from(limit.unwrap_or(50_000).clamp(1, 200_000));
        let stored = store::read::stored_contexts(
            &self.pool,
            self.merchant_id,
            store::config::mode_str(mode),
            since,
            limit,
        )
        .await?;
        Ok(crate::simulate::simulate(
            &stored,
            &connectors,
            &published,
            &draft,
            mode,
            days,
        ))
    }

    /// Dry-run "explain route" for a hand-typed checkout body (the `POST /v1/payments` JSON),
    /// with the draft (`use_draft`) or the published policy and the given roll in `[0, 1)`.
    /// Nothing is stored, no provider is called. Errors: the validation errors of a payment
    /// create (`invalid_amount`, `invalid_currency`…), `no_draft`.
    pub async fn explain_route(
        &self,
        body_json: &str,
        use_draft: bool,
        roll: f64,
    ) -> Result<RouteDecision, EngineError> {
        let (req, _) = crate::payments::parse_create(body_json.as_bytes())?;
        let ctx = crate::payments::context_from(&req)?;
        let policy = if use_draft {
            self.policies_pair().await?.1
        } else {
            self.published_policy().await?
        };
        let records = store::config::connectors(&self.pool, self.merchant_id).await?;
        let connectors: Vec<routing::Connector> =
            records.iter().map(|r| r.connector.clone()).collect();
        Ok(routing::decide_explained(
            &ctx,
            &connectors,
            &policy,
            self.mode().await?,
            roll,
        ))
    }

    /// Audit entries matching `q`, newest first (issue 4 §8). Errors: `invalid_time`.
    pub async fn audit_query(&self, q: &AuditQuery) -> Result<Vec<AuditEntry>, EngineError> {
        let params = store::read::AuditParams {
            entity: q.entity.clone().filter(|s| !s.is_empty()),
            entity_id: q.entity_id.clone().filter(|s| !s.is_empty()),
            actor: q.actor.clone().filter(|s| !s.is_empty()),
            from: q.from_ms.map(from_ms).transpose()?,
            to: q.to_ms.map(from_ms).transpose()?,
            before_id: q.before_id,
            limit: i64::from(q.limit.unwrap_or(200).clamp(1, 1000)),
        };
        Ok(
            store::read::audit_query(&self.pool, self.merchant_id, &params)
                .await?
                .into_iter()
                .map(|r| AuditEntry {
                    id: r.id,
                    at_ms: to_ms(r.at),
                    actor: r.actor,
                    entity: r.entity,
                    entity_id: r.entity_id,
                    action: r.action,
                    reason: r.reason,
                    before: r.before.map(|v| v.to_string()).unwrap_or_default(),
                    after: r.after.map(|v| v.to_string()).unwrap_or_default(),
                })
                .collect(),
        )
    }
}

fn alerts_for(
    v: &ConnectorView,
    c: &Counters,
    approval: Option<f64>,
    failure: Option<f64>,
    failure_threshold: f64,
) -> Vec<ConnectorAlert> {
    let mut out = Vec::new();
    let alert = |kind: &str, value: f64, threshold: f64, message: String| ConnectorAlert {
        connector_id: v.id.clone(),
        connector_name: v.name.clone(),
        kind: kind.to_owned(),
        value,
        threshold,
        message,
    };
    if let Some(a) = approval
        && c.counted() >= ALERT_MIN_CALLS
        && a < APPROVAL_ALERT_THRESHOLD
    {
        out.push(alert(
            "approval_rate_low",
            a,
            APPROVAL_ALERT_THRESHOLD,
            format!(
                "{}: approval rate {:.0}% over the last 5 minutes is below {:.0}%",
                v.name,
                a * 100.0,
                APPROVAL_ALERT_THRESHOLD * 100.0
            ),
        ));
    }
    if let Some(f) = failure
        && c.calls >= ALERT_MIN_CALLS
        && f > failure_threshold
    {
        out.push(alert(
            "failure_rate_high",
            f,
            failure_threshold,
            format!(
                "{}: {:.0}% provider-side failures over the last 5 minutes (threshold {:.0}%)",
                v.name,
                f * 100.0,
                failure_threshold * 100.0
            ),
        ));
    }
    if v.circuit == "open" {
        out.push(alert(
            "circuit_open",
            1.0,
            1.0,
            format!("{}: circuit open, no traffic is sent", v.name),
        ));
    }
    out
}

fn chart_of(s: &SuccessRateSeries, kind: ChartKind, period: ChartPeriod) -> charts::LineChart {
    let (title, y_axis) = match kind {
        ChartKind::ApprovalRate => ("Approval rate", charts::YAxis::Percent),
        ChartKind::TrafficShare => ("Traffic share", charts::YAxis::Percent),
        ChartKind::P95Latency => ("p95 latency", charts::YAxis::Millis),
    };
    charts::LineChart {
        title: format!("{title} per connector, last {}", period_label(period)),
        y_axis,
        start_ms: s.start_ms,
        bucket_ms: s.bucket_ms,
        series: s
            .connectors
            .iter()
            .map(|c| charts::Series {
                name: c.name.clone(),
                values: match kind {
                    ChartKind::ApprovalRate => c.approval_rate.clone(),
                    ChartKind::TrafficShare => c.traffic_share.clone(),
                    ChartKind::P95Latency => c
                        .p95_latency_ms
                        .iter()
                        .map(|v| v.map(|v| v as f64))
                        .collect(),
                },
            })
            .collect(),
        width: charts::DEFAULT_SIZE.0,
        height: charts::DEFAULT_SIZE.1,
    }
}

fn stamp(ms: i64) -> String {
    match from_ms(ms) {
        Ok(t) => format!(
            "{:04}{:02}{:02}T{:02}{:02}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute()
        ),
        Err(_) => ms.to_string(),
    }
}

fn iso(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Quotes a CSV field when needed (RFC 4180); a leading `=`, `+`, `-`, `@` is prefixed with `'`
/// so spreadsheets do not evaluate it.
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}
