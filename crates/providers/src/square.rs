//! Square Payments API v2 adapter: pure translation, no IO (REFERENCE.md §2).
//!
//! Requests (JSON; every request carries `Square-Version: 2025-08-20` ([`SQUARE_VERSION`], the
//! spec snapshot REFERENCE.md §0 was compiled from); `Authorization: Bearer <access token>` is
//! added by the executor, never here):
//!
//! | op | call | body |
//! |---|---|---|
//! | authorize | `POST /v2/payments` | `source_id` (the token), `idempotency_key` (the attempt id, ≤ 45 chars, §2.2), `amount_money{amount: minor units, currency}`, `autocomplete` (`true` = automatic capture, `false` = authorize only, §2.1), `reference_id` (our payment id, ≤ 40 chars), `note` (merchant reference, when given) |
//! | capture | `POST /v2/payments/{id}/complete` | `{}` — Square completes the **full** approved amount; CompletePayment takes only `version_token` (§2.1), so a partial capture is refused without a call ([`PARTIAL_CAPTURE_UNSUPPORTED`]) |
//! | void | `POST /v2/payments/{id}/cancel` | `{}` (APPROVED payments only, §2.1) |
//! | void without a payment id | `POST /v2/payments/cancel` | `{idempotency_key}` of the **create** (§2.1 "void by idempotency key": answers `{}` whether or not a payment was found) |
//! | refund | `POST /v2/refunds` | `idempotency_key` (the refund's key, so a repeat never refunds twice, §2.2), `amount_money`, `payment_id`, `reason` |
//! | retrieve with a reference | `GET /v2/payments/{id}` | — |
//! | retrieve with the original authorize | the create replayed with the same body and `idempotency_key` | as authorize |
//!
//! Reconciling an unknown create ([`retrieve_call`]; contract on [`crate::Executor::retrieve`]):
//! Square answers a repeat of the same `idempotency_key` with the same body with **the first
//! result** (§2.2: "The same key with the same body returns the first result"), and
//! `TEMPORARY_ERROR` may be retried with the same key (§2.2). So the adapter **replays the
//! create** ([`parse_replay`]): the payment found (COMPLETED/APPROVED = approved, FAILED = its
//! decline) is the one charge; a never-arrived create runs exactly once. Square publishes no key
//! retention window (§2.2), so an old key could in principle run again; the engine reconciles
//! within minutes. The cancel-by-idempotency-key call (§2.1) is **not** used to reconcile: it
//! voids what it finds and answers `{}` either way, so it can neither report an existing charge
//! nor undo a COMPLETED one; it is offered as a void when no payment id is known
//! ([`void_call`]). Without a reference or the original request the retrieve is
//! `unknown_outcome` without a call (Square has no search by idempotency key).
//!
//! Amounts (§0): `amount_money.amount` is an integer in the currency's smallest unit (JPY 1000 =
//! ¥1000). Square processes payments only in the currency of the seller's location, and its
//! sellers are in US, CA, GB, AU, JP, IE, FR, ES
//! (<https://developer.squareup.com/docs/payments-api/overview>, not tabulated in REFERENCE.md), so
//! [`check_amount`] refuses any other currency ([`SUPPORTED_CURRENCIES`]: AUD, CAD, EUR, GBP,
//! JPY, USD) with a `validation_error` and no call: KRW, KWD and BHD are refused.
//!
//! Classification ([`parse_response`], REFERENCE.md §2.3, §5). Square puts declines in
//! `errors[]` (and a FAILED `payment`), with HTTP 402 or 400 that Square does not tabulate, so
//! the class comes from `code` first, then `category`, then the HTTP status:
//!
//! | answer | class |
//! |---|---|
//! | 2xx `payment.status` COMPLETED | approved, `captured = true` |
//! | 2xx APPROVED | approved (authorize only) |
//! | 2xx PENDING | unknown_outcome (not final) |
//! | 2xx CANCELED | void: approved; authorize/retrieve: provider_unavailable (nothing charged) |
//! | 2xx FAILED | classified by its `card_details.errors[].code` |
//! | 2xx `refund.status` PENDING / COMPLETED | approved; REJECTED / FAILED: hard_decline |
//! | 2xx `{}` on cancel-by-key | approved (nothing approved is left under the key) |
//! | `errors[].code` in [`HARD_DECLINE_CODES`] / [`SOFT_DECLINE_CODES`] (incl. contested `GENERIC_DECLINE`, `CARD_DECLINED`) / [`CUSTOMER_ACTION_CODES`] | hard / soft / needs_customer_action |
//! | code in [`VALIDATION_CODES`] or category `INVALID_REQUEST_ERROR` | validation_error |
//! | code in [`AUTH_CONFIG_CODES`] or category `AUTHENTICATION_ERROR`, HTTP 401/403 | auth_config_error |
//! | `RATE_LIMITED`, category `RATE_LIMIT_ERROR`, HTTP 429 | rate_limited |
//! | code in [`PROVIDER_SIDE_CODES`] (`SERVICE_UNAVAILABLE`, `BAD_GATEWAY`, `TEMPORARY_ERROR`), HTTP 502/503 | provider_unavailable |
//! | `INTERNAL_SERVER_ERROR`, HTTP 500 (deviation from §2.3, see [`UNKNOWN_CODES`]), `GATEWAY_TIMEOUT`, `REQUEST_TIMEOUT`, HTTP 504, HTTP 409 without a listed code (same key still in flight) | unknown_outcome |
//! | other `PAYMENT_METHOD_ERROR` code | soft_decline; other `REFUND_ERROR` code: hard_decline |
//! | unreadable body on authorize or any 2xx | unknown_outcome (never a decline, §8) |
//! | any failure on **retrieve** | unknown_outcome |

