//! Read queries for the console and the gateway's `GET /v1/payments/{id}`.

use sqlx::{FromRow, PgPool, Postgres, QueryBuilder};
use time::OffsetDateTime;
use uuid::Uuid;

/// A payment row.
#[derive(Debug, Clone, FromRow)]
pub struct PaymentRow {
    /// Payment id.
    pub id: Uuid,
    /// `test`/`live`.
    pub mode: String,
    /// Minor units.
    pub amount_minor: i64,
    /// ISO 4217.
    pub currency: String,
    /// ISO 3166.
    pub country: String,
    /// Method type.
    pub method: String,
    /// `automatic`/`manual`.
    pub capture_mode: String,
    /// Merchant reference.
    pub merchant_reference: Option<String>,
    /// Metadata.
    pub metadata: serde_json::Value,
    /// Status.
    pub status: String,
    /// Failure code.
    pub failure_code: Option<String>,
    /// Failure message.
    pub failure_message: Option<String>,
    /// 3DS URL.
    pub next_action_url: Option<String>,
    /// Captured, minor units.
    pub captured_minor: i64,
    /// Refunded, minor units.
    pub refunded_minor: i64,
    /// RouteTrace JSON.
    pub route: serde_json::Value,
    /// Attempts made.
    pub attempt_count: i32,
    /// Name of the last attempt's connector.
    pub last_connector: Option<String>,
    /// Created.
    pub created_at: OffsetDateTime,
    /// Updated.
    pub updated_at: OffsetDateTime,
}

const PAYMENT_COLS: &str = "p.id, p.mode, p.amount_minor, p.currency::text AS currency, p.country::text AS country,
    p.method, p.capture_mode, p.merchant_reference, p.metadata, p.status, p.failure_code, p.failure_message,
    p.next_action_url, p.captured_minor, p.refunded_minor, p.route, p.attempt_count,
    (SELECT c.name FROM connectors c WHERE c.merchant_id = p.merchant_id AND c.id = p.last_connector_id) AS last_connector,
    p.created_at, p.updated_at";

/// An attempt row.
#[derive(Debug, Clone, FromRow)]
pub struct AttemptRow {
    /// Attempt id.
    pub id: Uuid,
    /// Order.
    pub seq: i32,
    /// Connector id.
    pub connector_id: Uuid,
    /// Connector name.
    pub connector_name: String,
    /// Provider.
    pub provider: String,
    /// Status.
    pub status: String,
    /// Outcome class.
    pub outcome: Option<String>,
    /// Provider reference.
    pub provider_reference: Option<String>,
    /// Provider status.
    pub provider_status: Option<String>,
    /// HTTP status.
    pub http_status: Option<i32>,
    /// Provider code.
    pub raw_code: Option<String>,
    /// Decline code.
    pub decline_code: Option<String>,
    /// Message.
    pub message: Option<String>,
    /// Inserted (pending).
    pub created_at: OffsetDateTime,
    /// Sent.
    pub requested_at: Option<OffsetDateTime>,
    /// Answered.
    pub responded_at: Option<OffsetDateTime>,
    /// Latency.
    pub latency_ms: Option<i32>,
    /// Decision after it.
    pub next_step: Option<String>,
    /// Decision detail.
    pub next_step_detail: Option<String>,
    /// Reconciliation.
    pub reconciliation: Option<String>,
}

/// An event row.
#[derive(Debug, Clone, FromRow)]
pub struct EventRow {
    /// Sequence.
    pub id: i64,
    /// When.
    pub at: OffsetDateTime,
    /// Cause.
    pub cause: String,
    /// Kind.
    pub kind: String,
    /// Before.
    pub from_status: Option<String>,
    /// After.
    pub to_status: Option<String>,
    /// Attempt.
    pub attempt_id: Option<Uuid>,
    /// Detail.
    pub detail: String,
}

