//! Merchant webhook endpoint secrets are encrypted by the vault (migration 0008) against a real
//! Postgres: no plaintext is stored, the delivery path decrypts with the gateway's keyset, a
//! ciphertext copied to another merchant's endpoint does not open, plaintext rows from before
//! 0008 are encrypted by the rotation, and a master key rotation (re-wrapping the per-merchant
//! data keys) keeps the secrets decryptable with only the new version.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use secrecy::{ExposeSecret, SecretString};
use sqlx::PgPool;
use uuid::Uuid;
use vault::{KeySource, Keyset, source::MemoryKeys};

async fn merchant(pool: &PgPool, n: usize) -> Uuid {
    let id = Uuid::now_v7();
    store::config::insert_merchant(pool, id, &format!("Shop {n}"))
        .await
        .unwrap();
    id
}

/// One pending outbox row for `merchant` (as the payment_events trigger would write it).
async fn outbox_row(pool: &PgPool, merchant: Uuid) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO merchant_webhook_outbox (merchant_id, payment_id, event_id, event_type, payload)
         VALUES ($1, $2, 1, 'payment.captured', '{\"id\":\"evt_1\"}') RETURNING id",
    )
    .bind(merchant)
    .bind(Uuid::now_v7())
    .fetch_one(pool)
    .await
    .unwrap()
}

