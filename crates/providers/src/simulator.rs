//! Deterministic in-process provider for tests and the demo (no HTTP, never in production paths).
//!
//! The payment-method token picks the outcome of an authorize:
//!
//! | token | authorize answer | retrieve by attempt afterwards |
//! |---|---|---|
//! | `sim_approve` | approved (HTTP 200; `succeeded` + captured with automatic capture, `requires_capture` with manual) | approved |
//! | `sim_insufficient_funds` | soft_decline, 402 `card_declined` / `insufficient_funds` | the same decline |
//! | `sim_do_not_honor` | soft_decline, 402 `card_declined` / `do_not_honor` (Stripe has no test card for it, REFERENCE.md §1.5) | the same decline |
//! | `sim_stolen_card` | hard_decline, 402 `card_declined` / `stolen_card` | the same decline |
//! | `sim_expired_card` | hard_decline, 402 `expired_card` / `expired_card` | the same decline |
//! | `sim_3ds_required` | needs_customer_action, 200 `requires_action`, `next_action_url` = `https://simulator.switchboard.invalid/3ds/<reference>` | needs_customer_action |
//! | `sim_validation_error` | validation_error, 400 `parameter_invalid` | provider_unavailable "no charge found for this attempt" |
//! | `sim_auth_error` | auth_config_error, 401 | provider_unavailable "no charge found for this attempt" |
//! | `sim_rate_limited` | rate_limited, 429 `rate_limit` | provider_unavailable "no charge found for this attempt" |
//! | `sim_unavailable` | provider_unavailable, 503 | provider_unavailable "no charge found for this attempt" |
//! | `sim_timeout_not_charged` | unknown_outcome (no HTTP status: "timeout after send") | provider_unavailable "no charge found for this attempt" |
//! | `sim_timeout_charged` | unknown_outcome | approved (captured per capture mode), with the reference |
//! | `sim_timeout_unknown` | unknown_outcome | unknown_outcome |
//! | anything else | validation_error "unknown simulator token" (400 `resource_missing`) | provider_unavailable "no charge found for this attempt" |
//!
//! References are `sim_<uuid>` where the UUID is the first 16 bytes of SHA-256 of the authorize
//! idempotency key (refunds: `sim_re_<uuid>` of the refund's key), so they are deterministic.
//!
//! The simulator keeps what it did in memory, like a PSP would: an authorize replayed with the same
//! idempotency key returns the stored answer (the same key with other parameters is a
//! validation_error, as Stripe's `idempotency_error`, REFERENCE.md §1.2); capture, void and refund
//! act on the stored payment (capture only `requires_capture`, at most the authorized amount; void
//! only before capture; refunds up to the captured amount) and are replayed by their own keys.
//! Retrieve follows the contract of [`crate::Executor::retrieve`]: approved when a charge exists,
//! provider_unavailable when provably none (the simulator remembers every authorize, so an
//! attempt it never saw provably charged nothing), a stored decline / needs_customer_action as
//! the original's definitive answer, unknown_outcome otherwise; a voided authorization retrieves
//! as provider_unavailable (`canceled`, no charge). [`RetrieveRequest::original`] is accepted and
//! ignored: the answer always comes from the simulator's memory and the token table above, never
//! from a replay. An optional latency (default 0) is applied by the executor.

use crate::{
    AuthorizeRequest, CaptureRequest, Operation, ProviderResult, RefundRequest, RetrieveRequest,
    VoidRequest,
};
use routing::{CaptureMode, Currency, OutcomeClass};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// Message of a retrieve that found nothing charged (same text as the Stripe adapter).
pub const NOT_CHARGED_MESSAGE: &str = crate::stripe::NOT_CHARGED_MESSAGE;
/// Message of an unknown token.
pub const UNKNOWN_TOKEN_MESSAGE: &str = "unknown simulator token";

