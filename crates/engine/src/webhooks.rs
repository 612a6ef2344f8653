//! Provider webhook intake (`POST /webhooks/{connector_id}` on the gateway).
//!
//! [`Webhooks::receive`], for one delivery:
//! 1. The connector named by the URL (unknown id or not a UUID -> `not_found`, 404). Its webhook
//!    secret (`connector_credentials.webhook_secret`, never returned) is loaded.
//! 2. `providers::webhooks::verify_and_parse` checks the signature over the raw body (constant
//!    time; Stripe t/v1 with 300 s tolerance, Square URL+body, Braintree bt_signature, Mollie
//!    `X-Mollie-Signature`, Mollie classic unsigned). A rejection answers its 400/401 with
//!    `{"error":{code,message}}` AND is recorded as a `rejected` row.
//! 3. Verified: a delivery whose provider event id was already recorded for this connector is a
//!    duplicate: 200 `{"received":true,"duplicate":true}`, no second effect (the unique index
//!    `(merchant, connector, provider_event_id)` decides under concurrency).
//! 4. Mollie classic (`needs_fetch`): the payment is fetched with `Executor::retrieve` (no
//!    database connection held) and that answer is the effect.
//! 5. One transaction: the delivery row + a `webhook_received` payment event + the effect,
//!    applied only through [`crate::reconciler`]'s guarded `settle` (a late failure never turns
//!    captured into failed: it is kept and flagged for review). Unknown event types and events
//!    that match no payment are stored, 200.
//! 6. After the commit, an extra charge (a charge on this connector after the payment succeeded
//!    on another) is voided or refunded (`reconciler::reverse`).

use crate::EngineError;
use crate::payments::Payments;
use crate::reconciler::{Observation, Target};
use providers::RetrieveRequest;
use providers::webhooks::{EventEffect, InboundWebhook, ProviderEvent};
use routing::OutcomeClass;
use secrecy::SecretString;
use store::payments::NewEvent;
use store::webhooks::{AttemptResolution, NewWebhook};
use uuid::Uuid;

/// How long intake waits for a `processing` payment's in-flight request to finish before
/// applying an event about it (longer than a provider read timeout is not needed: a failure
/// event that still finds it `processing` is stored without effect).
pub const PROCESSING_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// One delivery as the gateway received it.
#[derive(Debug, Clone, Copy)]
pub struct WebhookDelivery<'a> {
    /// The `{connector_id}` path segment, unparsed.
    pub connector_id: &'a str,
    /// Request headers, names lower-cased.
    pub headers: &'a [(String, String)],
    /// Raw body bytes, exactly as received.
    pub body: &'a [u8],
    /// The full URL the provider was told to call (Square signs it): the gateway's public base
    /// URL + `/webhooks/{connector_id}`.
    pub notification_url: &'a str,
}

/// The HTTP answer to a delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookAnswer {
    /// HTTP status (200, or the rejection's 400/401, or 503 when a fetch failed so the provider
    /// retries).
    pub status: u16,
    /// JSON body: `{"received":true,"result":…}` or `{"error":{code,message}}`.
    pub body: serde_json::Value,
}

/// Webhook intake over the payments service (its pool, executor and clock).
#[derive(Clone)]
pub struct Webhooks {
    payments: Payments,
}

/// What the event says, after a fetch when needed.
struct Learned {
    observation: Observation,
    effect: String,
    resolution: AttemptResolution,
    pending_or_unknown: Option<&'static str>,
}

impl Webhooks {
    /// Intake over `payments`.
    pub fn new(payments: Payments) -> Webhooks {
        Webhooks { payments }
    }

