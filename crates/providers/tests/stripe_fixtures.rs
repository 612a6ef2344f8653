//! Every Stripe fixture of `shared/providers/fixtures/index.json` through the Stripe parser.
//!
//! index.json fields relied on (per entry): `file`, `provider`, `kind`, `http_status`, `notes`,
//! `expected_class`, and for webhooks `headers["Stripe-Signature"]`. The operation is taken from
//! `kind` and cross-checked against the `POST /v1/…` path in `notes` when there is one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use providers::stripe::{self, WEBHOOK_TOLERANCE_SECS};
use providers::{HttpResponse, Operation};
use routing::OutcomeClass;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;

/// Webhook secret and clock of the signed fixtures (REFERENCE.md §1.6, §7).
const WEBHOOK_SECRET: &str = "whsec_test_fixture_secret";
const WEBHOOK_NOW: i64 = 1_700_000_700;

/// Fixtures whose class deliberately differs from index.json: (file, class in the index, our
/// class, why). The index value is asserted too, so a change on either side is noticed.
const DEVIATIONS: &[(&str, &str, &str, &str)] = &[(
    "stripe/error_api_error_500.json",
    "provider_unavailable",
    "unknown_outcome",
    "Stripe saves a 500 under the idempotency key and a charge may exist (REFERENCE.md §1.2, §1.4, §5; the entry's own note says to confirm no PI exists first)",
)];

fn fixtures_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/providers/fixtures");
    assert!(
        dir.join("index.json").is_file(),
        "provider fixtures not found: expected {} (the shared/ folder must sit beside the repository)",
        dir.join("index.json").display()
    );
    dir
}

fn op_from_kind(kind: &str) -> Option<Operation> {
    match kind {
        "success"
        | "success_authorized"
        | "decline"
        | "auth_error"
        | "validation_error"
        | "idempotency_error"
        | "conflict_retryable"
        | "rate_limited"
        | "provider_unavailable" => Some(Operation::Authorize),
        "capture_success" => Some(Operation::Capture),
        "cancel_success" => Some(Operation::Void),
        "refund_success" => Some(Operation::Refund),
        "webhook" => None,
        other => panic!("index.json has a Stripe kind this test does not know: {other:?}; add it"),
    }
}

fn op_from_notes(notes: &str) -> Option<Operation> {
    if notes.contains("POST /v1/payment_intents/{id}/capture") {
        Some(Operation::Capture)
    } else if notes.contains("POST /v1/payment_intents/{id}/cancel") {
        Some(Operation::Void)
    } else if notes.contains("POST /v1/refunds") {
        Some(Operation::Refund)
    } else if notes.contains("POST /v1/payment_intents") {
        Some(Operation::Authorize)
    } else {
        None
    }
}

fn expected_reference_prefix(op: Operation) -> &'static str {
    match op {
        Operation::Refund => "re_",
        Operation::Authorize | Operation::Capture | Operation::Void | Operation::Retrieve => "pi_",
    }
}

