//! Braintree GraphQL emulator under `{base}/braintree/graphql` (REFERENCE.md §3; JSON shaped like
//! `fixtures/braintree/graphql_*.json`).
//!
//! A small hand parser, not a GraphQL engine: the operation is the first known field name in
//! `query` (`chargePaymentMethod`, `chargeCreditCard`, `authorizePaymentMethod`,
//! `authorizeCreditCard`, `captureTransaction`, `partialCaptureTransaction`, `reverseTransaction`,
//! `refundTransaction`, `search`, `node`, `ping`), and its arguments are read **only from
//! `variables`**: the mutation input at `variables.input`, the node id at `variables.id`, the search
//! order id at `variables.input.orderId.is`. Answers carry the whole fixture-shaped object
//! whatever the selection set asks for. Errors come as `errors[]` with HTTP 200, as Braintree does
//! (401/429/5xx only for authentication, rate limits and server faults).
//!
//! Auth: HTTP Basic `public_key:private_key`; any non-empty pair is its own account, and that whole
//! `"public:private"` string is the account key for faults and webhooks.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::App;
use crate::pipeline::{
    self, Op, Provider, Reply, braintree_error, currency_exponent, format_decimal, now,
    parse_decimal, rand_from, ts_micros, uuid_v4,
};
use crate::webhooks::Notice;

pub(crate) fn routes() -> Router<Arc<App>> {
    Router::new().route("/braintree/graphql", post(api))
}

/// The operations the parser recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// `chargePaymentMethod` / `chargeCreditCard`: authorize and submit for settlement.
    Charge(&'static str),
    /// `authorizePaymentMethod` / `authorizeCreditCard`.
    Authorize(&'static str),
    /// `captureTransaction` / `partialCaptureTransaction`.
    Capture(&'static str),
    /// `reverseTransaction`: void if unsettled, refund if settled.
    Reverse,
    /// `refundTransaction`.
    Refund,
    /// `node(id:)`.
    Node,
    /// `search { transactions(input:) }`.
    Search,
    /// `ping`.
    Ping,
}

const FIELDS: [(&str, Operation); 11] = [
    (
        "chargePaymentMethod",
        Operation::Charge("chargePaymentMethod"),
    ),
    ("chargeCreditCard", Operation::Charge("chargeCreditCard")),
    (
        "authorizePaymentMethod",
        Operation::Authorize("authorizePaymentMethod"),
    ),
    (
        "authorizeCreditCard",
        Operation::Authorize("authorizeCreditCard"),
    ),
    (
        "captureTransaction",
        Operation::Capture("captureTransaction"),
    ),
    (
        "partialCaptureTransaction",
        Operation::Capture("partialCaptureTransaction"),
    ),
    ("reverseTransaction", Operation::Reverse),
    ("refundTransaction", Operation::Refund),
    ("search", Operation::Search),
    ("node", Operation::Node),
    ("ping", Operation::Ping),
];

/// The first identifier in `query` that names a known field.
pub fn operation(query: &str) -> Option<Operation> {
    query
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .find_map(|ident| FIELDS.iter().find(|(n, _)| *n == ident).map(|(_, op)| *op))
}

impl Operation {
    fn field(self) -> &'static str {
        match self {
            Operation::Charge(f) | Operation::Authorize(f) | Operation::Capture(f) => f,
            Operation::Reverse => "reverseTransaction",
            Operation::Refund => "refundTransaction",
            Operation::Node => "node",
            Operation::Search => "search",
            Operation::Ping => "ping",
        }
    }
    fn is_write(self) -> bool {
        match self {
            Operation::Charge(_)
            | Operation::Authorize(_)
            | Operation::Capture(_)
            | Operation::Reverse
            | Operation::Refund => true,
            Operation::Node | Operation::Search | Operation::Ping => false,
        }
    }
}

/// `Transaction.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxStatus {
    /// Authorized, not captured.
    Authorized,
    /// Captured, not settled.
    SubmittedForSettlement,
    /// Settled (after `transaction_settled`).
    Settled,
    /// Settlement declined.
    SettlementDeclined,
    /// Voided.
    Voided,
    /// Declined by the processor.
    ProcessorDeclined,
    /// Rejected by the gateway (fraud, risk, application incomplete).
    GatewayRejected,
    /// Processor failure (3000).
    Failed,
}

