//! Envelope encryption and key sources, against the real AES-256-GCM implementation.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use rand::SeedableRng;
use rand::rngs::StdRng;
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;
use vault::{
    CredentialAad, KeySource, Keyset, VaultError, new_data_key, open, rewrap_data_key, seal,
    unwrap_data_key,
};

fn rng() -> StdRng {
    StdRng::seed_from_u64(42)
}

fn aad(m: Uuid, c: Uuid, field: &str) -> CredentialAad<'_> {
    CredentialAad {
        merchant_id: m,
        connector_id: c,
        field,
    }
}

#[test]
fn seal_open_round_trip_with_random_nonces() {
    let mut rng = rng();
    let keys = Keyset::generate(&mut rng);
    let m = Uuid::new_v4();
    let c = Uuid::new_v4();
    let (dk, wrapped) = new_data_key(&keys, m, 1, &mut rng).unwrap();
    assert_eq!(wrapped.master_version, 1);
    let secret = SecretString::from("sk_test_round_trip_1234");
    let a = seal(&dk, aad(m, c, "api_key"), &secret, &mut rng).unwrap();
    let b = seal(&dk, aad(m, c, "api_key"), &secret, &mut rng).unwrap();
    assert_ne!(a.nonce, b.nonce, "every seal draws a fresh nonce");
    assert_ne!(a.ciphertext, b.ciphertext);
    assert!(
        !a.ciphertext.windows(8).any(|w| w == b"sk_test_"),
        "ciphertext must not contain the plaintext"
    );
    let dk2 = unwrap_data_key(&keys, m, 1, &wrapped).unwrap();
    let back = open(&dk2, aad(m, c, "api_key"), &a).unwrap();
    assert_eq!(back.expose_secret(), "sk_test_round_trip_1234");
}

#[test]
fn ciphertext_moved_to_another_row_fails() {
    let mut rng = rng();
    let keys = Keyset::generate(&mut rng);
    let m = Uuid::new_v4();
    let other_m = Uuid::new_v4();
    let c = Uuid::new_v4();
    let other_c = Uuid::new_v4();
    let (dk, _) = new_data_key(&keys, m, 1, &mut rng).unwrap();
    let sealed = seal(
        &dk,
        aad(m, c, "api_key"),
        &SecretString::from("sk_test_moved_secret_0000"),
        &mut rng,
    )
    .unwrap();
    for wrong in [
        aad(m, other_c, "api_key"),
        aad(m, c, "webhook_secret"),
        aad(other_m, c, "api_key"),
    ] {
        let err = open(&dk, wrong, &sealed).unwrap_err();
        assert_eq!(err.code(), "decrypt_failed");
        assert!(!err.to_string().contains("moved_secret"));
    }
    // One flipped bit anywhere in the ciphertext or nonce fails too.
    let mut tampered = sealed.clone();
    tampered.ciphertext[0] ^= 1;
    assert!(open(&dk, aad(m, c, "api_key"), &tampered).is_err());
    let mut tampered = sealed.clone();
    tampered.nonce[11] ^= 0x80;
    assert!(open(&dk, aad(m, c, "api_key"), &tampered).is_err());
    // A data key copied to another merchant fails to unwrap.
    let (_, wrapped) = new_data_key(&keys, m, 1, &mut rng).unwrap();
    assert!(matches!(
        unwrap_data_key(&keys, other_m, 1, &wrapped),
        Err(VaultError::DecryptFailed { .. })
    ));
}

#[test]
fn wrong_or_missing_master_key_is_a_clear_error() {
    let mut rng = rng();
    let keys = Keyset::generate(&mut rng);
    let other = Keyset::generate(&mut StdRng::seed_from_u64(99));
    assert_ne!(keys.check_values(), other.check_values());
    let m = Uuid::new_v4();
    let (_, wrapped) = new_data_key(&keys, m, 1, &mut rng).unwrap();
    let err = unwrap_data_key(&other, m, 1, &wrapped).unwrap_err();
    assert_eq!(err.code(), "decrypt_failed");
    let err = unwrap_data_key(&Keyset::default(), m, 1, &wrapped).unwrap_err();
    assert_eq!(err, VaultError::MasterKeyVersionMissing { version: 1 });
    assert!(err.to_string().contains("v1"));
    let err = new_data_key(&Keyset::default(), m, 1, &mut rng).unwrap_err();
    assert_eq!(err.code(), "master_key_missing");
}

#[test]
fn rewrap_moves_to_new_version_and_credentials_still_open() {
    let mut rng = rng();
    let v1 = Keyset::generate(&mut rng);
    let both = v1.with_new_version(&mut rng);
    assert_eq!(both.versions(), vec![1, 2]);
    let m = Uuid::new_v4();
    let c = Uuid::new_v4();
    let (dk, wrapped) = new_data_key(&v1, m, 1, &mut rng).unwrap();
    let sealed = seal(
        &dk,
        aad(m, c, "api_key"),
        &SecretString::from("sk_test_rotation_abcd"),
        &mut rng,
    )
    .unwrap();
    let rewrapped = rewrap_data_key(&both, m, 1, &wrapped, 2, &mut rng).unwrap();
    assert_eq!(rewrapped.master_version, 2);
    // After rotation only v2 is needed.
    let only_v2 = both.without_versions_below(2);
    assert_eq!(only_v2.versions(), vec![2]);
    let dk2 = unwrap_data_key(&only_v2, m, 1, &rewrapped).unwrap();
    assert_eq!(
        open(&dk2, aad(m, c, "api_key"), &sealed)
            .unwrap()
            .expose_secret(),
        "sk_test_rotation_abcd"
    );
    // The old wrapping needs v1, which the trimmed keyset no longer has.
    assert_eq!(
        unwrap_data_key(&only_v2, m, 1, &wrapped).unwrap_err(),
        VaultError::MasterKeyVersionMissing { version: 1 }
    );
}

#[test]
fn file_and_memory_sources_round_trip_env_is_read_only() {
    let mut rng = rng();
    let keys = Keyset::generate(&mut rng);
    let dir = std::env::temp_dir().join(format!("sb-vault-{}", Uuid::new_v4()));
    let src = KeySource::File {
        path: dir.join("master.key"),
    };
    assert_eq!(src.load().unwrap_err().code(), "master_key_missing");
    src.save(&keys).unwrap();
    assert_eq!(src.load().unwrap().check_values(), keys.check_values());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("master.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "key file must not be readable by others");
    }
    std::fs::write(dir.join("master.key"), "v1:nothex").unwrap();
    let err = src.load().unwrap_err();
    assert_eq!(err.code(), "master_key_malformed");
    std::fs::remove_dir_all(&dir).unwrap();

    let mem = KeySource::Memory(Default::default());
    assert_eq!(mem.load().unwrap_err().code(), "master_key_missing");
    mem.save(&keys).unwrap();
    assert_eq!(mem.load().unwrap().check_values(), keys.check_values());

    let env = KeySource::Env {
        var: "SB_VAULT_TEST_UNSET_VARIABLE".into(),
    };
    assert_eq!(env.load().unwrap_err().code(), "master_key_missing");
    assert_eq!(env.save(&keys).unwrap_err().code(), "key_source_read_only");
    let picked = KeySource::server(|k| (k == vault::source::ENV_KEYS).then(|| "x".into()));
    assert!(matches!(picked, Some(KeySource::Env { .. })));
    let picked =
        KeySource::server(|k| (k == vault::source::ENV_KEY_FILE).then(|| "/etc/sb.key".into()));
    assert!(matches!(picked, Some(KeySource::File { .. })));
    assert!(KeySource::server(|_| None).is_none());
}
