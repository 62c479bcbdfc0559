//! From trial to signed order to paid invoice, as a broker and an operator
//! would go through it, on a controlled clock: the billing area in the portal,
//! a lapsed trial extended, a plan ordered with the contract signed and
//! uploaded, the operator confirming, the monthly invoice, and the payment.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::Berlin;
use control_plane::billing::invoices;
use control_plane::billing::money::Cents;
use control_plane::tenants;
use ordo_tests::{Backend, PortalSession, TestApp, both_backends, get_page, hidden_field, post_form};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};

both_backends!(a_broker_goes_from_trial_to_a_paid_invoice);

fn day(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn berlin(day: &str, hour: u32) -> DateTime<Utc> {
    let day: NaiveDate = day.parse().unwrap();
    Berlin.from_local_datetime(&day.and_hms_opt(hour, 0, 0).unwrap()).single().unwrap().with_timezone(&Utc)
}

async fn upload(broker: &PortalSession, action: &str, name: &str, bytes: Vec<u8>, mime: &str) -> (StatusCode, String) {
    let (_, page) = broker.page("/makler/abrechnung").await;
    let form = Form::new()
        .text("_csrf", hidden_field(&page, "_csrf"))
        .part("vertrag", Part::bytes(bytes).file_name(name.to_owned()).mime_str(mime).unwrap());
    let response = broker.client.post(broker.url(action)).multipart(form).send().await.unwrap();
    let status = response.status();
    (status, response.text().await.unwrap())
}

async fn a_broker_goes_from_trial_to_a_paid_invoice(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.clock.set(berlin("2026-10-01", 9));
    let broker = app.broker_session("Muster Makler", "erika@example.de").await;
    broker.create_customer("Max", "Kunde", "max@example.de").await;

    // The billing area, from the portal's navigation.
    let (_, customers) = broker.page("/makler/kunden").await;
    assert!(customers.contains("href=\"/makler/abrechnung\""));
    let (status, billing) = broker.page("/makler/abrechnung").await;
    assert_eq!(status, StatusCode::OK);
    assert!(billing.contains("kostenlos bis einschließlich <strong>30.10.2026</strong>"), "{billing}");
    assert!(
        billing.contains("PREMIUMstarter") && billing.contains("199,00 €") && billing.contains("Noch keine Rechnungen")
    );
    // Only the broker: customers and visitors do not see it.
    assert_eq!(get_page(&app.client(), &broker.url("/makler/abrechnung")).await.0, StatusCode::SEE_OTHER);

    // The trial lapses; the billing area stays open and offers an extension.
    app.run_jobs_at(berlin("2026-10-31", 7)).await;
    assert_eq!(broker.page("/makler/kunden").await.0, StatusCode::FORBIDDEN);
    let (status, billing) = broker.page("/makler/abrechnung").await;
    assert_eq!(status, StatusCode::OK);
    assert!(billing.contains("Ihre Testphase ist beendet") && billing.contains("74,90 €"), "{billing}");
    let extended = broker.submit("/makler/abrechnung", "/makler/abrechnung/verlaengern", &[]).await;
    assert_eq!(extended.status(), StatusCode::OK);
    let extended = extended.text().await.unwrap();
    // A new 30-day phase from today, 31 October: the last day is 29 November.
    assert!(extended.contains("verlängert bis einschließlich 29.11.2026"), "{extended}");
    assert_eq!(broker.page("/makler/kunden").await.0, StatusCode::OK, "the portal is open again");
    // The extension is invoiced at once, not with the next monthly run.
    let tenant = tenants::find_by_slug(&app.state.db, "muster-makler").await.unwrap().unwrap();
    let extension = invoices::for_tenant(&app.state.db, &tenant.id).await.unwrap().remove(0);
    assert_eq!(
        (extension.issue_date, extension.net, extension.gross),
        (Some(day("2026-10-31")), Cents(7_490), Cents(8_913))
    );
    assert_eq!(
        app.last_mail_to("erika@example.de").subject,
        format!("Ihre Rechnung {}", extension.number.clone().unwrap())
    );
    let (_, billing) = broker.page("/makler/abrechnung").await;
    assert!(billing.contains("89,13 €") && !billing.contains("Noch keine Rechnungen"), "{billing}");

    // The broker orders PREMIUM with whitelabel and gets the contract to sign.
    let ordered = broker
        .submit("/makler/abrechnung", "/makler/abrechnung/bestellen", &[("plan", "premium"), ("whitelabel", "ja")])
        .await;
    assert_eq!(ordered.status(), StatusCode::SEE_OTHER);
    let (_, billing) = broker.page("/makler/abrechnung").await;
    assert!(
        billing.contains("Tarif PREMIUM mit Whitelabel") && billing.contains("wartet auf den unterschriebenen Vertrag")
    );
    let contract_link = regex_lite::Regex::new(r#"/makler/abrechnung/bestellung/([0-9a-f]+)/vertrag\.pdf"#).unwrap();
    let found = contract_link.captures(&billing).expect("contract link");
    let order_id = found[1].to_owned();
    let contract = broker.client.get(broker.url(&found[0])).send().await.unwrap();
    assert_eq!(contract.headers()["content-type"], "application/pdf");
    assert!(contract.bytes().await.unwrap().starts_with(b"%PDF-"));

    // A file that is no scan is refused; the signed PDF is taken.
    let action = format!("/makler/abrechnung/bestellung/{order_id}/unterschrift");
    let (status, page) = upload(&broker, &action, "vertrag.txt", b"unterschrieben".to_vec(), "text/plain").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("als PDF, JPEG oder PNG"), "{page}");
    let scan = b"%PDF-1.4\n% signed scan\n".to_vec();
    let (status, page) = upload(&broker, &action, "vertrag-unterschrieben.pdf", scan.clone(), "application/pdf").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Wir prüfen den unterschriebenen Vertrag"), "{page}");

    // The operator checks the scan and confirms on 5 November.
    app.clock.set(berlin("2026-11-05", 10));
    let operator = app.operator("ops@example.de").await;
    let admin = app.url("admin", "");
    let (_, orders) = get_page(&operator, &format!("{admin}/bestellungen")).await;
    assert!(orders.contains("Muster Makler") && orders.contains("unterschrieben, wird geprüft"), "{orders}");
    let signed = operator.get(format!("{admin}/bestellungen/{order_id}/unterschrift")).send().await.unwrap();
    assert_eq!(signed.bytes().await.unwrap().to_vec(), scan);
    let confirmed = post_form(&operator, &format!("{admin}/bestellungen/{order_id}/bestaetigen"), &orders, &[]).await;
    assert_eq!(confirmed.status(), StatusCode::SEE_OTHER);
    let activated = app.last_mail_to("erika@example.de");
    assert_eq!(activated.subject, "Ihr Tarif PREMIUM ist aktiv");
    assert!(activated.body.contains("mit gesonderter Rechnung"), "{}", activated.body);
    let tenant = tenants::find_by_slug(&app.state.db, "muster-makler").await.unwrap().unwrap();
    // The setup fees are invoiced the day the order is confirmed, and mailed with the PDF and XRechnung.
    let setup = invoices::for_tenant(&app.state.db, &tenant.id).await.unwrap().remove(0);
    assert_eq!((setup.issue_date, setup.net, setup.gross), (Some(day("2026-11-05")), Cents(49_800), Cents(59_262)));
    let setup_lines: Vec<String> =
        invoices::lines(&app.state.db, &setup.id).await.unwrap().into_iter().map(|l| l.description).collect();
    assert_eq!(setup_lines, ["Einrichtungsgebühr PREMIUM", "Einrichtung Whitelabel"]);
    let setup_mail = app
        .mails()
        .into_iter()
        .find(|m| m.subject == format!("Ihre Rechnung {}", setup.number.clone().unwrap()))
        .unwrap();
    assert_eq!(setup_mail.attachments.len(), 2);
    ordo_tests::einvoice::validate_stored(&app.state, &setup).await;
    assert_eq!((tenant.plan.as_str(), tenant.whitelabel), ("premium", true));
    let (_, billing) = broker.page("/makler/abrechnung").await;
    assert!(billing.contains("<strong>PREMIUM</strong> mit Whitelabel, seit 05.11.2026"), "{billing}");
    // Whitelabel reaches the portal: the operator's name is gone from its pages.
    let (_, portal) = broker.page("/makler/kunden").await;
    assert!(!portal.contains("Ordo"), "{portal}");

    // The monthly run on 1 December invoices November.
    app.run_jobs_at(berlin("2026-12-01", 4)).await;
    let invoice = invoices::for_tenant(&app.state.db, &tenant.id).await.unwrap().remove(0);
    let lines: Vec<(String, Cents)> = invoices::lines(&app.state.db, &invoice.id)
        .await
        .unwrap()
        .into_iter()
        .map(|l| (l.description.clone(), l.net()))
        .collect();
    // PREMIUM and whitelabel for 26 of 30 days; the one-time fees were invoiced already.
    assert_eq!(lines.iter().map(|(_, net)| *net).collect::<Vec<_>>(), [Cents(17_247), Cents(2_513)], "{lines:?}");
    assert!(lines[0].0.contains("anteilig 26 von 30 Tagen"));
    assert_eq!(invoice.gross, Cents(23_514));
    let mail = app.last_mail_to("erika@example.de");
    assert_eq!(mail.subject, format!("Ihre Rechnung {}", invoice.number.clone().unwrap()));
    assert!(mail.attachments.iter().any(|a| a.filename.ends_with(".pdf")));

    // The broker finds it in the billing area, as PDF and XRechnung.
    let (_, billing) = broker.page("/makler/abrechnung").await;
    assert!(billing.contains("235,14 €") && billing.contains(">offen<"), "{billing}");
    let pdf = broker
        .client
        .get(broker.url(&format!("/makler/abrechnung/rechnungen/{}/pdf", invoice.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(pdf.status(), StatusCode::OK);
    assert!(pdf.headers()["content-disposition"].to_str().unwrap().contains(".pdf"));
    let xml = broker.page(&format!("/makler/abrechnung/rechnungen/{}/xrechnung", invoice.id)).await.1;
    assert!(xml.contains("235.14"));

    // Paid by bank transfer: the operator records it, the broker sees it.
    let paid = ordo_tests::money::pay(&app, &invoice.id, invoice.gross, "KA-0001", "2026-12-08").await.unwrap();
    assert!(paid.paid);
    let (_, billing) = broker.page("/makler/abrechnung").await;
    assert!(billing.contains(">bezahlt<"), "{billing}");

    // Another broker cannot reach this broker's invoice.
    let other = app.broker_session("Andere Makler", "andere@example.de").await;
    let foreign = other.page(&format!("/makler/abrechnung/rechnungen/{}/pdf", invoice.id)).await.0;
    assert_eq!(foreign, StatusCode::NOT_FOUND);
    app.stop().await;
}
