//! The monthly invoice run: the right lines, each invoice once however often
//! (or however interrupted) it runs, gapless numbers under concurrent
//! finalising, e-mail with PDF and XRechnung, payments and credit notes.

use chrono::{NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::Berlin;
use control_plane::billing::document::{ServicePeriod, Unit};
use control_plane::billing::invoices::{self, BuyerSnapshot, Draft, Kind, Line, LineKind};
use control_plane::billing::money::Cents;
use control_plane::billing::refusal::{BillingError, Refusal};
use control_plane::billing::{charges, run, subscriptions};
use control_plane::scheduler::Job;
use control_plane::tenants;
use ordo_tests::money::pay;
use ordo_tests::{Backend, TestApp, both_backends};
use tenant_app::plans::Plan;
use tenant_app::usage::Usage;

both_backends!(the_monthly_run_invoices_each_tenant_once, numbers_have_no_gaps_under_concurrent_finalising);

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn berlin(text: &str, hour: u32) -> chrono::DateTime<Utc> {
    Berlin.from_local_datetime(&day(text).and_hms_opt(hour, 0, 0).unwrap()).single().unwrap().with_timezone(&Utc)
}

async fn invoice_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM invoices").fetch_one(app.state.db.pool()).await.unwrap()
}

async fn the_monthly_run_invoices_each_tenant_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.clock.set(berlin("2026-10-02", 9));
    app.sign_up("Erika Muster", Some("Muster Makler"), "erika@example.de").await;
    app.sign_up("Paul Premium", Some("Premium Makler"), "paul@example.de").await;
    let muster = tenants::find_by_slug(&app.state.db, "muster-makler").await.unwrap().unwrap();
    let premium = tenants::find_by_slug(&app.state.db, "premium-makler").await.unwrap().unwrap();
    let db = &app.state.db;
    // Muster: Pay-per-Use with whitelabel all November, contacts peaking at 42.
    subscriptions::start(db, &muster.id, Plan::PayPerUse, true, day("2026-10-20"), 0).await.unwrap();
    for (d, contacts) in
        [("2026-10-31", 90), ("2026-11-01", 40), ("2026-11-17", 42), ("2026-11-30", 41), ("2026-12-01", 99)]
    {
        control_plane::usage::record(db, &muster.id, day(d), Usage { contacts, stored_bytes: 0 }, 0).await.unwrap();
    }
    charges::add_charge(db, &muster.id, LineKind::Setup, "Einrichtungsgebühr", Cents(19_900), day("2026-10-20"), 0)
        .await
        .unwrap();
    // Premium from 12 November; a charge dated December waits for the next run.
    subscriptions::start(db, &premium.id, Plan::Premium, false, day("2026-11-12"), 0).await.unwrap();
    charges::add_charge(
        db,
        &premium.id,
        LineKind::TrialExtension,
        "Testphase-Verlängerung",
        Cents(7_490),
        day("2026-12-03"),
        0,
    )
    .await
    .unwrap();

    // A crash after the drafts were written, before numbering: the next run numbers them, once.
    app.clock.set(berlin("2026-12-01", 4));
    let period = run::previous_month(day("2026-12-01"));
    assert_eq!(run::draft_period(&app.state, period).await.unwrap().len(), 2);
    assert!(run::draft_period(&app.state, period).await.unwrap().is_empty(), "drafting again adds nothing");
    let ran = app.run_jobs_at(berlin("2026-12-01", 4)).await;
    let monthly = ran.iter().find(|r| r.job == Job::MonthlyInvoices).expect("the monthly run is due");
    assert_eq!(monthly.outcome.as_deref(), Ok("0 drafted, 2 issued, 2 e-mailed"));
    // And once more, as a second replica or an operator would: nothing new.
    let report = run::run_monthly(&app.state, berlin("2026-12-01", 5)).await.unwrap();
    assert_eq!(report, run::RunReport::default());
    assert_eq!(invoice_count(&app).await, 2);

    let list = invoices::for_tenant(db, &muster.id).await.unwrap();
    let invoice = &list[0];
    assert_eq!(invoice.number.as_deref(), Some("2026-000001"));
    assert_eq!((invoice.period_start, invoice.period_end), (day("2026-11-01"), day("2026-11-30")));
    assert_eq!(invoice.issue_date, Some(day("2026-12-01")));
    assert_eq!(invoice.due_date, Some(day("2026-12-15")));
    let lines = invoices::lines(db, &invoice.id).await.unwrap();
    let summary: Vec<(i64, Cents)> = lines.iter().map(|l| (l.quantity, l.unit_price)).collect();
    // Base fee, 42 contacts (the November peak; October's 90 and December's 99 do not count),
    // whitelabel, the setup fee.
    assert_eq!(summary, [(1, Cents(1_900)), (42, Cents(50)), (1, Cents(2_900)), (1, Cents(19_900))]);
    // 19,00 + 21,00 + 29,00 + 199,00 = 268,00 net; VAT 50,92; gross 318,92.
    assert_eq!((invoice.net, invoice.vat, invoice.gross), (Cents(26_800), Cents(5_092), Cents(31_892)));
    assert!(invoice.notes.iter().any(|n| n.contains("höchste Kontaktzahl")));

    let premium_invoice = &invoices::for_tenant(db, &premium.id).await.unwrap()[0];
    assert_eq!(premium_invoice.number.as_deref(), Some("2026-000002"));
    // 19 of 30 days of 199,00 €: 126,03 € net.
    assert_eq!(premium_invoice.net, Cents(12_603));
    assert_eq!(invoices::lines(db, &premium_invoice.id).await.unwrap().len(), 1, "the December charge waits");

    // Each broker got one mail with the invoice as PDF and XRechnung.
    let mails: Vec<_> = app.mails().into_iter().filter(|m| m.subject.starts_with("Ihre Rechnung")).collect();
    assert_eq!(mails.len(), 2);
    let mail = mails.iter().find(|m| m.to == "erika@example.de").unwrap();
    assert_eq!(mail.subject, "Ihre Rechnung 2026-000001");
    assert!(mail.body.contains("318,92"), "{}", mail.body);
    let attached: Vec<(&str, &str)> =
        mail.attachments.iter().map(|a| (a.filename.as_str(), a.content_type.as_str())).collect();
    assert_eq!(
        attached,
        [("Rechnung-2026-000001.pdf", "application/pdf"), ("Rechnung-2026-000001-XRechnung.xml", "application/xml")]
    );
    assert!(mail.attachments[0].content.starts_with(b"%PDF-"));

    // The documents: a PDF/A-3 with the CII XML inside, and the XRechnung (validated in CI).
    let pdf = invoices::pdf(&app.state, invoice).await.unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let xml = String::from_utf8(invoices::xrechnung(&app.state, invoice).await.unwrap()).unwrap();
    assert!(xml.contains("<ram:GrandTotalAmount>318.92</ram:GrandTotalAmount>"), "{xml}");
    assert!(xml.contains("xrechnung_3.0") && xml.contains("<ram:BuyerReference>K-000001</ram:BuyerReference>"));
    ordo_tests::einvoice::validate_stored(&app.state, invoice).await;

    // A bank transfer in two parts (received by 11 December); the same statement line is refused the second time.
    app.clock.set(berlin("2026-12-11", 9));
    let first = pay(&app, &invoice.id, Cents(30_000), "KA-4711", "2026-12-10").await.unwrap();
    assert!(!first.paid);
    let again = pay(&app, &invoice.id, Cents(30_000), "KA-4711", "2026-12-10").await;
    assert!(matches!(again, Err(BillingError::Refused(Refusal::DuplicateReference))), "the same payment counts once");
    let rest = pay(&app, &invoice.id, Cents(1_892), "KA-4712", "2026-12-11").await.unwrap();
    assert!(rest.paid && rest.excess == Cents(0));
    let paid = invoices::find(db, &invoice.id).await.unwrap().unwrap();
    assert_eq!(paid.paid, Cents(31_892));
    assert!(paid.is_paid());

    // A correction: a credit note that names the invoice; the invoice itself stays as it was.
    let credit = control_plane::billing::settlement::credit(
        &app.state,
        &premium_invoice.id,
        Some(Cents(1_000)),
        "Kulanz",
        "ops@example.de",
    )
    .await
    .unwrap();
    let credit = invoices::find(db, &credit).await.unwrap().unwrap();
    assert_eq!((credit.kind, credit.number.as_deref()), (Kind::CreditNote, Some("2026-000003")));
    assert_eq!((credit.net, credit.vat, credit.gross), (Cents(1_000), Cents(190), Cents(1_190)));
    assert_eq!(credit.corrects.as_deref(), Some(premium_invoice.id.as_str()));
    let unchanged = invoices::find(db, &premium_invoice.id).await.unwrap().unwrap();
    assert_eq!((unchanged.net, unchanged.number.clone()), (premium_invoice.net, premium_invoice.number.clone()));
    let too_much = control_plane::billing::settlement::credit(
        &app.state,
        &premium_invoice.id,
        Some(Cents(12_000)),
        "zu viel",
        "ops@example.de",
    )
    .await;
    assert!(matches!(too_much, Err(BillingError::Refused(Refusal::TooMuch(Cents(11_603))))));
    ordo_tests::einvoice::validate_stored(&app.state, &credit).await;
    assert!(app.mails().iter().any(|m| m.subject == "Ihre Gutschrift 2026-000003"));
    app.stop().await;
}

