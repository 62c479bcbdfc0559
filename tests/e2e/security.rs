//! The security baseline: host isolation, CSRF, headers, throttling, escaping, probes.

use ordo_tests::{Backend, TestApp, both_backends, get_page, log_in, post_form};
use reqwest::StatusCode;

both_backends!(
    unknown_hosts_reveal_nothing,
    forms_need_their_csrf_token,
    logins_are_throttled,
    markup_is_shown_as_text
);

async fn unknown_hosts_reveal_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.client();
    for url in [app.url("nobody", "/"), app.url("nobody", "/anmelden"), app.url("a.b", "/")] {
        let response = client.get(&url).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{url}");
        let body = response.text().await.unwrap();
        assert_eq!(body, "Not Found", "{url}");
    }
    let foreign = client.get(app.url("", "/")).header("host", "example.com").send().await.unwrap();
    assert_eq!(foreign.status(), StatusCode::NOT_FOUND);

    // Liveness and readiness answer on every host, and for probes that use an IP.
    let created = app.sign_up("Erika Muster", None, "erika@example.de").await;
    let slug = created["slug"].as_str().unwrap();
    for site in ["", "admin", slug] {
        for probe in ["/healthz", "/readyz"] {
            assert_eq!(
                client.get(app.url(site, probe)).send().await.unwrap().status(),
                StatusCode::OK,
                "{site}{probe}"
            );
        }
    }
    let by_ip = client.get(format!("http://127.0.0.1:{}/readyz", app.addr.port())).send().await.unwrap();
    assert_eq!(by_ip.status(), StatusCode::OK);

    // Security headers on every site.
    for site in ["", "admin", slug] {
        let response = client.get(app.url(site, "/anmelden")).send().await.unwrap();
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["x-frame-options"], "DENY");
        assert!(headers.contains_key("x-request-id"));
    }
    app.stop().await;
}

async fn forms_need_their_csrf_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.client();
    let (_, page) = get_page(&client, &app.url("", "/testen")).await;
    let fields = [
        ("name", "Lena Kurz"),
        ("street", "Ring 1"),
        ("postal_code", "20095"),
        ("city", "Hamburg"),
        ("phone", "040 123456"),
        ("email", "lena@example.de"),
    ];
    // No token, a wrong token, or a token from another browser: refused, nothing stored.
    let none = client.post(app.url("", "/testen")).form(&fields).send().await.unwrap();
    assert_eq!(none.status(), StatusCode::FORBIDDEN);
    let mut wrong = fields.to_vec();
    wrong.push(("_csrf", "0000"));
    assert_eq!(client.post(app.url("", "/testen")).form(&wrong).send().await.unwrap().status(), StatusCode::FORBIDDEN);
    let other_browser = app.client();
    let (_, _) = get_page(&other_browser, &app.url("", "/testen")).await;
    assert_eq!(
        post_form(&other_browser, &app.url("", "/testen"), &page, &fields).await.status(),
        StatusCode::FORBIDDEN
    );
    // A browser announcing a cross-site request is refused even with a token.
    let csrf = ordo_tests::hidden_field(&page, "_csrf");
    let mut with_token = fields.to_vec();
    with_token.push(("_csrf", csrf.as_str()));
    let cross = client
        .post(app.url("", "/testen"))
        .header("sec-fetch-site", "cross-site")
        .form(&with_token)
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
    assert!(app.operator_api("ops@example.de").await.tenants().await.is_empty());
    // The right token from the right browser goes through.
    assert_eq!(client.post(app.url("", "/testen")).form(&with_token).send().await.unwrap().status(), StatusCode::OK);
    app.stop().await;
}

async fn logins_are_throttled(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (slug, _broker) = app.broker("Muster Makler", "erika@example.de", "richtiges passwort").await;
    let portal = app.url(&slug, "");
    let attacker = app.client();
    for _ in 0..5 {
        let response = log_in(&attacker, &portal, "erika@example.de", "falsches passwort").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    // Now even the right password waits: the account is locked for the window.
    let locked = log_in(&attacker, &portal, "erika@example.de", "richtiges passwort").await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(locked.text().await.unwrap().contains("Zu viele"));
    // Unknown accounts fail the same way as wrong passwords.
    let unknown = log_in(&app.client(), &portal, "niemand@example.de", "irgendwas 123").await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    app.stop().await;
}

async fn markup_is_shown_as_text(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (slug, broker) = app.broker("<b>Makler</b>", "erika@example.de", "richtiges passwort").await;
    let portal = app.url(&slug, "");
    let (_, form) = get_page(&broker, &format!("{portal}/makler/kunden/neu")).await;
    post_form(
        &broker,
        &format!("{portal}/makler/kunden/neu"),
        &form,
        &[("first_name", "<script>alert(1)</script>"), ("last_name", "\"><img src=x onerror=alert(1)>")],
    )
    .await;
    let (_, list) = get_page(&broker, &format!("{portal}/makler/kunden")).await;
    assert!(!list.contains("<script>alert(1)</script>") && list.contains("&#60;script&#62;"), "escaped in lists");
    assert!(!list.contains("<img src=x") && list.contains("&#34;&#62;&#60;img"));
    assert!(!list.contains("<b>Makler</b>") && list.contains("&#60;b&#62;Makler&#60;/b&#62;"), "escaped brand");
    app.stop().await;
}
