//! The background reconciler's queue: attempts whose outcome is unknown on payments in status
//! `unknown`. Several gateways may run the reconciler at once: [`claim_unknown`] takes a lease
//! (`next_reconcile_at` moved to the lease end) under `FOR UPDATE SKIP LOCKED` and commits, so
//! no row is worked on twice at the same time and no lock is held across a provider call.

use sqlx::{PgConnection, PgPool, Row};
use time::OffsetDateTime;
use uuid::Uuid;

/// An unknown attempt leased to one reconciler, with what it needs to rebuild the original
/// authorize request (a replay with the same idempotency key, REFERENCE.md §1.2).
#[derive(Debug, Clone)]
pub struct ClaimedAttempt {
    /// Merchant.
    pub merchant_id: Uuid,
    /// Payment.
    pub payment_id: Uuid,
    /// Attempt (its id is the provider idempotency key).
    pub attempt_id: Uuid,
    /// Connector.
    pub connector_id: Uuid,
    /// Provider reference, when the authorize answered with one.
    pub provider_reference: Option<String>,
    /// How many times it has been claimed, this claim included.
    pub reconcile_attempts: i32,
    /// When the attempt was sent (its row creation time if unknown).
    pub sent_at: OffsetDateTime,
    /// Amount, minor units.
    pub amount_minor: i64,
    /// ISO 4217.
    pub currency: String,
    /// ISO 3166 alpha-2.
    pub country: String,
    /// Payment method type.
    pub method: String,
    /// Card brand.
    pub card_brand: Option<String>,
    /// `automatic` / `manual`.
    pub capture_mode: String,
    /// Merchant reference.
    pub merchant_reference: Option<String>,
    /// Metadata object.
    pub metadata: serde_json::Value,
    /// Tokens as stored (`[{token, scope}]`).
    pub tokens: serde_json::Value,
}

/// Leases up to `limit` unknown attempts that are due (`next_reconcile_at <= now` or never
/// tried) and not given up, on payments still `unknown`: increments `reconcile_attempts` and
/// moves `next_reconcile_at` to `lease_until`, in one committed statement.
pub async fn claim_unknown(
    pool: &PgPool,
    now: OffsetDateTime,
    lease_until: OffsetDateTime,
    limit: i64,
) -> Result<Vec<ClaimedAttempt>, sqlx::Error> {
    let rows = sqlx::query(
        "WITH c AS (
            SELECT a.merchant_id, a.id FROM attempts a
            JOIN payments p ON p.merchant_id = a.merchant_id AND p.id = a.payment_id
            WHERE a.status = 'unknown' AND a.reconcile_gave_up_at IS NULL AND p.status = 'unknown'
              AND coalesce(a.next_reconcile_at, '-infinity'::timestamptz) <= $1
            ORDER BY a.next_reconcile_at NULLS FIRST, a.created_at
            LIMIT $3 FOR UPDATE OF a SKIP LOCKED),
         u AS (
            UPDATE attempts a SET reconcile_attempts = a.reconcile_attempts + 1, next_reconcile_at = $2
            FROM c WHERE a.merchant_id = c.merchant_id AND a.id = c.id
            RETURNING a.merchant_id, a.payment_id, a.id, a.connector_id, a.provider_reference,
                      a.reconcile_attempts, coalesce(a.requested_at, a.created_at) AS sent_at)
         SELECT u.*, p.amount_minor, p.currency::text AS currency, p.country::text AS country, p.method,
                p.card_brand, p.capture_mode, p.merchant_reference, p.metadata, p.tokens
         FROM u JOIN payments p ON p.merchant_id = u.merchant_id AND p.id = u.payment_id",
    )
    .bind(now)
    .bind(lease_until)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ClaimedAttempt {
                merchant_id: r.try_get("merchant_id")?,
                payment_id: r.try_get("payment_id")?,
                attempt_id: r.try_get("id")?,
                connector_id: r.try_get("connector_id")?,
                provider_reference: r.try_get("provider_reference")?,
                reconcile_attempts: r.try_get("reconcile_attempts")?,
                sent_at: r.try_get("sent_at")?,
                amount_minor: r.try_get("amount_minor")?,
                currency: r.try_get("currency")?,
                country: r.try_get("country")?,
                method: r.try_get("method")?,
                card_brand: r.try_get("card_brand")?,
                capture_mode: r.try_get("capture_mode")?,
                merchant_reference: r.try_get("merchant_reference")?,
                metadata: r.try_get("metadata")?,
                tokens: r.try_get("tokens")?,
            })
        })
        .collect()
}

/// Still unknown: try again at `next_at`, remembering why (`error`, no secrets) and the
/// provider reference the retrieve learned, if any (the next try can then read the payment by
/// reference instead of replaying the create, e.g. Mollie's replay returns the saved `open`).
pub async fn schedule_retry(
    conn: &mut PgConnection,
    merchant_id: Uuid,
    attempt_id: Uuid,
    next_at: OffsetDateTime,
    error: &str,
    provider_reference: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE attempts SET next_reconcile_at = $3, last_reconcile_error = $4,
            provider_reference = coalesce(provider_reference, $5)
         WHERE merchant_id = $1 AND id = $2 AND status = 'unknown'",
    )
    .bind(merchant_id)
    .bind(attempt_id)
    .bind(next_at)
    .bind(error)
    .bind(provider_reference)
    .execute(conn)
    .await?;
    Ok(())
}

/// Gives up on an attempt after the last allowed try: it stays `unknown` (never silently
/// failed), with `reconcile_gave_up_at` and the last error for the console.
pub async fn give_up(
    conn: &mut PgConnection,
    merchant_id: Uuid,
    attempt_id: Uuid,
    at: OffsetDateTime,
    error: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE attempts SET reconcile_gave_up_at = $3, next_reconcile_at = NULL, last_reconcile_error = $4
         WHERE merchant_id = $1 AND id = $2 AND status = 'unknown'",
    )
    .bind(merchant_id)
    .bind(attempt_id)
    .bind(at)
    .bind(error)
    .execute(conn)
    .await?;
    Ok(())
}

/// Reconciler bookkeeping of one attempt: `(reconcile_attempts, next_reconcile_at,
/// last_reconcile_error, reconcile_gave_up_at)`. For tests and the console.
pub async fn reconcile_state(
    pool: &PgPool,
    merchant_id: Uuid,
    attempt_id: Uuid,
) -> Result<
    Option<(
        i32,
        Option<OffsetDateTime>,
        Option<String>,
        Option<OffsetDateTime>,
    )>,
    sqlx::Error,
> {
    let row = sqlx::query(
        "SELECT reconcile_attempts, next_reconcile_at, last_reconcile_error, reconcile_gave_up_at
         FROM attempts WHERE merchant_id = $1 AND id = $2",
    )
    .bind(merchant_id)
    .bind(attempt_id)
    .fetch_optional(pool)
    .await?;
    row.map(|r| {
        Ok((
            r.try_get("reconcile_attempts")?,
            r.try_get("next_reconcile_at")?,
            r.try_get("last_reconcile_error")?,
            r.try_get("reconcile_gave_up_at")?,
        ))
    })
    .transpose()
}
