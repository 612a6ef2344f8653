//! `switchboard-console-bench`: the console's read models at scale (issue 4 §9).
//!
//! Creates its own database (`switchboard_bench`, or `BENCH_DB`) on `DATABASE_URL`'s server
//! (default `postgres://postgres@127.0.0.1:5432/postgres`), seeds 10,000,000 payments /
//! ~15,000,000 attempts over 90 days (3 merchants, 4 connectors each, EUR/USD/GBP; see
//! `store::bench_seed`) unless already seeded, then runs each console query many times through
//! `engine::console::Console` (the same code the desktop app calls) and prints p50/p95/max in
//! milliseconds per query against the goals: timeline p95 <= 10 ms, search p95 <= 50 ms,
//! 30-day success-rate chart (incl. SVG rendering) p95 <= 100 ms, finance table p95 <= 100 ms.
//!
//! `BENCH_PAYMENTS` overrides the payment count (e.g. 100000 for a quick run; a different count
//! needs a fresh database: `BENCH_RESEED=1` drops and recreates it). `BENCH_RUNS` sets the runs
//! per query (default 200).
//!
//! Run: `cargo run --release -p demo --bin switchboard-console-bench`

use anyhow::Context as _;
use engine::console::Console;
use engine::views::{ChartPeriod, ChartQuery, FinanceQuery, SearchFilter};
use rand::{Rng, SeedableRng};
use routing::{OutcomeClass, PaymentStatus};
use sqlx::{Connection, PgConnection};
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use uuid::Uuid;

fn env_or(k: &str, d: &str) -> String {
    std::env::var(k)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| d.to_owned())
}

fn with_db(url: &str, db: &str) -> String {
    match url.rfind('/') {
        Some(i)
            if url[..i].contains("://")
                && url[..i].len() > url.find("://").map(|p| p + 2).unwrap_or(0) =>
        {
            let (base, rest) = url.split_at(i);
            let query = rest.find('?').map(|q| &rest[q..]).unwrap_or("");
            format!("{base}/{db}{query}")
        }
        _ => format!("{url}/{db}"),
    }
}

/// A named search filter generator (random picks from the sampled payments).
type MakeFilter<'a> = Box<dyn Fn(&mut rand::rngs::StdRng) -> SearchFilter + 'a>;

struct Stats {
    name: &'static str,
    goal_ms: Option<f64>,
    samples: Vec<Duration>,
}

impl Stats {
    fn pct(&self, p: f64) -> f64 {
        let mut v: Vec<f64> = self
            .samples
            .iter()
            .map(|d| d.as_secs_f64() * 1000.0)
            .collect();
        v.sort_by(f64::total_cmp);
        if v.is_empty() {
            return f64::NAN;
        }
        let idx = ((p / 100.0) * (v.len() as f64 - 1.0)).round() as usize;
        v[idx.min(v.len() - 1)]
    }

    fn print(&self) {
        let p95 = self.pct(95.0);
        let verdict = match self.goal_ms {
            Some(g) if p95 <= g => format!("goal p95 <= {g} ms: MET"),
            Some(g) => format!("goal p95 <= {g} ms: MISSED"),
            None => String::new(),
        };
        println!(
            "{:<34} runs {:>4}  p50 {:>8.2} ms  p95 {:>8.2} ms  max {:>8.2} ms  {verdict}",
            self.name,
            self.samples.len(),
            self.pct(50.0),
            p95,
            self.pct(100.0)
        );
    }
}

