//! Merchant webhooks: endpoints, the outbox and the delivery log (migration 0004).
//!
//! Outbox rows are written by the `payment_events` trigger in the statement (so the transaction)
//! of the payment change; nothing here writes them for the payment protocol. The delivery worker
//! claims due rows with `FOR UPDATE SKIP LOCKED` and a lease (the claim moves `next_attempt_at`
//! forward), so several gateways never deliver the same row at once and a crashed worker's rows
//! come back after the lease. No transaction is held during the HTTP call.
//!
//! The endpoint's signing secret is encrypted like connector credentials (migration 0008):
//! sealed with the merchant's data key, AAD = merchant id + endpoint id + field
//! [`MERCHANT_WEBHOOK_SECRET`] (so a ciphertext copied to another row fails to open); only the
//! delivery path ([`claim_due`], [`for_replay`]) decrypts it, with the gateway's keyset.

use crate::credentials::{CredentialError, data_key_for_write, data_keys, nonce12};
use rand::CryptoRng;
use secrecy::{ExposeSecret, SecretString};
use sqlx::{PgConnection, PgPool, Row};
use std::collections::HashMap;
use time::OffsetDateTime;
use uuid::Uuid;
use vault::{CredentialAad, DataKey, Keyset, Sealed, VaultError};

/// Field name bound into the AAD of a merchant webhook endpoint's signing secret.
pub const MERCHANT_WEBHOOK_SECRET: &str = "merchant_webhook_secret";

/// A claimed outbox row with where to send it. Holds the merchant's decrypted signing secret
/// (or why it could not be decrypted): never log it (`Debug` redacts it).
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
    /// HMAC-SHA256 signing secret of the merchant, decrypted; `Err` carries why it could not
    /// be (missing/wrong master key, moved ciphertext; never secret material), so the attempt
    /// is logged as failed and retried instead of being sent unsigned.
    pub secret: Result<SecretString, String>,
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

/// Sets (or replaces) a merchant's webhook endpoint and signing secret; the secret is sealed
/// with the merchant's data key (created on first use) and never stored in plaintext.
/// Errors: database (including permission denied for roles other than admin/gateway), vault.
pub async fn set_endpoint(
    pool: &PgPool,
    keys: &Keyset,
    merchant_id: Uuid,
    url: &str,
    secret: &SecretString,
    enabled: bool,
) -> Result<(), CredentialError> {
    let mut rng = crate::credentials::os_rng();
    let mut tx = pool.begin().await?;
    put_endpoint(&mut tx, keys, &mut rng, merchant_id, url, secret, enabled).await?;
    tx.commit().await?;
    Ok(())
}

/// [`set_endpoint`] on the caller's connection/transaction, with randomness passed in.
pub async fn put_endpoint(
    conn: &mut PgConnection,
    keys: &Keyset,
    rng: &mut (impl CryptoRng + Send),
    merchant_id: Uuid,
    url: &str,
    secret: &SecretString,
    enabled: bool,
) -> Result<(), CredentialError> {
    let dk = data_key_for_write(conn, keys, merchant_id, rng).await?;
    // The endpoint id is kept across replacements; a new row gets a fresh one here so the
    // AAD can bind it before the row exists.
    let endpoint_id: Uuid = sqlx::query_scalar(
        "SELECT coalesce((SELECT id FROM merchant_webhook_endpoints WHERE merchant_id = $1 FOR UPDATE),
                         gen_random_uuid())",
    )
    .bind(merchant_id)
    .fetch_one(&mut *conn)
    .await?;
    let sealed = vault::seal(&dk, aad(merchant_id, endpoint_id), secret, rng)?;
    sqlx::query(
        "INSERT INTO merchant_webhook_endpoints
             (merchant_id, id, url, secret, key_version, nonce, ciphertext, last4, enabled)
         VALUES ($1, $2, $3, NULL, $4, $5, $6, $7, $8)
         ON CONFLICT (merchant_id) DO UPDATE SET url = $3, secret = NULL, key_version = $4,
             nonce = $5, ciphertext = $6, last4 = $7, enabled = $8, updated_at = now()",
    )
    .bind(merchant_id)
    .bind(endpoint_id)
    .bind(url)
    .bind(sealed.key_version)
    .bind(sealed.nonce.as_slice())
    .bind(&sealed.ciphertext)
    .bind(vault::last4(secret.expose_secret()))
    .bind(enabled)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn aad(merchant_id: Uuid, endpoint_id: Uuid) -> CredentialAad<'static> {
    CredentialAad {
        merchant_id,
        connector_id: endpoint_id,
        field: MERCHANT_WEBHOOK_SECRET,
    }
}

