//! Payments: create (route + durable attempts + fallback), capture, void, refund, get.
//!
//! The durable protocol (DESIGN.md §6), per payment:
//! - T1, one transaction: idempotency row + payment + route decision + attempt #1 `pending`
//!   (+ events). Commit. Nothing has been sent to a provider yet.
//! - Provider call with the attempt id as the provider idempotency key, with no database
//!   connection held (the transaction is committed and its connection returned first).
//! - Unknown outcome: retrieve from the same provider before any other decision.
//! - T2: attempt outcome (+ next pending attempt when falling back). Commit. Repeat.
//! - The last transaction also sets the payment's final status (guarded by
//!   [`routing::PaymentStatus::allowed_from`]) and stores the idempotency response.
//!
//! The happy path is exactly two commits. Time and randomness enter through [`Clock`] and
//! [`Rolls`] so tests can pin them.

use crate::EngineError;
use providers::{
    AuthorizeRequest, CaptureRequest, ConnectorAccount, Executor, ProviderResult, RefundRequest,
    RetrieveRequest, VoidRequest,
};
use routing::{
    AttemptStatus, CaptureMode, Connector, ConnectorId, Mode, NextStep, OutcomeClass,
    PaymentContext, PaymentMethodType, PaymentStatus, PaymentToken, Policy, RouteDecision,
    RouteSource, RouteTrace, StepInput,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use store::payments::{
    AttemptUpdate, IdemKey, IdempotencyClaim, NewAttempt, NewEvent, NewOperation, NewPayment,
    PaymentUpdate, StartOutcome, Step,
};
use store::read::{AttemptRow, PaymentRow};
use time::OffsetDateTime;
use uuid::Uuid;

/// Source of the current time (UTC). Real code uses [`SystemClock`].
pub trait Clock: Send + Sync {
    /// Now, UTC.
    fn now(&self) -> OffsetDateTime;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;
impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// Source of routing rolls in `[0, 1)`. Real code uses [`RandomRolls`].
pub trait Rolls: Send + Sync {
    /// The next roll.
    fn roll(&self) -> f64;
}

/// Uniform random rolls from the thread RNG.
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomRolls;
impl Rolls for RandomRolls {
    fn roll(&self) -> f64 {
        rand::random::<f64>()
    }
}

/// The merchant and mode an API key authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MerchantAuth {
    /// Merchant.
    pub merchant_id: Uuid,
    /// Mode of the key (a test key only reaches test connectors).
    pub mode: Mode,
}

/// `POST /v1/payments` body. Unknown fields are rejected.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CreatePayment {
    /// Amount in minor units: a JSON integer `1..=10^15` (checked by hand for a precise error).
    pub amount: serde_json::Value,
    /// ISO 4217 currency code.
    pub currency: String,
    /// `automatic` (default) or `manual`.
    #[serde(default)]
    pub capture_method: Option<CaptureMode>,
    /// Payment method.
    pub payment_method: PaymentMethodIn,
    /// Billing details.
    pub billing: BillingIn,
    /// Merchant's order reference (<= 255 chars).
    #[serde(default)]
    pub merchant_reference: Option<String>,
    /// Metadata (string values).
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

/// Payment method of a [`CreatePayment`].
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentMethodIn {
    /// `card`, `wallet`, `bank`.
    #[serde(rename = "type")]
    pub method_type: PaymentMethodType,
    /// Card brand, if known.
    #[serde(default)]
    pub card_brand: Option<String>,
    /// Tokens with their scopes.
    pub tokens: Vec<PaymentToken>,
}

/// Billing details of a [`CreatePayment`].
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BillingIn {
    /// ISO 3166-1 alpha-2.
    pub country: String,
}

/// `POST /v1/payments/{id}/capture` body.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CaptureBody {
    /// Amount to capture (minor units); default = the whole authorized amount.
    #[serde(default)]
    pub amount: Option<i64>,
}

/// `POST /v1/payments/{id}/refunds` body.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RefundBody {
    /// Amount to refund (minor units); default = everything not yet refunded.
    #[serde(default)]
    pub amount: Option<i64>,
    /// `duplicate`, `fraudulent` or `requested_by_customer`.
    #[serde(default)]
    pub reason: Option<String>,
}

/// An answer to an API call: HTTP status and JSON body (exactly what was stored for idempotency).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiAnswer {
    /// HTTP status.
    pub status: u16,
    /// JSON body.
    pub body: serde_json::Value,
    /// True when this is a replay of a stored response.
    pub replayed: bool,
}

/// The payments service.
#[derive(Clone)]
pub struct Payments {
    pool: PgPool,
    executor: Executor,
    config: crate::config::ConfigCache,
    clock: Arc<dyn Clock>,
    rolls: Arc<dyn Rolls>,
    /// How long a duplicate request waits for the first one to finish before answering 409.
    pub duplicate_wait: Duration,
}

impl Payments {
    /// A service over `pool` calling providers through `executor`.
    pub fn new(
        pool: PgPool,
        executor: Executor,
        clock: Arc<dyn Clock>,
        rolls: Arc<dyn Rolls>,
    ) -> Payments {
        let config = crate::config::ConfigCache::new(pool.clone(), Duration::from_secs(5));
        Payments {
            pool,
            executor,
            config,
            clock,
            rolls,
            duplicate_wait: Duration::from_secs(10),
        }
    }

    /// The pool (for tests and read models).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Sets the master keys that decrypt connector credentials (vault, issue 6). Without them
    /// loading a merchant with credentials fails with `master_key_version_missing`.
    pub fn with_keys(self, keys: Arc<vault::Keyset>) -> Payments {
        self.config.set_keys(keys);
        self
    }

    /// The master keys in use (for webhook intake: `store::credentials::webhook_secret`).
    pub fn keys(&self) -> Arc<vault::Keyset> {
        self.config.keys()
    }

    /// The config cache (and through it the circuit breakers), for `health::spawn`.
    pub fn config(&self) -> &crate::config::ConfigCache {
        &self.config
    }

    /// The provider executor (for the reconciler and webhook intake).
    pub(crate) fn executor(&self) -> &Executor {
        &self.executor
    }

    /// The injected clock.
    pub(crate) fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// How to reach a connector's account (its `api_key` read from the credentials store).
    pub(crate) async fn account(
        &self,
        merchant_id: Uuid,
        rec: &store::config::ConnectorRecord,
    ) -> Result<ConnectorAccount, EngineError> {
        let key = store::credentials::secret(
            &self.pool,
            &self.keys(),
            merchant_id,
            rec.connector.id.0,
            store::credentials::API_KEY,
        )
        .await?
        .unwrap_or_else(|| secrecy::SecretString::from(""));
        Ok(ConnectorAccount {
            connector_id: rec.connector.id,
            provider: rec.connector.provider,
            mode: rec.connector.mode,
            base_url: rec.base_url.clone(),
            api_key: key,
        })
    }

