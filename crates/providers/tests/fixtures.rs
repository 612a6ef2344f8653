//! ONE test over EVERY file of `shared/providers/fixtures` (all four providers), driven by
//! `index.json`: responses go through their provider's parser for the operation their `kind`
//! names and must classify as `expected_class` (with the HTTP status the index gives); request
//! fixtures are compared with what our translator builds; webhooks must verify with the secrets
//! of REFERENCE.md §7 and parse. Every file on disk must be in the index and every index entry
//! checked (count check): nothing is skipped silently.
//!
//! Deliberate deviations from index.json are listed in [`DEVIATIONS`] with the reason; the index
//! value is asserted too, so a change on either side is noticed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use providers::webhooks::{InboundWebhook, verify_and_parse};
use providers::{
    AuthorizeRequest, Body, CaptureRequest, HttpResponse, Operation, ProviderResult, RefundRequest,
    VoidRequest, braintree, mollie, square, stripe,
};
use routing::{CaptureMode, Currency, Money, OutcomeClass, Provider};
use secrecy::SecretString;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// (file, class in index.json, our class, why).
const DEVIATIONS: &[(&str, &str, &str, &str)] = &[
    (
        "stripe/error_api_error_500.json",
        "provider_unavailable",
        "unknown_outcome",
        "Stripe saves a 500 under the idempotency key and a charge may exist (REFERENCE.md §1.2, §1.4, §5)",
    ),
    (
        "square/error_internal_server_error_500.json",
        "provider_unavailable",
        "unknown_outcome",
        "a Square 500 can come after the payment was made; reconcile by replaying the create with its idempotency_key (REFERENCE.md §2.2) before any fallback, as for Stripe's 500",
    ),
    (
        "square/error_invalid_expiration_400.json",
        "validation_error",
        "hard_decline",
        "REFERENCE.md §2.3 and §5 class Square INVALID_EXPIRATION as a hard decline (card data, classify by code not status)",
    ),
];

fn dir() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/providers/fixtures");
    assert!(
        d.join("index.json").is_file(),
        "fixtures not found at {}",
        d.display()
    );
    d
}

fn files_on_disk(root: &Path, sub: &Path, out: &mut BTreeSet<String>) {
    for e in std::fs::read_dir(root.join(sub)).unwrap() {
        let e = e.unwrap();
        let rel = sub.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            files_on_disk(root, &rel, out);
        } else if rel != Path::new("index.json") {
            out.insert(rel.to_string_lossy().replace('\\', "/"));
        }
    }
}

fn money(minor: i64, cur: &str) -> Money {
    Money::new(minor, Currency::parse(cur).unwrap()).unwrap()
}

fn op_of(provider: Provider, kind: &str) -> Operation {
    match kind {
        "success"
        | "success_authorized"
        | "success_pending"
        | "decline"
        | "auth_error"
        | "validation_error"
        | "idempotency_error"
        | "conflict_retryable"
        | "rate_limited"
        | "provider_unavailable"
        | "unknown_outcome" => Operation::Authorize,
        "capture_success" => Operation::Capture,
        "cancel_success" => Operation::Void,
        "refund_success" => Operation::Refund,
        "retrieve" => Operation::Retrieve,
        // Mollie's 409 fixture is "A duplicate refund has been detected".
        "conflict" if provider == Provider::Mollie => Operation::Refund,
        other => panic!("index.json has a {provider:?} kind this test does not know: {other:?}"),
    }
}

fn parse(
    provider: Provider,
    file: &str,
    op: Operation,
    status: u16,
    bytes: &[u8],
) -> ProviderResult {
    match provider {
        Provider::Stripe => stripe::parse_response(op, &HttpResponse::new(status, bytes.to_vec())),
        Provider::Square => square::parse_response(op, &HttpResponse::new(status, bytes.to_vec())),
        Provider::Braintree if file.starts_with("braintree/xml_") => {
            let v: Value = serde_json::from_slice(bytes).unwrap();
            braintree::parse_xml_response(op, status, v["body"].as_str().unwrap())
        }
        Provider::Braintree => {
            braintree::parse_response(op, &HttpResponse::new(status, bytes.to_vec()))
        }
        Provider::Mollie => mollie::parse_response(op, &HttpResponse::new(status, bytes.to_vec())),
        Provider::Simulator => panic!("no simulator fixtures"),
    }
}

fn json_body(b: &Body) -> &Value {
    match b {
        Body::Json(v) => v,
        Body::Empty | Body::Form(_) => panic!("not a JSON body"),
    }
}