    /// Handles one delivery (see the module docs). Errors: `not_found` (unknown connector),
    /// database failures. Rejections are answers, not errors.
    pub async fn receive(&self, d: WebhookDelivery<'_>) -> Result<WebhookAnswer, EngineError> {
        let pool = self.payments.pool();
        let connector_id = Uuid::parse_str(d.connector_id)
            .map_err(|_| EngineError::NotFound { what: "connector" })?;
        let (merchant_id, rec) = store::webhooks::connector_by_id(pool, connector_id)
            .await?
            .ok_or(EngineError::NotFound { what: "connector" })?;
        let provider = rec.connector.provider;
        let secret: Option<SecretString> = store::credentials::webhook_secret(
            pool,
            &self.payments.keys(),
            merchant_id,
            connector_id,
        )
        .await?;
        let now = self.payments.clock().now();
        let inbound = InboundWebhook {
            headers: d.headers,
            body: d.body,
            notification_url: d.notification_url,
            now_unix_s: now.unix_timestamp(),
        };
        let body_text = String::from_utf8_lossy(d.body);
        let mut row = NewWebhook {
            merchant_id,
            id: Uuid::now_v7(),
            connector_id,
            provider: provider.as_str(),
            received_at: now,
            rejection_code: None,
            provider_event_id: None,
            event_type: None,
            provider_reference: None,
            effect: None,
            payment_id: None,
            attempt_id: None,
            result: "rejected",
            result_detail: "",
            body: &body_text,
        };
        let event = match providers::webhooks::verify_and_parse(provider, secret.as_ref(), &inbound)
        {
            Ok(e) => e,
            Err(rej) => {
                row.rejection_code = Some(rej.code);
                row.result_detail = &rej.message;
                let mut conn = pool.acquire().await?;
                store::webhooks::insert_webhook(&mut conn, &row).await?;
                tracing::warn!(connector = %connector_id, code = rej.code, "provider webhook rejected");
                return Ok(WebhookAnswer {
                    status: rej.http_status,
                    body: serde_json::json!({"error": {"code": rej.code, "message": rej.message}}),
                });
            }
        };
        if store::webhooks::seen_event(pool, merchant_id, connector_id, &event.event_id).await? {
            return Ok(duplicate());
        }
        let payment_hint = event
            .payment_id
            .as_deref()
            .and_then(|p| Uuid::parse_str(p).ok());
        // A webhook can overtake the synchronous answer it is about (Mollie settles within
        // milliseconds on the emulator): while the payment is still `processing` the gateway
        // that sent the call owns it, so wait (bounded) for its last step to commit.
        let deadline = tokio::time::Instant::now() + PROCESSING_WAIT;
        let mut pause = std::time::Duration::from_millis(20);
        let matched = loop {
            let m = store::webhooks::match_attempt(
                pool,
                merchant_id,
                connector_id,
                event.provider_reference.as_deref(),
                payment_hint,
            )
            .await?;
            match &m {
                Some(a)
                    if a.payment_status == "processing"
                        && tokio::time::Instant::now() < deadline =>
                {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(std::time::Duration::from_millis(400));
                }
                Some(_) | None => break m,
            }
        };
        let learned = match self.learn(&event, merchant_id, &rec).await? {
            Some(l) => l,
            None => {
                return Ok(WebhookAnswer {
                    status: 503,
                    body: serde_json::json!({"error": {"code": "fetch_failed",
                        "message": "could not fetch the payment from the provider; retry later"}}),
                });
            }
        };
        row.provider_event_id = Some(&event.event_id);
        row.event_type = Some(&event.event_type);
        row.provider_reference = event.provider_reference.as_deref();
        row.effect = Some(&learned.effect);
        row.payment_id = matched.as_ref().map(|m| m.payment_id);
        row.attempt_id = matched.as_ref().map(|m| m.attempt_id);

        let mut tx = pool.begin().await?;
        let mut events: Vec<NewEvent> = Vec::new();
        let (result, detail, reversal) = match &matched {
            None => (
                "unmatched",
                "no attempt on this connector has this reference".to_owned(),
                None,
            ),
            Some(m) => {
                events.push(NewEvent {
                    payment_id: m.payment_id,
                    at: now,
                    cause: "webhook",
                    kind: "webhook_received",
                    from_status: None,
                    to_status: None,
                    attempt_id: Some(m.attempt_id),
                    detail: format!(
                        "{}: {} {} ({})",
                        rec.connector.name,
                        event.event_type,
                        event.provider_reference.as_deref().unwrap_or(""),
                        learned.effect
                    ),
                });
                match learned.pending_or_unknown {
                    Some(r) => (r, format!("{} stored; no effect", event.event_type), None),
                    None => {
                        let target = Target {
                            merchant_id,
                            payment_id: m.payment_id,
                            attempt_id: m.attempt_id,
                            connector_id,
                            connector_name: rec.connector.name.clone(),
                            amount_minor: m.amount_minor,
                            currency: m.currency.clone(),
                        };
                        let s = crate::reconciler::settle(
                            &mut tx,
                            &target,
                            learned.observation,
                            &learned.resolution,
                            "webhook",
                            now,
                            &mut events,
                        )
                        .await?;
                        (s.result, s.detail, s.reversal)
                    }
                }
            }
        };
        row.result = result;
        row.result_detail = &detail;
        if !store::webhooks::insert_webhook(&mut tx, &row).await? {
            // A concurrent delivery of the same event won: nothing of ours is kept.
            tx.rollback().await?;
            return Ok(duplicate());
        }
        store::payments::insert_events(&mut tx, merchant_id, &events).await?;
        tx.commit().await?;
        if let Some(plan) = reversal {
            crate::reconciler::reverse(&self.payments, &plan, "webhook").await?;
        }
        Ok(WebhookAnswer {
            status: 200,
            body: serde_json::json!({"received": true, "result": result}),
        })
    }

