//! Provider adapters: [`stripe`], [`square`], [`braintree`], [`mollie`] (wire-true translators),
//! [`simulator`], [`webhooks`] (verify + parse inbound provider webhooks), [`amount`] (minor units
//! <-> decimal strings).
//!
//! Each provider module is a translator: a domain request ([`AuthorizeRequest`], …) becomes an
//! [`HttpRequest`] value, and an [`HttpResponse`] value becomes a [`ProviderResult`] whose
//! [`routing::OutcomeClass`] follows REFERENCE.md §5. Only [`executor::Executor`] does IO: it owns
//! the reqwest client, the separate connect and read timeouts, and the mapping of transport
//! failures (refused before send -> `provider_unavailable`; timeout after send -> `unknown_outcome`,
//! never a decline). The [`simulator`] answers in-process without HTTP. No SQL here.

pub mod amount;
pub mod braintree;
pub mod executor;
pub mod http;
pub mod mollie;
pub mod simulator;
pub mod square;
pub mod stripe;
pub mod webhooks;

pub use executor::{Executor, ExecutorConfig, ExecutorError};
pub use http::{Body, HttpRequest, HttpResponse, Method};
pub use stripe::{Call, Parser};

use routing::{CaptureMode, ConnectorId, Mode, Money, OutcomeClass, Provider};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How to reach one connector account. The API key is a secret: never logged or serialised.
#[derive(Clone)]
pub struct ConnectorAccount {
    /// The connector this account backs.
    pub connector_id: ConnectorId,
    /// Which PSP.
    pub provider: Provider,
    /// Test or live.
    pub mode: Mode,
    /// Base URL without trailing slash; the adapter appends the provider's real path
    /// (`/v1/payment_intents`, `/v2/payments`, `/graphql`). Production: `https://api.stripe.com`,
    /// `https://connect.squareup.com`, `https://payments.braintree-api.com`,
    /// `https://api.mollie.com` (REFERENCE.md §0); the emulator's `{base}`, `{base}/square`,
    /// `{base}/braintree`, `{base}/mollie` (INTERFACES.md §B). Ignored by the simulator.
    pub base_url: String,
    /// The one credential (INTERFACES.md §C): Stripe `sk_…`, Square access token, Braintree
    /// `"public_key:private_key"`, Mollie `test_…`/`live_…`.
    pub api_key: SecretString,
}

impl std::fmt::Debug for ConnectorAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectorAccount")
            .field("connector_id", &self.connector_id)
            .field("provider", &self.provider)
            .field("mode", &self.mode)
            .field("base_url", &self.base_url)
            .field("api_key", &"[redacted]")
            .finish()
    }
}

/// Authorize (and capture when `capture == Automatic`) a payment on one connector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizeRequest {
    /// Provider idempotency key: the attempt id (UUID string). Stripe `Idempotency-Key` header.
    pub idempotency_key: String,
    /// Our payment id, sent as metadata (`switchboard_payment_id`) so a retrieve/search can find it.
    pub payment_id: String,
    /// Amount and currency.
    pub money: Money,
    /// Capture mode.
    pub capture: CaptureMode,
    /// The payment-method token usable on this connector.
    pub token: String,
    /// Merchant's order reference, if any (sent as metadata `order_id`).
    pub merchant_reference: Option<String>,
    /// Merchant metadata, forwarded.
    pub metadata: BTreeMap<String, String>,
}

/// Capture an authorized payment (full when `amount` is `None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureRequest {
    /// Idempotency key of this operation.
    pub idempotency_key: String,
    /// Provider's payment reference (`pi_…`).
    pub provider_reference: String,
    /// Amount to capture (minor units), or the full authorized amount.
    pub amount: Option<Money>,
}

/// Void (cancel) an authorization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoidRequest {
    /// Idempotency key of this operation.
    pub idempotency_key: String,
    /// Provider's payment reference.
    pub provider_reference: String,
}

/// Refund part or all of a captured payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundRequest {
    /// Idempotency key of this refund.
    pub idempotency_key: String,
    /// Provider's payment reference.
    pub provider_reference: String,
    /// Amount to refund.
    pub money: Money,
    /// Reason (`duplicate`, `fraudulent`, `requested_by_customer`), if given.
    pub reason: Option<String>,
}

