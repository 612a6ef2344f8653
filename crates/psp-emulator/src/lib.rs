//! Local HTTP servers speaking payment providers' wire formats, with scriptable faults.
//!
//! For tests, the demo and load tests: **never** used in production paths. Today it speaks Stripe's
//! PaymentIntents API ([`stripe`]); Square, Braintree and Mollie modules can be added next to it and
//! share the fault machinery ([`faults`]) and counters ([`stats`]).
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
//! # Control API (JSON)
//! | call | body / answer |
//! |---|---|
//! | `POST /_emulator/faults` | a fault set (below); replaces the set of its scope. Answers `{"faults": [<sets>]}`, or 400 `{"error": "..."}` |
//! | `GET /_emulator/faults` | `{"faults": [<sets>]}` (the all-keys set first) |
//! | `DELETE /_emulator/faults` | removes every set; `?api_key=sk_test_x` removes only that key's set, `?all_keys=true` only the all-keys set |
//! | `GET /_emulator/stats` | counters (below) |
//! | `DELETE /_emulator/stats` | resets the counters |
//! | `GET /_emulator/health` | `{"status": "ok", "providers": ["stripe"]}` |
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
//! Stats (`GET /_emulator/stats`, see [`stats::StatsSnapshot`]): `/v1/` requests only.
//! ```json
//! {"total": {"requests": 3, "missing_stripe_version": 1,
//!            "by_outcome": {"ok": 1, "declined": 1, "unauthorized": 1},
//!            "by_status": {"200": 1, "401": 1, "402": 1}},
//!  "by_key": {"sk_test_a": {...same shape...}, "(unauthenticated)": {...}}}
//! ```
//! Outcomes: `ok`, `declined`, `client_error`, `unauthorized`, `idempotent_replay`,
//! `idempotency_conflict`, `injected_error`, `outage`, `hang_before`, `hang_after`.

pub mod faults;
pub mod stats;
pub mod stripe;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use faults::{FaultSpec, Faults};
use stats::{Stats, StatsSnapshot};

/// State shared by every handler.
pub(crate) struct App {
    pub(crate) faults: Faults,
    pub(crate) stats: Stats,
    pub(crate) shutdown: watch::Receiver<bool>,
    pub(crate) base_url: Arc<str>,
    pub(crate) stripe: stripe::StripeState,
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
    axum::Json(json!({"status": "ok", "providers": ["stripe"]})).into_response()
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
        .merge(stripe::routes())
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
    /// `http://<addr>`: the base URL of every emulated provider (Stripe under `/v1/`).
    pub fn base_url(&self) -> String {
        self.app.base_url.to_string()
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
