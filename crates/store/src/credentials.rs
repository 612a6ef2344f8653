//! Connector secrets (API keys, webhook secrets), encrypted by the [`vault`] before they reach
//! the database (migration 0006). The one module that reads or writes `connector_credentials`,
//! `merchant_data_keys` and `vault_master_keys`.
//!
//! - Writes seal the secret with the merchant's data key (created on first use, wrapped by the
//!   keyset's newest master key); the row stores key version, nonce, ciphertext and at most the
//!   last 4 characters for display. Plaintext never reaches SQL.
//! - Reads unwrap the data key with whichever master version wrapped it and open the row; a
//!   ciphertext moved to another row, a wrong or missing master key give a [`CredentialError`]
//!   (never garbage).
//! - Rotation re-wraps data keys row by row ([`rewrap_batch`]); credential rows do not change,
//!   so payments keep flowing, and an interrupted rotation resumes where it stopped.
//!
//! Randomness (nonces, new data keys) is passed in as a `CryptoRng`.

use rand::CryptoRng;
use secrecy::{ExposeSecret, SecretString};
use sqlx::{PgConnection, PgPool, Row};
use std::collections::HashMap;
use uuid::Uuid;
use vault::{CredentialAad, DataKey, Keyset, Sealed, VaultError, WrappedKey};

/// Field name of a connector's provider API key (INTERFACES.md §C).
pub const API_KEY: &str = "api_key";
/// Field name of a connector's provider webhook secret (INTERFACES.md §C).
pub const WEBHOOK_SECRET: &str = "webhook_secret";

/// A credential read or write failure. Messages never contain secrets.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// Database failure (including permission denied for roles without access).
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// Key or ciphertext problem (missing/wrong master key, tampered or moved ciphertext).
    #[error(transparent)]
    Vault(#[from] VaultError),
}

/// What the console may know about a stored secret: never the secret itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialMeta {
    /// Connector.
    pub connector_id: Uuid,
    /// Field (`api_key`, `webhook_secret`).
    pub field: String,
    /// At most the last 4 characters (`""` for short secrets).
    pub last4: String,
    /// Data key version that sealed it (`None`: a plaintext row from before migration 0006).
    pub key_version: Option<i32>,
    /// When it was last set (UTC).
    pub updated_at: time::OffsetDateTime,
}

pub(crate) fn nonce12(bytes: &[u8], what: &str) -> Result<[u8; 12], VaultError> {
    bytes.try_into().map_err(|_| VaultError::DecryptFailed {
        what: format!("{what} (bad nonce length)"),
    })
}

fn version_u32(v: i32) -> u32 {
    u32::try_from(v).unwrap_or(0)
}

/// Records the keyset's versions (check values) in `vault_master_keys` and verifies the ones
/// already there. Errors: `WrongMasterKey` when a version's check value differs.
pub async fn register_keys(conn: &mut PgConnection, keys: &Keyset) -> Result<(), CredentialError> {
    let (versions, checks): (Vec<i32>, Vec<String>) = keys
        .check_values()
        .into_iter()
        .map(|(v, c)| (i32::try_from(v).unwrap_or(i32::MAX), c))
        .unzip();
    sqlx::query(
        "INSERT INTO vault_master_keys (version, check_value)
         SELECT * FROM unnest($1::int[], $2::text[]) ON CONFLICT (version) DO NOTHING",
    )
    .bind(&versions)
    .bind(&checks)
    .execute(&mut *conn)
    .await?;
    verify_rows(conn, keys).await
}

async fn verify_rows(conn: &mut PgConnection, keys: &Keyset) -> Result<(), CredentialError> {
    let rows = sqlx::query("SELECT version, check_value FROM vault_master_keys")
        .fetch_all(&mut *conn)
        .await?;
    let mine: HashMap<u32, String> = keys.check_values().into_iter().collect();
    for r in rows {
        let v = version_u32(r.try_get("version")?);
        let check: String = r.try_get("check_value")?;
        if let Some(c) = mine.get(&v)
            && *c != check
        {
            return Err(VaultError::WrongMasterKey { version: v }.into());
        }
    }
    Ok(())
}

/// Checks, without writing, that every master key version of `keys` that the database knows
/// has the right check value. Use at start-up for a clear "wrong key" error.
pub async fn verify_keys(pool: &PgPool, keys: &Keyset) -> Result<(), CredentialError> {
    let mut conn = pool.acquire().await?;
    verify_rows(&mut conn, keys).await
}

