//! Pure routing core of Switchboard.
//!
//! Everything here is plain data in, plain data out: no IO, no clock, no random numbers. Time
//! (`now`, as UTC milliseconds) and random rolls (`f64` in `[0, 1)`) are arguments. The crate's
//! dependency list is checked by `tests/no_io.rs` (it must never gain tokio, reqwest, sqlx or tauri).
//!
//! Map:
//! - [`money`]: [`Currency`] (ISO 4217 with its minor-unit exponent), [`Country`] (ISO 3166-1
//!   alpha-2), [`Money`] (integer minor units + currency).
//! - [`context`]: the normalised [`PaymentContext`] a route is decided for, and its tokens.
//! - [`connector`]: [`Connector`], a configured provider account, and its capabilities.
//! - [`policy`]: [`Policy`] (rules AST, fallback matrix, path cap) and its static validation.
//! - [`decide`](mod@decide): [`decide()`] turns context + connectors + policy + roll into a [`RouteDecision`]
//!   with a [`RouteTrace`] that gives a reason for every connector.
//!   [`decide_explained()`] also renders each trace entry's human text.
//! - [`outcome`]: [`OutcomeClass`], the [`FallbackMatrix`] of DESIGN.md §5 and [`next_step`].
//! - [`state`]: payment and attempt state machines that guard every status change.
//! - [`circuit`]: the per-connector circuit breaker ([`Breaker`]), time passed in.

pub mod circuit;
pub mod connector;
pub mod context;
pub mod decide;
pub mod money;
pub mod outcome;
pub mod policy;
pub mod state;

pub use circuit::{
    Breaker, CircuitSettings, Forced, Phase, SharedState, Transition, TransitionReason,
};
pub use connector::{
    Capabilities, CircuitState, Connector, ConnectorId, ConnectorStatus, Mode, Provider,
};
pub use context::{
    CaptureMode, ContextError, PaymentContext, PaymentMethodType, PaymentToken, TokenScope,
};
pub use decide::{
    RouteDecision, RouteSource, RouteTrace, SelectReason, SkipReason, TraceEntry, Verdict, decide,
    decide_explained, usable_token,
};
pub use money::{Country, Currency, Money, MoneyError};
pub use outcome::{FallbackAction, FallbackMatrix, NextStep, OutcomeClass, StepInput, next_step};
pub use policy::{Condition, Policy, PolicyIssue, Rule, RuleAction, Test, validate_policy};
pub use state::{AttemptStatus, PaymentStatus, TransitionError};
