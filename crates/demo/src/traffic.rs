//! The demo's checkout mix, sent over HTTP to the gateway.
//!
//! Deterministic for a seed: currencies and billing countries (USD/US, EUR/DE-FR-NL, GBP/GB,
//! JPY/JP, CAD/CA, KWD/KW, AUD/AU), amounts in each currency's minor units, 80 % automatic /
//! 20 % manual capture, and outcomes chosen through Stripe's documented test payment methods
//! (REFERENCE.md §1.5): approvals, soft and hard declines, 3DS, processing errors. Most
//! checkouts also carry a simulator token, so a fallback to "Square Fallback" is possible; the
//! rest carry only the Stripe token, and their trace says "no token usable". Most also carry a
//! Square nonce, a Braintree nonce and a Mollie card token with the same meaning on the emulator
//! ([`other_tokens`]; Square sandbox nonces §2.4, Braintree fake nonces §3.4; Mollie decides
//! asynchronously and approves these), so the real Square, Braintree and Mollie connectors get
//! weighted and rule traffic.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// One generated checkout.
#[derive(Debug, Clone)]
pub struct Checkout {
    /// Idempotency-Key to send.
    pub idempotency_key: String,
    /// JSON body of `POST /v1/payments`.
    pub body: serde_json::Value,
}

const PAIRS: &[(&str, &[&str], u32)] = &[
    ("USD", &["US"], 40),
    ("EUR", &["DE", "FR", "NL"], 25),
    ("GBP", &["GB"], 10),
    ("JPY", &["JP"], 8),
    ("CAD", &["CA"], 7),
    ("KWD", &["KW"], 5),
    ("AUD", &["AU"], 5),
];

/// (Stripe test payment method, weight in ‰).
const METHODS: &[(&str, u32)] = &[
    ("pm_card_visa", 700),
    ("pm_card_mastercard", 80),
    ("pm_card_visa_chargeDeclinedInsufficientFunds", 50),
    ("pm_card_visa_chargeDeclined", 20),
    ("pm_card_doNotHonor", 15),
    ("pm_card_visa_chargeDeclinedStolenCard", 15),
    ("pm_card_chargeDeclinedExpiredCard", 15),
    ("pm_card_chargeDeclinedIncorrectCvc", 10),
    ("pm_card_authenticationRequired", 30),
    ("pm_card_chargeDeclinedProcessingError", 40),
    ("pm_card_visa_chargeDeclinedVelocityLimitExceeded", 10),
    ("pm_card_radarBlock", 15),
];

/// Square, Braintree and Mollie tokens meaning what Stripe test method `method` means, as far as
/// each emulator has an equivalent (Square: `cnon:` sandbox nonces; Braintree: `fake-…-nonce`;
/// Mollie: a `tkn_` card token, outcome decided later and approved).
pub fn other_tokens(method: &str) -> [(&'static str, &'static str); 3] {
    let (square, braintree) = match method {
        "pm_card_visa_chargeDeclinedInsufficientFunds"
        | "pm_card_visa_chargeDeclinedVelocityLimitExceeded" => (
            "cnon:emu-insufficient-funds",
            "fake-processor-declined-visa-nonce",
        ),
        "pm_card_visa_chargeDeclined" | "pm_card_doNotHonor" => (
            "cnon:card-nonce-declined",
            "fake-processor-declined-visa-nonce",
        ),
        "pm_card_visa_chargeDeclinedStolenCard" | "pm_card_radarBlock" => (
            "cnon:card-nonce-rejected-cvv",
            "fake-gateway-rejected-fraud-nonce",
        ),
        "pm_card_chargeDeclinedExpiredCard" | "pm_card_chargeDeclinedIncorrectCvc" => {
            ("cnon:card-nonce-rejected-cvv", "fake-luhn-invalid-nonce")
        }
        "pm_card_authenticationRequired" => ("cnon:emu-verification-required", "fake-valid-nonce"),
        "pm_card_chargeDeclinedProcessingError" => {
            ("cnon:card-nonce-ok", "fake-processor-failure-jcb-nonce")
        }
        _ => ("cnon:card-nonce-ok", "fake-valid-nonce"),
    };
    [
        (square, "square"),
        (braintree, "braintree"),
        ("tkn_demo_card", "mollie"),
    ]
}

fn pick<'a, T>(rng: &mut StdRng, items: &'a [(T, u32)]) -> &'a T {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut roll = rng.random_range(0..total.max(1));
    for (item, w) in items {
        if roll < *w {
            return item;
        }
        roll -= w;
    }
    &items[0].0
}

/// Generates `n` checkouts from `seed` with Stripe and simulator tokens only (the load command,
/// the drill and the e2e tests: the Square, Braintree and Mollie connectors are then skipped with
/// "no token usable"). `run` makes idempotency keys unique per run.
pub fn checkouts(n: usize, seed: u64, run: &str) -> Vec<Checkout> {
    generate(n, seed, run, false)
}

/// Like [`checkouts`], and ~90 % of the checkouts also carry Square, Braintree and Mollie tokens
/// ([`other_tokens`]) plus `metadata.return_url` (Mollie's hosted checkout return, REFERENCE.md
/// §4.1), so every provider's connectors get traffic (the demo).
pub fn checkouts_all_providers(n: usize, seed: u64, run: &str) -> Vec<Checkout> {
    generate(n, seed, run, true)
}

