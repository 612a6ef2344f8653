//! Stripe objects (PaymentIntent, Refund, PaymentMethod) and error envelopes, rendered in the
//! shapes of `shared/providers/fixtures/stripe/`.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use rand::Rng;
use rand::distr::Alphanumeric;
use serde_json::{Value, json};

use super::cards::{Decline, TestCard};

/// `prefix` followed by `len` random alphanumerics.
pub fn rand_id(prefix: &str, len: usize) -> String {
    let mut s = String::with_capacity(prefix.len() + len);
    s.push_str(prefix);
    s.extend(
        rand::rng()
            .sample_iter(Alphanumeric)
            .take(len)
            .map(char::from),
    );
    s
}

/// Seconds since the epoch.
pub fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// `payment_intent.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Created without a payment method, or left behind by a decline.
    RequiresPaymentMethod,
    /// Has a payment method, not confirmed yet.
    RequiresConfirmation,
    /// 3-D Secure pending.
    RequiresAction,
    /// Authorized, manual capture pending.
    RequiresCapture,
    /// Captured.
    Succeeded,
    /// Canceled.
    Canceled,
}

impl Status {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::RequiresPaymentMethod => "requires_payment_method",
            Status::RequiresConfirmation => "requires_confirmation",
            Status::RequiresAction => "requires_action",
            Status::RequiresCapture => "requires_capture",
            Status::Succeeded => "succeeded",
            Status::Canceled => "canceled",
        }
    }
}

/// A PaymentMethod created from a test card when a PaymentIntent is confirmed.
#[derive(Debug, Clone)]
pub struct PaymentMethod {
    /// `pm_1…`
    pub id: String,
    /// The test card it came from.
    pub card: &'static TestCard,
    /// Creation time.
    pub created: i64,
}

impl PaymentMethod {
    /// Creates a fresh `pm_1…` for `card`.
    pub fn new(card: &'static TestCard) -> Self {
        Self {
            id: rand_id("pm_1", 23),
            card,
            created: now_unix(),
        }
    }

    /// The `payment_method` object.
    pub fn to_json(&self) -> Value {
        let c = self.card;
        json!({
            "allow_redisplay": "unspecified",
            "billing_details": {
                "address": {"city": null, "country": null, "line1": null, "line2": null, "postal_code": null, "state": null},
                "email": null, "name": null, "phone": null, "tax_id": null
            },
            "card": {
                "brand": c.brand,
                "checks": {"address_line1_check": null, "address_postal_code_check": null, "cvc_check": "pass"},
                "country": "US",
                "display_brand": c.brand,
                "exp_month": 8,
                "exp_year": 2030,
                "fingerprint": format!("emu{}{}", c.brand, c.last4),
                "funding": c.funding,
                "generated_from": null,
                "last4": c.last4,
                "networks": {"available": [c.brand], "preferred": null},
                "three_d_secure_usage": {"supported": true},
                "wallet": null,
                "regulated_status": null
            },
            "created": self.created,
            "customer": null,
            "id": self.id,
            "livemode": false,
            "metadata": {},
            "object": "payment_method",
            "type": "card"
        })
    }
}

/// A PaymentIntent and the emulator's bookkeeping about it.
#[derive(Debug, Clone)]
pub struct PaymentIntent {
    /// `pi_3…`
    pub id: String,
    /// `client_secret`.
    pub client_secret: String,
    /// Minor units.
    pub amount: i64,
    /// Authorized, not captured yet.
    pub amount_capturable: i64,
    /// Captured.
    pub amount_received: i64,
    /// Refunded so far (not on the wire object; refunds check against it).
    pub amount_refunded: i64,
    /// Lower-case ISO currency.
    pub currency: String,
    /// `automatic`, `automatic_async` or `manual`.
    pub capture_method: String,
    /// Status.
    pub status: Status,
    /// Creation time (unix seconds).
    pub created: i64,
    /// Cancellation time.
    pub canceled_at: Option<i64>,
    /// Cancellation reason.
    pub cancellation_reason: Option<String>,
    /// Metadata.
    pub metadata: BTreeMap<String, String>,
    /// Free text passed through.
    pub description: Option<String>,
    /// Passed through.
    pub customer: Option<String>,
    /// Passed through.
    pub receipt_email: Option<String>,
    /// Passed through.
    pub statement_descriptor: Option<String>,
    /// Passed through.
    pub statement_descriptor_suffix: Option<String>,
    /// Passed through.
    pub setup_future_usage: Option<String>,
    /// Passed through.
    pub transfer_group: Option<String>,
    /// The attached payment method, if any.
    pub payment_method: Option<PaymentMethod>,
    /// `payment_method_types`.
    pub payment_method_types: Vec<String>,
    /// `automatic_payment_methods` object, if enabled.
    pub automatic_payment_methods: Option<Value>,
    /// `ch_…` of the last charge attempt.
    pub latest_charge: Option<String>,
    /// The last decline, shaped like the error object.
    pub last_payment_error: Option<Value>,
    /// `next_action` while `requires_action`.
    pub next_action: Option<Value>,
    /// Where 3-D Secure returns to.
    pub return_url: Option<String>,
}

