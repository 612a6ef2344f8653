//! Mollie Payments API v2 emulator under `{base}/mollie` (REFERENCE.md §4; JSON shaped like
//! `fixtures/mollie/`, `application/hal+json`).
//!
//! Endpoints: `POST /v2/payments` (201, `open`), `GET /v2/payments`, `GET /v2/payments/{id}`,
//! `DELETE /v2/payments/{id}` (cancel), `POST /v2/payments/{id}/captures`,
//! `POST /v2/payments/{id}/refunds`. `Authorization: Bearer test_…|live_…`: each key is its own
//! account. There is no synchronous decline: a created payment is `open` and moves to its final
//! status asynchronously (see the crate docs for the test inputs that decide which and when), or
//! when forced with `Emulator::mollie_set_status` / `POST /_emulator/mollie/payments/{id}/status`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use axum::routing::any;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::App;
use crate::pipeline::{
    self, BASE62, Idem, Op, Provider, Reply, currency_exponent, format_decimal, mollie_error, now,
    parse_decimal, rand_from, ts_seconds,
};
use crate::webhooks::{Notice, emit};

/// How long a payment stays `open` before its final status when the request does not say
/// (`[emu:delay_ms=N]`), in milliseconds.
pub const DEFAULT_SETTLE_MS: u64 = 50;

/// Currencies Mollie accepts (docs.mollie.com/payments/multicurrency); BHD/JOD/KWD/OMR/TND are
/// not among them.
pub const CURRENCIES: [&str; 22] = [
    "AED", "AUD", "BGN", "CAD", "CHF", "CZK", "DKK", "EUR", "GBP", "HKD", "HUF", "ILS", "ISK",
    "JPY", "MXN", "MYR", "NOK", "NZD", "PHP", "PLN", "SEK", "USD",
];

pub(crate) fn routes() -> Router<Arc<App>> {
    Router::new().route("/mollie/{*rest}", any(api))
}

/// `payment.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Created, waiting for the customer.
    Open,
    /// Started, waiting for the outcome.
    Pending,
    /// Authorized (`captureMode: manual`), waiting for a capture.
    Authorized,
    /// Paid.
    Paid,
    /// Canceled.
    Canceled,
    /// Expired.
    Expired,
    /// Failed (`details.failureReason` says why).
    Failed,
}

impl Status {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Pending => "pending",
            Status::Authorized => "authorized",
            Status::Paid => "paid",
            Status::Canceled => "canceled",
            Status::Expired => "expired",
            Status::Failed => "failed",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "open" => Status::Open,
            "pending" => Status::Pending,
            "authorized" => Status::Authorized,
            "paid" => Status::Paid,
            "canceled" => Status::Canceled,
            "expired" => Status::Expired,
            "failed" => Status::Failed,
            _ => return None,
        })
    }

    fn is_final(self) -> bool {
        match self {
            Status::Paid | Status::Canceled | Status::Expired | Status::Failed => true,
            Status::Open | Status::Pending | Status::Authorized => false,
        }
    }
}

/// `details.failureMessage` for a `failureReason`.
pub fn failure_message(reason: &str) -> &'static str {
    match reason {
        "insufficient_funds" => "The card has insufficient funds.",
        "card_expired" => "The card has expired.",
        "invalid_card_number" => "The card number is invalid.",
        "invalid_cvv" => "The card's security code is invalid.",
        "invalid_card_holder_name" => "The card holder name is invalid.",
        "invalid_card_type" => "The card type is not supported.",
        "refused_by_issuer" => "The payment was refused by the card issuer.",
        "inactive_card" => "The card is inactive.",
        "possible_fraud" => "The payment was declined because of possible fraud.",
        "authentication_failed" => "The 3-D Secure authentication failed.",
        "card_declined" => "The card was declined.",
        _ => "The payment failed for an unknown reason.",
    }
}

/// Mollie's test-mode magic amounts (REFERENCE.md §4.4): a card payment of 1001.00–1011.00 fails
/// with this reason.
pub fn magic_amount_reason(minor: i64, decimals: u32) -> Option<&'static str> {
    let scale = 10_i64.pow(decimals);
    if minor % scale != 0 {
        return None;
    }
    Some(match minor / scale {
        1001 => "invalid_card_number",
        1002 => "invalid_cvv",
        1003 => "invalid_card_holder_name",
        1004 => "card_expired",
        1005 => "invalid_card_type",
        1006 => "refused_by_issuer",
        1007 => "insufficient_funds",
        1008 => "inactive_card",
        1009 => "possible_fraud",
        1010 => "authentication_failed",
        1011 => "card_declined",
        _ => return None,
    })
}

