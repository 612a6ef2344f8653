//! `switchboard-demo`: the main job. Database (embedded when no `DATABASE_URL`), migrations,
//! seed (Stripe, Square, Braintree and Mollie connectors on the emulator + the simulator),
//! emulator sending signed provider webhooks to the gateway, gateway with its background
//! reconciler, 2,000+ checkouts over HTTP with a Stripe US outage window in the middle,
//! captures/voids/refunds, a printed summary (per connector, webhooks, reconciliation), then
//! the console on that data. With no
//! display it says so, runs the same demo, and writes a screenshot through Xvfb when available.
//!
//! Options: `--payments N` (default 2400), `--concurrency C` (default 24), `--no-console`,
//! `--screenshot PATH` (default `artifacts/console.png`).

use anyhow::Context;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

fn arg_value(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn has_flag(name: &str) -> bool {
    std::env::args().any(|a| a == name)
}

fn which(bin: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {bin}"))
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn console_binary() -> PathBuf {
    if let Ok(p) = std::env::var("SWITCHBOARD_CONSOLE_BIN") {
        return PathBuf::from(p);
    }
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("switchboard-console")))
        .unwrap_or_else(|| PathBuf::from("switchboard-console"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let n: usize = arg_value("--payments")
        .and_then(|v| v.parse().ok())
        .unwrap_or(2400)
        .max(1);
    let concurrency: usize = arg_value("--concurrency")
        .and_then(|v| v.parse().ok())
        .unwrap_or(24);

    println!("== Switchboard demo ==");
    let db = demo::database::open().await?;
    println!("database: {}", db.description);
    let pool = store::connect(&db.url, 8)
        .await
        .context("cannot connect to the database")?;
    store::migrate(&pool)
        .await
        .context("cannot apply migrations")?;

    let emulator = psp_emulator::spawn("127.0.0.1:0".parse()?).await?;
    println!(
        "PSP emulator: {} (Stripe at /, Square at /square, Braintree at /braintree, Mollie at /mollie)",
        emulator.base_url()
    );
    let name = format!(
        "Demo Merchant {}",
        time::OffsetDateTime::now_utc().unix_timestamp()
    );
    let seeded = demo::seed::seed(&pool, &name, &emulator.base_url()).await?;
    println!("merchant: {name} ({})", seeded.merchant_id);
    println!(
        "connectors: Stripe US Primary (stripe, weight 70), Stripe EU Backup (stripe, weight 30), Square US (square, weight 25), Braintree US (braintree, weight 20), Mollie EU (mollie, EUR rule), Square Fallback (simulator, weight 0, primary)"
    );
    println!(
        "policy: rule 1 \"EUR to EU\": currency = EUR -> split Stripe EU Backup 60 / Mollie EU 40"
    );

    let gateway = demo::stack::start_gateway(&db.url, 32, Duration::from_secs(3)).await?;
    println!("gateway: {}", gateway.url);
    demo::seed::configure_webhooks(&emulator, &seeded, &gateway.url)?;
    println!(
        "provider webhooks: the emulator signs each connector's events (Stripe, Square, Braintree, Mollie next-gen) and posts them to {}/webhooks/<connector id>; Stripe US Primary's arrive 400 ms late, Square US's twice",
        gateway.url
    );
    println!("background reconciler: running (every 2 s)");
    let merchant_hooks =
        demo::merchant_hooks::register(&pool, &*demo::keys::master_keys()?, seeded.merchant_id)
            .await?;
    println!(
        "merchant webhooks: every payment status change is signed and posted to the demo merchant's receiver {} (it verifies Switchboard-Signature)",
        merchant_hooks.url
    );

    // Stripe US Primary is down (HTTP 503) from 35 % to 60 % of the run.
    let (start, end) = (n * 35 / 100, n * 60 / 100);
    let phase = Arc::new(AtomicU8::new(0));
    let faults = emulator.faults().clone();
    let us_key = seeded.stripe_us_key.clone();
    let progress: Arc<dyn Fn(usize) + Send + Sync> = {
        let phase = phase.clone();
        Arc::new(move |done| {
            if done >= start
                && phase
                    .compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
            {
                println!("  [{done}/{n}] Stripe US Primary outage starts (emulator answers 503)");
                demo::stack::set_outage(&faults, &us_key, true);
            }
            if done >= end
                && phase
                    .compare_exchange(1, 2, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
            {
                println!("  [{done}/{n}] Stripe US Primary outage ends");
                demo::stack::set_outage(&faults, &us_key, false);
            }
            if done % 500 == 0 {
                println!("  [{done}/{n}] checkouts answered");
            }
        })
    };
    let run = uuid::Uuid::now_v7().simple().to_string();
    let checkouts = demo::traffic::checkouts_all_providers(n, 42, &run[run.len() - 8..]);
    println!("sending {n} checkouts over HTTP ({concurrency} concurrent)...");
    let report = demo::traffic::send(
        &gateway.url,
        &seeded.api_key,
        checkouts,
        concurrency,
        progress,
    )
    .await?;
    println!(
        "sent {n} checkouts in {:.1} s ({:.0}/s); HTTP answers {:?}; transport errors {}",
        report.elapsed.as_secs_f64(),
        n as f64 / report.elapsed.as_secs_f64(),
        report.by_http_status,
        report.transport_errors
    );
    let ops =
        demo::stack::follow_up_operations(&gateway.url, &seeded.api_key, &pool, seeded.merchant_id)
            .await?;
    println!("follow-up operations: {ops}");
    // Let late and asynchronous webhooks (Mollie settles after the checkout answer) arrive.
    tokio::time::sleep(Duration::from_secs(3)).await;

    println!();
    print!(
        "{}",
        demo::summary::summary(&pool, seeded.merchant_id).await?
    );
    print!("{}", webhook_summary(&pool, seeded.merchant_id).await?);
    print!(
        "{}",
        merchant_webhook_summary(&pool, seeded.merchant_id, &merchant_hooks).await?
    );
    let deliveries = emulator.webhooks().deliveries();
    let answered = deliveries.iter().filter(|d| d.status.is_some()).count();
    let stored = store::webhooks::webhook_counts(&pool, seeded.merchant_id)
        .await?
        .iter()
        .map(|r| r.3)
        .sum::<i64>();
    println!(
        "The emulator sent {} webhook deliveries ({answered} answered); {} duplicate deliveries were answered 200 and dropped (one effect per provider event)",
        deliveries.len(),
        (answered as i64 - stored).max(0)
    );
    println!();

    if has_flag("--no-console") {
        gateway.shutdown().await;
        return Ok(());
    }
    let console = console_binary();
    if !console.exists() {
        anyhow::bail!(
            "console binary not found at {} (build it with scripts/build-console.sh)",
            console.display()
        );
    }
    let display = std::env::var("DISPLAY")
        .ok()
        .filter(|d| !d.trim().is_empty());
    match display {
        Some(d) => {
            println!("opening the console on display {d} (close its window to end the demo)...");
            let status = Command::new(&console)
                .env("DATABASE_URL", &db.url)
                .envs(demo::keys::console_env())
                .env("SWITCHBOARD_MERCHANT_ID", seeded.merchant_id.to_string())
                .status()
                .context("cannot start the console")?;
            println!("console exited: {status}");
        }
        None => {
            println!("No display: DISPLAY is not set, so the console window cannot open here.");
            let out = PathBuf::from(
                arg_value("--screenshot").unwrap_or_else(|| "artifacts/console.png".into()),
            );
            if which("Xvfb") && which("import") {
                screenshot(&console, &db.url, seeded.merchant_id, &out)?;
                println!(
                    "screenshot of the console under Xvfb written to {}",
                    out.display()
                );
            } else {
                println!(
                    "Xvfb or ImageMagick `import` is not installed: no screenshot (apt-get install xvfb imagemagick)."
                );
            }
        }
    }
    gateway.shutdown().await;
    Ok(())
}

/// Provider webhooks per connector (verified/rejected, what intake did) and the follow-up
/// figures (review flags, unknown payments, extra charges reversed), read from Postgres.
async fn webhook_summary(pool: &sqlx::PgPool, merchant_id: uuid::Uuid) -> anyhow::Result<String> {
    use std::fmt::Write as _;
    let rows = store::webhooks::webhook_counts(pool, merchant_id).await?;
    let mut out = String::new();
    let total: i64 = rows.iter().map(|r| r.3).sum();
    let _ = writeln!(out, "Provider webhooks received ({total}):");
    let mut names: Vec<&String> = rows.iter().map(|r| &r.0).collect();
    names.dedup();
    for name in names {
        let mine: Vec<&(String, String, String, i64)> =
            rows.iter().filter(|r| &r.0 == name).collect();
        let sum: i64 = mine.iter().map(|r| r.3).sum();
        let detail: Vec<String> = mine
            .iter()
            .map(|r| {
                format!(
                    "{} {}",
                    if r.1 == "rejected" {
                        "rejected"
                    } else {
                        r.2.as_str()
                    },
                    r.3
                )
            })
            .collect();
        let _ = writeln!(out, "  {name:<20} {sum:>6}  ({})", detail.join(", "));
    }
    let (review, unknown, reversed, unreversed) =
        store::webhooks::follow_up_counts(pool, merchant_id).await?;
    let _ = writeln!(
        out,
        "Reconciliation: {unknown} payments still unknown (the reconciler keeps retrying), {review} flagged for review, {reversed} extra charges voided/refunded, {unreversed} reversals pending or failed"
    );
    Ok(out)
}

/// Merchant webhooks: waits up to 15 s for the outbox to drain, then counts rows by status and
/// what the receiver verified.
async fn merchant_webhook_summary(
    pool: &sqlx::PgPool,
    merchant_id: uuid::Uuid,
    hooks: &demo::merchant_hooks::Receiver,
) -> anyhow::Result<String> {
    use std::sync::atomic::Ordering;
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let mut counts = store::outbox::status_counts(pool, merchant_id).await?;
    while counts.1 > 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(250)).await;
        counts = store::outbox::status_counts(pool, merchant_id).await?;
    }
    let (delivered, pending, failed) = counts;
    Ok(format!(
        "Merchant webhooks: {delivered} delivered, {failed} failed, {pending} pending (retrying); the receiver verified {} signatures and rejected {}\n",
        hooks.received.verified.load(Ordering::Relaxed),
        hooks.received.rejected.load(Ordering::Relaxed)
    ))
}

/// Runs the console on a private Xvfb display, waits for it to render, and captures the screen.
fn screenshot(
    console: &Path,
    db_url: &str,
    merchant_id: uuid::Uuid,
    out: &Path,
) -> anyhow::Result<()> {
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let display = format!(":{}", 90 + std::process::id() % 100);
    let mut xvfb = Command::new("Xvfb")
        .args([
            display.as_str(),
            "-screen",
            "0",
            "1280x800x24",
            "-nolisten",
            "tcp",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot start Xvfb")?;
    std::thread::sleep(Duration::from_millis(800));
    let mut cmd = if which("dbus-run-session") {
        let mut c = Command::new("dbus-run-session");
        c.arg("--").arg(console);
        c
    } else {
        Command::new(console)
    };
    let mut app = cmd
        .env("DISPLAY", &display)
        .env("DATABASE_URL", db_url)
        .envs(demo::keys::console_env())
        .env("SWITCHBOARD_MERCHANT_ID", merchant_id.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot start the console")?;
    std::thread::sleep(Duration::from_secs(12));
    let shot = Command::new("import")
        .args(["-display", &display, "-window", "root"])
        .arg(out)
        .status();
    let _ = app.kill();
    let _ = app.wait();
    let _ = xvfb.kill();
    let _ = xvfb.wait();
    let status = shot.context("cannot run ImageMagick import")?;
    anyhow::ensure!(status.success(), "import failed: {status}");
    Ok(())
}
