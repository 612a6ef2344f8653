//! Reconciling unknown Stripe authorizations against the real psp-emulator: replaying the original
//! authorize with its idempotency key, the lagging search, and amounts checked before any call.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use providers::stripe::SEARCH_EMPTY_MESSAGE;
use providers::{AuthorizeRequest, CaptureRequest, ConnectorAccount, RefundRequest};
use psp_emulator::Emulator;
use psp_emulator::faults::{ErrorPhase, FaultSpec, HangMode};
use routing::{CaptureMode, Money, OutcomeClass, Provider};
use std::collections::BTreeMap;
use std::time::Duration;

mod common;
use common::{emulator, executor, hang_after_once, money, retrieve};

const KEY: &str = "sk_test_reconcile_0001";

fn account(emu: &Emulator) -> ConnectorAccount {
    common::account(Provider::Stripe, emu.base_url(), KEY)
}

fn authorize(key: &str, money: Money, capture: CaptureMode) -> AuthorizeRequest {
    AuthorizeRequest {
        idempotency_key: key.to_owned(),
        payment_id: format!("pay-{key}"),
        money,
        capture,
        token: "pm_card_visa".to_owned(),
        merchant_reference: Some("ord-1".to_owned()),
        metadata: BTreeMap::from([("cart".to_owned(), "a b&c".to_owned())]),
    }
}

fn pi_ids(emu: &Emulator) -> Vec<String> {
    emu.stripe_payment_intents(KEY)
        .iter()
        .map(|pi| pi["id"].as_str().unwrap().to_owned())
        .collect()
}

fn outcome(emu: &Emulator, name: &str) -> u64 {
    emu.stats()
        .by_key
        .get(KEY)
        .and_then(|k| k.by_outcome.get(name).copied())
        .unwrap_or(0)
}

#[tokio::test]
async fn timeout_after_processing_then_replay_returns_the_one_charge() {
    let emu = emulator().await;
    hang_after_once(&emu, KEY);
    let exec = executor();
    let acct = account(&emu);
    let req = authorize("att-hang-after", money(2000, "USD"), CaptureMode::Automatic);

    let first = exec.authorize(&acct, &req).await;
    assert_eq!(first.class, OutcomeClass::UnknownOutcome, "{first:?}");
    assert_eq!(first.http_status, None, "timed out: no answer");
    assert_eq!(first.provider_reference, None);
    let charged = pi_ids(&emu);
    assert_eq!(charged.len(), 1, "processed before the answer was withheld");

    // The first request is still held by the emulator; the key is no longer in flight.
    let found = exec.retrieve(&acct, &retrieve(&req, true)).await;
    assert_eq!(
        (found.class, found.captured),
        (OutcomeClass::Approved, true),
        "{found:?}"
    );
    assert_eq!(
        found.provider_reference.as_deref(),
        Some(charged[0].as_str())
    );
    assert_eq!(found.provider_status.as_deref(), Some("succeeded"));
    assert_eq!(found.http_status, Some(200));
    assert!(
        found
            .message
            .as_deref()
            .unwrap()
            .contains("saved response of the original request"),
        "{found:?}"
    );
    assert_eq!(pi_ids(&emu), charged, "exactly one PaymentIntent");
    assert_eq!(outcome(&emu, "idempotent_replay"), 1);
    assert_eq!(outcome(&emu, "idempotency_conflict"), 0);
    emu.shutdown().await;
}

#[tokio::test]
async fn timeout_before_processing_then_replay_charges_exactly_once() {
    let emu = emulator().await;
    emu.faults()
        .set(
            FaultSpec::for_key(KEY)
                .hang(HangMode::Before)
                .hang_for(Duration::from_secs(30))
                .hang_count(1),
        )
        .unwrap();
    let exec = executor();
    let acct = account(&emu);
    let req = authorize("att-hang-before", money(1500, "EUR"), CaptureMode::Manual);

    let first = exec.authorize(&acct, &req).await;
    assert_eq!(first.class, OutcomeClass::UnknownOutcome, "{first:?}");
    assert!(pi_ids(&emu).is_empty(), "nothing processed yet");

    let found = exec.retrieve(&acct, &retrieve(&req, true)).await;
    assert_eq!(
        (found.class, found.captured),
        (OutcomeClass::Approved, false),
        "{found:?}"
    );
    let ids = pi_ids(&emu);
    assert_eq!(ids.len(), 1, "the replay executed the request once");
    assert_eq!(found.provider_reference.as_deref(), Some(ids[0].as_str()));
    assert_eq!(found.provider_status.as_deref(), Some("requires_capture"));
    assert_eq!(outcome(&emu, "idempotent_replay"), 0, "a fresh execution");

    // A second reconciliation replays the saved answer: still one charge.
    let again = exec.retrieve(&acct, &retrieve(&req, true)).await;
    assert_eq!(again.class, OutcomeClass::Approved);
    assert_eq!(again.provider_reference, found.provider_reference);
    assert_eq!(pi_ids(&emu), ids);
    assert_eq!(outcome(&emu, "idempotent_replay"), 1);
    emu.shutdown().await;
}

