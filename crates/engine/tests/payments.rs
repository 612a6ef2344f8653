//! The durable payment protocol against a real Postgres (a fresh database per test) and the
//! in-process simulator provider.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use engine::EngineError;
use engine::payments::{MerchantAuth, Payments, Rolls, SystemClock};
use providers::{Executor, ExecutorConfig};
use routing::{
    Capabilities, CircuitState, Connector, ConnectorId, ConnectorStatus, Mode, Policy, Provider,
};
use serde_json::{Value, json};
use sqlx::PgPool;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

struct FixedRoll(f64);
impl Rolls for FixedRoll {
    fn roll(&self) -> f64 {
        self.0
    }
}

struct Setup {
    payments: Payments,
    auth: MerchantAuth,
    a: ConnectorId,
    b: ConnectorId,
}

/// Merchant with two simulator connectors: "Sim A" (weight 70) and "Sim B" (weight 30, primary).
/// Roll 0.1 puts A first, then B.
async fn setup(pool: PgPool) -> Setup {
    let merchant_id = Uuid::now_v7();
    store::config::insert_merchant(&pool, merchant_id, "Test Merchant")
        .await
        .unwrap();
    let mk = |name: &str, weight: u32, primary: bool| Connector {
        id: ConnectorId(Uuid::now_v7()),
        name: name.into(),
        provider: Provider::Simulator,
        mode: Mode::Test,
        weight,
        is_primary: primary,
        status: ConnectorStatus::Active,
        capabilities: Capabilities::cards_anywhere(),
        circuit: CircuitState::Closed,
        created_seq: 0,
    };
    let a = mk("Sim A", 70, false);
    let b = mk("Sim B", 30, true);
    let keys = test_keys();
    for c in [&a, &b] {
        store::config::insert_connector(
            &pool,
            &keys,
            merchant_id,
            c,
            "simulator:",
            "sim_secret_key",
            "test",
        )
        .await
        .unwrap();
    }
    let executor = Executor::new(ExecutorConfig {
        connect_timeout: Duration::from_secs(1),
        read_timeout: Duration::from_secs(2),
    })
    .unwrap();
    let mut payments = Payments::new(
        pool,
        executor,
        Arc::new(SystemClock),
        Arc::new(FixedRoll(0.1)),
    )
    .with_keys(test_keys());
    payments.duplicate_wait = Duration::from_secs(5);
    Setup {
        payments,
        auth: MerchantAuth {
            merchant_id,
            mode: Mode::Test,
        },
        a: a.id,
        b: b.id,
    }
}

/// A checkout whose token on A is `on_a` and on B is `on_b` (connector-scoped tokens).
fn body(s: &Setup, on_a: &str, on_b: &str, capture: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "amount": 1050,
        "currency": "usd",
        "capture_method": capture,
        "payment_method": {"type": "card", "tokens": [
            {"token": on_a, "scope": {"type": "connector", "connector_id": s.a}},
            {"token": on_b, "scope": {"type": "connector", "connector_id": s.b}},
        ]},
        "billing": {"country": "us"},
        "merchant_reference": "order-1",
    }))
    .unwrap()
}

async fn count(pool: &PgPool, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
        .fetch_one(pool)
        .await
        .unwrap()
}

