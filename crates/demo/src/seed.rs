//! Demo merchant, API key, connectors and policy.

use routing::{
    Capabilities, CircuitState, Condition, Connector, ConnectorId, ConnectorStatus, Currency, Mode,
    Policy, Provider, Rule, RuleAction, Test,
};
use sqlx::PgPool;
use uuid::Uuid;

/// What the demo created.
#[derive(Debug, Clone)]
pub struct Seeded {
    /// Merchant id.
    pub merchant_id: Uuid,
    /// The merchant's test API key for the gateway (a secret: never print it whole).
    pub api_key: String,
    /// "Stripe US Primary".
    pub stripe_us: ConnectorId,
    /// "Stripe EU Backup".
    pub stripe_eu: ConnectorId,
    /// "Square Fallback" (simulator until the Square adapter exists).
    pub square_fallback: ConnectorId,
    /// Emulator API key of Stripe US Primary (to script its outage).
    pub stripe_us_key: String,
    /// Emulator API key of Stripe EU Backup.
    pub stripe_eu_key: String,
}

fn connector(
    name: &str,
    provider: Provider,
    weight: u32,
    is_primary: bool,
    caps: Capabilities,
) -> Connector {
    Connector {
        id: ConnectorId(Uuid::now_v7()),
        name: name.into(),
        provider,
        mode: Mode::Test,
        weight,
        is_primary,
        status: ConnectorStatus::Active,
        capabilities: caps,
        circuit: CircuitState::Closed,
        created_seq: 0,
    }
}

/// Seeds a fresh demo merchant named `name` with:
/// - "Stripe US Primary" (Stripe on the emulator, weight 70),
/// - "Stripe EU Backup" (Stripe on the emulator, weight 30),
/// - "Square Fallback" (simulator, weight 0, the merchant's primary = last resort of every default
///   route; it takes USD, EUR, GBP, CAD and JPY),
/// - a published policy with one rule "EUR to EU": currency = EUR -> Stripe EU Backup.
pub async fn seed(pool: &PgPool, name: &str, emulator_url: &str) -> anyhow::Result<Seeded> {
    let merchant_id = Uuid::now_v7();
    store::config::insert_merchant(pool, merchant_id, name).await?;
    let api_key = format!("sk_sb_test_{}", Uuid::new_v4().simple());
    let prefix: String = api_key.chars().take(12).collect();
    store::config::insert_api_key(
        pool,
        merchant_id,
        Mode::Test,
        &gateway::hash_api_key(&api_key),
        &prefix,
    )
    .await?;

    let us = connector(
        "Stripe US Primary",
        Provider::Stripe,
        70,
        false,
        Capabilities::cards_anywhere(),
    );
    let eu = connector(
        "Stripe EU Backup",
        Provider::Stripe,
        30,
        false,
        Capabilities::cards_anywhere(),
    );
    let mut square_caps = Capabilities::cards_anywhere();
    square_caps.currencies = ["USD", "EUR", "GBP", "CAD", "JPY"]
        .iter()
        .filter_map(|c| Currency::parse(c).ok())
        .collect();
    let square = connector("Square Fallback", Provider::Simulator, 0, true, square_caps);
    let stripe_us_key = format!("sk_test_us_{}", Uuid::new_v4().simple());
    let stripe_eu_key = format!("sk_test_eu_{}", Uuid::new_v4().simple());
    let actor = "demo-seed";
    let keys = crate::keys::master_keys()?;
    let keys = keys.as_ref();
    store::config::insert_connector(pool, keys, merchant_id, &us, emulator_url, &stripe_us_key, actor)
        .await?;
    store::config::insert_connector(pool, keys, merchant_id, &eu, emulator_url, &stripe_eu_key, actor)
        .await?;
    store::config::insert_connector(pool, keys, merchant_id, &square, "simulator:", "sim_key", actor)
        .await?;

    let eur = Currency::parse("EUR")?;
    let policy = Policy {
        rules: vec![Rule {
            name: "EUR to EU".into(),
            conditions: vec![Condition::Currency {
                test: Test::Eq(eur),
            }],
            action: RuleAction::Path {
                connectors: vec![eu.id],
            },
        }],
        ..Policy::default()
    };
    store::config::publish_policy(
        pool,
        merchant_id,
        Mode::Test,
        &policy,
        "demo policy: EUR to the EU account",
    )
    .await?;
    Ok(Seeded {
        merchant_id,
        api_key,
        stripe_us: us.id,
        stripe_eu: eu.id,
        square_fallback: square.id,
        stripe_us_key,
        stripe_eu_key,
    })
}
