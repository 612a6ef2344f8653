//! Provider webhook deliveries (`provider_webhooks`), the attempt/payment writes their effects
//! need (guarded by the pure state machines in `routing`), review flags and the reversal of
//! extra authorizations. The engine composes these in its transactions (`engine::webhooks`,
//! `engine::reconciler`).

use crate::config::ConnectorRecord;
use routing::AttemptStatus;
use sqlx::{PgConnection, PgPool, Row};
use time::OffsetDateTime;
use uuid::Uuid;

/// The connector a webhook URL names, with its merchant. `None` when no connector has this id.
/// (The URL carries only the connector id; connector ids are UUIDv7, unique in practice.)
pub async fn connector_by_id(
    pool: &PgPool,
    connector_id: Uuid,
) -> Result<Option<(Uuid, ConnectorRecord)>, sqlx::Error> {
    let merchant: Option<Uuid> =
        sqlx::query_scalar("SELECT merchant_id FROM connectors WHERE id = $1 LIMIT 1")
            .bind(connector_id)
            .fetch_optional(pool)
            .await?;
    let Some(merchant_id) = merchant else {
        return Ok(None);
    };
    Ok(crate::config::connector(pool, merchant_id, connector_id)
        .await?
        .map(|c| (merchant_id, c)))
}

/// One received webhook delivery, verified or rejected.
#[derive(Debug, Clone)]
pub struct NewWebhook<'a> {
    /// Merchant owning the connector.
    pub merchant_id: Uuid,
    /// Row id.
    pub id: Uuid,
    /// Connector named by the URL.
    pub connector_id: Uuid,
    /// `stripe`, `square`, `braintree`, `mollie`.
    pub provider: &'a str,
    /// Receipt time (UTC).
    pub received_at: OffsetDateTime,
    /// `Some(code)` when rejected (`signature_mismatch`…), `None` when verified.
    pub rejection_code: Option<&'a str>,
    /// Provider event id (dedup key); `None` when rejected.
    pub provider_event_id: Option<&'a str>,
    /// Provider event type string.
    pub event_type: Option<&'a str>,
    /// Provider object id the event is about.
    pub provider_reference: Option<&'a str>,
    /// What the event says (`captured`, `failed:hard_decline`, `unknown`…).
    pub effect: Option<&'a str>,
    /// Matched payment.
    pub payment_id: Option<Uuid>,
    /// Matched attempt.
    pub attempt_id: Option<Uuid>,
    /// What intake did: `applied`, `no_change`, `late_failure_flagged`, `extra_charge_reversed`,
    /// `unmatched`, `unknown_type`, `pending`, `rejected`, `fetch_failed`.
    pub result: &'a str,
    /// Human detail of `result`.
    pub result_detail: &'a str,
    /// Raw body as received (lossy UTF-8). Signature headers are not stored.
    pub body: &'a str,
}

/// Inserts a delivery. Returns `false` (nothing written) when a verified delivery with the same
/// `(connector, provider_event_id)` exists already: a duplicate.
pub async fn insert_webhook(
    conn: &mut PgConnection,
    w: &NewWebhook<'_>,
) -> Result<bool, sqlx::Error> {
    let verdict = if w.rejection_code.is_some() {
        "rejected"
    } else {
        "verified"
    };
    let row = sqlx::query(
        "INSERT INTO provider_webhooks (merchant_id, id, connector_id, provider, received_at, verdict,
            rejection_code, provider_event_id, event_type, provider_reference, effect, payment_id,
            attempt_id, result, result_detail, body)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16)
         ON CONFLICT (merchant_id, connector_id, provider_event_id) WHERE verdict = 'verified' DO NOTHING
         RETURNING 1",
    )
    .bind(w.merchant_id)
    .bind(w.id)
    .bind(w.connector_id)
    .bind(w.provider)
    .bind(w.received_at)
    .bind(verdict)
    .bind(w.rejection_code)
    .bind(w.provider_event_id)
    .bind(w.event_type)
    .bind(w.provider_reference)
    .bind(w.effect)
    .bind(w.payment_id)
    .bind(w.attempt_id)
    .bind(w.result)
    .bind(w.result_detail)
    .bind(w.body)
    .fetch_optional(conn)
    .await?;
    Ok(row.is_some())
}

/// Whether a verified delivery of this provider event was already recorded for the connector.
pub async fn seen_event(
    pool: &PgPool,
    merchant_id: Uuid,
    connector_id: Uuid,
    provider_event_id: &str,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM provider_webhooks WHERE merchant_id = $1 AND connector_id = $2
            AND provider_event_id = $3 AND verdict = 'verified')",
    )
    .bind(merchant_id)
    .bind(connector_id)
    .bind(provider_event_id)
    .fetch_one(pool)
    .await
}

