//! The background reconciler, and the one place where an observation about an attempt (from a
//! retrieve or a provider webhook) changes a payment.
//!
//! [`Reconciler::run_once`] leases due attempts in `unknown` on payments in `unknown`
//! (`store::reconcile::claim_unknown`: `FOR UPDATE SKIP LOCKED` + a lease, so several gateways
//! can run it), retrieves each from its provider with no database connection held, and drives
//! the payment to a final state through the guarded state machine (`routing::PaymentStatus::
//! allowed_from`). Still unknown: retried with exponential backoff ([`backoff`]) up to
//! [`ReconcilerSettings::max_tries`]; then it gives up, leaving the payment `unknown` (never
//! silently failed), flagged for review with the last error and a `reconcile_gave_up` event.
//!
//! [`settle`] applies an [`Observation`] inside the caller's transaction. A charge found on an
//! attempt whose payment already succeeded on another attempt (or ended failed/canceled) is an
//! extra authorization: it is marked `reversal = 'pending'` with events on both attempts, and
//! [`reverse`] voids it (or refunds it when captured) after the commit. Pending reversals left by
//! a crash are retried by every pass.
//!
//! Time enters through the injected [`crate::payments::Clock`].

use crate::EngineError;
use crate::payments::Payments;
use providers::{AuthorizeRequest, ProviderResult, RefundRequest, RetrieveRequest, VoidRequest};
use routing::{
    AttemptStatus, CaptureMode, OutcomeClass, PaymentContext, PaymentMethodType, PaymentStatus,
    PaymentToken, Provider,
};
use sqlx::PgConnection;
use std::collections::BTreeMap;
use std::time::Duration;
use store::payments::{NewEvent, PaymentUpdate};
use store::webhooks::AttemptResolution;
use time::OffsetDateTime;
use uuid::Uuid;

/// Reconciler tuning. All durations are wall-clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReconcilerSettings {
    /// Pause between passes.
    pub interval: Duration,
    /// Attempts leased per pass.
    pub batch: i64,
    /// Retrieves per attempt before giving up (>= 1).
    pub max_tries: i32,
    /// Wait after the first still-unknown retrieve; doubles per try.
    pub base_backoff: Duration,
    /// Cap of the wait between tries.
    pub max_backoff: Duration,
    /// How long a leased attempt is hidden from other reconcilers (longer than a provider call).
    pub lease: Duration,
}

impl Default for ReconcilerSettings {
    /// Every 5 s, 20 per pass, 8 tries, backoff 10 s doubling up to 1 h, 60 s lease.
    fn default() -> Self {
        ReconcilerSettings {
            interval: Duration::from_secs(5),
            batch: 20,
            max_tries: 8,
            base_backoff: Duration::from_secs(10),
            max_backoff: Duration::from_secs(3600),
            lease: Duration::from_secs(60),
        }
    }
}

/// Wait before the next try after `tries` retrieves (1-based): `base * 2^(tries-1)`, capped.
pub fn backoff(s: &ReconcilerSettings, tries: i32) -> Duration {
    let exp = u32::try_from(tries.saturating_sub(1)).unwrap_or(0).min(20);
    s.base_backoff
        .saturating_mul(1u32 << exp)
        .min(s.max_backoff)
}

/// How long after an authorize its original request may be replayed with the same idempotency
/// key to learn its outcome (a replay after the provider forgot the key would charge again).
/// Stripe keeps keys >= 24 h (REFERENCE.md §1.2), Braintree `apiRequestKey` 30 days (§0), Mollie
/// 1 h (§4.2). Square publishes no retention (§2.2) and has no lookup by idempotency key, so a
/// replay is its only reconciliation: it is allowed for 1 h (Square's card nonces are single-use
/// and expire after 24 h, §6, so an old key can never charge a second time). The windows keep a
/// safety margin.
pub fn replay_window(provider: Provider) -> Duration {
    match provider {
        Provider::Stripe => Duration::from_secs(23 * 3600),
        Provider::Braintree => Duration::from_secs(29 * 24 * 3600),
        Provider::Mollie => Duration::from_secs(50 * 60),
        Provider::Square => Duration::from_secs(3600),
        Provider::Simulator => Duration::from_secs(365 * 24 * 3600),
    }
}

