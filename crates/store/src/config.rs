//! Merchants, API keys, connectors, credentials and policies.

use routing::{
    Capabilities, CircuitState, Connector, ConnectorId, ConnectorStatus, Mode, Policy, Provider,
};
use sqlx::{PgConnection, PgPool, Row};
use uuid::Uuid;

/// A connector as the engine needs it to route and call: routing view + how to reach it.
/// The API key is a separate secret (see [`connector_secret`]); it is not part of this struct.
#[derive(Debug, Clone)]
pub struct ConnectorRecord {
    /// Routing view.
    pub connector: Connector,
    /// Base URL of the provider API (or emulator).
    pub base_url: String,
}

/// Parses `test`/`live`.
pub fn parse_mode(s: &str) -> Option<Mode> {
    match s {
        "test" => Some(Mode::Test),
        "live" => Some(Mode::Live),
        _ => None,
    }
}

/// `test`/`live`.
pub fn mode_str(m: Mode) -> &'static str {
    match m {
        Mode::Test => "test",
        Mode::Live => "live",
    }
}

fn circuit_from(s: &str) -> CircuitState {
    match s {
        "open" => CircuitState::Open,
        // Issue 5 will persist a probe budget; until then a half-open connector may probe once.
        "half_open" => CircuitState::HalfOpen { probe_budget: 1 },
        _ => CircuitState::Closed,
    }
}

fn connector_from_row(row: &sqlx::postgres::PgRow) -> Result<ConnectorRecord, sqlx::Error> {
    let provider: String = row.try_get("provider")?;
    let mode: String = row.try_get("mode")?;
    let status: String = row.try_get("status")?;
    let circuit: String = row.try_get("circuit")?;
    let caps: serde_json::Value = row.try_get("capabilities")?;
    let weight: i32 = row.try_get("weight")?;
    let decode = |what: &str| sqlx::Error::Decode(format!("bad connector {what}").into());
    let capabilities: Capabilities =
        serde_json::from_value(caps).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    Ok(ConnectorRecord {
        connector: Connector {
            id: ConnectorId(row.try_get("id")?),
            name: row.try_get("name")?,
            provider: Provider::parse(&provider).ok_or_else(|| decode("provider"))?,
            mode: parse_mode(&mode).ok_or_else(|| decode("mode"))?,
            weight: u32::try_from(weight).map_err(|_| decode("weight"))?,
            is_primary: row.try_get("is_primary")?,
            status: if status == "active" {
                ConnectorStatus::Active
            } else {
                ConnectorStatus::Disabled
            },
            capabilities,
            circuit: circuit_from(&circuit),
            created_seq: row.try_get("created_seq")?,
        },
        base_url: row.try_get("base_url")?,
    })
}

const CONNECTOR_COLS: &str = "id, name, provider, mode, weight, is_primary, status, circuit, capabilities, base_url, created_seq";

/// All connectors of a merchant (every mode), in creation order.
pub async fn connectors(
    pool: &PgPool,
    merchant_id: Uuid,
) -> Result<Vec<ConnectorRecord>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {CONNECTOR_COLS} FROM connectors WHERE merchant_id = $1 ORDER BY created_seq"
    ))
    .bind(merchant_id)
    .fetch_all(pool)
    .await?;
    rows.iter().map(connector_from_row).collect()
}

/// One connector. `None` when it does not exist for this merchant.
pub async fn connector(
    pool: &PgPool,
    merchant_id: Uuid,
    id: Uuid,
) -> Result<Option<ConnectorRecord>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {CONNECTOR_COLS} FROM connectors WHERE merchant_id = $1 AND id = $2"
    ))
    .bind(merchant_id)
    .bind(id)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(connector_from_row).transpose()
}

/// The published policy for a merchant and mode: `(policy id, policy)`. `None` = no policy
/// (routing then uses weights and the primary only).
pub async fn published_policy(
    pool: &PgPool,
    merchant_id: Uuid,
    mode: Mode,
) -> Result<Option<(Uuid, Policy)>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, body FROM policies WHERE merchant_id = $1 AND mode = $2 AND status = 'published'",
    )
    .bind(merchant_id)
    .bind(mode_str(mode))
    .fetch_optional(pool)
    .await?;
    match row {
        None => Ok(None),
        Some(row) => {
            let body: serde_json::Value = row.try_get("body")?;
            let policy: Policy =
                serde_json::from_value(body).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
            Ok(Some((row.try_get("id")?, policy)))
        }
    }
}