    /// Creates a payment: validate, route, and run the durable attempt protocol.
    ///
    /// Errors (nothing written): `invalid_idempotency_key`, `invalid_body`, `invalid_amount`,
    /// `invalid_currency`, `invalid_country`, `invalid_tokens`, `invalid_metadata`,
    /// `invalid_merchant_reference`; `idempotency_key_reused` (409) for the same key with another
    /// body; `idempotency_key_in_use` (409) when the first request is still running after
    /// [`Self::duplicate_wait`].
    pub async fn create(
        &self,
        auth: MerchantAuth,
        idempotency_key: &str,
        body: &[u8],
    ) -> Result<ApiAnswer, EngineError> {
        check_idempotency_key(idempotency_key)?;
        let (req, canonical) = parse_create(body)?;
        let ctx = context_from(&req)?;
        let fingerprint = fingerprint("create_payment", &canonical);
        let mode = store::config::mode_str(auth.mode);
        let idem = IdemKey {
            merchant_id: auth.merchant_id,
            mode,
            key: idempotency_key,
            fingerprint: &fingerprint,
        };
        let roll = self.rolls.roll();
        let payment_id = Uuid::now_v7();

        // Route with the cached config; T1 checks the config version it was routed with and
        // writes nothing if it changed, in which case we reload and route again.
        let mut config = self.config.get(auth.merchant_id, auth.mode).await?;
        let mut tries = 0;
        let (decision, payment, attempt) = loop {
            tries += 1;
            let default_policy = Policy::default();
            let (policy_id, policy) = match &config.policy {
                Some((id, p)) => (Some(*id), p),
                None => (None, &default_policy),
            };
            let mut routing_connectors: Vec<Connector> = config
                .connectors
                .iter()
                .map(|c| c.connector.clone())
                .collect();
            // Circuit breakers (issue 5): this gateway's view of each connector's circuit.
            self.config.health().overlay(
                auth.merchant_id,
                &mut routing_connectors,
                crate::health::unix_ms(self.clock.now()),
            );
            let decision =
                routing::decide_explained(&ctx, &routing_connectors, policy, auth.mode, roll);
            let now = self.clock.now();
            let no_route = decision.path.is_empty();
            let payment = PaymentRow {
                id: payment_id,
                mode: mode.to_owned(),
                amount_minor: ctx.money.amount_minor,
                currency: ctx.money.currency.as_str().to_owned(),
                country: ctx.country.as_str().to_owned(),
                method: enum_str(&ctx.method),
                capture_mode: enum_str(&ctx.capture),
                merchant_reference: req.merchant_reference.clone(),
                metadata: serde_json::to_value(&ctx.metadata).unwrap_or_default(),
                status: if no_route { "failed" } else { "processing" }.to_owned(),
                failure_code: no_route.then(|| "no_eligible_connector".to_owned()),
                failure_message: no_route.then(|| no_route_message(&decision.trace)),
                next_action_url: None,
                captured_minor: 0,
                refunded_minor: 0,
                route: serde_json::to_value(&decision.trace).unwrap_or_default(),
                attempt_count: i32::from(!no_route),
                last_connector: None,
                created_at: now,
                updated_at: now,
            };
            let new_payment = NewPayment {
                merchant_id: auth.merchant_id,
                id: payment_id,
                mode: mode.to_owned(),
                amount_minor: payment.amount_minor,
                currency: payment.currency.clone(),
                country: payment.country.clone(),
                method: payment.method.clone(),
                card_brand: ctx.card_brand.clone(),
                capture_mode: payment.capture_mode.clone(),
                merchant_reference: payment.merchant_reference.clone(),
                metadata: payment.metadata.clone(),
                tokens: serde_json::to_value(&ctx.tokens).unwrap_or_default(),
                status: if no_route {
                    PaymentStatus::Failed
                } else {
                    PaymentStatus::Processing
                },
                failure_code: payment.failure_code.clone(),
                failure_message: payment.failure_message.clone(),
                policy_id,
                route_roll: roll,
                route: payment.route.clone(),
                created_at: now,
            };
            let mut events = vec![NewEvent {
                payment_id,
                at: now,
                cause: "api",
                kind: "payment_created",
                from_status: None,
                to_status: Some(PaymentStatus::Processing),
                attempt_id: None,
                detail: format!(
                    "{} — route: {}",
                    money_text(&payment),
                    route_summary(&decision, &config.connectors)
                ),
            }];
            let attempt = match decision.path.first() {
                Some(first) => Some(new_attempt(
                    auth.merchant_id,
                    payment_id,
                    1,
                    find(&config.connectors, *first)?,
                    now,
                )),
                None => None,
            };
            let mut response_body = None;
            match &attempt {
                Some(a) => events.push(attempt_started_event(a, "api")),
                None => {
                    events.push(status_event(
                        payment_id,
                        now,
                        "api",
                        PaymentStatus::Processing,
                        PaymentStatus::Failed,
                        None,
                        payment.failure_message.clone().unwrap_or_default(),
                    ));
                    response_body = Some(payment_body(&payment, &[], &config.connectors));
                }
            }
            // ---- T1: one statement, one commit ----
            let outcome = store::payments::start_payment(
                &self.pool,
                idem,
                config.version,
                &new_payment,
                attempt.as_ref(),
                &events,
                response_body.as_ref().map(|b| (200, b)),
            )
            .await?;
            match outcome {
                StartOutcome::Started => {
                    if let Some(body) = response_body {
                        return Ok(ApiAnswer {
                            status: 200,
                            body,
                            replayed: false,
                        });
                    }
                    break (decision, payment, attempt);
                }
                StartOutcome::KeyExists => {
                    return self
                        .existing_answer(auth, idempotency_key, &fingerprint, true)
                        .await?
                        .ok_or(EngineError::IdempotencyKeyInUse);
                }
                StartOutcome::ConfigChanged if tries < 5 => {
                    config = self.config.reload(auth.merchant_id, auth.mode).await?;
                }
                StartOutcome::ConfigChanged => {
                    return Err(EngineError::Internal(
                        "connector configuration kept changing; retry".into(),
                    ));
                }
            }
        };
        let mut payment = payment;
        let Some(first_attempt) = attempt else {
            return Err(EngineError::Internal(
                "payment started without an attempt".into(),
            ));
        };
        let default_policy = Policy::default();
        let policy = config
            .policy
            .as_ref()
            .map(|(_, p)| p)
            .unwrap_or(&default_policy);
        let mut attempts: Vec<AttemptRow> = vec![pending_row(&first_attempt)];
        payment.last_connector = Some(first_attempt.connector_name.clone());

        // ---- provider calls, each followed by one step statement ----
        let mut path_pos = 0usize;
        let mut calls_on_current: u8 = 0;
        loop {
            let current_idx = attempts.len() - 1;
            let attempt_id = attempts[current_idx].id;
            let rec = find(&config.connectors, decision.path[path_pos])?;
            let account = ConnectorAccount {
                connector_id: rec.connector.id,
                provider: rec.connector.provider,
                mode: rec.connector.mode,
                base_url: rec.base_url.clone(),
                api_key: config
                    .api_keys
                    .get(&rec.connector.id.0)
                    .cloned()
                    .unwrap_or_else(|| secrecy::SecretString::from("")),
            };
            let authorize = AuthorizeRequest {
                idempotency_key: attempt_id.to_string(),
                payment_id: payment_id.to_string(),
                money: ctx.money,
                capture: ctx.capture,
                token: routing::usable_token(&ctx, &rec.connector)
                    .unwrap_or_default()
                    .to_owned(),
                merchant_reference: req.merchant_reference.clone(),
                metadata: ctx.metadata.clone(),
            };
            let requested_at = self.clock.now();
            let mut result = self.executor.authorize(&account, &authorize).await;
            let mut responded_at = self.clock.now();
            calls_on_current += 1;
            let calls_made = u8::try_from(attempts.len()).unwrap_or(u8::MAX);
            // Circuit breakers (issue 5): skip later steps whose circuit opened meanwhile.
            let next_pos =
                self.config
                    .health()
                    .next_usable(auth.merchant_id, &decision.path, path_pos + 1);
            let next_connector = decision.path.get(next_pos).copied();
            let mut input = StepInput {
                class: result.class,
                reconciled: false,
                calls_made,
                max_calls: policy.max_attempts.max(1),
                calls_on_current,
                next_connector,
            };
            let mut step = routing::next_step(&policy.fallback, input);
            let mut reconciliation: Option<String> = None;
            let mut events: Vec<NewEvent> = Vec::new();
            if step == NextStep::Reconcile {
                let retrieve = RetrieveRequest {
                    provider_reference: result.provider_reference.clone(),
                    idempotency_key: attempt_id.to_string(),
                    payment_id: payment_id.to_string(),
                    original: Some(authorize.clone()),
                };
                let found = self.executor.retrieve(&account, &retrieve).await;
                responded_at = self.clock.now();
                reconciliation = Some(reconciliation_text(&found));
                events.push(NewEvent {
                    payment_id,
                    at: responded_at,
                    cause: "reconciler",
                    kind: "attempt_reconciled",
                    from_status: None,
                    to_status: None,
                    attempt_id: Some(attempt_id),
                    detail: format!(
                        "{}: {}",
                        rec.connector.name,
                        reconciliation.clone().unwrap_or_default()
                    ),
                });
                input.class = found.class;
                input.reconciled = true;
                match found.class {
                    // Still unknown: keep what the call itself said.
                    OutcomeClass::UnknownOutcome => {}
                    // Provably not charged: the attempt counts as provider_unavailable.
                    OutcomeClass::ProviderUnavailable => {
                        result.class = OutcomeClass::ProviderUnavailable
                    }
                    // A definitive answer (charge found, or the original request's decline).
                    OutcomeClass::Approved
                    | OutcomeClass::HardDecline
                    | OutcomeClass::SoftDecline
                    | OutcomeClass::NeedsCustomerAction
                    | OutcomeClass::ValidationError
                    | OutcomeClass::AuthConfigError
                    | OutcomeClass::RateLimited => {
                        result = ProviderResult {
                            latency_ms: result.latency_ms,
                            ..found
                        }
                    }
                }
                step = routing::next_step(&policy.fallback, input);
            }
            // Circuit breakers (issue 5): feed this call's final class.
            self.config.health().record(
                auth.merchant_id,
                rec.connector.id,
                result.class,
                crate::health::unix_ms(responded_at),
            );
            let (step_name, step_detail) = step_text(step, result.class, &config.connectors);
            let attempt_status = match step {
                NextStep::StopUnknown => AttemptStatus::Unknown,
                NextStep::Succeed
                | NextStep::Stop
                | NextStep::Reconcile
                | NextStep::RetrySame
                | NextStep::FallBack { .. }
                | NextStep::PathExhausted
                | NextStep::CapReached => AttemptStatus::from_class(result.class),
            };
            let update = AttemptUpdate {
                status: Some(attempt_status),
                outcome: Some(result.class.as_str().to_owned()),
                provider_reference: result.provider_reference.clone(),
                provider_status: result.provider_status.clone(),
                http_status: result.http_status.map(i32::from),
                raw_code: result.raw_code.clone(),
                decline_code: result.decline_code.clone(),
                message: result.message.clone(),
                requested_at: Some(requested_at),
                responded_at: Some(responded_at),
                latency_ms: Some(i32::try_from(result.latency_ms).unwrap_or(i32::MAX)),
                next_step: Some(step_name.clone()),
                next_step_detail: Some(step_detail.clone()),
                reconciliation: reconciliation.clone(),
            };
            events.push(NewEvent {
                payment_id,
                at: responded_at,
                cause: "provider_response",
                kind: "attempt_finished",
                from_status: None,
                to_status: None,
                attempt_id: Some(attempt_id),
                detail: format!(
                    "{}: {} — {}",
                    rec.connector.name,
                    outcome_text(&result),
                    step_detail
                ),
            });
            apply_attempt_update(&mut attempts[current_idx], &update);

            let next_rec = match step {
                NextStep::FallBack { to } => {
                    path_pos = next_pos;
                    calls_on_current = 0;
                    Some(find(&config.connectors, to)?)
                }
                NextStep::RetrySame => Some(rec),
                NextStep::Succeed
                | NextStep::Stop
                | NextStep::Reconcile
                | NextStep::StopUnknown
                | NextStep::PathExhausted
                | NextStep::CapReached => None,
            };
            if let Some(next_rec) = next_rec {
                // ---- T2 (fallback): outcome + next pending attempt, one statement ----
                let seq = i32::try_from(attempts.len() + 1).unwrap_or(i32::MAX);
                let a = new_attempt(auth.merchant_id, payment_id, seq, next_rec, responded_at);
                events.push(attempt_started_event(&a, "provider_response"));
                store::payments::record_step(
                    &self.pool,
                    &Step {
                        merchant_id: auth.merchant_id,
                        payment_id,
                        attempt_id,
                        attempt: &update,
                        next_attempt: Some(&a),
                        payment: None,
                        from_status: PaymentStatus::Processing,
                        status_detail: String::new(),
                        events: &events,
                        response: None,
                        at: responded_at,
                    },
                )
                .await?;
                attempts.push(pending_row(&a));
                payment.attempt_count = seq;
                payment.last_connector = Some(next_rec.connector.name.clone());
                continue;
            }
            // ---- final T2: outcome + payment status + stored response, one statement ----
            let (to, failure_code, failure_message) = final_status(step, &result, ctx.capture);
            let captured_delta = if to == PaymentStatus::Captured {
                ctx.money.amount_minor
            } else {
                0
            };
            let pu = PaymentUpdate {
                status: to,
                failure_code: failure_code.clone(),
                failure_message: failure_message.clone(),
                next_action_url: result.next_action_url.clone(),
                captured_delta,
                refunded_delta: 0,
                at: responded_at,
            };
            let mut final_payment = payment.clone();
            final_payment.status = to.as_str().to_owned();
            final_payment.failure_code = failure_code;
            final_payment.failure_message = failure_message.clone();
            final_payment.next_action_url = result.next_action_url.clone();
            final_payment.captured_minor += captured_delta;
            final_payment.updated_at = responded_at;
            let status_code: u16 = if result.class == OutcomeClass::ValidationError {
                422
            } else {
                200
            };
            let body = payment_body(&final_payment, &attempts, &config.connectors);
            let written = store::payments::record_step(
                &self.pool,
                &Step {
                    merchant_id: auth.merchant_id,
                    payment_id,
                    attempt_id,
                    attempt: &update,
                    next_attempt: None,
                    payment: Some(&pu),
                    from_status: PaymentStatus::Processing,
                    status_detail: failure_message
                        .unwrap_or_else(|| format!("{} on {}", to.as_str(), rec.connector.name)),
                    events: &events,
                    response: Some((mode, idempotency_key, i32::from(status_code), &body)),
                    at: responded_at,
                },
            )
            .await?;
            if !written.payment_updated {
                tracing::warn!(payment = %payment_id, "final status refused by the state machine guard");
            }
            return Ok(ApiAnswer {
                status: status_code,
                body,
                replayed: false,
            });
        }
    }