    /// The observation an event carries; for Mollie classic the payment is fetched first.
    /// `Ok(None)` when the fetch did not say anything (the provider should retry).
    async fn learn(
        &self,
        event: &ProviderEvent,
        merchant_id: Uuid,
        rec: &store::config::ConnectorRecord,
    ) -> Result<Option<Learned>, EngineError> {
        let base = AttemptResolution {
            outcome: None,
            provider_reference: event.provider_reference.clone(),
            provider_status: Some(event.event_type.clone()),
            raw_code: event.raw_code.clone(),
            decline_code: event.decline_code.clone(),
            message: None,
            reconciliation: None,
        };
        if !event.needs_fetch {
            return Ok(Some(from_effect(&event.effect, base)));
        }
        let account = self.payments.account(merchant_id, rec).await?;
        let found = self
            .payments
            .executor()
            .retrieve(
                &account,
                &RetrieveRequest {
                    provider_reference: event.provider_reference.clone(),
                    idempotency_key: String::new(),
                    payment_id: String::new(),
                    original: None,
                },
            )
            .await;
        let resolution = crate::reconciler::resolution_from(&found, None);
        let status = found.provider_status.clone().unwrap_or_default();
        Ok(match found.class {
            OutcomeClass::Approved => Some(Learned {
                observation: Observation::Charged {
                    captured: found.captured,
                    amount_minor: None,
                },
                effect: format!(
                    "fetched: {} ({status})",
                    if found.captured {
                        "captured"
                    } else {
                        "authorized"
                    }
                ),
                resolution,
                pending_or_unknown: None,
            }),
            OutcomeClass::HardDecline
            | OutcomeClass::SoftDecline
            | OutcomeClass::ProviderUnavailable
            | OutcomeClass::ValidationError => Some(Learned {
                observation: Observation::NotCharged { class: found.class },
                effect: format!("fetched: failed:{} ({status})", found.class.as_str()),
                resolution,
                pending_or_unknown: None,
            }),
            OutcomeClass::NeedsCustomerAction => Some(Learned {
                observation: Observation::NoChange,
                effect: format!("fetched: pending ({status})"),
                resolution,
                pending_or_unknown: Some("pending"),
            }),
            OutcomeClass::UnknownOutcome
            | OutcomeClass::AuthConfigError
            | OutcomeClass::RateLimited => {
                tracing::warn!(connector = %rec.connector.id, class = found.class.as_str(), "webhook fetch failed");
                None
            }
        })
    }
}

fn duplicate() -> WebhookAnswer {
    WebhookAnswer {
        status: 200,
        body: serde_json::json!({"received": true, "duplicate": true}),
    }
}

/// Maps a verified event's effect to an observation (no fetch needed).
fn from_effect(effect: &EventEffect, mut resolution: AttemptResolution) -> Learned {
    let (observation, text, pending_or_unknown) = match effect {
        EventEffect::Authorized => (
            Observation::Charged {
                captured: false,
                amount_minor: None,
            },
            "authorized".to_owned(),
            None,
        ),
        EventEffect::Captured { amount_minor } => (
            Observation::Charged {
                captured: true,
                amount_minor: *amount_minor,
            },
            "captured".to_owned(),
            None,
        ),
        EventEffect::Failed { class } => (
            Observation::NotCharged { class: *class },
            format!("failed:{}", class.as_str()),
            None,
        ),
        EventEffect::Canceled => (Observation::Canceled, "canceled".to_owned(), None),
        EventEffect::Refunded { amount_minor } => (
            Observation::NoChange,
            format!(
                "refunded{}",
                amount_minor.map(|a| format!(":{a}")).unwrap_or_default()
            ),
            Some("no_change"),
        ),
        EventEffect::Pending => (Observation::NoChange, "pending".to_owned(), Some("pending")),
        EventEffect::Unknown => (
            Observation::NoChange,
            "unknown".to_owned(),
            Some("unknown_type"),
        ),
    };
    resolution.outcome = match observation {
        Observation::Charged { .. } => Some(OutcomeClass::Approved.as_str().to_owned()),
        Observation::NotCharged { class } => Some(class.as_str().to_owned()),
        Observation::Canceled | Observation::NoChange => None,
    };
    Learned {
        observation,
        effect: text,
        resolution,
        pending_or_unknown,
    }
}
