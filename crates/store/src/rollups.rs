//! Reads of the console rollups of migration 0005 (`attempt_rollup`, `rescue_rollup`), which
//! triggers on `attempts` keep equal to a GROUP BY over attempts per (merchant, connector,
//! currency, UTC hour). Every query here reads only rollup rows of the period: never a scan of
//! attempts or payments.

use sqlx::{FromRow, PgPool, Row};
use time::OffsetDateTime;
use uuid::Uuid;

/// Number of latency-histogram buckets (see [`LATENCY_BOUNDS_MS`]).
pub const LATENCY_BUCKETS: usize = 24;

/// Exclusive upper bounds (ms) of the first 23 latency buckets; the 24th holds everything at or
/// above 30,000 ms. Must equal `console_latency_bounds()` in migration 0005.
pub const LATENCY_BOUNDS_MS: [i64; LATENCY_BUCKETS - 1] = [
    25, 50, 75, 100, 150, 200, 250, 300, 400, 500, 600, 800, 1000, 1250, 1500, 2000, 3000, 4000,
    5000, 7500, 10000, 20000, 30000,
];

/// Counters of answered provider calls, summed over some rollup rows. Amounts in minor units.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// All answered calls (retries included).
    pub calls: i64,
    /// Calls per outcome class, in `routing::OutcomeClass::ALL` order.
    pub by_class: [i64; 9],
    /// Non-approved calls followed by a retry on the same connector.
    pub retried: i64,
    /// Sum of payment amounts of approved calls, minor units.
    pub approved_amount_minor: i64,
    /// Calls per latency bucket.
    pub latency_hist: [i64; LATENCY_BUCKETS],
}

impl Counters {
    /// Approved calls.
    pub fn approved(&self) -> i64 {
        self.by_class[0]
    }

    /// Approval-rate denominator: approved + declined (hard, soft) + failed (validation,
    /// auth/config, rate limited, provider unavailable) calls, minus the failed calls that were
    /// retried on the same connector (a retried call is not counted twice). Needs-customer-action
    /// and unknown outcomes are undetermined and left out.
    pub fn counted(&self) -> i64 {
        let c = &self.by_class;
        // approved, hard, soft, (needs action: 3 left out), validation, auth, rate, unavailable
        (c[0] + c[1] + c[2] + c[4] + c[5] + c[6] + c[7] - self.retried).max(0)
    }

    /// Provider-side failures: auth/config error, rate limited, unavailable, unknown outcome.
    pub fn provider_failures(&self) -> i64 {
        let c = &self.by_class;
        c[5] + c[6] + c[7] + c[8]
    }

    /// Adds `other` into `self`.
    pub fn add(&mut self, other: &Counters) {
        self.calls += other.calls;
        for (a, b) in self.by_class.iter_mut().zip(other.by_class.iter()) {
            *a += b;
        }
        self.retried += other.retried;
        self.approved_amount_minor += other.approved_amount_minor;
        for (a, b) in self.latency_hist.iter_mut().zip(other.latency_hist.iter()) {
            *a += b;
        }
    }

    /// The 95th-percentile latency, reported as the upper bound (ms) of the histogram bucket
    /// that holds it (the last bucket reports 30,000). `None` without latencies.
    pub fn p95_latency_ms(&self) -> Option<i64> {
        let total: i64 = self.latency_hist.iter().sum();
        if total <= 0 {
            return None;
        }
        // Smallest k with cumulative >= ceil(0.95 * total).
        let target = (total * 95 + 99) / 100;
        let mut cum = 0;
        for (i, n) in self.latency_hist.iter().enumerate() {
            cum += n;
            if cum >= target {
                return Some(
                    LATENCY_BOUNDS_MS
                        .get(i)
                        .copied()
                        .unwrap_or(LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.len() - 1]),
                );
            }
        }
        None
    }
}

/// Rollup counters of one connector (and currency, when grouped by it) in one time bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollupCell {
    /// Connector.
    pub connector_id: Uuid,
    /// ISO 4217, or empty when summed over currencies.
    pub currency: String,
    /// Bucket start (UTC).
    pub bucket: OffsetDateTime,
    /// Counters.
    pub counters: Counters,
}

