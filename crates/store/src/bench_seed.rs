//! Bulk seeding of a synthetic history for the console bench (`switchboard-console-bench`):
//! millions of payments and attempts written with `generate_series` in a few statements, with
//! triggers and foreign-key checks off (`session_replication_role = replica`) and secondary
//! indexes dropped during the load and rebuilt after it, then the console rollups rebuilt in
//! bulk (`console_rebuild_rollups()`). Deterministic: row `i` always gets the same values.
//!
//! The mix (per payment `i`, from a hash of `i`): 3 merchants (60/30/10 % of payments),
//! 4 connectors each, EUR/USD/GBP, amounts 1.00–500.99, created uniformly over `days` days
//! ending at `end`. Half the payments make two provider calls: the first fails
//! (provider_unavailable 60 %, rate_limited 25 %, auth_config_error 15 %) and falls back to the
//! merchant's 4th connector (approved 90 %, soft decline 6 %, hard decline 4 %); single-call
//! payments are approved 85 %, soft-declined 8 %, hard-declined 5 %, need 3DS 2 %. Latencies
//! 60–360 ms, 3 % slow (1.5–4.5 s). Two events per payment (created, final status).

use sqlx::{Connection, PgConnection, PgPool, Row};
use time::OffsetDateTime;
use uuid::Uuid;

/// What to seed.
#[derive(Debug, Clone)]
pub struct SeedSpec {
    /// Payments (10,000,000 for the bench).
    pub payments: i64,
    /// Rows per statement (progress granularity).
    pub chunk: i64,
    /// History length.
    pub days: i64,
    /// End of the history (UTC).
    pub end: OffsetDateTime,
}

/// Merchant and connector ids written by [`seed_config`]: `merchants[m]`, `connectors[m][j]`.
#[derive(Debug, Clone)]
pub struct SeededIds {
    /// 3 merchants.
    pub merchants: Vec<Uuid>,
    /// 4 connectors per merchant (the 4th is the primary / fallback).
    pub connectors: Vec<Vec<Uuid>>,
}

const NAMES: [&str; 4] = ["Stripe EU", "Adyen US", "Braintree UK", "Square Fallback"];
const PROVIDERS: [&str; 4] = ["stripe", "simulator", "braintree", "square"];

/// Writes 3 merchants with 4 connectors each (weights 50/30/20/0, the 4th primary).
pub async fn seed_config(
    pool: &PgPool,
    capabilities: &serde_json::Value,
) -> Result<SeededIds, sqlx::Error> {
    let mut ids = SeededIds {
        merchants: Vec::new(),
        connectors: Vec::new(),
    };
    for m in 0..3 {
        let mid = Uuid::now_v7();
        sqlx::query("INSERT INTO merchants (id, name) VALUES ($1, $2)")
            .bind(mid)
            .bind(format!("Bench Merchant {}", m + 1))
            .execute(pool)
            .await?;
        let mut cs = Vec::new();
        for (j, (name, provider)) in NAMES.iter().zip(PROVIDERS).enumerate() {
            let cid = Uuid::now_v7();
            sqlx::query(
                "INSERT INTO connectors (merchant_id, id, name, provider, mode, weight, is_primary, status, capabilities, base_url)
                 VALUES ($1, $2, $3, $4, 'test', $5, $6, 'active', $7, 'http://127.0.0.1:9')",
            )
            .bind(mid)
            .bind(cid)
            .bind(*name)
            .bind(provider)
            .bind([50, 30, 20, 0][j])
            .bind(j == 3)
            .bind(capabilities)
            .execute(pool)
            .await?;
            cs.push(cid);
        }
        ids.merchants.push(mid);
        ids.connectors.push(cs);
    }
    Ok(ids)
}

/// Secondary indexes of payments, attempts and payment_events: `(name, CREATE statement)`.
async fn secondary_indexes(conn: &mut PgConnection) -> Result<Vec<(String, String)>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i
         JOIN pg_class c ON c.relname = i.indexname
         JOIN pg_index x ON x.indexrelid = c.oid
         WHERE i.schemaname = current_schema() AND i.tablename IN ('payments', 'attempts', 'payment_events')
           AND NOT x.indisprimary AND NOT x.indisunique",
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