/// The attempt (and its payment) a provider event is about.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchedAttempt {
    /// Payment.
    pub payment_id: Uuid,
    /// Attempt on the webhook's connector.
    pub attempt_id: Uuid,
    /// Attempt status (`pending`, `succeeded`…).
    pub attempt_status: String,
    /// Provider reference stored on the attempt, if any.
    pub provider_reference: Option<String>,
    /// Payment status.
    pub payment_status: String,
    /// Payment amount, minor units.
    pub amount_minor: i64,
    /// ISO 4217.
    pub currency: String,
    /// `automatic` / `manual`.
    pub capture_mode: String,
    /// Captured so far, minor units.
    pub captured_minor: i64,
}

/// Finds the attempt on `connector_id` a provider event is about: by provider reference first,
/// else (when the provider echoed our payment id) the latest attempt of that payment on this
/// connector. `None` when neither matches.
pub async fn match_attempt(
    pool: &PgPool,
    merchant_id: Uuid,
    connector_id: Uuid,
    provider_reference: Option<&str>,
    payment_hint: Option<Uuid>,
) -> Result<Option<MatchedAttempt>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT a.payment_id, a.id, a.status, a.provider_reference, p.status AS payment_status,
                p.amount_minor, p.currency::text AS currency, p.capture_mode, p.captured_minor
         FROM attempts a JOIN payments p ON p.merchant_id = a.merchant_id AND p.id = a.payment_id
         WHERE a.merchant_id = $1 AND a.connector_id = $2
           AND (($3::text IS NOT NULL AND a.provider_reference = $3)
                OR ($4::uuid IS NOT NULL AND a.payment_id = $4))
         ORDER BY (a.provider_reference IS NOT DISTINCT FROM $3) DESC, a.seq DESC
         LIMIT 1",
    )
    .bind(merchant_id)
    .bind(connector_id)
    .bind(provider_reference)
    .bind(payment_hint)
    .fetch_optional(pool)
    .await?;
    row.map(|r| {
        Ok(MatchedAttempt {
            payment_id: r.try_get("payment_id")?,
            attempt_id: r.try_get("id")?,
            attempt_status: r.try_get("status")?,
            provider_reference: r.try_get("provider_reference")?,
            payment_status: r.try_get("payment_status")?,
            amount_minor: r.try_get("amount_minor")?,
            currency: r.try_get("currency")?,
            capture_mode: r.try_get("capture_mode")?,
            captured_minor: r.try_get("captured_minor")?,
        })
    })
    .transpose()
}

/// What a webhook or the reconciler learned about an attempt.
#[derive(Debug, Clone, Default)]
pub struct AttemptResolution {
    /// Outcome class (`approved`…).
    pub outcome: Option<String>,
    /// Provider reference (kept when `None`).
    pub provider_reference: Option<String>,
    /// Provider status string.
    pub provider_status: Option<String>,
    /// Provider code.
    pub raw_code: Option<String>,
    /// Decline code.
    pub decline_code: Option<String>,
    /// Message.
    pub message: Option<String>,
    /// Reconciliation text (kept when `None`).
    pub reconciliation: Option<String>,
}

/// Guarded attempt status change (`WHERE status = ANY(AttemptStatus::allowed_from(to))`); the
/// other fields are written only with it. Returns whether the guard let it through.
pub async fn resolve_attempt(
    conn: &mut PgConnection,
    merchant_id: Uuid,
    attempt_id: Uuid,
    to: AttemptStatus,
    r: &AttemptResolution,
    at: OffsetDateTime,
) -> Result<bool, sqlx::Error> {
    let allowed: Vec<&str> = AttemptStatus::allowed_from(to)
        .iter()
        .map(|s| s.as_str())
        .collect();
    let n = sqlx::query(
        "UPDATE attempts SET status = $3, outcome = coalesce($4, outcome),
            provider_reference = coalesce($5, provider_reference), provider_status = coalesce($6, provider_status),
            raw_code = coalesce($7, raw_code), decline_code = coalesce($8, decline_code),
            message = coalesce($9, message), reconciliation = coalesce($10, reconciliation),
            responded_at = coalesce(responded_at, $11), next_reconcile_at = NULL
         WHERE merchant_id = $1 AND id = $2 AND status = ANY($12)",
    )
    .bind(merchant_id)
    .bind(attempt_id)
    .bind(to.as_str())
    .bind(&r.outcome)
    .bind(&r.provider_reference)
    .bind(&r.provider_status)
    .bind(&r.raw_code)
    .bind(&r.decline_code)
    .bind(&r.message)
    .bind(&r.reconciliation)
    .bind(at)
    .bind(&allowed)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Flags a payment for review in the console (its status is kept). `reason` is appended to any
/// earlier reason.
pub async fn flag_for_review(
    conn: &mut PgConnection,
    merchant_id: Uuid,
    payment_id: Uuid,
    reason: &str,
    at: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE payments SET needs_review = true,
            review_reason = CASE WHEN review_reason IS NULL THEN $3 ELSE review_reason || '; ' || $3 END,
            updated_at = $4
         WHERE merchant_id = $1 AND id = $2",
    )
    .bind(merchant_id)
    .bind(payment_id)
    .bind(reason)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The payment's succeeded attempt other than `attempt_id` (the one that holds the payment's
/// money), as `(attempt id, connector name)`.
pub async fn other_succeeded_attempt(
    conn: &mut PgConnection,
    merchant_id: Uuid,
    payment_id: Uuid,
    attempt_id: Uuid,
) -> Result<Option<(Uuid, String)>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, connector_name FROM attempts WHERE merchant_id = $1 AND payment_id = $2
            AND id <> $3 AND status = 'succeeded' ORDER BY seq LIMIT 1",
    )
    .bind(merchant_id)
    .bind(payment_id)
    .bind(attempt_id)
    .fetch_optional(conn)
    .await?;
    row.map(|r| Ok((r.try_get("id")?, r.try_get("connector_name")?)))
        .transpose()
}

