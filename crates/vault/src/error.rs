//! Vault errors. Messages name versions, sources and rows, never key bytes or plaintexts.

/// A vault failure.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VaultError {
    /// No master key in the configured source (first start, or the variable/file/entry is absent).
    #[error("no master key found in {source_name}; create one or import the existing key")]
    MasterKeyMissing {
        /// Where we looked, e.g. `OS keyring (service "switchboard")`, `SWITCHBOARD_MASTER_KEY`.
        source_name: String,
    },
    /// A row needs a master key version this process does not have.
    #[error(
        "master key version v{version} is not available here; add it to the master key source (rotation in progress or an old key was removed too early)"
    )]
    MasterKeyVersionMissing {
        /// The version asked for.
        version: u32,
    },
    /// The master key of this version is not the one the database was encrypted with.
    #[error(
        "master key v{version} does not match this database (wrong key); import the key this database was set up with"
    )]
    WrongMasterKey {
        /// The version whose check value differs.
        version: u32,
    },
    /// A ciphertext failed authentication: tampered, moved to another row, or a wrong key.
    #[error(
        "cannot decrypt {what}: wrong key, tampered data, or a ciphertext moved to another row"
    )]
    DecryptFailed {
        /// What failed, e.g. `data key of merchant …`, `credential api_key of connector …`.
        what: String,
    },
    /// A key text (env var, file, keyring entry, import) is malformed.
    #[error("malformed master key text: {0}")]
    KeyFormat(String),
    /// The OS keyring failed (locked, no Secret Service, denied).
    #[error("OS keyring: {0}")]
    Keyring(String),
    /// A key file could not be read or written.
    #[error("key file {path}: {message}")]
    KeyFile {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The source cannot be written (an environment variable).
    #[error("{0} is read-only: set the new key there yourself")]
    ReadOnlySource(String),
}

impl VaultError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            VaultError::MasterKeyMissing { .. } => "master_key_missing",
            VaultError::MasterKeyVersionMissing { .. } => "master_key_version_missing",
            VaultError::WrongMasterKey { .. } => "master_key_wrong",
            VaultError::DecryptFailed { .. } => "decrypt_failed",
            VaultError::KeyFormat(_) => "master_key_malformed",
            VaultError::Keyring(_) => "keyring_unavailable",
            VaultError::KeyFile { .. } => "key_file_unavailable",
            VaultError::ReadOnlySource(_) => "key_source_read_only",
        }
    }
}
