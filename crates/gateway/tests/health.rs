//! Connector health over real HTTP (127.0.0.1:0), a real Postgres (fresh database per test) and
//! the emulator's outage faults: circuit opening, fallback, fail-fast without an eligible
//! connector, recovery, two gateways sharing one breaker state, operator overrides, and merchant
//! webhooks (signature, retries with backoff, delivery log, replay).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use engine::console::Console;
use engine::console_ops::{ForceCircuit, SetCircuitSettings};
use engine::payments::Payments;
use psp_emulator::faults::{FaultSpec, OutageKind};
use routing::{ConnectorId, Mode, Phase};
use serde_json::{Value, json};
use sqlx::PgPool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;

mod common;

struct Gw {
    url: String,
    payments: Payments,
    _health: engine::health::Background,
}

struct Env {
    merchant_id: Uuid,
    key: String,
    us: ConnectorId,
    eu: ConnectorId,
    us_key: String,
    emulator: psp_emulator::Emulator,
    client: reqwest::Client,
    pool: PgPool,
}

async fn start_gateway(pool: &PgPool) -> Gw {
    let payments = common::payments(pool, Duration::from_millis(700), common::test_keys());
    let health = engine::health::spawn(pool.clone(), payments.config().clone());
    let url = common::serve(payments.clone()).await;
    Gw {
        url,
        payments,
        _health: health,
    }
}

/// Merchant with "Stripe US" (weight 100) and "Stripe EU" (weight 0, primary) on the emulator:
/// the default route is US then EU. US's breaker: 5 samples, 50 %, 1 s cool-down.
async fn env(pool: PgPool) -> Env {
    let emulator = common::emulator().await;
    let (merchant_id, key) = common::seed_merchant(&pool, "Health Test Merchant").await;
    let common::UsEu { us, eu, us_key } =
        common::seed_stripe_us_eu(&pool, merchant_id, &emulator.base_url()).await;
    let console = Console::new(pool.clone(), merchant_id, "test-operator");
    console
        .set_circuit_settings(SetCircuitSettings {
            connector_id: us.id.to_string(),
            failure_threshold_pct: 50,
            window_ms: 10_000,
            min_samples: 5,
            cooldown_ms: 1_000,
            probe_interval_ms: 100,
            reason: "fast breaker for the test".into(),
        })
        .await
        .unwrap();
    Env {
        merchant_id,
        key,
        us: us.id,
        eu: eu.id,
        us_key,
        emulator,
        client: reqwest::Client::new(),
        pool,
    }
}

fn checkout() -> Value {
    json!({
        "amount": 2000,
        "currency": "USD",
        "payment_method": {"type": "card", "tokens": [{"token": "pm_card_visa", "scope": {"type": "provider", "provider": "stripe"}}]},
        "billing": {"country": "US"},
        "merchant_reference": "order-health",
    })
}

impl Env {
    async fn pay(&self, gw: &Gw) -> Value {
        let r = self
            .client
            .post(format!("{}/v1/payments", gw.url))
            .bearer_auth(&self.key)
            .header("idempotency-key", Uuid::new_v4().to_string())
            .json(&checkout())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        r.json().await.unwrap()
    }

    fn outage(&self, down: bool) {
        if down {
            self.emulator
                .faults()
                .set(FaultSpec::for_key(&self.us_key).outage(
                    Duration::ZERO,
                    Duration::from_secs(3600),
                    OutageKind::Error,
                ))
                .unwrap();
        } else {
            self.emulator.faults().clear_scope(Some(&self.us_key));
        }
    }

