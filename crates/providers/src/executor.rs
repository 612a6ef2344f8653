//! The one executor that does provider IO.
//!
//! [`Executor`] owns one `reqwest::Client` (rustls) built with `connect_timeout =
//! cfg.connect_timeout` and a whole-request `timeout = cfg.read_timeout`, and dispatches on
//! [`ConnectorAccount::provider`]:
//! - Stripe, Square, Braintree, Mollie: the provider module ([`crate::stripe`],
//!   [`crate::square`], [`crate::braintree`], [`crate::mollie`]) plans each call
//!   ([`crate::Call`]: the request value and its parser, or an answer without any call, e.g. an
//!   amount or currency the provider would refuse), the executor adds the credentials (the only
//!   place the secret is exposed; reqwest marks the header sensitive), sends it to
//!   `account.base_url + path`, and the parser classifies the answer. Credentials (INTERFACES.md
//!   §C): Stripe `Authorization: Bearer sk_…`; Square `Bearer <access token>`; Braintree HTTP
//!   Basic from `api_key = "public_key:private_key"`; Mollie `Bearer test_…/live_…`.
//!   Pre-checks without any call (`auth_config_error`): an empty key; a Stripe `sk_live_`/
//!   `rk_live_` or Mollie `live_` key on a test-mode connector (and the reverse); a Braintree key
//!   that is not `public:private`; a Mollie key without the `test_`/`live_`/`access_` prefix; an
//!   unusable base URL.
//! - Simulator: [`crate::simulator::Simulator`] answers in-process; its optional latency is slept
//!   here, and a latency above `read_timeout` turns into the same `unknown_outcome` a real
//!   timeout gives (after the simulator has acted, as a real PSP would have).
//!
//! Transport failures (REFERENCE.md §8, DESIGN.md §5):
//!
//! | failure | class |
//! |---|---|
//! | connect error, refused, TLS handshake, connect timeout (nothing was sent) | provider_unavailable |
//! | timeout after connecting, reset/closed connection, body read error | unknown_outcome (never a decline) |
//! | request could not be built (bad header value) | validation_error |
//!
//! For a **retrieve**, every failure above (and every pre-check failure) is `unknown_outcome`:
//! `provider_unavailable` from a retrieve means "provably not charged".
//!
//! Every call records `latency_ms` and emits one tracing event in a `provider_call` span with
//! provider, connector, op, HTTP status, class, latency and the `Request-Id` header when there is
//! one; never the API key, headers or the request body. As a last line of defence every text
//! field of the result is scrubbed of the API key (and of each part of a Braintree
//! `public:private` key) before it is returned.

use crate::http::{HttpRequest, HttpResponse, Method};
use crate::simulator::Simulator;
use crate::{
    AuthorizeRequest, Call, CaptureRequest, ConnectorAccount, Operation, ProviderResult,
    RefundRequest, RetrieveRequest, VoidRequest, braintree, mollie, square, stripe,
};
use routing::{Mode, OutcomeClass, Provider};
use secrecy::ExposeSecret;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::Instrument;

/// Timeouts of the executor.
#[derive(Debug, Clone, Copy)]
pub struct ExecutorConfig {
    /// TCP connect timeout (failure = nothing sent = `provider_unavailable`).
    pub connect_timeout: Duration,
    /// Total time to wait for the answer after connecting (failure after send = `unknown_outcome`).
    pub read_timeout: Duration,
}

impl Default for ExecutorConfig {
    /// 3 s to connect, 30 s for the answer.
    fn default() -> ExecutorConfig {
        ExecutorConfig {
            connect_timeout: Duration::from_secs(3),
            read_timeout: Duration::from_secs(30),
        }
    }
}

/// The executor could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ExecutorError {
    /// reqwest could not build its client (e.g. no TLS backend could be initialised).
    #[error("could not build the HTTP client: {0}")]
    Client(String),
}

