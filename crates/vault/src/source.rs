//! Where the master keys live: the OS keyring (desktop), an environment variable or a key file
//! (gateways, servers), or memory (tests). Every source holds the whole [`Keyset`] in its text
//! form (`v1:<hex> v2:<hex>`), so a rotation adds a version next to the old one.

use crate::{Keyset, VaultError};
use secrecy::{ExposeSecret, SecretString};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use zeroize::Zeroizing;

/// Environment variable holding the keyset text on a gateway.
pub const ENV_KEYS: &str = "SWITCHBOARD_MASTER_KEY";
/// Environment variable naming a key file (takes precedence over [`ENV_KEYS`]).
pub const ENV_KEY_FILE: &str = "SWITCHBOARD_MASTER_KEY_FILE";
/// Keyring service name used by the desktop console.
pub const KEYRING_SERVICE: &str = "switchboard";
/// Keyring account (user) name of the master keys entry.
pub const KEYRING_ACCOUNT: &str = "master-keys";

/// A master key source.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// The OS keyring (Secret Service on Linux, Keychain on macOS, Credential Manager on
    /// Windows), one entry `service`/`account`.
    Keyring {
        /// Service name, normally [`KEYRING_SERVICE`].
        service: String,
        /// Account name, normally [`KEYRING_ACCOUNT`].
        account: String,
    },
    /// An environment variable with the keyset text (read-only).
    Env {
        /// Its name, normally [`ENV_KEYS`].
        var: String,
    },
    /// A key file with the keyset text (written with mode 0600).
    File {
        /// Its path.
        path: PathBuf,
    },
    /// Process memory (tests, one-off tools).
    Memory(MemoryKeys),
}

/// In-memory keyset text shared by clones (so a test can "restart" with the same keys).
#[derive(Clone, Default)]
pub struct MemoryKeys(Arc<Mutex<Option<SecretString>>>);

impl std::fmt::Debug for MemoryKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryKeys([redacted])")
    }
}

impl MemoryKeys {
    /// Memory holding `keys`.
    pub fn with(keys: &Keyset) -> MemoryKeys {
        MemoryKeys(Arc::new(Mutex::new(Some(keys.to_text()))))
    }
}

impl KeySource {
    /// The desktop source: the OS keyring entry `switchboard`/`master-keys`.
    pub fn desktop() -> KeySource {
        KeySource::Keyring {
            service: KEYRING_SERVICE.into(),
            account: KEYRING_ACCOUNT.into(),
        }
    }

    /// The server source from the environment (`env` is the lookup, e.g.
    /// `|k| std::env::var(k).ok()`): [`ENV_KEY_FILE`] if set, else [`ENV_KEYS`]. `None` when
    /// neither is set.
    pub fn server(env: impl Fn(&str) -> Option<String>) -> Option<KeySource> {
        if let Some(path) = env(ENV_KEY_FILE).filter(|p| !p.trim().is_empty()) {
            return Some(KeySource::File { path: path.into() });
        }
        env(ENV_KEYS).map(|_| KeySource::Env {
            var: ENV_KEYS.into(),
        })
    }

    /// A human description, safe to print (no key material).
    pub fn describe(&self) -> String {
        match self {
            KeySource::Keyring { service, account } => {
                format!("the OS keyring (service \"{service}\", account \"{account}\")")
            }
            KeySource::Env { var } => format!("environment variable {var}"),
            KeySource::File { path } => format!("key file {}", path.display()),
            KeySource::Memory(_) => "memory".into(),
        }
    }

    fn missing(&self) -> VaultError {
        VaultError::MasterKeyMissing {
            source_name: self.describe(),
        }
    }

    /// Reads the keyset. Errors: `MasterKeyMissing` (no entry/variable/file, or empty),
    /// `KeyFormat`, `Keyring` (locked keyring, no Secret Service), `KeyFile`.
    pub fn load(&self) -> Result<Keyset, VaultError> {
        let text: Zeroizing<String> = match self {
            KeySource::Keyring { service, account } => {
                let entry = keyring_entry(service, account)?;
                match entry.get_password() {
                    Ok(p) => Zeroizing::new(p),
                    Err(keyring::Error::NoEntry) => return Err(self.missing()),
                    Err(e) => return Err(VaultError::Keyring(keyring_message(&e))),
                }
            }
            KeySource::Env { var } => match std::env::var(var) {
                Ok(v) => Zeroizing::new(v),
                Err(_) => return Err(self.missing()),
            },
            KeySource::File { path } => match std::fs::read_to_string(path) {
                Ok(v) => Zeroizing::new(v),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(self.missing()),
                Err(e) => {
                    return Err(VaultError::KeyFile {
                        path: path.display().to_string(),
                        message: e.to_string(),
                    });
                }
            },
            KeySource::Memory(m) => match m.0.lock() {
                Ok(g) => match g.as_ref() {
                    Some(s) => Zeroizing::new(s.expose_secret().to_owned()),
                    None => return Err(self.missing()),
                },
                Err(_) => return Err(self.missing()),
            },
        };
        if text.trim().is_empty() {
            return Err(self.missing());
        }
        Keyset::parse(&text)
    }

    /// Writes the keyset (replacing what was there). Errors: `ReadOnlySource` for an
    /// environment variable, `Keyring`, `KeyFile`.
    pub fn save(&self, keys: &Keyset) -> Result<(), VaultError> {
        let text = keys.to_text();
        match self {
            KeySource::Keyring { service, account } => keyring_entry(service, account)?
                .set_password(text.expose_secret())
                .map_err(|e| VaultError::Keyring(keyring_message(&e))),
            KeySource::Env { var } => Err(VaultError::ReadOnlySource(format!(
                "environment variable {var}"
            ))),
            KeySource::File { path } => write_key_file(path, text.expose_secret()),
            KeySource::Memory(m) => {
                if let Ok(mut g) = m.0.lock() {
                    *g = Some(text);
                }
                Ok(())
            }
        }
    }
}

fn keyring_entry(service: &str, account: &str) -> Result<keyring::Entry, VaultError> {
    keyring::Entry::new(service, account).map_err(|e| VaultError::Keyring(keyring_message(&e)))
}

/// keyring errors carry no secret; a locked collection gets an actionable hint.
fn keyring_message(e: &keyring::Error) -> String {
    match e {
        keyring::Error::NoStorageAccess(_) | keyring::Error::PlatformFailure(_) => format!(
            "{e} (is a Secret Service running and unlocked? e.g. gnome-keyring-daemon --unlock)"
        ),
        keyring::Error::NoEntry
        | keyring::Error::BadEncoding(_)
        | keyring::Error::TooLong(..)
        | keyring::Error::Invalid(..)
        | keyring::Error::Ambiguous(_) => e.to_string(),
        // keyring::Error is #[non_exhaustive].
        _ => e.to_string(),
    }
}

fn write_key_file(path: &std::path::Path, text: &str) -> Result<(), VaultError> {
    use std::io::Write;
    let err = |e: std::io::Error| VaultError::KeyFile {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let tmp = path.with_extension("tmp");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp).map_err(err)?;
    f.write_all(text.as_bytes()).map_err(err)?;
    f.write_all(b"\n").map_err(err)?;
    f.sync_all().map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}
