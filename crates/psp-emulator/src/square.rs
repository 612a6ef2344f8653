//! Square Payments API v2 emulator under `{base}/square` (REFERENCE.md §2; JSON shaped like
//! `fixtures/square/`).
//!
//! Endpoints: `POST /v2/payments`, `GET /v2/payments`, `GET /v2/payments/{id}`,
//! `POST /v2/payments/{id}/complete`, `POST /v2/payments/{id}/cancel`,
//! `POST /v2/payments/cancel` (by idempotency key), `POST /v2/refunds`, `GET /v2/refunds/{id}`.
//! `Authorization: Bearer <token>`: any non-empty token is its own account.
//! Test `source_id`s: see the crate docs. Webhooks: `payment.created` on create (any status),
//! `payment.updated` on complete/cancel/refund, `refund.created` (PENDING) and `refund.updated`
//! (COMPLETED) on refund.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use axum::routing::any;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::App;
use crate::pipeline::{
    self, BASE62, Idem, Op, Provider, Reply, now, rand_from, square_error, ts_millis,
};
use crate::stats::Outcome;
use crate::webhooks::{Notice, emit};

/// Currencies the emulated Square seller locations accept (Square's markets).
pub const CURRENCIES: [&str; 6] = ["USD", "CAD", "GBP", "EUR", "JPY", "AUD"];

pub(crate) fn routes() -> Router<Arc<App>> {
    Router::new().route("/square/{*rest}", any(api))
}

/// `payment.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Authorized (`autocomplete=false`).
    Approved,
    /// Captured.
    Completed,
    /// Voided.
    Canceled,
    /// Declined.
    Failed,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Approved => "APPROVED",
            Status::Completed => "COMPLETED",
            Status::Canceled => "CANCELED",
            Status::Failed => "FAILED",
        }
    }
    fn card_status(self) -> &'static str {
        match self {
            Status::Approved => "AUTHORIZED",
            Status::Completed => "CAPTURED",
            Status::Canceled => "VOIDED",
            Status::Failed => "FAILED",
        }
    }
}

#[derive(Debug, Clone)]
struct Payment {
    id: String,
    status: Status,
    amount: i64,
    currency: String,
    refunded: i64,
    idempotency_key: String,
    location_id: String,
    order_id: String,
    reference_id: Option<String>,
    note: Option<String>,
    customer_id: Option<String>,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
    captured_at: Option<OffsetDateTime>,
    voided_at: Option<OffsetDateTime>,
    version_token: String,
    refund_ids: Vec<String>,
    error: Option<Value>,
}

fn money(amount: i64, currency: &str) -> Value {
    json!({"amount": amount, "currency": currency})
}

impl Payment {
    fn to_json(&self) -> Value {
        let mut timeline = Map::new();
        if self.status != Status::Failed {
            timeline.insert("authorized_at".into(), json!(ts_millis(self.created_at)));
        }
        if let Some(t) = self.captured_at {
            timeline.insert("captured_at".into(), json!(ts_millis(t)));
        }
        if let Some(t) = self.voided_at {
            timeline.insert("voided_at".into(), json!(ts_millis(t)));
        }
        let mut card = json!({
            "avs_status": "AVS_ACCEPTED",
            "card": {
                "bin": "411111", "card_brand": "VISA", "card_type": "CREDIT",
                "exp_month": 12, "exp_year": 2030,
                "fingerprint": "sq-1-emulator-fingerprint-visa-1111",
                "last_4": "1111", "prepaid_type": "NOT_PREPAID"
            },
            "card_payment_timeline": timeline,
            "cvv_status": "CVV_ACCEPTED",
            "entry_method": "KEYED",
            "statement_description": "SQ *EMULATOR",
            "status": self.status.card_status()
        });
        let delayed_until = self.created_at + time::Duration::hours(168);
        let mut p = json!({
            "amount_money": money(self.amount, &self.currency),
            "application_details": {"application_id": "sq0ids-emulator", "square_product": "ECOMMERCE_API"},
            "card_details": card.clone(),
            "created_at": ts_millis(self.created_at),
            "delay_action": "CANCEL",
            "delay_duration": "PT168H",
            "delayed_until": ts_millis(delayed_until),
            "id": self.id,
            "location_id": self.location_id,
            "source_type": "CARD",
            "status": self.status.as_str(),
            "total_money": money(self.amount, &self.currency),
            "updated_at": ts_millis(self.updated_at),
            "version_token": self.version_token
        });
        if let Some(e) = &self.error {
            card["errors"] = json!([e]);
            p["card_details"] = card;
        } else {
            card["auth_result_code"] = json!("EMU123");
            p["card_details"] = card;
            p["approved_money"] = money(self.amount, &self.currency);
            p["order_id"] = json!(self.order_id);
            p["receipt_number"] = json!(self.id.get(..4).unwrap_or(""));
            p["receipt_url"] = json!(format!(
                "https://squareupsandbox.com/receipt/preview/{}",
                self.id
            ));
            p["risk_evaluation"] =
                json!({"created_at": ts_millis(self.created_at), "risk_level": "NORMAL"});
        }
        if self.refunded > 0 {
            p["refunded_money"] = money(self.refunded, &self.currency);
            p["refund_ids"] = json!(self.refund_ids);
        }
        for (k, v) in [
            ("reference_id", &self.reference_id),
            ("note", &self.note),
            ("customer_id", &self.customer_id),
        ] {
            if let Some(v) = v {
                p[k] = json!(v);
            }
        }
        p
    }
}