/// Owns the HTTP client; dispatches each call to the connector's provider module.
///
/// Cloning is cheap and clones share the client and the simulator state.
#[derive(Clone)]
pub struct Executor {
    client: reqwest::Client,
    cfg: ExecutorConfig,
    simulator: Arc<Simulator>,
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

impl Executor {
    /// Builds the executor with a fresh, instant [`Simulator`].
    ///
    /// Errors: [`ExecutorError::Client`] when reqwest cannot build its client.
    pub fn new(cfg: ExecutorConfig) -> Result<Executor, ExecutorError> {
        let client = reqwest::Client::builder()
            .connect_timeout(cfg.connect_timeout)
            .timeout(cfg.read_timeout)
            .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ExecutorError::Client(e.to_string()))?;
        Ok(Executor {
            client,
            cfg,
            simulator: Arc::new(Simulator::new()),
        })
    }

    /// Uses `simulator` (e.g. one with latency, or one shared with a test) for simulator connectors.
    pub fn with_simulator(mut self, simulator: Arc<Simulator>) -> Executor {
        self.simulator = simulator;
        self
    }

    /// The simulator used for simulator connectors.
    pub fn simulator(&self) -> &Arc<Simulator> {
        &self.simulator
    }

    /// The timeouts.
    pub fn config(&self) -> ExecutorConfig {
        self.cfg
    }

    /// Authorize (and capture if automatic).
    pub async fn authorize(
        &self,
        account: &ConnectorAccount,
        req: &AuthorizeRequest,
    ) -> ProviderResult {
        self.call(
            account,
            Operation::Authorize,
            |wire| match wire {
                Wire::Stripe => stripe::authorize_call(req),
                Wire::Square => square::authorize_call(req),
                Wire::Braintree => braintree::authorize_call(req),
                Wire::Mollie => mollie::authorize_call(req),
            },
            |s| s.authorize(req),
        )
        .await
    }
    /// Capture.
    pub async fn capture(
        &self,
        account: &ConnectorAccount,
        req: &CaptureRequest,
    ) -> ProviderResult {
        self.call(
            account,
            Operation::Capture,
            |wire| match wire {
                Wire::Stripe => stripe::capture_call(req),
                Wire::Square => square::capture_call(req),
                Wire::Braintree => braintree::capture_call(req),
                Wire::Mollie => mollie::capture_call(req),
            },
            |s| s.capture(req),
        )
        .await
    }
    /// Void.
    pub async fn void(&self, account: &ConnectorAccount, req: &VoidRequest) -> ProviderResult {
        self.call(
            account,
            Operation::Void,
            |wire| match wire {
                Wire::Stripe => stripe::void_call(req),
                Wire::Square => square::void_call(req),
                Wire::Braintree => braintree::void_call(req),
                Wire::Mollie => mollie::void_call(req),
            },
            |s| s.void(req),
        )
        .await
    }
    /// Refund.
    pub async fn refund(&self, account: &ConnectorAccount, req: &RefundRequest) -> ProviderResult {
        self.call(
            account,
            Operation::Refund,
            |wire| match wire {
                Wire::Stripe => stripe::refund_call(req),
                Wire::Square => square::refund_call(req),
                Wire::Braintree => braintree::refund_call(req),
                Wire::Mollie => mollie::refund_call(req),
            },
            |s| s.refund(req),
        )
        .await
    }
    /// Retrieve: reconcile an authorize whose outcome is unknown.
    ///
    /// Result contract (every provider):
    ///
    /// | class | meaning | engine may |
    /// |---|---|---|
    /// | `approved` | a charge exists (`provider_reference`, `captured` say which and how far) | treat the attempt as approved |
    /// | `provider_unavailable` | provably nothing was charged and nothing will be under this key | fall back |
    /// | `hard_decline`, `soft_decline`, `needs_customer_action`, `validation_error` | the definitive answer of the original request; nothing charged (for `needs_customer_action`: not unless the customer completes it) | treat it as the attempt's answer |
    /// | `unknown_outcome` | still unknown (lookup failed, still in flight, index lag…) | **not** fall back; reconcile later or ask a human |
    ///
    /// A retrieve never answers `rate_limited` or `auth_config_error`: any failure of the lookup
    /// itself, before or after sending, is `unknown_outcome`.
    ///
    /// Stripe ([`stripe::retrieve_call`]): with a `provider_reference`, `GET` the PaymentIntent;
    /// else with [`RetrieveRequest::original`], replay the authorize with the same body and
    /// `Idempotency-Key` (Stripe returns the saved answer, executes a never-arrived request
    /// exactly once, or 409 while in flight; classified by [`stripe::parse_replay`]: a replayed
    /// 500 / 409 / 424 / 502 / 503 / 429 / 401 / `idempotency_error` / timeout / unreadable body
    /// is `unknown_outcome`); else search by metadata, where an empty result is
    /// `unknown_outcome` (the index lags) and a single hit is re-read by `GET` and classified by
    /// its current state.
    ///
    /// Square ([`square::retrieve_call`]): `GET /v2/payments/{id}` with a reference; else the
    /// original create replayed with the same body and `idempotency_key` (Square returns the
    /// first result, REFERENCE.md §2.2; [`square::parse_replay`]: `IDEMPOTENCY_KEY_REUSED`, 409,
    /// 5xx, 429, 401/403 are `unknown_outcome`); else `unknown_outcome` without a call (no lookup
    /// by key; cancel-by-key is not a lookup).
    ///
    /// Braintree ([`braintree::retrieve_call`]): `node(id:)` with a reference; else the
    /// charge/authorize replayed with the same input and `apiRequestKey` (same transaction in its
    /// current status, §3.2; [`braintree::parse_replay`]); else
    /// `search.transactions(orderId = payment id)` (one hit classified, none `unknown_outcome`,
    /// several: the single approved one or `unknown_outcome`).
    ///
    /// Mollie ([`mollie::retrieve_call`]): `GET /v2/payments/{tr_…}` with a reference (`paid`
    /// approved + captured, `authorized` approved, `failed` its decline class, `canceled`/`expired`
    /// provider_unavailable, `open`/`pending` needs_customer_action with the checkout URL or
    /// unknown_outcome); else the create replayed with its `Idempotency-Key` (kept 1 h, §4.2;
    /// [`mollie::parse_replay`]); else `unknown_outcome` without a call.
    ///
    /// Simulator: its token table ([`crate::simulator`]); `original` is ignored.
    pub async fn retrieve(
        &self,
        account: &ConnectorAccount,
        req: &RetrieveRequest,
    ) -> ProviderResult {
        self.call(
            account,
            Operation::Retrieve,
            |wire| match wire {
                Wire::Stripe => stripe::retrieve_call(req),
                Wire::Square => square::retrieve_call(req),
                Wire::Braintree => braintree::retrieve_call(req),
                Wire::Mollie => mollie::retrieve_call(req),
            },
            |s| s.retrieve(req),
        )
        .await
    }

