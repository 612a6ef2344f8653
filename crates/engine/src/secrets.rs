//! Connector secrets and master keys, for the console and the `switchboard-vault` command.
//!
//! - Secrets are **write-only**: [`Console::set_credential`] stores (encrypted) and
//!   [`Console::credentials`] shows at most the last 4 characters; nothing here returns a
//!   secret, and errors never contain one.
//! - First start on a desktop: [`key_setup_state`] says whether the OS keyring holds a master
//!   key; [`create_master_key`] or [`import_master_key`] fix a missing one. A wrong key is
//!   reported by [`check_keys`] against the database's check values.
//! - Rotation: [`rotate`] re-wraps every merchant data key with a newer master key version,
//!   row by row (online: credential ciphertexts do not change, payments keep decrypting with
//!   either version), resumable (progress is each row's `master_version`), and retires the old
//!   versions only when no row needs them.

use crate::EngineError;
use crate::console::Console;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use std::sync::Arc;
use ts_rs::TS;
use uuid::Uuid;
use vault::{KeySource, Keyset, VaultError};

/// A stored secret as the console sees it: never the secret itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CredentialView {
    /// Connector id (UUID).
    pub connector_id: String,
    /// `api_key` or `webhook_secret` (INTERFACES.md §C).
    pub field: String,
    /// At most the last 4 characters (empty for secrets shorter than 12 characters).
    pub last4: String,
    /// Data key version that encrypted it (`null`: plaintext from before encryption).
    pub key_version: Option<i32>,
    /// When it was last set, UTC milliseconds.
    #[ts(type = "number")]
    pub updated_at_ms: i64,
}

/// Set or replace one secret. The secret travels in, never out.
#[derive(Clone, Deserialize, TS)]
pub struct SetCredential {
    /// Connector id (UUID).
    pub connector_id: String,
    /// `api_key` or `webhook_secret`.
    pub field: String,
    /// The new secret (1..=4096 characters, no surrounding whitespace).
    pub secret: String,
    /// Why (3..=500 characters), recorded in the audit log.
    pub reason: String,
}

impl std::fmt::Debug for SetCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetCredential")
            .field("connector_id", &self.connector_id)
            .field("field", &self.field)
            .field("secret", &"[redacted]")
            .field("reason", &self.reason)
            .finish()
    }
}

/// Whether this desktop can decrypt: what the first-start screen shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct KeySetupState {
    /// `ready`, `missing` (offer create/import), `wrong_key` (offer import), `unavailable`
    /// (keyring locked or absent: message says what to do).
    pub state: String,
    /// Where the key is looked for, e.g. "the OS keyring (service \"switchboard\" …)".
    pub source: String,
    /// Master key versions present.
    pub versions: Vec<u32>,
    /// Human sentence.
    pub message: String,
}

/// Outcome of a rotation run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RotationReport {
    /// Target master key version.
    pub to_version: u32,
    /// Data keys re-wrapped by this run.
    #[ts(type = "number")]
    pub rewrapped: u64,
    /// Plaintext rows (connector credentials from before migration 0006, merchant webhook
    /// endpoint secrets from before 0008) encrypted by this run.
    #[ts(type = "number")]
    pub encrypted_legacy: u64,
    /// Data keys still on an older version (0 when finished).
    #[ts(type = "number")]
    pub remaining: i64,
    /// True when every data key is on `to_version` and older versions are retired.
    pub finished: bool,
    /// Versions removed from the key source after finishing (writable sources only).
    pub pruned_versions: Vec<u32>,
}

const FIELDS: [&str; 2] = [
    store::credentials::API_KEY,
    store::credentials::WEBHOOK_SECRET,
];

fn check_reason(reason: &str) -> Result<&str, EngineError> {
    let r = reason.trim();
    let n = r.chars().count();
    if !(3..=500).contains(&n) {
        return Err(EngineError::invalid(
            "reason_required",
            Some("reason".into()),
            "a reason of 3 to 500 characters is required",
        ));
    }
    Ok(r)
}

/// Rewrites a refusal by Postgres (SQLSTATE 42501, GRANT or RLS; already
/// [`EngineError::Forbidden`] via `From<sqlx::Error>`) into a sentence about `what`.
pub(crate) fn forbidden_or(e: EngineError, what: &str) -> EngineError {
    let refused = match &e {
        EngineError::Forbidden { .. } => true,
        EngineError::Database(sqlx::Error::Database(d)) => d.code().as_deref() == Some("42501"),
        EngineError::InvalidInput { .. }
        | EngineError::NotFound { .. }
        | EngineError::IdempotencyKeyReused
        | EngineError::IdempotencyKeyInUse
        | EngineError::InvalidState { .. }
        | EngineError::Database(_)
        | EngineError::Internal(_)
        | EngineError::Vault(_) => false,
    };
    if refused {
        EngineError::Forbidden {
            message: format!("your database role may not {what}"),
        }
    } else {
        e
    }
}

