//! Parameter validation for the Stripe POST endpoints. Failures here are answered 400 and, as in
//! Stripe, are *not* saved under the request's `Idempotency-Key`.

use std::collections::BTreeMap;

use super::form::{Form, Param};
use super::model::ApiError;

/// Stripe's maximum amount (8 digits of minor units).
pub const MAX_AMOUNT: i64 = 99_999_999;

/// Currencies the emulator accepts (lower-case ISO 4217), a subset of what Stripe supports.
pub const CURRENCIES: &[&str] = &[
    "aed", "ars", "aud", "bgn", "bhd", "brl", "cad", "chf", "clp", "cny", "cop", "czk", "dkk",
    "egp", "eur", "gbp", "hkd", "huf", "idr", "ils", "inr", "isk", "jod", "jpy", "krw", "kwd",
    "mad", "mxn", "myr", "ngn", "nok", "nzd", "omr", "pen", "php", "pkr", "pln", "ron", "rsd",
    "sar", "sek", "sgd", "thb", "tnd", "try", "twd", "uah", "usd", "vnd", "zar",
];

/// Stripe's three-decimal currencies (<https://docs.stripe.com/currencies#three-decimal>): amounts
/// are in thousandths, and Stripe requires "the least-significant (last) digit to be 0", so an
/// amount must be a multiple of 10 on PaymentIntents (create, capture) and refunds.
pub const THREE_DECIMAL_CURRENCIES: &[&str] = &["bhd", "jod", "kwd", "omr", "tnd"];

/// The 400 for an amount Stripe refuses in a three-decimal currency, or `None` when `amount` is
/// fine for `currency` (lower case). The wording is reconstructed (REFERENCE.md "recon"): Stripe's rule is documented, its
/// exact message is not.
pub fn three_decimal_error(
    rid: &str,
    currency: &str,
    amount: i64,
    param: &str,
) -> Option<ApiError> {
    if !THREE_DECIMAL_CURRENCIES.contains(&currency) || amount % 10 == 0 {
        return None;
    }
    Some(ApiError::invalid_request(
        400,
        rid,
        format!(
            "Invalid {param}: {amount}. {} is a three-decimal currency and amounts in it must be a multiple of 10 (the last digit must be 0), e.g. {} or {}. See https://docs.stripe.com/currencies#three-decimal.",
            currency.to_ascii_uppercase(),
            amount - amount.rem_euclid(10),
            amount - amount.rem_euclid(10) + 10
        ),
        None,
        Some(param),
    ))
}

/// `POST /v1/payment_intents`
#[derive(Debug, Clone)]
pub struct CreateParams {
    /// Minor units.
    pub amount: i64,
    /// Lower-case currency.
    pub currency: String,
    /// `pm_…`
    pub payment_method: Option<String>,
    /// Confirm now.
    pub confirm: bool,
    /// `automatic`, `automatic_async`, `manual`; `None` = the version's default.
    pub capture_method: Option<String>,
    /// Metadata.
    pub metadata: BTreeMap<String, String>,
    /// Pass-through strings.
    pub description: Option<String>,
    /// Pass-through.
    pub customer: Option<String>,
    /// Pass-through.
    pub receipt_email: Option<String>,
    /// Pass-through.
    pub statement_descriptor: Option<String>,
    /// Pass-through.
    pub statement_descriptor_suffix: Option<String>,
    /// Pass-through.
    pub setup_future_usage: Option<String>,
    /// Pass-through.
    pub transfer_group: Option<String>,
    /// `payment_method_types[]`.
    pub payment_method_types: Option<Vec<String>>,
    /// `automatic_payment_methods[allow_redirects]` when `[enabled]=true`.
    pub automatic_payment_methods: Option<String>,
    /// `return_url`.
    pub return_url: Option<String>,
    /// `off_session` or `error_on_requires_action`: 3-D Secure becomes a decline.
    pub no_customer_action: bool,
}

/// `POST /v1/payment_intents/{id}/confirm`
#[derive(Debug, Clone)]
pub struct ConfirmParams {
    /// Replaces the attached payment method.
    pub payment_method: Option<String>,
    /// `return_url`.
    pub return_url: Option<String>,
    /// Overrides the capture method.
    pub capture_method: Option<String>,
    /// `off_session` or `error_on_requires_action`.
    pub no_customer_action: bool,
}

