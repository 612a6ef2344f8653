//! Every webhook fixture of `shared/providers/fixtures` through `providers::webhooks`:
//! each signed one verifies with the secret REFERENCE.md §7 names, flipping any single byte of
//! the body or of the signature is rejected with the right code, and the parsed event says what
//! the fixture says.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hmac::{Hmac, Mac};
use providers::webhooks::{EventEffect, InboundWebhook, ProviderEvent, verify_and_parse};
use routing::{OutcomeClass, Provider};
use secrecy::SecretString;
use serde_json::Value;
use sha2::Sha256;
use std::path::PathBuf;

/// REFERENCE.md §7 "Test secrets".
const STRIPE_SECRET: &str = "whsec_test_fixture_secret";
const STRIPE_NOW: i64 = 1_700_000_700;
const SQUARE_KEY: &str = "fixture_signature_key";
const SQUARE_URL: &str = "https://example.com/webhooks/square";
const BRAINTREE_SECRET: &str = "fixture_public_key:fixture_private_key";
const MOLLIE_SECRET: &str = "VpQ3WukU6uSCGQ8TPTD3WPDpac3GyNEj";

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/providers/fixtures")
}

fn index() -> Vec<Value> {
    let v: Value =
        serde_json::from_slice(&std::fs::read(dir().join("index.json")).unwrap()).unwrap();
    v["files"].as_array().unwrap().clone()
}

