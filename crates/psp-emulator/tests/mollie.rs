//! Mollie Payments API v2 over real HTTP: asynchronous outcomes, amount validation, idempotency,
//! faults, classic and signed webhooks.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::{Env, Resp, hmac_sha256, receiver, start};
use psp_emulator::faults::{ErrorPhase, FaultSpec};
use psp_emulator::webhooks::{WebhookConfig, WebhookFormat};
use reqwest::Method;
use serde_json::{Value, json};

const KEY: &str = "test_mollie_account_a_0001";

fn payment(value: &str, description: &str) -> Value {
    json!({
        "amount": {"currency": "EUR", "value": value},
        "description": description,
        "redirectUrl": "https://shop.example/return",
        "metadata": {"order_id": "ord_1"}
    })
}

async fn create(env: &Env, body: Value, idem: Option<&str>) -> Resp {
    let url = format!("{}/v2/payments", env.emu.mollie_base_url());
    env.json_call(Method::POST, &url, KEY, Some(body), idem)
        .await
}

async fn get(env: &Env, id: &str) -> Resp {
    let url = format!("{}/v2/payments/{id}", env.emu.mollie_base_url());
    env.json_call(Method::GET, &url, KEY, None, None).await
}

/// Polls until the payment leaves `open` (at most 5 s).
async fn final_status(env: &Env, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let p = get(env, id).await.json;
        if p["status"] != "open" {
            return p;
        }
        assert!(Instant::now() < deadline, "still open: {p}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn payments_start_open_and_settle_asynchronously() {
    let env = start().await;
    let r = create(&env, payment("10.00", "Order 1"), None).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.header("content-type"), Some("application/hal+json"));
    assert_eq!(r.json["status"], "open");
    assert_eq!(r.json["mode"], "test");
    assert_eq!(
        r.json["amount"],
        json!({"currency": "EUR", "value": "10.00"})
    );
    let checkout = r.json["_links"]["checkout"]["href"].as_str().unwrap();
    assert!(checkout.starts_with(&env.emu.base_url()), "{checkout}");
    let id = r.json["id"].as_str().unwrap();
    assert!(id.starts_with("tr_"));
    let p = final_status(&env, id).await;
    assert_eq!(p["status"], "paid");
    assert_eq!(p["amountRemaining"]["value"], "10.00");

    // Magic amount 1007.00: failed with insufficient_funds (REFERENCE.md §4.4).
    let f = create(&env, payment("1007.00", "Order 2"), None).await;
    assert_eq!(f.json["status"], "open");
    let p = final_status(&env, f.json["id"].as_str().unwrap()).await;
    assert_eq!(p["status"], "failed");
    assert_eq!(p["details"]["failureReason"], "insufficient_funds");

    // Description markers: expired after 100 ms; open until forced.
    let e = create(
        &env,
        payment("5.00", "Order 3 [emu:status=expired] [emu:delay_ms=100]"),
        None,
    )
    .await;
    let p = final_status(&env, e.json["id"].as_str().unwrap()).await;
    assert_eq!(p["status"], "expired");
    let o = create(&env, payment("5.00", "Order 4 [emu:status=open]"), None).await;
    let oid = o.json["id"].as_str().unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(get(&env, oid).await.json["status"], "open");
    let forced = env
        .control(
            Method::POST,
            &format!("/_emulator/mollie/payments/{oid}/status"),
            Some(json!({"status": "failed", "failure_reason": "possible_fraud"})),
        )
        .await;
    assert_eq!(forced.status, 200, "{}", forced.text);
    let p = get(&env, oid).await.json;
    assert_eq!(
        (p["status"].clone(), p["details"]["failureReason"].clone()),
        (json!("failed"), json!("possible_fraud"))
    );
    assert!(
        env.emu.mollie_set_status(oid, "paid", None).is_err(),
        "final stays final"
    );
    env.emu.shutdown().await;
}

