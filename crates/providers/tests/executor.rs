//! The executor against local axum servers on 127.0.0.1:0: timeouts, refused connections, wire
//! headers, and that the API key never leaks into results or logs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use providers::simulator::Simulator;
use providers::stripe::{self, SEARCH_EMPTY_MESSAGE, STRIPE_VERSION};
use providers::{
    AuthorizeRequest, CaptureRequest, ConnectorAccount, Executor, ExecutorConfig, ProviderResult,
    RefundRequest, RetrieveRequest, VoidRequest,
};
use routing::{CaptureMode, ConnectorId, Currency, Mode, Money, OutcomeClass, Provider};
use secrecy::SecretString;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const CANARY: &str = "sk_test_CANARY_4f9d2b7c1e8a6053";

#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    path: String,
    query: Option<String>,
    headers: HeaderMap,
    body: Vec<u8>,
}

type Log = Arc<Mutex<Vec<Seen>>>;

/// A server answering every request with `status` and `body` after `delay`, recording requests.
async fn canned(status: u16, body: impl Into<Vec<u8>>, delay: Duration) -> (String, Log) {
    let log: Log = Arc::default();
    let body: Vec<u8> = body.into();
    let recorder = log.clone();
    let app = Router::new().fallback(
        move |method: Method, uri: Uri, headers: HeaderMap, req_body: Bytes| {
            let log = recorder.clone();
            let body = body.clone();
            async move {
                log.lock().unwrap().push(Seen {
                    method,
                    path: uri.path().to_owned(),
                    query: uri.query().map(str::to_owned),
                    headers,
                    body: req_body.to_vec(),
                });
                tokio::time::sleep(delay).await;
                (
                    StatusCode::from_u16(status).unwrap(),
                    [
                        ("content-type", "application/json"),
                        ("request-id", "req_test_1"),
                    ],
                    body,
                )
            }
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), log)
}

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/providers/fixtures/stripe")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {} missing: {e}", path.display()))
}

fn account(provider: Provider, base_url: &str, key: &str) -> ConnectorAccount {
    ConnectorAccount {
        connector_id: ConnectorId(uuid::Uuid::nil()),
        provider,
        mode: Mode::Test,
        base_url: base_url.to_owned(),
        api_key: SecretString::from(key.to_owned()),
    }
}

fn executor(read_ms: u64) -> Executor {
    Executor::new(ExecutorConfig {
        connect_timeout: Duration::from_millis(500),
        read_timeout: Duration::from_millis(read_ms),
    })
    .unwrap()
}

fn money(minor: i64) -> Money {
    Money::new(minor, Currency::parse("USD").unwrap()).unwrap()
}

fn authorize_req(key: &str, token: &str) -> AuthorizeRequest {
    let mut metadata = BTreeMap::new();
    metadata.insert("cart".to_owned(), "a b&c".to_owned());
    AuthorizeRequest {
        idempotency_key: key.to_owned(),
        payment_id: "pay_1".to_owned(),
        money: money(2000),
        capture: CaptureMode::Automatic,
        token: token.to_owned(),
        merchant_reference: Some("ord_123".to_owned()),
        metadata,
    }
}

fn retrieve_req(key: &str, reference: Option<&str>) -> RetrieveRequest {
    RetrieveRequest {
        provider_reference: reference.map(str::to_owned),
        idempotency_key: key.to_owned(),
        payment_id: "pay_1".to_owned(),
        original: None,
    }
}

fn refused_base_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}")
}