/// Seeds `spec.payments` payments (+ ~1.5 attempts and 2 events each) for `ids`, calling
/// `progress(payments_done)` after each chunk, then rebuilds indexes, statistics and rollups
/// (`progress` is called with a phase name for those).
pub async fn seed_history(
    url: &str,
    ids: &SeededIds,
    spec: &SeedSpec,
    mut progress: impl FnMut(&str, i64),
) -> Result<(), sqlx::Error> {
    let mut conn = PgConnection::connect(url).await?;
    sqlx::query("SET session_replication_role = replica")
        .execute(&mut conn)
        .await?;
    sqlx::query("SET work_mem = '512MB'")
        .execute(&mut conn)
        .await?;
    sqlx::query("SET maintenance_work_mem = '1GB'")
        .execute(&mut conn)
        .await?;
    sqlx::query("SET synchronous_commit = off")
        .execute(&mut conn)
        .await?;
    let indexes = secondary_indexes(&mut conn).await?;
    for (name, _) in &indexes {
        sqlx::query(&format!("DROP INDEX IF EXISTS {name}"))
            .execute(&mut conn)
            .await?;
    }
    let merchants: Vec<Uuid> = ids.merchants.clone();
    let connectors: Vec<Uuid> = ids.connectors.iter().flatten().copied().collect();
    let start_ms = (spec.end.unix_timestamp_nanos() / 1_000_000) as i64 - spec.days * 86_400_000;
    let step_ms = (spec.days * 86_400_000) as f64 / spec.payments as f64;
    let mut done = 0;
    while done < spec.payments {
        let hi = (done + spec.chunk).min(spec.payments);
        sqlx::query(SEED_CHUNK)
            .bind(done)
            .bind(hi - 1)
            .bind(start_ms)
            .bind(step_ms)
            .bind(&merchants)
            .bind(&connectors)
            .execute(&mut conn)
            .await?;
        done = hi;
        progress("payments", done);
    }
    for (i, (_, def)) in indexes.iter().enumerate() {
        sqlx::query(def).execute(&mut conn).await?;
        progress("indexes", i as i64 + 1);
    }
    sqlx::query("SET session_replication_role = origin")
        .execute(&mut conn)
        .await?;
    sqlx::query("VACUUM (ANALYZE) payments")
        .execute(&mut conn)
        .await?;
    sqlx::query("VACUUM (ANALYZE) attempts")
        .execute(&mut conn)
        .await?;
    sqlx::query("VACUUM (ANALYZE) payment_events")
        .execute(&mut conn)
        .await?;
    progress("analyze", 1);
    sqlx::query("SELECT console_rebuild_rollups()")
        .execute(&mut conn)
        .await?;
    sqlx::query("VACUUM (ANALYZE) attempt_rollup")
        .execute(&mut conn)
        .await?;
    progress("rollups", 1);
    Ok(())
}