#[tokio::test]
async fn manual_capture_cancel_and_refund() {
    let env = start().await;
    let base = env.emu.mollie_base_url();
    let mut body = payment("25.00", "Manual");
    body["captureMode"] = json!("manual");
    let r = create(&env, body, None).await;
    let id = r.json["id"].as_str().unwrap().to_owned();
    assert_eq!(final_status(&env, &id).await["status"], "authorized");
    let cap = env
        .json_call(
            Method::POST,
            &format!("{base}/v2/payments/{id}/captures"),
            KEY,
            Some(json!({"amount": {"currency": "EUR", "value": "20.00"}})),
            None,
        )
        .await;
    assert_eq!(cap.status, 201, "{}", cap.text);
    assert_eq!(cap.json["resource"], "capture");
    assert_eq!(get(&env, &id).await.json["status"], "paid");
    let refund = env
        .json_call(
            Method::POST,
            &format!("{base}/v2/payments/{id}/refunds"),
            KEY,
            Some(json!({"amount": {"currency": "EUR", "value": "5.00"}})),
            None,
        )
        .await;
    assert_eq!(refund.status, 201, "{}", refund.text);
    assert_eq!(refund.json["status"], "pending");
    let too_much = env
        .json_call(
            Method::POST,
            &format!("{base}/v2/payments/{id}/refunds"),
            KEY,
            Some(json!({"amount": {"currency": "EUR", "value": "16.00"}})),
            None,
        )
        .await;
    assert_eq!(too_much.status, 422);
    assert_eq!(too_much.json["field"], "amount.value");

    let o = create(&env, payment("5.00", "Cancel me [emu:status=open]"), None).await;
    let oid = o.json["id"].as_str().unwrap();
    let c = env
        .json_call(
            Method::DELETE,
            &format!("{base}/v2/payments/{oid}"),
            KEY,
            None,
            None,
        )
        .await;
    assert_eq!(c.status, 200);
    assert_eq!(c.json["status"], "canceled");
    env.emu.shutdown().await;
}

#[tokio::test]
async fn amounts_need_the_currency_exact_decimals() {
    let env = start().await;
    for (currency, value, field) in [
        ("EUR", "10.0", "amount.value"),
        ("EUR", "10", "amount.value"),
        ("JPY", "1000.00", "amount.value"),
        ("KWD", "1.000", "amount.currency"),
    ] {
        let mut body = payment(value, "x");
        body["amount"]["currency"] = json!(currency);
        let r = create(&env, body, None).await;
        assert_eq!(r.status, 422, "{currency} {value}: {}", r.text);
        assert_eq!(r.json["field"], field);
        assert_eq!(r.json["status"], 422);
    }
    let mut jpy = payment("1000", "yen");
    jpy["amount"]["currency"] = json!("JPY");
    assert_eq!(create(&env, jpy, None).await.status, 201);
    let missing = create(
        &env,
        json!({"amount": {"currency": "EUR", "value": "1.00"}, "redirectUrl": "https://x"}),
        None,
    )
    .await;
    assert_eq!(
        (missing.status, missing.json["field"].clone()),
        (422, json!("description"))
    );
    let unauth = env
        .json_call(
            Method::GET,
            &format!("{}/v2/payments", env.emu.mollie_base_url()),
            "sk_wrong",
            None,
            None,
        )
        .await;
    assert_eq!(unauth.status, 401);
    assert_eq!(unauth.json["title"], "Unauthorized Request");
    env.emu.shutdown().await;
}

