//! Stripe PaymentIntents emulator (REFERENCE.md §1).
//!
//! Endpoints (form-encoded bodies, JSON answers shaped like `fixtures/stripe/`):
//! `POST /v1/payment_intents`, `GET /v1/payment_intents`, `GET /v1/payment_intents/search`,
//! `GET /v1/payment_intents/{id}`, `POST /v1/payment_intents/{id}/confirm|capture|cancel`,
//! `POST /v1/refunds`, `GET /v1/refunds/{id}`.
//!
//! Every request runs the same pipeline: authenticate (each `sk_test_…` key is its own
//! account) → outage window → route → `hang: before` → validate parameters (400s are not saved) →
//! `Idempotency-Key` (replay / mismatch / in use / claim) → process in a detached task (latency,
//! injected error, the operation; the response is saved under the key) → `hang: after` → answer.
//! Processing runs in its own task, so a client that times out does not cancel it: like the real
//! thing, a timeout after sending may still have charged.

pub mod cards;
pub(crate) mod events;
pub mod form;
pub mod model;
pub mod params;
pub mod search;
pub mod state;

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Extension, Router};
use serde_json::{Value, json};

use crate::faults::{ErrorPhase, HangMode, OutageKind};
use crate::stats::{Outcome, UNAUTHENTICATED};
use crate::{App, RequestId};
use form::Form;
use model::ApiError;
use params::Op;
use state::{Account, Claim, Ctx, DEFAULT_API_VERSION, Saved};

pub use state::StripeState;

/// The Stripe routes: the API under `/v1/` and the 3-D Secure page under `/_emulator/stripe/`.
pub(crate) fn routes() -> Router<Arc<App>> {
    Router::new().route("/v1/{*rest}", any(api)).route(
        "/_emulator/stripe/3ds/{id}",
        get(three_ds_page).post(three_ds_submit),
    )
}

#[derive(Debug)]
enum ReadRoute {
    ListIntents,
    SearchIntents,
    GetIntent(String),
    GetRefund(String),
}

#[derive(Debug)]
enum WriteRoute {
    CreateIntent,
    Confirm(String),
    Capture(String),
    Cancel(String),
    CreateRefund,
}

#[derive(Debug)]
enum Route {
    Read(ReadRoute),
    Write(WriteRoute),
}

fn route(method: &Method, path: &str) -> Option<Route> {
    let rest = path.strip_prefix("/v1/")?;
    let segs: Vec<&str> = rest.split('/').collect();
    let is_get = method == Method::GET;
    let is_post = method == Method::POST;
    let own = |s: &&str| (*s).to_owned();
    let r = match segs.as_slice() {
        ["payment_intents"] if is_post => Route::Write(WriteRoute::CreateIntent),
        ["payment_intents"] if is_get => Route::Read(ReadRoute::ListIntents),
        ["payment_intents", "search"] if is_get => Route::Read(ReadRoute::SearchIntents),
        ["payment_intents", id] if is_get && !id.is_empty() => {
            Route::Read(ReadRoute::GetIntent(own(id)))
        }
        ["payment_intents", id, "confirm"] if is_post => Route::Write(WriteRoute::Confirm(own(id))),
        ["payment_intents", id, "capture"] if is_post => Route::Write(WriteRoute::Capture(own(id))),
        ["payment_intents", id, "cancel"] if is_post => Route::Write(WriteRoute::Cancel(own(id))),
        ["refunds"] if is_post => Route::Write(WriteRoute::CreateRefund),
        ["refunds", id] if is_get && !id.is_empty() => Route::Read(ReadRoute::GetRefund(own(id))),
        _ => return None,
    };
    Some(r)
}

fn body_bytes(v: &Value) -> Bytes {
    Bytes::from(serde_json::to_vec(v).unwrap_or_default())
}

fn json_response(status: u16, body: Bytes, version: &str) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = HeaderValue::from_str(version) {
        h.insert("stripe-version", v);
    }
    resp
}

fn error_response(e: &ApiError, version: &str) -> Response {
    json_response(e.status, body_bytes(&e.body), version)
}

fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).ok()?);
        }
    }
    Some(out)
}

fn mask_key(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() <= 12 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..8].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 12))
}

