//! Webhooks into the broker's management program, against a real receiver on
//! 127.0.0.1: every event signed and delivered once, the emergency folder
//! silent, retries with backoff, redelivery by hand, disabling after three days
//! of failures (the clock moved), nothing on Pay-per-Use, and the guard that
//! keeps requests away from non-public addresses.

use chrono::Duration;
use ordo_tests::berlin_time;
use ordo_tests::webhooks::{Receiver, set_plan, signature_valid};
use ordo_tests::{Backend, PortalSession, TestApp, both_backends, hidden_field, location, post_form};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::Value;

both_backends!(
    every_event_arrives_once_and_signed_and_the_emergency_folder_stays_silent,
    failed_deliveries_are_retried_with_backoff_and_redelivered_by_hand,
    an_endpoint_failing_for_three_days_is_disabled_and_the_owner_told,
    pay_per_use_delivers_nothing_and_offers_the_upgrade,
    endpoints_must_be_public_https_addresses,
);

const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0xFF, 0xD9];
const PDF: &[u8] = b"%PDF-1.4\n%%EOF\n";
const ALL_EVENTS: [&str; 6] = [
    "message.created",
    "message.replied",
    "customer.activated",
    "document.uploaded",
    "contract.created",
    "contract.updated",
];

/// A control plane whose portals may deliver to the receiver on loopback.
async fn spawn(backend: Backend) -> TestApp {
    TestApp::spawn_with(backend, &[("webhooks_allow_loopback", "true")]).await
}

/// The id of the newest contract on a customer's page.
async fn contract_of(broker: &PortalSession, customer_id: &str) -> String {
    let (_, page) = broker.page(&format!("/makler/kunden/{customer_id}")).await;
    regex_lite::Regex::new(r#"href="/makler/vertraege/([0-9a-f]+)""#).unwrap().captures(&page).expect("a contract")[1]
        .to_owned()
}

async fn edit_contract(broker: &PortalSession, contract: &str, policy_number: &str) {
    let path = format!("/makler/vertraege/{contract}");
    let (_, form) = broker.page(&path).await;
    let produkt = ordo_tests::option_value(&form, "Privathaftpflicht");
    let saved = post_form(
        &broker.client,
        &broker.url(&path),
        &form,
        &[
            ("produkt_id", produkt.as_str()),
            ("insurer", "HUK-COBURG"),
            ("policy_number", policy_number),
            ("premium", "60"),
            ("payment_frequency", "annual"),
            ("start_date", "2025-02-01"),
            ("status", "active"),
        ],
    )
    .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER, "edit contract");
}