async fn numbers_have_no_gaps_under_concurrent_finalising(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up("Erika Muster", Some("Muster Makler"), "erika@example.de").await;
    let tenant = tenants::find_by_slug(&app.state.db, "muster-makler").await.unwrap().unwrap();
    let buyer = BuyerSnapshot::of(&tenant);
    let lines = [Line {
        kind: LineKind::Other,
        description: "Leistung".into(),
        quantity: 1,
        unit: Unit::Piece,
        unit_price: Cents(100),
    }];
    let period = ServicePeriod { start: day("2026-11-01"), end: day("2026-11-30") };
    let draft = Draft {
        tenant_id: &tenant.id,
        kind: Kind::Invoice,
        run_key: None,
        period,
        buyer: &buyer,
        lines: &lines,
        notes: &[],
        corrects: None,
        prepaid: Cents(0),
    };
    let mut conn = app.state.db.pool().acquire().await.unwrap();
    for _ in 0..40 {
        invoices::insert_draft(&mut conn, &draft, 0).await.unwrap();
    }
    drop(conn);
    // Eight finalisers at once, five drafts each at most, until none is left.
    let tasks = (0..8).map(|_| {
        let db = app.state.db.clone();
        tokio::spawn(async move {
            let mut issued = 0;
            loop {
                let batch = invoices::finalise_drafts(&db, day("2026-12-01"), 14, 5).await.unwrap();
                issued += batch;
                if batch == 0 {
                    return issued;
                }
            }
        })
    });
    let mut total = 0;
    for task in tasks {
        total += task.await.unwrap();
    }
    assert_eq!(total, 40);
    let mut numbers: Vec<String> = sqlx::query_scalar("SELECT number FROM invoices WHERE status = 'issued'")
        .fetch_all(app.state.db.pool())
        .await
        .unwrap();
    numbers.sort();
    let expected: Vec<String> = (1..=40).map(|n| format!("2026-{n:06}")).collect();
    assert_eq!(numbers, expected, "1 to 40, each once");
    // A new year starts again at 1.
    let mut conn = app.state.db.pool().acquire().await.unwrap();
    invoices::insert_draft(&mut conn, &draft, 0).await.unwrap();
    drop(conn);
    invoices::finalise_drafts(&app.state.db, day("2027-01-01"), 14, 5).await.unwrap();
    let newest: String = sqlx::query_scalar("SELECT number FROM invoices WHERE issue_date = '2027-01-01'")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(newest, "2027-000001");
    app.stop().await;
}