/// Records the reversal state of an extra charge found on an attempt: `pending` (decided, the
/// void/refund call not yet answered), `voided`, `refunded` or `failed`. Also stores the provider
/// reference when the attempt had none. `pending` is written only once (a second intake of the
/// same extra charge does not reverse it twice): returns false when the attempt already had a
/// reversal and `reversal == "pending"`.
pub async fn set_reversal(
    conn: &mut PgConnection,
    merchant_id: Uuid,
    attempt_id: Uuid,
    reversal: &str,
    detail: &str,
    provider_reference: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let n = sqlx::query(
        "UPDATE attempts SET reversal = $3, reversal_detail = $4,
            provider_reference = coalesce(provider_reference, $5)
         WHERE merchant_id = $1 AND id = $2 AND ($3 <> 'pending' OR reversal IS NULL)",
    )
    .bind(merchant_id)
    .bind(attempt_id)
    .bind(reversal)
    .bind(detail)
    .bind(provider_reference)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// An extra charge whose reversal was decided but not confirmed (`reversal = 'pending'`).
#[derive(Debug, Clone)]
pub struct PendingReversal {
    /// Merchant.
    pub merchant_id: Uuid,
    /// Payment.
    pub payment_id: Uuid,
    /// The attempt holding the extra charge.
    pub attempt_id: Uuid,
    /// Its connector.
    pub connector_id: Uuid,
    /// Provider reference of the charge.
    pub provider_reference: Option<String>,
    /// Amount, minor units.
    pub amount_minor: i64,
    /// ISO 4217.
    pub currency: String,
    /// The decision text (`void …` / `refund …`).
    pub detail: Option<String>,
}

/// Up to `limit` pending reversals (oldest attempts first), for the reconciler to retry.
pub async fn pending_reversals(
    pool: &PgPool,
    limit: i64,
) -> Result<Vec<PendingReversal>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT a.merchant_id, a.payment_id, a.id, a.connector_id, a.provider_reference,
                p.amount_minor, p.currency::text AS currency, a.reversal_detail
         FROM attempts a JOIN payments p ON p.merchant_id = a.merchant_id AND p.id = a.payment_id
         WHERE a.reversal = 'pending' ORDER BY a.created_at LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(PendingReversal {
                merchant_id: r.try_get("merchant_id")?,
                payment_id: r.try_get("payment_id")?,
                attempt_id: r.try_get("id")?,
                connector_id: r.try_get("connector_id")?,
                provider_reference: r.try_get("provider_reference")?,
                amount_minor: r.try_get("amount_minor")?,
                currency: r.try_get("currency")?,
                detail: r.try_get("reversal_detail")?,
            })
        })
        .collect()
}

/// A stored webhook delivery, for tests and the console timeline.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WebhookRow {
    /// Row id.
    pub id: Uuid,
    /// Connector.
    pub connector_id: Uuid,
    /// Receipt time.
    pub received_at: OffsetDateTime,
    /// `verified` / `rejected`.
    pub verdict: String,
    /// Rejection code.
    pub rejection_code: Option<String>,
    /// Provider event id.
    pub provider_event_id: Option<String>,
    /// Provider event type.
    pub event_type: Option<String>,
    /// Provider object id.
    pub provider_reference: Option<String>,
    /// What the event says.
    pub effect: Option<String>,
    /// Matched payment.
    pub payment_id: Option<Uuid>,
    /// Matched attempt.
    pub attempt_id: Option<Uuid>,
    /// What intake did.
    pub result: String,
    /// Detail.
    pub result_detail: String,
}