/// The behaviours the simulator knows, selected by the payment-method token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SimToken {
    /// `sim_approve`
    Approve,
    /// `sim_insufficient_funds`
    InsufficientFunds,
    /// `sim_do_not_honor`
    DoNotHonor,
    /// `sim_stolen_card`
    StolenCard,
    /// `sim_expired_card`
    ExpiredCard,
    /// `sim_3ds_required`
    ThreeDsRequired,
    /// `sim_validation_error`
    ValidationError,
    /// `sim_auth_error`
    AuthError,
    /// `sim_rate_limited`
    RateLimited,
    /// `sim_unavailable`
    Unavailable,
    /// `sim_timeout_not_charged`
    TimeoutNotCharged,
    /// `sim_timeout_charged`
    TimeoutCharged,
    /// `sim_timeout_unknown`
    TimeoutUnknown,
}

impl SimToken {
    /// Every token with its string.
    pub const ALL: [(&'static str, SimToken); 13] = [
        ("sim_approve", SimToken::Approve),
        ("sim_insufficient_funds", SimToken::InsufficientFunds),
        ("sim_do_not_honor", SimToken::DoNotHonor),
        ("sim_stolen_card", SimToken::StolenCard),
        ("sim_expired_card", SimToken::ExpiredCard),
        ("sim_3ds_required", SimToken::ThreeDsRequired),
        ("sim_validation_error", SimToken::ValidationError),
        ("sim_auth_error", SimToken::AuthError),
        ("sim_rate_limited", SimToken::RateLimited),
        ("sim_unavailable", SimToken::Unavailable),
        ("sim_timeout_not_charged", SimToken::TimeoutNotCharged),
        ("sim_timeout_charged", SimToken::TimeoutCharged),
        ("sim_timeout_unknown", SimToken::TimeoutUnknown),
    ];

    /// The token for a string, if known.
    pub fn parse(token: &str) -> Option<SimToken> {
        SimToken::ALL
            .iter()
            .find(|(s, _)| *s == token)
            .map(|(_, t)| *t)
    }

    /// The token string.
    pub fn as_str(self) -> &'static str {
        SimToken::ALL
            .iter()
            .find(|(_, t)| *t == self)
            .map_or("sim_unknown", |(s, _)| *s)
    }
}

