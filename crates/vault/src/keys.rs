//! Master keys and keysets, and their text form (`v1:<64 hex digits>`, one per version,
//! separated by whitespace or commas), used by every [`crate::KeySource`].

use crate::{KEY_LEN, VaultError};
use hmac::{Hmac, Mac};
use rand::CryptoRng;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use sha2::Sha256;
use std::collections::BTreeMap;
use zeroize::Zeroizing;

/// One version of the master key. The bytes are zeroized on drop and never printed.
pub struct MasterKey {
    version: u32,
    key: SecretBox<[u8; KEY_LEN]>,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey(v{}, [redacted])", self.version)
    }
}

impl Clone for MasterKey {
    fn clone(&self) -> Self {
        MasterKey::from_bytes(self.version, *self.key.expose_secret())
    }
}

impl MasterKey {
    /// A master key of `version` (>= 1) from its 32 bytes.
    pub fn from_bytes(version: u32, bytes: [u8; KEY_LEN]) -> MasterKey {
        MasterKey {
            version,
            key: SecretBox::new(Box::new(bytes)),
        }
    }

    /// A fresh random master key of `version`.
    pub fn generate(version: u32, rng: &mut impl CryptoRng) -> MasterKey {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        rng.fill_bytes(bytes.as_mut_slice());
        MasterKey::from_bytes(version, *bytes)
    }

    /// Its version (1, 2, …).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// A public check value: the first 16 bytes of HMAC-SHA256(key, "switchboard master key
    /// check"), hex. Stored in the database per version so a wrong key is reported as such
    /// (instead of as undecryptable rows). Reveals nothing usable about the key.
    pub fn check_value(&self) -> String {
        let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(self.key.expose_secret()) {
            Ok(m) => m,
            // HMAC accepts keys of any length; this branch cannot be reached with 32 bytes.
            Err(_) => return String::new(),
        };
        mac.update(b"switchboard master key check");
        let out = mac.finalize().into_bytes();
        hex::encode(&out[..16])
    }

    pub(crate) fn bytes(&self) -> &[u8; KEY_LEN] {
        self.key.expose_secret()
    }
}

/// Every master key version a process knows. The newest version wraps new data keys; older
/// versions stay readable until a rotation has re-wrapped every data key.
#[derive(Debug, Clone, Default)]
pub struct Keyset {
    keys: BTreeMap<u32, MasterKey>,
}

impl Keyset {
    /// A keyset of the given keys. Errors: `KeyFormat` for version 0 or a duplicate version.
    pub fn new(keys: Vec<MasterKey>) -> Result<Keyset, VaultError> {
        let mut map = BTreeMap::new();
        for k in keys {
            if k.version == 0 {
                return Err(VaultError::KeyFormat("versions start at v1".into()));
            }
            let v = k.version;
            if map.insert(v, k).is_some() {
                return Err(VaultError::KeyFormat(format!("version v{v} appears twice")));
            }
        }
        Ok(Keyset { keys: map })
    }

    /// A keyset with one fresh random key, version 1.
    pub fn generate(rng: &mut impl CryptoRng) -> Keyset {
        let mut keys = BTreeMap::new();
        keys.insert(1, MasterKey::generate(1, rng));
        Keyset { keys }
    }

    /// This keyset plus a fresh random key one version above the newest (v1 when empty).
    pub fn with_new_version(&self, rng: &mut impl CryptoRng) -> Keyset {
        let next = self.newest_version().map_or(1, |v| v + 1);
        let mut keys = self.keys.clone();
        keys.insert(next, MasterKey::generate(next, rng));
        Keyset { keys }
    }

    /// This keyset without the versions below `version` (after a completed rotation).
    pub fn without_versions_below(&self, version: u32) -> Keyset {
        Keyset {
            keys: self
                .keys
                .iter()
                .filter(|(v, _)| **v >= version)
                .map(|(v, k)| (*v, k.clone()))
                .collect(),
        }
    }

