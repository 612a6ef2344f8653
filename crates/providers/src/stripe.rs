//! Stripe PaymentIntents adapter: pure translation, no IO.
//!
//! Requests (REFERENCE.md §0, §1.1; <https://docs.stripe.com/api/payment_intents>):
//!
//! | op | call | body (form, bracket nesting) |
//! |---|---|---|
//! | authorize | `POST /v1/payment_intents` | `amount` (minor units), `currency` (lower case, as Stripe returns it), `payment_method`, `confirm=true`, `capture_method=automatic\|manual`, `payment_method_types[]=card` (server-side confirm without `return_url`, §1.1), `metadata[switchboard_payment_id]`, `metadata[switchboard_attempt_id]` (= the idempotency key), `metadata[order_id]` (merchant reference), then merchant `metadata[k]=v` |
//! | capture | `POST /v1/payment_intents/{id}/capture` | `amount_to_capture` when a partial amount is given |
//! | void | `POST /v1/payment_intents/{id}/cancel` | (empty) |
//! | refund | `POST /v1/refunds` | `payment_intent`, `amount`, `reason` (when given), `metadata[switchboard_refund_id]` (= the idempotency key) |
//! | retrieve with a reference | `GET /v1/payment_intents/{id}` | — |
//! | retrieve without a reference, with the original authorize | the authorize replayed byte for byte: `POST /v1/payment_intents`, same body, same `Idempotency-Key` | as authorize |
//! | retrieve without either | `GET /v1/payment_intents/search?query=metadata['switchboard_attempt_id']:'<key>'`, then `GET /v1/payment_intents/{id}` of a single hit | — |
//!
//! Every request carries `Stripe-Version: 2026-09-30.endive` ([`STRIPE_VERSION`], REFERENCE.md §0:
//! "always pin it"); every POST carries `Idempotency-Key` (§1.2; Stripe ignores it on GET). The
//! `Authorization: Bearer sk_…` header is added by the executor at send time, never here, so an
//! [`HttpRequest`] value is always safe to log. Our own metadata keys are written first and a
//! merchant metadata entry with the same key is dropped: a duplicate form key must never be able to
//! overwrite `switchboard_attempt_id`, which reconciliation searches for.
//!
//! Amounts (<https://docs.stripe.com/currencies>): always the ISO minor unit, sent as is
//! (zero-decimal currencies such as JPY/KRW: `500` is ¥500). Three-decimal currencies
//! ([`THREE_DECIMAL_CURRENCIES`]: BHD, JOD, KWD, OMR, TND) are accepted by Stripe only when the
//! amount is a multiple of 10 (<https://docs.stripe.com/currencies#three-decimal>: "these API calls
//! require the least-significant (last) digit to be 0"); [`authorize_call`], [`capture_call`] and
//! [`refund_call`] answer `validation_error` for any other amount without calling Stripe
//! ([`check_amount`]).
//!
//! Reconciling an unknown authorize ([`retrieve_call`]; the result contract is on
//! [`crate::Executor::retrieve`]), strongest means first:
//! 1. a `pi_…` is known: `GET /v1/payment_intents/{id}`.
//! 2. the original authorize is known ([`crate::RetrieveRequest::original`]): replay it with the
//!    same `Idempotency-Key` (REFERENCE.md §1.2; Stripe keeps keys for at least 24 h). Stripe
//!    answers the saved response if the first request was executed (`Idempotent-Replayed: true`,
//!    saved 500s included), executes it exactly once if it never arrived, or 409
//!    `idempotency_key_in_use` while it is still in flight. [`parse_replay`] classifies the answer.
//! 3. neither: search by `metadata['switchboard_attempt_id']`. Search caveat
//!    (<https://docs.stripe.com/search#data-freshness>): "Don't use search for read-after-write
//!    flows … Under normal operating conditions, data is searchable in under 1 minute.
//!    Propagation … could be delayed during an outage." So an **empty search proves nothing**
//!    (`unknown_outcome`, [`SEARCH_EMPTY_MESSAGE`]), and a single hit is re-read with
//!    `GET /v1/payment_intents/{id}` (the indexed copy may be stale) and classified by that state.
//!
//! Classification ([`parse_response`]; REFERENCE.md §1.3, §1.4, §5; `approved` for capture, void
//! and refund means "the operation succeeded"):
//!
//! | answer | class | source |
//! |---|---|---|
//! | 2xx PI `succeeded` | approved, `captured = true` | §5 |
//! | 2xx PI `requires_capture` | approved, `captured = false` | §5 |
//! | 2xx PI `requires_action` | needs_customer_action (`next_action.redirect_to_url.url`) | §1.4, §5 |
//! | 2xx PI `processing` | unknown_outcome (the charge may still succeed) | §1.1 statuses |
//! | 2xx PI `requires_payment_method` + `last_payment_error` | that error, classified as a decline below | §1.3 "a decline also sets `payment_intent.last_payment_error`" |
//! | 2xx PI `requires_payment_method`/`requires_confirmation` without error, or `canceled` (authorize, retrieve) | provider_unavailable: provably not charged | §1.1 statuses |
//! | 2xx PI `canceled` on void; `succeeded` on capture | approved | §1.1 |
//! | 2xx refund `succeeded`/`pending` | approved; `failed`/`canceled` hard_decline (`raw_code = failure_reason`); `requires_action` needs_customer_action | <https://docs.stripe.com/api/refunds/object#refund_object-status> |
//! | 2xx search: 0 / 1 / more PIs | unknown_outcome (the index lags) / that PI / unknown_outcome | §1.1 retrieve, search#data-freshness |
//! | `advice_code` `do_not_try_again` / `confirm_card_data` / `try_again_later` | hard / hard / soft (checked first) | §1.3 "use it before `decline_code`", <https://docs.stripe.com/declines/card#retrying-issuer-declines> |
//! | 402 / `card_error`: `decline_code`, else `code` | tables [`HARD_DECLINE_CODES`], [`SOFT_DECLINE_CODES`] (incl. `do_not_honor`, `generic_decline`, §5 "experts disagree"), [`CUSTOMER_ACTION_CODES`], `processing_error` provider_unavailable; an unlisted card code is soft | §1.4 |
//! | `code` `rate_limit` / `lock_timeout`, HTTP 429 | rate_limited | §1.4 |
//! | `code` `idempotency_key_in_use` (409) | unknown_outcome (see below) | §1.2 |
//! | 400 `invalid_request_error`, `idempotency_error` | validation_error | §1.4 |
//! | 400 whose message is "Invalid API Key…" (no code), 401, 403 | auth_config_error | §1.4 |
//! | 404 (`resource_missing`), other 4xx | validation_error | §1.4 |
//! | 424 | provider_unavailable | §1.3, §1.4 |
//! | 500 | unknown_outcome (Stripe saves a 500 under the idempotency key: a charge may exist) | §1.2, §1.4, §5 |
//! | 502 / 503 | provider_unavailable | §5 |
//! | 504, other 5xx | unknown_outcome | §5 |
//! | unparseable body: 2xx, or any status on authorize | unknown_outcome (never a decline) | §8 |
//! | unparseable body otherwise | by HTTP status as above | |
//! | any non-2xx on **retrieve** | unknown_outcome: for a retrieve `provider_unavailable` means "provably not charged", and a failed lookup proves nothing | DESIGN.md §5 |
//! | a **replayed authorize** | see [`parse_replay`] | §1.2 |
//!
//! Two choices worth knowing:
//! - `idempotency_key_in_use` (409): Stripe says the request "can be retried" (§1.2), and
//!   `fixtures/index.json` classes it `unknown_outcome`. We follow the fixture index, not
//!   `rate_limited`: the key is the attempt id, so a 409 means *our own* earlier request with that
//!   key is still executing at Stripe and may charge; `rate_limited` would let the engine fall back
//!   to another connector while that charge may exist, which DESIGN.md §5 forbids.
//! - 500 `api_error`: `fixtures/index.json` classes `error_api_error_500.json` as
//!   `provider_unavailable`, but its own note says to "use a NEW key only after confirming no PI
//!   exists", and REFERENCE.md §1.2/§5 say a 500 is saved under the key and a charge may exist, so we
//!   return `unknown_outcome` (reconcile first). `tests/stripe_fixtures.rs` lists this as an
//!   explicit, asserted deviation.
//!
//! Webhooks (REFERENCE.md §1.6, <https://docs.stripe.com/webhooks#verify-manually>):
//! [`verify_webhook`] checks `Stripe-Signature` (`t=…,v1=…`, HMAC-SHA256 over `t + "." + raw body`,
//! constant-time against every `v1`, `v0` ignored, `|now − t| ≤ tolerance`, default
//! [`WEBHOOK_TOLERANCE_SECS`] = 300 s), [`parse_event`] reads the event envelope.

