//! Shared set-up of the gateway tests: a merchant with connectors of any provider on one
//! emulator, the gateway over real HTTP on 127.0.0.1:0, provider webhooks from the emulator to the
//! gateway. Each test gets a fresh database from `#[sqlx::test]`.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs
)]

use engine::payments::{Payments, RandomRolls, SystemClock};
use providers::{Executor, ExecutorConfig};
use psp_emulator::webhooks::{WebhookConfig, WebhookFormat};
use routing::{
    Capabilities, CircuitState, Connector, ConnectorId, ConnectorStatus, Mode, Provider,
};
use secrecy::SecretString;
use serde_json::{Value, json};
use sqlx::PgPool;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// One connector to create.
pub struct Spec {
    pub name: &'static str,
    pub provider: Provider,
    pub weight: u32,
    pub primary: bool,
    /// Emulator credential (INTERFACES.md §C).
    pub api_key: String,
    /// Webhook secret stored for the connector and used by the emulator to sign (None: Mollie
    /// classic, unsigned).
    pub webhook_secret: Option<String>,
    /// Emulator webhook format; None = the emulator sends no webhooks for this account.
    pub webhook_format: Option<WebhookFormat>,
}

/// A created connector.
#[derive(Clone)]
pub struct Conn {
    pub id: Uuid,
    pub name: &'static str,
    pub provider: Provider,
    pub api_key: String,
    pub webhook_secret: Option<String>,
}

pub struct Env {
    pub url: String,
    pub key: String,
    pub merchant_id: Uuid,
    pub emulator: psp_emulator::Emulator,
    pub client: reqwest::Client,
    pub pool: PgPool,
    pub payments: Payments,
    pub conns: Vec<Conn>,
}

pub fn base_url(emu: &psp_emulator::Emulator, p: Provider) -> String {
    match p {
        Provider::Stripe => emu.stripe_base_url(),
        Provider::Square => emu.square_base_url(),
        Provider::Braintree => emu.braintree_base_url(),
        Provider::Mollie => emu.mollie_base_url(),
        Provider::Simulator => "simulator:".into(),
    }
}

/// A unique emulator credential for `p` (each is its own emulator account).
pub fn credential(p: Provider, tag: &str) -> String {
    let u = Uuid::new_v4().simple().to_string();
    match p {
        Provider::Stripe => format!("sk_test_{tag}_{u}"),
        Provider::Square => format!("EAAA{tag}{u}"),
        Provider::Braintree => format!("pub_{tag}_{u}:priv_{tag}_{u}"),
        Provider::Mollie => format!("test_{tag}{u}"),
        Provider::Simulator => "sim_key".into(),
    }
}

/// A spec with a fresh credential and a webhook secret in the provider's format.
pub fn spec(name: &'static str, provider: Provider, weight: u32, primary: bool) -> Spec {
    let api_key = credential(provider, &name.to_lowercase().replace(' ', ""));
    let (secret, format) = match provider {
        Provider::Stripe => (
            Some(format!("whsec_{}", Uuid::new_v4().simple())),
            Some(WebhookFormat::Stripe),
        ),
        Provider::Square => (
            Some(format!("sqkey_{}", Uuid::new_v4().simple())),
            Some(WebhookFormat::Square),
        ),
        Provider::Braintree => (Some(api_key.clone()), Some(WebhookFormat::Braintree)),
        Provider::Mollie => (
            Some(format!("mollie_whsec_{}", Uuid::new_v4().simple())),
            Some(WebhookFormat::MollieSigned),
        ),
        Provider::Simulator => (None, None),
    };
    Spec {
        name,
        provider,
        weight,
        primary,
        api_key,
        webhook_secret: secret,
        webhook_format: format,
    }
}

pub async fn start(pool: PgPool, specs: Vec<Spec>, read_timeout: Duration) -> Env {
    start_with(pool, specs, read_timeout, None).await
}

/// Webhook deliveries captured instead of delivered: `(lower-cased headers, body)`.
pub type Captured = Arc<std::sync::Mutex<Vec<(Vec<(String, String)>, Vec<u8>)>>>;

