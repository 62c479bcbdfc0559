//! The operator suspends a portal: its hosts show a neutral maintenance page,
//! the data stays, and resuming brings the portal back.

use ordo_tests::{Backend, TestApp, both_backends, get_page, post_form};
use reqwest::StatusCode;
use serde_json::Value;

both_backends!(operator_suspends_and_resumes_a_portal);

async fn operator_suspends_and_resumes_a_portal(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let broker = app.broker_session("Muster Makler", "erika@example.de").await;
    broker.create_customer("Max", "Kunde", "max@example.de").await;
    let tenant_id = broker.tenant_id.clone();
    let operator = app.operator("ops@example.de").await;
    let admin = app.url("admin", "");

    let (_, detail) = get_page(&operator, &format!("{admin}/mandanten/{tenant_id}")).await;
    let suspended = post_form(
        &operator,
        &format!("{admin}/mandanten/{tenant_id}/sperren"),
        &detail,
        &[("grund", "Zahlungsverzug")],
    )
    .await;
    assert_eq!(suspended.status(), StatusCode::SEE_OTHER);

    // Every path of the portal answers with the maintenance page, naming no operator.
    for path in ["/", "/anmelden", "/makler/kunden"] {
        let (status, page) = get_page(&app.client(), &broker.url(path)).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert!(page.contains("vorübergehend nicht erreichbar") && page.contains("Muster Makler"), "{page}");
        assert!(!page.contains("Ordo"), "the maintenance page is neutral: {page}");
    }
    let (status, css) = get_page(&app.client(), &broker.url("/static/ordo.css")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(css.contains("body"));

    // The operator sees why and since when; the API says so too; the audit log has who.
    let (_, detail) = get_page(&operator, &format!("{admin}/mandanten/{tenant_id}")).await;
    assert!(detail.contains("Gesperrt") && detail.contains("Zahlungsverzug"), "{detail}");
    let token = app.cli().create_api_token("ops@example.de", "test").await;
    let view: Value = app
        .client()
        .get(format!("{admin}/api/v1/tenants/{tenant_id}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(view["suspended_reason"], "Zahlungsverzug");
    assert!(view["suspended_at"].is_string());

    // Suspension survives a restart: the portal is not started again.
    let app = app.restart().await;
    let portal = |path: &str| app.url("muster-makler", path);
    let (status, _) = get_page(&app.client(), &portal("/")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);

    // Resumed: the broker's data is all there.
    let operator = app.operator("ops@example.de").await;
    let admin = app.url("admin", "");
    let (_, detail) = get_page(&operator, &format!("{admin}/mandanten/{tenant_id}")).await;
    let resumed = post_form(&operator, &format!("{admin}/mandanten/{tenant_id}/entsperren"), &detail, &[]).await;
    assert_eq!(resumed.status(), StatusCode::SEE_OTHER);
    let (status, customers) = get_page(&broker.client, &portal("/makler/kunden")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(customers.contains("Kunde"), "{customers}");

    let actions: Vec<String> =
        app.audit_log().await.into_iter().filter(|e| e.actor == "ops@example.de").map(|e| e.action).collect();
    assert!(actions.contains(&"suspend_tenant".to_owned()) && actions.contains(&"resume_tenant".to_owned()));
    app.stop().await;
}