use crate::http::{Body, HttpRequest, HttpResponse, Method, encode_form, encode_path_segment};
use crate::{
    AuthorizeRequest, CaptureRequest, Operation, ProviderResult, RefundRequest, RetrieveRequest,
    VoidRequest,
};
use hmac::{Hmac, Mac};
use routing::{CaptureMode, Money, OutcomeClass};
use serde_json::Value;
use sha2::Sha256;

/// The pinned API version (REFERENCE.md §0; <https://docs.stripe.com/api-versions>).
pub const STRIPE_VERSION: &str = "2026-09-30.endive";
/// Production base URL (test vs live is chosen by the key).
pub const DEFAULT_BASE_URL: &str = "https://api.stripe.com";
/// Default webhook timestamp tolerance, as in the official SDKs (REFERENCE.md §1.6).
pub const WEBHOOK_TOLERANCE_SECS: i64 = 300;

/// Metadata key carrying our payment id.
pub const META_PAYMENT_ID: &str = "switchboard_payment_id";
/// Metadata key carrying the attempt id (= the authorize idempotency key); searched by retrieve.
pub const META_ATTEMPT_ID: &str = "switchboard_attempt_id";
/// Metadata key carrying the merchant reference.
pub const META_ORDER_ID: &str = "order_id";
/// Metadata key carrying a refund's idempotency key.
pub const META_REFUND_ID: &str = "switchboard_refund_id";

/// Message of a retrieve that proved nothing was charged. The Stripe adapter no longer produces
/// it for an empty search (the search index lags, see [`SEARCH_EMPTY_MESSAGE`]); the simulator
/// still does.
pub const NOT_CHARGED_MESSAGE: &str = "no charge found for this attempt";

/// Message of a search that found no PaymentIntent for the attempt: not a proof of no charge.
pub const SEARCH_EMPTY_MESSAGE: &str = "no PaymentIntent found by search for this attempt yet; \
Stripe's search index lags (usually under a minute, longer during incidents), so this does not \
prove that nothing was charged";

/// Currencies Stripe handles with three decimals, whose amounts must be a multiple of 10
/// (<https://docs.stripe.com/currencies#three-decimal>), upper case.
pub const THREE_DECIMAL_CURRENCIES: &[&str] = &["BHD", "JOD", "KWD", "OMR", "TND"];

/// `decline_code`/`code` values classed hard_decline (REFERENCE.md §1.4; the last group —
/// number, expiry, CVC, ZIP, PIN — is customer-fixable with new card data but never retried).
pub const HARD_DECLINE_CODES: &[&str] = &[
    "fraudulent",
    "lost_card",
    "stolen_card",
    "pickup_card",
    "merchant_blacklist",
    "restricted_card",
    "security_violation",
    "do_not_try_again",
    "revocation_of_all_authorizations",
    "revocation_of_authorization",
    "stop_payment_order",
    "invalid_account",
    "new_account_information_available",
    "card_not_supported",
    "currency_not_supported",
    "transaction_not_allowed",
    "not_permitted",
    "service_not_allowed",
    "testmode_decline",
    "incorrect_number",
    "invalid_number",
    "expired_card",
    "invalid_expiry_month",
    "invalid_expiry_year",
    "incorrect_cvc",
    "invalid_cvc",
    "incorrect_zip",
    "incorrect_pin",
    "invalid_pin",
    "pin_try_exceeded",
];

/// `decline_code`/`code` values classed soft_decline (REFERENCE.md §1.4; `do_not_honor` and
/// `generic_decline` are soft by this project's choice, §5). `card_decline_rate_limit_exceeded`
/// (<https://docs.stripe.com/error-codes#card-decline-rate-limit-exceeded>) is the same kind of
/// "retry later" answer.
pub const SOFT_DECLINE_CODES: &[&str] = &[
    "insufficient_funds",
    "card_velocity_exceeded",
    "withdrawal_count_limit_exceeded",
    "try_again_later",
    "approve_with_id",
    "call_issuer",
    "issuer_not_available",
    "reenter_transaction",
    "duplicate_transaction",
    "invalid_amount",
    "no_action_taken",
    "do_not_honor",
    "generic_decline",
    "card_decline_rate_limit_exceeded",
];

/// `decline_code`/`code` values that need the customer (3DS / PIN), REFERENCE.md §1.4.
pub const CUSTOMER_ACTION_CODES: &[&str] = &[
    "authentication_required",
    "offline_pin_required",
    "online_or_offline_pin_required",
];

/// `decline_code`/`code` values that are provider-side (cascade OK), REFERENCE.md §1.4.
pub const PROVIDER_SIDE_CODES: &[&str] = &["processing_error"];

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

fn headers(idempotency_key: Option<&str>) -> Vec<(String, String)> {
    let mut h = Vec::with_capacity(2);
    if let Some(key) = idempotency_key {
        h.push(("Idempotency-Key".to_owned(), key.to_owned()));
    }
    h.push(("Stripe-Version".to_owned(), STRIPE_VERSION.to_owned()));
    h
}

fn pair(k: &str, v: impl Into<String>) -> (String, String) {
    (k.to_owned(), v.into())
}

fn meta_key(k: &str) -> String {
    format!("metadata[{k}]")
}

/// Classifies a Stripe answer to a call of operation `op`.
pub type Parser = fn(Operation, &HttpResponse) -> ProviderResult;