/// Master key versions the database knows: `(version, retired)`, ascending.
pub async fn master_versions(pool: &PgPool) -> Result<Vec<(u32, bool)>, CredentialError> {
    let rows = sqlx::query(
        "SELECT version, retired_at IS NOT NULL AS retired FROM vault_master_keys ORDER BY version",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| Ok((version_u32(r.try_get("version")?), r.try_get("retired")?)))
        .collect()
}

fn wrapped_from_row(r: &sqlx::postgres::PgRow) -> Result<(i32, WrappedKey), CredentialError> {
    let nonce: Vec<u8> = r.try_get("nonce")?;
    Ok((
        r.try_get("version")?,
        WrappedKey {
            master_version: version_u32(r.try_get("master_version")?),
            nonce: nonce12(&nonce, "data key")?,
            ciphertext: r.try_get("wrapped")?,
        },
    ))
}

/// Unwraps, turning an authentication failure into `WrongMasterKey` when the check values say so.
async fn unwrap_checked(
    conn: &mut PgConnection,
    keys: &Keyset,
    merchant_id: Uuid,
    version: i32,
    wrapped: &WrappedKey,
) -> Result<DataKey, CredentialError> {
    match vault::unwrap_data_key(keys, merchant_id, version, wrapped) {
        Ok(dk) => Ok(dk),
        Err(e @ VaultError::DecryptFailed { .. }) => {
            verify_rows(conn, keys).await?;
            Err(e.into())
        }
        Err(e) => Err(e.into()),
    }
}