async fn time_it<T, F: std::future::Future<Output = Result<T, engine::EngineError>>>(
    samples: &mut Vec<Duration>,
    f: F,
) -> anyhow::Result<T> {
    let t = Instant::now();
    let out = f.await.map_err(|e| anyhow::anyhow!("{e}"))?;
    samples.push(t.elapsed());
    Ok(out)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let url = env_or(
        "DATABASE_URL",
        "postgres://postgres@127.0.0.1:5432/postgres",
    );
    let db = env_or("BENCH_DB", "switchboard_bench");
    let payments: i64 = env_or("BENCH_PAYMENTS", "10000000")
        .parse()
        .context("BENCH_PAYMENTS")?;
    let runs: usize = env_or("BENCH_RUNS", "200").parse().context("BENCH_RUNS")?;
    let bench_url = with_db(&url, &db);

    let mut admin = PgConnection::connect(&url)
        .await
        .context("connect to DATABASE_URL")?;
    if std::env::var("BENCH_RESEED").is_ok() {
        sqlx::query(&format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"))
            .execute(&mut admin)
            .await?;
    }
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&db)
            .fetch_one(&mut admin)
            .await?;
    if !exists {
        sqlx::query(&format!("CREATE DATABASE \"{db}\""))
            .execute(&mut admin)
            .await?;
        println!("created database {db}");
    }
    drop(admin);

    let pool = store::connect(&bench_url, 4)
        .await
        .context("connect to the bench database")?;
    store::migrate(&pool).await.context("migrate")?;
    let seeded: i64 =
        sqlx::query_scalar("SELECT count(*) FROM merchants WHERE name LIKE 'Bench Merchant %'")
            .fetch_one(&pool)
            .await?;
    if seeded == 0 {
        let caps = serde_json::to_value(routing::Capabilities::cards_anywhere())?;
        let ids = store::bench_seed::seed_config(&pool, &caps).await?;
        let spec = store::bench_seed::SeedSpec {
            payments,
            chunk: 500_000,
            days: 90,
            end: OffsetDateTime::now_utc(),
        };
        println!("seeding {payments} payments over 90 days (3 merchants x 4 connectors) ...");
        let t = Instant::now();
        store::bench_seed::seed_history(&bench_url, &ids, &spec, |phase, n| {
            println!("  {phase}: {n} ({:.0} s)", t.elapsed().as_secs_f64());
        })
        .await
        .context("seed")?;
        println!("seeded in {:.0} s", t.elapsed().as_secs_f64());
    } else {
        println!("database {db} already seeded (BENCH_RESEED=1 to start over)");
    }
    let counts: (i64, i64) = sqlx::query_as(
        "SELECT (SELECT reltuples::bigint FROM pg_class WHERE relname = 'payments'),
                (SELECT reltuples::bigint FROM pg_class WHERE relname = 'attempts')",
    )
    .fetch_one(&pool)
    .await?;
    println!("payments ~{}  attempts ~{}", counts.0, counts.1);

    // The largest merchant, its connectors and the seeded period's end.
    let (merchant, end): (Uuid, OffsetDateTime) = sqlx::query_as(
        "SELECT p.merchant_id, max(p.created_at) FROM payments p
         WHERE p.merchant_id = (SELECT id FROM merchants WHERE name = 'Bench Merchant 1') GROUP BY 1",
    )
    .fetch_one(&pool)
    .await
    .context("bench merchant")?;
    let connectors: Vec<Uuid> =
        sqlx::query_scalar("SELECT id FROM connectors WHERE merchant_id = $1 ORDER BY created_seq")
            .bind(merchant)
            .fetch_all(&pool)
            .await?;
    let sample: Vec<(Uuid, String, i64, OffsetDateTime)> = sqlx::query_as(
        "SELECT id, merchant_reference, amount_minor, created_at FROM payments TABLESAMPLE SYSTEM (0.05)
         WHERE merchant_id = $1 LIMIT 2000",
    )
    .bind(merchant)
    .fetch_all(&pool)
    .await?;
    anyhow::ensure!(!sample.is_empty(), "no payments sampled");
    let refs: Vec<String> = sqlx::query_scalar(
        "SELECT provider_reference FROM attempts TABLESAMPLE SYSTEM (0.02)
         WHERE merchant_id = $1 AND provider_reference IS NOT NULL LIMIT 500",
    )
    .bind(merchant)
    .fetch_all(&pool)
    .await?;

    let console = Console::new(pool.clone(), merchant, "bench");
    let end_ms = store::to_ms(end);
    let day = 86_400_000i64;
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);

    // Warm-up: one of each.
    let _ = console.payment_timeline(&sample[0].0.to_string()).await;
    let _ = console.search_page(SearchFilter::default()).await;

    let mut timeline = Stats {
        name: "timeline (payment_timeline)",
        goal_ms: Some(10.0),
        samples: vec![],
    };
    for _ in 0..runs {
        let p = &sample[rng.random_range(0..sample.len())];
        time_it(
            &mut timeline.samples,
            console.payment_timeline(&p.0.to_string()),
        )
        .await?;
    }

    let mut search = Stats {
        name: "search (all filter kinds)",
        goal_ms: Some(50.0),
        samples: vec![],
    };
    let mut kinds: Vec<Stats> = Vec::new();
    let filters: Vec<(&'static str, MakeFilter<'_>)> = vec![
        ("search: newest page", Box::new(|_| SearchFilter::default())),
        (
            "search: payment id",
            Box::new(|r| SearchFilter {
                payment_id: Some(sample[r.random_range(0..sample.len())].0.to_string()),
                ..Default::default()
            }),
        ),
        (
            "search: merchant reference",
            Box::new(|r| SearchFilter {
                merchant_reference: Some(sample[r.random_range(0..sample.len())].1.clone()),
                ..Default::default()
            }),
        ),
        (
            "search: provider reference",
            Box::new(|r| SearchFilter {
                provider_reference: refs.get(r.random_range(0..refs.len().max(1))).cloned(),
                ..Default::default()
            }),
        ),
        (
            "search: free text (reference)",
            Box::new(|r| SearchFilter {
                query: Some(sample[r.random_range(0..sample.len())].1.clone()),
                ..Default::default()
            }),
        ),
        (
            "search: exact amount",
            Box::new(|r| {
                let a = sample[r.random_range(0..sample.len())].2;
                SearchFilter {
                    amount_min_minor: Some(a),
                    amount_max_minor: Some(a),
                    ..Default::default()
                }
            }),
        ),
        (
            "search: amount range + status",
            Box::new(|_| SearchFilter {
                amount_min_minor: Some(10_000),
                amount_max_minor: Some(20_000),
                status: Some(PaymentStatus::Failed),
                ..Default::default()
            }),
        ),
        (
            "search: date range (1 day)",
            Box::new(move |r| {
                let f = end_ms - r.random_range(1..89) * day;
                SearchFilter {
                    from_ms: Some(f),
                    to_ms: Some(f + day),
                    ..Default::default()
                }
            }),
        ),
        (
            "search: status",
            Box::new(|_| SearchFilter {
                status: Some(PaymentStatus::RequiresAction),
                ..Default::default()
            }),
        ),
        (
            "search: connector",
            Box::new(|r| SearchFilter {
                connector_id: Some(connectors[r.random_range(0..connectors.len())].to_string()),
                ..Default::default()
            }),
        ),
        (
            "search: matrix cell (30 d)",
            Box::new(|r| SearchFilter {
                connector_id: Some(connectors[r.random_range(0..3)].to_string()),
                outcome: Some(OutcomeClass::RateLimited),
                from_ms: Some(end_ms - 30 * day),
                to_ms: Some(end_ms),
                ..Default::default()
            }),
        ),
        (
            "search: outcome class",
            Box::new(|_| SearchFilter {
                outcome: Some(OutcomeClass::HardDecline),
                ..Default::default()
            }),
        ),
    ];
    let per_kind = (runs / filters.len()).max(10);
    for (name, make) in &filters {
        let mut s = Stats {
            name,
            goal_ms: Some(50.0),
            samples: vec![],
        };
        for k in 0..per_kind {
            let mut f = make(&mut rng);
            // Every other run fetches the page after the first (keyset pagination).
            if k % 2 == 1 {
                let first = console
                    .search_page(f.clone())
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                f.cursor = first.next_cursor;
            }
            time_it(&mut s.samples, console.search_page(f)).await?;
        }
        search.samples.extend(s.samples.iter().copied());
        kinds.push(s);
    }

    let mut chart = Stats {
        name: "30-day success-rate charts (3 SVG)",
        goal_ms: Some(100.0),
        samples: vec![],
    };
    let mut chart90 = Stats {
        name: "90-day success-rate charts (3 SVG)",
        goal_ms: None,
        samples: vec![],
    };
    let mut png = Stats {
        name: "30-day approval chart PNG export",
        goal_ms: None,
        samples: vec![],
    };
    let q30 = ChartQuery {
        period: ChartPeriod::Days30,
        end_ms: Some(end_ms),
        connector_ids: vec![],
        currency: None,
    };
    let q90 = ChartQuery {
        period: ChartPeriod::Days90,
        ..q30.clone()
    };
    for _ in 0..runs.min(100) {
        time_it(&mut chart.samples, console.success_rate_charts(&q30)).await?;
        time_it(&mut chart90.samples, console.success_rate_charts(&q90)).await?;
    }
    for _ in 0..20 {
        time_it(
            &mut png.samples,
            console.export_chart(
                &q30,
                engine::views::ChartKind::ApprovalRate,
                engine::views::ChartFormat::Png,
            ),
        )
        .await?;
    }

    let mut finance = Stats {
        name: "finance table (30 d, all accounts)",
        goal_ms: Some(100.0),
        samples: vec![],
    };
    let mut finance90 = Stats {
        name: "finance table (90 d, 2 accounts)",
        goal_ms: Some(100.0),
        samples: vec![],
    };
    for _ in 0..runs.min(100) {
        time_it(
            &mut finance.samples,
            console.finance(&FinanceQuery {
                from_ms: end_ms - 30 * day,
                to_ms: end_ms,
                connector_ids: vec![],
            }),
        )
        .await?;
        time_it(
            &mut finance90.samples,
            console.finance(&FinanceQuery {
                from_ms: end_ms - 90 * day,
                to_ms: end_ms,
                connector_ids: connectors.iter().take(2).map(Uuid::to_string).collect(),
            }),
        )
        .await?;
    }

    let mut matrix = Stats {
        name: "fallback matrix (30 d)",
        goal_ms: None,
        samples: vec![],
    };
    for _ in 0..runs.min(50) {
        time_it(
            &mut matrix.samples,
            console.fallback_matrix(end_ms - 30 * day, end_ms),
        )
        .await?;
    }
    let mut cards = Stats {
        name: "connector cards (live)",
        goal_ms: None,
        samples: vec![],
    };
    for _ in 0..runs.min(50) {
        time_it(&mut cards.samples, console.connector_cards()).await?;
    }

    println!();
    println!(
        "console bench: merchant 'Bench Merchant 1' (~60% of the payments), Postgres at {}",
        url.split('@').next_back().unwrap_or("")
    );
    for s in [&timeline, &search] {
        s.print();
    }
    for s in &kinds {
        print!("  ");
        s.print();
    }
    for s in [
        &chart, &chart90, &png, &finance, &finance90, &matrix, &cards,
    ] {
        s.print();
    }
    Ok(())
}
