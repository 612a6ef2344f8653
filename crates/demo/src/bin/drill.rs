//! `switchboard-drill`: the failover drill (issue 5). Prints figures; no thresholds.
//!
//! `cargo run --release -p demo --bin switchboard-drill` starts (or uses `DATABASE_URL`) one
//! Postgres, the PSP emulator and TWO real `switchboard-gateway` processes (built with
//! `cargo build --release -p gateway` first if missing), seeds the demo merchant, and sends
//! steady closed-loop checkout traffic (USD approvals carrying a Stripe and a simulator token)
//! to both gateways. Timeline (seconds, `--scale` stretches it):
//! - 0: traffic starts (circuit breakers at their defaults: 50 % over 10 s, >= 20 calls,
//!   5 s cool-down);
//! - 8: the emulator takes "Stripe US Primary" down (HTTP 503 for its API key);
//! - 20: the emulator restores it;
//! - 32: an operator drains "Stripe EU Backup" (weight 0) with `engine::console::Console::
//!   set_weight`, the console's own code path;
//! - 40: traffic stops.
//!
//! Figures: time from outage start to circuit open, payments that failed because of the outage
//! while an eligible backup existed (goal 0), time from restore to circuit closed, time from the
//! drain to the last attempt on the drained connector per gateway (goal <= 1 s), and payments/s
//! per 2-second slice. Options: `--concurrency N` per gateway (default 6), `--scale F`, and breaker
//! settings applied to every connector through `Console::set_circuit_settings` before traffic:
//! `--window-ms`, `--min-samples`, `--cooldown-ms` (default: the connector defaults).
//! With a rate threshold over a time window, opening takes about half the window at steady
//! traffic (the window still holds the pre-outage successes): ~5 s with the 10 s default.

use anyhow::{Context, bail};
use engine::console::Console;
use serde_json::json;
use sqlx::PgPool;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use time::OffsetDateTime;
use tokio::time::Instant;

fn arg<T: std::str::FromStr>(name: &str, default: T) -> T {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The `switchboard-gateway` binary next to this one, built in release mode if missing.
fn gateway_binary() -> anyhow::Result<std::path::PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .context("no directory for the current binary")?;
    let bin = dir.join("switchboard-gateway");
    if !bin.exists() {
        println!("building switchboard-gateway (cargo build --release -p gateway) …");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let profile = if dir.ends_with("release") {
            vec!["--release"]
        } else {
            vec![]
        };
        let status = std::process::Command::new(cargo)
            .args(["build", "-p", "gateway", "--bin", "switchboard-gateway"])
            .args(profile)
            .status()?;
        if !status.success() || !bin.exists() {
            bail!("cannot build switchboard-gateway");
        }
    }
    Ok(bin)
}

struct GatewayProcess {
    name: &'static str,
    url: String,
    child: tokio::process::Child,
}