impl TxStatus {
    fn as_str(self) -> &'static str {
        match self {
            TxStatus::Authorized => "AUTHORIZED",
            TxStatus::SubmittedForSettlement => "SUBMITTED_FOR_SETTLEMENT",
            TxStatus::Settled => "SETTLED",
            TxStatus::SettlementDeclined => "SETTLEMENT_DECLINED",
            TxStatus::Voided => "VOIDED",
            TxStatus::ProcessorDeclined => "PROCESSOR_DECLINED",
            TxStatus::GatewayRejected => "GATEWAY_REJECTED",
            TxStatus::Failed => "FAILED",
        }
    }
    fn event(self) -> &'static str {
        match self {
            TxStatus::Authorized => "AuthorizedEvent",
            TxStatus::SubmittedForSettlement => "SubmittedForSettlementEvent",
            TxStatus::Settled => "SettledEvent",
            TxStatus::SettlementDeclined => "SettlementDeclinedEvent",
            TxStatus::Voided => "VoidedEvent",
            TxStatus::ProcessorDeclined => "ProcessorDeclinedEvent",
            TxStatus::GatewayRejected => "GatewayRejectedEvent",
            TxStatus::Failed => "FailedEvent",
        }
    }
}

#[derive(Debug, Clone)]
struct Tx {
    legacy_id: String,
    amount: i64,
    currency: String,
    status: TxStatus,
    order_id: Option<String>,
    merchant_account_id: String,
    created_at: OffsetDateTime,
    /// Oldest first: (status, time, amount).
    history: Vec<(TxStatus, OffsetDateTime, i64)>,
    refunded: i64,
    /// Processor response code of a decline or failure (2000–3000).
    processor_code: Option<u32>,
    /// Gateway rejection reason (`fraud`, …).
    rejection: Option<&'static str>,
}

fn money(minor: i64, currency: &str) -> Value {
    json!({"value": format_decimal(minor, currency_exponent(currency)), "currencyCode": currency})
}

fn global_id(kind: &str, legacy: &str) -> String {
    // Braintree global ids are unpadded base64 (fixture `dHJhbnNhY3Rpb25fZng3azJtOXA`).
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(format!("{kind}_{legacy}"))
}

impl Tx {
    fn to_json(&self) -> Value {
        let history: Vec<Value> = self
            .history
            .iter()
            .rev()
            .map(|(s, t, amount)| {
                let mut e = json!({
                    "__typename": s.event(),
                    "status": s.as_str(),
                    "timestamp": ts_micros(*t),
                    "amount": money(*amount, &self.currency),
                    "terminal": matches!(s, TxStatus::Voided | TxStatus::ProcessorDeclined | TxStatus::GatewayRejected | TxStatus::Failed | TxStatus::Settled)
                });
                if let (TxStatus::ProcessorDeclined | TxStatus::Failed, Some(code)) =
                    (*s, self.processor_code)
                {
                    e["processorResponse"] =
                        json!({"legacyCode": code.to_string(), "message": processor_message(code)});
                    e["declineType"] = json!(if is_hard(code) { "HARD" } else { "SOFT" });
                }
                if let (TxStatus::GatewayRejected, Some(r)) = (*s, self.rejection) {
                    e["gatewayRejectionReason"] = json!(r.to_ascii_uppercase());
                }
                if *s == TxStatus::Authorized {
                    e["processorResponse"] = json!({"legacyCode": "1000", "message": "Approved", "authorizationId": "EMU123", "cvvResponse": "MATCHES", "avsPostalCodeResponse": "MATCHES", "avsStreetAddressResponse": "NOT_PROVIDED"});
                }
                e
            })
            .collect();
        json!({
            "__typename": "Transaction",
            "id": global_id("transaction", &self.legacy_id),
            "legacyId": self.legacy_id,
            "createdAt": ts_micros(self.created_at),
            "orderId": self.order_id,
            "amount": money(self.amount, &self.currency),
            "status": self.status.as_str(),
            "merchantAccountId": self.merchant_account_id,
            "paymentMethodSnapshot": {"__typename": "CreditCardDetails", "brandCode": "VISA", "last4": "1111", "bin": "411111", "expirationMonth": "12", "expirationYear": "2030"},
            "statusHistory": history
        })
    }

