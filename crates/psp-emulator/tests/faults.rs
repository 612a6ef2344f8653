//! Scriptable faults, in process and over the `/_emulator/` control API.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::{KEY_A, KEY_B, card_payment, start};
use psp_emulator::faults::{ErrorPhase, FaultSpec, HangMode, OutageKind};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn latency_applies_to_its_key_only() {
    let env = start().await;
    env.emu
        .faults()
        .set(FaultSpec::for_key(KEY_A).latency(Duration::from_millis(300)))
        .unwrap();
    let t = Instant::now();
    let r = env.pay(KEY_A, "100", "pm_card_visa", "automatic").await;
    assert_eq!(r.status, 200);
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "{:?}",
        t.elapsed()
    );

    let t = Instant::now();
    let r = env.pay(KEY_B, "100", "pm_card_visa", "automatic").await;
    assert_eq!(r.status, 200);
    assert!(
        t.elapsed() < Duration::from_millis(300),
        "{:?}",
        t.elapsed()
    );
    env.emu.shutdown().await;
}

#[tokio::test]
async fn error_rate_over_http_is_deterministic_and_saved_under_the_key() {
    let env = start().await;
    let set = env
        .control(
            Method::POST,
            "/_emulator/faults",
            Some(json!({"api_key": KEY_A, "error_rate": 0.5})),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.text);
    assert_eq!(set.json["faults"][0]["error_rate"], 0.5);

    let mut statuses = Vec::new();
    for i in 0..4 {
        let key = format!("err-{i}");
        let r = env
            .post(
                KEY_A,
                "/v1/payment_intents",
                &card_payment("100", "pm_card_visa", "automatic"),
                Some(&key),
            )
            .await;
        if r.status == 500 {
            assert_eq!(r.error_field("type"), "api_error");
        }
        statuses.push(r.status);
    }
    assert_eq!(statuses, vec![200, 500, 200, 500]);
    // Failed before processing: only the two successes exist.
    assert_eq!(env.emu.stripe_payment_intents(KEY_A).len(), 2);

    // Replaying a key that got a 500 gives the saved 500, even with the faults gone.
    let cleared = env.control(Method::DELETE, "/_emulator/faults", None).await;
    assert_eq!(cleared.json["faults"].as_array().unwrap().len(), 0);
    let replay = env
        .post(
            KEY_A,
            "/v1/payment_intents",
            &card_payment("100", "pm_card_visa", "automatic"),
            Some("err-1"),
        )
        .await;
    assert_eq!(replay.status, 500);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));

    let stats = env.control(Method::GET, "/_emulator/stats", None).await;
    assert_eq!(
        stats.json["by_key"][KEY_A]["by_outcome"]["injected_error"],
        2
    );
    assert_eq!(stats.json["by_key"][KEY_A]["by_status"]["500"], 3);
    env.emu.shutdown().await;
}

#[tokio::test]
async fn error_after_processing_leaves_a_charge_to_reconcile() {
    let env = start().await;
    env.emu
        .faults()
        .set(
            FaultSpec::all_keys()
                .error_rate(1.0)
                .error_status(503)
                .error_phase(ErrorPhase::After)
                .methods(&["POST"]),
        )
        .unwrap();
    let mut form = card_payment("2500", "pm_card_visa", "automatic");
    form.push(("metadata[attempt_id]", "att_ambiguous"));
    let r = env
        .post(KEY_A, "/v1/payment_intents", &form, Some("att_ambiguous"))
        .await;
    assert_eq!(r.status, 503);
    let found = env
        .search(KEY_A, "metadata['attempt_id']:'att_ambiguous'")
        .await;
    assert_eq!(found.status, 200);
    assert_eq!(found.json["data"][0]["status"], "succeeded");
    env.emu.shutdown().await;
}

#[tokio::test]
async fn hang_after_processing_then_reconcile_by_search() {
    let env = start().await;
    env.emu
        .faults()
        .set(FaultSpec::for_key(KEY_A).hang(HangMode::After))
        .unwrap();
    let mut form = card_payment("3100", "pm_card_visa", "automatic");
    form.push(("metadata[attempt_id]", "att_hang"));
    let err = env
        .post_req(KEY_A, "/v1/payment_intents", &form, Some("att_hang"))
        .timeout(Duration::from_millis(400))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");

    // GETs are never hung: the client can reconcile.
    let found = env.search(KEY_A, "metadata['attempt_id']:'att_hang'").await;
    assert_eq!(found.status, 200, "{}", found.text);
    let data = found.json["data"].as_array().unwrap();
    assert_eq!(data.len(), 1);
    assert_eq!(data[0]["status"], "succeeded");

    // After the incident, the same key replays the saved success.
    env.emu.faults().clear();
    let replay = env
        .post(KEY_A, "/v1/payment_intents", &form, Some("att_hang"))
        .await;
    assert_eq!(replay.status, 200);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.json["id"], data[0]["id"]);
    assert_eq!(env.emu.stats().by_key[KEY_A].by_outcome["hang_after"], 1);
    env.emu.shutdown().await;
}