/// What one [`Reconciler::run_once`] pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PassReport {
    /// Attempts leased.
    pub claimed: u32,
    /// Payments driven to a final state (or to an extra-charge reversal).
    pub resolved: u32,
    /// Still unknown, scheduled again.
    pub retried: u32,
    /// Given up after the last try.
    pub gave_up: u32,
    /// Extra charges voided or refunded in this pass.
    pub reversed: u32,
}

/// The background reconciler.
#[derive(Clone)]
pub struct Reconciler {
    payments: Payments,
    settings: ReconcilerSettings,
}

impl Reconciler {
    /// A reconciler using the payments service's pool, executor and clock.
    pub fn new(payments: Payments, settings: ReconcilerSettings) -> Reconciler {
        Reconciler { payments, settings }
    }

    /// Runs passes every [`ReconcilerSettings::interval`] until the task is aborted. Errors of a
    /// pass are logged (no secrets) and the next pass runs.
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                match self.run_once().await {
                    Ok(r) if r != PassReport::default() => {
                        tracing::info!(?r, "reconciler pass")
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "reconciler pass failed"),
                }
                tokio::time::sleep(self.settings.interval).await;
            }
        })
    }

    /// One pass: lease due unknown attempts, retrieve each, apply; then retry pending reversals.
    /// Errors: database failures.
    pub async fn run_once(&self) -> Result<PassReport, EngineError> {
        let now = self.payments.clock().now();
        let lease_until = now + self.settings.lease;
        let claimed = store::reconcile::claim_unknown(
            self.payments.pool(),
            now,
            lease_until,
            self.settings.batch,
        )
        .await?;
        let mut report = PassReport {
            claimed: u32::try_from(claimed.len()).unwrap_or(u32::MAX),
            ..PassReport::default()
        };
        for c in &claimed {
            match self.reconcile_one(c).await? {
                OneResult::Resolved { reversed } => {
                    report.resolved += 1;
                    report.reversed += u32::from(reversed);
                }
                OneResult::Retried => report.retried += 1,
                OneResult::GaveUp => report.gave_up += 1,
            }
        }
        let pending =
            store::webhooks::pending_reversals(self.payments.pool(), self.settings.batch).await?;
        for p in pending {
            let plan = ReversalPlan {
                merchant_id: p.merchant_id,
                payment_id: p.payment_id,
                attempt_id: p.attempt_id,
                connector_id: p.connector_id,
                provider_reference: p.provider_reference,
                refund: p.detail.as_deref().is_some_and(|d| d.starts_with("refund")),
                amount_minor: p.amount_minor,
                currency: p.currency,
            };
            if reverse(&self.payments, &plan, "reconciler").await? {
                report.reversed += 1;
            }
        }
        Ok(report)
    }

    async fn reconcile_one(
        &self,
        c: &store::reconcile::ClaimedAttempt,
    ) -> Result<OneResult, EngineError> {
        let pool = self.payments.pool();
        let Some(rec) = store::config::connector(pool, c.merchant_id, c.connector_id).await? else {
            return self
                .give_up(c, "the attempt's connector no longer exists")
                .await;
        };
        let account = self.payments.account(c.merchant_id, &rec).await?;
        let now = self.payments.clock().now();
        let age = now - c.sent_at;
        let original = if age < replay_window(rec.connector.provider) {
            original_request(c, &rec.connector)
        } else {
            None
        };
        let retrieve = RetrieveRequest {
            provider_reference: c.provider_reference.clone(),
            idempotency_key: c.attempt_id.to_string(),
            payment_id: c.payment_id.to_string(),
            original,
        };
        let found = self.payments.executor().retrieve(&account, &retrieve).await;
        let text = crate::payments::reconciliation_text(&found);
        let observation = match found.class {
            OutcomeClass::Approved => Observation::Charged {
                captured: found.captured,
                amount_minor: None,
            },
            OutcomeClass::ProviderUnavailable
            | OutcomeClass::HardDecline
            | OutcomeClass::SoftDecline
            | OutcomeClass::ValidationError => Observation::NotCharged { class: found.class },
            // Not an answer about the charge: the retrieve itself failed, or the customer step
            // is still open at the provider.
            OutcomeClass::UnknownOutcome
            | OutcomeClass::AuthConfigError
            | OutcomeClass::RateLimited
            | OutcomeClass::NeedsCustomerAction => {
                let error = format!("try {}: {text}", c.reconcile_attempts);
                if c.reconcile_attempts >= self.settings.max_tries {
                    return self.give_up(c, &error).await;
                }
                let next = now + backoff(&self.settings, c.reconcile_attempts);
                let mut conn = pool.acquire().await?;
                store::reconcile::schedule_retry(
                    &mut conn,
                    c.merchant_id,
                    c.attempt_id,
                    next,
                    &error,
                    found.provider_reference.as_deref(),
                )
                .await?;
                return Ok(OneResult::Retried);
            }
        };
        let target = Target {
            merchant_id: c.merchant_id,
            payment_id: c.payment_id,
            attempt_id: c.attempt_id,
            connector_id: c.connector_id,
            connector_name: rec.connector.name.clone(),
            amount_minor: c.amount_minor,
            currency: c.currency.clone(),
        };
        let resolution = resolution_from(&found, Some(text.clone()));
        let mut events = vec![NewEvent {
            payment_id: c.payment_id,
            at: now,
            cause: "reconciler",
            kind: "attempt_reconciled",
            from_status: None,
            to_status: None,
            attempt_id: Some(c.attempt_id),
            detail: format!(
                "{} (background try {}): {text}",
                rec.connector.name, c.reconcile_attempts
            ),
        }];
        let mut tx = pool.begin().await?;
        let settled = settle(
            &mut tx,
            &target,
            observation,
            &resolution,
            "reconciler",
            now,
            &mut events,
        )
        .await?;
        store::payments::insert_events(&mut tx, c.merchant_id, &events).await?;
        tx.commit().await?;
        let reversed = match settled.reversal {
            Some(plan) => reverse(&self.payments, &plan, "reconciler").await?,
            None => false,
        };
        Ok(OneResult::Resolved { reversed })
    }

    async fn give_up(
        &self,
        c: &store::reconcile::ClaimedAttempt,
        error: &str,
    ) -> Result<OneResult, EngineError> {
        let now = self.payments.clock().now();
        let mut tx = self.payments.pool().begin().await?;
        store::reconcile::give_up(&mut tx, c.merchant_id, c.attempt_id, now, error).await?;
        let reason = format!(
            "reconciler gave up after {} tries; the payment stays unknown: {error}",
            c.reconcile_attempts
        );
        store::webhooks::flag_for_review(&mut tx, c.merchant_id, c.payment_id, &reason, now)
            .await?;
        store::payments::insert_events(
            &mut tx,
            c.merchant_id,
            &[NewEvent {
                payment_id: c.payment_id,
                at: now,
                cause: "reconciler",
                kind: "reconcile_gave_up",
                from_status: None,
                to_status: None,
                attempt_id: Some(c.attempt_id),
                detail: reason,
            }],
        )
        .await?;
        tx.commit().await?;
        Ok(OneResult::GaveUp)
    }
}