impl Console {
    /// The merchant's stored secrets: connector, field, last 4 characters, key version, time.
    /// Errors: `forbidden` for roles that may not see credentials (all but admin).
    pub async fn credentials(&self) -> Result<Vec<CredentialView>, EngineError> {
        let rows = store::credentials::credential_meta(self.pool(), self.merchant_id())
            .await
            .map_err(|e| forbidden_or(e.into(), "see connector credentials"))?;
        Ok(rows
            .into_iter()
            .map(|m| CredentialView {
                connector_id: m.connector_id.to_string(),
                field: m.field,
                last4: m.last4,
                key_version: m.key_version,
                updated_at_ms: store::to_ms(m.updated_at),
            })
            .collect())
    }

    /// Sets or replaces one secret of a connector (encrypted with the merchant's data key,
    /// audited with the reason, never returned). Errors: `invalid_field`, `invalid_secret`,
    /// `reason_required`, `not_found`, `forbidden` (not an admin of this merchant), vault errors
    /// (`master_key_missing`, `master_key_wrong`).
    pub async fn set_credential(
        &self,
        keys: &Keyset,
        req: SetCredential,
    ) -> Result<CredentialView, EngineError> {
        let field = FIELDS.iter().find(|f| **f == req.field).ok_or_else(|| {
            EngineError::invalid(
                "invalid_field",
                Some("field".into()),
                "field must be api_key or webhook_secret",
            )
        })?;
        let n = req.secret.chars().count();
        if n == 0 || n > 4096 || req.secret.trim() != req.secret {
            return Err(EngineError::invalid(
                "invalid_secret",
                Some("secret".into()),
                "the secret must be 1 to 4096 characters without surrounding whitespace",
            ));
        }
        let reason = check_reason(&req.reason)?;
        let connector_id = Uuid::parse_str(req.connector_id.trim())
            .map_err(|_| EngineError::NotFound { what: "connector" })?;
        store::config::connector(self.pool(), self.merchant_id(), connector_id)
            .await?
            .ok_or(EngineError::NotFound { what: "connector" })?;
        let secret = SecretString::from(req.secret);
        store::credentials::set_secret(
            self.pool(),
            keys,
            self.merchant_id(),
            connector_id,
            field,
            &secret,
            self.actor(),
            reason,
        )
        .await
        .map_err(|e| forbidden_or(e.into(), "change connector credentials"))?;
        self.credentials()
            .await?
            .into_iter()
            .find(|c| c.connector_id == connector_id.to_string() && c.field == *field)
            .ok_or(EngineError::NotFound { what: "credential" })
    }
}

/// What the first-start screen should offer for `source` (normally [`KeySource::desktop`]).
/// Never fails: problems become a state with a message.
pub fn key_setup_state(source: &KeySource) -> KeySetupState {
    let (state, versions, message) = match source.load() {
        Ok(k) => (
            "ready",
            k.versions(),
            "the master key is available".to_owned(),
        ),
        Err(e @ VaultError::MasterKeyMissing { .. }) => ("missing", Vec::new(), e.to_string()),
        Err(e @ VaultError::KeyFormat(_)) => ("wrong_key", Vec::new(), e.to_string()),
        Err(
            e @ (VaultError::Keyring(_)
            | VaultError::KeyFile { .. }
            | VaultError::ReadOnlySource(_)
            | VaultError::MasterKeyVersionMissing { .. }
            | VaultError::WrongMasterKey { .. }
            | VaultError::DecryptFailed { .. }),
        ) => ("unavailable", Vec::new(), e.to_string()),
    };
    KeySetupState {
        state: state.into(),
        source: source.describe(),
        versions,
        message,
    }
}

/// Creates a fresh random master key (v1) in `source`. Errors: `master_key_exists` when the
/// source already holds one (never overwritten), source errors.
pub fn create_master_key(source: &KeySource) -> Result<Arc<Keyset>, EngineError> {
    match source.load() {
        Ok(_) => Err(EngineError::InvalidState {
            code: "master_key_exists",
            message: format!("{} already holds a master key", source.describe()),
        }),
        Err(VaultError::MasterKeyMissing { .. }) => {
            let keys = Keyset::generate(&mut rand::rng());
            source.save(&keys)?;
            Ok(Arc::new(keys))
        }
        Err(e) => Err(e.into()),
    }
}

/// Imports an existing master key text (`v1:<64 hex>`, several versions space-separated, or a
/// bare 64-hex key = v1) into `source`, after checking it against the database when a pool is
/// given. Errors: `master_key_malformed`, `master_key_wrong` (does not match the database).
pub async fn import_master_key(
    source: &KeySource,
    text: &SecretString,
    pool: Option<&PgPool>,
) -> Result<Arc<Keyset>, EngineError> {
    let keys = Keyset::parse(text.expose_secret())?;
    if let Some(pool) = pool {
        store::credentials::verify_keys(pool, &keys).await?;
    }
    source.save(&keys)?;
    Ok(Arc::new(keys))
}