fn generate(n: usize, seed: u64, run: &str, all_providers: bool) -> Vec<Checkout> {
    let mut rng = StdRng::seed_from_u64(seed);
    let pairs: Vec<((&str, &[&str]), u32)> =
        PAIRS.iter().map(|(c, cs, w)| ((*c, *cs), *w)).collect();
    (0..n)
        .map(|i| {
            let (currency, countries) = *pick(&mut rng, &pairs);
            let country = countries[rng.random_range(0..countries.len())];
            let amount: i64 = match currency {
                "JPY" => rng.random_range(100..50_000),
                // Stripe takes three-decimal amounts only in multiples of 10 (docs.stripe.com/currencies#three-decimal).
                "KWD" => rng.random_range(100..20_000) * 10,
                _ => rng.random_range(500..50_000),
            };
            let method = *pick(&mut rng, METHODS);
            let manual = rng.random_bool(0.2);
            let mut tokens = vec![json!({"token": method, "scope": {"type": "provider", "provider": "stripe"}})];
            if rng.random_bool(0.85) {
                tokens.push(json!({"token": "sim_approve", "scope": {"type": "provider", "provider": "simulator"}}));
            }
            if all_providers && rng.random_bool(0.9) {
                for (token, provider) in other_tokens(method) {
                    tokens.push(json!({"token": token, "scope": {"type": "provider", "provider": provider}}));
                }
            }
            let brand = if method.contains("mastercard") { "mastercard" } else { "visa" };
            Checkout {
                idempotency_key: format!("{run}-checkout-{i:06}"),
                body: json!({
                    "amount": amount,
                    "currency": currency,
                    "capture_method": if manual { "manual" } else { "automatic" },
                    "payment_method": {"type": "card", "card_brand": brand, "tokens": tokens},
                    "billing": {"country": country},
                    "merchant_reference": format!("order-{run}-{i:06}"),
                    "metadata": metadata(rng.random_bool(0.6), all_providers),
                }),
            }
        })
        .collect()
}

fn metadata(web: bool, all_providers: bool) -> serde_json::Value {
    let mut m = json!({"channel": if web { "web" } else { "app" }});
    if all_providers {
        // Where Mollie's hosted checkout sends the customer back (REFERENCE.md §4.1).
        m["return_url"] = json!("https://shop.example/checkout/return");
    }
    m
}

/// Result of sending checkouts.
#[derive(Debug, Clone, Default)]
pub struct SendReport {
    /// Answers per HTTP status.
    pub by_http_status: std::collections::BTreeMap<u16, usize>,
    /// Transport errors (no HTTP answer).
    pub transport_errors: usize,
    /// Wall time.
    pub elapsed: Duration,
    /// Per-request latencies.
    pub latencies: Vec<Duration>,
}

impl SendReport {
    /// The q-quantile latency (0..=1).
    pub fn quantile(&self, q: f64) -> Duration {
        let mut v = self.latencies.clone();
        v.sort();
        if v.is_empty() {
            return Duration::ZERO;
        }
        let idx = ((v.len() - 1) as f64 * q).round() as usize;
        v[idx.min(v.len() - 1)]
    }
}

/// Sends `checkouts` to `gateway_url` with `concurrency` workers. `on_progress(done)` is called
/// after every answer (the demo uses it to open and close the outage window).
pub async fn send(
    gateway_url: &str,
    api_key: &str,
    checkouts: Vec<Checkout>,
    concurrency: usize,
    on_progress: Arc<dyn Fn(usize) + Send + Sync>,
) -> anyhow::Result<SendReport> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .timeout(Duration::from_secs(60))
        .build()?;
    let checkouts = Arc::new(checkouts);
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (client, checkouts, next, done, on_progress) = (
            client.clone(),
            checkouts.clone(),
            next.clone(),
            done.clone(),
            on_progress.clone(),
        );
        let url = format!("{gateway_url}/v1/payments");
        let auth = format!("Bearer {api_key}");
        tasks.push(tokio::spawn(async move {
            let mut report = SendReport::default();
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(c) = checkouts.get(i) else { break };
                let t = Instant::now();
                let res = client
                    .post(&url)
                    .header("authorization", &auth)
                    .header("idempotency-key", &c.idempotency_key)
                    .json(&c.body)
                    .send()
                    .await;
                match res {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        let _ = r.bytes().await;
                        *report.by_http_status.entry(status).or_default() += 1;
                    }
                    Err(_) => report.transport_errors += 1,
                }
                report.latencies.push(t.elapsed());
                on_progress(done.fetch_add(1, Ordering::SeqCst) + 1);
            }
            report
        }));
    }
    let mut total = SendReport::default();
    for t in tasks {
        let r = t.await?;
        for (k, v) in r.by_http_status {
            *total.by_http_status.entry(k).or_default() += v;
        }
        total.transport_errors += r.transport_errors;
        total.latencies.extend(r.latencies);
    }
    total.elapsed = started.elapsed();
    Ok(total)
}
