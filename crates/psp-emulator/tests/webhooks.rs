//! Stripe webhooks and the webhook control API over real HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::{KEY_A, KEY_B, hmac_sha256, receiver, start};
use psp_emulator::webhooks::{WebhookConfig, WebhookFormat};
use reqwest::Method;
use serde_json::json;

const SECRET: &str = "whsec_emulator_test_secret";

/// Independent check of `Stripe-Signature: t=…,v1=…`.
fn verify_stripe(header: &str, body: &[u8]) -> i64 {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = Some(v.to_owned()),
            Some(("v1", v)) => v1 = Some(v.to_owned()),
            _ => {}
        }
    }
    let (t, v1) = (t.unwrap(), v1.unwrap());
    let mut msg = format!("{t}.").into_bytes();
    msg.extend_from_slice(body);
    assert_eq!(hex::encode(hmac_sha256(SECRET.as_bytes(), &msg)), v1);
    t.parse().unwrap()
}

#[tokio::test]
async fn stripe_events_are_signed_for_their_account_only() {
    let env = start().await;
    let rx = receiver().await;
    env.emu
        .webhooks()
        .set(WebhookConfig::new(KEY_A, rx.url.clone(), WebhookFormat::Stripe).secret(SECRET))
        .unwrap();
    let ok = env.pay(KEY_A, "2000", "pm_card_visa", "automatic").await;
    assert_eq!(ok.status, 200);
    let declined = env
        .pay(
            KEY_A,
            "2000",
            "pm_card_visa_chargeDeclinedInsufficientFunds",
            "automatic",
        )
        .await;
    assert_eq!(declined.status, 402);
    env.pay(KEY_B, "2000", "pm_card_visa", "automatic").await; // no config: no webhook
    let refund = env
        .post(
            KEY_A,
            "/v1/refunds",
            &[
                ("payment_intent", ok.json["id"].as_str().unwrap()),
                ("amount", "500"),
            ],
            None,
        )
        .await;
    assert_eq!(refund.status, 200, "{}", refund.text);
    let hooks = rx.wait_for(3).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(rx.count(), 3, "no event for the other key");
    let mut types: Vec<String> = Vec::new();
    for h in &hooks {
        let t = verify_stripe(h.header("stripe-signature"), &h.body);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        assert!((now - t).abs() < 300);
        let ev = h.json();
        assert_eq!(ev["object"], "event");
        assert!(ev["id"].as_str().unwrap().starts_with("evt_"));
        types.push(ev["type"].as_str().unwrap().to_owned());
        match ev["type"].as_str().unwrap() {
            "payment_intent.succeeded" => assert_eq!(ev["data"]["object"]["id"], ok.json["id"]),
            "payment_intent.payment_failed" => {
                assert_eq!(
                    ev["data"]["object"]["last_payment_error"]["decline_code"],
                    "insufficient_funds"
                )
            }
            "charge.refunded" => {
                assert_eq!(ev["data"]["object"]["amount_refunded"], 500);
                assert_eq!(ev["data"]["object"]["payment_intent"], ok.json["id"]);
            }
            other => panic!("unexpected {other}"),
        }
    }
    types.sort();
    assert_eq!(
        types,
        [
            "charge.refunded",
            "payment_intent.payment_failed",
            "payment_intent.succeeded"
        ]
    );
    env.emu.shutdown().await;
}

#[tokio::test]
async fn late_duplicate_and_on_demand_over_the_control_api() {
    let env = start().await;
    let rx = receiver().await;
    let set = env
        .control(
            Method::POST,
            "/_emulator/webhooks",
            Some(json!({"account": KEY_A, "url": rx.url, "secret": SECRET, "format": "stripe", "delay_ms": 300, "duplicates": 2})),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.text);
    assert!(!set.text.contains(SECRET), "the secret is never echoed");
    let t = Instant::now();
    let r = env.pay(KEY_A, "1000", "pm_card_visa", "manual").await;
    assert_eq!(r.json["status"], "requires_capture");
    assert_eq!(rx.count(), 0, "the answer comes before the late webhook");
    let hooks = rx.wait_for(3).await;
    assert!(
        hooks
            .iter()
            .all(|h| h.at.duration_since(t) >= Duration::from_millis(300))
    );
    assert!(
        hooks.iter().all(|h| h.body == hooks[0].body),
        "three copies of one event"
    );
    assert_eq!(
        hooks[0].json()["type"],
        "payment_intent.amount_capturable_updated"
    );

    let sent = env
        .control(
            Method::POST,
            "/_emulator/webhooks/send",
            Some(json!({"account": KEY_A, "event_type": "payment_intent.succeeded", "object_id": r.json["id"]})),
        )
        .await;
    assert_eq!(sent.status, 200, "{}", sent.text);
    let hooks = rx.wait_for(6).await;
    assert_eq!(hooks[5].json()["type"], "payment_intent.succeeded");
    verify_stripe(hooks[5].header("stripe-signature"), &hooks[5].body);
    let log = env
        .control(Method::GET, "/_emulator/webhooks/deliveries", None)
        .await;
    assert_eq!(log.json["deliveries"].as_array().unwrap().len(), 6);

    let bad = env
        .control(
            Method::POST,
            "/_emulator/webhooks",
            Some(json!({"account": KEY_A, "url": rx.url, "format": "square"})),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.json["error"].as_str().unwrap().contains("secret"));
    let unknown = env
        .control(Method::POST, "/_emulator/webhooks/send", Some(json!({"account": KEY_A, "event_type": "payment_intent.succeeded", "object_id": "pi_nope"})))
        .await;
    assert_eq!(unknown.status, 400);
    let cleared = env
        .control(
            Method::DELETE,
            &format!("/_emulator/webhooks?account={KEY_A}"),
            None,
        )
        .await;
    assert_eq!(cleared.json["webhooks"].as_array().unwrap().len(), 0);
    env.emu.shutdown().await;
}

#[tokio::test]
async fn a_failed_delivery_is_logged_without_the_secret() {
    let env = start().await;
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    }; // dropped: nothing listens there now
    env.emu
        .webhooks()
        .set(
            WebhookConfig::new(
                KEY_A,
                format!("http://{closed}/hooks"),
                WebhookFormat::Stripe,
            )
            .secret(SECRET),
        )
        .unwrap();
    env.pay(KEY_A, "1000", "pm_card_visa", "automatic").await;
    let deadline = Instant::now() + Duration::from_secs(5);
    let log = loop {
        let log = env.emu.webhooks().deliveries();
        if !log.is_empty() {
            break log;
        }
        assert!(Instant::now() < deadline, "no delivery attempt logged");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(log[0].status, None);
    assert!(log[0].error.is_some());
    assert_eq!(log[0].event_type, "payment_intent.succeeded");
    let json = env
        .control(Method::GET, "/_emulator/webhooks/deliveries", None)
        .await;
    assert!(!json.text.contains(SECRET));
    env.emu.shutdown().await;
}