/// `Authorization: Bearer sk_test_…` (or Basic with the key as user name) → the key.
fn authenticate(headers: &HeaderMap) -> Result<String, ApiError> {
    let missing = || {
        ApiError::unauthorized("You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.".into())
    };
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(missing());
    };
    let value = value.to_str().map_err(|_| missing())?.trim();
    let key = if let Some(k) = value.strip_prefix("Bearer ") {
        k.trim().to_owned()
    } else if let Some(b) = value.strip_prefix("Basic ") {
        let decoded = decode_base64(b.trim()).and_then(|d| String::from_utf8(d).ok());
        let Some(decoded) = decoded else {
            return Err(missing());
        };
        decoded.split(':').next().unwrap_or_default().to_owned()
    } else {
        return Err(missing());
    };
    if key.is_empty() {
        return Err(missing());
    }
    if key.len() > 8 && key.starts_with("sk_test_") {
        Ok(key)
    } else {
        Err(ApiError::unauthorized(format!(
            "Invalid API Key provided: {}",
            mask_key(&key)
        )))
    }
}

fn limit(form: &Form, rid: &str) -> Result<usize, ApiError> {
    match form.str("limit") {
        None => Ok(10),
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (1..=100).contains(&n) => Ok(n),
            _ => Err(ApiError::invalid_request(
                400,
                rid,
                "Invalid limit: must be an integer between 1 and 100",
                None,
                Some("limit"),
            )),
        },
    }
}

fn read(account: &Account, r: ReadRoute, uri: &Uri, ctx: &Ctx) -> Result<Value, ApiError> {
    let query = || {
        Form::parse(uri.query().unwrap_or("").as_bytes())
            .map_err(|e| ApiError::invalid_request(400, &ctx.rid, e.0, None, None))
    };
    match r {
        ReadRoute::GetIntent(id) => account.get_intent(&id, ctx),
        ReadRoute::GetRefund(id) => account.get_refund(&id, ctx),
        ReadRoute::ListIntents => {
            let q = query()?;
            let (data, has_more) = account.list(None, limit(&q, &ctx.rid)?);
            Ok(
                json!({"object": "list", "data": data, "has_more": has_more, "url": "/v1/payment_intents"}),
            )
        }
        ReadRoute::SearchIntents => {
            let q = query()?;
            let text = q
                .str("query")
                .filter(|s| !s.is_empty())
                .ok_or_else(|| ApiError::missing(&ctx.rid, "query"))?;
            let parsed = search::parse(text).map_err(|e| {
                ApiError::invalid_request(
                    400,
                    &ctx.rid,
                    format!("Invalid query: {e}"),
                    None,
                    Some("query"),
                )
            })?;
            let (data, has_more) = account.list(Some(&parsed), limit(&q, &ctx.rid)?);
            Ok(json!({
                "object": "search_result",
                "data": data,
                "has_more": has_more,
                "next_page": null,
                "url": "/v1/payment_intents/search"
            }))
        }
    }
}

fn validate(r: WriteRoute, form: &Form, rid: &str) -> Result<Op, ApiError> {
    match r {
        WriteRoute::CreateIntent => params::create(form, rid),
        WriteRoute::Confirm(id) => params::confirm(id, form, rid),
        WriteRoute::Capture(id) => params::capture(id, form, rid),
        WriteRoute::Cancel(id) => params::cancel(id, form, rid),
        WriteRoute::CreateRefund => params::refund(form, rid),
    }
}

fn result_parts(result: Result<Value, ApiError>) -> (u16, Bytes) {
    match result {
        Ok(v) => (200, body_bytes(&v)),
        Err(e) => (e.status, body_bytes(&e.body)),
    }
}

fn injected(status: u16) -> (u16, Bytes) {
    let e = ApiError::server(status);
    (e.status, body_bytes(&e.body))
}

fn set_header(resp: &mut Response, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().insert(name, v);
    }
}

