//! Local HTTP servers speaking payment providers' wire formats, with scriptable faults.
//!
//! For tests, the demo and load tests: **never** used in production paths. One server speaks four
//! providers, each under its own prefix (INTERFACES.md §B): Stripe PaymentIntents at the root
//! ([`stripe`], `{base}/v1/…`), Square Payments API v2 ([`square`], `{base}/square/v2/…`),
//! Braintree GraphQL ([`braintree`], `{base}/braintree/graphql`) and Mollie Payments API v2
//! ([`mollie`], `{base}/mollie/v2/…`). All four share the fault machinery ([`faults`], keyed by the
//! credential each provider authenticates with), the counters ([`stats`]) and signed webhooks
//! ([`webhooks`]). Accessors: [`Emulator::stripe_base_url`] (= [`Emulator::base_url`]),
//! [`Emulator::square_base_url`], [`Emulator::braintree_base_url`], [`Emulator::mollie_base_url`].
//!
//! # In process
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use psp_emulator::faults::{FaultSpec, HangMode};
//! let emu = psp_emulator::spawn("127.0.0.1:0".parse().unwrap()).await?;
//! let stripe_base = emu.base_url(); // e.g. http://127.0.0.1:40123 ; POST {base}/v1/payment_intents
//! emu.faults().set(FaultSpec::for_key("sk_test_a").hang(HangMode::After)).unwrap();
//! emu.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # Stripe
//! Any `Authorization: Bearer sk_test_…` key is accepted, and each key is its own account (a
//! PaymentIntent created with one key is a 404 for another). Outcomes follow Stripe's test
//! PaymentMethods (`pm_card_visa`, `pm_card_visa_chargeDeclinedInsufficientFunds`,
//! `pm_card_threeDSecure2Required`, …; see [`stripe::cards`]). **Emulator extension:**
//! `pm_card_doNotHonor` declines with `do_not_honor` (Stripe has no test card for it).
//! Amounts are in the currency's minor unit (zero-decimal currencies such as `jpy`/`krw` as is).
//! The three-decimal currencies `bhd`, `jod`, `kwd`, `omr`, `tnd` need amounts that are a multiple
//! of 10 (<https://docs.stripe.com/currencies#three-decimal>); others get 400
//! `invalid_request_error` with `param` `amount` (or `amount_to_capture` on a capture).
//! `Idempotency-Key` follows Stripe's v1 rules: replay with `Idempotent-Replayed: true` (saved 500s
//! included), `idempotency_error` (400) for other parameters, `idempotency_key_in_use` (409) while
//! the first request is in flight. As on Stripe, the response is saved once processing ends, so
//! after a `hang: after` the key already replays the saved answer while the first request is
//! still being held (only its HTTP answer is withheld). Every response carries `Request-Id: req_…`. Requests without
//! `Stripe-Version` are accepted (and counted); they get the behaviour of the current version, so a
//! confirming create needs `payment_method_types[]=card`, or
//! `automatic_payment_methods[enabled]=true&automatic_payment_methods[allow_redirects]=never`, or a
//! `return_url` — as on the real API since 2023-08-16. 3-D Secure cards answer `requires_action` with
//! `next_action.redirect_to_url.url` pointing at `/_emulator/stripe/3ds/{pi}` on the emulator: `GET`
//! shows a page, `POST result=succeed|fail` completes or fails authentication.
//!
//! # Square (REFERENCE.md §2; `{base}/square`)
//! `Authorization: Bearer <token>`: any non-empty token is its own seller account (and the fault /
//! webhook key). JSON bodies; `idempotency_key` (1–45 chars) in the body of CreatePayment and
//! RefundPayment: the same key with the same body replays the saved answer byte for byte, another
//! body gets 400 `IDEMPOTENCY_KEY_REUSED`, a key still in flight 409 `CONFLICT`. Currencies:
//! USD, CAD, GBP, EUR, JPY, AUD (amounts in minor units); others 400 `INVALID_VALUE`.
//! `autocomplete=false` answers `APPROVED` (complete / cancel later); refunds answer `PENDING` and
//! are `COMPLETED` on `GET /v2/refunds/{id}`. `POST /v2/payments/cancel` voids the `APPROVED`
//! payment created with that idempotency key and answers `{}` (also when there is none).
//!
//! | `source_id` | answer |
//! |---|---|
//! | `cnon:card-nonce-ok`, `ccof:…`, `cnon:gift-card-nonce-ok`, `bnon:bank-nonce-ok`, `CASH`, `EXTERNAL` | 200, `COMPLETED` (or `APPROVED`) |
//! | `cnon:card-nonce-declined` | 402 `GENERIC_DECLINE` + `payment.status=FAILED` |
//! | `cnon:card-nonce-rejected-cvv` | 402 `CVV_FAILURE` + FAILED payment |
//! | `cnon:card-nonce-rejected-postalcode` | 402 `ADDRESS_VERIFICATION_FAILURE` + FAILED payment |
//! | `cnon:gift-card-nonce-insufficient-funds` | 402 `INSUFFICIENT_FUNDS` + FAILED payment |
//! | `cnon:gift-card-nonce-insufficient-permission` | 402 `CARDHOLDER_INSUFFICIENT_PERMISSIONS` |
//! | `cnon:card-nonce-rejected-expiration` | 400 `INVALID_EXPIRATION` (no payment) |
//! | `cnon:card-nonce-already-used` | 400 `CARD_TOKEN_USED` (no payment) |
//! | **emulator extensions**: `cnon:emu-insufficient-funds`, `cnon:emu-call-issuer`, `cnon:emu-verification-required` | 402 `INSUFFICIENT_FUNDS` / `CARD_DECLINED_CALL_ISSUER` / `CARD_DECLINED_VERIFICATION_REQUIRED` |
//! | anything else | 400 `INVALID_CARD_DATA` (field `source_id`) |
//!
//! # Braintree GraphQL (REFERENCE.md §3; `{base}/braintree/graphql`)
//! HTTP Basic `public_key:private_key`; the whole `"public:private"` string is the account (fault /
//! webhook key). The operation is the first known field in `query`; arguments come **only** from
//! `variables` (`variables.input` for mutations, `variables.id` for `node`,
//! `variables.input.orderId.is` for `search`); answers carry the whole transaction whatever the
//! selection set. Declines and validation errors are HTTP 200 with `errors[]`
//! (`extensions.errorClass`, `legacyCode`, and for declines `declineType` HARD/SOFT) and
//! `data.<op> = null`. `apiRequestKey` (in `input`): the same key and input return the same
//! transaction in its *current* status; other input → `VALIDATION`. Amounts are decimal strings;
//! the currency is USD unless `transaction.merchantAccountId` ends in `_<iso>` (`acct_eur`). A
//! refund needs a `SETTLED` transaction (91506 otherwise, as in the sandbox): settle with
//! [`Emulator::braintree_settle`] / `POST /_emulator/braintree/transactions/{id}/settle`, or
//! [`Emulator::send_webhook`]`(creds, "transaction_settled", id)`. `reverseTransaction` voids
//! `AUTHORIZED`/`SUBMITTED_FOR_SETTLEMENT` and refunds `SETTLED`.
//!
//! | input | answer |
//! |---|---|
//! | `fake-valid-nonce` (and any `fake-…nonce` not below, `tokencc_…`) | approved, subject to the amount rule |
//! | amount 2000.00–2999.99 | processor declined, `legacyCode` = the amount (2001.00 → `2001`) |
//! | amount 3000.00–3000.99, or `fake-processor-failure-jcb-nonce` | `legacyCode` `3000`, status `FAILED` |
//! | amount 5001.00 | gateway rejected `application_incomplete` |
//! | `fake-processor-declined-*-nonce` | `2000` |
//! | `fake-gateway-rejected-fraud-nonce` / `fake-gateway-rejected-risk-thresholds-nonce` | gateway rejected, `extensions.gatewayRejectionReason` `FRAUD` / `RISK_THRESHOLD` (no `legacyCode`) |
//! | `fake-consumed-nonce` / `fake-luhn-invalid-nonce` | `91564` / `81715` |
//! | any other nonce | `91565` Unknown or expired payment_method_nonce |
//!
//! # Mollie (REFERENCE.md §4; `{base}/mollie`)
//! `Authorization: Bearer test_…|live_…|access_…`. Bodies JSON, answers `application/hal+json`.
//! `amount.value` must have exactly the currency's decimals (`"10.00"` EUR, `"1000"` JPY), else 422
//! with `field` `amount.value`; BHD/JOD/KWD/OMR/TND and other unsupported currencies 422
//! `amount.currency`; `description` and (unless `sequenceType=recurring`) `redirectUrl` are
//! required. `Idempotency-Key` on POST: replay with `Idempotent-Replayed: true`, 400 for other
//! parameters, 409 while in flight. A payment is created `open` (201, `_links.checkout` → an
//! emulator test checkout page) and moves to its final status **asynchronously**, then its
//! webhook goes out:
//!
//! | input | final status | after |
//! |---|---|---|
//! | (default) | `paid`, or `authorized` with `captureMode: manual` | 50 ms |
//! | amount 1001.00 … 1011.00 (Mollie's magic amounts) | `failed`, `details.failureReason` = invalid_card_number, invalid_cvv, invalid_card_holder_name, card_expired, invalid_card_type, refused_by_issuer, insufficient_funds, inactive_card, possible_fraud, authentication_failed, card_declined | 50 ms |
//! | description marker `[emu:status=paid\|failed\|canceled\|expired\|authorized\|pending\|open]` (`open` = until forced) | that status | 50 ms |
//! | description marker `[emu:delay_ms=N]` | – | N ms |
//! | fault `decline_code` | `failed` with that `failureReason` | 50 ms |
//!
//! Force a status any time before it is final: [`Emulator::mollie_set_status`] or
//! `POST /_emulator/mollie/payments/{id}/status {"status": "failed", "failure_reason": "card_expired"}`.
//!
//! # Faults for every provider
//! The same [`faults::FaultSpec`] applies per credential (Stripe `sk_test_…`, Square token,
//! Braintree `"public:private"`, Mollie key) with the provider's own error bodies (Square
//! `errors[]` `API_ERROR`/`INTERNAL_SERVER_ERROR`|`SERVICE_UNAVAILABLE`, Braintree
//! `INTERNAL`|`SERVICE_AVAILABILITY`, Mollie `{status,title,detail}`). Braintree reads (`node`,
//! `search`) count as GET. Unlike Stripe, Square/Braintree/Mollie do not save injected 5xx under
//! the idempotency key: after `error_phase: after` the key holds the real answer (a retry gets the
//! charge that happened), after `error_phase: before` it is released. A forced decline is a
//! Square 402 with that code, a Braintree processor decline (numeric code, else 2000), a Mollie
//! `failed` payment.
//!
//! # Webhooks ([`webhooks`])
//! Per account: target URL, signing secret, format (`stripe`, `square`, `braintree`,
//! `mollie_classic`, `mollie_signed`), `delay_ms` (late: after the synchronous answer) and
//! `duplicates` (the same event, same id and body, sent again). Sent by a tokio task with reqwest;
//! each attempt is logged ([`webhooks::Delivery`]), no retries.
//!
//! | provider | events (automatic) | signature |
//! |---|---|---|
//! | Stripe | `payment_intent.succeeded`, `.amount_capturable_updated`, `.requires_action`, `.canceled`, `.payment_failed`, `charge.refunded` | `Stripe-Signature: t=…,v1=hex(HMAC-SHA256(whsec, t + "." + body))` |
//! | Square | `payment.created`, `payment.updated`, `refund.created`, `refund.updated` | `x-square-hmacsha256-signature: base64(HMAC-SHA256(key, url + body))` |
//! | Braintree | `transaction_settled` / `transaction_settlement_declined` (on demand; they settle the transaction) | form `bt_signature=public\|hex(HMAC-SHA1(SHA1(private), bt_payload))`, `bt_payload` = base64 XML |
//! | Mollie classic | on every status change, to the payment's `webhookUrl` (and/or the config URL) | none: form `id=tr_…` |
//! | Mollie signed | `payment.paid\|failed\|canceled\|expired\|authorized`, `refund.created` | `X-Mollie-Signature: sha256=hex(HMAC-SHA256(secret, body))` |
//!
//! Any event on demand: [`Emulator::send_webhook`] or `POST /_emulator/webhooks/send`.
//!
//! # Control API (JSON)
//! | call | body / answer |
//! |---|---|
//! | `POST /_emulator/faults` | a fault set (below); replaces the set of its scope. Answers `{"faults": [<sets>]}`, or 400 `{"error": "..."}` |
//! | `GET /_emulator/faults` | `{"faults": [<sets>]}` (the all-keys set first) |
//! | `DELETE /_emulator/faults` | removes every set; `?api_key=sk_test_x` removes only that key's set, `?all_keys=true` only the all-keys set |
//! | `GET /_emulator/stats` | counters (below) |
//! | `DELETE /_emulator/stats` | resets the counters |
//! | `GET /_emulator/health` | `{"status": "ok", "providers": ["stripe", "square", "braintree", "mollie"]}` |
//! | `POST /_emulator/webhooks` | `{"account", "url", "secret", "format", "delay_ms", "duplicates"}`; replaces that account's config. Answers `{"webhooks": [...]}` (secrets never echoed) or 400 |
//! | `GET /_emulator/webhooks` | `{"webhooks": [...]}` |
//! | `DELETE /_emulator/webhooks` | all configs; `?account=…` only that one |
//! | `GET /_emulator/webhooks/deliveries` | `{"deliveries": [{account, event_id, event_type, url, copy, status, error}]}` |
//! | `POST /_emulator/webhooks/send` | `{"account", "event_type", "object_id"}` → `{"event_ids": [...]}` or 400 |
//! | `POST /_emulator/braintree/transactions/{id}/settle` | settles a `SUBMITTED_FOR_SETTLEMENT` transaction (+ `transaction_settled` webhook if configured) → `{"settled": id}`, or 400 |
//! | `POST /_emulator/mollie/payments/{id}/status` | `{"status", "failure_reason"?}` → the payment, or 400 |
//! | `GET`/`POST /_emulator/mollie/checkout/{id}` | Mollie test checkout page / form `status=…` |
//!
//! A fault set (every field optional; see [`faults::FaultSpec`]):
//! ```json
//! {
//!   "api_key": "sk_test_a",          // omit = all keys without a set of their own
//!   "latency_ms": 250,               // added while processing (applies to GETs too)
//!   "error_rate": 0.25,              // every 4th request: 500 {"error":{"type":"api_error",...}}
//!   "error_status": 503,             // 500..=599, default 500
//!   "error_phase": "before",         // "before": nothing processed | "after": processed, answer lost
//!   "hang": "after",                 // POSTs only: "before" (nothing charged) | "after" (charged,
//!                                    //   response saved under the Idempotency-Key, answer withheld)
//!   "hang_ms": 300000,               // how long a hang holds the request (default 300000)
//!   "hang_count": 1,                 // hang only the next N POSTs (default: all)
//!   "decline_code": "do_not_honor",  // force declines on confirmations that would approve / need 3DS
//!   "decline_rate": 0.5,             // fraction of confirmations declined (default 1)
//!   "methods": ["POST"],             // restrict the set to these methods (default all)
//!   "outage": {"start_in_ms": 1000, "duration_ms": 5000, "kind": "error"}   // or "hang"
//! }
//! ```
//! A key's own set wins over the all-keys set (no merging). Rates are deterministic: request `n`
//! (counted per set) is hit when `floor(n*rate)` steps up. Injected 5xx are saved under the
//! request's `Idempotency-Key` like Stripe's own 500s; outage answers (503) and hangs-before are not
//! (nothing reached the API). Hangs end early when the emulator shuts down.
//!
//! Stats (`GET /_emulator/stats`, see [`stats::StatsSnapshot`]): provider API requests of all four
//! providers (not `/_emulator/*`), per credential.
//! ```json
//! {"total": {"requests": 3, "missing_stripe_version": 1,
//!            "by_outcome": {"ok": 1, "declined": 1, "unauthorized": 1},
//!            "by_status": {"200": 1, "401": 1, "402": 1}},
//!  "by_key": {"sk_test_a": {...same shape...}, "(unauthenticated)": {...}}}
//! ```
//! Outcomes: `ok`, `declined`, `client_error`, `unauthorized`, `idempotent_replay`,
//! `idempotency_conflict`, `injected_error`, `outage`, `hang_before`, `hang_after`.

