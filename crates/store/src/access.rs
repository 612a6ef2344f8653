//! Memberships (migration 0007): which database login role may act on which merchant, with
//! which console role. Rows are filtered by Row-Level Security for non-superusers: a user
//! sees their own memberships, an admin of a merchant sees and manages that merchant's.

use sqlx::{PgPool, Row};
use uuid::Uuid;

/// One membership row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// Database login role (user).
    pub db_role: String,
    /// Merchant.
    pub merchant_id: Uuid,
    /// `support`, `finance`, `operator` or `admin`.
    pub role: String,
}

fn from_row(r: &sqlx::postgres::PgRow) -> Result<Membership, sqlx::Error> {
    Ok(Membership {
        db_role: r.try_get("db_role")?,
        merchant_id: r.try_get("merchant_id")?,
        role: r.try_get("role")?,
    })
}

/// The memberships of the connected role (`current_user`), by merchant.
pub async fn my_memberships(pool: &PgPool) -> Result<Vec<Membership>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT db_role, merchant_id, role FROM memberships WHERE db_role = current_user::text ORDER BY merchant_id",
    )
    .fetch_all(pool)
    .await?;
    rows.iter().map(from_row).collect()
}

/// All members of a merchant (visible to its admins; others see only themselves).
pub async fn members(pool: &PgPool, merchant_id: Uuid) -> Result<Vec<Membership>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT db_role, merchant_id, role FROM memberships WHERE merchant_id = $1 ORDER BY db_role",
    )
    .bind(merchant_id)
    .fetch_all(pool)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Grants (or changes) `db_role`'s role on a merchant, audited by trigger with `actor`/`reason`.
pub async fn put_member(
    pool: &PgPool,
    merchant_id: Uuid,
    db_role: &str,
    role: &str,
    actor: &str,
    reason: &str,
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    crate::config::set_audit_context(&mut tx, actor, reason).await?;
    sqlx::query(
        "INSERT INTO memberships (db_role, merchant_id, role) VALUES ($1, $2, $3)
         ON CONFLICT (db_role, merchant_id) DO UPDATE SET role = EXCLUDED.role",
    )
    .bind(db_role)
    .bind(merchant_id)
    .bind(role)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// Removes `db_role` from a merchant. Returns false when it was not a member.
pub async fn remove_member(
    pool: &PgPool,
    merchant_id: Uuid,
    db_role: &str,
    actor: &str,
    reason: &str,
) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    crate::config::set_audit_context(&mut tx, actor, reason).await?;
    let n = sqlx::query("DELETE FROM memberships WHERE db_role = $1 AND merchant_id = $2")
        .bind(db_role)
        .bind(merchant_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    tx.commit().await?;
    Ok(n == 1)
}