async fn spawn_gateway(
    bin: &std::path::Path,
    name: &'static str,
    database_url: &str,
) -> anyhow::Result<GatewayProcess> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut cmd = tokio::process::Command::new(bin);
    cmd.env("DATABASE_URL", database_url)
        .env("LISTEN", format!("127.0.0.1:{port}"))
        .env("DB_MAX_CONNECTIONS", "8")
        .env("PROVIDER_READ_TIMEOUT_MS", "5000")
        .env(
            "RUST_LOG",
            std::env::var("DRILL_GATEWAY_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    if std::env::var_os("SWITCHBOARD_MASTER_KEY").is_none()
        && std::env::var_os("SWITCHBOARD_MASTER_KEY_FILE").is_none()
    {
        cmd.env(
            "SWITCHBOARD_MASTER_KEY_FILE",
            demo::keys::default_key_file(),
        );
    }
    let child = cmd.spawn().context("cannot start switchboard-gateway")?;
    let url = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let t0 = Instant::now();
    while client.get(format!("{url}/healthz")).send().await.is_err() {
        if t0.elapsed() > Duration::from_secs(30) {
            bail!("{name} did not start listening on {url}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(GatewayProcess { name, url, child })
}

/// Closed-loop load: `concurrency` workers per gateway until `stop`. Merchant references are
/// `<gateway>-<n>` so attempts can be attributed to the gateway that made them.
fn start_load(
    gateways: &[(&'static str, String)],
    api_key: &str,
    concurrency: usize,
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicUsize>,
) -> Vec<tokio::task::JoinHandle<usize>> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_default();
    let mut tasks = Vec::new();
    for (name, url) in gateways {
        for w in 0..concurrency {
            let (client, stop, sent) = (client.clone(), stop.clone(), sent.clone());
            let url = format!("{url}/v1/payments");
            let auth = format!("Bearer {api_key}");
            let name = *name;
            tasks.push(tokio::spawn(async move {
                let mut errors = 0;
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let body = json!({
                        "amount": 1000 + (i % 50) * 10,
                        "currency": "USD",
                        "payment_method": {"type": "card", "tokens": [
                            {"token": "pm_card_visa", "scope": {"type": "provider", "provider": "stripe"}},
                            {"token": "sim_approve", "scope": {"type": "provider", "provider": "simulator"}}
                        ]},
                        "billing": {"country": "US"},
                        "merchant_reference": format!("{name}-{w}-{i}"),
                    });
                    let r = client
                        .post(&url)
                        .header("authorization", &auth)
                        .header("idempotency-key", uuid::Uuid::now_v7().to_string())
                        .json(&body)
                        .send()
                        .await;
                    match r {
                        Ok(r) if r.status().is_success() => {
                            let _ = r.bytes().await;
                        }
                        Ok(_) | Err(_) => errors += 1,
                    }
                    sent.fetch_add(1, Ordering::Relaxed);
                }
                errors
            }));
        }
    }
    tasks
}

/// Polls the persisted circuit of `connector` until it is `state`; returns when it was seen.
async fn wait_circuit(
    pool: &PgPool,
    connector: uuid::Uuid,
    state: &str,
    limit: Duration,
) -> anyhow::Result<Option<OffsetDateTime>> {
    let t0 = Instant::now();
    while t0.elapsed() < limit {
        let at: Option<OffsetDateTime> = sqlx::query_scalar(
            "SELECT circuit_since FROM connectors WHERE id = $1 AND circuit = $2",
        )
        .bind(connector)
        .bind(state)
        .fetch_optional(pool)
        .await?;
        if at.is_some() {
            return Ok(at);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(None)
}

fn ms_between(a: OffsetDateTime, b: OffsetDateTime) -> i64 {
    i64::try_from((b - a).whole_milliseconds()).unwrap_or(i64::MAX)
}

async fn sleep_until(start: Instant, at_s: f64) {
    tokio::time::sleep_until(start + Duration::from_secs_f64(at_s)).await;
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let concurrency: usize = arg("--concurrency", 6);
    let scale: f64 = arg("--scale", 1.0);
    let db = demo::database::open().await?;
    println!("database: {}", db.description);
    let pool = store::connect(&db.url, 4)
        .await
        .context("cannot connect to the database")?;
    store::migrate(&pool).await?;
    let emulator = psp_emulator::spawn("127.0.0.1:0".parse()?).await?;
    let name = format!("Drill Merchant {}", uuid::Uuid::now_v7());
    let seeded = demo::seed::seed(&pool, &name, &emulator.base_url()).await?;
    // Breaker settings: the connector defaults (migration 0004 = routing::CircuitSettings::
    // default()) unless tuned on the command line, through the console's own operation.
    let console = Console::new(pool.clone(), seeded.merchant_id, "drill-operator");
    let defaults = routing::CircuitSettings::default();
    let tuned = routing::CircuitSettings {
        window_ms: arg("--window-ms", defaults.window_ms),
        min_samples: arg("--min-samples", defaults.min_samples),
        cooldown_ms: arg("--cooldown-ms", defaults.cooldown_ms),
        ..defaults
    };
    if tuned != defaults {
        for c in [seeded.stripe_us, seeded.stripe_eu, seeded.square_fallback] {
            console
                .set_circuit_settings(engine::console_ops::SetCircuitSettings {
                    connector_id: c.to_string(),
                    failure_threshold_pct: tuned.failure_threshold_pct,
                    window_ms: tuned.window_ms,
                    min_samples: tuned.min_samples,
                    cooldown_ms: tuned.cooldown_ms,
                    probe_interval_ms: tuned.probe_interval_ms,
                    reason: "failover drill: tuned breaker".into(),
                })
                .await?;
        }
    }
    println!(
        "circuit breaker: open above {} % provider-side failures of >= {} calls in {} ms; cool-down {} ms; one probe per {} ms per gateway{}",
        tuned.failure_threshold_pct,
        tuned.min_samples,
        tuned.window_ms,
        tuned.cooldown_ms,
        tuned.probe_interval_ms,
        if tuned == defaults {
            " (defaults)"
        } else {
            " (tuned)"
        }
    );
    let bin = gateway_binary()?;
    let mut gws = Vec::new();
    for n in ["gateway-1", "gateway-2"] {
        gws.push(spawn_gateway(&bin, n, &db.url).await?);
    }
    println!(
        "gateways: {} ({}), {} ({}); emulator {}; {} workers per gateway",
        gws[0].name,
        gws[0].url,
        gws[1].name,
        gws[1].url,
        emulator.base_url(),
        concurrency
    );
    let targets: Vec<(&'static str, String)> =
        gws.iter().map(|g| (g.name, g.url.clone())).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicUsize::new(0));
    let run_start_wall = OffsetDateTime::now_utc();
    let start = Instant::now();
    let load = start_load(
        &targets,
        &seeded.api_key,
        concurrency,
        stop.clone(),
        sent.clone(),
    );

    // Outage of Stripe US Primary.
    sleep_until(start, 8.0 * scale).await;
    let outage_at = OffsetDateTime::now_utc();
    demo::stack::set_outage(emulator.faults(), &seeded.stripe_us_key, true);
    println!(
        "t={:>5.1}s  emulator: Stripe US Primary DOWN",
        start.elapsed().as_secs_f64()
    );
    let opened = wait_circuit(&pool, seeded.stripe_us.0, "open", Duration::from_secs(10)).await?;
    println!(
        "t={:>5.1}s  circuit of Stripe US Primary: open",
        start.elapsed().as_secs_f64()
    );

    sleep_until(start, 20.0 * scale).await;
    let restored_at = OffsetDateTime::now_utc();
    demo::stack::set_outage(emulator.faults(), &seeded.stripe_us_key, false);
    println!(
        "t={:>5.1}s  emulator: Stripe US Primary restored",
        start.elapsed().as_secs_f64()
    );
    let closed = wait_circuit(&pool, seeded.stripe_us.0, "closed", Duration::from_secs(30)).await?;
    println!(
        "t={:>5.1}s  circuit of Stripe US Primary: closed",
        start.elapsed().as_secs_f64()
    );

    // Drain through the console's code path.
    sleep_until(start, 32.0 * scale).await;
    let drain_requested = OffsetDateTime::now_utc();
    console
        .set_weight(engine::views::SetWeight {
            connector_id: seeded.stripe_eu.to_string(),
            weight: 0,
            reason: "failover drill: drain Stripe EU Backup".into(),
        })
        .await?;
    let drained_at = OffsetDateTime::now_utc();
    println!(
        "t={:>5.1}s  operator: Stripe EU Backup drained (weight 0)",
        start.elapsed().as_secs_f64()
    );

    sleep_until(start, 40.0 * scale).await;
    stop.store(true, Ordering::Relaxed);
    let mut transport_or_http_errors = 0;
    for t in load {
        transport_or_http_errors += t.await.unwrap_or(0);
    }
    let elapsed = start.elapsed().as_secs_f64();
    for mut g in gws {
        let _ = g.child.kill().await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    // ---- figures, read back from Postgres ----
    let m = seeded.merchant_id;
    println!();
    println!("== failover drill figures ==");
    println!(
        "payments sent: {} in {:.1} s ({:.0} payments/s overall), HTTP/transport errors: {}",
        sent.load(Ordering::Relaxed),
        elapsed,
        sent.load(Ordering::Relaxed) as f64 / elapsed,
        transport_or_http_errors
    );
    match opened {
        Some(at) => println!(
            "outage start -> circuit open (persisted):      {} ms",
            ms_between(outage_at, at)
        ),
        None => println!("outage start -> circuit open:                   never (within 10 s)"),
    }
    // A payment failed because of the outage while a backup was eligible: it is not approved,
    // and it had a provider-side failure on Stripe US. Every drill checkout carries a simulator
    // token, so "Square Fallback" (and "Stripe EU Backup" before the drain) was always eligible.
    let (failed_with_backup, failed_total, us_failures, us_calls_in_outage): (i64, i64, i64, i64) =
        sqlx::query_as(
            "SELECT
               count(*) FILTER (WHERE p.status NOT IN ('captured', 'authorized') AND EXISTS (
                   SELECT 1 FROM attempts a WHERE a.merchant_id = p.merchant_id AND a.payment_id = p.id
                     AND a.connector_id = $2 AND a.outcome IN ('provider_unavailable', 'unknown_outcome', 'rate_limited', 'auth_config_error'))),
               count(*) FILTER (WHERE p.status NOT IN ('captured', 'authorized')),
               (SELECT count(*) FROM attempts a WHERE a.merchant_id = $1 AND a.connector_id = $2
                  AND a.outcome IN ('provider_unavailable', 'unknown_outcome', 'rate_limited', 'auth_config_error')),
               (SELECT count(*) FROM attempts a WHERE a.merchant_id = $1 AND a.connector_id = $2
                  AND a.created_at >= $3 AND a.created_at < $4)
             FROM payments p WHERE p.merchant_id = $1",
        )
        .bind(m)
        .bind(seeded.stripe_us.0)
        .bind(outage_at)
        .bind(restored_at)
        .fetch_one(&pool)
        .await?;
    println!(
        "payments failed because of the outage while an eligible backup existed: {failed_with_backup} (goal 0; failed payments overall: {failed_total})"
    );
    println!(
        "calls to Stripe US Primary during the outage: {us_calls_in_outage} (before the circuit opened, plus half-open probes; {us_failures} provider-side failures on it over the whole run)"
    );
    match closed {
        Some(at) => println!(
            "restore -> circuit closed (persisted):         {} ms (at most the cool-down, {} ms, + one probe)",
            ms_between(restored_at, at),
            tuned.cooldown_ms
        ),
        None => println!("restore -> circuit closed:                      never (within 30 s)"),
    }
    let transitions: Vec<(OffsetDateTime, String, String, String)> = sqlx::query_as(
        "SELECT at, from_state, to_state, actor FROM connector_health_events
         WHERE merchant_id = $1 AND connector_id = $2 ORDER BY id",
    )
    .bind(m)
    .bind(seeded.stripe_us.0)
    .fetch_all(&pool)
    .await?;
    println!("circuit transitions of Stripe US Primary (time since outage start, written by):");
    for (at, from, to, actor) in &transitions {
        println!(
            "  {:>+7} ms  {from} -> {to}  ({actor})",
            ms_between(outage_at, *at)
        );
    }
    println!(
        "drain: Console::set_weight took {} ms",
        ms_between(drain_requested, drained_at)
    );
    for (g, _) in &targets {
        let last: Option<OffsetDateTime> = sqlx::query_scalar(
            "SELECT max(a.created_at) FROM attempts a JOIN payments p
               ON p.merchant_id = a.merchant_id AND p.id = a.payment_id
             WHERE a.merchant_id = $1 AND a.connector_id = $2 AND p.merchant_reference LIKE $3",
        )
        .bind(m)
        .bind(seeded.stripe_eu.0)
        .bind(format!("{g}-%"))
        .fetch_one(&pool)
        .await?;
        let after: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM attempts a JOIN payments p
               ON p.merchant_id = a.merchant_id AND p.id = a.payment_id
             WHERE a.merchant_id = $1 AND a.connector_id = $2 AND p.merchant_reference LIKE $3
               AND a.created_at > $4",
        )
        .bind(m)
        .bind(seeded.stripe_eu.0)
        .bind(format!("{g}-%"))
        .bind(drained_at)
        .fetch_one(&pool)
        .await?;
        match last {
            Some(l) => println!(
                "drain -> last attempt on Stripe EU Backup via {g}: {} ms (goal <= 1000; {after} attempts after the drain committed)",
                ms_between(drained_at, l)
            ),
            None => {
                println!("drain -> last attempt on Stripe EU Backup via {g}: no attempts at all")
            }
        }
    }
    let per_slice: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT floor(extract(epoch FROM created_at - $2) / 2)::bigint AS s, count(*)
         FROM payments WHERE merchant_id = $1 GROUP BY 1 ORDER BY 1",
    )
    .bind(m)
    .bind(run_start_wall)
    .fetch_all(&pool)
    .await?;
    println!("payments/s per 2 s slice (t = seconds since traffic start):");
    let mut line = String::new();
    for (s, n) in per_slice {
        if s < 0 {
            continue;
        }
        line.push_str(&format!("  t={:>2}: {:>4.0}", s * 2, n as f64 / 2.0));
        if line.len() > 90 {
            println!("{line}");
            line.clear();
        }
    }
    if !line.is_empty() {
        println!("{line}");
    }
    emulator.shutdown().await;
    Ok(())
}
