//! The request pipeline shared by the Square, Braintree and Mollie modules (Stripe keeps its own in
//! [`crate::stripe`], with the same steps): outage → reads (latency, injected error) | writes
//! (`hang: before` → idempotency claim → processing in a detached task with latency and injected
//! errors → `hang: after`). Each provider supplies its own error bodies through [`Provider`].
//!
//! Differences from Stripe, chosen to match what the other providers document: injected 5xx are
//! **not** saved under the idempotency key (Square: "TEMPORARY_ERROR … you can safely retry using
//! the same idempotency key"; Braintree: a repeated `apiRequestKey` returns the transaction in its
//! current status). After an `error_phase: after` fault the key holds the *real* answer of the
//! operation that did happen, so a retry with the same key gets it (and charges nothing new);
//! after `error_phase: before` the key is released.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::App;
use crate::faults::{ErrorPhase, HangMode, OutageKind};
use crate::stats::{Outcome, UNAUTHENTICATED};

/// One answer: status, body bytes, content type and extra headers.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Exact body bytes.
    pub body: Bytes,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// Extra headers.
    pub headers: Vec<(&'static str, String)>,
    /// Counted as a decline in the stats (Braintree declines are HTTP 200).
    pub is_decline: bool,
}

impl Reply {
    /// A JSON answer.
    pub fn json(status: u16, v: &Value) -> Self {
        Self {
            status,
            body: Bytes::from(serde_json::to_vec(v).unwrap_or_default()),
            content_type: "application/json",
            headers: Vec::new(),
            is_decline: false,
        }
    }

    /// Sets the content type.
    #[must_use]
    pub fn with_type(mut self, content_type: &'static str) -> Self {
        self.content_type = content_type;
        self
    }

    /// Marks the answer as a decline for the stats.
    #[must_use]
    pub fn declined(mut self) -> Self {
        self.is_decline = true;
        self
    }

    /// The axum response.
    pub fn into_response(self) -> Response {
        let mut resp = Response::new(Body::from(self.body));
        *resp.status_mut() =
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(self.content_type),
        );
        for (name, value) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                h.insert(name, v);
            }
        }
        resp
    }

    fn outcome(&self) -> Outcome {
        if self.is_decline {
            Outcome::Declined
        } else {
            Outcome::from_status(self.status)
        }
    }
}

/// Which provider's error bodies to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// Square Payments API v2.
    Square,
    /// Braintree GraphQL.
    Braintree,
    /// Mollie Payments API v2.
    Mollie,
}

/// Square's `errors[]` envelope with one error.
pub fn square_error(
    status: u16,
    category: &str,
    code: &str,
    detail: &str,
    field: Option<&str>,
) -> Reply {
    let mut e = json!({"category": category, "code": code, "detail": detail});
    if let Some(f) = field {
        e["field"] = json!(f);
    }
    Reply::json(status, &json!({ "errors": [e] }))
}

/// Braintree GraphQL `errors[]` envelope with one error (no `data`).
pub fn braintree_error(status: u16, error_class: &str, message: &str) -> Reply {
    Reply::json(
        status,
        &json!({
            "errors": [{"message": message, "extensions": {"errorClass": error_class}}],
            "extensions": {"requestId": uuid_v4()}
        }),
    )
}

/// Mollie's problem envelope (`application/hal+json`).
pub fn mollie_error(status: u16, detail: &str, field: Option<&str>) -> Reply {
    let title = match status {
        400 => "Bad Request",
        401 => "Unauthorized Request",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Internal Server Error",
    };
    let mut v = json!({
        "status": status,
        "title": title,
        "detail": detail,
        "_links": {"documentation": {"href": "https://docs.mollie.com/overview/handling-errors", "type": "text/html"}}
    });
    if let Some(f) = field {
        v["field"] = json!(f);
    }
    Reply::json(status, &v).with_type("application/hal+json")
}

impl Provider {
    /// The provider's own 5xx body for an injected error or outage (fixtures
    /// `square/error_internal_server_error_500.json`, `square/error_service_unavailable_503.json`,
    /// `braintree/graphql_error_internal.json`, `mollie/error_create_payment_503.json`).
    pub fn server_error(self, status: u16) -> Reply {
        match self {
            Provider::Square => {
                let (code, detail) = match status {
                    502 => ("BAD_GATEWAY", "Bad gateway."),
                    503 => ("SERVICE_UNAVAILABLE", "Service unavailable."),
                    504 => ("GATEWAY_TIMEOUT", "Gateway timeout."),
                    _ => (
                        "INTERNAL_SERVER_ERROR",
                        "An internal error has occurred, and the API was unable to service your request.",
                    ),
                };
                square_error(status, "API_ERROR", code, detail, None)
            }
            Provider::Braintree => match status {
                503 => braintree_error(status, "SERVICE_AVAILABILITY", "Service unavailable."),
                _ => braintree_error(status, "INTERNAL", "An internal error occurred."),
            },
            Provider::Mollie => match status {
                503 => mollie_error(
                    status,
                    "Payment platform for this payment method temporarily not available",
                    None,
                ),
                _ => mollie_error(
                    status,
                    "An internal server error occurred while processing your request",
                    None,
                ),
            },
        }
    }