/// One payment. `None` if absent for this merchant.
pub async fn payment(
    pool: &PgPool,
    merchant_id: Uuid,
    id: Uuid,
) -> Result<Option<PaymentRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {PAYMENT_COLS} FROM payments p WHERE p.merchant_id = $1 AND p.id = $2"
    ))
    .bind(merchant_id)
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// A payment's attempts in order.
pub async fn attempts(
    pool: &PgPool,
    merchant_id: Uuid,
    payment_id: Uuid,
) -> Result<Vec<AttemptRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, seq, connector_id, connector_name, provider, status, outcome, provider_reference, provider_status,
            http_status, raw_code, decline_code, message, created_at, requested_at, responded_at, latency_ms,
            next_step, next_step_detail, reconciliation
         FROM attempts WHERE merchant_id = $1 AND payment_id = $2 ORDER BY seq",
    )
    .bind(merchant_id)
    .bind(payment_id)
    .fetch_all(pool)
    .await
}

/// A payment's events in order.
pub async fn events(
    pool: &PgPool,
    merchant_id: Uuid,
    payment_id: Uuid,
) -> Result<Vec<EventRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, at, cause, kind, from_status, to_status, attempt_id, detail
         FROM payment_events WHERE merchant_id = $1 AND payment_id = $2 ORDER BY id",
    )
    .bind(merchant_id)
    .bind(payment_id)
    .fetch_all(pool)
    .await
}

/// Search: `query` is a payment id (exact), a provider reference (exact) or a merchant
/// reference (prefix); empty = newest. Optional status filter. Newest first, at most `limit`.
pub async fn search_payments(
    pool: &PgPool,
    merchant_id: Uuid,
    query: &str,
    status: Option<&str>,
    limit: i64,
) -> Result<Vec<PaymentRow>, sqlx::Error> {
    let q = query.trim();
    if q.is_empty() {
        return sqlx::query_as(&format!(
            "SELECT {PAYMENT_COLS} FROM payments p WHERE p.merchant_id = $1 AND ($2::text IS NULL OR p.status = $2)
             ORDER BY p.created_at DESC LIMIT $3"
        ))
        .bind(merchant_id)
        .bind(status)
        .bind(limit)
        .fetch_all(pool)
        .await;
    }
    let as_uuid = Uuid::parse_str(q).ok();
    // Escape LIKE metacharacters in the merchant-reference prefix.
    let prefix = format!(
        "{}%",
        q.replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    sqlx::query_as(&format!(
        "SELECT {PAYMENT_COLS} FROM payments p WHERE p.merchant_id = $1 AND ($2::text IS NULL OR p.status = $2) AND (
            p.id = $3
            OR p.merchant_reference LIKE $4
            OR p.id IN (SELECT a.payment_id FROM attempts a WHERE a.merchant_id = $1 AND a.provider_reference = $5))
         ORDER BY p.created_at DESC LIMIT $6"
    ))
    .bind(merchant_id)
    .bind(status)
    .bind(as_uuid)
    .bind(prefix)
    .bind(q)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Per-connector figures since `since`: `(connector id, attempts, approved, declined or failed
/// (answered, not approved), p95 latency ms)`.
#[derive(Debug, Clone, FromRow)]
pub struct ConnectorStats {
    /// Connector.
    pub connector_id: Uuid,
    /// Provider calls answered or pending.
    pub attempts: i64,
    /// Approved calls.
    pub approved: i64,
    /// Calls that ended declined or failed (approval-rate denominator minus approved).
    pub not_approved: i64,
    /// p95 latency, ms.
    pub p95_latency_ms: Option<f64>,
}

/// Connector figures since `since` (uses the `(merchant, connector, created_at)` index).
pub async fn connector_stats(
    pool: &PgPool,
    merchant_id: Uuid,
    since: OffsetDateTime,
) -> Result<Vec<ConnectorStats>, sqlx::Error> {
    sqlx::query_as(
        "SELECT connector_id, count(*) AS attempts,
            count(*) FILTER (WHERE outcome = 'approved') AS approved,
            count(*) FILTER (WHERE outcome IS NOT NULL AND outcome NOT IN ('approved', 'unknown_outcome', 'needs_customer_action')) AS not_approved,
            percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95_latency_ms
         FROM attempts WHERE merchant_id = $1 AND created_at >= $2 GROUP BY connector_id",
    )
    .bind(merchant_id)
    .bind(since)
    .fetch_all(pool)
    .await
}

/// An audit row.
#[derive(Debug, Clone, FromRow)]
pub struct AuditRow {
    /// Sequence.
    pub id: i64,
    /// When.
    pub at: OffsetDateTime,
    /// Who.
    pub actor: String,
    /// Entity kind.
    pub entity: String,
    /// Entity id.
    pub entity_id: String,
    /// Action.
    pub action: String,
    /// Reason.
    pub reason: String,
    /// Before (JSON text).
    pub before: Option<serde_json::Value>,
    /// After (JSON text).
    pub after: Option<serde_json::Value>,
}

/// Latest audit rows of a merchant.
pub async fn audit_log(
    pool: &PgPool,
    merchant_id: Uuid,
    limit: i64,
) -> Result<Vec<AuditRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, at, actor, entity, entity_id, action, reason, before, after FROM audit_log
         WHERE merchant_id = $1 ORDER BY id DESC LIMIT $2",
    )
    .bind(merchant_id)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Payments per status: `(status, count)`, largest first.