use crate::http::{Body, HttpRequest, HttpResponse, Method, encode_path_segment};
use crate::stripe::Call;
use crate::{
    AuthorizeRequest, CaptureRequest, Operation, ProviderResult, RefundRequest, RetrieveRequest,
    VoidRequest,
};
use routing::{CaptureMode, Money, OutcomeClass};
use serde_json::{Value, json};

/// Pinned `Square-Version` (REFERENCE.md §0: the spec snapshot 2025-08-20).
pub const SQUARE_VERSION: &str = "2025-08-20";
/// Sandbox base URL (REFERENCE.md §0); production is `https://connect.squareup.com`.
pub const DEFAULT_BASE_URL: &str = "https://connect.squareupsandbox.com";
/// Longest `idempotency_key` Square accepts (REFERENCE.md §2.2).
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 45;
/// Longest `reference_id` (Square Payment object).
pub const MAX_REFERENCE_ID_LEN: usize = 40;

/// Currencies of Square's seller countries (module docs), upper case.
pub const SUPPORTED_CURRENCIES: &[&str] = &["AUD", "CAD", "EUR", "GBP", "JPY", "USD"];

/// Message of a refused partial capture.
pub const PARTIAL_CAPTURE_UNSUPPORTED: &str = "Square's CompletePayment always captures the full \
approved amount (it takes only version_token, REFERENCE.md §2.1); a partial capture is not \
supported on Square. Capture without an amount, or void and charge again. Not sent.";

/// Codes classed hard_decline (REFERENCE.md §2.3).
pub const HARD_DECLINE_CODES: &[&str] = &[
    "INVALID_ACCOUNT",
    "CARD_EXPIRED",
    "CARD_NOT_SUPPORTED",
    "INVALID_CARD",
    "INVALID_CARD_DATA",
    "PAN_FAILURE",
    "CVV_FAILURE",
    "ADDRESS_VERIFICATION_FAILURE",
    "EXPIRATION_FAILURE",
    "INVALID_EXPIRATION",
    "BAD_EXPIRATION",
    "INVALID_POSTAL_CODE",
    "INVALID_PIN",
    "ALLOWABLE_PIN_TRIES_EXCEEDED",
    "CARDHOLDER_INSUFFICIENT_PERMISSIONS",
    "MANUALLY_ENTERED_PAYMENT_NOT_SUPPORTED",
    "CHIP_INSERTION_REQUIRED",
    "REFUND_DECLINED",
    "PAYMENT_NOT_REFUNDABLE",
];

