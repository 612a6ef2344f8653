//! Policy drafts and publication for the console's policy editor (issue 4 §7). One draft per
//! merchant and mode (unique index `policies_one_draft`, migration 0005); every change is
//! audited by the `policies_audit` trigger with the actor and reason of the transaction.

use crate::config::{mode_str, set_audit_context};
use routing::Mode;
use sqlx::{FromRow, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

/// A policy row (body as JSON).
#[derive(Debug, Clone, FromRow)]
pub struct PolicyRow {
    /// Row id.
    pub id: Uuid,
    /// Version (unique per merchant and mode).
    pub version: i32,
    /// `draft`, `published`, `archived`.
    pub status: String,
    /// Policy JSON.
    pub body: serde_json::Value,
    /// Note.
    pub note: String,
    /// Created / last saved.
    pub created_at: OffsetDateTime,
    /// Published.
    pub published_at: Option<OffsetDateTime>,
}

/// The current published policy and draft of (merchant, mode).
pub async fn current(
    pool: &PgPool,
    merchant_id: Uuid,
    mode: Mode,
) -> Result<(Option<PolicyRow>, Option<PolicyRow>), sqlx::Error> {
    let rows: Vec<PolicyRow> = sqlx::query_as(
        "SELECT id, version, status, body, note, created_at, published_at FROM policies
         WHERE merchant_id = $1 AND mode = $2 AND status IN ('published', 'draft')",
    )
    .bind(merchant_id)
    .bind(mode_str(mode))
    .fetch_all(pool)
    .await?;
    let mut published = None;
    let mut draft = None;
    for r in rows {
        if r.status == "published" {
            published = Some(r);
        } else {
            draft = Some(r);
        }
    }
    Ok((published, draft))
}

/// Saves `body` as the draft of (merchant, mode): updates the existing draft or inserts one with
/// the next version. Audited (`save_draft`) with `actor`. Returns the draft row.
pub async fn save_draft(
    pool: &PgPool,
    merchant_id: Uuid,
    mode: Mode,
    body: &serde_json::Value,
    actor: &str,
) -> Result<PolicyRow, sqlx::Error> {
    let mut tx = pool.begin().await?;
    set_audit_context(&mut tx, actor, "draft saved").await?;
    let updated: Option<PolicyRow> = sqlx::query_as(
        "UPDATE policies SET body = $3, created_at = now()
         WHERE merchant_id = $1 AND mode = $2 AND status = 'draft'
         RETURNING id, version, status, body, note, created_at, published_at",
    )
    .bind(merchant_id)
    .bind(mode_str(mode))
    .bind(body)
    .fetch_optional(&mut *tx)
    .await?;
    let row = match updated {
        Some(r) => r,
        None => {
            sqlx::query_as(
                "INSERT INTO policies (merchant_id, id, mode, version, status, body)
                 VALUES ($1, $3, $2,
                   (SELECT coalesce(max(version), 0) + 1 FROM policies WHERE merchant_id = $1 AND mode = $2),
                   'draft', $4)
                 RETURNING id, version, status, body, note, created_at, published_at",
            )
            .bind(merchant_id)
            .bind(mode_str(mode))
            .bind(Uuid::now_v7())
            .bind(body)
            .fetch_one(&mut *tx)
            .await?
        }
    };
    tx.commit().await?;
    Ok(row)
}

/// Publishes the draft of (merchant, mode) with `note`: the published policy (if any) becomes
/// `archived`, the draft `published`, in one transaction audited with `actor` and the note as
/// reason. Returns the published row, or `None` when there is no draft.
pub async fn publish_draft(
    pool: &PgPool,
    merchant_id: Uuid,
    mode: Mode,
    note: &str,
    actor: &str,
) -> Result<Option<PolicyRow>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    set_audit_context(&mut tx, actor, note).await?;
    let exists: Option<Uuid> = sqlx::query_scalar(
        "SELECT id FROM policies WHERE merchant_id = $1 AND mode = $2 AND status = 'draft' FOR UPDATE",
    )
    .bind(merchant_id)
    .bind(mode_str(mode))
    .fetch_optional(&mut *tx)
    .await?;
    let Some(id) = exists else {
        return Ok(None);
    };
    sqlx::query(
        "UPDATE policies SET status = 'archived' WHERE merchant_id = $1 AND mode = $2 AND status = 'published'",
    )
    .bind(merchant_id)
    .bind(mode_str(mode))
    .execute(&mut *tx)
    .await?;
    let row: PolicyRow = sqlx::query_as(
        "UPDATE policies SET status = 'published', note = $3, published_at = now()
         WHERE merchant_id = $1 AND id = $2
         RETURNING id, version, status, body, note, created_at, published_at",
    )
    .bind(merchant_id)
    .bind(id)
    .bind(note)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(row))
}