    async fn attempts_on(&self, c: ConnectorId) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM attempts WHERE connector_id = $1")
            .bind(c.0)
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }

    async fn persisted(&self, c: ConnectorId) -> String {
        sqlx::query_scalar("SELECT circuit FROM connectors WHERE id = $1")
            .bind(c.0)
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }

    /// Waits up to `limit` for the persisted circuit of `c` to be `state`; returns the wait.
    async fn wait_persisted(&self, c: ConnectorId, state: &str, limit: Duration) -> Duration {
        let t0 = Instant::now();
        while self.persisted(c).await != state {
            assert!(t0.elapsed() < limit, "circuit never became {state}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        t0.elapsed()
    }
}

fn connector_names(p: &Value) -> Vec<String> {
    p["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["connector_name"].as_str().unwrap().to_owned())
        .collect()
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn outage_opens_the_circuit_traffic_falls_back_and_recovery_closes_it(pool: PgPool) {
    let e = env(pool).await;
    let gw = start_gateway(&e.pool).await;
    e.outage(true);
    for _ in 0..20 {
        let p = e.pay(&gw).await;
        // The backup takes every payment: none fails because of the outage.
        assert_eq!(p["status"], "captured", "{p}");
    }
    // Sequential traffic: exactly min_samples calls reached the dead provider, then the
    // breaker opened and US was skipped.
    assert_eq!(e.attempts_on(e.us).await, 5);
    assert_eq!(e.attempts_on(e.eu).await, 20);
    let p = e.pay(&gw).await;
    assert_eq!(connector_names(&p), vec!["Stripe EU"]);
    let route: Value = sqlx::query_scalar("SELECT route FROM payments WHERE id = $1::text::uuid")
        .bind(p["id"].as_str().unwrap())
        .fetch_one(&e.pool)
        .await
        .unwrap();
    assert!(route.to_string().contains("circuit_open"), "{route}");
    e.wait_persisted(e.us, "open", Duration::from_secs(2)).await;
    let (cause, detail): (String, String) = sqlx::query_as(
        "SELECT cause, detail FROM connector_health_events WHERE connector_id = $1 AND to_state = 'open'",
    )
    .bind(e.us.0)
    .fetch_one(&e.pool)
    .await
    .unwrap();
    assert_eq!(cause, "breaker");
    assert!(detail.contains("5 of 5"), "{detail}");

    // Still down after the cool-down: the probe fails and the circuit re-opens.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let p = e.pay(&gw).await;
    assert_eq!(connector_names(&p), vec!["Stripe US", "Stripe EU"]);
    assert_eq!(p["status"], "captured");
    e.wait_persisted(e.us, "open", Duration::from_secs(2)).await;

    // Restored: after the cool-down one probe succeeds and closes the circuit.
    e.outage(false);
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let p = e.pay(&gw).await;
    assert_eq!(connector_names(&p), vec!["Stripe US"]);
    e.wait_persisted(e.us, "closed", Duration::from_secs(2))
        .await;
    let p = e.pay(&gw).await;
    assert_eq!(connector_names(&p), vec!["Stripe US"]);
    let states: Vec<String> = sqlx::query_scalar(
        "SELECT from_state || '>' || to_state FROM connector_health_events WHERE connector_id = $1 AND cause = 'breaker' ORDER BY id",
    )
    .bind(e.us.0)
    .fetch_all(&e.pool)
    .await
    .unwrap();
    assert_eq!(
        states,
        vec![
            "closed>open",
            "open>half_open",
            "half_open>open",
            "open>half_open",
            "half_open>closed"
        ]
    );
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn no_eligible_connector_fails_fast_without_calling_anyone(pool: PgPool) {
    let e = env(pool).await;
    let gw = start_gateway(&e.pool).await;
    e.pay(&gw).await; // caches the config
    let console = Console::new(e.pool.clone(), e.merchant_id, "alice");
    for c in [e.us, e.eu] {
        let v = console
            .force_circuit(ForceCircuit {
                connector_id: c.to_string(),
                mode: "open".into(),
                reason: "provider incident INC-7".into(),
            })
            .await
            .unwrap();
        assert_eq!(
            (v.circuit.as_str(), v.forced.as_deref()),
            ("open", Some("open"))
        );
    }
    let calls_before = e.emulator.stats().total.requests;
    let p = e.pay(&gw).await;
    assert_eq!(p["status"], "failed");
    assert_eq!(p["failure"]["code"], "no_eligible_connector", "{p}");
    assert!(p["route"].to_string().contains("circuit_open"));
    assert!(p["attempts"].as_array().unwrap().is_empty());
    assert_eq!(e.emulator.stats().total.requests, calls_before);
    // Audited with the operator and reason; logged as operator health events.
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log WHERE actor = 'alice' AND reason = 'provider incident INC-7'",
    )
    .fetch_one(&e.pool)
    .await
    .unwrap();
    assert_eq!(audited, 2);
    let events = console.health_events(None, 10).await.unwrap();
    assert_eq!(events.len(), 2);
    assert!(
        events
            .iter()
            .all(|h| h.cause == "operator" && h.actor == "alice")
    );

    // Forced closed: traffic flows even though the provider is down (operator's call).
    console
        .force_circuit(ForceCircuit {
            connector_id: e.us.to_string(),
            mode: "closed".into(),
            reason: "false alarm".into(),
        })
        .await
        .unwrap();
    let p = e.pay(&gw).await;
    assert_eq!(connector_names(&p), vec!["Stripe US"]);
    let bad = console
        .force_circuit(ForceCircuit {
            connector_id: e.us.to_string(),
            mode: "sideways".into(),
            reason: "nope".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), "invalid_circuit_mode");
    let no_reason = console
        .force_circuit(ForceCircuit {
            connector_id: e.us.to_string(),
            mode: "auto".into(),
            reason: " ".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(no_reason.code(), "reason_required");
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_second_gateway_adopts_the_open_circuit_within_a_second(pool: PgPool) {
    let e = env(pool).await;
    let gw1 = start_gateway(&e.pool).await;
    let gw2 = start_gateway(&e.pool).await;
    e.pay(&gw2).await; // gw2 has the merchant cached, circuit closed
    assert_eq!(
        gw2.payments.config().health().phase(e.merchant_id, e.us),
        Some(Phase::Closed)
    );
    e.outage(true);
    for _ in 0..5 {
        e.pay(&gw1).await;
    }
    let t0 = Instant::now();
    while gw2.payments.config().health().phase(e.merchant_id, e.us) != Some(Phase::Open) {
        // The figure (<= 1 s) is measured by switchboard-drill; here the bound only proves that
        // gw2 adopted it without traffic of its own (NOTIFY, or the 1 s poll).
        assert!(
            t0.elapsed() < Duration::from_secs(3),
            "gw2 did not adopt the open circuit"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // gw2 never called the dead provider.
    let before = e.attempts_on(e.us).await;
    let p = e.pay(&gw2).await;
    assert_eq!(connector_names(&p), vec!["Stripe EU"]);
    assert_eq!(e.attempts_on(e.us).await, before);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_weight_change_reaches_a_listening_gateway_without_traffic(pool: PgPool) {
    let e = env(pool).await;
    let gw = start_gateway(&e.pool).await;
    e.pay(&gw).await;
    let v0 = gw
        .payments
        .config()
        .get(e.merchant_id, Mode::Test)
        .await
        .unwrap()
        .version;
    let console = Console::new(e.pool.clone(), e.merchant_id, "bob");
    console
        .set_weight(engine::views::SetWeight {
            connector_id: e.us.to_string(),
            weight: 0,
            reason: "drain".into(),
        })
        .await
        .unwrap();
    let t0 = Instant::now();
    loop {
        // `get` answers from the cache (5 s max age) unless the listener reloaded it.
        let cfg = gw
            .payments
            .config()
            .get(e.merchant_id, Mode::Test)
            .await
            .unwrap();
        if cfg.version > v0 {
            let us = cfg
                .connectors
                .iter()
                .find(|c| c.connector.id == e.us)
                .unwrap();
            assert_eq!(us.connector.weight, 0);
            break;
        }
        // Below the cache's 5 s max age: only the listener (or the 1 s poll) reloads it.
        assert!(t0.elapsed() < Duration::from_secs(3), "not reloaded");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Requests a test receiver got: (signature header, body).
type Received = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn a_fallback_skips_a_step_whose_circuit_opened_after_routing(pool: PgPool) {
    let e = env(pool).await;
    // A third connector between US and EU on an explicit path.
    let mid = common::stripe_connector("Stripe Mid", 0, false);
    let mid_key = format!("sk_test_mid_{}", Uuid::new_v4().simple());
    store::config::insert_connector(
        &e.pool,
        &common::test_keys(),
        e.merchant_id,
        &mid,
        &e.emulator.base_url(),
        &mid_key,
        "t",
    )
    .await
    .unwrap();
    let policy = routing::Policy {
        rules: vec![routing::Rule {
            name: "everything".into(),
            conditions: vec![],
            action: routing::RuleAction::Path {
                connectors: vec![e.us, mid.id, e.eu],
            },
        }],
        ..routing::Policy::default()
    };
    store::config::publish_policy(&e.pool, e.merchant_id, Mode::Test, &policy, "path")
        .await
        .unwrap();
    let gw = start_gateway(&e.pool).await;
    // US answers 503 after 400 ms; meanwhile an operator opens Mid's circuit.
    e.emulator
        .faults()
        .set(
            FaultSpec::for_key(&e.us_key)
                .latency(Duration::from_millis(400))
                .error_rate(1.0)
                .error_status(503),
        )
        .unwrap();
    let client = e.client.clone();
    let (url, key) = (gw.url.clone(), e.key.clone());
    let pending = tokio::spawn(async move {
        client
            .post(format!("{url}/v1/payments"))
            .bearer_auth(&key)
            .header("idempotency-key", Uuid::new_v4().to_string())
            .json(&checkout())
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    Console::new(e.pool.clone(), e.merchant_id, "grace")
        .force_circuit(ForceCircuit {
            connector_id: mid.id.to_string(),
            mode: "open".into(),
            reason: "incident on Mid".into(),
        })
        .await
        .unwrap();
    let p = pending.await.unwrap();
    let route = p["route"].to_string();
    assert!(
        route.contains("Stripe Mid"),
        "Mid was on the decided path: {route}"
    );
    assert_eq!(connector_names(&p), vec!["Stripe US", "Stripe EU"], "{p}");
    assert_eq!(p["status"], "captured");
    let mid_calls = e
        .emulator
        .stats()
        .by_key
        .get(&mid_key)
        .map_or(0, |k| k.requests);
    assert_eq!(mid_calls, 0);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn transitions_are_compare_and_set_on_the_generation(pool: PgPool) {
    let e = env(pool).await;
    let row = store::health::load_circuit(&e.pool, e.merchant_id, e.us.0)
        .await
        .unwrap()
        .unwrap();
    let g = row.state.generation;
    let t = routing::Transition {
        from: Phase::Closed,
        to: Phase::Open,
        from_generation: g,
        at_ms: 1_000,
        reason: routing::TransitionReason::FailureRate {
            failures: 5,
            samples: 5,
        },
    };
    let w = |t| store::health::write_transition(&e.pool, e.merchant_id, e.us.0, t, "gw-a", "x");
    assert!(w(&t).await.unwrap(), "first writer wins");
    assert!(
        !w(&t).await.unwrap(),
        "the same transition from a stale generation is refused"
    );
    let after = store::health::load_circuit(&e.pool, e.merchant_id, e.us.0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (after.state.phase, after.state.generation),
        (Phase::Open, g + 1)
    );
    // An operator override blocks automatic transitions.
    let console = Console::new(e.pool.clone(), e.merchant_id, "erin");
    console
        .force_circuit(ForceCircuit {
            connector_id: e.us.to_string(),
            mode: "closed".into(),
            reason: "maintenance window".into(),
        })
        .await
        .unwrap();
    let t2 = routing::Transition {
        from: Phase::Closed,
        to: Phase::Open,
        from_generation: g + 2,
        ..t
    };
    assert!(
        !w(&t2).await.unwrap(),
        "forced circuits never move automatically"
    );
    let audit: Vec<(String, String)> = sqlx::query_as(
        "SELECT actor, reason FROM audit_log WHERE entity_id = $1 AND action = 'update' ORDER BY id",
    )
    .bind(e.us.to_string())
    .fetch_all(&e.pool)
    .await
    .unwrap();
    assert!(audit.contains(&("gw-a".into(), "x".into())), "{audit:?}");
    assert!(
        audit.contains(&("erin".into(), "maintenance window".into())),
        "{audit:?}"
    );
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn the_poll_reloads_a_config_whose_notification_was_missed(pool: PgPool) {
    let e = env(pool).await;
    // A gateway without the listener tasks: only the poll function is exercised.
    let payments = common::payments(&e.pool, Duration::from_secs(1), common::test_keys());
    let cfg = payments.config();
    let v0 = cfg.get(e.merchant_id, Mode::Test).await.unwrap().version;
    Console::new(e.pool.clone(), e.merchant_id, "frank")
        .force_circuit(ForceCircuit {
            connector_id: e.us.to_string(),
            mode: "open".into(),
            reason: "poll test".into(),
        })
        .await
        .unwrap();
    assert_eq!(
        cfg.get(e.merchant_id, Mode::Test).await.unwrap().version,
        v0,
        "still cached"
    );
    assert_eq!(cfg.health().phase(e.merchant_id, e.us), Some(Phase::Closed));
    cfg.refresh_stale().await;
    assert!(cfg.get(e.merchant_id, Mode::Test).await.unwrap().version > v0);
    assert_eq!(cfg.health().phase(e.merchant_id, e.us), Some(Phase::Open));
}

/// A merchant endpoint on 127.0.0.1:0 that answers 500 to the first `fail_first` requests.
async fn receiver(fail_first: usize) -> (String, Received) {
    let got: Received = Arc::default();
    let seen = got.clone();
    let app = axum::Router::new().route(
        "/hooks",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let seen = seen.clone();
                async move {
                    let sig = headers
                        .get("switchboard-signature")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    let mut g = seen.lock().unwrap();
                    g.push((sig, body.to_vec()));
                    if g.len() <= fail_first {
                        axum::http::StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        axum::http::StatusCode::OK
                    }
                }
            },
        ),
    );
    let url = format!("{}/hooks", common::serve_router(app).await);
    (url, got)
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn merchant_webhooks_are_signed_retried_logged_and_replayable(pool: PgPool) {
    let e = env(pool).await;
    let gw = start_gateway(&e.pool).await;
    let (url, got) = receiver(1).await;
    let secret = "whsec_merchant_test_secret";
    let keys = common::test_keys();
    store::outbox::set_endpoint(&e.pool, &keys, e.merchant_id, &url, &secret.into(), true)
        .await
        .unwrap();
    let p = e.pay(&gw).await;
    let pid = p["id"].as_str().unwrap().to_owned();
    // The outbox rows exist as soon as the payment's statements committed.
    let types: Vec<String> = sqlx::query_scalar(
        "SELECT event_type FROM merchant_webhook_outbox WHERE payment_id = $1::text::uuid ORDER BY id",
    )
    .bind(&pid)
    .fetch_all(&e.pool)
    .await
    .unwrap();
    assert_eq!(types, vec!["payment.processing", "payment.captured"]);

    let client = reqwest::Client::new();
    let retry = engine::merchant_webhooks::RetryPolicy {
        base_ms: 300,
        max_ms: 1_000,
        max_attempts: 3,
    };
    assert_eq!(
        engine::merchant_webhooks::run_once(&e.pool, &keys, &client, &retry)
            .await
            .unwrap(),
        2
    );
    // One of the two got a 500 and is scheduled 300 ms later; nothing is due right now.
    assert_eq!(
        engine::merchant_webhooks::run_once(&e.pool, &keys, &client, &retry)
            .await
            .unwrap(),
        0
    );
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(
        engine::merchant_webhooks::run_once(&e.pool, &keys, &client, &retry)
            .await
            .unwrap(),
        1
    );
    let console = Console::new(e.pool.clone(), e.merchant_id, "carol");
    let hooks = console.merchant_webhooks(&pid).await.unwrap();
    assert_eq!(hooks.len(), 2);
    assert!(hooks.iter().all(|h| h.status == "delivered"));
    let all: Vec<_> = hooks.iter().flat_map(|h| h.deliveries.iter()).collect();
    assert_eq!(all.len(), 3);
    assert_eq!(
        all.iter()
            .filter(|d| d.status_code == Some(500) && d.error.as_deref() == Some("HTTP 500"))
            .count(),
        1
    );
    // Every body carries a valid signature over "t.body" with the merchant's secret, and
    // a different secret or a changed body fails.
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    for (sig, body) in got.lock().unwrap().iter() {
        assert!(engine::merchant_webhooks::verify(
            secret.as_bytes(),
            sig,
            body,
            now
        ));
        assert!(!engine::merchant_webhooks::verify(b"other", sig, body, now));
        let mut tampered = body.clone();
        tampered[0] ^= 1;
        assert!(!engine::merchant_webhooks::verify(
            secret.as_bytes(),
            sig,
            &tampered,
            now
        ));
        assert!(!engine::merchant_webhooks::verify(
            secret.as_bytes(),
            sig,
            body,
            now + 301
        ));
        let v: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(v["data"]["payment_id"], pid.as_str());
        assert_eq!(v["data"]["amount"], 2000);
    }
    // Replay from the console: logged with the operator.
    let d = console
        .replay_merchant_webhook(&keys, hooks[1].id)
        .await
        .unwrap();
    assert_eq!(d.status_code, Some(200));
    let hooks = console.merchant_webhooks(&pid).await.unwrap();
    let replay = hooks[1].deliveries.last().unwrap();
    assert_eq!(
        (replay.source.as_str(), replay.actor.as_deref()),
        ("replay", Some("carol"))
    );
    assert_eq!(got.lock().unwrap().len(), 4);
    assert_eq!(
        console
            .replay_merchant_webhook(&keys, 999_999)
            .await
            .unwrap_err()
            .code(),
        "not_found"
    );
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn webhooks_give_up_after_max_attempts_and_nothing_is_queued_without_endpoint(pool: PgPool) {
    let e = env(pool).await;
    let gw = start_gateway(&e.pool).await;
    e.pay(&gw).await;
    let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM merchant_webhook_outbox")
        .fetch_one(&e.pool)
        .await
        .unwrap();
    assert_eq!(queued, 0, "no endpoint: nothing to deliver");
    // An endpoint that refuses connections.
    let keys = common::test_keys();
    store::outbox::set_endpoint(
        &e.pool,
        &keys,
        e.merchant_id,
        "http://127.0.0.1:9/none",
        &"s3cret".into(),
        true,
    )
    .await
    .unwrap();
    let p = e.pay(&gw).await;
    let retry = engine::merchant_webhooks::RetryPolicy {
        base_ms: 10,
        max_ms: 20,
        max_attempts: 2,
    };
    let client = reqwest::Client::new();
    for _ in 0..2 {
        engine::merchant_webhooks::run_once(&e.pool, &keys, &client, &retry)
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let console = Console::new(e.pool.clone(), e.merchant_id, "dave");
    let hooks = console
        .merchant_webhooks(p["id"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(hooks.len(), 2);
    for h in &hooks {
        assert_eq!((h.status.as_str(), h.attempts), ("failed", 2), "{h:?}");
        assert!(
            h.deliveries
                .iter()
                .all(|d| d.status_code.is_none() && d.error.is_some())
        );
    }
    assert_eq!(
        engine::merchant_webhooks::run_once(&e.pool, &keys, &client, &retry)
            .await
            .unwrap(),
        0
    );
}

#[test]
fn retry_delays_double_and_cap() {
    let r = engine::merchant_webhooks::RetryPolicy::default();
    let d: Vec<u64> = (1..=4).map(|a| r.delay(a).as_millis() as u64).collect();
    assert_eq!(d, vec![1_000, 2_000, 4_000, 8_000]);
    assert_eq!(r.delay(30).as_millis(), 3_600_000);
}