pub mod braintree;
pub mod faults;
pub mod mollie;
pub(crate) mod pipeline;
pub mod square;
pub mod stats;
pub mod stripe;
pub mod webhooks;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use faults::{FaultSpec, Faults};
use stats::{Stats, StatsSnapshot};
use webhooks::{WebhookConfig, WebhookError, WebhookFormat, Webhooks};

/// State shared by every handler.
pub(crate) struct App {
    pub(crate) faults: Faults,
    pub(crate) stats: Stats,
    pub(crate) shutdown: watch::Receiver<bool>,
    pub(crate) base_url: Arc<str>,
    pub(crate) stripe: stripe::StripeState,
    pub(crate) square: square::SquareState,
    pub(crate) braintree: braintree::BraintreeState,
    pub(crate) mollie: mollie::MollieState,
    pub(crate) idempotency: pipeline::IdemStore,
    pub(crate) webhooks: webhooks::Webhooks,
}

impl App {
    /// Sleeps for `d`, or until the emulator shuts down.
    pub(crate) async fn hold(&self, d: Duration) {
        if d.is_zero() {
            return;
        }
        let mut rx = self.shutdown.clone();
        if *rx.borrow() {
            return;
        }
        tokio::select! {
            () = tokio::time::sleep(d) => {}
            _ = rx.wait_for(|stop| *stop) => {}
        }
    }
}

