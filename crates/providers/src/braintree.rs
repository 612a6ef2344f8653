//! Braintree GraphQL adapter: pure translation, no IO (REFERENCE.md §3).
//!
//! Every call is `POST /graphql` (base URL `https://payments.sandbox.braintree-api.com`, §3.1)
//! with JSON `{query, variables, operationName}` and `Braintree-Version: 2018-09-10`
//! ([`BRAINTREE_VERSION`], what the SDKs send, §0). The executor adds HTTP Basic auth from the
//! connector's `api_key` = `"public_key:private_key"` (INTERFACES.md §C); never here.
//!
//! | op | mutation / query | input |
//! |---|---|---|
//! | authorize, automatic capture | `chargePaymentMethod` | `paymentMethodId` (token/nonce), `transaction{amount: "20.00", orderId: our payment id}`, `apiRequestKey` (the attempt id) |
//! | authorize, manual capture | `authorizePaymentMethod` | same |
//! | capture | `captureTransaction` | `transactionId`, `transaction{amount}` when partial (Braintree settles less than authorized), `apiRequestKey` |
//! | void | `reverseTransaction` | `transactionId`, `apiRequestKey` (voids if unsettled, refunds if settled, §3.1) |
//! | refund | `refundTransaction` | `transactionId`, `refund{amount}`, `apiRequestKey` (the refund's key: a repeat never refunds twice) |
//! | retrieve with a reference | `node(id:)` | `id` |
//! | retrieve with the original | the charge/authorize replayed with the same input and `apiRequestKey` (§3.2: "a repeat with the same key returns the same transaction in its current status", 30-day window) | as authorize |
//! | retrieve with neither | `search { transactions(input: {orderId: {is: <payment id>}}) }` (§3.2: the pre-apiRequestKey recovery) | — |
//!
//! `apiRequestKey` is documented on ChargePaymentMethodInput but is "not in the graphql-api
//! schema snapshot" (§3.2); the XML gateway takes `<api-request-key>` on sale, submit for
//! settlement, refund, void and reverse, so it is sent on every mutation.
//!
//! Amounts: a decimal string with the currency's decimals ([`crate::amount::to_decimal`]:
//! `"20.00"`, JPY `"1000"`); the currency is **the merchant account's** (§0), so a Braintree
//! connector must be configured (routing `currencies`) for its account's currency only; a
//! transaction answered in another currency is reported in the message. REFERENCE.md documents
//! no three-decimal amounts for Braintree (only `"20.00"`-style strings, §0, §3.1), so
//! [`check_amount`] refuses three-decimal currencies (KWD, BHD, …) with a `validation_error` and no
//! call. Zero-decimal currencies (JPY, KRW) are sent without decimals.
//!
//! Classification ([`parse_response`]; REFERENCE.md §3.3, §5). GraphQL answers **HTTP 200 with
//! `errors[]`** for declines and validation errors, so `errors` is always inspected first:
//!
//! | answer | class |
//! |---|---|
//! | `errors[].extensions.legacyCode` 2000–2999 | [`classify_processor_code`]: [`SOFT_CODES`] (2000\* Do Not Honor, 2001 insufficient funds, …) soft, [`HARD_CODES`] hard, 2099 needs_customer_action, else `declineType` HARD/SOFT, else soft |
//! | legacyCode 3000 | provider_unavailable (processor network down, §3.3) |
//! | `gatewayRejectionReason` / "Gateway Rejected: …" | [`classify_gateway_rejection`]: fraud, risk_threshold, cvv, avs, avs_and_cvv, duplicate, excessive_retry, token_issuance hard; three_d_secure needs_customer_action; application_incomplete auth_config_error |
//! | errorClass VALIDATION mentioning `apiRequestKey` on authorize | unknown_outcome (the original with this key did arrive, or is in flight) |
//! | errorClass VALIDATION, NOT_FOUND | validation_error |
//! | AUTHENTICATION, AUTHORIZATION, UNSUPPORTED_CLIENT, HTTP 401/403/426 | auth_config_error |
//! | RESOURCE_LIMIT, HTTP 429 | rate_limited |
//! | SERVICE_AVAILABILITY, HTTP 503 | provider_unavailable |
//! | INTERNAL, HTTP 500/504 | unknown_outcome (§5: "504, GraphQL INTERNAL → same apiRequestKey or search by orderId") |
//! | transaction AUTHORIZED | approved |
//! | SUBMITTED_FOR_SETTLEMENT, SETTLING, SETTLED, SETTLEMENT_PENDING, SETTLEMENT_CONFIRMED | approved, `captured = true` |
//! | PROCESSOR_DECLINED / GATEWAY_REJECTED / FAILED in data | as the codes above (FAILED provider_unavailable) |
//! | VOIDED, AUTHORIZATION_EXPIRED | void: approved; authorize/retrieve: provider_unavailable (nothing charged) |
//! | AUTHORIZING, other | unknown_outcome |
//! | any failure on **retrieve** | unknown_outcome |
//!
//! The XML gateway is not used for calls; [`parse_xml_response`] classifies its answers with the
//! same tables (the shared fixtures include XML answers), and [`xml_sale_fields`] reads an XML sale
//! request so the request fixture can be compared with what [`authorize_request`] sends.