/// Checks `keys` against the database's check values. Errors: `master_key_wrong`.
pub async fn check_keys(pool: &PgPool, keys: &Keyset) -> Result<(), EngineError> {
    Ok(store::credentials::verify_keys(pool, keys).await?)
}

/// Rotates to a newer master key version, online and resumable.
///
/// Target: an unfinished earlier run's version (resume), else the source's newest version
/// when the database has not seen it (an operator pre-provisioned it, e.g. in every gateway's
/// environment), else a fresh version generated and saved into `source` first (keyring or
/// key file). Then data keys are re-wrapped `batch` rows at a time (each row committed alone),
/// stopping after `max_batches` batches when given (the rest is left for the next run), legacy
/// plaintext rows (credentials, merchant webhook endpoint secrets) are encrypted, and when nothing remains older versions are retired and, for
/// writable sources with `prune`, removed from the source.
///
/// Gateways keep working throughout as long as they hold both versions (old rows and new rows
/// decrypt). Errors: vault errors (e.g. `key_source_read_only` when a new version is needed
/// and the source is an environment variable), database errors.
pub async fn rotate(
    pool: &PgPool,
    source: &KeySource,
    actor: &str,
    batch: i64,
    max_batches: Option<usize>,
    prune: bool,
) -> Result<RotationReport, EngineError> {
    let mut keys = source.load()?;
    let mut rng = store::credentials::os_rng();
    check_keys(pool, &keys).await?;
    let known = store::credentials::master_versions(pool).await?;
    let unfinished = store::credentials::unfinished_rotation(pool).await?;
    let newest = keys.newest()?.version();
    let target_known = known.iter().any(|(v, _)| *v == newest);
    match unfinished {
        Some(v) => {
            keys.get(v)?;
        }
        None if !target_known => {}
        None => {
            keys = keys.with_new_version(&mut rng);
            source.save(&keys)?;
        }
    }
    let to = match unfinished {
        Some(v) => v,
        None => store::credentials::start_rotation(pool, &keys, actor).await?,
    };
    let mut rewrapped = 0;
    let mut batches = 0usize;
    loop {
        if max_batches.is_some_and(|m| batches >= m) {
            break;
        }
        let n = store::credentials::rewrap_batch(pool, &keys, &mut rng, to, batch.max(1)).await?;
        batches += 1;
        rewrapped += n;
        if n == 0 {
            break;
        }
    }
    let encrypted_legacy = store::credentials::encrypt_legacy(pool, &keys, &mut rng, batch.max(1))
        .await?
        + store::outbox::encrypt_legacy_endpoints(pool, &keys, &mut rng, batch.max(1)).await?;
    let remaining = store::credentials::rotation_remaining(pool, to).await?;
    let finished = remaining == 0 && store::credentials::finish_rotation(pool, to).await?;
    let mut pruned_versions = Vec::new();
    if finished && prune && !matches!(source, KeySource::Env { .. }) {
        pruned_versions = keys.versions().into_iter().filter(|v| *v < to).collect();
        if !pruned_versions.is_empty() {
            source.save(&keys.without_versions_below(to))?;
        }
    }
    tracing::info!(
        to_version = to,
        rewrapped,
        remaining,
        finished,
        "master key rotation"
    );
    Ok(RotationReport {
        to_version: to,
        rewrapped,
        encrypted_legacy,
        remaining,
        finished,
        pruned_versions,
    })
}

/// The key source of a desktop console: `SWITCHBOARD_MASTER_KEY_FILE` / `SWITCHBOARD_MASTER_KEY`
/// when set (tests, shared workstations), else the OS keyring.
pub fn desktop_key_source() -> KeySource {
    KeySource::server(|k| std::env::var(k).ok()).unwrap_or_else(KeySource::desktop)
}

impl Console {
    /// Console action "rotate master key": [`rotate`] over every merchant, 100 rows per batch,
    /// retiring and pruning the old version when done. Needs a database role that may update
    /// every merchant's data keys (the owner/DBA, as `switchboard-vault rotate` uses); other
    /// roles get `forbidden`.
    pub async fn rotate_master_key(
        &self,
        source: &KeySource,
    ) -> Result<RotationReport, EngineError> {
        rotate(self.pool(), source, self.actor(), 100, None, true)
            .await
            .map_err(|e| forbidden_or(e, "rotate the master key"))
    }

    /// First-start import: checks `text` against this database, then stores it in `source`.
    pub async fn import_master_key(
        &self,
        source: &KeySource,
        text: &SecretString,
    ) -> Result<KeySetupState, EngineError> {
        import_master_key(source, text, Some(self.pool())).await?;
        Ok(key_setup_state(source))
    }
}
