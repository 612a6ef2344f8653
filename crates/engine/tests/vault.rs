//! Vault behaviour through the engine against a real Postgres: credentials stay decryptable
//! while a master key rotation runs next to live payments, an interrupted rotation resumes,
//! a gateway without the right key gets a clear error, and the console's credential commands
//! are write-only.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use engine::console::Console;
use engine::payments::{MerchantAuth, Payments, RandomRolls, SystemClock};
use engine::secrets::SetCredential;
use providers::{Executor, ExecutorConfig};
use routing::{
    Capabilities, CircuitState, Connector, ConnectorId, ConnectorStatus, Mode, Provider,
};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use sqlx::PgPool;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use uuid::Uuid;
use vault::{KeySource, Keyset, source::MemoryKeys};

struct Shop {
    id: Uuid,
    connector: ConnectorId,
    api_key: String,
}

async fn shop(pool: &PgPool, keys: &Keyset, n: usize) -> Shop {
    let id = Uuid::now_v7();
    store::config::insert_merchant(pool, id, &format!("Shop {n}"))
        .await
        .unwrap();
    let c = Connector {
        id: ConnectorId(Uuid::now_v7()),
        name: format!("Sim {n}"),
        provider: Provider::Simulator,
        mode: Mode::Test,
        weight: 100,
        is_primary: true,
        status: ConnectorStatus::Active,
        capabilities: Capabilities::cards_anywhere(),
        circuit: CircuitState::Closed,
        created_seq: 0,
    };
    let api_key = format!("sk_test_shop{n}_{}", Uuid::new_v4().simple());
    store::config::insert_connector(pool, keys, id, &c, "simulator:", &api_key, "setup")
        .await
        .unwrap();
    Shop {
        id,
        connector: c.id,
        api_key,
    }
}

fn payments(pool: &PgPool, keys: Arc<Keyset>) -> Payments {
    let executor = Executor::new(ExecutorConfig {
        connect_timeout: Duration::from_secs(1),
        read_timeout: Duration::from_secs(2),
    })
    .unwrap();
    Payments::new(
        pool.clone(),
        executor,
        Arc::new(SystemClock),
        Arc::new(RandomRolls),
    )
    .with_keys(keys)
}

async fn pay(p: &Payments, s: &Shop, key: &str) -> Result<String, engine::EngineError> {
    // Fresh config every time, so each payment decrypts its credential from the database.
    p.config().invalidate(s.id);
    let body = serde_json::to_vec(&json!({
        "amount": 1234,
        "currency": "EUR",
        "payment_method": {"type": "card", "tokens": [
            {"token": "sim_approve", "scope": {"type": "connector", "connector_id": s.connector}}]},
        "billing": {"country": "DE"},
    }))
    .unwrap();
    let auth = MerchantAuth {
        merchant_id: s.id,
        mode: Mode::Test,
    };
    let ans = p.create(auth, key, &body).await?;
    Ok(ans.body["status"].as_str().unwrap_or("").to_owned())
}

