//! The gateway over real HTTP on 127.0.0.1:0, against a real Postgres (fresh database per test)
//! and the Stripe emulator.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use serde_json::{Value, json};
use sqlx::PgPool;
use std::time::Duration;

mod common;

struct Env {
    url: String,
    key: String,
    us_key: String,
    emulator: psp_emulator::Emulator,
    client: reqwest::Client,
    pool: PgPool,
}

/// Merchant with "Stripe US" (weight 100) and "Stripe EU" (weight 0, primary) on the emulator:
/// the default route is always US then EU.
async fn start(pool: PgPool) -> Env {
    let emulator = common::emulator().await;
    let (merchant_id, key) = common::seed_merchant(&pool, "HTTP Test Merchant").await;
    let us_key = common::seed_stripe_us_eu(&pool, merchant_id, &emulator.base_url())
        .await
        .us_key;
    let payments = common::payments(&pool, Duration::from_millis(700), common::test_keys());
    let url = common::serve(payments).await;
    Env {
        url,
        key,
        us_key,
        emulator,
        client: reqwest::Client::new(),
        pool,
    }
}

fn checkout(pm: &str) -> Value {
    json!({
        "amount": 2000,
        "currency": "USD",
        "payment_method": {"type": "card", "tokens": [{"token": pm, "scope": {"type": "provider", "provider": "stripe"}}]},
        "billing": {"country": "US"},
        "merchant_reference": "order-42",
    })
}

