//! Console read models (issue 4) on a real Postgres: rollups maintained by triggers, timeline,
//! keyset search, fallback matrix, charts, finance + CSV export, operators, policies, audit.
//! Payments and attempts are written the way the durable protocol writes them (payment row,
//! attempt inserted `pending`, then updated with its outcome), with chosen times and outcomes.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use engine::console::Console;
use engine::views::{
    AuditQuery, ChartFormat, ChartKind, ChartPeriod, ChartQuery, ConnectorAction, FinanceQuery,
    SearchFilter,
};
use routing::{OutcomeClass, PaymentStatus};
use serde_json::json;
use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

struct Fx {
    pool: PgPool,
    merchant: Uuid,
    a: Uuid,
    b: Uuid,
    c: Uuid,
    now: OffsetDateTime,
}

async fn connector(pool: &PgPool, m: Uuid, name: &str, weight: i32, primary: bool) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO connectors (merchant_id, id, name, provider, mode, weight, is_primary, status, capabilities, base_url)
         VALUES ($1, $2, $3, 'simulator', 'test', $4, $5, 'active', $6, 'simulator:')",
    )
    .bind(m)
    .bind(id)
    .bind(name)
    .bind(weight)
    .bind(primary)
    .bind(serde_json::to_value(routing::Capabilities::cards_anywhere()).unwrap())
    .execute(pool)
    .await
    .unwrap();
    id
}

async fn fixture(pool: PgPool) -> Fx {
    let merchant = Uuid::now_v7();
    store::config::insert_merchant(&pool, merchant, "Console Test")
        .await
        .unwrap();
    let a = connector(&pool, merchant, "Sim A", 70, false).await;
    let b = connector(&pool, merchant, "Sim B", 30, false).await;
    let c = connector(&pool, merchant, "Sim C", 0, true).await;
    Fx {
        pool,
        merchant,
        a,
        b,
        c,
        now: OffsetDateTime::now_utc(),
    }
}

/// One provider call: connector, outcome, latency ms, next step.
#[derive(Clone, Copy)]
struct Call(Uuid, &'static str, i32, &'static str);

fn attempt_status(outcome: &str) -> &'static str {
    match outcome {
        "approved" => "succeeded",
        "needs_customer_action" => "requires_action",
        "unknown_outcome" => "unknown",
        _ => "failed",
    }
}

/// Writes a payment created at `at` with `calls`, like the protocol does. Returns its id.
async fn pay(
    fx: &Fx,
    at: OffsetDateTime,
    amount: i64,
    currency: &str,
    reference: &str,
    calls: &[Call],
) -> Uuid {
    let id = Uuid::now_v7();
    let last = calls.last().unwrap();
    let status = match last.1 {
        "approved" => "captured",
        "needs_customer_action" => "requires_action",
        "unknown_outcome" => "unknown",
        _ => "failed",
    };
    let tokens =
        json!([{"token": "sim_approve", "scope": {"type": "provider", "provider": "simulator"}}]);
    sqlx::query(
        "INSERT INTO payments (merchant_id, id, mode, amount_minor, currency, country, method, capture_mode,
            merchant_reference, tokens, status, route_roll, route, attempt_count, last_connector_id, created_at, updated_at)
         VALUES ($1, $2, 'test', $3, $4, 'US', 'card', 'automatic', $5, $6, 'processing', 0.1,
            '{\"source\":{\"type\":\"weighted\",\"roll\":0.1},\"entries\":[]}', $7, $8, $9, $9)",
    )
    .bind(fx.merchant)
    .bind(id)
    .bind(amount)
    .bind(currency)
    .bind(reference)
    .bind(tokens)
    .bind(calls.len() as i32)
    .bind(last.0)
    .bind(at)
    .execute(&fx.pool)
    .await
    .unwrap();
    let mut t = at;
    for (i, c) in calls.iter().enumerate() {
        let aid = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO attempts (merchant_id, id, payment_id, seq, connector_id, connector_name, provider, status, created_at)
             SELECT $1, $2, $3, $4, $5, name, 'simulator', 'pending', $6 FROM connectors WHERE merchant_id = $1 AND id = $5",
        )
        .bind(fx.merchant)
        .bind(aid)
        .bind(id)
        .bind(i as i32 + 1)
        .bind(c.0)
        .bind(t)
        .execute(&fx.pool)
        .await
        .unwrap();
        let responded = t + time::Duration::milliseconds(i64::from(c.2));
        let reference = (c.1 != "provider_unavailable").then(|| format!("sim_{aid}"));
        sqlx::query(
            "UPDATE attempts SET status = $3, outcome = $4, provider_reference = $5, http_status = $6,
                raw_code = $7, requested_at = $8, responded_at = $9, latency_ms = $10, next_step = $11
             WHERE merchant_id = $1 AND id = $2",
        )
        .bind(fx.merchant)
        .bind(aid)
        .bind(attempt_status(c.1))
        .bind(c.1)
        .bind(reference)
        .bind(if c.1 == "unknown_outcome" { None } else { Some(200) })
        .bind((c.1 != "approved").then_some("card_declined"))
        .bind(t)
        .bind(responded)
        .bind(c.2)
        .bind(c.3)
        .execute(&fx.pool)
        .await
        .unwrap();
        t = responded;
    }
    sqlx::query("UPDATE payments SET status = $3, updated_at = $4, captured_minor = CASE WHEN $3 = 'captured' THEN amount_minor ELSE 0 END WHERE merchant_id = $1 AND id = $2")
        .bind(fx.merchant)
        .bind(id)
        .bind(status)
        .bind(t)
        .execute(&fx.pool)
        .await
        .unwrap();
    id
}