#[derive(Debug, Clone)]
struct Refund {
    id: String,
    payment_id: String,
    amount: i64,
    currency: String,
    status: &'static str,
    reason: Option<String>,
    location_id: String,
    order_id: String,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

impl Refund {
    fn to_json(&self) -> Value {
        let mut r = json!({
            "amount_money": money(self.amount, &self.currency),
            "created_at": ts_millis(self.created_at),
            "id": self.id,
            "location_id": self.location_id,
            "order_id": self.order_id,
            "payment_id": self.payment_id,
            "status": self.status,
            "updated_at": ts_millis(self.updated_at)
        });
        if let Some(reason) = &self.reason {
            r["reason"] = json!(reason);
        }
        r
    }
}

#[derive(Debug, Default)]
struct Data {
    payments: HashMap<String, Payment>,
    order: Vec<String>,
    refunds: HashMap<String, Refund>,
    by_idem: HashMap<String, String>,
}

/// All emulated Square accounts (one per access token).
#[derive(Debug, Default)]
pub struct SquareState {
    accounts: RwLock<HashMap<String, Arc<Mutex<Data>>>>,
}

impl SquareState {
    fn account(&self, key: &str) -> Arc<Mutex<Data>> {
        pipeline::account_of(&self.accounts, key)
    }

    /// The payments of `key`, newest first, as JSON.
    pub fn payments_json(&self, key: &str) -> Vec<Value> {
        let a = self.account(key);
        let d = lock(&a);
        d.order
            .iter()
            .rev()
            .filter_map(|id| d.payments.get(id))
            .map(Payment::to_json)
            .collect()
    }