/// Looks up a merchant API key by its SHA-256 hash: `(merchant id, mode)` if active.
pub async fn merchant_for_api_key(
    pool: &PgPool,
    key_hash: &[u8],
) -> Result<Option<(Uuid, Mode)>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT merchant_id, mode FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
    )
    .bind(key_hash)
    .fetch_optional(pool)
    .await?;
    match row {
        None => Ok(None),
        Some(r) => {
            let mode: String = r.try_get("mode")?;
            Ok(parse_mode(&mode).map(|m| (r.get::<Uuid, _>("merchant_id"), m)))
        }
    }
}

/// Creates a merchant.
pub async fn insert_merchant(pool: &PgPool, id: Uuid, name: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "WITH m AS (INSERT INTO merchants (id, name) VALUES ($1, $2) RETURNING id)
         INSERT INTO config_versions (merchant_id) SELECT id FROM m",
    )
    .bind(id)
    .bind(name)
    .execute(pool)
    .await?;
    Ok(())
}

/// The first merchant created, if any: `(id, name)`.
pub async fn first_merchant(pool: &PgPool) -> Result<Option<(Uuid, String)>, sqlx::Error> {
    let row = sqlx::query("SELECT id, name FROM merchants ORDER BY created_at, name LIMIT 1")
        .fetch_optional(pool)
        .await?;
    Ok(row.map(|r| (r.get("id"), r.get("name"))))
}

/// Registers a merchant API key by hash, with a short display prefix.
pub async fn insert_api_key(
    pool: &PgPool,
    merchant_id: Uuid,
    mode: Mode,
    key_hash: &[u8],
    key_prefix: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO api_keys (key_hash, merchant_id, mode, key_prefix) VALUES ($1, $2, $3, $4)",
    )
    .bind(key_hash)
    .bind(merchant_id)
    .bind(mode_str(mode))
    .bind(key_prefix)
    .execute(pool)
    .await?;
    Ok(())
}

/// Creates a connector and its API key secret (encrypted with the merchant's data key, see
/// [`crate::credentials`]) in one transaction, audited as `actor`. Errors: database failures,
/// vault failures (no/wrong master key).
pub async fn insert_connector(
    pool: &PgPool,
    keys: &vault::Keyset,
    merchant_id: Uuid,
    c: &Connector,
    base_url: &str,
    api_key: &str,
    actor: &str,
) -> Result<(), crate::credentials::CredentialError> {
    let mut rng = crate::credentials::os_rng();
    let mut tx = pool.begin().await?;
    set_audit_context(&mut tx, actor, "connector created").await?;
    let caps =
        serde_json::to_value(&c.capabilities).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    sqlx::query(
        "INSERT INTO connectors (merchant_id, id, name, provider, mode, weight, is_primary, status, capabilities, base_url)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(merchant_id)
    .bind(c.id.0)
    .bind(&c.name)
    .bind(c.provider.as_str())
    .bind(mode_str(c.mode))
    .bind(i32::try_from(c.weight).unwrap_or(i32::MAX))
    .bind(c.is_primary)
    .bind(match c.status {
        ConnectorStatus::Active => "active",
        ConnectorStatus::Disabled => "disabled",
    })
    .bind(caps)
    .bind(base_url)
    .execute(&mut *tx)
    .await?;
    crate::credentials::put_secret(
        &mut tx,
        keys,
        &mut rng,
        merchant_id,
        c.id.0,
        crate::credentials::API_KEY,
        &secrecy::SecretString::from(api_key.to_owned()),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Stores `policy` as the published version for (merchant, mode), archiving the previous one.
/// Returns the new policy id.
pub async fn publish_policy(
    pool: &PgPool,
    merchant_id: Uuid,
    mode: Mode,
    policy: &Policy,
    note: &str,
) -> Result<Uuid, sqlx::Error> {
    let body = serde_json::to_value(policy).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let id = Uuid::now_v7();
    let mut tx = pool.begin().await?;
    sqlx::query("UPDATE policies SET status = 'archived' WHERE merchant_id = $1 AND mode = $2 AND status = 'published'")
        .bind(merchant_id)
        .bind(mode_str(mode))
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO policies (merchant_id, id, mode, version, status, body, note, published_at)
         VALUES ($1, $2, $3,
                 (SELECT coalesce(max(version), 0) + 1 FROM policies WHERE merchant_id = $1 AND mode = $3),
                 'published', $4, $5, now())",
    )
    .bind(merchant_id)
    .bind(id)
    .bind(mode_str(mode))
    .bind(body)
    .bind(note)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Sets `switchboard.actor` / `switchboard.reason` for the current transaction, read by the
/// audit triggers.
pub async fn set_audit_context(
    conn: &mut PgConnection,
    actor: &str,
    reason: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT set_config('switchboard.actor', $1, true), set_config('switchboard.reason', $2, true)")
        .bind(actor)
        .bind(reason)
        .execute(conn)
        .await?;
    Ok(())
}

/// Sets a connector's weight in one transaction with an audit row (written by trigger) carrying
/// `actor` and `reason`. Returns false when the connector does not exist for this merchant.
pub async fn set_weight(
    pool: &PgPool,
    merchant_id: Uuid,
    connector_id: Uuid,
    weight: u32,
    actor: &str,
    reason: &str,
) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    set_audit_context(&mut tx, actor, reason).await?;
    let n = sqlx::query(
        "UPDATE connectors SET weight = $3, updated_at = now() WHERE merchant_id = $1 AND id = $2",
    )
    .bind(merchant_id)
    .bind(connector_id)
    .bind(i32::try_from(weight).unwrap_or(i32::MAX))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(n == 1)
}

/// Everything a gateway needs to route and call for one merchant and mode, with the config
/// version it was read at. Holds connector API keys: never log or serialise it.
#[derive(Clone)]
pub struct MerchantConfig {
    /// `config_versions.version` when read (0 when the merchant has no version row yet).
    pub version: i64,
    /// All connectors of the merchant (every mode: routing skips the other mode with a reason).
    pub connectors: Vec<ConnectorRecord>,
    /// Published policy for the mode, if any.
    pub policy: Option<(Uuid, Policy)>,
    /// Decrypted `api_key` secret per connector id.
    pub api_keys: std::collections::HashMap<Uuid, secrecy::SecretString>,
}

impl std::fmt::Debug for MerchantConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MerchantConfig")
            .field("version", &self.version)
            .field("connectors", &self.connectors)
            .field("policy", &self.policy)
            .field("api_keys", &format!("[{} redacted]", self.api_keys.len()))
            .finish()
    }
}