async fn every_event_arrives_once_and_signed_and_the_emergency_folder_stays_silent(backend: Backend) {
    let app = spawn(backend).await;
    let receiver = Receiver::start().await;
    let broker = app.broker_session("Muster Makler", "erika@example.de").await;
    let endpoint = broker.register_webhook("Maklerverwaltung", &receiver.url, &ALL_EVENTS).await;
    assert!(endpoint.secret.starts_with("whsec_"));
    // Shown once: the endpoint's own page never shows it again.
    assert!(!broker.webhook_page(&endpoint.id).await.contains(&endpoint.secret));

    let max = broker.create_customer("Max", "Mustermann", "max@example.de").await;
    broker.create_contract(&max, "Privathaftpflicht", "PH-1", "5,00", "monthly").await;
    let customer = broker.invite(&app, &max, "max@example.de", "kunden passwort 1").await;

    // A claim report with a photo from the phone.
    let (_, form_page) = customer.page("/ordner/nachrichten/neu?kategorie=claim").await;
    let claim = Form::new()
        .text("_csrf", hidden_field(&form_page, "_csrf"))
        .text("category", "claim")
        .text("body", "Wasserschaden in der Küche")
        .part("photos", Part::bytes(JPEG.to_vec()).file_name("schaden.jpg").mime_str("image/jpeg").unwrap());
    let sent = customer.client.post(customer.url("/ordner/nachrichten")).multipart(claim).send().await.unwrap();
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let thread = app.last_mail_to("erika@example.de").link().rsplit('/').next().unwrap().to_owned();
    let replied = broker
        .submit(
            &format!("/makler/posteingang/{thread}"),
            &format!("/makler/posteingang/{thread}"),
            &[("body", "Danke, wir melden den Schaden.")],
        )
        .await;
    assert_eq!(replied.status(), StatusCode::SEE_OTHER);

    // The emergency folder: notes and a document, neither of which may leave the portal.
    let (_, emergency) = customer.page("/ordner/notfall").await;
    let notes = customer
        .submit(
            "/ordner/notfall",
            "/ordner/notfall/abschnitte/vorsorgevollmacht",
            &[("notes", "Original im Schreibtisch.")],
        )
        .await;
    assert_eq!(notes.status(), StatusCode::SEE_OTHER);
    let upload = Form::new()
        .text("_csrf", hidden_field(&emergency, "_csrf"))
        .part("files", Part::bytes(PDF.to_vec()).file_name("Vollmacht.pdf").mime_str("application/pdf").unwrap());
    let uploaded = customer
        .client
        .post(customer.url("/ordner/notfall/abschnitte/vorsorgevollmacht/dokumente"))
        .multipart(upload)
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), StatusCode::SEE_OTHER);

    // The last event: each endpoint's deliveries go out in order, so anything the
    // emergency folder had produced would arrive before this one.
    let contract = contract_of(&broker, &max).await;
    edit_contract(&broker, &contract, "PH-2").await;

    let received = receiver.wait_for(6).await;
    let types: Vec<String> = received.iter().map(|r| r.event_type()).collect();
    assert_eq!(
        types,
        [
            "contract.created",
            "customer.activated",
            "message.created",
            "document.uploaded",
            "message.replied",
            "contract.updated"
        ],
        "one event each, in order, none from the emergency folder"
    );
    let mut ids = Vec::new();
    for request in &received {
        assert!(
            signature_valid(request.header("ordo-signature"), &endpoint.secret, &request.body),
            "signed: {}",
            request.header("ordo-signature")
        );
        assert!(!signature_valid(request.header("ordo-signature"), "whsec_wrong", &request.body));
        assert_eq!(request.header("content-type"), "application/json");
        let body = request.json();
        assert_eq!(request.header("ordo-event"), body["type"]);
        let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["created_at", "data", "id", "type"]);
        assert!(chrono::DateTime::parse_from_rfc3339(body["created_at"].as_str().unwrap()).is_ok());
        ids.push(body["id"].as_str().unwrap().to_owned());
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 6, "every event has its own id");

    // The claim report is recognisable, arrives once and carries what the MVP files.
    let claims: Vec<Value> = received
        .iter()
        .map(|r| r.json())
        .filter(|b| b["type"] == "message.created" && b["data"]["category"] == "claim")
        .collect();
    assert_eq!(claims.len(), 1);
    let claim = &claims[0]["data"];
    assert_eq!(claim["category_label"], "Schadenmeldung");
    assert_eq!(claim["customer_id"], max.as_str());
    assert_eq!(claim["thread_id"], thread.as_str());
    assert_eq!(claim["body"], "Wasserschaden in der Küche");
    assert_eq!(claim["thread_started"], true);
    let photo = &received[3].json()["data"];
    assert_eq!(photo["message_id"], claim["message_id"]);
    assert_eq!(photo["file_name"], "schaden.jpg");
    let updated = &received[5].json()["data"];
    assert_eq!((updated["id"].as_str(), updated["policy_number"].as_str()), (Some(contract.as_str()), Some("PH-2")));
    assert_eq!(updated["insurer"], "HUK-COBURG");
    assert_eq!(updated["payment_frequency"], "annual");
    assert_eq!(updated["yearly_premium_cents"], 6000);
    assert_eq!(updated["sparte_code"], "040");
    assert_eq!(received[1].json()["data"]["customer_id"], max.as_str());
    assert_eq!(received[4].json()["data"]["body"], "Danke, wir melden den Schaden.");

    // The log shows each delivery with the receiver's answer.
    let page = broker.wait_for_webhook_page_count(&endpoint.id, "HTTP 200", 6).await;
    assert_eq!(page.matches("HTTP 200").count(), 6, "{page}");
    assert!(!page.contains("wird zugestellt"));
    app.stop().await;
}