fn outcomes(body: &Value) -> Vec<(String, String)> {
    body["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["connector_name"].as_str().unwrap().to_owned(),
                a["outcome"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn approval_is_one_attempt_and_captured(pool: PgPool) {
    let s = setup(pool.clone()).await;
    let ans = s
        .payments
        .create(
            s.auth,
            "k1",
            &body(&s, "sim_approve", "sim_approve", "automatic"),
        )
        .await
        .unwrap();
    assert_eq!(ans.status, 200);
    assert_eq!(ans.body["status"], "captured");
    assert_eq!(ans.body["amount"], 1050);
    assert_eq!(ans.body["currency"], "USD");
    assert_eq!(ans.body["amount_captured"], 1050);
    assert_eq!(
        outcomes(&ans.body),
        vec![("Sim A".into(), "approved".into())]
    );
    // Stored: one payment, one attempt, attempt not pending, events in order.
    assert_eq!(count(&pool, "payments").await, 1);
    let status: String = sqlx::query_scalar("SELECT status FROM attempts")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(status, "succeeded");
    let kinds: Vec<String> = sqlx::query_scalar("SELECT kind FROM payment_events ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(
        kinds,
        [
            "payment_created",
            "attempt_started",
            "attempt_finished",
            "status_changed"
        ]
    );
    // The GET answer equals the stored idempotent answer.
    let got = s
        .payments
        .get(s.auth, ans.body["id"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(got.body["status"], "captured");
    assert_eq!(got.body["attempts"], ans.body["attempts"]);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn manual_capture_authorizes_then_captures_and_refunds(pool: PgPool) {
    let s = setup(pool.clone()).await;
    let ans = s
        .payments
        .create(
            s.auth,
            "k1",
            &body(&s, "sim_approve", "sim_approve", "manual"),
        )
        .await
        .unwrap();
    assert_eq!(ans.body["status"], "authorized");
    let id = ans.body["id"].as_str().unwrap().to_owned();
    // Refund before capture is refused with a clear code.
    let err = s
        .payments
        .refund(s.auth, &id, "r0", br#"{"amount": 100}"#)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "payment_not_refundable");
    let cap = s
        .payments
        .capture(s.auth, &id, Some("c1"), br#"{"amount": 1000}"#)
        .await
        .unwrap();
    assert_eq!(cap.status, 200, "{}", cap.body);
    assert_eq!(cap.body["status"], "captured");
    assert_eq!(cap.body["amount_captured"], 1000);
    let over = s
        .payments
        .refund(s.auth, &id, "r1", br#"{"amount": 1001}"#)
        .await
        .unwrap_err();
    assert_eq!(over.code(), "invalid_amount");
    let r = s
        .payments
        .refund(
            s.auth,
            &id,
            "r2",
            br#"{"amount": 400, "reason": "requested_by_customer"}"#,
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["object"], "refund");
    let again = s
        .payments
        .refund(
            s.auth,
            &id,
            "r2",
            br#"{"amount": 400, "reason": "requested_by_customer"}"#,
        )
        .await
        .unwrap();
    assert!(again.replayed);
    let got = s.payments.get(s.auth, &id).await.unwrap();
    assert_eq!(got.body["amount_refunded"], 400);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn void_cancels_an_authorization(pool: PgPool) {
    let s = setup(pool.clone()).await;
    let ans = s
        .payments
        .create(
            s.auth,
            "k1",
            &body(&s, "sim_approve", "sim_approve", "manual"),
        )
        .await
        .unwrap();
    let id = ans.body["id"].as_str().unwrap().to_owned();
    let v = s.payments.void(s.auth, &id, None, b"").await.unwrap();
    assert_eq!(v.body["status"], "canceled");
    let err = s
        .payments
        .capture(s.auth, &id, None, b"")
        .await
        .unwrap_err();
    assert_eq!(err.code(), "payment_not_capturable");
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn provider_unavailable_falls_back_to_the_next_connector(pool: PgPool) {
    let s = setup(pool.clone()).await;
    let ans = s
        .payments
        .create(
            s.auth,
            "k1",
            &body(&s, "sim_unavailable", "sim_approve", "automatic"),
        )
        .await
        .unwrap();
    assert_eq!(ans.body["status"], "captured");
    assert_eq!(
        outcomes(&ans.body),
        vec![
            ("Sim A".into(), "provider_unavailable".into()),
            ("Sim B".into(), "approved".into())
        ]
    );
    assert_eq!(ans.body["attempts"][0]["next_step"], "fall_back");
    let rows: Vec<(i32, String)> = sqlx::query_as("SELECT seq, status FROM attempts ORDER BY seq")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(rows, vec![(1, "failed".into()), (2, "succeeded".into())]);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn declines_never_fall_back(pool: PgPool) {
    let s = setup(pool.clone()).await;
    for (key, token, class) in [
        ("h", "sim_stolen_card", "hard_decline"),
        ("s", "sim_insufficient_funds", "soft_decline"),
    ] {
        let ans = s
            .payments
            .create(s.auth, key, &body(&s, token, "sim_approve", "automatic"))
            .await
            .unwrap();
        assert_eq!(ans.body["status"], "failed", "{token}");
        assert_eq!(
            outcomes(&ans.body),
            vec![("Sim A".into(), class.into())],
            "{token}"
        );
        assert_eq!(ans.body["failure"]["code"], "card_declined");
    }
    assert_eq!(count(&pool, "attempts").await, 2);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn three_ds_requires_action(pool: PgPool) {
    let s = setup(pool.clone()).await;
    let ans = s
        .payments
        .create(
            s.auth,
            "k",
            &body(&s, "sim_3ds_required", "sim_approve", "automatic"),
        )
        .await
        .unwrap();
    assert_eq!(ans.body["status"], "requires_action");
    assert!(ans.body["next_action"]["url"].is_string(), "{}", ans.body);
    assert_eq!(outcomes(&ans.body).len(), 1);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn timeout_then_charge_found_is_a_success_without_second_call(pool: PgPool) {
    let s = setup(pool.clone()).await;
    let ans = s
        .payments
        .create(
            s.auth,
            "k",
            &body(&s, "sim_timeout_charged", "sim_approve", "automatic"),
        )
        .await
        .unwrap();
    assert_eq!(ans.body["status"], "captured", "{}", ans.body);
    assert_eq!(
        outcomes(&ans.body),
        vec![("Sim A".into(), "approved".into())]
    );
    assert!(
        ans.body["attempts"][0]["reconciliation"]
            .as_str()
            .unwrap()
            .contains("charge found")
    );
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn timeout_still_unknown_stops_as_unknown(pool: PgPool) {
    let s = setup(pool.clone()).await;
    let ans = s
        .payments
        .create(
            s.auth,
            "k",
            &body(&s, "sim_timeout_unknown", "sim_approve", "automatic"),
        )
        .await
        .unwrap();
    assert_eq!(ans.body["status"], "unknown", "{}", ans.body);
    assert_eq!(
        outcomes(&ans.body).len(),
        1,
        "never fall back while a charge may exist"
    );
    let status: String = sqlx::query_scalar("SELECT status FROM attempts")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(status, "unknown");
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn timeout_not_charged_falls_back(pool: PgPool) {
    let s = setup(pool.clone()).await;
    let ans = s
        .payments
        .create(
            s.auth,
            "k",
            &body(&s, "sim_timeout_not_charged", "sim_approve", "automatic"),
        )
        .await
        .unwrap();
    assert_eq!(ans.body["status"], "captured", "{}", ans.body);
    assert_eq!(
        outcomes(&ans.body),
        vec![
            ("Sim A".into(), "provider_unavailable".into()),
            ("Sim B".into(), "approved".into())
        ]
    );
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn idempotency_replays_and_conflicts(pool: PgPool) {
    let s = setup(pool.clone()).await;
    let b = body(&s, "sim_approve", "sim_approve", "automatic");
    let first = s.payments.create(s.auth, "same", &b).await.unwrap();
    let again = s.payments.create(s.auth, "same", &b).await.unwrap();
    assert!(again.replayed);
    assert_eq!(first.body, again.body);
    let other = body(&s, "sim_stolen_card", "sim_approve", "automatic");
    let err = s.payments.create(s.auth, "same", &other).await.unwrap_err();
    assert!(matches!(err, EngineError::IdempotencyKeyReused), "{err:?}");
    assert_eq!(count(&pool, "payments").await, 1);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn concurrent_duplicates_make_exactly_one_payment(pool: PgPool) {
    let s = setup(pool.clone()).await;
    let b = body(&s, "sim_approve", "sim_approve", "automatic");
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (p, b, auth) = (s.payments.clone(), b.clone(), s.auth);
        tasks.push(tokio::spawn(async move { p.create(auth, "dup", &b).await }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(a) => ids.push(a.body["id"].as_str().unwrap().to_owned()),
            Err(e) => assert!(matches!(e, EngineError::IdempotencyKeyInUse), "{e:?}"),
        }
    }
    assert!(!ids.is_empty());
    ids.dedup();
    assert_eq!(ids.len(), 1, "every answer names the same payment");
    assert_eq!(count(&pool, "payments").await, 1);
    assert_eq!(count(&pool, "attempts").await, 1);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn bad_input_is_rejected_and_nothing_is_written(pool: PgPool) {
    let s = setup(pool.clone()).await;
    let good: Value =
        serde_json::from_slice(&body(&s, "sim_approve", "sim_approve", "automatic")).unwrap();
    let with = |path: &str, v: Value| {
        let mut b = good.clone();
        b[path] = v;
        serde_json::to_vec(&b).unwrap()
    };
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (with("currency", json!("EURO")), "invalid_currency"),
        (with("currency", json!("XXX")), "invalid_currency"),
        (with("amount", json!(-5)), "invalid_amount"),
        (with("amount", json!(0)), "invalid_amount"),
        (with("amount", json!(10.5)), "invalid_amount"),
        (
            with("amount", json!(99999999999999999999u128 as f64)),
            "invalid_amount",
        ),
        (with("amount", json!("100")), "invalid_amount"),
        (with("unknown_field", json!(1)), "invalid_body"),
        (
            with("billing", json!({"country": "Germany"})),
            "invalid_country",
        ),
        (b"{not json".to_vec(), "invalid_body"),
        (b"".to_vec(), "invalid_body"),
    ];
    for (b, code) in cases {
        let err = s.payments.create(s.auth, "bad", &b).await.unwrap_err();
        assert_eq!(err.code(), code, "{}", String::from_utf8_lossy(&b));
    }
    let mut no_tokens = good.clone();
    no_tokens["payment_method"]["tokens"] = json!([]);
    let err = s
        .payments
        .create(s.auth, "bad", &serde_json::to_vec(&no_tokens).unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "invalid_tokens");
    let err = s
        .payments
        .create(
            s.auth,
            "",
            &body(&s, "sim_approve", "sim_approve", "automatic"),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "invalid_idempotency_key");
    for table in ["payments", "attempts", "idempotency_keys", "payment_events"] {
        assert_eq!(count(&pool, table).await, 0, "{table} must stay empty");
    }
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn no_eligible_connector_fails_with_a_trace(pool: PgPool) {
    let s = setup(pool.clone()).await;
    // Only a token for another provider: nothing is eligible.
    let b = serde_json::to_vec(&json!({
        "amount": 500, "currency": "EUR",
        "payment_method": {"type": "card", "tokens": [{"token": "pm_card_visa", "scope": {"type": "provider", "provider": "stripe"}}]},
        "billing": {"country": "DE"},
    }))
    .unwrap();
    let ans = s.payments.create(s.auth, "k", &b).await.unwrap();
    assert_eq!(ans.body["status"], "failed");
    assert_eq!(ans.body["failure"]["code"], "no_eligible_connector");
    assert_eq!(ans.body["attempts"].as_array().unwrap().len(), 0);
    assert_eq!(
        ans.body["route"]["trace"]["entries"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(count(&pool, "attempts").await, 0);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn weight_change_is_used_by_the_very_next_payment_and_audited(pool: PgPool) {
    let s = setup(pool.clone()).await;
    let console = engine::console::Console::new(pool.clone(), s.auth.merchant_id, "test-operator");
    let b = |k: &str| {
        (
            k.to_owned(),
            body(&s, "sim_approve", "sim_approve", "automatic"),
        )
    };
    let (k, first) = b("w1");
    let ans = s.payments.create(s.auth, &k, &first).await.unwrap();
    assert_eq!(outcomes(&ans.body)[0].0, "Sim A");
    let err = console
        .set_weight(engine::views::SetWeight {
            connector_id: s.a.to_string(),
            weight: 0,
            reason: " ".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), "reason_required");
    let view = console
        .set_weight(engine::views::SetWeight {
            connector_id: s.a.to_string(),
            weight: 0,
            reason: "drill: drain A".into(),
        })
        .await
        .unwrap();
    assert_eq!(view.weight, 0);
    let (k, second) = b("w2");
    let ans = s.payments.create(s.auth, &k, &second).await.unwrap();
    assert_eq!(
        outcomes(&ans.body)[0].0,
        "Sim B",
        "a drained connector gets no weighted traffic"
    );
    let audit = console.audit_log(10).await.unwrap();
    let entry = audit
        .iter()
        .find(|a| a.action == "set_weight")
        .expect("audit row");
    assert_eq!(entry.actor, "test-operator");
    assert_eq!(entry.reason, "drill: drain A");
    assert!(entry.before.contains("70") && entry.after.contains('0'));
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_late_failure_never_turns_captured_into_failed(pool: PgPool) {
    let s = setup(pool.clone()).await;
    let ans = s
        .payments
        .create(
            s.auth,
            "k",
            &body(&s, "sim_approve", "sim_approve", "automatic"),
        )
        .await
        .unwrap();
    let id = Uuid::parse_str(ans.body["id"].as_str().unwrap()).unwrap();
    let mut conn = pool.acquire().await.unwrap();
    let refused = store::payments::update_payment_status(
        &mut conn,
        s.auth.merchant_id,
        id,
        &store::payments::PaymentUpdate {
            status: routing::PaymentStatus::Failed,
            failure_code: Some("late".into()),
            failure_message: None,
            next_action_url: None,
            captured_delta: 0,
            refunded_delta: 0,
            at: time::OffsetDateTime::now_utc(),
        },
    )
    .await
    .unwrap();
    assert_eq!(refused, None);
    let status: String = sqlx::query_scalar("SELECT status FROM payments")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(status, "captured");
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn console_detail_shows_attempts_side_by_side_data(pool: PgPool) {
    let s = setup(pool.clone()).await;
    let ans = s
        .payments
        .create(
            s.auth,
            "k",
            &body(&s, "sim_unavailable", "sim_approve", "automatic"),
        )
        .await
        .unwrap();
    let console = engine::console::Console::new(pool.clone(), s.auth.merchant_id, "t");
    let d = console
        .payment_detail(ans.body["id"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(d.attempts.len(), 2);
    assert_eq!(d.attempts[0].next_step.as_deref(), Some("fall_back"));
    assert!(
        d.attempts[0]
            .next_step_detail
            .as_deref()
            .unwrap()
            .contains("Sim B")
    );
    assert_eq!(d.route.entries.len(), 2);
    assert!(d.events.len() >= 5);
    let found = console
        .search_payments(engine::views::PaymentSearch {
            query: "order-1".into(),
            status: None,
            limit: None,
        })
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    let by_id = console
        .search_payments(engine::views::PaymentSearch {
            query: d.summary.id.clone(),
            status: None,
            limit: None,
        })
        .await
        .unwrap();
    assert_eq!(by_id.len(), 1);
    let conns = console.connectors().await.unwrap();
    assert_eq!(conns.len(), 2);
    assert!(conns[0].is_primary);
    let _ = Policy::default();
}

/// One master keyset for every test of this binary (each test has its own database).
fn test_keys() -> Arc<vault::Keyset> {
    static KEYS: std::sync::OnceLock<Arc<vault::Keyset>> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| Arc::new(vault::Keyset::generate(&mut rand::rng())))
        .clone()
}