impl PaymentIntent {
    /// Whether this is captured automatically on approval.
    pub fn is_automatic(&self) -> bool {
        self.capture_method != "manual"
    }

    /// The `payment_intent` object.
    pub fn to_json(&self) -> Value {
        json!({
            "amount": self.amount,
            "amount_capturable": self.amount_capturable,
            "amount_details": {"tip": {}},
            "amount_received": self.amount_received,
            "application": null,
            "application_fee_amount": null,
            "automatic_payment_methods": self.automatic_payment_methods,
            "canceled_at": self.canceled_at,
            "cancellation_reason": self.cancellation_reason,
            "capture_method": self.capture_method,
            "client_secret": self.client_secret,
            "confirmation_method": "automatic",
            "created": self.created,
            "currency": self.currency,
            "customer": self.customer,
            "description": self.description,
            "id": self.id,
            "last_payment_error": self.last_payment_error,
            "latest_charge": self.latest_charge,
            "livemode": false,
            "metadata": self.metadata,
            "next_action": self.next_action,
            "object": "payment_intent",
            "on_behalf_of": null,
            "payment_method": self.payment_method.as_ref().map(|p| p.id.as_str()),
            "payment_method_configuration_details": null,
            "payment_method_options": {},
            "payment_method_types": self.payment_method_types,
            "processing": null,
            "receipt_email": self.receipt_email,
            "review": null,
            "setup_future_usage": self.setup_future_usage,
            "shipping": null,
            "statement_descriptor": self.statement_descriptor,
            "statement_descriptor_suffix": self.statement_descriptor_suffix,
            "status": self.status.as_str(),
            "transfer_data": null,
            "transfer_group": self.transfer_group,
            "source": null,
            "excluded_payment_method_types": null
        })
    }
}

/// A refund.
#[derive(Debug, Clone)]
pub struct Refund {
    /// `re_3…`
    pub id: String,
    /// Minor units.
    pub amount: i64,
    /// The charge refunded.
    pub charge: Option<String>,
    /// Creation time.
    pub created: i64,
    /// Currency of the payment.
    pub currency: String,
    /// Metadata.
    pub metadata: BTreeMap<String, String>,
    /// The payment refunded.
    pub payment_intent: String,
    /// `duplicate`, `fraudulent`, `requested_by_customer`.
    pub reason: Option<String>,
}

impl Refund {
    /// The `refund` object.
    pub fn to_json(&self) -> Value {
        json!({
            "amount": self.amount,
            "balance_transaction": format!("txn_{}", &self.id[3..]),
            "charge": self.charge,
            "created": self.created,
            "currency": self.currency,
            "destination_details": {"card": {"type": "reversal"}, "type": "card"},
            "id": self.id,
            "metadata": self.metadata,
            "object": "refund",
            "payment_intent": self.payment_intent,
            "reason": self.reason,
            "receipt_number": null,
            "source_transfer_reversal": null,
            "status": "succeeded",
            "transfer_reversal": null
        })
    }
}

/// An error answer: HTTP status and the `{"error": {...}}` envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// The full body.
    pub body: Value,
}

fn log_url(rid: &str) -> String {
    format!("https://dashboard.stripe.com/test/logs/{rid}")
}

impl ApiError {
    /// `invalid_request_error` with an optional `code` and `param`.
    pub fn invalid_request(
        status: u16,
        rid: &str,
        message: impl Into<String>,
        code: Option<&str>,
        param: Option<&str>,
    ) -> Self {
        let mut e = serde_json::Map::new();
        if let Some(code) = code {
            e.insert("code".into(), json!(code));
            e.insert(
                "doc_url".into(),
                json!(format!(
                    "https://stripe.com/docs/error-codes/{}",
                    code.replace('_', "-")
                )),
            );
        }
        e.insert("message".into(), json!(message.into()));
        if let Some(param) = param {
            e.insert("param".into(), json!(param));
        }
        e.insert("request_log_url".into(), json!(log_url(rid)));
        e.insert("type".into(), json!("invalid_request_error"));
        Self {
            status,
            body: json!({ "error": e }),
        }
    }

