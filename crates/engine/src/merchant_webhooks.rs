//! Merchant webhooks: payment state changes delivered to the merchant's endpoint.
//!
//! - **What**: every payment status change (event type `payment.<status>`, e.g.
//!   `payment.captured`, `payment.failed`) and every finished refund
//!   (`payment.refund_finished`). The body is JSON:
//!   `{"id":"evt_<n>","type":…,"created":<unix s>,"data":{"payment_id","previous_status",
//!   "status","amount","currency","captured_amount","refunded_amount","failure_code",
//!   "merchant_reference","detail"}}`, amounts in minor units.
//! - **Outbox**: the row is inserted by a trigger on `payment_events` (migration 0004), i.e. in
//!   the very statement that changes the payment, so a change is announced if and only if it
//!   committed. Delivery is at least once: merchants dedupe by `id`.
//! - **Signature**: header `Switchboard-Signature: t=<unix seconds>,v1=<hex>` where `v1` is
//!   HMAC-SHA256, keyed by the merchant's webhook secret, over the bytes `"<t>.<body>"`.
//!   Verify with a constant-time comparison and reject timestamps older than 5 minutes
//!   ([`verify`] does both).
//! - **Retries**: any answer other than 2xx, or a transport error / 10 s timeout, is retried with
//!   exponential backoff (1 s, 2 s, 4 s … capped at 1 h, [`RetryPolicy`]), at most 10 attempts;
//!   then the row is `failed` and can be replayed from the console. Every attempt is logged
//!   (status code, latency, error) in `merchant_webhook_deliveries`.
//! - **Workers**: every gateway runs one ([`spawn_worker`]); rows are claimed with
//!   `FOR UPDATE SKIP LOCKED` and a lease, and no transaction is held during the HTTP call.
//! - **Secret**: stored encrypted (migration 0008, `store::outbox`); the worker decrypts it with
//!   the gateway's master keyset. A secret that cannot be decrypted (missing/wrong master key)
//!   is never sent unsigned: the attempt is logged as failed with the reason and retried.

use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use sha2::Sha256;
use sqlx::PgPool;
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::outbox::{AfterDelivery, DeliveryLog, DueWebhook};
use time::OffsetDateTime;
use vault::Keyset;

/// The signature header's name.
pub const SIGNATURE_HEADER: &str = "Switchboard-Signature";
/// Timestamp tolerance [`verify`] applies, seconds.
pub const TOLERANCE_S: i64 = 300;
/// Per-delivery HTTP timeout.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// Retry schedule of failed deliveries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delay after the first failed attempt, milliseconds; doubles per attempt.
    pub base_ms: u64,
    /// Largest delay, milliseconds.
    pub max_ms: u64,
    /// Attempts before giving up.
    pub max_attempts: i32,
}

impl Default for RetryPolicy {
    /// 1 s, doubling, capped at 1 h, 10 attempts.
    fn default() -> Self {
        RetryPolicy {
            base_ms: 1_000,
            max_ms: 3_600_000,
            max_attempts: 10,
        }
    }
}

impl RetryPolicy {
    /// Delay after failed attempt number `attempt` (1-based): `base_ms * 2^(attempt-1)`, capped.
    pub fn delay(&self, attempt: i32) -> Duration {
        let exp = u32::try_from(attempt.saturating_sub(1).clamp(0, 40)).unwrap_or(40);
        let ms = self
            .base_ms
            .saturating_mul(1u64.checked_shl(exp).unwrap_or(u64::MAX))
            .min(self.max_ms);
        Duration::from_millis(ms)
    }

    /// What to do with the outbox row after attempt `attempt` (`ok` = 2xx) at `now`.
    pub fn after(&self, ok: bool, attempt: i32, now: OffsetDateTime) -> AfterDelivery {
        if ok {
            AfterDelivery::Delivered
        } else if attempt >= self.max_attempts {
            AfterDelivery::GiveUp
        } else {
            AfterDelivery::RetryAt(now + self.delay(attempt))
        }
    }
}

/// The `Switchboard-Signature` header value for `body` sent at `timestamp_s` (Unix seconds):
/// `t=<timestamp_s>,v1=<hex HMAC-SHA256(secret, "<timestamp_s>.<body>")>`.
pub fn sign(secret: &[u8], timestamp_s: i64, body: &[u8]) -> String {
    format!(
        "t={timestamp_s},v1={}",
        hex::encode(mac(secret, timestamp_s, body))
    )
}