/// Codes classed soft_decline (REFERENCE.md §2.3; `GENERIC_DECLINE` and `CARD_DECLINED` are the
/// contested ones, soft by this project's choice, §5).
pub const SOFT_DECLINE_CODES: &[&str] = &[
    "INSUFFICIENT_FUNDS",
    "TRANSACTION_LIMIT",
    "VOICE_FAILURE",
    "CARD_DECLINED_CALL_ISSUER",
    "GENERIC_DECLINE",
    "CARD_DECLINED",
];

/// Codes that need the customer (SCA `verification_token`, REFERENCE.md §2.3).
pub const CUSTOMER_ACTION_CODES: &[&str] = &["CARD_DECLINED_VERIFICATION_REQUIRED"];

/// Codes classed validation_error (REFERENCE.md §2.3; `CARD_TOKEN_USED` is validation per §5).
pub const VALIDATION_CODES: &[&str] = &[
    "MISSING_REQUIRED_PARAMETER",
    "INVALID_VALUE",
    "CARD_TOKEN_USED",
    "CARD_TOKEN_EXPIRED",
    "IDEMPOTENCY_KEY_REUSED",
    "PAYMENT_AMOUNT_MISMATCH",
    "INVALID_FEES",
    "VERSION_MISMATCH",
    "REFUND_AMOUNT_INVALID",
    "NOT_FOUND",
    "BAD_REQUEST",
];

/// Codes classed auth_config_error (REFERENCE.md §2.3).
pub const AUTH_CONFIG_CODES: &[&str] = &[
    "UNAUTHORIZED",
    "ACCESS_TOKEN_EXPIRED",
    "ACCESS_TOKEN_REVOKED",
    "FORBIDDEN",
    "INSUFFICIENT_SCOPES",
    "CARD_PROCESSING_NOT_ENABLED",
    "INVALID_LOCATION",
    "INSUFFICIENT_PERMISSIONS",
    "PAYMENT_LIMIT_EXCEEDED",
];

/// Codes classed provider_unavailable (REFERENCE.md §2.3).
pub const PROVIDER_SIDE_CODES: &[&str] = &["SERVICE_UNAVAILABLE", "BAD_GATEWAY", "TEMPORARY_ERROR"];

/// Codes classed unknown_outcome (REFERENCE.md §2.3: retry with the same key).
/// `INTERNAL_SERVER_ERROR` is here, not provider-side as §2.3 lists it: a 500 can come after the
/// payment was made, so the engine must reconcile (replay the create with its key, which returns
/// the first result, §2.2) before any fallback, the same rule as Stripe's 500 (§1.2).
pub const UNKNOWN_CODES: &[&str] = &[
    "GATEWAY_TIMEOUT",
    "REQUEST_TIMEOUT",
    "INTERNAL_SERVER_ERROR",
];

// ---------------------------------------------------------------------------------------------
// Classifier
// ---------------------------------------------------------------------------------------------