/// Current config version of a merchant (0 when none).
pub async fn config_version(pool: &PgPool, merchant_id: Uuid) -> Result<i64, sqlx::Error> {
    Ok(
        sqlx::query_scalar("SELECT version FROM config_versions WHERE merchant_id = $1")
            .bind(merchant_id)
            .fetch_optional(pool)
            .await?
            .unwrap_or(0),
    )
}

/// Reads a consistent [`MerchantConfig`] (one repeatable-read transaction), decrypting the
/// connectors' API keys with `keys`. Errors: database failures; vault failures (missing or
/// wrong master key, undecryptable credential) as [`crate::credentials::CredentialError::Vault`].
pub async fn load_config(
    pool: &PgPool,
    keys: &vault::Keyset,
    merchant_id: Uuid,
    mode: Mode,
) -> Result<MerchantConfig, crate::credentials::CredentialError> {
    let mut tx = pool.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .execute(&mut *tx)
        .await?;
    let version: i64 =
        sqlx::query_scalar("SELECT version FROM config_versions WHERE merchant_id = $1")
            .bind(merchant_id)
            .fetch_optional(&mut *tx)
            .await?
            .unwrap_or(0);
    let rows = sqlx::query(&format!(
        "SELECT {CONNECTOR_COLS} FROM connectors WHERE merchant_id = $1 ORDER BY created_seq"
    ))
    .bind(merchant_id)
    .fetch_all(&mut *tx)
    .await?;
    let connectors = rows
        .iter()
        .map(connector_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    let policy_row = sqlx::query(
        "SELECT id, body FROM policies WHERE merchant_id = $1 AND mode = $2 AND status = 'published'",
    )
    .bind(merchant_id)
    .bind(mode_str(mode))
    .fetch_optional(&mut *tx)
    .await?;
    let policy = match policy_row {
        None => None,
        Some(row) => {
            let body: serde_json::Value = row.try_get("body")?;
            let p: Policy =
                serde_json::from_value(body).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
            Some((row.try_get("id")?, p))
        }
    };
    let api_keys = crate::credentials::secrets_by_connector(
        &mut tx,
        keys,
        merchant_id,
        crate::credentials::API_KEY,
    )
    .await?;
    tx.commit().await?;
    Ok(MerchantConfig {
        version,
        connectors,
        policy,
        api_keys,
    })
}

/// A merchant by id: `(id, name)`.
pub async fn merchant(pool: &PgPool, id: Uuid) -> Result<Option<(Uuid, String)>, sqlx::Error> {
    let row = sqlx::query("SELECT id, name FROM merchants WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?;
    Ok(row.map(|r| (r.get("id"), r.get("name"))))
}