pub async fn status_counts(
    pool: &PgPool,
    merchant_id: Uuid,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT status, count(*) FROM payments WHERE merchant_id = $1 GROUP BY status ORDER BY 2 DESC")
        .bind(merchant_id)
        .fetch_all(pool)
        .await
}

/// Attempts per connector and outcome: `(connector name, outcome or 'pending', count)`.
pub async fn attempts_by_connector(
    pool: &PgPool,
    merchant_id: Uuid,
) -> Result<Vec<(String, String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT connector_name, coalesce(outcome, 'pending'), count(*) FROM attempts WHERE merchant_id = $1
         GROUP BY 1, 2 ORDER BY 1, 3 DESC",
    )
    .bind(merchant_id)
    .fetch_all(pool)
    .await
}

/// Fallbacks (an attempt followed by another provider call) by the outcome class that caused
/// them: `(outcome, from connector, count)`.
pub async fn fallbacks_by_outcome(
    pool: &PgPool,
    merchant_id: Uuid,
) -> Result<Vec<(String, String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT coalesce(outcome, 'pending'), connector_name, count(*) FROM attempts
         WHERE merchant_id = $1 AND next_step IN ('fall_back', 'retry_same') GROUP BY 1, 2 ORDER BY 3 DESC",
    )
    .bind(merchant_id)
    .fetch_all(pool)
    .await
}

/// Payments that made more than one provider call, newest first (ids).
pub async fn fallen_back_payments(
    pool: &PgPool,
    merchant_id: Uuid,
    limit: i64,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM payments WHERE merchant_id = $1 AND attempt_count > 1 ORDER BY created_at DESC LIMIT $2",
    )
    .bind(merchant_id)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Search filters for [`search_page`] (all optional, ANDed). Times UTC, amounts minor units.
#[derive(Debug, Clone, Default)]
pub struct SearchParams {
    /// Exact payment id.
    pub payment_id: Option<Uuid>,
    /// Merchant reference prefix.
    pub reference_prefix: Option<String>,
    /// Exact provider reference of any attempt.
    pub provider_reference: Option<String>,
    /// Free text: payment id, provider reference or merchant-reference prefix.
    pub text: Option<String>,
    /// Inclusive amount bounds.
    pub amount_min: Option<i64>,
    /// Inclusive amount bounds.
    pub amount_max: Option<i64>,
    /// ISO 4217.
    pub currency: Option<String>,
    /// Created at or after.
    pub from: Option<OffsetDateTime>,
    /// Created before.
    pub to: Option<OffsetDateTime>,
    /// Status.
    pub status: Option<String>,
    /// Payments with an attempt on this connector.
    pub connector_id: Option<Uuid>,
    /// Payments with an attempt of this outcome class.
    pub outcome: Option<String>,
    /// Keyset: rows strictly older than `(created_at, id)`.
    pub after: Option<(OffsetDateTime, Uuid)>,
    /// Page size.
    pub limit: i64,
}

fn like_prefix(q: &str) -> String {
    format!(
        "{}%",
        q.replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    )
}