/// Class of one Square error (`code`, `category`) seen with HTTP `status` (module table).
pub fn classify_error(code: Option<&str>, category: Option<&str>, status: u16) -> OutcomeClass {
    let code_class = code.and_then(|c| {
        let lists: [(&[&str], OutcomeClass); 8] = [
            (HARD_DECLINE_CODES, OutcomeClass::HardDecline),
            (SOFT_DECLINE_CODES, OutcomeClass::SoftDecline),
            (CUSTOMER_ACTION_CODES, OutcomeClass::NeedsCustomerAction),
            (VALIDATION_CODES, OutcomeClass::ValidationError),
            (AUTH_CONFIG_CODES, OutcomeClass::AuthConfigError),
            (&["RATE_LIMITED"], OutcomeClass::RateLimited),
            (PROVIDER_SIDE_CODES, OutcomeClass::ProviderUnavailable),
            (UNKNOWN_CODES, OutcomeClass::UnknownOutcome),
        ];
        lists
            .iter()
            .find(|(list, _)| list.contains(&c))
            .map(|(_, class)| *class)
    });
    if let Some(class) = code_class {
        return class;
    }
    if status == 409 {
        // Our own request with this key is still in flight (REFERENCE.md §2.2): it may charge.
        return OutcomeClass::UnknownOutcome;
    }
    match category {
        Some("PAYMENT_METHOD_ERROR") => OutcomeClass::SoftDecline,
        Some("REFUND_ERROR") => OutcomeClass::HardDecline,
        Some("INVALID_REQUEST_ERROR") => OutcomeClass::ValidationError,
        Some("AUTHENTICATION_ERROR" | "MERCHANT_SUBSCRIPTION_ERROR") => {
            OutcomeClass::AuthConfigError
        }
        Some("RATE_LIMIT_ERROR") => OutcomeClass::RateLimited,
        _ => class_of_status(status),
    }
}

/// Class of an HTTP status alone.
fn class_of_status(status: u16) -> OutcomeClass {
    match status {
        401 | 403 => OutcomeClass::AuthConfigError,
        409 => OutcomeClass::UnknownOutcome,
        429 => OutcomeClass::RateLimited,
        402 => OutcomeClass::SoftDecline,
        400..=499 => OutcomeClass::ValidationError,
        502 | 503 => OutcomeClass::ProviderUnavailable,
        // 500 (may come after the payment was made), 504 and anything unexpected.
        _ => OutcomeClass::UnknownOutcome,
    }
}

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

fn headers() -> Vec<(String, String)> {
    vec![("Square-Version".to_owned(), SQUARE_VERSION.to_owned())]
}

fn money_json(m: &Money) -> Value {
    json!({"amount": m.amount_minor, "currency": m.currency.as_str()})
}

fn refused(raw_code: &str, message: String) -> Call {
    let mut r = ProviderResult::new(OutcomeClass::ValidationError).with_message(message);
    r.raw_code = Some(raw_code.to_owned());
    Call::Answer(r)
}

/// `Ok` when Square can take `money` ([`SUPPORTED_CURRENCIES`]); else the message of the
/// `validation_error` returned without a call.
pub fn check_amount(money: &Money) -> Result<(), String> {
    let c = money.currency.as_str();
    if SUPPORTED_CURRENCIES.contains(&c) {
        Ok(())
    } else {
        Err(format!(
            "Square does not process {c}: payments must be in the currency of a Square seller \
             location (AUD, CAD, EUR, GBP, JPY, USD). Not sent."
        ))
    }
}

fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY_LEN {
        Err(format!(
            "Square idempotency_key must be 1–{MAX_IDEMPOTENCY_KEY_LEN} characters (REFERENCE.md \
             §2.2), got {}. Not sent.",
            key.len()
        ))
    } else {
        Ok(())
    }
}

/// `POST /v2/payments` (module table).
pub fn authorize_request(req: &AuthorizeRequest) -> HttpRequest {
    let mut body = json!({
        "source_id": req.token,
        "idempotency_key": req.idempotency_key,
        "amount_money": money_json(&req.money),
        "autocomplete": matches!(req.capture, CaptureMode::Automatic),
    });
    if !req.payment_id.is_empty() && req.payment_id.len() <= MAX_REFERENCE_ID_LEN {
        body["reference_id"] = json!(req.payment_id);
    }
    if let Some(order) = &req.merchant_reference {
        body["note"] = json!(order);
    }
    HttpRequest {
        method: Method::Post,
        path: "/v2/payments".to_owned(),
        headers: headers(),
        body: Body::Json(body),
    }
}

/// The plan of an authorize: [`authorize_request`], or a `validation_error` without a call for
/// an unsupported currency or an unusable idempotency key.
pub fn authorize_call(req: &AuthorizeRequest) -> Call {
    if let Err(m) = check_amount(&req.money) {
        return refused("currency_not_supported", m);
    }
    if let Err(m) = check_key(&req.idempotency_key) {
        return refused("idempotency_key_invalid", m);
    }
    Call::Send {
        request: authorize_request(req),
        parse: parse_response,
    }
}