    /// `POST /v1/routing/explain`: the route and full trace the published policy gives this
    /// payment body now, without calling any provider or storing anything. Weighted routes use a
    /// fresh roll, reported in the trace. Errors: the same validation errors as [`Self::create`].
    pub async fn explain(&self, auth: MerchantAuth, body: &[u8]) -> Result<ApiAnswer, EngineError> {
        let (req, _) = parse_create(body)?;
        let ctx = context_from(&req)?;
        let config = self.config.get(auth.merchant_id, auth.mode).await?;
        let connectors: Vec<Connector> = config
            .connectors
            .iter()
            .map(|c| c.connector.clone())
            .collect();
        let default_policy = Policy::default();
        let policy = config
            .policy
            .as_ref()
            .map(|(_, p)| p)
            .unwrap_or(&default_policy);
        let decision =
            routing::decide_explained(&ctx, &connectors, policy, auth.mode, self.rolls.roll());
        let path: Vec<serde_json::Value> = decision
            .path
            .iter()
            .map(|id| serde_json::json!({"connector_id": id, "name": name_of(&config.connectors, *id)}))
            .collect();
        Ok(ApiAnswer {
            status: 200,
            body: serde_json::json!({
                "path": path,
                "trace": decision.trace,
                "policy_id": config.policy.as_ref().map(|(id, _)| id),
                "summary": route_summary(&decision, &config.connectors),
            }),
            replayed: false,
        })
    }