    fn to_xml(&self, status: &str) -> String {
        let amount = format_decimal(self.amount, currency_exponent(&self.currency));
        let order = self.order_id.as_deref().map(xml_escape).unwrap_or_default();
        format!(
            "    <transaction>\n      <id>{}</id>\n      <status>{status}</status>\n      <type>sale</type>\n      <currency-iso-code>{}</currency-iso-code>\n      <amount>{amount}</amount>\n      <merchant-account-id>{}</merchant-account-id>\n      <order-id>{order}</order-id>\n    </transaction>\n",
            self.legacy_id,
            self.currency,
            xml_escape(&self.merchant_account_id)
        )
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[derive(Debug, Clone)]
struct BtRefund {
    legacy_id: String,
    tx: String,
    amount: i64,
    currency: String,
    order_id: Option<String>,
    created_at: OffsetDateTime,
}

impl BtRefund {
    fn to_json(&self) -> Value {
        json!({
            "__typename": "Refund",
            "id": global_id("refund", &self.legacy_id),
            "legacyId": self.legacy_id,
            "createdAt": ts_micros(self.created_at),
            "orderId": self.order_id,
            "amount": money(self.amount, &self.currency),
            "status": "SUBMITTED_FOR_SETTLEMENT",
            "refundedTransaction": {"id": global_id("transaction", &self.tx), "legacyId": self.tx}
        })
    }
}

#[derive(Debug, Clone)]
enum SavedResult {
    /// The transaction the key created or changed; replays re-render it in its current status.
    Tx(String),
    /// A refund.
    Refund(String),
    /// An error answer, replayed as is.
    Error(Reply),
}

#[derive(Debug, Default)]
struct Data {
    txs: HashMap<String, Tx>,
    order: Vec<String>,
    refunds: HashMap<String, BtRefund>,
    keys: HashMap<String, (Operation, Value, SavedResult)>,
}

/// All emulated Braintree accounts (one per `"public:private"` pair).
#[derive(Debug, Default)]
pub struct BraintreeState {
    accounts: RwLock<HashMap<String, Arc<Mutex<Data>>>>,
}

fn lock(a: &Mutex<Data>) -> MutexGuard<'_, Data> {
    a.lock().unwrap_or_else(PoisonError::into_inner)
}

impl BraintreeState {
    fn account(&self, key: &str) -> Arc<Mutex<Data>> {
        pipeline::account_of(&self.accounts, key)
    }

    /// The transactions of `key`, newest first, as GraphQL JSON.
    pub fn transactions_json(&self, key: &str) -> Vec<Value> {
        let a = self.account(key);
        let d = lock(&a);
        d.order
            .iter()
            .rev()
            .filter_map(|id| d.txs.get(id))
            .map(Tx::to_json)
            .collect()
    }

    /// A webhook notice: `transaction_settled` settles a `SUBMITTED_FOR_SETTLEMENT` transaction,
    /// `transaction_settlement_declined` declines its settlement; other kinds only describe it.
    /// `id` is the legacy id or the GraphQL global id.
    pub(crate) fn notice(&self, key: &str, kind: &str, id: &str) -> Result<Notice, String> {
        let a = self.account(key);
        let mut d = lock(&a);
        let legacy = legacy_of(id);
        let tx = d
            .txs
            .get_mut(&legacy)
            .ok_or(format!("no Braintree transaction {id}"))?;
        let target = match kind {
            "transaction_settled" => Some(TxStatus::Settled),
            "transaction_settlement_declined" => Some(TxStatus::SettlementDeclined),
            _ => None,
        };
        if let Some(t) = target {
            if tx.status != TxStatus::SubmittedForSettlement && tx.status != t {
                return Err(format!(
                    "transaction {legacy} is {} (must be SUBMITTED_FOR_SETTLEMENT)",
                    tx.status.as_str()
                ));
            }
            if tx.status != t {
                tx.status = t;
                tx.history.push((t, now(), tx.amount));
            }
        }
        let status = tx.status.as_str().to_ascii_lowercase();
        Ok(Notice::Braintree {
            kind: kind.to_owned(),
            subject_id: legacy.clone(),
            subject_xml: tx.to_xml(&status),
        })
    }
}

impl BraintreeState {
    /// Settles transaction `id` (legacy or global id) of whichever account holds it, as the
    /// sandbox's settlement batch would; returns the account key and the `transaction_settled`
    /// notice. Errors: unknown id, or not `SUBMITTED_FOR_SETTLEMENT`.
    pub(crate) fn settle_any(&self, id: &str) -> Result<(String, Notice), String> {
        let legacy = legacy_of(id);
        let key = {
            let accounts = self.accounts.read().unwrap_or_else(PoisonError::into_inner);
            accounts
                .iter()
                .find(|(_, a)| lock(a).txs.contains_key(&legacy))
                .map(|(k, _)| k.clone())
                .ok_or(format!("no Braintree transaction {id}"))?
        };
        let notice = self.notice(&key, "transaction_settled", &legacy)?;
        Ok((key, notice))
    }
}

/// A legacy id from a legacy id or a global id (`base64("transaction_" + legacy)`).
fn legacy_of(id: &str) -> String {
    base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(id.trim_end_matches('='))
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| {
            s.strip_prefix("transaction_")
                .or_else(|| s.strip_prefix("refund_"))
                .map(str::to_owned)
        })
        .unwrap_or_else(|| id.to_owned())
}