/// `POST /v2/payments/{id}/complete` with `{}`.
pub fn capture_request(req: &CaptureRequest) -> HttpRequest {
    HttpRequest {
        method: Method::Post,
        path: format!(
            "/v2/payments/{}/complete",
            encode_path_segment(&req.provider_reference)
        ),
        headers: headers(),
        body: Body::Json(json!({})),
    }
}

/// The plan of a capture: [`capture_request`] when no amount is given; a partial amount is a
/// `validation_error` without a call ([`PARTIAL_CAPTURE_UNSUPPORTED`]).
pub fn capture_call(req: &CaptureRequest) -> Call {
    match &req.amount {
        Some(_) => refused(
            "partial_capture_not_supported",
            PARTIAL_CAPTURE_UNSUPPORTED.to_owned(),
        ),
        None => Call::Send {
            request: capture_request(req),
            parse: parse_response,
        },
    }
}

/// `POST /v2/payments/cancel` `{idempotency_key}`: voids the payment a create with this key made,
/// if any (REFERENCE.md §2.1).
pub fn cancel_by_idempotency_key_request(create_idempotency_key: &str) -> HttpRequest {
    HttpRequest {
        method: Method::Post,
        path: "/v2/payments/cancel".to_owned(),
        headers: headers(),
        body: Body::Json(json!({"idempotency_key": create_idempotency_key})),
    }
}

/// `POST /v2/payments/{id}/cancel`, or, when `provider_reference` is empty, the cancel by
/// idempotency key with `req.idempotency_key` taken as the **create's** key.
pub fn void_request(req: &VoidRequest) -> HttpRequest {
    if req.provider_reference.is_empty() {
        return cancel_by_idempotency_key_request(&req.idempotency_key);
    }
    HttpRequest {
        method: Method::Post,
        path: format!(
            "/v2/payments/{}/cancel",
            encode_path_segment(&req.provider_reference)
        ),
        headers: headers(),
        body: Body::Json(json!({})),
    }
}

/// The plan of a void: [`void_request`].
pub fn void_call(req: &VoidRequest) -> Call {
    Call::Send {
        request: void_request(req),
        parse: parse_response,
    }
}

/// `POST /v2/refunds` (module table).
pub fn refund_request(req: &RefundRequest) -> HttpRequest {
    let mut body = json!({
        "idempotency_key": req.idempotency_key,
        "amount_money": money_json(&req.money),
        "payment_id": req.provider_reference,
    });
    if let Some(reason) = &req.reason {
        body["reason"] = json!(reason);
    }
    HttpRequest {
        method: Method::Post,
        path: "/v2/refunds".to_owned(),
        headers: headers(),
        body: Body::Json(body),
    }
}

/// The plan of a refund: [`refund_request`], or a `validation_error` without a call.
pub fn refund_call(req: &RefundRequest) -> Call {
    if let Err(m) = check_amount(&req.money) {
        return refused("currency_not_supported", m);
    }
    if let Err(m) = check_key(&req.idempotency_key) {
        return refused("idempotency_key_invalid", m);
    }
    Call::Send {
        request: refund_request(req),
        parse: parse_response,
    }
}

/// `GET /v2/payments/{id}`.
pub fn get_payment_request(payment_id: &str) -> HttpRequest {
    HttpRequest {
        method: Method::Get,
        path: format!("/v2/payments/{}", encode_path_segment(payment_id)),
        headers: headers(),
        body: Body::Empty,
    }
}

/// The plan of a retrieve (module docs): GET by reference; else replay the original create
/// ([`parse_replay`]) when its key matches; else `unknown_outcome` without a call.
pub fn retrieve_call(req: &RetrieveRequest) -> Call {
    if let Some(id) = req.provider_reference.as_deref().filter(|r| !r.is_empty()) {
        return Call::Send {
            request: get_payment_request(id),
            parse: parse_response,
        };
    }
    Call::replay_original(
        req,
        "retrieve impossible: no Square payment id and no original request to replay \
             (Square has no lookup by idempotency key); still unknown",
        authorize_call,
        parse_replay,
    )
}