    async fn call(
        &self,
        account: &ConnectorAccount,
        op: Operation,
        plan: impl FnOnce(Wire) -> Call,
        simulate: impl FnOnce(&Simulator) -> ProviderResult,
    ) -> ProviderResult {
        let started = Instant::now();
        let span = tracing::info_span!(
            "provider_call",
            provider = account.provider.as_str(),
            connector_id = %account.connector_id,
            op = op.as_str(),
        );
        let (mut result, request_id) = async {
            match Wire::of(account.provider) {
                None => (self.simulate(simulate).await, None),
                Some(wire) => match precheck(wire, account) {
                    Some(msg) => (failure(op, OutcomeClass::AuthConfigError, msg), None),
                    None => self.run(account, wire, op, plan(wire)).await,
                },
            }
        }
        .instrument(span.clone())
        .await;
        result.latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        scrub(&mut result, account.api_key.expose_secret());
        if account.provider == Provider::Braintree {
            for part in account.api_key.expose_secret().split(':') {
                scrub(&mut result, part);
            }
        }
        span.in_scope(|| {
            tracing::info!(
                provider = account.provider.as_str(),
                op = op.as_str(),
                http_status = ?result.http_status,
                class = result.class.as_str(),
                raw_code = ?result.raw_code,
                decline_code = ?result.decline_code,
                latency_ms = result.latency_ms,
                request_id = ?request_id,
                "provider call finished"
            );
        });
        result
    }

