//! Roles, memberships and Row-Level Security (migration 0007) against a real Postgres: each test
//! creates its own LOGIN roles (random names and passwords, members of the switchboard group
//! roles), connects AS each of them, and proves each denial. The superuser that runs the
//! migrations (DATABASE_URL) bypasses RLS, as Postgres defines it; it only sets the scene.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use routing::{
    Capabilities, CircuitState, Connector, ConnectorId, ConnectorStatus, Mode, Provider,
};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Row};
use std::str::FromStr;
use std::sync::Arc;
use uuid::Uuid;

const ROLES: [&str; 5] = ["support", "finance", "operator", "admin", "gateway"];

/// Login roles of one test, dropped at the end.
struct Users {
    prefix: String,
    password: String,
    admin_pool: PgPool,
    db: String,
}

impl Users {
    async fn create(admin_pool: &PgPool) -> Users {
        let prefix = format!("sb_t_{}", &Uuid::new_v4().simple().to_string()[..10]);
        let password = Uuid::new_v4().simple().to_string();
        for r in ROLES {
            sqlx::query(&format!(
                "CREATE ROLE {prefix}_{r} LOGIN PASSWORD '{password}' IN ROLE switchboard_{r}"
            ))
            .execute(admin_pool)
            .await
            .unwrap();
        }
        let db: String = sqlx::query_scalar("SELECT current_database()")
            .fetch_one(admin_pool)
            .await
            .unwrap();
        Users {
            prefix,
            password,
            admin_pool: admin_pool.clone(),
            db,
        }
    }

    fn name(&self, role: &str) -> String {
        format!("{}_{role}", self.prefix)
    }

    /// A pool connected AS the login role of `role` (not SET ROLE).
    async fn connect(&self, role: &str) -> PgPool {
        let url = std::env::var("DATABASE_URL").expect("DATABASE_URL");
        let opts = PgConnectOptions::from_str(&url)
            .unwrap()
            .username(&self.name(role))
            .password(&self.password)
            .database(&self.db);
        PgPoolOptions::new()
            .max_connections(2)
            .connect_with(opts)
            .await
            .unwrap()
    }

    async fn drop_all(self) {
        for r in ROLES {
            let _ = sqlx::query(&format!("DROP ROLE IF EXISTS {}_{r}", self.prefix))
                .execute(&self.admin_pool)
                .await;
        }
    }
}

fn connector(name: &str) -> Connector {
    Connector {
        id: ConnectorId(Uuid::now_v7()),
        name: name.into(),
        provider: Provider::Simulator,
        mode: Mode::Test,
        weight: 50,
        is_primary: false,
        status: ConnectorStatus::Active,
        capabilities: Capabilities::cards_anywhere(),
        circuit: CircuitState::Closed,
        created_seq: 0,
    }
}

struct Merchant {
    id: Uuid,
    connector: Uuid,
    payment: Uuid,
}

async fn merchant(pool: &PgPool, keys: &vault::Keyset, name: &str) -> Merchant {
    let id = Uuid::now_v7();
    store::config::insert_merchant(pool, id, name)
        .await
        .unwrap();
    let c = connector(&format!("{name} connector"));
    store::config::insert_connector(
        pool,
        keys,
        id,
        &c,
        "simulator:",
        "sk_test_rls_secret_1234",
        "setup",
    )
    .await
    .unwrap();
    let payment = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO payments (merchant_id, id, mode, amount_minor, currency, country, method,
             capture_mode, tokens, status, route_roll, route, created_at, updated_at)
         VALUES ($1, $2, 'test', 1000, 'USD', 'US', 'card', 'automatic', '[]', 'captured', 0.5, '{}', now(), now())",
    )
    .bind(id)
    .bind(payment)
    .execute(pool)
    .await
    .unwrap();
    Merchant {
        id,
        connector: c.id.0,
        payment,
    }
}

async fn member(pool: &PgPool, users: &Users, role: &str, m: Uuid) {
    sqlx::query("INSERT INTO memberships (db_role, merchant_id, role) VALUES ($1, $2, $3)")
        .bind(users.name(role))
        .bind(m)
        .bind(role)
        .execute(pool)
        .await
        .unwrap();
}

fn is_denied(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.code().as_deref() == Some("42501"))
}

async fn count(pool: &PgPool, sql: &str, m: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(sql).bind(m).fetch_one(pool).await
}

