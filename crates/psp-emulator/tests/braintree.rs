//! Braintree GraphQL over real HTTP: approve, decline, apiRequestKey replay, faults, webhooks.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use base64::Engine;
use common::{receiver, start};
use hmac::Mac;
use psp_emulator::faults::{ErrorPhase, FaultSpec};
use psp_emulator::webhooks::{WebhookConfig, WebhookFormat};
use serde_json::{Value, json};
use sha1::Digest;

const CREDS: &str = "emu_public_key:emu_private_key";
const CHARGE: &str = "mutation Charge($input: ChargePaymentMethodInput!) { chargePaymentMethod(input: $input) { clientMutationId transaction { id legacyId status amount { value currencyCode } } } }";
const AUTHORIZE: &str = "mutation Authorize($input: AuthorizePaymentMethodInput!) { authorizePaymentMethod(input: $input) { transaction { id status } } }";
const CAPTURE: &str = "mutation Capture($input: CaptureTransactionInput!) { captureTransaction(input: $input) { transaction { id status } } }";
const REVERSE: &str = "mutation Reverse($input: ReverseTransactionInput!) { reverseTransaction(input: $input) { reversal { ... on Transaction { id status } ... on Refund { id } } } }";
const REFUND: &str = "mutation Refund($input: RefundTransactionInput!) { refundTransaction(input: $input) { refund { id amount { value } } } }";
const SEARCH: &str = "query Search($input: TransactionSearchInput!) { search { transactions(input: $input) { edges { node { id status } } } } }";
const NODE: &str = "query Node($id: ID!) { node(id: $id) { ... on Transaction { id status } } }";

fn charge_input(amount: &str, order: &str) -> Value {
    json!({"input": {"paymentMethodId": "fake-valid-nonce", "transaction": {"amount": amount, "orderId": order}, "clientMutationId": "cm-1"}})
}