enum OneResult {
    Resolved { reversed: bool },
    Retried,
    GaveUp,
}

/// Rebuilds the authorize request an attempt was sent with (same idempotency key = attempt id,
/// same amount, token, capture mode, reference and metadata), for an idempotent replay.
/// `None` when the stored payment cannot be read back into a context (never expected).
fn original_request(
    c: &store::reconcile::ClaimedAttempt,
    connector: &routing::Connector,
) -> Option<AuthorizeRequest> {
    let tokens: Vec<PaymentToken> = serde_json::from_value(c.tokens.clone()).ok()?;
    let method: PaymentMethodType =
        serde_json::from_value(serde_json::Value::String(c.method.clone())).ok()?;
    let capture: CaptureMode =
        serde_json::from_value(serde_json::Value::String(c.capture_mode.clone())).ok()?;
    let metadata: BTreeMap<String, String> = serde_json::from_value(c.metadata.clone()).ok()?;
    let ctx = PaymentContext::new(
        c.amount_minor,
        &c.currency,
        &c.country,
        method,
        c.card_brand.clone(),
        capture,
        tokens,
        metadata,
    )
    .ok()?;
    let token = routing::usable_token(&ctx, connector)?.to_owned();
    Some(AuthorizeRequest {
        idempotency_key: c.attempt_id.to_string(),
        payment_id: c.payment_id.to_string(),
        money: ctx.money,
        capture: ctx.capture,
        token,
        merchant_reference: c.merchant_reference.clone(),
        metadata: ctx.metadata.clone(),
    })
}