/// Reads `[emu:status=…]` and `[emu:delay_ms=…]` markers from a description.
pub fn markers(description: &str) -> (Option<Status>, Option<u64>) {
    let mut status = None;
    let mut delay = None;
    for part in description.split("[emu:").skip(1) {
        let Some(body) = part.split(']').next() else {
            continue;
        };
        if let Some(v) = body.strip_prefix("status=") {
            status = Status::parse(v.trim());
        } else if let Some(v) = body.strip_prefix("delay_ms=") {
            delay = v.trim().parse().ok();
        }
    }
    (status, delay)
}

#[derive(Debug, Clone)]
struct Payment {
    id: String,
    live: bool,
    amount: i64,
    currency: String,
    description: String,
    method: Option<String>,
    metadata: Value,
    status: Status,
    sequence_type: String,
    capture_manual: bool,
    redirect_url: Option<String>,
    webhook_url: Option<String>,
    created_at: OffsetDateTime,
    changed_at: Option<OffsetDateTime>,
    failure_reason: Option<String>,
    captured: i64,
    refunded: i64,
}

impl Payment {
    fn money(&self, minor: i64) -> Value {
        json!({"value": format_decimal(minor, currency_exponent(&self.currency)), "currency": self.currency})
    }

    fn to_json(&self, base: &str) -> Value {
        let mut p = json!({
            "resource": "payment",
            "id": self.id,
            "mode": if self.live { "live" } else { "test" },
            "createdAt": ts_seconds(self.created_at),
            "amount": self.money(self.amount),
            "description": self.description,
            "method": self.method,
            "metadata": self.metadata,
            "status": self.status.as_str(),
            "isCancelable": matches!(self.status, Status::Open | Status::Authorized),
            "profileId": "pfl_emulator1",
            "sequenceType": self.sequence_type,
            "redirectUrl": self.redirect_url,
            "_links": {
                "self": {"href": format!("{base}/v2/payments/{}", self.id), "type": "application/hal+json"},
                "dashboard": {"href": format!("https://www.mollie.com/dashboard/org_emulator/payments/{}", self.id), "type": "text/html"},
                "documentation": {"href": "https://docs.mollie.com/reference/get-payment", "type": "text/html"}
            }
        });
        if let Some(u) = &self.webhook_url {
            p["webhookUrl"] = json!(u);
        }
        if self.capture_manual {
            p["captureMode"] = json!("manual");
        }
        match self.status {
            Status::Open | Status::Pending => {
                p["expiresAt"] = json!(ts_seconds(self.created_at + time::Duration::minutes(15)));
                p["_links"]["checkout"] = json!({"href": format!("{}/_emulator/mollie/checkout/{}", base.trim_end_matches("/mollie"), self.id), "type": "text/html"});
            }
            Status::Authorized
            | Status::Paid
            | Status::Canceled
            | Status::Expired
            | Status::Failed => {}
        }
        let at = self.changed_at.map(ts_seconds);
        match self.status {
            Status::Paid => {
                p["paidAt"] = json!(at);
                p["amountRefunded"] = self.money(self.refunded);
                p["amountRemaining"] = self.money(self.amount - self.refunded);
                p["amountCaptured"] = self.money(if self.captured > 0 {
                    self.captured
                } else {
                    self.amount
                });
            }
            Status::Authorized => {
                p["authorizedAt"] = json!(at);
            }
            Status::Canceled => p["canceledAt"] = json!(at),
            Status::Expired => p["expiredAt"] = json!(at),
            Status::Failed => {
                p["failedAt"] = json!(at);
                let reason = self.failure_reason.as_deref().unwrap_or("unknown_reason");
                p["details"] = json!({
                    "cardNumber": "1111", "cardHolder": "T. Tester", "cardAudience": "consumer",
                    "cardLabel": "Visa", "cardCountryCode": "NL", "cardSecurity": "normal",
                    "failureReason": reason, "failureMessage": failure_message(reason)
                });
            }
            Status::Open | Status::Pending => {}
        }
        p
    }
}

