//! Shared set-up of the provider adapter tests against the real psp-emulator over HTTP
//! (127.0.0.1:0): the emulator, a test-mode connector account, a short-timeout executor, money
//! and retrieve requests.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs
)]

use providers::{AuthorizeRequest, ConnectorAccount, Executor, ExecutorConfig, RetrieveRequest};
use psp_emulator::Emulator;
use psp_emulator::faults::{ErrorPhase, FaultSpec, HangMode};
use routing::{ConnectorId, Currency, Mode, Money, Provider};
use secrecy::SecretString;
use std::time::Duration;

/// A fresh emulator on 127.0.0.1:0.
pub async fn emulator() -> Emulator {
    psp_emulator::spawn("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

/// A test-mode account of `provider` at `base_url` with the emulator credential `key`
/// (INTERFACES.md §C); the connector id is nil.
pub fn account(provider: Provider, base_url: String, key: &str) -> ConnectorAccount {
    ConnectorAccount {
        connector_id: ConnectorId(uuid::Uuid::nil()),
        provider,
        mode: Mode::Test,
        base_url,
        api_key: SecretString::from(key.to_owned()),
    }
}

/// Answers slower than 400 ms are timeouts after send.
pub fn executor() -> Executor {
    Executor::new(ExecutorConfig {
        connect_timeout: Duration::from_millis(500),
        read_timeout: Duration::from_millis(400),
    })
    .unwrap()
}

/// `minor` minor units of the ISO 4217 `currency`.
pub fn money(minor: i64, currency: &str) -> Money {
    Money::new(minor, Currency::parse(currency).unwrap()).unwrap()
}

/// A retrieve of `original` by its idempotency key, carrying the original authorize when
/// `with_original`.
pub fn retrieve(original: &AuthorizeRequest, with_original: bool) -> RetrieveRequest {
    RetrieveRequest {
        provider_reference: None,
        idempotency_key: original.idempotency_key.clone(),
        payment_id: original.payment_id.clone(),
        original: with_original.then(|| original.clone()),
    }
}

/// Every POST of account `key` answers HTTP `status` before it is processed (nothing charged).
pub fn fault_5xx(emu: &Emulator, key: &str, status: u16) {
    emu.faults()
        .set(
            FaultSpec::for_key(key)
                .error_rate(1.0)
                .error_status(status)
                .error_phase(ErrorPhase::Before)
                .methods(&["POST"]),
        )
        .unwrap();
}

/// The next request of account `key` is processed, then hangs 30 s before answering (a timeout
/// after send with the charge made).
pub fn hang_after_once(emu: &Emulator, key: &str) {
    emu.faults()
        .set(
            FaultSpec::for_key(key)
                .hang(HangMode::After)
                .hang_for(Duration::from_secs(30))
                .hang_count(1),
        )
        .unwrap();
}