#[tokio::test]
async fn replay_after_hang_after_is_served_while_the_first_is_still_held() {
    let env = start().await;
    env.emu
        .faults()
        .set(
            FaultSpec::for_key(KEY_A)
                .hang(HangMode::After)
                .hang_for(Duration::from_secs(30))
                .hang_count(1),
        )
        .unwrap();
    let form = card_payment("3100", "pm_card_visa", "automatic");
    // The first request is processed, then held for 30 s; its client keeps waiting.
    let first = tokio::spawn({
        let req = env.post_req(KEY_A, "/v1/payment_intents", &form, Some("att_held"));
        async move { req.send().await }
    });
    let t = Instant::now();
    while env.emu.stripe_payment_intents(KEY_A).is_empty() {
        assert!(t.elapsed() < Duration::from_secs(5), "never processed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!first.is_finished(), "the first request is still held");

    // Processing is over, so the key is no longer in flight: the replay gets the saved answer.
    let replay = env
        .post(KEY_A, "/v1/payment_intents", &form, Some("att_held"))
        .await;
    assert_eq!(replay.status, 200, "{}", replay.text);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.json["status"], "succeeded");
    let pis = env.emu.stripe_payment_intents(KEY_A);
    assert_eq!(pis.len(), 1);
    assert_eq!(replay.json["id"], pis[0]["id"]);
    assert!(
        !first.is_finished(),
        "the replay did not wait for the held answer"
    );
    let stats = &env.emu.stats().by_key[KEY_A];
    assert_eq!(stats.by_outcome["hang_after"], 1);
    assert_eq!(stats.by_outcome["idempotent_replay"], 1);
    assert!(!stats.by_outcome.contains_key("idempotency_conflict"));
    first.abort();
    env.emu.shutdown().await;
}

#[tokio::test]
async fn hang_before_processing_charges_nothing() {
    let env = start().await;
    env.emu
        .faults()
        .set(
            FaultSpec::for_key(KEY_A)
                .hang(HangMode::Before)
                .hang_count(1),
        )
        .unwrap();
    let form = card_payment("3100", "pm_card_visa", "automatic");
    let err = env
        .post_req(KEY_A, "/v1/payment_intents", &form, Some("hb-1"))
        .timeout(Duration::from_millis(400))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout());
    assert!(env.emu.stripe_payment_intents(KEY_A).is_empty());
    // hang_count 1: the retry with the same key goes through and is not a replay.
    let retry = env
        .post(KEY_A, "/v1/payment_intents", &form, Some("hb-1"))
        .await;
    assert_eq!(retry.status, 200);
    assert_eq!(retry.header("idempotent-replayed"), None);
    assert_eq!(env.emu.stripe_payment_intents(KEY_A).len(), 1);
    env.emu.shutdown().await;
}

#[tokio::test]
async fn concurrent_request_with_key_in_flight_gets_409() {
    let env = start().await;
    env.emu
        .faults()
        .set(FaultSpec::for_key(KEY_A).latency(Duration::from_millis(500)))
        .unwrap();
    let form = card_payment("100", "pm_card_visa", "automatic");
    let first = env.post(KEY_A, "/v1/payment_intents", &form, Some("dup"));
    let second = async {
        tokio::time::sleep(Duration::from_millis(150)).await;
        env.post(KEY_A, "/v1/payment_intents", &form, Some("dup"))
            .await
    };
    let (a, b) = tokio::join!(first, second);
    assert_eq!(a.status, 200);
    assert_eq!(b.status, 409);
    assert_eq!(b.error_field("code"), "idempotency_key_in_use");
    assert_eq!(env.emu.stripe_payment_intents(KEY_A).len(), 1);
    env.emu.shutdown().await;
}