    /// A webhook notice for `event_type` about payment or refund `id` of account `key`.
    pub(crate) fn notice(&self, key: &str, event_type: &str, id: &str) -> Result<Notice, String> {
        let a = self.account(key);
        let d = lock(&a);
        let (kind, object) = if event_type.starts_with("refund.") {
            let r = d.refunds.get(id).ok_or(format!("no Square refund {id}"))?;
            ("refund", r.to_json())
        } else if event_type.starts_with("payment.") {
            let p = d
                .payments
                .get(id)
                .ok_or(format!("no Square payment {id}"))?;
            ("payment", p.to_json())
        } else {
            return Err(format!("unknown Square event type {event_type:?}"));
        };
        Ok(Notice::Square {
            event_type: event_type.to_owned(),
            kind,
            id: id.to_owned(),
            object,
        })
    }
}

fn lock(a: &Mutex<Data>) -> MutexGuard<'_, Data> {
    a.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What a `source_id` does (Square sandbox values, REFERENCE.md §2.4, plus emulator extensions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceOutcome {
    /// Approved.
    Approve,
    /// Declined: HTTP status and Square error code; a FAILED payment is stored.
    Decline(u16, &'static str),
    /// Rejected before any payment exists: HTTP status, category, code, detail.
    Reject(u16, &'static str, &'static str, &'static str),
}

/// The outcome of a `source_id`.
pub fn source_outcome(source_id: &str) -> SourceOutcome {
    match source_id {
        "cnon:card-nonce-ok"
        | "cnon:gift-card-nonce-ok"
        | "bnon:bank-nonce-ok"
        | "CASH"
        | "EXTERNAL" => SourceOutcome::Approve,
        s if s.starts_with("ccof:") => SourceOutcome::Approve,
        "cnon:card-nonce-declined" => SourceOutcome::Decline(402, "GENERIC_DECLINE"),
        "cnon:card-nonce-rejected-cvv" => SourceOutcome::Decline(402, "CVV_FAILURE"),
        "cnon:card-nonce-rejected-postalcode" => {
            SourceOutcome::Decline(402, "ADDRESS_VERIFICATION_FAILURE")
        }
        "cnon:gift-card-nonce-insufficient-funds" | "cnon:emu-insufficient-funds" => {
            SourceOutcome::Decline(402, "INSUFFICIENT_FUNDS")
        }
        "cnon:gift-card-nonce-insufficient-permission" => {
            SourceOutcome::Decline(402, "CARDHOLDER_INSUFFICIENT_PERMISSIONS")
        }
        "cnon:emu-call-issuer" => SourceOutcome::Decline(402, "CARD_DECLINED_CALL_ISSUER"),
        "cnon:emu-verification-required" => {
            SourceOutcome::Decline(402, "CARD_DECLINED_VERIFICATION_REQUIRED")
        }
        "cnon:card-nonce-rejected-expiration" => SourceOutcome::Reject(
            400,
            "INVALID_REQUEST_ERROR",
            "INVALID_EXPIRATION",
            "Invalid card expiration date.",
        ),
        "cnon:card-nonce-already-used" => SourceOutcome::Reject(
            400,
            "INVALID_REQUEST_ERROR",
            "CARD_TOKEN_USED",
            "Card token already used.",
        ),
        _ => SourceOutcome::Reject(
            400,
            "INVALID_REQUEST_ERROR",
            "INVALID_CARD_DATA",
            "Invalid source_id: use a sandbox test value such as cnon:card-nonce-ok.",
        ),
    }
}

#[derive(Debug)]
enum Route {
    ListPayments,
    GetPayment(String),
    GetRefund(String),
    Create,
    Complete(String),
    Cancel(String),
    CancelByKey,
    Refund,
}

fn route(method: &Method, path: &str) -> Option<Route> {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let get = method == Method::GET;
    let post = method == Method::POST;
    let own = |s: &&str| (*s).to_owned();
    Some(match segs.as_slice() {
        ["v2", "payments"] if post => Route::Create,
        ["v2", "payments"] if get => Route::ListPayments,
        ["v2", "payments", "cancel"] if post => Route::CancelByKey,
        ["v2", "payments", id] if get && !id.is_empty() => Route::GetPayment(own(id)),
        ["v2", "payments", id, "complete"] if post => Route::Complete(own(id)),
        ["v2", "payments", id, "cancel"] if post => Route::Cancel(own(id)),
        ["v2", "refunds"] if post => Route::Refund,
        ["v2", "refunds", id] if get && !id.is_empty() => Route::GetRefund(own(id)),
        _ => return None,
    })
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let token = pipeline::auth_credential(headers, "Bearer")?;
    (!token.is_empty()).then(|| token.to_owned())
}

fn invalid(code: &str, detail: &str, field: &str) -> Reply {
    square_error(400, "INVALID_REQUEST_ERROR", code, detail, Some(field))
}

fn missing(field: &str) -> Reply {
    invalid(
        "MISSING_REQUIRED_PARAMETER",
        "Missing required parameter.",
        field,
    )
}

fn not_found(what: &str, id: &str) -> Reply {
    square_error(
        404,
        "INVALID_REQUEST_ERROR",
        "NOT_FOUND",
        &format!("Could not find {what} with id '{id}'."),
        None,
    )
}

fn idempotency_key(body: &Value) -> Result<String, Reply> {
    match body.get("idempotency_key") {
        None | Some(Value::Null) => Err(missing("idempotency_key")),
        Some(Value::String(s)) if s.is_empty() => Err(invalid(
            "VALUE_TOO_SHORT",
            "Field must not be less than 1 characters long.",
            "idempotency_key",
        )),
        Some(Value::String(s)) if s.chars().count() > 45 => Err(invalid(
            "VALUE_TOO_LONG",
            "Field must not be greater than 45 characters long.",
            "idempotency_key",
        )),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(invalid(
            "EXPECTED_STRING",
            "Expected a string value.",
            "idempotency_key",
        )),
    }
}

fn opt_str(body: &Value, field: &str) -> Result<Option<String>, Reply> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid(
            "EXPECTED_STRING",
            "Expected a string value.",
            field,
        )),
    }
}

fn amount_money(body: &Value, field: &str) -> Result<(i64, String), Reply> {
    let m = match body.get(field) {
        None | Some(Value::Null) => return Err(missing(field)),
        Some(m @ Value::Object(_)) => m,
        Some(_) => return Err(invalid("EXPECTED_OBJECT", "Expected an object.", field)),
    };
    let amount = m.get("amount").and_then(Value::as_i64).ok_or_else(|| {
        invalid(
            "EXPECTED_INTEGER",
            "Expected an integer value.",
            &format!("{field}.amount"),
        )
    })?;
    if amount < 1 {
        return Err(invalid(
            "VALUE_TOO_LOW",
            "`amount_money.amount` must be greater than 0.",
            &format!("{field}.amount"),
        ));
    }
    let currency = m
        .get("currency")
        .and_then(Value::as_str)
        .ok_or_else(|| missing(&format!("{field}.currency")))?;
    if !CURRENCIES.contains(&currency) {
        return Err(invalid(
            "INVALID_VALUE",
            &format!("Currency {currency} is not supported by this location."),
            &format!("{field}.currency"),
        ));
    }
    Ok((amount, currency.to_owned()))
}

struct CreateParams {
    source_id: String,
    idempotency_key: String,
    amount: i64,
    currency: String,
    autocomplete: bool,
    location_id: Option<String>,
    reference_id: Option<String>,
    note: Option<String>,
    customer_id: Option<String>,
}

fn create_params(body: &Value) -> Result<CreateParams, Reply> {
    let idempotency_key = idempotency_key(body)?;
    let source_id = opt_str(body, "source_id")?.ok_or_else(|| missing("source_id"))?;
    let (amount, currency) = amount_money(body, "amount_money")?;
    let autocomplete = match body.get("autocomplete") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(invalid(
                "EXPECTED_BOOLEAN",
                "Expected a boolean value.",
                "autocomplete",
            ));
        }
    };
    Ok(CreateParams {
        source_id,
        idempotency_key,
        amount,
        currency,
        autocomplete,
        location_id: opt_str(body, "location_id")?,
        reference_id: opt_str(body, "reference_id")?,
        note: opt_str(body, "note")?,
        customer_id: opt_str(body, "customer_id")?,
    })
}