/// The `Request-Id` of the current request (`req_…`), set by a middleware on every route.
#[derive(Debug, Clone)]
pub(crate) struct RequestId(pub(crate) String);

async fn request_id(mut req: Request, next: Next) -> Response {
    let rid = stripe::model::rand_id("req_", 14);
    req.extensions_mut().insert(RequestId(rid.clone()));
    let mut resp = next.run(req).await;
    if let Ok(v) = HeaderValue::from_str(&rid) {
        resp.headers_mut().insert("request-id", v);
    }
    resp
}

fn control_error(status: StatusCode, message: String) -> Response {
    (status, axum::Json(json!({ "error": message }))).into_response()
}

fn faults_json(app: &App) -> Value {
    json!({ "faults": app.faults.list() })
}

async fn post_faults(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let spec: FaultSpec = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => return control_error(StatusCode::BAD_REQUEST, format!("invalid fault set: {e}")),
    };
    match app.faults.set(spec) {
        Ok(()) => axum::Json(faults_json(&app)).into_response(),
        Err(e) => control_error(StatusCode::BAD_REQUEST, e.0),
    }
}

async fn get_faults(State(app): State<Arc<App>>) -> Response {
    axum::Json(faults_json(&app)).into_response()
}

#[derive(Debug, serde::Deserialize)]
struct DeleteFaults {
    api_key: Option<String>,
    all_keys: Option<bool>,
}

