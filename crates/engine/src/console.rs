//! The console's read models and operator actions, over one merchant.

use crate::EngineError;
use crate::views::{
    AttemptView, AuditEntry, ConnectorView, EventView, PaymentDetail, PaymentSearch,
    PaymentSummary, SetWeight,
};
use routing::{
    CircuitState, ConnectorStatus, OutcomeClass, PaymentStatus, RouteSource, RouteTrace,
};
use sqlx::PgPool;
use store::read::{AttemptRow, PaymentRow};
use store::to_ms;
use time::OffsetDateTime;
use uuid::Uuid;

/// Largest accepted connector weight.
pub const MAX_WEIGHT: u32 = 1000;

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
        Console {
            pool,
            merchant_id,
            actor: actor.into(),
        }
    }

    /// The merchant this console shows.
    pub fn merchant_id(&self) -> Uuid {
        self.merchant_id
    }

    /// Connectors with their last-24 h figures, primary first then by creation order.
    pub async fn connectors(&self) -> Result<Vec<ConnectorView>, EngineError> {
        let since = OffsetDateTime::now_utc() - time::Duration::hours(24);
        let (records, stats) = tokio::try_join!(
            store::config::connectors(&self.pool, self.merchant_id),
            store::read::connector_stats(&self.pool, self.merchant_id, since)
        )?;
        let mut views: Vec<ConnectorView> = records
            .iter()
            .map(|r| {
                let c = &r.connector;
                let s = stats.iter().find(|s| s.connector_id == c.id.0);
                let attempts = s.map(|s| s.attempts).unwrap_or(0);
                let approved = s.map(|s| s.approved).unwrap_or(0);
                let denom = approved + s.map(|s| s.not_approved).unwrap_or(0);
                ConnectorView {
                    id: c.id.to_string(),
                    name: c.name.clone(),
                    provider: c.provider.as_str().to_owned(),
                    mode: store::config::mode_str(c.mode).to_owned(),
                    weight: c.weight,
                    is_primary: c.is_primary,
                    status: match c.status {
                        ConnectorStatus::Active => "active",
                        ConnectorStatus::Disabled => "disabled",
                    }
                    .to_owned(),
                    circuit: match c.circuit {
                        CircuitState::Closed => "closed",
                        CircuitState::Open => "open",
                        CircuitState::HalfOpen { .. } => "half_open",
                    }
                    .to_owned(),
                    attempts_24h: attempts,
                    approved_24h: approved,
                    approval_rate_24h: (denom > 0).then(|| approved as f64 / denom as f64),
                    p95_latency_ms: s.and_then(|s| s.p95_latency_ms).map(|v| v.round() as i64),
                }
            })
            .collect();
        views.sort_by_key(|v| !v.is_primary);
        Ok(views)
    }

    /// Sets a connector's weight with an audited reason; takes effect for the very next payment
    /// (the gateway reads connector weights from the database for every payment).
    /// Errors: `invalid_weight` (> [`MAX_WEIGHT`]), `reason_required` (blank or > 500 chars),
    /// `not_found`.
    pub async fn set_weight(&self, req: SetWeight) -> Result<ConnectorView, EngineError> {
        if req.weight > MAX_WEIGHT {
            return Err(EngineError::invalid(
                "invalid_weight",
                Some("weight".into()),
                format!("weight must be 0..={MAX_WEIGHT}"),
            ));
        }
        let reason = req.reason.trim();
        if reason.chars().count() < 3 || reason.chars().count() > 500 {
            return Err(EngineError::invalid(
                "reason_required",
                Some("reason".into()),
                "a reason of 3 to 500 characters is required to change a weight",
            ));
        }
        let id = Uuid::parse_str(&req.connector_id)
            .map_err(|_| EngineError::NotFound { what: "connector" })?;
        if !store::config::set_weight(
            &self.pool,
            self.merchant_id,
            id,
            req.weight,
            &self.actor,
            reason,
        )
        .await?
        {
            return Err(EngineError::NotFound { what: "connector" });
        }
        self.connectors()
            .await?
            .into_iter()
            .find(|c| c.id == req.connector_id)
            .ok_or(EngineError::NotFound { what: "connector" })
    }

    /// Searches payments (newest first). See [`PaymentSearch`].
    pub async fn search_payments(
        &self,
        search: PaymentSearch,
    ) -> Result<Vec<PaymentSummary>, EngineError> {
        let limit = i64::from(search.limit.unwrap_or(200).clamp(1, 1000));
        let rows = store::read::search_payments(
            &self.pool,
            self.merchant_id,
            &search.query,
            search.status.map(PaymentStatus::as_str),
            limit,
        )
        .await?;
        Ok(rows.iter().map(summary).collect())
    }

    /// One payment with attempts, route trace and events. Errors: `not_found`.
    pub async fn payment_detail(&self, payment_id: &str) -> Result<PaymentDetail, EngineError> {
        let id = Uuid::parse_str(payment_id.trim())
            .map_err(|_| EngineError::NotFound { what: "payment" })?;
        let (payment, attempts, events) = tokio::try_join!(
            store::read::payment(&self.pool, self.merchant_id, id),
            store::read::attempts(&self.pool, self.merchant_id, id),
            store::read::events(&self.pool, self.merchant_id, id),
        )?;
        let p = payment.ok_or(EngineError::NotFound { what: "payment" })?;
        let route: RouteTrace = serde_json::from_value(p.route.clone()).unwrap_or(RouteTrace {
            source: RouteSource::NoEligibleConnector,
            entries: Vec::new(),
        });
        Ok(PaymentDetail {
            summary: summary(&p),
            country: p.country.clone(),
            method: p.method.clone(),
            capture_mode: p.capture_mode.clone(),
            captured_minor: p.captured_minor,
            refunded_minor: p.refunded_minor,
            mode: p.mode.clone(),
            failure_code: p.failure_code.clone(),
            failure_message: p.failure_message.clone(),
            next_action_url: p.next_action_url.clone(),
            route,
            attempts: attempts.iter().map(attempt_view).collect(),
            events: events
                .into_iter()
                .map(|e| EventView {
                    id: e.id,
                    at_ms: to_ms(e.at),
                    cause: e.cause,
                    kind: e.kind,
                    from_status: e.from_status,
                    to_status: e.to_status,
                    attempt_id: e.attempt_id.map(|a| a.to_string()),
                    detail: e.detail,
                })
                .collect(),
            updated_at_ms: to_ms(p.updated_at),
        })
    }

    /// Latest audit entries, newest first (1..=1000).
    pub async fn audit_log(&self, limit: u32) -> Result<Vec<AuditEntry>, EngineError> {
        let rows = store::read::audit_log(
            &self.pool,
            self.merchant_id,
            i64::from(limit.clamp(1, 1000)),
        )
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| AuditEntry {
                id: r.id,
                at_ms: to_ms(r.at),
                actor: r.actor,
                entity: r.entity,
                entity_id: r.entity_id,
                action: r.action,
                reason: r.reason,
                before: r.before.map(|v| v.to_string()).unwrap_or_default(),
                after: r.after.map(|v| v.to_string()).unwrap_or_default(),
            })
            .collect())
    }
}

