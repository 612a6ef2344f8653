//! `switchboard-gateway`: serves the checkout API.
//!
//! Environment: `DATABASE_URL` (required), `LISTEN` (default `127.0.0.1:8080`),
//! `DB_MAX_CONNECTIONS` (default 32), `PROVIDER_CONNECT_TIMEOUT_MS` (default 2000),
//! `PROVIDER_READ_TIMEOUT_MS` (default 10000), `MERCHANT_WEBHOOKS` (`off` disables the merchant
//! webhook worker; default on), `RECONCILER` (`off` disables the background
//! reconciler; default on), `RECONCILER_INTERVAL_MS` (default 5000), `PUBLIC_BASE_URL` (the URL
//! providers call, e.g. `https://pay.example.com`: provider webhooks go to
//! `{PUBLIC_BASE_URL}/webhooks/{connector_id}`, and Square signs that URL; default: rebuilt from
//! the request's `Host` header as `http://{host}`), `RUST_LOG`. Master keys that decrypt the
//! connector credentials (vault): `SWITCHBOARD_MASTER_KEY_FILE` (a key file) or
//! `SWITCHBOARD_MASTER_KEY` (`v1:<64 hex digits>`; during a rotation both versions, space
//! separated); missing or wrong keys stop the start-up with a clear message.
//!
//! The background reconciler (`engine::reconciler`) runs inside every gateway process; several
//! gateways may run it against one database (leases with `FOR UPDATE SKIP LOCKED`).

use anyhow::Context;
use engine::payments::{Payments, RandomRolls, SystemClock};
use providers::{Executor, ExecutorConfig};
use std::sync::Arc;
use std::time::Duration;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let url = std::env::var("DATABASE_URL")
        .context("DATABASE_URL must be set (postgres://user@host/db)")?;
    let listen = std::env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:8080".into());
    let pool = store::connect(
        &url,
        u32::try_from(env_u64("DB_MAX_CONNECTIONS", 32)).unwrap_or(32),
    )
    .await
    .context("cannot connect to the database")?;
    store::migrate(&pool)
        .await
        .context("cannot apply migrations")?;
    let executor = Executor::new(ExecutorConfig {
        connect_timeout: Duration::from_millis(env_u64("PROVIDER_CONNECT_TIMEOUT_MS", 2000)),
        read_timeout: Duration::from_millis(env_u64("PROVIDER_READ_TIMEOUT_MS", 10_000)),
    })
    .context("cannot build the provider HTTP client")?;
    let key_source = vault::KeySource::server(|k| std::env::var(k).ok()).context(
        "no master key: set SWITCHBOARD_MASTER_KEY_FILE (a key file) or SWITCHBOARD_MASTER_KEY (v1:<64 hex digits>)",
    )?;
    let keys =
        Arc::new(key_source.load().with_context(|| {
            format!("cannot load the master keys from {}", key_source.describe())
        })?);
    store::credentials::verify_keys(&pool, &keys)
        .await
        .context("master key check against the database")?;
    let payments =
        Payments::new(pool, executor, Arc::new(SystemClock), Arc::new(RandomRolls)).with_keys(keys);
    let reconciler = (std::env::var("RECONCILER").as_deref() != Ok("off")).then(|| {
        engine::reconciler::Reconciler::new(
            payments.clone(),
            engine::reconciler::ReconcilerSettings {
                interval: Duration::from_millis(env_u64("RECONCILER_INTERVAL_MS", 5000)),
                ..engine::reconciler::ReconcilerSettings::default()
            },
        )
        .spawn()
    });
    // Connector health (issue 5): circuit transitions persisted with compare-and-set, config
    // reloaded on NOTIFY (+ 1 s poll); merchant webhook delivery worker (MERCHANT_WEBHOOKS=off
    // disables it).
    let health = engine::health::spawn(payments.pool().clone(), payments.config().clone());
    let webhooks = (std::env::var("MERCHANT_WEBHOOKS").as_deref() != Ok("off")).then(|| {
        engine::merchant_webhooks::spawn_worker(
            payments.pool().clone(),
            payments.keys(),
            engine::merchant_webhooks::RetryPolicy::default(),
        )
    });
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    tracing::info!(addr = %listener.local_addr()?, "switchboard gateway listening");
    let mut state = gateway::AppState::new(payments);
    if let Ok(base) = std::env::var("PUBLIC_BASE_URL") {
        state = state.with_public_base_url(base);
    }
    gateway::serve(listener, state, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    health.abort();
    if let Some(task) = webhooks {
        task.abort();
    }
    if let Some(task) = reconciler {
        task.abort();
    }
    Ok(())
}
