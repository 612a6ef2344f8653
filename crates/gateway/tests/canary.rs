//! Canary test for write-only secrets (issue 6 §4): a canary API key and a canary webhook secret
//! are planted (encrypted) on a connector; then payments (approve, decline, provider 5xx with
//! fallback, manual capture + refund), provider webhooks (signed by the emulator with the canary
//! secret, and a forged one), API errors, a gateway with the wrong master key, the console's
//! commands (read models, exports, credential commands and their errors) all run while every
//! log line is captured at TRACE level. The test fails if the canary appears in any log line,
//! HTTP response (body or header), console result, export file, error or Debug output.
//!
//! A third canary is the merchant webhook endpoint's signing secret (sealed by the vault,
//! migration 0008): merchant webhooks are delivered (signed with it, verified by a receiver on
//! 127.0.0.1:0), replayed from the console, and the delivery log, timeline and logs are searched
//! for it too.
//!
//! The PSP emulator's own logs are excluded: it stands in for the provider, which legitimately
//! receives the key.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::{Env, Spec, checkout};
use engine::console::Console;
use engine::payments::MerchantAuth;
use engine::secrets::SetCredential;
use psp_emulator::webhooks::WebhookFormat;
use routing::{Mode, Provider};
use serde_json::{Value, json};
use sqlx::PgPool;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use uuid::Uuid;

/// Everything written by the tracing subscriber of this test process.
static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

struct LogWriter(Arc<Mutex<Vec<u8>>>);
impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() -> Arc<Mutex<Vec<u8>>> {
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let b2 = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("trace,psp_emulator=off"))
            .with_ansi(false)
            .with_writer(move || LogWriter(b2.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        buf
    })
    .clone()
}

/// Everything observed outside the vault, to be searched for the canaries.
#[derive(Default)]
struct Seen(Vec<(String, String)>);
impl Seen {
    fn add(&mut self, what: impl Into<String>, text: impl Into<String>) {
        self.0.push((what.into(), text.into()));
    }
    fn json(&mut self, what: &str, v: &impl serde::Serialize) {
        self.add(what, serde_json::to_string(v).unwrap());
    }
}