    /// Answers a request whose key already exists: the stored response (same body), 409
    /// `idempotency_key_reused` (other body), or waits for an in-flight first request.
    /// `Ok(None)` when the key is new.
    async fn existing_answer(
        &self,
        auth: MerchantAuth,
        key: &str,
        fingerprint: &[u8],
        must_exist: bool,
    ) -> Result<Option<ApiAnswer>, EngineError> {
        let mode = store::config::mode_str(auth.mode);
        let deadline = tokio::time::Instant::now() + self.duplicate_wait;
        loop {
            let mut conn = self.pool.acquire().await?;
            let found =
                store::payments::lookup_idempotency(&mut conn, auth.merchant_id, mode, key).await?;
            drop(conn);
            match found {
                None if must_exist => return Err(EngineError::IdempotencyKeyInUse),
                None => return Ok(None),
                Some(IdempotencyClaim::Claimed) => return Ok(None),
                Some(IdempotencyClaim::Existing {
                    fingerprint: stored,
                    response,
                    ..
                }) => {
                    if stored != fingerprint {
                        return Err(EngineError::IdempotencyKeyReused);
                    }
                    if let Some((status, body)) = response {
                        return Ok(Some(ApiAnswer {
                            status: u16::try_from(status).unwrap_or(500),
                            body,
                            replayed: true,
                        }));
                    }
                    if tokio::time::Instant::now() >= deadline {
                        return Err(EngineError::IdempotencyKeyInUse);
                    }
                    tokio::time::sleep(Duration::from_millis(25)).await;
                }
            }
        }
    }

    /// `GET /v1/payments/{id}`. Errors: `not_found`.
    pub async fn get(
        &self,
        auth: MerchantAuth,
        payment_id: &str,
    ) -> Result<ApiAnswer, EngineError> {
        let id =
            Uuid::parse_str(payment_id).map_err(|_| EngineError::NotFound { what: "payment" })?;
        let (payment, attempts, connectors) = tokio::try_join!(
            store::read::payment(&self.pool, auth.merchant_id, id),
            store::read::attempts(&self.pool, auth.merchant_id, id),
            store::config::connectors(&self.pool, auth.merchant_id),
        )?;
        let payment = payment
            .filter(|p| p.mode == store::config::mode_str(auth.mode))
            .ok_or(EngineError::NotFound { what: "payment" })?;
        Ok(ApiAnswer {
            status: 200,
            body: payment_body(&payment, &attempts, &connectors),
            replayed: false,
        })
    }

    /// Captures an authorized payment (full or partial). Errors: `not_found`,
    /// `payment_not_capturable`, `invalid_amount`, idempotency errors.
    pub async fn capture(
        &self,
        auth: MerchantAuth,
        payment_id: &str,
        idempotency_key: Option<&str>,
        body: &[u8],
    ) -> Result<ApiAnswer, EngineError> {
        let req: CaptureBody = parse_optional_body(body)?;
        self.operate(
            auth,
            payment_id,
            idempotency_key,
            Operation::Capture(req.amount),
            body,
        )
        .await
    }