#[tokio::test]
async fn idempotency_key_replays_and_faults() {
    let env = start().await;
    let first = create(
        &env,
        payment("3.00", "Idem [emu:status=open]"),
        Some("idem-1"),
    )
    .await;
    let again = create(
        &env,
        payment("3.00", "Idem [emu:status=open]"),
        Some("idem-1"),
    )
    .await;
    assert_eq!(first.text, again.text);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(env.emu.mollie_payments(KEY).len(), 1);
    let other = create(&env, payment("4.00", "Idem"), Some("idem-1")).await;
    assert_eq!(other.status, 400);
    let id = first.json["id"].as_str().unwrap();
    let other_endpoint = env
        .json_call(
            Method::POST,
            &format!("{}/v2/payments/{id}/refunds", env.emu.mollie_base_url()),
            KEY,
            Some(json!({"amount": {"currency": "EUR", "value": "1.00"}})),
            Some("idem-1"),
        )
        .await;
    assert_eq!(other_endpoint.status, 400, "{}", other_endpoint.text);

    env.emu
        .faults()
        .set(
            FaultSpec::for_key(KEY)
                .error_rate(1.0)
                .error_status(503)
                .error_phase(ErrorPhase::Before),
        )
        .unwrap();
    let down = create(&env, payment("3.00", "Down"), Some("idem-2")).await;
    assert_eq!(down.status, 503);
    assert_eq!(
        down.json["detail"],
        "Payment platform for this payment method temporarily not available"
    );
    assert_eq!(
        env.emu.mollie_payments(KEY).len(),
        1,
        "nothing created before the error"
    );

    // A forced decline is asynchronous, like every Mollie decline.
    env.emu
        .faults()
        .set(FaultSpec::for_key(KEY).decline("refused_by_issuer", 1.0))
        .unwrap();
    let d = create(&env, payment("3.00", "Declined"), Some("idem-3")).await;
    assert_eq!(d.status, 201);
    let p = final_status(&env, d.json["id"].as_str().unwrap()).await;
    assert_eq!(p["details"]["failureReason"], "refused_by_issuer");
    env.emu.shutdown().await;
}

#[tokio::test]
async fn classic_and_signed_webhooks() {
    let env = start().await;
    let classic = receiver().await;
    let signed = receiver().await;
    let secret = "mollie_next_gen_secret_1";
    env.emu
        .webhooks()
        .set(
            WebhookConfig::new(KEY, signed.url.clone(), WebhookFormat::MollieSigned)
                .secret(secret)
                .delay(Duration::from_millis(150))
                .duplicates(1),
        )
        .unwrap();
    let mut body = payment("12.00", "Hooked [emu:delay_ms=10]");
    body["webhookUrl"] = json!(classic.url);
    let t = Instant::now();
    let r = create(&env, body, None).await;
    let id = r.json["id"].as_str().unwrap();
    // Classic: unsigned form `id=tr_…` to the payment's webhookUrl.
    let c = classic.wait_for(1).await;
    assert_eq!(c[0].text(), format!("id={id}"));
    assert_eq!(
        c[0].header("content-type"),
        "application/x-www-form-urlencoded"
    );
    // Signed next-gen: late (150 ms) and twice, same event.
    let s = signed.wait_for(2).await;
    for h in &s {
        assert!(h.at.duration_since(t) >= Duration::from_millis(150));
        let expected = format!(
            "sha256={}",
            hex::encode(hmac_sha256(secret.as_bytes(), &h.body))
        );
        assert_eq!(h.header("x-mollie-signature"), expected);
        let ev = h.json();
        assert_eq!(ev["resource"], "event");
        assert_eq!(ev["type"], "payment.paid");
        assert_eq!(ev["entityId"], id);
        assert_eq!(ev["_embedded"]["entity"]["status"], "paid");
    }
    assert_eq!(s[0].json()["id"], s[1].json()["id"]);
    // On demand, over the control API.
    let sent = env
        .control(
            Method::POST,
            "/_emulator/webhooks/send",
            Some(json!({"account": KEY, "event_type": "payment.paid", "object_id": id})),
        )
        .await;
    assert_eq!(sent.status, 200, "{}", sent.text);
    signed.wait_for(4).await;
    env.emu.shutdown().await;
}