/// Compares the JSON body we build with a request fixture: every field we send equals the
/// fixture's, and the fixture's other fields are exactly `unmodeled`.
fn compare_request(file: &str, ours: &Value, fixture: &Value, unmodeled: &[&str]) {
    let ours = ours.as_object().unwrap();
    let theirs = fixture.as_object().unwrap();
    for (k, v) in ours {
        assert_eq!(
            theirs.get(k),
            Some(v),
            "{file}: field {k} differs from what we send"
        );
    }
    let rest: BTreeSet<&str> = theirs
        .keys()
        .map(String::as_str)
        .filter(|k| !ours.contains_key(*k))
        .collect();
    assert_eq!(
        rest,
        unmodeled.iter().copied().collect(),
        "{file}: fields we do not send"
    );
}

fn check_request(file: &str, bytes: &[u8]) {
    let fixture: Value = serde_json::from_slice(bytes).unwrap();
    match file {
        "square/request_create_payment.json" => {
            let req = AuthorizeRequest {
                idempotency_key: "7b0f3ec5-086a-4871-8f13-3c81b3875218".into(),
                payment_id: "123456".into(),
                money: money(1000, "USD"),
                capture: CaptureMode::Automatic,
                token: "ccof:GaJGNaZa8x4OgDJn4GB".into(),
                merchant_reference: Some("Brief description".into()),
                metadata: BTreeMap::new(),
            };
            let r = square::authorize_request(&req);
            assert_eq!(
                (r.path.as_str(), r.header("Square-Version")),
                ("/v2/payments", Some(square::SQUARE_VERSION))
            );
            // Fees, customers and locations are not modelled (the location defaults to the
            // seller's main location).
            compare_request(
                file,
                json_body(&r.body),
                &fixture,
                &["app_fee_money", "customer_id", "location_id"],
            );
        }
        "square/request_refund_payment.json" => {
            let req = RefundRequest {
                idempotency_key: "9b7f2dcf-49da-4411-b23e-a2d6af21333a".into(),
                provider_reference: "R2B3Z8WMVt3EAmzYWLZvz7Y69EbZY".into(),
                money: money(1000, "USD"),
                reason: Some("Example".into()),
            };
            let r = square::refund_request(&req);
            assert_eq!(r.path, "/v2/refunds");
            compare_request(file, json_body(&r.body), &fixture, &["app_fee_money"]);
        }
        "square/request_cancel_by_idempotency_key.json" => {
            let r = square::void_request(&VoidRequest {
                idempotency_key: "a7e36d40-d24b-11e8-b568-0800200c9a66".into(),
                provider_reference: String::new(),
            });
            assert_eq!(r.path, "/v2/payments/cancel");
            assert_eq!(json_body(&r.body), &fixture, "{file}");
        }
        "square/request_complete_payment.json" => {
            let r = square::capture_request(&CaptureRequest {
                idempotency_key: "k".into(),
                provider_reference: "pay_1".into(),
                amount: None,
            });
            assert_eq!(r.path, "/v2/payments/pay_1/complete");
            assert_eq!(json_body(&r.body), &fixture, "{file}");
        }
        "braintree/xml_request_transaction_sale.json" => {
            // We speak GraphQL; the XML sale must carry the same facts as our charge.
            let (amount, order, key, nonce, submit) =
                braintree::xml_sale_fields(fixture["body"].as_str().unwrap());
            let req = AuthorizeRequest {
                idempotency_key: key.unwrap().into(),
                payment_id: order.unwrap().into(),
                money: money(2000, "USD"),
                capture: if submit {
                    CaptureMode::Automatic
                } else {
                    CaptureMode::Manual
                },
                token: nonce.unwrap().into(),
                merchant_reference: None,
                metadata: BTreeMap::new(),
            };
            let r = braintree::authorize_request(&req);
            let body = json_body(&r.body);
            assert_eq!(body["operationName"], "ChargePaymentMethod", "{file}");
            assert_eq!(
                body["variables"]["input"],
                json!({"paymentMethodId": nonce, "apiRequestKey": key,
                       "transaction": {"amount": amount, "orderId": order}}),
                "{file}"
            );
            assert_eq!(
                r.header("Braintree-Version"),
                Some(braintree::BRAINTREE_VERSION)
            );
        }
        other => panic!("request fixture {other} has no check; add one"),
    }
}