async fn delete_faults(State(app): State<Arc<App>>, Query(q): Query<DeleteFaults>) -> Response {
    match (q.api_key.as_deref(), q.all_keys) {
        (Some(key), _) => app.faults.clear_scope(Some(key)),
        (None, Some(true)) => app.faults.clear_scope(None),
        (None, Some(false) | None) => app.faults.clear(),
    }
    axum::Json(faults_json(&app)).into_response()
}

async fn get_stats(State(app): State<Arc<App>>) -> Response {
    axum::Json(app.stats.snapshot()).into_response()
}

async fn delete_stats(State(app): State<Arc<App>>) -> Response {
    app.stats.reset();
    axum::Json(app.stats.snapshot()).into_response()
}

async fn health() -> Response {
    axum::Json(json!({"status": "ok", "providers": ["stripe", "square", "braintree", "mollie"]}))
        .into_response()
}

fn webhooks_json(app: &App) -> Value {
    json!({ "webhooks": app.webhooks.list() })
}

async fn post_webhooks(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let cfg: WebhookConfig = match serde_json::from_slice(&body) {
        Ok(c) => c,
        Err(e) => {
            return control_error(
                StatusCode::BAD_REQUEST,
                format!("invalid webhook config: {e}"),
            );
        }
    };
    match app.webhooks.set(cfg) {
        Ok(()) => axum::Json(webhooks_json(&app)).into_response(),
        Err(e) => control_error(StatusCode::BAD_REQUEST, e.0),
    }
}

