//! Who may do what (migration 0007): the console connects to Postgres as the user's OWN
//! database role, and Postgres (GRANTs + Row-Level Security over `memberships`) decides what
//! that role sees and may change. Nothing here re-implements those checks; it connects, lists
//! and manages memberships, and turns "permission denied" into a clear `forbidden` error.
//!
//! Two ways to connect as the user's role:
//! - a per-user `DATABASE_URL` (`postgres://alice:…@host/db`): [`connect_as`] with `None`;
//! - a shared login that may `SET ROLE` to the user's role: [`connect_as`] with `Some(role)`
//!   (every pooled connection runs `SET ROLE` before use; audit rows then name the login role
//!   in `db_role` and the console passes the user as `switchboard.actor`).

use crate::EngineError;
use crate::console::Console;
use crate::secrets::forbidden_or;
use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};
use sqlx::{Connection, PgPool};
use std::str::FromStr;
use std::time::Duration;
use ts_rs::TS;

/// The four console roles of a membership (DESIGN.md §8).
pub const CONSOLE_ROLES: [&str; 4] = ["support", "finance", "operator", "admin"];

/// One membership, as the console shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct MemberView {
    /// Database login role (user name).
    pub db_role: String,
    /// Merchant id (UUID).
    pub merchant_id: String,
    /// `support`, `finance`, `operator` or `admin`.
    pub role: String,
}

/// Grant or change a member's role on the console's merchant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SetMember {
    /// Database login role (must already exist; created by the DBA with `IN ROLE
    /// switchboard_<role>`).
    pub db_role: String,
    /// `support`, `finance`, `operator` or `admin`.
    pub role: String,
    /// Why (3..=500 characters), recorded in the audit log.
    pub reason: String,
}

fn valid_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !s.starts_with(|c: char| c.is_ascii_digit())
}

/// `role` as a quoted SQL identifier, after checking it is a plain lower-case role name
/// (letters, digits, `_`, at most 63, not starting with a digit). Errors: `invalid_role`.
pub fn quoted_role(role: &str) -> Result<String, EngineError> {
    if valid_identifier(role) {
        Ok(format!("\"{role}\""))
    } else {
        Err(EngineError::invalid(
            "invalid_role",
            Some("role".into()),
            "a database role is lower-case letters, digits and _ (at most 63), e.g. alice_support",
        ))
    }
}

/// Opens a pool to `url` acting as the user's own role: `set_role = None` uses the URL's login
/// role itself; `Some(role)` runs `SET ROLE "role"` on every new connection (the login must be a
/// member of `role`). Errors as [`connect_with_options`].
pub async fn connect_as(
    url: &str,
    set_role: Option<&str>,
    max_connections: u32,
) -> Result<PgPool, EngineError> {
    let opts = PgConnectOptions::from_str(url)?;
    connect_with_options(opts, set_role, max_connections, Duration::from_secs(5)).await
}

/// [`connect_as`] with parsed connect options and an acquire timeout (the desktop console).
/// The first connection is opened (and the role set) before this returns, so problems show up
/// here. Errors: `invalid_role` (not a plain lower-case identifier), `role_not_found` (no such
/// database role), `forbidden` (the login is not a member of the role: a DBA runs
/// `GRANT <role> TO <login>`), database errors (unreachable, authentication).
pub async fn connect_with_options(
    opts: PgConnectOptions,
    set_role: Option<&str>,
    max_connections: u32,
    acquire_timeout: Duration,
) -> Result<PgPool, EngineError> {
    let statement = set_role
        .map(|r| quoted_role(r).map(|q| format!("SET ROLE {q}")))
        .transpose()?;
    let login = opts.get_username().to_owned();
    // One plain connection first: the pool retries failed connects (after_connect errors
    // included) until its timeout, which would hide why SET ROLE was refused.
    if let Some(sql) = &statement {
        let mut probe = PgConnection::connect_with(&opts).await?;
        let set = sqlx::query(sql).execute(&mut probe).await;
        let _ = probe.close().await;
        set.map_err(|e| set_role_error(e, &login, set_role))?;
    }
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(acquire_timeout)
        .after_connect(move |conn, _meta| {
            let statement = statement.clone();
            Box::pin(async move {
                if let Some(sql) = statement {
                    sqlx::query(&sql).execute(conn).await?;
                }
                Ok(())
            })
        })
        .connect_with(opts)
        .await?;
    Ok(pool)
}

