//! Provider webhook intake over real HTTP: the emulator signs and sends webhooks to the gateway
//! (or to a capture server whose deliveries the test replays, intact or with one changed byte),
//! against a real Postgres (fresh database per test).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::{Env, capture_server, checkout, first_capture, spec, start, start_with};
use psp_emulator::faults::{ErrorPhase, FaultSpec};
use psp_emulator::webhooks::{WebhookConfig, WebhookFormat};
use routing::Provider;
use serde_json::{Value, json};
use sqlx::PgPool;
use std::time::Duration;
use uuid::Uuid;

const T: Duration = Duration::from_millis(700);

fn stripe_pair() -> Vec<common::Spec> {
    vec![
        spec("Stripe A", Provider::Stripe, 100, false),
        spec("Stripe B", Provider::Stripe, 0, true),
    ]
}

fn now_s() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A Stripe event about PaymentIntent `pi`, signed with `secret` now.
fn stripe_event(
    secret: &str,
    id: &str,
    event_type: &str,
    object: Value,
) -> (Vec<(&'static str, String)>, Vec<u8>) {
    let body = serde_json::to_vec(&json!({
        "id": id, "object": "event", "type": event_type, "created": now_s(), "livemode": false,
        "api_version": "2026-09-30.endive", "data": {"object": object},
    }))
    .unwrap();
    let sig = psp_emulator::webhooks::stripe_signature(secret, now_s(), &body);
    (
        vec![
            ("stripe-signature", sig),
            ("content-type", "application/json".into()),
        ],
        body,
    )
}

fn first_pi(env: &Env, conn: &str) -> String {
    env.emulator.stripe_payment_intents(&env.conn(conn).api_key)[0]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn stripe_3ds_payment_completes_when_the_signed_webhook_arrives(pool: PgPool) {
    let env = start(pool, stripe_pair(), T).await;
    let p = env
        .pay(&checkout(
            Provider::Stripe,
            "pm_card_threeDSecure2Required",
            2000,
            "EUR",
        ))
        .await;
    assert_eq!(p["status"], "requires_action", "{p}");
    let pi = p["attempts"][0]["provider_reference"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = p["id"].as_str().unwrap();
    let r = env
        .client
        .post(format!(
            "{}/_emulator/stripe/3ds/{pi}",
            env.emulator.base_url()
        ))
        .form(&[("result", "succeed")])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let done = env.wait_payment(id, |p| p["status"] == "captured").await;
    assert_eq!(done["amount_captured"], 2000);
    assert_eq!(done["attempts"][0]["status"], "succeeded", "{done}");
    let a = env.conn("Stripe A").id;
    let rows = env.wait_webhooks(a, 1).await;
    let applied: Vec<_> = rows
        .iter()
        .filter(|r| r.event_type.as_deref() == Some("payment_intent.succeeded"))
        .collect();
    assert_eq!(applied.len(), 1, "{rows:?}");
    assert_eq!(applied[0].verdict, "verified");
    assert_eq!(applied[0].result, "applied");
    assert_eq!(
        applied[0].payment_id.map(|u| u.to_string()).as_deref(),
        Some(id)
    );
    let kinds = env.event_kinds(id).await;
    assert!(kinds.iter().any(|k| k == "webhook_received"), "{kinds:?}");
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_changed_byte_is_rejected_and_recorded_and_a_replay_is_applied_once(pool: PgPool) {
    let (cap_url, captured) = capture_server().await;
    let env = start_with(pool, stripe_pair(), T, Some(&cap_url)).await;
    let a = env.conn("Stripe A").id;
    let p = env
        .pay(&checkout(Provider::Stripe, "pm_card_visa", 2000, "EUR"))
        .await;
    assert_eq!(p["status"], "captured", "{p}");
    let (headers, body) = first_capture(&captured)
        .await
        .expect("the emulator sent a webhook");
    let keep: Vec<(&str, String)> = headers
        .iter()
        .filter(|(k, _)| k == "stripe-signature" || k == "content-type")
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();

    // One changed byte of the body.
    let mut tampered = body.clone();
    let i = tampered.len() / 2;
    tampered[i] ^= 0x01;
    let (status, e) = env.deliver(a, &keep, &tampered).await;
    assert!(status == 400 || status == 401, "{status} {e}");
    assert_eq!(e["error"]["code"], "signature_mismatch", "{e}");
    // One changed byte of the signature.
    let bad_sig: Vec<(&str, String)> = keep
        .iter()
        .map(|(k, v)| {
            if *k == "stripe-signature" {
                let mut s = v.clone().into_bytes();
                let last = s.len() - 1;
                s[last] = if s[last] == b'0' { b'1' } else { b'0' };
                (*k, String::from_utf8(s).unwrap())
            } else {
                (*k, v.clone())
            }
        })
        .collect();
    let (status, _) = env.deliver(a, &bad_sig, &body).await;
    assert_eq!(status, 401);
    // Missing signature.
    let (status, e) = env
        .deliver(a, &[("content-type", "application/json".into())], &body)
        .await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (400, Some("signature_missing"))
    );

    // The intact delivery verifies; a second copy is a duplicate with no second effect.
    let (status, ok) = env.deliver(a, &keep, &body).await;
    assert_eq!(status, 200, "{ok}");
    let (status, dup) = env.deliver(a, &keep, &body).await;
    assert_eq!((status, &dup["duplicate"]), (200, &json!(true)), "{dup}");

    let rows = env.webhooks(a).await;
    let rejected: Vec<_> = rows.iter().filter(|r| r.verdict == "rejected").collect();
    assert_eq!(rejected.len(), 3, "{rows:?}");
    assert!(
        rejected
            .iter()
            .all(|r| r.provider_event_id.is_none() && r.result == "rejected")
    );
    assert_eq!(
        rows.iter().filter(|r| r.verdict == "verified").count(),
        1,
        "{rows:?}"
    );
    let id = p["id"].as_str().unwrap();
    let received = env
        .event_kinds(id)
        .await
        .into_iter()
        .filter(|k| k == "webhook_received")
        .count();
    assert_eq!(received, 1);
    // Secrets never leave: not in rows, not in answers.
    let secret = env.conn("Stripe A").webhook_secret.clone().unwrap();
    let dump: String =
        sqlx::query_scalar("SELECT string_agg(body || result_detail, '') FROM provider_webhooks")
            .fetch_one(&env.pool)
            .await
            .unwrap();
    assert!(!dump.contains(&secret));
    assert!(!e.to_string().contains(&secret));
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn duplicate_deliveries_from_the_emulator_are_applied_once(pool: PgPool) {
    let env = start(pool, stripe_pair(), T).await;
    let a = env.conn("Stripe A");
    env.emulator
        .webhooks()
        .set(
            WebhookConfig::new(
                a.api_key.clone(),
                format!("{}/webhooks/{}", env.url, a.id),
                WebhookFormat::Stripe,
            )
            .secret(a.webhook_secret.clone().unwrap())
            .duplicates(2),
        )
        .unwrap();
    let mut body = checkout(Provider::Stripe, "pm_card_visa", 2000, "EUR");
    body["capture_method"] = json!("manual");
    let p = env.pay(&body).await;
    assert_eq!(p["status"], "authorized", "{p}");
    for _ in 0..100 {
        let answered = env
            .emulator
            .webhooks()
            .deliveries()
            .iter()
            .filter(|d| d.status == Some(200))
            .count();
        if answered >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let deliveries = env.emulator.webhooks().deliveries();
    assert_eq!(deliveries.len(), 3, "{deliveries:?}");
    assert!(
        deliveries.iter().all(|d| d.status == Some(200)),
        "{deliveries:?}"
    );
    let rows = env.webhooks(a.id).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].result, "no_change", "already authorized: {rows:?}");
    let id = p["id"].as_str().unwrap();
    let n = env
        .event_kinds(id)
        .await
        .iter()
        .filter(|k| *k == "webhook_received")
        .count();
    assert_eq!(n, 1);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn late_failure_after_capture_is_kept_and_flagged(pool: PgPool) {
    let env = start(pool, stripe_pair(), T).await;
    let a = env.conn("Stripe A").clone();
    let p = env
        .pay(&checkout(Provider::Stripe, "pm_card_visa", 2000, "EUR"))
        .await;
    assert_eq!(p["status"], "captured", "{p}");
    let pi = p["attempts"][0]["provider_reference"].as_str().unwrap();
    let (h, b) = stripe_event(
        a.webhook_secret.as_deref().unwrap(),
        "evt_late_failure_1",
        "payment_intent.payment_failed",
        json!({"id": pi, "object": "payment_intent", "status": "requires_payment_method", "amount": 2000,
               "currency": "eur", "metadata": {},
               "last_payment_error": {"type": "card_error", "code": "card_declined", "decline_code": "generic_decline"}}),
    );
    let (status, r) = env.deliver(a.id, &h, &b).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["result"], "late_failure_flagged", "{r}");
    let id = p["id"].as_str().unwrap();
    let now = env.get(id).await;
    assert_eq!(
        now["status"], "captured",
        "a late failure never turns captured into failed"
    );
    assert_eq!(now["attempts"][0]["status"], "succeeded");
    let (flagged, reason) = env.review(id).await;
    assert!(flagged);
    assert!(reason.unwrap().contains("captured"));
    assert!(
        env.event_kinds(id)
            .await
            .iter()
            .any(|k| k == "late_failure_flagged")
    );
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn unknown_event_types_and_unmatched_events_are_stored_not_errors(pool: PgPool) {
    let env = start(pool, stripe_pair(), T).await;
    let a = env.conn("Stripe A").clone();
    let secret = a.webhook_secret.clone().unwrap();
    let (h, b) = stripe_event(
        &secret,
        "evt_unknown_1",
        "customer.created",
        json!({"id": "cus_1", "object": "customer"}),
    );
    let (status, r) = env.deliver(a.id, &h, &b).await;
    assert_eq!(
        (status, r["result"].as_str()),
        (200, Some("unmatched")),
        "{r}"
    );
    let (h, b) = stripe_event(
        &secret,
        "evt_nobody_1",
        "payment_intent.succeeded",
        json!({"id": "pi_nobody", "object": "payment_intent", "status": "succeeded", "amount": 100, "currency": "eur", "metadata": {}}),
    );
    let (status, r) = env.deliver(a.id, &h, &b).await;
    assert_eq!(
        (status, r["result"].as_str()),
        (200, Some("unmatched")),
        "{r}"
    );
    let rows = env.webhooks(a.id).await;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].event_type.as_deref(), Some("customer.created"));
    assert_eq!(rows[0].effect.as_deref(), Some("unknown"));

    // An unknown type about a known payment: stored with its payment, no effect.
    let p = env
        .pay(&checkout(Provider::Stripe, "pm_card_visa", 2000, "EUR"))
        .await;
    let pi = p["attempts"][0]["provider_reference"].as_str().unwrap();
    let (h, b) = stripe_event(
        &secret,
        "evt_unknown_2",
        "payment_intent.partially_funded",
        json!({"id": pi, "object": "payment_intent", "status": "succeeded", "amount": 2000, "currency": "eur", "metadata": {}}),
    );
    let (status, r) = env.deliver(a.id, &h, &b).await;
    assert_eq!(
        (status, r["result"].as_str()),
        (200, Some("unknown_type")),
        "{r}"
    );

    // Unknown connector: 404 with a code.
    let (status, e) = env.deliver(Uuid::now_v7(), &h, &b).await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    let r = env
        .client
        .post(format!("{}/webhooks/not-a-uuid", env.url))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_charge_found_on_a_after_fallback_succeeded_on_b_is_refunded(pool: PgPool) {
    let env = start(pool, stripe_pair(), T).await;
    let a = env.conn("Stripe A").clone();
    // A processes the charge but its answer is lost as a 503 ("nothing processed" on Stripe):
    // the router falls back to B, which approves. The customer is now charged twice.
    env.emulator
        .faults()
        .set(
            FaultSpec::for_key(a.api_key.clone())
                .error_rate(1.0)
                .error_status(503)
                .error_phase(ErrorPhase::After)
                .methods(&["POST"]),
        )
        .unwrap();
    let p = env
        .pay(&checkout(Provider::Stripe, "pm_card_visa", 2000, "EUR"))
        .await;
    assert_eq!(p["status"], "captured", "{p}");
    let attempts = p["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{p}");
    assert_eq!(attempts[0]["outcome"], "provider_unavailable");
    assert_eq!(attempts[1]["connector_name"], "Stripe B");
    let pi_a = first_pi(&env, "Stripe A");
    assert_eq!(
        env.emulator.stripe_payment_intents(&a.api_key)[0]["status"],
        "succeeded",
        "A really charged"
    );
    env.emulator.faults().clear();

    // A's late webhook reveals the charge: intake refunds it and both attempts say so.
    env.emulator
        .send_webhook(&a.api_key, "payment_intent.succeeded", &pi_a)
        .unwrap();
    let id = p["id"].as_str().unwrap();
    let attempt_a = attempts[0]["id"].as_str().unwrap();
    let mut reversal = (None, None);
    for _ in 0..100 {
        reversal = env.reversal(attempt_a).await;
        if reversal.0.as_deref().is_some_and(|r| r != "pending") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(reversal.0.as_deref(), Some("refunded"), "{reversal:?}");
    assert!(reversal.1.unwrap().contains(&pi_a));
    let rows = env.webhooks(a.id).await;
    let row = rows
        .iter()
        .find(|r| r.result == "extra_charge_reversed")
        .unwrap();
    assert_eq!(row.payment_id.unwrap().to_string(), id);
    let events = store::read::events(&env.pool, env.merchant_id, Uuid::parse_str(id).unwrap())
        .await
        .unwrap();
    let found: Vec<_> = events
        .iter()
        .filter(|e| e.kind == "extra_charge_found")
        .collect();
    assert_eq!(found.len(), 2, "one event on each attempt");
    let on: Vec<String> = found
        .iter()
        .map(|e| e.attempt_id.unwrap().to_string())
        .collect();
    assert!(
        on.contains(&attempt_a.to_owned())
            && on.contains(&attempts[1]["id"].as_str().unwrap().to_owned())
    );
    assert!(events.iter().any(|e| e.kind == "extra_charge_reversed"));
    let after = env.get(id).await;
    assert_eq!(after["status"], "captured", "B's charge stands");
    assert_eq!(
        after["attempts"][0]["provider_reference"].as_str(),
        Some(pi_a.as_str())
    );
    // The same webhook again changes nothing.
    env.emulator
        .send_webhook(&a.api_key, "payment_intent.succeeded", &pi_a)
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let n = store::read::events(&env.pool, env.merchant_id, Uuid::parse_str(id).unwrap())
        .await
        .unwrap()
        .iter()
        .filter(|e| e.kind == "extra_charge_reversed")
        .count();
    assert_eq!(n, 1);
}

/// Each provider's real signed webhook (sent by the emulator, captured, replayed) verifies; the
/// same delivery with one changed body byte is answered 400/401 and recorded as rejected.
async fn signed_webhook_verifies_and_a_changed_byte_is_rejected(pool: PgPool, p: Provider) {
    let (cap_url, captured) = capture_server().await;
    let env = start_with(pool, vec![spec("A", p, 100, true)], T, Some(&cap_url)).await;
    let a = env.conn("A").clone();
    let (token, currency) = match p {
        Provider::Stripe => ("pm_card_visa", "USD"),
        Provider::Square => ("cnon:card-nonce-ok", "USD"),
        Provider::Braintree => ("fake-valid-nonce", "USD"),
        Provider::Mollie => ("tkn_emuapprove", "EUR"),
        Provider::Simulator => unreachable!(),
    };
    let r = env.pay(&checkout(p, token, 2000, currency)).await;
    let reference = r["attempts"][0]["provider_reference"]
        .as_str()
        .unwrap()
        .to_owned();
    if p == Provider::Braintree {
        env.emulator
            .send_webhook(&a.api_key, "transaction_settled", &reference)
            .unwrap();
    }
    let (headers, body) = first_capture(&captured)
        .await
        .expect("the emulator sent a webhook");
    let keep: Vec<(&str, String)> = headers
        .iter()
        .filter(|(k, _)| {
            k.starts_with("x-square")
                || k.starts_with("x-mollie")
                || k == "stripe-signature"
                || k == "content-type"
        })
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    let mut tampered = body.clone();
    // A byte inside the signed payload (Braintree: inside bt_payload, the form's last field).
    let i = if p == Provider::Braintree {
        body.len() - 8
    } else {
        body.len() / 2
    };
    tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
    let (status, e) = env.deliver(a.id, &keep, &tampered).await;
    assert!(status == 400 || status == 401, "{p:?}: {status} {e}");
    assert!(e["error"]["code"].as_str().is_some(), "{e}");
    let (status, ok) = env.deliver(a.id, &keep, &body).await;
    assert_eq!(status, 200, "{p:?}: {ok}");
    let rows = env.webhooks(a.id).await;
    assert_eq!(
        rows.iter().filter(|r| r.verdict == "rejected").count(),
        1,
        "{rows:?}"
    );
    let verified: Vec<_> = rows.iter().filter(|r| r.verdict == "verified").collect();
    assert_eq!(verified.len(), 1, "{rows:?}");
    assert_eq!(
        verified[0].payment_id.map(|u| u.to_string()).as_deref(),
        r["id"].as_str(),
        "{rows:?}"
    );
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn stripe_signed_webhook_verifies_and_a_changed_byte_fails(pool: PgPool) {
    signed_webhook_verifies_and_a_changed_byte_is_rejected(pool, Provider::Stripe).await
}
#[sqlx::test(migrator = "store::MIGRATOR")]
async fn square_signed_webhook_verifies_and_a_changed_byte_fails(pool: PgPool) {
    signed_webhook_verifies_and_a_changed_byte_is_rejected(pool, Provider::Square).await
}
#[sqlx::test(migrator = "store::MIGRATOR")]
async fn braintree_signed_webhook_verifies_and_a_changed_byte_fails(pool: PgPool) {
    signed_webhook_verifies_and_a_changed_byte_is_rejected(pool, Provider::Braintree).await
}
#[sqlx::test(migrator = "store::MIGRATOR")]
async fn mollie_signed_webhook_verifies_and_a_changed_byte_fails(pool: PgPool) {
    signed_webhook_verifies_and_a_changed_byte_is_rejected(pool, Provider::Mollie).await
}
