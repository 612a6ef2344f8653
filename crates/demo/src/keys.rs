//! The demo's master keys (vault, issue 6): from `SWITCHBOARD_MASTER_KEY_FILE` /
//! `SWITCHBOARD_MASTER_KEY` when set, else the key file `target/demo-master.key` of this
//! workspace, created (32 random bytes, mode 0600) on first use and reused afterwards, so a
//! reused `DATABASE_URL` keeps decrypting. The seed encrypts with it; the in-process gateway
//! decrypts with it.

use std::path::PathBuf;
use std::sync::Arc;
use vault::{KeySource, Keyset};

/// The key file used when no environment source is set.
pub fn default_key_file() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../target/demo-master.key"
    ))
}

/// Where the demo's master keys come from.
pub fn key_source() -> KeySource {
    KeySource::server(|k| std::env::var(k).ok()).unwrap_or(KeySource::File {
        path: default_key_file(),
    })
}

/// Loads the demo's keyset, creating and saving a fresh one when the source is empty.
/// Errors: a malformed or unreadable source (clear message, no key material).
pub fn master_keys() -> anyhow::Result<Arc<Keyset>> {
    let source = key_source();
    match source.load() {
        Ok(k) => Ok(Arc::new(k)),
        Err(vault::VaultError::MasterKeyMissing { .. }) => {
            let keys = Keyset::generate(&mut rand::rng());
            source.save(&keys)?;
            // Re-read: another process may have created the file at the same moment.
            Ok(Arc::new(source.load()?))
        }
        Err(e) => Err(e.into()),
    }
}

/// Environment for processes the demo starts (the console): the key file when the keys come
/// from one, so the console's credential commands use the same master key. (An environment
/// variable source is inherited as it is.)
pub fn console_env() -> Vec<(String, String)> {
    match key_source() {
        KeySource::File { path } => vec![(
            vault::source::ENV_KEY_FILE.to_owned(),
            path.display().to_string(),
        )],
        KeySource::Keyring { .. } | KeySource::Env { .. } | KeySource::Memory(_) => Vec::new(),
    }
}