/// One page of payments, newest first by `(created_at, id)`, using the keyset indexes of
/// migration 0005. With a connector or outcome filter the page is driven from `attempts`
/// (`attempts_by_connector_outcome` / `attempts_by_outcome` / `attempts_by_connector_time`), one
/// row per payment (its first matching attempt) ordered by that attempt's `created_at`. The SQL
/// holds only the active filters (no `$n IS NULL OR …`), so every filter combination gets a
/// plan that uses its index. Returns at most `limit` rows.
pub async fn search_page(
    pool: &PgPool,
    merchant_id: Uuid,
    s: &SearchParams,
) -> Result<Vec<PaymentRow>, sqlx::Error> {
    let mut qb: QueryBuilder<'_, Postgres> = QueryBuilder::new(format!("SELECT {PAYMENT_COLS} "));
    let by_attempt = s.connector_id.is_some() || s.outcome.is_some();
    if by_attempt {
        qb.push(
            "FROM attempts a JOIN payments p ON p.merchant_id = a.merchant_id AND p.id = a.payment_id WHERE a.merchant_id = ",
        )
        .push_bind(merchant_id);
        if let Some(c) = s.connector_id {
            qb.push(" AND a.connector_id = ").push_bind(c);
        }
        if let Some(o) = &s.outcome {
            qb.push(" AND a.outcome = ").push_bind(o.clone());
        }
        push_time(&mut qb, "a.created_at", "a.payment_id", s);
        qb.push(
            " AND NOT EXISTS (SELECT 1 FROM attempts e WHERE e.merchant_id = a.merchant_id
               AND e.payment_id = a.payment_id AND e.seq < a.seq",
        );
        if let Some(c) = s.connector_id {
            qb.push(" AND e.connector_id = ").push_bind(c);
        }
        if let Some(o) = &s.outcome {
            qb.push(" AND e.outcome = ").push_bind(o.clone());
        }
        qb.push(")");
        push_payment_filters(&mut qb, merchant_id, s);
        qb.push(" ORDER BY a.created_at DESC, a.payment_id DESC LIMIT ")
            .push_bind(s.limit);
    } else {
        qb.push("FROM payments p WHERE p.merchant_id = ")
            .push_bind(merchant_id);
        push_time(&mut qb, "p.created_at", "p.id", s);
        push_payment_filters(&mut qb, merchant_id, s);
        qb.push(" ORDER BY p.created_at DESC, p.id DESC LIMIT ")
            .push_bind(s.limit);
    }
    qb.build_query_as().fetch_all(pool).await
}

fn push_time(qb: &mut QueryBuilder<'_, Postgres>, at: &str, id: &str, s: &SearchParams) {
    if let Some(from) = s.from {
        qb.push(format!(" AND {at} >= ")).push_bind(from);
    }
    if let Some(to) = s.to {
        qb.push(format!(" AND {at} < ")).push_bind(to);
    }
    if let Some((t, after_id)) = s.after {
        qb.push(format!(" AND ({at}, {id}) < ("))
            .push_bind(t)
            .push(", ")
            .push_bind(after_id)
            .push(")");
    }
}

fn push_payment_filters(qb: &mut QueryBuilder<'_, Postgres>, merchant_id: Uuid, s: &SearchParams) {
    if let Some(id) = s.payment_id {
        qb.push(" AND p.id = ").push_bind(id);
    }
    if let Some(r) = &s.reference_prefix {
        qb.push(" AND p.merchant_reference LIKE ")
            .push_bind(like_prefix(r));
    }
    if let Some(r) = &s.provider_reference {
        qb.push(" AND p.id IN (SELECT x.payment_id FROM attempts x WHERE x.merchant_id = ")
            .push_bind(merchant_id)
            .push(" AND x.provider_reference = ")
            .push_bind(r.clone())
            .push(")");
    }
    if let Some(t) = s.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        qb.push(" AND p.id IN (SELECT y.id FROM payments y WHERE y.merchant_id = ")
            .push_bind(merchant_id)
            .push(" AND y.merchant_reference LIKE ")
            .push_bind(like_prefix(t));
        if let Ok(id) = Uuid::parse_str(t) {
            qb.push(" UNION ALL SELECT ").push_bind(id);
        }
        qb.push(" UNION ALL SELECT x.payment_id FROM attempts x WHERE x.merchant_id = ")
            .push_bind(merchant_id)
            .push(" AND x.provider_reference = ")
            .push_bind(t.to_owned())
            .push(")");
    }
    if let Some(min) = s.amount_min {
        qb.push(" AND p.amount_minor >= ").push_bind(min);
    }
    if let Some(max) = s.amount_max {
        qb.push(" AND p.amount_minor <= ").push_bind(max);
    }
    if let Some(c) = &s.currency {
        qb.push(" AND p.currency = ").push_bind(c.clone());
    }
    if let Some(st) = &s.status {
        qb.push(" AND p.status = ").push_bind(st.clone());
    }
}

