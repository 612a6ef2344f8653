//! Throughput check: `cargo run --release -p psp-emulator --example loadgen -- [--url URL]
//! [--seconds N] [--concurrency C] [--provider stripe|square|braintree|mollie]`. Without `--url`
//! it starts an emulator in process. Sends approving payment creates (each with its own
//! idempotency key: Stripe confirming `POST /v1/payment_intents`, Square `POST /square/v2/payments`,
//! Braintree `chargePaymentMethod`, Mollie `POST /mollie/v2/payments`) to 127.0.0.1 only, for a
//! bounded time, and prints requests per second.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[tokio::main]
async fn main() {
    let mut url = None;
    let mut seconds = 5u64;
    let mut concurrency = 32usize;
    let mut provider = "stripe".to_owned();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--url" => url = args.next(),
            "--seconds" => seconds = args.next().unwrap().parse().unwrap(),
            "--concurrency" => concurrency = args.next().unwrap().parse().unwrap(),
            "--provider" => provider = args.next().unwrap(),
            other => panic!("unknown argument {other}"),
        }
    }
    let seconds = seconds.min(120);
    let (emu, base) = match url {
        Some(u) => (None, u),
        None => {
            let emu = psp_emulator::spawn("127.0.0.1:0".parse().unwrap())
                .await
                .unwrap();
            let base = emu.base_url();
            (Some(emu), base)
        }
    };
    assert!(
        base.starts_with("http://127.") || base.starts_with("http://localhost"),
        "loadgen only targets loopback"
    );
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    let mut workers = Vec::new();
    for w in 0..concurrency {
        let (http, base, ok, failed) = (http.clone(), base.clone(), ok.clone(), failed.clone());
        let provider = provider.clone();
        workers.push(tokio::spawn(async move {
            let mut i = 0u64;
            while Instant::now() < deadline {
                i += 1;
                let order = format!("w{w}-{i}");
                let r = match provider.as_str() {
                    "square" => {
                        http.post(format!("{base}/square/v2/payments"))
                            .bearer_auth(format!("sq_load_{}", w % 4))
                            .json(&serde_json::json!({"idempotency_key": order, "source_id": "cnon:card-nonce-ok", "amount_money": {"amount": 2000, "currency": "USD"}, "reference_id": order}))
                            .send()
                            .await
                    }
                    "braintree" => {
                        http.post(format!("{base}/braintree/graphql"))
                            .basic_auth(format!("load_public_{}", w % 4), Some("load_private"))
                            .json(&serde_json::json!({"query": "mutation Charge($input: ChargePaymentMethodInput!) { chargePaymentMethod(input: $input) { transaction { id status } } }", "variables": {"input": {"paymentMethodId": "fake-valid-nonce", "transaction": {"amount": "20.00", "orderId": order}, "apiRequestKey": order}}}))
                            .send()
                            .await
                    }
                    "mollie" => {
                        http.post(format!("{base}/mollie/v2/payments"))
                            .bearer_auth(format!("test_load_{}", w % 4))
                            .header("Idempotency-Key", &order)
                            .json(&serde_json::json!({"amount": {"currency": "EUR", "value": "20.00"}, "description": order, "redirectUrl": "https://example.com/return"}))
                            .send()
                            .await
                    }
                    _ => {
                        http.post(format!("{base}/v1/payment_intents"))
                            .bearer_auth(format!("sk_test_load_{}", w % 4))
                            .header("Stripe-Version", "2026-09-30.endive")
                            .header("Idempotency-Key", &order)
                            .form(&[
                                ("amount", "2000"),
                                ("currency", "usd"),
                                ("payment_method", "pm_card_visa"),
                                ("confirm", "true"),
                                ("payment_method_types[]", "card"),
                                ("metadata[order_id]", order.as_str()),
                            ])
                            .send()
                            .await
                    }
                };
                match r {
                    Ok(r) if r.status().is_success() => {
                        let _body = r.bytes().await;
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for w in workers {
        w.await.unwrap();
    }
    let elapsed = start.elapsed().as_secs_f64();
    let ok = ok.load(Ordering::Relaxed);
    println!(
        "{provider}: {ok} ok, {} failed in {elapsed:.2}s with concurrency {concurrency}: {:.0} req/s",
        failed.load(Ordering::Relaxed),
        ok as f64 / elapsed
    );
    if let Some(emu) = emu {
        emu.shutdown().await;
    }
}
