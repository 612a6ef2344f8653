//! Console operations of issue 5: circuit-breaker state and overrides, health events, and
//! merchant webhook deliveries with replay. Another `impl Console` block (see [`Console`]); the
//! IPC shapes are defined here with ts-rs derives (timestamps UTC milliseconds, `*_ms`).

use crate::EngineError;
use crate::console::Console;
use crate::merchant_webhooks::{self, RetryPolicy, Source};
use routing::{CircuitSettings, Forced};
use serde::{Deserialize, Serialize};
use store::to_ms;
use ts_rs::TS;
use uuid::Uuid;

/// A connector's circuit breaker as the console shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct CircuitView {
    /// Connector id (UUID).
    pub connector_id: String,
    /// `closed`, `open` or `half_open` (the state shared by every gateway).
    pub circuit: String,
    /// Operator override: `open`, `closed`, or `null` (automatic).
    pub forced: Option<String>,
    /// Bumped by every transition.
    #[ts(type = "number")]
    pub generation: i64,
    /// When the current state began (UTC ms).
    #[ts(type = "number")]
    pub since_ms: i64,
    /// Open above this share of provider-side failures, percent.
    pub failure_threshold_pct: u8,
    /// Sliding window, milliseconds.
    #[ts(type = "number")]
    pub window_ms: u64,
    /// Minimum calls in the window before the rate counts.
    pub min_samples: u32,
    /// Open -> half-open after this long, milliseconds.
    #[ts(type = "number")]
    pub cooldown_ms: u64,
    /// Half-open: one probe per this many milliseconds per gateway.
    #[ts(type = "number")]
    pub probe_interval_ms: u64,
}

/// Force a circuit open or closed, or release the override.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ForceCircuit {
    /// Connector id (UUID).
    pub connector_id: String,
    /// `open`, `closed` or `auto` (release).
    pub mode: String,
    /// Why (3..=500 characters; recorded in the audit log and the health event).
    pub reason: String,
}

/// Change a connector's breaker settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct SetCircuitSettings {
    /// Connector id (UUID).
    pub connector_id: String,
    /// New settings.
    pub failure_threshold_pct: u8,
    /// Sliding window, ms (>= 100).
    #[ts(type = "number")]
    pub window_ms: u64,
    /// >= 1.
    pub min_samples: u32,
    /// Milliseconds.
    #[ts(type = "number")]
    pub cooldown_ms: u64,
    /// Milliseconds.
    #[ts(type = "number")]
    pub probe_interval_ms: u64,
    /// Why (3..=500 characters).
    pub reason: String,
}

/// One circuit transition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct HealthEventView {
    /// Event id.
    #[ts(type = "number")]
    pub id: i64,
    /// Connector id.
    pub connector_id: String,
    /// UTC ms.
    #[ts(type = "number")]
    pub at_ms: i64,
    /// State before.
    pub from_state: String,
    /// State after.
    pub to_state: String,
    /// Override after the change, if any.
    pub forced: Option<String>,
    /// `breaker` (automatic) or `operator`.
    pub cause: String,
    /// Gateway or operator.
    pub actor: String,
    /// Why.
    pub detail: String,
}

/// One delivery attempt of a merchant webhook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct WebhookDeliveryView {
    /// Delivery id.
    #[ts(type = "number")]
    pub id: i64,
    /// Attempt number of its outbox row.
    pub attempt: i32,
    /// UTC ms.
    #[ts(type = "number")]
    pub at_ms: i64,
    /// Endpoint URL.
    pub url: String,
    /// HTTP status, `null` when no answer arrived.
    pub status_code: Option<i32>,
    /// Milliseconds.
    pub latency_ms: i32,
    /// Error (`timeout`, `HTTP 500`…), `null` on success.
    pub error: Option<String>,
    /// `worker` or `replay`.
    pub source: String,
    /// Operator of a replay.
    pub actor: Option<String>,
}

/// One merchant webhook (outbox row) of a payment, with its delivery attempts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct MerchantWebhookView {
    /// Outbox id (pass to `replay_merchant_webhook`).
    #[ts(type = "number")]
    pub id: i64,
    /// `payment.<status>` or `payment.refund_finished`.
    pub event_type: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    /// Attempts so far.
    pub attempts: i32,
    /// Next try (pending rows), UTC ms.
    #[ts(type = "number")]
    pub next_attempt_at_ms: i64,
    /// UTC ms.
    #[ts(type = "number")]
    pub created_at_ms: i64,
    /// UTC ms of the 2xx, if delivered.
    #[ts(type = "number | null")]
    pub delivered_at_ms: Option<i64>,
    /// The JSON body sent, pretty-printed.
    pub payload: String,
    /// Delivery attempts, oldest first.
    pub deliveries: Vec<WebhookDeliveryView>,
}