/// `POST /v1/refunds`
#[derive(Debug, Clone)]
pub struct RefundParams {
    /// `pi_…`
    pub payment_intent: Option<String>,
    /// `ch_…`
    pub charge: Option<String>,
    /// Minor units; default the unrefunded rest.
    pub amount: Option<i64>,
    /// Reason.
    pub reason: Option<String>,
    /// Metadata.
    pub metadata: BTreeMap<String, String>,
}

/// A validated POST.
#[derive(Debug, Clone)]
pub enum Op {
    /// Create (and maybe confirm).
    Create(Box<CreateParams>),
    /// Confirm.
    Confirm(String, ConfirmParams),
    /// Capture, optionally partial.
    Capture(String, Option<i64>),
    /// Cancel with an optional reason.
    Cancel(String, Option<String>),
    /// Refund.
    Refund(RefundParams),
}

/// Reads and checks parameters.
pub struct Reader<'a> {
    form: &'a Form,
    rid: &'a str,
}

impl<'a> Reader<'a> {
    /// Starts reading `form`, rejecting names not in `allowed`.
    pub fn new(form: &'a Form, rid: &'a str, allowed: &[&str]) -> Result<Self, ApiError> {
        if let Some(unknown) = form.names().find(|n| !allowed.contains(n)) {
            return Err(ApiError::unknown_param(rid, unknown));
        }
        Ok(Self { form, rid })
    }

    fn invalid(&self, param: &str, message: String, code: Option<&str>) -> ApiError {
        ApiError::invalid_request(400, self.rid, message, code, Some(param))
    }

    /// A scalar string; a nested value is an error.
    pub fn string(&self, name: &str) -> Result<Option<String>, ApiError> {
        match self.form.get(name) {
            None => Ok(None),
            Some(Param::Str(s)) if s.is_empty() => Ok(None),
            Some(Param::Str(s)) => Ok(Some(s.clone())),
            Some(Param::Map(_) | Param::List(_)) => Err(self.invalid(
                name,
                format!("Invalid string: {name} must be a string"),
                None,
            )),
        }
    }

    /// A required scalar string.
    pub fn required(&self, name: &str) -> Result<String, ApiError> {
        self.string(name)?
            .ok_or_else(|| ApiError::missing(self.rid, name))
    }

    /// An integer.
    pub fn integer(&self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.string(name)? {
            None => Ok(None),
            Some(s) => s.parse::<i64>().map(Some).map_err(|_| {
                self.invalid(
                    name,
                    format!("Invalid integer: {s}"),
                    Some("parameter_invalid_integer"),
                )
            }),
        }
    }

    /// A positive amount within Stripe's maximum.
    pub fn amount(&self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.integer(name)? {
            Some(a) if a < 1 => Err(self.invalid(
                name,
                "This value must be greater than or equal to 1.".into(),
                Some("parameter_invalid_integer"),
            )),
            Some(a) if a > MAX_AMOUNT => Err(self.invalid(
                name,
                format!("This value must be less than or equal to {MAX_AMOUNT}."),
                Some("amount_too_large"),
            )),
            other => Ok(other),
        }
    }

    /// `true`/`false`.
    pub fn boolean(&self, name: &str) -> Result<bool, ApiError> {
        match self.string(name)?.as_deref() {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(other) => Err(self.invalid(name, format!("Invalid boolean: {other}"), None)),
        }
    }

    /// One of `allowed`.
    pub fn one_of(&self, name: &str, allowed: &[&str]) -> Result<Option<String>, ApiError> {
        match self.string(name)? {
            Some(v) if !allowed.contains(&v.as_str()) => Err(self.invalid(
                name,
                format!("Invalid {name}: must be one of {}", allowed.join(", ")),
                None,
            )),
            other => Ok(other),
        }
    }

    /// `metadata[k]=v` pairs (at most 50 keys, keys up to 40 and values up to 500 characters).
    pub fn metadata(&self) -> Result<BTreeMap<String, String>, ApiError> {
        let Some(param) = self.form.get("metadata") else {
            return Ok(BTreeMap::new());
        };
        let map = match param {
            Param::Str(s) if s.is_empty() => return Ok(BTreeMap::new()),
            Param::Map(m) => m,
            Param::Str(_) | Param::List(_) => {
                return Err(self.invalid("metadata", "Invalid object".into(), None));
            }
        };
        if map.len() > 50 {
            return Err(self.invalid(
                "metadata",
                "Invalid metadata: metadata cannot have more than 50 keys".into(),
                None,
            ));
        }
        let mut out = BTreeMap::new();
        for (k, v) in map {
            let Some(v) = v.as_str() else {
                return Err(self.invalid(
                    &format!("metadata[{k}]"),
                    "Invalid string: metadata values must be strings".into(),
                    None,
                ));
            };
            if k.chars().count() > 40 || v.chars().count() > 500 {
                return Err(self.invalid(
                    &format!("metadata[{k}]"),
                    "Metadata keys are limited to 40 characters and values to 500 characters."
                        .into(),
                    None,
                ));
            }
            out.insert(k.clone(), v.to_owned());
        }
        Ok(out)
    }