async fn failed_deliveries_are_retried_with_backoff_and_redelivered_by_hand(backend: Backend) {
    let app = spawn(backend).await;
    let receiver = Receiver::start().await;
    receiver.answer_next(&[500, 503]);
    let broker = app.broker_session("Muster Makler", "erika@example.de").await;
    let endpoint = broker.register_webhook("MVP", &receiver.url, &["contract.created"]).await;
    let max = broker.create_customer("Max", "Mustermann", "max@example.de").await;
    broker.create_contract(&max, "Privathaftpflicht", "PH-1", "5,00", "monthly").await;

    // The first attempt fails; the next is due a minute later.
    receiver.wait_for(1).await;
    let first_at = app.timestamp();
    let page = broker.wait_for_webhook_page(&endpoint.id, "HTTP 500").await;
    let first_retry = format!("nächster Versuch: {}", berlin_time(first_at + 60));
    assert!(page.contains(&first_retry), "{page}");
    assert!(page.contains("receiver answered 500"), "the answer's start is shown");
    // A later event waits behind it: the receiver is asked once per retry, not once per event.
    broker.create_contract(&max, "Privathaftpflicht", "PH-2", "6,00", "monthly").await;
    let page = broker.webhook_page(&endpoint.id).await;
    assert_eq!(page.matches(&first_retry).count(), 2, "{page}");

    // The retry (the older event first) fails again; the next waits twice as long.
    app.advance_clock(Duration::seconds(61));
    let received = receiver.wait_for(2).await;
    assert_eq!(received[1].json()["id"], received[0].json()["id"]);
    let second_at = app.timestamp();
    let page = broker.wait_for_webhook_page(&endpoint.id, "HTTP 503").await;
    assert_eq!(page.matches(&format!("nächster Versuch: {}", berlin_time(second_at + 120))).count(), 2, "{page}");
    app.advance_clock(Duration::seconds(121));

    // Received at last, then the one that waited, in order.
    let received = receiver.wait_for(4).await;
    let policies: Vec<Value> = received.iter().map(|r| r.json()["data"]["policy_number"].clone()).collect();
    assert_eq!(policies, ["PH-1", "PH-1", "PH-1", "PH-2"]);
    let page = broker.wait_for_webhook_page_count(&endpoint.id, "HTTP 200", 2).await;
    assert_eq!(page.matches(">zugestellt<").count(), 2, "{page}");
    // Every attempt carries the same event, signed afresh.
    for request in &received {
        assert!(signature_valid(request.header("ordo-signature"), &endpoint.secret, &request.body));
    }

    // The owner sends the first one again by hand; the log says so.
    let deliveries = broker.webhook_deliveries(&endpoint.id).await;
    assert_eq!(deliveries.len(), 2);
    let again = broker.redeliver(&endpoint.id, &deliveries[1]).await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    assert!(location(&again).ends_with("?hinweis=erneut"));
    let received = receiver.wait_for(5).await;
    assert_eq!(received[4].json()["id"], received[0].json()["id"]);
    assert!(signature_valid(received[4].header("ordo-signature"), &endpoint.secret, &received[4].body));
    broker.wait_for_webhook_page(&endpoint.id, "(von Hand)").await;
    // A delivery that is not this endpoint's is not found.
    let unknown = broker.redeliver(&endpoint.id, "0190f5a3c2b47c3e8d1f2a3b4c5d6e7f").await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    app.stop().await;
}

async fn an_endpoint_failing_for_three_days_is_disabled_and_the_owner_told(backend: Backend) {
    let app = spawn(backend).await;
    let receiver = Receiver::start().await;
    receiver.answer_always(500);
    let broker = app.broker_session("Muster Makler", "erika@example.de").await;
    let endpoint = broker.register_webhook("MVP", &receiver.url, &["contract.created"]).await;
    let max = broker.create_customer("Max", "Mustermann", "max@example.de").await;
    broker.create_contract(&max, "Privathaftpflicht", "PH-1", "5,00", "monthly").await;
    receiver.wait_for(1).await;
    broker.wait_for_webhook_page(&endpoint.id, "HTTP 500").await;
    let page = broker.webhook_page(&endpoint.id).await;
    assert!(page.contains("Zustellungen scheitern seit"), "a failing endpoint says so: {page}");

    // Two days later it still fails, and is still tried.
    app.advance_clock(Duration::days(2));
    receiver.wait_for(2).await;
    let page = broker.wait_for_webhook_page_count(&endpoint.id, "HTTP 500", 2).await;
    assert!(page.contains("nächster Versuch") && !page.contains("deaktiviert seit"), "{page}");

    // Three days after the first failure, the next failure disables it and the owner is told.
    app.advance_clock(Duration::days(1) + Duration::minutes(1));
    receiver.wait_for(3).await;
    let page = broker.wait_for_webhook_page(&endpoint.id, "deaktiviert seit").await;
    assert!(page.contains("Seit drei Tagen schlägt jede Zustellung fehl (zuletzt: HTTP 500)."), "{page}");
    let mail = wait_for_mail(&app, "erika@example.de", "deaktiviert").await;
    assert!(mail.subject.contains("„MVP“"), "{}", mail.subject);
    assert!(mail.body.contains(&format!("/makler/webhooks/{}", endpoint.id)), "{}", mail.body);
    assert!(!mail.body.contains(&receiver.url) && !mail.body.contains(&endpoint.secret));

    // Disabled, it gets nothing new; enabled again, what waited is delivered.
    broker.create_contract(&max, "Privathaftpflicht", "PH-2", "6,00", "monthly").await;
    assert_eq!(broker.webhook_deliveries(&endpoint.id).await.len(), 1, "no delivery for a disabled endpoint");
    let page = format!("/makler/webhooks/{}", endpoint.id);
    let refused = broker.redeliver(&endpoint.id, &broker.webhook_deliveries(&endpoint.id).await[0]).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    receiver.answer_always(200);
    let enabled = broker.submit(&page, &format!("{page}/aktivieren"), &[]).await;
    assert_eq!(enabled.status(), StatusCode::SEE_OTHER);
    let received = receiver.wait_for(4).await;
    assert_eq!(received[3].json()["data"]["policy_number"], "PH-1");
    let page = broker.wait_for_webhook_page(&endpoint.id, ">zugestellt<").await;
    assert!(page.contains("id=\"state\">aktiv<"), "{page}");
    assert_eq!(receiver.received().len(), 4);
    app.stop().await;
}

