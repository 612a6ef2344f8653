//! Envelope encryption: data keys wrapped by a master key; secrets sealed by a data key.
//! AES-256-GCM everywhere, 96-bit random nonces, associated data binding each ciphertext to
//! its row (RFC 5116 AEAD; NIST SP 800-38D for the 96-bit nonce).

use crate::{KEY_LEN, Keyset, MasterKey, NONCE_LEN, VaultError};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use rand::CryptoRng;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use uuid::Uuid;
use zeroize::Zeroizing;

/// A merchant's data key (32 bytes, zeroized on drop, never printed).
pub struct DataKey {
    /// Data key version of the merchant (1 for the first key).
    pub version: i32,
    key: SecretBox<[u8; KEY_LEN]>,
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DataKey(v{}, [redacted])", self.version)
    }
}

/// A data key encrypted by a master key version, as stored in `merchant_data_keys`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrappedKey {
    /// Master key version that wrapped it.
    pub master_version: u32,
    /// Random 96-bit nonce.
    pub nonce: [u8; NONCE_LEN],
    /// AES-256-GCM ciphertext + 16-byte tag.
    pub ciphertext: Vec<u8>,
}

/// A sealed secret, as stored in `connector_credentials`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// Version of the merchant data key that sealed it.
    pub key_version: i32,
    /// Random 96-bit nonce.
    pub nonce: [u8; NONCE_LEN],
    /// AES-256-GCM ciphertext + 16-byte tag.
    pub ciphertext: Vec<u8>,
}

/// The row a secret belongs to. Its bytes are the associated data of the seal, so a ciphertext
/// only opens on the row (merchant, connector, field) it was sealed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CredentialAad<'a> {
    /// Merchant.
    pub merchant_id: Uuid,
    /// Connector.
    pub connector_id: Uuid,
    /// Field name: `api_key`, `webhook_secret` (INTERFACES.md §C).
    pub field: &'a str,
}

impl CredentialAad<'_> {
    fn bytes(&self, key_version: i32) -> Vec<u8> {
        format!(
            "switchboard/credential/v1|{}|{}|{}|{}",
            self.merchant_id, self.connector_id, key_version, self.field
        )
        .into_bytes()
    }
}

fn data_key_aad(merchant_id: Uuid, data_key_version: i32, master_version: u32) -> Vec<u8> {
    format!("switchboard/data-key/v1|{merchant_id}|{data_key_version}|{master_version}")
        .into_bytes()
}

fn cipher(key: &[u8; KEY_LEN]) -> Aes256Gcm {
    Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key))
}

fn random_nonce(rng: &mut impl CryptoRng) -> [u8; NONCE_LEN] {
    let mut n = [0u8; NONCE_LEN];
    rng.fill_bytes(&mut n);
    n
}

fn encrypt(
    key: &[u8; KEY_LEN],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    msg: &[u8],
) -> Result<Vec<u8>, VaultError> {
    cipher(key)
        .encrypt(Nonce::from_slice(nonce), Payload { msg, aad })
        // Only possible for messages beyond AES-GCM's 64 GiB limit.
        .map_err(|_| VaultError::DecryptFailed {
            what: "encryption input (too long)".into(),
        })
}

/// A fresh random data key for `merchant_id` (version `data_key_version`), wrapped by the
/// keyset's newest master key. Errors: `MasterKeyMissing` when the keyset is empty.
pub fn new_data_key(
    keys: &Keyset,
    merchant_id: Uuid,
    data_key_version: i32,
    rng: &mut impl CryptoRng,
) -> Result<(DataKey, WrappedKey), VaultError> {
    let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
    rng.fill_bytes(bytes.as_mut_slice());
    let dk = DataKey {
        version: data_key_version,
        key: SecretBox::new(Box::new(*bytes)),
    };
    let wrapped = wrap_data_key(keys.newest()?, merchant_id, &dk, rng)?;
    Ok((dk, wrapped))
}

