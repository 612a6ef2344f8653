//! Switchboard's Postgres store: the only crate that writes SQL.
//!
//! - [`MIGRATOR`]: the schema from the workspace's `migrations/` folder, embedded at build time.
//! - [`config`]: merchants, API keys, connectors, policies; weight changes.
//! - [`access`]: memberships (login role -> merchant + console role), enforced by RLS (migration 0007).
//! - [`credentials`]: connector secrets, encrypted by the `vault` crate (migration 0006), rotation.
//! - [`payments`]: the durable payment protocol's writes (DESIGN.md §6) and idempotency rows.
//! - [`read`]: read models for the console and the gateway's `GET`.
//! - [`webhooks`]: provider webhook deliveries, guarded effects, review flags, reversals.
//! - [`health`]: shared circuit-breaker state of connectors and its events (migration 0004).
//! - [`outbox`]: merchant webhook endpoints, outbox and delivery log (migration 0004).
//! - [`reconcile`]: the background reconciler's lease-based queue of unknown attempts.
//! - [`rollups`]: console rollups (migration 0005) for charts, finance and the fallback matrix.
//! - [`policies`]: policy drafts and publication (console policy editor).
//!
//! Functions take a `&PgPool` when they run on their own, or a `&mut PgConnection` when the
//! caller composes them inside one transaction. Nothing here calls a provider.

pub mod access;
pub mod bench_seed;
pub mod config;
pub mod credentials;
pub mod health;
pub mod outbox;
pub mod payments;
pub mod policies;
pub mod read;
pub mod reconcile;
pub mod rollups;
pub mod webhooks;

use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use std::time::Duration;

/// The embedded migrations (`migrations/*.sql` at the workspace root).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// Opens a pool with `max_connections` and a 5 s acquire timeout. Errors: connection failures.
pub async fn connect(url: &str, max_connections: u32) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect(url)
        .await
}

/// Applies pending migrations. Errors: migration failures (as `sqlx::migrate::MigrateError`).
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}

/// Converts a UTC timestamp to Unix milliseconds.
pub fn to_ms(t: time::OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}
