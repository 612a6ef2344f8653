//! Stripe PaymentIntents behaviour over real HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{KEY_A, KEY_B, card_payment, start};
use serde_json::Value;

#[tokio::test]
async fn approves_automatic_capture() {
    let env = start().await;
    let mut form = card_payment("2000", "pm_card_visa", "automatic");
    form[1] = ("currency", "USD");
    form.push(("metadata[order_id]", "ord_123"));
    let r = env.post(KEY_A, "/v1/payment_intents", &form, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let pi = &r.json;
    assert_eq!(pi["object"], "payment_intent");
    assert!(pi["id"].as_str().unwrap().starts_with("pi_"));
    assert_eq!(pi["status"], "succeeded");
    assert_eq!(pi["amount"], 2000);
    assert_eq!(pi["amount_received"], 2000);
    assert_eq!(pi["amount_capturable"], 0);
    assert_eq!(pi["currency"], "usd");
    assert_eq!(pi["capture_method"], "automatic");
    assert_eq!(pi["livemode"], false);
    assert_eq!(pi["metadata"]["order_id"], "ord_123");
    assert_eq!(pi["last_payment_error"], Value::Null);
    assert_eq!(pi["next_action"], Value::Null);
    assert!(pi["latest_charge"].as_str().unwrap().starts_with("ch_"));
    assert!(pi["payment_method"].as_str().unwrap().starts_with("pm_"));
    assert!(pi["created"].as_i64().unwrap() > 1_700_000_000);
    assert!(r.header("request-id").unwrap().starts_with("req_"));
    assert_eq!(r.header("content-type"), Some("application/json"));

    let id = pi["id"].as_str().unwrap();
    let got = env.get(KEY_A, &format!("/v1/payment_intents/{id}")).await;
    assert_eq!(got.status, 200);
    assert_eq!(&got.json, pi);
    env.emu.shutdown().await;
}

#[tokio::test]
async fn manual_capture_partial_then_refunds() {
    let env = start().await;
    let r = env.pay(KEY_A, "2000", "pm_card_mastercard", "manual").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["status"], "requires_capture");
    assert_eq!(r.json["amount_capturable"], 2000);
    assert_eq!(r.json["amount_received"], 0);
    let id = r.json["id"].as_str().unwrap().to_owned();

    // Refund before capture is refused.
    let early = env
        .post(KEY_A, "/v1/refunds", &[("payment_intent", &id)], None)
        .await;
    assert_eq!(early.status, 400);

    // More than capturable is refused.
    let over = env
        .post(
            KEY_A,
            &format!("/v1/payment_intents/{id}/capture"),
            &[("amount_to_capture", "2500")],
            None,
        )
        .await;
    assert_eq!(over.status, 400);
    assert_eq!(over.error_field("param"), "amount_to_capture");

    let cap = env
        .post(
            KEY_A,
            &format!("/v1/payment_intents/{id}/capture"),
            &[("amount_to_capture", "1500")],
            None,
        )
        .await;
    assert_eq!(cap.status, 200, "{}", cap.text);
    assert_eq!(cap.json["status"], "succeeded");
    assert_eq!(cap.json["amount_received"], 1500);
    assert_eq!(cap.json["amount_capturable"], 0);

    let again = env
        .post(
            KEY_A,
            &format!("/v1/payment_intents/{id}/capture"),
            &[],
            None,
        )
        .await;
    assert_eq!(again.status, 400);
    assert_eq!(again.error_field("code"), "payment_intent_unexpected_state");
    assert_eq!(again.error_field("type"), "invalid_request_error");

    let re1 = env
        .post(
            KEY_A,
            "/v1/refunds",
            &[
                ("payment_intent", &id),
                ("amount", "500"),
                ("reason", "requested_by_customer"),
            ],
            None,
        )
        .await;
    assert_eq!(re1.status, 200, "{}", re1.text);
    assert_eq!(re1.json["object"], "refund");
    assert!(re1.json["id"].as_str().unwrap().starts_with("re_"));
    assert_eq!(re1.json["status"], "succeeded");
    assert_eq!(re1.json["amount"], 500);
    assert_eq!(re1.json["payment_intent"], id.as_str());
    assert_eq!(re1.json["charge"], cap.json["latest_charge"]);
    assert_eq!(re1.json["reason"], "requested_by_customer");

    let over_refund = env
        .post(
            KEY_A,
            "/v1/refunds",
            &[("payment_intent", &id), ("amount", "1001")],
            None,
        )
        .await;
    assert_eq!(over_refund.status, 400);
    assert_eq!(over_refund.error_field("param"), "amount");

    // Default amount: the unrefunded rest, addressed by charge this time.
    let charge = cap.json["latest_charge"].as_str().unwrap();
    let rest = env
        .post(KEY_A, "/v1/refunds", &[("charge", charge)], None)
        .await;
    assert_eq!(rest.status, 200, "{}", rest.text);
    assert_eq!(rest.json["amount"], 1000);
    let refund_id = rest.json["id"].as_str().unwrap();
    let fetched = env.get(KEY_A, &format!("/v1/refunds/{refund_id}")).await;
    assert_eq!(fetched.json, rest.json);

    let done = env
        .post(KEY_A, "/v1/refunds", &[("payment_intent", &id)], None)
        .await;
    assert_eq!(done.status, 400);
    assert_eq!(done.error_field("code"), "charge_already_refunded");
    env.emu.shutdown().await;
}

