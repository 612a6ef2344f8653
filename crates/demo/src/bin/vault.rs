//! `switchboard-vault`: master key operations for connector credentials (issue 6).
//!
//! ```text
//! switchboard-vault status                 key source, versions, database check, rotation state
//! switchboard-vault init                   create a master key in the source (first start)
//! switchboard-vault rotate [--batch N] [--max-batches N] [--no-prune]
//! ```
//! Key source: `--keyring` (the OS keyring, as the desktop console uses), `--key-file PATH`, or
//! by default `SWITCHBOARD_MASTER_KEY_FILE` / `SWITCHBOARD_MASTER_KEY` (environment: read-only,
//! so a rotation needs the new version provisioned there first, `v1:<hex> v2:<hex>`).
//! Database: `DATABASE_URL`. Rotation is online and resumable: run it again after an
//! interruption; gateways must hold the old and the new version until it reports `finished`.

use anyhow::Context;
use vault::KeySource;

fn arg_value(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn has_flag(name: &str) -> bool {
    std::env::args().any(|a| a == name)
}

fn source() -> anyhow::Result<KeySource> {
    if has_flag("--keyring") {
        return Ok(KeySource::desktop());
    }
    if let Some(p) = arg_value("--key-file") {
        return Ok(KeySource::File { path: p.into() });
    }
    KeySource::server(|k| std::env::var(k).ok()).context(
        "no key source: pass --keyring or --key-file PATH, or set SWITCHBOARD_MASTER_KEY_FILE / SWITCHBOARD_MASTER_KEY",
    )
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let cmd = std::env::args().nth(1).unwrap_or_default();
    let source = source()?;
    match cmd.as_str() {
        "init" => {
            let keys = engine::secrets::create_master_key(&source)?;
            println!(
                "created master key v{:?} in {}",
                keys.versions(),
                source.describe()
            );
            Ok(())
        }
        "status" | "rotate" => {
            let url = std::env::var("DATABASE_URL")
                .context("DATABASE_URL must be set (postgres://user@host/db)")?;
            let pool = store::connect(&url, 2).await.context("cannot connect")?;
            store::migrate(&pool)
                .await
                .context("cannot apply migrations")?;
            if cmd == "status" {
                let state = engine::secrets::key_setup_state(&source);
                println!("key source: {}", state.source);
                println!("state: {} ({})", state.state, state.message);
                println!("versions in source: {:?}", state.versions);
                let known = store::credentials::master_versions(&pool).await?;
                println!("versions known to the database (version, retired): {known:?}");
                if let Ok(keys) = source.load() {
                    match engine::secrets::check_keys(&pool, &keys).await {
                        Ok(()) => println!("database check: the keys match"),
                        Err(e) => println!("database check: {e}"),
                    }
                }
                if let Some(v) = store::credentials::unfinished_rotation(&pool).await? {
                    let left = store::credentials::rotation_remaining(&pool, v).await?;
                    println!("rotation to v{v} in progress: {left} data keys left");
                }
                return Ok(());
            }
            let batch = arg_value("--batch")
                .and_then(|v| v.parse().ok())
                .unwrap_or(100);
            let max_batches = arg_value("--max-batches").and_then(|v| v.parse().ok());
            let actor = std::env::var("USER").unwrap_or_else(|_| "switchboard-vault".into());
            let started = std::time::Instant::now();
            let r = engine::secrets::rotate(
                &pool,
                &source,
                &actor,
                batch,
                max_batches,
                !has_flag("--no-prune"),
            )
            .await?;
            println!(
                "rotation to v{}: {} data keys re-wrapped, {} plaintext rows encrypted, {} left, {} ({} ms){}",
                r.to_version,
                r.rewrapped,
                r.encrypted_legacy,
                r.remaining,
                if r.finished {
                    "finished"
                } else {
                    "NOT finished: run again to resume"
                },
                started.elapsed().as_millis(),
                if r.pruned_versions.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; removed old versions {:?} from {}",
                        r.pruned_versions,
                        source.describe()
                    )
                }
            );
            Ok(())
        }
        _ => anyhow::bail!(
            "usage: switchboard-vault status|init|rotate [--keyring | --key-file PATH] [--batch N] [--max-batches N] [--no-prune]"
        ),
    }
}
