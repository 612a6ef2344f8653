//! `psp-emulator --listen 127.0.0.1:12111`: serves the emulated providers until Ctrl-C.

use std::net::SocketAddr;
use std::process::ExitCode;

const USAGE: &str = "usage: psp-emulator [--listen ADDR]   (default 127.0.0.1:12111)

Serves Stripe PaymentIntents under /v1/, Square under /square/v2/, Braintree GraphQL at
/braintree/graphql, Mollie under /mollie/v2/, and the control API under /_emulator/ (faults,
stats, webhooks, health) until Ctrl-C. For tests, demos and load tests only.
Log level: RUST_LOG (default warn).";

fn parse_args() -> Result<SocketAddr, String> {
    let mut listen = "127.0.0.1:12111".to_owned();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" | "-l" => {
                listen = args.next().ok_or("--listen needs an address")?;
            }
            "--help" | "-h" => return Err(String::new()),
            other => {
                if let Some(v) = other.strip_prefix("--listen=") {
                    listen = v.to_owned();
                } else {
                    return Err(format!("unknown argument {other:?}"));
                }
            }
        }
    }
    listen
        .parse()
        .map_err(|e| format!("invalid --listen address {listen:?}: {e}"))
}

#[tokio::main]
async fn main() -> ExitCode {
    let addr = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if e.is_empty() {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            eprintln!("psp-emulator: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let emu = match psp_emulator::spawn(addr).await {
        Ok(e) => e,
        Err(e) => {
            eprintln!("psp-emulator: cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("{}", emu.base_url());
    println!(
        "psp-emulator: Stripe {0}/v1/, Square {0}/square, Braintree {0}/braintree/graphql, Mollie {0}/mollie, control API {0}/_emulator/; Ctrl-C stops",
        emu.base_url()
    );
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("psp-emulator: cannot wait for Ctrl-C: {e}");
    }
    emu.shutdown().await;
    ExitCode::SUCCESS
}
