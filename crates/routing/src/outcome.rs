//! Outcome classes of a provider call and the fallback matrix (DESIGN.md §5, REFERENCE.md §5).

use crate::connector::ConnectorId;
use serde::{Deserialize, Serialize};

/// The class of one provider call's result. Every provider adapter maps its raw codes here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum OutcomeClass {
    /// Authorized or captured.
    Approved,
    /// Issuer/PSP refuses for good (stolen, fraud, expired, incorrect number): never fall back.
    HardDecline,
    /// Issuer may approve later (insufficient funds, do_not_honor, generic): same issuer everywhere.
    SoftDecline,
    /// 3DS or another customer step is required.
    NeedsCustomerAction,
    /// Our request was wrong (400/422): fix the request, no fallback.
    ValidationError,
    /// Bad or revoked credentials (401/403): our side is broken, fall back and alert.
    AuthConfigError,
    /// 429: fall back.
    RateLimited,
    /// 5xx before any charge, connection refused, processing_error: fall back.
    ProviderUnavailable,
    /// Timeout after send or ambiguous 5xx: a charge may exist. Reconcile before anything else.
    UnknownOutcome,
}

impl OutcomeClass {
    /// All classes in display order.
    pub const ALL: [OutcomeClass; 9] = [
        OutcomeClass::Approved,
        OutcomeClass::HardDecline,
        OutcomeClass::SoftDecline,
        OutcomeClass::NeedsCustomerAction,
        OutcomeClass::ValidationError,
        OutcomeClass::AuthConfigError,
        OutcomeClass::RateLimited,
        OutcomeClass::ProviderUnavailable,
        OutcomeClass::UnknownOutcome,
    ];

    /// snake_case name as stored and serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeClass::Approved => "approved",
            OutcomeClass::HardDecline => "hard_decline",
            OutcomeClass::SoftDecline => "soft_decline",
            OutcomeClass::NeedsCustomerAction => "needs_customer_action",
            OutcomeClass::ValidationError => "validation_error",
            OutcomeClass::AuthConfigError => "auth_config_error",
            OutcomeClass::RateLimited => "rate_limited",
            OutcomeClass::ProviderUnavailable => "provider_unavailable",
            OutcomeClass::UnknownOutcome => "unknown_outcome",
        }
    }

    /// Inverse of [`Self::as_str`].
    pub fn parse(s: &str) -> Option<OutcomeClass> {
        OutcomeClass::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Whether the failure is on the provider side (counts toward circuit breaking).
    pub fn is_provider_failure(self) -> bool {
        match self {
            OutcomeClass::AuthConfigError
            | OutcomeClass::RateLimited
            | OutcomeClass::ProviderUnavailable
            | OutcomeClass::UnknownOutcome => true,
            OutcomeClass::Approved
            | OutcomeClass::HardDecline
            | OutcomeClass::SoftDecline
            | OutcomeClass::NeedsCustomerAction
            | OutcomeClass::ValidationError => false,
        }
    }
}

/// What to do after a configurable outcome class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum FallbackAction {
    /// End the payment with this outcome.
    Stop,
    /// Call the same connector again, at most `max` more times, then fall back.
    Retry {
        /// Extra calls allowed on the same connector.
        max: u8,
    },
    /// Go to the next eligible step of the path.
    FallBack,
}

/// Per-class actions of a policy. Classes not listed here are fixed by DESIGN.md §5:
/// approved stops with success; hard_decline, needs_customer_action and validation_error always
/// stop; unknown_outcome always reconciles first and never falls back while a charge may exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default, deny_unknown_fields)]
pub struct FallbackMatrix {
    /// Default: stop (the issuer is the same on every PSP).
    pub soft_decline: FallbackAction,
    /// Default: fall back (and alert).
    pub auth_config_error: FallbackAction,
    /// Default: fall back.
    pub rate_limited: FallbackAction,
    /// Default: fall back.
    pub provider_unavailable: FallbackAction,
}

impl Default for FallbackMatrix {
    fn default() -> Self {
        FallbackMatrix {
            soft_decline: FallbackAction::Stop,
            auth_config_error: FallbackAction::FallBack,
            rate_limited: FallbackAction::FallBack,
            provider_unavailable: FallbackAction::FallBack,
        }
    }
}

impl FallbackMatrix {
    /// The action for a class, including the fixed ones (`Stop` for approved, hard decline,
    /// needs action and validation; `None` for unknown_outcome, which reconciles instead).
    pub fn action_for(&self, class: OutcomeClass) -> Option<FallbackAction> {
        match class {
            OutcomeClass::Approved
            | OutcomeClass::HardDecline
            | OutcomeClass::NeedsCustomerAction
            | OutcomeClass::ValidationError => Some(FallbackAction::Stop),
            OutcomeClass::SoftDecline => Some(self.soft_decline),
            OutcomeClass::AuthConfigError => Some(self.auth_config_error),
            OutcomeClass::RateLimited => Some(self.rate_limited),
            OutcomeClass::ProviderUnavailable => Some(self.provider_unavailable),
            OutcomeClass::UnknownOutcome => None,
        }
    }
}

/// Where the payment stands after one provider call, as input to [`next_step`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepInput {
    /// Class of the call just made (after reconciliation, if one was made).
    pub class: OutcomeClass,
    /// Whether `class` is the result of a reconciliation (retrieve) rather than the call itself.
    pub reconciled: bool,
    /// Provider calls made so far for this payment, including this one.
    pub calls_made: u8,
    /// Path cap: maximum provider calls per payment.
    pub max_calls: u8,
    /// Calls already made on the current connector (1 after the first call).
    pub calls_on_current: u8,
    /// The next eligible connector of the route, if any.
    pub next_connector: Option<ConnectorId>,
}

/// The decision after one provider call. Serialised snake_case with a `type` tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum NextStep {
    /// Approved: the payment succeeds.
    Succeed,
    /// Stop with this outcome (decline, needs action, validation, or a configured stop).
    Stop,
    /// Retrieve from the provider before deciding (unknown outcome).
    Reconcile,
    /// Still unknown after reconciliation: the payment ends `unknown`, no fallback.
    StopUnknown,
    /// Call the same connector again.
    RetrySame,
    /// Call the next connector of the path.
    FallBack {
        /// The next connector.
        to: ConnectorId,
    },
    /// Fallback wanted but the path is used up (no eligible step left).
    PathExhausted,
    /// Fallback wanted but the path cap is reached.
    CapReached,
}

/// Decides what follows a provider call (DESIGN.md §5). Pure; see [`StepInput`].
pub fn next_step(matrix: &FallbackMatrix, input: StepInput) -> NextStep {
    let action = match matrix.action_for(input.class) {
        Some(a) => a,
        None => {
            return if input.reconciled {
                NextStep::StopUnknown
            } else {
                NextStep::Reconcile
            };
        }
    };
    if input.class == OutcomeClass::Approved {
        return NextStep::Succeed;
    }
    let fall_back = |input: StepInput| {
        if input.calls_made >= input.max_calls {
            NextStep::CapReached
        } else {
            match input.next_connector {
                Some(to) => NextStep::FallBack { to },
                None => NextStep::PathExhausted,
            }
        }
    };
    match action {
        FallbackAction::Stop => NextStep::Stop,
        FallbackAction::FallBack => fall_back(input),
        FallbackAction::Retry { max } => {
            if input.calls_made >= input.max_calls {
                NextStep::CapReached
            } else if input.calls_on_current <= max {
                NextStep::RetrySame
            } else {
                fall_back(input)
            }
        }
    }
}