/// A server on 127.0.0.1:0 that records every POST and answers 200; returns its base URL.
pub async fn capture_server() -> (String, Captured) {
    let seen: Captured = Arc::default();
    let s2 = seen.clone();
    let app = axum::Router::new().fallback(
        move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
            let seen = s2.clone();
            async move {
                let hs = headers
                    .iter()
                    .filter_map(|(k, v)| {
                        v.to_str()
                            .ok()
                            .map(|v| (k.as_str().to_owned(), v.to_owned()))
                    })
                    .collect();
                seen.lock().unwrap().push((hs, body.to_vec()));
                "ok"
            }
        },
    );
    let url = serve_router(app).await;
    (url, seen)
}

/// Creates a merchant called `name` with one test-mode Switchboard API key; returns the
/// merchant id and the plaintext key (`sk_sb_test_…`).
pub async fn seed_merchant(pool: &PgPool, name: &str) -> (Uuid, String) {
    let merchant_id = Uuid::now_v7();
    store::config::insert_merchant(pool, merchant_id, name)
        .await
        .unwrap();
    let key = format!("sk_sb_test_{}", Uuid::new_v4().simple());
    store::config::insert_api_key(
        pool,
        merchant_id,
        Mode::Test,
        &gateway::hash_api_key(&key),
        "sk_sb_test_",
    )
    .await
    .unwrap();
    (merchant_id, key)
}

/// An active test-mode Stripe connector (fresh id, closed circuit, cards anywhere).
pub fn stripe_connector(name: &str, weight: u32, primary: bool) -> Connector {
    Connector {
        id: ConnectorId(Uuid::now_v7()),
        name: name.into(),
        provider: Provider::Stripe,
        mode: Mode::Test,
        weight,
        is_primary: primary,
        status: ConnectorStatus::Active,
        capabilities: Capabilities::cards_anywhere(),
        circuit: CircuitState::Closed,
        created_seq: 0,
    }
}

/// A provider executor with a 1 s connect timeout and the given read timeout.
pub fn executor(read_timeout: Duration) -> Executor {
    Executor::new(ExecutorConfig {
        connect_timeout: Duration::from_secs(1),
        read_timeout,
    })
    .unwrap()
}

/// A listener on 127.0.0.1:0 and its `http://` base URL.
pub async fn listen() -> (tokio::net::TcpListener, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    (listener, url)
}