    /// `off_session` (boolean or `one_off`/`recurring`) or `error_on_requires_action=true`.
    pub fn no_customer_action(&self) -> Result<bool, ApiError> {
        let off = match self.string("off_session")?.as_deref() {
            None | Some("false") => false,
            Some("true" | "one_off" | "recurring") => true,
            Some(other) => {
                return Err(self.invalid(
                    "off_session",
                    format!("Invalid off_session: {other}"),
                    None,
                ));
            }
        };
        Ok(off || self.boolean("error_on_requires_action")?)
    }
}

const CAPTURE_METHODS: &[&str] = &["automatic", "automatic_async", "manual"];

const CREATE_PARAMS: &[&str] = &[
    "amount",
    "currency",
    "payment_method",
    "confirm",
    "capture_method",
    "metadata",
    "description",
    "customer",
    "receipt_email",
    "statement_descriptor",
    "statement_descriptor_suffix",
    "setup_future_usage",
    "transfer_group",
    "payment_method_types",
    "automatic_payment_methods",
    "return_url",
    "off_session",
    "error_on_requires_action",
    "expand",
    "payment_method_options",
    "confirmation_method",
    "use_stripe_sdk",
    "mandate_data",
    "shipping",
    "on_behalf_of",
    "radar_options",
    "application_fee_amount",
    "transfer_data",
];

const CONFIRM_PARAMS: &[&str] = &[
    "payment_method",
    "return_url",
    "capture_method",
    "off_session",
    "error_on_requires_action",
    "expand",
    "payment_method_options",
    "receipt_email",
    "setup_future_usage",
    "shipping",
    "mandate_data",
    "use_stripe_sdk",
    "radar_options",
];

/// Validates `POST /v1/payment_intents`.
pub fn create(form: &Form, rid: &str) -> Result<Op, ApiError> {
    let r = Reader::new(form, rid, CREATE_PARAMS)?;
    let amount = r
        .amount("amount")?
        .ok_or_else(|| ApiError::missing(rid, "amount"))?;
    let currency = r.required("currency")?.to_ascii_lowercase();
    if !CURRENCIES.contains(&currency.as_str()) {
        return Err(ApiError::invalid_request(
            400,
            rid,
            format!(
                "Invalid currency: {currency}. Stripe currently supports these currencies: {}",
                CURRENCIES.join(", ")
            ),
            None,
            Some("currency"),
        ));
    }
    if let Some(e) = three_decimal_error(rid, &currency, amount, "amount") {
        return Err(e);
    }
    let payment_method_types = match form.get("payment_method_types") {
        None => None,
        Some(p) => {
            let items = p.as_list().ok_or_else(|| {
                ApiError::invalid_request(
                    400,
                    rid,
                    "Invalid array",
                    None,
                    Some("payment_method_types"),
                )
            })?;
            let mut types = Vec::with_capacity(items.len());
            for item in items {
                match item.as_str() {
                    Some(t) if !t.is_empty() => types.push(t.to_owned()),
                    _ => {
                        return Err(ApiError::invalid_request(
                            400,
                            rid,
                            "Invalid array",
                            None,
                            Some("payment_method_types"),
                        ));
                    }
                }
            }
            Some(types)
        }
    };
    let automatic_payment_methods = match form.get("automatic_payment_methods") {
        None => None,
        Some(p) => {
            let m = p.as_map().ok_or_else(|| {
                ApiError::invalid_request(
                    400,
                    rid,
                    "Invalid object",
                    None,
                    Some("automatic_payment_methods"),
                )
            })?;
            if let Some(k) = m
                .keys()
                .find(|k| *k != "enabled" && *k != "allow_redirects")
            {
                return Err(ApiError::unknown_param(
                    rid,
                    &format!("automatic_payment_methods[{k}]"),
                ));
            }
            match m.get("enabled").and_then(Param::as_str) {
                Some("true") => {}
                Some("false") => {
                    return Err(ApiError::invalid_request(
                        400,
                        rid,
                        "The emulator supports automatic_payment_methods[enabled]=true only; use payment_method_types[]=card instead.",
                        None,
                        Some("automatic_payment_methods[enabled]"),
                    ));
                }
                _ => return Err(ApiError::missing(rid, "automatic_payment_methods[enabled]")),
            }
            let redirects = match m.get("allow_redirects").and_then(Param::as_str) {
                None => "always",
                Some(v @ ("always" | "never")) => v,
                Some(other) => {
                    return Err(ApiError::invalid_request(
                        400,
                        rid,
                        format!(
                            "Invalid automatic_payment_methods[allow_redirects]: {other}; must be one of always, never"
                        ),
                        None,
                        Some("automatic_payment_methods[allow_redirects]"),
                    ));
                }
            };
            Some(redirects.to_owned())
        }
    };
    if payment_method_types.is_some() && automatic_payment_methods.is_some() {
        return Err(ApiError::invalid_request(
            400,
            rid,
            "You may only specify one of these parameters: automatic_payment_methods, payment_method_types.",
            Some("parameters_exclusive"),
            Some("automatic_payment_methods"),
        ));
    }
    Ok(Op::Create(Box::new(CreateParams {
        amount,
        currency,
        payment_method: r.string("payment_method")?,
        confirm: r.boolean("confirm")?,
        capture_method: r.one_of("capture_method", CAPTURE_METHODS)?,
        metadata: r.metadata()?,
        description: r.string("description")?,
        customer: r.string("customer")?,
        receipt_email: r.string("receipt_email")?,
        statement_descriptor: r.string("statement_descriptor")?,
        statement_descriptor_suffix: r.string("statement_descriptor_suffix")?,
        setup_future_usage: r.one_of("setup_future_usage", &["off_session", "on_session"])?,
        transfer_group: r.string("transfer_group")?,
        payment_method_types,
        automatic_payment_methods,
        return_url: r.string("return_url")?,
        no_customer_action: r.no_customer_action()?,
    })))
}

