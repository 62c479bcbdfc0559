//! Messages: the customer writes with photos, the broker works the inbox and
//! replies; both are notified by e-mail with a link, never the content.

use ordo_tests::{Backend, PortalSession, TestApp, both_backends, hidden_field, location};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};

both_backends!(customer_and_broker_exchange_messages_with_photos);

const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0xFF, 0xD9];
const PNG: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D, b'I', b'H', b'D', b'R'];

fn photo(name: &str, bytes: &[u8]) -> Part {
    Part::bytes(bytes.to_vec()).file_name(name.to_owned()).mime_str("image/jpeg").unwrap()
}

async fn send(session: &PortalSession, path: &str, form: Form) -> reqwest::Response {
    session.client.post(session.url(path)).multipart(form).send().await.unwrap()
}

async fn customer_and_broker_exchange_messages_with_photos(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let broker = app.broker_session("Muster Makler", "erika@example.de").await;
    let max = broker.create_customer("Max", "Mustermann", "max@example.de").await;
    broker.create_contract(&max, "Hausratversicherung", "HR-1", "9,90", "monthly").await;
    let anna = broker.create_customer("Anna", "Andere", "anna@example.de").await;
    broker.create_contract(&anna, "Privathaftpflicht", "PH-ANNA", "5,00", "monthly").await;
    let customer = broker.invite(&app, &max, "max@example.de", "kunden passwort 1").await;
    let other = broker.invite(&app, &anna, "anna@example.de", "anna passwort 1").await;
    let (_, anna_form) = other.page("/ordner/nachrichten/neu").await;
    let anna_contract = ordo_tests::option_value(&anna_form, "Haftpflicht · Allianz · PH-ANNA");

    // The form offers the phone camera for several photos.
    let (status, form_page) = customer.page("/ordner/nachrichten/neu?kategorie=claim").await;
    assert_eq!(status, StatusCode::OK);
    assert!(form_page.contains(r#"accept="image/*" capture="environment" multiple"#));
    assert!(form_page.contains(r#"<option value="claim" selected>"#), "category preset from the link");
    let csrf = hidden_field(&form_page, "_csrf");
    let own_contract = ordo_tests::option_value(&form_page, "Verbundene Hausrat · Allianz · HR-1");

    // Mistakes are explained and the text is kept; nothing is sent.
    let mails_before = app.mails().len();
    let bad = Form::new()
        .text("_csrf", csrf.clone())
        .text("category", "contract_question")
        .text("contract_id", anna_contract.clone())
        .text("body", "Wasserschaden <b>Küche</b>")
        .part("photos", photo("schaden.jpg", JPEG))
        .part("photos", photo("trick.jpg", b"<script>alert(1)</script>"));
    let response = send(&customer, "/ordner/nachrichten", bad).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(html.contains("id=\"contract_id-error\""), "another customer's contract is refused");
    assert!(html.contains("trick.jpg") && html.contains("noch einmal aus"));
    assert!(html.contains("Wasserschaden &#60;b&#62;Küche&#60;/b&#62;"), "text kept, as text");
    assert_eq!(app.mails().len(), mails_before);

    // A claim with two photos goes to the broker; the mail carries only a link.
    let good = Form::new()
        .text("_csrf", csrf.clone())
        .text("category", "claim")
        .text("contract_id", own_contract.clone())
        .text("body", "Wasserschaden in der Küche <script>alert(1)</script>")
        .part("photos", photo("schaden1.jpg", JPEG))
        .part("photos", photo("schaden2.png", PNG));
    let response = send(&customer, "/ordner/nachrichten", good).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/ordner/nachrichten?hinweis=gesendet");
    let mail = app.last_mail_to("erika@example.de");
    assert!(mail.subject.contains("Schadenmeldung") && mail.subject.contains("Max Mustermann"), "{}", mail.subject);
    assert!(!mail.body.contains("Wasserschaden"), "no content in mails");
    let thread_link = mail.link();
    let thread_id = thread_link.rsplit('/').next().unwrap().to_owned();

    // The broker's inbox shows it as new; the thread shows text and photos.
    let (_, inbox) = broker.page("/makler/posteingang").await;
    assert!(inbox.contains("Max Mustermann") && inbox.contains("Schadenmeldung") && inbox.contains(">neu<"));
    let (status, thread) = broker.page(&format!("/makler/posteingang/{thread_id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(thread.contains("Wasserschaden in der Küche &#60;script&#62;"), "shown as text");
    let photos: Vec<String> = regex_lite::Regex::new(r#"<img src="/makler/dokumente/([0-9a-f]+)""#)
        .unwrap()
        .captures_iter(&thread)
        .map(|c| c[1].to_owned())
        .collect();
    assert_eq!(photos.len(), 2);
    let image = broker.client.get(broker.url(&format!("/makler/dokumente/{}", photos[0]))).send().await.unwrap();
    assert_eq!(image.bytes().await.unwrap().as_ref(), JPEG);

    // The broker answers: in progress, and the customer is told by mail.
    let empty = broker
        .submit(
            &format!("/makler/posteingang/{thread_id}"),
            &format!("/makler/posteingang/{thread_id}"),
            &[("body", " ")],
        )
        .await;
    assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let answered = broker
        .submit(
            &format!("/makler/posteingang/{thread_id}"),
            &format!("/makler/posteingang/{thread_id}"),
            &[("body", "Ich melde den Schaden heute beim Versicherer.")],
        )
        .await;
    assert_eq!(answered.status(), StatusCode::SEE_OTHER);
    let to_customer = app.last_mail_to("max@example.de");
    assert!(to_customer.body.contains(&format!("/ordner/nachrichten/{thread_id}")));
    assert!(!to_customer.body.contains("Versicherer"), "no content in mails");
    let (_, inbox) = broker.page("/makler/posteingang").await;
    assert!(inbox.contains("in Bearbeitung"));

    // The customer reads the answer and the photos, and replies; the thread is new again.
    let (_, seen) = customer.page(&format!("/ordner/nachrichten/{thread_id}")).await;
    assert!(seen.contains("Ich melde den Schaden heute beim Versicherer."));
    assert_eq!(customer.page(&format!("/ordner/dokumente/{}", photos[1])).await.0, StatusCode::OK);
    let reply = Form::new().text("_csrf", hidden_field(&seen, "_csrf")).text("body", "Danke!");
    assert_eq!(
        send(&customer, &format!("/ordner/nachrichten/{thread_id}"), reply).await.status(),
        StatusCode::SEE_OTHER
    );
    let (_, inbox) = broker.page("/makler/posteingang?status=new").await;
    assert!(inbox.contains("Max Mustermann"));

    // Done: out of the open view, in the done view.
    broker
        .submit(
            &format!("/makler/posteingang/{thread_id}"),
            &format!("/makler/posteingang/{thread_id}/status"),
            &[("status", "done")],
        )
        .await;
    let (_, open) = broker.page("/makler/posteingang").await;
    assert!(!open.contains("Max Mustermann"));
    let (_, done) = broker.page("/makler/posteingang?status=done").await;
    assert!(done.contains("Max Mustermann") && done.contains("erledigt"));

    // Nobody else reads it.
    assert_eq!(other.page(&format!("/ordner/nachrichten/{thread_id}")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(other.page(&format!("/ordner/dokumente/{}", photos[0])).await.0, StatusCode::NOT_FOUND);
    assert_eq!(customer.page("/makler/posteingang").await.0, StatusCode::FORBIDDEN);
    let (_, their_list) = other.page("/ordner/nachrichten").await;
    assert!(!their_list.contains(&thread_id));
    app.stop().await;
}