// ---------------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------------

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn owned(s: Option<&str>) -> Option<String> {
    s.map(str::to_owned)
}

/// The first error of `errors[]` as `(code, category, detail)`.
fn first_error(v: &Value) -> Option<(Option<&str>, Option<&str>, Option<&str>)> {
    let e = v.get("errors")?.as_array()?.first()?;
    Some((
        str_at(e, "code"),
        str_at(e, "category"),
        str_at(e, "detail"),
    ))
}

/// Parses a Square answer to `op` (module table). `latency_ms` is left 0.
pub fn parse_response(op: Operation, resp: &HttpResponse) -> ProviderResult {
    let mut r = match resp.json().filter(Value::is_object) {
        Some(v) if resp.is_success() => parse_success(op, &v),
        Some(v) => parse_error(resp.status, &v),
        None => unreadable(op, resp.status),
    };
    r.http_status = Some(resp.status);
    if op == Operation::Retrieve && !resp.is_success() {
        r.class = OutcomeClass::UnknownOutcome;
        let m = r.message.take().unwrap_or_default();
        r.message = Some(format!("retrieve failed (HTTP {}): {m}", resp.status));
    }
    r
}

fn unreadable(op: Operation, status: u16) -> ProviderResult {
    let class = if (200..300).contains(&status) || op == Operation::Authorize {
        OutcomeClass::UnknownOutcome
    } else {
        class_of_status(status)
    };
    ProviderResult::new(class).with_message(format!(
        "unreadable {} response body from Square (HTTP {status})",
        op.as_str()
    ))
}

fn parse_success(op: Operation, v: &Value) -> ProviderResult {
    if let Some(refund) = v.get("refund").filter(|r| r.is_object()) {
        return classify_refund(refund);
    }
    match v.get("payment").filter(|p| p.is_object()) {
        Some(p) => classify_payment(op, p),
        None if op == Operation::Void => {
            // Cancel by idempotency key answers `{}` (REFERENCE.md §2.1).
            ProviderResult::new(OutcomeClass::Approved)
                .with_message("canceled by idempotency key: no approved payment remains under it")
        }
        None => ProviderResult::new(OutcomeClass::UnknownOutcome)
            .with_message(format!("Square {} response without a payment", op.as_str())),
    }
}

fn parse_error(status: u16, v: &Value) -> ProviderResult {
    let mut r = match v.get("payment").filter(|p| p.is_object()) {
        Some(p) => classify_payment(Operation::Retrieve, p),
        None => ProviderResult::new(OutcomeClass::UnknownOutcome),
    };
    let (code, category, detail) = first_error(v).unwrap_or((None, None, None));
    r.class = classify_error(code, category, status);
    r.raw_code = owned(code);
    r.decline_code = match r.class {
        OutcomeClass::HardDecline
        | OutcomeClass::SoftDecline
        | OutcomeClass::NeedsCustomerAction => owned(code),
        OutcomeClass::Approved
        | OutcomeClass::ValidationError
        | OutcomeClass::AuthConfigError
        | OutcomeClass::RateLimited
        | OutcomeClass::ProviderUnavailable
        | OutcomeClass::UnknownOutcome => None,
    };
    r.message = Some(match (category, detail) {
        (Some(c), Some(d)) => format!("{d} [{c}]"),
        (None, Some(d)) => d.to_owned(),
        (Some(c), None) => c.to_owned(),
        (None, None) => format!("HTTP {status} from Square without errors[]"),
    });
    r
}