    /// Voids an authorized payment. Errors: `not_found`, `payment_not_voidable`.
    pub async fn void(
        &self,
        auth: MerchantAuth,
        payment_id: &str,
        idempotency_key: Option<&str>,
        body: &[u8],
    ) -> Result<ApiAnswer, EngineError> {
        let _: serde_json::Map<String, serde_json::Value> = parse_optional_body(body)?;
        self.operate(auth, payment_id, idempotency_key, Operation::Void, body)
            .await
    }

    /// Refunds a captured payment (full or partial). `Idempotency-Key` required. Errors:
    /// `not_found`, `payment_not_refundable`, `invalid_amount`, `invalid_reason`, idempotency errors.
    pub async fn refund(
        &self,
        auth: MerchantAuth,
        payment_id: &str,
        idempotency_key: &str,
        body: &[u8],
    ) -> Result<ApiAnswer, EngineError> {
        let req: RefundBody = parse_optional_body(body)?;
        if let Some(r) = &req.reason
            && !["duplicate", "fraudulent", "requested_by_customer"].contains(&r.as_str())
        {
            return Err(EngineError::invalid(
                "invalid_reason",
                Some("reason".into()),
                "reason must be one of duplicate, fraudulent, requested_by_customer",
            ));
        }
        self.operate(
            auth,
            payment_id,
            Some(idempotency_key),
            Operation::Refund(req.amount, req.reason),
            body,
        )
        .await
    }

    async fn operate(
        &self,
        auth: MerchantAuth,
        payment_id: &str,
        idempotency_key: Option<&str>,
        op: Operation,
        body: &[u8],
    ) -> Result<ApiAnswer, EngineError> {
        if let Some(k) = idempotency_key {
            check_idempotency_key(k)?;
        }
        let id =
            Uuid::parse_str(payment_id).map_err(|_| EngineError::NotFound { what: "payment" })?;
        let fp = fingerprint(&format!("{}:{id}", op.kind()), body);
        if let Some(key) = idempotency_key
            && let Some(answer) = self.existing_answer(auth, key, &fp, false).await?
        {
            return Ok(answer);
        }
        let mode = store::config::mode_str(auth.mode);
        let (payment, attempts, connectors) = tokio::try_join!(
            store::read::payment(&self.pool, auth.merchant_id, id),
            store::read::attempts(&self.pool, auth.merchant_id, id),
            store::config::connectors(&self.pool, auth.merchant_id),
        )?;
        let payment = payment
            .filter(|p| p.mode == mode)
            .ok_or(EngineError::NotFound { what: "payment" })?;
        let currency = routing::Currency::parse(&payment.currency)
            .map_err(|e| EngineError::Internal(e.to_string()))?;
        let status = PaymentStatus::parse(&payment.status).unwrap_or(PaymentStatus::Unknown);
        let approved = attempts
            .iter()
            .find(|a| a.status == "succeeded" && a.provider_reference.is_some());
        let (amount, target) = match (&op, status) {
            (Operation::Capture(amount), PaymentStatus::Authorized) => {
                let amount = amount.unwrap_or(payment.amount_minor);
                if amount <= 0 || amount > payment.amount_minor {
                    return Err(EngineError::invalid(
                        "invalid_amount",
                        Some("amount".into()),
                        format!(
                            "capture amount must be 1..={} minor units",
                            payment.amount_minor
                        ),
                    ));
                }
                (Some(amount), PaymentStatus::Captured)
            }
            (Operation::Void, PaymentStatus::Authorized) => (None, PaymentStatus::Canceled),
            (Operation::Refund(amount, _), PaymentStatus::Captured) => {
                let left = payment.captured_minor - payment.refunded_minor;
                let amount = amount.unwrap_or(left);
                if amount <= 0 || amount > left {
                    return Err(EngineError::invalid(
                        "invalid_amount",
                        Some("amount".into()),
                        format!(
                            "refund amount must be 1..={left} minor units (captured minus refunded)"
                        ),
                    ));
                }
                (Some(amount), PaymentStatus::Captured)
            }
            (op, status) => {
                return Err(EngineError::InvalidState {
                    code: op.not_allowed_code(),
                    message: format!(
                        "cannot {} a payment in status {}",
                        op.kind(),
                        status.as_str()
                    ),
                });
            }
        };
        let approved = approved.ok_or_else(|| EngineError::InvalidState {
            code: op.not_allowed_code(),
            message: "the payment has no approved attempt to act on".into(),
        })?;
        let rec = connectors
            .iter()
            .find(|c| c.connector.id.0 == approved.connector_id)
            .ok_or(EngineError::NotFound { what: "connector" })?;
        let now = self.clock.now();
        let op_id = Uuid::now_v7();
        let mut tx = self.pool.begin().await?;
        if let Some(key) = idempotency_key
            && store::payments::claim_idempotency(
                &mut tx,
                auth.merchant_id,
                mode,
                key,
                &fp,
                Some(id),
            )
            .await?
                != IdempotencyClaim::Claimed
        {
            tx.rollback().await?;
            return self
                .existing_answer(auth, key, &fp, true)
                .await?
                .ok_or(EngineError::IdempotencyKeyInUse);
        }
        store::payments::insert_operation(
            &mut tx,
            &NewOperation {
                merchant_id: auth.merchant_id,
                id: op_id,
                payment_id: id,
                kind: op.kind(),
                amount_minor: amount,
                reason: op.reason(),
                attempt_id: approved.id,
                created_at: now,
            },
        )
        .await?;
        tx.commit().await?;

        let account = self.account(auth.merchant_id, rec).await?;
        let reference = approved.provider_reference.clone().unwrap_or_default();
        let key = op_id.to_string();
        let result = match &op {
            Operation::Capture(_) => {
                let amount = amount.and_then(|a| routing::Money::new(a, currency).ok());
                self.executor
                    .capture(
                        &account,
                        &CaptureRequest {
                            idempotency_key: key,
                            provider_reference: reference,
                            amount,
                        },
                    )
                    .await
            }
            Operation::Void => {
                self.executor
                    .void(
                        &account,
                        &VoidRequest {
                            idempotency_key: key,
                            provider_reference: reference,
                        },
                    )
                    .await
            }
            Operation::Refund(_, reason) => {
                let money = routing::Money::new(amount.unwrap_or(0), currency)
                    .map_err(|e| EngineError::Internal(e.to_string()))?;
                self.executor
                    .refund(
                        &account,
                        &RefundRequest {
                            idempotency_key: key,
                            provider_reference: reference,
                            money,
                            reason: reason.clone(),
                        },
                    )
                    .await
            }
        };
        let at = self.clock.now();
        let ok = result.class == OutcomeClass::Approved;
        let op_status = if ok {
            "succeeded"
        } else if result.class == OutcomeClass::UnknownOutcome {
            "unknown"
        } else {
            "failed"
        };
        let mut tx = self.pool.begin().await?;
        store::payments::finish_operation(
            &mut tx,
            auth.merchant_id,
            op_id,
            op_status,
            result.class.as_str(),
            result.provider_reference.as_deref(),
            result.raw_code.as_deref(),
            result.message.as_deref(),
            at,
        )
        .await?;
        let mut events = vec![NewEvent {
            payment_id: id,
            at,
            cause: "provider_response",
            kind: op.event_kind(),
            from_status: None,
            to_status: None,
            attempt_id: Some(approved.id),
            detail: format!(
                "{} {} on {}: {}",
                op.kind(),
                amount.map(|a| currency.format_minor(a)).unwrap_or_default(),
                rec.connector.name,
                outcome_text(&result)
            ),
        }];
        let mut payment = payment;
        if ok {
            let pu = PaymentUpdate {
                status: target,
                failure_code: None,
                failure_message: None,
                next_action_url: None,
                captured_delta: if matches!(op, Operation::Capture(_)) {
                    amount.unwrap_or(0)
                } else {
                    0
                },
                refunded_delta: if matches!(op, Operation::Refund(..)) {
                    amount.unwrap_or(0)
                } else {
                    0
                },
                at,
            };
            if let Some(from) =
                store::payments::update_payment_status(&mut tx, auth.merchant_id, id, &pu).await?
            {
                if from != target {
                    events.push(status_event(
                        id,
                        at,
                        "api",
                        from,
                        target,
                        Some(approved.id),
                        format!("{} succeeded", op.kind()),
                    ));
                }
                payment.status = target.as_str().to_owned();
                payment.captured_minor += pu.captured_delta;
                payment.refunded_minor += pu.refunded_delta;
            } else {
                events.push(NewEvent { payment_id: id, at, cause: "api", kind: "transition_refused", from_status: Some(status), to_status: Some(target),
                    attempt_id: Some(approved.id), detail: "the provider accepted the operation but the payment changed meanwhile; flagged for review".into() });
            }
        }
        store::payments::insert_events(&mut tx, auth.merchant_id, &events).await?;
        let (status_code, body) = if ok {
            (
                200u16,
                match &op {
                    Operation::Refund(_, reason) => serde_json::json!({
                        "id": op_id, "object": "refund", "payment_id": id, "amount": amount, "currency": payment.currency,
                        "status": "succeeded", "reason": reason, "provider_reference": result.provider_reference,
                    }),
                    Operation::Capture(_) | Operation::Void => {
                        payment_body(&payment, &attempts, &connectors)
                    }
                },
            )
        } else {
            (
                402u16,
                serde_json::json!({"error": {
                    "code": format!("{}_failed", op.kind()),
                    "message": format!("the provider did not accept the {}: {}", op.kind(), outcome_text(&result)),
                    "outcome": result.class.as_str(), "provider_code": result.raw_code,
                }}),
            )
        };
        if let Some(key) = idempotency_key {
            store::payments::complete_idempotency(
                &mut tx,
                auth.merchant_id,
                mode,
                key,
                i32::from(status_code),
                &body,
                at,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(ApiAnswer {
            status: status_code,
            body,
            replayed: false,
        })
    }
}

enum Operation {
    Capture(Option<i64>),
    Void,
    Refund(Option<i64>, Option<String>),
}

impl Operation {
    fn kind(&self) -> &'static str {
        match self {
            Operation::Capture(_) => "capture",
            Operation::Void => "void",
            Operation::Refund(..) => "refund",
        }
    }
    fn event_kind(&self) -> &'static str {
        match self {
            Operation::Capture(_) => "capture_finished",
            Operation::Void => "void_finished",
            Operation::Refund(..) => "refund_finished",
        }
    }
    fn not_allowed_code(&self) -> &'static str {
        match self {
            Operation::Capture(_) => "payment_not_capturable",
            Operation::Void => "payment_not_voidable",
            Operation::Refund(..) => "payment_not_refundable",
        }
    }
    fn reason(&self) -> Option<String> {
        match self {
            Operation::Refund(_, r) => r.clone(),
            Operation::Capture(_) | Operation::Void => None,
        }
    }
}