fn check_webhook(provider: Provider, file: &str, entry: &Value, bytes: &[u8]) {
    let headers: Vec<(String, String)> = entry["headers"]
        .as_object()
        .map(|h| {
            h.iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.as_str().unwrap().to_owned()))
                .collect()
        })
        .unwrap_or_default();
    let wrapped = || -> Value { serde_json::from_slice(bytes).unwrap() };
    let (secret, body): (Option<&str>, Vec<u8>) = match provider {
        Provider::Stripe => (Some("whsec_test_fixture_secret"), bytes.to_vec()),
        Provider::Square => (Some("fixture_signature_key"), bytes.to_vec()),
        Provider::Braintree => (
            Some("fixture_public_key:fixture_private_key"),
            wrapped()["form_body"].as_str().unwrap().as_bytes().to_vec(),
        ),
        Provider::Mollie if file.contains("classic") => (
            None,
            wrapped()["body"].as_str().unwrap().as_bytes().to_vec(),
        ),
        Provider::Mollie => (Some("VpQ3WukU6uSCGQ8TPTD3WPDpac3GyNEj"), bytes.to_vec()),
        Provider::Simulator => panic!("no simulator fixtures"),
    };
    let secret = secret.map(|s| SecretString::from(s.to_owned()));
    let req = InboundWebhook {
        headers: &headers,
        body: &body,
        notification_url: "https://example.com/webhooks/square",
        now_unix_s: 1_700_000_700,
    };
    let ev = verify_and_parse(provider, secret.as_ref(), &req)
        .unwrap_or_else(|e| panic!("{file}: {e:?}"));
    println!(
        "  -> event {} type {} effect {:?}",
        ev.event_id, ev.event_type, ev.effect
    );
}

#[test]
fn every_fixture_file_parses_and_classifies_as_indexed() {
    let dir = dir();
    let index: Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    let entries = index["files"].as_array().unwrap();
    assert_eq!(
        index["count"].as_u64(),
        Some(entries.len() as u64),
        "index.json count field"
    );

    let mut on_disk = BTreeSet::new();
    files_on_disk(&dir, Path::new(""), &mut on_disk);
    let indexed: BTreeSet<String> = entries
        .iter()
        .map(|e| e["file"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(on_disk, indexed, "files on disk and index.json disagree");

    let mut checked = BTreeMap::<&str, usize>::new();
    let mut deviations_seen = 0;
    let mut failures = Vec::new();
    for e in entries {
        let file = e["file"].as_str().unwrap();
        let kind = e["kind"].as_str().unwrap();
        let provider = Provider::parse(e["provider"].as_str().unwrap()).unwrap();
        assert!(
            file.starts_with(provider.as_str()),
            "{file} filed under {provider:?}"
        );
        let bytes = std::fs::read(dir.join(file)).unwrap();
        println!(
            "{file}: kind={kind} http_status={} expected={}",
            e["http_status"], e["expected_class"]
        );
        match kind {
            "request" => check_request(file, &bytes),
            "webhook" => check_webhook(provider, file, e, &bytes),
            _ => {
                let op = op_of(provider, kind);
                let status = u16::try_from(e["http_status"].as_u64().unwrap()).unwrap();
                let r = parse(provider, file, op, status, &bytes);
                println!(
                    "  -> op={} class={} ref={:?} status={:?} code={:?} decline={:?}",
                    op.as_str(),
                    r.class.as_str(),
                    r.provider_reference,
                    r.provider_status,
                    r.raw_code,
                    r.decline_code
                );
                assert_eq!(r.http_status, Some(status), "{file}");
                let want = match e["expected_class"].as_str() {
                    Some(c) => {
                        let deviation = DEVIATIONS.iter().find(|d| d.0 == file);
                        match deviation {
                            Some((_, in_index, ours, why)) => {
                                assert_eq!(
                                    c, *in_index,
                                    "{file}: index.json changed; revisit the deviation"
                                );
                                println!("  deviation: index {in_index}, ours {ours}: {why}");
                                deviations_seen += 1;
                                OutcomeClass::parse(ours).unwrap()
                            }
                            None => OutcomeClass::parse(c)
                                .unwrap_or_else(|| panic!("{file}: class {c}")),
                        }
                    }
                    // Retrieve examples carry no class: classify by their status.
                    None => match file {
                        "square/get_payment.json" => OutcomeClass::Approved,
                        "mollie/get_payment_200.json" => OutcomeClass::NeedsCustomerAction,
                        other => panic!("{other}: no expected_class and no expectation here"),
                    },
                };
                if r.class != want {
                    failures.push(format!("{file}: {} != {}", r.class.as_str(), want.as_str()));
                }
                if matches!(r.class, OutcomeClass::Approved)
                    && r.provider_reference.is_none()
                    && file != "square/cancel_payment_by_idempotency_key.json"
                {
                    failures.push(format!("{file}: approved without a provider reference"));
                }
            }
        }
        *checked.entry(provider.as_str()).or_default() += 1;
    }
    assert!(
        failures.is_empty(),
        "fixtures misclassified:\n{}",
        failures.join("\n")
    );
    assert_eq!(
        deviations_seen,
        DEVIATIONS.len(),
        "a listed deviation was not seen"
    );
    let total: usize = checked.values().sum();
    assert_eq!(
        total,
        on_disk.len(),
        "not every fixture was checked: {checked:?}"
    );
    for p in ["stripe", "square", "braintree", "mollie"] {
        assert!(
            checked.get(p).copied().unwrap_or(0) > 0,
            "no {p} fixtures checked"
        );
    }
    println!("checked {total} fixtures: {checked:?}");
}
