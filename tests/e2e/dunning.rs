//! An invoice nobody pays: reminders at 7 and 14 days overdue, the portal
//! suspended at 30, and back by itself once the money is recorded.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::Berlin;
use ordo_tests::{Backend, Cents, Plan, TestApp, both_backends, get_page, location, post_form};
use reqwest::StatusCode;

both_backends!(an_unpaid_invoice_is_dunned_and_the_portal_suspended_until_paid);

fn berlin(day: &str, hour: u32) -> DateTime<Utc> {
    let day: NaiveDate = day.parse().unwrap();
    Berlin.from_local_datetime(&day.and_hms_opt(hour, 0, 0).unwrap()).single().unwrap().with_timezone(&Utc)
}

async fn an_unpaid_invoice_is_dunned_and_the_portal_suspended_until_paid(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.set_clock(berlin("2026-10-20", 9));
    let broker = app.broker_session("Muster Makler", "erika@example.de").await;
    let tenant_id = broker.tenant_id.clone();
    // A confirmed PREMIUMstarter plan since 1 November.
    app.set_plan(&tenant_id, Plan::PremiumStarter, false).await;
    app.start_subscription(&tenant_id, Plan::PremiumStarter, false, "2026-11-01".parse().unwrap()).await;
    app.run_jobs_at(berlin("2026-12-01", 7)).await;
    let invoice = app.invoices_of(&tenant_id).await.remove(0);
    assert_eq!(invoice.due_date, Some("2026-12-15".parse().unwrap()));
    let dunning = |app: &TestApp| {
        app.mails()
            .into_iter()
            .map(|m| m.subject)
            .filter(|s| s.contains("Zahlungserinnerung") || s.contains("gesperrt"))
            .collect::<Vec<_>>()
    };

    // A goodwill credit of 10,00 € (11,90 € gross), in the console, leaves 58,31 € − 11,90 € = 46,41 € owed.
    assert_eq!(invoice.gross, Cents(5_831));
    let operator = app.operator("ops@example.de").await;
    let invoice_url = app.url("admin", &format!("/rechnungen/{}", invoice.id));
    let (_, page) = get_page(&operator, &invoice_url).await;
    let credited = post_form(
        &operator,
        &format!("{invoice_url}/gutschrift"),
        &page,
        &[("scope", "amount"), ("amount", "10,00"), ("reason", "Kulanz")],
    )
    .await;
    assert_eq!(credited.status(), StatusCode::SEE_OTHER);
    let invoice = app.invoice(&invoice.id).await;
    assert_eq!((invoice.credited, invoice.open_amount()), (Cents(1_190), Cents(4_641)));
    assert!(!invoice.is_paid());

    app.run_jobs_at(berlin("2026-12-21", 7)).await;
    assert!(dunning(&app).is_empty(), "6 days overdue: nothing yet");
    app.run_jobs_at(berlin("2026-12-22", 7)).await;
    app.run_jobs_at(berlin("2026-12-23", 7)).await;
    let number = invoice.number.clone().unwrap();
    assert_eq!(dunning(&app), [format!("Zahlungserinnerung: Rechnung {number}")]);
    let reminder = app.last_mail_to("erika@example.de");
    assert!(reminder.body.contains("Bitte überweisen Sie 46,41 €"), "what is owed after the credit: {}", reminder.body);
    app.run_jobs_at(berlin("2026-12-29", 7)).await;
    assert_eq!(dunning(&app).last().unwrap(), &format!("2. Zahlungserinnerung: Rechnung {number}"));
    assert_eq!(broker.page("/makler/kunden").await.0, StatusCode::OK, "still open before day 30");

    // Thirty days overdue: suspended, the broker told so.
    app.run_jobs_at(berlin("2027-01-14", 7)).await;
    assert_eq!(dunning(&app).last().unwrap(), &format!("Ihr Portal ist gesperrt: Rechnung {number} ist offen"));
    assert_eq!(dunning(&app).len(), 3, "each step once");
    let (status, page) = get_page(&broker.client, &broker.url("/makler/kunden")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(page.contains("vorübergehend nicht erreichbar"));
    let api = app.operator_api("ops@example.de").await;
    let suspended = api.tenant(&tenant_id).await;
    assert!(suspended["suspended_reason"].as_str().unwrap().starts_with("Zahlungsverzug"), "{suspended}");

    // The money arrives on 15 January and the operator records it; the portal is back at once.
    app.set_clock(berlin("2027-01-15", 9));
    let (_, page) = get_page(&operator, &invoice_url).await;
    let paid = post_form(
        &operator,
        &format!("{invoice_url}/zahlung"),
        &page,
        &[("amount", "58,31"), ("received_on", "2027-01-15"), ("reference", "KA-99")],
    )
    .await;
    assert_eq!(paid.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&paid), format!("/rechnungen/{}?erfasst=zahlung", invoice.id));
    assert!(app.invoice(&invoice.id).await.is_paid());
    assert_eq!(broker.page("/makler/kunden").await.0, StatusCode::OK);
    assert!(api.tenant(&tenant_id).await["suspended_at"].is_null());
    app.stop().await;
}