/// The message of a processor response code (Braintree's authorization-responses table).
pub fn processor_message(code: u32) -> &'static str {
    match code {
        2000 => "Do Not Honor",
        2001 => "Insufficient Funds",
        2002 => "Limit Exceeded",
        2003 => "Cardholder's Activity Limit Exceeded",
        2004 => "Expired Card",
        2005 => "Invalid Credit Card Number",
        2006 => "Invalid Expiration Date",
        2007 => "No Account",
        2010 => "Card Issuer Declined CVV",
        2012 => "Processor Declined - Possible Lost Card",
        2013 => "Processor Declined - Possible Stolen Card",
        2014 => "Processor Declined - Fraud Suspected",
        2015 => "Transaction Not Allowed",
        2038 => "Processor Declined",
        2044 => "Declined - Call Issuer",
        2046 => "Declined",
        2047 => "Call Issuer. Pick Up Card",
        2057 => "Issuer or Cardholder has put a restriction on the card",
        2059 => "Address Verification Failed",
        2060 => "Address Verification and Card Security Code Failed",
        2099 => "Cardholder Authentication Required",
        3000 => "Processor Network Unavailable - Try Again",
        _ => "Processor Declined",
    }
}

/// What a charge/authorize does, from the nonce and the amount (REFERENCE.md §3.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeOutcome {
    /// Authorized.
    Approve,
    /// Processor declined with this code (2000–2999), or failed with 3000.
    Processor(u32),
    /// Gateway rejected with this reason (`fraud`, `risk_threshold`, `application_incomplete`).
    GatewayRejected(&'static str),
    /// Validation error: legacy code and message; no transaction is created.
    Invalid(&'static str, &'static str),
}

/// The outcome of paying `amount_minor` (of a currency with `decimals`) with `nonce`.
pub fn charge_outcome(nonce: &str, amount_minor: i64, decimals: u32) -> ChargeOutcome {
    match nonce {
        "fake-consumed-nonce" => {
            return ChargeOutcome::Invalid(
                "91564",
                "Cannot use a payment_method_nonce more than once.",
            );
        }
        "fake-luhn-invalid-nonce" => {
            return ChargeOutcome::Invalid("81715", "Credit card number is invalid.");
        }
        "fake-processor-failure-jcb-nonce" => return ChargeOutcome::Processor(3000),
        "fake-gateway-rejected-fraud-nonce" => return ChargeOutcome::GatewayRejected("fraud"),
        "fake-gateway-rejected-risk-thresholds-nonce" => {
            return ChargeOutcome::GatewayRejected("risk_threshold");
        }
        n if n.starts_with("fake-processor-declined-") && n.ends_with("-nonce") => {
            return ChargeOutcome::Processor(2000);
        }
        n if n.starts_with("fake-") && n.ends_with("nonce") => {}
        n if n.starts_with("tokencc_") => {}
        _ => {
            return ChargeOutcome::Invalid("91565", "Unknown or expired payment_method_nonce.");
        }
    }
    let scale = 10_i64.pow(decimals);
    let major = amount_minor / scale;
    let cents = amount_minor * 100 / scale; // value in hundredths
    match major {
        2000..=2999 => ChargeOutcome::Processor(u32::try_from(major).unwrap_or(2000)),
        3000 => ChargeOutcome::Processor(3000),
        5001 if cents == 500_100 => ChargeOutcome::GatewayRejected("application_incomplete"),
        _ => ChargeOutcome::Approve,
    }
}

fn request_id() -> Value {
    json!({"requestId": uuid_v4()})
}

fn ok(field: &str, payload: Value) -> Reply {
    Reply::json(
        200,
        &json!({"data": {field: payload}, "extensions": request_id()}),
    )
}

/// A user error (decline or validation) on `field`, HTTP 200.
fn user_error(
    field: &str,
    message: &str,
    legacy_code: Option<&str>,
    extra: Option<(&str, Value)>,
) -> Reply {
    let mut ext = json!({"errorClass": "VALIDATION", "errorType": "user_error"});
    if let Some(c) = legacy_code {
        ext["legacyCode"] = json!(c);
    }
    if let Some((k, v)) = extra {
        ext[k] = v;
    }
    Reply::json(
        200,
        &json!({
            "errors": [{"message": message, "locations": [{"line": 2, "column": 3}], "path": [field], "extensions": ext}],
            "data": {field: null},
            "extensions": request_id()
        }),
    )
}

