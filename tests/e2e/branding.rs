//! Branding (logo, colours checked for contrast), whitelabel, and the
//! installable web app (manifest, service worker, offline page).

use ordo_tests::{Backend, Plan, TestApp, both_backends, get_page, hidden_field, log_in};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::Value;

both_backends!(broker_brands_the_portal, whitelabel_removes_every_trace_of_the_operator, portal_installs_as_a_web_app);

const PNG: &[u8] = &[
    0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D, b'I', b'H', b'D', b'R', 0, 0, 0, 1, 0, 0, 0, 1, 8,
    2, 0, 0, 0,
];

async fn broker_brands_the_portal(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let broker = app.broker_session("Muster Makler", "erika@example.de").await;
    let (status, page) = broker.page("/makler/branding").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("<script src=\"/static/branding.js\" defer>"), "live preview");
    assert!(page.contains("id=\"preview\"") && page.contains("type=\"color\""));
    let script = broker.client.get(broker.url("/static/branding.js")).send().await.unwrap();
    assert!(script.headers()["content-type"].to_str().unwrap().starts_with("text/javascript"));

    // Yellow under white text fails WCAG AA: refused with the ratio.
    let refused =
        broker.submit("/makler/branding", "/makler/branding", &[("primary", "#ffdd00"), ("accent", "#e8f0f8")]).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let refused = refused.text().await.unwrap();
    assert!(refused.contains("id=\"primary-error\"") && refused.contains("4,5:1"));
    let (_, css) = get_page(&broker.client, &broker.url("/branding.css")).await;
    assert!(css.contains("#1f4e79"), "unchanged");

    // A readable pair is saved; every page links the new stylesheet version.
    let saved =
        broker.submit("/makler/branding", "/makler/branding", &[("primary", "#7a1f3d"), ("accent", "#f7e9ee")]).await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let (_, page) = broker.page("/makler/kunden").await;
    let version =
        regex_lite::Regex::new(r#"/branding.css\?v=([0-9a-f]+)""#).unwrap().captures(&page).unwrap()[1].to_owned();
    assert!(version.starts_with("7a1f3d"), "{version}");
    let (_, css) = get_page(&broker.client, &broker.url("/branding.css")).await;
    assert!(css.contains("--primary: #7a1f3d") && css.contains("--accent: #f7e9ee"));

    // Logo: raster images only; then it heads every page.
    let (_, page) = broker.page("/makler/branding").await;
    let svg = Form::new().text("_csrf", hidden_field(&page, "_csrf")).part(
        "logo",
        Part::bytes(b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>".to_vec()).file_name("logo.svg"),
    );
    let response = broker.client.post(broker.url("/makler/branding/logo")).multipart(svg).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let pdf = Form::new()
        .text("_csrf", hidden_field(&page, "_csrf"))
        .part("logo", Part::bytes(b"%PDF-1.4\n".to_vec()).file_name("logo.pdf"));
    let response = broker.client.post(broker.url("/makler/branding/logo")).multipart(pdf).send().await.unwrap();
    assert!(response.text().await.unwrap().contains("PNG-, JPEG- oder WebP"));
    let png = Form::new()
        .text("_csrf", hidden_field(&page, "_csrf"))
        .part("logo", Part::bytes(PNG.to_vec()).file_name("logo.png"));
    let response = broker.client.post(broker.url("/makler/branding/logo")).multipart(png).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, page) = get_page(&app.client(), &broker.url("/anmelden")).await;
    assert!(page.contains("<img class=\"logo\" src=\"/branding/logo?v="), "on the login page too");
    let logo = app.client().get(broker.url("/branding/logo")).send().await.unwrap();
    assert_eq!(logo.headers()["content-type"], "image/png");
    assert_eq!(logo.bytes().await.unwrap().as_ref(), PNG);
    app.stop().await;
}