/// The time an attempt-driven search orders a payment by: the `created_at` of its first attempt
/// matching `connector_id` / `outcome` (for the cursor of [`search_page`]).
pub async fn matching_attempt_time(
    pool: &PgPool,
    merchant_id: Uuid,
    payment_id: Uuid,
    connector_id: Option<Uuid>,
    outcome: Option<&str>,
) -> Result<Option<OffsetDateTime>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT created_at FROM attempts WHERE merchant_id = $1 AND payment_id = $2
           AND ($3::uuid IS NULL OR connector_id = $3) AND ($4::text IS NULL OR outcome = $4)
         ORDER BY seq LIMIT 1",
    )
    .bind(merchant_id)
    .bind(payment_id)
    .bind(connector_id)
    .bind(outcome)
    .fetch_optional(pool)
    .await
}

/// Audit filters (see [`audit_query`]).
#[derive(Debug, Clone, Default)]
pub struct AuditParams {
    /// Entity kind.
    pub entity: Option<String>,
    /// Entity id.
    pub entity_id: Option<String>,
    /// Actor.
    pub actor: Option<String>,
    /// At or after.
    pub from: Option<OffsetDateTime>,
    /// Before.
    pub to: Option<OffsetDateTime>,
    /// id < before_id.
    pub before_id: Option<i64>,
    /// Max rows.
    pub limit: i64,
}

/// Audit rows of a merchant matching the filters, newest first.
pub async fn audit_query(
    pool: &PgPool,
    merchant_id: Uuid,
    q: &AuditParams,
) -> Result<Vec<AuditRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, at, actor, entity, entity_id, action, reason, before, after FROM audit_log
         WHERE merchant_id = $1 AND ($2::text IS NULL OR entity = $2) AND ($3::text IS NULL OR entity_id = $3)
           AND ($4::text IS NULL OR actor = $4) AND ($5::timestamptz IS NULL OR at >= $5)
           AND ($6::timestamptz IS NULL OR at < $6) AND ($7::bigint IS NULL OR id < $7)
         ORDER BY id DESC LIMIT $8",
    )
    .bind(merchant_id)
    .bind(q.entity.as_deref())
    .bind(q.entity_id.as_deref())
    .bind(q.actor.as_deref())
    .bind(q.from)
    .bind(q.to)
    .bind(q.before_id)
    .bind(q.limit)
    .fetch_all(pool)
    .await
}

/// The weight a connector had before its last drain (a `set_weight` audit row whose new weight
/// is 0), when its current weight is still 0. `None` otherwise.
pub async fn weight_before_drain(
    pool: &PgPool,
    merchant_id: Uuid,
    connector_id: Uuid,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT (before->>'weight')::bigint FROM audit_log
         WHERE merchant_id = $1 AND entity = 'connector' AND entity_id = $2 AND action = 'set_weight'
           AND (after->>'weight')::bigint = 0 AND (before->>'weight')::bigint > 0
         ORDER BY id DESC LIMIT 1",
    )
    .bind(merchant_id)
    .bind(connector_id.to_string())
    .fetch_optional(pool)
    .await
}

/// One approved call for the finance CSV export.
#[derive(Debug, Clone, FromRow)]
pub struct FinanceLine {
    /// Attempt id (keyset).
    pub attempt_id: Uuid,
    /// Payment id.
    pub payment_id: Uuid,
    /// Merchant reference.
    pub merchant_reference: Option<String>,
    /// Connector id.
    pub connector_id: Uuid,
    /// Connector name.
    pub connector_name: String,
    /// Provider reference.
    pub provider_reference: Option<String>,
    /// Minor units.
    pub amount_minor: i64,
    /// ISO 4217.
    pub currency: String,
    /// Payment status now.
    pub status: String,
    /// When the approved call was made.
    pub created_at: OffsetDateTime,
}

