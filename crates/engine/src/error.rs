//! Engine errors. Each variant has a stable machine-readable [`EngineError::code`] that reaches
//! HTTP callers and the console unchanged. Messages never contain secrets.

/// An engine failure.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Input rejected before anything was stored. `field` names the offending field.
    #[error("{message}")]
    InvalidInput {
        /// Stable code, e.g. `invalid_currency`, `invalid_amount`, `invalid_weight`.
        code: &'static str,
        /// Human sentence.
        message: String,
        /// The offending field (JSON path), when one is to blame.
        field: Option<String>,
    },
    /// The thing asked for does not exist (for this merchant).
    #[error("{what} not found")]
    NotFound {
        /// What was looked for, e.g. "payment".
        what: &'static str,
    },
    /// Same `Idempotency-Key` with a different request body (HTTP 409).
    #[error("Idempotency-Key was already used with a different request body")]
    IdempotencyKeyReused,
    /// A request with the same `Idempotency-Key` is still being processed (HTTP 409; retry).
    #[error("a request with this Idempotency-Key is still in progress; retry later")]
    IdempotencyKeyInUse,
    /// The operation does not fit the payment's state (e.g. capture of a failed payment).
    #[error("{message}")]
    InvalidState {
        /// Stable code, e.g. `payment_not_capturable`.
        code: &'static str,
        /// Human sentence.
        message: String,
    },
    /// Database failure.
    #[error("database error: {0}")]
    Database(sqlx::Error),
    /// Anything else that is our fault.
    #[error("internal error: {0}")]
    Internal(String),
    /// Credential vault failure: no or wrong master key, undecryptable credential (issue 6).
    /// The message names versions and rows, never secrets.
    #[error("credential vault: {0}")]
    Vault(#[from] vault::VaultError),
    /// The database role of this console user may not do this (GRANT/Row-Level Security).
    #[error("{message}")]
    Forbidden {
        /// Human sentence, e.g. "your role may not change connector weights".
        message: String,
    },
}

/// A database error, except "permission denied" / "row-level security" refusals (SQLSTATE 42501:
/// the connected role may not do this), which become [`EngineError::Forbidden`] with Postgres's
/// message (it names the table or policy, never row data).
impl From<sqlx::Error> for EngineError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(d) = &e
            && d.code().as_deref() == Some("42501")
        {
            return EngineError::Forbidden {
                message: format!("your database role may not do this ({})", d.message()),
            };
        }
        EngineError::Database(e)
    }
}

impl From<store::credentials::CredentialError> for EngineError {
    fn from(e: store::credentials::CredentialError) -> Self {
        match e {
            store::credentials::CredentialError::Database(d) => EngineError::from(d),
            store::credentials::CredentialError::Vault(v) => EngineError::Vault(v),
        }
    }
}

impl EngineError {
    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            EngineError::InvalidInput { code, .. } => code,
            EngineError::NotFound { .. } => "not_found",
            EngineError::IdempotencyKeyReused => "idempotency_key_reused",
            EngineError::IdempotencyKeyInUse => "idempotency_key_in_use",
            EngineError::InvalidState { code, .. } => code,
            EngineError::Database(_) => "database_unavailable",
            EngineError::Internal(_) => "internal_error",
            EngineError::Vault(v) => v.code(),
            EngineError::Forbidden { .. } => "forbidden",
        }
    }

    /// Shorthand for an [`EngineError::InvalidInput`].
    pub fn invalid(
        code: &'static str,
        field: impl Into<Option<String>>,
        message: impl Into<String>,
    ) -> Self {
        EngineError::InvalidInput {
            code,
            message: message.into(),
            field: field.into(),
        }
    }
}