/// Every delivery received on a connector, oldest first.
pub async fn webhooks_for_connector(
    pool: &PgPool,
    merchant_id: Uuid,
    connector_id: Uuid,
) -> Result<Vec<WebhookRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, connector_id, received_at, verdict, rejection_code, provider_event_id, event_type,
                provider_reference, effect, payment_id, attempt_id, result, result_detail
         FROM provider_webhooks WHERE merchant_id = $1 AND connector_id = $2 ORDER BY received_at, id",
    )
    .bind(merchant_id)
    .bind(connector_id)
    .fetch_all(pool)
    .await
}

/// The deliveries matched to a payment, oldest first (console timeline).
pub async fn webhooks_for_payment(
    pool: &PgPool,
    merchant_id: Uuid,
    payment_id: Uuid,
) -> Result<Vec<WebhookRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, connector_id, received_at, verdict, rejection_code, provider_event_id, event_type,
                provider_reference, effect, payment_id, attempt_id, result, result_detail
         FROM provider_webhooks WHERE merchant_id = $1 AND payment_id = $2 ORDER BY received_at, id",
    )
    .bind(merchant_id)
    .bind(payment_id)
    .fetch_all(pool)
    .await
}

/// A payment's state as seen (and row-locked) inside the transaction that applies an
/// observation about one of its attempts.
#[derive(Debug, Clone, PartialEq)]
pub struct LockedState {
    /// Payment status.
    pub payment_status: String,
    /// Captured so far, minor units.
    pub captured_minor: i64,
    /// The observed attempt's status.
    pub attempt_status: String,
    /// The payment's latest attempt (highest seq).
    pub latest_attempt_id: Uuid,
}

/// Locks the payment row (`FOR UPDATE`) and reads what [`LockedState`] holds. `None` when the
/// payment or attempt does not exist.
pub async fn lock_state(
    conn: &mut PgConnection,
    merchant_id: Uuid,
    payment_id: Uuid,
    attempt_id: Uuid,
) -> Result<Option<LockedState>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT p.status, p.captured_minor,
            (SELECT a.status FROM attempts a WHERE a.merchant_id = $1 AND a.id = $3) AS attempt_status,
            (SELECT a.id FROM attempts a WHERE a.merchant_id = $1 AND a.payment_id = $2 ORDER BY a.seq DESC LIMIT 1) AS latest
         FROM payments p WHERE p.merchant_id = $1 AND p.id = $2 FOR UPDATE",
    )
    .bind(merchant_id)
    .bind(payment_id)
    .bind(attempt_id)
    .fetch_optional(conn)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let attempt_status: Option<String> = r.try_get("attempt_status")?;
    let latest: Option<Uuid> = r.try_get("latest")?;
    Ok(match (attempt_status, latest) {
        (Some(attempt_status), Some(latest_attempt_id)) => Some(LockedState {
            payment_status: r.try_get("status")?,
            captured_minor: r.try_get("captured_minor")?,
            attempt_status,
            latest_attempt_id,
        }),
        _ => None,
    })
}

/// Webhook deliveries of a merchant per connector: `(connector name, verdict, result, count)`,
/// by connector name then count (demo summary, console).
pub async fn webhook_counts(
    pool: &PgPool,
    merchant_id: Uuid,
) -> Result<Vec<(String, String, String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT c.name, w.verdict, w.result, count(*)
         FROM provider_webhooks w JOIN connectors c ON c.merchant_id = w.merchant_id AND c.id = w.connector_id
         WHERE w.merchant_id = $1 GROUP BY 1, 2, 3 ORDER BY 1, 4 DESC",
    )
    .bind(merchant_id)
    .fetch_all(pool)
    .await
}

/// Follow-up figures of a merchant: `(payments flagged for review, payments still unknown,
/// extra charges reversed, extra-charge reversals failed or pending)`.
pub async fn follow_up_counts(
    pool: &PgPool,
    merchant_id: Uuid,
) -> Result<(i64, i64, i64, i64), sqlx::Error> {
    sqlx::query_as(
        "SELECT (SELECT count(*) FROM payments WHERE merchant_id = $1 AND needs_review),
                (SELECT count(*) FROM payments WHERE merchant_id = $1 AND status = 'unknown'),
                (SELECT count(*) FROM attempts WHERE merchant_id = $1 AND reversal IN ('voided', 'refunded')),
                (SELECT count(*) FROM attempts WHERE merchant_id = $1 AND reversal IN ('pending', 'failed'))",
    )
    .bind(merchant_id)
    .fetch_one(pool)
    .await
}
