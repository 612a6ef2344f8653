//! The simulator's token table and its memory (replays, capture/void/refund consistency).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use providers::simulator::{
    NOT_CHARGED_MESSAGE, SimToken, Simulator, UNKNOWN_TOKEN_MESSAGE, reference_for,
};
use providers::{
    AuthorizeRequest, CaptureRequest, ProviderResult, RefundRequest, RetrieveRequest, VoidRequest,
};
use routing::{CaptureMode, Currency, Money, OutcomeClass};
use std::collections::BTreeMap;

use OutcomeClass::{
    Approved, AuthConfigError, HardDecline, NeedsCustomerAction, ProviderUnavailable, RateLimited,
    SoftDecline, UnknownOutcome, ValidationError,
};

fn usd(minor: i64) -> Money {
    Money::new(minor, Currency::parse("USD").unwrap()).unwrap()
}

fn auth(key: &str, token: &str, capture: CaptureMode) -> AuthorizeRequest {
    AuthorizeRequest {
        idempotency_key: key.to_owned(),
        payment_id: format!("pay-{key}"),
        money: usd(2000),
        capture,
        token: token.to_owned(),
        merchant_reference: None,
        metadata: BTreeMap::new(),
    }
}

fn retrieve_by_key(key: &str) -> RetrieveRequest {
    RetrieveRequest {
        provider_reference: None,
        idempotency_key: key.to_owned(),
        payment_id: format!("pay-{key}"),
        original: None,
    }
}

/// (token, authorize class, HTTP status, decline code, retrieve-by-attempt class)
type Row = (
    &'static str,
    OutcomeClass,
    Option<u16>,
    Option<&'static str>,
    OutcomeClass,
);

const TABLE: &[Row] = &[
    ("sim_approve", Approved, Some(200), None, Approved),
    (
        "sim_insufficient_funds",
        SoftDecline,
        Some(402),
        Some("insufficient_funds"),
        SoftDecline,
    ),
    (
        "sim_do_not_honor",
        SoftDecline,
        Some(402),
        Some("do_not_honor"),
        SoftDecline,
    ),
    (
        "sim_stolen_card",
        HardDecline,
        Some(402),
        Some("stolen_card"),
        HardDecline,
    ),
    (
        "sim_expired_card",
        HardDecline,
        Some(402),
        Some("expired_card"),
        HardDecline,
    ),
    (
        "sim_3ds_required",
        NeedsCustomerAction,
        Some(200),
        None,
        NeedsCustomerAction,
    ),
    (
        "sim_validation_error",
        ValidationError,
        Some(400),
        None,
        ProviderUnavailable,
    ),
    (
        "sim_auth_error",
        AuthConfigError,
        Some(401),
        None,
        ProviderUnavailable,
    ),
    (
        "sim_rate_limited",
        RateLimited,
        Some(429),
        None,
        ProviderUnavailable,
    ),
    (
        "sim_unavailable",
        ProviderUnavailable,
        Some(503),
        None,
        ProviderUnavailable,
    ),
    (
        "sim_timeout_not_charged",
        UnknownOutcome,
        None,
        None,
        ProviderUnavailable,
    ),
    ("sim_timeout_charged", UnknownOutcome, None, None, Approved),
    (
        "sim_timeout_unknown",
        UnknownOutcome,
        None,
        None,
        UnknownOutcome,
    ),
    (
        "pm_card_visa",
        ValidationError,
        Some(400),
        None,
        ProviderUnavailable,
    ),
];