/// Checks an `Idempotency-Key`: 1..=255 visible ASCII characters.
fn check_idempotency_key(key: &str) -> Result<(), EngineError> {
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(EngineError::invalid(
            "invalid_idempotency_key",
            Some("Idempotency-Key".into()),
            "Idempotency-Key must be 1..=255 visible ASCII characters",
        ));
    }
    Ok(())
}

fn parse_optional_body<T: serde::de::DeserializeOwned + Default>(
    body: &[u8],
) -> Result<T, EngineError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body)
        .map_err(|e| EngineError::invalid("invalid_body", None, format!("invalid JSON body: {e}")))
}

/// Parses a create body; returns it and its canonical form (keys sorted) for fingerprinting.
pub fn parse_create(body: &[u8]) -> Result<(CreatePayment, Vec<u8>), EngineError> {
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        EngineError::invalid("invalid_body", None, format!("invalid JSON body: {e}"))
    })?;
    let canonical = serde_json::to_vec(&value).unwrap_or_default();
    let req: CreatePayment = serde_json::from_value(value).map_err(|e| {
        EngineError::invalid(
            "invalid_body",
            None,
            format!("invalid payment request: {e}"),
        )
    })?;
    Ok((req, canonical))
}

/// Validates a create request into a routing context. Errors name the field.
pub fn context_from(req: &CreatePayment) -> Result<PaymentContext, EngineError> {
    let amount = req
        .amount
        .as_i64()
        .filter(|a| *a > 0 && *a <= routing::Money::MAX_MINOR)
        .ok_or_else(|| {
            EngineError::invalid(
                "invalid_amount",
                Some("amount".into()),
                format!(
                    "amount must be an integer number of minor units from 1 to {}",
                    routing::Money::MAX_MINOR
                ),
            )
        })?;
    if let Some(r) = &req.merchant_reference
        && (r.is_empty() || r.len() > 255)
    {
        return Err(EngineError::invalid(
            "invalid_merchant_reference",
            Some("merchant_reference".into()),
            "merchant_reference must be 1..=255 bytes",
        ));
    }
    PaymentContext::new(
        amount,
        &req.currency,
        &req.billing.country,
        req.payment_method.method_type,
        req.payment_method.card_brand.clone(),
        req.capture_method.unwrap_or(CaptureMode::Automatic),
        req.payment_method.tokens.clone(),
        req.metadata.clone(),
    )
    .map_err(|e| {
        let (code, field) = match &e {
            routing::ContextError::Money(routing::MoneyError::UnknownCurrency(_)) => {
                ("invalid_currency", "currency")
            }
            routing::ContextError::Money(routing::MoneyError::InvalidCountry(_)) => {
                ("invalid_country", "billing.country")
            }
            routing::ContextError::Money(
                routing::MoneyError::NonPositiveAmount(_) | routing::MoneyError::AmountTooLarge(_),
            ) => ("invalid_amount", "amount"),
            routing::ContextError::NoTokens | routing::ContextError::BadToken(_) => {
                ("invalid_tokens", "payment_method.tokens")
            }
            routing::ContextError::BadMetadata(_) => ("invalid_metadata", "metadata"),
        };
        EngineError::invalid(code, Some(field.to_owned()), e.to_string())
    })
}