fn input_str<'a>(input: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut v = input;
    for p in path {
        v = v.get(p)?;
    }
    v.as_str()
}

fn currency_of(merchant_account_id: &str) -> String {
    match merchant_account_id.rsplit_once('_') {
        Some((_, c)) if c.len() == 3 && c.chars().all(|ch| ch.is_ascii_alphabetic()) => {
            c.to_ascii_uppercase()
        }
        Some(_) | None => "USD".to_owned(),
    }
}

fn parse_amount(field: &str, s: Option<&str>, currency: &str) -> Result<i64, Reply> {
    let Some(s) = s else {
        return Err(user_error(
            field,
            "Amount is required.",
            Some("81502"),
            None,
        ));
    };
    let minor = parse_decimal(s, currency_exponent(currency), false)
        .ok_or_else(|| user_error(field, "Amount is an invalid format.", Some("81503"), None))?;
    if minor <= 0 {
        return Err(user_error(
            field,
            "Amount must be greater than zero.",
            Some("81531"),
            None,
        ));
    }
    Ok(minor)
}

fn new_legacy_id() -> String {
    rand_from(b"abcdefghijklmnopqrstuvwxyz0123456789", 8)
}

/// Runs a mutation under the account lock, with `apiRequestKey` replay.
fn mutate(
    app: &Arc<App>,
    key: &str,
    op: Operation,
    input: &Value,
    forced: Option<String>,
) -> Reply {
    let field = op.field();
    let a = app.braintree.account(key);
    let mut d = lock(&a);
    let api_key = input_str(input, &["apiRequestKey"]).map(str::to_owned);
    if let Some(k) = &api_key
        && let Some((saved_op, saved_input, saved)) = d.keys.get(k)
    {
        if *saved_op != op || saved_input != input {
            return user_error(
                field,
                "apiRequestKey has already been used with different input.",
                None,
                None,
            );
        }
        return render_saved(&d, op, input, saved);
    }
    let result = match op {
        Operation::Charge(_) | Operation::Authorize(_) => charge(&mut d, op, input, forced),
        Operation::Capture(_) => capture(&mut d, op, input),
        Operation::Reverse => reverse(&mut d, input),
        Operation::Refund => refund(&mut d, input),
        Operation::Node | Operation::Search | Operation::Ping => {
            SavedResult::Error(user_error(field, "Not a mutation.", None, None))
        }
    };
    let reply = render_saved(&d, op, input, &result);
    if let Some(k) = api_key {
        d.keys.insert(k, (op, input.clone(), result));
    }
    reply
}

fn render_saved(d: &Data, op: Operation, input: &Value, saved: &SavedResult) -> Reply {
    let field = op.field();
    let cmid = input
        .get("clientMutationId")
        .cloned()
        .unwrap_or(Value::Null);
    match saved {
        SavedResult::Error(r) => r.clone(),
        SavedResult::Tx(id) => {
            let tx = d.txs.get(id).map(Tx::to_json).unwrap_or(Value::Null);
            let key = if op == Operation::Reverse {
                "reversal"
            } else {
                "transaction"
            };
            ok(field, json!({"clientMutationId": cmid, key: tx}))
        }
        SavedResult::Refund(id) => {
            let r = d
                .refunds
                .get(id)
                .map(BtRefund::to_json)
                .unwrap_or(Value::Null);
            let key = if op == Operation::Reverse {
                "reversal"
            } else {
                "refund"
            };
            ok(field, json!({"clientMutationId": cmid, key: r}))
        }
    }
}

