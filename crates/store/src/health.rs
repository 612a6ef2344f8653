//! Connector health: the circuit-breaker state every gateway shares (migration 0004).
//!
//! The shared state is on the `connectors` row (`circuit`, `circuit_generation`,
//! `circuit_since`, `circuit_forced` and the `circuit_*` settings), so every change also bumps
//! the config version and `NOTIFY switchboard_config` (0002 triggers) and is audited (0001
//! trigger). A trigger (0004) appends a `connector_health_events` row for every transition.
//! Writes are compare-and-set on `circuit_generation`: a gateway's transition applies only if
//! nobody changed the state since it last saw it.

use routing::{CircuitSettings, Forced, Phase, SharedState, Transition};
use sqlx::{PgPool, Row};
use time::OffsetDateTime;
use uuid::Uuid;

/// The persisted breaker state of one connector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CircuitRow {
    /// Connector id.
    pub connector_id: Uuid,
    /// Settings.
    pub settings: CircuitSettings,
    /// Shared state.
    pub state: SharedState,
}

/// One row of `connector_health_events`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthEventRow {
    /// Event id (ascending).
    pub id: i64,
    /// Connector id.
    pub connector_id: Uuid,
    /// When (UTC).
    pub at: OffsetDateTime,
    /// Phase before (`closed`/`open`/`half_open`).
    pub from_state: String,
    /// Phase after.
    pub to_state: String,
    /// Operator override after the change (`open`/`closed`), if any.
    pub forced: Option<String>,
    /// Generation after the change.
    pub generation: i64,
    /// `breaker` or `operator`.
    pub cause: String,
    /// Gateway (`circuit-breaker@…`) or operator name.
    pub actor: String,
    /// Why (failure rate, probe class, operator's reason).
    pub detail: String,
}

const CIRCUIT_COLS: &str = "id, circuit, circuit_generation, circuit_since, circuit_forced, \
     circuit_failure_threshold_pct, circuit_window_ms, circuit_min_samples, circuit_cooldown_ms, \
     circuit_probe_interval_ms";

fn ms(t: OffsetDateTime) -> u64 {
    u64::try_from(crate::to_ms(t)).unwrap_or(0)
}

fn u64_of(v: i32) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn forced_from(s: Option<&str>) -> Option<Forced> {
    match s {
        Some("open") => Some(Forced::Open),
        Some("closed") => Some(Forced::Closed),
        Some(_) | None => None,
    }
}

/// `open`/`closed` as stored in `circuit_forced`.
pub fn forced_str(f: Forced) -> &'static str {
    match f {
        Forced::Open => "open",
        Forced::Closed => "closed",
    }
}

fn circuit_row(row: &sqlx::postgres::PgRow) -> Result<CircuitRow, sqlx::Error> {
    let phase: String = row.try_get("circuit")?;
    let forced: Option<String> = row.try_get("circuit_forced")?;
    let pct: i16 = row.try_get("circuit_failure_threshold_pct")?;
    let min_samples: i32 = row.try_get("circuit_min_samples")?;
    Ok(CircuitRow {
        connector_id: row.try_get("id")?,
        settings: CircuitSettings {
            failure_threshold_pct: u8::try_from(pct).unwrap_or(50),
            window_ms: u64_of(row.try_get("circuit_window_ms")?),
            min_samples: u32::try_from(min_samples).unwrap_or(1),
            cooldown_ms: u64_of(row.try_get("circuit_cooldown_ms")?),
            probe_interval_ms: u64_of(row.try_get("circuit_probe_interval_ms")?),
        },
        state: SharedState {
            phase: Phase::parse(&phase).unwrap_or(Phase::Closed),
            since_ms: ms(row.try_get("circuit_since")?),
            generation: u64::try_from(row.try_get::<i64, _>("circuit_generation")?).unwrap_or(0),
            forced: forced_from(forced.as_deref()),
        },
    })
}

/// The breaker state of every connector of a merchant.
pub async fn load_circuits(
    pool: &PgPool,
    merchant_id: Uuid,
) -> Result<Vec<CircuitRow>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {CIRCUIT_COLS} FROM connectors WHERE merchant_id = $1 ORDER BY created_seq"
    ))
    .bind(merchant_id)
    .fetch_all(pool)
    .await?;
    rows.iter().map(circuit_row).collect()
}

/// The breaker state of one connector (`None` when it does not exist for this merchant).
pub async fn load_circuit(
    pool: &PgPool,
    merchant_id: Uuid,
    connector_id: Uuid,
) -> Result<Option<CircuitRow>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {CIRCUIT_COLS} FROM connectors WHERE merchant_id = $1 AND id = $2"
    ))
    .bind(merchant_id)
    .bind(connector_id)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(circuit_row).transpose()
}