async fn http(
    env: &Env,
    seen: &mut Seen,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let url = format!("{}{path}", env.url);
    let mut req = match method {
        "GET" => env.client.get(&url),
        _ => env.client.post(&url),
    }
    .bearer_auth(&env.key)
    .header("Idempotency-Key", Uuid::new_v4().to_string());
    if let Some(b) = body {
        req = req.json(b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = format!("{:?}", r.headers());
    let text = r.text().await.unwrap();
    seen.add(format!("{method} {path} headers"), headers);
    seen.add(format!("{method} {path} -> {status}"), text.clone());
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A merchant's webhook receiver on 127.0.0.1:0: answers 200, records for each request whether
/// its `Switchboard-Signature` verifies with `secret`, and its headers.
async fn merchant_receiver(secret: String) -> (String, Arc<Mutex<Vec<(bool, String)>>>) {
    let got: Arc<Mutex<Vec<(bool, String)>>> = Arc::default();
    let g = got.clone();
    let app = axum::Router::new().route(
        "/hooks",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let (g, secret) = (g.clone(), secret.clone());
                async move {
                    let sig = headers
                        .get(engine::merchant_webhooks::SIGNATURE_HEADER)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default();
                    let now = time::OffsetDateTime::now_utc().unix_timestamp();
                    let ok = engine::merchant_webhooks::verify(secret.as_bytes(), sig, &body, now);
                    g.lock().unwrap().push((ok, format!("{headers:?}")));
                    axum::http::StatusCode::OK
                }
            },
        ),
    );
    let url = format!("{}/hooks", common::serve_router(app).await);
    (url, got)
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn canary_secrets_never_leave_the_vault(pool: PgPool) {
    let logs = capture_logs();
    let api_canary = format!("sk_test_CANARYAPI{}", Uuid::new_v4().simple());
    let hook_canary = format!("whsec_CANARYHOOK{}", Uuid::new_v4().simple());
    let new_canary = format!("whsec_CANARYNEW{}", Uuid::new_v4().simple());
    let mwh_canary = format!("whsec_CANARYMWH{}", Uuid::new_v4().simple());
    let markers = ["CANARYAPI", "CANARYHOOK", "CANARYNEW", "CANARYMWH"];
    let specs = vec![
        Spec {
            name: "Stripe Canary",
            provider: Provider::Stripe,
            weight: 100,
            primary: false,
            api_key: api_canary.clone(),
            webhook_secret: Some(hook_canary.clone()),
            webhook_format: Some(WebhookFormat::Stripe),
        },
        common::spec("Stripe Backup", Provider::Stripe, 0, true),
    ];
    let env = common::start(pool.clone(), specs, Duration::from_secs(3)).await;
    let canary = env.conn("Stripe Canary").id;
    let mut seen = Seen::default();
    // Merchant webhook endpoint with the canary signing secret; the receiver records what it got.
    let (hook_url, received) = merchant_receiver(mwh_canary.clone()).await;
    store::outbox::set_endpoint(
        &pool,
        &env.payments.keys(),
        env.merchant_id,
        &hook_url,
        &secrecy::SecretString::from(mwh_canary.clone()),
        true,
    )
    .await
    .unwrap();

    // ---- payments over HTTP
    let (s, approved) = http(
        &env,
        &mut seen,
        "POST",
        "/v1/payments",
        Some(&checkout(Provider::Stripe, "pm_card_visa", 2500, "USD")),
    )
    .await;
    assert_eq!(s, 200, "{approved}");
    assert_eq!(
        approved["status"], "captured",
        "the canary key was decrypted and used"
    );
    assert_eq!(approved["attempts"][0]["connector_name"], "Stripe Canary");
    http(
        &env,
        &mut seen,
        "POST",
        "/v1/payments",
        Some(&checkout(
            Provider::Stripe,
            "pm_card_visa_chargeDeclinedInsufficientFunds",
            700,
            "USD",
        )),
    )
    .await;
    let mut manual = checkout(Provider::Stripe, "pm_card_visa", 4000, "EUR");
    manual["capture_method"] = json!("manual");
    let (_, auth) = http(&env, &mut seen, "POST", "/v1/payments", Some(&manual)).await;
    let id = auth["id"].as_str().unwrap_or_default().to_owned();
    http(
        &env,
        &mut seen,
        "POST",
        &format!("/v1/payments/{id}/capture"),
        Some(&json!({})),
    )
    .await;
    http(
        &env,
        &mut seen,
        "POST",
        &format!("/v1/payments/{id}/refunds"),
        Some(&json!({"amount": 1000})),
    )
    .await;
    http(&env, &mut seen, "GET", &format!("/v1/payments/{id}"), None).await;
    // Provider outage on the canary account: fallback, errors recorded on the attempt.
    env.emulator
        .faults()
        .set(
            serde_json::from_value(
                json!({"api_key": api_canary, "error_rate": 1.0, "error_status": 500}),
            )
            .unwrap(),
        )
        .unwrap();
    let (_, fell_back) = http(
        &env,
        &mut seen,
        "POST",
        "/v1/payments",
        Some(&checkout(Provider::Stripe, "pm_card_visa", 990, "USD")),
    )
    .await;
    assert!(
        fell_back["attempts"].as_array().map_or(0, Vec::len) >= 1,
        "{fell_back}"
    );
    env.emulator
        .faults()
        .set(serde_json::from_value(json!({"api_key": api_canary})).unwrap())
        .unwrap();
    // API errors.
    http(
        &env,
        &mut seen,
        "POST",
        "/v1/payments",
        Some(&json!({"amount": "x"})),
    )
    .await;
    http(&env, &mut seen, "GET", "/v1/payments/not-a-payment", None).await;
    http(
        &env,
        &mut seen,
        "POST",
        "/v1/routing/explain",
        Some(&checkout(Provider::Stripe, "pm_card_visa", 100, "USD")),
    )
    .await;

    // ---- provider webhooks: the emulator signs with the canary secret; wait for them.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let rows = env.webhooks(canary).await;
        let verified = rows.iter().any(|w| w.verdict == "verified");
        if verified || std::time::Instant::now() > deadline {
            seen.add("webhook rows", format!("{rows:?}"));
            assert!(
                verified,
                "a webhook signed with the canary secret verified: {rows:?}"
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let forged =
        br#"{"id":"evt_forged","type":"payment_intent.succeeded","data":{"object":{"id":"pi_x"}}}"#;
    let (s, body) = env
        .deliver(
            canary,
            &[
                ("stripe-signature", "t=1,v1=00".into()),
                ("content-type", "application/json".into()),
            ],
            forged,
        )
        .await;
    assert!(s == 400 || s == 401, "{s} {body}");
    seen.json("forged webhook answer", &body);

    // ---- a gateway with the wrong master key: a clear error, no secret.
    let wrong = common::payments(
        &pool,
        Duration::from_secs(1),
        Arc::new(vault::Keyset::generate(&mut rand::rng())),
    );
    let err = wrong
        .create(
            MerchantAuth {
                merchant_id: env.merchant_id,
                mode: Mode::Test,
            },
            "wrong-key",
            &serde_json::to_vec(&checkout(Provider::Stripe, "pm_card_visa", 100, "USD")).unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "master_key_wrong");
    seen.add("wrong key error", format!("{err} {err:?}"));
    let cfg = store::config::load_config(&pool, &env.payments.keys(), env.merchant_id, Mode::Test)
        .await
        .unwrap();
    seen.add("MerchantConfig Debug", format!("{cfg:?}"));

    // ---- the console's commands
    let console = Console::new(pool.clone(), env.merchant_id, "canary-operator");
    seen.json("connectors", &console.connectors().await.unwrap());
    seen.json("connector cards", &console.connector_cards().await.unwrap());
    let page = console
        .search_page(serde_json::from_value(json!({})).unwrap())
        .await
        .unwrap();
    seen.json("search page", &page);
    assert!(page.rows.len() >= 4, "{page:?}");
    for p in &page.rows {
        seen.json(
            "payment detail",
            &console.payment_detail(&p.id).await.unwrap(),
        );
        seen.json("timeline", &console.payment_timeline(&p.id).await.unwrap());
    }
    seen.json("audit", &console.audit_log(1000).await.unwrap());
    seen.json(
        "audit query",
        &console
            .audit_query(&serde_json::from_value(json!({})).unwrap())
            .await
            .unwrap(),
    );
    let now_ms = store::to_ms(time::OffsetDateTime::now_utc());
    let q: engine::views::FinanceQuery = serde_json::from_value(
        json!({"from_ms": now_ms - 86_400_000, "to_ms": now_ms + 3_600_000}),
    )
    .unwrap();
    seen.json("finance", &console.finance(&q).await.unwrap());
    let csv = std::env::temp_dir().join(format!("canary-{}.csv", Uuid::new_v4()));
    console.export_finance_csv(&q, &csv, |_| {}).await.unwrap();
    seen.add("finance CSV export", std::fs::read_to_string(&csv).unwrap());
    let _ = std::fs::remove_file(&csv);
    seen.json(
        "fallback matrix",
        &console
            .fallback_matrix(now_ms - 86_400_000, now_ms + 3_600_000)
            .await
            .unwrap(),
    );
    seen.json("policy state", &console.policy_state().await.unwrap());
    let creds = console.credentials().await.unwrap();
    assert_eq!(creds.len(), 4, "two fields on each connector: {creds:?}");
    seen.json("credentials", &creds);
    let replaced = console
        .set_credential(
            &env.payments.keys(),
            SetCredential {
                connector_id: canary.to_string(),
                field: "webhook_secret".into(),
                secret: new_canary.clone(),
                reason: "rotated at the provider".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(replaced.last4, new_canary[new_canary.len() - 4..]);
    seen.json("set credential answer", &replaced);
    for bad in [
        SetCredential {
            connector_id: canary.to_string(),
            field: "api_key".into(),
            secret: format!(" {new_canary} "),
            reason: "padded".into(),
        },
        SetCredential {
            connector_id: Uuid::new_v4().to_string(),
            field: "api_key".into(),
            secret: new_canary.clone(),
            reason: "unknown connector".into(),
        },
        SetCredential {
            connector_id: canary.to_string(),
            field: "password".into(),
            secret: new_canary.clone(),
            reason: "bad field".into(),
        },
    ] {
        seen.add("set credential request Debug", format!("{bad:?}"));
        let e = console
            .set_credential(&env.payments.keys(), bad)
            .await
            .unwrap_err();
        seen.add("set credential error", format!("{e} {e:?}"));
        seen.json(
            "set credential error (IPC)",
            &engine::views::CommandError::from(e),
        );
    }
    seen.json("audit after", &console.audit_log(1000).await.unwrap());
    let audit_rows: Vec<String> =
        sqlx::query_scalar("SELECT row_to_json(a)::text FROM audit_log a")
            .fetch_all(&pool)
            .await
            .unwrap();
    seen.add("audit_log table", audit_rows.join("\n"));
    let attempts: Vec<String> = sqlx::query_scalar("SELECT row_to_json(a)::text FROM attempts a")
        .fetch_all(&pool)
        .await
        .unwrap();
    seen.add("attempts table", attempts.join("\n"));
    let stored: Vec<String> =
        sqlx::query_scalar("SELECT coalesce(response_body::text, '') FROM idempotency_keys")
            .fetch_all(&pool)
            .await
            .unwrap();
    seen.add("stored idempotent responses", stored.join("\n"));

    // ---- merchant webhooks: delivered signed with the canary secret, replayed, logged.
    let client = reqwest::Client::new();
    let retry = engine::merchant_webhooks::RetryPolicy::default();
    let keys = env.payments.keys();
    while engine::merchant_webhooks::run_once(&pool, &keys, &client, &retry)
        .await
        .unwrap()
        > 0
    {}
    let got = received.lock().unwrap().clone();
    assert!(got.len() >= 4, "merchant webhooks delivered: {}", got.len());
    assert!(
        got.iter().all(|(verified, _)| *verified),
        "every delivery verifies with the canary secret"
    );
    for (_, headers) in &got {
        seen.add("merchant webhook request headers", headers.clone());
    }
    let first = page.rows.first().unwrap().id.clone();
    let hooks = console.merchant_webhooks(&first).await.unwrap();
    seen.json("merchant webhooks", &hooks);
    let replayed = console
        .replay_merchant_webhook(&keys, hooks.first().unwrap().id)
        .await
        .unwrap();
    assert_eq!(replayed.status_code, Some(200));
    seen.json("merchant webhook replay", &replayed);
    let due = store::outbox::for_replay(&pool, &keys, env.merchant_id, hooks[0].id)
        .await
        .unwrap()
        .unwrap();
    seen.add("DueWebhook Debug", format!("{due:?}"));
    seen.add(
        "endpoint meta",
        format!(
            "{:?}",
            store::outbox::endpoint_meta(&pool, env.merchant_id)
                .await
                .unwrap()
        ),
    );
    let stored: Vec<(Option<String>, Vec<u8>)> =
        sqlx::query_as("SELECT secret, ciphertext FROM merchant_webhook_endpoints")
            .fetch_all(&pool)
            .await
            .unwrap();
    for (plain, ct) in &stored {
        assert!(plain.is_none(), "no plaintext endpoint secret stored");
        seen.add("endpoint ciphertext", String::from_utf8_lossy(ct));
    }
    // The delivery log as a support user would export it.
    let log_rows: Vec<String> =
        sqlx::query_scalar("SELECT row_to_json(d)::text FROM merchant_webhook_deliveries d")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert!(!log_rows.is_empty());
    seen.add("merchant webhook delivery log", log_rows.join("\n"));
    let outbox_rows: Vec<String> =
        sqlx::query_scalar("SELECT row_to_json(o)::text FROM merchant_webhook_outbox o")
            .fetch_all(&pool)
            .await
            .unwrap();
    seen.add("merchant webhook outbox", outbox_rows.join("\n"));

    // ---- the verdict
    tokio::time::sleep(Duration::from_millis(200)).await;
    let log_text = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(
        log_text.lines().count() > 20,
        "logs were captured: {} lines",
        log_text.lines().count()
    );
    if let Ok(path) = std::env::var("CANARY_LOG_DUMP") {
        std::fs::write(path, &log_text).unwrap();
    }
    seen.add("logs", log_text);
    for (what, text) in &seen.0 {
        for m in markers {
            assert!(!text.contains(m), "canary {m} leaked in {what}: {text}");
        }
    }
    // The canaries really were planted and used (so the search above could have failed).
    let hook =
        store::credentials::webhook_secret(&pool, &env.payments.keys(), env.merchant_id, canary)
            .await
            .unwrap()
            .unwrap();
    assert_eq!(secrecy::ExposeSecret::expose_secret(&hook), new_canary);
    assert!(env.emulator.stripe_payment_intents(&api_canary).len() >= 2);
}