#[tokio::test]
async fn charge_authorize_capture_reverse_search() {
    let env = start().await;
    let r = env
        .graphql(CREDS, CHARGE, charge_input("20.00", "ord_1"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.json.get("errors").is_none(), "{}", r.text);
    let tx = &r.json["data"]["chargePaymentMethod"]["transaction"];
    assert_eq!(tx["status"], "SUBMITTED_FOR_SETTLEMENT");
    assert_eq!(
        tx["amount"],
        json!({"value": "20.00", "currencyCode": "USD"})
    );
    assert_eq!(
        r.json["data"]["chargePaymentMethod"]["clientMutationId"],
        "cm-1"
    );
    let legacy = tx["legacyId"].as_str().unwrap();
    let expected_id =
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(format!("transaction_{legacy}"));
    assert_eq!(tx["id"], expected_id.as_str());

    let a = env
        .graphql(CREDS, AUTHORIZE, charge_input("15.00", "ord_2"))
        .await;
    let atx = &a.json["data"]["authorizePaymentMethod"]["transaction"];
    assert_eq!(atx["status"], "AUTHORIZED");
    let aid = atx["id"].as_str().unwrap().to_owned();
    let cap = env
        .graphql(
            CREDS,
            CAPTURE,
            json!({"input": {"transactionId": aid, "transaction": {"amount": "10.00"}}}),
        )
        .await;
    let ctx = &cap.json["data"]["captureTransaction"]["transaction"];
    assert_eq!(ctx["status"], "SUBMITTED_FOR_SETTLEMENT", "{}", cap.text);
    assert_eq!(ctx["amount"]["value"], "10.00");
    let again = env
        .graphql(CREDS, CAPTURE, json!({"input": {"transactionId": aid}}))
        .await;
    assert_eq!(again.json["errors"][0]["extensions"]["legacyCode"], "91507");

    // Reverse voids an unsettled transaction; a refund needs settlement (91506).
    let refund = env
        .graphql(CREDS, REFUND, json!({"input": {"transactionId": aid}}))
        .await;
    assert_eq!(
        refund.json["errors"][0]["extensions"]["legacyCode"],
        "91506"
    );
    let rev = env
        .graphql(CREDS, REVERSE, json!({"input": {"transactionId": aid}}))
        .await;
    // Settling needs SUBMITTED_FOR_SETTLEMENT; a settled charge is refunded by reverseTransaction.
    let charged = tx["id"].as_str().unwrap();
    env.emu.braintree_settle(aid.as_str()).unwrap_err();
    env.emu.braintree_settle(charged).unwrap();
    let settled_rev = env
        .graphql(CREDS, REVERSE, json!({"input": {"transactionId": charged}}))
        .await;
    let reversal = &settled_rev.json["data"]["reverseTransaction"]["reversal"];
    assert_eq!(reversal["__typename"], "Refund", "{}", settled_rev.text);
    assert_eq!(reversal["amount"]["value"], "20.00");
    assert_eq!(
        rev.json["data"]["reverseTransaction"]["reversal"]["status"], "VOIDED",
        "{}",
        rev.text
    );

    let found = env
        .graphql(
            CREDS,
            SEARCH,
            json!({"input": {"orderId": {"is": "ord_1"}}}),
        )
        .await;
    let edges = found.json["data"]["search"]["transactions"]["edges"]
        .as_array()
        .unwrap();
    assert_eq!(edges.len(), 1);
    assert_eq!(edges[0]["node"]["legacyId"], legacy);
    let node = env.graphql(CREDS, NODE, json!({"id": aid})).await;
    assert_eq!(node.json["data"]["node"]["status"], "VOIDED");
    env.emu.shutdown().await;
}

#[tokio::test]
async fn amount_rule_and_nonces_decline_with_errors_and_http_200() {
    let env = start().await;
    for (amount, code, decline_type) in [
        ("2000.00", "2000", "SOFT"),
        ("2001.00", "2001", "SOFT"),
        ("2015.00", "2015", "HARD"),
        ("3000.00", "3000", "SOFT"),
    ] {
        let r = env
            .graphql(CREDS, CHARGE, charge_input(amount, "ord_d"))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json["data"]["chargePaymentMethod"], Value::Null);
        let e = &r.json["errors"][0];
        assert_eq!(e["extensions"]["legacyCode"], code, "{amount}");
        assert_eq!(e["extensions"]["errorClass"], "VALIDATION");
        assert_eq!(e["extensions"]["declineType"], decline_type);
        assert_eq!(e["path"][0], "chargePaymentMethod");
    }
    let txs = env.emu.braintree_transactions(CREDS);
    assert_eq!(txs.len(), 4);
    assert_eq!(txs[0]["status"], "FAILED");
    assert_eq!(txs[1]["status"], "PROCESSOR_DECLINED");
    // Read back, the decline keeps its reason (ProcessorDeclinedEvent).
    let ev = &txs[1]["statusHistory"][0];
    assert_eq!(ev["__typename"], "ProcessorDeclinedEvent");
    assert_eq!(ev["processorResponse"]["legacyCode"], "2015");
    assert_eq!(ev["declineType"], "HARD");

    let unknown = env
        .graphql(
            CREDS,
            CHARGE,
            json!({"input": {"paymentMethodId": "not-a-nonce", "transaction": {"amount": "1.00"}}}),
        )
        .await;
    assert_eq!(
        unknown.json["errors"][0]["extensions"]["legacyCode"],
        "91565"
    );
    let fraud = env
        .graphql(CREDS, CHARGE, json!({"input": {"paymentMethodId": "fake-gateway-rejected-fraud-nonce", "transaction": {"amount": "1.00"}}}))
        .await;
    assert_eq!(
        fraud.json["errors"][0]["extensions"]["gatewayRejectionReason"],
        "FRAUD"
    );
    let bad_amount = env.graphql(CREDS, CHARGE, charge_input("1.234", "x")).await;
    assert_eq!(
        bad_amount.json["errors"][0]["extensions"]["legacyCode"],
        "81503"
    );

    let r = env
        .http
        .post(format!("{}/graphql", env.emu.braintree_base_url()))
        .json(&json!({"query": CHARGE, "variables": charge_input("1.00", "x")}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["errorClass"],
        "AUTHENTICATION"
    );
    env.emu.shutdown().await;
}

#[tokio::test]
async fn api_request_key_replays_the_current_transaction() {
    let env = start().await;
    let mut input = charge_input("12.00", "ord_k");
    input["input"]["apiRequestKey"] = json!("ord_k-attempt-1");
    let first = env.graphql(CREDS, AUTHORIZE, input.clone()).await;
    let id = first.json["data"]["authorizePaymentMethod"]["transaction"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    env.graphql(CREDS, CAPTURE, json!({"input": {"transactionId": id}}))
        .await;
    let replay = env.graphql(CREDS, AUTHORIZE, input.clone()).await;
    let rtx = &replay.json["data"]["authorizePaymentMethod"]["transaction"];
    assert_eq!(rtx["id"], id.as_str());
    assert_eq!(
        rtx["status"], "SUBMITTED_FOR_SETTLEMENT",
        "the replay shows the current status"
    );
    assert_eq!(env.emu.braintree_transactions(CREDS).len(), 1);
    input["input"]["transaction"]["amount"] = json!("13.00");
    let other = env.graphql(CREDS, AUTHORIZE, input).await;
    assert_eq!(other.status, 200);
    assert_eq!(
        other.json["errors"][0]["extensions"]["errorClass"],
        "VALIDATION"
    );
    assert_eq!(env.emu.braintree_transactions(CREDS).len(), 1);
    env.emu.shutdown().await;
}

#[tokio::test]
async fn faults_answer_braintree_errors_and_the_key_recovers_the_charge() {
    let env = start().await;
    env.emu
        .faults()
        .set(
            FaultSpec::for_key(CREDS)
                .error_rate(1.0)
                .error_status(503)
                .error_phase(ErrorPhase::After),
        )
        .unwrap();
    let mut input = charge_input("30.00", "ord_f");
    input["input"]["apiRequestKey"] = json!("ord_f-1");
    let r = env.graphql(CREDS, CHARGE, input.clone()).await;
    assert_eq!(r.status, 503);
    assert_eq!(
        r.json["errors"][0]["extensions"]["errorClass"],
        "SERVICE_AVAILABILITY"
    );
    env.emu.faults().clear();
    let retry = env.graphql(CREDS, CHARGE, input).await;
    assert_eq!(
        retry.json["data"]["chargePaymentMethod"]["transaction"]["status"],
        "SUBMITTED_FOR_SETTLEMENT"
    );
    assert_eq!(
        env.emu.braintree_transactions(CREDS).len(),
        1,
        "one charge only"
    );

    env.emu
        .faults()
        .set(FaultSpec::for_key(CREDS).decline("2046", 1.0))
        .unwrap();
    let d = env
        .graphql(CREDS, CHARGE, charge_input("5.00", "ord_g"))
        .await;
    assert_eq!(d.json["errors"][0]["extensions"]["legacyCode"], "2046");
    assert_eq!(env.emu.stats().by_key[CREDS].by_outcome["declined"], 1);
    env.emu.shutdown().await;
}

fn verify_bt(public_private: &str, form: &str) -> String {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(form).unwrap();
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).unwrap().1.clone();
    let (sig, payload) = (get("bt_signature"), get("bt_payload"));
    let (public, private) = public_private.split_once(':').unwrap();
    let key = sha1::Sha1::digest(private.as_bytes());
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(&key).unwrap();
    mac.update(payload.as_bytes());
    assert_eq!(
        sig,
        format!("{public}|{}", hex::encode(mac.finalize().into_bytes()))
    );
    let xml = base64::engine::general_purpose::STANDARD
        .decode(payload.replace('\n', ""))
        .unwrap();
    String::from_utf8(xml).unwrap()
}

#[tokio::test]
async fn settlement_webhook_is_signed_late_and_duplicated_then_refund_works() {
    let env = start().await;
    let rx = receiver().await;
    env.emu
        .webhooks()
        .set(
            WebhookConfig::new(CREDS, rx.url.clone(), WebhookFormat::Braintree)
                .secret(CREDS)
                .delay(Duration::from_millis(300))
                .duplicates(1),
        )
        .unwrap();
    let r = env
        .graphql(CREDS, CHARGE, charge_input("40.00", "ord_w"))
        .await;
    let tx = r.json["data"]["chargePaymentMethod"]["transaction"].clone();
    let t = Instant::now();
    let ids = env
        .emu
        .send_webhook(CREDS, "transaction_settled", tx["id"].as_str().unwrap())
        .unwrap();
    assert_eq!(ids.len(), 1);
    assert_eq!(rx.count(), 0);
    let hooks = rx.wait_for(2).await;
    assert!(hooks[0].at.duration_since(t) >= Duration::from_millis(300));
    assert_eq!(hooks[0].body, hooks[1].body);
    assert_eq!(
        hooks[0].header("content-type"),
        "application/x-www-form-urlencoded"
    );
    let xml = verify_bt(CREDS, &hooks[0].text());
    assert!(xml.contains("<kind>transaction_settled</kind>"), "{xml}");
    assert!(
        xml.contains(&format!("<id>{}</id>", tx["legacyId"].as_str().unwrap())),
        "{xml}"
    );
    assert!(xml.contains("<amount>40.00</amount>"));
    // Settled now: refunds are accepted.
    let refund = env
        .graphql(
            CREDS,
            REFUND,
            json!({"input": {"transactionId": tx["id"], "refund": {"amount": "15.00"}}}),
        )
        .await;
    assert_eq!(
        refund.json["data"]["refundTransaction"]["refund"]["amount"]["value"], "15.00",
        "{}",
        refund.text
    );
    env.emu.shutdown().await;
}
