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
    /// "Square US" (Square Payments v2 on the emulator).
    pub square_us: ConnectorId,
    /// "Braintree US" (Braintree GraphQL on the emulator).
    pub braintree_us: ConnectorId,
    /// "Mollie EU" (Mollie Payments v2 on the emulator; asynchronous outcomes by webhook).
    pub mollie_eu: ConnectorId,
    /// Every emulator-backed connector's webhook account: the emulator signs with `secret` and
    /// posts to `{gateway}/webhooks/{connector_id}` once the gateway runs
    /// ([`configure_webhooks`]). Secrets: never print them.
    pub webhook_accounts: Vec<WebhookAccount>,
}

/// How the emulator sends one connector's webhooks.
#[derive(Clone)]
pub struct WebhookAccount {
    /// Connector.
    pub connector_id: ConnectorId,
    /// The connector's name.
    pub name: String,
    /// Emulator credential of the account (INTERFACES.md §C).
    pub account: String,
    /// Webhook secret (also stored, encrypted, as the connector's `webhook_secret`).
    pub secret: String,
    /// Wire format.
    pub format: psp_emulator::webhooks::WebhookFormat,
    /// Late delivery: wait this long after the state change.
    pub delay: std::time::Duration,
    /// Extra copies of each delivery (to show deduplication).
    pub duplicates: u32,
}

impl std::fmt::Debug for WebhookAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookAccount")
            .field("connector_id", &self.connector_id)
            .field("name", &self.name)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

/// Installs the emulator's webhook configs so every seeded connector's provider events reach
/// `{gateway_url}/webhooks/{connector_id}`, signed in the provider's format. Errors: an invalid
/// config (never expected).
pub fn configure_webhooks(
    emulator: &psp_emulator::Emulator,
    seeded: &Seeded,
    gateway_url: &str,
) -> anyhow::Result<()> {
    for w in &seeded.webhook_accounts {
        let cfg = psp_emulator::webhooks::WebhookConfig::new(
            w.account.clone(),
            format!("{gateway_url}/webhooks/{}", w.connector_id),
            w.format,
        )
        .secret(w.secret.clone())
        .delay(w.delay)
        .duplicates(w.duplicates);
        emulator
            .webhooks()
            .set(cfg)
            .map_err(|e| anyhow::anyhow!("emulator webhook config for {}: {}", w.name, e.0))?;
    }
    Ok(())
}

