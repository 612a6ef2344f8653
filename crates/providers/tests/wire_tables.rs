//! Table tests of the Square, Braintree and Mollie parsers on answers the fixtures do not cover:
//! unreadable bodies, failed lookups, replays, asynchronous Mollie states.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use providers::{HttpResponse, Operation, braintree, mollie, square};
use routing::OutcomeClass;
use serde_json::{Value, json};

type Parse = fn(Operation, &HttpResponse) -> providers::ProviderResult;

fn resp(status: u16, v: &Value) -> HttpResponse {
    HttpResponse::new(status, serde_json::to_vec(v).unwrap())
}

fn run(name: &str, parse: Parse, cases: &[(Operation, u16, Value, OutcomeClass)]) {
    for (op, status, body, want) in cases {
        let r = parse(*op, &resp(*status, body));
        assert_eq!(r.class, *want, "{name} {op:?} {status} {body}: {r:?}");
        assert_eq!(r.http_status, Some(*status));
    }
}

#[test]
fn unreadable_bodies_are_never_declines() {
    for (name, parse) in [
        ("square", square::parse_response as Parse),
        ("braintree", braintree::parse_response),
        ("mollie", mollie::parse_response),
    ] {
        for status in [200, 201, 400, 402, 422, 500] {
            let r = parse(
                Operation::Authorize,
                &HttpResponse::new(status, "<html>oops"),
            );
            assert_eq!(r.class, OutcomeClass::UnknownOutcome, "{name} {status}");
        }
        for status in [200, 400, 401, 429, 500, 503] {
            let r = parse(Operation::Retrieve, &HttpResponse::new(status, "<html>"));
            assert_eq!(
                r.class,
                OutcomeClass::UnknownOutcome,
                "{name} retrieve {status}"
            );
        }
    }
}

#[test]
fn square_table() {
    let err =
        |code: &str, cat: &str| json!({"errors": [{"code": code, "category": cat, "detail": "d"}]});
    let pay = |status: &str| json!({"payment": {"id": "p1", "status": status}});
    run(
        "square",
        square::parse_response,
        &[
            (
                Operation::Authorize,
                200,
                pay("COMPLETED"),
                OutcomeClass::Approved,
            ),
            (
                Operation::Authorize,
                200,
                pay("APPROVED"),
                OutcomeClass::Approved,
            ),
            (
                Operation::Authorize,
                200,
                pay("PENDING"),
                OutcomeClass::UnknownOutcome,
            ),
            (
                Operation::Retrieve,
                200,
                pay("CANCELED"),
                OutcomeClass::ProviderUnavailable,
            ),
            (
                Operation::Void,
                200,
                pay("CANCELED"),
                OutcomeClass::Approved,
            ),
            (Operation::Void, 200, json!({}), OutcomeClass::Approved),
            (
                Operation::Capture,
                200,
                pay("APPROVED"),
                OutcomeClass::UnknownOutcome,
            ),
            (
                Operation::Refund,
                200,
                json!({"refund": {"id": "r", "status": "REJECTED"}}),
                OutcomeClass::HardDecline,
            ),
            (
                Operation::Refund,
                400,
                err("REFUND_AMOUNT_INVALID", "REFUND_ERROR"),
                OutcomeClass::ValidationError,
            ),
            (
                Operation::Authorize,
                409,
                err("CONFLICT", "INVALID_REQUEST_ERROR"),
                OutcomeClass::UnknownOutcome,
            ),
            (
                Operation::Authorize,
                504,
                err("GATEWAY_TIMEOUT", "API_ERROR"),
                OutcomeClass::UnknownOutcome,
            ),
            (
                Operation::Authorize,
                403,
                err("INSUFFICIENT_SCOPES", "AUTHENTICATION_ERROR"),
                OutcomeClass::AuthConfigError,
            ),
            (
                Operation::Retrieve,
                404,
                err("NOT_FOUND", "INVALID_REQUEST_ERROR"),
                OutcomeClass::UnknownOutcome,
            ),
        ],
    );
    // A FAILED payment answered with 200 (GET) carries its card error.
    let failed = json!({"payment": {"id": "p", "status": "FAILED", "card_details": {"errors": [{"code": "CVV_FAILURE", "category": "PAYMENT_METHOD_ERROR"}]}}});
    let r = square::parse_response(Operation::Retrieve, &resp(200, &failed));
    assert_eq!(
        (r.class, r.decline_code.as_deref()),
        (OutcomeClass::HardDecline, Some("CVV_FAILURE"))
    );
    // Replays: the key reused with another body, or still in flight, settle nothing.
    run(
        "square replay",
        square::parse_replay,
        &[
            (
                Operation::Retrieve,
                200,
                pay("COMPLETED"),
                OutcomeClass::Approved,
            ),
            (
                Operation::Retrieve,
                402,
                err("GENERIC_DECLINE", "PAYMENT_METHOD_ERROR"),
                OutcomeClass::SoftDecline,
            ),
            (
                Operation::Retrieve,
                400,
                err("IDEMPOTENCY_KEY_REUSED", "INVALID_REQUEST_ERROR"),
                OutcomeClass::UnknownOutcome,
            ),
            (
                Operation::Retrieve,
                400,
                err("CARD_TOKEN_USED", "INVALID_REQUEST_ERROR"),
                OutcomeClass::ValidationError,
            ),
            (
                Operation::Retrieve,
                409,
                err("CONFLICT", "INVALID_REQUEST_ERROR"),
                OutcomeClass::UnknownOutcome,
            ),
            (
                Operation::Retrieve,
                503,
                err("SERVICE_UNAVAILABLE", "API_ERROR"),
                OutcomeClass::UnknownOutcome,
            ),
            (
                Operation::Retrieve,
                429,
                err("RATE_LIMITED", "RATE_LIMIT_ERROR"),
                OutcomeClass::UnknownOutcome,
            ),
        ],
    );
}