async fn set_weight(pool: &PgPool, m: &Merchant, w: i32) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("UPDATE connectors SET weight = $3 WHERE merchant_id = $1 AND id = $2")
            .bind(m.id)
            .bind(m.connector)
            .bind(w)
            .execute(pool)
            .await?
            .rows_affected(),
    )
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn every_merchant_scoped_table_has_row_level_security(pool: PgPool) {
    let missing: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relrowsecurity
           AND (c.relname = 'merchants' OR EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
                AND a.attname = 'merchant_id' AND NOT a.attisdropped))",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(missing.is_empty(), "tables without RLS: {missing:?}");
    // And every one of them has at least the gateway and the member policies.
    let without_policy: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relrowsecurity
           AND NOT EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid)",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(
        without_policy.is_empty(),
        "RLS tables without a policy: {without_policy:?}"
    );
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn each_role_sees_and_changes_only_what_it_may(pool: PgPool) {
    let keys = Arc::new(vault::Keyset::generate(&mut rand::rng()));
    let a = merchant(&pool, &keys, "Merchant A").await;
    let b = merchant(&pool, &keys, "Merchant B").await;
    let users = Users::create(&pool).await;
    for r in ["support", "finance", "operator", "admin"] {
        member(&pool, &users, r, a.id).await;
    }
    let pay = "SELECT count(*) FROM payments WHERE merchant_id = $1";
    let cred = "SELECT count(*) FROM connector_credentials WHERE merchant_id = $1";
    let dk = "SELECT count(*) FROM merchant_data_keys WHERE merchant_id = $1";
    // Merchant webhook endpoints hold a sealed signing secret (0008): admin and gateway only.
    let hook = "SELECT count(*) FROM merchant_webhook_endpoints WHERE merchant_id = $1 AND ciphertext IS NOT NULL";
    for m in [&a, &b] {
        store::outbox::set_endpoint(
            &pool,
            &keys,
            m.id,
            "http://127.0.0.1:9/h",
            &"whsec_roles_test_secret".into(),
            true,
        )
        .await
        .unwrap();
    }

    for r in ["support", "finance", "operator", "admin"] {
        let p = users.connect(r).await;
        // Own merchant's payments, attempts, events visible; another merchant's invisible.
        assert_eq!(count(&p, pay, a.id).await.unwrap(), 1, "{r} reads A");
        assert_eq!(count(&p, pay, b.id).await.unwrap(), 0, "{r} must not see B");
        let all: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM payments")
            .fetch_all(&p)
            .await
            .unwrap();
        assert_eq!(
            all,
            vec![a.payment],
            "{r}: only A's payment in an unfiltered read"
        );
        count(
            &p,
            "SELECT count(*) FROM attempts WHERE merchant_id = $1",
            a.id,
        )
        .await
        .unwrap();
        count(
            &p,
            "SELECT count(*) FROM payment_events WHERE merchant_id = $1",
            a.id,
        )
        .await
        .unwrap();
        let merchants: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM merchants")
            .fetch_all(&p)
            .await
            .unwrap();
        assert_eq!(merchants, vec![a.id], "{r} sees only its merchants");
        // Nobody but admin (and gateway) reads credential ciphertext or data keys.
        if r == "admin" {
            assert_eq!(count(&p, cred, a.id).await.unwrap(), 1);
            assert_eq!(
                count(&p, cred, b.id).await.unwrap(),
                0,
                "admin of A must not see B's"
            );
            assert_eq!(count(&p, dk, a.id).await.unwrap(), 1);
            assert_eq!(count(&p, hook, a.id).await.unwrap(), 1);
            assert_eq!(
                count(&p, hook, b.id).await.unwrap(),
                0,
                "admin of A: not B's endpoint"
            );
        } else {
            let e = count(&p, hook, a.id).await.unwrap_err();
            assert!(
                is_denied(&e),
                "{r} must be denied the webhook endpoint: {e}"
            );
            let e = count(&p, cred, a.id).await.unwrap_err();
            assert!(is_denied(&e), "{r} must be denied credentials: {e}");
            let e = count(&p, dk, a.id).await.unwrap_err();
            assert!(is_denied(&e), "{r} must be denied data keys: {e}");
        }
        // Weights: support and finance are denied; operator and admin only for their merchant.
        match r {
            "support" | "finance" => {
                let e = set_weight(&p, &a, 0).await.unwrap_err();
                assert!(is_denied(&e), "{r} must not update a weight: {e}");
            }
            _ => {
                assert_eq!(set_weight(&p, &a, 10).await.unwrap(), 1, "{r} updates A");
                assert_eq!(
                    set_weight(&p, &b, 0).await.unwrap(),
                    0,
                    "{r} cannot touch B"
                );
            }
        }
        // Only admin adds connectors and members.
        let add = sqlx::query(
            "INSERT INTO memberships (db_role, merchant_id, role) VALUES ('someone_new', $1, 'support')",
        )
        .bind(a.id)
        .execute(&p)
        .await;
        if r == "admin" {
            add.unwrap();
            let other = sqlx::query(
                "INSERT INTO memberships (db_role, merchant_id, role) VALUES ('someone_new', $1, 'admin')",
            )
            .bind(b.id)
            .execute(&p)
            .await
            .unwrap_err();
            assert!(is_denied(&other), "admin of A cannot grant on B: {other}");
        } else {
            assert!(is_denied(&add.unwrap_err()), "{r} must not manage members");
        }
        p.close().await;
    }
    let b_weight: i32 = sqlx::query_scalar("SELECT weight FROM connectors WHERE merchant_id = $1")
        .bind(b.id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(b_weight, 50, "B untouched by A's users");

    // The gateway serves every merchant and reads the ciphertext it must decrypt.
    let g = users.connect("gateway").await;
    assert_eq!(count(&g, cred, a.id).await.unwrap(), 1);
    assert_eq!(count(&g, cred, b.id).await.unwrap(), 1);
    assert_eq!(count(&g, pay, b.id).await.unwrap(), 1);
    assert_eq!(count(&g, hook, b.id).await.unwrap(), 1);
    let due = store::outbox::claim_due(&g, &keys, 10, 30_000)
        .await
        .unwrap();
    assert!(
        due.is_empty(),
        "nothing queued, but the gateway may run the claim"
    );
    let cfg = store::config::load_config(&g, &keys, b.id, Mode::Test)
        .await
        .unwrap();
    assert_eq!(cfg.api_keys.len(), 1, "gateway decrypts B's credential");
    let e = sqlx::query(
        "INSERT INTO memberships (db_role, merchant_id, role) VALUES ('x', $1, 'admin')",
    )
    .bind(a.id)
    .execute(&g)
    .await
    .unwrap_err();
    assert!(is_denied(&e), "gateway must not grant memberships: {e}");
    g.close().await;
    users.drop_all().await;
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn changes_are_audited_by_trigger_with_role_and_reason_and_no_secret(pool: PgPool) {
    let keys = Arc::new(vault::Keyset::generate(&mut rand::rng()));
    let a = merchant(&pool, &keys, "Audited").await;
    let users = Users::create(&pool).await;
    member(&pool, &users, "operator", a.id).await;
    member(&pool, &users, "admin", a.id).await;

    // An operator changes a weight from a plain SQL session, giving a reason.
    let op = users.connect("operator").await;
    let mut tx = op.begin().await.unwrap();
    sqlx::query("SELECT set_config('switchboard.reason', 'incident 42: drain', true)")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("UPDATE connectors SET weight = 0 WHERE merchant_id = $1")
        .bind(a.id)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    op.close().await;

    // An admin replaces a credential through the store (encrypted), with a reason.
    let admin = users.connect("admin").await;
    store::credentials::set_secret(
        &admin,
        &keys,
        a.id,
        a.connector,
        "api_key",
        &secrecy::SecretString::from("sk_live_AUDIT_CANARY_zz99"),
        "admin-console",
        "key rotated at provider",
    )
    .await
    .unwrap();
    admin.close().await;

    // A superuser psql-style change without any console context is audited too.
    sqlx::query("UPDATE policies SET note = note WHERE merchant_id = $1")
        .bind(a.id)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM memberships WHERE merchant_id = $1 AND role = 'operator'")
        .bind(a.id)
        .execute(&pool)
        .await
        .unwrap();

    let rows = sqlx::query(
        "SELECT actor, db_role, entity, action, reason, coalesce(before::text, '') || coalesce(after::text, '') AS body
         FROM audit_log WHERE merchant_id = $1 ORDER BY id",
    )
    .bind(a.id)
    .fetch_all(&pool)
    .await
    .unwrap();
    let find = |entity: &str, action: &str| {
        rows.iter()
            .find(|r| {
                r.get::<String, _>("entity") == entity && r.get::<String, _>("action") == action
            })
            .unwrap_or_else(|| panic!("no audit row {entity}/{action}"))
    };
    let w = find("connector", "set_weight");
    assert_eq!(w.get::<String, _>("db_role"), users.name("operator"));
    assert_eq!(w.get::<String, _>("actor"), users.name("operator"));
    assert_eq!(w.get::<String, _>("reason"), "incident 42: drain");
    let c = find("credential", "replace_credential");
    assert_eq!(c.get::<String, _>("db_role"), users.name("admin"));
    assert_eq!(c.get::<String, _>("actor"), "admin-console");
    assert_eq!(c.get::<String, _>("reason"), "key rotated at provider");
    find("credential", "set_credential");
    find("membership", "grant");
    let revoke = find("membership", "revoke");
    assert_eq!(
        revoke.get::<String, _>("actor"),
        revoke.get::<String, _>("db_role")
    );
    for r in &rows {
        let body: String = r.get("body");
        assert!(
            !body.contains("CANARY") && !body.contains("rls_secret"),
            "secret in audit: {body}"
        );
        assert!(!body.contains("zz99"), "last 4 in audit: {body}");
    }
    users.drop_all().await;
}