/// What a retrieve or a provider webhook says about one attempt's charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Observation {
    /// A charge exists (`captured` = money taken, else only authorized).
    Charged {
        /// Captured, not only authorized.
        captured: bool,
        /// Amount the provider reports, minor units, when it says.
        amount_minor: Option<i64>,
    },
    /// Nothing was charged; the class says why.
    NotCharged {
        /// Decline / unavailable class.
        class: OutcomeClass,
    },
    /// The authorization was canceled (voided, expired, abandoned).
    Canceled,
    /// Nothing to change (pending, refund notices, unknown types).
    NoChange,
}

/// The attempt an observation is about.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub merchant_id: Uuid,
    pub payment_id: Uuid,
    pub attempt_id: Uuid,
    pub connector_id: Uuid,
    pub connector_name: String,
    pub amount_minor: i64,
    pub currency: String,
}

/// An extra charge to void (or refund when captured), decided inside [`settle`].
#[derive(Debug, Clone)]
pub(crate) struct ReversalPlan {
    pub merchant_id: Uuid,
    pub payment_id: Uuid,
    pub attempt_id: Uuid,
    pub connector_id: Uuid,
    pub provider_reference: Option<String>,
    pub refund: bool,
    pub amount_minor: i64,
    pub currency: String,
}

/// What [`settle`] did: a result code (stored on webhook rows), a sentence, and a reversal to
/// run after the commit.
#[derive(Debug, Clone)]
pub(crate) struct Settled {
    pub result: &'static str,
    pub detail: String,
    pub reversal: Option<ReversalPlan>,
}

fn settled(result: &'static str, detail: impl Into<String>) -> Settled {
    Settled {
        result,
        detail: detail.into(),
        reversal: None,
    }
}

/// The attempt fields a provider answer carries.
pub(crate) fn resolution_from(
    r: &ProviderResult,
    reconciliation: Option<String>,
) -> AttemptResolution {
    AttemptResolution {
        outcome: Some(r.class.as_str().to_owned()),
        provider_reference: r.provider_reference.clone(),
        provider_status: r.provider_status.clone(),
        raw_code: r.raw_code.clone(),
        decline_code: r.decline_code.clone(),
        message: r.message.clone(),
        reconciliation,
    }
}

fn failure_code(class: OutcomeClass) -> &'static str {
    match class {
        OutcomeClass::HardDecline | OutcomeClass::SoftDecline => "card_declined",
        OutcomeClass::ValidationError => "provider_rejected_request",
        OutcomeClass::NeedsCustomerAction => "authentication_failed",
        OutcomeClass::AuthConfigError
        | OutcomeClass::RateLimited
        | OutcomeClass::ProviderUnavailable
        | OutcomeClass::UnknownOutcome
        | OutcomeClass::Approved => "providers_unavailable",
    }
}

