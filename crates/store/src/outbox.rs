//! Merchant webhooks: endpoints, the outbox and the delivery log (migration 0004).
//!
//! Outbox rows are written by the `payment_events` trigger in the statement (so the transaction)
//! of the payment change; nothing here writes them for the payment protocol. The delivery worker
//! claims due rows with `FOR UPDATE SKIP LOCKED` and a lease (the claim moves `next_attempt_at`
//! forward), so several gateways never deliver the same row at once and a crashed worker's rows
//! come back after the lease. No transaction is held during the HTTP call.

use sqlx::{PgPool, Row};
use time::OffsetDateTime;
use uuid::Uuid;

/// A claimed outbox row with where to send it. Holds the merchant's signing secret: never log it.
#[derive(Clone)]
pub struct DueWebhook {
    /// Merchant.
    pub merchant_id: Uuid,
    /// Outbox row id.
    pub outbox_id: i64,
    /// Payment the event is about.
    pub payment_id: Uuid,
    /// `payment.<status>` or `payment.refund_finished`.
    pub event_type: String,
    /// The JSON body to send (stored, so every attempt and replay sends the same bytes).
    pub payload: serde_json::Value,
    /// This delivery's attempt number (1 = first).
    pub attempt: i32,
    /// Endpoint URL.
    pub url: String,
    /// HMAC-SHA256 signing secret of the merchant.
    pub secret: String,
}

impl std::fmt::Debug for DueWebhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DueWebhook")
            .field("merchant_id", &self.merchant_id)
            .field("outbox_id", &self.outbox_id)
            .field("event_type", &self.event_type)
            .field("attempt", &self.attempt)
            .field("url", &self.url)
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// What to do with an outbox row after a delivery attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterDelivery {
    /// 2xx: done.
    Delivered,
    /// Failed: try again at this time.
    RetryAt(OffsetDateTime),
    /// Failed too often: stop retrying (an operator may replay).
    GiveUp,
}

/// One delivery attempt to log.
#[derive(Debug, Clone)]
pub struct DeliveryLog<'a> {
    /// Merchant.
    pub merchant_id: Uuid,
    /// Outbox row.
    pub outbox_id: i64,
    /// Attempt number.
    pub attempt: i32,
    /// URL called.
    pub url: &'a str,
    /// HTTP status answered, if any.
    pub status_code: Option<i32>,
    /// Time to the answer (or the error), milliseconds.
    pub latency_ms: i32,
    /// Transport error or non-2xx summary.
    pub error: Option<&'a str>,
    /// `worker` or `replay`.
    pub source: &'static str,
    /// Operator for replays.
    pub actor: Option<&'a str>,
}

/// An outbox row with its deliveries, for the console.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxRow {
    /// Outbox id.
    pub id: i64,
    /// Payment.
    pub payment_id: Uuid,
    /// Event type.
    pub event_type: String,
    /// Body sent.
    pub payload: serde_json::Value,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    /// Delivery attempts so far.
    pub attempts: i32,
    /// Next try (for pending rows).
    pub next_attempt_at: OffsetDateTime,
    /// Created (= the payment change's commit transaction).
    pub created_at: OffsetDateTime,
    /// When a 2xx arrived.
    pub delivered_at: Option<OffsetDateTime>,
    /// Last error text.
    pub last_error: Option<String>,
}

/// One logged delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRow {
    /// Delivery id.
    pub id: i64,
    /// Outbox row.
    pub outbox_id: i64,
    /// Attempt number.
    pub attempt: i32,
    /// When.
    pub at: OffsetDateTime,
    /// URL called.
    pub url: String,
    /// HTTP status, if an answer arrived.
    pub status_code: Option<i32>,
    /// Milliseconds.
    pub latency_ms: i32,
    /// Error text.
    pub error: Option<String>,
    /// `worker` or `replay`.
    pub source: String,
    /// Operator of a replay.
    pub actor: Option<String>,
}

/// Sets (or replaces) a merchant's webhook endpoint and signing secret.
pub async fn set_endpoint(
    pool: &PgPool,
    merchant_id: Uuid,
    url: &str,
    secret: &str,
    enabled: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO merchant_webhook_endpoints (merchant_id, url, secret, enabled) VALUES ($1, $2, $3, $4)
         ON CONFLICT (merchant_id) DO UPDATE SET url = $2, secret = $3, enabled = $4, updated_at = now()",
    )
    .bind(merchant_id)
    .bind(url)
    .bind(secret)
    .bind(enabled)
    .execute(pool)
    .await?;
    Ok(())
}

fn due_from(r: &sqlx::postgres::PgRow) -> Result<DueWebhook, sqlx::Error> {
    Ok(DueWebhook {
        merchant_id: r.try_get("merchant_id")?,
        outbox_id: r.try_get("id")?,
        payment_id: r.try_get("payment_id")?,
        event_type: r.try_get("event_type")?,
        payload: r.try_get("payload")?,
        attempt: r.try_get("attempts")?,
        url: r.try_get("url")?,
        secret: r.try_get("secret")?,
    })
}