/// What the console may know about a merchant's endpoint: never the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointMeta {
    /// Endpoint id (bound into the secret's AAD).
    pub id: Uuid,
    /// URL deliveries are posted to.
    pub url: String,
    /// Deliveries enabled.
    pub enabled: bool,
    /// At most the last 4 characters of the signing secret (`""` for short secrets).
    pub last4: String,
    /// Data key version that sealed the secret (`None`: plaintext from before migration 0008).
    pub key_version: Option<i32>,
}

/// The merchant's endpoint without its secret (`None`: no endpoint).
pub async fn endpoint_meta(
    pool: &PgPool,
    merchant_id: Uuid,
) -> Result<Option<EndpointMeta>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, url, enabled, last4, key_version FROM merchant_webhook_endpoints WHERE merchant_id = $1",
    )
    .bind(merchant_id)
    .fetch_optional(pool)
    .await?;
    row.map(|r| {
        Ok(EndpointMeta {
            id: r.try_get("id")?,
            url: r.try_get("url")?,
            enabled: r.try_get("enabled")?,
            last4: r.try_get("last4")?,
            key_version: r.try_get("key_version")?,
        })
    })
    .transpose()
}

/// Encrypts up to `limit` endpoint secrets stored in plaintext before migration 0008 (each in
/// its own transaction). Run by the delivery worker at start and by `switchboard-vault rotate`.
/// Returns how many were encrypted.
pub async fn encrypt_legacy_endpoints(
    pool: &PgPool,
    keys: &Keyset,
    rng: &mut (impl CryptoRng + Send),
    limit: i64,
) -> Result<u64, CredentialError> {
    let merchants: Vec<Uuid> = sqlx::query_scalar(
        "SELECT merchant_id FROM merchant_webhook_endpoints WHERE secret IS NOT NULL LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await?;
    let mut done = 0;
    for merchant_id in merchants {
        let mut tx = pool.begin().await?;
        let row = sqlx::query(
            "SELECT url, secret, enabled FROM merchant_webhook_endpoints
             WHERE merchant_id = $1 AND secret IS NOT NULL FOR UPDATE",
        )
        .bind(merchant_id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(r) = row {
            let url: String = r.try_get("url")?;
            let plain: String = r.try_get("secret")?;
            let enabled: bool = r.try_get("enabled")?;
            let secret = SecretString::from(plain);
            put_endpoint(&mut tx, keys, rng, merchant_id, &url, &secret, enabled).await?;
            done += 1;
        }
        tx.commit().await?;
    }
    Ok(done)
}

/// A selected row, secret still sealed.
struct SealedDue {
    due: DueWebhook,
    endpoint_id: Uuid,
    sealed: Option<Sealed>,
}

fn due_from(r: &sqlx::postgres::PgRow) -> Result<SealedDue, sqlx::Error> {
    let key_version: Option<i32> = r.try_get("key_version")?;
    let nonce: Option<Vec<u8>> = r.try_get("nonce")?;
    let ciphertext: Option<Vec<u8>> = r.try_get("ciphertext")?;
    let sealed = match (key_version, nonce, ciphertext) {
        (Some(key_version), Some(nonce), Some(ciphertext)) => {
            nonce12(&nonce, "merchant webhook secret")
                .ok()
                .map(|nonce| Sealed {
                    key_version,
                    nonce,
                    ciphertext,
                })
        }
        _ => None,
    };
    Ok(SealedDue {
        due: DueWebhook {
            merchant_id: r.try_get("merchant_id")?,
            outbox_id: r.try_get("id")?,
            payment_id: r.try_get("payment_id")?,
            event_type: r.try_get("event_type")?,
            payload: r.try_get("payload")?,
            attempt: r.try_get("attempts")?,
            url: r.try_get("url")?,
            secret: Err(String::new()),
        },
        endpoint_id: r.try_get("endpoint_id")?,
        sealed,
    })
}

fn open_secret(
    row: &SealedDue,
    dks: &Result<HashMap<i32, DataKey>, String>,
) -> Result<SecretString, String> {
    let merchant_id = row.due.merchant_id;
    let sealed = row.sealed.as_ref().ok_or_else(|| {
        "the endpoint secret is not encrypted yet (a gateway's worker or `switchboard-vault rotate` encrypts it)"
            .to_owned()
    })?;
    let dks = dks.as_ref().map_err(Clone::clone)?;
    let dk = dks.get(&sealed.key_version).ok_or_else(|| {
        format!(
            "cannot decrypt the endpoint secret: data key v{} not found",
            sealed.key_version
        )
    })?;
    vault::open(dk, aad(merchant_id, row.endpoint_id), sealed)
        .map_err(|e: VaultError| format!("cannot decrypt the endpoint secret: {e}"))
}

/// Decrypts the secrets of selected rows (data keys unwrapped once per merchant).
async fn open_all(
    pool: &PgPool,
    keys: &Keyset,
    rows: Vec<SealedDue>,
) -> Result<Vec<DueWebhook>, sqlx::Error> {
    let mut cache: HashMap<Uuid, Result<HashMap<i32, DataKey>, String>> = HashMap::new();
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let m = row.due.merchant_id;
        if let std::collections::hash_map::Entry::Vacant(slot) = cache.entry(m) {
            let mut conn = pool.acquire().await?;
            let dks = match data_keys(&mut conn, keys, m).await {
                Ok(d) => Ok(d),
                Err(CredentialError::Database(e)) => return Err(e),
                Err(CredentialError::Vault(e)) => {
                    Err(format!("cannot decrypt the endpoint secret: {e}"))
                }
            };
            slot.insert(dks);
        }
        let secret = match cache.get(&m) {
            Some(dks) => open_secret(&row, dks),
            None => Err("cannot decrypt the endpoint secret".to_owned()),
        };
        out.push(DueWebhook { secret, ..row.due });
    }
    Ok(out)
}

/// Claims up to `limit` due pending rows (oldest first), skipping rows another worker holds,
/// and leases them for `lease_ms` (their `next_attempt_at` moves forward and `attempts` counts
/// this attempt). Rows of merchants without an enabled endpoint are left alone.
pub async fn claim_due(
    pool: &PgPool,
    keys: &Keyset,
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
         RETURNING o.merchant_id, o.id, o.payment_id, o.event_type, o.payload, o.attempts, e.url,
                   e.id AS endpoint_id, e.key_version, e.nonce, e.ciphertext",
    )
    .bind(limit)
    .bind(lease_ms)
    .fetch_all(pool)
    .await?;
    let sealed = rows.iter().map(due_from).collect::<Result<Vec<_>, _>>()?;
    open_all(pool, keys, sealed).await
}