/// Applies an observation about `t`'s attempt inside `tx`, only through guarded updates, and
/// pushes the events to write (the caller inserts them in the same transaction):
/// - charge found: attempt -> succeeded; the payment -> captured/authorized when it is still
///   processing / requires_action / unknown; an extra charge (another attempt already holds the
///   payment's money, or the payment ended failed/canceled) -> reversal planned;
/// - nothing charged: attempt -> failed; the payment -> failed only when this is its latest
///   attempt and it is in requires_action/unknown; a failure reported for the attempt that
///   succeeded (late failure) changes nothing and flags the payment for review;
/// - canceled: payment -> canceled when authorized/requires_action/unknown; a captured payment
///   is kept and flagged.
pub(crate) async fn settle(
    tx: &mut PgConnection,
    t: &Target,
    obs: Observation,
    resolution: &AttemptResolution,
    cause: &'static str,
    at: OffsetDateTime,
    events: &mut Vec<NewEvent>,
) -> Result<Settled, EngineError> {
    let Some(st) =
        store::webhooks::lock_state(tx, t.merchant_id, t.payment_id, t.attempt_id).await?
    else {
        return Ok(settled("unmatched", "payment or attempt not found"));
    };
    let pstatus = PaymentStatus::parse(&st.payment_status).unwrap_or(PaymentStatus::Unknown);
    let astatus = AttemptStatus::parse(&st.attempt_status).unwrap_or(AttemptStatus::Unknown);
    let event = |kind: &'static str, attempt: Uuid, detail: String| NewEvent {
        payment_id: t.payment_id,
        at,
        cause,
        kind,
        from_status: None,
        to_status: None,
        attempt_id: Some(attempt),
        detail,
    };
    match obs {
        Observation::NoChange => Ok(settled("no_change", "nothing to apply")),
        Observation::Charged {
            captured,
            amount_minor,
        } => {
            store::webhooks::resolve_attempt(
                tx,
                t.merchant_id,
                t.attempt_id,
                AttemptStatus::Succeeded,
                resolution,
                at,
            )
            .await?;
            let other = store::webhooks::other_succeeded_attempt(
                tx,
                t.merchant_id,
                t.payment_id,
                t.attempt_id,
            )
            .await?;
            let ended_without_money =
                matches!(pstatus, PaymentStatus::Failed | PaymentStatus::Canceled);
            if other.is_some() || ended_without_money {
                let verb = if captured { "refund" } else { "void" };
                let why = match &other {
                    Some((_, name)) => format!("the payment already succeeded on {name}"),
                    None => format!("the payment already ended {}", pstatus.as_str()),
                };
                let detail = format!(
                    "{verb}: extra {} found on {}; {why}",
                    if captured { "capture" } else { "authorization" },
                    t.connector_name
                );
                let first = store::webhooks::set_reversal(
                    tx,
                    t.merchant_id,
                    t.attempt_id,
                    "pending",
                    &detail,
                    resolution.provider_reference.as_deref(),
                )
                .await?;
                if !first {
                    return Ok(settled("no_change", "extra charge already being reversed"));
                }
                events.push(event("extra_charge_found", t.attempt_id, detail.clone()));
                if let Some((other_id, _)) = other {
                    events.push(event(
                        "extra_charge_found",
                        other_id,
                        format!(
                            "this attempt holds the payment; an extra charge on {} will be {}",
                            t.connector_name,
                            if captured { "refunded" } else { "voided" }
                        ),
                    ));
                }
                let reference = resolution.provider_reference.clone();
                return Ok(Settled {
                    result: "extra_charge_reversed",
                    detail,
                    reversal: Some(ReversalPlan {
                        merchant_id: t.merchant_id,
                        payment_id: t.payment_id,
                        attempt_id: t.attempt_id,
                        connector_id: t.connector_id,
                        provider_reference: reference,
                        refund: captured,
                        amount_minor: amount_minor.unwrap_or(t.amount_minor),
                        currency: t.currency.clone(),
                    }),
                });
            }
            match pstatus {
                PaymentStatus::Processing
                | PaymentStatus::RequiresAction
                | PaymentStatus::Unknown => {}
                PaymentStatus::Authorized
                | PaymentStatus::Captured
                | PaymentStatus::Failed
                | PaymentStatus::Canceled => {
                    return Ok(settled(
                        "no_change",
                        format!("payment already {}", pstatus.as_str()),
                    ));
                }
            }
            let to = if captured {
                PaymentStatus::Captured
            } else {
                PaymentStatus::Authorized
            };
            let delta = if captured && st.captured_minor == 0 {
                amount_minor.unwrap_or(t.amount_minor)
            } else {
                0
            };
            let pu = PaymentUpdate {
                status: to,
                failure_code: None,
                failure_message: None,
                next_action_url: None,
                captured_delta: delta,
                refunded_delta: 0,
                at,
            };
            apply_status(
                tx,
                t,
                &pu,
                pstatus,
                cause,
                at,
                events,
                format!("{} on {}", to.as_str(), t.connector_name),
            )
            .await
        }
        Observation::NotCharged { class } => {
            if astatus == AttemptStatus::Succeeded {
                return flag_late(
                    tx,
                    t,
                    pstatus,
                    &format!(
                        "late {} reported for the attempt that succeeded",
                        class.as_str()
                    ),
                    cause,
                    at,
                    events,
                )
                .await;
            }
            store::webhooks::resolve_attempt(
                tx,
                t.merchant_id,
                t.attempt_id,
                AttemptStatus::Failed,
                resolution,
                at,
            )
            .await?;
            if st.latest_attempt_id != t.attempt_id {
                return Ok(settled("no_change", "a later attempt owns the payment"));
            }
            match pstatus {
                PaymentStatus::RequiresAction | PaymentStatus::Unknown => {}
                PaymentStatus::Processing => {
                    return Ok(settled("no_change", "the payment is still being processed"));
                }
                PaymentStatus::Authorized | PaymentStatus::Captured => {
                    return flag_late(
                        tx,
                        t,
                        pstatus,
                        &format!("late {} reported", class.as_str()),
                        cause,
                        at,
                        events,
                    )
                    .await;
                }
                PaymentStatus::Failed | PaymentStatus::Canceled => {
                    return Ok(settled(
                        "no_change",
                        format!("payment already {}", pstatus.as_str()),
                    ));
                }
            }
            let message = format!(
                "{} on {}{}",
                class.as_str(),
                t.connector_name,
                resolution
                    .decline_code
                    .as_ref()
                    .or(resolution.raw_code.as_ref())
                    .map(|c| format!(" ({c})"))
                    .unwrap_or_default()
            );
            let pu = PaymentUpdate {
                status: PaymentStatus::Failed,
                failure_code: Some(failure_code(class).to_owned()),
                failure_message: Some(message.clone()),
                next_action_url: None,
                captured_delta: 0,
                refunded_delta: 0,
                at,
            };
            apply_status(tx, t, &pu, pstatus, cause, at, events, message).await
        }
        Observation::Canceled => {
            match pstatus {
                PaymentStatus::Authorized
                | PaymentStatus::RequiresAction
                | PaymentStatus::Unknown => {}
                PaymentStatus::Captured => {
                    return flag_late(
                        tx,
                        t,
                        pstatus,
                        "provider reports the payment canceled",
                        cause,
                        at,
                        events,
                    )
                    .await;
                }
                PaymentStatus::Processing | PaymentStatus::Failed | PaymentStatus::Canceled => {
                    return Ok(settled(
                        "no_change",
                        format!("payment {}", pstatus.as_str()),
                    ));
                }
            }
            if astatus != AttemptStatus::Succeeded {
                store::webhooks::resolve_attempt(
                    tx,
                    t.merchant_id,
                    t.attempt_id,
                    AttemptStatus::Failed,
                    resolution,
                    at,
                )
                .await?;
            } else if pstatus != PaymentStatus::Authorized {
                return Ok(settled(
                    "no_change",
                    "cancel of an attempt that does not hold the payment",
                ));
            }
            let pu = PaymentUpdate {
                status: PaymentStatus::Canceled,
                failure_code: None,
                failure_message: None,
                next_action_url: None,
                captured_delta: 0,
                refunded_delta: 0,
                at,
            };
            apply_status(
                tx,
                t,
                &pu,
                pstatus,
                cause,
                at,
                events,
                format!("canceled at {}", t.connector_name),
            )
            .await
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn apply_status(
    tx: &mut PgConnection,
    t: &Target,
    pu: &PaymentUpdate,
    seen: PaymentStatus,
    cause: &'static str,
    at: OffsetDateTime,
    events: &mut Vec<NewEvent>,
    detail: String,
) -> Result<Settled, EngineError> {
    match store::payments::update_payment_status(tx, t.merchant_id, t.payment_id, pu).await? {
        Some(from) => {
            events.push(NewEvent {
                payment_id: t.payment_id,
                at,
                cause,
                kind: "status_changed",
                from_status: Some(from),
                to_status: Some(pu.status),
                attempt_id: Some(t.attempt_id),
                detail: detail.clone(),
            });
            Ok(settled(
                "applied",
                format!("{} -> {}: {detail}", from.as_str(), pu.status.as_str()),
            ))
        }
        None => {
            flag_late(
                tx,
                t,
                seen,
                &format!("{} refused by the state machine", pu.status.as_str()),
                cause,
                at,
                events,
            )
            .await
        }
    }
}

/// Keeps the payment as it is, flags it for review and records why.
async fn flag_late(
    tx: &mut PgConnection,
    t: &Target,
    pstatus: PaymentStatus,
    what: &str,
    cause: &'static str,
    at: OffsetDateTime,
    events: &mut Vec<NewEvent>,
) -> Result<Settled, EngineError> {
    let reason = format!(
        "{what} on {} while the payment is {}: kept {}, needs review",
        t.connector_name,
        pstatus.as_str(),
        pstatus.as_str()
    );
    store::webhooks::flag_for_review(tx, t.merchant_id, t.payment_id, &reason, at).await?;
    events.push(NewEvent {
        payment_id: t.payment_id,
        at,
        cause,
        kind: "late_failure_flagged",
        from_status: Some(pstatus),
        to_status: None,
        attempt_id: Some(t.attempt_id),
        detail: reason.clone(),
    });
    Ok(settled("late_failure_flagged", reason))
}

/// Voids (or refunds, when captured) an extra charge decided by [`settle`], then records the
/// result on the attempt (`reversal` = `voided` / `refunded` / `failed`) with an event. A void
/// the provider refuses is retried as a refund (the charge may have been captured meanwhile).
/// Without a provider reference nothing can be reversed: `failed`, flagged for review. Returns
/// whether the charge was reversed. The idempotency key `rev-<attempt id>` (40 chars, within
/// Square's 45) makes a retry after a crash safe.
pub(crate) async fn reverse(
    payments: &Payments,
    plan: &ReversalPlan,
    cause: &'static str,
) -> Result<bool, EngineError> {
    let pool = payments.pool();
    let rec = store::config::connector(pool, plan.merchant_id, plan.connector_id).await?;
    let (state, detail) = match (&plan.provider_reference, rec) {
        (None, _) => (
            "failed",
            "no provider reference for the extra charge: reverse it by hand".to_owned(),
        ),
        (Some(_), None) => ("failed", "the connector no longer exists".to_owned()),
        (Some(reference), Some(rec)) => {
            let account = payments.account(plan.merchant_id, &rec).await?;
            let key = format!("rev-{}", plan.attempt_id);
            let refund = |payments: &Payments| {
                let money = routing::Currency::parse(&plan.currency)
                    .ok()
                    .and_then(|c| routing::Money::new(plan.amount_minor, c).ok());
                let req = money.map(|money| RefundRequest {
                    idempotency_key: key.clone(),
                    provider_reference: reference.clone(),
                    money,
                    reason: Some("duplicate".into()),
                });
                let ex = payments.executor().clone();
                let account = account.clone();
                async move {
                    match req {
                        Some(req) => ex.refund(&account, &req).await,
                        None => ProviderResult::new(OutcomeClass::ValidationError)
                            .with_message("stored amount/currency invalid"),
                    }
                }
            };
            let mut result = if plan.refund {
                refund(payments).await
            } else {
                payments
                    .executor()
                    .void(
                        &account,
                        &VoidRequest {
                            idempotency_key: key.clone(),
                            provider_reference: reference.clone(),
                        },
                    )
                    .await
            };
            let mut refunded = plan.refund;
            if result.class != OutcomeClass::Approved && !plan.refund {
                result = refund(payments).await;
                refunded = true;
            }
            if result.class == OutcomeClass::Approved {
                (
                    if refunded { "refunded" } else { "voided" },
                    format!(
                        "extra charge {reference} on {} {}",
                        rec.connector.name,
                        if refunded { "refunded" } else { "voided" }
                    ),
                )
            } else {
                (
                    "failed",
                    format!(
                        "could not reverse extra charge {reference} on {}: {}",
                        rec.connector.name,
                        result
                            .message
                            .clone()
                            .unwrap_or_else(|| result.class.as_str().to_owned())
                    ),
                )
            }
        }
    };
    let at = payments.clock().now();
    let mut tx = pool.begin().await?;
    store::webhooks::set_reversal(
        &mut tx,
        plan.merchant_id,
        plan.attempt_id,
        state,
        &detail,
        None,
    )
    .await?;
    if state == "failed" {
        store::webhooks::flag_for_review(&mut tx, plan.merchant_id, plan.payment_id, &detail, at)
            .await?;
    }
    store::payments::insert_events(
        &mut tx,
        plan.merchant_id,
        &[NewEvent {
            payment_id: plan.payment_id,
            at,
            cause,
            kind: if state == "failed" {
                "extra_charge_reversal_failed"
            } else {
                "extra_charge_reversed"
            },
            from_status: None,
            to_status: None,
            attempt_id: Some(plan.attempt_id),
            detail,
        }],
    )
    .await?;
    tx.commit().await?;
    Ok(state != "failed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let s = ReconcilerSettings {
            base_backoff: Duration::from_secs(10),
            max_backoff: Duration::from_secs(60),
            ..ReconcilerSettings::default()
        };
        let got: Vec<u64> = (1..=6).map(|n| backoff(&s, n).as_secs()).collect();
        assert_eq!(got, [10, 20, 40, 60, 60, 60]);
        assert_eq!(backoff(&s, 0).as_secs(), 10);
        assert_eq!(backoff(&s, i32::MAX).as_secs(), 60);
    }
}