/// What the executor must do for one operation (a pure plan; the executor does the IO).
#[derive(Debug, Clone)]
pub enum Call {
    /// Send `request` and classify the answer with `parse`.
    Send {
        /// The request.
        request: HttpRequest,
        /// Its parser ([`parse_response`] or [`parse_replay`]).
        parse: Parser,
    },
    /// Send the metadata search `request` ([`parse_response`]); when it finds exactly one
    /// PaymentIntent, `GET` that PaymentIntent and classify its current state (the indexed copy
    /// may be stale).
    SearchThenGet {
        /// The search request.
        request: HttpRequest,
    },
    /// Answer without calling Stripe (a request Stripe would reject, or that must not be sent).
    Answer(ProviderResult),
}

impl Call {
    /// The plan for reconciling an unknown authorize by replaying `req.original` with its own
    /// idempotency key (providers whose keys make a replay safe: Square §2.2, Mollie §4.2).
    /// `authorize` builds the original request again; `parse_replay` classifies the answer.
    /// Without an original, answers `unknown_outcome` with `no_original` and sends nothing; an
    /// empty key or one that differs from `req.idempotency_key` is refused the same way (a
    /// replay without the original key would be a new charge). A request `authorize` refuses
    /// before sending is returned as is (the original was refused the same way).
    pub fn replay_original(
        req: &crate::RetrieveRequest,
        no_original: &str,
        authorize: fn(&crate::AuthorizeRequest) -> Call,
        parse_replay: Parser,
    ) -> Call {
        let unknown = |m: &str| {
            Call::Answer(ProviderResult::new(OutcomeClass::UnknownOutcome).with_message(m))
        };
        let Some(original) = &req.original else {
            return unknown(no_original);
        };
        if original.idempotency_key.trim().is_empty()
            || original.idempotency_key != req.idempotency_key
        {
            return unknown(
                "retrieve refused: the original create's idempotency key is empty or differs from \
                 the retrieve's; nothing was sent",
            );
        }
        match authorize(original) {
            Call::Send { request, .. } => Call::Send {
                request,
                parse: parse_replay,
            },
            other @ (Call::Answer(_) | Call::SearchThenGet { .. }) => other,
        }
    }

    /// The request that would be sent first, if any.
    pub fn request(&self) -> Option<&HttpRequest> {
        match self {
            Call::Send { request, .. } | Call::SearchThenGet { request } => Some(request),
            Call::Answer(_) => None,
        }
    }

    /// The answer given without any call, if any.
    pub fn answer(&self) -> Option<&ProviderResult> {
        match self {
            Call::Answer(r) => Some(r),
            Call::Send { .. } | Call::SearchThenGet { .. } => None,
        }
    }
}

/// `Ok` when Stripe accepts `money`'s amount for its currency; otherwise the message of the
/// `validation_error` to return without any call ([`amount_refused`]): three-decimal currencies
/// ([`THREE_DECIMAL_CURRENCIES`]) need a multiple of 10
/// (<https://docs.stripe.com/currencies#three-decimal>). Zero-decimal currencies need nothing:
/// their minor unit is the unit and is sent as is.
pub fn check_amount(money: &Money) -> Result<(), String> {
    let code = money.currency.as_str();
    if !THREE_DECIMAL_CURRENCIES.contains(&code) || money.amount_minor % 10 == 0 {
        return Ok(());
    }
    let amount = money.amount_minor;
    let down = amount - amount.rem_euclid(10);
    Err(format!(
        "amount {amount} {code} ({}) is not a multiple of 10: Stripe accepts three-decimal \
         currencies (BHD, JOD, KWD, OMR, TND) only when the last decimal digit is 0 \
         (https://docs.stripe.com/currencies#three-decimal); round to {down} or {}. Not sent.",
        money.currency.format_minor(amount),
        down + 10
    ))
}

/// The `validation_error` (raw code `amount_not_multiple_of_10`, no HTTP status) for a
/// [`check_amount`] refusal.
pub fn amount_refused(message: String) -> ProviderResult {
    let mut r = ProviderResult::new(OutcomeClass::ValidationError).with_message(message);
    r.raw_code = Some("amount_not_multiple_of_10".to_owned());
    r
}

/// The plan of an authorize: [`authorize_request`], or a `validation_error` without a call when
/// [`check_amount`] refuses the amount.
pub fn authorize_call(req: &AuthorizeRequest) -> Call {
    match check_amount(&req.money) {
        Ok(()) => Call::Send {
            request: authorize_request(req),
            parse: parse_response,
        },
        Err(m) => Call::Answer(amount_refused(m)),
    }
}

/// The plan of a capture: [`capture_request`], or a `validation_error` without a call when a
/// partial amount fails [`check_amount`].
pub fn capture_call(req: &CaptureRequest) -> Call {
    match req.amount.as_ref().map(check_amount) {
        Some(Err(m)) => Call::Answer(amount_refused(m)),
        Some(Ok(())) | None => Call::Send {
            request: capture_request(req),
            parse: parse_response,
        },
    }
}

/// The plan of a void: [`void_request`].
pub fn void_call(req: &VoidRequest) -> Call {
    Call::Send {
        request: void_request(req),
        parse: parse_response,
    }
}

/// The plan of a refund: [`refund_request`], or a `validation_error` without a call when
/// [`check_amount`] refuses the amount.
pub fn refund_call(req: &RefundRequest) -> Call {
    match check_amount(&req.money) {
        Ok(()) => Call::Send {
            request: refund_request(req),
            parse: parse_response,
        },
        Err(m) => Call::Answer(amount_refused(m)),
    }
}

/// The plan of a retrieve (module docs, "Reconciling an unknown authorize"):
/// - a non-empty `provider_reference`: `GET /v1/payment_intents/{id}` ([`parse_response`]);
/// - else `original`: replay it ([`authorize_request`] of the original, classified by
///   [`parse_replay`]). Refused without a call (`unknown_outcome`) when its idempotency key is
///   empty (Stripe would execute it as a new request) or differs from the retrieve's key. When
///   [`check_amount`] refuses its amount the answer is that `validation_error`, without a call:
///   Stripe rejects such a request before executing it, so the original charged nothing;
/// - else the metadata search ([`Call::SearchThenGet`]).
pub fn retrieve_call(req: &RetrieveRequest) -> Call {
    if req
        .provider_reference
        .as_deref()
        .is_some_and(|r| !r.is_empty())
    {
        return Call::Send {
            request: retrieve_request(req),
            parse: parse_response,
        };
    }
    let Some(original) = &req.original else {
        return Call::SearchThenGet {
            request: retrieve_request(req),
        };
    };
    if original.idempotency_key.trim().is_empty() {
        return Call::Answer(
            ProviderResult::new(OutcomeClass::UnknownOutcome).with_message(
                "retrieve refused: the original authorize has no idempotency key, so replaying \
                 it would create a new charge",
            ),
        );
    }
    if original.idempotency_key != req.idempotency_key {
        return Call::Answer(
            ProviderResult::new(OutcomeClass::UnknownOutcome).with_message(
                "retrieve refused: the original authorize's idempotency key differs from the \
                 retrieve's; nothing was sent",
            ),
        );
    }
    if let Err(m) = check_amount(&original.money) {
        return Call::Answer(amount_refused(format!(
            "the original authorize cannot have been accepted by Stripe, nothing was charged: {m}"
        )));
    }
    Call::Send {
        request: authorize_request(original),
        parse: parse_replay,
    }
}

