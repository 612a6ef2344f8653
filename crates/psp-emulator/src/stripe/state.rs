//! The emulated Stripe accounts: one per API key, each with its PaymentIntents, refunds and saved
//! idempotent responses. Operations run synchronously under the account's lock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use axum::body::Bytes;
use serde_json::{Value, json};

use super::cards::{self, Behavior, Decline};
use super::model::{ApiError, PaymentIntent, PaymentMethod, Refund, Status, now_unix, rand_id};
use super::params::{ConfirmParams, CreateParams, Op, RefundParams, three_decimal_error};
use super::search::Query;

/// The API version assumed when a request sends no `Stripe-Version` (an account created today).
pub const DEFAULT_API_VERSION: &str = "2026-09-30.endive";

/// What a request needs to know about itself.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// `req_…`
    pub rid: String,
    /// The emulator's base URL (for 3-D Secure redirect URLs).
    pub base_url: Arc<str>,
    /// `Stripe-Version`, or [`DEFAULT_API_VERSION`].
    pub version: String,
}

impl Ctx {
    /// Whether the request's API version is at least `date` (`YYYY-MM-DD`).
    pub fn version_at_least(&self, date: &str) -> bool {
        self.version.get(..10).unwrap_or("") >= date
    }
}

/// A response saved under an idempotency key.
#[derive(Debug, Clone)]
pub struct Saved {
    /// HTTP status.
    pub status: u16,
    /// Exact body bytes.
    pub body: Bytes,
    /// The `Request-Id` of the request that produced it.
    pub request_id: String,
}

#[derive(Debug)]
enum IdemEntry {
    InFlight { fingerprint: u64 },
    Done { fingerprint: u64, saved: Saved },
}

/// Result of presenting an idempotency key.
#[derive(Debug)]
pub enum Claim {
    /// The key is now ours; save the response with [`Account::save`].
    Claimed,
    /// A response is saved for the same parameters.
    Replay(Saved),
    /// The key was used with other parameters.
    Mismatch,
    /// A request with this key is still being processed.
    InUse,
}

#[derive(Debug, Default)]
struct Data {
    intents: HashMap<String, PaymentIntent>,
    /// Creation order, oldest first.
    order: Vec<String>,
    by_metadata: HashMap<(String, String), Vec<String>>,
    by_charge: HashMap<String, String>,
    refunds: HashMap<String, Refund>,
    idempotency: HashMap<String, IdemEntry>,
}

/// One emulated Stripe account (one API key).
#[derive(Debug, Default)]
pub struct Account {
    data: Mutex<Data>,
}

/// All accounts.
#[derive(Debug, Default)]
pub struct StripeState {
    accounts: RwLock<HashMap<String, Arc<Account>>>,
}

impl StripeState {
    /// The account of `key`, created on first use.
    pub fn account(&self, key: &str) -> Arc<Account> {
        crate::pipeline::account_of(&self.accounts, key)
    }

    /// The account holding PaymentIntent `id`, if any.
    pub fn find_intent(&self, id: &str) -> Option<Arc<Account>> {
        let accounts = self.accounts.read().unwrap_or_else(PoisonError::into_inner);
        accounts
            .values()
            .find(|a| a.lock().intents.contains_key(id))
            .cloned()
    }

    /// The API key owning PaymentIntent `id`, if any (for webhooks after 3-D Secure).
    pub fn find_intent_key(&self, id: &str) -> Option<String> {
        let accounts = self.accounts.read().unwrap_or_else(PoisonError::into_inner);
        accounts
            .iter()
            .find(|(_, a)| a.lock().intents.contains_key(id))
            .map(|(k, _)| k.clone())
    }

    /// PaymentIntent `id` of `key` as JSON, and the total refunded on it (minor units).
    pub fn intent_with_refunds(&self, key: &str, id: &str) -> Option<(Value, i64)> {
        let accounts = self.accounts.read().unwrap_or_else(PoisonError::into_inner);
        let data = accounts.get(key)?.lock();
        let pi = data.intents.get(id)?.to_json();
        let refunded = data
            .refunds
            .values()
            .filter(|r| r.payment_intent == id)
            .map(|r| r.amount)
            .sum();
        Some((pi, refunded))
    }

    /// The PaymentIntents of `key`, newest first.
    pub fn intents_json(&self, key: &str) -> Vec<Value> {
        let accounts = self.accounts.read().unwrap_or_else(PoisonError::into_inner);
        let Some(account) = accounts.get(key) else {
            return Vec::new();
        };
        let data = account.lock();
        data.order
            .iter()
            .rev()
            .filter_map(|id| data.intents.get(id))
            .map(PaymentIntent::to_json)
            .collect()
    }
}