fn circuit_view(r: &store::health::CircuitRow) -> CircuitView {
    CircuitView {
        connector_id: r.connector_id.to_string(),
        circuit: r.state.phase.as_str().to_owned(),
        forced: r
            .state
            .forced
            .map(|f| store::health::forced_str(f).to_owned()),
        generation: i64::try_from(r.state.generation).unwrap_or(i64::MAX),
        since_ms: i64::try_from(r.state.since_ms).unwrap_or(i64::MAX),
        failure_threshold_pct: r.settings.failure_threshold_pct,
        window_ms: r.settings.window_ms,
        min_samples: r.settings.min_samples,
        cooldown_ms: r.settings.cooldown_ms,
        probe_interval_ms: r.settings.probe_interval_ms,
    }
}

fn check_reason(reason: &str) -> Result<&str, EngineError> {
    let r = reason.trim();
    if r.chars().count() < 3 || r.chars().count() > 500 {
        return Err(EngineError::invalid(
            "reason_required",
            Some("reason".into()),
            "a reason of 3 to 500 characters is required",
        ));
    }
    Ok(r)
}

fn connector_uuid(id: &str) -> Result<Uuid, EngineError> {
    Uuid::parse_str(id).map_err(|_| EngineError::NotFound { what: "connector" })
}

impl Console {
    /// The shared circuit-breaker state and settings of every connector of the merchant.
    pub async fn circuits(&self) -> Result<Vec<CircuitView>, EngineError> {
        let rows = store::health::load_circuits(self.pool(), self.merchant_id()).await?;
        Ok(rows.iter().map(circuit_view).collect())
    }

    /// Forces a connector's circuit open or closed (`mode` = `open`/`closed`) or releases the
    /// override (`auto`). Audited with the console's actor and `reason`; every gateway adopts it
    /// within a second (NOTIFY). Errors: `invalid_circuit_mode`, `reason_required`, `not_found`.
    pub async fn force_circuit(&self, req: ForceCircuit) -> Result<CircuitView, EngineError> {
        let forced = match req.mode.as_str() {
            "open" => Some(Forced::Open),
            "closed" => Some(Forced::Closed),
            "auto" => None,
            _ => {
                return Err(EngineError::invalid(
                    "invalid_circuit_mode",
                    Some("mode".into()),
                    "mode must be open, closed or auto",
                ));
            }
        };
        let reason = check_reason(&req.reason)?;
        let id = connector_uuid(&req.connector_id)?;
        let row = store::health::force_circuit(
            self.pool(),
            self.merchant_id(),
            id,
            forced,
            self.actor(),
            reason,
        )
        .await?
        .ok_or(EngineError::NotFound { what: "connector" })?;
        Ok(circuit_view(&row))
    }

    /// Changes a connector's breaker settings (audited). Errors: `invalid_circuit_settings`
    /// (field named), `reason_required`, `not_found`.
    pub async fn set_circuit_settings(
        &self,
        req: SetCircuitSettings,
    ) -> Result<CircuitView, EngineError> {
        let s = CircuitSettings {
            failure_threshold_pct: req.failure_threshold_pct,
            window_ms: req.window_ms,
            min_samples: req.min_samples,
            cooldown_ms: req.cooldown_ms,
            probe_interval_ms: req.probe_interval_ms,
        };
        if let Err(field) = s.validate() {
            return Err(EngineError::invalid(
                "invalid_circuit_settings",
                Some(field.into()),
                format!("{field} is out of range"),
            ));
        }
        let too_big = [s.window_ms, s.cooldown_ms, s.probe_interval_ms]
            .iter()
            .any(|v| *v > i32::MAX as u64);
        if too_big {
            return Err(EngineError::invalid(
                "invalid_circuit_settings",
                None,
                "durations must be below 2^31 milliseconds",
            ));
        }
        let reason = check_reason(&req.reason)?;
        let id = connector_uuid(&req.connector_id)?;
        let pool = self.pool();
        if !store::health::set_circuit_settings(
            pool,
            self.merchant_id(),
            id,
            &s,
            self.actor(),
            reason,
        )
        .await?
        {
            return Err(EngineError::NotFound { what: "connector" });
        }
        let row = store::health::load_circuit(pool, self.merchant_id(), id)
            .await?
            .ok_or(EngineError::NotFound { what: "connector" })?;
        Ok(circuit_view(&row))
    }