fn new_payment_id() -> String {
    format!("{}ZY", rand_from(BASE62, 27))
}

fn payment_reply(p: &Payment) -> Reply {
    Reply::json(200, &json!({"payment": p.to_json()}))
}

fn create(app: &Arc<App>, key: &str, p: CreateParams, forced: Option<String>) -> Reply {
    // Ok(()) approves; Err((status, code)) declines with a stored FAILED payment.
    let decided: Result<(), (u16, String)> = match forced {
        Some(code) => Err((402, code.to_ascii_uppercase())),
        None => match source_outcome(&p.source_id) {
            SourceOutcome::Approve => Ok(()),
            SourceOutcome::Decline(status, code) => Err((status, code.to_owned())),
            SourceOutcome::Reject(status, category, code, detail) => {
                return square_error(status, category, code, detail, None);
            }
        },
    };
    let t = now();
    let mut pay = Payment {
        id: new_payment_id(),
        status: Status::Completed,
        amount: p.amount,
        currency: p.currency,
        refunded: 0,
        idempotency_key: p.idempotency_key,
        location_id: p.location_id.unwrap_or_else(|| "LEMULATOR0001".to_owned()),
        order_id: format!("{}YY", rand_from(BASE62, 27)),
        reference_id: p.reference_id,
        note: p.note,
        customer_id: p.customer_id,
        created_at: t,
        updated_at: t,
        captured_at: None,
        voided_at: None,
        version_token: rand_from(BASE62, 45),
        refund_ids: Vec::new(),
        error: None,
    };
    let reply = match decided {
        Ok(()) if p.autocomplete => {
            pay.captured_at = Some(t);
            payment_reply(&pay)
        }
        Ok(()) => {
            pay.status = Status::Approved;
            payment_reply(&pay)
        }
        Err((status, code)) => {
            let e = json!({"code": code, "detail": format!("Authorization error: '{code}'"), "category": "PAYMENT_METHOD_ERROR"});
            pay.status = Status::Failed;
            pay.error = Some(e.clone());
            Reply::json(status, &json!({"errors": [e], "payment": pay.to_json()})).declined()
        }
    };
    let notice = Notice::Square {
        event_type: "payment.created".into(),
        kind: "payment",
        id: pay.id.clone(),
        object: pay.to_json(),
    };
    {
        let a = app.square.account(key);
        let mut d = lock(&a);
        d.by_idem
            .insert(pay.idempotency_key.clone(), pay.id.clone());
        d.order.push(pay.id.clone());
        d.payments.insert(pay.id.clone(), pay);
    }
    emit(app, key, &notice);
    reply
}

