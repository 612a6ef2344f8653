//! The console's managed state: configuration read from the environment at start-up, and a
//! lazily connected [`Console`].
//!
//! Nothing here panics. A missing `DATABASE_URL`, an invalid merchant id or an unreachable
//! database become a [`CommandError`] that every command returns and that [`AppInfo`] carries,
//! so the UI shows a clear message. Connection attempts are retried on the next command.
//! The console acts as the user's OWN database role (migration 0007: GRANTs + Row-Level Security
//! decide what it sees): either a per-user `DATABASE_URL` (`postgres://alice:…@host/db`), or a
//! shared login plus `SWITCHBOARD_DB_ROLE=alice_support`, which runs `SET ROLE "alice_support"`
//! on every pooled connection (`engine::access::connect_with_options`; the name is validated,
//! and a missing role or a login that is not a member is a clear error).
//! The database password is never stored outside sqlx's connect options and never appears in a
//! message: messages built here name the database as `user@host:port/db` and are passed through
//! a redactor as a last line of defence.

use engine::console::Console;
use engine::views::CommandError;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use sqlx::postgres::PgConnectOptions;
use std::str::FromStr;
use std::time::Duration;
use tokio::sync::OnceCell;
use ts_rs::TS;
use uuid::Uuid;

/// Environment variable with the Postgres URL (required).
pub const DATABASE_URL: &str = "DATABASE_URL";
/// Environment variable with the merchant to show (optional: else the oldest merchant).
pub const MERCHANT_ID: &str = "SWITCHBOARD_MERCHANT_ID";
/// Environment variable with the database role to act as (optional): every pooled connection
/// runs `SET ROLE` to it; the `DATABASE_URL` login must be a member. Lower-case letters, digits
/// and `_`.
pub const DB_ROLE: &str = "SWITCHBOARD_DB_ROLE";
/// Pool size: the console is one user.
const MAX_CONNECTIONS: u32 = 4;
/// How long a command waits for a database connection before reporting it unavailable.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// What the console is connected to, shown in its header; or why it is not usable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct AppInfo {
    /// `true` when the database answered and a merchant was found.
    pub ready: bool,
    /// Why the console is not usable (missing `DATABASE_URL`, unreachable database, no merchant…).
    pub error: Option<CommandError>,
    /// The merchant shown (UUID).
    pub merchant_id: Option<String>,
    /// The merchant's name.
    pub merchant_name: Option<String>,
    /// The database as `user@host:port/db` (never the password).
    pub database: Option<String>,
    /// Actor recorded in audit rows (`console:<OS user>`).
    pub actor: String,
    /// Build mode of the console binary: `debug` or `release`.
    pub mode: String,
    /// Console version.
    pub version: String,
}

/// Configuration parsed from the environment.
struct Setup {
    /// Connect options (the only place the password lives).
    options: PgConnectOptions,
    /// `user@host:port/db`, for messages.
    database: String,
    /// `SWITCHBOARD_MERCHANT_ID`, when given.
    merchant_id: Option<Uuid>,
    /// `SWITCHBOARD_DB_ROLE`, when given (validated).
    db_role: Option<String>,
}

/// A connected console.
struct Ready {
    console: Console,
    merchant_id: Uuid,
    merchant_name: String,
}

/// Tauri-managed state.
pub struct ConsoleState {
    setup: Result<Setup, CommandError>,
    actor: String,
    redactor: Redactor,
    ready: OnceCell<Ready>,
}

impl ConsoleState {
    /// Reads `DATABASE_URL`, `SWITCHBOARD_MERCHANT_ID`, `SWITCHBOARD_DB_ROLE` and the OS user name from the process
    /// environment. Does not connect.
    /// The OS user name falls back to the password database when `USER`/`USERNAME`/`LOGNAME`
    /// are unset (e.g. under a service manager).
    pub fn from_env() -> ConsoleState {
        ConsoleState::from_lookup(|k| {
            std::env::var(k)
                .ok()
                .or_else(|| (k == "LOGNAME").then(os_user_name).flatten())
        })
    }