fn charge(d: &mut Data, op: Operation, input: &Value, forced: Option<String>) -> SavedResult {
    let field = op.field();
    let nonce = input_str(input, &["paymentMethodId"])
        .or_else(|| input_str(input, &["creditCard", "number"]).map(|_| "fake-valid-nonce"));
    let Some(nonce) = nonce else {
        return SavedResult::Error(user_error(
            field,
            "Variable 'input.paymentMethodId' is required.",
            None,
            Some(("inputPath", json!(["input", "paymentMethodId"]))),
        ));
    };
    let merchant = input_str(input, &["transaction", "merchantAccountId"])
        .unwrap_or("emulator_usd_account")
        .to_owned();
    let currency = currency_of(&merchant);
    let amount = match parse_amount(
        field,
        input_str(input, &["transaction", "amount"]),
        &currency,
    ) {
        Ok(a) => a,
        Err(e) => return SavedResult::Error(e),
    };
    let mut outcome = charge_outcome(nonce, amount, currency_exponent(&currency));
    if let Some(code) = forced
        && outcome == ChargeOutcome::Approve
    {
        outcome = ChargeOutcome::Processor(code.parse().unwrap_or(2000));
    }
    let t = now();
    let mut tx = Tx {
        legacy_id: new_legacy_id(),
        amount,
        currency,
        status: TxStatus::Authorized,
        order_id: input_str(input, &["transaction", "orderId"]).map(str::to_owned),
        merchant_account_id: merchant,
        created_at: t,
        history: Vec::new(),
        refunded: 0,
        processor_code: None,
        rejection: None,
    };
    let result = match outcome {
        ChargeOutcome::Invalid(code, msg) => {
            return SavedResult::Error(user_error(
                field,
                msg,
                Some(code),
                Some(("inputPath", json!(["input", "paymentMethodId"]))),
            ));
        }
        ChargeOutcome::Approve => {
            tx.history.push((TxStatus::Authorized, t, amount));
            if matches!(op, Operation::Charge(_)) {
                tx.status = TxStatus::SubmittedForSettlement;
                tx.history
                    .push((TxStatus::SubmittedForSettlement, t, amount));
            }
            SavedResult::Tx(tx.legacy_id.clone())
        }
        ChargeOutcome::Processor(code) => {
            tx.status = if code >= 3000 {
                TxStatus::Failed
            } else {
                TxStatus::ProcessorDeclined
            };
            tx.processor_code = Some(code);
            tx.history.push((tx.status, t, amount));
            let decline_type = if is_hard(code) { "HARD" } else { "SOFT" };
            SavedResult::Error(
                user_error(
                    field,
                    processor_message(code),
                    Some(&code.to_string()),
                    Some(("declineType", json!(decline_type))),
                )
                .declined(),
            )
        }
        ChargeOutcome::GatewayRejected(reason) => {
            tx.status = TxStatus::GatewayRejected;
            tx.rejection = Some(reason);
            tx.history.push((tx.status, t, amount));
            SavedResult::Error(
                user_error(
                    field,
                    &format!("Gateway Rejected: {reason}"),
                    None,
                    Some(("gatewayRejectionReason", json!(reason.to_ascii_uppercase()))),
                )
                .declined(),
            )
        }
    };
    d.order.push(tx.legacy_id.clone());
    d.txs.insert(tx.legacy_id.clone(), tx);
    result
}

/// Braintree's own Hard/Soft column (REFERENCE.md §3.3).
pub fn is_hard(code: u32) -> bool {
    matches!(code, 2004..=2008 | 2010..=2015 | 2019 | 2041 | 2044 | 2047 | 2053)
}

fn tx_id(input: &Value) -> Option<String> {
    input_str(input, &["transactionId"]).map(legacy_of)
}

/// A mutation refused with Braintree's validation `code` (e.g. `"91507"`) and `message` for the
/// mutation `field` (Braintree validation error codes; envelope per REFERENCE.md section 3).
fn refused(field: &str, message: &str, code: &str) -> SavedResult {
    SavedResult::Error(user_error(field, message, Some(code), None))
}

/// The transaction named by `input.transactionId` (legacy or GraphQL global id) with its legacy
/// id, or Braintree's `NOT_FOUND` result for `field` when the id is missing or unknown.
fn tx_of<'a>(
    txs: &'a mut HashMap<String, Tx>,
    field: &str,
    input: &Value,
) -> Result<(String, &'a mut Tx), SavedResult> {
    let Some(id) = tx_id(input) else {
        return Err(not_found(field));
    };
    match txs.get_mut(&id) {
        Some(tx) => Ok((id, tx)),
        None => Err(not_found(field)),
    }
}

/// The optional decimal amount at `path` of `input` in minor units of `currency`; `default`
/// (minor units) when absent; a present but invalid amount is the `parse_amount` user error.
fn amount_or(
    field: &str,
    input: &Value,
    path: &[&str],
    currency: &str,
    default: i64,
) -> Result<i64, SavedResult> {
    match input_str(input, path) {
        None => Ok(default),
        s @ Some(_) => parse_amount(field, s, currency).map_err(SavedResult::Error),
    }
}

fn not_found(field: &str) -> SavedResult {
    SavedResult::Error(Reply::json(
        200,
        &json!({
            "errors": [{"message": "An object with this ID was not found.", "path": [field], "extensions": {"errorClass": "NOT_FOUND", "inputPath": ["input", "transactionId"]}}],
            "data": {field: null},
            "extensions": request_id()
        }),
    ))
}