async fn get_webhooks(State(app): State<Arc<App>>) -> Response {
    axum::Json(webhooks_json(&app)).into_response()
}

#[derive(Debug, serde::Deserialize)]
struct DeleteWebhooks {
    account: Option<String>,
}

async fn delete_webhooks(State(app): State<Arc<App>>, Query(q): Query<DeleteWebhooks>) -> Response {
    app.webhooks.clear(q.account.as_deref());
    axum::Json(webhooks_json(&app)).into_response()
}

async fn get_deliveries(State(app): State<Arc<App>>) -> Response {
    axum::Json(json!({ "deliveries": app.webhooks.deliveries() })).into_response()
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SendWebhook {
    account: String,
    event_type: String,
    object_id: String,
}

async fn post_send_webhook(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let req: SendWebhook = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return control_error(StatusCode::BAD_REQUEST, format!("invalid request: {e}")),
    };
    match send_webhook(&app, &req.account, &req.event_type, &req.object_id) {
        Ok(ids) => axum::Json(json!({ "event_ids": ids })).into_response(),
        Err(e) => control_error(StatusCode::BAD_REQUEST, e.0),
    }
}

fn send_webhook(
    app: &Arc<App>,
    account: &str,
    event_type: &str,
    object_id: &str,
) -> Result<Vec<String>, WebhookError> {
    let cfg = app.webhooks.get(account);
    let notice = match cfg.as_ref().map(|c| c.format) {
        Some(WebhookFormat::Stripe) => {
            stripe::events::notice_for(app, account, event_type, object_id)
        }
        Some(WebhookFormat::Square) => app.square.notice(account, event_type, object_id),
        Some(WebhookFormat::Braintree) => app.braintree.notice(account, event_type, object_id),
        Some(WebhookFormat::MollieClassic | WebhookFormat::MollieSigned) | None => {
            app.mollie.notice(
                account,
                event_type,
                object_id,
                &format!("{}/mollie", app.base_url),
            )
        }
    }
    .map_err(WebhookError)?;
    let ids = webhooks::emit(app, account, &notice);
    if ids.is_empty() {
        return Err(WebhookError(
            "no webhook target: install a webhook config for this account".into(),
        ));
    }
    Ok(ids)
}