/// One chunk: rows `$1..=$2`; `$3` start ms, `$4` ms per payment, `$5` merchants, `$6`
/// connectors (merchant-major, 4 each).
const SEED_CHUNK: &str = "
WITH g AS (
    SELECT i, h, m, ms,
        (lpad(to_hex(ms), 12, '0') || '7' || lpad(to_hex(m), 3, '0') || '8' || lpad(to_hex(i), 15, '0'))::uuid AS pid,
        (ARRAY['EUR','USD','GBP'])[1 + (h >> 4) % 3] AS cur,
        100 + (h >> 8) % 50000 AS amount,
        (h >> 20) % 2 = 0 AS two,
        (h >> 24) % 3 AS j1,
        (h >> 28) % 100 AS r1,
        (h >> 36) % 100 AS r2,
        CASE WHEN (h >> 44) % 100 < 3 THEN 1500 + (h >> 48) % 3000 ELSE 60 + (h >> 48) % 300 END AS lat1,
        60 + (h >> 52) % 300 AS lat2
    FROM (
        SELECT i, h, CASE WHEN h % 10 < 6 THEN 0 WHEN h % 10 < 9 THEN 1 ELSE 2 END AS m,
            ($3 + floor(i * $4))::bigint AS ms
        FROM (SELECT i, hashint8extended(i, 0) & 9223372036854775807 AS h
              FROM generate_series($1::bigint, $2::bigint) AS i) r
    ) s
), o AS (
    SELECT g.*,
        to_timestamp(ms / 1000.0) AS t,
        CASE WHEN two THEN CASE WHEN r1 < 60 THEN 'provider_unavailable' WHEN r1 < 85 THEN 'rate_limited' ELSE 'auth_config_error' END
             ELSE CASE WHEN r1 < 85 THEN 'approved' WHEN r1 < 93 THEN 'soft_decline' WHEN r1 < 98 THEN 'hard_decline' ELSE 'needs_customer_action' END
        END AS out1,
        CASE WHEN r2 < 90 THEN 'approved' WHEN r2 < 96 THEN 'soft_decline' ELSE 'hard_decline' END AS out2
    FROM g
), f AS (
    SELECT o.*, CASE WHEN two THEN out2 ELSE out1 END AS final,
        ($5::uuid[])[m + 1] AS mid,
        ($6::uuid[])[m * 4 + j1 + 1] AS c1,
        ($6::uuid[])[m * 4 + 4] AS c2
    FROM o
), p AS (
    INSERT INTO payments (merchant_id, id, mode, amount_minor, currency, country, method, card_brand, capture_mode,
        merchant_reference, metadata, tokens, status, failure_code, captured_minor, route_roll, route, attempt_count,
        last_connector_id, created_at, updated_at)
    SELECT mid, pid, 'test', amount, cur, (ARRAY['DE','US','GB'])[1 + (h >> 4) % 3], 'card', 'visa', 'automatic',
        'order-' || i, '{}', '[]',
        CASE final WHEN 'approved' THEN 'captured' WHEN 'needs_customer_action' THEN 'requires_action' ELSE 'failed' END,
        CASE WHEN final IN ('approved', 'needs_customer_action') THEN NULL ELSE final END,
        CASE WHEN final = 'approved' THEN amount ELSE 0 END,
        ((h >> 12) % 10000) / 10000.0,
        '{\"source\":{\"type\":\"weighted\",\"roll\":0.5},\"entries\":[]}',
        CASE WHEN two THEN 2 ELSE 1 END, CASE WHEN two THEN c2 ELSE c1 END,
        t, t + make_interval(secs => (lat1 + CASE WHEN two THEN lat2 ELSE 0 END) / 1000.0)
    FROM f
), a1 AS (
    INSERT INTO attempts (merchant_id, id, payment_id, seq, connector_id, connector_name, provider, status, outcome,
        provider_reference, provider_status, http_status, raw_code, decline_code, message, created_at, requested_at,
        responded_at, latency_ms, next_step, next_step_detail)
    SELECT mid, (lpad(to_hex(ms), 12, '0') || '7' || lpad(to_hex(m), 3, '0') || 'a' || lpad(to_hex(i), 15, '0'))::uuid,
        pid, 1, c1, (ARRAY['Stripe EU','Adyen US','Braintree UK','Square Fallback'])[j1 + 1],
        (ARRAY['stripe','simulator','braintree','square'])[j1 + 1],
        CASE out1 WHEN 'approved' THEN 'succeeded' WHEN 'needs_customer_action' THEN 'requires_action' ELSE 'failed' END,
        out1,
        CASE WHEN out1 IN ('approved', 'soft_decline', 'hard_decline', 'needs_customer_action') THEN 'pi_' || lpad(to_hex(i), 12, '0') || 'a' END,
        CASE out1 WHEN 'approved' THEN 'succeeded' WHEN 'needs_customer_action' THEN 'requires_action' ELSE NULL END,
        CASE out1 WHEN 'approved' THEN 200 WHEN 'rate_limited' THEN 429 WHEN 'auth_config_error' THEN 401
                  WHEN 'provider_unavailable' THEN 503 WHEN 'needs_customer_action' THEN 200 ELSE 402 END,
        CASE out1 WHEN 'soft_decline' THEN 'card_declined' WHEN 'hard_decline' THEN 'card_declined'
                  WHEN 'rate_limited' THEN 'rate_limit' WHEN 'auth_config_error' THEN 'authentication_error' ELSE NULL END,
        CASE out1 WHEN 'soft_decline' THEN 'insufficient_funds' WHEN 'hard_decline' THEN 'stolen_card' ELSE NULL END,
        NULL, t, t, t + make_interval(secs => lat1 / 1000.0), lat1,
        CASE WHEN two THEN 'fall_back' WHEN out1 = 'approved' THEN 'succeed' ELSE 'stop' END,
        CASE WHEN two THEN out1 || ': fall back to Square Fallback' ELSE NULL END
    FROM f
), a2 AS (
    INSERT INTO attempts (merchant_id, id, payment_id, seq, connector_id, connector_name, provider, status, outcome,
        provider_reference, provider_status, http_status, raw_code, decline_code, created_at, requested_at,
        responded_at, latency_ms, next_step)
    SELECT mid, (lpad(to_hex(ms), 12, '0') || '7' || lpad(to_hex(m), 3, '0') || 'b' || lpad(to_hex(i), 15, '0'))::uuid,
        pid, 2, c2, 'Square Fallback', 'square',
        CASE out2 WHEN 'approved' THEN 'succeeded' ELSE 'failed' END, out2,
        'sq_' || lpad(to_hex(i), 12, '0') || 'b',
        CASE out2 WHEN 'approved' THEN 'COMPLETED' ELSE 'FAILED' END,
        CASE out2 WHEN 'approved' THEN 200 ELSE 402 END,
        CASE out2 WHEN 'approved' THEN NULL ELSE 'CARD_DECLINED' END,
        CASE out2 WHEN 'soft_decline' THEN 'INSUFFICIENT_FUNDS' WHEN 'hard_decline' THEN 'CARD_DECLINED' ELSE NULL END,
        t + make_interval(secs => lat1 / 1000.0), t + make_interval(secs => lat1 / 1000.0),
        t + make_interval(secs => (lat1 + lat2) / 1000.0), lat2,
        CASE out2 WHEN 'approved' THEN 'succeed' ELSE 'stop' END
    FROM f WHERE two
)
INSERT INTO payment_events (merchant_id, payment_id, at, cause, kind, from_status, to_status, detail)
SELECT mid, pid, t, 'api', 'payment_created', NULL, 'processing', '' FROM f
UNION ALL
SELECT mid, pid, t + make_interval(secs => (lat1 + CASE WHEN two THEN lat2 ELSE 0 END) / 1000.0), 'provider_response',
    'status_changed', 'processing',
    CASE final WHEN 'approved' THEN 'captured' WHEN 'needs_customer_action' THEN 'requires_action' ELSE 'failed' END, final
FROM f
";