#[tokio::test]
async fn cancel_authorization() {
    let env = start().await;
    let r = env.pay(KEY_A, "700", "pm_card_visa", "manual").await;
    let id = r.json["id"].as_str().unwrap().to_owned();
    let c = env
        .post(
            KEY_A,
            &format!("/v1/payment_intents/{id}/cancel"),
            &[("cancellation_reason", "requested_by_customer")],
            None,
        )
        .await;
    assert_eq!(c.status, 200, "{}", c.text);
    assert_eq!(c.json["status"], "canceled");
    assert_eq!(c.json["cancellation_reason"], "requested_by_customer");
    assert!(c.json["canceled_at"].as_i64().is_some());
    assert_eq!(c.json["amount_capturable"], 0);

    let bad_reason = env
        .post(
            KEY_A,
            &format!("/v1/payment_intents/{id}/cancel"),
            &[("cancellation_reason", "bored")],
            None,
        )
        .await;
    assert_eq!(bad_reason.status, 400);

    let ok = env.pay(KEY_A, "700", "pm_card_visa", "automatic").await;
    let done = ok.json["id"].as_str().unwrap();
    let refused = env
        .post(
            KEY_A,
            &format!("/v1/payment_intents/{done}/cancel"),
            &[],
            None,
        )
        .await;
    assert_eq!(refused.status, 400);
    assert_eq!(
        refused.error_field("code"),
        "payment_intent_unexpected_state"
    );
    assert_eq!(refused.error_field("payment_intent")["status"], "succeeded");
    env.emu.shutdown().await;
}

#[tokio::test]
async fn every_decline_card_returns_402_with_its_decline_code() {
    let env = start().await;
    let cases = [
        (
            "pm_card_visa_chargeDeclined",
            "card_declined",
            "generic_decline",
        ),
        (
            "pm_card_visa_chargeDeclinedInsufficientFunds",
            "card_declined",
            "insufficient_funds",
        ),
        (
            "pm_card_chargeDeclinedInsufficientFunds",
            "card_declined",
            "insufficient_funds",
        ),
        (
            "pm_card_visa_chargeDeclinedLostCard",
            "card_declined",
            "lost_card",
        ),
        (
            "pm_card_visa_chargeDeclinedStolenCard",
            "card_declined",
            "stolen_card",
        ),
        (
            "pm_card_chargeDeclinedExpiredCard",
            "expired_card",
            "expired_card",
        ),
        (
            "pm_card_chargeDeclinedIncorrectCvc",
            "incorrect_cvc",
            "incorrect_cvc",
        ),
        (
            "pm_card_chargeDeclinedProcessingError",
            "processing_error",
            "processing_error",
        ),
        (
            "pm_card_visa_chargeDeclinedVelocityLimitExceeded",
            "card_declined",
            "card_velocity_exceeded",
        ),
        ("pm_card_radarBlock", "card_declined", "fraudulent"),
        ("pm_card_doNotHonor", "card_declined", "do_not_honor"),
    ];
    for (pm, code, decline_code) in cases {
        let r = env.pay(KEY_A, "2000", pm, "automatic").await;
        assert_eq!(r.status, 402, "{pm}: {}", r.text);
        let e = &r.json["error"];
        assert_eq!(e["type"], "card_error", "{pm}");
        assert_eq!(e["code"], code, "{pm}");
        assert_eq!(e["decline_code"], decline_code, "{pm}");
        assert!(e["message"].as_str().unwrap().len() > 10);
        assert!(e["charge"].as_str().unwrap().starts_with("ch_"));
        assert_eq!(e["payment_method"]["object"], "payment_method");
        let pi = &e["payment_intent"];
        assert_eq!(pi["status"], "requires_payment_method", "{pm}");
        assert_eq!(pi["amount_received"], 0);
        assert_eq!(pi["payment_method"], Value::Null);
        assert_eq!(pi["last_payment_error"]["decline_code"], decline_code);
        assert_eq!(pi["last_payment_error"]["code"], code);
        assert_eq!(pi["latest_charge"], e["charge"]);
        // The declined PaymentIntent exists and can be retrieved.
        let id = pi["id"].as_str().unwrap();
        let got = env.get(KEY_A, &format!("/v1/payment_intents/{id}")).await;
        assert_eq!(got.json["status"], "requires_payment_method");
    }
    let stats = env.emu.stats();
    assert_eq!(
        stats.by_key[KEY_A].by_outcome["declined"],
        cases.len() as u64
    );
    env.emu.shutdown().await;
}