#[tokio::test]
async fn empty_search_without_original_is_unknown_and_a_hit_is_reread() {
    let emu = emulator().await;
    let exec = executor();
    let acct = account(&emu);
    let never = authorize("att-never-seen", money(2000, "USD"), CaptureMode::Automatic);
    let r = exec.retrieve(&acct, &retrieve(&never, false)).await;
    assert_eq!(r.class, OutcomeClass::UnknownOutcome, "{r:?}");
    assert_eq!(r.message.as_deref(), Some(SEARCH_EMPTY_MESSAGE));
    assert_eq!(r.http_status, Some(200));
    assert!(pi_ids(&emu).is_empty());

    // A PaymentIntent carrying the attempt id: found by search, then read by id.
    let req = authorize("att-searchable", money(2000, "USD"), CaptureMode::Manual);
    let a = exec.authorize(&acct, &req).await;
    assert_eq!(a.class, OutcomeClass::Approved, "{a:?}");
    let before = emu.stats().by_key[KEY].requests;
    let found = exec.retrieve(&acct, &retrieve(&req, false)).await;
    assert_eq!(
        (found.class, found.captured),
        (OutcomeClass::Approved, false),
        "{found:?}"
    );
    assert_eq!(found.provider_reference, a.provider_reference);
    assert_eq!(
        emu.stats().by_key[KEY].requests - before,
        2,
        "search, then GET by id"
    );
    assert_eq!(pi_ids(&emu).len(), 1, "a search never charges");
    emu.shutdown().await;
}

#[tokio::test]
async fn replayed_500_stays_unknown() {
    let emu = emulator().await;
    // The charge happens, its answer is replaced by a 500 that Stripe saves under the key.
    emu.faults()
        .set(
            FaultSpec::for_key(KEY)
                .error_rate(1.0)
                .error_phase(ErrorPhase::After)
                .methods(&["POST"]),
        )
        .unwrap();
    let exec = executor();
    let acct = account(&emu);
    let req = authorize("att-500", money(2000, "USD"), CaptureMode::Automatic);
    let first = exec.authorize(&acct, &req).await;
    assert_eq!(
        (first.class, first.http_status),
        (OutcomeClass::UnknownOutcome, Some(500)),
        "{first:?}"
    );
    assert_eq!(pi_ids(&emu).len(), 1);

    let r = exec.retrieve(&acct, &retrieve(&req, true)).await;
    assert_eq!(
        (r.class, r.http_status),
        (OutcomeClass::UnknownOutcome, Some(500)),
        "{r:?}"
    );
    assert!(
        r.message.as_deref().unwrap().contains("may hide a charge"),
        "{r:?}"
    );
    assert_eq!(outcome(&emu, "idempotent_replay"), 1, "the saved 500");
    assert_eq!(pi_ids(&emu).len(), 1, "the replay charged nothing more");

    // Without the original (GETs are not faulted here) the search finds the charge.
    let r = exec.retrieve(&acct, &retrieve(&req, false)).await;
    assert_eq!(r.class, OutcomeClass::Approved, "{r:?}");
    emu.shutdown().await;
}