fn opened(d: &store::outbox::DueWebhook) -> Result<String, String> {
    d.secret
        .as_ref()
        .map(|s| s.expose_secret().to_owned())
        .map_err(Clone::clone)
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn endpoint_secret_is_sealed_bound_to_its_row_and_opened_for_delivery(pool: PgPool) {
    let keys = Keyset::generate(&mut rand::rng());
    let (a, b) = (merchant(&pool, 1).await, merchant(&pool, 2).await);
    let secret_a = format!("whsec_merchantA_{}", Uuid::new_v4().simple());
    for (m, s) in [
        (a, &secret_a),
        (b, &"whsec_merchantB_0123456789".to_owned()),
    ] {
        store::outbox::set_endpoint(
            &pool,
            &keys,
            m,
            "http://127.0.0.1:9/h",
            &SecretString::from(s.clone()),
            true,
        )
        .await
        .unwrap();
    }
    // Nothing in plaintext; the ciphertext does not contain the secret; last 4 only for display.
    let (plain, ct): (Option<String>, Vec<u8>) = sqlx::query_as(
        "SELECT secret, ciphertext FROM merchant_webhook_endpoints WHERE merchant_id = $1",
    )
    .bind(a)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(plain.is_none());
    assert!(
        !ct.windows(8)
            .any(|w| secret_a.as_bytes().windows(8).any(|s| s == w))
    );
    let meta = store::outbox::endpoint_meta(&pool, a)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(meta.last4, secret_a[secret_a.len() - 4..]);
    assert_eq!(meta.key_version, Some(1));
    assert!(!format!("{meta:?}").contains(&secret_a));
    // A plaintext write is refused by the check constraint.
    let err = sqlx::query("UPDATE merchant_webhook_endpoints SET secret = 'x', ciphertext = NULL WHERE merchant_id = $1")
        .bind(a)
        .execute(&pool)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("merchant_webhook_endpoints_encrypted"),
        "{err}"
    );

    // The delivery path decrypts with the keyset; Debug never shows the secret.
    let ida = outbox_row(&pool, a).await;
    let due = store::outbox::claim_due(&pool, &keys, 10, 30_000)
        .await
        .unwrap();
    let da = due.iter().find(|d| d.outbox_id == ida).unwrap();
    assert_eq!(opened(da).unwrap(), secret_a);
    assert!(!format!("{da:?}").contains(&secret_a));

    // Merchant B's ciphertext copied onto A's endpoint (same data key version) fails to open:
    // the AAD binds merchant, endpoint id and field.
    sqlx::query(
        "UPDATE merchant_webhook_endpoints a SET ciphertext = b.ciphertext, nonce = b.nonce
         FROM merchant_webhook_endpoints b WHERE a.merchant_id = $1 AND b.merchant_id = $2",
    )
    .bind(a)
    .bind(b)
    .execute(&pool)
    .await
    .unwrap();
    let r = store::outbox::for_replay(&pool, &keys, a, ida)
        .await
        .unwrap()
        .unwrap();
    let e = opened(&r).unwrap_err();
    assert!(e.contains("cannot decrypt"), "{e}");
    // A wrong master key gives a reason, not garbage; the attempt sends nothing.
    store::outbox::set_endpoint(
        &pool,
        &keys,
        a,
        "http://127.0.0.1:9/h",
        &SecretString::from(secret_a.clone()),
        true,
    )
    .await
    .unwrap();
    let impostor = Keyset::generate(&mut rand::rng());
    let r = store::outbox::for_replay(&pool, &impostor, a, ida)
        .await
        .unwrap()
        .unwrap();
    assert!(opened(&r).unwrap_err().contains("cannot decrypt"));
    let sent = engine::merchant_webhooks::send(&reqwest::Client::new(), &r, 0).await;
    assert_eq!(sent.status_code, None);
    assert!(sent.error.unwrap().contains("cannot decrypt"));
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn rotation_encrypts_legacy_rows_and_keeps_endpoint_secrets_decryptable(pool: PgPool) {
    let v1 = Keyset::generate(&mut rand::rng());
    let (a, b) = (merchant(&pool, 1).await, merchant(&pool, 2).await);
    let secret_a = "whsec_rotating_endpoint_secret_A".to_owned();
    store::outbox::set_endpoint(
        &pool,
        &v1,
        a,
        "http://127.0.0.1:9/a",
        &SecretString::from(secret_a.clone()),
        true,
    )
    .await
    .unwrap();
    // A row from before migration 0008 (plaintext), as an upgraded database holds it.
    let legacy = "whsec_legacy_plaintext_B".to_owned();
    sqlx::query("ALTER TABLE merchant_webhook_endpoints DROP CONSTRAINT merchant_webhook_endpoints_encrypted")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO merchant_webhook_endpoints (merchant_id, url, secret) VALUES ($1, 'http://127.0.0.1:9/b', $2)")
        .bind(b)
        .bind(&legacy)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query(
        "ALTER TABLE merchant_webhook_endpoints ADD CONSTRAINT merchant_webhook_endpoints_encrypted
         CHECK (secret IS NULL AND ciphertext IS NOT NULL AND nonce IS NOT NULL AND key_version IS NOT NULL) NOT VALID",
    )
    .execute(&pool)
    .await
    .unwrap();
    let (ida, idb) = (outbox_row(&pool, a).await, outbox_row(&pool, b).await);
    let r = store::outbox::for_replay(&pool, &v1, b, idb)
        .await
        .unwrap()
        .unwrap();
    assert!(opened(&r).unwrap_err().contains("not encrypted yet"));

    // Rotate v1 -> v2 to the end; v1 is pruned from the source.
    let both = v1.with_new_version(&mut rand::rng());
    let source = KeySource::Memory(MemoryKeys::with(&both));
    let report = engine::secrets::rotate(&pool, &source, "ops", 10, None, true)
        .await
        .unwrap();
    assert!(report.finished, "{report:?}");
    assert_eq!(report.encrypted_legacy, 1, "{report:?}");
    assert_eq!(report.pruned_versions, vec![1]);
    let only_v2 = source.load().unwrap();
    assert_eq!(only_v2.versions(), vec![2]);
    let still_plain: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM merchant_webhook_endpoints WHERE secret IS NOT NULL",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(still_plain, 0);
    // Every data key moved to v2, and both endpoint secrets open with v2 alone.
    let on_v2: i64 =
        sqlx::query_scalar("SELECT count(*) FROM merchant_data_keys WHERE master_version = 2")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(on_v2, 2);
    let ra = store::outbox::for_replay(&pool, &only_v2, a, ida)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(opened(&ra).unwrap(), secret_a);
    let rb = store::outbox::for_replay(&pool, &only_v2, b, idb)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(opened(&rb).unwrap(), legacy);
    // v1 alone no longer opens them (the data keys are wrapped by v2 now).
    let old = store::outbox::for_replay(&pool, &v1, a, ida)
        .await
        .unwrap()
        .unwrap();
    assert!(opened(&old).unwrap_err().contains("cannot decrypt"));
}