#[test]
fn braintree_table() {
    let gql_err = |class: &str, msg: &str| json!({"errors": [{"message": msg, "extensions": {"errorClass": class}}], "data": null});
    let data = |field: &str, key: &str, status: &str| json!({"data": {field: {key: {"id": "dHg", "status": status}}}});
    run(
        "braintree",
        braintree::parse_response,
        &[
            (
                Operation::Authorize,
                200,
                data(
                    "chargePaymentMethod",
                    "transaction",
                    "SUBMITTED_FOR_SETTLEMENT",
                ),
                OutcomeClass::Approved,
            ),
            (
                Operation::Authorize,
                200,
                data("authorizePaymentMethod", "transaction", "AUTHORIZED"),
                OutcomeClass::Approved,
            ),
            (
                Operation::Authorize,
                200,
                data("chargePaymentMethod", "transaction", "AUTHORIZING"),
                OutcomeClass::UnknownOutcome,
            ),
            (
                Operation::Capture,
                200,
                data(
                    "captureTransaction",
                    "transaction",
                    "SUBMITTED_FOR_SETTLEMENT",
                ),
                OutcomeClass::Approved,
            ),
            (
                Operation::Void,
                200,
                data("reverseTransaction", "reversal", "VOIDED"),
                OutcomeClass::Approved,
            ),
            (
                Operation::Refund,
                200,
                data("refundTransaction", "refund", "SUBMITTED_FOR_SETTLEMENT"),
                OutcomeClass::Approved,
            ),
            (
                Operation::Authorize,
                200,
                gql_err(
                    "VALIDATION",
                    "apiRequestKey has already been used with different input.",
                ),
                OutcomeClass::UnknownOutcome,
            ),
            (
                Operation::Refund,
                200,
                gql_err("VALIDATION", "Cannot refund an unsettled transaction."),
                OutcomeClass::ValidationError,
            ),
            (
                Operation::Authorize,
                200,
                gql_err("SERVICE_AVAILABILITY", "down"),
                OutcomeClass::ProviderUnavailable,
            ),
            (
                Operation::Authorize,
                403,
                gql_err("AUTHORIZATION", "no"),
                OutcomeClass::AuthConfigError,
            ),
            (
                Operation::Authorize,
                200,
                gql_err("UNSUPPORTED_CLIENT", "old"),
                OutcomeClass::AuthConfigError,
            ),
            (
                Operation::Authorize,
                504,
                json!({}),
                OutcomeClass::UnknownOutcome,
            ),
            (
                Operation::Retrieve,
                200,
                json!({"data": {"node": null}}),
                OutcomeClass::UnknownOutcome,
            ),
            (
                Operation::Retrieve,
                200,
                json!({"data": {"search": {"transactions": {"edges": []}}}}),
                OutcomeClass::UnknownOutcome,
            ),
            (
                Operation::Retrieve,
                200,
                json!({"data": {"search": {"transactions": {"edges": [{"node": {"id": "a", "status": "PROCESSOR_DECLINED"}}, {"node": {"id": "b", "status": "SETTLED"}}]}}}}),
                OutcomeClass::Approved,
            ),
            (
                Operation::Retrieve,
                200,
                gql_err("NOT_FOUND", "no such node"),
                OutcomeClass::UnknownOutcome,
            ),
        ],
    );
    let declined = json!({"errors": [{"message": "Processor Declined", "extensions": {"errorClass": "VALIDATION", "legacyCode": "2046", "declineType": "SOFT"}}]});
    run(
        "braintree replay",
        braintree::parse_replay,
        &[
            (
                Operation::Retrieve,
                200,
                declined,
                OutcomeClass::SoftDecline,
            ),
            (
                Operation::Retrieve,
                200,
                data("chargePaymentMethod", "transaction", "SETTLED"),
                OutcomeClass::Approved,
            ),
            (
                Operation::Retrieve,
                200,
                gql_err("VALIDATION", "apiRequestKey is in flight"),
                OutcomeClass::UnknownOutcome,
            ),
            (
                Operation::Retrieve,
                500,
                gql_err("INTERNAL", "x"),
                OutcomeClass::UnknownOutcome,
            ),
            (
                Operation::Retrieve,
                429,
                gql_err("RESOURCE_LIMIT", "x"),
                OutcomeClass::UnknownOutcome,
            ),
        ],
    );
}