#[tokio::test]
async fn slow_answer_is_unknown_outcome_never_a_decline() {
    let (base, log) = canned(
        402,
        fixture("decline_insufficient_funds.json"),
        Duration::from_secs(3),
    )
    .await;
    let exec = executor(300);
    let acct = account(Provider::Stripe, &base, CANARY);

    let r = exec
        .authorize(&acct, &authorize_req("att-slow", "pm_card_visa"))
        .await;
    assert_eq!(r.class, OutcomeClass::UnknownOutcome, "{r:?}");
    assert_eq!(r.http_status, None);
    assert!(
        r.message
            .as_deref()
            .unwrap()
            .contains("timed out after the request was sent"),
        "{r:?}"
    );
    assert!(
        (250..2500).contains(&r.latency_ms),
        "latency {}",
        r.latency_ms
    );
    assert_eq!(log.lock().unwrap().len(), 1, "the request was sent");

    let cap = CaptureRequest {
        idempotency_key: "c".into(),
        provider_reference: "pi_1".into(),
        amount: None,
    };
    assert_eq!(
        exec.capture(&acct, &cap).await.class,
        OutcomeClass::UnknownOutcome
    );
    let rf = RefundRequest {
        idempotency_key: "r".into(),
        provider_reference: "pi_1".into(),
        money: money(1),
        reason: None,
    };
    assert_eq!(
        exec.refund(&acct, &rf).await.class,
        OutcomeClass::UnknownOutcome
    );
    let vd = VoidRequest {
        idempotency_key: "v".into(),
        provider_reference: "pi_1".into(),
    };
    assert_eq!(
        exec.void(&acct, &vd).await.class,
        OutcomeClass::UnknownOutcome
    );
    assert_eq!(
        exec.retrieve(&acct, &retrieve_req("att-slow", None))
            .await
            .class,
        OutcomeClass::UnknownOutcome
    );
}

#[tokio::test]
async fn nothing_listening_is_provider_unavailable() {
    let base = refused_base_url();
    let exec = executor(2000);
    let acct = account(Provider::Stripe, &base, CANARY);
    let r = exec
        .authorize(&acct, &authorize_req("att-refused", "pm_card_visa"))
        .await;
    assert_eq!(r.class, OutcomeClass::ProviderUnavailable, "{r:?}");
    assert_eq!(r.http_status, None);
    assert!(
        r.message.as_deref().unwrap().contains("nothing was sent"),
        "{r:?}"
    );
    // For a retrieve, "provider_unavailable" would mean "not charged": a failed lookup is unknown.
    let r = exec
        .retrieve(&acct, &retrieve_req("att-refused", None))
        .await;
    assert_eq!(r.class, OutcomeClass::UnknownOutcome, "{r:?}");
}

