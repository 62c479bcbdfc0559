//! A trial nobody orders, day by day on a controlled clock: reminders 7 days
//! and 1 day before the end, the portal locked at the end (the broker told
//! why, customers a neutral notice), and everything deleted after the grace
//! period, with a last e-mail. Usage is snapshotted daily along the way.

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::Berlin;
use ordo_tests::{Backend, Job, TestApp, both_backends, get_page};
use reqwest::StatusCode;

both_backends!(a_trial_nobody_orders_is_reminded_locked_and_deleted);

fn berlin(day: NaiveDate, hour: u32) -> DateTime<Utc> {
    Berlin.from_local_datetime(&day.and_hms_opt(hour, 0, 0).unwrap()).single().unwrap().with_timezone(&Utc)
}

fn subjects(app: &TestApp, to: &str) -> Vec<String> {
    app.mails().into_iter().filter(|m| m.to == to).map(|m| m.subject).collect()
}

async fn a_trial_nobody_orders_is_reminded_locked_and_deleted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let signed_up = NaiveDate::from_ymd_opt(2026, 11, 2).unwrap();
    app.set_clock(berlin(signed_up, 9));
    let broker = app.broker_session("Muster Makler", "erika@example.de").await;
    let customer_id = broker.create_customer("Max", "Kunde", "max@example.de").await;
    let customer = broker.invite(&app, &customer_id, "max@example.de", "kunden passwort 2026").await;
    let tenant_id = broker.tenant_id.clone();
    let api = app.operator_api("ops@example.de").await;
    // 30 days from 2 November: the last day is 1 December, the end midnight after it.
    let end = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
    assert_eq!(api.tenant(&tenant_id).await["trial_ends_at"], berlin(end, 0).to_rfc3339());
    let notices = |app: &TestApp| {
        subjects(app, "erika@example.de").into_iter().filter(|s| !s.contains("bereit")).collect::<Vec<_>>()
    };

    // Eight days before the end: only the daily usage snapshot.
    let ran = app.run_jobs_at(berlin(end - Days::new(8), 7)).await;
    let jobs: Vec<Job> = ran.iter().map(|r| r.job).collect();
    assert!(jobs.contains(&Job::UsageSnapshot) && jobs.contains(&Job::TrialLifecycle), "{jobs:?}");
    assert!(ran.iter().all(|r| r.outcome.is_ok()), "{ran:?}");
    assert!(notices(&app).is_empty());
    let snapshot = app.usage_snapshot(&tenant_id, end - Days::new(8)).await.expect("a snapshot of that day");
    assert_eq!((snapshot.contacts, snapshot.stored_bytes), (1, 0));

    // Seven days before: the first reminder, once, however often the jobs run.
    app.run_jobs_at(berlin(end - Days::new(7), 7)).await;
    assert!(app.run_jobs_at(berlin(end - Days::new(7), 8)).await.is_empty(), "nothing new is due an hour later");
    app.run_jobs_at(berlin(end - Days::new(6), 7)).await;
    assert_eq!(notices(&app), ["Ihre Testphase endet in 7 Tagen"]);
    let reminder = app.last_mail_to("erika@example.de");
    assert!(reminder.body.contains("01.12.2026") && reminder.body.contains("/makler/abrechnung"), "{}", reminder.body);

    // The last day: the second reminder.
    app.run_jobs_at(berlin(end - Days::new(1), 7)).await;
    assert_eq!(notices(&app), ["Ihre Testphase endet in 7 Tagen", "Ihre Testphase endet morgen"]);
    // Still open on the last day.
    assert_eq!(broker.page("/makler/kunden").await.0, StatusCode::OK);

    // The end: locked, the broker told so, customers a neutral notice.
    app.run_jobs_at(berlin(end, 7)).await;
    assert_eq!(notices(&app).last().unwrap(), "Ihre Testphase ist beendet");
    let (status, page) = broker.page("/makler/kunden").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("Ihre Testphase ist beendet") && page.contains("href=\"/makler/abrechnung\""), "{page}");
    let (status, page) = customer.page("/ordner").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(page.contains("vorübergehend nicht erreichbar"), "{page}");
    assert!(!page.contains("Testphase") && !page.contains("Max"), "customers learn nothing more: {page}");
    assert_eq!(get_page(&app.client(), &broker.url("/anmelden")).await.0, StatusCode::OK, "logging in still works");
    // A restart keeps it locked.
    let app = app.restart().await;
    let portal = |path: &str| app.url("muster-makler", path);
    assert_eq!(get_page(&broker.client, &portal("/makler/kunden")).await.0, StatusCode::FORBIDDEN);

    // The day before the grace period ends, the data is still there.
    app.run_jobs_at(berlin(end + Days::new(29), 7)).await;
    let api = app.operator_api("ops@example.de").await;
    assert_eq!(api.tenant(&tenant_id).await["status"], "ready");

    // Thirty days after the end: gone, with a last e-mail.
    let ran = app.run_jobs_at(berlin(end + Days::new(30), 7)).await;
    assert!(ran.iter().all(|r| r.outcome.is_ok()), "{ran:?}");
    assert_eq!(notices(&app).last().unwrap(), "Ihr Portal wurde gelöscht");
    assert_eq!(api.tenant(&tenant_id).await["status"], "deleted");
    assert!(app.tenant_record(&tenant_id).await.deleted_at.is_some());
    assert_eq!(get_page(&broker.client, &portal("/makler/kunden")).await.0, StatusCode::NOT_FOUND);
    match app.backend() {
        Backend::Sqlite => assert!(!app.data_dir().join("tenants").join(&tenant_id).exists()),
        Backend::Postgres(_) => {
            let name = format!("ordo_t_{tenant_id}");
            assert!(!app.postgres_database_exists(&name).await, "the tenant database is dropped");
        }
    }
    // The address is free for a new start.
    app.sign_up("Erika Muster", Some("Muster Makler neu"), "erika@example.de").await;
    app.stop().await;
}
