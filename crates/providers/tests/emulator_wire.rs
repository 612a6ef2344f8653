//! Square, Braintree and Mollie adapters through the real executor against the real psp-emulator
//! over HTTP (127.0.0.1): approve, hard decline, soft decline, 5xx, timeout then reconcile
//! (exactly one charge), capture/void/refund, and amounts refused before any call.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use providers::{
    AuthorizeRequest, CaptureRequest, ConnectorAccount, Executor, ProviderResult, RefundRequest,
    RetrieveRequest, VoidRequest,
};
use psp_emulator::Emulator;
use routing::{CaptureMode, Money, OutcomeClass, Provider};
use std::collections::BTreeMap;
use std::time::Duration;

mod common;
use common::{emulator, executor, fault_5xx, hang_after_once, money, retrieve};

const SQUARE_KEY: &str = "EAAAsquare_emulator_token_0001";
const BT_KEY: &str = "emu_public_0001:emu_private_0001";
const MOLLIE_KEY: &str = "test_emulator_mollie_0001";

fn account(emu: &Emulator, provider: Provider) -> ConnectorAccount {
    let (base_url, key) = match provider {
        Provider::Square => (emu.square_base_url(), SQUARE_KEY),
        Provider::Braintree => (emu.braintree_base_url(), BT_KEY),
        Provider::Mollie => (emu.mollie_base_url(), MOLLIE_KEY),
        Provider::Stripe | Provider::Simulator => panic!("not here"),
    };
    common::account(provider, base_url, key)
}

fn auth(key: &str, token: &str, money: Money, capture: CaptureMode) -> AuthorizeRequest {
    AuthorizeRequest {
        idempotency_key: key.to_owned(),
        payment_id: format!("pay-{key}"),
        money,
        capture,
        token: token.to_owned(),
        merchant_reference: Some(format!("ord-{key}")),
        metadata: BTreeMap::from([
            (
                "return_url".to_owned(),
                "https://shop.example/return".to_owned(),
            ),
            ("cart".to_owned(), "a b&c".to_owned()),
        ]),
    }
}

fn by_ref(reference: &str) -> RetrieveRequest {
    RetrieveRequest {
        provider_reference: Some(reference.to_owned()),
        idempotency_key: String::new(),
        payment_id: String::new(),
        original: None,
    }
}

fn assert_class(r: &ProviderResult, class: OutcomeClass, what: &str) {
    assert_eq!(r.class, class, "{what}: {r:?}");
}