fn console(fx: &Fx) -> Console {
    Console::new(fx.pool.clone(), fx.merchant, "alice")
}

type RollupSnapshot = Vec<(Uuid, String, OffsetDateTime, Vec<i64>)>;

async fn rollup_snapshot(
    pool: &PgPool,
) -> (RollupSnapshot, Vec<(Uuid, String, OffsetDateTime, i64)>) {
    let mut cols = String::from(
        "calls, n_approved, n_hard_decline, n_soft_decline, n_needs_customer_action, n_validation_error, n_auth_config_error, n_rate_limited, n_provider_unavailable, n_unknown_outcome, retried, approved_amount_minor",
    );
    for k in 1..=24 {
        cols.push_str(&format!(", h{k}::bigint"));
    }
    let rows: Vec<sqlx::postgres::PgRow> = sqlx::query(&format!(
        "SELECT connector_id, currency::text, bucket, ARRAY[{cols}] AS v FROM attempt_rollup
         WHERE calls <> 0 ORDER BY 1, 2, 3"
    ))
    .fetch_all(pool)
    .await
    .unwrap();
    use sqlx::Row;
    let a = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get::<Vec<i64>, _>(3)))
        .collect();
    let b = sqlx::query_as("SELECT connector_id, outcome, bucket, rescued FROM rescue_rollup WHERE rescued <> 0 ORDER BY 1, 2, 3")
        .fetch_all(pool)
        .await
        .unwrap();
    (a, b)
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn rollups_follow_inserts_updates_and_deletes_exactly(pool: PgPool) {
    let fx = fixture(pool).await;
    let h = |n: i64| fx.now - time::Duration::hours(n);
    pay(
        &fx,
        h(1),
        1000,
        "USD",
        "r1",
        &[Call(fx.a, "approved", 120, "succeed")],
    )
    .await;
    pay(
        &fx,
        h(1),
        2000,
        "EUR",
        "r2",
        &[
            Call(fx.a, "provider_unavailable", 30, "fall_back"),
            Call(fx.b, "approved", 90, "succeed"),
        ],
    )
    .await;
    pay(
        &fx,
        h(2),
        3000,
        "USD",
        "r3",
        &[
            Call(fx.a, "rate_limited", 20, "retry_same"),
            Call(fx.a, "rate_limited", 25, "fall_back"),
            Call(fx.c, "approved", 40_000, "succeed"),
        ],
    )
    .await;
    let p4 = pay(
        &fx,
        h(3),
        4000,
        "USD",
        "r4",
        &[Call(fx.b, "unknown_outcome", 5000, "reconcile")],
    )
    .await;
    pay(
        &fx,
        h(30),
        500,
        "GBP",
        "r5",
        &[Call(fx.b, "soft_decline", 300, "stop")],
    )
    .await;
    // Reconciliation turns the unknown outcome into an approval: the rollup moves the call.
    sqlx::query("UPDATE attempts SET outcome = 'approved', status = 'succeeded', next_step = 'succeed' WHERE payment_id = $1")
        .bind(p4)
        .execute(&fx.pool)
        .await
        .unwrap();
    // A deleted attempt leaves the rollup too.
    let p6 = pay(
        &fx,
        h(4),
        600,
        "USD",
        "r6",
        &[Call(fx.a, "hard_decline", 50, "stop")],
    )
    .await;
    sqlx::query("DELETE FROM attempts WHERE payment_id = $1")
        .bind(p6)
        .execute(&fx.pool)
        .await
        .unwrap();

    let incremental = rollup_snapshot(&fx.pool).await;
    store::rollups::rebuild(&fx.pool).await.unwrap();
    let rebuilt = rollup_snapshot(&fx.pool).await;
    assert_eq!(
        incremental, rebuilt,
        "trigger-maintained rollups must equal a rebuild from attempts"
    );

    // Spot checks: Sim A has 1 approved + 1 unavailable + 2 rate limited (1 retried).
    let a_rows: Vec<&(Uuid, String, OffsetDateTime, Vec<i64>)> =
        incremental.0.iter().filter(|r| r.0 == fx.a).collect();
    let sum = |k: usize| a_rows.iter().map(|r| r.3[k]).sum::<i64>();
    assert_eq!(sum(0), 4, "calls");
    assert_eq!(sum(1), 1, "approved");
    assert_eq!(sum(7), 2, "rate limited");
    assert_eq!(sum(10), 1, "retried");
    // Rescues: Sim A's unavailable (p2) and rate-limited (p3, once per payment) were rescued.
    let rescued: i64 = incremental
        .1
        .iter()
        .filter(|r| r.0 == fx.a)
        .map(|r| r.3)
        .sum();
    assert_eq!(rescued, 2);
    // The 40 s latency lands in the last histogram bucket.
    let c_rows: Vec<_> = incremental.0.iter().filter(|r| r.0 == fx.c).collect();
    assert_eq!(c_rows[0].3[12 + 23], 1);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn timeline_has_one_lane_per_attempt_and_says_where_the_money_is(pool: PgPool) {
    let fx = fixture(pool).await;
    let t0 = fx.now - time::Duration::minutes(10);
    let once = pay(
        &fx,
        t0,
        1050,
        "USD",
        "order-1",
        &[
            Call(fx.a, "provider_unavailable", 30, "fall_back"),
            Call(fx.b, "approved", 90, "succeed"),
        ],
    )
    .await;
    let c = console(&fx);
    let tl = c.payment_timeline(&once.to_string()).await.unwrap();
    assert_eq!(tl.lanes.len(), 2);
    assert_eq!(tl.start_ms, store::to_ms(t0));
    assert!(tl.end_ms >= store::to_ms(t0) + 120);
    let kinds: Vec<&str> = tl.lanes[0].marks.iter().map(|m| m.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "request_sent",
            "response",
            "classified",
            "fallback_decision"
        ]
    );
    assert_eq!(tl.lanes[0].marks[3].label, "fall_back");
    assert!(
        tl.lanes
            .iter()
            .all(|l| l.marks.windows(2).all(|w| w[0].at_ms <= w[1].at_ms))
    );
    assert_eq!(tl.payment_marks[0].kind, "route_decided");
    assert_eq!(tl.charges.charged_attempts, 1);
    assert!(!tl.charges.possible_double_charge);
    assert!(
        tl.charges
            .verdict
            .starts_with("Charged once (10.50 USD) on Sim B"),
        "{}",
        tl.charges.verdict
    );

    // An unresolved timeout on A and an approval on B: maybe charged twice.
    let twice = pay(
        &fx,
        t0,
        1050,
        "USD",
        "order-2",
        &[
            Call(fx.a, "unknown_outcome", 30_000, "fall_back"),
            Call(fx.b, "approved", 90, "succeed"),
        ],
    )
    .await;
    let tl = c.payment_timeline(&twice.to_string()).await.unwrap();
    assert!(tl.charges.possible_double_charge);
    assert_eq!(tl.charges.holds.len(), 2);
    assert_eq!(tl.charges.holds[0].state, "possibly_charged");
    assert!(tl.lanes[0].marks.iter().any(|m| m.kind == "timeout"));
    // No secret: the connector API key never appears.
    sqlx::query("INSERT INTO connector_credentials (merchant_id, connector_id, field, secret) VALUES ($1, $2, 'api_key', 'sk_test_SECRET123')")
        .bind(fx.merchant).bind(fx.a).execute(&fx.pool).await.ok();
    let text =
        serde_json::to_string(&c.payment_timeline(&twice.to_string()).await.unwrap()).unwrap();
    assert!(!text.contains("SECRET123"));

    // Provider webhooks (one verified about attempt 2, one rejected) and a merchant delivery.
    let a2: Uuid = sqlx::query_scalar("SELECT id FROM attempts WHERE payment_id = $1 AND seq = 2")
        .bind(once)
        .fetch_one(&fx.pool)
        .await
        .unwrap();
    let at = t0 + time::Duration::seconds(5);
    sqlx::query(
        "INSERT INTO provider_webhooks (merchant_id, id, connector_id, provider, received_at, verdict, rejection_code,
            provider_event_id, event_type, payment_id, attempt_id, result, body)
         VALUES ($1, $2, $3, 'simulator', $4, 'verified', NULL, 'evt_1', 'payment_intent.succeeded', $5, $6, 'no_change', '{}'),
                ($1, $7, $3, 'simulator', $4, 'rejected', 'signature_mismatch', NULL, NULL, $5, NULL, 'rejected', '{}')",
    )
    .bind(fx.merchant)
    .bind(Uuid::now_v7())
    .bind(fx.b)
    .bind(at)
    .bind(once)
    .bind(a2)
    .bind(Uuid::now_v7())
    .execute(&fx.pool)
    .await
    .unwrap();
    let outbox: i64 = sqlx::query_scalar(
        "INSERT INTO merchant_webhook_outbox (merchant_id, payment_id, event_id, event_type, payload)
         VALUES ($1, $2, 1, 'payment.captured', '{}') RETURNING id",
    )
    .bind(fx.merchant)
    .bind(once)
    .fetch_one(&fx.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO merchant_webhook_deliveries (merchant_id, outbox_id, attempt, at, url, status_code, latency_ms, source)
         VALUES ($1, $2, 1, $3, 'https://merchant.example/hooks', 500, 12, 'worker')",
    )
    .bind(fx.merchant)
    .bind(outbox)
    .bind(at)
    .execute(&fx.pool)
    .await
    .unwrap();
    let tl = c.payment_timeline(&once.to_string()).await.unwrap();
    let hook = tl.lanes[1]
        .marks
        .iter()
        .find(|m| m.kind == "provider_webhook")
        .unwrap();
    assert_eq!(hook.label, "payment_intent.succeeded");
    let kinds: Vec<&str> = tl.payment_marks.iter().map(|m| m.kind.as_str()).collect();
    assert!(kinds.contains(&"provider_webhook_rejected"), "{kinds:?}");
    let delivery = tl
        .payment_marks
        .iter()
        .find(|m| m.kind == "merchant_webhook")
        .unwrap();
    assert_eq!(delivery.label, "payment.captured -> HTTP 500 (try 1)");
    assert_eq!(tl.end_ms, store::to_ms(at));

    let missing = c
        .payment_timeline(&Uuid::now_v7().to_string())
        .await
        .unwrap_err();
    assert_eq!(missing.code(), "not_found");
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn search_filters_and_keyset_pages_cover_every_row_once(pool: PgPool) {
    let fx = fixture(pool).await;
    let mut ids = Vec::new();
    for i in 0..25 {
        let at = fx.now - time::Duration::minutes(i);
        let calls: &[Call] = if i % 5 == 0 {
            &[
                Call(fx.a, "rate_limited", 10, "fall_back"),
                Call(fx.b, "approved", 10, "succeed"),
            ]
        } else {
            &[Call(fx.a, "approved", 10, "succeed")]
        };
        ids.push(pay(&fx, at, 1000 + i, "USD", &format!("ord-{i:03}"), calls).await);
    }
    let c = console(&fx);
    let mut seen = Vec::new();
    let mut filter = SearchFilter {
        limit: Some(10),
        ..SearchFilter::default()
    };
    loop {
        let page = c.search_page(filter.clone()).await.unwrap();
        seen.extend(page.rows.iter().map(|r| r.id.clone()));
        match page.next_cursor {
            Some(cur) => filter.cursor = Some(cur),
            None => break,
        }
    }
    let expected: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    assert_eq!(seen, expected, "newest first, no duplicates, no gaps");

    let one = |f: SearchFilter| {
        let c = c.clone();
        async move { c.search_page(f).await.unwrap().rows }
    };
    assert_eq!(
        one(SearchFilter {
            amount_min_minor: Some(1003),
            amount_max_minor: Some(1003),
            ..Default::default()
        })
        .await[0]
            .merchant_reference
            .as_deref(),
        Some("ord-003")
    );
    assert_eq!(
        one(SearchFilter {
            amount_min_minor: Some(1010),
            amount_max_minor: Some(1014),
            ..Default::default()
        })
        .await
        .len(),
        5
    );
    assert_eq!(
        one(SearchFilter {
            merchant_reference: Some("ord-01".into()),
            ..Default::default()
        })
        .await
        .len(),
        10
    );
    assert_eq!(
        one(SearchFilter {
            payment_id: Some(ids[7].to_string()),
            ..Default::default()
        })
        .await
        .len(),
        1
    );
    assert_eq!(
        one(SearchFilter {
            query: Some(ids[7].to_string()),
            ..Default::default()
        })
        .await
        .len(),
        1
    );
    let cell = one(SearchFilter {
        connector_id: Some(fx.a.to_string()),
        outcome: Some(OutcomeClass::RateLimited),
        ..Default::default()
    })
    .await;
    assert_eq!(cell.len(), 5);
    assert_eq!(
        one(SearchFilter {
            connector_id: Some(fx.b.to_string()),
            ..Default::default()
        })
        .await
        .len(),
        5
    );
    assert_eq!(
        one(SearchFilter {
            status: Some(PaymentStatus::Failed),
            ..Default::default()
        })
        .await
        .len(),
        0
    );
    let from = store::to_ms(fx.now - time::Duration::minutes(4)) - 1;
    assert_eq!(
        one(SearchFilter {
            from_ms: Some(from),
            ..Default::default()
        })
        .await
        .len(),
        5
    );
    // The provider reference of the approved call on B finds its payment.
    let reference: String = sqlx::query_scalar(
        "SELECT provider_reference FROM attempts WHERE payment_id = $1 AND seq = 2",
    )
    .bind(ids[0])
    .fetch_one(&fx.pool)
    .await
    .unwrap();
    assert_eq!(
        one(SearchFilter {
            provider_reference: Some(reference.clone()),
            ..Default::default()
        })
        .await[0]
            .id,
        ids[0].to_string()
    );
    assert_eq!(
        one(SearchFilter {
            query: Some(reference),
            ..Default::default()
        })
        .await
        .len(),
        1
    );

    let bad = c
        .search_page(SearchFilter {
            cursor: Some("nope".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), "invalid_cursor");
    let bad = c
        .search_page(SearchFilter {
            connector_id: Some("x".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), "invalid_id");
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn fallback_matrix_counts_rescues_and_shows_the_published_action(pool: PgPool) {
    let fx = fixture(pool).await;
    let at = fx.now - time::Duration::hours(2);
    for _ in 0..3 {
        pay(
            &fx,
            at,
            1000,
            "USD",
            "x",
            &[
                Call(fx.a, "provider_unavailable", 10, "fall_back"),
                Call(fx.b, "approved", 10, "succeed"),
            ],
        )
        .await;
    }
    pay(
        &fx,
        at,
        1000,
        "USD",
        "x",
        &[
            Call(fx.a, "provider_unavailable", 10, "fall_back"),
            Call(fx.b, "hard_decline", 10, "stop"),
        ],
    )
    .await;
    pay(
        &fx,
        at,
        1000,
        "USD",
        "x",
        &[Call(fx.a, "soft_decline", 10, "stop")],
    )
    .await;
    let policy: routing::Policy = serde_json::from_value(
        json!({"fallback": {"soft_decline": {"action": "retry", "max": 1}}}),
    )
    .unwrap();
    store::config::publish_policy(
        &fx.pool,
        fx.merchant,
        routing::Mode::Test,
        &policy,
        "retry soft",
    )
    .await
    .unwrap();

    let c = console(&fx);
    let m = c
        .fallback_matrix(store::to_ms(fx.now) - 86_400_000, store::to_ms(fx.now))
        .await
        .unwrap();
    assert_eq!(m.rows.len(), 9);
    assert_eq!(m.connectors.len(), 3);
    let col = m
        .connectors
        .iter()
        .position(|x| x.id == fx.a.to_string())
        .unwrap();
    let row = |class| m.rows.iter().find(|r| r.class == class).unwrap();
    let unavailable = &row(OutcomeClass::ProviderUnavailable).cells[col];
    assert_eq!((unavailable.observed, unavailable.rescued), (4, 3));
    assert_eq!(row(OutcomeClass::ProviderUnavailable).action, "fall_back");
    assert_eq!(row(OutcomeClass::SoftDecline).action, "retry");
    assert_eq!(row(OutcomeClass::UnknownOutcome).action, "reconcile");
    assert!(!row(OutcomeClass::HardDecline).configurable);
    // The cell's search lists exactly its payments.
    let listed = c.search_page(unavailable.search.clone()).await.unwrap();
    assert_eq!(listed.rows.len(), 4);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn success_rate_series_charts_and_exports(pool: PgPool) {
    let fx = fixture(pool).await;
    let at = fx.now - time::Duration::hours(3);
    // A: 2 approved, 1 declined, 1 rate limited retried then approved => 3 / (3 + 1) = 0.75.
    pay(
        &fx,
        at,
        1000,
        "USD",
        "x",
        &[Call(fx.a, "approved", 100, "succeed")],
    )
    .await;
    pay(
        &fx,
        at,
        1000,
        "USD",
        "x",
        &[Call(fx.a, "approved", 100, "succeed")],
    )
    .await;
    pay(
        &fx,
        at,
        1000,
        "USD",
        "x",
        &[Call(fx.a, "hard_decline", 100, "stop")],
    )
    .await;
    pay(
        &fx,
        at,
        1000,
        "USD",
        "x",
        &[
            Call(fx.a, "rate_limited", 100, "retry_same"),
            Call(fx.a, "approved", 100, "succeed"),
        ],
    )
    .await;
    pay(
        &fx,
        at,
        1000,
        "EUR",
        "x",
        &[Call(fx.b, "needs_customer_action", 700, "stop")],
    )
    .await;
    let c = console(&fx);
    let q = ChartQuery {
        period: ChartPeriod::Hours24,
        end_ms: Some(store::to_ms(fx.now)),
        connector_ids: vec![],
        currency: None,
    };
    let s = c.success_rate_series(&q).await.unwrap();
    assert_eq!(s.buckets, 24);
    assert_eq!(s.bucket_ms, 3_600_000);
    assert!(s.definition.contains("not double-counted"));
    let a = s.connectors.iter().find(|x| x.name == "Sim A").unwrap();
    let idx = ((store::to_ms(at) - s.start_ms) / s.bucket_ms) as usize;
    assert_eq!(a.approval_rate[idx], Some(0.75));
    assert_eq!(a.counted[idx], 4);
    assert_eq!(a.traffic_share[idx], Some(1.0), "3DS calls are not counted");
    assert_eq!(a.p95_latency_ms[idx], Some(150));
    assert_eq!(a.approval_rate[(idx + 1) % 24], None);
    let b = s.connectors.iter().find(|x| x.name == "Sim B").unwrap();
    assert_eq!(b.approval_rate[idx], None);
    assert_eq!(b.p95_latency_ms[idx], Some(800));

    // The connector cards' 24 h figures come from the same rollups and definition.
    let views = c.connectors().await.unwrap();
    let va = views.iter().find(|v| v.name == "Sim A").unwrap();
    assert_eq!((va.attempts_24h, va.approved_24h), (5, 3));
    assert_eq!(
        (va.approval_rate_24h, va.p95_latency_ms),
        (Some(0.75), Some(150))
    );

    let charts = c.success_rate_charts(&q).await.unwrap();
    assert!(charts.approval_svg.starts_with("<svg") && charts.approval_svg.contains("Sim A"));
    assert!(charts.latency_svg.contains("p95 latency"));
    let png = c
        .export_chart(&q, ChartKind::ApprovalRate, ChartFormat::Png)
        .await
        .unwrap();
    assert_eq!(&png.bytes[..4], b"\x89PNG");
    assert!(png.filename.starts_with("approval-rate-24h-") && png.filename.ends_with(".png"));
    let svg = c
        .export_chart(&q, ChartKind::TrafficShare, ChartFormat::Svg)
        .await
        .unwrap();
    assert_eq!(svg.mime, "image/svg+xml");

    // The last hour reads attempts directly in 5-minute buckets.
    pay(
        &fx,
        fx.now - time::Duration::minutes(2),
        1000,
        "USD",
        "x",
        &[Call(fx.b, "approved", 10, "succeed")],
    )
    .await;
    let h = c
        .success_rate_series(&ChartQuery {
            period: ChartPeriod::Hour1,
            ..q.clone()
        })
        .await
        .unwrap();
    assert_eq!(h.buckets, 12);
    let b = h.connectors.iter().find(|x| x.name == "Sim B").unwrap();
    assert_eq!(
        b.approval_rate
            .iter()
            .flatten()
            .copied()
            .collect::<Vec<_>>(),
        vec![1.0]
    );
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn finance_table_and_csv_export_with_progress(pool: PgPool) {
    let fx = fixture(pool).await;
    let at = fx.now - time::Duration::hours(5);
    pay(
        &fx,
        at,
        1050,
        "USD",
        "=cmd",
        &[Call(fx.a, "approved", 10, "succeed")],
    )
    .await;
    pay(
        &fx,
        at,
        2000,
        "USD",
        "o,2",
        &[Call(fx.a, "approved", 10, "succeed")],
    )
    .await;
    pay(
        &fx,
        at,
        1500,
        "JPY",
        "o3",
        &[Call(fx.a, "approved", 10, "succeed")],
    )
    .await;
    pay(
        &fx,
        at,
        999,
        "USD",
        "o4",
        &[Call(fx.a, "hard_decline", 10, "stop")],
    )
    .await;
    pay(
        &fx,
        at,
        700,
        "EUR",
        "o5",
        &[
            Call(fx.b, "provider_unavailable", 10, "fall_back"),
            Call(fx.c, "approved", 10, "succeed"),
        ],
    )
    .await;
    let c = console(&fx);
    let q = FinanceQuery {
        from_ms: store::to_ms(fx.now) - 86_400_000,
        to_ms: store::to_ms(fx.now),
        connector_ids: vec![fx.a.to_string(), fx.b.to_string()],
    };
    let t = c.finance(&q).await.unwrap();
    let usd = t
        .rows
        .iter()
        .find(|r| r.connector_name == "Sim A" && r.currency == "USD")
        .unwrap();
    assert_eq!(
        (
            usd.volume_minor,
            usd.volume_display.as_str(),
            usd.approved_count,
            usd.calls
        ),
        (3050, "30.50", 2, 3)
    );
    assert!((usd.approval_rate.unwrap() - 2.0 / 3.0).abs() < 1e-9);
    let jpy = t.rows.iter().find(|r| r.currency == "JPY").unwrap();
    assert_eq!(jpy.volume_display, "1500");
    let b = t.rows.iter().find(|r| r.connector_name == "Sim B").unwrap();
    assert_eq!((b.volume_minor, b.approval_rate), (0, Some(0.0)));
    assert!(
        t.rows.iter().all(|r| r.connector_name != "Sim C"),
        "only the requested accounts"
    );

    let dir = std::env::temp_dir().join(format!("cb-export-{}", Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("finance.csv");
    let mut seen = Vec::new();
    let all = FinanceQuery {
        connector_ids: vec![],
        ..q
    };
    let done = c
        .export_finance_csv(&all, &path, |p| seen.push(p))
        .await
        .unwrap();
    assert_eq!((done.rows_done, done.rows_total), (4, 4));
    assert_eq!(seen.first().unwrap().rows_done, 0);
    assert_eq!(seen.last().unwrap().rows_done, 4);
    let csv = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 5);
    assert!(lines[0].starts_with("approved_at_utc,payment_id,merchant_reference"));
    assert!(csv.contains(",1050,10.50,USD,captured"));
    assert!(
        csv.contains(",'=cmd,"),
        "formula-looking references are neutralised"
    );
    assert!(csv.contains(",\"o,2\","));
    assert!(lines[1].split(',').next().unwrap().ends_with('Z'));
    assert!(!dir.join("finance.partial").exists());
    std::fs::remove_dir_all(&dir).ok();
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn drain_and_restore_are_audited_with_the_reason(pool: PgPool) {
    let fx = fixture(pool).await;
    let c = console(&fx);
    let req = |reason: &str| ConnectorAction {
        connector_id: fx.a.to_string(),
        reason: reason.into(),
    };
    assert_eq!(
        c.restore(req("too early")).await.unwrap_err().code(),
        "not_drained"
    );
    assert_eq!(
        c.drain(req("")).await.unwrap_err().code(),
        "reason_required"
    );
    let v = c.drain(req("Sim A outage INC-42")).await.unwrap();
    assert_eq!(v.weight, 0);
    assert_eq!(
        c.drain(req("again")).await.unwrap_err().code(),
        "already_drained"
    );
    let cards = c.connector_cards().await.unwrap();
    let card = cards
        .iter()
        .find(|x| x.connector.id == fx.a.to_string())
        .unwrap();
    assert_eq!(card.restore_weight, Some(70));
    let v = c.restore(req("INC-42 resolved")).await.unwrap();
    assert_eq!(v.weight, 70);
    let audit = c
        .audit_query(&AuditQuery {
            entity: Some("connector".into()),
            entity_id: Some(fx.a.to_string()),
            ..Default::default()
        })
        .await
        .unwrap();
    let sets: Vec<(&str, &str, &str)> = audit
        .iter()
        .filter(|e| e.action == "set_weight")
        .map(|e| (e.actor.as_str(), e.reason.as_str(), e.after.as_str()))
        .collect();
    assert_eq!(
        sets,
        vec![
            ("alice", "INC-42 resolved", "{\"weight\":70}"),
            ("alice", "Sim A outage INC-42", "{\"weight\":0}")
        ]
    );
    let by_other = c
        .audit_query(&AuditQuery {
            actor: Some("bob".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(by_other.is_empty());
    let z = Console::new(fx.pool.clone(), fx.merchant, "z");
    assert_eq!(
        z.restore(ConnectorAction {
            connector_id: fx.c.to_string(),
            reason: "never drained".into()
        })
        .await
        .unwrap_err()
        .code(),
        "no_previous_weight"
    );
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn alerts_fire_below_the_approval_threshold(pool: PgPool) {
    let fx = fixture(pool).await;
    let at = fx.now - time::Duration::minutes(1);
    for i in 0..12 {
        let outcome = if i < 3 { "approved" } else { "soft_decline" };
        pay(
            &fx,
            at,
            1000,
            "USD",
            "x",
            &[Call(fx.a, outcome, 10, "stop")],
        )
        .await;
        pay(
            &fx,
            at,
            1000,
            "USD",
            "x",
            &[Call(fx.b, "approved", 10, "succeed")],
        )
        .await;
    }
    let alerts = console(&fx).alerts().await.unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(
        (alerts[0].connector_name.as_str(), alerts[0].kind.as_str()),
        ("Sim A", "approval_rate_low")
    );
    assert!((alerts[0].value - 0.25).abs() < 1e-9);

    // Provider-side failures against the connector's own breaker threshold (migration 0004).
    for _ in 0..6 {
        pay(
            &fx,
            at,
            1000,
            "USD",
            "x",
            &[Call(fx.c, "provider_unavailable", 10, "stop")],
        )
        .await;
        pay(
            &fx,
            at,
            1000,
            "USD",
            "x",
            &[Call(fx.c, "approved", 10, "succeed")],
        )
        .await;
    }
    let c_alerts = |alerts: &[engine::views::ConnectorAlert]| {
        alerts
            .iter()
            .filter(|a| a.connector_name == "Sim C" && a.kind == "failure_rate_high")
            .map(|a| a.threshold)
            .collect::<Vec<f64>>()
    };
    assert!(
        c_alerts(&console(&fx).alerts().await.unwrap()).is_empty(),
        "50 % is not above the default 50 %"
    );
    sqlx::query("UPDATE connectors SET circuit_failure_threshold_pct = 40 WHERE id = $1")
        .bind(fx.c)
        .execute(&fx.pool)
        .await
        .unwrap();
    assert_eq!(c_alerts(&console(&fx).alerts().await.unwrap()), vec![0.4]);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn policy_draft_validate_diff_simulate_publish_explain(pool: PgPool) {
    let fx = fixture(pool).await;
    for i in 0..10 {
        pay(
            &fx,
            fx.now - time::Duration::hours(i),
            1000 + i,
            if i % 2 == 0 { "EUR" } else { "USD" },
            "x",
            &[Call(fx.a, "approved", 10, "succeed")],
        )
        .await;
    }
    let c = console(&fx);
    let state = c.policy_state().await.unwrap();
    assert!(state.published.is_none() && state.draft.is_none());
    assert_eq!(state.connectors.len(), 3);

    let unknown = Uuid::now_v7();
    let bad = json!({"rules": [
        {"name": "EUR or USD", "conditions": [{"field": "currency", "op": "in", "value": ["EUR", "USD"]}],
         "action": {"type": "path", "connectors": [fx.b]}},
        {"name": "EUR", "conditions": [{"field": "currency", "op": "eq", "value": "EUR"}],
         "action": {"type": "path", "connectors": [unknown]}},
        {"name": "empty", "conditions": [{"field": "currency", "op": "eq", "value": "GBP"}],
         "action": {"type": "path", "connectors": []}}]})
    .to_string();
    let codes: Vec<String> = c
        .validate_policy(&bad)
        .await
        .unwrap()
        .issues
        .into_iter()
        .map(|i| i.code)
        .collect();
    assert!(codes.contains(&"unknown_connector".to_owned()), "{codes:?}");
    assert!(codes.contains(&"empty_path".to_owned()));
    assert!(codes.contains(&"unreachable_rule".to_owned()));
    assert_eq!(
        c.validate_policy("{not json").await.unwrap().issues[0].code,
        "invalid_json"
    );

    c.save_draft(&bad).await.unwrap();
    assert_eq!(
        c.publish_draft("ship it").await.unwrap_err().code(),
        "policy_invalid"
    );
    let good = json!({"rules": [{"name": "EUR to B", "conditions": [{"field": "currency", "op": "eq", "value": "EUR"}],
        "action": {"type": "path", "connectors": [fx.b, fx.c]}}],
        "fallback": {"soft_decline": {"action": "fall_back"}}}).to_string();
    let draft = c.save_draft(&good).await.unwrap();
    assert_eq!(draft.status, "draft");
    assert!(c.validate_policy(&good).await.unwrap().issues.is_empty());

    let diff = c.diff_draft().await.unwrap();
    let paths: Vec<&str> = diff.changes.iter().map(|ch| ch.path.as_str()).collect();
    assert_eq!(paths, ["rules[0]", "fallback.soft_decline"]);
    assert_eq!(diff.changes[0].kind, "added");

    let sim = c.simulate_draft(7, None).await.unwrap();
    assert_eq!(sim.payments, 10);
    assert_eq!(sim.changed_count, 5, "the EUR payments move from A to B");
    let after_b = sim.share_after.iter().find(|r| r.name == "Sim B").unwrap();
    assert_eq!((after_b.payments, after_b.share), (5, 0.5));
    let before_a = sim.share_before.iter().find(|r| r.name == "Sim A").unwrap();
    assert_eq!(before_a.payments, 10);
    assert_eq!(sim.changed[0].after, ["Sim B", "Sim C"]);
    assert_eq!(
        c.simulate_draft(0, None).await.unwrap_err().code(),
        "invalid_days"
    );

    let body = json!({"amount": 1000, "currency": "EUR", "payment_method": {"type": "card",
        "tokens": [{"token": "sim_approve", "scope": {"type": "portable"}}]}, "billing": {"country": "DE"}}).to_string();
    let explained = c.explain_route(&body, true, 0.5).await.unwrap();
    assert_eq!(
        explained.path.len(),
        0,
        "connectors do not accept portable tokens"
    );
    let published_route = c.explain_route(&body, false, 0.5).await.unwrap();
    assert!(!published_route.trace.entries.is_empty());
    assert!(
        published_route
            .trace
            .entries
            .iter()
            .all(|e| !e.explanation.is_empty())
    );
    assert_eq!(
        c.explain_route("{}", false, 0.5).await.unwrap_err().code(),
        "invalid_body"
    );

    assert_eq!(
        c.publish_draft("x").await.unwrap_err().code(),
        "note_required"
    );
    let published = c.publish_draft("EUR to B for the fee test").await.unwrap();
    assert_eq!(published.status, "published");
    assert_eq!(published.note, "EUR to B for the fee test");
    let state = c.policy_state().await.unwrap();
    assert!(state.draft.is_none() && state.published.is_some());
    let audit = c
        .audit_query(&AuditQuery {
            entity: Some("policy".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(audit[0].action, "publish");
    assert_eq!(
        (audit[0].actor.as_str(), audit[0].reason.as_str()),
        ("alice", "EUR to B for the fee test")
    );
    assert!(audit.iter().any(|e| e.action == "save_draft"));
    assert_eq!(c.diff_draft().await.unwrap_err().code(), "no_draft");
}