#[test]
fn every_token_behaves_as_documented() {
    // The table covers every token the simulator knows, plus one unknown token.
    let known: Vec<&str> = SimToken::ALL.iter().map(|(s, _)| *s).collect();
    let tabled: Vec<&str> = TABLE
        .iter()
        .map(|r| r.0)
        .filter(|t| SimToken::parse(t).is_some())
        .collect();
    assert_eq!(known, tabled);

    for capture in [CaptureMode::Automatic, CaptureMode::Manual] {
        let sim = Simulator::new();
        for &(token, class, http, decline, retrieve_class) in TABLE {
            let key = format!("att-{token}-{capture:?}");
            let r = sim.authorize(&auth(&key, token, capture));
            assert_eq!(r.class, class, "{token} {capture:?}");
            assert_eq!(r.http_status, http, "{token}");
            assert_eq!(r.decline_code.as_deref(), decline, "{token}");
            assert!(
                r.message.is_some() || class == Approved,
                "{token} needs a message"
            );
            if SimToken::parse(token).is_none() {
                assert_eq!(r.message.as_deref(), Some(UNKNOWN_TOKEN_MESSAGE));
            }
            if class == Approved {
                assert_eq!(r.captured, capture == CaptureMode::Automatic, "{token}");
                assert_eq!(r.provider_reference, Some(reference_for("sim_", &key)));
            }
            if class == NeedsCustomerAction {
                assert!(
                    r.next_action_url
                        .as_deref()
                        .is_some_and(|u| u.starts_with("https://")),
                    "{token}"
                );
            }
            // Same key, same request: the same answer.
            assert_eq!(
                sim.authorize(&auth(&key, token, capture)),
                r,
                "{token} replay"
            );

            let got = sim.retrieve(&retrieve_by_key(&key));
            assert_eq!(got.class, retrieve_class, "{token} retrieve");
            if retrieve_class == ProviderUnavailable {
                assert_eq!(got.message.as_deref(), Some(NOT_CHARGED_MESSAGE), "{token}");
            }
            if retrieve_class == Approved {
                assert_eq!(
                    got.provider_reference,
                    Some(reference_for("sim_", &key)),
                    "{token}"
                );
                assert_eq!(got.captured, capture == CaptureMode::Automatic, "{token}");
            }
        }
    }
}

#[test]
fn references_are_deterministic_and_distinct() {
    let a = reference_for("sim_", "key-1");
    assert_eq!(a, reference_for("sim_", "key-1"));
    assert_ne!(a, reference_for("sim_", "key-2"));
    assert!(a.starts_with("sim_") && a.len() == 4 + 36, "{a}");
    let r1 = Simulator::new().authorize(&auth("key-1", "sim_approve", CaptureMode::Manual));
    let r2 = Simulator::new().authorize(&auth("key-1", "sim_approve", CaptureMode::Manual));
    assert_eq!(r1.provider_reference, r2.provider_reference);
}

#[test]
fn same_key_with_other_parameters_is_rejected() {
    let sim = Simulator::new();
    sim.authorize(&auth("k", "sim_approve", CaptureMode::Automatic));
    let mut other = auth("k", "sim_approve", CaptureMode::Automatic);
    other.money = usd(1);
    let r = sim.authorize(&other);
    assert_eq!(r.class, ValidationError);
    assert_eq!(r.raw_code.as_deref(), Some("idempotency_error"));
}

fn cap(key: &str, reference: &str, amount: Option<i64>) -> CaptureRequest {
    CaptureRequest {
        idempotency_key: key.to_owned(),
        provider_reference: reference.to_owned(),
        amount: amount.map(usd),
    }
}
fn refund(key: &str, reference: &str, amount: i64) -> RefundRequest {
    RefundRequest {
        idempotency_key: key.to_owned(),
        provider_reference: reference.to_owned(),
        money: usd(amount),
        reason: None,
    }
}
fn void(key: &str, reference: &str) -> VoidRequest {
    VoidRequest {
        idempotency_key: key.to_owned(),
        provider_reference: reference.to_owned(),
    }
}
fn reference(r: &ProviderResult) -> String {
    r.provider_reference.clone().unwrap()
}