#[tokio::test]
async fn square_over_http() {
    let emu = emulator().await;
    let exec = executor();
    let acct = account(&emu, Provider::Square);

    // Approve (automatic), authorize (manual) + capture, void, refund (partial, idempotent).
    let r = exec
        .authorize(
            &acct,
            &auth(
                "sq-1",
                "cnon:card-nonce-ok",
                money(1000, "USD"),
                CaptureMode::Automatic,
            ),
        )
        .await;
    assert_class(&r, OutcomeClass::Approved, "approve");
    assert!(r.captured);
    assert_eq!(r.provider_status.as_deref(), Some("COMPLETED"));
    let paid = r.provider_reference.clone().unwrap();
    let refund = RefundRequest {
        idempotency_key: "sq-refund-1".into(),
        provider_reference: paid.clone(),
        money: money(400, "USD"),
        reason: Some("requested_by_customer".into()),
    };
    let r1 = exec.refund(&acct, &refund).await;
    assert_class(&r1, OutcomeClass::Approved, "partial refund");
    let r2 = exec.refund(&acct, &refund).await;
    assert_class(&r2, OutcomeClass::Approved, "refund replay");
    assert_eq!(
        r1.provider_reference, r2.provider_reference,
        "same refund, not a second one"
    );

    let a = exec
        .authorize(
            &acct,
            &auth(
                "sq-2",
                "cnon:card-nonce-ok",
                money(2500, "JPY"),
                CaptureMode::Manual,
            ),
        )
        .await;
    assert_class(&a, OutcomeClass::Approved, "authorize only");
    assert!(!a.captured);
    let id = a.provider_reference.clone().unwrap();
    let c = exec
        .capture(
            &acct,
            &CaptureRequest {
                idempotency_key: "sq-cap".into(),
                provider_reference: id.clone(),
                amount: None,
            },
        )
        .await;
    assert_class(&c, OutcomeClass::Approved, "capture");
    assert!(c.captured);
    let a = exec
        .authorize(
            &acct,
            &auth(
                "sq-3",
                "cnon:card-nonce-ok",
                money(700, "USD"),
                CaptureMode::Manual,
            ),
        )
        .await;
    let v = exec
        .void(
            &acct,
            &VoidRequest {
                idempotency_key: "sq-void".into(),
                provider_reference: a.provider_reference.clone().unwrap(),
            },
        )
        .await;
    assert_class(&v, OutcomeClass::Approved, "void");
    assert_eq!(v.provider_status.as_deref(), Some("CANCELED"));
    let g = exec.retrieve(&acct, &by_ref(&id)).await;
    assert_class(&g, OutcomeClass::Approved, "retrieve by id");

    // Declines: hard (CVV), soft (GENERIC_DECLINE, contested), card data (INVALID_EXPIRATION).
    for (token, class, code) in [
        (
            "cnon:card-nonce-rejected-cvv",
            OutcomeClass::HardDecline,
            "CVV_FAILURE",
        ),
        (
            "cnon:card-nonce-declined",
            OutcomeClass::SoftDecline,
            "GENERIC_DECLINE",
        ),
        (
            "cnon:emu-insufficient-funds",
            OutcomeClass::SoftDecline,
            "INSUFFICIENT_FUNDS",
        ),
        (
            "cnon:card-nonce-already-used",
            OutcomeClass::ValidationError,
            "CARD_TOKEN_USED",
        ),
        (
            "cnon:emu-verification-required",
            OutcomeClass::NeedsCustomerAction,
            "CARD_DECLINED_VERIFICATION_REQUIRED",
        ),
    ] {
        let r = exec
            .authorize(
                &acct,
                &auth(
                    &format!("sq-{code}"),
                    token,
                    money(1000, "USD"),
                    CaptureMode::Automatic,
                ),
            )
            .await;
        assert_class(&r, class, token);
        assert_eq!(r.raw_code.as_deref(), Some(code));
    }

    // Refused before any call.
    let r = exec
        .authorize(
            &acct,
            &auth(
                "sq-kwd",
                "cnon:card-nonce-ok",
                money(1000, "KWD"),
                CaptureMode::Automatic,
            ),
        )
        .await;
    assert_class(&r, OutcomeClass::ValidationError, "KWD");
    assert_eq!(r.http_status, None);

    // 5xx before processing: provider_unavailable (fall back).
    fault_5xx(&emu, SQUARE_KEY, 503);
    let r = exec
        .authorize(
            &acct,
            &auth(
                "sq-503",
                "cnon:card-nonce-ok",
                money(1000, "USD"),
                CaptureMode::Automatic,
            ),
        )
        .await;
    assert_class(&r, OutcomeClass::ProviderUnavailable, "503");
    emu.faults().clear();

    // Timeout after processing, then reconcile by replaying the create: the one payment.
    hang_after_once(&emu, SQUARE_KEY);
    let before = emu.square_payments(SQUARE_KEY).len();
    let req = auth(
        "sq-hang",
        "cnon:card-nonce-ok",
        money(1200, "USD"),
        CaptureMode::Automatic,
    );
    let first = exec.authorize(&acct, &req).await;
    assert_class(&first, OutcomeClass::UnknownOutcome, "timeout");
    assert_eq!(first.http_status, None);
    assert_eq!(
        emu.square_payments(SQUARE_KEY).len(),
        before + 1,
        "processed before the answer was withheld"
    );
    let found = exec.retrieve(&acct, &retrieve(&req, true)).await;
    assert_class(&found, OutcomeClass::Approved, "reconciled");
    assert!(found.captured);
    let newest = emu.square_payments(SQUARE_KEY)[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(found.provider_reference.as_deref(), Some(newest.as_str()));
    assert_eq!(
        emu.square_payments(SQUARE_KEY).len(),
        before + 1,
        "exactly one charge"
    );
    // Without the original Square has no lookup: still unknown, nothing sent.
    let r = exec.retrieve(&acct, &retrieve(&req, false)).await;
    assert_class(&r, OutcomeClass::UnknownOutcome, "no original");
    emu.shutdown().await;
}

#[tokio::test]
async fn braintree_over_http() {
    let emu = emulator().await;
    let exec = executor();
    let acct = account(&emu, Provider::Braintree);

    let r = exec
        .authorize(
            &acct,
            &auth(
                "bt-1",
                "fake-valid-nonce",
                money(1000, "USD"),
                CaptureMode::Automatic,
            ),
        )
        .await;
    assert_class(&r, OutcomeClass::Approved, "charge");
    assert!(r.captured);
    let charged = r.provider_reference.clone().unwrap();
    emu.braintree_settle(&charged).unwrap();
    let refund = RefundRequest {
        idempotency_key: "bt-refund-1".into(),
        provider_reference: charged.clone(),
        money: money(300, "USD"),
        reason: None,
    };
    let r1 = exec.refund(&acct, &refund).await;
    assert_class(&r1, OutcomeClass::Approved, "partial refund");
    let r2 = exec.refund(&acct, &refund).await;
    assert_eq!(
        r1.provider_reference, r2.provider_reference,
        "apiRequestKey: the same refund"
    );

    let a = exec
        .authorize(
            &acct,
            &auth(
                "bt-2",
                "fake-valid-nonce",
                money(5000, "USD"),
                CaptureMode::Manual,
            ),
        )
        .await;
    assert_class(&a, OutcomeClass::Approved, "authorize");
    assert!(!a.captured);
    assert_eq!(a.provider_status.as_deref(), Some("AUTHORIZED"));
    let c = exec
        .capture(
            &acct,
            &CaptureRequest {
                idempotency_key: "bt-cap".into(),
                provider_reference: a.provider_reference.clone().unwrap(),
                amount: Some(money(4000, "USD")),
            },
        )
        .await;
    assert_class(&c, OutcomeClass::Approved, "partial capture");
    assert!(c.captured);
    let a = exec
        .authorize(
            &acct,
            &auth(
                "bt-3",
                "fake-valid-nonce",
                money(700, "USD"),
                CaptureMode::Manual,
            ),
        )
        .await;
    let v = exec
        .void(
            &acct,
            &VoidRequest {
                idempotency_key: "bt-void".into(),
                provider_reference: a.provider_reference.clone().unwrap(),
            },
        )
        .await;
    assert_class(&v, OutcomeClass::Approved, "void (reverse)");
    assert_eq!(v.provider_status.as_deref(), Some("VOIDED"));
    let g = exec.retrieve(&acct, &by_ref(&charged)).await;
    assert_class(&g, OutcomeClass::Approved, "node by id");

    // Declines by amount (REFERENCE.md §3.4): 2000 soft (contested), 2001 soft, 2015 hard,
    // 3000 provider side; gateway rejected fraud hard.
    for (minor, token, class) in [
        (200_000, "fake-valid-nonce", OutcomeClass::SoftDecline),
        (200_100, "fake-valid-nonce", OutcomeClass::SoftDecline),
        (201_500, "fake-valid-nonce", OutcomeClass::HardDecline),
        (
            300_000,
            "fake-valid-nonce",
            OutcomeClass::ProviderUnavailable,
        ),
        (
            1000,
            "fake-gateway-rejected-fraud-nonce",
            OutcomeClass::HardDecline,
        ),
        (1000, "fake-consumed-nonce", OutcomeClass::ValidationError),
    ] {
        let r = exec
            .authorize(
                &acct,
                &auth(
                    &format!("bt-d{minor}{token}"),
                    token,
                    money(minor, "USD"),
                    CaptureMode::Automatic,
                ),
            )
            .await;
        assert_class(&r, class, &format!("{minor} {token}"));
        assert_eq!(
            r.http_status,
            Some(200),
            "GraphQL errors come with HTTP 200"
        );
    }

    // A declined transaction read back by node keeps its reason (ProcessorDeclinedEvent).
    let r = exec
        .authorize(
            &acct,
            &auth(
                "bt-readback",
                "fake-valid-nonce",
                money(201_500, "USD"),
                CaptureMode::Automatic,
            ),
        )
        .await;
    assert_class(&r, OutcomeClass::HardDecline, "2015");
    let declined = emu.braintree_transactions(BT_KEY)[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let back = exec.retrieve(&acct, &by_ref(&declined)).await;
    assert_class(&back, OutcomeClass::HardDecline, "2015 read back");
    assert_eq!(back.decline_code.as_deref(), Some("2015"));

    fault_5xx(&emu, BT_KEY, 503);
    let r = exec
        .authorize(
            &acct,
            &auth(
                "bt-503",
                "fake-valid-nonce",
                money(1000, "USD"),
                CaptureMode::Automatic,
            ),
        )
        .await;
    assert_class(&r, OutcomeClass::ProviderUnavailable, "503");
    emu.faults().clear();

    hang_after_once(&emu, BT_KEY);
    let before = emu.braintree_transactions(BT_KEY).len();
    let req = auth(
        "bt-hang",
        "fake-valid-nonce",
        money(1234, "USD"),
        CaptureMode::Automatic,
    );
    let first = exec.authorize(&acct, &req).await;
    assert_class(&first, OutcomeClass::UnknownOutcome, "timeout");
    assert_eq!(emu.braintree_transactions(BT_KEY).len(), before + 1);
    let found = exec.retrieve(&acct, &retrieve(&req, true)).await;
    assert_class(&found, OutcomeClass::Approved, "replayed apiRequestKey");
    let by_search = exec.retrieve(&acct, &retrieve(&req, false)).await;
    assert_class(&by_search, OutcomeClass::Approved, "search by orderId");
    assert_eq!(found.provider_reference, by_search.provider_reference);
    assert_eq!(
        emu.braintree_transactions(BT_KEY).len(),
        before + 1,
        "exactly one charge"
    );

    let r = exec
        .authorize(
            &acct,
            &auth(
                "bt-kwd",
                "fake-valid-nonce",
                money(1000, "KWD"),
                CaptureMode::Automatic,
            ),
        )
        .await;
    assert_class(&r, OutcomeClass::ValidationError, "KWD");
    assert_eq!(r.http_status, None);
    emu.shutdown().await;
}

async fn retrieve_until_final(
    exec: &Executor,
    acct: &ConnectorAccount,
    id: &str,
) -> ProviderResult {
    for _ in 0..50 {
        let r = exec.retrieve(acct, &by_ref(id)).await;
        if !matches!(r.provider_status.as_deref(), Some("open" | "pending")) {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("Mollie payment {id} never left open/pending");
}

#[tokio::test]
async fn mollie_over_http() {
    let emu = emulator().await;
    let exec = executor();
    let acct = account(&emu, Provider::Mollie);

    // Asynchronous: open + checkout (needs_customer_action), then paid on retrieve.
    let r = exec
        .authorize(
            &acct,
            &auth(
                "mo-1",
                "creditcard",
                money(1000, "EUR"),
                CaptureMode::Automatic,
            ),
        )
        .await;
    assert_class(&r, OutcomeClass::NeedsCustomerAction, "created");
    assert_eq!(r.provider_status.as_deref(), Some("open"));
    assert!(
        r.next_action_url.as_deref().unwrap().starts_with("http"),
        "{r:?}"
    );
    let id = r.provider_reference.clone().unwrap();
    let paid = retrieve_until_final(&exec, &acct, &id).await;
    assert_class(&paid, OutcomeClass::Approved, "paid");
    assert!(paid.captured);
    let payment = &emu.mollie_payments(MOLLIE_KEY)[0];
    assert_eq!(payment["amount"]["value"], "10.00");
    assert_eq!(payment["metadata"]["switchboard_payment_id"], "pay-mo-1");
    let refund = RefundRequest {
        idempotency_key: "mo-refund-1".into(),
        provider_reference: id.clone(),
        money: money(250, "EUR"),
        reason: None,
    };
    let r1 = exec.refund(&acct, &refund).await;
    assert_class(&r1, OutcomeClass::Approved, "partial refund");
    let r2 = exec.refund(&acct, &refund).await;
    assert_eq!(
        r1.provider_reference, r2.provider_reference,
        "Idempotency-Key replay"
    );

    // Manual capture: authorized, then a partial capture. JPY has no decimals.
    let r = exec
        .authorize(
            &acct,
            &auth(
                "mo-2",
                "creditcard",
                money(5000, "JPY"),
                CaptureMode::Manual,
            ),
        )
        .await;
    let id2 = r.provider_reference.clone().unwrap();
    let authorized = retrieve_until_final(&exec, &acct, &id2).await;
    assert_class(&authorized, OutcomeClass::Approved, "authorized");
    assert!(!authorized.captured);
    assert_eq!(
        emu.mollie_payments(MOLLIE_KEY)[0]["amount"]["value"],
        "5000"
    );
    let c = exec
        .capture(
            &acct,
            &CaptureRequest {
                idempotency_key: "mo-cap".into(),
                provider_reference: id2,
                amount: Some(money(3000, "JPY")),
            },
        )
        .await;
    assert_class(&c, OutcomeClass::Approved, "capture");
    assert!(c.captured);

    // Void while open (the emulator's description marker keeps it open).
    let mut req = auth(
        "mo-3b",
        "creditcard",
        money(1000, "EUR"),
        CaptureMode::Automatic,
    );
    req.merchant_reference = Some("hold [emu:status=open]".into());
    let open = exec.authorize(&acct, &req).await;
    let v = exec
        .void(
            &acct,
            &VoidRequest {
                idempotency_key: "mo-void".into(),
                provider_reference: open.provider_reference.clone().unwrap(),
            },
        )
        .await;
    assert_class(&v, OutcomeClass::Approved, "cancel");
    assert_eq!(v.provider_status.as_deref(), Some("canceled"));

    // Declines by magic amount (REFERENCE.md §4.4): 1009 possible_fraud hard, 1007 insufficient
    // funds soft, 1011 card_declined soft (contested), 1010 authentication_failed customer.
    for (minor, class, reason) in [
        (100_900, OutcomeClass::HardDecline, "possible_fraud"),
        (100_700, OutcomeClass::SoftDecline, "insufficient_funds"),
        (101_100, OutcomeClass::SoftDecline, "card_declined"),
        (
            101_000,
            OutcomeClass::NeedsCustomerAction,
            "authentication_failed",
        ),
    ] {
        let r = exec
            .authorize(
                &acct,
                &auth(
                    &format!("mo-d{minor}"),
                    "creditcard",
                    money(minor, "EUR"),
                    CaptureMode::Automatic,
                ),
            )
            .await;
        let done =
            retrieve_until_final(&exec, &acct, r.provider_reference.as_deref().unwrap()).await;
        assert_class(&done, class, reason);
        assert_eq!(done.decline_code.as_deref(), Some(reason));
    }

    // Refused before any call: KWD, KRW, no return URL.
    for cur in ["KWD", "KRW"] {
        let r = exec
            .authorize(
                &acct,
                &auth(
                    &format!("mo-{cur}"),
                    "creditcard",
                    money(1000, cur),
                    CaptureMode::Automatic,
                ),
            )
            .await;
        assert_class(&r, OutcomeClass::ValidationError, cur);
        assert_eq!(r.http_status, None);
    }

    fault_5xx(&emu, MOLLIE_KEY, 503);
    let r = exec
        .authorize(
            &acct,
            &auth(
                "mo-503",
                "creditcard",
                money(1000, "EUR"),
                CaptureMode::Automatic,
            ),
        )
        .await;
    assert_class(&r, OutcomeClass::ProviderUnavailable, "503");
    emu.faults().clear();

    // Timeout after processing, then the create replayed with its Idempotency-Key: the one payment.
    hang_after_once(&emu, MOLLIE_KEY);
    let before = emu.mollie_payments(MOLLIE_KEY).len();
    let req = auth(
        "mo-hang",
        "creditcard",
        money(1500, "EUR"),
        CaptureMode::Automatic,
    );
    let first = exec.authorize(&acct, &req).await;
    assert_class(&first, OutcomeClass::UnknownOutcome, "timeout");
    assert_eq!(emu.mollie_payments(MOLLIE_KEY).len(), before + 1);
    let found = exec.retrieve(&acct, &retrieve(&req, true)).await;
    let newest = emu.mollie_payments(MOLLIE_KEY)[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        found.provider_reference.as_deref(),
        Some(newest.as_str()),
        "{found:?}"
    );
    assert!(
        matches!(
            found.class,
            OutcomeClass::NeedsCustomerAction | OutcomeClass::Approved
        ),
        "{found:?}"
    );
    assert_eq!(
        emu.mollie_payments(MOLLIE_KEY).len(),
        before + 1,
        "exactly one payment"
    );
    emu.shutdown().await;
}