type OpResult = Result<Value, ApiError>;

fn no_such_intent(ctx: &Ctx, id: &str) -> ApiError {
    ApiError::no_such(404, &ctx.rid, "payment_intent", id, "intent")
}

fn approve(pi: &mut PaymentIntent, by_charge: &mut HashMap<String, String>) {
    let charge = rand_id("ch_3", 24);
    by_charge.insert(charge.clone(), pi.id.clone());
    pi.latest_charge = Some(charge);
    pi.last_payment_error = None;
    pi.next_action = None;
    if pi.is_automatic() {
        pi.status = Status::Succeeded;
        pi.amount_received = pi.amount;
        pi.amount_capturable = 0;
    } else {
        pi.status = Status::RequiresCapture;
        pi.amount_capturable = pi.amount;
    }
}

fn decline(
    pi: &mut PaymentIntent,
    by_charge: &mut HashMap<String, String>,
    d: &Decline,
    ctx: &Ctx,
) -> ApiError {
    let charge = rand_id("ch_3", 24);
    by_charge.insert(charge.clone(), pi.id.clone());
    let error = ApiError::card_error_object(&ctx.rid, d, &charge, pi.payment_method.as_ref());
    let mut last = error.clone();
    last.remove("request_log_url");
    pi.last_payment_error = Some(Value::Object(last));
    pi.latest_charge = Some(charge);
    pi.status = Status::RequiresPaymentMethod;
    pi.payment_method = None;
    pi.next_action = None;
    ApiError::declined(error, pi)
}

fn needs_return_url(pi: &PaymentIntent) -> bool {
    pi.return_url.is_none()
        && pi
            .automatic_payment_methods
            .as_ref()
            .and_then(|a| a.get("allow_redirects"))
            .and_then(Value::as_str)
            == Some("always")
}

const RETURN_URL_MESSAGE: &str = "This PaymentIntent is configured to accept payment methods enabled in your Dashboard. Because some of these payment methods might redirect your customer off of your page, you must provide a `return_url`. If you don't want to accept redirect-based payment methods, set `automatic_payment_methods[enabled]` to `true` and `automatic_payment_methods[allow_redirects]` to `never` when creating Setup Intents and Payment Intents.";

/// Confirms `pi` with its attached payment method.
fn confirm(
    pi: &mut PaymentIntent,
    by_charge: &mut HashMap<String, String>,
    no_customer_action: bool,
    forced_decline: Option<&str>,
    ctx: &Ctx,
) -> OpResult {
    let Some(card) = pi.payment_method.as_ref().map(|pm| pm.card) else {
        return Err(ApiError::unexpected_state(
            &ctx.rid,
            "You cannot confirm this PaymentIntent because it's missing a payment method. Update the payment_method and try again.".into(),
            pi,
        ));
    };
    if needs_return_url(pi) {
        return Err(ApiError::invalid_request(
            400,
            &ctx.rid,
            RETURN_URL_MESSAGE,
            None,
            Some("return_url"),
        ));
    }
    // The card's own decline wins; a forced decline (fault) replaces approvals and 3DS.
    let decline_code = match (card.behavior, forced_decline) {
        (Behavior::Decline(code), _) => Some(code),
        (Behavior::Approve | Behavior::RequireAction, forced) => forced,
    };
    if let Some(code) = decline_code {
        return Err(decline(pi, by_charge, &Decline::for_code(code), ctx));
    }
    match card.behavior {
        Behavior::Approve | Behavior::Decline(_) => {
            approve(pi, by_charge);
            Ok(pi.to_json())
        }
        Behavior::RequireAction if no_customer_action => Err(decline(
            pi,
            by_charge,
            &Decline::for_code("authentication_required"),
            ctx,
        )),
        Behavior::RequireAction => {
            pi.status = Status::RequiresAction;
            pi.last_payment_error = None;
            pi.next_action = Some(json!({
                "redirect_to_url": {
                    "return_url": pi.return_url,
                    "url": format!("{}/_emulator/stripe/3ds/{}", ctx.base_url, pi.id),
                },
                "type": "redirect_to_url"
            }));
            Ok(pi.to_json())
        }
    }
}