#[derive(Debug, Default)]
struct Data {
    payments: HashMap<String, Payment>,
    order: Vec<String>,
}

/// All emulated Mollie accounts (one per API key).
#[derive(Debug, Default)]
pub struct MollieState {
    accounts: RwLock<HashMap<String, Arc<Mutex<Data>>>>,
}

fn lock(a: &Mutex<Data>) -> MutexGuard<'_, Data> {
    a.lock().unwrap_or_else(PoisonError::into_inner)
}

impl MollieState {
    fn account(&self, key: &str) -> Arc<Mutex<Data>> {
        pipeline::account_of(&self.accounts, key)
    }

    fn find(&self, id: &str) -> Option<(String, Arc<Mutex<Data>>)> {
        let accounts = self.accounts.read().unwrap_or_else(PoisonError::into_inner);
        accounts
            .iter()
            .find(|(_, a)| lock(a).payments.contains_key(id))
            .map(|(k, a)| (k.clone(), a.clone()))
    }

    /// The payments of `key`, newest first, as JSON (`base` = the Mollie base URL for links).
    pub fn payments_json(&self, key: &str, base: &str) -> Vec<Value> {
        let a = self.account(key);
        let d = lock(&a);
        d.order
            .iter()
            .rev()
            .filter_map(|id| d.payments.get(id))
            .map(|p| p.to_json(base))
            .collect()
    }

    /// A webhook notice about payment `id` (type e.g. `payment.paid`).
    pub(crate) fn notice(
        &self,
        key: &str,
        event_type: &str,
        id: &str,
        base: &str,
    ) -> Result<Notice, String> {
        let a = self.account(key);
        let d = lock(&a);
        let p = d
            .payments
            .get(id)
            .ok_or(format!("no Mollie payment {id}"))?;
        Ok(notice_of(p, event_type, base))
    }
}

fn notice_of(p: &Payment, event_type: &str, base: &str) -> Notice {
    Notice::Mollie {
        event_type: event_type.to_owned(),
        id: p.id.clone(),
        entity: p.to_json(base),
        webhook_url: p.webhook_url.clone(),
    }
}

fn base(app: &App) -> String {
    format!("{}/mollie", app.base_url)
}

/// Moves payment `id` to `status` (from `open`, `pending` or `authorized`; `failed` with
/// `failure_reason`, default `card_declined`) and sends its webhook. Errors: unknown id, or a
/// payment already in a final status.
pub(crate) fn force_status(
    app: &Arc<App>,
    id: &str,
    status: Status,
    failure_reason: Option<&str>,
) -> Result<Value, String> {
    let (key, a) = app
        .mollie
        .find(id)
        .ok_or(format!("no Mollie payment {id}"))?;
    let (json, notice) = {
        let mut d = lock(&a);
        let p = d
            .payments
            .get_mut(id)
            .ok_or(format!("no Mollie payment {id}"))?;
        if p.status.is_final() {
            return Err(format!("payment {id} is already {}", p.status.as_str()));
        }
        p.status = status;
        p.changed_at = Some(now());
        if status == Status::Failed {
            p.failure_reason = Some(failure_reason.unwrap_or("card_declined").to_owned());
        }
        let b = base(app);
        (
            p.to_json(&b),
            notice_of(p, &format!("payment.{}", status.as_str()), &b),
        )
    };
    emit(app, &key, &notice);
    Ok(json)
}

fn invalid(detail: &str, field: &str) -> Reply {
    mollie_error(422, detail, Some(field))
}

fn amount_of(body: &Value, field: &str, required: bool) -> Result<Option<(i64, String)>, Reply> {
    let m = match body.get(field) {
        None | Some(Value::Null) if !required => return Ok(None),
        None | Some(Value::Null) => {
            return Err(invalid(&format!("The '{field}' field is missing"), field));
        }
        Some(m) => m,
    };
    let currency = m
        .get("currency")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("The currency is missing", &format!("{field}.currency")))?;
    if !CURRENCIES.contains(&currency) {
        return Err(invalid(
            &format!("The currency '{currency}' is not supported"),
            &format!("{field}.currency"),
        ));
    }
    let decimals = currency_exponent(currency);
    let value = m.get("value").and_then(Value::as_str).ok_or_else(|| {
        invalid(
            "The amount value must be a string",
            &format!("{field}.value"),
        )
    })?;
    let minor = parse_decimal(value, decimals, true).ok_or_else(|| {
        invalid(
            &format!("The amount value '{value}' is invalid: {currency} amounts need exactly {decimals} decimals"),
            &format!("{field}.value"),
        )
    })?;
    if minor <= 0 {
        return Err(invalid(
            "The amount must be greater than zero",
            &format!("{field}.value"),
        ));
    }
    Ok(Some((minor, currency.to_owned())))
}

