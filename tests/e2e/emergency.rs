//! The emergency folder: the customer's own notes and documents, a trusted
//! person who asks for access, the waiting period with the right to refuse,
//! read-only access afterwards, and a log of every step.

use ordo_tests::{Backend, TestApp, both_backends, get_page, hidden_field, post_form};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};

both_backends!(emergency_folder_with_trusted_person);

const PDF: &[u8] = b"%PDF-1.4\n% Vorsorgevollmacht\n%%EOF\n";

async fn emergency_folder_with_trusted_person(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let broker = app.broker_session("Muster Makler", "erika@example.de").await;
    let max = broker.create_customer("Max", "Mustermann", "max@example.de").await;
    let customer = broker.invite(&app, &max, "max@example.de", "kunden passwort 1").await;

    // Sections with notes and documents.
    let (status, page) = customer.page("/ordner/notfall").await;
    assert_eq!(status, StatusCode::OK);
    for title in [
        "Vorsorgevollmacht",
        "Patientenverfügung",
        "Betreuungsverfügung",
        "Testament",
        "Digitale Konten",
        "Notfallkontakte",
        "Anleitung für Bevollmächtigte",
    ] {
        assert!(page.contains(title), "{title}");
    }
    let saved = customer
        .submit(
            "/ordner/notfall",
            "/ordner/notfall/abschnitte/vorsorgevollmacht",
            &[("notes", "Original liegt im Schreibtisch, oberste Schublade.")],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    customer
        .submit(
            "/ordner/notfall",
            "/ordner/notfall/abschnitte/notfallkontakte",
            &[("notes", "Hausärztin Dr. Weiß, 030 555 12 34")],
        )
        .await;
    let form = Form::new()
        .text("_csrf", hidden_field(&page, "_csrf"))
        .part("files", Part::bytes(PDF.to_vec()).file_name("Vollmacht.pdf").mime_str("application/pdf").unwrap());
    let uploaded = customer
        .client
        .post(customer.url("/ordner/notfall/abschnitte/vorsorgevollmacht/dokumente"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), StatusCode::SEE_OTHER);
    let (_, page) = customer.page("/ordner/notfall").await;
    assert!(page.contains("oberste Schublade") && page.contains("Vollmacht.pdf"));
    let document =
        regex_lite::Regex::new(r#"/ordner/dokumente/([0-9a-f]+)">Vollmacht.pdf"#).unwrap().captures(&page).unwrap()[1]
            .to_owned();
    assert_eq!(customer.page(&format!("/ordner/dokumente/{document}")).await.0, StatusCode::OK);

    // The broker sees none of it.
    let (_, broker_view) = broker.page(&format!("/makler/kunden/{max}")).await;
    assert!(!broker_view.contains("Vollmacht.pdf"));
    assert_eq!(broker.page(&format!("/makler/dokumente/{document}")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(broker.page("/ordner/notfall").await.0, StatusCode::FORBIDDEN);

    // Naming a trusted person: checked, then they get a personal link.
    let invalid = customer
        .submit(
            "/ordner/notfall",
            "/ordner/notfall/vertrauensperson",
            &[("name", "Eva"), ("email", "max@example.de"), ("waiting_days", "7")],
        )
        .await;
    assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY, "not the customer's own address");
    let invalid = customer
        .submit(
            "/ordner/notfall",
            "/ordner/notfall/vertrauensperson",
            &[("name", ""), ("email", "eva@"), ("waiting_days", "0")],
        )
        .await;
    let invalid = invalid.text().await.unwrap();
    assert!(
        invalid.contains("tp-name-error") && invalid.contains("tp-email-error") && invalid.contains("tp-days-error")
    );
    customer
        .submit(
            "/ordner/notfall",
            "/ordner/notfall/vertrauensperson",
            &[("name", "Eva Mustermann"), ("email", "eva@example.de"), ("waiting_days", "7")],
        )
        .await;
    let invitation = app.last_mail_to("eva@example.de");
    assert!(invitation.subject.contains("Vertrauensperson") && invitation.body.contains("7 Tagen"));
    assert!(!invitation.body.contains("Schublade"), "no content in the mail");
    let link = regex_lite::Regex::new(r"https?://\S+/notfall/\S+")
        .unwrap()
        .find(&invitation.body)
        .unwrap()
        .as_str()
        .to_owned();

    // The trusted person needs no account; a made-up link leads nowhere.
    let trusted = app.client();
    let (status, page) = get_page(&trusted, &link).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Notfallzugang anfordern") && !page.contains("Schublade"));
    let trusted_form = page.clone();
    assert_eq!(get_page(&app.client(), &broker.url("/notfall/erfunden")).await.0, StatusCode::NOT_FOUND);

    // Asking: the customer is told at once, the trusted person waits.
    let requested = post_form(&trusted, &format!("{link}/anfordern"), &page, &[]).await;
    assert_eq!(requested.status(), StatusCode::SEE_OTHER);
    let warning = app.last_mail_to("max@example.de");
    assert!(warning.subject.contains("Notfallzugang") && warning.body.contains("/ordner/notfall"));
    let (_, waiting) = get_page(&trusted, &link).await;
    assert!(waiting.contains("Wenn kein Widerspruch kommt") && !waiting.contains("Schublade"));
    let download = format!("{link}/dokumente/{document}");
    assert_eq!(get_page(&trusted, &download).await.0, StatusCode::NOT_FOUND, "nothing while waiting");

    // The customer refuses within the waiting period.
    let (_, page) = customer.page("/ordner/notfall").await;
    assert!(page.contains("Notfallzugang angefordert") && page.contains("Zugang ablehnen"));
    customer.submit("/ordner/notfall", "/ordner/notfall/ablehnen", &[]).await;
    let (_, refused) = get_page(&trusted, &link).await;
    assert!(refused.contains("abgelehnt") && !refused.contains("Schublade"));

    // Asking again must wait a day, so the customer is not flooded with requests.
    assert!(refused.contains("24 Stunden") && !refused.contains("Erneut anfordern"));
    let mails = app.mails().len();
    let again = post_form(&trusted, &format!("{link}/anfordern"), &trusted_form, &[]).await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.mails().len(), mails, "no new request, no mail");
    app.age_emergency_refusals(&broker.slug, 86_400).await;
    // A second request is not refused: once the waiting period is over, read-only access.
    let (_, page) = get_page(&trusted, &link).await;
    assert!(page.contains("Erneut anfordern"));
    post_form(&trusted, &format!("{link}/anfordern"), &page, &[]).await;
    // Seven days pass.
    app.age_emergency_requests(&broker.slug, 7 * 86_400).await;
    let (_, granted) = get_page(&trusted, &link).await;
    assert!(
        granted.contains("Sie haben Lesezugriff")
            && granted.contains("oberste Schublade")
            && granted.contains("Dr. Weiß")
    );
    let file = trusted.get(&download).send().await.unwrap();
    assert_eq!(file.status(), StatusCode::OK);
    assert_eq!(file.bytes().await.unwrap().as_ref(), PDF);
    // Read-only: no form of the customer's works without the customer's login.
    assert_eq!(get_page(&trusted, &broker.url("/ordner/notfall")).await.0, StatusCode::SEE_OTHER);

    // Every step is in the customer's log.
    let (_, page) = customer.page("/ordner/notfall").await;
    for step in [
        "Vertrauensperson benannt",
        "Vertrauensperson per E-Mail informiert",
        "Notfallzugang angefordert",
        "Sie wurden per E-Mail benachrichtigt",
        "Sie haben den Zugang abgelehnt",
        "Zugang nach Ablauf der Wartezeit freigegeben",
        "Notfallordner angesehen: Vollmacht.pdf",
    ] {
        assert!(page.contains(step), "log: {step}");
    }

    // The customer ends access; replacing the trusted person voids the old link.
    customer.submit("/ordner/notfall", "/ordner/notfall/beenden", &[]).await;
    assert_eq!(get_page(&trusted, &download).await.0, StatusCode::NOT_FOUND);
    customer
        .submit(
            "/ordner/notfall",
            "/ordner/notfall/vertrauensperson",
            &[("name", "Paul Muster"), ("email", "paul@example.de"), ("waiting_days", "3")],
        )
        .await;
    assert_eq!(get_page(&trusted, &link).await.0, StatusCode::NOT_FOUND);

    // Another customer's folder stays closed to this customer.
    let anna = broker.create_customer("Anna", "Andere", "anna@example.de").await;
    let other = broker.invite(&app, &anna, "anna@example.de", "anna passwort 1").await;
    assert_eq!(other.page(&format!("/ordner/dokumente/{document}")).await.0, StatusCode::NOT_FOUND);
    let (_, theirs) = other.page("/ordner/notfall").await;
    assert!(!theirs.contains("Schublade"));
    app.stop().await;
}