/// Find out what happened to an authorize whose outcome is unknown.
///
/// See [`Executor::retrieve`] for what the answer means.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetrieveRequest {
    /// Provider reference, when the authorize answered with one.
    pub provider_reference: Option<String>,
    /// The idempotency key the authorize was sent with (the attempt id).
    pub idempotency_key: String,
    /// Our payment id (searchable in provider metadata).
    pub payment_id: String,
    /// The authorize request whose outcome is unknown, exactly as it was sent (same parameters,
    /// same `idempotency_key`). Providers whose idempotency keys are retained long enough may
    /// replay it to learn the outcome: Stripe keeps keys for at least 24 h and answers a replay
    /// with the saved response of the first request, runs it exactly once if it never arrived, or
    /// answers 409 while it is still in flight (REFERENCE.md §1.2). `None` when the caller does
    /// not have it; a replay is then impossible and only weaker lookups remain. Its
    /// `idempotency_key` must equal [`RetrieveRequest::idempotency_key`]; a mismatch is refused
    /// (`unknown_outcome`, nothing sent). Ignored when `provider_reference` is known, and by the
    /// simulator.
    #[serde(default)]
    pub original: Option<AuthorizeRequest>,
}

/// What one provider call produced. Every field is safe to store and show (no secrets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderResult {
    /// The class (REFERENCE.md §5). For a retrieve see the contract on [`Executor::retrieve`]:
    /// `approved` when a charge exists, `provider_unavailable` when provably nothing was
    /// charged, a decline / `needs_customer_action` / `validation_error` when that was the
    /// definitive answer of the original request (nothing charged), `unknown_outcome` when still
    /// unknown.
    pub class: OutcomeClass,
    /// Provider object id (`pi_…`, `re_…`), when known.
    pub provider_reference: Option<String>,
    /// Provider's own status string (`requires_capture`, `succeeded`…), when known.
    pub provider_status: Option<String>,
    /// HTTP status, when a response arrived.
    pub http_status: Option<u16>,
    /// Provider error code (`card_declined`, `rate_limit`…).
    pub raw_code: Option<String>,
    /// Provider decline code (`insufficient_funds`…).
    pub decline_code: Option<String>,
    /// Provider's human message, or our description of a transport failure.
    pub message: Option<String>,
    /// True when money was captured (automatic capture or a capture call), false when only
    /// authorized. Meaningful only for `approved`.
    pub captured: bool,
    /// For `needs_customer_action`: where to send the customer (3DS URL), when known.
    pub next_action_url: Option<String>,
    /// Wall time of the call in milliseconds.
    pub latency_ms: u64,
}

impl ProviderResult {
    /// A result of `class` with every other field empty (`captured = false`, latency 0).
    pub fn new(class: OutcomeClass) -> ProviderResult {
        ProviderResult {
            class,
            provider_reference: None,
            provider_status: None,
            http_status: None,
            raw_code: None,
            decline_code: None,
            message: None,
            captured: false,
            next_action_url: None,
            latency_ms: 0,
        }
    }

    /// Sets the message (builder style).
    pub fn with_message(mut self, message: impl Into<String>) -> ProviderResult {
        self.message = Some(message.into());
        self
    }
}

/// Which operation a provider call performs. The same HTTP answer can mean different things per
/// operation (a `canceled` PaymentIntent is the success of a void but "not charged" for a
/// retrieve; a 500 on a retrieve says nothing about the charge), so parsers take it.
///
/// For [`Operation::Capture`], [`Operation::Void`] and [`Operation::Refund`],
/// [`OutcomeClass::Approved`] means "the operation succeeded".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// Create and confirm a payment (authorize, and capture when automatic).
    Authorize,
    /// Capture an authorization.
    Capture,
    /// Cancel an authorization.
    Void,
    /// Refund a captured payment.
    Refund,
    /// Look up what an earlier authorize did.
    Retrieve,
}

impl Operation {
    /// snake_case name (for logs and traces).
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Authorize => "authorize",
            Operation::Capture => "capture",
            Operation::Void => "void",
            Operation::Refund => "refund",
            Operation::Retrieve => "retrieve",
        }
    }

    /// Whether the operation can move money, so that a lost answer means a charge/capture/refund
    /// may exist (`unknown_outcome`, never a decline).
    pub fn moves_money(self) -> bool {
        match self {
            Operation::Authorize | Operation::Capture | Operation::Void | Operation::Refund => true,
            Operation::Retrieve => false,
        }
    }
}