/// Serves `app` on 127.0.0.1:0 (background task); returns its `http://` base URL.
pub async fn serve_router(app: axum::Router) -> String {
    let (listener, url) = listen().await;
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// Event kinds of payment `id` (UUID text) of `merchant_id`, oldest first.
pub async fn event_kinds(pool: &PgPool, merchant_id: Uuid, id: &str) -> Vec<String> {
    store::read::events(pool, merchant_id, Uuid::parse_str(id).unwrap())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect()
}

/// `(needs_review, review_reason)` of payment `id` (UUID text).
pub async fn review(pool: &PgPool, id: &str) -> (bool, Option<String>) {
    sqlx::query_as("SELECT needs_review, review_reason FROM payments WHERE id = $1")
        .bind(Uuid::parse_str(id).unwrap())
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Payments over `pool` with the system clock, random rolls, [`executor`]`(read_timeout)` and the
/// master keyset `keys`.
pub fn payments(pool: &PgPool, read_timeout: Duration, keys: Arc<vault::Keyset>) -> Payments {
    Payments::new(
        pool.clone(),
        executor(read_timeout),
        Arc::new(SystemClock),
        Arc::new(RandomRolls),
    )
    .with_keys(keys)
}

/// Serves the gateway over `payments` on 127.0.0.1:0 (background task); returns its base URL.
pub async fn serve(payments: Payments) -> String {
    let (listener, url) = listen().await;
    tokio::spawn(gateway::serve(
        listener,
        gateway::AppState::new(payments),
        std::future::pending(),
    ));
    url
}

/// One master keyset for every test of this binary (each test has its own database).
pub fn test_keys() -> Arc<vault::Keyset> {
    static KEYS: std::sync::OnceLock<Arc<vault::Keyset>> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| Arc::new(vault::Keyset::generate(&mut rand::rng())))
        .clone()
}

/// A fresh emulator on 127.0.0.1:0.
pub async fn emulator() -> psp_emulator::Emulator {
    psp_emulator::spawn("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

/// The two Stripe connectors of [`seed_stripe_us_eu`].
pub struct UsEu {
    pub us: Connector,
    pub eu: Connector,
    /// Fresh emulator credential of "Stripe US" (`sk_test_us_…`); "Stripe EU" uses
    /// `sk_test_eu_key`.
    pub us_key: String,
}

/// Stores "Stripe US" (weight 100) and "Stripe EU" (weight 0, primary) for `merchant_id`, both
/// on the Stripe emulator at `base_url`, sealed with [`test_keys`]: the default route is US then
/// EU.
pub async fn seed_stripe_us_eu(pool: &PgPool, merchant_id: Uuid, base_url: &str) -> UsEu {
    let us = stripe_connector("Stripe US", 100, false);
    let eu = stripe_connector("Stripe EU", 0, true);
    let us_key = format!("sk_test_us_{}", Uuid::new_v4().simple());
    let keys = test_keys();
    for (c, api_key) in [(&us, us_key.as_str()), (&eu, "sk_test_eu_key")] {
        store::config::insert_connector(pool, &keys, merchant_id, c, base_url, api_key, "t")
            .await
            .unwrap();
    }
    UsEu { us, eu, us_key }
}

/// How many charges the emulator holds for the account `api_key` of provider `p` (Stripe
/// PaymentIntents, Square payments, Braintree transactions, Mollie payments; 0 for the simulator).
pub fn charges(emulator: &psp_emulator::Emulator, p: Provider, api_key: &str) -> usize {
    match p {
        Provider::Stripe => emulator.stripe_payment_intents(api_key).len(),
        Provider::Square => emulator.square_payments(api_key).len(),
        Provider::Braintree => emulator.braintree_transactions(api_key).len(),
        Provider::Mollie => emulator.mollie_payments(api_key).len(),
        Provider::Simulator => 0,
    }
}

/// The first delivery `captured` by a [`capture_server`] (headers, body), waiting up to 5 s
/// (100 polls, 50 ms apart); None if nothing arrived.
pub async fn first_capture(captured: &Captured) -> Option<(Vec<(String, String)>, Vec<u8>)> {
    for _ in 0..100 {
        if let Some(d) = captured.lock().unwrap().first().cloned() {
            return Some(d);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

/// Like [`start`]; with `capture = Some(base)` the emulator sends webhooks to
/// `{base}/webhooks/{connector}` (a capture server) and the gateway believes `base` is its
/// public URL, so captured deliveries verify when replayed to the gateway.
pub async fn start_with(
    pool: PgPool,
    specs: Vec<Spec>,
    read_timeout: Duration,
    capture: Option<&str>,
) -> Env {
    let emulator = emulator().await;
    let (merchant_id, key) = seed_merchant(&pool, "Gateway Test Merchant").await;
    let keys = Arc::new(vault::Keyset::generate(&mut rand::rng()));
    let payments = payments(&pool, read_timeout, keys.clone());
    let (listener, url) = listen().await;
    let hook_base = capture.map(str::to_owned).unwrap_or_else(|| url.clone());
    let mut conns = Vec::new();
    for s in specs {
        let c = Connector {
            id: ConnectorId(Uuid::now_v7()),
            name: s.name.into(),
            provider: s.provider,
            mode: Mode::Test,
            weight: s.weight,
            is_primary: s.primary,
            status: ConnectorStatus::Active,
            capabilities: Capabilities::cards_anywhere(),
            circuit: CircuitState::Closed,
            created_seq: 0,
        };
        store::config::insert_connector(
            &pool,
            &keys,
            merchant_id,
            &c,
            &base_url(&emulator, s.provider),
            &s.api_key,
            "test",
        )
        .await
        .unwrap();
        if let Some(secret) = &s.webhook_secret {
            store::credentials::set_webhook_secret(
                &pool,
                &keys,
                merchant_id,
                c.id.0,
                &SecretString::from(secret.clone()),
            )
            .await
            .unwrap();
        }
        if let Some(format) = s.webhook_format {
            let mut cfg = WebhookConfig::new(
                s.api_key.clone(),
                format!("{hook_base}/webhooks/{}", c.id.0),
                format,
            );
            if let (Some(secret), false) =
                (&s.webhook_secret, format == WebhookFormat::MollieClassic)
            {
                cfg = cfg.secret(secret.clone());
            }
            emulator.webhooks().set(cfg).unwrap();
        }
        conns.push(Conn {
            id: c.id.0,
            name: s.name,
            provider: s.provider,
            api_key: s.api_key,
            webhook_secret: s.webhook_secret,
        });
    }
    let mut state = gateway::AppState::new(payments.clone());
    if let Some(base) = capture {
        state = state.with_public_base_url(base);
    }
    tokio::spawn(gateway::serve(listener, state, std::future::pending()));
    Env {
        url,
        key,
        merchant_id,
        emulator,
        client: reqwest::Client::new(),
        pool,
        payments,
        conns,
    }
}

/// A checkout body paying `amount` minor units of `currency` with `token` scoped to `provider`.
pub fn checkout(provider: Provider, token: &str, amount: i64, currency: &str) -> Value {
    json!({
        "amount": amount,
        "currency": currency,
        "payment_method": {"type": "card", "tokens": [{"token": token, "scope": {"type": "provider", "provider": provider.as_str()}}]},
        "billing": {"country": "NL"},
        "merchant_reference": format!("order-{}", Uuid::new_v4().simple()),
        "metadata": {"return_url": "https://shop.example/return"},
    })
}

impl Env {
    pub fn conn(&self, name: &str) -> &Conn {
        self.conns.iter().find(|c| c.name == name).unwrap()
    }

    pub async fn post(&self, path: &str, idem: Option<&str>, body: &Value) -> (u16, Value) {
        let mut req = self
            .client
            .post(format!("{}{path}", self.url))
            .bearer_auth(&self.key)
            .json(body);
        if let Some(k) = idem {
            req = req.header("Idempotency-Key", k);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn pay(&self, body: &Value) -> Value {
        let (status, p) = self
            .post("/v1/payments", Some(&Uuid::new_v4().to_string()), body)
            .await;
        assert!(status == 200 || status == 422, "{status} {p}");
        p
    }

    pub async fn get(&self, id: &str) -> Value {
        self.client
            .get(format!("{}/v1/payments/{id}", self.url))
            .bearer_auth(&self.key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Posts a raw webhook delivery to `/webhooks/{connector}`.
    pub async fn deliver(
        &self,
        connector: Uuid,
        headers: &[(&str, String)],
        body: &[u8],
    ) -> (u16, Value) {
        let mut req = self
            .client
            .post(format!("{}/webhooks/{connector}", self.url))
            .body(body.to_vec());
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn webhooks(&self, connector: Uuid) -> Vec<store::webhooks::WebhookRow> {
        store::webhooks::webhooks_for_connector(&self.pool, self.merchant_id, connector)
            .await
            .unwrap()
    }

    /// Waits (up to 10 s) until `pred` holds for the payment's JSON; returns it.
    pub async fn wait_payment(&self, id: &str, pred: impl Fn(&Value) -> bool) -> Value {
        for _ in 0..200 {
            let p = self.get(id).await;
            if pred(&p) {
                return p;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "payment {id} never reached the expected state: {}",
            self.get(id).await
        );
    }

    /// Waits (up to 10 s) until at least `n` webhook rows exist for `connector`.
    pub async fn wait_webhooks(
        &self,
        connector: Uuid,
        n: usize,
    ) -> Vec<store::webhooks::WebhookRow> {
        for _ in 0..200 {
            let rows = self.webhooks(connector).await;
            if rows.len() >= n {
                return rows;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "fewer than {n} webhook rows: {:?}",
            self.webhooks(connector).await
        );
    }

    pub async fn event_kinds(&self, id: &str) -> Vec<String> {
        event_kinds(&self.pool, self.merchant_id, id).await
    }

    pub async fn review(&self, id: &str) -> (bool, Option<String>) {
        review(&self.pool, id).await
    }

    pub async fn reversal(&self, attempt: &str) -> (Option<String>, Option<String>) {
        sqlx::query_as("SELECT reversal, reversal_detail FROM attempts WHERE id = $1")
            .bind(Uuid::parse_str(attempt).unwrap())
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }
}