    /// Like [`Self::from_env`] with an explicit environment (tests).
    pub fn from_lookup(env: impl Fn(&str) -> Option<String>) -> ConsoleState {
        let user = env("USER")
            .or_else(|| env("USERNAME"))
            .or_else(|| env("LOGNAME"))
            .map(|u| u.trim().to_owned())
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| "unknown".to_owned());
        let actor = format!("console:{user}");
        let url = env(DATABASE_URL)
            .map(|u| u.trim().to_owned())
            .filter(|u| !u.is_empty());
        let redactor = Redactor::from_url(url.as_deref().unwrap_or(""));
        let setup = parse_setup(
            url.as_deref(),
            env(MERCHANT_ID).as_deref(),
            env(DB_ROLE).as_deref(),
        );
        ConsoleState {
            setup,
            actor,
            redactor,
            ready: OnceCell::new(),
        }
    }

    /// The connected console, connecting first if needed.
    ///
    /// # Errors
    /// The configuration error, or why connecting / finding the merchant failed.
    pub async fn console(&self) -> Result<&Console, CommandError> {
        self.ready().await.map(|r| &r.console)
    }

    async fn ready(&self) -> Result<&Ready, CommandError> {
        let setup = self.setup.as_ref().map_err(Clone::clone)?;
        self.ready
            .get_or_try_init(|| async {
                let pool = engine::access::connect_with_options(
                    setup.options.clone(),
                    setup.db_role.as_deref(),
                    MAX_CONNECTIONS,
                    ACQUIRE_TIMEOUT,
                )
                .await
                .map_err(|e| connect_error(e, &setup.database))?;
                let (merchant_id, merchant_name) = find_merchant(&pool, setup).await?;
                let console = Console::new(pool, merchant_id, self.actor.clone());
                Ok(Ready {
                    console,
                    merchant_id,
                    merchant_name,
                })
            })
            .await
            .map_err(|e: CommandError| self.redactor.error(e))
    }

    /// What the header shows; connects first if needed. Errors are carried, not returned.
    pub async fn info(&self) -> AppInfo {
        let database = self.setup.as_ref().ok().map(|s| s.database.clone());
        let mut info = AppInfo {
            ready: false,
            error: None,
            merchant_id: None,
            merchant_name: None,
            database,
            actor: self.actor.clone(),
            mode: if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            }
            .to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        };
        match self.ready().await {
            Ok(r) => {
                info.ready = true;
                info.merchant_id = Some(r.merchant_id.to_string());
                info.merchant_name = Some(r.merchant_name.clone());
            }
            Err(e) => info.error = Some(e),
        }
        info.database = info.database.map(|d| self.redactor.text(d));
        info
    }
}

/// The name of the process's real user from `/proc/self/status` and `/etc/passwd` (Linux).
fn os_user_name() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .to_owned();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        (fields.nth(1)? == uid).then(|| name.to_owned())
    })
}

fn config_error(code: &str, message: impl Into<String>) -> CommandError {
    CommandError {
        code: code.to_owned(),
        message: message.into(),
    }
}

fn parse_setup(
    url: Option<&str>,
    merchant: Option<&str>,
    db_role: Option<&str>,
) -> Result<Setup, CommandError> {
    let Some(url) = url else {
        return Err(config_error(
            "database_url_missing",
            "DATABASE_URL is not set. Start the console with DATABASE_URL=postgres://user@host:5432/db \
             (and optionally SWITCHBOARD_MERCHANT_ID=<uuid>).",
        ));
    };
    // The parser's own message is not forwarded: it could quote part of the URL.
    let options = PgConnectOptions::from_str(url).map_err(|_| {
        config_error(
            "database_url_invalid",
            "DATABASE_URL is not a valid Postgres URL (expected postgres://user:password@host:port/database).",
        )
    })?;
    let db_role = match db_role.map(str::trim).filter(|r| !r.is_empty()) {
        None => None,
        Some(r) => {
            engine::access::quoted_role(r).map_err(|_| {
                config_error(
                    "db_role_invalid",
                    format!(
                        "SWITCHBOARD_DB_ROLE must be a database role name of lower-case letters, digits and _ (at most 63): {r:?}"
                    ),
                )
            })?;
            Some(r.to_owned())
        }
    };
    let database = match &db_role {
        None => describe(&options),
        Some(r) => format!("{} (as role {r})", describe(&options)),
    };
    let merchant_id = match merchant.map(str::trim).filter(|m| !m.is_empty()) {
        None => None,
        Some(m) => Some(Uuid::parse_str(m).map_err(|_| {
            config_error(
                "merchant_id_invalid",
                format!("SWITCHBOARD_MERCHANT_ID is not a UUID: {m:?}"),
            )
        })?),
    };
    Ok(Setup {
        options,
        database,
        merchant_id,
        db_role,
    })
}