    /// Runs one plan of a wire provider.
    async fn run(
        &self,
        account: &ConnectorAccount,
        wire: Wire,
        op: Operation,
        call: Call,
    ) -> (ProviderResult, Option<String>) {
        match call {
            Call::Answer(r) => (r, None),
            Call::Send { request, parse } => self.send(account, wire, op, request, parse).await,
            Call::SearchThenGet { request } => {
                let (found, request_id) = self
                    .send(account, wire, op, request, stripe::parse_response)
                    .await;
                // A single hit carries its id; re-read it, the indexed copy may be stale.
                let hit = found
                    .provider_reference
                    .clone()
                    .filter(|id| !id.is_empty() && found.http_status.is_some_and(|s| s < 300));
                let Some(id) = hit else {
                    return (found, request_id);
                };
                let get = stripe::retrieve_request(&RetrieveRequest {
                    provider_reference: Some(id),
                    idempotency_key: String::new(),
                    payment_id: String::new(),
                    original: None,
                });
                self.send(account, wire, op, get, stripe::parse_response)
                    .await
            }
        }
    }

    async fn simulate(
        &self,
        simulate: impl FnOnce(&Simulator) -> ProviderResult,
    ) -> ProviderResult {
        let latency = self.simulator.latency();
        let answer = simulate(&self.simulator);
        if latency > self.cfg.read_timeout {
            tokio::time::sleep(self.cfg.read_timeout).await;
            return ProviderResult::new(OutcomeClass::UnknownOutcome)
                .with_message("timed out after the request was sent (simulated latency)");
        }
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        answer
    }

    async fn send(
        &self,
        account: &ConnectorAccount,
        wire: Wire,
        op: Operation,
        req: HttpRequest,
        parse: fn(Operation, &HttpResponse) -> ProviderResult,
    ) -> (ProviderResult, Option<String>) {
        let url = format!("{}{}", account.base_url.trim_end_matches('/'), req.path);
        let url = match reqwest::Url::parse(&url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => u,
            Ok(_) | Err(_) => {
                let msg = "the connector's base URL is not a usable http(s) URL";
                return (failure(op, OutcomeClass::AuthConfigError, msg), None);
            }
        };
        let method = match req.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Delete => reqwest::Method::DELETE,
        };
        let key = account.api_key.expose_secret();
        let rb = self.client.request(method, url);
        let mut rb = match wire {
            Wire::Braintree => {
                // precheck guarantees "public:private".
                let (public, private) = key.split_once(':').unwrap_or((key, ""));
                rb.basic_auth(public, Some(private))
            }
            Wire::Stripe | Wire::Square | Wire::Mollie => rb.bearer_auth(key),
        };
        for (k, v) in &req.headers {
            rb = rb.header(k.as_str(), v.as_str());
        }
        match req.body.encode() {
            Ok(Some((content_type, bytes))) => {
                rb = rb
                    .header(reqwest::header::CONTENT_TYPE, content_type)
                    .body(bytes);
            }
            Ok(None) => {}
            Err(e) => {
                return (
                    failure(op, OutcomeClass::ValidationError, e.to_string()),
                    None,
                );
            }
        }
        let resp = match rb.send().await {
            Ok(r) => r,
            Err(e) => return (transport_failure(op, &e, None), None),
        };
        let status = resp.status().as_u16();
        let headers: Vec<(String, String)> = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let request_id = headers
            .iter()
            .find(|(k, _)| k == "request-id")
            .map(|(_, v)| v.clone());
        let body = match resp.bytes().await {
            Ok(b) => b.to_vec(),
            Err(e) => return (transport_failure(op, &e, Some(status)), request_id),
        };
        (
            parse(
                op,
                &HttpResponse {
                    status,
                    headers,
                    body,
                },
            ),
            request_id,
        )
    }
}

/// A failure found before or while sending. For a retrieve it is always `unknown_outcome`:
/// there `provider_unavailable` would mean "provably not charged", and a lookup that did not
/// happen proves nothing.
fn failure(op: Operation, class: OutcomeClass, message: impl Into<String>) -> ProviderResult {
    let message = message.into();
    match op {
        Operation::Retrieve => ProviderResult::new(OutcomeClass::UnknownOutcome)
            .with_message(format!("retrieve failed: {message}")),
        Operation::Authorize | Operation::Capture | Operation::Void | Operation::Refund => {
            ProviderResult::new(class).with_message(message)
        }
    }
}