fn updated(app: &Arc<App>, key: &str, p: &Payment) {
    emit(
        app,
        key,
        &Notice::Square {
            event_type: "payment.updated".into(),
            kind: "payment",
            id: p.id.clone(),
            object: p.to_json(),
        },
    );
}

fn bad_state(p: &Payment, action: &str) -> Reply {
    square_error(
        400,
        "INVALID_REQUEST_ERROR",
        "BAD_REQUEST",
        &format!(
            "Payment {} cannot be {action}: it is {}.",
            p.id,
            p.status.as_str()
        ),
        None,
    )
}

fn complete(app: &Arc<App>, key: &str, id: &str, version_token: Option<String>) -> Reply {
    let a = app.square.account(key);
    let p = {
        let mut d = lock(&a);
        let Some(p) = d.payments.get_mut(id) else {
            return not_found("payment", id);
        };
        if let Some(v) = version_token
            && v != p.version_token
        {
            return invalid(
                "VERSION_MISMATCH",
                "The payment version token does not match the current version.",
                "version_token",
            );
        }
        match p.status {
            Status::Completed => return payment_reply(p),
            Status::Canceled | Status::Failed => return bad_state(p, "completed"),
            Status::Approved => {}
        }
        let t = now();
        p.status = Status::Completed;
        p.captured_at = Some(t);
        p.updated_at = t;
        p.version_token = rand_from(BASE62, 45);
        p.clone()
    };
    updated(app, key, &p);
    payment_reply(&p)
}

fn cancel_locked(d: &mut Data, id: &str) -> Result<(Payment, bool), Reply> {
    let Some(p) = d.payments.get_mut(id) else {
        return Err(not_found("payment", id));
    };
    match p.status {
        Status::Canceled => return Ok((p.clone(), false)),
        Status::Completed | Status::Failed => return Err(bad_state(p, "canceled")),
        Status::Approved => {}
    }
    let t = now();
    p.status = Status::Canceled;
    p.voided_at = Some(t);
    p.updated_at = t;
    p.version_token = rand_from(BASE62, 45);
    Ok((p.clone(), true))
}

fn cancel(app: &Arc<App>, key: &str, id: &str) -> Reply {
    let a = app.square.account(key);
    let r = cancel_locked(&mut lock(&a), id);
    match r {
        Ok((p, changed)) => {
            if changed {
                updated(app, key, &p);
            }
            payment_reply(&p)
        }
        Err(e) => e,
    }
}

fn cancel_by_key(app: &Arc<App>, key: &str, idem: &str) -> Reply {
    let a = app.square.account(key);
    let r = {
        let mut d = lock(&a);
        match d.by_idem.get(idem).cloned() {
            None => return Reply::json(200, &json!({})),
            Some(id) => cancel_locked(&mut d, &id),
        }
    };
    match r {
        Ok((p, changed)) => {
            if changed {
                updated(app, key, &p);
            }
            Reply::json(200, &json!({}))
        }
        Err(e) => e,
    }
}