/// `user@host:port/db` (or the socket path), never the password.
fn describe(o: &PgConnectOptions) -> String {
    let place = match o.get_socket() {
        Some(socket) => socket.display().to_string(),
        None => format!("{}:{}", o.get_host(), o.get_port()),
    };
    let db = o.get_database().unwrap_or(o.get_username());
    format!("{}@{}/{}", o.get_username(), place, db)
}

/// A database error as the UI shows it: what failed and where, with the server's message when
/// there is one (server messages never contain the password).
#[allow(
    clippy::wildcard_enum_match_arm,
    reason = "sqlx::Error is non_exhaustive: a catch-all arm is required"
)]
fn db_error(e: &sqlx::Error, database: &str) -> CommandError {
    let code = "database_unavailable";
    match e {
        sqlx::Error::Database(db) if db.code().as_deref() == Some("42P01") => config_error(
            "schema_missing",
            format!(
                "the database {database} has no Switchboard schema ({}); run the migrations",
                db.message()
            ),
        ),
        sqlx::Error::Database(db) => config_error(
            code,
            format!("the database {database} refused: {}", db.message()),
        ),
        sqlx::Error::PoolTimedOut => config_error(
            code,
            format!("timed out connecting to the database {database}"),
        ),
        sqlx::Error::Io(io) => {
            config_error(code, format!("cannot reach the database {database}: {io}"))
        }
        sqlx::Error::Tls(tls) => config_error(
            code,
            format!("TLS error with the database {database}: {tls}"),
        ),
        sqlx::Error::Configuration(_) => config_error(
            "database_url_invalid",
            format!("invalid database configuration for {database}"),
        ),
        other => config_error(code, format!("database error with {database}: {other}")),
    }
}

/// A failure to open the pool (as the login, or `SET ROLE` to `SWITCHBOARD_DB_ROLE`).
fn connect_error(e: engine::EngineError, database: &str) -> CommandError {
    match e {
        engine::EngineError::Database(db) => db_error(&db, database),
        other @ (engine::EngineError::InvalidInput { .. }
        | engine::EngineError::NotFound { .. }
        | engine::EngineError::IdempotencyKeyReused
        | engine::EngineError::IdempotencyKeyInUse
        | engine::EngineError::InvalidState { .. }
        | engine::EngineError::Internal(_)
        | engine::EngineError::Vault(_)
        | engine::EngineError::Forbidden { .. }) => CommandError::from(other),
    }
}

/// The merchant named by `SWITCHBOARD_MERCHANT_ID`, else the oldest merchant.
async fn find_merchant(pool: &PgPool, setup: &Setup) -> Result<(Uuid, String), CommandError> {
    let row = engine::console::find_merchant(pool, setup.merchant_id)
        .await
        .map_err(|e| match e {
            engine::EngineError::Database(db) => db_error(&db, &setup.database),
            other @ (engine::EngineError::InvalidInput { .. }
            | engine::EngineError::NotFound { .. }
            | engine::EngineError::IdempotencyKeyReused
            | engine::EngineError::IdempotencyKeyInUse
            | engine::EngineError::InvalidState { .. }
            | engine::EngineError::Internal(_)
            | engine::EngineError::Vault(_)
            | engine::EngineError::Forbidden { .. }) => CommandError::from(other),
        })?;
    row.ok_or_else(|| match setup.merchant_id {
        Some(id) => config_error(
            "merchant_not_found",
            format!(
                "merchant {id} (SWITCHBOARD_MERCHANT_ID) does not exist in {}",
                setup.database
            ),
        ),
        None => config_error(
            "no_merchant",
            format!("the database {} has no merchant yet", setup.database),
        ),
    })
}