#[test]
fn mollie_table() {
    let pay = |status: &str| json!({"resource": "payment", "id": "tr_1", "status": status});
    let with_checkout = json!({"resource": "payment", "id": "tr_1", "status": "open", "_links": {"checkout": {"href": "https://pay.example/x"}}});
    let err = |status: u16| json!({"status": status, "title": "T", "detail": "D"});
    run(
        "mollie",
        mollie::parse_response,
        &[
            (
                Operation::Authorize,
                201,
                with_checkout.clone(),
                OutcomeClass::NeedsCustomerAction,
            ),
            (
                Operation::Authorize,
                201,
                pay("open"),
                OutcomeClass::UnknownOutcome,
            ),
            (
                Operation::Retrieve,
                200,
                pay("pending"),
                OutcomeClass::UnknownOutcome,
            ),
            (
                Operation::Retrieve,
                200,
                pay("paid"),
                OutcomeClass::Approved,
            ),
            (
                Operation::Retrieve,
                200,
                pay("authorized"),
                OutcomeClass::Approved,
            ),
            (
                Operation::Retrieve,
                200,
                pay("expired"),
                OutcomeClass::ProviderUnavailable,
            ),
            (
                Operation::Retrieve,
                200,
                pay("canceled"),
                OutcomeClass::ProviderUnavailable,
            ),
            (
                Operation::Void,
                200,
                pay("canceled"),
                OutcomeClass::Approved,
            ),
            (
                Operation::Void,
                200,
                pay("paid"),
                OutcomeClass::UnknownOutcome,
            ),
            (
                Operation::Capture,
                201,
                json!({"resource": "capture", "id": "cpt", "status": "failed"}),
                OutcomeClass::HardDecline,
            ),
            (
                Operation::Refund,
                201,
                json!({"resource": "refund", "id": "re", "status": "queued"}),
                OutcomeClass::Approved,
            ),
            (
                Operation::Authorize,
                409,
                err(409),
                OutcomeClass::UnknownOutcome,
            ),
            (
                Operation::Refund,
                409,
                err(409),
                OutcomeClass::ValidationError,
            ),
            (
                Operation::Authorize,
                502,
                err(502),
                OutcomeClass::ProviderUnavailable,
            ),
            (
                Operation::Authorize,
                504,
                err(504),
                OutcomeClass::UnknownOutcome,
            ),
            (
                Operation::Authorize,
                403,
                err(403),
                OutcomeClass::AuthConfigError,
            ),
            (
                Operation::Retrieve,
                404,
                err(404),
                OutcomeClass::UnknownOutcome,
            ),
        ],
    );
    let r = mollie::parse_response(Operation::Authorize, &resp(201, &with_checkout));
    assert_eq!(r.next_action_url.as_deref(), Some("https://pay.example/x"));
    assert_eq!(r.provider_status.as_deref(), Some("open"));
    let r = mollie::parse_response(Operation::Void, &HttpResponse::new(204, ""));
    assert_eq!(r.class, OutcomeClass::Approved);
    run(
        "mollie replay",
        mollie::parse_replay,
        &[
            (
                Operation::Retrieve,
                201,
                with_checkout,
                OutcomeClass::NeedsCustomerAction,
            ),
            (
                Operation::Retrieve,
                400,
                err(400),
                OutcomeClass::UnknownOutcome,
            ),
            (
                Operation::Retrieve,
                409,
                err(409),
                OutcomeClass::UnknownOutcome,
            ),
            (
                Operation::Retrieve,
                503,
                err(503),
                OutcomeClass::UnknownOutcome,
            ),
        ],
    );
}
