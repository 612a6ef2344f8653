//! The demo merchant's own webhook receiver (merchant webhooks, issue 5): an axum server on
//! 127.0.0.1:0 that checks every delivery's `Switchboard-Signature` with the merchant's secret
//! (`engine::merchant_webhooks::verify`: HMAC-SHA256 over `"<t>.<body>"`, 5 min tolerance) and
//! answers 200 when it verifies, 401 otherwise. [`register`] stores the endpoint (secret sealed
//! by the vault) so the gateway's delivery worker posts every payment status change to it and
//! the console's payment timeline shows the deliveries.

use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use uuid::Uuid;
use vault::Keyset;

/// What the receiver saw.
#[derive(Debug, Default)]
pub struct Received {
    /// Deliveries whose signature verified (answered 200).
    pub verified: AtomicU64,
    /// Deliveries whose signature did not verify (answered 401).
    pub rejected: AtomicU64,
}

/// A running receiver: its URL and counters (the server stops with the process).
pub struct Receiver {
    /// `http://127.0.0.1:<port>/merchant-webhooks`.
    pub url: String,
    /// Counters.
    pub received: Arc<Received>,
}

/// Starts the receiver checking signatures with `secret`.
/// Errors: the loopback port cannot be bound.
pub async fn start_receiver(secret: SecretString) -> anyhow::Result<Receiver> {
    let received = Arc::new(Received::default());
    let (r, secret) = (received.clone(), Arc::new(secret));
    let app = axum::Router::new().route(
        "/merchant-webhooks",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let (r, secret) = (r.clone(), secret.clone());
                async move {
                    let sig = headers
                        .get(engine::merchant_webhooks::SIGNATURE_HEADER)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default();
                    let now = time::OffsetDateTime::now_utc().unix_timestamp();
                    let secret = secret.expose_secret().as_bytes();
                    if engine::merchant_webhooks::verify(secret, sig, &body, now) {
                        r.verified.fetch_add(1, Ordering::Relaxed);
                        axum::http::StatusCode::OK
                    } else {
                        r.rejected.fetch_add(1, Ordering::Relaxed);
                        axum::http::StatusCode::UNAUTHORIZED
                    }
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/merchant-webhooks", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(Receiver { url, received })
}

/// Starts the receiver with a fresh random secret and registers it as `merchant_id`'s endpoint
/// (secret encrypted with `keys`). Errors: port, database or vault failures.
pub async fn register(
    pool: &sqlx::PgPool,
    keys: &Keyset,
    merchant_id: Uuid,
) -> anyhow::Result<Receiver> {
    let secret = SecretString::from(format!("whsec_demo_{}", Uuid::new_v4().simple()));
    let receiver = start_receiver(secret.clone()).await?;
    store::outbox::set_endpoint(pool, keys, merchant_id, &receiver.url, &secret, true).await?;
    Ok(receiver)
}