async fn master_versions_of_data_keys(pool: &PgPool) -> Vec<i32> {
    sqlx::query_scalar("SELECT master_version FROM merchant_data_keys ORDER BY merchant_id")
        .fetch_all(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn rotation_is_online_resumable_and_keeps_old_versions_until_done(pool: PgPool) {
    let v1 = Keyset::generate(&mut rand::rng());
    let mut shops = Vec::new();
    for n in 0..8 {
        shops.push(shop(&pool, &v1, n).await);
    }
    // The operator provisions v2 next to v1 (key source and every gateway) before rotating.
    let both = v1.with_new_version(&mut rand::rng());
    let source = KeySource::Memory(MemoryKeys::with(&both));
    let gateway = payments(&pool, Arc::new(both.clone()));

    // Interrupted after two rows: half the data keys are on v2, half still on v1.
    let r = engine::secrets::rotate(&pool, &source, "ops", 1, Some(2), true)
        .await
        .unwrap();
    assert_eq!((r.to_version, r.rewrapped, r.remaining), (2, 2, 6));
    assert!(!r.finished && r.pruned_versions.is_empty());
    assert_eq!(
        master_versions_of_data_keys(&pool)
            .await
            .iter()
            .filter(|v| **v == 2)
            .count(),
        2
    );
    assert_eq!(
        source.load().unwrap().versions(),
        vec![1, 2],
        "v1 kept until done"
    );
    // Both versions decrypt: every shop still pays.
    for (i, s) in shops.iter().enumerate() {
        assert_eq!(
            pay(&gateway, s, &format!("mid-{i}")).await.unwrap(),
            "captured"
        );
    }
    // A gateway that lacks v2 gets a clear error for a rotated merchant, not garbage.
    let old_gateway = payments(&pool, Arc::new(v1.clone()));
    let rotated = master_versions_of_data_keys(&pool).await;
    let mut saw_clear_error = false;
    for s in &shops {
        if let Err(e) = pay(&old_gateway, s, "old-gw").await {
            assert_eq!(e.code(), "master_key_version_missing", "{e}");
            assert!(e.to_string().contains("v2"), "{e}");
            saw_clear_error = true;
        }
    }
    assert!(saw_clear_error, "rotated rows need v2: {rotated:?}");

    // Resume while payments keep flowing on every shop.
    let stop = Arc::new(AtomicBool::new(false));
    let traffic = {
        let (gw, stop) = (gateway.clone(), stop.clone());
        let shops: Vec<Shop> = shops
            .iter()
            .map(|s| Shop {
                id: s.id,
                connector: s.connector,
                api_key: s.api_key.clone(),
            })
            .collect();
        tokio::spawn(async move {
            let mut done = 0u32;
            while !stop.load(Ordering::Relaxed) || done < 8 {
                let s = &shops[done as usize % shops.len()];
                let status = pay(&gw, s, &format!("during-{done}")).await.unwrap();
                assert_eq!(status, "captured");
                done += 1;
            }
            done
        })
    };
    // One row per run, as if interrupted after every row; shops pay between runs too.
    let mut total = 0;
    let r = loop {
        let r = engine::secrets::rotate(&pool, &source, "ops", 1, Some(1), true)
            .await
            .unwrap();
        total += r.rewrapped;
        for (i, s) in shops.iter().enumerate() {
            let key = format!("between-{total}-{i}");
            assert_eq!(pay(&gateway, s, &key).await.unwrap(), "captured");
        }
        if r.finished {
            break r;
        }
        assert!(r.remaining > 0 && total < 10, "{r:?}");
    };
    stop.store(true, Ordering::Relaxed);
    let paid = traffic.await.unwrap();
    assert!(paid >= 8, "payments ran during the rotation: {paid}");
    assert_eq!(total, 6);
    assert!(r.finished, "{r:?}");
    assert_eq!(r.remaining, 0);
    assert_eq!(r.pruned_versions, vec![1]);
    assert_eq!(master_versions_of_data_keys(&pool).await, vec![2; 8]);
    let retired: Vec<(u32, bool)> = store::credentials::master_versions(&pool).await.unwrap();
    assert_eq!(retired, vec![(1, true), (2, false)]);

    // Only v2 is needed now, and it yields the original secrets.
    let only_v2 = source.load().unwrap();
    assert_eq!(only_v2.versions(), vec![2]);
    for s in &shops {
        let cfg = store::config::load_config(&pool, &only_v2, s.id, Mode::Test)
            .await
            .unwrap();
        assert_eq!(cfg.api_keys[&s.connector.0].expose_secret(), s.api_key);
    }
    // Running again starts the next rotation (v3), generated into the writable source.
    let r = engine::secrets::rotate(&pool, &source, "ops", 10, None, true)
        .await
        .unwrap();
    assert!(r.finished && r.to_version == 3 && r.rewrapped == 8, "{r:?}");
    assert_eq!(source.load().unwrap().versions(), vec![3]);
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn wrong_or_missing_master_key_is_a_clear_error(pool: PgPool) {
    let keys = Keyset::generate(&mut rand::rng());
    let s = shop(&pool, &keys, 1).await;
    let impostor = Keyset::generate(&mut rand::rng());
    let e = engine::secrets::check_keys(&pool, &impostor)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "master_key_wrong");
    let e = pay(&payments(&pool, Arc::new(impostor)), &s, "k")
        .await
        .unwrap_err();
    assert_eq!(e.code(), "master_key_wrong", "{e}");
    let e = pay(&payments(&pool, Arc::new(Keyset::default())), &s, "k2")
        .await
        .unwrap_err();
    assert_eq!(e.code(), "master_key_version_missing", "{e}");
    // Neither wrote a payment.
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM payments")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
    // A ciphertext copied onto another connector's row does not decrypt there.
    let other = shop(&pool, &keys, 2).await;
    sqlx::query(
        "UPDATE connector_credentials SET key_version = src.key_version, nonce = src.nonce, ciphertext = src.ciphertext
         FROM connector_credentials src
         WHERE src.merchant_id = $1 AND connector_credentials.merchant_id = $2",
    )
    .bind(s.id)
    .bind(other.id)
    .execute(&pool)
    .await
    .unwrap();
    let e = store::config::load_config(&pool, &keys, other.id, Mode::Test)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("cannot decrypt"), "{e}");
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn console_credentials_are_write_only(pool: PgPool) {
    let keys = Keyset::generate(&mut rand::rng());
    let s = shop(&pool, &keys, 1).await;
    let console = Console::new(pool.clone(), s.id, "alice");
    let view = console
        .set_credential(
            &keys,
            SetCredential {
                connector_id: s.connector.to_string(),
                field: "webhook_secret".into(),
                secret: "whsec_console_WRITE_ONLY_9876".into(),
                reason: "new endpoint secret".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(view.field, "webhook_secret");
    assert_eq!(view.last4, "9876");
    let listed = console.credentials().await.unwrap();
    assert_eq!(listed.len(), 2);
    let shown = serde_json::to_string(&listed).unwrap();
    assert!(!shown.contains("WRITE_ONLY") && !shown.contains(&s.api_key));
    // The engine still reads it for webhook verification.
    let got = store::credentials::webhook_secret(&pool, &keys, s.id, s.connector.0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.expose_secret(), "whsec_console_WRITE_ONLY_9876");
    // Bad input: clear codes, nothing written, no echo of the secret.
    for (field, secret, reason, code) in [
        (
            "password",
            "x_long_enough_secret",
            "ok reason",
            "invalid_field",
        ),
        ("api_key", " padded ", "ok reason", "invalid_secret"),
        ("api_key", "sk_test_fine_secret", "", "reason_required"),
    ] {
        let e = console
            .set_credential(
                &keys,
                SetCredential {
                    connector_id: s.connector.to_string(),
                    field: field.into(),
                    secret: secret.into(),
                    reason: reason.into(),
                },
            )
            .await
            .unwrap_err();
        assert_eq!(e.code(), code);
        assert!(!e.to_string().contains(secret.trim()) || secret.trim().len() < 3);
    }
    let dbg = format!(
        "{:?}",
        SetCredential {
            connector_id: String::new(),
            field: String::new(),
            secret: "sk_debug_never_printed".into(),
            reason: String::new(),
        }
    );
    assert!(!dbg.contains("never_printed"));
    let _ = SecretString::from("unused");
}

/// A pool on this test's database acting as `role` through `engine::access::connect_as`
/// (`SET ROLE` on every connection; the DATABASE_URL login is a superuser that may set any role).
async fn pool_as(pool: &PgPool, role: &str) -> PgPool {
    let db: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(pool)
        .await
        .unwrap();
    let base = std::env::var("DATABASE_URL").unwrap();
    let (without_query, query) = match base.split_once('?') {
        Some((a, q)) => (a.to_owned(), format!("?{q}")),
        None => (base.clone(), String::new()),
    };
    let url = format!(
        "{}/{db}{query}",
        &without_query[..without_query.rfind('/').unwrap()]
    );
    engine::access::connect_as(&url, Some(role), 2)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn console_as_the_users_role_is_limited_by_postgres(pool: PgPool) {
    let keys = Keyset::generate(&mut rand::rng());
    let a = shop(&pool, &keys, 1).await;
    let b = shop(&pool, &keys, 2).await;
    let prefix = format!("sb_t_{}", &Uuid::new_v4().simple().to_string()[..10]);
    for r in ["support", "operator"] {
        sqlx::query(&format!(
            "CREATE ROLE {prefix}_{r} NOLOGIN IN ROLE switchboard_{r}"
        ))
        .execute(&pool)
        .await
        .unwrap();
        sqlx::query("INSERT INTO memberships (db_role, merchant_id, role) VALUES ($1, $2, $3)")
            .bind(format!("{prefix}_{r}"))
            .bind(a.id)
            .bind(r)
            .execute(&pool)
            .await
            .unwrap();
    }
    let weight = |id: ConnectorId| engine::views::SetWeight {
        connector_id: id.to_string(),
        weight: 0,
        reason: "incident drain".into(),
    };
    // Support: reads its merchant, may not change a weight or see credentials.
    let support = pool_as(&pool, &format!("{prefix}_support")).await;
    let c = Console::new(support.clone(), a.id, "sam");
    assert_eq!(c.connectors().await.unwrap().len(), 1);
    let e = c.set_weight(weight(a.connector)).await.unwrap_err();
    assert_eq!(e.code(), "forbidden", "{e}");
    let e = c.credentials().await.unwrap_err();
    assert_eq!(e.code(), "forbidden", "{e}");
    assert!(e.to_string().contains("credentials"), "{e}");
    // Another merchant's data is invisible (not an error: there is nothing to see).
    let other = Console::new(support.clone(), b.id, "sam");
    assert!(other.connectors().await.unwrap().is_empty());
    support.close().await;

    // Operator: changes A's weight (audited with the console's actor and reason), not B's.
    let operator = pool_as(&pool, &format!("{prefix}_operator")).await;
    let c = Console::new(operator.clone(), a.id, "olga");
    assert_eq!(c.set_weight(weight(a.connector)).await.unwrap().weight, 0);
    let mine = engine::access::my_memberships(&operator).await.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].role, "operator");
    let e = Console::new(operator.clone(), b.id, "olga")
        .set_weight(weight(b.connector))
        .await
        .unwrap_err();
    assert_eq!(
        e.code(),
        "not_found",
        "B's connector is invisible to A's operator: {e}"
    );
    let e = c
        .set_member(engine::access::SetMember {
            db_role: "mallory".into(),
            role: "admin".into(),
            reason: "self-promotion".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), "forbidden", "{e}");
    operator.close().await;
    let (actor, reason): (String, String) = sqlx::query_as(
        "SELECT actor, reason FROM audit_log WHERE entity = 'connector' AND action = 'set_weight'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        (actor.as_str(), reason.as_str()),
        ("olga", "incident drain")
    );
    for r in ["support", "operator"] {
        sqlx::query(&format!("DROP ROLE {prefix}_{r}"))
            .execute(&pool)
            .await
            .unwrap();
    }
    assert!(
        engine::access::connect_as("postgres://x@127.0.0.1:1/db", Some("bad role;"), 1)
            .await
            .is_err()
    );
}