#[tokio::test]
async fn three_d_secure_requires_action_then_completes() {
    let env = start().await;
    for pm in [
        "pm_card_threeDSecure2Required",
        "pm_card_authenticationRequired",
    ] {
        let r = env.pay(KEY_A, "4200", pm, "automatic").await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json["status"], "requires_action");
        assert_eq!(r.json["next_action"]["type"], "redirect_to_url");
        let url = r.json["next_action"]["redirect_to_url"]["url"]
            .as_str()
            .unwrap();
        assert!(url.starts_with(&env.emu.base_url()));

        let page = env.http.get(url).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let done = env
            .http
            .post(url)
            .form(&[("result", "succeed")])
            .send()
            .await
            .unwrap();
        assert_eq!(done.status(), 200);
        let id = r.json["id"].as_str().unwrap();
        let got = env.get(KEY_A, &format!("/v1/payment_intents/{id}")).await;
        assert_eq!(got.json["status"], "succeeded");
        assert_eq!(got.json["amount_received"], 4200);
    }

    // Failing authentication leaves requires_payment_method.
    let r = env
        .pay(KEY_A, "4200", "pm_card_threeDSecure2Required", "manual")
        .await;
    let url = r.json["next_action"]["redirect_to_url"]["url"]
        .as_str()
        .unwrap();
    let failed = env
        .http
        .post(url)
        .form(&[("result", "fail")])
        .send()
        .await
        .unwrap();
    let failed: Value = failed.json().await.unwrap();
    assert_eq!(failed["status"], "requires_payment_method");
    assert_eq!(
        failed["last_payment_error"]["code"],
        "payment_intent_authentication_failure"
    );

    // Off-session, 3DS cannot happen: Stripe declines with authentication_required.
    let mut form = card_payment("4200", "pm_card_threeDSecure2Required", "automatic");
    form.push(("off_session", "true"));
    let off = env.post(KEY_A, "/v1/payment_intents", &form, None).await;
    assert_eq!(off.status, 402);
    assert_eq!(off.error_field("code"), "authentication_required");
    assert_eq!(off.error_field("decline_code"), "authentication_required");
    env.emu.shutdown().await;
}

#[tokio::test]
async fn create_then_confirm_later() {
    let env = start().await;
    let created = env
        .post(
            KEY_A,
            "/v1/payment_intents",
            &[
                ("amount", "1234"),
                ("currency", "eur"),
                ("payment_method_types[]", "card"),
                ("metadata[attempt]", "att_1"),
            ],
            Some("create-att_1"),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.text);
    assert_eq!(created.json["status"], "requires_payment_method");
    let id = created.json["id"].as_str().unwrap();
    let confirmed = env
        .post(
            KEY_A,
            &format!("/v1/payment_intents/{id}/confirm"),
            &[("payment_method", "pm_card_visa_chargeDeclined")],
            Some("confirm-att_1-1"),
        )
        .await;
    assert_eq!(confirmed.status, 402);
    let retry = env
        .post(
            KEY_A,
            &format!("/v1/payment_intents/{id}/confirm"),
            &[("payment_method", "pm_card_amex")],
            Some("confirm-att_1-2"),
        )
        .await;
    assert_eq!(retry.status, 200, "{}", retry.text);
    assert_eq!(retry.json["status"], "succeeded");
    assert_eq!(retry.json["id"], id);
    env.emu.shutdown().await;
}