#[tokio::test]
async fn outage_window_starts_and_ends() {
    let env = start().await;
    let set = env
        .control(
            Method::POST,
            "/_emulator/faults",
            Some(json!({"api_key": KEY_A, "outage": {"start_in_ms": 500, "duration_ms": 1000, "kind": "error"}})),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.text);
    let t0 = Instant::now();
    let before = env.pay(KEY_A, "100", "pm_card_visa", "automatic").await;
    assert_eq!(before.status, 200);

    tokio::time::sleep(Duration::from_millis(900).saturating_sub(t0.elapsed())).await;
    let during = env.pay(KEY_A, "100", "pm_card_visa", "automatic").await;
    assert_eq!(during.status, 503);
    assert_eq!(during.error_field("type"), "api_error");
    let during_get = env.get(KEY_A, "/v1/payment_intents").await;
    assert_eq!(during_get.status, 503);
    let other_key = env.pay(KEY_B, "100", "pm_card_visa", "automatic").await;
    assert_eq!(other_key.status, 200);

    tokio::time::sleep(Duration::from_millis(1800).saturating_sub(t0.elapsed())).await;
    let after = env.pay(KEY_A, "100", "pm_card_visa", "automatic").await;
    assert_eq!(after.status, 200);
    assert_eq!(env.emu.stats().by_key[KEY_A].by_outcome["outage"], 2);
    env.emu.shutdown().await;
}

#[tokio::test]
async fn outage_of_kind_hang_times_clients_out() {
    let env = start().await;
    env.emu
        .faults()
        .set(FaultSpec::all_keys().outage(
            Duration::ZERO,
            Duration::from_secs(60),
            OutageKind::Hang,
        ))
        .unwrap();
    let err = env
        .http
        .get(env.url("/v1/payment_intents"))
        .bearer_auth(KEY_A)
        .timeout(Duration::from_millis(300))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout());
    env.emu.shutdown().await;
}

#[tokio::test]
async fn forced_decline_fault() {
    let env = start().await;
    env.control(
        Method::POST,
        "/_emulator/faults",
        Some(json!({"decline_code": "do_not_honor"})),
    )
    .await;
    let r = env.pay(KEY_B, "100", "pm_card_visa", "automatic").await;
    assert_eq!(r.status, 402);
    assert_eq!(r.error_field("decline_code"), "do_not_honor");
    assert_eq!(r.error_field("code"), "card_declined");
    env.emu.shutdown().await;
}

#[tokio::test]
async fn control_api_validates_and_lists() {
    let env = start().await;
    let bad = env
        .control(
            Method::POST,
            "/_emulator/faults",
            Some(json!({"error_rate": 2.0})),
        )
        .await;
    assert_eq!(bad.status, 400);
    let typo = env
        .control(
            Method::POST,
            "/_emulator/faults",
            Some(json!({"latency": 5})),
        )
        .await;
    assert_eq!(typo.status, 400);
    env.control(
        Method::POST,
        "/_emulator/faults",
        Some(json!({"latency_ms": 5})),
    )
    .await;
    env.control(
        Method::POST,
        "/_emulator/faults",
        Some(json!({"api_key": KEY_B, "hang": "before"})),
    )
    .await;
    let list = env.control(Method::GET, "/_emulator/faults", None).await;
    let sets = list.json["faults"].as_array().unwrap();
    assert_eq!(sets.len(), 2);
    assert_eq!(sets[0]["api_key"], serde_json::Value::Null);
    assert_eq!(sets[1]["hang"], "before");
    let after = env
        .control(
            Method::DELETE,
            &format!("/_emulator/faults?api_key={KEY_B}"),
            None,
        )
        .await;
    assert_eq!(after.json["faults"].as_array().unwrap().len(), 1);

    // Stripe-Version is counted when absent; control calls are not counted.
    let no_version = env
        .http
        .get(env.url("/v1/payment_intents"))
        .bearer_auth(KEY_A)
        .send()
        .await
        .unwrap();
    assert_eq!(no_version.status(), 200);
    let health = env.control(Method::GET, "/_emulator/health", None).await;
    assert_eq!(health.json["status"], "ok");
    let stats = env.control(Method::GET, "/_emulator/stats", None).await;
    assert_eq!(stats.json["total"]["requests"], 1);
    assert_eq!(stats.json["total"]["missing_stripe_version"], 1);
    assert_eq!(stats.json["by_key"][KEY_A]["by_outcome"]["ok"], 1);
    let reset = env.control(Method::DELETE, "/_emulator/stats", None).await;
    assert_eq!(reset.json["total"]["requests"], 0);
    env.emu.shutdown().await;
}

#[tokio::test]
async fn shutdown_releases_hung_requests() {
    let env = start().await;
    env.emu
        .faults()
        .set(FaultSpec::all_keys().hang(HangMode::After))
        .unwrap();
    let req = env
        .post_req(
            KEY_A,
            "/v1/payment_intents",
            &card_payment("100", "pm_card_visa", "automatic"),
            None,
        )
        .send();
    let pending = tokio::spawn(req);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let t = Instant::now();
    env.emu.shutdown().await;
    assert!(t.elapsed() < Duration::from_secs(5));
    let resp = pending.await.unwrap().unwrap();
    assert_eq!(resp.status(), 200);
}