fn fingerprint(op: &str, canonical: &[u8]) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(op.as_bytes());
    h.update(b"\n");
    h.update(canonical);
    h.finalize().to_vec()
}

fn enum_str<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn find(
    connectors: &[store::config::ConnectorRecord],
    id: ConnectorId,
) -> Result<&store::config::ConnectorRecord, EngineError> {
    connectors
        .iter()
        .find(|c| c.connector.id == id)
        .ok_or(EngineError::NotFound { what: "connector" })
}

fn new_attempt(
    merchant_id: Uuid,
    payment_id: Uuid,
    seq: i32,
    rec: &store::config::ConnectorRecord,
    now: OffsetDateTime,
) -> NewAttempt {
    NewAttempt {
        merchant_id,
        id: Uuid::now_v7(),
        payment_id,
        seq,
        connector_id: rec.connector.id.0,
        connector_name: rec.connector.name.clone(),
        provider: rec.connector.provider.as_str().to_owned(),
        created_at: now,
    }
}

fn pending_row(a: &NewAttempt) -> AttemptRow {
    AttemptRow {
        id: a.id,
        seq: a.seq,
        connector_id: a.connector_id,
        connector_name: a.connector_name.clone(),
        provider: a.provider.clone(),
        status: "pending".into(),
        outcome: None,
        provider_reference: None,
        provider_status: None,
        http_status: None,
        raw_code: None,
        decline_code: None,
        message: None,
        created_at: a.created_at,
        requested_at: None,
        responded_at: None,
        latency_ms: None,
        next_step: None,
        next_step_detail: None,
        reconciliation: None,
    }
}

fn apply_attempt_update(row: &mut AttemptRow, u: &AttemptUpdate) {
    if let Some(s) = u.status {
        row.status = s.as_str().to_owned();
    }
    row.outcome = u.outcome.clone();
    row.provider_reference = u
        .provider_reference
        .clone()
        .or(row.provider_reference.take());
    row.provider_status = u.provider_status.clone();
    row.http_status = u.http_status;
    row.raw_code = u.raw_code.clone();
    row.decline_code = u.decline_code.clone();
    row.message = u.message.clone();
    row.requested_at = u.requested_at;
    row.responded_at = u.responded_at;
    row.latency_ms = u.latency_ms;
    row.next_step = u.next_step.clone();
    row.next_step_detail = u.next_step_detail.clone();
    row.reconciliation = u.reconciliation.clone();
}

fn attempt_started_event(a: &NewAttempt, cause: &'static str) -> NewEvent {
    NewEvent {
        payment_id: a.payment_id,
        at: a.created_at,
        cause,
        kind: "attempt_started",
        from_status: None,
        to_status: None,
        attempt_id: Some(a.id),
        detail: format!(
            "attempt #{} on {} ({})",
            a.seq, a.connector_name, a.provider
        ),
    }
}

fn status_event(
    payment_id: Uuid,
    at: OffsetDateTime,
    cause: &'static str,
    from: PaymentStatus,
    to: PaymentStatus,
    attempt_id: Option<Uuid>,
    detail: String,
) -> NewEvent {
    NewEvent {
        payment_id,
        at,
        cause,
        kind: "status_changed",
        from_status: Some(from),
        to_status: Some(to),
        attempt_id,
        detail,
    }
}

fn money_text(p: &PaymentRow) -> String {
    let formatted = routing::Currency::parse(&p.currency)
        .map(|c| c.format_minor(p.amount_minor))
        .unwrap_or_default();
    format!(
        "{formatted} {} ({}, {}, {} capture)",
        p.currency, p.country, p.method, p.capture_mode
    )
}

fn name_of(connectors: &[store::config::ConnectorRecord], id: ConnectorId) -> String {
    connectors
        .iter()
        .find(|c| c.connector.id == id)
        .map(|c| c.connector.name.clone())
        .unwrap_or_else(|| id.to_string())
}

fn route_summary(d: &RouteDecision, connectors: &[store::config::ConnectorRecord]) -> String {
    let source = match &d.trace.source {
        RouteSource::Rule { index, name } => format!("rule {} \"{name}\"", index + 1),
        RouteSource::Weighted { roll } => format!("weighted (roll {roll:.3})"),
        RouteSource::Primary => "primary only".to_owned(),
        RouteSource::NoEligibleConnector => "no eligible connector".to_owned(),
    };
    let path: Vec<String> = d.path.iter().map(|id| name_of(connectors, *id)).collect();
    if path.is_empty() {
        source
    } else {
        format!("{source}: {}", path.join(" → "))
    }
}

fn no_route_message(trace: &RouteTrace) -> String {
    let reasons: Vec<&str> = trace
        .entries
        .iter()
        .map(|e| e.explanation.as_str())
        .collect();
    if reasons.is_empty() {
        "no eligible connector: the merchant has no connectors".to_owned()
    } else {
        format!("no eligible connector: {}", reasons.join("; "))
    }
}

fn outcome_text(r: &ProviderResult) -> String {
    let mut s = r.class.as_str().to_owned();
    if let Some(h) = r.http_status {
        s.push_str(&format!(" (HTTP {h}"));
        if let Some(c) = &r.raw_code {
            s.push_str(&format!(", {c}"));
        }
        if let Some(d) = &r.decline_code {
            s.push_str(&format!("/{d}"));
        }
        s.push(')');
    } else if let Some(m) = &r.message {
        s.push_str(&format!(" ({m})"));
    }
    s
}