fn capture(d: &mut Data, op: Operation, input: &Value) -> SavedResult {
    let field = op.field();
    let (id, tx) = match tx_of(&mut d.txs, field, input) {
        Ok(t) => t,
        Err(e) => return e,
    };
    if tx.status != TxStatus::Authorized {
        return refused(
            field,
            "Cannot submit for settlement unless status is authorized.",
            "91507",
        );
    }
    let amount = match amount_or(
        field,
        input,
        &["transaction", "amount"],
        &tx.currency,
        tx.amount,
    ) {
        Ok(a) => a,
        Err(e) => return e,
    };
    if amount > tx.amount {
        return refused(field, "Settlement amount is too large.", "91522");
    }
    tx.amount = amount;
    tx.status = TxStatus::SubmittedForSettlement;
    tx.history
        .push((TxStatus::SubmittedForSettlement, now(), amount));
    SavedResult::Tx(id)
}

fn reverse(d: &mut Data, input: &Value) -> SavedResult {
    let field = "reverseTransaction";
    let (id, tx) = match tx_of(&mut d.txs, field, input) {
        Ok(t) => t,
        Err(e) => return e,
    };
    match tx.status {
        TxStatus::Authorized | TxStatus::SubmittedForSettlement => {
            tx.status = TxStatus::Voided;
            tx.history.push((TxStatus::Voided, now(), tx.amount));
            SavedResult::Tx(id)
        }
        TxStatus::Settled => {
            let remaining = tx.amount - tx.refunded;
            if remaining <= 0 {
                return refused(
                    field,
                    "Transaction has already been completely refunded.",
                    "91512",
                );
            }
            tx.refunded = tx.amount;
            let r = BtRefund {
                legacy_id: new_legacy_id(),
                tx: id,
                amount: remaining,
                currency: tx.currency.clone(),
                order_id: tx.order_id.clone(),
                created_at: now(),
            };
            let rid = r.legacy_id.clone();
            d.refunds.insert(rid.clone(), r);
            SavedResult::Refund(rid)
        }
        TxStatus::SettlementDeclined
        | TxStatus::Voided
        | TxStatus::ProcessorDeclined
        | TxStatus::GatewayRejected
        | TxStatus::Failed => refused(
            field,
            "Transaction can only be voided if status is authorized, submitted_for_settlement, or - for PayPal - settlement_pending.",
            "91504",
        ),
    }
}

fn refund(d: &mut Data, input: &Value) -> SavedResult {
    let field = "refundTransaction";
    let (id, tx) = match tx_of(&mut d.txs, field, input) {
        Ok(t) => t,
        Err(e) => return e,
    };
    if tx.status != TxStatus::Settled {
        return refused(
            field,
            "Cannot refund transaction unless it is settled.",
            "91506",
        );
    }
    let remaining = tx.amount - tx.refunded;
    let amount = match amount_or(field, input, &["refund", "amount"], &tx.currency, remaining) {
        Ok(a) => a,
        Err(e) => return e,
    };
    if remaining <= 0 {
        return refused(
            field,
            "Transaction has already been completely refunded.",
            "91512",
        );
    }
    if amount > remaining {
        return refused(field, "Refund amount is too large.", "91521");
    }
    tx.refunded += amount;
    let r = BtRefund {
        legacy_id: new_legacy_id(),
        tx: id,
        amount,
        currency: tx.currency.clone(),
        order_id: input_str(input, &["refund", "orderId"])
            .map(str::to_owned)
            .or_else(|| tx.order_id.clone()),
        created_at: now(),
    };
    let rid = r.legacy_id.clone();
    d.refunds.insert(rid.clone(), r);
    SavedResult::Refund(rid)
}

fn read(app: &Arc<App>, key: &str, op: Operation, vars: &Value) -> Reply {
    let a = app.braintree.account(key);
    let d = lock(&a);
    match op {
        Operation::Ping => ok("ping", json!("pong")),
        Operation::Node => {
            let id = vars.get("id").and_then(Value::as_str).unwrap_or("");
            let legacy = legacy_of(id);
            match d.txs.get(&legacy) {
                Some(tx) => ok("node", tx.to_json()),
                None => match d.refunds.get(&legacy) {
                    Some(r) => ok("node", r.to_json()),
                    None => ok("node", Value::Null),
                },
            }
        }
        Operation::Search => {
            let order = input_str(vars, &["input", "orderId", "is"]);
            let edges: Vec<Value> = d
                .order
                .iter()
                .rev()
                .filter_map(|id| d.txs.get(id))
                .filter(|tx| order.is_none() || tx.order_id.as_deref() == order)
                .take(50)
                .map(|tx| json!({"node": tx.to_json()}))
                .collect();
            ok(
                "search",
                json!({"transactions": {"edges": edges, "pageInfo": {"hasNextPage": false, "endCursor": null}}}),
            )
        }
        Operation::Charge(_)
        | Operation::Authorize(_)
        | Operation::Capture(_)
        | Operation::Reverse
        | Operation::Refund => braintree_error(500, "INTERNAL", "Not a query."),
    }
}

