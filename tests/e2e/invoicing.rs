//! The monthly invoice run: the right lines, each invoice once however often
//! (or however interrupted) it runs, gapless numbers under concurrent
//! finalising, e-mail with PDF and XRechnung, payments and credit notes.

use chrono::{NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::Berlin;
use ordo_tests::{
    Backend, Cents, InvoiceKind, Job, Plan, RunReport, TestApp, both_backends, get_page, location, post_form,
};
use reqwest::StatusCode;

both_backends!(the_monthly_run_invoices_each_tenant_once, numbers_have_no_gaps_under_concurrent_finalising);

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn berlin(text: &str, hour: u32) -> chrono::DateTime<Utc> {
    Berlin.from_local_datetime(&day(text).and_hms_opt(hour, 0, 0).unwrap()).single().unwrap().with_timezone(&Utc)
}

/// Submits one of the console's forms on an invoice's page (`zahlung`, `gutschrift`).
async fn submit_on_invoice<const N: usize>(
    operator: &reqwest::Client,
    invoice_url: &str,
    action: &str,
    fields: [(&str, &str); N],
) -> reqwest::Response {
    let (_, page) = get_page(operator, invoice_url).await;
    post_form(operator, &format!("{invoice_url}/{action}"), &page, &fields).await
}

async fn the_monthly_run_invoices_each_tenant_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.set_clock(berlin("2026-10-02", 9));
    let id = |created: serde_json::Value| created["id"].as_str().unwrap().to_owned();
    let muster = id(app.sign_up("Erika Muster", Some("Muster Makler"), "erika@example.de").await);
    let premium = id(app.sign_up("Paul Premium", Some("Premium Makler"), "paul@example.de").await);
    // Muster: Pay-per-Use with whitelabel all November, contacts peaking at 42.
    app.start_subscription(&muster, Plan::PayPerUse, true, day("2026-10-20")).await;
    for (d, contacts) in
        [("2026-10-31", 90), ("2026-11-01", 40), ("2026-11-17", 42), ("2026-11-30", 41), ("2026-12-01", 99)]
    {
        app.record_usage(&muster, day(d), contacts, 0).await;
    }
    app.add_charge(&muster, "Einrichtungsgebühr", Cents(19_900), day("2026-10-20")).await;
    // Premium from 12 November; a charge dated December waits for the next run.
    app.start_subscription(&premium, Plan::Premium, false, day("2026-11-12")).await;
    app.add_charge(&premium, "Testphase-Verlängerung", Cents(7_490), day("2026-12-03")).await;

    // A crash after the drafts were written, before numbering: the next run numbers them, once.
    app.set_clock(berlin("2026-12-01", 4));
    assert_eq!(app.draft_monthly_invoices(day("2026-12-01")).await, 2);
    assert_eq!(app.draft_monthly_invoices(day("2026-12-01")).await, 0, "drafting again adds nothing");
    let ran = app.run_jobs_at(berlin("2026-12-01", 4)).await;
    let monthly = ran.iter().find(|r| r.job == Job::MonthlyInvoices).expect("the monthly run is due");
    assert_eq!(monthly.outcome.as_deref(), Ok("0 drafted, 2 issued, 2 e-mailed"));
    // And once more, as a second replica or an operator would: nothing new.
    let report = app.run_monthly_invoices(berlin("2026-12-01", 5)).await;
    assert_eq!(report, RunReport::default());
    assert_eq!(app.all_invoices().await.len(), 2);

    let list = app.invoices_of(&muster).await;
    let invoice = &list[0];
    assert_eq!(invoice.number.as_deref(), Some("2026-000001"));
    assert_eq!((invoice.period_start, invoice.period_end), (day("2026-11-01"), day("2026-11-30")));
    assert_eq!(invoice.issue_date, Some(day("2026-12-01")));
    assert_eq!(invoice.due_date, Some(day("2026-12-15")));
    let lines = app.invoice_lines(&invoice.id).await;
    let summary: Vec<(i64, Cents)> = lines.iter().map(|l| (l.quantity, l.unit_price)).collect();
    // Base fee, 42 contacts (the November peak; October's 90 and December's 99 do not count),
    // whitelabel, the setup fee.
    assert_eq!(summary, [(1, Cents(1_900)), (42, Cents(50)), (1, Cents(2_900)), (1, Cents(19_900))]);
    // 19,00 + 21,00 + 29,00 + 199,00 = 268,00 net; VAT 50,92; gross 318,92.
    assert_eq!((invoice.net, invoice.vat, invoice.gross), (Cents(26_800), Cents(5_092), Cents(31_892)));
    assert!(invoice.notes.iter().any(|n| n.contains("höchste Kontaktzahl")));

    let premium_invoice = &app.invoices_of(&premium).await[0];
    assert_eq!(premium_invoice.number.as_deref(), Some("2026-000002"));
    // 19 of 30 days of 199,00 €: 126,03 € net.
    assert_eq!(premium_invoice.net, Cents(12_603));
    assert_eq!(app.invoice_lines(&premium_invoice.id).await.len(), 1, "the December charge waits");

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

    // The documents, as the operator downloads them on 11 December (when the
    // payments below have arrived): a PDF/A-3 with the CII XML inside, and the
    // XRechnung (both validated in CI).
    app.set_clock(berlin("2026-12-11", 12));
    let operator = app.operator("ops@example.de").await;
    let invoice_url = app.url("admin", &format!("/rechnungen/{}", invoice.id));
    let pdf = operator.get(format!("{invoice_url}/pdf")).send().await.unwrap();
    assert_eq!(pdf.status(), StatusCode::OK);
    assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF-"));
    let xml = operator.get(format!("{invoice_url}/xrechnung")).send().await.unwrap();
    assert_eq!(xml.status(), StatusCode::OK);
    let xml = xml.text().await.unwrap();
    assert!(xml.contains("<ram:GrandTotalAmount>318.92</ram:GrandTotalAmount>"), "{xml}");
    assert!(xml.contains("xrechnung_3.0") && xml.contains("K-muster-makler"));
    ordo_tests::einvoice::validate_stored(&app, invoice).await;

    // A bank transfer in two parts, recorded in the console; recording a statement line twice changes nothing.
    let pay = |amount, received_on, reference| {
        let fields = [("amount", amount), ("received_on", received_on), ("reference", reference)];
        submit_on_invoice(&operator, &invoice_url, "zahlung", fields)
    };
    assert_eq!(pay("300,00", "2026-12-10", "KA-4711").await.status(), StatusCode::SEE_OTHER);
    assert!(!app.invoice(&invoice.id).await.is_paid());
    let again = pay("300,00", "2026-12-10", "KA-4711").await;
    assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY, "the console refuses a known statement line");
    let replayed = app.record_payment_directly(&invoice.id, Cents(30_000), "KA-4711", day("2026-12-10")).await;
    assert!(!replayed, "the same payment counts once");
    assert_eq!(app.invoice(&invoice.id).await.paid, Cents(30_000));
    assert_eq!(pay("18,92", "2026-12-11", "KA-4712").await.status(), StatusCode::SEE_OTHER);
    let paid = app.invoice(&invoice.id).await;
    assert_eq!(paid.paid, Cents(31_892));
    assert!(paid.is_paid());

    // A correction: a credit note that names the invoice; the invoice itself stays as it was.
    let premium_url = app.url("admin", &format!("/rechnungen/{}", premium_invoice.id));
    let credit = |amount, reason| {
        submit_on_invoice(
            &operator,
            &premium_url,
            "gutschrift",
            [("scope", "amount"), ("amount", amount), ("reason", reason)],
        )
    };
    let credited = credit("10,00", "Kulanz").await;
    assert_eq!(credited.status(), StatusCode::SEE_OTHER);
    let credit_id = location(&credited).trim_start_matches("/rechnungen/").split('?').next().unwrap().to_owned();
    let credit_note = app.invoice(&credit_id).await;
    assert_eq!((credit_note.kind, credit_note.number.as_deref()), (InvoiceKind::CreditNote, Some("2026-000003")));
    assert_eq!((credit_note.net, credit_note.vat, credit_note.gross), (Cents(1_000), Cents(190), Cents(1_190)));
    assert_eq!(credit_note.corrects.as_deref(), Some(premium_invoice.id.as_str()));
    let unchanged = app.invoice(&premium_invoice.id).await;
    assert_eq!((unchanged.net, unchanged.number.clone()), (premium_invoice.net, premium_invoice.number.clone()));
    let too_much = credit("120,00", "zu viel").await;
    assert_eq!(too_much.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let too_much = too_much.text().await.unwrap();
    assert!(too_much.contains("Höchstens 116,03 € (netto) können noch gutgeschrieben werden."), "{too_much}");
    ordo_tests::einvoice::validate_stored(&app, &credit_note).await;
    assert!(app.mails().iter().any(|m| m.subject == "Ihre Gutschrift 2026-000003"));
    app.stop().await;
}