#[tokio::test]
async fn decline_402_is_soft_and_the_wire_request_is_right() {
    let (base, log) = canned(
        402,
        fixture("decline_insufficient_funds.json"),
        Duration::ZERO,
    )
    .await;
    let exec = executor(5000);
    let req = authorize_req("att-402", "pm_card_visa_chargeDeclinedInsufficientFunds");
    let r = exec
        .authorize(&account(Provider::Stripe, &base, CANARY), &req)
        .await;
    assert_eq!(r.class, OutcomeClass::SoftDecline, "{r:?}");
    assert_eq!(r.http_status, Some(402));
    assert_eq!(r.raw_code.as_deref(), Some("card_declined"));
    assert_eq!(r.decline_code.as_deref(), Some("insufficient_funds"));
    assert_eq!(
        r.provider_reference.as_deref(),
        Some("pi_3QfixtureA1b2C3d4")
    );
    assert_eq!(
        r.provider_status.as_deref(),
        Some("requires_payment_method")
    );

    let seen = log.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    let s = &seen[0];
    assert_eq!(
        (s.method.as_str(), s.path.as_str(), s.query.as_deref()),
        ("POST", "/v1/payment_intents", None)
    );
    let h = |n: &str| s.headers.get(n).map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(h("authorization"), Some(format!("Bearer {CANARY}")));
    assert_eq!(h("idempotency-key").as_deref(), Some("att-402"));
    assert_eq!(h("stripe-version").as_deref(), Some(STRIPE_VERSION));
    assert_eq!(
        h("content-type").as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    let sent: Vec<(String, String)> = serde_urlencoded::from_bytes(&s.body).unwrap();
    assert_eq!(
        Some(sent.as_slice()),
        stripe::authorize_request(&req).form()
    );
    assert!(sent.contains(&(
        "metadata[switchboard_attempt_id]".to_owned(),
        "att-402".to_owned()
    )));
    assert!(sent.contains(&("metadata[cart]".to_owned(), "a b&c".to_owned())));
}

#[tokio::test]
async fn success_and_error_statuses_over_http() {
    let cases: Vec<(u16, Vec<u8>, OutcomeClass, bool)> = vec![
        (
            200,
            fixture("payment_intent_succeeded.json"),
            OutcomeClass::Approved,
            true,
        ),
        (
            200,
            fixture("payment_intent_requires_capture.json"),
            OutcomeClass::Approved,
            false,
        ),
        (
            401,
            fixture("error_invalid_api_key_401.json"),
            OutcomeClass::AuthConfigError,
            false,
        ),
        (
            429,
            fixture("error_rate_limit_429.json"),
            OutcomeClass::RateLimited,
            false,
        ),
        (
            500,
            fixture("error_api_error_500.json"),
            OutcomeClass::UnknownOutcome,
            false,
        ),
        (
            503,
            b"<html>down</html>".to_vec(),
            OutcomeClass::UnknownOutcome,
            false,
        ), // unreadable on authorize
        (
            503,
            br#"{"error":{"type":"api_error","message":"down"}}"#.to_vec(),
            OutcomeClass::ProviderUnavailable,
            false,
        ),
    ];
    let exec = executor(5000);
    for (status, body, class, captured) in cases {
        let (base, _log) = canned(status, body, Duration::ZERO).await;
        let r = exec
            .authorize(
                &account(Provider::Stripe, &base, CANARY),
                &authorize_req("att", "pm_card_visa"),
            )
            .await;
        assert_eq!(
            (r.class, r.captured, r.http_status),
            (class, captured, Some(status)),
            "{status}: {r:?}"
        );
    }
}

#[tokio::test]
async fn retrieve_without_reference_searches_by_attempt() {
    let (base, log) = canned(200, r#"{"object":"search_result","data":[],"has_more":false,"url":"/v1/payment_intents/search"}"#, Duration::ZERO).await;
    let exec = executor(5000);
    let acct = account(Provider::Stripe, &base, CANARY);
    let r = exec.retrieve(&acct, &retrieve_req("att-'9", None)).await;
    // Stripe's search index lags: an empty result right after the call proves nothing.
    assert_eq!(r.class, OutcomeClass::UnknownOutcome, "{r:?}");
    assert_eq!(r.message.as_deref(), Some(SEARCH_EMPTY_MESSAGE));
    assert_eq!(log.lock().unwrap().len(), 1, "no GET after an empty search");
    let seen = log.lock().unwrap().clone();
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.as_str()),
        ("GET", "/v1/payment_intents/search")
    );
    let q: Vec<(String, String)> =
        serde_urlencoded::from_str(seen[0].query.as_deref().unwrap()).unwrap();
    assert_eq!(
        q,
        vec![(
            "query".to_owned(),
            r"metadata['switchboard_attempt_id']:'att-\'9'".to_owned()
        )]
    );
    assert!(
        seen[0].headers.get("idempotency-key").is_none(),
        "GET carries no idempotency key"
    );
    assert_eq!(
        seen[0].headers.get("stripe-version").unwrap(),
        STRIPE_VERSION
    );

    let (base, log) = canned(
        200,
        fixture("payment_intent_requires_capture.json"),
        Duration::ZERO,
    )
    .await;
    let r = exec
        .retrieve(
            &account(Provider::Stripe, &base, CANARY),
            &retrieve_req("att", Some("pi_3QfixtureA1b2C3d4")),
        )
        .await;
    assert_eq!((r.class, r.captured), (OutcomeClass::Approved, false));
    assert_eq!(
        log.lock().unwrap()[0].path,
        "/v1/payment_intents/pi_3QfixtureA1b2C3d4"
    );
}

