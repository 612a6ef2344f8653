//! Outgoing webhooks, signed in each provider's format (REFERENCE.md §1.6, §2.5, §3.5, §4.5).
//!
//! A [`WebhookConfig`] is installed per account (the API key / credential the provider module
//! authenticates with) in process ([`Webhooks::set`]) or over `POST /_emulator/webhooks`. When an
//! operation changes a payment, the provider module hands a [`Notice`] to `emit`, which renders
//! it in the configured format, signs it with the configured secret, and POSTs it from a tokio task
//! with `reqwest`, after `delay_ms` (a *late* webhook: the synchronous answer has already gone out),
//! `1 + duplicates` times with the **same** body and event id. Every attempt is logged as a
//! [`Delivery`] (no secrets, no bodies). There are no retries on failure.
//!
//! Mollie classic webhooks also go to a payment's own `webhookUrl` when it has one (as Mollie
//! does), even without a config; the account's config (if its format is `mollie_classic`) then
//! supplies the delay and duplicates.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use axum::body::Bytes;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha1::{Digest, Sha1};
use sha2::Sha256;

use crate::App;
use crate::pipeline::{now, ts_millis, ts_seconds, uuid_v4};

/// The wire format (and so the provider) of an account's webhooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookFormat {
    /// Stripe events, `Stripe-Signature: t=…,v1=…` (secret: the endpoint's `whsec_…`).
    Stripe,
    /// Square events, `x-square-hmacsha256-signature` over notification URL + body (secret: the
    /// subscription's signature key).
    Square,
    /// Braintree `bt_signature`/`bt_payload` form (secret: `"public_key:private_key"`).
    Braintree,
    /// Mollie classic: unsigned form body `id=tr_…` (no secret).
    MollieClassic,
    /// Mollie next-gen: JSON event, `X-Mollie-Signature: sha256=<hex>` (secret: the webhook secret).
    MollieSigned,
}

/// Webhook sending for one account.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// The account: the API key / credential its requests authenticate with (Stripe `sk_test_…`,
    /// Square access token, Braintree `"public:private"`, Mollie `test_…`).
    pub account: String,
    /// Where to POST (for Square also the signed notification URL).
    pub url: String,
    /// Signing secret; required for every format but `mollie_classic`. Never serialized back.
    #[serde(default, skip_serializing)]
    pub secret: Option<String>,
    /// The provider format.
    pub format: WebhookFormat,
    /// Delay before the first delivery, in milliseconds (0 = right after the state change).
    #[serde(default)]
    pub delay_ms: u64,
    /// Extra deliveries of the same event (same id and body) right after the first.
    #[serde(default)]
    pub duplicates: u32,
}

impl std::fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("url", &self.url)
            .field("format", &self.format)
            .field("delay_ms", &self.delay_ms)
            .field("duplicates", &self.duplicates)
            .finish_non_exhaustive()
    }
}

impl WebhookConfig {
    /// A config for `account` posting to `url` in `format`, without secret, delay or duplicates.
    pub fn new(account: impl Into<String>, url: impl Into<String>, format: WebhookFormat) -> Self {
        Self {
            account: account.into(),
            url: url.into(),
            secret: None,
            format,
            delay_ms: 0,
            duplicates: 0,
        }
    }

    /// Sets the signing secret.
    #[must_use]
    pub fn secret(mut self, secret: impl Into<String>) -> Self {
        self.secret = Some(secret.into());
        self
    }

    /// Delays every delivery by `delay`.
    #[must_use]
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self
    }

    /// Delivers every event `1 + n` times.
    #[must_use]
    pub fn duplicates(mut self, n: u32) -> Self {
        self.duplicates = n;
        self
    }

    /// Checks the URL scheme and that signed formats have a (well-formed) secret.
    pub fn validate(&self) -> Result<(), WebhookError> {
        if self.account.trim().is_empty() {
            return Err(WebhookError("account must not be empty".into()));
        }
        if !(self.url.starts_with("http://") || self.url.starts_with("https://")) {
            return Err(WebhookError(
                "url must start with http:// or https://".into(),
            ));
        }
        if self.duplicates > 10 {
            return Err(WebhookError("duplicates must be at most 10".into()));
        }
        let secret = self.secret.as_deref().filter(|s| !s.is_empty());
        match (self.format, secret) {
            (WebhookFormat::MollieClassic, _) => Ok(()),
            (WebhookFormat::Braintree, Some(s)) if !s.contains(':') => Err(WebhookError(
                "braintree secret must be \"public_key:private_key\"".into(),
            )),
            (
                WebhookFormat::Stripe
                | WebhookFormat::Square
                | WebhookFormat::Braintree
                | WebhookFormat::MollieSigned,
                Some(_),
            ) => Ok(()),
            (
                WebhookFormat::Stripe
                | WebhookFormat::Square
                | WebhookFormat::Braintree
                | WebhookFormat::MollieSigned,
                None,
            ) => Err(WebhookError("secret is required for signed formats".into())),
        }
    }
}

