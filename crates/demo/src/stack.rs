//! The emulator and the gateway, serving on loopback ports inside this process.

use engine::payments::{Payments, RandomRolls, SystemClock};
use providers::{Executor, ExecutorConfig};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

/// A running gateway (and its database pool).
pub struct Gateway {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Its pool.
    pub pool: sqlx::PgPool,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    health: engine::health::Background,
    webhooks: tokio::task::JoinHandle<()>,
    reconciler: tokio::task::JoinHandle<()>,
}

impl Gateway {
    /// Stops serving and waits for in-flight requests.
    pub async fn shutdown(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let _ = self.task.await;
        self.health.abort();
        self.webhooks.abort();
        self.reconciler.abort();
    }
}

/// Starts the gateway on 127.0.0.1:0 over `database_url` with `max_connections` and the given
/// provider read timeout, with its background tasks (health, merchant webhooks, reconciler).
pub async fn start_gateway(
    database_url: &str,
    max_connections: u32,
    read_timeout: Duration,
) -> anyhow::Result<Gateway> {
    let pool = store::connect(database_url, max_connections).await?;
    let executor = Executor::new(ExecutorConfig {
        connect_timeout: Duration::from_secs(2),
        read_timeout,
    })?;
    let payments = Payments::new(
        pool.clone(),
        executor,
        Arc::new(SystemClock),
        Arc::new(RandomRolls),
    )
    .with_keys(crate::keys::master_keys()?);
    // Connector health (issue 5): shared circuit state, config LISTEN/NOTIFY, merchant webhooks.
    let health = engine::health::spawn(pool.clone(), payments.config().clone());
    let webhooks = engine::merchant_webhooks::spawn_worker(
        pool.clone(),
        payments.keys(),
        engine::merchant_webhooks::RetryPolicy::default(),
    );
    // Background reconciler (issue 3): drives `unknown` payments to a final state and retries
    // pending reversals of extra charges; every 2 s in the demo.
    let reconciler = engine::reconciler::Reconciler::new(
        payments.clone(),
        engine::reconciler::ReconcilerSettings {
            interval: Duration::from_secs(2),
            base_backoff: Duration::from_secs(2),
            ..engine::reconciler::ReconcilerSettings::default()
        },
    )
    .spawn();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(gateway::serve(
        listener,
        gateway::AppState::new(payments),
        async {
            let _ = rx.await;
        },
    ));
    Ok(Gateway {
        url,
        pool,
        stop: Some(tx),
        task,
        health,
        webhooks,
        reconciler,
    })
}

/// Follow-up calls a merchant makes after checkout, over HTTP: captures (some partial) and voids
/// of manual-capture authorizations, and refunds (some partial) of captured payments.
/// Returns a one-line description of what was done.
pub async fn follow_up_operations(
    gateway_url: &str,
    api_key: &str,
    pool: &sqlx::PgPool,
    merchant_id: uuid::Uuid,
) -> anyhow::Result<String> {
    let client = reqwest::Client::new();
    let auth = format!("Bearer {api_key}");
    let authorized =
        store::read::search_payments(pool, merchant_id, "", Some("authorized"), 120).await?;
    let captured =
        store::read::search_payments(pool, merchant_id, "", Some("captured"), 60).await?;
    let (mut captures, mut voids, mut refunds, mut failed) = (0, 0, 0, 0);
    for (i, p) in authorized.iter().enumerate() {
        let (path, body) = match i % 4 {
            0 => ("capture", serde_json::json!({})),
            1 => (
                "capture",
                serde_json::json!({"amount": (p.amount_minor / 2).max(1)}),
            ),
            2 => ("void", serde_json::json!({})),
            _ => continue, // left authorized, as in real life
        };
        let r = client
            .post(format!("{gateway_url}/v1/payments/{}/{path}", p.id))
            .header("authorization", &auth)
            .header("idempotency-key", format!("{path}-{}", p.id))
            .json(&body)
            .send()
            .await?;
        match (r.status().is_success(), path) {
            (true, "capture") => captures += 1,
            (true, _) => voids += 1,
            (false, _) => failed += 1,
        }
    }
    for (i, p) in captured.iter().enumerate().filter(|(i, _)| i % 3 == 0) {
        let amount = if i % 2 == 0 {
            p.amount_minor
        } else {
            (p.amount_minor / 3).max(1)
        };
        let r = client
            .post(format!("{gateway_url}/v1/payments/{}/refunds", p.id))
            .header("authorization", &auth)
            .header("idempotency-key", format!("refund-{}", p.id))
            .json(&serde_json::json!({"amount": amount, "reason": "requested_by_customer"}))
            .send()
            .await?;
        if r.status().is_success() {
            refunds += 1
        } else {
            failed += 1
        }
    }
    Ok(format!(
        "{captures} captures, {voids} voids, {refunds} refunds ({failed} refused)"
    ))
}

/// Opens (`down = true`) or closes a Stripe outage for one emulator account: every request with
/// that API key is answered HTTP 503 while it lasts.
pub fn set_outage(faults: &psp_emulator::faults::Faults, api_key: &str, down: bool) {
    if down {
        let spec = psp_emulator::faults::FaultSpec::for_key(api_key).outage(
            Duration::ZERO,
            Duration::from_secs(24 * 3600),
            psp_emulator::faults::OutageKind::Error,
        );
        if let Err(e) = faults.set(spec) {
            tracing::warn!(error = %e, "cannot set the outage fault");
        }
    } else {
        faults.clear_scope(Some(api_key));
    }
}