use crate::amount;
use crate::http::{Body, HttpRequest, HttpResponse, Method};
use crate::stripe::Call;
use crate::{
    AuthorizeRequest, CaptureRequest, Operation, ProviderResult, RefundRequest, RetrieveRequest,
    VoidRequest,
};
use routing::{CaptureMode, Money, OutcomeClass};
use serde_json::{Value, json};

/// `Braintree-Version` header value (REFERENCE.md §0, §3.1).
pub const BRAINTREE_VERSION: &str = "2018-09-10";
/// Sandbox GraphQL base URL (REFERENCE.md §0); the adapter appends `/graphql`.
pub const DEFAULT_BASE_URL: &str = "https://payments.sandbox.braintree-api.com";
/// GraphQL path.
pub const GRAPHQL_PATH: &str = "/graphql";

/// Processor response codes Braintree types Soft (REFERENCE.md §3.3; 2000 Do Not Honor is the
/// contested one, soft per Braintree's own table and §5).
pub const SOFT_CODES: &[u16] = &[2000, 2001, 2002, 2003, 2038, 2046, 2057, 2059, 2060];
/// Processor response codes Braintree types Hard (REFERENCE.md §3.3, §5).
pub const HARD_CODES: &[u16] = &[
    2004, 2005, 2006, 2007, 2010, 2012, 2013, 2014, 2015, 2044, 2047, 2053,
];
/// Cardholder authentication required (REFERENCE.md §3.3, §5: needs_customer_action).
pub const CUSTOMER_ACTION_CODES: &[u16] = &[2099];

const CHARGE_QUERY: &str = "mutation ChargePaymentMethod($input: ChargePaymentMethodInput!) { chargePaymentMethod(input: $input) { transaction { id legacyId orderId status createdAt amount { value currencyCode } } } }";
const AUTHORIZE_QUERY: &str = "mutation AuthorizePaymentMethod($input: AuthorizePaymentMethodInput!) { authorizePaymentMethod(input: $input) { transaction { id legacyId orderId status createdAt amount { value currencyCode } } } }";
const CAPTURE_QUERY: &str = "mutation CaptureTransaction($input: CaptureTransactionInput!) { captureTransaction(input: $input) { transaction { id legacyId orderId status createdAt amount { value currencyCode } } } }";
const REVERSE_QUERY: &str = "mutation ReverseTransaction($input: ReverseTransactionInput!) { reverseTransaction(input: $input) { reversal { ... on Transaction { id legacyId status } ... on Refund { id legacyId status } } } }";
const REFUND_QUERY: &str = "mutation RefundTransaction($input: RefundTransactionInput!) { refundTransaction(input: $input) { refund { id legacyId orderId status amount { value currencyCode } } } }";
const NODE_QUERY: &str = "query Transaction($id: ID!) { node(id: $id) { ... on Transaction { id legacyId orderId status createdAt amount { value currencyCode } } } }";
const SEARCH_QUERY: &str = "query Search($input: TransactionSearchInput!) { search { transactions(input: $input) { edges { node { id legacyId orderId status createdAt amount { value currencyCode } } } } } }";

// ---------------------------------------------------------------------------------------------
// Classifier
// ---------------------------------------------------------------------------------------------

/// Class of a processor response code (module table). 1000–1004 approved, 3000 provider side.
pub fn classify_processor_code(code: u16, decline_type: Option<&str>) -> OutcomeClass {
    match code {
        1000..=1004 => OutcomeClass::Approved,
        3000 => OutcomeClass::ProviderUnavailable,
        c if SOFT_CODES.contains(&c) => OutcomeClass::SoftDecline,
        c if HARD_CODES.contains(&c) => OutcomeClass::HardDecline,
        c if CUSTOMER_ACTION_CODES.contains(&c) => OutcomeClass::NeedsCustomerAction,
        _ => match decline_type.map(str::to_ascii_uppercase).as_deref() {
            Some("HARD") => OutcomeClass::HardDecline,
            Some(_) | None => OutcomeClass::SoftDecline,
        },
    }
}