async fn whitelabel_removes_every_trace_of_the_operator(backend: Backend) {
    // The operator's own sender address names it; whitelabelled portals use a neutral one.
    let app = TestApp::spawn_with(
        backend,
        &[("mail_from", "noreply@ordo.example"), ("whitelabel_mail_from", "portal@kundenordner.example")],
    )
    .await;
    let broker = app.broker_session("Muster Makler", "erika@example.de").await;
    let max = broker.create_customer("Max", "Mustermann", "max@example.de").await;

    // Without whitelabel the portal says who runs it.
    let (_, login) = get_page(&app.client(), &broker.url("/anmelden")).await;
    assert!(login.contains("betrieben mit Ordo"));

    app.set_plan(&broker.tenant_id, Plan::Premium, true).await;
    let customer = broker.invite(&app, &max, "max@example.de", "kunden passwort 1").await;
    let invitation = app.last_mail_to("max@example.de");
    assert!(invitation.from.contains("portal@kundenordner.example"), "{}", invitation.from);
    for text in [&invitation.from, &invitation.subject, &invitation.body] {
        assert!(!text.to_lowercase().contains("ordo"), "mail shows the operator: {text}");
    }
    let anonymous = app.client();
    for (client, path) in [
        (&anonymous, "/anmelden"),
        (&anonymous, "/offline"),
        (&anonymous, "/manifest.webmanifest"),
        (&anonymous, "/static/portal.css"),
        (&customer.client, "/ordner"),
        (&customer.client, "/ordner/analyse"),
        (&customer.client, "/ordner/notfall"),
        (&broker.client, "/makler/kunden"),
    ] {
        let response = client.get(broker.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        for cookie in response.headers().get_all("set-cookie") {
            assert!(!cookie.to_str().unwrap().to_lowercase().contains("ordo"), "{path}: cookie");
        }
        let body = response.text().await.unwrap();
        assert!(!body.to_lowercase().contains("ordo"), "{path} shows the operator");
    }
    // Logging in works the same.
    assert_eq!(
        log_in(&app.client(), &broker.origin, "max@example.de", "kunden passwort 1").await.status(),
        StatusCode::SEE_OTHER
    );
    app.stop().await;
}

async fn portal_installs_as_a_web_app(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let broker = app.broker_session("Muster Versicherungsmakler", "erika@example.de").await;
    let client = app.client();
    let manifest: Value = client.get(broker.url("/manifest.webmanifest")).send().await.unwrap().json().await.unwrap();
    assert_eq!(manifest["name"], "Muster Versicherungsmakler");
    assert_eq!(manifest["display"], "standalone");
    assert_eq!(manifest["start_url"], "/");
    for icon in manifest["icons"].as_array().unwrap() {
        let response = client.get(broker.url(icon["src"].as_str().unwrap())).send().await.unwrap();
        assert_eq!(response.headers()["content-type"], "image/png");
        assert!(response.bytes().await.unwrap().starts_with(b"\x89PNG"));
    }
    let (_, login) = get_page(&client, &broker.url("/anmelden")).await;
    assert!(login.contains("<link rel=\"manifest\" href=\"/manifest.webmanifest\">"));
    assert!(login.contains("<script src=\"/static/app.js\" defer></script>"));

    // The service worker caches only the offline page and the stylesheet, and
    // answers only page navigations from the cache, when the network is gone.
    let worker = client.get(broker.url("/sw.js")).send().await.unwrap();
    assert_eq!(worker.headers()["cache-control"], "no-cache");
    let worker = worker.text().await.unwrap();
    assert!(worker.contains("cache.addAll([OFFLINE_PAGE, \"/static/portal.css\"])"));
    assert!(worker.contains("event.request.mode !== \"navigate\""));
    assert!(!worker.contains("cache.put"), "nothing else is ever cached");
    let (status, offline) = get_page(&client, &broker.url("/offline")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(offline.contains("Keine Verbindung"));
    // Private pages are never stored by the browser either.
    let page = broker.client.get(broker.url("/makler/kunden")).send().await.unwrap();
    assert_eq!(page.headers()["cache-control"], "no-store");
    app.stop().await;
}