#[tokio::test]
async fn idempotent_replay_is_identical_and_creates_nothing_new() {
    let env = start().await;
    let mut form = card_payment("2000", "pm_card_visa", "automatic");
    form.push(("metadata[order_id]", "ord_idem"));
    let first = env
        .post(
            KEY_A,
            "/v1/payment_intents",
            &form,
            Some("order-1-attempt-1"),
        )
        .await;
    assert_eq!(first.status, 200);
    assert_eq!(first.header("idempotent-replayed"), None);

    // Same params in another order: still the same request.
    let mut reordered = form.clone();
    reordered.reverse();
    let second = env
        .post(
            KEY_A,
            "/v1/payment_intents",
            &reordered,
            Some("order-1-attempt-1"),
        )
        .await;
    assert_eq!(second.status, 200);
    assert_eq!(second.text, first.text);
    assert_eq!(second.header("idempotent-replayed"), Some("true"));
    assert_eq!(
        second.header("original-request"),
        first.header("request-id")
    );
    assert_ne!(second.header("request-id"), first.header("request-id"));
    assert_eq!(env.emu.stripe_payment_intents(KEY_A).len(), 1);

    // Declines are saved and replayed too.
    let d1 = env
        .post(
            KEY_A,
            "/v1/payment_intents",
            &card_payment("2000", "pm_card_visa_chargeDeclined", "automatic"),
            Some("order-2"),
        )
        .await;
    let d2 = env
        .post(
            KEY_A,
            "/v1/payment_intents",
            &card_payment("2000", "pm_card_visa_chargeDeclined", "automatic"),
            Some("order-2"),
        )
        .await;
    assert_eq!((d1.status, d2.status), (402, 402));
    assert_eq!(d1.text, d2.text);
    assert_eq!(env.emu.stripe_payment_intents(KEY_A).len(), 2);

    // Keys are per account: the same key on account B is a fresh request.
    let other = env
        .post(
            KEY_B,
            "/v1/payment_intents",
            &form,
            Some("order-1-attempt-1"),
        )
        .await;
    assert_eq!(other.status, 200);
    assert_eq!(other.header("idempotent-replayed"), None);
    assert_ne!(other.json["id"], first.json["id"]);

    let stats = env.emu.stats();
    assert_eq!(stats.by_key[KEY_A].by_outcome["idempotent_replay"], 2);
    env.emu.shutdown().await;
}

#[tokio::test]
async fn same_key_different_params_is_idempotency_error() {
    let env = start().await;
    let a = env
        .post(
            KEY_A,
            "/v1/payment_intents",
            &card_payment("2000", "pm_card_visa", "automatic"),
            Some("k-1"),
        )
        .await;
    assert_eq!(a.status, 200);
    let b = env
        .post(
            KEY_A,
            "/v1/payment_intents",
            &card_payment("2001", "pm_card_visa", "automatic"),
            Some("k-1"),
        )
        .await;
    assert_eq!(b.status, 400);
    assert_eq!(b.error_field("type"), "idempotency_error");
    assert!(b.error_field("message").as_str().unwrap().contains("'k-1'"));
    assert_eq!(env.emu.stripe_payment_intents(KEY_A).len(), 1);
    env.emu.shutdown().await;
}

#[tokio::test]
async fn accounts_are_isolated() {
    let env = start().await;
    let mut form = card_payment("2000", "pm_card_visa", "automatic");
    form.push(("metadata[order_id]", "shared_ref"));
    let r = env.post(KEY_A, "/v1/payment_intents", &form, None).await;
    let id = r.json["id"].as_str().unwrap();
    let miss = env.get(KEY_B, &format!("/v1/payment_intents/{id}")).await;
    assert_eq!(miss.status, 404);
    assert_eq!(miss.error_field("code"), "resource_missing");
    assert_eq!(miss.error_field("type"), "invalid_request_error");
    let cap = env
        .post(
            KEY_B,
            &format!("/v1/payment_intents/{id}/capture"),
            &[],
            None,
        )
        .await;
    assert_eq!(cap.status, 404);
    let found_b = env.search(KEY_B, "metadata['order_id']:'shared_ref'").await;
    assert_eq!(found_b.json["data"].as_array().unwrap().len(), 0);
    let found_a = env.search(KEY_A, "metadata['order_id']:'shared_ref'").await;
    assert_eq!(found_a.json["data"][0]["id"], id);
    env.emu.shutdown().await;
}