    fn idempotency_mismatch(self) -> Reply {
        match self {
            Provider::Square => square_error(
                400,
                "INVALID_REQUEST_ERROR",
                "IDEMPOTENCY_KEY_REUSED",
                "The idempotency key can only be retried with the same request data.",
                Some("idempotency_key"),
            ),
            Provider::Braintree => braintree_error(
                200,
                "VALIDATION",
                "apiRequestKey has already been used with different input.",
            ),
            Provider::Mollie => mollie_error(
                400,
                "The Idempotency-Key has already been used for a different request.",
                None,
            ),
        }
    }

    fn idempotency_in_use(self) -> Reply {
        match self {
            Provider::Square => square_error(
                409,
                "INVALID_REQUEST_ERROR",
                "CONFLICT",
                "A request with this idempotency key is still being processed.",
                Some("idempotency_key"),
            ),
            Provider::Braintree => braintree_error(
                200,
                "VALIDATION",
                "A request with this apiRequestKey is still being processed.",
            ),
            Provider::Mollie => mollie_error(
                409,
                "A request with this Idempotency-Key is already being processed.",
                None,
            ),
        }
    }

    fn replay_headers(self, reply: &mut Reply) {
        match self {
            Provider::Mollie => reply
                .headers
                .push(("idempotent-replayed", "true".to_owned())),
            Provider::Square | Provider::Braintree => {}
        }
    }
}

/// An idempotency key presented with a write: the key, the scope it lives in (the endpoint path)
/// and the request it must match.
#[derive(Debug, Clone)]
pub struct Idem {
    /// The key.
    pub key: String,
    /// The endpoint (keys are per endpoint).
    pub scope: String,
    /// The request data; a replay must carry equal data.
    pub request: Value,
}

#[derive(Debug)]
enum Entry {
    InFlight(Value),
    Done(Value, Reply),
}

enum Claim {
    Claimed,
    Replay(Reply),
    Mismatch,
    InUse,
}

/// Saved answers per (credential, scope, key).
#[derive(Debug, Default)]
pub struct IdemStore {
    map: Mutex<HashMap<(String, String, String), Entry>>,
}

impl IdemStore {
    fn claim(&self, account: &str, idem: &Idem) -> Claim {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        let k = (account.to_owned(), idem.scope.clone(), idem.key.clone());
        match map.get(&k) {
            None => {
                map.insert(k, Entry::InFlight(idem.request.clone()));
                Claim::Claimed
            }
            Some(Entry::InFlight(req)) if *req == idem.request => Claim::InUse,
            Some(Entry::Done(req, saved)) if *req == idem.request => Claim::Replay(saved.clone()),
            Some(Entry::InFlight(_) | Entry::Done(..)) => Claim::Mismatch,
        }
    }

    fn finish(&self, account: &str, idem: &Idem, reply: Option<&Reply>) {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        let k = (account.to_owned(), idem.scope.clone(), idem.key.clone());
        match reply {
            Some(r) => {
                map.insert(k, Entry::Done(idem.request.clone(), r.clone()));
            }
            None => {
                map.remove(&k);
            }
        }
    }
}

/// A processing step: gets the forced decline code (from the fault plan), returns the answer.
pub type Op = Box<dyn FnOnce(Option<String>) -> Reply + Send + 'static>;

