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