/// Class of a gateway rejection reason (case-insensitive; REFERENCE.md §3.3, §5).
pub fn classify_gateway_rejection(reason: &str) -> OutcomeClass {
    match reason.to_ascii_lowercase().as_str() {
        "three_d_secure" => OutcomeClass::NeedsCustomerAction,
        "application_incomplete" => OutcomeClass::AuthConfigError,
        // fraud, risk_threshold, cvv, avs, avs_and_cvv, duplicate, excessive_retry,
        // token_issuance and anything new: the gateway refused this payment method.
        _ => OutcomeClass::HardDecline,
    }
}

/// Class of a GraphQL `errorClass` (REFERENCE.md §3.3) seen on `op`.
pub fn classify_error_class(op: Operation, error_class: Option<&str>, status: u16) -> OutcomeClass {
    match error_class {
        Some("VALIDATION" | "NOT_FOUND") => OutcomeClass::ValidationError,
        Some("AUTHENTICATION" | "AUTHORIZATION" | "UNSUPPORTED_CLIENT") => {
            OutcomeClass::AuthConfigError
        }
        Some("RESOURCE_LIMIT") => OutcomeClass::RateLimited,
        Some("SERVICE_AVAILABILITY") => OutcomeClass::ProviderUnavailable,
        Some("INTERNAL") => OutcomeClass::UnknownOutcome,
        Some(_) | None => class_of_status(op, status),
    }
}

fn class_of_status(op: Operation, status: u16) -> OutcomeClass {
    match status {
        401 | 403 | 426 => OutcomeClass::AuthConfigError,
        429 => OutcomeClass::RateLimited,
        503 => OutcomeClass::ProviderUnavailable,
        400..=499 => OutcomeClass::ValidationError,
        200..=299 if op != Operation::Authorize => OutcomeClass::UnknownOutcome,
        _ => OutcomeClass::UnknownOutcome,
    }
}

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

fn headers() -> Vec<(String, String)> {
    vec![("Braintree-Version".to_owned(), BRAINTREE_VERSION.to_owned())]
}

fn graphql(operation_name: &str, query: &str, variables: Value) -> HttpRequest {
    HttpRequest {
        method: Method::Post,
        path: GRAPHQL_PATH.to_owned(),
        headers: headers(),
        body: Body::Json(json!({
            "query": query,
            "variables": variables,
            "operationName": operation_name,
        })),
    }
}

/// `Ok` when Braintree can take `money` (module docs: no three-decimal currencies); else the
/// message of the `validation_error` returned without a call.
pub fn check_amount(money: &Money) -> Result<(), String> {
    if amount::is_three_decimal(&money.currency) {
        return Err(format!(
            "Braintree amounts are decimal strings in the merchant account's currency and \
             REFERENCE.md (§0, §3.1) documents no three-decimal currency such as {}; refused. \
             Not sent.",
            money.currency.as_str()
        ));
    }
    Ok(())
}

fn refused(message: String) -> Call {
    let mut r = ProviderResult::new(OutcomeClass::ValidationError).with_message(message);
    r.raw_code = Some("currency_not_supported".to_owned());
    Call::Answer(r)
}

/// `chargePaymentMethod` (automatic capture) or `authorizePaymentMethod` (manual).
pub fn authorize_request(req: &AuthorizeRequest) -> HttpRequest {
    let input = json!({
        "paymentMethodId": req.token,
        "transaction": {"amount": amount::to_decimal(&req.money), "orderId": req.payment_id},
        "apiRequestKey": req.idempotency_key,
    });
    let (name, query) = match req.capture {
        CaptureMode::Automatic => ("ChargePaymentMethod", CHARGE_QUERY),
        CaptureMode::Manual => ("AuthorizePaymentMethod", AUTHORIZE_QUERY),
    };
    graphql(name, query, json!({"input": input}))
}

/// The plan of an authorize.
pub fn authorize_call(req: &AuthorizeRequest) -> Call {
    match check_amount(&req.money) {
        Ok(()) => Call::Send {
            request: authorize_request(req),
            parse: parse_response,
        },
        Err(m) => refused(m),
    }
}