/// One webhook fixture as a request: (provider, secret, headers, body).
struct Case {
    file: String,
    provider: Provider,
    secret: Option<SecretString>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Header whose value is the signature (None: the signature is in the body).
    sig_header: Option<&'static str>,
}

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    for e in index() {
        if e["kind"] != "webhook" {
            continue;
        }
        let file = e["file"].as_str().unwrap().to_owned();
        let raw = std::fs::read(dir().join(&file)).unwrap();
        let headers: Vec<(String, String)> = e["headers"]
            .as_object()
            .map(|h| {
                h.iter()
                    .map(|(k, v)| (k.to_ascii_lowercase(), v.as_str().unwrap().to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        let provider = Provider::parse(e["provider"].as_str().unwrap()).unwrap();
        let (secret, body, sig_header) = match provider {
            Provider::Stripe => (Some(STRIPE_SECRET), raw, Some("stripe-signature")),
            Provider::Square => (Some(SQUARE_KEY), raw, Some("x-square-hmacsha256-signature")),
            Provider::Braintree => {
                let v: Value = serde_json::from_slice(&raw).unwrap();
                let form = v["form_body"].as_str().unwrap().as_bytes().to_vec();
                (Some(BRAINTREE_SECRET), form, None)
            }
            Provider::Mollie if file.contains("classic") => {
                let v: Value = serde_json::from_slice(&raw).unwrap();
                (None, v["body"].as_str().unwrap().as_bytes().to_vec(), None)
            }
            Provider::Mollie => (Some(MOLLIE_SECRET), raw, Some("x-mollie-signature")),
            Provider::Simulator => panic!("simulator fixture?"),
        };
        out.push(Case {
            file,
            provider,
            secret: secret.map(|s| SecretString::from(s.to_owned())),
            headers,
            body,
            sig_header,
        });
    }
    out
}

fn run(
    c: &Case,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<ProviderEvent, (&'static str, u16)> {
    let req = InboundWebhook {
        headers,
        body,
        notification_url: SQUARE_URL,
        now_unix_s: STRIPE_NOW,
    };
    verify_and_parse(c.provider, c.secret.as_ref(), &req).map_err(|e| {
        assert!(!e.message.contains(MOLLIE_SECRET) && !e.message.contains("fixture_private_key"));
        (e.code, e.http_status)
    })
}

#[test]
fn every_webhook_fixture_verifies_and_parses() {
    let cases = cases();
    // index.json lists 8 webhook files: stripe 2, square 3, braintree 1, mollie 2 (REFERENCE.md §7).
    assert_eq!(
        cases.len(),
        8,
        "webhook fixtures changed: {:?}",
        cases.iter().map(|c| &c.file).collect::<Vec<_>>()
    );
    for c in &cases {
        let ev = run(c, &c.headers, &c.body).unwrap_or_else(|e| panic!("{}: {e:?}", c.file));
        let want: (&str, Option<&str>, EventEffect, bool) = match c.file.as_str() {
            "stripe/webhook_payment_intent_succeeded.json" => (
                "payment_intent.succeeded",
                Some("pi_3QfixtureA1b2C3d4"),
                EventEffect::Captured {
                    amount_minor: Some(2000),
                },
                false,
            ),
            "stripe/webhook_payment_intent_payment_failed.json" => (
                "payment_intent.payment_failed",
                Some("pi_3QfixtureA1b2C3d4"),
                EventEffect::Failed {
                    class: OutcomeClass::SoftDecline,
                },
                false,
            ),
            "square/webhook_payment_created.json" => (
                "payment.created",
                Some("hYy9pRFVxpDsO1FB05SunFWUe9JZY"),
                EventEffect::Authorized,
                false,
            ),
            "square/webhook_payment_updated.json" => (
                "payment.updated",
                Some("hYy9pRFVxpDsO1FB05SunFWUe9JZY"),
                EventEffect::Captured {
                    amount_minor: Some(100),
                },
                false,
            ),
            "square/webhook_refund_updated.json" => (
                "refund.updated",
                Some("KkAkhdMsgzn59SM8A89WgKwekxLZY"),
                EventEffect::Refunded {
                    amount_minor: Some(1000),
                },
                false,
            ),
            "braintree/webhook_transaction_settled.json" => (
                "transaction_settled",
                Some("fx7k2m9p"),
                EventEffect::Captured {
                    amount_minor: Some(10000),
                },
                false,
            ),
            "mollie/webhook_classic_payment.json" => (
                "payment.classic",
                Some("tr_d0b0E3EA3v"),
                EventEffect::Unknown,
                true,
            ),
            // An event type we do not act on (payment links): stored, no effect.
            "mollie/webhook_nextgen_event.json" => {
                ("payment-link.paid", None, EventEffect::Unknown, false)
            }
            other => panic!("webhook fixture {other} has no expectation here; add one"),
        };
        assert_eq!(
            (
                ev.event_type.as_str(),
                ev.provider_reference.as_deref(),
                ev.effect,
                ev.needs_fetch
            ),
            want,
            "{}",
            c.file
        );
        assert!(!ev.event_id.is_empty(), "{}", c.file);
        if c.file.starts_with("stripe/")
            || c.file.starts_with("square/")
            || c.file.contains("nextgen")
        {
            assert!(ev.occurred_at_unix_s.is_some(), "{}", c.file);
        }
    }
}

#[test]
fn any_changed_byte_is_rejected() {
    for c in cases().iter().filter(|c| c.secret.is_some()) {
        // Body bytes.
        for i in 0..c.body.len() {
            let mut body = c.body.clone();
            body[i] ^= 0x01;
            let err = run(c, &c.headers, &body).expect_err(&format!("{} body byte {i}", c.file));
            match c.provider {
                // The form body also carries the signature and its field names.
                Provider::Braintree => assert!(
                    matches!(
                        err,
                        ("signature_mismatch", 401)
                            | ("malformed_webhook", 400)
                            | ("signature_missing", 400)
                    ),
                    "{} byte {i}: {err:?}",
                    c.file
                ),
                Provider::Stripe | Provider::Square | Provider::Mollie | Provider::Simulator => {
                    assert_eq!(err, ("signature_mismatch", 401), "{} body byte {i}", c.file)
                }
            }
        }
        // Signature bytes.
        if let Some(name) = c.sig_header {
            let (idx, value) = c
                .headers
                .iter()
                .enumerate()
                .find(|(_, (k, _))| k == name)
                .map(|(i, (_, v))| (i, v.clone()))
                .unwrap();
            let start = match c.provider {
                Provider::Stripe => value.find("v1=").unwrap() + 3,
                Provider::Mollie => "sha256=".len(),
                Provider::Square | Provider::Braintree | Provider::Simulator => 0,
            };
            for i in start..value.len() {
                let mut bytes = value.clone().into_bytes();
                bytes[i] = if bytes[i] == b'0' { b'1' } else { b'0' };
                let mut headers = c.headers.clone();
                headers[idx].1 = String::from_utf8(bytes).unwrap();
                let err = run(c, &headers, &c.body).expect_err(&format!("{} sig byte {i}", c.file));
                assert_eq!(
                    err,
                    ("signature_mismatch", 401),
                    "{} signature byte {i}",
                    c.file
                );
            }
            let mut headers = c.headers.clone();
            headers.remove(idx);
            let err = run(c, &headers, &c.body).unwrap_err();
            let want = match c.provider {
                // Without the header a Mollie request is a classic one, and this body is not.
                Provider::Mollie => ("malformed_webhook", 400),
                Provider::Stripe | Provider::Square | Provider::Braintree | Provider::Simulator => {
                    ("signature_missing", 400)
                }
            };
            assert_eq!(err, want, "{} without signature", c.file);
        } else {
            // Braintree: flip each byte of the hex signature inside the form.
            let body = String::from_utf8(c.body.clone()).unwrap();
            let start = body.find("%7C").unwrap() + 3;
            let end = body[start..].find('&').unwrap() + start;
            for i in start..end {
                let mut b = c.body.clone();
                b[i] = if b[i] == b'0' { b'1' } else { b'0' };
                assert_eq!(
                    run(c, &c.headers, &b).unwrap_err(),
                    ("signature_mismatch", 401),
                    "{} sig byte {i}",
                    c.file
                );
            }
        }
        // Wrong secret.
        let wrong = Case {
            file: c.file.clone(),
            provider: c.provider,
            secret: Some(SecretString::from(match c.provider {
                Provider::Braintree => "fixture_public_key:other".to_owned(),
                Provider::Stripe | Provider::Square | Provider::Mollie | Provider::Simulator => {
                    "other".to_owned()
                }
            })),
            headers: c.headers.clone(),
            body: c.body.clone(),
            sig_header: c.sig_header,
        };
        assert_eq!(
            run(&wrong, &wrong.headers, &wrong.body).unwrap_err(),
            ("signature_mismatch", 401),
            "{}",
            c.file
        );
    }
}

#[test]
fn stripe_tolerance_and_unknown_types() {
    let body = br#"{"id":"evt_x","object":"event","type":"customer.created","created":1700000000,"data":{"object":{"object":"customer","id":"cus_1"}}}"#;
    let mut mac = Hmac::<Sha256>::new_from_slice(STRIPE_SECRET.as_bytes()).unwrap();
    mac.update(b"1700000000.");
    mac.update(body);
    let sig = hex::encode(mac.finalize().into_bytes());
    let headers = vec![(
        "stripe-signature".to_owned(),
        format!("t=1700000000,v1={sig}"),
    )];
    let secret = SecretString::from(STRIPE_SECRET.to_owned());
    let at = |now| {
        verify_and_parse(
            Provider::Stripe,
            Some(&secret),
            &InboundWebhook {
                headers: &headers,
                body,
                notification_url: "",
                now_unix_s: now,
            },
        )
    };
    let ev = at(1_700_000_300).unwrap();
    assert_eq!(ev.effect, EventEffect::Unknown);
    assert_eq!(ev.event_type, "customer.created");
    let e = at(1_700_000_301).unwrap_err();
    assert_eq!((e.code, e.http_status), ("timestamp_out_of_tolerance", 401));
    let e = at(1_699_999_699).unwrap_err();
    assert_eq!(e.code, "timestamp_out_of_tolerance");
}