/// A rejected webhook config or on-demand send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookError(pub String);

impl std::fmt::Display for WebhookError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WebhookError {}

/// One delivery attempt (`GET /_emulator/webhooks/deliveries`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    /// The account whose event it was.
    pub account: String,
    /// The provider event id (`evt_…`, Square UUID, Braintree `kind:subject_id:timestamp`,
    /// Mollie `event_…` or `classic:tr_…`).
    pub event_id: String,
    /// The event type (`payment_intent.succeeded`, `payment.updated`, `transaction_settled`,
    /// `payment.paid`, …).
    pub event_type: String,
    /// Target URL.
    pub url: String,
    /// 1 for the first delivery, 2… for duplicates.
    pub copy: u32,
    /// The receiver's HTTP status, if it answered.
    pub status: Option<u16>,
    /// The transport error, if it did not.
    pub error: Option<String>,
}

/// A state change to announce, in provider terms (built by the provider modules).
#[derive(Debug, Clone)]
pub enum Notice {
    /// A Stripe event: `type` and `data.object`.
    Stripe {
        /// `payment_intent.succeeded`, `charge.refunded`, …
        event_type: String,
        /// The object (PaymentIntent or Charge JSON).
        object: Value,
    },
    /// A Square event.
    Square {
        /// `payment.created`, `payment.updated`, `refund.created`, `refund.updated`.
        event_type: String,
        /// `payment` or `refund`.
        kind: &'static str,
        /// The object's id.
        id: String,
        /// The object JSON.
        object: Value,
    },
    /// A Braintree notification.
    Braintree {
        /// `transaction_settled`, `transaction_settlement_declined`, …
        kind: String,
        /// The transaction's legacy id (for the event id).
        subject_id: String,
        /// The `<transaction>…</transaction>` XML of the subject.
        subject_xml: String,
    },
    /// A Mollie payment change.
    Mollie {
        /// Next-gen type: `payment.paid`, `payment.failed`, `payment.canceled`,
        /// `payment.expired`, `payment.authorized`, `refund.created`…
        event_type: String,
        /// `tr_…`
        id: String,
        /// The payment JSON (embedded in next-gen events).
        entity: Value,
        /// The payment's own `webhookUrl` (classic).
        webhook_url: Option<String>,
    },
}

/// Webhook configs and the delivery log. Cheap to clone; clones share state.
#[derive(Debug, Clone)]
pub struct Webhooks {
    configs: Arc<RwLock<HashMap<String, WebhookConfig>>>,
    deliveries: Arc<Mutex<Vec<Delivery>>>,
    client: reqwest::Client,
}

impl Default for Webhooks {
    fn default() -> Self {
        Self {
            configs: Arc::default(),
            deliveries: Arc::default(),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(15))
                .build()
                .unwrap_or_default(),
        }
    }
}

impl Webhooks {
    /// Installs (replaces) the config of `cfg.account`.
    pub fn set(&self, cfg: WebhookConfig) -> Result<(), WebhookError> {
        cfg.validate()?;
        self.configs
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(cfg.account.clone(), cfg);
        Ok(())
    }

    /// Removes the config of `account`, or every config for `None`.
    pub fn clear(&self, account: Option<&str>) {
        let mut c = self.configs.write().unwrap_or_else(PoisonError::into_inner);
        match account {
            Some(a) => {
                c.remove(a);
            }
            None => c.clear(),
        }
    }

    /// The installed configs, ordered by account (secrets are not serialized).
    pub fn list(&self) -> Vec<WebhookConfig> {
        let c = self.configs.read().unwrap_or_else(PoisonError::into_inner);
        let mut v: Vec<WebhookConfig> = c.values().cloned().collect();
        v.sort_by(|a, b| a.account.cmp(&b.account));
        v
    }

