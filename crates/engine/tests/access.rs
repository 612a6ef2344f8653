//! `engine::access::connect_with_options` / `connect_as` with `SET ROLE` (the desktop console's
//! `SWITCHBOARD_DB_ROLE`) against a real Postgres: every pooled connection acts as the role,
//! and a missing role, a login that is not a member, or a malformed name are clear errors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use sqlx::PgPool;
use sqlx::postgres::PgConnectOptions;
use std::str::FromStr;
use std::time::Duration;
use uuid::Uuid;

async fn options_for(pool: &PgPool, login: &str) -> PgConnectOptions {
    let db: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(pool)
        .await
        .unwrap();
    PgConnectOptions::from_str(&std::env::var("DATABASE_URL").unwrap())
        .unwrap()
        .database(&db)
        .username(login)
}

async fn connect(
    opts: PgConnectOptions,
    role: Option<&str>,
) -> Result<PgPool, engine::EngineError> {
    engine::access::connect_with_options(opts, role, 3, Duration::from_secs(5)).await
}

#[sqlx::test(migrator = "store::MIGRATOR")]
async fn set_role_applies_to_every_pooled_connection_and_refusals_are_clear(pool: PgPool) {
    let prefix = format!("sb_t_{}", &Uuid::new_v4().simple().to_string()[..10]);
    let (login, role) = (format!("{prefix}_login"), format!("{prefix}_support"));
    sqlx::query(&format!("CREATE ROLE {login} LOGIN"))
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query(&format!(
        "CREATE ROLE {role} NOLOGIN IN ROLE switchboard_support"
    ))
    .execute(&pool)
    .await
    .unwrap();
    let as_login = options_for(&pool, &login).await;

    // Malformed names are refused before connecting (nothing reaches SQL).
    for bad in ["Alice", "a b", "x;DROP TABLE payments", "", "1abc"] {
        let e = connect(as_login.clone(), Some(bad)).await.unwrap_err();
        assert_eq!(e.code(), "invalid_role", "{bad:?}: {e}");
    }
    // A role that does not exist.
    let e = connect(as_login.clone(), Some(&format!("{prefix}_nobody")))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "role_not_found", "{e}");
    assert!(e.to_string().contains("does not exist"), "{e}");
    // The login is not a member of the role yet.
    let e = connect(as_login.clone(), Some(&role)).await.unwrap_err();
    assert_eq!(e.code(), "forbidden", "{e}");
    assert!(e.to_string().contains("not a member"), "{e}");
    assert!(
        e.to_string().contains(&format!("GRANT {role} TO {login}")),
        "{e}"
    );

    // Once granted, every connection of the pool (three held at once) acts as the role,
    // while session_user stays the login (audit rows name it in db_role).
    sqlx::query(&format!("GRANT {role} TO {login}"))
        .execute(&pool)
        .await
        .unwrap();
    let p = connect(as_login.clone(), Some(&role)).await.unwrap();
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(p.acquire().await.unwrap());
    }
    for c in &mut held {
        let (cur, sess): (String, String) =
            sqlx::query_as("SELECT current_user::text, session_user::text")
                .fetch_one(&mut **c)
                .await
                .unwrap();
        assert_eq!(
            (cur.as_str(), sess.as_str()),
            (role.as_str(), login.as_str())
        );
    }
    // Acting as support: the credential tables are refused by Postgres.
    let e = sqlx::query("SELECT count(*) FROM connector_credentials")
        .execute(&mut *held[0])
        .await
        .unwrap_err();
    assert!(e.to_string().contains("permission denied"), "{e}");
    drop(held);
    p.close().await;
    // Without a role, the login acts as itself.
    let p = connect(as_login, None).await.unwrap();
    let cur: String = sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(&p)
        .await
        .unwrap();
    assert_eq!(cur, login);
    p.close().await;

    for r in [&role, &login] {
        sqlx::query(&format!("DROP ROLE {r}"))
            .execute(&pool)
            .await
            .unwrap();
    }
}
