//! Square Payments API v2 over real HTTP: approve, decline, idempotent replay, faults, webhooks.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use base64::Engine;
use common::{hmac_sha256, receiver, start};
use psp_emulator::faults::{ErrorPhase, FaultSpec, HangMode, OutageKind};
use psp_emulator::webhooks::{WebhookConfig, WebhookFormat};
use reqwest::Method;
use serde_json::{Value, json};

const TOKEN: &str = "EAAAsquare_sandbox_token_a";
const TOKEN_B: &str = "EAAAsquare_sandbox_token_b";

fn create_body(key: &str, source: &str, amount: i64, autocomplete: bool) -> Value {
    json!({
        "idempotency_key": key,
        "source_id": source,
        "amount_money": {"amount": amount, "currency": "USD"},
        "autocomplete": autocomplete,
        "reference_id": "ord_1"
    })
}

async fn create(env: &common::Env, token: &str, body: Value) -> common::Resp {
    let url = format!("{}/v2/payments", env.emu.square_base_url());
    env.json_call(Method::POST, &url, token, Some(body), None)
        .await
}

#[tokio::test]
async fn approve_authorize_complete_cancel_and_refund() {
    let env = start().await;
    let base = env.emu.square_base_url();
    let r = create(
        &env,
        TOKEN,
        create_body("k1", "cnon:card-nonce-ok", 1000, true),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let p = &r.json["payment"];
    assert_eq!(p["status"], "COMPLETED");
    assert_eq!(p["card_details"]["status"], "CAPTURED");
    assert_eq!(
        p["amount_money"],
        json!({"amount": 1000, "currency": "USD"})
    );
    let id = p["id"].as_str().unwrap().to_owned();
    let got = env
        .json_call(
            Method::GET,
            &format!("{base}/v2/payments/{id}"),
            TOKEN,
            None,
            None,
        )
        .await;
    assert_eq!(got.json["payment"]["id"], id.as_str());
    // Another token is another seller.
    let other = env
        .json_call(
            Method::GET,
            &format!("{base}/v2/payments/{id}"),
            TOKEN_B,
            None,
            None,
        )
        .await;
    assert_eq!(other.status, 404);
    assert_eq!(other.json["errors"][0]["code"], "NOT_FOUND");

    // Refund part of it: PENDING, then COMPLETED on GET.
    let refund = env
        .json_call(
            Method::POST,
            &format!("{base}/v2/refunds"),
            TOKEN,
            Some(json!({"idempotency_key": "r1", "payment_id": id, "amount_money": {"amount": 400, "currency": "USD"}, "reason": "customer"})),
            None,
        )
        .await;
    assert_eq!(refund.status, 200, "{}", refund.text);
    assert_eq!(refund.json["refund"]["status"], "PENDING");
    let too_much = env
        .json_call(
            Method::POST,
            &format!("{base}/v2/refunds"),
            TOKEN,
            Some(json!({"idempotency_key": "r2", "payment_id": id, "amount_money": {"amount": 700, "currency": "USD"}})),
            None,
        )
        .await;
    assert_eq!(too_much.status, 400);
    assert_eq!(too_much.json["errors"][0]["code"], "REFUND_AMOUNT_INVALID");

    // Authorize only, then complete; authorize, then cancel.
    let a = create(
        &env,
        TOKEN,
        create_body("k2", "cnon:card-nonce-ok", 500, false),
    )
    .await;
    assert_eq!(a.json["payment"]["status"], "APPROVED");
    assert_eq!(a.json["payment"]["card_details"]["status"], "AUTHORIZED");
    let aid = a.json["payment"]["id"].as_str().unwrap();
    let c = env
        .json_call(
            Method::POST,
            &format!("{base}/v2/payments/{aid}/complete"),
            TOKEN,
            Some(json!({})),
            None,
        )
        .await;
    assert_eq!(c.json["payment"]["status"], "COMPLETED", "{}", c.text);
    let cancel_completed = env
        .json_call(
            Method::POST,
            &format!("{base}/v2/payments/{aid}/cancel"),
            TOKEN,
            Some(json!({})),
            None,
        )
        .await;
    assert_eq!(cancel_completed.status, 400);

    let v = create(
        &env,
        TOKEN,
        create_body("k3", "cnon:card-nonce-ok", 500, false),
    )
    .await;
    let vid = v.json["payment"]["id"].as_str().unwrap();
    let cancel = env
        .json_call(
            Method::POST,
            &format!("{base}/v2/payments/{vid}/cancel"),
            TOKEN,
            Some(json!({})),
            None,
        )
        .await;
    assert_eq!(cancel.json["payment"]["status"], "CANCELED");
    assert_eq!(cancel.json["payment"]["card_details"]["status"], "VOIDED");
    env.emu.shutdown().await;
}

#[tokio::test]
async fn declines_and_rejections_follow_the_sandbox_nonces() {
    let env = start().await;
    for (i, (nonce, status, code)) in [
        ("cnon:card-nonce-declined", 402, "GENERIC_DECLINE"),
        ("cnon:card-nonce-rejected-cvv", 402, "CVV_FAILURE"),
        (
            "cnon:card-nonce-rejected-postalcode",
            402,
            "ADDRESS_VERIFICATION_FAILURE",
        ),
        (
            "cnon:gift-card-nonce-insufficient-funds",
            402,
            "INSUFFICIENT_FUNDS",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let r = create(
            &env,
            TOKEN,
            create_body(&format!("d{i}"), nonce, 1000, true),
        )
        .await;
        assert_eq!(r.status, status, "{nonce}: {}", r.text);
        assert_eq!(r.json["errors"][0]["code"], code);
        assert_eq!(r.json["errors"][0]["category"], "PAYMENT_METHOD_ERROR");
        assert_eq!(r.json["payment"]["status"], "FAILED");
        assert_eq!(r.json["payment"]["card_details"]["errors"][0]["code"], code);
    }
    let r = create(
        &env,
        TOKEN,
        create_body("x1", "cnon:card-nonce-rejected-expiration", 1000, true),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json["errors"][0]["code"], "INVALID_EXPIRATION");
    assert!(r.json.get("payment").is_none());
    let r = create(&env, TOKEN, json!({"source_id": "cnon:card-nonce-ok", "amount_money": {"amount": 1, "currency": "USD"}})).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json["errors"][0]["code"], "MISSING_REQUIRED_PARAMETER");
    assert_eq!(r.json["errors"][0]["field"], "idempotency_key");
    let unauth = env
        .json_call(
            Method::GET,
            &format!("{}/v2/payments", env.emu.square_base_url()),
            "",
            None,
            None,
        )
        .await;
    assert_eq!(unauth.status, 401);
    assert_eq!(unauth.json["errors"][0]["code"], "UNAUTHORIZED");
    // Four declines stored as FAILED payments, nothing for the rejections.
    assert_eq!(env.emu.square_payments(TOKEN).len(), 4);
    env.emu.shutdown().await;
}

#[tokio::test]
async fn idempotent_replay_reuse_and_cancel_by_key() {
    let env = start().await;
    let body = create_body("same-key", "cnon:card-nonce-ok", 1000, false);
    let first = create(&env, TOKEN, body.clone()).await;
    let again = create(&env, TOKEN, body).await;
    assert_eq!(first.status, 200);
    assert_eq!(
        first.text, again.text,
        "a replay returns the first answer byte for byte"
    );
    assert_eq!(env.emu.square_payments(TOKEN).len(), 1);
    let reused = create(
        &env,
        TOKEN,
        create_body("same-key", "cnon:card-nonce-ok", 2000, false),
    )
    .await;
    assert_eq!(reused.status, 400);
    assert_eq!(reused.json["errors"][0]["code"], "IDEMPOTENCY_KEY_REUSED");
    assert_eq!(reused.json["errors"][0]["field"], "idempotency_key");

    let url = format!("{}/v2/payments/cancel", env.emu.square_base_url());
    let c = env
        .json_call(
            Method::POST,
            &url,
            TOKEN,
            Some(json!({"idempotency_key": "same-key"})),
            None,
        )
        .await;
    assert_eq!((c.status, c.json.clone()), (200, json!({})));
    assert_eq!(env.emu.square_payments(TOKEN)[0]["status"], "CANCELED");
    let none = env
        .json_call(
            Method::POST,
            &url,
            TOKEN,
            Some(json!({"idempotency_key": "never-used"})),
            None,
        )
        .await;
    assert_eq!((none.status, none.json), (200, json!({})));
    env.emu.shutdown().await;
}

#[tokio::test]
async fn faults_give_square_error_bodies_and_a_retry_finds_the_charge() {
    let env = start().await;
    env.emu
        .faults()
        .set(
            FaultSpec::for_key(TOKEN)
                .error_rate(1.0)
                .error_status(500)
                .error_phase(ErrorPhase::After),
        )
        .unwrap();
    let r = create(
        &env,
        TOKEN,
        create_body("f1", "cnon:card-nonce-ok", 1000, true),
    )
    .await;
    assert_eq!(r.status, 500);
    assert_eq!(r.json["errors"][0]["code"], "INTERNAL_SERVER_ERROR");
    assert_eq!(r.json["errors"][0]["category"], "API_ERROR");
    // Processed although the answer was lost; the same key returns the real payment.
    assert_eq!(env.emu.square_payments(TOKEN).len(), 1);
    env.emu.faults().clear();
    let retry = create(
        &env,
        TOKEN,
        create_body("f1", "cnon:card-nonce-ok", 1000, true),
    )
    .await;
    assert_eq!(retry.status, 200, "{}", retry.text);
    assert_eq!(
        retry.json["payment"]["id"],
        env.emu.square_payments(TOKEN)[0]["id"]
    );
    assert_eq!(env.emu.square_payments(TOKEN).len(), 1);

    // Outage: 503 SERVICE_UNAVAILABLE for that token only.
    env.emu
        .faults()
        .set(FaultSpec::for_key(TOKEN).outage(
            Duration::ZERO,
            Duration::from_secs(30),
            OutageKind::Error,
        ))
        .unwrap();
    let down = create(
        &env,
        TOKEN,
        create_body("f2", "cnon:card-nonce-ok", 1000, true),
    )
    .await;
    assert_eq!(down.status, 503);
    assert_eq!(down.json["errors"][0]["code"], "SERVICE_UNAVAILABLE");
    let up = create(
        &env,
        TOKEN_B,
        create_body("f2", "cnon:card-nonce-ok", 1000, true),
    )
    .await;
    assert_eq!(up.status, 200);

    // Forced decline and latency.
    env.emu
        .faults()
        .set(
            FaultSpec::for_key(TOKEN)
                .decline("GENERIC_DECLINE", 1.0)
                .latency(Duration::from_millis(200)),
        )
        .unwrap();
    let t = Instant::now();
    let d = create(
        &env,
        TOKEN,
        create_body("f3", "cnon:card-nonce-ok", 1000, true),
    )
    .await;
    assert!(t.elapsed() >= Duration::from_millis(200));
    assert_eq!(d.status, 402);
    assert_eq!(d.json["errors"][0]["code"], "GENERIC_DECLINE");
    let stats = env.emu.stats();
    assert_eq!(stats.by_key[TOKEN].by_outcome["injected_error"], 1);
    assert_eq!(stats.by_key[TOKEN].by_outcome["declined"], 1);
    env.emu.shutdown().await;
}

#[tokio::test]
async fn signed_webhooks_late_and_duplicated() {
    let env = start().await;
    let rx = receiver().await;
    let key = "square_signature_key_1";
    env.emu
        .webhooks()
        .set(
            WebhookConfig::new(TOKEN, rx.url.clone(), WebhookFormat::Square)
                .secret(key)
                .delay(Duration::from_millis(300))
                .duplicates(1),
        )
        .unwrap();
    let t = Instant::now();
    let r = create(
        &env,
        TOKEN,
        create_body("w1", "cnon:card-nonce-ok", 1000, true),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(rx.count(), 0, "late: nothing before the synchronous answer");
    let hooks = rx.wait_for(2).await;
    assert_eq!(hooks.len(), 2);
    for h in &hooks {
        assert!(h.at.duration_since(t) >= Duration::from_millis(300));
        // Independent check: base64(HMAC-SHA256(key, notification_url + body)).
        let mut msg = rx.url.as_bytes().to_vec();
        msg.extend_from_slice(&h.body);
        let expected =
            base64::engine::general_purpose::STANDARD.encode(hmac_sha256(key.as_bytes(), &msg));
        assert_eq!(h.header("x-square-hmacsha256-signature"), expected);
        let ev = h.json();
        assert_eq!(ev["type"], "payment.created");
        assert_eq!(ev["data"]["type"], "payment");
        assert_eq!(
            ev["data"]["object"]["payment"]["id"],
            r.json["payment"]["id"]
        );
    }
    assert_eq!(
        hooks[0].body, hooks[1].body,
        "a duplicate is the same event"
    );
    assert_eq!(hooks[0].json()["event_id"], hooks[1].json()["event_id"]);
    let log = env.emu.webhooks().deliveries();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].status, Some(200));
    assert_eq!((log[0].copy, log[1].copy), (1, 2));
    env.emu.shutdown().await;
}