#[tokio::test]
async fn calls_that_are_never_made() {
    let (base, log) = canned(
        200,
        fixture("payment_intent_succeeded.json"),
        Duration::ZERO,
    )
    .await;
    let exec = executor(5000);
    let req = authorize_req("att", "pm_card_visa");

    let mut live_key_on_test = account(Provider::Stripe, &base, "sk_live_abcdefghijklmnop");
    live_key_on_test.mode = Mode::Test;
    let r = exec.authorize(&live_key_on_test, &req).await;
    assert_eq!(r.class, OutcomeClass::AuthConfigError, "{r:?}");

    let mut test_key_on_live = account(Provider::Stripe, &base, CANARY);
    test_key_on_live.mode = Mode::Live;
    assert_eq!(
        exec.authorize(&test_key_on_live, &req).await.class,
        OutcomeClass::AuthConfigError
    );
    assert_eq!(
        exec.authorize(&account(Provider::Stripe, "not a url", CANARY), &req)
            .await
            .class,
        OutcomeClass::AuthConfigError
    );
    assert_eq!(
        exec.authorize(&account(Provider::Stripe, &base, ""), &req)
            .await
            .class,
        OutcomeClass::AuthConfigError
    );

    // Credentials the other providers would refuse (INTERFACES.md §C), and requests they would
    // refuse (REFERENCE.md §2.1, §0, §4.1): answered without any call.
    let mut mollie_live_on_test = account(Provider::Mollie, &base, "live_abcdefghijklmnop");
    mollie_live_on_test.mode = Mode::Test;
    for (acc, what) in [
        (account(Provider::Square, &base, ""), "empty Square token"),
        (
            account(Provider::Braintree, &base, CANARY),
            "Braintree key without public:private",
        ),
        (
            account(Provider::Braintree, &base, "pub:"),
            "Braintree key without private part",
        ),
        (
            account(Provider::Mollie, &base, CANARY),
            "Mollie key without test_/live_",
        ),
        (mollie_live_on_test, "live Mollie key on a test connector"),
    ] {
        let r = exec.authorize(&acc, &req).await;
        assert_eq!(r.class, OutcomeClass::AuthConfigError, "{what}: {r:?}");
        let r = exec.retrieve(&acc, &retrieve_req("att", None)).await;
        assert_eq!(
            r.class,
            OutcomeClass::UnknownOutcome,
            "retrieve ({what}) proves nothing"
        );
    }
    let mut kwd = req.clone();
    kwd.money = Money::new(1000, routing::Currency::parse("KWD").unwrap()).unwrap();
    for (p, key) in [
        (Provider::Square, "sq_token_abcdefgh"),
        (Provider::Braintree, "pub:priv_abcdefgh"),
        (Provider::Mollie, "test_abcdefghijkl"),
    ] {
        let r = exec.authorize(&account(p, &base, key), &kwd).await;
        assert_eq!(r.class, OutcomeClass::ValidationError, "{p:?} KWD: {r:?}");
        assert_eq!(r.http_status, None);
    }
    // Mollie without a return URL; Square partial capture; Square retrieve without anything.
    let r = exec
        .authorize(&account(Provider::Mollie, &base, "test_abcdefghijkl"), &req)
        .await;
    assert_eq!(r.raw_code.as_deref(), Some("redirect_url_missing"), "{r:?}");
    let r = exec
        .capture(
            &account(Provider::Square, &base, "sq_token_abcdefgh"),
            &providers::CaptureRequest {
                idempotency_key: "cap".into(),
                provider_reference: "pay_1".into(),
                amount: Some(money(500)),
            },
        )
        .await;
    assert_eq!(
        r.raw_code.as_deref(),
        Some("partial_capture_not_supported"),
        "{r:?}"
    );
    let r = exec
        .retrieve(
            &account(Provider::Square, &base, "sq_token_abcdefgh"),
            &retrieve_req("att", None),
        )
        .await;
    assert_eq!(r.class, OutcomeClass::UnknownOutcome, "{r:?}");
    assert!(
        log.lock().unwrap().is_empty(),
        "no request may reach the server"
    );
}