fn basic(headers: &HeaderMap) -> Option<String> {
    let b = pipeline::auth_credential(headers, "Basic")?;
    let decoded = String::from_utf8(STANDARD.decode(b).ok()?).ok()?;
    let (public, private) = decoded.split_once(':')?;
    (!public.is_empty() && !private.is_empty()).then_some(decoded)
}

async fn api(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(key) = basic(&headers) else {
        return pipeline::unauthenticated(
            &app,
            braintree_error(
                401,
                "AUTHENTICATION",
                "Authentication credentials are invalid.",
            ),
        );
    };
    let parsed: Option<Value> = serde_json::from_slice(&body).ok();
    let query = parsed
        .as_ref()
        .and_then(|v| v.get("query"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let Some(op) = operation(query) else {
        return pipeline::client_error(
            &app,
            &key,
            braintree_error(
                400,
                "VALIDATION",
                "Unsupported or malformed GraphQL request: send JSON {query, variables} with one of the supported operations.",
            ),
        );
    };
    let vars = parsed
        .as_ref()
        .and_then(|v| v.get("variables"))
        .cloned()
        .unwrap_or(Value::Null);
    let app2 = app.clone();
    let key2 = key.clone();
    let reply = if op.is_write() {
        let input = vars.get("input").cloned().unwrap_or(Value::Null);
        if !input.is_object() {
            return pipeline::client_error(
                &app,
                &key,
                user_error(
                    op.field(),
                    "Variable 'input' is required (send the mutation input in variables.input).",
                    None,
                    None,
                ),
            );
        }
        let f: Op = Box::new(move |forced| mutate(&app2, &key2, op, &input, forced));
        pipeline::run(&app, Provider::Braintree, &key, "POST", true, None, f).await
    } else {
        // Reads are POSTs on the wire but never hang (hang applies to writes).
        let f: Op = Box::new(move |_| read(&app2, &key2, op, &vars));
        pipeline::run(&app, Provider::Braintree, &key, "GET", false, None, f).await
    };
    reply.into_response()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parser_and_rules() {
        assert_eq!(
            operation(
                "mutation Charge($input: ChargePaymentMethodInput!) { chargePaymentMethod(input: $input) { transaction { id } } }"
            ),
            Some(Operation::Charge("chargePaymentMethod"))
        );
        assert_eq!(
            operation(
                "query Search($input: TransactionSearchInput!) { search { transactions(input: $input) { edges { node { id } } } } }"
            ),
            Some(Operation::Search)
        );
        assert_eq!(
            operation("query { node(id: $id) { id } }"),
            Some(Operation::Node)
        );
        assert_eq!(operation("mutation { unknownThing }"), None);
        assert_eq!(
            charge_outcome("fake-valid-nonce", 2000, 2),
            ChargeOutcome::Approve
        );
        assert_eq!(
            charge_outcome("fake-valid-nonce", 200_100, 2),
            ChargeOutcome::Processor(2001)
        );
        assert_eq!(
            charge_outcome("fake-valid-nonce", 300_050, 2),
            ChargeOutcome::Processor(3000)
        );
        assert_eq!(
            charge_outcome("fake-valid-nonce", 500_100, 2),
            ChargeOutcome::GatewayRejected("application_incomplete")
        );
        assert_eq!(
            charge_outcome("fake-valid-nonce", 2500, 0),
            ChargeOutcome::Processor(2500)
        );
        assert!(matches!(
            charge_outcome("nope", 100, 2),
            ChargeOutcome::Invalid("91565", _)
        ));
        assert_eq!(legacy_of(&global_id("transaction", "abc12345")), "abc12345");
        assert_eq!(
            global_id("transaction", "fx7k2m9p"),
            "dHJhbnNhY3Rpb25fZng3azJtOXA"
        );
        assert_eq!(currency_of("acct_eur"), "EUR");
        assert_eq!(currency_of("fixture_usd_account"), "USD");
        assert!(is_hard(2015) && !is_hard(2000) && !is_hard(2001));
    }
}