#[tokio::test]
async fn hang_after_charges_and_the_same_key_replays_while_hang_before_charges_nothing() {
    let env = start().await;
    let url = format!("{}/v2/payments", env.emu.square_base_url());
    let send = |body: Value| {
        env.http
            .post(&url)
            .bearer_auth(TOKEN)
            .timeout(Duration::from_millis(150))
            .json(&body)
            .send()
    };
    env.emu
        .faults()
        .set(
            FaultSpec::for_key(TOKEN)
                .hang(HangMode::Before)
                .hang_for(Duration::from_secs(2))
                .hang_count(1),
        )
        .unwrap();
    let before = send(create_body("h1", "cnon:card-nonce-ok", 700, true)).await;
    assert!(before.unwrap_err().is_timeout());
    assert_eq!(
        env.emu.square_payments(TOKEN).len(),
        0,
        "hang before: nothing charged"
    );

    env.emu
        .faults()
        .set(
            FaultSpec::for_key(TOKEN)
                .hang(HangMode::After)
                .hang_for(Duration::from_secs(2))
                .hang_count(1),
        )
        .unwrap();
    let after = send(create_body("h2", "cnon:card-nonce-ok", 700, true)).await;
    assert!(after.unwrap_err().is_timeout());
    assert_eq!(
        env.emu.square_payments(TOKEN).len(),
        1,
        "hang after: charged"
    );
    let retry = create(
        &env,
        TOKEN,
        create_body("h2", "cnon:card-nonce-ok", 700, true),
    )
    .await;
    assert_eq!(retry.status, 200, "{}", retry.text);
    assert_eq!(
        retry.json["payment"]["id"],
        env.emu.square_payments(TOKEN)[0]["id"]
    );
    assert_eq!(env.emu.square_payments(TOKEN).len(), 1);
    env.emu.shutdown().await;
}
