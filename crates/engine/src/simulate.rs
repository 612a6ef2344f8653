//! Policy simulation for the console (issue 4 §7): replay stored payment contexts through
//! `routing::decide` under the published policy and under the draft, and compare.
//!
//! Approach: every payment row stores its full routing input (amount, currency, country,
//! method, card brand, capture mode, tokens with their scopes, metadata) and the random roll
//! routing used (`payments.route_roll`). Both replays use that same roll and the merchant's
//! CURRENT connectors (weights, status, circuit state, capabilities), so the only difference
//! between "before" and "after" is the policy: a changed path is caused by the draft, not by
//! chance or by later weight changes. "Before" is therefore the published policy today, which
//! may differ from the route a payment really took (shown in its timeline) when connectors
//! changed since. Payments whose stored context no longer validates are skipped (counted in
//! `payments` but not in the shares). Pure: no IO, no clock, no RNG.

use crate::views::{ChangedPath, ShareRow, SimulationResult};
use routing::{
    CaptureMode, Connector, ConnectorId, Mode, PaymentContext, PaymentMethodType, PaymentToken,
    Policy,
};
use std::collections::{BTreeMap, HashMap};
use store::read::StoredContext;
use store::to_ms;

/// At most this many changed payments are listed.
pub const MAX_CHANGED_LISTED: usize = 200;

/// The routing context stored with a payment, or `None` if it no longer validates.
pub fn context_of(s: &StoredContext) -> Option<PaymentContext> {
    let method: PaymentMethodType =
        serde_json::from_value(serde_json::Value::String(s.method.clone())).ok()?;
    let capture: CaptureMode =
        serde_json::from_value(serde_json::Value::String(s.capture_mode.clone())).ok()?;
    let tokens: Vec<PaymentToken> = serde_json::from_value(s.tokens.clone()).ok()?;
    let metadata: BTreeMap<String, String> =
        serde_json::from_value(s.metadata.clone()).unwrap_or_default();
    PaymentContext::new(
        s.amount_minor,
        &s.currency,
        &s.country,
        method,
        s.card_brand.clone(),
        capture,
        tokens,
        metadata,
    )
    .ok()
}

fn shares(
    firsts: &HashMap<Option<ConnectorId>, i64>,
    connectors: &[Connector],
    total: i64,
) -> Vec<ShareRow> {
    let mut rows: Vec<ShareRow> = firsts
        .iter()
        .map(|(id, n)| ShareRow {
            connector_id: id.map(|i| i.to_string()).unwrap_or_default(),
            name: match id {
                Some(i) => connectors
                    .iter()
                    .find(|c| c.id == *i)
                    .map(|c| c.name.clone())
                    .unwrap_or_else(|| i.to_string()),
                None => "no eligible connector".to_owned(),
            },
            payments: *n,
            share: if total > 0 {
                *n as f64 / total as f64
            } else {
                0.0
            },
        })
        .collect();
    rows.sort_by(|a, b| b.payments.cmp(&a.payments).then(a.name.cmp(&b.name)));
    rows
}

/// Replays `stored` under `published` and `draft` (see the module docs).
pub fn simulate(
    stored: &[StoredContext],
    connectors: &[Connector],
    published: &Policy,
    draft: &Policy,
    mode: Mode,
    days: u32,
) -> SimulationResult {
    let names = |path: &[ConnectorId]| -> Vec<String> {
        path.iter()
            .map(|id| {
                connectors
                    .iter()
                    .find(|c| c.id == *id)
                    .map(|c| c.name.clone())
                    .unwrap_or_else(|| id.to_string())
            })
            .collect()
    };
    let mut before: HashMap<Option<ConnectorId>, i64> = HashMap::new();
    let mut after: HashMap<Option<ConnectorId>, i64> = HashMap::new();
    let mut replayed = 0i64;
    let mut changed_count = 0i64;
    let mut changed = Vec::new();
    for s in stored {
        let Some(ctx) = context_of(s) else { continue };
        replayed += 1;
        let b = routing::decide(&ctx, connectors, published, mode, s.route_roll);
        let a = routing::decide(&ctx, connectors, draft, mode, s.route_roll);
        *before.entry(b.path.first().copied()).or_default() += 1;
        *after.entry(a.path.first().copied()).or_default() += 1;
        if a.path != b.path {
            changed_count += 1;
            if changed.len() < MAX_CHANGED_LISTED {
                changed.push(ChangedPath {
                    payment_id: s.id.to_string(),
                    created_at_ms: to_ms(s.created_at),
                    before: names(&b.path),
                    after: names(&a.path),
                });
            }
        }
    }
    SimulationResult {
        days,
        payments: i64::try_from(stored.len()).unwrap_or(i64::MAX),
        share_before: shares(&before, connectors, replayed),
        share_after: shares(&after, connectors, replayed),
        changed_count,
        changed,
        approach: "Each stored payment context (amount, currency, country, method, card brand, capture mode, \
tokens, metadata) is replayed through routing::decide with the roll stored with the payment, once under the \
published policy and once under the draft, both against the merchant's current connectors; only the policy \
differs. Newest payments first, up to the limit."
            .to_owned(),
    }
}