/// Removes the URL's password (raw and percent-decoded) from any text.
struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    fn from_url(url: &str) -> Redactor {
        let mut secrets = Vec::new();
        let rest = url.split_once("://").map_or(url, |(_, r)| r);
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        if let Some((userinfo, _)) = authority.rsplit_once('@')
            && let Some((_, password)) = userinfo.split_once(':')
            && !password.is_empty()
        {
            secrets.push(password.to_owned());
            let decoded = percent_decode(password);
            if decoded != password {
                secrets.push(decoded);
            }
        }
        Redactor { secrets }
    }

    fn text(&self, mut s: String) -> String {
        for secret in &self.secrets {
            if s.contains(secret.as_str()) {
                s = s.replace(secret.as_str(), "***");
            }
        }
        s
    }

    fn error(&self, e: CommandError) -> CommandError {
        CommandError {
            code: e.code,
            message: self.text(e.message),
        }
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes.get(i),
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (Some(b'%'), Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (Some(&b), _, _) => {
                out.push(b);
                i += 1;
            }
            (None, _, _) => break,
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use std::collections::HashMap;

    fn state(vars: &[(&str, &str)]) -> ConsoleState {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        ConsoleState::from_lookup(move |k| map.get(k).cloned())
    }

    #[tokio::test]
    async fn missing_database_url_is_an_error_state_not_a_panic() {
        let s = state(&[("USER", "ana")]);
        let info = s.info().await;
        assert!(!info.ready);
        assert_eq!(
            info.error.as_ref().map(|e| e.code.as_str()),
            Some("database_url_missing")
        );
        assert_eq!(info.actor, "console:ana");
        assert!(s.console().await.is_err());
    }

    #[test]
    fn os_user_name_is_found_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(os_user_name().is_some_and(|n| !n.is_empty()));
        }
    }

    #[test]
    fn database_is_described_without_password() {
        let s = state(&[(
            "DATABASE_URL",
            "postgres://sb:s3cr%40t@db.example:6543/switchboard",
        )]);
        let setup = s.setup.as_ref().unwrap();
        assert_eq!(setup.database, "sb@db.example:6543/switchboard");
        assert_eq!(
            s.redactor.text("x s3cr%40t y s3cr@t".to_owned()),
            "x *** y ***"
        );
    }

    #[test]
    fn invalid_inputs_are_errors() {
        let s = state(&[("DATABASE_URL", "not a url")]);
        assert_eq!(
            s.setup.as_ref().err().map(|e| e.code.as_str()),
            Some("database_url_invalid")
        );
        let s = state(&[
            ("DATABASE_URL", "postgres://a:b@h/db"),
            (MERCHANT_ID, "nope"),
        ]);
        assert_eq!(
            s.setup.as_ref().err().map(|e| e.code.as_str()),
            Some("merchant_id_invalid")
        );
        let s = state(&[("DATABASE_URL", "postgres://a:b@h/db"), (MERCHANT_ID, " ")]);
        assert!(s.setup.as_ref().is_ok_and(|s| s.merchant_id.is_none()));
        let s = state(&[
            ("DATABASE_URL", "postgres://a:b@h/db"),
            (DB_ROLE, "x; DROP"),
        ]);
        assert_eq!(
            s.setup.as_ref().err().map(|e| e.code.as_str()),
            Some("db_role_invalid")
        );
        let s = state(&[
            ("DATABASE_URL", "postgres://a:b@h/db"),
            (DB_ROLE, "alice_support"),
        ]);
        let setup = s.setup.as_ref().unwrap();
        assert_eq!(setup.db_role.as_deref(), Some("alice_support"));
        assert_eq!(setup.database, "a@h:5432/db (as role alice_support)");
    }

    /// Real Postgres (`DATABASE_URL`, exported by scripts/test.sh): `SET ROLE` to a role that
    /// does not exist is reported as such, not as a pool timeout.
    #[tokio::test]
    async fn a_missing_db_role_is_a_clear_error() {
        let url = std::env::var(DATABASE_URL).expect("DATABASE_URL (scripts/test.sh sets it)");
        let role = format!("sb_missing_{}", Uuid::new_v4().simple());
        let s = state(&[("DATABASE_URL", url.as_str()), (DB_ROLE, role.as_str())]);
        let info = s.info().await;
        let err = info.error.expect("an error");
        assert_eq!(err.code, "role_not_found", "{}", err.message);
        assert!(err.message.contains(&role), "{}", err.message);
        assert!(!info.ready);
    }

    #[tokio::test]
    async fn unreachable_database_is_reported_without_password() {
        // Port 1 on localhost: connection refused, quickly.
        let s = state(&[("DATABASE_URL", "postgres://sb:hunter2@127.0.0.1:1/sb")]);
        let info = s.info().await;
        let err = info.error.clone().expect("an error");
        assert_eq!(err.code, "database_unavailable");
        assert!(err.message.contains("sb@127.0.0.1:1/sb"), "{}", err.message);
        assert!(!format!("{info:?}{err:?}").contains("hunter2"));
    }
}
