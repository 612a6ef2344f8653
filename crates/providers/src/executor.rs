//! The one executor that does provider IO.
// (stub: the providers helper fills this in)
use crate::{AuthorizeRequest, CaptureRequest, ConnectorAccount, ProviderResult, RefundRequest, RetrieveRequest, VoidRequest};
use std::time::Duration;

/// Timeouts of the executor.
#[derive(Debug, Clone, Copy)]
pub struct ExecutorConfig {
    /// TCP connect timeout (failure = nothing sent = `provider_unavailable`).
    pub connect_timeout: Duration,
    /// Total time to wait for the answer after connecting (failure after send = `unknown_outcome`).
    pub read_timeout: Duration,
}

/// Owns the HTTP client; dispatches each call to the connector's provider module.
#[derive(Clone)]
pub struct Executor {
    _cfg: ExecutorConfig,
}

impl Executor {
    /// Builds the executor.
    pub fn new(cfg: ExecutorConfig) -> Executor {
        Executor { _cfg: cfg }
    }
    /// Authorize (and capture if automatic).
    pub async fn authorize(&self, account: &ConnectorAccount, req: &AuthorizeRequest) -> ProviderResult {
        let _ = (account, req);
        unimplemented_result()
    }
    /// Capture.
    pub async fn capture(&self, account: &ConnectorAccount, req: &CaptureRequest) -> ProviderResult {
        let _ = (account, req);
        unimplemented_result()
    }
    /// Void.
    pub async fn void(&self, account: &ConnectorAccount, req: &VoidRequest) -> ProviderResult {
        let _ = (account, req);
        unimplemented_result()
    }
    /// Refund.
    pub async fn refund(&self, account: &ConnectorAccount, req: &RefundRequest) -> ProviderResult {
        let _ = (account, req);
        unimplemented_result()
    }
    /// Retrieve (reconcile an unknown outcome).
    pub async fn retrieve(&self, account: &ConnectorAccount, req: &RetrieveRequest) -> ProviderResult {
        let _ = (account, req);
        unimplemented_result()
    }
}

fn unimplemented_result() -> ProviderResult {
    ProviderResult {
        class: routing::OutcomeClass::ProviderUnavailable,
        provider_reference: None,
        provider_status: None,
        http_status: None,
        raw_code: None,
        decline_code: None,
        message: Some("not implemented".into()),
        captured: false,
        next_action_url: None,
        latency_ms: 0,
    }
}
