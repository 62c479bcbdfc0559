//! Attack 1 (issue 12): a suspended portal stays closed. Billing actions from
//! a session of before the suspension do not reopen it; the broker can still
//! log in to the billing area to pay; customers see the neutral notice; the
//! broker is told by e-mail when the portal closes and when it reopens.

use ordo_tests::attacks::log_in_at;
use ordo_tests::{Backend, Plan, TestApp, both_backends, location};
use reqwest::StatusCode;

both_backends!(billing_actions_do_not_reopen_a_suspended_portal, the_broker_can_pay_while_suspended);

const PASSWORD: &str = "makler passwort 2026";

async fn billing_actions_do_not_reopen_a_suspended_portal(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let broker = app.broker_session("Muster Makler", "erika@example.de").await;
    let customer_id = broker.create_customer("Max", "Kunde", "max@example.de").await;
    let customer = broker.invite(&app, &customer_id, "max@example.de", "kunden passwort 1").await;
    let operator = app.operator("ops@example.de").await;
    let api = app.operator_api("ops@example.de").await;
    // The billing page loaded before the suspension: its form still carries a valid token.
    let (_, billing_page) = broker.page("/makler/abrechnung").await;

    app.suspend_in_console(&operator, &broker.tenant_id, "Zahlungsverzug").await;
    let closed = app.last_mail_to("erika@example.de");
    assert!(closed.subject.contains("gesperrt"), "{}", closed.subject);
    assert!(closed.body.contains("/makler/abrechnung"), "the mail says where to pay: {}", closed.body);

    // A trial extension with the old session: the portal stays closed.
    let extended =
        ordo_tests::post_form(&broker.client, &broker.url("/makler/abrechnung/verlaengern"), &billing_page, &[]).await;
    assert_eq!(extended.status(), StatusCode::OK, "{}", extended.text().await.unwrap_or_default());
    let (status, _) = broker.page("/makler/kunden").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "an extension reopened the portal");

    // A plan change on a paid tenant: the portal stays closed.
    app.start_subscription(&broker.tenant_id, Plan::PayPerUse, false, app.berlin_today()).await;
    app.set_plan(&broker.tenant_id, Plan::PayPerUse, false).await;
    let (_, billing_page) = broker.page("/makler/abrechnung").await;
    let changed = ordo_tests::post_form(
        &broker.client,
        &broker.url("/makler/abrechnung/tarif"),
        &billing_page,
        &[("plan", "premium_starter")],
    )
    .await;
    assert_eq!(changed.status(), StatusCode::OK, "{}", changed.text().await.unwrap_or_default());
    let (status, _) = broker.page("/makler/kunden").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "a plan change reopened the portal");
    assert!(api.tenant(&broker.tenant_id).await["suspended_at"].is_string());

    // The customer sees the neutral notice, on every path.
    for path in ["/", "/anmelden", "/ordner"] {
        let (status, page) = customer.page(path).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert!(page.contains("vorübergehend nicht erreichbar") && !page.contains("Zahlungsverzug"), "{page}");
    }

    // A restart (a reconcile of every tenant) keeps it closed.
    let app = app.restart().await;
    let broker = broker.on(&app);
    let (status, _) = broker.page("/makler/kunden").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "a restart reopened the portal");

    // Only the operator's resume reopens it, and the broker hears of it.
    let operator = app.operator("ops@example.de").await;
    app.resume_in_console(&operator, &broker.tenant_id).await;
    let reopened = app.last_mail_to("erika@example.de");
    assert!(reopened.subject.contains("wieder erreichbar"), "{}", reopened.subject);
    let (status, _) = broker.page("/makler/kunden").await;
    assert_eq!(status, StatusCode::OK);
    app.stop().await;
}

async fn the_broker_can_pay_while_suspended(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let broker = app.broker_session("Muster Makler", "erika@example.de").await;
    let customer_id = broker.create_customer("Max", "Kunde", "max@example.de").await;
    broker.invite(&app, &customer_id, "max@example.de", "kunden passwort 1").await;
    let operator = app.operator("ops@example.de").await;
    app.suspend_in_console(&operator, &broker.tenant_id, "Zahlungsverzug").await;

    // A fresh browser: the billing area sends it to a login that works while suspended.
    let browser = app.client();
    let origin = broker.url("");
    let asked = browser.get(broker.url("/makler/abrechnung")).send().await.unwrap();
    assert_eq!(asked.status(), StatusCode::SEE_OTHER);
    let login_path = location(&asked);
    assert_eq!(login_path, "/makler/abrechnung/anmelden");
    let wrong = log_in_at(&browser, &origin, &login_path, "erika@example.de", "falsches passwort").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    // A customer's account does not open the billing area.
    let as_customer = log_in_at(&browser, &origin, &login_path, "max@example.de", "kunden passwort 1").await;
    assert_eq!(as_customer.status(), StatusCode::UNAUTHORIZED);
    let logged_in = log_in_at(&browser, &origin, &login_path, "erika@example.de", PASSWORD).await;
    assert_eq!(logged_in.status(), StatusCode::SEE_OTHER, "{}", logged_in.text().await.unwrap_or_default());
    assert_eq!(location(&logged_in), "/makler/abrechnung");
    let (status, page) = ordo_tests::get_page(&browser, &broker.url("/makler/abrechnung")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Rechnungen"), "{page}");
    // The rest of the portal stays closed for that session too.
    let (status, _) = ordo_tests::get_page(&browser, &broker.url("/makler/kunden")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    app.stop().await;
}