/// All data keys of a merchant, unwrapped, by version.
pub(crate) async fn data_keys(
    conn: &mut PgConnection,
    keys: &Keyset,
    merchant_id: Uuid,
) -> Result<HashMap<i32, DataKey>, CredentialError> {
    let rows = sqlx::query(
        "SELECT version, master_version, nonce, wrapped FROM merchant_data_keys WHERE merchant_id = $1",
    )
    .bind(merchant_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = HashMap::with_capacity(rows.len());
    for r in &rows {
        let (v, w) = wrapped_from_row(r)?;
        let dk = unwrap_checked(conn, keys, merchant_id, v, &w).await?;
        out.insert(v, dk);
    }
    Ok(out)
}

/// The merchant's newest data key, created (v1, wrapped by the newest master key) when the
/// merchant has none. Safe under concurrency (insert-if-absent, then read).
pub(crate) async fn data_key_for_write(
    conn: &mut PgConnection,
    keys: &Keyset,
    merchant_id: Uuid,
    rng: &mut (impl CryptoRng + Send),
) -> Result<DataKey, CredentialError> {
    let select = "SELECT version, master_version, nonce, wrapped FROM merchant_data_keys
                  WHERE merchant_id = $1 ORDER BY version DESC LIMIT 1";
    let existing = sqlx::query(select)
        .bind(merchant_id)
        .fetch_optional(&mut *conn)
        .await?;
    let row = match existing {
        Some(r) => r,
        None => {
            register_keys(conn, keys).await?;
            let (_, wrapped) = vault::new_data_key(keys, merchant_id, 1, rng)?;
            sqlx::query(
                "INSERT INTO merchant_data_keys (merchant_id, version, master_version, nonce, wrapped)
                 VALUES ($1, 1, $2, $3, $4) ON CONFLICT (merchant_id, version) DO NOTHING",
            )
            .bind(merchant_id)
            .bind(i32::try_from(wrapped.master_version).unwrap_or(i32::MAX))
            .bind(wrapped.nonce.as_slice())
            .bind(&wrapped.ciphertext)
            .execute(&mut *conn)
            .await?;
            sqlx::query(select)
                .bind(merchant_id)
                .fetch_one(&mut *conn)
                .await?
        }
    };
    let (v, w) = wrapped_from_row(&row)?;
    unwrap_checked(conn, keys, merchant_id, v, &w).await
}

/// Sets (inserts or replaces) one secret field of a connector, encrypted. Runs on `conn`, so
/// callers compose it into their transaction (and set the audit context first). The audit
/// trigger records field, key version and time, never the secret.
#[allow(clippy::too_many_arguments)]
pub async fn put_secret(
    conn: &mut PgConnection,
    keys: &Keyset,
    rng: &mut (impl CryptoRng + Send),
    merchant_id: Uuid,
    connector_id: Uuid,
    field: &str,
    secret: &SecretString,
) -> Result<(), CredentialError> {
    let dk = data_key_for_write(conn, keys, merchant_id, rng).await?;
    let sealed = vault::seal(
        &dk,
        CredentialAad {
            merchant_id,
            connector_id,
            field,
        },
        secret,
        rng,
    )?;
    sqlx::query(
        "INSERT INTO connector_credentials (merchant_id, connector_id, field, secret, key_version, nonce, ciphertext, last4)
         VALUES ($1, $2, $3, NULL, $4, $5, $6, $7)
         ON CONFLICT (merchant_id, connector_id, field) DO UPDATE
           SET secret = NULL, key_version = EXCLUDED.key_version, nonce = EXCLUDED.nonce,
               ciphertext = EXCLUDED.ciphertext, last4 = EXCLUDED.last4, updated_at = now()",
    )
    .bind(merchant_id)
    .bind(connector_id)
    .bind(field)
    .bind(sealed.key_version)
    .bind(sealed.nonce.as_slice())
    .bind(&sealed.ciphertext)
    .bind(vault::last4(secret.expose_secret()))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn open_row(
    r: &sqlx::postgres::PgRow,
    dks: &HashMap<i32, DataKey>,
    merchant_id: Uuid,
) -> Result<(Uuid, SecretString), CredentialError> {
    let connector_id: Uuid = r.try_get("connector_id")?;
    let field: String = r.try_get("field")?;
    let what = || format!("credential {field} of connector {connector_id}");
    let key_version: Option<i32> = r.try_get("key_version")?;
    let nonce: Option<Vec<u8>> = r.try_get("nonce")?;
    let ciphertext: Option<Vec<u8>> = r.try_get("ciphertext")?;
    let (Some(key_version), Some(nonce), Some(ciphertext)) = (key_version, nonce, ciphertext)
    else {
        return Err(VaultError::DecryptFailed {
            what: format!(
                "{} (stored before encryption: run `switchboard-vault rotate` to encrypt it)",
                what()
            ),
        }
        .into());
    };
    let dk = dks
        .get(&key_version)
        .ok_or_else(|| VaultError::DecryptFailed {
            what: format!("{} (data key v{key_version} not found)", what()),
        })?;
    let sealed = Sealed {
        key_version,
        nonce: nonce12(&nonce, &what())?,
        ciphertext,
    };
    let secret = vault::open(
        dk,
        CredentialAad {
            merchant_id,
            connector_id,
            field: &field,
        },
        &sealed,
    )?;
    Ok((connector_id, secret))
}

const CRED_COLS: &str = "connector_id, field, key_version, nonce, ciphertext";

/// Decrypted `field` secrets of all a merchant's connectors, by connector id (one query for the
/// rows, one for the data keys). Runs on `conn` (e.g. inside `load_config`'s snapshot).
pub async fn secrets_by_connector(
    conn: &mut PgConnection,
    keys: &Keyset,
    merchant_id: Uuid,
    field: &str,
) -> Result<HashMap<Uuid, SecretString>, CredentialError> {
    let rows = sqlx::query(&format!(
        "SELECT {CRED_COLS} FROM connector_credentials WHERE merchant_id = $1 AND field = $2"
    ))
    .bind(merchant_id)
    .bind(field)
    .fetch_all(&mut *conn)
    .await?;
    if rows.is_empty() {
        return Ok(HashMap::new());
    }
    let dks = data_keys(conn, keys, merchant_id).await?;
    rows.iter()
        .map(|r| open_row(r, &dks, merchant_id))
        .collect()
}

/// One decrypted secret; `None` when the connector has no such field. Never log or return it.
pub async fn secret(
    pool: &PgPool,
    keys: &Keyset,
    merchant_id: Uuid,
    connector_id: Uuid,
    field: &str,
) -> Result<Option<SecretString>, CredentialError> {
    let mut conn = pool.acquire().await?;
    let row = sqlx::query(&format!(
        "SELECT {CRED_COLS} FROM connector_credentials WHERE merchant_id = $1 AND connector_id = $2 AND field = $3"
    ))
    .bind(merchant_id)
    .bind(connector_id)
    .bind(field)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let dks = data_keys(&mut conn, keys, merchant_id).await?;
    Ok(Some(open_row(&row, &dks, merchant_id)?.1))
}

/// A connector's provider webhook secret (INTERFACES.md §C), decrypted; `None` when none is
/// configured (Mollie classic).
pub async fn webhook_secret(
    pool: &PgPool,
    keys: &Keyset,
    merchant_id: Uuid,
    connector_id: Uuid,
) -> Result<Option<SecretString>, CredentialError> {
    secret(pool, keys, merchant_id, connector_id, WEBHOOK_SECRET).await
}

/// Sets one secret field in its own transaction, audited as `actor` with `reason`.
#[allow(clippy::too_many_arguments)]
pub async fn set_secret(
    pool: &PgPool,
    keys: &Keyset,
    merchant_id: Uuid,
    connector_id: Uuid,
    field: &str,
    secret: &SecretString,
    actor: &str,
    reason: &str,
) -> Result<(), CredentialError> {
    let mut rng = os_rng();
    let mut tx = pool.begin().await?;
    crate::config::set_audit_context(&mut tx, actor, reason).await?;
    put_secret(
        &mut tx,
        keys,
        &mut rng,
        merchant_id,
        connector_id,
        field,
        secret,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Stores a connector's provider webhook secret (Stripe `whsec_…`, Square signature key,
/// Braintree `public_key:private_key`, Mollie `webhookSecret`; INTERFACES.md §C), encrypted.
pub async fn set_webhook_secret(
    pool: &PgPool,
    keys: &Keyset,
    merchant_id: Uuid,
    connector_id: Uuid,
    secret: &SecretString,
) -> Result<(), CredentialError> {
    set_secret(
        pool,
        keys,
        merchant_id,
        connector_id,
        WEBHOOK_SECRET,
        secret,
        "system",
        "webhook secret set",
    )
    .await
}

/// Display facts of a merchant's secrets (no secret material), by connector then field.
pub async fn credential_meta(
    pool: &PgPool,
    merchant_id: Uuid,
) -> Result<Vec<CredentialMeta>, CredentialError> {
    let rows = sqlx::query(
        "SELECT connector_id, field, last4, key_version, updated_at FROM connector_credentials
         WHERE merchant_id = $1 ORDER BY connector_id, field",
    )
    .bind(merchant_id)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(CredentialMeta {
                connector_id: r.try_get("connector_id")?,
                field: r.try_get("field")?,
                last4: r.try_get("last4")?,
                key_version: r.try_get("key_version")?,
                updated_at: r.try_get("updated_at")?,
            })
        })
        .collect()
}

/// A CSPRNG seeded from the OS, `Send` (safe to hold across `.await`).
pub fn os_rng() -> rand::rngs::StdRng {
    use rand::SeedableRng;
    rand::rngs::StdRng::from_os_rng()
}

// ---------------------------------------------------------------- rotation

/// Where a rotation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationProgress {
    /// Target master key version.
    pub to_version: u32,
    /// Data keys re-wrapped by this call.
    pub rewrapped: u64,
    /// Data keys still wrapped by another version.
    pub remaining: i64,
    /// Plaintext rows (from before migration 0006) encrypted by this call.
    pub encrypted_legacy: u64,
    /// True when nothing remains and older versions were marked retired.
    pub finished: bool,
}

/// Re-wraps up to `limit` data keys that are not yet on `to_version`, each row committed on
/// its own (per-row progress: an interruption loses at most the row in flight, and running
/// again resumes). A row changed concurrently is skipped and picked up by the next batch.
/// Returns how many rows were re-wrapped. Errors: `MasterKeyVersionMissing` when the keyset
/// lacks `to_version` or a version a row is still wrapped by.
pub async fn rewrap_batch(
    pool: &PgPool,
    keys: &Keyset,
    rng: &mut (impl CryptoRng + Send),
    to_version: u32,
    limit: i64,
) -> Result<u64, CredentialError> {
    keys.get(to_version)?;
    let to = i32::try_from(to_version).unwrap_or(i32::MAX);
    let rows = sqlx::query(
        "SELECT merchant_id, version, master_version, nonce, wrapped FROM merchant_data_keys
         WHERE master_version <> $1 ORDER BY merchant_id, version LIMIT $2",
    )
    .bind(to)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    let mut done = 0;
    for r in &rows {
        let merchant_id: Uuid = r.try_get("merchant_id")?;
        let (version, wrapped) = wrapped_from_row(r)?;
        let new = vault::rewrap_data_key(keys, merchant_id, version, &wrapped, to_version, rng)?;
        let n = sqlx::query(
            "UPDATE merchant_data_keys SET master_version = $4, nonce = $5, wrapped = $6, rewrapped_at = now()
             WHERE merchant_id = $1 AND version = $2 AND master_version = $3",
        )
        .bind(merchant_id)
        .bind(version)
        .bind(i32::try_from(wrapped.master_version).unwrap_or(i32::MAX))
        .bind(to)
        .bind(new.nonce.as_slice())
        .bind(&new.ciphertext)
        .execute(pool)
        .await?
        .rows_affected();
        done += n;
    }
    Ok(done)
}

/// Data keys not yet wrapped by `to_version`.
pub async fn rotation_remaining(pool: &PgPool, to_version: u32) -> Result<i64, CredentialError> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM merchant_data_keys WHERE master_version <> $1")
            .bind(i32::try_from(to_version).unwrap_or(i32::MAX))
            .fetch_one(pool)
            .await?,
    )
}