fn mac(secret: &[u8], timestamp_s: i64, body: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let Ok(mut m) = Hmac::<Sha256>::new_from_slice(secret) else {
        return Vec::new();
    };
    m.update(timestamp_s.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    m.finalize().into_bytes().to_vec()
}

/// Checks a `Switchboard-Signature` header as a merchant should: parses `t` and every `v1`,
/// rejects a timestamp more than [`TOLERANCE_S`] away from `now_s`, compares in constant time.
pub fn verify(secret: &[u8], header: &str, body: &[u8], now_s: i64) -> bool {
    let mut t: Option<i64> = None;
    let mut sigs: Vec<Vec<u8>> = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse().ok(),
            Some(("v1", v)) => sigs.extend(hex::decode(v).ok()),
            Some(_) | None => {}
        }
    }
    let Some(t) = t else { return false };
    if (now_s - t).abs() > TOLERANCE_S {
        return false;
    }
    let Ok(mut m) = Hmac::<Sha256>::new_from_slice(secret) else {
        return false;
    };
    m.update(t.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    sigs.iter().any(|s| m.clone().verify_slice(s).is_ok())
}

/// What one delivery attempt got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptResult {
    /// HTTP status, if an answer arrived.
    pub status_code: Option<u16>,
    /// Milliseconds to the answer or error.
    pub latency_ms: i32,
    /// Transport error, or `HTTP <code>` for a non-2xx answer.
    pub error: Option<String>,
}

impl AttemptResult {
    /// 2xx.
    pub fn ok(&self) -> bool {
        self.status_code.is_some_and(|c| (200..300).contains(&c))
    }
}

/// Sends one delivery (no database access). Headers: `Content-Type: application/json`,
/// [`SIGNATURE_HEADER`], `Switchboard-Event-Id: evt_…`, `Switchboard-Delivery-Attempt: n`.
/// When the endpoint secret could not be decrypted nothing is sent and the result carries the
/// reason as its error (never secret material).
pub async fn send(client: &reqwest::Client, due: &DueWebhook, now_s: i64) -> AttemptResult {
    let secret = match &due.secret {
        Ok(s) => s,
        Err(reason) => {
            return AttemptResult {
                status_code: None,
                latency_ms: 0,
                error: Some(reason.clone()),
            };
        }
    };
    let body = serde_json::to_vec(&due.payload).unwrap_or_default();
    let signature = sign(secret.expose_secret().as_bytes(), now_s, &body);
    let event_id = due
        .payload
        .get("id")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_owned();
    let started = Instant::now();
    let r = client
        .post(&due.url)
        .timeout(DELIVERY_TIMEOUT)
        .header("content-type", "application/json")
        .header(SIGNATURE_HEADER, signature)
        .header("switchboard-event-id", event_id)
        .header("switchboard-delivery-attempt", due.attempt.to_string())
        .body(body)
        .send()
        .await;
    let latency_ms = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
    match r {
        Ok(resp) => {
            let code = resp.status().as_u16();
            AttemptResult {
                status_code: Some(code),
                latency_ms,
                error: (!resp.status().is_success()).then(|| format!("HTTP {code}")),
            }
        }
        Err(e) => AttemptResult {
            status_code: None,
            latency_ms,
            // reqwest errors carry the URL, never the secret (it is only in the signature).
            error: Some(if e.is_timeout() {
                "timeout".to_owned()
            } else if e.is_connect() {
                "connection refused or unreachable".to_owned()
            } else {
                format!("transport error: {e}")
            }),
        },
    }
}

/// Who sent a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The background worker (retries with backoff).
    Worker,
    /// An operator's replay from the console (never reschedules).
    Replay,
}

impl Source {
    /// `worker` / `replay` as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Worker => "worker",
            Source::Replay => "replay",
        }
    }
}

