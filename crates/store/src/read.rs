//! Read queries for the console and the gateway's `GET /v1/payments/{id}`.

use sqlx::{FromRow, PgPool};
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