#[test]
fn manual_capture_then_refunds() {
    let sim = Simulator::new();
    let a = sim.authorize(&auth("a1", "sim_approve", CaptureMode::Manual));
    let pi = reference(&a);
    assert_eq!(
        sim.refund(&refund("r0", &pi, 100)).class,
        ValidationError,
        "cannot refund before capture"
    );
    assert_eq!(
        sim.capture(&cap("c1", &pi, Some(3000))).class,
        ValidationError,
        "more than authorized"
    );
    let c = sim.capture(&cap("c2", &pi, Some(1500)));
    assert_eq!((c.class, c.captured), (Approved, true));
    assert_eq!(sim.capture(&cap("c2", &pi, Some(1500))), c, "replay by key");
    assert_eq!(
        sim.capture(&cap("c3", &pi, None)).class,
        ValidationError,
        "already captured"
    );
    assert_eq!(
        sim.void(&void("v1", &pi)).class,
        ValidationError,
        "cannot void after capture"
    );

    let r1 = sim.refund(&refund("r1", &pi, 1000));
    assert_eq!(r1.class, Approved);
    assert_eq!(r1.provider_reference, Some(reference_for("sim_re_", "r1")));
    assert_eq!(sim.refund(&refund("r1", &pi, 1000)), r1, "replay by key");
    assert_eq!(
        sim.refund(&refund("r2", &pi, 501)).class,
        ValidationError,
        "over-refund"
    );
    assert_eq!(sim.refund(&refund("r3", &pi, 500)).class, Approved);

    let got = sim.retrieve(&RetrieveRequest {
        provider_reference: Some(pi),
        idempotency_key: "a1".into(),
        payment_id: "p".into(),
        original: None,
    });
    assert_eq!((got.class, got.captured), (Approved, true));
}

#[test]
fn void_releases_the_authorization() {
    let sim = Simulator::new();
    let pi = reference(&sim.authorize(&auth("a2", "sim_approve", CaptureMode::Manual)));
    let v = sim.void(&void("v", &pi));
    assert_eq!(
        (v.class, v.provider_status.as_deref()),
        (Approved, Some("canceled"))
    );
    assert_eq!(sim.capture(&cap("c", &pi, None)).class, ValidationError);
    let got = sim.retrieve(&retrieve_by_key("a2"));
    assert_eq!(
        (got.class, got.provider_status.as_deref()),
        (ProviderUnavailable, Some("canceled"))
    );
    assert_eq!(
        sim.void(&void("other-key", &pi)).class,
        ValidationError,
        "already canceled"
    );
}

#[test]
fn timeout_charged_can_be_captured_after_reconciliation() {
    let sim = Simulator::new();
    let a = sim.authorize(&auth("t1", "sim_timeout_charged", CaptureMode::Manual));
    assert_eq!(
        (a.class, a.provider_reference.as_deref()),
        (UnknownOutcome, None)
    );
    let found = sim.retrieve(&retrieve_by_key("t1"));
    assert_eq!((found.class, found.captured), (Approved, false));
    assert_eq!(
        sim.capture(&cap("c", &reference(&found), None)).class,
        Approved
    );
}

#[test]
fn unknown_references_and_attempts() {
    let sim = Simulator::new();
    assert_eq!(
        sim.capture(&cap("c", "sim_nope", None)).class,
        ValidationError
    );
    assert_eq!(
        sim.retrieve(&retrieve_by_key("never-sent")).class,
        ProviderUnavailable
    );
    let r = sim.retrieve(&RetrieveRequest {
        provider_reference: Some("sim_nope".into()),
        idempotency_key: "x".into(),
        payment_id: "p".into(),
        original: None,
    });
    assert_eq!(
        r.class, UnknownOutcome,
        "a lookup that finds nothing by reference proves nothing"
    );
}

#[test]
fn retrieve_ignores_the_original_and_keeps_the_token_semantics() {
    for (token, want) in [
        ("sim_timeout_not_charged", ProviderUnavailable),
        ("sim_timeout_charged", Approved),
        ("sim_timeout_unknown", UnknownOutcome),
        ("sim_approve", Approved),
        ("sim_insufficient_funds", SoftDecline),
    ] {
        let sim = Simulator::new();
        let original = auth("k", token, CaptureMode::Automatic);
        sim.authorize(&original);
        let mut req = retrieve_by_key("k");
        let without = sim.retrieve(&req);
        req.original = Some(original);
        let with = sim.retrieve(&req);
        assert_eq!(with.class, want, "{token}");
        assert_eq!(with, without, "{token}: the original changes nothing");
    }
    // Never sent: the simulator remembers everything, so nothing was charged (and no replay).
    let sim = Simulator::new();
    let mut req = retrieve_by_key("never");
    req.original = Some(auth("never", "sim_approve", CaptureMode::Automatic));
    assert_eq!(sim.retrieve(&req).class, ProviderUnavailable);
    assert_eq!(
        sim.retrieve(&retrieve_by_key("never")).class,
        ProviderUnavailable
    );
}