fn caps(currencies: &[&str]) -> Capabilities {
    let mut c = Capabilities::cards_anywhere();
    c.currencies = currencies
        .iter()
        .filter_map(|c| Currency::parse(c).ok())
        .collect();
    c
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
/// - "Square US" (Square on the emulator, weight 25; USD, CAD, GBP, JPY, AUD),
/// - "Braintree US" (Braintree on the emulator, weight 20; USD, CAD, GBP, AUD),
/// - "Mollie EU" (Mollie on the emulator, weight 0: reached through the EUR rule; EUR, GBP, USD),
/// - "Square Fallback" (simulator, weight 0, the merchant's primary = last resort of every default
///   route; it takes USD, EUR, GBP, CAD and JPY),
/// - a published policy with one rule "EUR to EU": currency = EUR -> split Stripe EU Backup 60 /
///   Mollie EU 40 (each the other's fallback).
///
/// `emulator_url` is the emulator's root (Stripe); Square, Braintree and Mollie live under its
/// `/square`, `/braintree`, `/mollie` prefixes (INTERFACES.md §B). Every emulator connector gets
/// a webhook secret ([`WebhookAccount`]); Stripe US Primary's webhooks arrive late (400 ms) and
/// Square US's twice (deduplicated by the gateway).
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
    let square_us = connector(
        "Square US",
        Provider::Square,
        25,
        false,
        caps(&["USD", "CAD", "GBP", "JPY", "AUD"]),
    );
    let braintree_us = connector(
        "Braintree US",
        Provider::Braintree,
        20,
        false,
        caps(&["USD", "CAD", "GBP", "AUD"]),
    );
    let mollie_eu = connector(
        "Mollie EU",
        Provider::Mollie,
        0,
        false,
        caps(&["EUR", "GBP", "USD"]),
    );
    let uniq = || Uuid::new_v4().simple().to_string();
    let square_key = format!("EAAAsq{}", uniq());
    let braintree_key = format!("pub_{0}:priv_{0}", uniq());
    let mollie_key = format!("test_{}", uniq());
    let stripe_us_key = format!("sk_test_us_{}", Uuid::new_v4().simple());
    let stripe_eu_key = format!("sk_test_eu_{}", Uuid::new_v4().simple());
    let actor = "demo-seed";
    let keys = crate::keys::master_keys()?;
    let keys = keys.as_ref();
    store::config::insert_connector(
        pool,
        keys,
        merchant_id,
        &us,
        emulator_url,
        &stripe_us_key,
        actor,
    )
    .await?;
    store::config::insert_connector(
        pool,
        keys,
        merchant_id,
        &eu,
        emulator_url,
        &stripe_eu_key,
        actor,
    )
    .await?;
    store::config::insert_connector(
        pool,
        keys,
        merchant_id,
        &square,
        "simulator:",
        "sim_key",
        actor,
    )
    .await?;
    let base = emulator_url.trim_end_matches('/');
    store::config::insert_connector(
        pool,
        keys,
        merchant_id,
        &square_us,
        &format!("{base}/square"),
        &square_key,
        actor,
    )
    .await?;
    store::config::insert_connector(
        pool,
        keys,
        merchant_id,
        &braintree_us,
        &format!("{base}/braintree"),
        &braintree_key,
        actor,
    )
    .await?;
    store::config::insert_connector(
        pool,
        keys,
        merchant_id,
        &mollie_eu,
        &format!("{base}/mollie"),
        &mollie_key,
        actor,
    )
    .await?;
    use psp_emulator::webhooks::WebhookFormat;
    let ms = std::time::Duration::from_millis;
    let webhook_accounts = vec![
        WebhookAccount {
            connector_id: us.id,
            name: us.name.clone(),
            account: stripe_us_key.clone(),
            secret: format!("whsec_{}", uniq()),
            format: WebhookFormat::Stripe,
            delay: ms(400),
            duplicates: 0,
        },
        WebhookAccount {
            connector_id: eu.id,
            name: eu.name.clone(),
            account: stripe_eu_key.clone(),
            secret: format!("whsec_{}", uniq()),
            format: WebhookFormat::Stripe,
            delay: ms(0),
            duplicates: 0,
        },
        WebhookAccount {
            connector_id: square_us.id,
            name: square_us.name.clone(),
            account: square_key,
            secret: format!("sqsig_{}", uniq()),
            format: WebhookFormat::Square,
            delay: ms(0),
            duplicates: 1,
        },
        // Braintree signs with the API key pair itself (REFERENCE.md §3.5, INTERFACES.md §A).
        WebhookAccount {
            connector_id: braintree_us.id,
            name: braintree_us.name.clone(),
            account: braintree_key.clone(),
            secret: braintree_key,
            format: WebhookFormat::Braintree,
            delay: ms(0),
            duplicates: 0,
        },
        WebhookAccount {
            connector_id: mollie_eu.id,
            name: mollie_eu.name.clone(),
            account: mollie_key,
            secret: format!("mollie_whsec_{}", uniq()),
            format: WebhookFormat::MollieSigned,
            delay: ms(0),
            duplicates: 0,
        },
    ];
    for w in &webhook_accounts {
        store::credentials::set_webhook_secret(
            pool,
            keys,
            merchant_id,
            w.connector_id.0,
            &secrecy::SecretString::from(w.secret.clone()),
        )
        .await?;
    }

    let eur = Currency::parse("EUR")?;
    let policy = Policy {
        rules: vec![Rule {
            name: "EUR to EU".into(),
            conditions: vec![Condition::Currency {
                test: Test::Eq(eur),
            }],
            action: RuleAction::Split {
                weights: vec![(eu.id, 60), (mollie_eu.id, 40)],
            },
        }],
        ..Policy::default()
    };
    store::config::publish_policy(
        pool,
        merchant_id,
        Mode::Test,
        &policy,
        "demo policy: EUR split between the EU accounts (Stripe EU Backup 60, Mollie EU 40)",
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
        square_us: square_us.id,
        braintree_us: braintree_us.id,
        mollie_eu: mollie_eu.id,
        webhook_accounts,
    })
}