fn summary(p: &PaymentRow) -> PaymentSummary {
    PaymentSummary {
        id: p.id.to_string(),
        merchant_reference: p.merchant_reference.clone(),
        amount_minor: p.amount_minor,
        currency: p.currency.clone(),
        amount_display: routing::Currency::parse(&p.currency)
            .map(|c| c.format_minor(p.amount_minor))
            .unwrap_or_else(|_| p.amount_minor.to_string()),
        status: PaymentStatus::parse(&p.status).unwrap_or(PaymentStatus::Unknown),
        created_at_ms: to_ms(p.created_at),
        attempt_count: p.attempt_count,
        last_connector: p.last_connector.clone(),
    }
}

fn attempt_view(a: &AttemptRow) -> AttemptView {
    AttemptView {
        id: a.id.to_string(),
        seq: a.seq,
        connector_id: a.connector_id.to_string(),
        connector_name: a.connector_name.clone(),
        provider: a.provider.clone(),
        status: a.status.clone(),
        outcome: a.outcome.as_deref().and_then(OutcomeClass::parse),
        provider_reference: a.provider_reference.clone(),
        provider_status: a.provider_status.clone(),
        http_status: a.http_status,
        raw_code: a.raw_code.clone(),
        decline_code: a.decline_code.clone(),
        message: a.message.clone(),
        requested_at_ms: to_ms(a.requested_at.unwrap_or(a.created_at)),
        responded_at_ms: a.responded_at.map(to_ms),
        latency_ms: a.latency_ms.map(i64::from),
        next_step: a.next_step.clone(),
        next_step_detail: a.next_step_detail.clone(),
        reconciliation: a.reconciliation.clone(),
    }
}

/// The merchant a console should show: `id` when given, else the oldest merchant.
/// `Ok(None)` when there is no such merchant. Errors: database failures.
pub async fn find_merchant(
    pool: &PgPool,
    id: Option<Uuid>,
) -> Result<Option<(Uuid, String)>, EngineError> {
    Ok(match id {
        Some(id) => store::config::merchant(pool, id).await?,
        None => store::config::first_merchant(pool).await?,
    })
}