#[tokio::test]
async fn unauthorized_without_a_test_key() {
    let env = start().await;
    let none = env
        .http
        .post(env.url("/v1/payment_intents"))
        .form(&card_payment("2000", "pm_card_visa", "automatic"))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), 401);
    assert!(none.headers().contains_key("request-id"));
    let body: Value = none.json().await.unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert!(body["error"].get("code").is_none());

    for key in ["pk_test_123456789012", "sk_live_123456789012", "sk_test_"] {
        let r = env.pay(key, "2000", "pm_card_visa", "automatic").await;
        assert_eq!(r.status, 401, "{key}");
        assert!(
            r.error_field("message")
                .as_str()
                .unwrap()
                .starts_with("Invalid API Key provided"),
            "{key}"
        );
        assert!(r.json["error"].get("code").is_none());
    }
    assert_eq!(env.emu.stats().by_key["(unauthenticated)"].requests, 4);
    env.emu.shutdown().await;
}

#[tokio::test]
async fn parameter_validation() {
    let env = start().await;
    let missing = env
        .post(KEY_A, "/v1/payment_intents", &[("currency", "usd")], None)
        .await;
    assert_eq!(missing.status, 400);
    assert_eq!(missing.error_field("code"), "parameter_missing");
    assert_eq!(missing.error_field("param"), "amount");
    assert_eq!(
        missing.error_field("message"),
        "Missing required param: amount."
    );

    let no_currency = env
        .post(KEY_A, "/v1/payment_intents", &[("amount", "100")], None)
        .await;
    assert_eq!(no_currency.error_field("param"), "currency");

    for (amount, currency) in [("abc", "usd"), ("0", "usd"), ("-5", "usd"), ("100", "xyz")] {
        let r = env
            .post(
                KEY_A,
                "/v1/payment_intents",
                &[("amount", amount), ("currency", currency)],
                None,
            )
            .await;
        assert_eq!(r.status, 400, "{amount} {currency}");
    }

    let unknown_pm = env.pay(KEY_A, "100", "pm_card_nonsense", "automatic").await;
    assert_eq!(unknown_pm.status, 400);
    assert_eq!(unknown_pm.error_field("code"), "resource_missing");
    assert_eq!(unknown_pm.error_field("param"), "payment_method");

    let mut typo = card_payment("100", "pm_card_visa", "automatic");
    typo.push(("capture_mode", "manual"));
    let r = env.post(KEY_A, "/v1/payment_intents", &typo, None).await;
    assert_eq!(r.error_field("code"), "parameter_unknown");
    assert_eq!(r.error_field("param"), "capture_mode");

    // Modern API versions need a way to avoid redirects when confirming server-side.
    let bare = [
        ("amount", "100"),
        ("currency", "usd"),
        ("payment_method", "pm_card_visa"),
        ("confirm", "true"),
    ];
    let r = env.post(KEY_A, "/v1/payment_intents", &bare, None).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error_field("param"), "return_url");
    let mut never = bare.to_vec();
    never.push(("automatic_payment_methods[enabled]", "true"));
    never.push(("automatic_payment_methods[allow_redirects]", "never"));
    let r = env.post(KEY_A, "/v1/payment_intents", &never, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json["automatic_payment_methods"]["allow_redirects"],
        "never"
    );
    assert_eq!(r.json["capture_method"], "automatic_async");

    // Validation failures are not saved under the idempotency key.
    let bad = env
        .post(
            KEY_A,
            "/v1/payment_intents",
            &[("amount", "1")],
            Some("k-val"),
        )
        .await;
    assert_eq!(bad.status, 400);
    let good = env
        .post(
            KEY_A,
            "/v1/payment_intents",
            &card_payment("100", "pm_card_visa", "automatic"),
            Some("k-val"),
        )
        .await;
    assert_eq!(good.status, 200, "{}", good.text);

    let nowhere = env.get(KEY_A, "/v1/customers").await;
    assert_eq!(nowhere.status, 404);
    assert_eq!(nowhere.error_field("type"), "invalid_request_error");
    env.emu.shutdown().await;
}