/// One outbox row with the merchant's endpoint, for a replay (`None`: no such row or no
/// endpoint). The attempt number is the next one; the row is not claimed.
pub async fn for_replay(
    pool: &PgPool,
    keys: &Keyset,
    merchant_id: Uuid,
    outbox_id: i64,
) -> Result<Option<DueWebhook>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT o.merchant_id, o.id, o.payment_id, o.event_type, o.payload, o.attempts + 1 AS attempts,
                e.url, e.id AS endpoint_id, e.key_version, e.nonce, e.ciphertext
         FROM merchant_webhook_outbox o
         JOIN merchant_webhook_endpoints e ON e.merchant_id = o.merchant_id
         WHERE o.merchant_id = $1 AND o.id = $2",
    )
    .bind(merchant_id)
    .bind(outbox_id)
    .fetch_optional(pool)
    .await?;
    let sealed = row.as_ref().map(due_from).transpose()?;
    Ok(open_all(pool, keys, sealed.into_iter().collect())
        .await?
        .pop())
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

/// A merchant's outbox rows by status: `(delivered, pending, failed)`.
pub async fn status_counts(
    pool: &PgPool,
    merchant_id: Uuid,
) -> Result<(i64, i64, i64), sqlx::Error> {
    let r = sqlx::query(
        "SELECT count(*) FILTER (WHERE status = 'delivered') AS delivered,
                count(*) FILTER (WHERE status = 'pending') AS pending,
                count(*) FILTER (WHERE status = 'failed') AS failed
         FROM merchant_webhook_outbox WHERE merchant_id = $1",
    )
    .bind(merchant_id)
    .fetch_one(pool)
    .await?;
    Ok((
        r.try_get("delivered")?,
        r.try_get("pending")?,
        r.try_get("failed")?,
    ))
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
