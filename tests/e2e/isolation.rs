//! On PostgreSQL every tenant has its own database and login role: one tenant's
//! credentials open no other tenant's database, and deleting a tenant's
//! database leaves neither the database nor the role behind.

use control_plane::provisioning::deployment_for;
use control_plane::tenants::{self, databases::database_name};
use ordo_tests::{Backend, TestApp, expose};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenant_credentials_open_only_their_own_database() {
    let Some(backend) = Backend::postgres_or_skip() else { return };
    let app = TestApp::spawn(backend).await;
    let a = app.sign_up("Anna A", Some("Makler A"), "a@example.de").await;
    let b = app.sign_up("Bernd B", Some("Makler B"), "b@example.de").await;
    let tenant_a = tenants::find(&app.state.db, a["id"].as_str().unwrap()).await.unwrap().unwrap();
    let tenant_b = tenants::find(&app.state.db, b["id"].as_str().unwrap()).await.unwrap().unwrap();
    let url_a = deployment_for(&app.state, &tenant_a).await.unwrap().database_url;
    let url_b = deployment_for(&app.state, &tenant_b).await.unwrap().database_url;

    // Each role opens its own database.
    let own = tenant_app::db::Db::connect(expose(&url_a), tenant_app::db::PoolSize::of(1)).await.unwrap();
    let customers: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM customers").fetch_one(own.pool()).await.unwrap();
    assert_eq!(customers, 0);
    own.close().await;

    // A's credentials on B's database: refused by the database itself.
    let mut crossed = url::Url::parse(expose(&url_a)).unwrap();
    crossed.set_path(&format!("/{}", database_name(&tenant_b.id).unwrap()));
    let foreign = tenant_app::db::Db::connect(crossed.as_str(), tenant_app::db::PoolSize::of(1)).await.unwrap();
    let refused = sqlx::query("SELECT 1").execute(foreign.pool()).await.expect_err("A must not reach B's database");
    assert!(refused.to_string().contains("permission denied"), "{refused}");
    foreign.close().await;

    // And the other way round.
    let mut crossed = url::Url::parse(expose(&url_b)).unwrap();
    crossed.set_path(&format!("/{}", database_name(&tenant_a.id).unwrap()));
    let foreign = tenant_app::db::Db::connect(crossed.as_str(), tenant_app::db::PoolSize::of(1)).await.unwrap();
    assert!(sqlx::query("SELECT 1").execute(foreign.pool()).await.is_err());
    foreign.close().await;

    // The stored password is sealed, never plain.
    let sealed = tenant_a.db_password_enc.clone().expect("a sealed password");
    let password = url::Url::parse(expose(&url_a)).unwrap().password().unwrap().to_owned();
    assert!(!sealed.contains(&password));

    // Deleting a tenant's database removes database and role.
    app.state.provisioner.remove(&tenant_b.id, &tenant_b.slug).await.unwrap();
    app.state.tenant_dbs.drop(&tenant_b.id).await.unwrap();
    let name = database_name(&tenant_b.id).unwrap();
    let left: i64 = sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM pg_database WHERE datname = $1) + (SELECT COUNT(*) FROM pg_roles WHERE rolname = $2)",
    )
    .bind(&name)
    .bind(&name)
    .fetch_one(app.state.db.pool())
    .await
    .unwrap();
    assert_eq!(left, 0, "nothing of tenant B is left");
    app.stop().await;
}
