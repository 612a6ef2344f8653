//! The background reconciler against a real Postgres (fresh database per test), the gateway over
//! real HTTP on 127.0.0.1:0 and the Stripe emulator: unknown payments are driven to a final
//! state with exactly one charge, retries are bounded and leave a reason, and two reconcilers
//! never work on the same attempt.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use engine::payments::{Clock, Payments, RandomRolls};
use engine::reconciler::{Reconciler, ReconcilerSettings};
use psp_emulator::faults::{FaultSpec, HangMode};
use routing::Provider;
use serde_json::{Value, json};
use sqlx::PgPool;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;

/// A clock tests move by hand.
struct ManualClock(Mutex<OffsetDateTime>);
impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap()
    }
}
impl ManualClock {
    fn advance(&self, d: Duration) {
        *self.0.lock().unwrap() += d;
    }
}

struct Env {
    url: String,
    key: String,
    us_key: String,
    merchant_id: Uuid,
    emulator: psp_emulator::Emulator,
    payments: Payments,
    clock: Arc<ManualClock>,
    pool: PgPool,
}

async fn start(pool: PgPool) -> Env {
    let emulator = common::emulator().await;
    let (merchant_id, key) = common::seed_merchant(&pool, "Reconcile Merchant").await;
    let us_key = format!("sk_test_us_{}", Uuid::new_v4().simple());
    let c = common::stripe_connector("Stripe US", 100, true);
    let keys = Arc::new(vault::Keyset::generate(&mut rand::rng()));
    store::config::insert_connector(
        &pool,
        &keys,
        merchant_id,
        &c,
        &emulator.base_url(),
        &us_key,
        "t",
    )
    .await
    .unwrap();
    let clock = Arc::new(ManualClock(Mutex::new(OffsetDateTime::now_utc())));
    let payments = Payments::new(
        pool.clone(),
        common::executor(Duration::from_millis(600)),
        clock.clone(),
        Arc::new(RandomRolls),
    )
    .with_keys(keys);
    let url = common::serve(payments.clone()).await;
    Env {
        url,
        key,
        us_key,
        merchant_id,
        emulator,
        payments,
        clock,
        pool,
    }
}

impl Env {
    async fn pay(&self, idem: &str) -> Value {
        let body = json!({
            "amount": 2000, "currency": "USD",
            "payment_method": {"type": "card", "tokens": [{"token": "pm_card_visa", "scope": {"type": "provider", "provider": "stripe"}}]},
            "billing": {"country": "US"},
        });
        let r = reqwest::Client::new()
            .post(format!("{}/v1/payments", self.url))
            .bearer_auth(&self.key)
            .header("Idempotency-Key", idem)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        r.json().await.unwrap()
    }

    /// Every POST (the authorize and its replay) is charged but its answer withheld for 2 s.
    fn hang_after(&self, count: u64) {
        self.emulator
            .faults()
            .set(
                FaultSpec::for_key(self.us_key.clone())
                    .hang(HangMode::After)
                    .hang_for(Duration::from_secs(2))
                    .hang_count(count),
            )
            .unwrap();
    }

    async fn payment(&self, id: &str) -> store::read::PaymentRow {
        store::read::payment(&self.pool, self.merchant_id, Uuid::parse_str(id).unwrap())
            .await
            .unwrap()
            .unwrap()
    }

    async fn event_kinds(&self, id: &str) -> Vec<String> {
        common::event_kinds(&self.pool, self.merchant_id, id).await
    }

    async fn review(&self, id: &str) -> (bool, Option<String>) {
        common::review(&self.pool, id).await
    }
}