fn braintree_settle(app: &Arc<App>, id: &str) -> Result<(), String> {
    let (key, notice) = app.braintree.settle_any(id)?;
    webhooks::emit(app, &key, &notice);
    Ok(())
}

async fn post_braintree_settle(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    match braintree_settle(&app, &id) {
        Ok(()) => axum::Json(json!({"settled": id})).into_response(),
        Err(e) => control_error(StatusCode::BAD_REQUEST, e),
    }
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct MollieStatus {
    status: String,
    failure_reason: Option<String>,
}

fn mollie_status(app: &Arc<App>, id: &str, status: &str, reason: Option<&str>) -> Response {
    let Some(s) = mollie::Status::parse(status) else {
        return control_error(
            StatusCode::BAD_REQUEST,
            format!(
                "unknown status {status:?}: use paid, failed, canceled, expired, authorized, pending or open"
            ),
        );
    };
    match mollie::force_status(app, id, s, reason) {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => control_error(StatusCode::BAD_REQUEST, e),
    }
}

async fn post_mollie_status(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    match serde_json::from_slice::<MollieStatus>(&body) {
        Ok(m) => mollie_status(&app, &id, &m.status, m.failure_reason.as_deref()),
        Err(e) => control_error(StatusCode::BAD_REQUEST, format!("invalid request: {e}")),
    }
}

/// `GET /_emulator/mollie/checkout/{id}`: the hosted test checkout, with a button per outcome.
async fn mollie_checkout_page(Path(id): Path<String>) -> Response {
    let id: String = id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    let buttons: String = ["paid", "failed", "canceled", "expired", "authorized"]
        .iter()
        .map(|s| format!("<button name=\"status\" value=\"{s}\">{s}</button> "))
        .collect();
    let page = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Mollie test checkout (emulator)</title></head>\
<body style=\"font-family:sans-serif;max-width:32em;margin:3em auto\"><h1>Test checkout</h1>\
<p>Payment <code>{id}</code>: choose the outcome.</p><form method=\"post\">{buttons}</form></body></html>"
    );
    (
        [(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page,
    )
        .into_response()
}

/// `POST /_emulator/mollie/checkout/{id}` with form `status=…`: forces the outcome.
async fn mollie_checkout_submit(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let status = form
        .iter()
        .find(|(k, _)| k == "status")
        .map(|(_, v)| v.as_str())
        .unwrap_or("paid");
    mollie_status(&app, &id, status, None)
}

async fn not_found(req: Request) -> Response {
    control_error(
        StatusCode::NOT_FOUND,
        format!(
            "Unrecognized request URL ({}: {})",
            req.method(),
            req.uri().path()
        ),
    )
}

fn router(app: Arc<App>) -> Router {
    Router::new()
        .route(
            "/_emulator/faults",
            get(get_faults).post(post_faults).delete(delete_faults),
        )
        .route("/_emulator/stats", get(get_stats).delete(delete_stats))
        .route("/_emulator/health", get(health))
        .route(
            "/_emulator/webhooks",
            get(get_webhooks)
                .post(post_webhooks)
                .delete(delete_webhooks),
        )
        .route("/_emulator/webhooks/deliveries", get(get_deliveries))
        .route("/_emulator/webhooks/send", post(post_send_webhook))
        .route(
            "/_emulator/braintree/transactions/{id}/settle",
            post(post_braintree_settle),
        )
        .route(
            "/_emulator/mollie/payments/{id}/status",
            post(post_mollie_status),
        )
        .route(
            "/_emulator/mollie/checkout/{id}",
            get(mollie_checkout_page).post(mollie_checkout_submit),
        )
        .merge(stripe::routes())
        .merge(square::routes())
        .merge(braintree::routes())
        .merge(mollie::routes())
        .fallback(not_found)
        .layer(middleware::from_fn(request_id))
        .with_state(app)
}

/// A running emulator. Dropping it stops the server in the background; prefer [`Emulator::shutdown`].
#[derive(Debug)]
pub struct Emulator {
    addr: SocketAddr,
    app: Arc<App>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<io::Result<()>>>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// Binds `addr` (use `127.0.0.1:0` in tests for a free port) and serves in a tokio task.
pub async fn spawn(addr: SocketAddr) -> io::Result<Emulator> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let (stop, shutdown) = watch::channel(false);
    let app = Arc::new(App {
        faults: Faults::new(),
        stats: Stats::default(),
        shutdown: shutdown.clone(),
        base_url: format!("http://{addr}").into(),
        stripe: stripe::StripeState::default(),
        square: square::SquareState::default(),
        braintree: braintree::BraintreeState::default(),
        mollie: mollie::MollieState::default(),
        idempotency: pipeline::IdemStore::default(),
        webhooks: webhooks::Webhooks::default(),
    });
    let service = router(app.clone());
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("set_nodelay failed: {e}");
        }
    });
    let mut rx = shutdown;
    let task = tokio::spawn(async move {
        axum::serve(listener, service)
            .with_graceful_shutdown(async move {
                let _stopped = rx.wait_for(|stop| *stop).await;
            })
            .await
    });
    tracing::debug!("psp-emulator listening on http://{addr}");
    Ok(Emulator {
        addr,
        app,
        stop,
        task: Some(task),
    })
}