/// Number of approved calls in `[from, to)` on `connectors` (empty = all).
pub async fn finance_line_count(
    pool: &PgPool,
    merchant_id: Uuid,
    from: OffsetDateTime,
    to: OffsetDateTime,
    connectors: &[Uuid],
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT count(*) FROM attempts a WHERE a.merchant_id = $1 AND a.outcome = 'approved'
           AND a.created_at >= $2 AND a.created_at < $3 AND (cardinality($4::uuid[]) = 0 OR a.connector_id = ANY($4))",
    )
    .bind(merchant_id)
    .bind(from)
    .bind(to)
    .bind(connectors)
    .fetch_one(pool)
    .await
}

/// Approved calls in `[from, to)`, oldest first by `(created_at, attempt id)`, strictly after
/// `after`, at most `limit` (a chunk of the finance export).
pub async fn finance_lines(
    pool: &PgPool,
    merchant_id: Uuid,
    from: OffsetDateTime,
    to: OffsetDateTime,
    connectors: &[Uuid],
    after: Option<(OffsetDateTime, Uuid)>,
    limit: i64,
) -> Result<Vec<FinanceLine>, sqlx::Error> {
    sqlx::query_as(
        "SELECT a.id AS attempt_id, a.payment_id, p.merchant_reference, a.connector_id, a.connector_name,
                a.provider_reference, p.amount_minor, p.currency::text AS currency, p.status, a.created_at
         FROM attempts a JOIN payments p ON p.merchant_id = a.merchant_id AND p.id = a.payment_id
         WHERE a.merchant_id = $1 AND a.outcome = 'approved' AND a.created_at >= $2 AND a.created_at < $3
           AND (cardinality($4::uuid[]) = 0 OR a.connector_id = ANY($4))
           AND ($5::timestamptz IS NULL OR (a.created_at, a.id) > ($5, $6))
         ORDER BY a.created_at, a.id LIMIT $7",
    )
    .bind(merchant_id)
    .bind(from)
    .bind(to)
    .bind(connectors)
    .bind(after.map(|a| a.0))
    .bind(after.map(|a| a.1))
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// A stored payment context, for replaying routing (policy simulation).
#[derive(Debug, Clone, FromRow)]
pub struct StoredContext {
    /// Payment id.
    pub id: Uuid,
    /// `test`/`live`.
    pub mode: String,
    /// Minor units.
    pub amount_minor: i64,
    /// ISO 4217.
    pub currency: String,
    /// ISO 3166.
    pub country: String,
    /// `card`/`wallet`/`bank`.
    pub method: String,
    /// Card brand.
    pub card_brand: Option<String>,
    /// `automatic`/`manual`.
    pub capture_mode: String,
    /// Metadata JSON object.
    pub metadata: serde_json::Value,
    /// Tokens JSON (scopes included; tokens are payment-method references, not secrets).
    pub tokens: serde_json::Value,
    /// The roll routing used.
    pub route_roll: f64,
    /// Created.
    pub created_at: OffsetDateTime,
}

/// The newest payments created since `since` in `mode`, at most `limit`.
pub async fn stored_contexts(
    pool: &PgPool,
    merchant_id: Uuid,
    mode: &str,
    since: OffsetDateTime,
    limit: i64,
) -> Result<Vec<StoredContext>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, mode, amount_minor, currency::text AS currency, country::text AS country, method, card_brand,
                capture_mode, metadata, tokens, route_roll, created_at
         FROM payments WHERE merchant_id = $1 AND mode = $2 AND created_at >= $3
         ORDER BY created_at DESC, id DESC LIMIT $4",
    )
    .bind(merchant_id)
    .bind(mode)
    .bind(since)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Each connector's circuit-breaker failure threshold, percent of provider-side failures
/// (`connectors.circuit_failure_threshold_pct`, migration 0004): `(connector id, pct)`.
pub async fn failure_thresholds(
    pool: &PgPool,
    merchant_id: Uuid,
) -> Result<Vec<(Uuid, i16)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, circuit_failure_threshold_pct FROM connectors WHERE merchant_id = $1",
    )
    .bind(merchant_id)
    .fetch_all(pool)
    .await
}