    /// True when it holds no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The newest key (wraps new data keys). Errors: `MasterKeyMissing` when empty.
    pub fn newest(&self) -> Result<&MasterKey, VaultError> {
        self.keys
            .values()
            .next_back()
            .ok_or_else(|| VaultError::MasterKeyMissing {
                source_name: "the keyset".into(),
            })
    }

    /// The newest version, if any.
    pub fn newest_version(&self) -> Option<u32> {
        self.keys.keys().next_back().copied()
    }

    /// A version. Errors: `MasterKeyVersionMissing`.
    pub fn get(&self, version: u32) -> Result<&MasterKey, VaultError> {
        self.keys
            .get(&version)
            .ok_or(VaultError::MasterKeyVersionMissing { version })
    }

    /// All versions, ascending.
    pub fn versions(&self) -> Vec<u32> {
        self.keys.keys().copied().collect()
    }

    /// `(version, check value)` per key, ascending.
    pub fn check_values(&self) -> Vec<(u32, String)> {
        self.keys
            .values()
            .map(|k| (k.version, k.check_value()))
            .collect()
    }

    /// Parses the text form: tokens `v<N>:<64 hex>` separated by whitespace or commas; a single
    /// bare 64-hex-digit token means `v1`. Errors: `KeyFormat` (the message never echoes key
    /// digits), `MasterKeyMissing` when the text holds no key.
    pub fn parse(text: &str) -> Result<Keyset, VaultError> {
        let tokens: Vec<&str> = text
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|t| !t.is_empty())
            .collect();
        if tokens.is_empty() {
            return Err(VaultError::MasterKeyMissing {
                source_name: "the given text".into(),
            });
        }
        let mut keys = Vec::with_capacity(tokens.len());
        for (i, token) in tokens.iter().enumerate() {
            let (version, hex_part) = match token.split_once(':') {
                Some((v, h)) => {
                    let n = v
                        .strip_prefix('v')
                        .and_then(|n| n.parse::<u32>().ok())
                        .ok_or_else(|| {
                            VaultError::KeyFormat(format!(
                                "entry {} must look like v1:<64 hex digits>",
                                i + 1
                            ))
                        })?;
                    (n, h)
                }
                None if tokens.len() == 1 => (1, *token),
                None => {
                    return Err(VaultError::KeyFormat(format!(
                        "entry {} has no version (expected v<N>:<64 hex digits>)",
                        i + 1
                    )));
                }
            };
            let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
            hex::decode_to_slice(hex_part, bytes.as_mut_slice()).map_err(|_| {
                VaultError::KeyFormat(format!(
                    "key v{version} must be exactly 64 hex digits (32 bytes)"
                ))
            })?;
            keys.push(MasterKey::from_bytes(version, *bytes));
        }
        Keyset::new(keys)
    }

    /// The text form (`v1:<hex> v2:<hex>`), as a secret.
    pub fn to_text(&self) -> SecretString {
        let parts: Vec<String> = self
            .keys
            .values()
            .map(|k| format!("v{}:{}", k.version, hex::encode(k.bytes())))
            .collect();
        SecretString::from(parts.join(" "))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn text_round_trip_and_errors_never_echo_digits() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let ks = Keyset::generate(&mut rng).with_new_version(&mut rng);
        let text = ks.to_text();
        let back = Keyset::parse(text.expose_secret()).unwrap();
        assert_eq!(back.versions(), vec![1, 2]);
        assert_eq!(back.check_values(), ks.check_values());
        let bad = format!("v1:{}zz", &text.expose_secret()[3..65]);
        let err = Keyset::parse(&bad).unwrap_err();
        assert_eq!(err.code(), "master_key_malformed");
        assert!(!err.to_string().contains(&text.expose_secret()[3..20]));
        assert_eq!(
            Keyset::parse("  ").unwrap_err().code(),
            "master_key_missing"
        );
        let bare = &text.expose_secret()[3..67];
        assert_eq!(Keyset::parse(bare).unwrap().versions(), vec![1]);
        assert!(format!("{ks:?}").contains("redacted"));
        assert!(!format!("{ks:?}").contains(bare));
    }
}