    /// The latest `limit` (1..=500) circuit transitions, newest first, optionally of one
    /// connector.
    pub async fn health_events(
        &self,
        connector_id: Option<&str>,
        limit: u32,
    ) -> Result<Vec<HealthEventView>, EngineError> {
        let id = connector_id.map(connector_uuid).transpose()?;
        let rows = store::health::health_events(
            self.pool(),
            self.merchant_id(),
            id,
            i64::from(limit.clamp(1, 500)),
        )
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| HealthEventView {
                id: r.id,
                connector_id: r.connector_id.to_string(),
                at_ms: to_ms(r.at),
                from_state: r.from_state,
                to_state: r.to_state,
                forced: r.forced,
                cause: r.cause,
                actor: r.actor,
                detail: r.detail,
            })
            .collect())
    }

    /// The merchant webhooks of one payment with every delivery attempt, oldest first.
    /// Errors: `not_found` for a malformed id.
    pub async fn merchant_webhooks(
        &self,
        payment_id: &str,
    ) -> Result<Vec<MerchantWebhookView>, EngineError> {
        let pid =
            Uuid::parse_str(payment_id).map_err(|_| EngineError::NotFound { what: "payment" })?;
        let (rows, deliveries) = tokio::try_join!(
            store::outbox::outbox_for_payment(self.pool(), self.merchant_id(), pid),
            store::outbox::deliveries_for_payment(self.pool(), self.merchant_id(), pid)
        )?;
        Ok(rows
            .into_iter()
            .map(|o| MerchantWebhookView {
                id: o.id,
                event_type: o.event_type,
                status: o.status,
                attempts: o.attempts,
                next_attempt_at_ms: to_ms(o.next_attempt_at),
                created_at_ms: to_ms(o.created_at),
                delivered_at_ms: o.delivered_at.map(to_ms),
                payload: serde_json::to_string_pretty(&o.payload).unwrap_or_default(),
                deliveries: deliveries
                    .iter()
                    .filter(|d| d.outbox_id == o.id)
                    .map(|d| WebhookDeliveryView {
                        id: d.id,
                        attempt: d.attempt,
                        at_ms: to_ms(d.at),
                        url: d.url.clone(),
                        status_code: d.status_code,
                        latency_ms: d.latency_ms,
                        error: d.error.clone(),
                        source: d.source.clone(),
                        actor: d.actor.clone(),
                    })
                    .collect(),
            })
            .collect())
    }

    /// Sends one merchant webhook again now (same body, fresh signature), logs the attempt
    /// (source `replay`, the console's actor) and returns it. A successful replay marks the row
    /// delivered; a failed one leaves its status and retry schedule unchanged.
    /// The endpoint secret is decrypted with `keys` (the console's master keyset); when that
    /// fails the attempt is logged as failed with the reason and nothing is sent.
    /// Errors: `not_found` (no such webhook, or the merchant has no endpoint), `forbidden`
    /// (roles other than admin may not read the endpoint).
    pub async fn replay_merchant_webhook(
        &self,
        keys: &vault::Keyset,
        outbox_id: i64,
    ) -> Result<WebhookDeliveryView, EngineError> {
        let due = store::outbox::for_replay(self.pool(), keys, self.merchant_id(), outbox_id)
            .await?
            .ok_or(EngineError::NotFound { what: "webhook" })?;
        let client = reqwest::Client::new();
        let at_ms = to_ms(time::OffsetDateTime::now_utc());
        let r = merchant_webhooks::deliver(
            self.pool(),
            &client,
            &RetryPolicy::default(),
            &due,
            Source::Replay,
            Some(self.actor()),
        )
        .await?;
        Ok(WebhookDeliveryView {
            id: 0,
            attempt: due.attempt,
            at_ms,
            url: due.url.clone(),
            status_code: r.status_code.map(i32::from),
            latency_ms: r.latency_ms,
            error: r.error,
            source: Source::Replay.as_str().to_owned(),
            actor: Some(self.actor().to_owned()),
        })
    }
}
