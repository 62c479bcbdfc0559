//! The operator: bootstrap link, console, API tokens, the operator API, metrics.

use ordo_tests::{Backend, TestApp, both_backends, get_page, location, log_in, post_form};
use reqwest::StatusCode;
use serde_json::Value;

both_backends!(operator_bootstraps_and_watches_tenants);

async fn operator_bootstraps_and_watches_tenants(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let created = app.sign_up("Erika Muster", Some("Muster Makler"), "erika@example.de").await;
    let tenant_id = created["id"].as_str().unwrap().to_owned();
    let admin = app.url("admin", "");

    // Without a session the console sends everyone to its login.
    let anonymous = app.client().get(format!("{admin}/")).send().await.unwrap();
    assert_eq!(location(&anonymous), "/anmelden");

    // `operator create` prints a one-time link that logs in.
    let link = app.cli().create_operator("ops@example.de").await;
    assert!(link.starts_with(&format!("{admin}/anmelden/link?token=")), "{link}");
    let operator = app.client();
    let login = operator.get(&link).send().await.unwrap();
    assert_eq!(login.status(), StatusCode::SEE_OTHER);
    assert_eq!(get_page(&app.client(), &link).await.0, StatusCode::NOT_FOUND, "the link works once");

    // The tenants list shows status, plan, trial end and contacts.
    let (status, list) = get_page(&operator, &format!("{admin}/")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(list.contains("Muster Makler") && list.contains("bereit") && list.contains("Testphase"), "{list}");
    let (status, detail) = get_page(&operator, &format!("{admin}/mandanten/{tenant_id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(detail.contains("muster-makler.localhost"));

    // The operator sets a password and can log in with it.
    let (_, account) = get_page(&operator, &format!("{admin}/konto")).await;
    let short = post_form(
        &operator,
        &format!("{admin}/konto"),
        &account,
        &[("password", "kurz"), ("password_confirm", "kurz")],
    )
    .await;
    assert_eq!(short.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let saved = post_form(
        &operator,
        &format!("{admin}/konto"),
        &account,
        &[("password", "betreiber passwort 1"), ("password_confirm", "betreiber passwort 1")],
    )
    .await;
    assert_eq!(saved.status(), StatusCode::OK);
    let again = log_in(&app.client(), &admin, "ops@example.de", "betreiber passwort 1").await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);

    // A token made in the console opens the API; without one, a problem body.
    let (_, tokens) = get_page(&operator, &format!("{admin}/tokens")).await;
    let made = post_form(&operator, &format!("{admin}/tokens"), &tokens, &[("name", "Monitoring")]).await;
    let made = made.text().await.unwrap();
    let token = regex_lite::Regex::new(r"ordo_[A-Za-z0-9_-]{43}")
        .unwrap()
        .find(&made)
        .expect("token shown")
        .as_str()
        .to_owned();
    let api = app.client();
    let unauthorized = api.get(format!("{admin}/api/v1/tenants/{tenant_id}")).send().await.unwrap();
    assert_eq!(unauthorized.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unauthorized.headers()["www-authenticate"], "Bearer");
    assert_eq!(unauthorized.headers()["content-type"], "application/problem+json");
    let wrong = api.get(format!("{admin}/api/v1/tenants/{tenant_id}")).bearer_auth("ordo_wrong").send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let tenant: Value = api
        .get(format!("{admin}/api/v1/tenants/{tenant_id}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tenant["status"], "ready");
    assert_eq!(tenant["contact_count"], 0);
    assert_eq!(tenant["plan"], "trial");
    let missing = api.get(format!("{admin}/api/v1/tenants/nope")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    // The tenant API belongs to the admin host only.
    let public =
        api.get(app.url("", &format!("/api/v1/tenants/{tenant_id}"))).bearer_auth(&token).send().await.unwrap();
    assert_eq!(public.status(), StatusCode::NOT_FOUND);

    // `operator token` prints a token for scripts.
    let cli_token = app.cli().create_api_token("ops@example.de", "backup").await;
    let list: Value =
        api.get(format!("{admin}/api/v1/tenants")).bearer_auth(&cli_token).send().await.unwrap().json().await.unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);

    // The OpenAPI document is on both hosts and names the paths.
    for origin in [app.url("", ""), admin.clone()] {
        let doc: Value = api.get(format!("{origin}/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        assert!(doc["paths"]["/api/v1/trials"]["post"].is_object());
        assert!(doc["paths"]["/api/v1/tenants/{id}"]["get"].is_object());
    }

    // Prometheus metrics on the admin host, for holders of an API token.
    assert_eq!(api.get(format!("{admin}/metrics")).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let metrics = api.get(format!("{admin}/metrics")).bearer_auth(&token).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("ordo_tenants{status=\"ready\"} 1"), "{metrics}");
    assert!(metrics.contains("ordo_signups_total 1"));
    assert_eq!(
        api.get(app.url("", "/metrics")).bearer_auth(&token).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );

    app.stop().await;
}