/// The providers spoken over HTTP (everything but the simulator).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wire {
    Stripe,
    Square,
    Braintree,
    Mollie,
}

impl Wire {
    fn of(provider: Provider) -> Option<Wire> {
        match provider {
            Provider::Stripe => Some(Wire::Stripe),
            Provider::Square => Some(Wire::Square),
            Provider::Braintree => Some(Wire::Braintree),
            Provider::Mollie => Some(Wire::Mollie),
            Provider::Simulator => None,
        }
    }
}

/// Checks that need no call (module docs), per provider.
fn precheck(wire: Wire, account: &ConnectorAccount) -> Option<&'static str> {
    let key = account.api_key.expose_secret();
    if key.trim().is_empty() {
        return Some("no API key configured for this connector");
    }
    match wire {
        Wire::Stripe => stripe_precheck(account),
        Wire::Square => None,
        Wire::Braintree => match key.split_once(':') {
            Some((public, private)) if !public.is_empty() && !private.is_empty() => None,
            Some(_) | None => {
                Some("Braintree credentials must be \"public_key:private_key\" (INTERFACES.md §C)")
            }
        },
        Wire::Mollie => {
            let live = key.starts_with("live_");
            let test = key.starts_with("test_");
            if !(live || test || key.starts_with("access_")) {
                return Some("a Mollie API key starts with test_, live_ or access_");
            }
            match account.mode {
                Mode::Test if live => {
                    Some("a live Mollie API key is configured on a test-mode connector")
                }
                Mode::Live if test => {
                    Some("a test Mollie API key is configured on a live-mode connector")
                }
                Mode::Test | Mode::Live => None,
            }
        }
    }
}

/// Checks that need no call: an empty key, or a live key on a test connector (and the reverse).
fn stripe_precheck(account: &ConnectorAccount) -> Option<&'static str> {
    let key = account.api_key.expose_secret();
    let msg = if key.trim().is_empty() {
        "no API key configured for this connector"
    } else {
        let live = key.starts_with("sk_live_") || key.starts_with("rk_live_");
        let test = key.starts_with("sk_test_") || key.starts_with("rk_test_");
        match account.mode {
            Mode::Test if live => "a live-mode API key is configured on a test-mode connector",
            Mode::Live if test => "a test-mode API key is configured on a live-mode connector",
            Mode::Test | Mode::Live => return None,
        }
    };
    Some(msg)
}

fn transport_failure(op: Operation, e: &reqwest::Error, status: Option<u16>) -> ProviderResult {
    let (class, what) = if status.is_none() && e.is_connect() {
        (
            OutcomeClass::ProviderUnavailable,
            "could not connect to the provider; nothing was sent",
        )
    } else if e.is_builder() {
        (
            OutcomeClass::ValidationError,
            "the request could not be built",
        )
    } else if e.is_timeout() {
        (
            OutcomeClass::UnknownOutcome,
            "timed out after the request was sent",
        )
    } else {
        (
            OutcomeClass::UnknownOutcome,
            "the connection failed after the request was sent",
        )
    };
    let suffix = match (class, op.moves_money()) {
        (OutcomeClass::UnknownOutcome, true) => format!("; the {} may have happened", op.as_str()),
        _ => String::new(),
    };
    let mut r = failure(op, class, format!("{what}{suffix}: {}", error_chain(e)));
    r.http_status = status;
    r
}

/// The error and its sources, without the URL (which adds nothing and may be long).
fn error_chain(e: &reqwest::Error) -> String {
    let mut parts = Vec::new();
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = source {
        parts.push(s.to_string());
        source = s.source();
    }
    if parts.is_empty() {
        "transport error".to_owned()
    } else {
        parts.join(": ")
    }
}

/// Replaces every occurrence of the API key in the result's text fields.
fn scrub(r: &mut ProviderResult, key: &str) {
    if key.len() < 8 {
        return;
    }
    for field in [
        &mut r.provider_reference,
        &mut r.provider_status,
        &mut r.raw_code,
        &mut r.decline_code,
        &mut r.message,
        &mut r.next_action_url,
    ] {
        if let Some(s) = field.as_mut().filter(|s| s.contains(key)) {
            *s = s.replace(key, "[redacted]");
        }
    }
}