/// `POST /v1/payment_intents` with `confirm=true` (create + authorize in one idempotent call).
pub fn authorize_request(req: &AuthorizeRequest) -> HttpRequest {
    let capture = match req.capture {
        CaptureMode::Automatic => "automatic",
        CaptureMode::Manual => "manual",
    };
    let mut form = vec![
        pair("amount", req.money.amount_minor.to_string()),
        pair("currency", req.money.currency.as_str().to_ascii_lowercase()),
        pair("payment_method", req.token.as_str()),
        pair("confirm", "true"),
        pair("capture_method", capture),
        pair("payment_method_types[]", "card"),
        pair(&meta_key(META_PAYMENT_ID), req.payment_id.as_str()),
        pair(&meta_key(META_ATTEMPT_ID), req.idempotency_key.as_str()),
    ];
    let mut reserved = vec![META_PAYMENT_ID, META_ATTEMPT_ID];
    if let Some(order) = &req.merchant_reference {
        form.push(pair(&meta_key(META_ORDER_ID), order.as_str()));
        reserved.push(META_ORDER_ID);
    }
    for (k, v) in &req.metadata {
        if !reserved.contains(&k.as_str()) {
            form.push((meta_key(k), v.clone()));
        }
    }
    HttpRequest {
        method: Method::Post,
        path: "/v1/payment_intents".to_owned(),
        headers: headers(Some(&req.idempotency_key)),
        body: Body::Form(form),
    }
}

/// `POST /v1/payment_intents/{id}/capture`, with `amount_to_capture` when an amount is given
/// (the full authorized amount otherwise).
pub fn capture_request(req: &CaptureRequest) -> HttpRequest {
    let form = match &req.amount {
        Some(m) => vec![pair("amount_to_capture", m.amount_minor.to_string())],
        None => Vec::new(),
    };
    HttpRequest {
        method: Method::Post,
        path: format!(
            "/v1/payment_intents/{}/capture",
            encode_path_segment(&req.provider_reference)
        ),
        headers: headers(Some(&req.idempotency_key)),
        body: Body::Form(form),
    }
}

/// `POST /v1/payment_intents/{id}/cancel`.
pub fn void_request(req: &VoidRequest) -> HttpRequest {
    HttpRequest {
        method: Method::Post,
        path: format!(
            "/v1/payment_intents/{}/cancel",
            encode_path_segment(&req.provider_reference)
        ),
        headers: headers(Some(&req.idempotency_key)),
        body: Body::Form(Vec::new()),
    }
}

/// `POST /v1/refunds` for a PaymentIntent.
pub fn refund_request(req: &RefundRequest) -> HttpRequest {
    let mut form = vec![
        pair("payment_intent", req.provider_reference.as_str()),
        pair("amount", req.money.amount_minor.to_string()),
    ];
    if let Some(reason) = &req.reason {
        form.push(pair("reason", reason.as_str()));
    }
    form.push(pair(
        &meta_key(META_REFUND_ID),
        req.idempotency_key.as_str(),
    ));
    HttpRequest {
        method: Method::Post,
        path: "/v1/refunds".to_owned(),
        headers: headers(Some(&req.idempotency_key)),
        body: Body::Form(form),
    }
}

/// The search query finding the PaymentIntent of one attempt:
/// `metadata['switchboard_attempt_id']:'<key>'` (`\` and `'` in the key are backslash-escaped,
/// <https://docs.stripe.com/search#search-query-language>).
pub fn search_query(idempotency_key: &str) -> String {
    let escaped = idempotency_key.replace('\\', "\\\\").replace('\'', "\\'");
    format!("metadata['{META_ATTEMPT_ID}']:'{escaped}'")
}

/// `GET /v1/payment_intents/{id}` when the reference is known, else the metadata search
/// (`original` is not looked at: [`retrieve_call`] decides when to replay it instead).
pub fn retrieve_request(req: &RetrieveRequest) -> HttpRequest {
    let path = match req.provider_reference.as_deref().filter(|r| !r.is_empty()) {
        Some(id) => format!("/v1/payment_intents/{}", encode_path_segment(id)),
        None => {
            let q = [("query".to_owned(), search_query(&req.idempotency_key))];
            // Encoding string pairs cannot fail; fall back to a query that finds nothing rather
            // than panic.
            let qs = encode_form(&q).unwrap_or_default();
            format!("/v1/payment_intents/search?{qs}")
        }
    };
    HttpRequest {
        method: Method::Get,
        path,
        headers: headers(None),
        body: Body::Empty,
    }
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

fn in_list(list: &[&str], code: &str) -> bool {
    list.contains(&code)
}

fn class_of_code(code: &str) -> Option<OutcomeClass> {
    if in_list(HARD_DECLINE_CODES, code) {
        Some(OutcomeClass::HardDecline)
    } else if in_list(SOFT_DECLINE_CODES, code) {
        Some(OutcomeClass::SoftDecline)
    } else if in_list(CUSTOMER_ACTION_CODES, code) {
        Some(OutcomeClass::NeedsCustomerAction)
    } else if in_list(PROVIDER_SIDE_CODES, code) {
        Some(OutcomeClass::ProviderUnavailable)
    } else {
        None
    }
}

/// Classifies a card error: `advice_code` first, then `decline_code`, then `code`; a card error
/// with no listed code is a soft decline (the issuer said no without saying why).
pub fn classify_card_error(
    decline_code: Option<&str>,
    code: Option<&str>,
    advice_code: Option<&str>,
) -> OutcomeClass {
    match advice_code {
        Some("do_not_try_again") | Some("confirm_card_data") => return OutcomeClass::HardDecline,
        Some("try_again_later") => return OutcomeClass::SoftDecline,
        _ => {}
    }
    decline_code
        .and_then(class_of_code)
        .or_else(|| code.and_then(class_of_code))
        .unwrap_or(OutcomeClass::SoftDecline)
}

/// The fields of a Stripe error object (`last_payment_error` has the same shape).
#[derive(Debug, Default)]
struct ErrorFields<'a> {
    kind: Option<&'a str>,
    code: Option<&'a str>,
    decline_code: Option<&'a str>,
    advice_code: Option<&'a str>,
    message: Option<&'a str>,
    pi_id: Option<&'a str>,
    pi_status: Option<&'a str>,
}