/// Sends a claimed/replayed row and logs the attempt.
pub async fn deliver(
    pool: &PgPool,
    client: &reqwest::Client,
    retry: &RetryPolicy,
    due: &DueWebhook,
    source: Source,
    actor: Option<&str>,
) -> Result<AttemptResult, sqlx::Error> {
    let now = OffsetDateTime::now_utc();
    let result = send(client, due, now.unix_timestamp()).await;
    let after = match source {
        // A replay never reschedules: success marks the row delivered, failure leaves it as it
        // was (store::outbox::record_delivery keeps the status of a failed replay).
        Source::Replay if result.ok() => AfterDelivery::Delivered,
        Source::Replay => AfterDelivery::GiveUp,
        Source::Worker => retry.after(result.ok(), due.attempt, OffsetDateTime::now_utc()),
    };
    store::outbox::record_delivery(
        pool,
        &DeliveryLog {
            merchant_id: due.merchant_id,
            outbox_id: due.outbox_id,
            attempt: due.attempt,
            url: &due.url,
            status_code: result.status_code.map(i32::from),
            latency_ms: result.latency_ms,
            error: result.error.as_deref(),
            source: source.as_str(),
            actor,
        },
        after,
    )
    .await?;
    Ok(result)
}

/// Claims and delivers one batch of due rows (up to 32, concurrently), decrypting endpoint
/// secrets with `keys`. Returns how many.
pub async fn run_once(
    pool: &PgPool,
    keys: &Keyset,
    client: &reqwest::Client,
    retry: &RetryPolicy,
) -> Result<usize, sqlx::Error> {
    let lease_ms = i64::try_from(DELIVERY_TIMEOUT.as_millis() * 3).unwrap_or(30_000);
    let due = store::outbox::claim_due(pool, keys, 32, lease_ms).await?;
    let n = due.len();
    let mut set = tokio::task::JoinSet::new();
    for d in due {
        let (pool, client, retry) = (pool.clone(), client.clone(), *retry);
        set.spawn(async move { deliver(&pool, &client, &retry, &d, Source::Worker, None).await });
    }
    while let Some(r) = set.join_next().await {
        match r {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "cannot log a webhook delivery"),
            Err(e) => tracing::warn!(error = %e, "webhook delivery task failed"),
        }
    }
    Ok(n)
}

/// Starts the delivery worker with the gateway's master `keys`: first it encrypts endpoint
/// secrets still stored in plaintext (from before migration 0008), then it delivers a batch
/// whenever rows are due, else pauses 200 ms.
pub fn spawn_worker(
    pool: PgPool,
    keys: Arc<Keyset>,
    retry: RetryPolicy,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let client = reqwest::Client::new();
        let mut rng = store::credentials::os_rng();
        match store::outbox::encrypt_legacy_endpoints(&pool, &keys, &mut rng, i64::MAX).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                endpoints = n,
                "encrypted plaintext merchant webhook secrets"
            ),
            Err(e) => {
                tracing::warn!(error = %e, "cannot encrypt plaintext merchant webhook secrets")
            }
        }
        loop {
            match run_once(&pool, &keys, &client, &retry).await {
                Ok(0) => tokio::time::sleep(Duration::from_millis(200)).await,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "webhook worker cannot claim rows");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Vector computed independently: Python `hmac.new(b"whsec_test",
    /// b'1700000000.{"id":"evt_1"}', hashlib.sha256).hexdigest()`.
    #[test]
    fn signature_matches_an_independent_hmac() {
        let body = br#"{"id":"evt_1"}"#;
        assert_eq!(
            sign(b"whsec_test", 1_700_000_000, body),
            "t=1700000000,v1=c89214b5b5da833daed6f0b8c5bb6bd58cea9022bd80ccc78230f3942d632925"
        );
        let header = sign(b"whsec_test", 1_700_000_000, body);
        assert!(verify(b"whsec_test", &header, body, 1_700_000_100));
        assert!(!verify(b"whsec_test", &header, body, 1_700_000_301));
        assert!(!verify(b"whsec_other", &header, body, 1_700_000_000));
        assert!(!verify(b"whsec_test", "v1=00", body, 1_700_000_000));
        assert!(!verify(b"whsec_test", "garbage", body, 1_700_000_000));
    }

    #[test]
    fn retry_schedule() {
        let r = RetryPolicy::default();
        let now = OffsetDateTime::UNIX_EPOCH;
        assert_eq!(r.after(true, 10, now), AfterDelivery::Delivered);
        assert_eq!(
            r.after(false, 3, now),
            AfterDelivery::RetryAt(now + Duration::from_secs(4))
        );
        assert_eq!(r.after(false, 10, now), AfterDelivery::GiveUp);
        assert_eq!(r.delay(0), Duration::from_secs(1));
    }
}