#[tokio::test]
async fn search_by_metadata_and_list() {
    let env = start().await;
    for (order, pm) in [
        ("o1", "pm_card_visa"),
        ("o2", "pm_card_visa"),
        ("o1", "pm_card_visa_chargeDeclined"),
    ] {
        let mut form = card_payment("900", pm, "automatic");
        form.push(("metadata[order_id]", order));
        env.post(KEY_A, "/v1/payment_intents", &form, None).await;
    }
    let r = env.search(KEY_A, "metadata['order_id']:'o1'").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["object"], "search_result");
    assert_eq!(r.json["has_more"], false);
    let data = r.json["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    // Newest first: the declined one.
    assert_eq!(data[0]["status"], "requires_payment_method");
    assert_eq!(data[1]["status"], "succeeded");

    let r = env
        .search(KEY_A, "metadata['order_id']:'o1' AND status:'succeeded'")
        .await;
    assert_eq!(r.json["data"].as_array().unwrap().len(), 1);
    let r = env.search(KEY_A, "metadata[\"order_id\"]:\"nope\"").await;
    assert_eq!(r.json["data"].as_array().unwrap().len(), 0);
    let r = env.search(KEY_A, "wat").await;
    assert_eq!(r.status, 400);

    let list = env.get(KEY_A, "/v1/payment_intents?limit=2").await;
    assert_eq!(list.json["object"], "list");
    assert_eq!(list.json["data"].as_array().unwrap().len(), 2);
    assert_eq!(list.json["has_more"], true);
    env.emu.shutdown().await;
}

#[tokio::test]
async fn three_decimal_currencies_need_multiples_of_ten() {
    let env = start().await;
    for currency in ["bhd", "jod", "kwd", "omr", "tnd"] {
        let mut form = card_payment("1235", "pm_card_visa", "automatic");
        form[1] = ("currency", currency);
        let r = env
            .post(
                KEY_A,
                "/v1/payment_intents",
                &form,
                Some(&format!("k-{currency}")),
            )
            .await;
        assert_eq!(r.status, 400, "{currency}: {}", r.text);
        assert_eq!(r.error_field("type"), "invalid_request_error");
        assert_eq!(r.error_field("param"), "amount");
        let msg = r.error_field("message").as_str().unwrap();
        assert!(msg.contains("multiple of 10"), "{msg}");
        assert!(msg.contains("1230 or 1240"), "{msg}");

        // A 400 from validation is not saved: the same key with a valid amount goes through.
        form[0] = ("amount", "1230");
        let r = env
            .post(
                KEY_A,
                "/v1/payment_intents",
                &form,
                Some(&format!("k-{currency}")),
            )
            .await;
        assert_eq!(r.status, 200, "{currency}: {}", r.text);
        assert_eq!(r.header("idempotent-replayed"), None);
        assert_eq!(r.json["amount"], 1230);
        assert_eq!(r.json["currency"], currency);
    }
    assert_eq!(env.emu.stripe_payment_intents(KEY_A).len(), 5);

    // Partial capture and refund amounts follow the same rule.
    let mut form = card_payment("5000", "pm_card_visa", "manual");
    form[1] = ("currency", "kwd");
    let pi = env.post(KEY_A, "/v1/payment_intents", &form, None).await;
    assert_eq!(pi.status, 200, "{}", pi.text);
    let id = pi.json["id"].as_str().unwrap().to_owned();
    let capture = format!("/v1/payment_intents/{id}/capture");
    let bad = env
        .post(KEY_A, &capture, &[("amount_to_capture", "4995")], None)
        .await;
    assert_eq!(bad.status, 400, "{}", bad.text);
    assert_eq!(bad.error_field("param"), "amount_to_capture");
    let ok = env
        .post(KEY_A, &capture, &[("amount_to_capture", "4990")], None)
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    let bad = env
        .post(
            KEY_A,
            "/v1/refunds",
            &[("payment_intent", id.as_str()), ("amount", "7")],
            None,
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.text);
    assert_eq!(bad.error_field("param"), "amount");
    let ok = env
        .post(
            KEY_A,
            "/v1/refunds",
            &[("payment_intent", id.as_str()), ("amount", "10")],
            None,
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    env.emu.shutdown().await;
}

#[tokio::test]
async fn zero_decimal_currencies_take_the_amount_as_is() {
    let env = start().await;
    for (currency, amount) in [("jpy", "500"), ("krw", "1235")] {
        let mut form = card_payment(amount, "pm_card_visa", "automatic");
        form[1] = ("currency", currency);
        let r = env.post(KEY_A, "/v1/payment_intents", &form, None).await;
        assert_eq!(r.status, 200, "{currency}: {}", r.text);
        assert_eq!(r.json["amount"].to_string(), amount);
        assert_eq!(r.json["amount_received"].to_string(), amount);
    }
    env.emu.shutdown().await;
}