    /// 400 `parameter_missing`.
    pub fn missing(rid: &str, param: &str) -> Self {
        Self::invalid_request(
            400,
            rid,
            format!("Missing required param: {param}."),
            Some("parameter_missing"),
            Some(param),
        )
    }

    /// 400 `parameter_unknown`.
    pub fn unknown_param(rid: &str, param: &str) -> Self {
        Self::invalid_request(
            400,
            rid,
            format!("Received unknown parameter: {param}"),
            Some("parameter_unknown"),
            Some(param),
        )
    }

    /// 400 `resource_missing` for a referenced object (`param`), 404 for the URL's object.
    pub fn no_such(status: u16, rid: &str, what: &str, id: &str, param: &str) -> Self {
        Self::invalid_request(
            status,
            rid,
            format!("No such {what}: '{id}'"),
            Some("resource_missing"),
            Some(param),
        )
    }

    /// 400 `payment_intent_unexpected_state`, with the PaymentIntent attached.
    pub fn unexpected_state(rid: &str, message: String, pi: &PaymentIntent) -> Self {
        let mut e = Self::invalid_request(
            400,
            rid,
            message,
            Some("payment_intent_unexpected_state"),
            None,
        );
        if let Some(obj) = e.body.get_mut("error").and_then(Value::as_object_mut) {
            obj.insert("payment_intent".into(), pi.to_json());
        }
        e
    }

    /// 401 for a missing or invalid key (no code), like `error_invalid_api_key_401.json`.
    pub fn unauthorized(message: String) -> Self {
        Self {
            status: 401,
            body: json!({"error": {"message": message, "type": "invalid_request_error"}}),
        }
    }

    /// A 5xx `api_error`, like `error_api_error_500.json`.
    pub fn server(status: u16) -> Self {
        let message = if status == 503 {
            "Stripe is temporarily unavailable. Please try again later."
        } else {
            "An unknown error occurred"
        };
        Self {
            status,
            body: json!({"error": {"message": message, "type": "api_error"}}),
        }
    }

    /// 400 `idempotency_error`, like `error_idempotency_params_mismatch_400.json`.
    pub fn idempotency_mismatch(key: &str) -> Self {
        Self {
            status: 400,
            body: json!({"error": {
                "message": format!("Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{key}' if you meant to execute a different request."),
                "type": "idempotency_error"
            }}),
        }
    }

    /// 409 `idempotency_key_in_use`, like `error_idempotency_key_in_use_409.json`.
    pub fn idempotency_in_use() -> Self {
        Self {
            status: 409,
            body: json!({"error": {
                "code": "idempotency_key_in_use",
                "doc_url": "https://stripe.com/docs/error-codes/idempotency-key-in-use",
                "message": "There is currently another in-progress request using this idempotency key. Please try again later.",
                "type": "invalid_request_error"
            }}),
        }
    }

    /// The `card_error` object of a decline (also used as `last_payment_error`).
    pub fn card_error_object(
        rid: &str,
        decline: &Decline,
        charge: &str,
        pm: Option<&PaymentMethod>,
    ) -> serde_json::Map<String, Value> {
        let mut e = serde_json::Map::new();
        e.insert("charge".into(), json!(charge));
        e.insert("code".into(), json!(decline.code));
        e.insert("doc_url".into(), json!(decline.doc_url()));
        e.insert("message".into(), json!(decline.message));
        if let Some(pm) = pm {
            e.insert("payment_method".into(), pm.to_json());
        }
        e.insert("request_log_url".into(), json!(log_url(rid)));
        e.insert("type".into(), json!("card_error"));
        e.insert("decline_code".into(), json!(decline.decline_code));
        e
    }

    /// 402 `card_error` with the declined PaymentIntent attached.
    pub fn declined(mut error: serde_json::Map<String, Value>, pi: &PaymentIntent) -> Self {
        error.insert("payment_intent".into(), pi.to_json());
        Self {
            status: 402,
            body: json!({ "error": error }),
        }
    }
}