const CLASS_COLS: [&str; 9] = [
    "n_approved",
    "n_hard_decline",
    "n_soft_decline",
    "n_needs_customer_action",
    "n_validation_error",
    "n_auth_config_error",
    "n_rate_limited",
    "n_provider_unavailable",
    "n_unknown_outcome",
];

fn sums_sql(hist: bool) -> String {
    let mut s = String::from(
        "sum(calls)::bigint AS calls, sum(retried)::bigint AS retried, sum(approved_amount_minor)::bigint AS amount",
    );
    for c in CLASS_COLS {
        s.push_str(&format!(", sum({c})::bigint AS {c}"));
    }
    for k in 1..=LATENCY_BUCKETS {
        if hist {
            s.push_str(&format!(", sum(h{k})::bigint AS h{k}"));
        } else {
            s.push_str(&format!(", 0::bigint AS h{k}"));
        }
    }
    s
}

fn counters_from(row: &sqlx::postgres::PgRow) -> Result<Counters, sqlx::Error> {
    let mut c = Counters {
        calls: row.try_get::<Option<i64>, _>("calls")?.unwrap_or(0),
        retried: row.try_get::<Option<i64>, _>("retried")?.unwrap_or(0),
        approved_amount_minor: row.try_get::<Option<i64>, _>("amount")?.unwrap_or(0),
        ..Counters::default()
    };
    for (slot, col) in c.by_class.iter_mut().zip(CLASS_COLS) {
        *slot = row.try_get::<Option<i64>, _>(col)?.unwrap_or(0);
    }
    for (k, slot) in c.latency_hist.iter_mut().enumerate() {
        *slot = row
            .try_get::<Option<i64>, _>(format!("h{}", k + 1).as_str())?
            .unwrap_or(0);
    }
    Ok(c)
}

/// Counters per connector and time bucket of `bucket_secs` seconds (a multiple of 3600, aligned
/// to 2000-01-01T00:00Z) for rollup hours in `[from, to)`, summed over currencies unless
/// `currency` restricts to one. `connectors` empty = all.
pub async fn series(
    pool: &PgPool,
    merchant_id: Uuid,
    from: OffsetDateTime,
    to: OffsetDateTime,
    bucket_secs: i64,
    connectors: &[Uuid],
    currency: Option<&str>,
) -> Result<Vec<RollupCell>, sqlx::Error> {
    let sql = format!(
        "SELECT connector_id, date_bin(make_interval(secs => $4), bucket, timestamptz '2000-01-01 00:00:00+00') AS b, {}
         FROM attempt_rollup
         WHERE merchant_id = $1 AND bucket >= $2 AND bucket < $3
           AND (cardinality($5::uuid[]) = 0 OR connector_id = ANY($5))
           AND ($6::text IS NULL OR currency = $6)
         GROUP BY 1, 2 ORDER BY 2, 1",
        sums_sql(true)
    );
    series_cells(
        pool,
        &sql,
        SeriesParams {
            merchant_id,
            from,
            to,
            bucket_secs,
            connectors,
            currency,
        },
    )
    .await
}