pub(crate) fn reconciliation_text(found: &ProviderResult) -> String {
    match found.class {
        OutcomeClass::Approved => format!(
            "charge found ({}){}",
            found
                .provider_status
                .clone()
                .unwrap_or_else(|| "approved".into()),
            found
                .provider_reference
                .as_ref()
                .map(|r| format!(" {r}"))
                .unwrap_or_default()
        ),
        OutcomeClass::ProviderUnavailable => "no charge found: safe to fall back".to_owned(),
        OutcomeClass::UnknownOutcome => format!(
            "still unknown after retrieve{}",
            found
                .message
                .as_ref()
                .map(|m| format!(": {m}"))
                .unwrap_or_default()
        ),
        other @ (OutcomeClass::HardDecline
        | OutcomeClass::SoftDecline
        | OutcomeClass::NeedsCustomerAction
        | OutcomeClass::ValidationError
        | OutcomeClass::AuthConfigError
        | OutcomeClass::RateLimited) => format!(
            "original request answered {}: nothing charged",
            other.as_str()
        ),
    }
}

fn step_text(
    step: NextStep,
    class: OutcomeClass,
    connectors: &[store::config::ConnectorRecord],
) -> (String, String) {
    match step {
        NextStep::Succeed => ("succeed".into(), "approved: payment succeeds".into()),
        NextStep::Stop => (
            "stop".into(),
            format!("{}: stop, no fallback (policy)", class.as_str()),
        ),
        NextStep::Reconcile => (
            "reconcile".into(),
            "outcome unknown: retrieve before deciding".into(),
        ),
        NextStep::StopUnknown => (
            "stop_unknown".into(),
            "still unknown after retrieve: payment unknown, no fallback while a charge may exist"
                .into(),
        ),
        NextStep::RetrySame => (
            "retry_same".into(),
            format!("{}: retry the same connector", class.as_str()),
        ),
        NextStep::FallBack { to } => (
            "fall_back".into(),
            format!(
                "{}: fall back to {}",
                class.as_str(),
                name_of(connectors, to)
            ),
        ),
        NextStep::PathExhausted => (
            "path_exhausted".into(),
            format!("{}: no eligible step left", class.as_str()),
        ),
        NextStep::CapReached => (
            "cap_reached".into(),
            format!("{}: path cap reached", class.as_str()),
        ),
    }
}

/// The payment's final status after the last attempt (DESIGN.md §4.8, §5).
fn final_status(
    step: NextStep,
    r: &ProviderResult,
    capture: CaptureMode,
) -> (PaymentStatus, Option<String>, Option<String>) {
    match step {
        NextStep::Succeed => match capture {
            CaptureMode::Automatic => (PaymentStatus::Captured, None, None),
            CaptureMode::Manual => (PaymentStatus::Authorized, None, None),
        },
        NextStep::StopUnknown => (PaymentStatus::Unknown, Some("outcome_unknown".into()),
            Some("the provider did not answer and a retrieve could not tell whether it charged; the reconciler owns this payment".into())),
        NextStep::Stop | NextStep::PathExhausted | NextStep::CapReached | NextStep::Reconcile | NextStep::RetrySame | NextStep::FallBack { .. } => {
            if r.class == OutcomeClass::NeedsCustomerAction {
                return (PaymentStatus::RequiresAction, None, None);
            }
            let code = match r.class {
                OutcomeClass::HardDecline | OutcomeClass::SoftDecline => "card_declined",
                OutcomeClass::ValidationError => "provider_rejected_request",
                OutcomeClass::AuthConfigError | OutcomeClass::RateLimited | OutcomeClass::ProviderUnavailable => "providers_unavailable",
                OutcomeClass::UnknownOutcome => "outcome_unknown",
                OutcomeClass::Approved | OutcomeClass::NeedsCustomerAction => "failed",
            };
            let msg = format!("{}{}", outcome_text(r), match step {
                NextStep::PathExhausted => "; no eligible connector left",
                NextStep::CapReached => "; path cap reached",
                NextStep::Succeed
                | NextStep::Stop
                | NextStep::Reconcile
                | NextStep::StopUnknown
                | NextStep::RetrySame
                | NextStep::FallBack { .. } => "",
            });
            (PaymentStatus::Failed, Some(code.into()), Some(msg))
        }
    }
}

/// The public JSON shape of a payment (`POST`/`GET /v1/payments`), built from stored rows.
pub fn payment_body(
    p: &PaymentRow,
    attempts: &[AttemptRow],
    connectors: &[store::config::ConnectorRecord],
) -> serde_json::Value {
    let trace: Option<RouteTrace> = serde_json::from_value(p.route.clone()).ok();
    let path: Vec<serde_json::Value> = trace
        .as_ref()
        .map(|t| {
            let mut selected: Vec<(u32, &routing::TraceEntry)> = t
                .entries
                .iter()
                .filter_map(|e| match &e.verdict {
                    routing::Verdict::Selected { position, .. } => Some((*position, e)),
                    routing::Verdict::Skipped { .. } => None,
                })
                .collect();
            selected.sort_by_key(|(p, _)| *p);
            selected.into_iter().map(|(_, e)| serde_json::json!({"connector_id": e.connector_id, "name": e.connector_name})).collect()
        })
        .unwrap_or_default();
    let _ = connectors;
    let failure = p.failure_code.as_ref().map(|code| {
        let last = attempts.last();
        serde_json::json!({
            "code": code,
            "message": p.failure_message,
            "outcome": last.and_then(|a| a.outcome.clone()),
            "decline_code": last.and_then(|a| a.decline_code.clone()),
        })
    });
    serde_json::json!({
        "id": p.id,
        "object": "payment",
        "status": p.status,
        "mode": p.mode,
        "amount": p.amount_minor,
        "currency": p.currency,
        "amount_captured": p.captured_minor,
        "amount_refunded": p.refunded_minor,
        "capture_method": p.capture_mode,
        "billing": {"country": p.country},
        "payment_method_type": p.method,
        "merchant_reference": p.merchant_reference,
        "metadata": p.metadata,
        "failure": failure,
        "next_action": p.next_action_url.as_ref().map(|u| serde_json::json!({"type": "redirect_to_url", "url": u})),
        "attempts": attempts.iter().map(|a| serde_json::json!({
            "id": a.id,
            "seq": a.seq,
            "connector_id": a.connector_id,
            "connector_name": a.connector_name,
            "provider": a.provider,
            "status": a.status,
            "outcome": a.outcome,
            "provider_reference": a.provider_reference,
            "raw_code": a.raw_code,
            "decline_code": a.decline_code,
            "latency_ms": a.latency_ms,
            "next_step": a.next_step,
            "next_step_detail": a.next_step_detail,
            "reconciliation": a.reconciliation,
        })).collect::<Vec<_>>(),
        "route": {"path": path, "trace": trace},
        "created_at": p.created_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        "updated_at": p.updated_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
    })
}