async fn numbers_have_no_gaps_under_concurrent_finalising(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let created = app.sign_up("Erika Muster", Some("Muster Makler"), "erika@example.de").await;
    let tenant = created["id"].as_str().unwrap();
    let november = (day("2026-11-01"), day("2026-11-30"));
    for _ in 0..40 {
        app.insert_draft_invoice(tenant, november, "Leistung", Cents(100)).await;
    }
    // Eight finalisers at once, five drafts each at most, until none is left.
    assert_eq!(app.finalise_drafts_concurrently(8, day("2026-12-01"), 5).await, 40);
    let mut numbers: Vec<String> =
        app.all_invoices().await.into_iter().filter(|i| i.issued).filter_map(|i| i.number).collect();
    numbers.sort();
    let expected: Vec<String> = (1..=40).map(|n| format!("2026-{n:06}")).collect();
    assert_eq!(numbers, expected, "1 to 40, each once");
    // A new year starts again at 1.
    app.insert_draft_invoice(tenant, november, "Leistung", Cents(100)).await;
    app.finalise_drafts_concurrently(1, day("2027-01-01"), 5).await;
    let newest: Vec<String> = app
        .all_invoices()
        .await
        .into_iter()
        .filter(|i| i.issue_date == Some(day("2027-01-01")))
        .filter_map(|i| i.number)
        .collect();
    assert_eq!(newest, ["2027-000001"]);
    app.stop().await;
}