/// Like [`series`] but straight from `attempts` (for short recent periods, e.g. the last hour in
/// 5-minute buckets: `bucket_secs` any positive number of seconds). Reads only the period's rows
/// through `attempts_by_connector_time`.
pub async fn series_from_attempts(
    pool: &PgPool,
    merchant_id: Uuid,
    from: OffsetDateTime,
    to: OffsetDateTime,
    bucket_secs: i64,
    connectors: &[Uuid],
    currency: Option<&str>,
) -> Result<Vec<RollupCell>, sqlx::Error> {
    let mut sql = String::from(
        "SELECT a.connector_id, date_bin(make_interval(secs => $4), a.created_at, timestamptz '2000-01-01 00:00:00+00') AS b,
            count(*) AS calls,
            count(*) FILTER (WHERE a.next_step = 'retry_same' AND a.outcome <> 'approved') AS retried,
            coalesce(sum(p.amount_minor) FILTER (WHERE a.outcome = 'approved'), 0)::bigint AS amount",
    );
    for (c, col) in routing::OutcomeClass::ALL.iter().zip(CLASS_COLS) {
        sql.push_str(&format!(
            ", count(*) FILTER (WHERE a.outcome = '{}') AS {col}",
            c.as_str()
        ));
    }
    for k in 1..=LATENCY_BUCKETS {
        sql.push_str(&format!(
            ", count(*) FILTER (WHERE width_bucket(a.latency_ms, console_latency_bounds()) = {}) AS h{k}",
            k - 1
        ));
    }
    sql.push_str(
        " FROM connectors c JOIN LATERAL (SELECT * FROM attempts x WHERE x.merchant_id = c.merchant_id
            AND x.connector_id = c.id AND x.created_at >= $2 AND x.created_at < $3) a ON true
          JOIN payments p ON p.merchant_id = a.merchant_id AND p.id = a.payment_id
          WHERE c.merchant_id = $1 AND a.outcome IS NOT NULL
            AND (cardinality($5::uuid[]) = 0 OR a.connector_id = ANY($5))
            AND ($6::text IS NULL OR p.currency = $6)
          GROUP BY 1, 2 ORDER BY 2, 1",
    );
    series_cells(
        pool,
        &sql,
        SeriesParams {
            merchant_id,
            from,
            to,
            bucket_secs,
            connectors,
            currency,
        },
    )
    .await
}

/// The parameters `$1..$6` shared by [`series`] and [`series_from_attempts`]: merchant, period
/// `[from, to)` (UTC), bucket width in seconds, connector filter (empty = all), currency filter.
struct SeriesParams<'a> {
    merchant_id: Uuid,
    from: OffsetDateTime,
    to: OffsetDateTime,
    bucket_secs: i64,
    connectors: &'a [Uuid],
    currency: Option<&'a str>,
}

/// Runs a series query (columns `connector_id`, `b` and the counter columns) with `p` bound to
/// `$1..$6`, one [`RollupCell`] per row (currency left empty: series are summed over currencies).
async fn series_cells(
    pool: &PgPool,
    sql: &str,
    p: SeriesParams<'_>,
) -> Result<Vec<RollupCell>, sqlx::Error> {
    let rows = sqlx::query(sql)
        .bind(p.merchant_id)
        .bind(p.from)
        .bind(p.to)
        .bind(p.bucket_secs as f64)
        .bind(p.connectors)
        .bind(p.currency)
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(RollupCell {
                connector_id: r.try_get("connector_id")?,
                currency: String::new(),
                bucket: r.try_get("b")?,
                counters: counters_from(r)?,
            })
        })
        .collect()
}

/// Counters per connector and currency over rollup hours in `[from, to)` (the finance table and
/// the fallback matrix), without the latency histogram (left zero). `bucket` of each cell is
/// `from`.
pub async fn totals_by_connector_currency(
    pool: &PgPool,
    merchant_id: Uuid,
    from: OffsetDateTime,
    to: OffsetDateTime,
    connectors: &[Uuid],
) -> Result<Vec<RollupCell>, sqlx::Error> {
    let sql = format!(
        "SELECT connector_id, currency::text AS currency, {}
         FROM attempt_rollup
         WHERE merchant_id = $1 AND bucket >= $2 AND bucket < $3
           AND (cardinality($4::uuid[]) = 0 OR connector_id = ANY($4))
         GROUP BY 1, 2 ORDER BY 1, 2",
        sums_sql(false)
    );
    let rows = sqlx::query(&sql)
        .bind(merchant_id)
        .bind(from)
        .bind(to)
        .bind(connectors)
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(RollupCell {
                connector_id: r.try_get("connector_id")?,
                currency: r.try_get("currency")?,
                bucket: from,
                counters: counters_from(r)?,
            })
        })
        .collect()
}