fn opt_str(body: &Value, field: &str) -> Result<Option<String>, Reply> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid(
            &format!("The '{field}' field must be a string"),
            field,
        )),
    }
}

fn create(app: &Arc<App>, key: &str, body: &Value, forced: Option<String>) -> Reply {
    let parsed = (|| -> Result<Payment, Reply> {
        let (amount, currency) = amount_of(body, "amount", true)?
            .ok_or_else(|| invalid("The 'amount' field is missing", "amount"))?;
        let description = opt_str(body, "description")?
            .ok_or_else(|| invalid("The 'description' field is missing", "description"))?;
        let sequence_type = opt_str(body, "sequenceType")?.unwrap_or_else(|| "oneoff".to_owned());
        let redirect_url = opt_str(body, "redirectUrl")?;
        if redirect_url.is_none() && sequence_type != "recurring" {
            return Err(invalid("The 'redirectUrl' field is missing", "redirectUrl"));
        }
        let capture_manual = match opt_str(body, "captureMode")?.as_deref() {
            None | Some("automatic") => false,
            Some("manual") => true,
            Some(other) => {
                return Err(invalid(
                    &format!("Invalid captureMode '{other}'"),
                    "captureMode",
                ));
            }
        };
        Ok(Payment {
            id: format!("tr_{}", rand_from(BASE62, 10)),
            live: key.starts_with("live_"),
            amount,
            currency,
            description,
            method: opt_str(body, "method")?,
            metadata: body.get("metadata").cloned().unwrap_or(Value::Null),
            status: Status::Open,
            sequence_type,
            capture_manual,
            redirect_url,
            webhook_url: opt_str(body, "webhookUrl")?,
            created_at: now(),
            changed_at: None,
            failure_reason: None,
            captured: 0,
            refunded: 0,
        })
    })();
    let p = match parsed {
        Ok(p) => p,
        Err(e) => return e,
    };
    let (marker_status, marker_delay) = markers(&p.description);
    let magic = magic_amount_reason(p.amount, currency_exponent(&p.currency));
    let (target, reason) = match (forced, magic, marker_status) {
        (Some(code), _, _) => (Status::Failed, Some(code)),
        (None, Some(r), _) => (Status::Failed, Some(r.to_owned())),
        (None, None, Some(s)) => (s, None),
        (None, None, None) if p.capture_manual => (Status::Authorized, None),
        (None, None, None) => (Status::Paid, None),
    };
    let b = base(app);
    let reply = Reply::json(201, &p.to_json(&b)).with_type("application/hal+json");
    let id = p.id.clone();
    {
        let a = app.mollie.account(key);
        let mut d = lock(&a);
        d.order.push(id.clone());
        d.payments.insert(id.clone(), p);
    }
    if target != Status::Open {
        let app = app.clone();
        let delay = Duration::from_millis(marker_delay.unwrap_or(DEFAULT_SETTLE_MS));
        tokio::spawn(async move {
            app.hold(delay).await;
            if *app.shutdown.borrow() {
                return;
            }
            if let Err(e) = force_status(&app, &id, target, reason.as_deref()) {
                tracing::debug!("mollie: {e}");
            }
        });
    }
    reply
}

fn not_found(id: &str) -> Reply {
    mollie_error(404, &format!("No payment exists with token {id}."), None)
}

/// Mollie's 422 for an action the payment's `status` does not allow: `"The payment cannot be
/// {action}: it is {status}"`, no `field` (the wording the emulator has always sent; error
/// envelope per REFERENCE.md section 4).
fn cannot_be(action: &str, status: Status) -> Reply {
    mollie_error(
        422,
        &format!("The payment cannot be {action}: it is {}", status.as_str()),
        None,
    )
}