/// Validates `POST /v1/payment_intents/{id}/confirm`.
pub fn confirm(id: String, form: &Form, rid: &str) -> Result<Op, ApiError> {
    let r = Reader::new(form, rid, CONFIRM_PARAMS)?;
    Ok(Op::Confirm(
        id,
        ConfirmParams {
            payment_method: r.string("payment_method")?,
            return_url: r.string("return_url")?,
            capture_method: r.one_of("capture_method", CAPTURE_METHODS)?,
            no_customer_action: r.no_customer_action()?,
        },
    ))
}

/// Validates `POST /v1/payment_intents/{id}/capture`.
pub fn capture(id: String, form: &Form, rid: &str) -> Result<Op, ApiError> {
    let r = Reader::new(
        form,
        rid,
        &[
            "amount_to_capture",
            "expand",
            "metadata",
            "statement_descriptor",
            "statement_descriptor_suffix",
            "application_fee_amount",
            "final_capture",
        ],
    )?;
    r.metadata()?;
    Ok(Op::Capture(id, r.amount("amount_to_capture")?))
}

/// Validates `POST /v1/payment_intents/{id}/cancel`.
pub fn cancel(id: String, form: &Form, rid: &str) -> Result<Op, ApiError> {
    let r = Reader::new(form, rid, &["cancellation_reason", "expand"])?;
    let reason = r.one_of(
        "cancellation_reason",
        &[
            "duplicate",
            "fraudulent",
            "requested_by_customer",
            "abandoned",
        ],
    )?;
    Ok(Op::Cancel(id, reason))
}

/// Validates `POST /v1/refunds`.
pub fn refund(form: &Form, rid: &str) -> Result<Op, ApiError> {
    let r = Reader::new(
        form,
        rid,
        &[
            "payment_intent",
            "charge",
            "amount",
            "reason",
            "metadata",
            "expand",
            "instructions_email",
            "refund_application_fee",
            "reverse_transfer",
        ],
    )?;
    let payment_intent = r.string("payment_intent")?;
    let charge = r.string("charge")?;
    if payment_intent.is_none() && charge.is_none() {
        return Err(ApiError::invalid_request(
            400,
            rid,
            "One of the following params should be provided for this request: payment_intent or charge.",
            Some("parameter_missing"),
            Some("payment_intent"),
        ));
    }
    Ok(Op::Refund(RefundParams {
        payment_intent,
        charge,
        amount: r.amount("amount")?,
        reason: r.one_of(
            "reason",
            &["duplicate", "fraudulent", "requested_by_customer"],
        )?,
        metadata: r.metadata()?,
    }))
}
