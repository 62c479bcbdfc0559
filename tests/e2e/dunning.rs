//! An invoice nobody pays: reminders at 7 and 14 days overdue, the portal
//! suspended at 30, and back by itself once the money is recorded.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::Berlin;
use control_plane::billing::money::Cents;
use control_plane::billing::{invoices, subscriptions};
use control_plane::tenants;
use ordo_tests::{Backend, TestApp, both_backends, get_page};
use reqwest::StatusCode;
use tenant_app::plans::Plan;

both_backends!(an_unpaid_invoice_is_dunned_and_the_portal_suspended_until_paid);

fn berlin(day: &str, hour: u32) -> DateTime<Utc> {
    let day: NaiveDate = day.parse().unwrap();
    Berlin.from_local_datetime(&day.and_hms_opt(hour, 0, 0).unwrap()).single().unwrap().with_timezone(&Utc)
}

async fn an_unpaid_invoice_is_dunned_and_the_portal_suspended_until_paid(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.clock.set(berlin("2026-10-20", 9));
    let broker = app.broker_session("Muster Makler", "erika@example.de").await;
    let tenant = tenants::find_by_slug(&app.state.db, "muster-makler").await.unwrap().unwrap();
    // A confirmed PREMIUMstarter plan since 1 November.
    sqlx::query("UPDATE tenants SET plan = 'premium_starter' WHERE id = $1")
        .bind(&tenant.id)
        .execute(app.state.db.pool())
        .await
        .unwrap();
    subscriptions::start(&app.state.db, &tenant.id, Plan::PremiumStarter, false, "2026-11-01".parse().unwrap(), 0)
        .await
        .unwrap();
    app.run_jobs_at(berlin("2026-12-01", 7)).await;
    let invoice = invoices::for_tenant(&app.state.db, &tenant.id).await.unwrap().remove(0);
    assert_eq!(invoice.due_date, Some("2026-12-15".parse().unwrap()));
    let dunning = |app: &TestApp| {
        app.mails()
            .into_iter()
            .map(|m| m.subject)
            .filter(|s| s.contains("Zahlungserinnerung") || s.contains("gesperrt"))
            .collect::<Vec<_>>()
    };

    // A goodwill credit of 10,00 € (11,90 € gross) leaves 58,31 € − 11,90 € = 46,41 € owed.
    assert_eq!(invoice.gross, Cents(5_831));
    control_plane::billing::settlement::credit(&app.state, &invoice.id, Some(Cents(1_000)), "Kulanz", "ops@example.de")
        .await
        .unwrap();
    let invoice = invoices::find(&app.state.db, &invoice.id).await.unwrap().unwrap();
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
    let suspended = tenants::find(&app.state.db, &tenant.id).await.unwrap().unwrap();
    assert!(suspended.suspended_reason.unwrap().starts_with("Zahlungsverzug"));

    // The money arrives; the portal is back at once.
    app.clock.set(berlin("2027-01-15", 9));
    let open = ordo_tests::money::invoice(&app, &invoice.id).await.open_amount();
    let paid = ordo_tests::money::pay(&app, &invoice.id, open, "KA-99", "2027-01-15").await.unwrap();
    assert!(paid.paid);
    assert_eq!(broker.page("/makler/kunden").await.0, StatusCode::OK);
    assert!(tenants::find(&app.state.db, &tenant.id).await.unwrap().unwrap().suspended_at.is_none());
    app.stop().await;
}
