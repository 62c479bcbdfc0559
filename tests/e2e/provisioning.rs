//! Provisioning as a recorded state machine: it resumes after a crash, reruns
//! harmlessly, and records failures with a reason.

use ordo_tests::{Backend, ProvisionStep, TenantStatus, TestApp, both_backends, get_page, post_form};
use reqwest::StatusCode;

both_backends!(provisioning_resumes_after_a_restart, provisioning_is_idempotent, failures_are_recorded_and_retried);

async fn provisioning_resumes_after_a_restart(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // A sign-up recorded, its database created, then the process died.
    let tenant = app.record_interrupted_sign_up("erika@example.de").await;
    assert_eq!(get_page(&app.client(), &app.url(&tenant.slug, "/anmelden")).await.0, StatusCode::NOT_FOUND);

    let app = app.restart().await;
    let resumed = app.tenant_record(&tenant.id).await;
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
    app.reset_provisioning(id).await;
    let status = app.provision(id).await;
    assert_eq!(status, TenantStatus::Ready);
    let tenant = app.tenant_record(id).await;
    assert_eq!(tenant.step, ProvisionStep::Deployed);
    // The admin had no password yet, so the sign-up link is sent again; the catalog is not doubled.
    assert_eq!(app.mails().len(), mails + 1);
    let sparten = app.sparte_names(&tenant.slug).await;
    assert_eq!(sparten.iter().filter(|name| *name == "Haftpflicht").count(), 1);
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
    let tenant = app.tenant_record(&id).await;
    assert!(tenant.status_reason.as_deref().unwrap_or("").contains("sign-up e-mail"), "{:?}", tenant.status_reason);
    assert_eq!(tenant.step, ProvisionStep::Migrated, "the steps before the failure stay done");

    // Repaired, the operator retries from the console.
    std::fs::remove_file(&mail_dir).unwrap();
    std::fs::create_dir(&mail_dir).unwrap();
    let operator = app.operator("ops@example.de").await;
    let (_, page) = get_page(&operator, &app.url("admin", &format!("/mandanten/{id}"))).await;
    assert!(page.contains("fehlgeschlagen") && page.contains("erneut versuchen"));
    let retried = post_form(&operator, &app.url("admin", &format!("/mandanten/{id}/erneut")), &page, &[]).await;
    assert_eq!(retried.status(), StatusCode::SEE_OTHER);
    let tenant = app.tenant_record(&id).await;
    assert_eq!(tenant.status, TenantStatus::Ready);
    assert!(app.last_mail_to("erika@example.de").password_link().contains(&tenant.slug));
    app.stop().await;
}