/// Wraps `dk` with `master` (AAD: merchant id, data key version, master version).
pub fn wrap_data_key(
    master: &MasterKey,
    merchant_id: Uuid,
    dk: &DataKey,
    rng: &mut impl CryptoRng,
) -> Result<WrappedKey, VaultError> {
    let nonce = random_nonce(rng);
    let aad = data_key_aad(merchant_id, dk.version, master.version());
    let ciphertext = encrypt(master.bytes(), &nonce, &aad, dk.key.expose_secret())?;
    Ok(WrappedKey {
        master_version: master.version(),
        nonce,
        ciphertext,
    })
}

/// Unwraps a merchant's data key. Errors: `MasterKeyVersionMissing` (the keyset lacks the
/// version), `DecryptFailed` (wrong key, tampered, or wrapped for another merchant/version).
pub fn unwrap_data_key(
    keys: &Keyset,
    merchant_id: Uuid,
    data_key_version: i32,
    wrapped: &WrappedKey,
) -> Result<DataKey, VaultError> {
    let master = keys.get(wrapped.master_version)?;
    let aad = data_key_aad(merchant_id, data_key_version, wrapped.master_version);
    let plain = Zeroizing::new(
        cipher(master.bytes())
            .decrypt(
                Nonce::from_slice(&wrapped.nonce),
                Payload {
                    msg: &wrapped.ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| VaultError::DecryptFailed {
                what: format!("data key v{data_key_version} of merchant {merchant_id}"),
            })?,
    );
    let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
    if plain.len() != KEY_LEN {
        return Err(VaultError::DecryptFailed {
            what: format!("data key v{data_key_version} of merchant {merchant_id} (bad length)"),
        });
    }
    bytes.copy_from_slice(&plain);
    Ok(DataKey {
        version: data_key_version,
        key: SecretBox::new(Box::new(*bytes)),
    })
}

/// Re-wraps a data key with master version `to_version` (rotation). The data key itself, and
/// so every credential ciphertext, is unchanged. Errors: as [`unwrap_data_key`], and
/// `MasterKeyVersionMissing` for `to_version`.
pub fn rewrap_data_key(
    keys: &Keyset,
    merchant_id: Uuid,
    data_key_version: i32,
    wrapped: &WrappedKey,
    to_version: u32,
    rng: &mut impl CryptoRng,
) -> Result<WrappedKey, VaultError> {
    let dk = unwrap_data_key(keys, merchant_id, data_key_version, wrapped)?;
    wrap_data_key(keys.get(to_version)?, merchant_id, &dk, rng)
}

/// Seals `secret` for the row `aad` with a fresh random nonce.
pub fn seal(
    dk: &DataKey,
    aad: CredentialAad<'_>,
    secret: &SecretString,
    rng: &mut impl CryptoRng,
) -> Result<Sealed, VaultError> {
    let nonce = random_nonce(rng);
    let ciphertext = encrypt(
        dk.key.expose_secret(),
        &nonce,
        &aad.bytes(dk.version),
        secret.expose_secret().as_bytes(),
    )?;
    Ok(Sealed {
        key_version: dk.version,
        nonce,
        ciphertext,
    })
}

/// Opens a sealed secret of the row `aad`. Errors: `DecryptFailed` when the ciphertext was
/// sealed for another row, with another key, or was altered.
pub fn open(
    dk: &DataKey,
    aad: CredentialAad<'_>,
    sealed: &Sealed,
) -> Result<SecretString, VaultError> {
    let failed = || VaultError::DecryptFailed {
        what: format!("credential {} of connector {}", aad.field, aad.connector_id),
    };
    if sealed.key_version != dk.version {
        return Err(failed());
    }
    let plain = Zeroizing::new(
        cipher(dk.key.expose_secret())
            .decrypt(
                Nonce::from_slice(&sealed.nonce),
                Payload {
                    msg: &sealed.ciphertext,
                    aad: &aad.bytes(sealed.key_version),
                },
            )
            .map_err(|_| failed())?,
    );
    let text = std::str::from_utf8(&plain).map_err(|_| failed())?;
    Ok(SecretString::from(text.to_owned()))
}