fn settings(max_tries: i32) -> ReconcilerSettings {
    ReconcilerSettings {
        interval: Duration::from_millis(50),
        batch: 10,
        max_tries,
        base_backoff: Duration::from_secs(10),
        max_backoff: Duration::from_secs(60),
        lease: Duration::from_secs(30),
    }
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn unknown_payment_is_captured_by_the_reconciler_with_one_charge(pool: PgPool) {
    let env = start(pool).await;
    env.hang_after(2); // the authorize and the in-line replay both time out
    let p = env.pay("k1").await;
    assert_eq!(p["status"], "unknown", "{p}");
    assert_eq!(
        p["attempts"].as_array().unwrap().len(),
        1,
        "no fallback while unknown: {p}"
    );
    let id = p["id"].as_str().unwrap();

    let r = Reconciler::new(env.payments.clone(), settings(5));
    let report = r.run_once().await.unwrap();
    assert_eq!((report.claimed, report.resolved), (1, 1), "{report:?}");
    let row = env.payment(id).await;
    assert_eq!(row.status, "captured");
    assert_eq!(row.captured_minor, 2000);
    assert_eq!(
        env.emulator.stripe_payment_intents(&env.us_key).len(),
        1,
        "exactly one charge"
    );
    let kinds = env.event_kinds(id).await;
    assert!(
        kinds.iter().filter(|k| *k == "attempt_reconciled").count() >= 2,
        "{kinds:?}"
    );
    assert!(kinds.iter().any(|k| k == "status_changed"), "{kinds:?}");
    // Nothing left to do.
    assert_eq!(r.run_once().await.unwrap().claimed, 0);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn reconciler_backs_off_then_gives_up_and_says_why(pool: PgPool) {
    let env = start(pool).await;
    env.hang_after(100); // every replay times out too
    let p = env.pay("k1").await;
    assert_eq!(p["status"], "unknown", "{p}");
    let id = p["id"].as_str().unwrap();
    let attempt = Uuid::parse_str(p["attempts"][0]["id"].as_str().unwrap()).unwrap();
    let r = Reconciler::new(env.payments.clone(), settings(2));

    let first = r.run_once().await.unwrap();
    assert_eq!((first.claimed, first.retried), (1, 1), "{first:?}");
    let (tries, next, err, gave_up) =
        store::reconcile::reconcile_state(&env.pool, env.merchant_id, attempt)
            .await
            .unwrap()
            .unwrap();
    assert_eq!(tries, 1);
    assert!(gave_up.is_none());
    assert!(err.unwrap().contains("try 1"));
    let wait = next.unwrap() - env.clock.now();
    assert!(
        wait > time::Duration::seconds(9) && wait <= time::Duration::seconds(10),
        "{wait}"
    );
    // Not due yet: nothing claimed.
    assert_eq!(r.run_once().await.unwrap().claimed, 0);

    env.clock.advance(Duration::from_secs(11));
    let second = r.run_once().await.unwrap();
    assert_eq!((second.claimed, second.gave_up), (1, 1), "{second:?}");
    let row = env.payment(id).await;
    assert_eq!(row.status, "unknown", "never silently failed");
    let (flagged, reason) = env.review(id).await;
    assert!(flagged);
    assert!(reason.unwrap().contains("gave up after 2 tries"));
    assert!(
        env.event_kinds(id)
            .await
            .iter()
            .any(|k| k == "reconcile_gave_up")
    );
    env.clock.advance(Duration::from_secs(3600));
    assert_eq!(
        r.run_once().await.unwrap().claimed,
        0,
        "given up: not claimed again"
    );
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn two_reconcilers_never_claim_the_same_attempt(pool: PgPool) {
    let env = start(pool).await;
    env.hang_after(2);
    let p = env.pay("k1").await;
    assert_eq!(p["status"], "unknown", "{p}");
    let a = Reconciler::new(env.payments.clone(), settings(5));
    let b = Reconciler::new(env.payments.clone(), settings(5));
    let (ra, rb) = tokio::join!(a.run_once(), b.run_once());
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(ra.claimed + rb.claimed, 1, "{ra:?} {rb:?}");
    assert_eq!(ra.resolved + rb.resolved, 1);
    assert_eq!(
        env.payment(p["id"].as_str().unwrap()).await.status,
        "captured"
    );
    assert_eq!(env.emulator.stripe_payment_intents(&env.us_key).len(), 1);
}

mod common;

/// Every provider: the authorize and the in-line replay both time out (the charge is made but
/// never answered), the payment stays `unknown` with no fallback, and the background reconciler
/// (or, for Mollie, whichever of its retrieve and the signed webhook comes first) captures it
/// with exactly one charge at the emulator.
async fn background_reconciliation(pool: PgPool, p: Provider) {
    let (token, currency) = match p {
        Provider::Stripe => ("pm_card_visa", "USD"),
        Provider::Square => ("cnon:card-nonce-ok", "USD"),
        Provider::Braintree => ("fake-valid-nonce", "USD"),
        Provider::Mollie => ("tkn_emuapprove", "EUR"),
        Provider::Simulator => unreachable!(),
    };
    let env = common::start(
        pool,
        vec![
            common::spec("A", p, 100, false),
            common::spec("B", p, 0, true),
        ],
        Duration::from_millis(600),
    )
    .await;
    let a = env.conn("A").clone();
    env.emulator
        .faults()
        .set(
            FaultSpec::for_key(a.api_key.clone())
                .hang(HangMode::After)
                .hang_for(Duration::from_secs(2))
                .hang_count(2),
        )
        .unwrap();
    let r = env.pay(&common::checkout(p, token, 2000, currency)).await;
    assert_eq!(r["status"], "unknown", "{p:?}: {r}");
    assert_eq!(
        r["attempts"].as_array().unwrap().len(),
        1,
        "no fallback while unknown: {r}"
    );
    let id = r["id"].as_str().unwrap();
    let rec = Reconciler::new(
        env.payments.clone(),
        ReconcilerSettings {
            base_backoff: Duration::ZERO,
            ..settings(5)
        },
    );
    let mut done = Value::Null;
    for _ in 0..5 {
        rec.run_once().await.unwrap();
        done = env.get(id).await;
        if done["status"] == "captured" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(done["status"], "captured", "{p:?}: {done}");
    assert_eq!(done["attempts"][0]["status"], "succeeded", "{done}");
    let charges = common::charges(&env.emulator, p, &a.api_key);
    assert_eq!(charges, 1, "{p:?}: exactly one charge");
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn stripe_unknown_is_reconciled_in_the_background(pool: PgPool) {
    background_reconciliation(pool, Provider::Stripe).await
}
#[sqlx::test(migrator = "store::MIGRATOR")]
async fn square_unknown_is_reconciled_in_the_background(pool: PgPool) {
    background_reconciliation(pool, Provider::Square).await
}
#[sqlx::test(migrator = "store::MIGRATOR")]
async fn braintree_unknown_is_reconciled_in_the_background(pool: PgPool) {
    background_reconciliation(pool, Provider::Braintree).await
}
#[sqlx::test(migrator = "store::MIGRATOR")]
async fn mollie_unknown_is_reconciled_in_the_background(pool: PgPool) {
    background_reconciliation(pool, Provider::Mollie).await
}
