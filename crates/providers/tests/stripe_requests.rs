//! Exact wire snapshots of the Stripe requests (REFERENCE.md §0, §1.1).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use providers::stripe::{self, STRIPE_VERSION};
use providers::{
    AuthorizeRequest, Body, CaptureRequest, HttpRequest, Method, RefundRequest, RetrieveRequest,
    VoidRequest,
};
use routing::{CaptureMode, Currency, Money};
use std::collections::BTreeMap;

const KEY: &str = "6f1c2d3e-0000-4000-8000-00000000a001";

fn eur(minor: i64) -> Money {
    Money::new(minor, Currency::parse("EUR").unwrap()).unwrap()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn encoded(req: &HttpRequest) -> String {
    let (ct, bytes) = req.body.encode().unwrap().unwrap();
    assert_eq!(ct, "application/x-www-form-urlencoded");
    String::from_utf8(bytes).unwrap()
}

fn assert_headers(req: &HttpRequest, idempotency: Option<&str>) {
    assert_eq!(req.header("Idempotency-Key"), idempotency);
    assert_eq!(req.header("Stripe-Version"), Some(STRIPE_VERSION));
    assert_eq!(STRIPE_VERSION, "2026-09-30.endive");
    assert!(
        req.header("Authorization").is_none(),
        "auth is added by the executor only"
    );
    assert_eq!(
        req.headers.len(),
        usize::from(idempotency.is_some()) + 1,
        "{:?}",
        req.headers
    );
}

fn authorize(capture: CaptureMode) -> AuthorizeRequest {
    let mut metadata = BTreeMap::new();
    metadata.insert("cart".to_owned(), "2 shirts & 1 hat=ok".to_owned());
    // Must not override ours (a duplicate key could redirect reconciliation).
    metadata.insert("switchboard_attempt_id".to_owned(), "evil".to_owned());
    metadata.insert("order_id".to_owned(), "merchant-meta-order".to_owned());
    AuthorizeRequest {
        idempotency_key: KEY.to_owned(),
        payment_id: "pay_01".to_owned(),
        money: eur(2000),
        capture,
        token: "pm_card_visa".to_owned(),
        merchant_reference: Some("ord_123".to_owned()),
        metadata,
    }
}

#[test]
fn authorize_automatic_with_metadata() {
    let req = stripe::authorize_request(&authorize(CaptureMode::Automatic));
    assert_eq!(req.method, Method::Post);
    assert_eq!(req.path, "/v1/payment_intents");
    assert_headers(&req, Some(KEY));
    assert_eq!(
        req.body,
        Body::Form(pairs(&[
            ("amount", "2000"),
            ("currency", "eur"),
            ("payment_method", "pm_card_visa"),
            ("confirm", "true"),
            ("capture_method", "automatic"),
            ("payment_method_types[]", "card"),
            ("metadata[switchboard_payment_id]", "pay_01"),
            ("metadata[switchboard_attempt_id]", KEY),
            ("metadata[order_id]", "ord_123"),
            ("metadata[cart]", "2 shirts & 1 hat=ok"),
        ]))
    );
    assert_eq!(
        encoded(&req),
        "amount=2000&currency=eur&payment_method=pm_card_visa&confirm=true&capture_method=automatic\
         &payment_method_types%5B%5D=card&metadata%5Bswitchboard_payment_id%5D=pay_01\
         &metadata%5Bswitchboard_attempt_id%5D=6f1c2d3e-0000-4000-8000-00000000a001\
         &metadata%5Border_id%5D=ord_123&metadata%5Bcart%5D=2+shirts+%26+1+hat%3Dok"
    );
}

#[test]
fn authorize_manual_without_reference_forwards_merchant_order_id() {
    let mut a = authorize(CaptureMode::Manual);
    a.merchant_reference = None;
    a.money = Money::new(500, Currency::parse("jpy").unwrap()).unwrap();
    let req = stripe::authorize_request(&a);
    assert_headers(&req, Some(KEY));
    assert_eq!(
        req.form().unwrap(),
        pairs(&[
            ("amount", "500"),
            ("currency", "jpy"),
            ("payment_method", "pm_card_visa"),
            ("confirm", "true"),
            ("capture_method", "manual"),
            ("payment_method_types[]", "card"),
            ("metadata[switchboard_payment_id]", "pay_01"),
            ("metadata[switchboard_attempt_id]", KEY),
            ("metadata[cart]", "2 shirts & 1 hat=ok"),
            ("metadata[order_id]", "merchant-meta-order"),
        ])
        .as_slice()
    );
}

#[test]
fn capture_partial_and_full() {
    let partial = stripe::capture_request(&CaptureRequest {
        idempotency_key: "cap-1".to_owned(),
        provider_reference: "pi_3QfixtureA1b2C3d4".to_owned(),
        amount: Some(eur(1500)),
    });
    assert_eq!(partial.method, Method::Post);
    assert_eq!(
        partial.path,
        "/v1/payment_intents/pi_3QfixtureA1b2C3d4/capture"
    );
    assert_headers(&partial, Some("cap-1"));
    assert_eq!(
        partial.body,
        Body::Form(pairs(&[("amount_to_capture", "1500")]))
    );
    assert_eq!(encoded(&partial), "amount_to_capture=1500");

    let full = stripe::capture_request(&CaptureRequest {
        idempotency_key: "cap-2".to_owned(),
        provider_reference: "pi_1".to_owned(),
        amount: None,
    });
    assert_eq!(full.body, Body::Form(Vec::new()));
}

#[test]
fn void_request() {
    let req = stripe::void_request(&VoidRequest {
        idempotency_key: "void-1".to_owned(),
        provider_reference: "pi_1".to_owned(),
    });
    assert_eq!(
        (req.method, req.path.as_str()),
        (Method::Post, "/v1/payment_intents/pi_1/cancel")
    );
    assert_headers(&req, Some("void-1"));
    assert_eq!(req.body, Body::Form(Vec::new()));
}

#[test]
fn refund_request() {
    let req = stripe::refund_request(&RefundRequest {
        idempotency_key: "ref-1".to_owned(),
        provider_reference: "pi_3QfixtureA1b2C3d4".to_owned(),
        money: eur(700),
        reason: Some("requested_by_customer".to_owned()),
    });
    assert_eq!(
        (req.method, req.path.as_str()),
        (Method::Post, "/v1/refunds")
    );
    assert_headers(&req, Some("ref-1"));
    assert_eq!(
        encoded(&req),
        "payment_intent=pi_3QfixtureA1b2C3d4&amount=700&reason=requested_by_customer\
         &metadata%5Bswitchboard_refund_id%5D=ref-1"
    );
}

#[test]
fn retrieve_by_id_and_by_search() {
    let by_id = stripe::retrieve_request(&RetrieveRequest {
        provider_reference: Some("pi_3QfixtureA1b2C3d4".to_owned()),
        idempotency_key: KEY.to_owned(),
        payment_id: "pay_01".to_owned(),
        original: None,
    });
    assert_eq!(
        (by_id.method, by_id.path.as_str()),
        (Method::Get, "/v1/payment_intents/pi_3QfixtureA1b2C3d4")
    );
    assert_headers(&by_id, None);
    assert_eq!(by_id.body, Body::Empty);

    let search = stripe::retrieve_request(&RetrieveRequest {
        provider_reference: None,
        idempotency_key: KEY.to_owned(),
        payment_id: "pay_01".to_owned(),
        original: None,
    });
    assert_eq!(search.method, Method::Get);
    assert_eq!(
        search.path,
        "/v1/payment_intents/search?query=metadata%5B%27switchboard_attempt_id%27%5D%3A%276f1c2d3e-0000-4000-8000-00000000a001%27"
    );
    assert_headers(&search, None);
    assert_eq!(
        stripe::search_query(KEY),
        format!("metadata['switchboard_attempt_id']:'{KEY}'")
    );
    // Quotes in a key cannot break out of the search string.
    assert_eq!(
        stripe::search_query("a'b\\c"),
        r"metadata['switchboard_attempt_id']:'a\'b\\c'"
    );
}

#[test]
fn references_cannot_change_the_path() {
    let req = stripe::capture_request(&CaptureRequest {
        idempotency_key: "k".to_owned(),
        provider_reference: "../refunds?x=1".to_owned(),
        amount: None,
    });
    assert_eq!(
        req.path,
        "/v1/payment_intents/%2E%2E%2Frefunds%3Fx%3D1/capture"
    );
}

#[test]
fn three_decimal_amounts_are_refused_before_any_call() {
    let kwd = |minor| Money::new(minor, Currency::parse("KWD").unwrap()).unwrap();
    for code in ["BHD", "JOD", "KWD", "OMR", "TND"] {
        let m = Money::new(1235, Currency::parse(code).unwrap()).unwrap();
        let msg = stripe::check_amount(&m).unwrap_err();
        assert!(msg.contains("multiple of 10"), "{code}");
        let r = stripe::amount_refused(msg);
        assert_eq!(r.class, routing::OutcomeClass::ValidationError, "{code}");
        let ok = Money::new(1230, Currency::parse(code).unwrap()).unwrap();
        assert!(stripe::check_amount(&ok).is_ok(), "{code}");
    }
    // Zero- and two-decimal currencies take any minor amount.
    for code in ["JPY", "KRW", "USD", "EUR"] {
        let m = Money::new(1235, Currency::parse(code).unwrap()).unwrap();
        assert!(stripe::check_amount(&m).is_ok(), "{code}");
    }

    let mut a = authorize(CaptureMode::Manual);
    a.money = kwd(1235);
    assert!(stripe::authorize_call(&a).request().is_none());
    a.money = kwd(1230);
    let call = stripe::authorize_call(&a);
    assert_eq!(
        call.request().unwrap().form().unwrap()[..2],
        pairs(&[("amount", "1230"), ("currency", "kwd")])[..]
    );

    let cap = |amount| CaptureRequest {
        idempotency_key: "c".to_owned(),
        provider_reference: "pi_1".to_owned(),
        amount,
    };
    assert!(stripe::capture_call(&cap(Some(kwd(5)))).answer().is_some());
    assert!(
        stripe::capture_call(&cap(Some(kwd(10))))
            .request()
            .is_some()
    );
    assert!(stripe::capture_call(&cap(None)).request().is_some());
    let rf = |minor| RefundRequest {
        idempotency_key: "r".to_owned(),
        provider_reference: "pi_1".to_owned(),
        money: kwd(minor),
        reason: None,
    };
    assert!(stripe::refund_call(&rf(1)).answer().is_some());
    assert!(stripe::refund_call(&rf(20)).request().is_some());
}

#[test]
fn retrieve_plans() {
    let original = authorize(CaptureMode::Automatic);
    let base = RetrieveRequest {
        provider_reference: None,
        idempotency_key: KEY.to_owned(),
        payment_id: "pay_01".to_owned(),
        original: None,
    };
    assert!(matches!(
        stripe::retrieve_call(&base),
        stripe::Call::SearchThenGet { .. }
    ));
    let with_original = RetrieveRequest {
        original: Some(original.clone()),
        ..base.clone()
    };
    let replay = stripe::retrieve_call(&with_original);
    assert_eq!(
        replay.request(),
        Some(&stripe::authorize_request(&original)),
        "the exact authorize request"
    );
    let by_ref = RetrieveRequest {
        provider_reference: Some("pi_1".to_owned()),
        ..with_original
    };
    let get = stripe::retrieve_call(&by_ref);
    assert_eq!(
        get.request().map(|r| (r.method, r.path.as_str())),
        Some((Method::Get, "/v1/payment_intents/pi_1"))
    );
}