impl Emulator {
    /// `http://<addr>`: the emulator's base URL; Stripe lives here (`/v1/…`), the other providers
    /// under their prefixes (see [`Emulator::square_base_url`] and the others).
    pub fn base_url(&self) -> String {
        self.app.base_url.to_string()
    }

    /// Stripe's base URL (= [`Emulator::base_url`]); adapters append `/v1/…`.
    pub fn stripe_base_url(&self) -> String {
        self.base_url()
    }

    /// Square's base URL, `{base}/square`; adapters append `/v2/payments`, `/v2/refunds`.
    pub fn square_base_url(&self) -> String {
        format!("{}/square", self.app.base_url)
    }

    /// Braintree's base URL, `{base}/braintree`; adapters append `/graphql`.
    pub fn braintree_base_url(&self) -> String {
        format!("{}/braintree", self.app.base_url)
    }

    /// Mollie's base URL, `{base}/mollie`; adapters append `/v2/payments`.
    pub fn mollie_base_url(&self) -> String {
        format!("{}/mollie", self.app.base_url)
    }

    /// The webhook registry (the same one `/_emulator/webhooks` edits).
    pub fn webhooks(&self) -> &Webhooks {
        &self.app.webhooks
    }

    /// Sends `event_type` about object `object_id` of `account` now (after the config's delay,
    /// with its duplicates), in the format of the account's webhook config; returns the event ids.
    /// Object ids: Stripe PaymentIntent `pi_…` (also for `charge.refunded`), Square payment or
    /// refund id (`payment.*` / `refund.*`), Braintree transaction legacy or global id
    /// (`transaction_settled` / `transaction_settlement_declined` also settle or decline the
    /// transaction, which must be `SUBMITTED_FOR_SETTLEMENT`), Mollie `tr_…` (`payment.paid`, …;
    /// classic webhooks also go to the payment's `webhookUrl`). Errors: unknown object or event
    /// type, or no target.
    pub fn send_webhook(
        &self,
        account: &str,
        event_type: &str,
        object_id: &str,
    ) -> Result<Vec<String>, WebhookError> {
        send_webhook(&self.app, account, event_type, object_id)
    }