fn cancel(app: &Arc<App>, key: &str, id: &str) -> Reply {
    let b = base(app);
    let a = app.mollie.account(key);
    let (reply, notice) = {
        let mut d = lock(&a);
        let Some(p) = d.payments.get_mut(id) else {
            return not_found(id);
        };
        if !matches!(p.status, Status::Open | Status::Authorized) {
            return cannot_be("canceled", p.status);
        }
        p.status = Status::Canceled;
        p.changed_at = Some(now());
        (
            Reply::json(200, &p.to_json(&b)).with_type("application/hal+json"),
            notice_of(p, "payment.canceled", &b),
        )
    };
    emit(app, key, &notice);
    reply
}

fn capture(app: &Arc<App>, key: &str, id: &str, body: &Value) -> Reply {
    let b = base(app);
    let amount = match amount_of(body, "amount", false) {
        Ok(a) => a,
        Err(e) => return e,
    };
    let a = app.mollie.account(key);
    let (reply, notice) = {
        let mut d = lock(&a);
        let Some(p) = d.payments.get_mut(id) else {
            return not_found(id);
        };
        if p.status != Status::Authorized {
            return cannot_be("captured", p.status);
        }
        let minor = match amount {
            Some((m, c)) if c == p.currency && m <= p.amount => m,
            Some(_) => {
                return invalid(
                    "The capture amount is higher than the authorized amount or in another currency",
                    "amount.value",
                );
            }
            None => p.amount,
        };
        p.status = Status::Paid;
        p.captured = minor;
        p.changed_at = Some(now());
        let cpt = json!({
            "resource": "capture",
            "id": format!("cpt_{}", rand_from(BASE62, 22)),
            "mode": if p.live { "live" } else { "test" },
            "description": body.get("description").cloned().unwrap_or(Value::Null),
            "amount": p.money(minor),
            "metadata": body.get("metadata").cloned().unwrap_or(Value::Null),
            "status": "pending",
            "paymentId": p.id,
            "createdAt": ts_seconds(now()),
            "_links": {
                "payment": {"href": format!("{b}/v2/payments/{}", p.id), "type": "application/hal+json"},
                "documentation": {"href": "https://docs.mollie.com/reference/create-capture", "type": "text/html"}
            }
        });
        (
            Reply::json(201, &cpt).with_type("application/hal+json"),
            notice_of(p, "payment.paid", &b),
        )
    };
    emit(app, key, &notice);
    reply
}

fn refund(app: &Arc<App>, key: &str, id: &str, body: &Value) -> Reply {
    let b = base(app);
    let amount = match amount_of(body, "amount", true) {
        Ok(Some(a)) => a,
        Ok(None) => return invalid("The 'amount' field is missing", "amount"),
        Err(e) => return e,
    };
    let a = app.mollie.account(key);
    let (reply, notice) = {
        let mut d = lock(&a);
        let Some(p) = d.payments.get_mut(id) else {
            return not_found(id);
        };
        if p.status != Status::Paid {
            return cannot_be("refunded", p.status);
        }
        if amount.1 != p.currency {
            return invalid(
                "The refund currency does not match the payment currency",
                "amount.currency",
            );
        }
        let paid = if p.captured > 0 { p.captured } else { p.amount };
        if amount.0 > paid - p.refunded {
            return invalid(
                "The amount is higher than the amount that can be refunded",
                "amount.value",
            );
        }
        p.refunded += amount.0;
        let r = json!({
            "resource": "refund",
            "id": format!("re_{}", rand_from(BASE62, 10)),
            "mode": if p.live { "live" } else { "test" },
            "description": body.get("description").cloned().unwrap_or(json!("")),
            "amount": p.money(amount.0),
            "status": "pending",
            "metadata": body.get("metadata").cloned().unwrap_or(Value::Null),
            "paymentId": p.id,
            "createdAt": ts_seconds(now()),
            "_links": {
                "payment": {"href": format!("{b}/v2/payments/{}", p.id), "type": "application/hal+json"},
                "documentation": {"href": "https://docs.mollie.com/reference/create-refund", "type": "text/html"}
            }
        });
        (
            Reply::json(201, &r).with_type("application/hal+json"),
            notice_of(p, "refund.created", &b),
        )
    };
    emit(app, key, &notice);
    reply
}

#[derive(Debug)]
enum Route {
    List,
    Get(String),
    Create,
    Cancel(String),
    Capture(String),
    Refund(String),
}

