//! The console's read models and operator actions, over one merchant.

use crate::EngineError;
use crate::views::{AuditEntry, ConnectorView, PaymentDetail, PaymentSearch, PaymentSummary, SetWeight};
use sqlx::PgPool;
use uuid::Uuid;

/// The console's view of one merchant's data.
#[derive(Clone)]
pub struct Console {
    pool: PgPool,
    merchant_id: Uuid,
    actor: String,
}

impl Console {
    /// A console over `merchant_id`, acting as `actor` (recorded in audit rows).
    pub fn new(pool: PgPool, merchant_id: Uuid, actor: impl Into<String>) -> Console {
        Console { pool, merchant_id, actor: actor.into() }
    }

    /// Connectors with their last-24 h figures, primary first then by name.
    pub async fn connectors(&self) -> Result<Vec<ConnectorView>, EngineError> {
        let _ = (&self.pool, self.merchant_id, &self.actor);
        Err(EngineError::Internal("not implemented yet".into()))
    }

    /// Sets a connector's weight with an audited reason; takes effect for the very next payment.
    /// Errors: `invalid_weight`, `reason_required`, `not_found`.
    pub async fn set_weight(&self, req: SetWeight) -> Result<ConnectorView, EngineError> {
        let _ = req;
        Err(EngineError::Internal("not implemented yet".into()))
    }

    /// Searches payments (newest first).
    pub async fn search_payments(&self, search: PaymentSearch) -> Result<Vec<PaymentSummary>, EngineError> {
        let _ = search;
        Err(EngineError::Internal("not implemented yet".into()))
    }

    /// One payment with attempts, route trace and events. Errors: `not_found`.
    pub async fn payment_detail(&self, payment_id: &str) -> Result<PaymentDetail, EngineError> {
        let _ = payment_id;
        Err(EngineError::Internal("not implemented yet".into()))
    }

    /// Latest audit entries, newest first.
    pub async fn audit_log(&self, limit: u32) -> Result<Vec<AuditEntry>, EngineError> {
        let _ = limit;
        Err(EngineError::Internal("not implemented yet".into()))
    }
}