    /// The config of `account`.
    pub fn get(&self, account: &str) -> Option<WebhookConfig> {
        self.configs
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(account)
            .cloned()
    }

    /// Every delivery attempt so far, oldest first.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.deliveries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Forgets the delivery log.
    pub fn clear_deliveries(&self) {
        self.deliveries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    fn log(&self, d: Delivery) {
        self.deliveries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(d);
    }
}

/// A rendered webhook request.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// Provider event id.
    pub event_id: String,
    /// Event type.
    pub event_type: String,
    /// Body bytes, exactly as sent and signed.
    pub body: Bytes,
    /// Headers (content type and signature).
    pub headers: Vec<(String, String)>,
}

/// `body` serialized as compact JSON bytes (the exact bytes that are signed and sent).
fn json_bytes(body: &Value) -> Bytes {
    Bytes::from(serde_json::to_vec(body).unwrap_or_default())
}

/// A JSON delivery: headers are `content-type` then the provider's `signature` header
/// (name, value computed over `body`), in that order.
fn signed_json(
    event_id: String,
    event_type: &str,
    content_type: &str,
    signature: (&str, String),
    body: Bytes,
) -> Rendered {
    Rendered {
        event_id,
        event_type: event_type.to_owned(),
        headers: vec![
            ("content-type".into(), content_type.into()),
            (signature.0.into(), signature.1),
        ],
        body,
    }
}

type HmacSha256 = Hmac<Sha256>;

fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    // HMAC accepts keys of any length; new_from_slice cannot fail for it.
    let Ok(mut mac) = HmacSha256::new_from_slice(key) else {
        return Vec::new();
    };
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().to_vec()
}

/// `Stripe-Signature` value for `body` at `t` (REFERENCE.md §1.6).
pub fn stripe_signature(secret: &str, t: i64, body: &[u8]) -> String {
    let ts = t.to_string();
    let sig = hmac_sha256(secret.as_bytes(), &[ts.as_bytes(), b".", body]);
    format!("t={ts},v1={}", hex::encode(sig))
}

/// `x-square-hmacsha256-signature` value (REFERENCE.md §2.5).
pub fn square_signature(key: &str, notification_url: &str, body: &[u8]) -> String {
    STANDARD.encode(hmac_sha256(
        key.as_bytes(),
        &[notification_url.as_bytes(), body],
    ))
}

/// `X-Mollie-Signature` value (REFERENCE.md §4.5).
pub fn mollie_signature(secret: &str, body: &[u8]) -> String {
    format!(
        "sha256={}",
        hex::encode(hmac_sha256(secret.as_bytes(), &[body]))
    )
}

/// `bt_signature` for `payload` with `"public:private"` (REFERENCE.md §3.5):
/// `public|hex(HMAC-SHA1(key = SHA1(private), payload))`.
pub fn braintree_signature(public_private: &str, payload: &str) -> String {
    let (public, private) = public_private
        .split_once(':')
        .unwrap_or((public_private, ""));
    let key = Sha1::digest(private.as_bytes());
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(&key) else {
        return String::new();
    };
    mac.update(payload.as_bytes());
    format!("{public}|{}", hex::encode(mac.finalize().into_bytes()))
}

/// Base64 with a newline after every 76 characters and at the end (the fixture's `bt_payload`).
pub fn mime_base64(data: &[u8]) -> String {
    let flat = STANDARD.encode(data);
    let mut out = String::with_capacity(flat.len() + flat.len() / 76 + 1);
    for chunk in flat.as_bytes().chunks(76) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out
}