#[tokio::test]
async fn simulator_connectors_run_in_process() {
    let exec =
        executor(5000).with_simulator(Arc::new(Simulator::with_latency(Duration::from_millis(40))));
    let acct = account(Provider::Simulator, "", CANARY);
    let r = exec
        .authorize(&acct, &authorize_req("sim-1", "sim_approve"))
        .await;
    assert_eq!((r.class, r.captured), (OutcomeClass::Approved, true));
    assert!(r.latency_ms >= 40, "{}", r.latency_ms);
    let again = exec.retrieve(&acct, &retrieve_req("sim-1", None)).await;
    assert_eq!(again.provider_reference, r.provider_reference);

    // A simulated latency beyond the read timeout is a timeout after send: unknown, yet charged.
    let slow =
        executor(100).with_simulator(Arc::new(Simulator::with_latency(Duration::from_secs(5))));
    let r = slow
        .authorize(&acct, &authorize_req("sim-2", "sim_approve"))
        .await;
    assert_eq!(r.class, OutcomeClass::UnknownOutcome, "{r:?}");
    assert!(r.latency_ms < 2000, "{}", r.latency_ms);
    assert_eq!(
        slow.simulator()
            .retrieve(&retrieve_req("sim-2", None))
            .class,
        OutcomeClass::Approved
    );
}