/// Runs one authenticated request of `account` (the credential) through the faults, the
/// idempotency store (`idem`, writes only) and `op`.
pub(crate) async fn run(
    app: &Arc<App>,
    provider: Provider,
    account: &str,
    method: &str,
    write: bool,
    idem: Option<Idem>,
    op: Op,
) -> Reply {
    let record = |outcome: Outcome, status: Option<u16>| {
        app.stats.record(account, outcome, status, false);
    };
    let plan = app.faults.plan(account, method);
    if let Some(kind) = plan.outage {
        record(Outcome::Outage, outage_status(kind));
        if kind == OutageKind::Hang {
            app.hold(plan.hang_duration).await;
        }
        return provider.server_error(503);
    }
    if !write {
        app.hold(plan.latency).await;
        if let Some((status, _)) = plan.error {
            record(Outcome::InjectedError, Some(status));
            return provider.server_error(status);
        }
        let reply = op(None);
        record(reply.outcome(), Some(reply.status));
        return reply;
    }
    if plan.hang == Some(HangMode::Before) {
        record(Outcome::HangBefore, None);
        app.hold(plan.hang_duration).await;
        return provider.server_error(503);
    }
    if let Some(idem) = &idem {
        match app.idempotency.claim(account, idem) {
            Claim::Claimed => {}
            Claim::Replay(mut saved) => {
                app.hold(plan.latency).await;
                if plan.hang == Some(HangMode::After) {
                    record(Outcome::HangAfter, None);
                    app.hold(plan.hang_duration).await;
                } else {
                    record(Outcome::IdempotentReplay, Some(saved.status));
                }
                provider.replay_headers(&mut saved);
                return saved;
            }
            Claim::Mismatch => {
                let r = provider.idempotency_mismatch();
                record(Outcome::ClientError, Some(r.status));
                return r;
            }
            Claim::InUse => {
                let r = provider.idempotency_in_use();
                record(Outcome::IdempotencyConflict, Some(r.status));
                return r;
            }
        }
    }
    // Process in a detached task: a client that gives up does not stop the charge.
    let task = {
        let app = app.clone();
        let account = account.to_owned();
        let plan = plan.clone();
        let idem = idem.clone();
        tokio::spawn(async move {
            app.hold(plan.latency).await;
            // (answer sent, answer saved under the key)
            let (reply, saved, injected) = match plan.error {
                Some((s, ErrorPhase::Before)) => (provider.server_error(s), None, true),
                Some((s, ErrorPhase::After)) => {
                    // Processed; the answer is lost, but a retry with the key gets it.
                    let real = op(plan.decline.clone());
                    (provider.server_error(s), Some(real), true)
                }
                None => {
                    let real = op(plan.decline.clone());
                    (real.clone(), Some(real), false)
                }
            };
            if let Some(idem) = &idem {
                app.idempotency.finish(&account, idem, saved.as_ref());
            }
            (reply, injected)
        })
    };
    let (reply, injected) = match task.await {
        Ok(v) => v,
        Err(_) => (provider.server_error(500), true),
    };
    let hang_after = plan.hang == Some(HangMode::After);
    let (outcome, status) = finished_stat(hang_after, injected, reply.outcome(), reply.status);
    record(outcome, status);
    if hang_after {
        app.hold(plan.hang_duration).await;
    }
    reply
}

/// The HTTP status the stats record for an outage of `kind`: 503 for `Error`; none for `Hang`
/// (the request is held for the hang duration first, so no status is counted for it).
pub(crate) fn outage_status(kind: OutageKind) -> Option<u16> {
    match kind {
        OutageKind::Error => Some(503),
        OutageKind::Hang => None,
    }
}

/// The stats entry (outcome, HTTP status) for a request that ran to its end: a hang-after fault
/// records `HangAfter` with no status (the client never sees one); an injected error records
/// `InjectedError` with its `status`; otherwise the reply's own `outcome` and `status`.
/// Shared by the Stripe front and [`run`] (Square, Braintree, Mollie).
pub(crate) fn finished_stat(
    hang_after: bool,
    injected: bool,
    outcome: Outcome,
    status: u16,
) -> (Outcome, Option<u16>) {
    if hang_after {
        (Outcome::HangAfter, None)
    } else if injected {
        (Outcome::InjectedError, Some(status))
    } else {
        (outcome, Some(status))
    }
}

/// The credential of the `Authorization` header for `scheme` (`"Bearer"`, `"Basic"`): the
/// trimmed text after `"<scheme> "`; `None` when the header is missing, not visible ASCII or of
/// another scheme. Each provider then checks the credential's own shape.
pub(crate) fn auth_credential<'a>(headers: &'a HeaderMap, scheme: &str) -> Option<&'a str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    Some(v.strip_prefix(scheme)?.strip_prefix(' ')?.trim())
}

/// Records an unauthenticated request (stats account `UNAUTHENTICATED`, 401) and answers with the
/// provider's own 401 `reply`.
pub(crate) fn unauthenticated(app: &App, reply: Reply) -> Response {
    app.stats
        .record(UNAUTHENTICATED, Outcome::Unauthorized, Some(401), false);
    reply.into_response()
}

/// Records a request refused before it reached the provider logic (unknown route, malformed
/// body) as a client error of `account` with the reply's own status, and answers with `reply`.
pub(crate) fn client_error(app: &App, account: &str, reply: Reply) -> Response {
    app.stats
        .record(account, Outcome::ClientError, Some(reply.status), false);
    reply.into_response()
}