#[tokio::test]
async fn replayed_decline_is_the_definitive_answer() {
    let emu = emulator().await;
    hang_after_once(&emu, KEY);
    let exec = executor();
    let acct = account(&emu);
    let mut req = authorize("att-declined", money(2000, "USD"), CaptureMode::Automatic);
    req.token = "pm_card_visa_chargeDeclinedInsufficientFunds".to_owned();
    assert_eq!(
        exec.authorize(&acct, &req).await.class,
        OutcomeClass::UnknownOutcome
    );
    let r = exec.retrieve(&acct, &retrieve(&req, true)).await;
    assert_eq!(r.class, OutcomeClass::SoftDecline, "{r:?}");
    assert_eq!(r.decline_code.as_deref(), Some("insufficient_funds"));
    assert_eq!(r.http_status, Some(402));
    emu.shutdown().await;
}

#[tokio::test]
async fn three_decimal_amounts_are_checked_before_any_call() {
    let emu = emulator().await;
    let exec = executor();
    let acct = account(&emu);

    let bad = authorize("att-kwd-bad", money(1235, "KWD"), CaptureMode::Manual);
    let r = exec.authorize(&acct, &bad).await;
    assert_eq!(r.class, OutcomeClass::ValidationError, "{r:?}");
    assert_eq!(r.http_status, None);
    let msg = r.message.as_deref().unwrap();
    assert!(msg.contains("multiple of 10"), "{msg}");
    assert!(msg.contains("currencies#three-decimal"), "{msg}");
    assert!(msg.contains("1230 or 1240"), "{msg}");
    assert_eq!(emu.stats().total.requests, 0, "no HTTP call");

    let good = authorize("att-kwd-good", money(1230, "KWD"), CaptureMode::Manual);
    let r = exec.authorize(&acct, &good).await;
    assert_eq!(r.class, OutcomeClass::Approved, "{r:?}");
    let pis = emu.stripe_payment_intents(KEY);
    assert_eq!(
        (pis[0]["amount"].as_i64(), pis[0]["currency"].as_str()),
        (Some(1230), Some("kwd"))
    );
    let pi = r.provider_reference.unwrap();
    let requests = emu.stats().total.requests;

    let cap = |minor| CaptureRequest {
        idempotency_key: format!("cap-{minor}"),
        provider_reference: pi.clone(),
        amount: Some(money(minor, "KWD")),
    };
    let r = exec.capture(&acct, &cap(1225)).await;
    assert_eq!(r.class, OutcomeClass::ValidationError, "{r:?}");
    assert_eq!(emu.stats().total.requests, requests, "no HTTP call");
    let r = exec.capture(&acct, &cap(1220)).await;
    assert_eq!(
        (r.class, r.captured),
        (OutcomeClass::Approved, true),
        "{r:?}"
    );

    let refund = |minor| RefundRequest {
        idempotency_key: format!("ref-{minor}"),
        provider_reference: pi.clone(),
        money: money(minor, "KWD"),
        reason: None,
    };
    let requests = emu.stats().total.requests;
    let r = exec.refund(&acct, &refund(5)).await;
    assert_eq!(r.class, OutcomeClass::ValidationError, "{r:?}");
    assert_eq!(emu.stats().total.requests, requests, "no HTTP call");
    let r = exec.refund(&acct, &refund(10)).await;
    assert_eq!(r.class, OutcomeClass::Approved, "{r:?}");

    // A retrieve whose original has such an amount: Stripe would have refused it, nothing charged.
    let requests = emu.stats().total.requests;
    let r = exec.retrieve(&acct, &retrieve(&bad, true)).await;
    assert_eq!(r.class, OutcomeClass::ValidationError, "{r:?}");
    assert_eq!(emu.stats().total.requests, requests, "no HTTP call");
    emu.shutdown().await;
}

#[tokio::test]
async fn zero_decimal_amounts_are_sent_as_is() {
    let emu = emulator().await;
    let exec = executor();
    let acct = account(&emu);
    for (currency, minor) in [("JPY", 500), ("KRW", 1235)] {
        let req = authorize(
            &format!("att-{currency}"),
            money(minor, currency),
            CaptureMode::Automatic,
        );
        let r = exec.authorize(&acct, &req).await;
        assert_eq!(r.class, OutcomeClass::Approved, "{currency}: {r:?}");
        let pi = emu.stripe_payment_intents(KEY)[0].clone();
        assert_eq!(pi["amount"].as_i64(), Some(minor), "{currency}");
        assert_eq!(pi["amount_received"].as_i64(), Some(minor), "{currency}");
        assert_eq!(
            pi["currency"].as_str(),
            Some(currency.to_ascii_lowercase().as_str())
        );
    }
    emu.shutdown().await;
}
