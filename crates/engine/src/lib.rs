//! Switchboard's application layer, used by both front doors (gateway and console).
//!
//! - [`payments`]: authorize/capture/void/refund with idempotency and the durable attempt
//!   protocol of DESIGN.md §6 (T1: idempotency + payment + route + attempt #1 `pending`; provider
//!   call with no connection held; T2: outcome + next pending attempt; final status + stored
//!   response in the last transaction).
//! - [`reconciler`]: the background reconciler of `unknown` payments, and the one guarded
//!   path by which a retrieve or provider webhook changes a payment (incl. voiding extra charges).
//! - [`health`]: this process's circuit breakers and the tasks that share their state
//!   (compare-and-set + LISTEN/NOTIFY) and keep the config cache fresh.
//! - [`merchant_webhooks`]: signed delivery of payment changes to merchants (outbox worker).
//! - [`console_ops`]: console operations on circuits and merchant webhooks (replay).
//! - [`webhooks`]: provider webhook intake (verify, dedup, store, apply through the guarded
//!   state machine, void extra charges).
//! - [`console`]: the read models and operator actions the desktop console calls.
//! - [`simulate`]: replay of stored payment contexts under a draft policy (console).
//! - [`views`]: the plain data shapes the console receives over IPC (TypeScript is generated
//!   from them by `src-tauri`).
//! - [`secrets`]: write-only connector credentials for the console, master key setup (create,
//!   import, check) and online, resumable master key rotation (vault, issue 6).
//! - [`access`]: connecting as the console user's own database role; memberships (RLS).
//! - [`error`]: [`EngineError`], with a stable machine-readable code per variant.

pub mod access;
pub mod config;
pub mod console;
pub mod console_ops;
pub mod error;
pub mod health;
pub mod merchant_webhooks;
pub mod payments;
pub mod reconciler;
pub mod secrets;
pub mod simulate;
pub mod views;
pub mod webhooks;

pub use error::EngineError;
