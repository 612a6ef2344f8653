//! Every provider through the gateway over real HTTP (127.0.0.1:0), the emulator speaking its wire
//! format, and a real Postgres (fresh database per test): approve, hard decline (no fallback),
//! soft decline (no fallback), 5xx (fallback to the next eligible connector of the same
//! provider), timeout-then-approved (exactly one charge, counted at the emulator), and Mollie's
//! webhook-driven completion (signed and classic).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::{Env, checkout, spec, start};
use psp_emulator::faults::{ErrorPhase, FaultSpec, HangMode};
use psp_emulator::webhooks::{WebhookConfig, WebhookFormat};
use routing::Provider;
use serde_json::Value;
use sqlx::PgPool;
use std::time::Duration;

const T: Duration = Duration::from_millis(700);

/// Test inputs of one provider on the emulator (REFERENCE.md §1.5, §2.4, §3.4, §4.4).
struct Case {
    provider: Provider,
    currency: &'static str,
    approve: (&'static str, i64),
    hard: (&'static str, i64),
    soft: (&'static str, i64),
    /// Status of an approved automatic-capture payment right after the checkout call.
    approved_status: &'static str,
}

fn case(p: Provider) -> Case {
    match p {
        Provider::Stripe => Case {
            provider: p,
            currency: "USD",
            approve: ("pm_card_visa", 2000),
            hard: ("pm_card_visa_chargeDeclinedStolenCard", 2000),
            soft: ("pm_card_visa_chargeDeclinedInsufficientFunds", 2000),
            approved_status: "captured",
        },
        Provider::Square => Case {
            provider: p,
            currency: "USD",
            approve: ("cnon:card-nonce-ok", 2000),
            hard: ("cnon:card-nonce-rejected-cvv", 2000),
            soft: ("cnon:emu-insufficient-funds", 2000),
            approved_status: "captured",
        },
        Provider::Braintree => Case {
            provider: p,
            currency: "USD",
            approve: ("fake-valid-nonce", 2000),
            // Processor-declined amounts: 2004 Expired Card (hard), 2001 Insufficient Funds (soft).
            hard: ("fake-valid-nonce", 200_400),
            soft: ("fake-valid-nonce", 200_100),
            approved_status: "captured",
        },
        Provider::Mollie => Case {
            provider: p,
            currency: "EUR",
            approve: ("tkn_emuapprove", 2000),
            hard: ("tkn_emuhard", 100_100),
            soft: ("tkn_emusoft", 100_700),
            // Mollie never answers synchronously: the customer step is pending.
            approved_status: "requires_action",
        },
        Provider::Simulator => unreachable!(),
    }
}

fn names(p: Provider) -> (&'static str, &'static str) {
    match p {
        Provider::Stripe => ("Stripe A", "Stripe B"),
        Provider::Square => ("Square A", "Square B"),
        Provider::Braintree => ("Braintree A", "Braintree B"),
        Provider::Mollie => ("Mollie A", "Mollie B"),
        Provider::Simulator => unreachable!(),
    }
}

async fn pair(pool: PgPool, p: Provider) -> Env {
    let (a, b) = names(p);
    start(pool, vec![spec(a, p, 100, false), spec(b, p, 0, true)], T).await
}

fn body(c: &Case, (token, amount): (&str, i64)) -> Value {
    checkout(c.provider, token, amount, c.currency)
}

async fn approve(pool: PgPool, p: Provider) {
    let env = pair(pool, p).await;
    let c = case(p);
    let r = env.pay(&body(&c, c.approve)).await;
    assert_eq!(r["status"], c.approved_status, "{r}");
    let attempts = r["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1, "{r}");
    assert_eq!(attempts[0]["connector_name"], names(p).0);
    assert!(attempts[0]["provider_reference"].as_str().is_some(), "{r}");
    assert_eq!(
        common::charges(&env.emulator, p, &env.conn(names(p).0).api_key),
        1
    );
}

async fn decline_does_not_fall_back(pool: PgPool, p: Provider, hard: bool) {
    let env = pair(pool, p).await;
    let c = case(p);
    let input = if hard { c.hard } else { c.soft };
    let r = env.pay(&body(&c, input)).await;
    let id = r["id"].as_str().unwrap().to_owned();
    let r = if p == Provider::Mollie {
        // The decline arrives later, by webhook.
        assert_eq!(r["status"], "requires_action", "{r}");
        env.wait_payment(&id, |p| p["status"] == "failed").await
    } else {
        r
    };
    assert_eq!(r["status"], "failed", "{r}");
    let attempts = r["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1, "no fallback on a decline: {r}");
    let want = if hard { "hard_decline" } else { "soft_decline" };
    assert_eq!(attempts[0]["outcome"], want, "{r}");
    assert_eq!(r["failure"]["code"], "card_declined", "{r}");
    assert_eq!(
        common::charges(&env.emulator, p, &env.conn(names(p).1).api_key),
        0,
        "B never called"
    );
}

async fn server_error_falls_back(pool: PgPool, p: Provider) {
    let env = pair(pool, p).await;
    let c = case(p);
    let (a, b) = names(p);
    env.emulator
        .faults()
        .set(
            FaultSpec::for_key(env.conn(a).api_key.clone())
                .error_rate(1.0)
                .error_status(503)
                .error_phase(ErrorPhase::Before),
        )
        .unwrap();
    let r = env.pay(&body(&c, c.approve)).await;
    assert_eq!(r["status"], c.approved_status, "{r}");
    let attempts = r["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{r}");
    assert_eq!(attempts[0]["connector_name"], a);
    assert_eq!(attempts[0]["outcome"], "provider_unavailable", "{r}");
    assert_eq!(attempts[1]["connector_name"], b);
    assert_eq!(common::charges(&env.emulator, p, &env.conn(a).api_key), 0);
    assert_eq!(common::charges(&env.emulator, p, &env.conn(b).api_key), 1);
}

async fn timeout_then_approved_charges_once(pool: PgPool, p: Provider) {
    let env = pair(pool, p).await;
    let c = case(p);
    let a = names(p).0;
    env.emulator
        .faults()
        .set(
            FaultSpec::for_key(env.conn(a).api_key.clone())
                .hang(HangMode::After)
                .hang_for(Duration::from_secs(2))
                .hang_count(1),
        )
        .unwrap();
    let r = env.pay(&body(&c, c.approve)).await;
    assert_eq!(r["status"], c.approved_status, "{r}");
    let attempts = r["attempts"].as_array().unwrap();
    assert_eq!(
        attempts.len(),
        1,
        "no second connector while a charge may exist: {r}"
    );
    assert!(attempts[0]["reconciliation"].as_str().is_some(), "{r}");
    assert_eq!(
        common::charges(&env.emulator, p, &env.conn(a).api_key),
        1,
        "exactly one charge"
    );
    assert_eq!(
        common::charges(&env.emulator, p, &env.conn(names(p).1).api_key),
        0
    );
}

macro_rules! per_provider {
    ($($module:ident => $provider:expr),*) => {$(
        mod $module {
            use super::*;
            #[sqlx::test(migrator = "store::MIGRATOR")]
            async fn approve(pool: PgPool) { super::approve(pool, $provider).await }
            #[sqlx::test(migrator = "store::MIGRATOR")]
            async fn hard_decline_does_not_fall_back(pool: PgPool) { decline_does_not_fall_back(pool, $provider, true).await }
            #[sqlx::test(migrator = "store::MIGRATOR")]
            async fn soft_decline_does_not_fall_back(pool: PgPool) { decline_does_not_fall_back(pool, $provider, false).await }
            #[sqlx::test(migrator = "store::MIGRATOR")]
            async fn server_error_falls_back_to_the_next_connector(pool: PgPool) { server_error_falls_back(pool, $provider).await }
            #[sqlx::test(migrator = "store::MIGRATOR")]
            async fn timeout_then_approved_charges_exactly_once(pool: PgPool) { timeout_then_approved_charges_once(pool, $provider).await }
        }
    )*};
}

per_provider!(stripe => Provider::Stripe, square => Provider::Square, braintree => Provider::Braintree, mollie => Provider::Mollie);

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn mollie_payment_stays_pending_until_the_signed_webhook_says_paid(pool: PgPool) {
    let env = pair(pool, Provider::Mollie).await;
    let c = case(Provider::Mollie);
    let r = env.pay(&body(&c, c.approve)).await;
    assert_eq!(r["status"], "requires_action", "{r}");
    assert!(r["next_action"]["url"].as_str().is_some(), "{r}");
    let id = r["id"].as_str().unwrap();
    let done = env.wait_payment(id, |p| p["status"] == "captured").await;
    assert_eq!(done["attempts"][0]["status"], "succeeded", "{done}");
    let rows = env.webhooks(env.conn("Mollie A").id).await;
    assert!(
        rows.iter()
            .any(|r| r.verdict == "verified" && r.result == "applied"),
        "{rows:?}"
    );
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn mollie_classic_webhook_is_fetched_and_applied(pool: PgPool) {
    let mut a = spec("Mollie A", Provider::Mollie, 100, true);
    a.webhook_secret = None;
    a.webhook_format = Some(WebhookFormat::MollieClassic);
    let env = start(pool, vec![a], T).await;
    let conn = env.conn("Mollie A").clone();
    env.emulator
        .webhooks()
        .set(WebhookConfig::new(
            conn.api_key.clone(),
            format!("{}/webhooks/{}", env.url, conn.id),
            WebhookFormat::MollieClassic,
        ))
        .unwrap();
    let c = case(Provider::Mollie);
    let r = env.pay(&body(&c, c.approve)).await;
    assert_eq!(r["status"], "requires_action", "{r}");
    let id = r["id"].as_str().unwrap();
    let done = env.wait_payment(id, |p| p["status"] == "captured").await;
    assert_eq!(done["amount_captured"], 2000);
    let rows = env.webhooks(conn.id).await;
    let applied = rows.iter().find(|r| r.result == "applied").unwrap();
    assert!(
        applied
            .provider_event_id
            .as_deref()
            .unwrap()
            .starts_with("mollie-classic:")
    );
    assert!(
        applied.effect.as_deref().unwrap().starts_with("fetched"),
        "{applied:?}"
    );
}
