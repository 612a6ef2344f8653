//! `switchboard-load`: end-to-end payments per second through the gateway.
//!
//! Starts (or uses) Postgres, the Stripe emulator with 0 ms latency and the gateway on loopback,
//! seeds a merchant, then sends `--payments N` (default 20000) approvals with `--concurrency C`
//! (default 16) over HTTP, through a gateway pool of `--db-connections D` (default 8: on 2 cores more
//! Postgres backends only contend) and prints payments/s and latency quantiles. Every payment is durable
//! (two commits, synchronous_commit on) before its answer. Figures only: no thresholds.

use anyhow::Context;
use std::sync::Arc;
use std::time::Duration;

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n = arg("--payments", 20_000);
    let concurrency = arg("--concurrency", 16);
    let db_connections = u32::try_from(arg("--db-connections", 8)).unwrap_or(8);
    let db = demo::database::open().await?;
    println!("database: {}", db.description);
    let pool = store::connect(&db.url, 4)
        .await
        .context("cannot connect to the database")?;
    store::migrate(&pool).await?;
    let emulator = psp_emulator::spawn("127.0.0.1:0".parse()?).await?;
    let name = format!("Load Merchant {}", uuid::Uuid::now_v7());
    let seeded = demo::seed::seed(&pool, &name, &emulator.base_url()).await?;
    let gateway =
        demo::stack::start_gateway(&db.url, db_connections, Duration::from_secs(10)).await?;
    let mut checkouts = demo::traffic::checkouts(n, 7, &uuid::Uuid::now_v7().simple().to_string());
    for c in &mut checkouts {
        // Approvals only: the figure is the durable happy path.
        c.body["payment_method"]["tokens"][0]["token"] = serde_json::json!("pm_card_visa");
    }
    // Warm-up.
    let warm = demo::traffic::checkouts(200, 8, &uuid::Uuid::now_v7().simple().to_string());
    demo::traffic::send(
        &gateway.url,
        &seeded.api_key,
        warm,
        concurrency,
        Arc::new(|_| {}),
    )
    .await?;
    let report = demo::traffic::send(
        &gateway.url,
        &seeded.api_key,
        checkouts,
        concurrency,
        Arc::new(|_| {}),
    )
    .await?;
    let ok = report.by_http_status.get(&200).copied().unwrap_or(0);
    let secs = report.elapsed.as_secs_f64();
    println!("payments sent:      {n} (concurrency {concurrency}, gateway pool {db_connections})");
    println!(
        "HTTP answers:       {:?}, transport errors {}",
        report.by_http_status, report.transport_errors
    );
    println!("elapsed:            {secs:.2} s");
    println!(
        "throughput:         {:.0} payments/s ({:.0} answered 200/s)",
        n as f64 / secs,
        ok as f64 / secs
    );
    println!(
        "latency:            p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms",
        report.quantile(0.5).as_secs_f64() * 1e3,
        report.quantile(0.95).as_secs_f64() * 1e3,
        report.quantile(0.99).as_secs_f64() * 1e3
    );
    let counts = store::read::status_counts(&pool, seeded.merchant_id).await?;
    println!("stored payments:    {counts:?}");
    gateway.shutdown().await;
    Ok(())
}