/// `captureTransaction` (full, or `transaction.amount` for a partial capture).
pub fn capture_request(req: &CaptureRequest) -> HttpRequest {
    let mut input =
        json!({"transactionId": req.provider_reference, "apiRequestKey": req.idempotency_key});
    if let Some(m) = &req.amount {
        input["transaction"] = json!({"amount": amount::to_decimal(m)});
    }
    graphql("CaptureTransaction", CAPTURE_QUERY, json!({"input": input}))
}

/// The plan of a capture.
pub fn capture_call(req: &CaptureRequest) -> Call {
    if let Some(Err(m)) = req.amount.as_ref().map(check_amount) {
        return refused(m);
    }
    Call::Send {
        request: capture_request(req),
        parse: parse_response,
    }
}

/// `reverseTransaction`.
pub fn void_request(req: &VoidRequest) -> HttpRequest {
    let input =
        json!({"transactionId": req.provider_reference, "apiRequestKey": req.idempotency_key});
    graphql("ReverseTransaction", REVERSE_QUERY, json!({"input": input}))
}

/// The plan of a void.
pub fn void_call(req: &VoidRequest) -> Call {
    Call::Send {
        request: void_request(req),
        parse: parse_response,
    }
}

/// `refundTransaction` with `refund.amount`.
pub fn refund_request(req: &RefundRequest) -> HttpRequest {
    let input = json!({
        "transactionId": req.provider_reference,
        "refund": {"amount": amount::to_decimal(&req.money)},
        "apiRequestKey": req.idempotency_key,
    });
    graphql("RefundTransaction", REFUND_QUERY, json!({"input": input}))
}

/// The plan of a refund.
pub fn refund_call(req: &RefundRequest) -> Call {
    match check_amount(&req.money) {
        Ok(()) => Call::Send {
            request: refund_request(req),
            parse: parse_response,
        },
        Err(m) => refused(m),
    }
}

/// `node(id:)` of a transaction.
pub fn node_request(transaction_id: &str) -> HttpRequest {
    graphql("Transaction", NODE_QUERY, json!({"id": transaction_id}))
}

/// `search.transactions(orderId is <payment id>)`.
pub fn search_request(payment_id: &str) -> HttpRequest {
    graphql(
        "Search",
        SEARCH_QUERY,
        json!({"input": {"orderId": {"is": payment_id}}}),
    )
}