async fn wait_for_mail(app: &TestApp, to: &str, subject: &str) -> ordo_tests::Mail {
    for _ in 0..600 {
        if let Some(mail) = app.mails().into_iter().find(|m| m.to.contains(to) && m.subject.contains(subject)) {
            return mail;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no mail to {to} about {subject}");
}

async fn pay_per_use_delivers_nothing_and_offers_the_upgrade(backend: Backend) {
    let app = spawn(backend).await;
    let receiver = Receiver::start().await;
    let broker = app.broker_session("Muster Makler", "erika@example.de").await;
    let endpoint = broker.register_webhook("MVP", &receiver.url, &["contract.created"]).await;
    set_plan(&app, &broker.slug(), "pay_per_use").await;

    // The page says why and where to upgrade; changes are refused.
    let (status, page) = broker.page("/makler/webhooks").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("PREMIUMstarter und PREMIUM") && page.contains("href=\"/makler/abrechnung\""), "{page}");
    assert!(!page.contains("Endpunkt einrichten</button>"), "no form on Pay-per-Use");
    let refused = broker.submit_webhook("Noch einer", &receiver.url, &["contract.created"]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    // An event on Pay-per-Use is not sent, not now and not after an upgrade.
    let max = broker.create_customer("Max", "Mustermann", "max@example.de").await;
    broker.create_contract(&max, "Privathaftpflicht", "PH-PPU", "5,00", "monthly").await;
    let page = broker.wait_for_webhook_page(&endpoint.id, "nicht gesendet (Tarif ohne Webhooks)").await;
    assert!(page.contains("href=\"/makler/abrechnung\""));
    set_plan(&app, &broker.slug(), "premium").await;
    broker.create_contract(&max, "Privathaftpflicht", "PH-PREMIUM", "5,00", "monthly").await;
    let received = receiver.wait_for(1).await;
    assert_eq!(received[0].json()["data"]["policy_number"], "PH-PREMIUM");
    broker.wait_for_webhook_page(&endpoint.id, "HTTP 200").await;
    assert_eq!(receiver.received().len(), 1, "the Pay-per-Use event never went out");
    app.stop().await;
}

async fn endpoints_must_be_public_https_addresses(backend: Backend) {
    // Without `webhooks_allow_loopback`, as in production.
    let app = TestApp::spawn(backend).await;
    let receiver = Receiver::start().await;
    let port = receiver.url.split(':').nth(2).unwrap().split('/').next().unwrap().to_owned();
    let broker = app.broker_session("Muster Makler", "erika@example.de").await;
    for (url, reason) in [
        (receiver.url.clone(), "Nur HTTPS-Adressen sind erlaubt."),
        (format!("https://127.0.0.1:{port}/hook"), "ist nicht öffentlich erreichbar"),
        (format!("https://localhost:{port}/hook"), "ist nicht öffentlich erreichbar"),
        ("https://169.254.169.254/latest/meta-data/".to_owned(), "ist nicht öffentlich erreichbar"),
        ("https://10.0.0.7/hook".to_owned(), "ist nicht öffentlich erreichbar"),
        ("https://[fd00::1]/hook".to_owned(), "ist nicht öffentlich erreichbar"),
        ("https://user:secret@mvp.example/hook".to_owned(), "keine Zugangsdaten"),
    ] {
        let response = broker.submit_webhook("MVP", &url, &["contract.created"]).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{url}");
        let html = response.text().await.unwrap();
        assert!(html.contains(reason) && html.contains("id=\"url-error\""), "{url}: {html}");
        assert!(html.contains("value=\"MVP\""), "what was typed stays");
    }
    let none = broker.submit_webhook("MVP", "https://mvp.example/hook", &[]).await;
    assert_eq!(none.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(none.text().await.unwrap().contains("mindestens ein Ereignis"));
    let (_, page) = broker.page("/makler/webhooks").await;
    assert!(page.contains("Noch kein Endpunkt eingerichtet."));

    // Customers have no business here.
    let max = broker.create_customer("Max", "Mustermann", "max@example.de").await;
    let customer = broker.invite(&app, &max, "max@example.de", "kunden passwort 1").await;
    assert_eq!(customer.page("/makler/webhooks").await.0, StatusCode::FORBIDDEN);
    assert!(receiver.received().is_empty());
    app.stop().await;
}
