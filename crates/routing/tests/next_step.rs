//! The fallback decision after a provider call (DESIGN.md §5), as a table.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use common::id;
use routing::{FallbackAction, FallbackMatrix, NextStep, OutcomeClass, StepInput, next_step};

fn input(class: OutcomeClass) -> StepInput {
    StepInput {
        class,
        reconciled: false,
        calls_made: 1,
        max_calls: 3,
        calls_on_current: 1,
        next_connector: Some(id(2)),
    }
}

#[test]
fn default_matrix_as_a_table() {
    use OutcomeClass::*;
    let m = FallbackMatrix::default();
    let to = NextStep::FallBack { to: id(2) };
    let last = |i: StepInput| StepInput {
        next_connector: None,
        ..i
    };
    let capped = |i: StepInput| StepInput { calls_made: 3, ..i };
    let reconciled = |i: StepInput| StepInput {
        reconciled: true,
        ..i
    };
    // (name, input, expected)
    let rows: Vec<(&str, StepInput, NextStep)> = vec![
        ("approved succeeds", input(Approved), NextStep::Succeed),
        (
            "approved by reconciliation succeeds",
            reconciled(input(Approved)),
            NextStep::Succeed,
        ),
        ("hard decline stops", input(HardDecline), NextStep::Stop),
        (
            "hard decline never falls back, even with steps left",
            StepInput {
                calls_made: 1,
                max_calls: 9,
                ..input(HardDecline)
            },
            NextStep::Stop,
        ),
        (
            "soft decline stops by default",
            input(SoftDecline),
            NextStep::Stop,
        ),
        (
            "needs customer action stops",
            input(NeedsCustomerAction),
            NextStep::Stop,
        ),
        (
            "validation error stops",
            input(ValidationError),
            NextStep::Stop,
        ),
        (
            "unknown -> reconcile",
            input(UnknownOutcome),
            NextStep::Reconcile,
        ),
        (
            "unknown with no next step -> still reconcile",
            last(input(UnknownOutcome)),
            NextStep::Reconcile,
        ),
        (
            "unknown at the cap -> still reconcile",
            capped(input(UnknownOutcome)),
            NextStep::Reconcile,
        ),
        (
            "reconciled unknown -> StopUnknown",
            reconciled(input(UnknownOutcome)),
            NextStep::StopUnknown,
        ),
        (
            "reconciled not charged = provider_unavailable -> fall back",
            reconciled(input(ProviderUnavailable)),
            to,
        ),
        (
            "provider_unavailable -> fall back",
            input(ProviderUnavailable),
            to,
        ),
        (
            "provider_unavailable, path used up",
            last(input(ProviderUnavailable)),
            NextStep::PathExhausted,
        ),
        (
            "provider_unavailable, cap reached",
            capped(input(ProviderUnavailable)),
            NextStep::CapReached,
        ),
        ("rate_limited -> fall back", input(RateLimited), to),
        (
            "rate_limited, path used up",
            last(input(RateLimited)),
            NextStep::PathExhausted,
        ),
        ("auth_config_error -> fall back", input(AuthConfigError), to),
        (
            "auth_config_error, cap reached",
            capped(input(AuthConfigError)),
            NextStep::CapReached,
        ),
    ];
    for (name, i, want) in rows {
        assert_eq!(next_step(&m, i), want, "{name}");
    }
}

#[test]
fn configured_actions_as_a_table() {
    use OutcomeClass::*;
    let retry1 = FallbackMatrix {
        soft_decline: FallbackAction::Retry { max: 1 },
        provider_unavailable: FallbackAction::Retry { max: 2 },
        rate_limited: FallbackAction::Stop,
        auth_config_error: FallbackAction::FallBack,
    };
    let soft_fallback = FallbackMatrix {
        soft_decline: FallbackAction::FallBack,
        ..FallbackMatrix::default()
    };
    let to = NextStep::FallBack { to: id(2) };
    let on = |class, calls_made, calls_on_current| StepInput {
        calls_made,
        calls_on_current,
        ..input(class)
    };
    // (name, matrix, input, expected)
    let rows: Vec<(&str, FallbackMatrix, StepInput, NextStep)> = vec![
        (
            "soft decline configured to fall back",
            soft_fallback,
            input(SoftDecline),
            to,
        ),
        (
            "soft decline fall back, path used up",
            soft_fallback,
            StepInput {
                next_connector: None,
                ..input(SoftDecline)
            },
            NextStep::PathExhausted,
        ),
        (
            "retry max 1: first call -> retry same",
            retry1,
            on(SoftDecline, 1, 1),
            NextStep::RetrySame,
        ),
        (
            "retry max 1: after the retry -> fall back",
            retry1,
            on(SoftDecline, 2, 2),
            to,
        ),
        (
            "retry max 2: second call on it -> retry again",
            retry1,
            on(ProviderUnavailable, 2, 2),
            NextStep::RetrySame,
        ),
        (
            "retry max 2: third call on it -> fall back",
            retry1,
            StepInput {
                max_calls: 5,
                ..on(ProviderUnavailable, 3, 3)
            },
            to,
        ),
        (
            "retry never passes the cap",
            retry1,
            on(ProviderUnavailable, 3, 1),
            NextStep::CapReached,
        ),
        (
            "retry used up, no next connector",
            retry1,
            StepInput {
                next_connector: None,
                ..on(SoftDecline, 2, 2)
            },
            NextStep::PathExhausted,
        ),
        (
            "rate_limited configured to stop",
            retry1,
            input(RateLimited),
            NextStep::Stop,
        ),
        (
            "hard decline ignores configuration",
            soft_fallback,
            input(HardDecline),
            NextStep::Stop,
        ),
        (
            "unknown ignores configuration",
            retry1,
            input(UnknownOutcome),
            NextStep::Reconcile,
        ),
    ];
    for (name, m, i, want) in rows {
        assert_eq!(next_step(&m, i), want, "{name}");
    }
}

#[test]
fn action_for_reports_fixed_classes() {
    let m = FallbackMatrix::default();
    for class in OutcomeClass::ALL {
        let a = m.action_for(class);
        match class {
            OutcomeClass::UnknownOutcome => assert_eq!(a, None),
            OutcomeClass::HardDecline
            | OutcomeClass::Approved
            | OutcomeClass::NeedsCustomerAction
            | OutcomeClass::ValidationError
            | OutcomeClass::SoftDecline => assert_eq!(a, Some(FallbackAction::Stop), "{class:?}"),
            OutcomeClass::AuthConfigError
            | OutcomeClass::RateLimited
            | OutcomeClass::ProviderUnavailable => {
                assert_eq!(a, Some(FallbackAction::FallBack), "{class:?}")
            }
        }
        assert_eq!(OutcomeClass::parse(class.as_str()), Some(class));
    }
}