struct RefundParams {
    payment_id: String,
    amount: i64,
    currency: String,
    reason: Option<String>,
}

fn refund_params(body: &Value) -> Result<RefundParams, Reply> {
    idempotency_key(body)?;
    let payment_id = opt_str(body, "payment_id")?.ok_or_else(|| missing("payment_id"))?;
    let (amount, currency) = amount_money(body, "amount_money")?;
    Ok(RefundParams {
        payment_id,
        amount,
        currency,
        reason: opt_str(body, "reason")?,
    })
}

fn refund(app: &Arc<App>, key: &str, p: RefundParams) -> Reply {
    let a = app.square.account(key);
    let (refund, payment) = {
        let mut d = lock(&a);
        let Some(pay) = d.payments.get_mut(&p.payment_id) else {
            return not_found("payment", &p.payment_id);
        };
        if pay.status != Status::Completed {
            return square_error(
                400,
                "REFUND_ERROR",
                "PAYMENT_NOT_REFUNDABLE",
                &format!(
                    "Payment {} is {} and cannot be refunded.",
                    pay.id,
                    pay.status.as_str()
                ),
                Some("payment_id"),
            );
        }
        if p.currency != pay.currency {
            return invalid(
                "CURRENCY_MISMATCH",
                "The refund currency does not match the payment currency.",
                "amount_money.currency",
            );
        }
        if p.amount > pay.amount - pay.refunded {
            return square_error(
                400,
                "REFUND_ERROR",
                "REFUND_AMOUNT_INVALID",
                "The requested refund amount exceeds the amount available to refund.",
                Some("amount_money.amount"),
            );
        }
        let t = now();
        let r = Refund {
            id: format!("{}_{}", pay.id, rand_from(BASE62, 44)),
            payment_id: pay.id.clone(),
            amount: p.amount,
            currency: p.currency,
            status: "PENDING",
            reason: p.reason,
            location_id: pay.location_id.clone(),
            order_id: format!("{}YY", rand_from(BASE62, 27)),
            created_at: t,
            updated_at: t,
        };
        pay.refunded += r.amount;
        pay.refund_ids.push(r.id.clone());
        pay.updated_at = t;
        pay.version_token = rand_from(BASE62, 45);
        let payment = pay.clone();
        let mut done = r.clone();
        done.status = "COMPLETED";
        d.refunds.insert(done.id.clone(), done);
        (r, payment)
    };
    let reply = Reply::json(200, &json!({"refund": refund.to_json()}));
    let mut done = refund.clone();
    done.status = "COMPLETED";
    for (event_type, kind, id, object) in [
        ("refund.created", "refund", &refund.id, refund.to_json()),
        ("payment.updated", "payment", &payment.id, payment.to_json()),
        ("refund.updated", "refund", &refund.id, done.to_json()),
    ] {
        emit(
            app,
            key,
            &Notice::Square {
                event_type: event_type.into(),
                kind,
                id: id.clone(),
                object,
            },
        );
    }
    reply
}

fn read(app: &Arc<App>, key: &str, r: &Route) -> Reply {
    let a = app.square.account(key);
    let d = lock(&a);
    match r {
        Route::GetPayment(id) => match d.payments.get(id) {
            Some(p) => payment_reply(p),
            None => not_found("payment", id),
        },
        Route::GetRefund(id) => match d.refunds.get(id) {
            Some(r) => Reply::json(200, &json!({"refund": r.to_json()})),
            None => not_found("refund", id),
        },
        Route::ListPayments => {
            let payments: Vec<Value> = d
                .order
                .iter()
                .rev()
                .take(100)
                .filter_map(|id| d.payments.get(id))
                .map(Payment::to_json)
                .collect();
            Reply::json(200, &json!({"payments": payments}))
        }
        Route::Create
        | Route::Complete(_)
        | Route::Cancel(_)
        | Route::CancelByKey
        | Route::Refund => Reply::json(500, &json!({})),
    }
}

