//! The demo's database: `DATABASE_URL`, or an embedded Postgres from the system binaries.

use anyhow::{Context, bail};
use std::path::PathBuf;

/// A database the demo can use; keeps an embedded server alive while held.
pub struct Database {
    /// Connection URL (contains the embedded server's password: never print it).
    pub url: String,
    /// Where it came from, safe to print ("DATABASE_URL" or "embedded Postgres on port N").
    pub description: String,
    _embedded: Option<pgtemp::PgTempDB>,
}

/// Finds the newest `/usr/lib/postgresql/<version>/bin` holding `initdb` and `postgres`.
pub fn system_postgres_bin() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            (bin.join("initdb").exists() && bin.join("postgres").exists()).then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, p)| p)
}

/// `DATABASE_URL` when set; otherwise starts an embedded Postgres (no network, system binaries).
pub async fn open() -> anyhow::Result<Database> {
    if let Ok(url) = std::env::var("DATABASE_URL")
        && !url.trim().is_empty()
    {
        return Ok(Database {
            url,
            description: "DATABASE_URL".into(),
            _embedded: None,
        });
    }
    let Some(bin) = system_postgres_bin() else {
        bail!(
            "no DATABASE_URL and no Postgres server binaries under /usr/lib/postgresql/*/bin; install the `postgresql` package or set DATABASE_URL"
        );
    };
    let is_root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0"))
        .unwrap_or(false);
    if is_root
        && std::process::Command::new("sudo")
            .arg("--version")
            .output()
            .is_err()
    {
        bail!(
            "running as root: the embedded Postgres must run as the `postgres` user through sudo; install the `sudo` package or set DATABASE_URL"
        );
    }
    let db = tokio::task::spawn_blocking(move || {
        pgtemp::PgTempDBBuilder::new()
            .with_bin_path(bin)
            .with_dbname("switchboard")
            .with_config_param("max_connections", "200")
            .with_config_param("fsync", "on")
            .start()
    })
    .await
    .context("embedded Postgres did not start")?;
    let description = format!("embedded Postgres on 127.0.0.1:{}", db.db_port());
    let url = db.connection_uri();
    Ok(Database {
        url,
        description,
        _embedded: Some(db),
    })
}