    /// Forces Mollie payment `id` (of any account) to `status` (`paid`, `failed`, `canceled`,
    /// `expired`, `authorized`, `pending`) and sends its webhook; `failure_reason` for `failed`
    /// (default `card_declined`). Returns the payment JSON. Errors: unknown id or status, or a
    /// payment already final.
    pub fn mollie_set_status(
        &self,
        id: &str,
        status: &str,
        failure_reason: Option<&str>,
    ) -> Result<Value, String> {
        let s = mollie::Status::parse(status).ok_or(format!("unknown Mollie status {status:?}"))?;
        mollie::force_status(&self.app, id, s, failure_reason)
    }

    /// Settles Braintree transaction `id` (legacy or global id; must be `SUBMITTED_FOR_SETTLEMENT`)
    /// so that `refundTransaction` accepts it, and sends `transaction_settled` if the owning
    /// account has a Braintree webhook config. Errors: unknown id or wrong status.
    pub fn braintree_settle(&self, id: &str) -> Result<(), String> {
        braintree_settle(&self.app, id)
    }

    /// The Square payments of access token `key`, newest first, as JSON.
    pub fn square_payments(&self, key: &str) -> Vec<Value> {
        self.app.square.payments_json(key)
    }

    /// The Braintree transactions of `"public:private"` `key`, newest first, as GraphQL JSON.
    pub fn braintree_transactions(&self, key: &str) -> Vec<Value> {
        self.app.braintree.transactions_json(key)
    }

    /// The Mollie payments of API key `key`, newest first, as JSON.
    pub fn mollie_payments(&self, key: &str) -> Vec<Value> {
        self.app.mollie.payments_json(key, &self.mollie_base_url())
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The fault registry (the same one `/_emulator/faults` edits).
    pub fn faults(&self) -> &Faults {
        &self.app.faults
    }

    /// A copy of the request counters (the same as `GET /_emulator/stats`).
    pub fn stats(&self) -> StatsSnapshot {
        self.app.stats.snapshot()
    }

    /// The Stripe PaymentIntents of the account `api_key`, newest first, as their JSON objects.
    pub fn stripe_payment_intents(&self, api_key: &str) -> Vec<Value> {
        self.app.stripe.intents_json(api_key)
    }

    /// Stops accepting connections, releases hung requests and waits (at most 10 s) for open
    /// connections to finish.
    pub async fn shutdown(mut self) {
        self.stop.send_replace(true);
        if let Some(mut task) = self.task.take() {
            match tokio::time::timeout(Duration::from_secs(10), &mut task).await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(e))) => tracing::warn!("psp-emulator server error: {e}"),
                Ok(Err(e)) => tracing::warn!("psp-emulator server task failed: {e}"),
                Err(_) => {
                    tracing::warn!("psp-emulator: connections still open after 10 s; aborting");
                    task.abort();
                }
            }
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}