/// The whole Stripe API pipeline (see the module docs).
async fn api(
    State(app): State<Arc<App>>,
    Extension(RequestId(rid)): Extension<RequestId>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let version_header = headers
        .get("stripe-version")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let missing_version = version_header.is_none();
    let version = version_header.unwrap_or_else(|| DEFAULT_API_VERSION.to_owned());

    let key = match authenticate(&headers) {
        Ok(k) => k,
        Err(e) => {
            app.stats.record(
                UNAUTHENTICATED,
                Outcome::Unauthorized,
                Some(401),
                missing_version,
            );
            let mut resp = error_response(&e, &version);
            set_header(&mut resp, "www-authenticate", "Bearer realm=\"Stripe\"");
            return resp;
        }
    };
    let record = |outcome: Outcome, status: Option<u16>| {
        app.stats.record(&key, outcome, status, missing_version);
    };

    let plan = app.faults.plan(&key, method.as_str());
    if let Some(kind) = plan.outage {
        record(Outcome::Outage, crate::pipeline::outage_status(kind));
        if kind == OutageKind::Hang {
            app.hold(plan.hang_duration).await;
        }
        return error_response(&ApiError::server(503), &version);
    }

    let Some(route) = route(&method, uri.path()) else {
        record(Outcome::ClientError, Some(404));
        let e = ApiError::invalid_request(
            404,
            &rid,
            format!(
                "Unrecognized request URL ({}: {}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.",
                method,
                uri.path()
            ),
            None,
            None,
        );
        return error_response(&e, &version);
    };

    let ctx = Ctx {
        rid,
        base_url: app.base_url.clone(),
        version,
    };
    let account = app.stripe.account(&key);

    let write = match route {
        Route::Read(r) => {
            app.hold(plan.latency).await;
            if let Some((status, _)) = plan.error {
                record(Outcome::InjectedError, Some(status));
                let (s, b) = injected(status);
                return json_response(s, b, &ctx.version);
            }
            let (status, bytes) = result_parts(read(&account, r, &uri, &ctx));
            record(Outcome::from_status(status), Some(status));
            return json_response(status, bytes, &ctx.version);
        }
        Route::Write(w) => w,
    };

    if plan.hang == Some(HangMode::Before) {
        record(Outcome::HangBefore, None);
        app.hold(plan.hang_duration).await;
        return error_response(&ApiError::server(503), &ctx.version);
    }

    let op = match Form::parse(&body)
        .map_err(|e| ApiError::invalid_request(400, &ctx.rid, e.0, None, None))
        .and_then(|form| {
            let mut h = DefaultHasher::new();
            uri.path().hash(&mut h);
            form.fingerprint().hash(&mut h);
            validate(write, &form, &ctx.rid).map(|op| (op, h.finish()))
        }) {
        Ok(v) => v,
        Err(e) => {
            record(Outcome::ClientError, Some(e.status));
            return error_response(&e, &ctx.version);
        }
    };
    let (op, fingerprint) = op;

    let idem_key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_owned);
    if let Some(k) = &idem_key {
        if k.len() > 255 {
            record(Outcome::ClientError, Some(400));
            let e = ApiError::invalid_request(
                400,
                &ctx.rid,
                "Keys for idempotent requests can be no longer than 255 characters.",
                None,
                None,
            );
            return error_response(&e, &ctx.version);
        }
        match account.claim(k, fingerprint) {
            Claim::Claimed => {}
            Claim::Replay(saved) => {
                app.hold(plan.latency).await;
                if plan.hang == Some(HangMode::After) {
                    record(Outcome::HangAfter, None);
                    app.hold(plan.hang_duration).await;
                } else {
                    record(Outcome::IdempotentReplay, Some(saved.status));
                }
                let mut resp = json_response(saved.status, saved.body, &ctx.version);
                set_header(&mut resp, "idempotent-replayed", "true");
                set_header(&mut resp, "original-request", &saved.request_id);
                set_header(&mut resp, "idempotency-key", k);
                return resp;
            }
            Claim::Mismatch => {
                record(Outcome::ClientError, Some(400));
                return error_response(&ApiError::idempotency_mismatch(k), &ctx.version);
            }
            Claim::InUse => {
                record(Outcome::IdempotencyConflict, Some(409));
                return error_response(&ApiError::idempotency_in_use(), &ctx.version);
            }
        }
    }

    // Process in a detached task: a client that gives up does not stop the charge.
    let task = {
        let app = app.clone();
        let ctx = ctx.clone();
        let idem_key = idem_key.clone();
        let plan = plan.clone();
        let key = key.clone();
        tokio::spawn(async move {
            app.hold(plan.latency).await;
            let (status, bytes, was_injected) = match plan.error {
                Some((s, ErrorPhase::Before)) => {
                    let (s, b) = injected(s);
                    (s, b, true)
                }
                Some((s, ErrorPhase::After)) => {
                    // The operation happens (and its webhooks go out); its answer is lost.
                    let (ls, lb) = result_parts(account.execute(op, plan.decline.as_deref(), &ctx));
                    events::announce(&app, &key, ls, &lb);
                    let (s, b) = injected(s);
                    (s, b, true)
                }
                None => {
                    let (s, b) = result_parts(account.execute(op, plan.decline.as_deref(), &ctx));
                    events::announce(&app, &key, s, &b);
                    (s, b, false)
                }
            };
            if let Some(k) = idem_key {
                account.save(
                    &k,
                    fingerprint,
                    Saved {
                        status,
                        body: bytes.clone(),
                        request_id: ctx.rid.clone(),
                    },
                );
            }
            (status, bytes, was_injected)
        })
    };
    let (status, bytes, was_injected) = match task.await {
        Ok(v) => v,
        Err(_) => {
            let (s, b) = injected(500);
            (s, b, true)
        }
    };

    let hang_after = plan.hang == Some(HangMode::After);
    let (outcome, recorded) = crate::pipeline::finished_stat(
        hang_after,
        was_injected,
        Outcome::from_status(status),
        status,
    );
    record(outcome, recorded);
    if hang_after {
        app.hold(plan.hang_duration).await;
    }
    let mut resp = json_response(status, bytes, &ctx.version);
    if let Some(k) = &idem_key {
        set_header(&mut resp, "idempotency-key", k);
    }
    resp
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `GET /_emulator/stripe/3ds/{id}`: a page with "Complete" and "Fail" buttons.
async fn three_ds_page(Path(id): Path<String>) -> Response {
    let id = html_escape(&id);
    let page = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>3D Secure (emulator)</title></head>\
<body style=\"font-family:sans-serif;max-width:32em;margin:3em auto\">\
<h1>3D Secure test page</h1><p>PaymentIntent <code>{id}</code> needs authentication.</p>\
<form method=\"post\"><button name=\"result\" value=\"succeed\">Complete authentication</button> \
<button name=\"result\" value=\"fail\">Fail authentication</button></form></body></html>"
    );
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response()
}