#[test]
fn every_stripe_fixture_classifies_as_indexed() {
    let dir = fixtures_dir();
    let index: Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    let entries: Vec<&Value> = index["files"]
        .as_array()
        .expect("index.json has a files array")
        .iter()
        .filter(|e| e["provider"] == "stripe")
        .collect();
    assert!(!entries.is_empty(), "index.json lists no stripe fixtures");

    // Every stripe/*.json on disk is in the index (nothing added silently either).
    let on_disk: BTreeSet<String> = std::fs::read_dir(dir.join("stripe"))
        .unwrap()
        .map(|e| format!("stripe/{}", e.unwrap().file_name().to_string_lossy()))
        .filter(|f| f.ends_with(".json"))
        .collect();
    let indexed: BTreeSet<String> = entries
        .iter()
        .map(|e| e["file"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(on_disk, indexed, "stripe/ on disk and index.json disagree");

    let mut checked = 0usize;
    let mut failures = Vec::new();
    let mut deviations_seen = 0usize;
    for e in &entries {
        let file = e["file"].as_str().unwrap();
        let kind = e["kind"].as_str().unwrap();
        let notes = e["notes"].as_str().unwrap_or("");
        let expected = e["expected_class"].as_str();
        let status = e["http_status"].as_u64();
        let bytes = std::fs::read(dir.join(file)).unwrap_or_else(|err| panic!("{file}: {err}"));
        println!(
            "{file}: provider=stripe kind={kind} http_status={status:?} expected_class={expected:?} notes={notes:?}"
        );

        let Some(op) = op_from_kind(kind) else {
            // Webhook: verify the signature, parse the event, classify the embedded object.
            let sig = e["headers"]["Stripe-Signature"]
                .as_str()
                .unwrap_or_else(|| panic!("{file}: no Stripe-Signature"));
            if let Err(err) = stripe::verify_webhook(
                &bytes,
                sig,
                WEBHOOK_SECRET,
                WEBHOOK_NOW,
                WEBHOOK_TOLERANCE_SECS,
            ) {
                failures.push(format!("{file}: signature does not verify: {err}"));
            }
            let ev = match stripe::parse_event(&bytes) {
                Ok(ev) => ev,
                Err(err) => {
                    failures.push(format!("{file}: not an event: {err}"));
                    checked += 1;
                    continue;
                }
            };
            let stem = file
                .trim_start_matches("stripe/webhook_")
                .trim_end_matches(".json");
            let want_type = stem.replacen("payment_intent_", "payment_intent.", 1);
            if ev.event_type != want_type {
                failures.push(format!(
                    "{file}: event type {} != {want_type}",
                    ev.event_type
                ));
            }
            let got = ev.classify_object().map(|r| r.class);
            // index.json gives null for webhooks; classify by the payment status they carry.
            let want = match expected {
                Some(c) => OutcomeClass::parse(c),
                None => match ev.event_type.as_str() {
                    "payment_intent.succeeded" => Some(OutcomeClass::Approved),
                    "payment_intent.payment_failed" => Some(OutcomeClass::SoftDecline), // insufficient_funds
                    other => panic!("{file}: no expectation for event type {other}"),
                },
            };
            println!(
                "  -> event {} type {} embedded class {got:?}",
                ev.id, ev.event_type
            );
            if got != want {
                failures.push(format!("{file}: embedded object class {got:?} != {want:?}"));
            }
            checked += 1;
            continue;
        };
        if let Some(from_notes) = op_from_notes(notes) {
            assert_eq!(
                from_notes, op,
                "{file}: kind {kind:?} and notes {notes:?} imply different operations"
            );
        }
        let expected = expected.unwrap_or_else(|| panic!("{file}: no expected_class"));
        let status =
            u16::try_from(status.unwrap_or_else(|| panic!("{file}: no http_status"))).unwrap();
        let result = stripe::parse_response(op, &HttpResponse::new(status, bytes.clone()));
        let deviation = DEVIATIONS.iter().find(|d| d.0 == file);
        let want = match deviation {
            Some((_, in_index, ours, why)) => {
                assert_eq!(
                    expected, *in_index,
                    "{file}: index.json changed; revisit the documented deviation"
                );
                println!("  deviation: index says {in_index}, we return {ours}: {why}");
                deviations_seen += 1;
                *ours
            }
            None => expected,
        };
        println!(
            "  -> op={} class={} reference={:?} status={:?} code={:?} decline={:?}",
            op.as_str(),
            result.class.as_str(),
            result.provider_reference,
            result.provider_status,
            result.raw_code,
            result.decline_code
        );
        if result.class.as_str() != want {
            failures.push(format!(
                "{file}: {} as {} -> {}, want {want}",
                kind,
                op.as_str(),
                result.class.as_str()
            ));
        }
        if result.http_status != Some(status) {
            failures.push(format!("{file}: http_status {:?}", result.http_status));
        }
        // Fields the attempt row needs.
        let json: Value = serde_json::from_slice(&bytes).unwrap();
        if let Some(err) = json.get("error") {
            if result.raw_code.as_deref() != err["code"].as_str() {
                failures.push(format!("{file}: raw_code {:?}", result.raw_code));
            }
            if result.decline_code.as_deref() != err["decline_code"].as_str() {
                failures.push(format!("{file}: decline_code {:?}", result.decline_code));
            }
            if result.provider_reference.as_deref() != err["payment_intent"]["id"].as_str() {
                failures.push(format!(
                    "{file}: provider_reference {:?}",
                    result.provider_reference
                ));
            }
            if result.message.is_none() {
                failures.push(format!("{file}: no message"));
            }
        } else {
            let prefix = expected_reference_prefix(op);
            if !result
                .provider_reference
                .as_deref()
                .is_some_and(|r| r.starts_with(prefix))
            {
                failures.push(format!(
                    "{file}: provider_reference {:?}, want {prefix}…",
                    result.provider_reference
                ));
            }
            if result.provider_status.as_deref() != json["status"].as_str() {
                failures.push(format!(
                    "{file}: provider_status {:?}",
                    result.provider_status
                ));
            }
        }
        checked += 1;
    }
    assert!(
        failures.is_empty(),
        "fixture mismatches:\n{}",
        failures.join("\n")
    );
    assert_eq!(
        checked,
        entries.len(),
        "every stripe fixture must be checked"
    );
    assert_eq!(
        deviations_seen,
        DEVIATIONS.len(),
        "a documented deviation names a fixture that is gone"
    );
    println!("checked {checked} stripe fixtures ({deviations_seen} documented deviation)");
}

#[test]
fn captured_and_authorized_fixtures_set_captured() {
    let dir = fixtures_dir();
    let read = |f: &str| std::fs::read(dir.join(f)).unwrap();
    let r = stripe::parse_response(
        Operation::Authorize,
        &HttpResponse::new(200, read("stripe/payment_intent_succeeded.json")),
    );
    assert!(r.captured);
    let r = stripe::parse_response(
        Operation::Authorize,
        &HttpResponse::new(200, read("stripe/payment_intent_requires_capture.json")),
    );
    assert!(!r.captured);
    assert_eq!(r.provider_status.as_deref(), Some("requires_capture"));
    let r = stripe::parse_response(
        Operation::Capture,
        &HttpResponse::new(200, read("stripe/payment_intent_captured.json")),
    );
    assert!(r.captured);
    // The same canceled PI is a success for a void and "not charged" for a retrieve.
    let canceled = read("stripe/payment_intent_canceled.json");
    assert_eq!(
        stripe::parse_response(Operation::Void, &HttpResponse::new(200, canceled.clone())).class,
        OutcomeClass::Approved
    );
    assert_eq!(
        stripe::parse_response(Operation::Retrieve, &HttpResponse::new(200, canceled)).class,
        OutcomeClass::ProviderUnavailable
    );
}