/// Turns the `SET ROLE` refusals into clear errors; other errors pass unchanged.
fn set_role_error(e: sqlx::Error, login: &str, role: Option<&str>) -> EngineError {
    let (Some(role), sqlx::Error::Database(d)) = (role, &e) else {
        return e.into();
    };
    let set_role_refused = d.message().contains("role");
    match d.code().as_deref() {
        Some("22023") if set_role_refused => EngineError::invalid(
            "role_not_found",
            Some("role".into()),
            format!(
                "the database role {role:?} does not exist (a DBA creates it: CREATE ROLE {role} NOLOGIN IN ROLE switchboard_<role>)"
            ),
        ),
        Some("42501") if set_role_refused => EngineError::Forbidden {
            message: format!(
                "the login {login:?} is not a member of the database role {role:?} (a DBA grants it: GRANT {role} TO {login})"
            ),
        },
        _ => e.into(),
    }
}

/// The connected role's memberships (which merchants it may open, with which role).
pub async fn my_memberships(pool: &PgPool) -> Result<Vec<MemberView>, EngineError> {
    Ok(store::access::my_memberships(pool)
        .await?
        .into_iter()
        .map(view)
        .collect())
}

fn view(m: store::access::Membership) -> MemberView {
    MemberView {
        db_role: m.db_role,
        merchant_id: m.merchant_id.to_string(),
        role: m.role,
    }
}

impl Console {
    /// Members of this merchant (an admin sees all; other roles see only themselves).
    pub async fn members(&self) -> Result<Vec<MemberView>, EngineError> {
        Ok(store::access::members(self.pool(), self.merchant_id())
            .await?
            .into_iter()
            .map(view)
            .collect())
    }

    /// Grants or changes a member's role (admins only, enforced by Postgres), audited.
    /// Errors: `invalid_role`, `invalid_db_role`, `reason_required`, `forbidden`.
    pub async fn set_member(&self, req: SetMember) -> Result<Vec<MemberView>, EngineError> {
        if !CONSOLE_ROLES.contains(&req.role.as_str()) {
            return Err(EngineError::invalid(
                "invalid_role",
                Some("role".into()),
                "role must be support, finance, operator or admin",
            ));
        }
        if !valid_identifier(&req.db_role) {
            return Err(EngineError::invalid(
                "invalid_db_role",
                Some("db_role".into()),
                "a database role is lower-case letters, digits and _ (at most 63)",
            ));
        }
        let reason = req.reason.trim();
        if !(3..=500).contains(&reason.chars().count()) {
            return Err(EngineError::invalid(
                "reason_required",
                Some("reason".into()),
                "a reason of 3 to 500 characters is required",
            ));
        }
        store::access::put_member(
            self.pool(),
            self.merchant_id(),
            &req.db_role,
            &req.role,
            self.actor(),
            reason,
        )
        .await
        .map_err(|e| forbidden_or(e.into(), "manage users"))?;
        self.members().await
    }

    /// Removes a member (admins only), audited. Errors: `not_found`, `forbidden`.
    pub async fn remove_member(&self, db_role: &str, reason: &str) -> Result<(), EngineError> {
        let removed = store::access::remove_member(
            self.pool(),
            self.merchant_id(),
            db_role,
            self.actor(),
            reason.trim(),
        )
        .await
        .map_err(|e| forbidden_or(e.into(), "manage users"))?;
        if removed {
            Ok(())
        } else {
            Err(EngineError::NotFound { what: "member" })
        }
    }
}
