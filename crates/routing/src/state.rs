//! Payment and attempt state machines. Every status change in the store is guarded by these:
//! `UPDATE … WHERE status = ANY(allowed_from(to))`, so a late failure can never turn a captured
//! payment into a failed one.

use crate::outcome::OutcomeClass;
use serde::{Deserialize, Serialize};

/// Status of a payment (DESIGN.md §3). Serialised snake_case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// Created; provider calls in progress.
    Processing,
    /// The customer must act (3DS); `next_action` says how.
    RequiresAction,
    /// Approved with manual capture: funds held, not captured.
    Authorized,
    /// Approved and captured (refunds are tracked as totals, the status stays).
    Captured,
    /// Ended without a charge.
    Failed,
    /// Authorization voided.
    Canceled,
    /// A provider may have charged; the reconciler owns it. Never silently failed.
    Unknown,
}

/// A refused transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("payment status cannot change from {from:?} to {to:?}")]
pub struct TransitionError {
    /// Current status.
    pub from: PaymentStatus,
    /// Requested status.
    pub to: PaymentStatus,
}

impl PaymentStatus {
    /// Every status.
    pub const ALL: [PaymentStatus; 7] = [
        PaymentStatus::Processing,
        PaymentStatus::RequiresAction,
        PaymentStatus::Authorized,
        PaymentStatus::Captured,
        PaymentStatus::Failed,
        PaymentStatus::Canceled,
        PaymentStatus::Unknown,
    ];

    /// snake_case name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Processing => "processing",
            PaymentStatus::RequiresAction => "requires_action",
            PaymentStatus::Authorized => "authorized",
            PaymentStatus::Captured => "captured",
            PaymentStatus::Failed => "failed",
            PaymentStatus::Canceled => "canceled",
            PaymentStatus::Unknown => "unknown",
        }
    }

    /// Inverse of [`Self::as_str`].
    pub fn parse(s: &str) -> Option<PaymentStatus> {
        PaymentStatus::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// The statuses from which `to` may be entered. `Processing` is initial only.
    pub fn allowed_from(to: PaymentStatus) -> &'static [PaymentStatus] {
        use PaymentStatus::*;
        match to {
            Processing => &[],
            RequiresAction => &[Processing],
            Authorized => &[Processing, RequiresAction, Unknown],
            Captured => &[Processing, RequiresAction, Authorized, Unknown],
            Failed => &[Processing, RequiresAction, Unknown],
            Canceled => &[Authorized, RequiresAction, Unknown],
            Unknown => &[Processing],
        }
    }

    /// Checks one transition. Errors: [`TransitionError`] when `to` may not follow `self`.
    pub fn transition(self, to: PaymentStatus) -> Result<PaymentStatus, TransitionError> {
        if PaymentStatus::allowed_from(to).contains(&self) {
            Ok(to)
        } else {
            Err(TransitionError { from: self, to })
        }
    }

    /// Whether no further change is expected without an explicit action (capture/void/refund).
    pub fn is_final(self) -> bool {
        match self {
            PaymentStatus::Captured | PaymentStatus::Failed | PaymentStatus::Canceled => true,
            PaymentStatus::Processing
            | PaymentStatus::RequiresAction
            | PaymentStatus::Authorized
            | PaymentStatus::Unknown => false,
        }
    }
}

/// Status of one attempt (one provider call).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum AttemptStatus {
    /// Persisted before the provider call; no answer yet.
    Pending,
    /// Approved.
    Succeeded,
    /// Declined or errored without a charge.
    Failed,
    /// Customer action required.
    RequiresAction,
    /// Outcome unknown (timeout after send, still unknown after retrieve).
    Unknown,
}

impl AttemptStatus {
    /// snake_case name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptStatus::Pending => "pending",
            AttemptStatus::Succeeded => "succeeded",
            AttemptStatus::Failed => "failed",
            AttemptStatus::RequiresAction => "requires_action",
            AttemptStatus::Unknown => "unknown",
        }
    }

    /// Inverse of [`Self::as_str`].
    pub fn parse(s: &str) -> Option<AttemptStatus> {
        [
            AttemptStatus::Pending,
            AttemptStatus::Succeeded,
            AttemptStatus::Failed,
            AttemptStatus::RequiresAction,
            AttemptStatus::Unknown,
        ]
        .into_iter()
        .find(|a| a.as_str() == s)
    }

    /// The attempt status an outcome class leads to.
    pub fn from_class(class: OutcomeClass) -> AttemptStatus {
        match class {
            OutcomeClass::Approved => AttemptStatus::Succeeded,
            OutcomeClass::NeedsCustomerAction => AttemptStatus::RequiresAction,
            OutcomeClass::UnknownOutcome => AttemptStatus::Unknown,
            OutcomeClass::HardDecline
            | OutcomeClass::SoftDecline
            | OutcomeClass::ValidationError
            | OutcomeClass::AuthConfigError
            | OutcomeClass::RateLimited
            | OutcomeClass::ProviderUnavailable => AttemptStatus::Failed,
        }
    }

    /// The statuses from which `to` may be entered (pending -> anything; unknown -> resolved;
    /// requires_action -> resolved, when a webhook or retrieve reports the customer step's result,
    /// e.g. a Mollie payment leaving `open`).
    pub fn allowed_from(to: AttemptStatus) -> &'static [AttemptStatus] {
        use AttemptStatus::*;
        match to {
            Pending => &[],
            Succeeded | Failed => &[Pending, Unknown, RequiresAction],
            RequiresAction | Unknown => &[Pending],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payment_transitions_as_a_table() {
        use PaymentStatus::*;
        // (from, to, allowed)
        let rows = [
            (Processing, Captured, true),
            (Processing, Authorized, true),
            (Processing, Failed, true),
            (Processing, Unknown, true),
            (Unknown, Captured, true),
            (Unknown, Failed, true),
            (Authorized, Captured, true),
            (Authorized, Canceled, true),
            (Captured, Failed, false),
            (Captured, Canceled, false),
            (Failed, Captured, false),
            (Canceled, Captured, false),
            (Captured, Processing, false),
        ];
        for (from, to, ok) in rows {
            assert_eq!(from.transition(to).is_ok(), ok, "{from:?} -> {to:?}");
        }
    }
}