fn form_encode(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

/// Renders `notice` for a receiver at `url` in `format`, signed with `secret`; `None` when the
/// notice belongs to another provider.
pub fn render(
    format: WebhookFormat,
    secret: Option<&str>,
    url: &str,
    notice: &Notice,
) -> Option<Rendered> {
    let now = now();
    let secret = secret.unwrap_or("");
    match (format, notice) {
        (WebhookFormat::Stripe, Notice::Stripe { event_type, object }) => {
            let id = crate::stripe::model::rand_id("evt_3", 24);
            let created = now.unix_timestamp();
            let body = json!({
                "api_version": crate::stripe::state::DEFAULT_API_VERSION,
                "created": created,
                "data": {"object": object},
                "id": id,
                "livemode": false,
                "object": "event",
                "pending_webhooks": 1,
                "request": {"id": null, "idempotency_key": null},
                "type": event_type
            });
            let body = json_bytes(&body);
            let signature = stripe_signature(secret, created, &body);
            Some(signed_json(
                id,
                event_type,
                "application/json; charset=utf-8",
                ("stripe-signature", signature),
                body,
            ))
        }
        (
            WebhookFormat::Square,
            Notice::Square {
                event_type,
                kind,
                id,
                object,
            },
        ) => {
            let event_id = uuid_v4();
            let body = json!({
                "created_at": ts_millis(now),
                "data": {"id": id, "object": {*kind: object}, "type": kind},
                "event_id": event_id,
                "merchant_id": "EMULATORMERCHANT1",
                "type": event_type
            });
            let body = json_bytes(&body);
            let signature = square_signature(secret, url, &body);
            Some(signed_json(
                event_id,
                event_type,
                "application/json",
                ("x-square-hmacsha256-signature", signature),
                body,
            ))
        }
        (
            WebhookFormat::Braintree,
            Notice::Braintree {
                kind,
                subject_id,
                subject_xml,
            },
        ) => {
            let stamp = ts_seconds(now).replace("+00:00", "Z");
            let xml = format!(
                "<notification>\n  <timestamp type=\"datetime\">{stamp}</timestamp>\n  <kind>{kind}</kind>\n  <subject>\n{subject_xml}  </subject>\n</notification>\n"
            );
            let payload = mime_base64(xml.as_bytes());
            let signature = braintree_signature(secret, &payload);
            let body = form_encode(&[("bt_signature", &signature), ("bt_payload", &payload)]);
            Some(Rendered {
                event_id: format!("{kind}:{subject_id}:{stamp}"),
                event_type: kind.clone(),
                headers: vec![(
                    "content-type".into(),
                    "application/x-www-form-urlencoded".into(),
                )],
                body: Bytes::from(body),
            })
        }
        (WebhookFormat::MollieClassic, Notice::Mollie { event_type, id, .. }) => Some(Rendered {
            event_id: format!("classic:{id}"),
            event_type: event_type.clone(),
            headers: vec![(
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            )],
            body: Bytes::from(form_encode(&[("id", id)])),
        }),
        (
            WebhookFormat::MollieSigned,
            Notice::Mollie {
                event_type,
                id,
                entity,
                ..
            },
        ) => {
            let event_id = format!(
                "event_{}",
                crate::pipeline::rand_from(crate::pipeline::BASE62, 21)
            );
            let body = json!({
                "resource": "event",
                "id": event_id,
                "type": event_type,
                "entityId": id,
                "createdAt": ts_seconds(now),
                "_embedded": {"entity": entity},
                "_links": {
                    "self": {"href": format!("https://api.mollie.com/v2/events/{event_id}"), "type": "application/hal+json"},
                    "documentation": {"href": "https://docs.mollie.com/guides/webhooks", "type": "text/html"},
                    "entity": {"href": format!("/v2/payments/{id}"), "type": "application/hal+json"}
                }
            });
            let body = json_bytes(&body);
            let signature = mollie_signature(secret, &body);
            Some(signed_json(
                event_id,
                event_type,
                "application/json",
                ("x-mollie-signature", signature),
                body,
            ))
        }
        (
            WebhookFormat::Stripe
            | WebhookFormat::Square
            | WebhookFormat::Braintree
            | WebhookFormat::MollieClassic
            | WebhookFormat::MollieSigned,
            Notice::Stripe { .. }
            | Notice::Square { .. }
            | Notice::Braintree { .. }
            | Notice::Mollie { .. },
        ) => None,
    }
}

/// Sends `notice` for `account` according to its config (and, for Mollie, the payment's own
/// `webhookUrl`). Returns the event ids scheduled. Must run inside the tokio runtime.
pub(crate) fn emit(app: &Arc<App>, account: &str, notice: &Notice) -> Vec<String> {
    let cfg = app.webhooks.get(account);
    let mut targets: Vec<(String, WebhookFormat, Option<String>, u64, u32)> = Vec::new();
    if let Notice::Mollie {
        webhook_url: Some(u),
        ..
    } = notice
    {
        let (delay, dups) = match &cfg {
            Some(c) if c.format == WebhookFormat::MollieClassic => (c.delay_ms, c.duplicates),
            Some(_) | None => (0, 0),
        };
        targets.push((u.clone(), WebhookFormat::MollieClassic, None, delay, dups));
    }
    if let Some(c) = cfg {
        let classic_done = c.format == WebhookFormat::MollieClassic && !targets.is_empty();
        if !classic_done {
            targets.push((c.url, c.format, c.secret, c.delay_ms, c.duplicates));
        }
    }
    let mut ids = Vec::new();
    for (url, format, secret, delay_ms, dups) in targets {
        let Some(r) = render(format, secret.as_deref(), &url, notice) else {
            continue;
        };
        ids.push(r.event_id.clone());
        let app = app.clone();
        let account = account.to_owned();
        tokio::spawn(async move {
            app.hold(Duration::from_millis(delay_ms)).await;
            if *app.shutdown.borrow() {
                return;
            }
            for copy in 1..=dups.saturating_add(1) {
                deliver(&app, &account, &url, &r, copy).await;
            }
        });
    }
    ids
}

async fn deliver(app: &App, account: &str, url: &str, r: &Rendered, copy: u32) {
    let mut req = app.webhooks.client.post(url).body(r.body.clone());
    for (k, v) in &r.headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let (status, error) = match req.send().await {
        Ok(resp) => (Some(resp.status().as_u16()), None),
        Err(e) => (None, Some(e.without_url().to_string())),
    };
    if let Some(e) = &error {
        tracing::debug!("webhook {} to {url} failed: {e}", r.event_id);
    }
    app.webhooks.log(Delivery {
        account: account.to_owned(),
        event_id: r.event_id.clone(),
        event_type: r.event_type.clone(),
        url: url.to_owned(),
        copy,
        status,
        error,
    });
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn fixture(path: &str) -> Option<String> {
        std::fs::read_to_string(format!("/work/shared/providers/fixtures/{path}")).ok()
    }

    #[test]
    fn signatures_match_the_fixtures() {
        // Skipped only where the shared fixtures are not mounted (fresh CI machines).
        if let Some(body) = fixture("square/webhook_payment_updated.json") {
            assert_eq!(
                square_signature(
                    "fixture_signature_key",
                    "https://example.com/webhooks/square",
                    body.as_bytes()
                ),
                "3sShnV+Jv34HwGsU2dWpUMpbkAOwFUHZYYMdfaoMIOs="
            );
        }
        if let Some(body) = fixture("stripe/webhook_payment_intent_succeeded.json") {
            assert_eq!(
                stripe_signature("whsec_test_fixture_secret", 1_700_000_700, body.as_bytes()),
                "t=1700000700,v1=1abb5fe9ab6634dd9d6206cb9f28249e22c296f1573fa0d16ec37d9cb9eff480"
            );
        }
        if let Some(body) = fixture("mollie/webhook_nextgen_event.json") {
            assert_eq!(
                mollie_signature("VpQ3WukU6uSCGQ8TPTD3WPDpac3GyNEj", body.as_bytes()),
                "sha256=73f95c5c80f75e57fb5109a5e46f9daa36320b8c5f95c53bb84456af36838f81"
            );
        }
        if let Some(f) = fixture("braintree/webhook_transaction_settled.json") {
            let v: Value = serde_json::from_str(&f).unwrap();
            let payload = v["bt_payload"].as_str().unwrap();
            assert_eq!(
                braintree_signature("fixture_public_key:fixture_private_key", payload),
                v["bt_signature"].as_str().unwrap()
            );
            let xml = v["decoded_payload_xml"].as_str().unwrap();
            assert_eq!(mime_base64(xml.as_bytes()), payload);
        }
    }

    #[test]
    fn config_validation() {
        let ok = WebhookConfig::new("k", "http://127.0.0.1:1/x", WebhookFormat::Stripe)
            .secret("whsec_x");
        assert!(ok.validate().is_ok());
        assert!(
            WebhookConfig::new("k", "ftp://x", WebhookFormat::MollieClassic)
                .validate()
                .is_err()
        );
        assert!(
            WebhookConfig::new("k", "http://x", WebhookFormat::Square)
                .validate()
                .is_err()
        );
        assert!(
            WebhookConfig::new("k", "http://x", WebhookFormat::Braintree)
                .secret("nocolon")
                .validate()
                .is_err()
        );
        let s = serde_json::to_string(&ok).unwrap();
        assert!(!s.contains("whsec_x"), "{s}");
        assert!(!format!("{ok:?}").contains("whsec_x"));
    }
}