/// `sim_<uuid>` derived from a key (first 16 bytes of its SHA-256).
pub fn reference_for(prefix: &str, key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    format!("{prefix}{}", uuid::Uuid::from_bytes(bytes).hyphenated())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PayStatus {
    Authorized,
    Captured,
    Canceled,
    RequiresAction,
    Declined,
}

#[derive(Debug, Clone)]
struct Payment {
    amount_minor: i64,
    currency: Currency,
    status: PayStatus,
    captured_minor: i64,
    refunded_minor: i64,
    /// For declines: the stored decline answer.
    decline: Option<ProviderResult>,
    next_action_url: Option<String>,
}

#[derive(Debug, Clone)]
struct AuthRecord {
    fingerprint: String,
    token: Option<SimToken>,
    reference: Option<String>,
    result: ProviderResult,
}

#[derive(Debug, Default)]
struct State {
    authorizations: HashMap<String, AuthRecord>,
    payments: HashMap<String, Payment>,
    /// Capture/void/refund answers by idempotency key: (fingerprint, answer).
    operations: HashMap<String, (String, ProviderResult)>,
}

/// The simulated provider. Cheap to share behind an `Arc`; all state is behind one mutex.
#[derive(Debug, Default)]
pub struct Simulator {
    state: Mutex<State>,
    latency: Duration,
}

fn result(class: OutcomeClass, http: Option<u16>) -> ProviderResult {
    let mut r = ProviderResult::new(class);
    r.http_status = http;
    r
}

fn err(class: OutcomeClass, http: u16, code: Option<&str>, message: &str) -> ProviderResult {
    let mut r = result(class, Some(http));
    r.raw_code = code.map(str::to_owned);
    r.message = Some(message.to_owned());
    r
}

fn idempotency_mismatch() -> ProviderResult {
    err(
        OutcomeClass::ValidationError,
        400,
        Some("idempotency_error"),
        "idempotency key reused with different parameters",
    )
}

fn not_charged() -> ProviderResult {
    result(OutcomeClass::ProviderUnavailable, Some(200)).with_message(NOT_CHARGED_MESSAGE)
}

impl Simulator {
    /// A simulator answering instantly.
    pub fn new() -> Simulator {
        Simulator::default()
    }

    /// A simulator whose every answer takes `latency` (applied by the executor).
    pub fn with_latency(latency: Duration) -> Simulator {
        Simulator {
            state: Mutex::default(),
            latency,
        }
    }

    /// The configured latency.
    pub fn latency(&self) -> Duration {
        self.latency
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps half-updated in a way that
        // matters for a test double; keep serving.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Authorizes per the token table of the module docs (replays by idempotency key).
    pub fn authorize(&self, req: &AuthorizeRequest) -> ProviderResult {
        let fingerprint = format!(
            "{}|{}|{}|{:?}|{}",
            req.token, req.money.amount_minor, req.money.currency, req.capture, req.payment_id
        );
        let mut st = self.state();
        if let Some(rec) = st.authorizations.get(&req.idempotency_key) {
            return if rec.fingerprint == fingerprint {
                rec.result.clone()
            } else {
                idempotency_mismatch()
            };
        }
        let token = SimToken::parse(&req.token);
        let reference = reference_for("sim_", &req.idempotency_key);
        let captured = req.capture == CaptureMode::Automatic;
        let approved_status = if captured {
            "succeeded"
        } else {
            "requires_capture"
        };
        let mut payment = Payment {
            amount_minor: req.money.amount_minor,
            currency: req.money.currency,
            status: if captured {
                PayStatus::Captured
            } else {
                PayStatus::Authorized
            },
            captured_minor: if captured { req.money.amount_minor } else { 0 },
            refunded_minor: 0,
            decline: None,
            next_action_url: None,
        };
        let decline = |class, code: &str, decline: Option<&str>, msg: &str| {
            let mut r = err(class, 402, Some(code), msg);
            r.decline_code = decline.map(str::to_owned);
            r.provider_reference = Some(reference.clone());
            r.provider_status = Some("requires_payment_method".to_owned());
            r
        };
        let (res, charged) = match token {
            None => (
                err(
                    OutcomeClass::ValidationError,
                    400,
                    Some("resource_missing"),
                    UNKNOWN_TOKEN_MESSAGE,
                ),
                false,
            ),
            Some(SimToken::Approve) => {
                let mut r = result(OutcomeClass::Approved, Some(200));
                r.provider_reference = Some(reference.clone());
                r.provider_status = Some(approved_status.to_owned());
                r.captured = captured;
                (r, true)
            }
            Some(SimToken::InsufficientFunds) => declined(
                &mut payment,
                decline(
                    OutcomeClass::SoftDecline,
                    "card_declined",
                    Some("insufficient_funds"),
                    "Your card has insufficient funds.",
                ),
            ),
            Some(SimToken::DoNotHonor) => declined(
                &mut payment,
                decline(
                    OutcomeClass::SoftDecline,
                    "card_declined",
                    Some("do_not_honor"),
                    "Your card was declined.",
                ),
            ),
            Some(SimToken::StolenCard) => declined(
                &mut payment,
                decline(
                    OutcomeClass::HardDecline,
                    "card_declined",
                    Some("stolen_card"),
                    "Your card was declined.",
                ),
            ),
            Some(SimToken::ExpiredCard) => declined(
                &mut payment,
                decline(
                    OutcomeClass::HardDecline,
                    "expired_card",
                    Some("expired_card"),
                    "Your card has expired.",
                ),
            ),
            Some(SimToken::ThreeDsRequired) => {
                let url = format!("https://simulator.switchboard.invalid/3ds/{reference}");
                let mut r = result(OutcomeClass::NeedsCustomerAction, Some(200));
                r.provider_reference = Some(reference.clone());
                r.provider_status = Some("requires_action".to_owned());
                r.next_action_url = Some(url.clone());
                r.message = Some("customer authentication required".to_owned());
                payment.status = PayStatus::RequiresAction;
                payment.captured_minor = 0;
                payment.next_action_url = Some(url);
                (r, true)
            }
            Some(SimToken::ValidationError) => (
                err(
                    OutcomeClass::ValidationError,
                    400,
                    Some("parameter_invalid"),
                    "simulated validation error",
                ),
                false,
            ),
            Some(SimToken::AuthError) => (
                err(
                    OutcomeClass::AuthConfigError,
                    401,
                    None,
                    "simulated invalid API key",
                ),
                false,
            ),
            Some(SimToken::RateLimited) => (
                err(
                    OutcomeClass::RateLimited,
                    429,
                    Some("rate_limit"),
                    "simulated rate limit",
                ),
                false,
            ),
            Some(SimToken::Unavailable) => (
                err(
                    OutcomeClass::ProviderUnavailable,
                    503,
                    None,
                    "simulated service unavailable",
                ),
                false,
            ),
            Some(
                t @ (SimToken::TimeoutNotCharged
                | SimToken::TimeoutCharged
                | SimToken::TimeoutUnknown),
            ) => (
                result(OutcomeClass::UnknownOutcome, None)
                    .with_message("simulated timeout after the request was sent"),
                t == SimToken::TimeoutCharged,
            ),
        };
        if charged {
            st.payments.insert(reference.clone(), payment);
        }
        st.authorizations.insert(
            req.idempotency_key.clone(),
            AuthRecord {
                fingerprint,
                token,
                reference: charged.then_some(reference),
                result: res.clone(),
            },
        );
        res
    }

    /// Replays a stored capture/void/refund answer, or runs `f` and stores its answer.
    fn operation(
        &self,
        op: Operation,
        key: &str,
        fingerprint: String,
        f: impl FnOnce(&mut State) -> ProviderResult,
    ) -> ProviderResult {
        let fingerprint = format!("{}|{fingerprint}", op.as_str());
        let mut st = self.state();
        if let Some((fp, r)) = st.operations.get(key) {
            return if *fp == fingerprint {
                r.clone()
            } else {
                idempotency_mismatch()
            };
        }
        let r = f(&mut st);
        st.operations
            .insert(key.to_owned(), (fingerprint, r.clone()));
        r
    }

    /// Captures an authorization (full, or `amount` if given).
    pub fn capture(&self, req: &CaptureRequest) -> ProviderResult {
        let fp = format!("{}|{:?}", req.provider_reference, req.amount);
        self.operation(Operation::Capture, &req.idempotency_key, fp, |st| {
            let Some(p) = st.payments.get_mut(&req.provider_reference) else {
                return no_such_payment();
            };
            if p.status != PayStatus::Authorized {
                return unexpected_state(p.status, "capture");
            }
            let amount = match req.amount {
                Some(m) if m.currency != p.currency => {
                    return err(
                        OutcomeClass::ValidationError,
                        400,
                        Some("parameter_invalid"),
                        "currency does not match the authorization",
                    );
                }
                Some(m) if m.amount_minor > p.amount_minor => {
                    return err(
                        OutcomeClass::ValidationError,
                        400,
                        Some("amount_too_large"),
                        "amount_to_capture exceeds the authorized amount",
                    );
                }
                Some(m) => m.amount_minor,
                None => p.amount_minor,
            };
            p.status = PayStatus::Captured;
            p.captured_minor = amount;
            let mut r = result(OutcomeClass::Approved, Some(200));
            r.provider_reference = Some(req.provider_reference.clone());
            r.provider_status = Some("succeeded".to_owned());
            r.captured = true;
            r
        })
    }

    /// Cancels an authorization that has not been captured.
    pub fn void(&self, req: &VoidRequest) -> ProviderResult {
        self.operation(
            Operation::Void,
            &req.idempotency_key,
            req.provider_reference.clone(),
            |st| {
                let Some(p) = st.payments.get_mut(&req.provider_reference) else {
                    return no_such_payment();
                };
                match p.status {
                    PayStatus::Authorized | PayStatus::RequiresAction | PayStatus::Declined => {
                        p.status = PayStatus::Canceled;
                        let mut r = result(OutcomeClass::Approved, Some(200));
                        r.provider_reference = Some(req.provider_reference.clone());
                        r.provider_status = Some("canceled".to_owned());
                        r
                    }
                    PayStatus::Captured | PayStatus::Canceled => {
                        unexpected_state(p.status, "cancel")
                    }
                }
            },
        )
    }

    /// Refunds part or all of a captured payment.
    pub fn refund(&self, req: &RefundRequest) -> ProviderResult {
        let fp = format!(
            "{}|{}|{}",
            req.provider_reference, req.money.amount_minor, req.money.currency
        );
        self.operation(Operation::Refund, &req.idempotency_key, fp, |st| {
            let Some(p) = st.payments.get_mut(&req.provider_reference) else {
                return no_such_payment();
            };
            if p.status != PayStatus::Captured {
                return unexpected_state(p.status, "refund");
            }
            if req.money.currency != p.currency {
                return err(
                    OutcomeClass::ValidationError,
                    400,
                    Some("parameter_invalid"),
                    "currency does not match the payment",
                );
            }
            if p.refunded_minor + req.money.amount_minor > p.captured_minor {
                return err(
                    OutcomeClass::ValidationError,
                    400,
                    Some("amount_too_large"),
                    "refund exceeds the captured amount not yet refunded",
                );
            }
            p.refunded_minor += req.money.amount_minor;
            let mut r = result(OutcomeClass::Approved, Some(200));
            r.provider_reference = Some(reference_for("sim_re_", &req.idempotency_key));
            r.provider_status = Some("succeeded".to_owned());
            r
        })
    }

    /// What happened to an authorize: by reference when given, else by its idempotency key.
    /// `req.original` is ignored (no replay: the token semantics stay as documented).
    pub fn retrieve(&self, req: &RetrieveRequest) -> ProviderResult {
        let st = self.state();
        if let Some(reference) = req.provider_reference.as_deref().filter(|r| !r.is_empty()) {
            return match st.payments.get(reference) {
                Some(p) => payment_state(reference, p),
                None => result(OutcomeClass::UnknownOutcome, Some(404))
                    .with_message("retrieve failed: unknown simulator reference"),
            };
        }
        let Some(rec) = st.authorizations.get(&req.idempotency_key) else {
            return not_charged();
        };
        if rec.token == Some(SimToken::TimeoutUnknown) {
            return result(OutcomeClass::UnknownOutcome, None)
                .with_message("simulated: the outcome is still unknown");
        }
        match rec
            .reference
            .as_deref()
            .and_then(|r| st.payments.get(r).map(|p| (r, p)))
        {
            Some((r, p)) => payment_state(r, p),
            None => not_charged(),
        }
    }
}

/// Marks `p` declined with answer `r`; a declined PaymentIntent exists (and can be retrieved).
fn declined(p: &mut Payment, r: ProviderResult) -> (ProviderResult, bool) {
    p.status = PayStatus::Declined;
    p.captured_minor = 0;
    p.decline = Some(r.clone());
    (r, true)
}

fn no_such_payment() -> ProviderResult {
    err(
        OutcomeClass::ValidationError,
        404,
        Some("resource_missing"),
        "no such simulator payment",
    )
}

fn status_name(s: PayStatus) -> &'static str {
    match s {
        PayStatus::Authorized => "requires_capture",
        PayStatus::Captured => "succeeded",
        PayStatus::Canceled => "canceled",
        PayStatus::RequiresAction => "requires_action",
        PayStatus::Declined => "requires_payment_method",
    }
}

fn unexpected_state(s: PayStatus, what: &str) -> ProviderResult {
    err(
        OutcomeClass::ValidationError,
        400,
        Some("payment_intent_unexpected_state"),
        &format!("cannot {what} a payment in status {}", status_name(s)),
    )
}

fn payment_state(reference: &str, p: &Payment) -> ProviderResult {
    if let (PayStatus::Declined, Some(d)) = (p.status, &p.decline) {
        let mut r = d.clone();
        r.http_status = Some(200);
        return r;
    }
    let class = match p.status {
        PayStatus::Authorized | PayStatus::Captured => OutcomeClass::Approved,
        PayStatus::RequiresAction => OutcomeClass::NeedsCustomerAction,
        PayStatus::Canceled => OutcomeClass::ProviderUnavailable,
        PayStatus::Declined => OutcomeClass::SoftDecline,
    };
    let mut r = result(class, Some(200));
    r.provider_reference = Some(reference.to_owned());
    r.provider_status = Some(status_name(p.status).to_owned());
    r.captured = p.status == PayStatus::Captured;
    r.next_action_url = p
        .next_action_url
        .clone()
        .filter(|_| p.status == PayStatus::RequiresAction);
    if p.status == PayStatus::Canceled {
        r.message = Some("payment intent is canceled; no charge".to_owned());
    }
    r
}