/// Claims up to `limit` due pending rows (oldest first), skipping rows another worker holds,
/// and leases them for `lease_ms` (their `next_attempt_at` moves forward and `attempts` counts
/// this attempt). Rows of merchants without an enabled endpoint are left alone.
pub async fn claim_due(
    pool: &PgPool,
    limit: i64,
    lease_ms: i64,
) -> Result<Vec<DueWebhook>, sqlx::Error> {
    let rows = sqlx::query(
        "WITH due AS (
             SELECT o.merchant_id, o.id FROM merchant_webhook_outbox o
             JOIN merchant_webhook_endpoints e ON e.merchant_id = o.merchant_id AND e.enabled
             WHERE o.status = 'pending' AND o.next_attempt_at <= now()
             ORDER BY o.next_attempt_at
             LIMIT $1
             FOR UPDATE OF o SKIP LOCKED)
         UPDATE merchant_webhook_outbox o
            SET attempts = o.attempts + 1,
                next_attempt_at = now() + make_interval(secs => $2::double precision / 1000)
           FROM due, merchant_webhook_endpoints e
          WHERE o.merchant_id = due.merchant_id AND o.id = due.id AND e.merchant_id = o.merchant_id
         RETURNING o.merchant_id, o.id, o.payment_id, o.event_type, o.payload, o.attempts, e.url, e.secret",
    )
    .bind(limit)
    .bind(lease_ms)
    .fetch_all(pool)
    .await?;
    rows.iter().map(due_from).collect()
}

/// One outbox row with the merchant's endpoint, for a replay (`None`: no such row or no
/// endpoint). The attempt number is the next one; the row is not claimed.
pub async fn for_replay(
    pool: &PgPool,
    merchant_id: Uuid,
    outbox_id: i64,
) -> Result<Option<DueWebhook>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT o.merchant_id, o.id, o.payment_id, o.event_type, o.payload, o.attempts + 1 AS attempts,
                e.url, e.secret
         FROM merchant_webhook_outbox o
         JOIN merchant_webhook_endpoints e ON e.merchant_id = o.merchant_id
         WHERE o.merchant_id = $1 AND o.id = $2",
    )
    .bind(merchant_id)
    .bind(outbox_id)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(due_from).transpose()
}

/// Logs one delivery attempt and moves the outbox row on, in one statement. A replay that
/// succeeds marks the row delivered; a failed replay leaves its status as it was.
pub async fn record_delivery(
    pool: &PgPool,
    log: &DeliveryLog<'_>,
    after: AfterDelivery,
) -> Result<(), sqlx::Error> {
    let (status, next_at): (&str, Option<OffsetDateTime>) = match after {
        AfterDelivery::Delivered => ("delivered", None),
        AfterDelivery::RetryAt(t) => ("pending", Some(t)),
        AfterDelivery::GiveUp => ("failed", None),
    };
    let replay = log.source == "replay";
    sqlx::query(
        "WITH d AS (
             INSERT INTO merchant_webhook_deliveries
                 (merchant_id, outbox_id, attempt, url, status_code, latency_ms, error, source, actor)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9))
         UPDATE merchant_webhook_outbox SET
             status = CASE WHEN $11 AND $10 <> 'delivered' THEN status ELSE $10 END,
             attempts = CASE WHEN $11 THEN attempts + 1 ELSE attempts END,
             next_attempt_at = coalesce($12, next_attempt_at),
             delivered_at = CASE WHEN $10 = 'delivered' THEN now() ELSE delivered_at END,
             last_error = $7
         WHERE merchant_id = $1 AND id = $2",
    )
    .bind(log.merchant_id)
    .bind(log.outbox_id)
    .bind(log.attempt)
    .bind(log.url)
    .bind(log.status_code)
    .bind(log.latency_ms)
    .bind(log.error)
    .bind(log.source)
    .bind(log.actor)
    .bind(status)
    .bind(replay)
    .bind(next_at)
    .execute(pool)
    .await?;
    Ok(())
}

/// The outbox rows of one payment, oldest first.
pub async fn outbox_for_payment(
    pool: &PgPool,
    merchant_id: Uuid,
    payment_id: Uuid,
) -> Result<Vec<OutboxRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, payment_id, event_type, payload, status, attempts, next_attempt_at, created_at,
                delivered_at, last_error
         FROM merchant_webhook_outbox WHERE merchant_id = $1 AND payment_id = $2 ORDER BY id",
    )
    .bind(merchant_id)
    .bind(payment_id)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(OutboxRow {
                id: r.try_get("id")?,
                payment_id: r.try_get("payment_id")?,
                event_type: r.try_get("event_type")?,
                payload: r.try_get("payload")?,
                status: r.try_get("status")?,
                attempts: r.try_get("attempts")?,
                next_attempt_at: r.try_get("next_attempt_at")?,
                created_at: r.try_get("created_at")?,
                delivered_at: r.try_get("delivered_at")?,
                last_error: r.try_get("last_error")?,
            })
        })
        .collect()
}

/// The delivery attempts of one payment's outbox rows, oldest first.
pub async fn deliveries_for_payment(
    pool: &PgPool,
    merchant_id: Uuid,
    payment_id: Uuid,
) -> Result<Vec<DeliveryRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT d.id, d.outbox_id, d.attempt, d.at, d.url, d.status_code, d.latency_ms, d.error,
                d.source, d.actor
         FROM merchant_webhook_deliveries d
         JOIN merchant_webhook_outbox o ON o.merchant_id = d.merchant_id AND o.id = d.outbox_id
         WHERE d.merchant_id = $1 AND o.payment_id = $2 ORDER BY d.id",
    )
    .bind(merchant_id)
    .bind(payment_id)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(DeliveryRow {
                id: r.try_get("id")?,
                outbox_id: r.try_get("outbox_id")?,
                attempt: r.try_get("attempt")?,
                at: r.try_get("at")?,
                url: r.try_get("url")?,
                status_code: r.try_get("status_code")?,
                latency_ms: r.try_get("latency_ms")?,
                error: r.try_get("error")?,
                source: r.try_get("source")?,
                actor: r.try_get("actor")?,
            })
        })
        .collect()
}
