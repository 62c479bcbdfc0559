//! Attack 5 (issue 12): no secret in a log line. A full scenario (sign-up,
//! password links, an invitation, sessions, a trusted person's link, links
//! with query strings) runs while the logs are captured; none of the tokens
//! and links it handed out appears in them.

use ordo_tests::attacks::CapturedLogs;
use ordo_tests::{Backend, TestApp, both_backends, get_page};

both_backends!(no_token_or_link_reaches_the_log);

async fn no_token_or_link_reaches_the_log(backend: Backend) {
    let logs = CapturedLogs::start();
    let app = TestApp::spawn(backend).await;
    let mut secrets = Vec::new();
    let created = app.sign_up("Erika Muster", Some("Muster Makler"), "erika@example.de").await;
    let slug = created["slug"].as_str().unwrap().to_owned();
    let signup_link = app.last_mail_to("erika@example.de").password_link();
    secrets.push(signup_link.clone());
    let broker = app.client();
    let cookie = ordo_tests::set_password_via_link(&broker, &signup_link, "makler passwort 2026").await;
    secrets.push(cookie.split(';').next().unwrap().trim_start_matches("session=").to_owned());
    let session = ordo_tests::PortalSession {
        client: broker.clone(),
        origin: app.url(&slug, ""),
        slug: slug.clone(),
        tenant_id: created["id"].as_str().unwrap().to_owned(),
    };
    let customer_id = session.create_customer("Max", "Kunde", "max@example.de").await;
    let page = format!("/makler/kunden/{customer_id}");
    session.submit(&page, &format!("{page}/einladen"), &[]).await;
    let invitation = app.last_mail_to("max@example.de").password_link();
    secrets.push(invitation.clone());
    let customer = app.client();
    ordo_tests::set_password_via_link(&customer, &invitation, "kunden passwort 1").await;
    // A trusted person's link, and a link with its token in the query string.
    let trusted_token = "Qm9yZGVyLWxpbmUtdG9rZW4tZm9yLXRoZS10cnVzdGVkLXBlcnNvbg";
    secrets.push(trusted_token.to_owned());
    get_page(&app.client(), &app.url(&slug, &format!("/notfall/{trusted_token}"))).await;
    get_page(&app.client(), &app.url(&slug, "/passwort-setzen?token=abfrage-geheimnis-1234")).await;
    secrets.push("abfrage-geheimnis-1234".to_owned());
    // An operator's login link.
    let operator_link = app.cli().create_operator("ops@example.de").await;
    get_page(&app.client(), &operator_link).await;
    secrets.push(operator_link.clone());
    app.stop().await;

    let text = logs.text();
    assert!(text.contains("/notfall/{…}"), "the request log names the redacted path");
    for secret in &secrets {
        let token = secret.rsplit(['=', '/']).next().unwrap();
        assert!(!text.contains(token), "a secret in the log: {secret}");
    }
}