/// Classifies a Square Payment object as the answer to `op` (also used for webhook payloads and
/// declines, with [`Operation::Retrieve`]).
pub fn classify_payment(op: Operation, p: &Value) -> ProviderResult {
    let status = str_at(p, "status");
    let mut r = ProviderResult::new(OutcomeClass::UnknownOutcome);
    r.provider_reference = owned(str_at(p, "id"));
    r.provider_status = owned(status);
    let unexpected = |mut r: ProviderResult| {
        r.message = Some(format!(
            "unexpected Square payment status {:?} after {}",
            status.unwrap_or("<none>"),
            op.as_str()
        ));
        r
    };
    match (op, status) {
        (Operation::Authorize | Operation::Retrieve | Operation::Capture, Some("COMPLETED")) => {
            r.class = OutcomeClass::Approved;
            r.captured = true;
            r
        }
        (Operation::Authorize | Operation::Retrieve, Some("APPROVED")) => {
            r.class = OutcomeClass::Approved;
            r
        }
        (Operation::Authorize | Operation::Retrieve, Some("PENDING")) => {
            r.message = Some("Square payment is PENDING; outcome not final".to_owned());
            r
        }
        (Operation::Authorize | Operation::Retrieve, Some("CANCELED")) => {
            r.class = OutcomeClass::ProviderUnavailable;
            r.message = Some("Square payment is CANCELED; nothing charged".to_owned());
            r
        }
        (Operation::Void, Some("CANCELED")) => {
            r.class = OutcomeClass::Approved;
            r
        }
        (Operation::Authorize | Operation::Retrieve, Some("FAILED")) => {
            let err = p
                .pointer("/card_details/errors")
                .and_then(|_| p.get("card_details"))
                .and_then(first_error);
            let (code, category, detail) =
                err.unwrap_or((None, Some("PAYMENT_METHOD_ERROR"), None));
            r.class = classify_error(code, category, 402);
            r.raw_code = owned(code);
            r.decline_code = owned(code);
            r.message = Some(detail.unwrap_or("Square payment FAILED").to_owned());
            r
        }
        _ => unexpected(r),
    }
}

/// Classifies a Square Refund object: PENDING/COMPLETED approved (accepted; Square refunds start
/// PENDING, REFERENCE.md §2.1), REJECTED/FAILED hard_decline, anything else unknown_outcome.
pub fn classify_refund(refund: &Value) -> ProviderResult {
    let status = str_at(refund, "status");
    let mut r = ProviderResult::new(OutcomeClass::UnknownOutcome);
    r.provider_reference = owned(str_at(refund, "id"));
    r.provider_status = owned(status);
    match status {
        Some("PENDING" | "COMPLETED") => r.class = OutcomeClass::Approved,
        Some("REJECTED" | "FAILED") => {
            r.class = OutcomeClass::HardDecline;
            r.message = Some("Square refund failed".to_owned());
        }
        _ => {
            r.message = Some(format!(
                "unexpected Square refund status {:?}",
                status.unwrap_or("<none>")
            ));
        }
    }
    r
}

