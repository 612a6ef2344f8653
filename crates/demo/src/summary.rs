//! The figures printed after a demo run, read back from Postgres (the one truth).

use sqlx::PgPool;
use std::fmt::Write as _;
use uuid::Uuid;

/// A printable summary: payments by final state, attempts per connector (by outcome) and
/// fallbacks by outcome class.
pub async fn summary(pool: &PgPool, merchant_id: Uuid) -> anyhow::Result<String> {
    let statuses = store::read::status_counts(pool, merchant_id).await?;
    let attempts = store::read::attempts_by_connector(pool, merchant_id).await?;
    let fallbacks = store::read::fallbacks_by_outcome(pool, merchant_id).await?;
    let mut out = String::new();
    let total: i64 = statuses.iter().map(|(_, n)| n).sum();
    let _ = writeln!(out, "Payments by final state ({total} payments):");
    for (status, n) in &statuses {
        let _ = writeln!(out, "  {status:<16} {n:>6}");
    }
    let _ = writeln!(out, "Attempts per connector:");
    let mut names: Vec<&String> = attempts.iter().map(|(c, _, _)| c).collect();
    names.dedup();
    for name in names {
        let rows: Vec<&(String, String, i64)> =
            attempts.iter().filter(|(c, _, _)| c == name).collect();
        let sum: i64 = rows.iter().map(|(_, _, n)| n).sum();
        let detail: Vec<String> = rows.iter().map(|(_, o, n)| format!("{o} {n}")).collect();
        let _ = writeln!(out, "  {name:<20} {sum:>6}  ({})", detail.join(", "));
    }
    let fb_total: i64 = fallbacks.iter().map(|(_, _, n)| n).sum();
    let _ = writeln!(out, "Fallbacks by outcome class ({fb_total} fallbacks):");
    if fallbacks.is_empty() {
        let _ = writeln!(out, "  (none)");
    }
    for (outcome, from, n) in &fallbacks {
        let _ = writeln!(out, "  {outcome:<22} from {from:<20} {n:>6}");
    }
    Ok(out)
}