fn status_list(statuses: &[Status]) -> String {
    statuses
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

impl Account {
    fn lock(&self) -> MutexGuard<'_, Data> {
        self.data.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Presents idempotency key `key` for a request with `fingerprint`.
    pub fn claim(&self, key: &str, fingerprint: u64) -> Claim {
        let mut data = self.lock();
        match data.idempotency.get(key) {
            Some(IdemEntry::Done {
                fingerprint: f,
                saved,
            }) => {
                if *f == fingerprint {
                    Claim::Replay(saved.clone())
                } else {
                    Claim::Mismatch
                }
            }
            Some(IdemEntry::InFlight { fingerprint: f }) => {
                if *f == fingerprint {
                    Claim::InUse
                } else {
                    Claim::Mismatch
                }
            }
            None => {
                data.idempotency
                    .insert(key.to_owned(), IdemEntry::InFlight { fingerprint });
                Claim::Claimed
            }
        }
    }

    /// Saves the response of a claimed key.
    pub fn save(&self, key: &str, fingerprint: u64, saved: Saved) {
        self.lock()
            .idempotency
            .insert(key.to_owned(), IdemEntry::Done { fingerprint, saved });
    }

    /// Runs a validated POST.
    pub fn execute(&self, op: Op, forced_decline: Option<&str>, ctx: &Ctx) -> OpResult {
        let mut data = self.lock();
        match op {
            Op::Create(p) => data.create(*p, forced_decline, ctx),
            Op::Confirm(id, p) => data.confirm(&id, p, forced_decline, ctx),
            Op::Capture(id, amount) => data.capture(&id, amount, ctx),
            Op::Cancel(id, reason) => data.cancel(&id, reason, ctx),
            Op::Refund(p) => data.refund(p, ctx),
        }
    }

    /// `GET /v1/payment_intents/{id}`
    pub fn get_intent(&self, id: &str, ctx: &Ctx) -> OpResult {
        self.lock()
            .intents
            .get(id)
            .map(PaymentIntent::to_json)
            .ok_or_else(|| no_such_intent(ctx, id))
    }

    /// `GET /v1/refunds/{id}`
    pub fn get_refund(&self, id: &str, ctx: &Ctx) -> OpResult {
        self.lock()
            .refunds
            .get(id)
            .map(Refund::to_json)
            .ok_or_else(|| ApiError::no_such(404, &ctx.rid, "refund", id, "id"))
    }

    /// Newest-first PaymentIntents matching `query` (all if `None`), at most `limit`.
    pub fn list(&self, query: Option<&Query>, limit: usize) -> (Vec<Value>, bool) {
        let data = self.lock();
        let candidates: Box<dyn Iterator<Item = &String>> =
            match query.and_then(Query::metadata_hint) {
                Some((k, v)) => match data.by_metadata.get(&(k.to_owned(), v.to_owned())) {
                    Some(ids) => Box::new(ids.iter().rev()),
                    None => Box::new(std::iter::empty()),
                },
                None => Box::new(data.order.iter().rev()),
            };
        let mut matches = candidates
            .filter_map(|id| data.intents.get(id))
            .filter(|pi| query.is_none_or(|q| q.matches(pi)));
        let page: Vec<Value> = matches
            .by_ref()
            .take(limit)
            .map(PaymentIntent::to_json)
            .collect();
        let has_more = matches.next().is_some();
        (page, has_more)
    }

    /// Completes (or fails) 3-D Secure for a PaymentIntent in `requires_action`.
    pub fn complete_3ds(&self, id: &str, succeed: bool) -> Result<PaymentIntent, String> {
        let mut data = self.lock();
        let Data {
            intents, by_charge, ..
        } = &mut *data;
        let pi = intents
            .get_mut(id)
            .ok_or_else(|| format!("No such payment_intent: '{id}'"))?;
        if pi.status != Status::RequiresAction {
            return Err(format!(
                "PaymentIntent {id} has status {}, not requires_action",
                pi.status.as_str()
            ));
        }
        if succeed {
            approve(pi, by_charge);
        } else {
            let pm = pi.payment_method.take();
            pi.status = Status::RequiresPaymentMethod;
            pi.next_action = None;
            pi.last_payment_error = Some(json!({
                "code": "payment_intent_authentication_failure",
                "doc_url": "https://stripe.com/docs/error-codes/payment-intent-authentication-failure",
                "message": "The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent again.",
                "payment_method": pm.as_ref().map(PaymentMethod::to_json),
                "type": "invalid_request_error"
            }));
        }
        Ok(pi.clone())
    }
}

impl Data {
    fn create(&mut self, p: CreateParams, forced_decline: Option<&str>, ctx: &Ctx) -> OpResult {
        let payment_method = match &p.payment_method {
            None => None,
            Some(pm) => Some(PaymentMethod::new(cards::lookup(pm).ok_or_else(|| {
                ApiError::no_such(400, &ctx.rid, "PaymentMethod", pm, "payment_method")
            })?)),
        };
        let modern = ctx.version_at_least("2023-08-16");
        let automatic_payment_methods =
            match (&p.automatic_payment_methods, &p.payment_method_types) {
                (Some(redirects), _) => {
                    Some(json!({"allow_redirects": redirects, "enabled": true}))
                }
                (None, None) if modern => {
                    Some(json!({"allow_redirects": "always", "enabled": true}))
                }
                (None, _) => None,
            };
        let capture_method = p.capture_method.clone().unwrap_or_else(|| {
            if ctx.version_at_least("2024-04-10") {
                "automatic_async".to_owned()
            } else {
                "automatic".to_owned()
            }
        });
        let id = rand_id("pi_3", 24);
        let mut pi = PaymentIntent {
            client_secret: rand_id(&format!("{id}_secret_"), 25),
            id: id.clone(),
            amount: p.amount,
            amount_capturable: 0,
            amount_received: 0,
            amount_refunded: 0,
            currency: p.currency,
            capture_method,
            status: if payment_method.is_some() {
                Status::RequiresConfirmation
            } else {
                Status::RequiresPaymentMethod
            },
            created: now_unix(),
            canceled_at: None,
            cancellation_reason: None,
            metadata: p.metadata,
            description: p.description,
            customer: p.customer,
            receipt_email: p.receipt_email,
            statement_descriptor: p.statement_descriptor,
            statement_descriptor_suffix: p.statement_descriptor_suffix,
            setup_future_usage: p.setup_future_usage,
            transfer_group: p.transfer_group,
            payment_method,
            payment_method_types: p
                .payment_method_types
                .unwrap_or_else(|| vec!["card".to_owned()]),
            automatic_payment_methods,
            latest_charge: None,
            last_payment_error: None,
            next_action: None,
            return_url: p.return_url,
        };
        if p.confirm && needs_return_url(&pi) {
            // Stripe rejects the whole request; nothing is created.
            return Err(ApiError::invalid_request(
                400,
                &ctx.rid,
                RETURN_URL_MESSAGE,
                None,
                Some("return_url"),
            ));
        }
        let result = if p.confirm {
            confirm(
                &mut pi,
                &mut self.by_charge,
                p.no_customer_action,
                forced_decline,
                ctx,
            )
        } else {
            Ok(pi.to_json())
        };
        for (k, v) in &pi.metadata {
            self.by_metadata
                .entry((k.clone(), v.clone()))
                .or_default()
                .push(id.clone());
        }
        self.order.push(id.clone());
        self.intents.insert(id, pi);
        result
    }

    fn confirm(
        &mut self,
        id: &str,
        p: ConfirmParams,
        forced_decline: Option<&str>,
        ctx: &Ctx,
    ) -> OpResult {
        let pi = self
            .intents
            .get_mut(id)
            .ok_or_else(|| no_such_intent(ctx, id))?;
        let allowed = [
            Status::RequiresPaymentMethod,
            Status::RequiresConfirmation,
            Status::RequiresAction,
        ];
        if !allowed.contains(&pi.status) {
            return Err(ApiError::unexpected_state(
                &ctx.rid,
                format!(
                    "You cannot confirm this PaymentIntent because it has a status of {}. Only a PaymentIntent with one of the following statuses may be confirmed: {}.",
                    pi.status.as_str(),
                    status_list(&allowed)
                ),
                pi,
            ));
        }
        if let Some(pm) = &p.payment_method {
            let card = cards::lookup(pm).ok_or_else(|| {
                ApiError::no_such(400, &ctx.rid, "PaymentMethod", pm, "payment_method")
            })?;
            pi.payment_method = Some(PaymentMethod::new(card));
        }
        if let Some(url) = p.return_url {
            pi.return_url = Some(url);
        }
        if let Some(cm) = p.capture_method {
            pi.capture_method = cm;
        }
        confirm(
            pi,
            &mut self.by_charge,
            p.no_customer_action,
            forced_decline,
            ctx,
        )
    }

    fn capture(&mut self, id: &str, amount: Option<i64>, ctx: &Ctx) -> OpResult {
        let pi = self
            .intents
            .get_mut(id)
            .ok_or_else(|| no_such_intent(ctx, id))?;
        if pi.status != Status::RequiresCapture {
            return Err(ApiError::unexpected_state(
                &ctx.rid,
                format!(
                    "This PaymentIntent could not be captured because it has a status of {}. Only a PaymentIntent with one of the following statuses may be captured: requires_capture.",
                    pi.status.as_str()
                ),
                pi,
            ));
        }
        if let Some(e) =
            amount.and_then(|a| three_decimal_error(&ctx.rid, &pi.currency, a, "amount_to_capture"))
        {
            return Err(e);
        }
        let amount = amount.unwrap_or(pi.amount_capturable);
        if amount > pi.amount_capturable {
            return Err(ApiError::invalid_request(
                400,
                &ctx.rid,
                format!(
                    "The amount_to_capture ({amount}) must be less than or equal to the PaymentIntent's amount_capturable ({}).",
                    pi.amount_capturable
                ),
                Some("amount_too_large"),
                Some("amount_to_capture"),
            ));
        }
        pi.amount_received = amount;
        pi.amount_capturable = 0;
        pi.status = Status::Succeeded;
        Ok(pi.to_json())
    }

    fn cancel(&mut self, id: &str, reason: Option<String>, ctx: &Ctx) -> OpResult {
        let pi = self
            .intents
            .get_mut(id)
            .ok_or_else(|| no_such_intent(ctx, id))?;
        let allowed = [
            Status::RequiresPaymentMethod,
            Status::RequiresCapture,
            Status::RequiresConfirmation,
            Status::RequiresAction,
        ];
        if !allowed.contains(&pi.status) {
            return Err(ApiError::unexpected_state(
                &ctx.rid,
                format!(
                    "You cannot cancel this PaymentIntent because it has a status of {}. Only a PaymentIntent with one of the following statuses may be canceled: {}, processing.",
                    pi.status.as_str(),
                    status_list(&allowed)
                ),
                pi,
            ));
        }
        pi.status = Status::Canceled;
        pi.canceled_at = Some(now_unix());
        pi.cancellation_reason = reason;
        pi.amount_capturable = 0;
        pi.next_action = None;
        Ok(pi.to_json())
    }

    fn refund(&mut self, p: RefundParams, ctx: &Ctx) -> OpResult {
        let pi_id = match (&p.payment_intent, &p.charge) {
            (Some(id), _) => id.clone(),
            (None, Some(ch)) => self
                .by_charge
                .get(ch)
                .cloned()
                .ok_or_else(|| ApiError::no_such(400, &ctx.rid, "charge", ch, "charge"))?,
            (None, None) => return Err(ApiError::missing(&ctx.rid, "payment_intent")),
        };
        let pi = self.intents.get_mut(&pi_id).ok_or_else(|| {
            ApiError::no_such(400, &ctx.rid, "payment_intent", &pi_id, "payment_intent")
        })?;
        if pi.status != Status::Succeeded || pi.amount_received == 0 {
            return Err(ApiError::unexpected_state(
                &ctx.rid,
                format!(
                    "This PaymentIntent ({}) does not have a successful charge to refund.",
                    pi.id
                ),
                pi,
            ));
        }
        let charge = pi.latest_charge.clone().unwrap_or_default();
        let remaining = pi.amount_received - pi.amount_refunded;
        if remaining <= 0 {
            return Err(ApiError::invalid_request(
                400,
                &ctx.rid,
                format!("Charge {charge} has already been refunded."),
                Some("charge_already_refunded"),
                None,
            ));
        }
        if let Some(e) = p
            .amount
            .and_then(|a| three_decimal_error(&ctx.rid, &pi.currency, a, "amount"))
        {
            return Err(e);
        }
        let amount = p.amount.unwrap_or(remaining);
        if amount > remaining {
            return Err(ApiError::invalid_request(
                400,
                &ctx.rid,
                format!(
                    "Refund amount ({amount}) is greater than unrefunded amount on charge ({remaining})"
                ),
                Some("amount_too_large"),
                Some("amount"),
            ));
        }
        pi.amount_refunded += amount;
        let refund = Refund {
            id: rand_id("re_3", 24),
            amount,
            charge: pi.latest_charge.clone(),
            created: now_unix(),
            currency: pi.currency.clone(),
            metadata: p.metadata,
            payment_intent: pi.id.clone(),
            reason: p.reason,
        };
        let json = refund.to_json();
        self.refunds.insert(refund.id.clone(), refund);
        Ok(json)
    }
}