/// Classifies Square's answer to a **replayed** create as a retrieve result (contract on
/// [`crate::Executor::retrieve`]): a payment (approved, or its FAILED decline) and card-data
/// validation answers are definitive; `IDEMPOTENCY_KEY_REUSED` (the original differs and did
/// arrive), 409 (in flight), 5xx, 429, 401/403 and unreadable bodies are `unknown_outcome`.
pub fn parse_replay(_op: Operation, resp: &HttpResponse) -> ProviderResult {
    let mut r = parse_response(Operation::Authorize, resp);
    let code = r.raw_code.clone();
    let definitive = match r.class {
        OutcomeClass::Approved
        | OutcomeClass::HardDecline
        | OutcomeClass::SoftDecline
        | OutcomeClass::NeedsCustomerAction => true,
        OutcomeClass::ValidationError => {
            resp.status == 400 && code.as_deref() != Some("IDEMPOTENCY_KEY_REUSED")
        }
        OutcomeClass::ProviderUnavailable => {
            resp.is_success() && r.provider_status.as_deref() == Some("CANCELED")
        }
        OutcomeClass::RateLimited
        | OutcomeClass::AuthConfigError
        | OutcomeClass::UnknownOutcome => false,
    };
    if definitive {
        if r.message.is_none() {
            r.message = Some(
                "create replayed with its idempotency key: Square returned the first result"
                    .to_owned(),
            );
        }
        return r;
    }
    let detail = r.message.take().unwrap_or_default();
    r.class = OutcomeClass::UnknownOutcome;
    r.message = Some(format!(
        "create replay answered HTTP {}: does not settle the outcome; still unknown ({detail})",
        resp.status
    ));
    r
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn code_lists_do_not_overlap() {
        let lists = [
            HARD_DECLINE_CODES,
            SOFT_DECLINE_CODES,
            CUSTOMER_ACTION_CODES,
            VALIDATION_CODES,
            AUTH_CONFIG_CODES,
            PROVIDER_SIDE_CODES,
            UNKNOWN_CODES,
        ];
        for (i, a) in lists.iter().enumerate() {
            for b in lists.iter().skip(i + 1) {
                for code in *a {
                    assert!(!b.contains(code), "{code} is in two lists");
                }
            }
        }
    }

    #[test]
    fn classifier_table() {
        let cases = [
            (
                Some("GENERIC_DECLINE"),
                Some("PAYMENT_METHOD_ERROR"),
                402,
                OutcomeClass::SoftDecline,
            ),
            (
                Some("CARD_DECLINED"),
                Some("PAYMENT_METHOD_ERROR"),
                402,
                OutcomeClass::SoftDecline,
            ),
            (
                Some("INSUFFICIENT_FUNDS"),
                Some("PAYMENT_METHOD_ERROR"),
                402,
                OutcomeClass::SoftDecline,
            ),
            (
                Some("CVV_FAILURE"),
                Some("PAYMENT_METHOD_ERROR"),
                402,
                OutcomeClass::HardDecline,
            ),
            (
                Some("INVALID_EXPIRATION"),
                Some("PAYMENT_METHOD_ERROR"),
                400,
                OutcomeClass::HardDecline,
            ),
            (
                Some("CARD_TOKEN_USED"),
                Some("INVALID_REQUEST_ERROR"),
                400,
                OutcomeClass::ValidationError,
            ),
            (
                Some("CARD_DECLINED_VERIFICATION_REQUIRED"),
                Some("PAYMENT_METHOD_ERROR"),
                402,
                OutcomeClass::NeedsCustomerAction,
            ),
            (
                Some("UNAUTHORIZED"),
                Some("AUTHENTICATION_ERROR"),
                401,
                OutcomeClass::AuthConfigError,
            ),
            (
                Some("RATE_LIMITED"),
                Some("RATE_LIMIT_ERROR"),
                429,
                OutcomeClass::RateLimited,
            ),
            (
                Some("TEMPORARY_ERROR"),
                Some("API_ERROR"),
                500,
                OutcomeClass::ProviderUnavailable,
            ),
            (
                Some("GATEWAY_TIMEOUT"),
                Some("API_ERROR"),
                504,
                OutcomeClass::UnknownOutcome,
            ),
            (
                Some("SOMETHING_NEW"),
                Some("PAYMENT_METHOD_ERROR"),
                402,
                OutcomeClass::SoftDecline,
            ),
            (
                Some("SOMETHING_NEW"),
                Some("REFUND_ERROR"),
                400,
                OutcomeClass::HardDecline,
            ),
            (None, None, 409, OutcomeClass::UnknownOutcome),
            (None, None, 503, OutcomeClass::ProviderUnavailable),
        ];
        for (code, cat, status, want) in cases {
            assert_eq!(
                classify_error(code, cat, status),
                want,
                "{code:?} {cat:?} {status}"
            );
        }
    }

    #[test]
    fn currencies_table() {
        use routing::Currency;
        for (cur, ok) in [
            ("USD", true),
            ("JPY", true),
            ("EUR", true),
            ("KRW", false),
            ("KWD", false),
            ("BHD", false),
        ] {
            let m = Money::new(1000, Currency::parse(cur).unwrap()).unwrap();
            assert_eq!(check_amount(&m).is_ok(), ok, "{cur}");
        }
    }
}
