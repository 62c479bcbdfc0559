//! Provisioning as a recorded state machine: it resumes after a crash, reruns
//! harmlessly, and records failures with a reason.

use control_plane::tenants::signup::{NewTrial, TrialRequest, record_trial};
use control_plane::tenants::{self, ProvisionStep, TenantStatus};
use ordo_tests::{Backend, TestApp, both_backends, get_page, post_form};
use reqwest::StatusCode;

both_backends!(provisioning_resumes_after_a_restart, provisioning_is_idempotent, failures_are_recorded_and_retried);

fn trial(email: &str) -> NewTrial {
    NewTrial::parse(&TrialRequest {
        name: "Erika Muster".into(),
        company: Some("Muster Makler".into()),
        street: "Hauptstraße 1".into(),
        postal_code: "10115".into(),
        city: "Berlin".into(),
        phone: "030 1234567".into(),
        email: email.into(),
    })
    .unwrap()
}

async fn provisioning_resumes_after_a_restart(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // A sign-up recorded, its database created, then the process died.
    let tenant = record_trial(&app.state, &trial("erika@example.de")).await.unwrap();
    app.state.tenant_dbs.ensure(&tenant.id, None).await.unwrap();
    tenants::set_step(&app.state.db, &tenant.id, ProvisionStep::Database).await.unwrap();
    assert_eq!(get_page(&app.client(), &app.url(&tenant.slug, "/anmelden")).await.0, StatusCode::NOT_FOUND);

    let app = app.restart().await;
    let resumed = tenants::find(&app.state.db, &tenant.id).await.unwrap().unwrap();
    assert_eq!(resumed.status, TenantStatus::Ready);
    assert_eq!(resumed.step, ProvisionStep::Deployed);
    assert_eq!(get_page(&app.client(), &app.url(&tenant.slug, "/anmelden")).await.0, StatusCode::OK);
    assert!(app.last_mail_to("erika@example.de").password_link().contains(&tenant.slug));

    // A ready tenant comes back after a restart too, with its data.
    let app = app.restart().await;
    assert_eq!(get_page(&app.client(), &app.url(&tenant.slug, "/anmelden")).await.0, StatusCode::OK);
    app.stop().await;
}

async fn provisioning_is_idempotent(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let created = app.sign_up("Erika Muster", None, "erika@example.de").await;
    let id = created["id"].as_str().unwrap();
    let mails = app.mails().len();
    // Run again, from scratch even: every step finds its work done.
    tenants::set_step(&app.state.db, id, ProvisionStep::None).await.unwrap();
    tenants::set_status(&app.state.db, id, TenantStatus::Requested, None).await.unwrap();
    let status = control_plane::provisioning::provision(&app.state, id).await.unwrap();
    assert_eq!(status, TenantStatus::Ready);
    let tenant = tenants::find(&app.state.db, id).await.unwrap().unwrap();
    assert_eq!(tenant.step, ProvisionStep::Deployed);
    // The admin had no password yet, so the sign-up link is sent again; the catalog is not doubled.
    assert_eq!(app.mails().len(), mails + 1);
    let running = app.state.registry.get(&tenant.slug).unwrap();
    let sparten = tenant_app::catalog::list(running.portal.db()).await.unwrap();
    assert_eq!(sparten.iter().filter(|s| s.name == "Haftpflicht").count(), 1);
    app.stop().await;
}

async fn failures_are_recorded_and_retried(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // Break mail delivery: the mail directory becomes a file.
    let mail_dir = app.data_dir().join("mail");
    std::fs::remove_dir_all(&mail_dir).ok();
    std::fs::write(&mail_dir, b"not a directory").unwrap();
    let created = app.sign_up("Erika Muster", None, "erika@example.de").await;
    assert_eq!(created["status"], "failed");
    let id = created["id"].as_str().unwrap().to_owned();
    let tenant = tenants::find(&app.state.db, &id).await.unwrap().unwrap();
    assert!(tenant.status_reason.as_deref().unwrap_or("").contains("sign-up e-mail"), "{:?}", tenant.status_reason);
    assert_eq!(tenant.step, ProvisionStep::Migrated, "the steps before the failure stay done");

    // Repaired, the operator retries from the console.
    std::fs::remove_file(&mail_dir).unwrap();
    std::fs::create_dir(&mail_dir).unwrap();
    let mut config = app.config.clone();
    config.public_port = Some(app.addr.port());
    let link = control_plane::cli::create_operator(&config, "ops@example.de").await.unwrap();
    let operator = app.client();
    operator.get(&link).send().await.unwrap();
    let (_, page) = get_page(&operator, &app.url("admin", &format!("/mandanten/{id}"))).await;
    assert!(page.contains("fehlgeschlagen") && page.contains("erneut versuchen"));
    let retried = post_form(&operator, &app.url("admin", &format!("/mandanten/{id}/erneut")), &page, &[]).await;
    assert_eq!(retried.status(), StatusCode::SEE_OTHER);
    let tenant = tenants::find(&app.state.db, &id).await.unwrap().unwrap();
    assert_eq!(tenant.status, TenantStatus::Ready);
    assert!(app.last_mail_to("erika@example.de").password_link().contains(&tenant.slug));
    app.stop().await;
}