/// Counters per connector (all currencies) over rollup hours in `[from, to)`, with the latency
/// histogram (connector cards: the last 24 hours).
pub async fn totals_by_connector(
    pool: &PgPool,
    merchant_id: Uuid,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> Result<Vec<(Uuid, Counters)>, sqlx::Error> {
    let sql = format!(
        "SELECT connector_id, {} FROM attempt_rollup
         WHERE merchant_id = $1 AND bucket >= $2 AND bucket < $3 GROUP BY 1",
        sums_sql(true)
    );
    let rows = sqlx::query(&sql)
        .bind(merchant_id)
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("connector_id")?, counters_from(r)?)))
        .collect()
}

/// Rescued attempts per (connector, outcome class) over rollup hours in `[from, to)`.
#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct RescueCount {
    /// Connector of the rescued attempt.
    pub connector_id: Uuid,
    /// Its outcome class (snake_case).
    pub outcome: String,
    /// Attempts (distinct per payment) whose payment was later approved elsewhere.
    pub rescued: i64,
}

/// See [`RescueCount`].
pub async fn rescues(
    pool: &PgPool,
    merchant_id: Uuid,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> Result<Vec<RescueCount>, sqlx::Error> {
    sqlx::query_as(
        "SELECT connector_id, outcome, sum(rescued)::bigint AS rescued FROM rescue_rollup
         WHERE merchant_id = $1 AND bucket >= $2 AND bucket < $3 GROUP BY 1, 2",
    )
    .bind(merchant_id)
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
}

/// Recomputes both rollups from `attempts` (after a bulk load with triggers disabled).
pub async fn rebuild(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT console_rebuild_rollups()")
        .execute(pool)
        .await?;
    Ok(())
}

/// Last-minutes figures of each connector straight from `attempts` (index
/// `attempts_by_connector_time`; a few minutes of rows): counters without latency histogram.
pub async fn recent(
    pool: &PgPool,
    merchant_id: Uuid,
    since: OffsetDateTime,
) -> Result<Vec<(Uuid, Counters)>, sqlx::Error> {
    let mut sql = String::from(
        "SELECT connector_id, count(*) FILTER (WHERE outcome IS NOT NULL) AS calls,
            count(*) FILTER (WHERE next_step = 'retry_same' AND outcome <> 'approved') AS retried,
            0::bigint AS amount",
    );
    for (c, col) in routing::OutcomeClass::ALL.iter().zip(CLASS_COLS) {
        sql.push_str(&format!(
            ", count(*) FILTER (WHERE outcome = '{}') AS {col}",
            c.as_str()
        ));
    }
    for k in 1..=LATENCY_BUCKETS {
        sql.push_str(&format!(", 0::bigint AS h{k}"));
    }
    sql.push_str(
        // Per connector through `attempts_by_connector_time` (PG 15 has no skip scan: a bare
        // `merchant_id, created_at` range would walk the merchant's whole index).
        " FROM connectors c JOIN LATERAL (SELECT * FROM attempts x WHERE x.merchant_id = c.merchant_id
            AND x.connector_id = c.id AND x.created_at >= $2) a ON true
          WHERE c.merchant_id = $1 GROUP BY a.connector_id",
    );
    let rows = sqlx::query(&sql)
        .bind(merchant_id)
        .bind(since)
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("connector_id")?, counters_from(r)?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p95_is_the_bucket_bound_holding_the_95th_percentile() {
        let mut c = Counters::default();
        c.latency_hist[0] = 94; // < 25 ms
        c.latency_hist[3] = 6; // 75..100 ms
        assert_eq!(c.p95_latency_ms(), Some(100));
        c.latency_hist[0] = 96;
        c.latency_hist[3] = 4;
        assert_eq!(c.p95_latency_ms(), Some(25));
        assert_eq!(Counters::default().p95_latency_ms(), None);
    }

    #[test]
    fn retried_failures_leave_the_denominator() {
        let c = Counters {
            by_class: [3, 1, 1, 5, 0, 0, 2, 0, 4],
            retried: 2,
            ..Counters::default()
        };
        // 3 approved + 1 hard + 1 soft + 2 rate limited - 2 retried; needs action and unknown out.
        assert_eq!(c.counted(), 5);
        assert_eq!(c.approved(), 3);
    }
}