fn route(method: &Method, path: &str) -> Option<Route> {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let own = |s: &&str| (*s).to_owned();
    Some(match (method.as_str(), segs.as_slice()) {
        ("POST", ["v2", "payments"]) => Route::Create,
        ("GET", ["v2", "payments"]) => Route::List,
        ("GET", ["v2", "payments", id]) if !id.is_empty() => Route::Get(own(id)),
        ("DELETE", ["v2", "payments", id]) if !id.is_empty() => Route::Cancel(own(id)),
        ("POST", ["v2", "payments", id, "captures"]) => Route::Capture(own(id)),
        ("POST", ["v2", "payments", id, "refunds"]) => Route::Refund(own(id)),
        _ => return None,
    })
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let token = pipeline::auth_credential(headers, "Bearer")?;
    let ok = ["test_", "live_", "access_"]
        .iter()
        .any(|p| token.starts_with(p) && token.len() > p.len());
    ok.then(|| token.to_owned())
}

fn run_route(app: &Arc<App>, key: &str, route: Route, body: &Value) -> Reply {
    match route {
        Route::List => {
            let payments = app.mollie.payments_json(key, &base(app));
            let count = payments.len();
            Reply::json(200, &json!({"count": count, "_embedded": {"payments": payments}, "_links": {"next": null, "previous": null}}))
                .with_type("application/hal+json")
        }
        Route::Get(id) => {
            let a = app.mollie.account(key);
            let d = lock(&a);
            match d.payments.get(&id) {
                Some(p) => {
                    Reply::json(200, &p.to_json(&base(app))).with_type("application/hal+json")
                }
                None => not_found(&id),
            }
        }
        Route::Cancel(id) => cancel(app, key, &id),
        Route::Capture(id) => capture(app, key, &id, body),
        Route::Refund(id) => refund(app, key, &id, body),
        Route::Create => create(app, key, body, None),
    }
}

async fn api(
    State(app): State<Arc<App>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(key) = bearer(&headers) else {
        return pipeline::unauthenticated(
            &app,
            mollie_error(
                401,
                "Missing authentication, or failed to authenticate",
                None,
            ),
        );
    };
    let path = uri.path().strip_prefix("/mollie").unwrap_or("").to_owned();
    let Some(route) = route(&method, &path) else {
        return pipeline::client_error(
            &app,
            &key,
            mollie_error(
                404,
                &format!("The resource {method} {path} does not exist"),
                None,
            ),
        );
    };
    let parsed: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(v @ Value::Object(_)) => v,
            Ok(_) | Err(_) => {
                return pipeline::client_error(
                    &app,
                    &key,
                    mollie_error(400, "The request body is not a valid JSON object", None),
                );
            }
        }
    };
    let write = method != Method::GET;
    let idem = if method == Method::POST {
        headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(|k| Idem {
                // One key space per account: the same key on another endpoint is a mismatch (400).
                key: k.to_owned(),
                scope: String::new(),
                request: json!({"path": path, "body": parsed}),
            })
    } else {
        None
    };
    let app2 = app.clone();
    let key2 = key.clone();
    let op: Op = match route {
        Route::Create => Box::new(move |forced| create(&app2, &key2, &parsed, forced)),
        r @ (Route::List
        | Route::Get(_)
        | Route::Cancel(_)
        | Route::Capture(_)
        | Route::Refund(_)) => Box::new(move |_| run_route(&app2, &key2, r, &parsed)),
    };
    pipeline::run(
        &app,
        Provider::Mollie,
        &key,
        method.as_str(),
        write,
        idem,
        op,
    )
    .await
    .into_response()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn inputs() {
        assert_eq!(magic_amount_reason(100_700, 2), Some("insufficient_funds"));
        assert_eq!(magic_amount_reason(100_701, 2), None);
        assert_eq!(magic_amount_reason(1000, 2), None);
        assert_eq!(
            markers("Order 1 [emu:status=expired] [emu:delay_ms=250]"),
            (Some(Status::Expired), Some(250))
        );
        assert_eq!(markers("plain"), (None, None));
        assert!(
            matches!(route(&Method::DELETE, "/v2/payments/tr_1"), Some(Route::Cancel(id)) if id == "tr_1")
        );
        assert!(route(&Method::PUT, "/v2/payments").is_none());
    }
}