/// The per-credential state of `key` in `accounts`, created empty (`T::default()`) on first use.
/// Every provider keeps one such map keyed by its credential (API key, access token, key pair);
/// a poisoned lock is recovered, never panicked on.
pub(crate) fn account_of<T: Default>(
    accounts: &RwLock<HashMap<String, Arc<T>>>,
    key: &str,
) -> Arc<T> {
    if let Some(a) = accounts
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(key)
    {
        return a.clone();
    }
    accounts
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .entry(key.to_owned())
        .or_default()
        .clone()
}

/// Now, UTC.
pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// `2021-10-13T21:14:29.577Z` (Square).
pub fn ts_millis(t: OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// `2026-11-21T14:00:00.000000Z` (Braintree GraphQL).
pub fn ts_micros(t: OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

/// `2021-12-14T12:53:25+00:00` (Mollie).
pub fn ts_seconds(t: OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+00:00",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// A random UUID v4 string (Square event ids, Braintree request ids).
pub fn uuid_v4() -> String {
    let b: [u8; 16] = rand::random();
    let mut b = b;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// `len` random characters from `alphabet`.
pub fn rand_from(alphabet: &[u8], len: usize) -> String {
    (0..len)
        .map(|_| {
            let i = rand::random_range(0..alphabet.len());
            char::from(alphabet[i])
        })
        .collect()
}

/// Base-62 alphabet.
pub const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Decimal places of an ISO 4217 currency as payment providers use them: 0 for zero-decimal
/// currencies, 3 for BHD/JOD/KWD/OMR/TND, 2 otherwise.
pub fn currency_exponent(currency: &str) -> u32 {
    match currency.to_ascii_uppercase().as_str() {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX"
        | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "JOD" | "KWD" | "OMR" | "TND" => 3,
        _ => 2,
    }
}

/// Parses a decimal amount string with at most `max_decimals` digits after the point (exactly
/// `exact` digits when `exact` is set) into minor units. `None` if malformed.
pub fn parse_decimal(s: &str, decimals: u32, exact: bool) -> Option<i64> {
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) || (s.contains('.') && frac.is_empty()) {
        return None;
    }
    let flen = u32::try_from(frac.len()).ok()?;
    if (exact && flen != decimals) || flen > decimals {
        return None;
    }
    let whole: i64 = int.parse().ok()?;
    let frac_v: i64 = if frac.is_empty() {
        0
    } else {
        frac.parse().ok()?
    };
    let scale = 10_i64.checked_pow(decimals)?;
    let frac_scale = 10_i64.checked_pow(decimals - flen)?;
    whole.checked_mul(scale)?.checked_add(frac_v * frac_scale)
}

/// Formats minor units as a decimal string with `decimals` places (`2000, 2` → `"20.00"`).
pub fn format_decimal(minor: i64, decimals: u32) -> String {
    if decimals == 0 {
        return minor.to_string();
    }
    let scale = 10_i64.pow(decimals);
    let sign = if minor < 0 { "-" } else { "" };
    let m = minor.abs();
    format!(
        "{sign}{}.{:0width$}",
        m / scale,
        m % scale,
        width = decimals as usize
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn finished_stat_prefers_hang_after_then_injected_then_the_reply() {
        assert_eq!(
            finished_stat(true, true, Outcome::Ok, 500),
            (Outcome::HangAfter, None)
        );
        assert_eq!(
            finished_stat(false, true, Outcome::Ok, 502),
            (Outcome::InjectedError, Some(502))
        );
        assert_eq!(
            finished_stat(false, false, Outcome::Declined, 402),
            (Outcome::Declined, Some(402))
        );
    }

    #[test]
    fn decimals() {
        assert_eq!(parse_decimal("20.00", 2, true), Some(2000));
        assert_eq!(parse_decimal("20.0", 2, true), None);
        assert_eq!(parse_decimal("20.0", 2, false), Some(2000));
        assert_eq!(parse_decimal("1000", 0, true), Some(1000));
        assert_eq!(parse_decimal("10.", 2, false), None);
        assert_eq!(parse_decimal("-1.00", 2, true), None);
        assert_eq!(parse_decimal("1.234", 2, false), None);
        assert_eq!(format_decimal(2000, 2), "20.00");
        assert_eq!(format_decimal(5, 3), "0.005");
        assert_eq!(format_decimal(1000, 0), "1000");
    }

    #[test]
    fn timestamps() {
        let t = time::macros::datetime!(2026-11-21 14:00:00.5 UTC);
        assert_eq!(ts_millis(t), "2026-11-21T14:00:00.500Z");
        assert_eq!(ts_micros(t), "2026-11-21T14:00:00.500000Z");
        assert_eq!(ts_seconds(t), "2026-11-21T14:00:00+00:00");
        let t0 = time::macros::datetime!(2026-11-21 14:00:00 UTC);
        assert_eq!(ts_millis(t0), "2026-11-21T14:00:00.000Z");
        assert_eq!(uuid_v4().len(), 36);
    }
}
