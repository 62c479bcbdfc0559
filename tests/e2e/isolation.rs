//! On PostgreSQL every tenant has its own database and login role: one tenant's
//! credentials open no other tenant's database, and deleting a tenant's
//! database leaves neither the database nor the role behind.

use ordo_tests::{Backend, TestApp, customers_in, open_database};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenant_credentials_open_only_their_own_database() {
    let Some(backend) = Backend::postgres_or_skip() else { return };
    let app = TestApp::spawn(backend).await;
    let a = app.sign_up("Anna A", Some("Makler A"), "a@example.de").await;
    let b = app.sign_up("Bernd B", Some("Makler B"), "b@example.de").await;
    let (tenant_a, tenant_b) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    let url_a = app.tenant_database_url(tenant_a).await;
    let url_b = app.tenant_database_url(tenant_b).await;

    // Each role opens its own database.
    assert_eq!(customers_in(&url_a).await, 0);

    // A's credentials on B's database: refused by the database itself.
    let mut crossed = url::Url::parse(&url_a).unwrap();
    crossed.set_path(&format!("/{}", app.tenant_database_name(tenant_b)));
    let refused = open_database(crossed.as_str()).await.expect_err("A must not reach B's database");
    assert!(refused.contains("permission denied"), "{refused}");

    // And the other way round.
    let mut crossed = url::Url::parse(&url_b).unwrap();
    crossed.set_path(&format!("/{}", app.tenant_database_name(tenant_a)));
    assert!(open_database(crossed.as_str()).await.is_err());

    // The stored password is sealed, never plain.
    let sealed = app.tenant_record(tenant_a).await.db_password_enc.expect("a sealed password");
    let password = url::Url::parse(&url_a).unwrap().password().unwrap().to_owned();
    assert!(!sealed.contains(&password));

    // Deleting a tenant's database removes database and role.
    app.remove_tenant_instance_and_database(tenant_b).await;
    let name = app.tenant_database_name(tenant_b);
    assert!(
        !app.postgres_database_exists(&name).await && !app.postgres_role_exists(&name).await,
        "nothing of tenant B is left"
    );
    app.stop().await;
}