#[derive(Clone, Default)]
struct LogBuf(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogBuf {
    type Writer = LogBuf;
    fn make_writer(&'a self) -> LogBuf {
        self.clone()
    }
}

#[tokio::test]
async fn the_api_key_never_reaches_results_or_logs() {
    let logs = LogBuf::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let exec = executor(300);
    let echo = format!(
        r#"{{"error":{{"type":"invalid_request_error","message":"Invalid API Key provided: {CANARY}"}}}}"#
    );
    let mut results: Vec<ProviderResult> = Vec::new();
    for (status, body, delay) in [
        (
            200,
            fixture("payment_intent_succeeded.json"),
            Duration::ZERO,
        ),
        (402, fixture("decline_stolen_card.json"), Duration::ZERO),
        (401, echo.into_bytes(), Duration::ZERO),
        (
            200,
            fixture("payment_intent_succeeded.json"),
            Duration::from_secs(2),
        ),
    ] {
        let (base, log) = canned(status, body, delay).await;
        results.push(
            exec.authorize(
                &account(Provider::Stripe, &base, CANARY),
                &authorize_req("att-canary", "pm_card_visa"),
            )
            .await,
        );
        assert_eq!(
            log.lock().unwrap()[0].headers.get("authorization").unwrap(),
            &format!("Bearer {CANARY}")
        );
    }
    results.push(
        exec.authorize(
            &account(Provider::Stripe, &refused_base_url(), CANARY),
            &authorize_req("att-canary", "pm_card_visa"),
        )
        .await,
    );
    results.push(
        exec.authorize(
            &account(Provider::Simulator, "", CANARY),
            &authorize_req("att-canary", "sim_approve"),
        )
        .await,
    );
    results.push(
        exec.authorize(
            &account(Provider::Mollie, "", CANARY),
            &authorize_req("att-canary", "tkn_1"),
        )
        .await,
    );

    let classes: Vec<OutcomeClass> = results.iter().map(|r| r.class).collect();
    assert_eq!(
        classes,
        [
            OutcomeClass::Approved,
            OutcomeClass::HardDecline,
            OutcomeClass::AuthConfigError,
            OutcomeClass::UnknownOutcome,
            OutcomeClass::ProviderUnavailable,
            OutcomeClass::Approved,
            OutcomeClass::AuthConfigError,
        ]
    );
    for r in &results {
        let json = serde_json::to_string(r).unwrap();
        assert!(!json.contains(CANARY), "key leaked into a result: {json}");
    }
    assert!(
        results[2]
            .message
            .as_deref()
            .unwrap()
            .contains("[redacted]"),
        "{:?}",
        results[2]
    );

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert_eq!(
        text.matches("provider call finished").count(),
        results.len(),
        "one event per call:\n{text}"
    );
    assert!(
        text.contains("class=\"hard_decline\"") || text.contains("class=hard_decline"),
        "{text}"
    );
    assert!(!text.contains(CANARY), "key leaked into logs:\n{text}");
    assert!(
        !text.contains("metadata"),
        "request bodies are never logged:\n{text}"
    );
}

fn retrieve_with_original(original: &AuthorizeRequest) -> RetrieveRequest {
    RetrieveRequest {
        provider_reference: None,
        idempotency_key: original.idempotency_key.clone(),
        payment_id: original.payment_id.clone(),
        original: Some(original.clone()),
    }
}

#[tokio::test]
async fn retrieve_with_original_replays_the_exact_authorize() {
    let (base, log) = canned(
        200,
        fixture("payment_intent_succeeded.json"),
        Duration::ZERO,
    )
    .await;
    let exec = executor(5000);
    let acct = account(Provider::Stripe, &base, CANARY);
    let original = authorize_req("att-replay", "pm_card_visa");
    let authorize = exec.authorize(&acct, &original).await;
    let found = exec
        .retrieve(&acct, &retrieve_with_original(&original))
        .await;
    assert_eq!(
        (found.class, found.captured),
        (OutcomeClass::Approved, true)
    );
    assert_eq!(found.provider_reference, authorize.provider_reference);
    let seen = log.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    let (a, b) = (&seen[0], &seen[1]);
    assert_eq!(
        (b.method.as_str(), b.path.as_str()),
        ("POST", "/v1/payment_intents")
    );
    assert_eq!(a.body, b.body, "same body byte for byte");
    for h in [
        "idempotency-key",
        "stripe-version",
        "content-type",
        "authorization",
    ] {
        assert_eq!(a.headers.get(h), b.headers.get(h), "{h}");
    }
    assert_eq!(b.headers.get("idempotency-key").unwrap(), "att-replay");

    // A known reference wins: GET, no replay.
    let mut by_ref = retrieve_with_original(&original);
    by_ref.provider_reference = Some("pi_3QfixtureA1b2C3d4".to_owned());
    assert_eq!(
        exec.retrieve(&acct, &by_ref).await.class,
        OutcomeClass::Approved
    );
    let last = log.lock().unwrap().last().cloned().unwrap();
    assert_eq!(
        (last.method.as_str(), last.path.as_str()),
        ("GET", "/v1/payment_intents/pi_3QfixtureA1b2C3d4")
    );
}

#[tokio::test]
async fn replay_refused_without_a_usable_key() {
    let (base, log) = canned(
        200,
        fixture("payment_intent_succeeded.json"),
        Duration::ZERO,
    )
    .await;
    let exec = executor(5000);
    let acct = account(Provider::Stripe, &base, CANARY);
    let original = authorize_req("att-1", "pm_card_visa");
    let mut other_key = retrieve_with_original(&original);
    other_key.idempotency_key = "att-2".to_owned();
    let mut no_key = retrieve_with_original(&original);
    no_key.original.as_mut().unwrap().idempotency_key = String::new();
    no_key.idempotency_key = String::new();
    for req in [other_key, no_key] {
        let r = exec.retrieve(&acct, &req).await;
        assert_eq!(r.class, OutcomeClass::UnknownOutcome, "{r:?}");
        assert!(r.message.as_deref().unwrap().contains("refused"), "{r:?}");
    }
    assert!(log.lock().unwrap().is_empty(), "nothing may be sent");
}

#[tokio::test]
async fn replayed_answers_map_to_the_retrieve_contract() {
    let err = |status: u16, body: &str| (status, body.as_bytes().to_vec());
    let cases: Vec<((u16, Vec<u8>), OutcomeClass)> = vec![
        (
            (200, fixture("payment_intent_requires_capture.json")),
            OutcomeClass::Approved,
        ),
        (
            (402, fixture("decline_insufficient_funds.json")),
            OutcomeClass::SoftDecline,
        ),
        (
            (402, fixture("decline_stolen_card.json")),
            OutcomeClass::HardDecline,
        ),
        (
            err(
                400,
                r#"{"error":{"type":"invalid_request_error","code":"parameter_invalid_integer","param":"amount","message":"Invalid integer"}}"#,
            ),
            OutcomeClass::ValidationError,
        ),
        (
            err(
                400,
                r#"{"error":{"type":"idempotency_error","message":"Keys for idempotent requests can only be used with the same parameters"}}"#,
            ),
            OutcomeClass::UnknownOutcome,
        ),
        (
            err(
                409,
                r#"{"error":{"type":"invalid_request_error","code":"idempotency_key_in_use","message":"in progress"}}"#,
            ),
            OutcomeClass::UnknownOutcome,
        ),
        (
            (500, fixture("error_api_error_500.json")),
            OutcomeClass::UnknownOutcome,
        ),
        (
            err(503, r#"{"error":{"type":"api_error","message":"down"}}"#),
            OutcomeClass::UnknownOutcome,
        ),
        (
            err(
                424,
                r#"{"error":{"type":"api_error","message":"dependency"}}"#,
            ),
            OutcomeClass::UnknownOutcome,
        ),
        (
            (429, fixture("error_rate_limit_429.json")),
            OutcomeClass::UnknownOutcome,
        ),
        (
            (401, fixture("error_invalid_api_key_401.json")),
            OutcomeClass::UnknownOutcome,
        ),
        (err(200, "<html>oops"), OutcomeClass::UnknownOutcome),
        (
            err(
                200,
                r#"{"object":"payment_intent","id":"pi_p","status":"processing"}"#,
            ),
            OutcomeClass::UnknownOutcome,
        ),
        (
            err(
                200,
                r#"{"object":"payment_intent","id":"pi_c","status":"canceled"}"#,
            ),
            OutcomeClass::ProviderUnavailable,
        ),
    ];
    let exec = executor(5000);
    let original = authorize_req("att-table", "pm_card_visa");
    for ((status, body), want) in cases {
        let (base, log) = canned(status, body.clone(), Duration::ZERO).await;
        let r = exec
            .retrieve(
                &account(Provider::Stripe, &base, CANARY),
                &retrieve_with_original(&original),
            )
            .await;
        assert_eq!(
            r.class,
            want,
            "{status} {}: {r:?}",
            String::from_utf8_lossy(&body)
        );
        assert_eq!(r.http_status, Some(status));
        assert_eq!(log.lock().unwrap().len(), 1, "exactly one replay");
    }

    // A replay that times out proves nothing either.
    let (base, _log) = canned(
        200,
        fixture("payment_intent_succeeded.json"),
        Duration::from_secs(3),
    )
    .await;
    let r = executor(300)
        .retrieve(
            &account(Provider::Stripe, &base, CANARY),
            &retrieve_with_original(&original),
        )
        .await;
    assert_eq!(
        (r.class, r.http_status),
        (OutcomeClass::UnknownOutcome, None),
        "{r:?}"
    );
}

#[tokio::test]
async fn square_braintree_mollie_wire_requests_and_secret_scrubbing() {
    use base64::Engine;
    let exec = executor(2000);
    let req = authorize_req("att-wire", "cnon:card-nonce-ok");

    // Square: Bearer token, pinned version, JSON body with the idempotency key in it.
    let token = "EAAAsquare_CANARY_token_123456";
    let (base, log) = canned(
        200,
        r#"{"payment":{"id":"sq1","status":"COMPLETED"}}"#,
        Duration::ZERO,
    )
    .await;
    let r = exec
        .authorize(&account(Provider::Square, &base, token), &req)
        .await;
    assert_eq!(
        (r.class, r.captured),
        (OutcomeClass::Approved, true),
        "{r:?}"
    );
    let seen = log.lock().unwrap()[0].clone();
    assert_eq!(
        (seen.method.as_str(), seen.path.as_str()),
        ("POST", "/v2/payments")
    );
    assert_eq!(seen.headers["authorization"], format!("Bearer {token}"));
    assert_eq!(
        seen.headers["square-version"],
        providers::square::SQUARE_VERSION
    );
    assert_eq!(seen.headers["content-type"], "application/json");
    let body: serde_json::Value = serde_json::from_slice(&seen.body).unwrap();
    assert_eq!(body["idempotency_key"], "att-wire");
    assert_eq!(
        body["amount_money"],
        serde_json::json!({"amount": 2000, "currency": "USD"})
    );
    assert_eq!(body["autocomplete"], true);
    assert_eq!(body["reference_id"], "pay_1");

    // Braintree: Basic public:private, version header, GraphQL body; a body echoing the private
    // key never reaches the result.
    let secret = "pub_key_1:priv_CANARY_987654321";
    let echo = r#"{"errors":[{"message":"bad key priv_CANARY_987654321","extensions":{"errorClass":"AUTHENTICATION"}}]}"#;
    let (base, log) = canned(401, echo, Duration::ZERO).await;
    let r = exec
        .authorize(&account(Provider::Braintree, &base, secret), &req)
        .await;
    assert_eq!(r.class, OutcomeClass::AuthConfigError, "{r:?}");
    assert!(
        !serde_json::to_string(&r).unwrap().contains("priv_CANARY"),
        "{r:?}"
    );
    let seen = log.lock().unwrap()[0].clone();
    assert_eq!(seen.path, "/graphql");
    let basic = base64::engine::general_purpose::STANDARD.encode(secret);
    assert_eq!(seen.headers["authorization"], format!("Basic {basic}"));
    assert_eq!(
        seen.headers["braintree-version"],
        providers::braintree::BRAINTREE_VERSION
    );
    let body: serde_json::Value = serde_json::from_slice(&seen.body).unwrap();
    assert_eq!(body["operationName"], "ChargePaymentMethod");
    assert_eq!(body["variables"]["input"]["apiRequestKey"], "att-wire");
    assert_eq!(body["variables"]["input"]["transaction"]["amount"], "20.00");

    // Mollie: Bearer key, Idempotency-Key header, decimal amount, DELETE for a void.
    let key = "test_CANARY_mollie_key_12345";
    let mut mreq = req.clone();
    mreq.metadata
        .insert("return_url".into(), "https://shop.example/r".into());
    mreq.metadata.insert(
        "webhook_url".into(),
        "https://sb.example/webhooks/c1".into(),
    );
    let (base, log) = canned(201, r#"{"resource":"payment","id":"tr_1","status":"open","_links":{"checkout":{"href":"https://m.example/c"}}}"#, Duration::ZERO).await;
    let r = exec
        .authorize(&account(Provider::Mollie, &base, key), &mreq)
        .await;
    assert_eq!(r.class, OutcomeClass::NeedsCustomerAction, "{r:?}");
    let seen = log.lock().unwrap()[0].clone();
    assert_eq!(seen.headers["authorization"], format!("Bearer {key}"));
    assert_eq!(seen.headers["idempotency-key"], "att-wire");
    let body: serde_json::Value = serde_json::from_slice(&seen.body).unwrap();
    assert_eq!(
        body["amount"],
        serde_json::json!({"currency": "USD", "value": "20.00"})
    );
    assert_eq!(body["redirectUrl"], "https://shop.example/r");
    assert_eq!(body["webhookUrl"], "https://sb.example/webhooks/c1");
    assert_eq!(body["metadata"]["switchboard_payment_id"], "pay_1");
    assert!(body["metadata"].get("return_url").is_none());
    let (base, log) = canned(
        200,
        r#"{"resource":"payment","id":"tr_1","status":"canceled"}"#,
        Duration::ZERO,
    )
    .await;
    let r = exec
        .void(
            &account(Provider::Mollie, &base, key),
            &providers::VoidRequest {
                idempotency_key: "v".into(),
                provider_reference: "tr_1".into(),
            },
        )
        .await;
    assert_eq!(r.class, OutcomeClass::Approved, "{r:?}");
    let seen = log.lock().unwrap()[0].clone();
    assert_eq!(
        (seen.method.as_str(), seen.path.as_str()),
        ("DELETE", "/v2/payments/tr_1")
    );
}