/// `POST /_emulator/stripe/3ds/{id}` with `result=succeed|fail` (form body or query): completes
/// or fails 3-D Secure. Redirects (303) to the PaymentIntent's `return_url` if it has one,
/// otherwise answers the PaymentIntent as JSON.
async fn three_ds_submit(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    uri: Uri,
    body: Bytes,
) -> Response {
    let bad = |status: StatusCode, message: String| {
        (
            status,
            axum::Json(json!({"error": {"message": message, "type": "invalid_request_error"}})),
        )
            .into_response()
    };
    let from_body = Form::parse(&body).ok();
    let from_query = Form::parse(uri.query().unwrap_or("").as_bytes()).ok();
    let result = from_body
        .as_ref()
        .and_then(|f| f.str("result").map(str::to_owned))
        .or_else(|| {
            from_query
                .as_ref()
                .and_then(|f| f.str("result").map(str::to_owned))
        })
        .unwrap_or_else(|| "succeed".to_owned());
    let succeed = match result.as_str() {
        "succeed" | "success" | "complete" => true,
        "fail" | "failure" => false,
        other => {
            return bad(
                StatusCode::BAD_REQUEST,
                format!("result must be succeed or fail, not {other:?}"),
            );
        }
    };
    let Some(account) = app.stripe.find_intent(&id) else {
        return bad(
            StatusCode::NOT_FOUND,
            format!("No such payment_intent: '{id}'"),
        );
    };
    match account.complete_3ds(&id, succeed) {
        Err(message) => bad(StatusCode::BAD_REQUEST, message),
        Ok(pi) => {
            if let Some(key) = app.stripe.find_intent_key(&id) {
                let body = serde_json::to_vec(&pi.to_json()).unwrap_or_default();
                events::announce(&app, &key, 200, &body);
            }
            match &pi.return_url {
                Some(url) => {
                    let sep = if url.contains('?') { '&' } else { '?' };
                    let location = format!(
                        "{url}{sep}payment_intent={}&payment_intent_client_secret={}&redirect_status={}",
                        pi.id,
                        pi.client_secret,
                        if succeed { "succeeded" } else { "failed" }
                    );
                    let mut resp = StatusCode::SEE_OTHER.into_response();
                    set_header(&mut resp, "location", &location);
                    resp
                }
                None => axum::Json(pi.to_json()).into_response(),
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_and_masking() {
        let mut h = HeaderMap::new();
        // base64("sk_test_abc123:")
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic c2tfdGVzdF9hYmMxMjM6"),
        );
        assert_eq!(authenticate(&h).unwrap(), "sk_test_abc123");
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer sk_live_123456781234"),
        );
        let e = authenticate(&h).unwrap_err();
        assert_eq!(e.status, 401);
        assert_eq!(
            e.body["error"]["message"],
            "Invalid API Key provided: sk_live_********1234"
        );
        assert!(e.body["error"].get("code").is_none());
    }

    #[test]
    fn routes_parse() {
        assert!(matches!(
            route(&Method::GET, "/v1/payment_intents/search"),
            Some(Route::Read(ReadRoute::SearchIntents))
        ));
        assert!(matches!(
            route(&Method::POST, "/v1/payment_intents/pi_1/capture"),
            Some(Route::Write(WriteRoute::Capture(id))) if id == "pi_1"
        ));
        assert!(route(&Method::DELETE, "/v1/payment_intents").is_none());
        assert!(route(&Method::GET, "/v1/customers").is_none());
    }
}