/// The plan of a retrieve (module table): node by reference; else replay the original with its
/// `apiRequestKey` ([`parse_replay`]); else search by our payment id (orderId).
pub fn retrieve_call(req: &RetrieveRequest) -> Call {
    if let Some(id) = req.provider_reference.as_deref().filter(|r| !r.is_empty()) {
        return Call::Send {
            request: node_request(id),
            parse: parse_response,
        };
    }
    match &req.original {
        Some(original)
            if !original.idempotency_key.trim().is_empty()
                && original.idempotency_key == req.idempotency_key =>
        {
            match authorize_call(original) {
                Call::Send { request, .. } => Call::Send {
                    request,
                    parse: parse_replay,
                },
                other @ (Call::Answer(_) | Call::SearchThenGet { .. }) => other,
            }
        }
        Some(_) => Call::Answer(
            ProviderResult::new(OutcomeClass::UnknownOutcome).with_message(
                "retrieve refused: the original authorize's apiRequestKey is empty or differs \
                 from the retrieve's; nothing was sent",
            ),
        ),
        None if !req.payment_id.is_empty() => Call::Send {
            request: search_request(&req.payment_id),
            parse: parse_response,
        },
        None => Call::Answer(
            ProviderResult::new(OutcomeClass::UnknownOutcome)
                .with_message("retrieve impossible: no reference, original or payment id"),
        ),
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

/// Parses a Braintree GraphQL answer to `op` (module table). `latency_ms` is left 0.
pub fn parse_response(op: Operation, resp: &HttpResponse) -> ProviderResult {
    let json = resp.json().filter(Value::is_object);
    let mut r = match &json {
        None => {
            let class = if resp.is_success() || op == Operation::Authorize {
                OutcomeClass::UnknownOutcome
            } else {
                class_of_status(op, resp.status)
            };
            ProviderResult::new(class).with_message(format!(
                "unreadable {} response body from Braintree (HTTP {})",
                op.as_str(),
                resp.status
            ))
        }
        Some(v) => match v
            .get("errors")
            .and_then(Value::as_array)
            .and_then(|e| e.first())
        {
            Some(err) => classify_graphql_error(op, resp.status, err),
            None if resp.is_success() => parse_data(op, v),
            None => ProviderResult::new(class_of_status(op, resp.status))
                .with_message(format!("HTTP {} from Braintree", resp.status)),
        },
    };
    r.http_status = Some(resp.status);
    if op == Operation::Retrieve && is_lookup_failure(&r) {
        r.class = OutcomeClass::UnknownOutcome;
        let m = r.message.take().unwrap_or_default();
        r.message = Some(format!("retrieve failed (HTTP {}): {m}", resp.status));
    }
    r
}

/// For a retrieve, an error that is not a transaction's own decline is a failed lookup.
fn is_lookup_failure(r: &ProviderResult) -> bool {
    match r.class {
        OutcomeClass::Approved
        | OutcomeClass::HardDecline
        | OutcomeClass::SoftDecline
        | OutcomeClass::NeedsCustomerAction
        | OutcomeClass::UnknownOutcome => false,
        OutcomeClass::ProviderUnavailable => r.provider_status.is_none(),
        OutcomeClass::ValidationError
        | OutcomeClass::AuthConfigError
        | OutcomeClass::RateLimited => true,
    }
}

fn classify_graphql_error(op: Operation, status: u16, err: &Value) -> ProviderResult {
    let message = str_at(err, "message");
    let ext = err.get("extensions");
    let error_class = ext.and_then(|e| str_at(e, "errorClass"));
    let legacy = ext.and_then(|e| str_at(e, "legacyCode"));
    let decline_type = ext.and_then(|e| str_at(e, "declineType"));
    let rejection = ext
        .and_then(|e| str_at(e, "gatewayRejectionReason"))
        .or_else(|| message.and_then(|m| m.strip_prefix("Gateway Rejected: ")));
    let processor = legacy
        .and_then(|c| c.parse::<u16>().ok())
        .filter(|c| (2000..=3999).contains(c));
    let mut r = ProviderResult::new(OutcomeClass::UnknownOutcome);
    r.raw_code = owned(legacy.or(error_class));
    r.message = owned(message);
    r.class = if let Some(code) = processor {
        r.decline_code = owned(legacy);
        classify_processor_code(code, decline_type)
    } else if let Some(reason) = rejection {
        r.decline_code = Some(format!("gateway_rejected:{}", reason.to_ascii_lowercase()));
        classify_gateway_rejection(reason)
    } else if op == Operation::Authorize
        && error_class == Some("VALIDATION")
        && message.is_some_and(|m| m.contains("apiRequestKey"))
    {
        // Same key still in flight, or used with different input: the original arrived.
        OutcomeClass::UnknownOutcome
    } else {
        classify_error_class(op, error_class, status)
    };
    r
}

fn parse_data(op: Operation, v: &Value) -> ProviderResult {
    let data = v.get("data").filter(|d| d.is_object());
    let Some(data) = data else {
        return ProviderResult::new(OutcomeClass::UnknownOutcome)
            .with_message("Braintree answer without data or errors");
    };
    if let Some(edges) = data
        .pointer("/search/transactions/edges")
        .and_then(Value::as_array)
    {
        return classify_search(edges);
    }
    if let Some(node) = data.get("node") {
        return match node.is_object() {
            true => classify_transaction(Operation::Retrieve, node),
            false => ProviderResult::new(OutcomeClass::UnknownOutcome)
                .with_message("no Braintree transaction with this id"),
        };
    }
    // The one mutation field: chargePaymentMethod, captureTransaction, ….
    let payload = data
        .as_object()
        .and_then(|o| o.values().next())
        .filter(|p| p.is_object());
    let Some(payload) = payload else {
        return ProviderResult::new(OutcomeClass::UnknownOutcome).with_message(format!(
            "Braintree {} answer without a payload",
            op.as_str()
        ));
    };
    if let Some(tx) = payload.get("transaction").filter(|t| t.is_object()) {
        return classify_transaction(op, tx);
    }
    if let Some(rev) = payload.get("reversal").filter(|t| t.is_object()) {
        return classify_transaction(Operation::Void, rev);
    }
    if let Some(rf) = payload.get("refund").filter(|t| t.is_object()) {
        return classify_transaction(Operation::Refund, rf);
    }
    ProviderResult::new(OutcomeClass::UnknownOutcome).with_message(format!(
        "Braintree {} answer without a transaction",
        op.as_str()
    ))
}

fn classify_search(edges: &[Value]) -> ProviderResult {
    let nodes: Vec<&Value> = edges.iter().filter_map(|e| e.get("node")).collect();
    match nodes.as_slice() {
        [] => ProviderResult::new(OutcomeClass::UnknownOutcome).with_message(
            "no Braintree transaction found by orderId; this does not prove nothing was charged",
        ),
        [tx] => classify_transaction(Operation::Retrieve, tx),
        many => {
            // Several attempts of one payment on this connector: a live charge wins.
            let live: Vec<ProviderResult> = many
                .iter()
                .map(|tx| classify_transaction(Operation::Retrieve, tx))
                .filter(|r| r.class == OutcomeClass::Approved)
                .collect();
            match <[ProviderResult; 1]>::try_from(live) {
                Ok([one]) => one,
                Err(_) => ProviderResult::new(OutcomeClass::UnknownOutcome).with_message(format!(
                    "{} Braintree transactions carry this orderId; needs a human",
                    many.len()
                )),
            }
        }
    }
}

/// Classifies a Braintree Transaction/Refund (GraphQL `PaymentStatus`, upper case) as the
/// answer to `op` (module table). For [`Operation::Refund`] and [`Operation::Void`] (reversal),
/// any accepted status is approved.
pub fn classify_transaction(op: Operation, tx: &Value) -> ProviderResult {
    let status = str_at(tx, "status").map(str::to_ascii_uppercase);
    let mut r = ProviderResult::new(OutcomeClass::UnknownOutcome);
    r.provider_reference = owned(str_at(tx, "id"));
    r.provider_status = status.clone();
    let settled = matches!(
        status.as_deref(),
        Some(
            "SUBMITTED_FOR_SETTLEMENT"
                | "SETTLING"
                | "SETTLED"
                | "SETTLEMENT_PENDING"
                | "SETTLEMENT_CONFIRMED"
        )
    );
    match (op, status.as_deref()) {
        (Operation::Refund | Operation::Void, _) if settled => r.class = OutcomeClass::Approved,
        (Operation::Void, Some("VOIDED")) => r.class = OutcomeClass::Approved,
        (Operation::Refund | Operation::Void, Some("AUTHORIZED")) => {
            r.class = OutcomeClass::Approved
        }
        (Operation::Authorize | Operation::Retrieve | Operation::Capture, _) if settled => {
            r.class = OutcomeClass::Approved;
            r.captured = true;
        }
        (Operation::Authorize | Operation::Retrieve, Some("AUTHORIZED")) => {
            r.class = OutcomeClass::Approved;
        }
        (Operation::Authorize | Operation::Retrieve, Some("VOIDED" | "AUTHORIZATION_EXPIRED")) => {
            r.class = OutcomeClass::ProviderUnavailable;
            r.message = Some("Braintree transaction is voided/expired; nothing charged".to_owned());
        }
        (_, Some("FAILED")) => {
            r.class = OutcomeClass::ProviderUnavailable;
            r.message = Some("Braintree transaction FAILED (processor unavailable)".to_owned());
        }
        (_, Some(s @ ("PROCESSOR_DECLINED" | "GATEWAY_REJECTED"))) => {
            // The reason sits in the status history event (ProcessorDeclinedEvent /
            // GatewayRejectedEvent, REFERENCE.md §3.3); without it: soft / hard.
            let event = tx
                .get("statusHistory")
                .and_then(Value::as_array)
                .and_then(|h| h.iter().find(|e| str_at(e, "status") == Some(s)));
            let code = event
                .and_then(|e| e.pointer("/processorResponse/legacyCode"))
                .and_then(Value::as_str);
            let decline_type = event.and_then(|e| str_at(e, "declineType"));
            let reason = event.and_then(|e| str_at(e, "gatewayRejectionReason"));
            r.class = match (s, code.and_then(|c| c.parse::<u16>().ok()), reason) {
                ("GATEWAY_REJECTED", _, Some(reason)) => {
                    r.decline_code =
                        Some(format!("gateway_rejected:{}", reason.to_ascii_lowercase()));
                    classify_gateway_rejection(reason)
                }
                ("GATEWAY_REJECTED", _, None) => OutcomeClass::HardDecline,
                (_, Some(c), _) => {
                    r.raw_code = owned(code);
                    r.decline_code = owned(code);
                    classify_processor_code(c, decline_type)
                }
                (_, None, _) => classify_processor_code(0, decline_type),
            };
            r.message = Some(format!("Braintree transaction {s}"));
        }
        (_, Some("SETTLEMENT_DECLINED")) => {
            r.class = OutcomeClass::HardDecline;
        }
        _ => {
            r.message = Some(format!(
                "unexpected Braintree status {:?} after {}",
                status.as_deref().unwrap_or("<none>"),
                op.as_str()
            ));
        }
    }
    r
}

/// Classifies Braintree's answer to a **replayed** charge/authorize as a retrieve result
/// (contract on [`crate::Executor::retrieve`]): a transaction, a processor decline or a gateway
/// rejection is definitive (Braintree returns the same transaction for the same
/// `apiRequestKey`, §3.2); any other error (validation incl. "apiRequestKey already used",
/// INTERNAL, limits, auth) is `unknown_outcome`.
pub fn parse_replay(_op: Operation, resp: &HttpResponse) -> ProviderResult {
    let mut r = parse_response(Operation::Authorize, resp);
    let definitive = match r.class {
        OutcomeClass::Approved
        | OutcomeClass::HardDecline
        | OutcomeClass::SoftDecline
        | OutcomeClass::NeedsCustomerAction => true,
        OutcomeClass::ProviderUnavailable => {
            r.provider_status.is_some()
                || r.decline_code.is_some()
                || r.raw_code.as_deref() == Some("3000")
        }
        OutcomeClass::ValidationError
        | OutcomeClass::AuthConfigError
        | OutcomeClass::RateLimited
        | OutcomeClass::UnknownOutcome => false,
    };
    if !definitive {
        let m = r.message.take().unwrap_or_default();
        r.class = OutcomeClass::UnknownOutcome;
        r.message = Some(format!(
            "authorize replay did not settle the outcome; still unknown ({m})"
        ));
    }
    r
}

// ---------------------------------------------------------------------------------------------
// XML gateway (classification of its answers only)
// ---------------------------------------------------------------------------------------------

/// Text of the first `<tag>…</tag>` in `xml` (no attributes on the tag itself are needed for
/// the fields read here; `<tag nil="true"/>` yields `None`). Entities are not decoded: the
/// fields read are codes and ids.
pub fn xml_tag<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let open_attr = format!("<{tag} ");
    let start = match xml.find(&open) {
        Some(i) => i + open.len(),
        None => {
            let i = xml.find(&open_attr)?;
            let end = xml[i..].find('>')? + i;
            if xml[..end].ends_with('/') {
                return None;
            }
            end + 1
        }
    };
    let close = format!("</{tag}>");
    let len = xml[start..].find(&close)?;
    Some(xml[start..start + len].trim())
}

/// Classifies an XML gateway answer (REFERENCE.md §3.3): 2xx `<transaction>` by status;
/// 422 `<api-error-response>` with a `<transaction>` by processor code / gateway rejection, and
/// without one (validation `<errors>`) validation_error; other statuses as GraphQL.
pub fn parse_xml_response(op: Operation, status: u16, xml: &str) -> ProviderResult {
    let mut r = if xml.contains("<api-error-response>") {
        let mut r = ProviderResult::new(OutcomeClass::ValidationError);
        r.message = owned(xml_tag(xml, "message"));
        if let Some(tx_status) = xml_tag(xml, "status") {
            r.provider_reference = owned(xml_tag(xml, "id"));
            r.provider_status = Some(tx_status.to_ascii_uppercase());
            let code = xml_tag(xml, "processor-response-code");
            let decline_type = xml_tag(xml, "processor-response-type")
                .map(|t| if t == "hard_declined" { "HARD" } else { "SOFT" });
            r.class = match (tx_status, xml_tag(xml, "gateway-rejection-reason")) {
                ("gateway_rejected", Some(reason)) => {
                    r.decline_code = Some(format!("gateway_rejected:{reason}"));
                    classify_gateway_rejection(reason)
                }
                ("failed", _) => OutcomeClass::ProviderUnavailable,
                (_, _) => {
                    r.decline_code = owned(code);
                    r.raw_code = owned(code);
                    code.and_then(|c| c.parse::<u16>().ok())
                        .map(|c| classify_processor_code(c, decline_type))
                        .unwrap_or(OutcomeClass::SoftDecline)
                }
            };
        } else {
            r.raw_code = owned(xml_tag(xml, "code"));
        }
        r
    } else if (200..300).contains(&status) && xml.contains("<transaction>") {
        let tx = json!({
            "id": xml_tag(xml, "id"),
            "status": xml_tag(xml, "status"),
        });
        classify_transaction(op, &tx)
    } else {
        ProviderResult::new(class_of_status(op, status))
    };
    r.http_status = Some(status);
    r
}

/// The fields of an XML sale request that the GraphQL authorize also carries:
/// `(amount, order id, api request key, nonce, submit for settlement)`.
pub fn xml_sale_fields(
    xml: &str,
) -> (Option<&str>, Option<&str>, Option<&str>, Option<&str>, bool) {
    (
        xml_tag(xml, "amount"),
        xml_tag(xml, "order-id"),
        xml_tag(xml, "api-request-key"),
        xml_tag(xml, "payment-method-nonce"),
        xml_tag(xml, "submit-for-settlement") == Some("true"),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use routing::Currency;

    #[test]
    fn processor_code_table() {
        for (code, dt, class) in [
            (1000, None, OutcomeClass::Approved),
            (2000, Some("HARD"), OutcomeClass::SoftDecline),
            (2001, None, OutcomeClass::SoftDecline),
            (2004, None, OutcomeClass::HardDecline),
            (2013, None, OutcomeClass::HardDecline),
            (2015, None, OutcomeClass::HardDecline),
            (2099, None, OutcomeClass::NeedsCustomerAction),
            (2100, Some("HARD"), OutcomeClass::HardDecline),
            (2100, None, OutcomeClass::SoftDecline),
            (3000, None, OutcomeClass::ProviderUnavailable),
        ] {
            assert_eq!(classify_processor_code(code, dt), class, "{code} {dt:?}");
        }
        for (reason, class) in [
            ("FRAUD", OutcomeClass::HardDecline),
            ("risk_threshold", OutcomeClass::HardDecline),
            ("three_d_secure", OutcomeClass::NeedsCustomerAction),
            ("application_incomplete", OutcomeClass::AuthConfigError),
        ] {
            assert_eq!(classify_gateway_rejection(reason), class, "{reason}");
        }
    }

    #[test]
    fn currencies_table() {
        for (cur, minor, ok, value) in [
            ("USD", 2000, true, "20.00"),
            ("JPY", 1000, true, "1000"),
            ("KRW", 5000, true, "5000"),
            ("KWD", 1000, false, ""),
            ("BHD", 1000, false, ""),
        ] {
            let m = Money::new(minor, Currency::parse(cur).unwrap()).unwrap();
            assert_eq!(check_amount(&m).is_ok(), ok, "{cur}");
            if ok {
                assert_eq!(amount::to_decimal(&m), value);
            }
        }
    }

    #[test]
    fn declined_transactions_read_their_history() {
        let tx = |status: &str, event: Value| json!({"id": "dHg", "status": status, "statusHistory": [event]});
        let cases = [
            (
                tx(
                    "PROCESSOR_DECLINED",
                    json!({"status": "PROCESSOR_DECLINED", "processorResponse": {"legacyCode": "2015"}}),
                ),
                OutcomeClass::HardDecline,
            ),
            (
                tx(
                    "PROCESSOR_DECLINED",
                    json!({"status": "PROCESSOR_DECLINED", "processorResponse": {"legacyCode": "2001"}}),
                ),
                OutcomeClass::SoftDecline,
            ),
            (
                tx(
                    "PROCESSOR_DECLINED",
                    json!({"status": "PROCESSOR_DECLINED", "declineType": "HARD"}),
                ),
                OutcomeClass::HardDecline,
            ),
            (
                tx("PROCESSOR_DECLINED", json!({"status": "AUTHORIZED"})),
                OutcomeClass::SoftDecline,
            ),
            (
                tx(
                    "GATEWAY_REJECTED",
                    json!({"status": "GATEWAY_REJECTED", "gatewayRejectionReason": "THREE_D_SECURE"}),
                ),
                OutcomeClass::NeedsCustomerAction,
            ),
            (tx("GATEWAY_REJECTED", json!({})), OutcomeClass::HardDecline),
            (tx("FAILED", json!({})), OutcomeClass::ProviderUnavailable),
            (tx("VOIDED", json!({})), OutcomeClass::ProviderUnavailable),
            (tx("SETTLED", json!({})), OutcomeClass::Approved),
        ];
        for (t, class) in cases {
            assert_eq!(
                classify_transaction(Operation::Retrieve, &t).class,
                class,
                "{t}"
            );
        }
    }

    #[test]
    fn xml_tags() {
        let x = "<a><b nil=\"true\"/><c type=\"x\">v</c><d>w</d></a>";
        assert_eq!(xml_tag(x, "b"), None);
        assert_eq!(xml_tag(x, "c"), Some("v"));
        assert_eq!(xml_tag(x, "d"), Some("w"));
        assert_eq!(xml_tag(x, "e"), None);
    }
}