/// Writes a breaker transition with a compare-and-set: applies only if the row still has
/// `t.from_generation`, phase `t.from` and no operator override. One statement (its own
/// transaction): sets `switchboard.cause = breaker`, `.actor = actor`, `.reason = reason` for the
/// audit and health-event triggers. Returns whether it applied.
pub async fn write_transition(
    pool: &PgPool,
    merchant_id: Uuid,
    connector_id: Uuid,
    t: &Transition,
    actor: &str,
    reason: &str,
) -> Result<bool, sqlx::Error> {
    let at_ms = i64::try_from(t.at_ms).unwrap_or(i64::MAX);
    let n = sqlx::query(
        "UPDATE connectors SET circuit = $4, circuit_generation = $3 + 1,
                circuit_since = to_timestamp($5::double precision / 1000), updated_at = now()
         FROM (SELECT set_config('switchboard.cause', 'breaker', true),
                      set_config('switchboard.actor', $6, true),
                      set_config('switchboard.reason', $7, true)) ctx
         WHERE merchant_id = $1 AND id = $2 AND circuit_generation = $3 AND circuit = $8
           AND circuit_forced IS NULL",
    )
    .bind(merchant_id)
    .bind(connector_id)
    .bind(i64::try_from(t.from_generation).unwrap_or(i64::MAX))
    .bind(t.to.as_str())
    .bind(at_ms)
    .bind(actor)
    .bind(reason)
    .bind(t.from.as_str())
    .execute(pool)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Sets (`Some`) or releases (`None`) an operator override, audited with `actor` and `reason`
/// (0001 audit trigger) and logged as a health event (cause `operator`). Forcing open/closed
/// sets the phase; releasing keeps it. Bumps the generation, so every gateway adopts it.
/// Returns the new state, or `None` when the connector does not exist for this merchant.
pub async fn force_circuit(
    pool: &PgPool,
    merchant_id: Uuid,
    connector_id: Uuid,
    forced: Option<Forced>,
    actor: &str,
    reason: &str,
) -> Result<Option<CircuitRow>, sqlx::Error> {
    let forced_s = forced.map(forced_str);
    let row = sqlx::query(&format!(
        "UPDATE connectors SET circuit_forced = $3,
                circuit = coalesce($3, circuit),
                circuit_since = CASE WHEN coalesce($3, circuit) <> circuit THEN now() ELSE circuit_since END,
                circuit_generation = circuit_generation + 1, updated_at = now()
         FROM (SELECT set_config('switchboard.cause', 'operator', true),
                      set_config('switchboard.actor', $4, true),
                      set_config('switchboard.reason', $5, true)) ctx
         WHERE merchant_id = $1 AND id = $2
         RETURNING {CIRCUIT_COLS}"
    ))
    .bind(merchant_id)
    .bind(connector_id)
    .bind(forced_s)
    .bind(actor)
    .bind(reason)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(circuit_row).transpose()
}

/// Changes a connector's breaker settings (audited like any connector change). The caller
/// validates them first (`CircuitSettings::validate`); the table's CHECKs are the backstop.
/// Returns false when the connector does not exist for this merchant.
pub async fn set_circuit_settings(
    pool: &PgPool,
    merchant_id: Uuid,
    connector_id: Uuid,
    s: &CircuitSettings,
    actor: &str,
    reason: &str,
) -> Result<bool, sqlx::Error> {
    let int = |v: u64| i32::try_from(v).unwrap_or(i32::MAX);
    let n = sqlx::query(
        "UPDATE connectors SET circuit_failure_threshold_pct = $3, circuit_window_ms = $4,
                circuit_min_samples = $5, circuit_cooldown_ms = $6, circuit_probe_interval_ms = $7,
                updated_at = now()
         FROM (SELECT set_config('switchboard.actor', $8, true),
                      set_config('switchboard.reason', $9, true)) ctx
         WHERE merchant_id = $1 AND id = $2",
    )
    .bind(merchant_id)
    .bind(connector_id)
    .bind(i16::from(s.failure_threshold_pct))
    .bind(int(s.window_ms))
    .bind(i32::try_from(s.min_samples).unwrap_or(i32::MAX))
    .bind(int(s.cooldown_ms))
    .bind(int(s.probe_interval_ms))
    .bind(actor)
    .bind(reason)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// The latest `limit` health events of a merchant (optionally of one connector), newest first.
pub async fn health_events(
    pool: &PgPool,
    merchant_id: Uuid,
    connector_id: Option<Uuid>,
    limit: i64,
) -> Result<Vec<HealthEventRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, connector_id, at, from_state, to_state, forced, generation, cause, actor, detail
         FROM connector_health_events
         WHERE merchant_id = $1 AND ($2::uuid IS NULL OR connector_id = $2)
         ORDER BY id DESC LIMIT $3",
    )
    .bind(merchant_id)
    .bind(connector_id)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(HealthEventRow {
                id: r.try_get("id")?,
                connector_id: r.try_get("connector_id")?,
                at: r.try_get("at")?,
                from_state: r.try_get("from_state")?,
                to_state: r.try_get("to_state")?,
                forced: r.try_get("forced")?,
                generation: r.try_get("generation")?,
                cause: r.try_get("cause")?,
                actor: r.try_get("actor")?,
                detail: r.try_get("detail")?,
            })
        })
        .collect()
}

/// Config versions of the given merchants, for the poll fallback of the config listener.
pub async fn config_versions(
    pool: &PgPool,
    merchant_ids: &[Uuid],
) -> Result<Vec<(Uuid, i64)>, sqlx::Error> {
    let rows =
        sqlx::query("SELECT merchant_id, version FROM config_versions WHERE merchant_id = ANY($1)")
            .bind(merchant_ids)
            .fetch_all(pool)
            .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("merchant_id")?, r.try_get("version")?)))
        .collect()
}