impl Env {
    async fn post(&self, path: &str, key: Option<&str>, body: &Value) -> (u16, Value) {
        let mut req = self
            .client
            .post(format!("{}{path}", self.url))
            .bearer_auth(&self.key)
            .json(body);
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }
    async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn approve_capture_refund_over_http(pool: PgPool) {
    let env = start(pool).await;
    let mut body = checkout("pm_card_visa");
    body["capture_method"] = json!("manual");
    let (status, p) = env.post("/v1/payments", Some("k1"), &body).await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["status"], "authorized");
    assert!(
        p["attempts"][0]["provider_reference"]
            .as_str()
            .unwrap()
            .starts_with("pi_")
    );
    let id = p["id"].as_str().unwrap();
    let (status, c) = env
        .post(
            &format!("/v1/payments/{id}/capture"),
            None,
            &json!({"amount": 1500}),
        )
        .await;
    assert_eq!(status, 200, "{c}");
    assert_eq!(c["status"], "captured");
    assert_eq!(c["amount_captured"], 1500);
    let (status, r) = env
        .post(
            &format!("/v1/payments/{id}/refunds"),
            Some("r1"),
            &json!({"amount": 500}),
        )
        .await;
    assert_eq!(status, 200, "{r}");
    let (status, missing) = env
        .post(
            &format!("/v1/payments/{id}/refunds"),
            None,
            &json!({"amount": 500}),
        )
        .await;
    assert_eq!(
        (status, missing["error"]["code"].as_str()),
        (400, Some("idempotency_key_required"))
    );
    let got: Value = env
        .client
        .get(format!("{}/v1/payments/{id}", env.url))
        .bearer_auth(&env.key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got["amount_refunded"], 500);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn outage_on_the_first_connector_falls_back_to_the_second(pool: PgPool) {
    let env = start(pool).await;
    env.emulator
        .faults()
        .set(
            psp_emulator::faults::FaultSpec::for_key(env.us_key.clone())
                .error_rate(1.0)
                .error_status(503),
        )
        .unwrap();
    let (status, p) = env
        .post("/v1/payments", Some("k1"), &checkout("pm_card_visa"))
        .await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["status"], "captured");
    let attempts = p["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{p}");
    assert_eq!(attempts[0]["connector_name"], "Stripe US");
    assert_eq!(attempts[0]["outcome"], "provider_unavailable");
    assert_eq!(attempts[1]["connector_name"], "Stripe EU");
    assert_eq!(attempts[1]["outcome"], "approved");
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn decline_does_not_fall_back(pool: PgPool) {
    let env = start(pool).await;
    let (_, p) = env
        .post(
            "/v1/payments",
            Some("k1"),
            &checkout("pm_card_visa_chargeDeclinedInsufficientFunds"),
        )
        .await;
    assert_eq!(p["status"], "failed");
    assert_eq!(p["attempts"].as_array().unwrap().len(), 1);
    assert_eq!(p["attempts"][0]["outcome"], "soft_decline");
    assert_eq!(p["attempts"][0]["decline_code"], "insufficient_funds");
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn timeout_after_charge_is_reconciled_without_a_second_charge(pool: PgPool) {
    let env = start(pool).await;
    env.emulator
        .faults()
        .set(
            psp_emulator::faults::FaultSpec::for_key(env.us_key.clone())
                .hang(psp_emulator::faults::HangMode::After)
                .hang_count(1),
        )
        .unwrap();
    let (status, p) = env
        .post("/v1/payments", Some("k1"), &checkout("pm_card_visa"))
        .await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["status"], "captured", "{p}");
    assert_eq!(
        p["attempts"].as_array().unwrap().len(),
        1,
        "no second charge: {p}"
    );
    assert!(
        p["attempts"][0]["reconciliation"]
            .as_str()
            .unwrap()
            .contains("charge found"),
        "{p}"
    );
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn malformed_input_gets_4xx_with_a_code_and_writes_nothing(pool: PgPool) {
    let env = start(pool).await;
    let mut bad_currency = checkout("pm_card_visa");
    bad_currency["currency"] = json!("usdollar");
    let mut negative = checkout("pm_card_visa");
    negative["amount"] = json!(-1);
    let mut overflow = checkout("pm_card_visa");
    overflow["amount"] = serde_json::from_str("123456789012345678901234567890").unwrap();
    let mut unknown = checkout("pm_card_visa");
    unknown["surprise"] = json!(true);
    for (body, code) in [
        (bad_currency, "invalid_currency"),
        (negative, "invalid_amount"),
        (overflow, "invalid_amount"),
        (unknown, "invalid_body"),
    ] {
        let (status, e) = env.post("/v1/payments", Some("k"), &body).await;
        assert_eq!(status, 400, "{e}");
        assert_eq!(e["error"]["code"], code, "{e}");
        assert!(e["error"]["message"].as_str().unwrap().len() > 5);
    }
    let (status, e) = env
        .post("/v1/payments", None, &checkout("pm_card_visa"))
        .await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (400, Some("idempotency_key_required"))
    );
    let r = env
        .client
        .post(format!("{}/v1/payments", env.url))
        .header("Idempotency-Key", "x")
        .json(&checkout("pm_card_visa"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let r = env
        .client
        .post(format!("{}/v1/payments", env.url))
        .bearer_auth("sk_wrong")
        .header("Idempotency-Key", "x")
        .json(&checkout("pm_card_visa"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let r = env
        .client
        .get(format!("{}/v1/nothing", env.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    for table in ["payments", "attempts", "idempotency_keys", "payment_events"] {
        assert_eq!(env.count(table).await, 0, "{table}");
    }
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn idempotency_over_http(pool: PgPool) {
    let env = start(pool).await;
    let (s1, p1) = env
        .post("/v1/payments", Some("same"), &checkout("pm_card_visa"))
        .await;
    let r = env
        .client
        .post(format!("{}/v1/payments", env.url))
        .bearer_auth(&env.key)
        .header("Idempotency-Key", "same")
        .json(&checkout("pm_card_visa"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()
            .get("idempotent-replayed")
            .map(|v| v.to_str().unwrap()),
        Some("true")
    );
    let p2: Value = r.json().await.unwrap();
    assert_eq!((s1, &p1), (200, &p2));
    let (s3, e) = env
        .post(
            "/v1/payments",
            Some("same"),
            &checkout("pm_card_mastercard"),
        )
        .await;
    assert_eq!(
        (s3, e["error"]["code"].as_str()),
        (409, Some("idempotency_key_reused"))
    );
    // Concurrent duplicates: exactly one payment.
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (client, url, key) = (env.client.clone(), env.url.clone(), env.key.clone());
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(format!("{url}/v1/payments"))
                .bearer_auth(key)
                .header("Idempotency-Key", "conc")
                .json(&checkout("pm_card_visa"))
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        let (status, body) = t.await.unwrap();
        match status {
            200 => ids.push(body["id"].as_str().unwrap().to_owned()),
            409 => assert_eq!(body["error"]["code"], "idempotency_key_in_use"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    ids.dedup();
    assert_eq!(ids.len(), 1);
    assert_eq!(env.count("payments").await, 2);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn explain_returns_the_route_without_storing(pool: PgPool) {
    let env = start(pool).await;
    let (status, e) = env
        .post("/v1/routing/explain", None, &checkout("pm_card_visa"))
        .await;
    assert_eq!(status, 200, "{e}");
    let names: Vec<&str> = e["path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Stripe US", "Stripe EU"]);
    assert_eq!(e["trace"]["entries"].as_array().unwrap().len(), 2);
    assert_eq!(env.count("payments").await, 0);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn timeout_before_any_charge_replays_once_and_charges_once(pool: PgPool) {
    let env = start(pool).await;
    env.emulator
        .faults()
        .set(
            psp_emulator::faults::FaultSpec::for_key(env.us_key.clone())
                .hang(psp_emulator::faults::HangMode::Before)
                .hang_count(1),
        )
        .unwrap();
    let (status, p) = env
        .post("/v1/payments", Some("k1"), &checkout("pm_card_visa"))
        .await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["status"], "captured", "{p}");
    assert_eq!(p["attempts"].as_array().unwrap().len(), 1, "{p}");
    assert_eq!(
        env.emulator.stripe_payment_intents(&env.us_key).len(),
        1,
        "exactly one PaymentIntent"
    );
}