impl<'a> ErrorFields<'a> {
    fn from(v: &'a Value) -> ErrorFields<'a> {
        let pi = v.get("payment_intent");
        ErrorFields {
            kind: str_at(v, "type"),
            code: str_at(v, "code"),
            decline_code: str_at(v, "decline_code"),
            advice_code: str_at(v, "advice_code"),
            message: str_at(v, "message"),
            pi_id: pi.and_then(|p| str_at(p, "id")),
            pi_status: pi.and_then(|p| str_at(p, "status")),
        }
    }

    fn message_with_advice(&self) -> Option<String> {
        match (self.message, self.advice_code) {
            (Some(m), Some(a)) => Some(format!("{m} [advice_code={a}]")),
            (Some(m), None) => Some(m.to_owned()),
            (None, Some(a)) => Some(format!("[advice_code={a}]")),
            (None, None) => None,
        }
    }
}

/// Parses a Stripe answer to `op` into a [`ProviderResult`] (see the module table).
/// `latency_ms` is left 0 for the executor to fill.
pub fn parse_response(op: Operation, resp: &HttpResponse) -> ProviderResult {
    let mut r = if resp.is_success() {
        parse_success(op, resp)
    } else {
        parse_error(op, resp)
    };
    r.http_status = Some(resp.status);
    r
}

/// Classifies Stripe's answer to a **replayed** authorize (same body, same `Idempotency-Key`) as
/// a retrieve result (contract on [`crate::Executor::retrieve`]). `op` is ignored.
///
/// The answer is first classified as an authorize ([`parse_response`]), then only answers that
/// are the definitive outcome of the request carrying this key are kept; everything else is
/// `unknown_outcome`:
///
/// | replayed answer | retrieve result | why |
/// |---|---|---|
/// | 2xx PI `succeeded` / `requires_capture` | approved (the `pi_…` of the one charge) | saved success, or the replay executed the never-arrived original exactly once |
/// | 402 / card error, 2xx PI declined (`last_payment_error`), 2xx `requires_action` | that decline / needs_customer_action | the request's definitive answer; nothing charged |
/// | 2xx PI `canceled` / `requires_payment_method` (no error) / `requires_confirmation`; 402 `processing_error` | provider_unavailable | an answer of the API itself: nothing charged |
/// | 400 `invalid_request_error` (parameters), 404 | validation_error | Stripe rejects these parameters before executing (§1.2: not saved), the original too; nothing charged |
/// | 400 `idempotency_error` | unknown_outcome | the replay differs from the original, which did arrive and may have charged |
/// | 409 `idempotency_key_in_use` | unknown_outcome | the original is still in flight |
/// | 500 (saved or not), 504, other 5xx | unknown_outcome | §1.2: a saved 500 can hide a charge |
/// | 424, 502, 503 | unknown_outcome | the replay did not get through; says nothing about the original |
/// | 429, `lock_timeout`, 401, 403, "Invalid API Key" | unknown_outcome | the replay was refused; says nothing about the original |
/// | 2xx `processing`, unexpected objects, unreadable bodies | unknown_outcome | not final / not understood |
/// | timeout, reset, refused (executor) | unknown_outcome | nothing learned |
pub fn parse_replay(_op: Operation, resp: &HttpResponse) -> ProviderResult {
    let mut r = parse_response(Operation::Authorize, resp);
    let json = resp.json();
    let error_type = json
        .as_ref()
        .and_then(|v| v.pointer("/error/type"))
        .and_then(Value::as_str);
    let from_api = resp.is_success() || resp.status == 402;
    let definitive = match r.class {
        OutcomeClass::Approved
        | OutcomeClass::HardDecline
        | OutcomeClass::SoftDecline
        | OutcomeClass::NeedsCustomerAction => true,
        OutcomeClass::ProviderUnavailable => from_api,
        OutcomeClass::ValidationError => {
            matches!(resp.status, 400 | 404) && error_type != Some("idempotency_error")
        }
        OutcomeClass::RateLimited
        | OutcomeClass::AuthConfigError
        | OutcomeClass::UnknownOutcome => false,
    };
    let replayed = resp
        .header("idempotent-replayed")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let source = if replayed {
        "Stripe returned the saved response of the original request"
    } else {
        "Stripe answered the replay itself"
    };
    if definitive {
        if r.message.is_none() {
            r.message = Some(format!(
                "authorize replayed with its idempotency key: {source}"
            ));
        }
        return r;
    }
    let why = match (resp.status, r.class) {
        (409, _) => "the original request is still in flight at Stripe",
        (500, _) => "Stripe answered 500, which may hide a charge",
        (400, _) if error_type == Some("idempotency_error") => {
            "the replay's parameters differ from the original's, which did reach Stripe"
        }
        (_, OutcomeClass::UnknownOutcome) => "the answer does not settle the outcome",
        _ => "the replay was not executed, which says nothing about the original",
    };
    let detail = r.message.take().unwrap_or_default();
    r.class = OutcomeClass::UnknownOutcome;
    r.message = Some(format!(
        "authorize replay answered HTTP {}: {why}; still unknown ({detail})",
        resp.status
    ));
    r
}

fn parse_success(op: Operation, resp: &HttpResponse) -> ProviderResult {
    let Some(json) = resp.json().filter(Value::is_object) else {
        return ProviderResult::new(OutcomeClass::UnknownOutcome).with_message(format!(
            "unreadable {} response body from Stripe (HTTP {}); the {} may have happened",
            op.as_str(),
            resp.status,
            op.as_str()
        ));
    };
    let object = str_at(&json, "object");
    match (op, object) {
        (Operation::Refund, Some("refund") | None) => classify_refund(&json),
        (Operation::Retrieve, Some("search_result" | "list")) => classify_search(&json),
        (
            Operation::Authorize | Operation::Capture | Operation::Void | Operation::Retrieve,
            Some("payment_intent") | None,
        ) => classify_payment_intent(op, &json),
        (_, Some(other)) => {
            let mut r = ProviderResult::new(OutcomeClass::UnknownOutcome).with_message(format!(
                "unexpected Stripe object {other:?} in a {} response",
                op.as_str()
            ));
            r.provider_reference = owned(str_at(&json, "id"));
            r
        }
    }
}

/// Classifies a PaymentIntent object as the answer to `op` (also used for webhook payloads with
/// [`Operation::Retrieve`]).
pub fn classify_payment_intent(op: Operation, pi: &Value) -> ProviderResult {
    let status = str_at(pi, "status");
    let mut r = ProviderResult::new(OutcomeClass::UnknownOutcome);
    r.provider_reference = owned(str_at(pi, "id"));
    r.provider_status = owned(status);
    let unexpected = |r: ProviderResult| {
        let s = status.unwrap_or("<none>");
        r.with_message(format!(
            "unexpected PaymentIntent status {s:?} after {}",
            op.as_str()
        ))
    };
    match op {
        Operation::Authorize | Operation::Retrieve => match status {
            Some("succeeded") => {
                r.class = OutcomeClass::Approved;
                r.captured = true;
                r
            }
            Some("requires_capture") => {
                r.class = OutcomeClass::Approved;
                r
            }
            Some("requires_action") => {
                r.class = OutcomeClass::NeedsCustomerAction;
                r.next_action_url = pi
                    .pointer("/next_action/redirect_to_url/url")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                r.message = Some("customer authentication required".to_owned());
                r
            }
            Some("processing") => {
                r.message = Some("payment is processing; outcome not final".to_owned());
                r
            }
            Some("requires_payment_method") => {
                match pi.get("last_payment_error").filter(|e| e.is_object()) {
                    Some(err) => {
                        let e = ErrorFields::from(err);
                        r.class = classify_card_error(e.decline_code, e.code, e.advice_code);
                        r.raw_code = owned(e.code);
                        r.decline_code = owned(e.decline_code);
                        r.message = e.message_with_advice();
                        r
                    }
                    None => {
                        r.class = OutcomeClass::ProviderUnavailable;
                        r.message = Some("payment intent was not confirmed; no charge".to_owned());
                        r
                    }
                }
            }
            Some("requires_confirmation") => {
                r.class = OutcomeClass::ProviderUnavailable;
                r.message = Some("payment intent was not confirmed; no charge".to_owned());
                r
            }
            Some("canceled") => {
                r.class = OutcomeClass::ProviderUnavailable;
                r.message = Some("payment intent is canceled; no charge".to_owned());
                r
            }
            _ => unexpected(r),
        },
        Operation::Capture => match status {
            Some("succeeded") => {
                r.class = OutcomeClass::Approved;
                r.captured = true;
                r
            }
            _ => unexpected(r),
        },
        Operation::Void => match status {
            Some("canceled") => {
                r.class = OutcomeClass::Approved;
                r
            }
            _ => unexpected(r),
        },
        Operation::Refund => unexpected(r),
    }
}

/// Classifies a Refund object: `succeeded`/`pending` approved (the refund was accepted),
/// `requires_action` needs_customer_action, `failed`/`canceled` hard_decline with
/// `raw_code = failure_reason`, anything else unknown_outcome.
pub fn classify_refund(refund: &Value) -> ProviderResult {
    let status = str_at(refund, "status");
    let mut r = ProviderResult::new(OutcomeClass::UnknownOutcome);
    r.provider_reference = owned(str_at(refund, "id"));
    r.provider_status = owned(status);
    match status {
        Some("succeeded" | "pending") => r.class = OutcomeClass::Approved,
        Some("requires_action") => {
            r.class = OutcomeClass::NeedsCustomerAction;
            r.message = Some("refund requires action".to_owned());
        }
        Some("failed" | "canceled") => {
            r.class = OutcomeClass::HardDecline;
            r.raw_code = owned(str_at(refund, "failure_reason"));
            r.message = Some("refund failed".to_owned());
        }
        _ => {
            r.message = Some(format!(
                "unexpected refund status {:?}",
                status.unwrap_or("<none>")
            ));
        }
    }
    r
}

fn classify_search(json: &Value) -> ProviderResult {
    let Some(data) = json.get("data").and_then(Value::as_array) else {
        return ProviderResult::new(OutcomeClass::UnknownOutcome)
            .with_message("search result without a data list");
    };
    match data.as_slice() {
        // The index lags: an empty result is not a proof of no charge.
        [] => ProviderResult::new(OutcomeClass::UnknownOutcome).with_message(SEARCH_EMPTY_MESSAGE),
        [pi] => classify_payment_intent(Operation::Retrieve, pi),
        many => ProviderResult::new(OutcomeClass::UnknownOutcome).with_message(format!(
            "{} payment intents carry this attempt id; needs a human",
            many.len()
        )),
    }
}

fn parse_error(op: Operation, resp: &HttpResponse) -> ProviderResult {
    let json = resp.json();
    let err = json
        .as_ref()
        .and_then(|v| v.get("error"))
        .filter(|e| e.is_object());
    let mut r = ProviderResult::new(OutcomeClass::UnknownOutcome);
    let class = match err {
        Some(e) => {
            let f = ErrorFields::from(e);
            r.raw_code = owned(f.code);
            r.decline_code = owned(f.decline_code);
            r.message = f.message_with_advice();
            r.provider_reference = owned(f.pi_id);
            r.provider_status = owned(f.pi_status);
            classify_error(resp.status, &f)
        }
        None => {
            r.message = Some(format!(
                "HTTP {} from Stripe with an unreadable body",
                resp.status
            ));
            match op {
                // Never a decline, never "not charged": the charge may exist.
                Operation::Authorize => OutcomeClass::UnknownOutcome,
                Operation::Capture | Operation::Void | Operation::Refund | Operation::Retrieve => {
                    class_of_status(resp.status)
                }
            }
        }
    };
    r.class = match op {
        // For a retrieve, provider_unavailable means "provably not charged"; a failed lookup
        // proves nothing.
        Operation::Retrieve => {
            let m = r.message.take().unwrap_or_default();
            r.message = Some(format!("retrieve failed (HTTP {}): {m}", resp.status));
            OutcomeClass::UnknownOutcome
        }
        Operation::Authorize | Operation::Capture | Operation::Void | Operation::Refund => class,
    };
    r
}

fn classify_error(status: u16, e: &ErrorFields<'_>) -> OutcomeClass {
    match e.code {
        Some("rate_limit" | "lock_timeout") => return OutcomeClass::RateLimited,
        Some("idempotency_key_in_use") => return OutcomeClass::UnknownOutcome,
        _ => {}
    }
    if e.kind == Some("card_error") || status == 402 {
        return classify_card_error(e.decline_code, e.code, e.advice_code);
    }
    if e.kind == Some("idempotency_error") {
        return OutcomeClass::ValidationError;
    }
    if status == 400
        && e.code.is_none()
        && e.message.is_some_and(|m| m.starts_with("Invalid API Key"))
    {
        return OutcomeClass::AuthConfigError;
    }
    class_of_status(status)
}

/// Class of an error status alone (REFERENCE.md §1.3, §5).
fn class_of_status(status: u16) -> OutcomeClass {
    match status {
        401 | 403 => OutcomeClass::AuthConfigError,
        409 => OutcomeClass::UnknownOutcome,
        429 => OutcomeClass::RateLimited,
        424 | 502 | 503 => OutcomeClass::ProviderUnavailable,
        402 => OutcomeClass::SoftDecline,
        400..=499 => OutcomeClass::ValidationError,
        // 500 (saved under the idempotency key), 504 and anything unexpected: a charge may exist.
        _ => OutcomeClass::UnknownOutcome,
    }
}

// ---------------------------------------------------------------------------------------------
// Webhooks
// ---------------------------------------------------------------------------------------------

/// Why a webhook was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// The `Stripe-Signature` header has no `t=` timestamp.
    #[error("Stripe-Signature has no timestamp")]
    MissingTimestamp,
    /// The header has no `v1=` signature.
    #[error("Stripe-Signature has no v1 signature")]
    MissingSignature,
    /// The timestamp is further than the tolerance from now.
    #[error("webhook timestamp outside the tolerance")]
    TimestampOutsideTolerance,
    /// No `v1` signature matches.
    #[error("no v1 signature matches")]
    SignatureMismatch,
    /// The body is not a Stripe event.
    #[error("not a Stripe event: {0}")]
    BadPayload(String),
}