/// Parses the body and builds the operation (and its idempotency claim) of a write.
fn write_op(
    app: &Arc<App>,
    key: &str,
    route: Route,
    body: &[u8],
    path: &str,
) -> Result<(Op, Option<Idem>), Reply> {
    let parsed: Value = if body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(body).map_err(|e| {
            square_error(
                400,
                "INVALID_REQUEST_ERROR",
                "BAD_REQUEST",
                &format!("Invalid JSON body: {e}"),
                None,
            )
        })?
    };
    if !parsed.is_object() {
        return Err(square_error(
            400,
            "INVALID_REQUEST_ERROR",
            "BAD_REQUEST",
            "The body must be a JSON object.",
            None,
        ));
    }
    let app2 = app.clone();
    let key2 = key.to_owned();
    let idem_of = |k: String| Idem {
        key: k,
        scope: path.to_owned(),
        request: parsed.clone(),
    };
    Ok(match route {
        Route::Create => {
            let p = create_params(&parsed)?;
            let idem = idem_of(p.idempotency_key.clone());
            (
                Box::new(move |forced| create(&app2, &key2, p, forced)) as Op,
                Some(idem),
            )
        }
        Route::Complete(id) => {
            let v = opt_str(&parsed, "version_token")?;
            (
                Box::new(move |_| complete(&app2, &key2, &id, v)) as Op,
                None,
            )
        }
        Route::Cancel(id) => (Box::new(move |_| cancel(&app2, &key2, &id)) as Op, None),
        Route::CancelByKey => {
            let k = idempotency_key(&parsed)?;
            (
                Box::new(move |_| cancel_by_key(&app2, &key2, &k)) as Op,
                None,
            )
        }
        Route::Refund => {
            let p = refund_params(&parsed)?;
            let idem = idem_of(idempotency_key(&parsed)?);
            (Box::new(move |_| refund(&app2, &key2, p)) as Op, Some(idem))
        }
        Route::ListPayments | Route::GetPayment(_) | Route::GetRefund(_) => {
            return Err(square_error(
                405,
                "INVALID_REQUEST_ERROR",
                "BAD_REQUEST",
                "Not a write.",
                None,
            ));
        }
    })
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
            square_error(
                401,
                "AUTHENTICATION_ERROR",
                "UNAUTHORIZED",
                "This request could not be authorized.",
                None,
            ),
        );
    };
    let path = uri.path().strip_prefix("/square").unwrap_or("").to_owned();
    let Some(route) = route(&method, &path) else {
        return pipeline::client_error(
            &app,
            &key,
            square_error(
                404,
                "INVALID_REQUEST_ERROR",
                "NOT_FOUND",
                &format!("Resource not found: {method} {path}"),
                None,
            ),
        );
    };
    let reply = match route {
        r @ (Route::ListPayments | Route::GetPayment(_) | Route::GetRefund(_)) => {
            let app2 = app.clone();
            let key2 = key.clone();
            let op: Op = Box::new(move |_| read(&app2, &key2, &r));
            pipeline::run(
                &app,
                Provider::Square,
                &key,
                method.as_str(),
                false,
                None,
                op,
            )
            .await
        }
        w @ (Route::Create
        | Route::Complete(_)
        | Route::Cancel(_)
        | Route::CancelByKey
        | Route::Refund) => match write_op(&app, &key, w, &body, &path) {
            Ok((op, idem)) => {
                pipeline::run(
                    &app,
                    Provider::Square,
                    &key,
                    method.as_str(),
                    true,
                    idem,
                    op,
                )
                .await
            }
            Err(e) => {
                app.stats
                    .record(&key, Outcome::ClientError, Some(e.status), false);
                e
            }
        },
    };
    reply.into_response()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn routes_and_sources() {
        assert!(matches!(
            route(&Method::POST, "/v2/payments/cancel"),
            Some(Route::CancelByKey)
        ));
        assert!(
            matches!(route(&Method::POST, "/v2/payments/abc/complete"), Some(Route::Complete(id)) if id == "abc")
        );
        assert!(route(&Method::DELETE, "/v2/payments").is_none());
        assert_eq!(source_outcome("cnon:card-nonce-ok"), SourceOutcome::Approve);
        assert_eq!(
            source_outcome("cnon:card-nonce-declined"),
            SourceOutcome::Decline(402, "GENERIC_DECLINE")
        );
        assert!(matches!(
            source_outcome("cnon:nope"),
            SourceOutcome::Reject(400, _, "INVALID_CARD_DATA", _)
        ));
    }
}
