//! Shared helpers for the emulator's HTTP tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use psp_emulator::Emulator;
use reqwest::header::HeaderMap;
use serde_json::Value;

pub const KEY_A: &str = "sk_test_account_a_0001";
pub const KEY_B: &str = "sk_test_account_b_0002";
pub const VERSION: &str = "2026-09-30.endive";

pub struct Env {
    pub emu: Emulator,
    pub http: reqwest::Client,
}

pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn error_field(&self, field: &str) -> &Value {
        &self.json["error"][field]
    }
}

pub async fn start() -> Env {
    let emu = psp_emulator::spawn("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    Env { emu, http }
}

async fn into_resp(r: reqwest::Response) -> Resp {
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap();
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Resp {
        status,
        headers,
        text,
        json,
    }
}

/// Form fields for a confirming card payment.
pub fn card_payment<'a>(amount: &'a str, pm: &'a str, capture: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("amount", amount),
        ("currency", "usd"),
        ("payment_method", pm),
        ("confirm", "true"),
        ("capture_method", capture),
        ("payment_method_types[]", "card"),
    ]
}

impl Env {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.emu.base_url(), path)
    }

    pub fn post_req(
        &self,
        key: &str,
        path: &str,
        form: &[(&str, &str)],
        idem: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let mut req = self
            .http
            .post(self.url(path))
            .bearer_auth(key)
            .header("Stripe-Version", VERSION)
            .form(form);
        if let Some(k) = idem {
            req = req.header("Idempotency-Key", k);
        }
        req
    }

    pub async fn post(
        &self,
        key: &str,
        path: &str,
        form: &[(&str, &str)],
        idem: Option<&str>,
    ) -> Resp {
        into_resp(self.post_req(key, path, form, idem).send().await.unwrap()).await
    }

    pub async fn get(&self, key: &str, path: &str) -> Resp {
        let r = self
            .http
            .get(self.url(path))
            .bearer_auth(key)
            .header("Stripe-Version", VERSION)
            .send()
            .await
            .unwrap();
        into_resp(r).await
    }

    pub async fn search(&self, key: &str, query: &str) -> Resp {
        let r = self
            .http
            .get(self.url("/v1/payment_intents/search"))
            .query(&[("query", query)])
            .bearer_auth(key)
            .header("Stripe-Version", VERSION)
            .send()
            .await
            .unwrap();
        into_resp(r).await
    }

    pub async fn control(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Resp {
        let mut req = self.http.request(method, self.url(path));
        if let Some(b) = body {
            req = req.json(&b);
        }
        into_resp(req.send().await.unwrap()).await
    }

    pub async fn pay(&self, key: &str, amount: &str, pm: &str, capture: &str) -> Resp {
        self.post(
            key,
            "/v1/payment_intents",
            &card_payment(amount, pm, capture),
            None,
        )
        .await
    }
}

/// One webhook request as a test receiver got it.
#[derive(Debug, Clone)]
pub struct Hook {
    pub path: String,
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
    pub at: std::time::Instant,
}

impl Hook {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }
}

/// A real HTTP server on 127.0.0.1:0 that records every request and answers 200.
pub struct Receiver {
    pub url: String,
    pub hooks: std::sync::Arc<std::sync::Mutex<Vec<Hook>>>,
}

pub async fn receiver() -> Receiver {
    use axum::extract::State;
    let hooks: std::sync::Arc<std::sync::Mutex<Vec<Hook>>> = Default::default();
    async fn record(
        State(h): State<std::sync::Arc<std::sync::Mutex<Vec<Hook>>>>,
        uri: axum::http::Uri,
        headers: axum::http::HeaderMap,
        body: axum::body::Bytes,
    ) -> &'static str {
        h.lock().unwrap().push(Hook {
            path: uri.path().to_owned(),
            headers,
            body: body.to_vec(),
            at: std::time::Instant::now(),
        });
        "ok"
    }
    let app = axum::Router::new()
        .fallback(record)
        .with_state(hooks.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Receiver {
        url: format!("http://{addr}/hooks"),
        hooks,
    }
}

impl Receiver {
    pub fn count(&self) -> usize {
        self.hooks.lock().unwrap().len()
    }
    /// Waits (at most 5 s) until at least `n` requests arrived; returns them all.
    pub async fn wait_for(&self, n: usize) -> Vec<Hook> {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            let got = self.hooks.lock().unwrap().clone();
            if got.len() >= n {
                return got;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "only {} of {n} webhooks arrived",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    use hmac::Mac;
    let mut m = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    m.update(msg);
    m.finalize().into_bytes().to_vec()
}

pub async fn into_resp_pub(r: reqwest::Response) -> Resp {
    into_resp(r).await
}

impl Env {
    /// A JSON request with Bearer auth (Square, Mollie).
    pub async fn json_call(
        &self,
        method: reqwest::Method,
        url: &str,
        token: &str,
        body: Option<Value>,
        idem: Option<&str>,
    ) -> Resp {
        let mut req = self.http.request(method, url).bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        if let Some(k) = idem {
            req = req.header("Idempotency-Key", k);
        }
        into_resp(req.send().await.unwrap()).await
    }

    /// A Braintree GraphQL call with Basic auth `public:private`.
    pub async fn graphql(&self, creds: &str, query: &str, variables: Value) -> Resp {
        let (public, private) = creds.split_once(':').unwrap();
        let r = self
            .http
            .post(format!("{}/graphql", self.emu.braintree_base_url()))
            .basic_auth(public, Some(private))
            .header("Braintree-Version", "2018-09-10")
            .json(&serde_json::json!({"query": query, "variables": variables}))
            .send()
            .await
            .unwrap();
        into_resp(r).await
    }
}