/// Verifies `Stripe-Signature` over the raw body (REFERENCE.md §1.6). `now_unix` is an argument
/// so tests can freeze the clock.
pub fn verify_webhook(
    payload: &[u8],
    signature_header: &str,
    secret: &str,
    now_unix: i64,
    tolerance_secs: i64,
) -> Result<(), WebhookError> {
    let mut timestamp: Option<&str> = None;
    let mut v1 = Vec::new();
    for part in signature_header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = Some(t),
            Some(("v1", s)) => v1.push(s),
            _ => {}
        }
    }
    let t = timestamp.ok_or(WebhookError::MissingTimestamp)?;
    let t_num: i64 = t.parse().map_err(|_| WebhookError::MissingTimestamp)?;
    if v1.is_empty() {
        return Err(WebhookError::MissingSignature);
    }
    if now_unix.abs_diff(t_num) > tolerance_secs.unsigned_abs() {
        return Err(WebhookError::TimestampOutsideTolerance);
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .map_err(|_| WebhookError::SignatureMismatch)?;
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(payload);
    let ok = v1.iter().any(|sig| {
        // `verify_slice` compares in constant time.
        hex::decode(sig).is_ok_and(|bytes| mac.clone().verify_slice(&bytes).is_ok())
    });
    if ok {
        Ok(())
    } else {
        Err(WebhookError::SignatureMismatch)
    }
}