/// Starts (or resumes) a rotation to the keyset's newest version: registers it, records the run.
/// Returns the target version.
pub async fn start_rotation(
    pool: &PgPool,
    keys: &Keyset,
    actor: &str,
) -> Result<u32, CredentialError> {
    let to = keys.newest()?.version();
    let mut conn = pool.acquire().await?;
    register_keys(&mut conn, keys).await?;
    sqlx::query(
        "INSERT INTO vault_rotations (to_version, actor)
         SELECT $1, $2 WHERE NOT EXISTS (SELECT 1 FROM vault_rotations WHERE to_version = $1 AND finished_at IS NULL)",
    )
    .bind(i32::try_from(to).unwrap_or(i32::MAX))
    .bind(actor)
    .execute(&mut *conn)
    .await?;
    Ok(to)
}

/// Finishes a rotation when no data key remains on an older version: marks older versions
/// retired (their keys may then be removed from every key source) and the run finished.
/// Returns false (and changes nothing) while rows remain.
pub async fn finish_rotation(pool: &PgPool, to_version: u32) -> Result<bool, CredentialError> {
    let to = i32::try_from(to_version).unwrap_or(i32::MAX);
    let mut tx = pool.begin().await?;
    let remaining: i64 =
        sqlx::query_scalar("SELECT count(*) FROM merchant_data_keys WHERE master_version <> $1")
            .bind(to)
            .fetch_one(&mut *tx)
            .await?;
    if remaining > 0 {
        return Ok(false);
    }
    let moved: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM merchant_data_keys WHERE master_version = $1 AND rewrapped_at IS NOT NULL",
    )
    .bind(to)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE vault_master_keys SET retired_at = now() WHERE version < $1 AND retired_at IS NULL",
    )
    .bind(to)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE vault_rotations SET finished_at = now(), rewrapped = $2 WHERE to_version = $1 AND finished_at IS NULL",
    )
    .bind(to)
    .bind(i32::try_from(moved).unwrap_or(i32::MAX))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Encrypts up to `limit` rows stored in plaintext before migration 0006 (each row in its own
/// transaction). Returns how many were encrypted.
pub async fn encrypt_legacy(
    pool: &PgPool,
    keys: &Keyset,
    rng: &mut (impl CryptoRng + Send),
    limit: i64,
) -> Result<u64, CredentialError> {
    let rows = sqlx::query(
        "SELECT merchant_id, connector_id, field FROM connector_credentials WHERE secret IS NOT NULL LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await?;
    let mut done = 0;
    for r in &rows {
        let merchant_id: Uuid = r.try_get("merchant_id")?;
        let connector_id: Uuid = r.try_get("connector_id")?;
        let field: String = r.try_get("field")?;
        let mut tx = pool.begin().await?;
        crate::config::set_audit_context(&mut tx, "vault", "encrypt plaintext credential").await?;
        let plain: Option<String> = sqlx::query_scalar(
            "SELECT secret FROM connector_credentials WHERE merchant_id = $1 AND connector_id = $2 AND field = $3 FOR UPDATE",
        )
        .bind(merchant_id)
        .bind(connector_id)
        .bind(&field)
        .fetch_optional(&mut *tx)
        .await?
        .flatten();
        if let Some(plain) = plain {
            let secret = SecretString::from(plain);
            put_secret(
                &mut tx,
                keys,
                rng,
                merchant_id,
                connector_id,
                &field,
                &secret,
            )
            .await?;
            done += 1;
        }
        tx.commit().await?;
    }
    Ok(done)
}

/// The target version of a rotation run that has not finished, if any.
pub async fn unfinished_rotation(pool: &PgPool) -> Result<Option<u32>, CredentialError> {
    let v: Option<i32> =
        sqlx::query_scalar("SELECT max(to_version) FROM vault_rotations WHERE finished_at IS NULL")
            .fetch_one(pool)
            .await?;
    Ok(v.map(version_u32))
}
