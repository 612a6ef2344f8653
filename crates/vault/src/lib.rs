//! Switchboard's credential vault: envelope encryption with AES-256-GCM.
//!
//! - A **master key** (32 random bytes, versioned `v1`, `v2`, …) never touches the database. It
//!   lives in the OS keyring on a desktop, in an environment variable or a key file on a gateway,
//!   or in memory in tests ([`source`]). All versions a process knows form a [`Keyset`].
//! - Each merchant has a **data key** (32 random bytes) stored only *wrapped*: encrypted with a
//!   master key version under AES-256-GCM, with associated data binding the merchant id and the
//!   data key version ([`wrap_data_key`], [`unwrap_data_key`]). Rotation re-wraps data keys with a
//!   newer master version ([`rewrap_data_key`]); credential ciphertexts do not change.
//! - Each secret (connector API key, webhook secret) is sealed with its merchant's data key under
//!   a fresh random 96-bit nonce; the associated data binds merchant id, connector id and field
//!   name ([`CredentialAad`]), so a ciphertext copied onto another row fails to decrypt.
//!
//! Keys and plaintexts are `secrecy` types (zeroized on drop). Randomness is passed in
//! (`rand::rng()` in production, a seeded RNG in tests). Errors ([`VaultError`]) never contain key
//! material or plaintext.

pub mod envelope;
pub mod error;
pub mod keys;
pub mod source;

pub use envelope::{
    CredentialAad, DataKey, Sealed, WrappedKey, new_data_key, open, rewrap_data_key, seal,
    unwrap_data_key, wrap_data_key,
};
pub use error::VaultError;
pub use keys::{Keyset, MasterKey};
pub use source::KeySource;

/// Length of every key (master and data): 32 bytes = AES-256.
pub const KEY_LEN: usize = 32;
/// Length of every nonce: 96 bits, the AES-GCM standard nonce.
pub const NONCE_LEN: usize = 12;

/// The last (at most) 4 characters of a secret for display, or `""` when the secret is shorter
/// than 12 characters (showing 4 of a short secret would give too much of it away).
pub fn last4(secret: &str) -> String {
    let n = secret.chars().count();
    if n < 12 {
        return String::new();
    }
    secret.chars().skip(n - 4).collect()
}