/// The parts of a Stripe event the engine needs.
#[derive(Debug, Clone, PartialEq)]
pub struct StripeEvent {
    /// `evt_…`.
    pub id: String,
    /// `payment_intent.succeeded`, …
    pub event_type: String,
    /// Unix seconds.
    pub created: Option<i64>,
    /// `data.object`.
    pub object: Value,
}

impl StripeEvent {
    /// The embedded object classified as a retrieve would classify it, when it is a
    /// PaymentIntent or a Refund.
    pub fn classify_object(&self) -> Option<ProviderResult> {
        match str_at(&self.object, "object") {
            Some("payment_intent") => {
                Some(classify_payment_intent(Operation::Retrieve, &self.object))
            }
            Some("refund") => Some(classify_refund(&self.object)),
            _ => None,
        }
    }
}

/// Parses an event body (`{"object":"event","type":…,"data":{"object":…}}`).
pub fn parse_event(body: &[u8]) -> Result<StripeEvent, WebhookError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| WebhookError::BadPayload(e.to_string()))?;
    if str_at(&v, "object") != Some("event") {
        return Err(WebhookError::BadPayload(
            "object is not \"event\"".to_owned(),
        ));
    }
    let id = str_at(&v, "id").ok_or_else(|| WebhookError::BadPayload("no id".to_owned()))?;
    let event_type =
        str_at(&v, "type").ok_or_else(|| WebhookError::BadPayload("no type".to_owned()))?;
    let object = v
        .pointer("/data/object")
        .filter(|o| o.is_object())
        .cloned()
        .ok_or_else(|| WebhookError::BadPayload("no data.object".to_owned()))?;
    Ok(StripeEvent {
        id: id.to_owned(),
        event_type: event_type.to_owned(),
        created: v.get("created").and_then(Value::as_i64),
        object,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    fn resp(status: u16, v: Value) -> HttpResponse {
        HttpResponse::new(status, serde_json::to_vec(&v).unwrap())
    }

    #[test]
    fn advice_code_wins_over_decline_code() {
        assert_eq!(
            classify_card_error(
                Some("insufficient_funds"),
                Some("card_declined"),
                Some("do_not_try_again")
            ),
            OutcomeClass::HardDecline
        );
        assert_eq!(
            classify_card_error(
                Some("stolen_card"),
                Some("card_declined"),
                Some("try_again_later")
            ),
            OutcomeClass::SoftDecline
        );
        assert_eq!(
            classify_card_error(None, Some("card_declined"), None),
            OutcomeClass::SoftDecline
        );
        assert_eq!(
            classify_card_error(None, Some("expired_card"), None),
            OutcomeClass::HardDecline
        );
        assert_eq!(
            classify_card_error(Some("authentication_required"), Some("card_declined"), None),
            OutcomeClass::NeedsCustomerAction
        );
        assert_eq!(
            classify_card_error(None, Some("processing_error"), None),
            OutcomeClass::ProviderUnavailable
        );
        assert_eq!(
            classify_card_error(Some("something_new"), None, None),
            OutcomeClass::SoftDecline
        );
    }

    #[test]
    fn code_lists_do_not_overlap() {
        let lists = [
            HARD_DECLINE_CODES,
            SOFT_DECLINE_CODES,
            CUSTOMER_ACTION_CODES,
            PROVIDER_SIDE_CODES,
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
    fn status_table() {
        let e = |code: &str| json!({"error": {"type": "invalid_request_error", "code": code, "message": "m"}});
        let cases: Vec<(Operation, u16, Value, OutcomeClass)> = vec![
            (
                Operation::Authorize,
                400,
                e("parameter_invalid_integer"),
                OutcomeClass::ValidationError,
            ),
            (
                Operation::Authorize,
                400,
                e("lock_timeout"),
                OutcomeClass::RateLimited,
            ),
            (
                Operation::Authorize,
                400,
                json!({"error": {"type": "invalid_request_error", "message": "Invalid API Key provided: sk_test_***"}}),
                OutcomeClass::AuthConfigError,
            ),
            (
                Operation::Authorize,
                403,
                json!({"error": {"type": "invalid_request_error", "message": "no"}}),
                OutcomeClass::AuthConfigError,
            ),
            (
                Operation::Capture,
                404,
                e("resource_missing"),
                OutcomeClass::ValidationError,
            ),
            (
                Operation::Authorize,
                409,
                e("idempotency_key_in_use"),
                OutcomeClass::UnknownOutcome,
            ),
            (
                Operation::Authorize,
                424,
                json!({"error": {"type": "api_error", "message": "x"}}),
                OutcomeClass::ProviderUnavailable,
            ),
            (
                Operation::Authorize,
                429,
                e("rate_limit"),
                OutcomeClass::RateLimited,
            ),
            (
                Operation::Authorize,
                500,
                json!({"error": {"type": "api_error", "message": "x"}}),
                OutcomeClass::UnknownOutcome,
            ),
            (
                Operation::Refund,
                500,
                json!({"error": {"type": "api_error", "message": "x"}}),
                OutcomeClass::UnknownOutcome,
            ),
            (
                Operation::Authorize,
                502,
                json!({"error": {"type": "api_error", "message": "x"}}),
                OutcomeClass::ProviderUnavailable,
            ),
            (
                Operation::Authorize,
                503,
                json!({"error": {"type": "api_error", "message": "x"}}),
                OutcomeClass::ProviderUnavailable,
            ),
            (
                Operation::Authorize,
                504,
                json!({"error": {"type": "api_error", "message": "x"}}),
                OutcomeClass::UnknownOutcome,
            ),
            (
                Operation::Retrieve,
                401,
                json!({"error": {"type": "invalid_request_error", "message": "x"}}),
                OutcomeClass::UnknownOutcome,
            ),
            (
                Operation::Retrieve,
                503,
                json!({"error": {"type": "api_error", "message": "x"}}),
                OutcomeClass::UnknownOutcome,
            ),
        ];
        for (op, status, body, want) in cases {
            let r = parse_response(op, &resp(status, body.clone()));
            assert_eq!(r.class, want, "{op:?} {status} {body}");
            assert_eq!(r.http_status, Some(status));
        }
    }

    #[test]
    fn unreadable_bodies_are_never_declines() {
        for status in [200, 400, 402, 500, 502] {
            let r = parse_response(
                Operation::Authorize,
                &HttpResponse::new(status, "<html>oops"),
            );
            assert_eq!(r.class, OutcomeClass::UnknownOutcome, "{status}");
        }
        let r = parse_response(
            Operation::Capture,
            &HttpResponse::new(502, "<html>bad gateway"),
        );
        assert_eq!(r.class, OutcomeClass::ProviderUnavailable);
        let r = parse_response(Operation::Refund, &HttpResponse::new(401, ""));
        assert_eq!(r.class, OutcomeClass::AuthConfigError);
        let r = parse_response(Operation::Void, &HttpResponse::new(200, "not json"));
        assert_eq!(r.class, OutcomeClass::UnknownOutcome);
    }

    #[test]
    fn payment_intent_statuses() {
        let pi = |status: &str| json!({"object": "payment_intent", "id": "pi_1", "status": status});
        let cases = [
            (
                Operation::Authorize,
                "succeeded",
                OutcomeClass::Approved,
                true,
            ),
            (
                Operation::Authorize,
                "requires_capture",
                OutcomeClass::Approved,
                false,
            ),
            (
                Operation::Authorize,
                "processing",
                OutcomeClass::UnknownOutcome,
                false,
            ),
            (
                Operation::Authorize,
                "requires_payment_method",
                OutcomeClass::ProviderUnavailable,
                false,
            ),
            (
                Operation::Retrieve,
                "canceled",
                OutcomeClass::ProviderUnavailable,
                false,
            ),
            (Operation::Void, "canceled", OutcomeClass::Approved, false),
            (
                Operation::Void,
                "succeeded",
                OutcomeClass::UnknownOutcome,
                false,
            ),
            (
                Operation::Capture,
                "succeeded",
                OutcomeClass::Approved,
                true,
            ),
            (
                Operation::Capture,
                "requires_capture",
                OutcomeClass::UnknownOutcome,
                false,
            ),
        ];
        for (op, status, class, captured) in cases {
            let r = parse_response(op, &resp(200, pi(status)));
            assert_eq!((r.class, r.captured), (class, captured), "{op:?} {status}");
            assert_eq!(r.provider_reference.as_deref(), Some("pi_1"));
            assert_eq!(r.provider_status.as_deref(), Some(status));
        }
    }

    #[test]
    fn requires_action_carries_the_redirect_url() {
        let body = json!({"object": "payment_intent", "id": "pi_3ds", "status": "requires_action",
            "next_action": {"type": "redirect_to_url", "redirect_to_url": {"url": "https://hooks.stripe.com/3ds/x", "return_url": null}}});
        let r = parse_response(Operation::Authorize, &resp(200, body));
        assert_eq!(r.class, OutcomeClass::NeedsCustomerAction);
        assert_eq!(
            r.next_action_url.as_deref(),
            Some("https://hooks.stripe.com/3ds/x")
        );
    }

    #[test]
    fn declined_pi_in_a_200_is_classified_by_its_last_error() {
        let body = json!({"object": "payment_intent", "id": "pi_d", "status": "requires_payment_method",
            "last_payment_error": {"type": "card_error", "code": "card_declined", "decline_code": "lost_card", "message": "lost"}});
        let r = parse_response(Operation::Retrieve, &resp(200, body));
        assert_eq!(r.class, OutcomeClass::HardDecline);
        assert_eq!(r.decline_code.as_deref(), Some("lost_card"));
        assert_eq!(r.raw_code.as_deref(), Some("card_declined"));
    }

    #[test]
    fn search_results() {
        // The index lags: an empty search is never "not charged".
        let empty = json!({"object": "search_result", "data": [], "has_more": false});
        let r = parse_response(Operation::Retrieve, &resp(200, empty));
        assert_eq!(r.class, OutcomeClass::UnknownOutcome);
        assert_eq!(r.message.as_deref(), Some(SEARCH_EMPTY_MESSAGE));

        let one = json!({"object": "search_result", "data": [{"object": "payment_intent", "id": "pi_9", "status": "succeeded"}]});
        let r = parse_response(Operation::Retrieve, &resp(200, one));
        assert_eq!((r.class, r.captured), (OutcomeClass::Approved, true));
        assert_eq!(r.provider_reference.as_deref(), Some("pi_9"));

        let two = json!({"object": "search_result", "data": [{"id": "pi_a", "status": "succeeded"}, {"id": "pi_b", "status": "canceled"}]});
        assert_eq!(
            parse_response(Operation::Retrieve, &resp(200, two)).class,
            OutcomeClass::UnknownOutcome
        );

        let failed = json!({"error": {"type": "api_error", "message": "boom"}});
        assert_eq!(
            parse_response(Operation::Retrieve, &resp(500, failed)).class,
            OutcomeClass::UnknownOutcome
        );
    }

    #[test]
    fn refund_statuses() {
        let rf = |status: &str| json!({"object": "refund", "id": "re_1", "status": status, "failure_reason": "expired_or_canceled_card"});
        for (status, class) in [
            ("succeeded", OutcomeClass::Approved),
            ("pending", OutcomeClass::Approved),
            ("requires_action", OutcomeClass::NeedsCustomerAction),
            ("failed", OutcomeClass::HardDecline),
            ("canceled", OutcomeClass::HardDecline),
            ("weird", OutcomeClass::UnknownOutcome),
        ] {
            let r = parse_response(Operation::Refund, &resp(200, rf(status)));
            assert_eq!(r.class, class, "{status}");
            assert_eq!(r.provider_reference.as_deref(), Some("re_1"));
        }
    }

    #[test]
    fn error_fields_are_copied() {
        let body = json!({"error": {"type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds",
            "advice_code": "try_again_later", "message": "Your card has insufficient funds.",
            "payment_intent": {"id": "pi_e", "status": "requires_payment_method"}}});
        let r = parse_response(Operation::Authorize, &resp(402, body));
        assert_eq!(r.class, OutcomeClass::SoftDecline);
        assert_eq!(r.provider_reference.as_deref(), Some("pi_e"));
        assert_eq!(
            r.provider_status.as_deref(),
            Some("requires_payment_method")
        );
        assert_eq!(r.raw_code.as_deref(), Some("card_declined"));
        assert_eq!(r.decline_code.as_deref(), Some("insufficient_funds"));
        assert_eq!(
            r.message.as_deref(),
            Some("Your card has insufficient funds. [advice_code=try_again_later]")
        );
        assert_eq!(r.http_status, Some(402));
    }

    #[test]
    fn webhook_signature_checks() {
        let secret = "whsec_x";
        let body = br#"{"id":"evt_1","object":"event","type":"payment_intent.succeeded","data":{"object":{"object":"payment_intent","id":"pi_1","status":"succeeded"}}}"#;
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(b"1000.");
        mac.update(body);
        let sig = hex::encode(mac.finalize().into_bytes());
        let header = format!("t=1000,v1=deadbeef,v1={sig},v0=zz");
        assert_eq!(verify_webhook(body, &header, secret, 1100, 300), Ok(()));
        assert_eq!(
            verify_webhook(body, &header, secret, 1301, 300),
            Err(WebhookError::TimestampOutsideTolerance)
        );
        assert_eq!(
            verify_webhook(body, &header, "whsec_other", 1000, 300),
            Err(WebhookError::SignatureMismatch)
        );
        assert_eq!(
            verify_webhook(&body[1..], &header, secret, 1000, 300),
            Err(WebhookError::SignatureMismatch)
        );
        assert_eq!(
            verify_webhook(body, "v1=00", secret, 1000, 300),
            Err(WebhookError::MissingTimestamp)
        );
        assert_eq!(
            verify_webhook(body, "t=1000", secret, 1000, 300),
            Err(WebhookError::MissingSignature)
        );
        let ev = parse_event(body).unwrap();
        assert_eq!(ev.event_type, "payment_intent.succeeded");
        assert_eq!(
            ev.classify_object().map(|r| r.class),
            Some(OutcomeClass::Approved)
        );
    }
}
