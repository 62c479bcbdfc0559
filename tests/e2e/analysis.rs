//! The needs analysis: the customer's situation against the broker's rules and
//! the customer's contracts; the broker edits rules and texts.

use ordo_tests::{Backend, TestApp, both_backends, location};
use reqwest::StatusCode;

both_backends!(analysis_shows_covered_missing_and_review);

async fn analysis_shows_covered_missing_and_review(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let broker = app.broker_session("Muster Makler", "erika@example.de").await;
    let max = broker.create_customer("Max", "Mustermann", "max@example.de").await;
    broker.create_contract(&max, "Privathaftpflicht", "PH-1", "5,00", "monthly").await;
    // A household contract from 2015: covered, but worth a review after five years.
    let (_, form) = broker.page(&format!("/makler/kunden/{max}/vertraege/neu")).await;
    let hausrat = ordo_tests::option_value(&form, "Hausratversicherung");
    ordo_tests::post_form(
        &broker.client,
        &broker.url(&format!("/makler/kunden/{max}/vertraege/neu")),
        &form,
        &[
            ("produkt_id", hausrat.as_str()),
            ("insurer", "Alt AG"),
            ("policy_number", "HR-2015"),
            ("premium", "60"),
            ("payment_frequency", "annual"),
            ("start_date", "2015-03-01"),
            ("status", "active"),
        ],
    )
    .await;
    let customer = broker.invite(&app, &max, "max@example.de", "kunden passwort 1").await;

    // Before the customer says anything, there is a form and no verdict.
    let (status, page) = customer.page("/ordner/analyse").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains("Ihr Ergebnis"));
    for label in [
        "Ich lebe",
        "Kinder im Haushalt",
        "Beruflich bin ich",
        "Ich wohne",
        "Ich habe ein Auto",
        "Ich habe ein Haustier",
    ] {
        assert!(page.contains(label), "{label}");
    }
    let invalid =
        customer.submit("/ordner/analyse", "/ordner/analyse", &[("household", "family"), ("children", "-2")]).await;
    assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(invalid.text().await.unwrap().contains("id=\"children-error\""));

    // A family of four, employed, renting, with a car.
    let saved = customer
        .submit(
            "/ordner/analyse",
            "/ordner/analyse",
            &[
                ("household", "family"),
                ("children", "2"),
                ("employment", "employed"),
                ("housing", "tenant"),
                ("has_car", "1"),
            ],
        )
        .await;
    assert_eq!(location(&saved), "/ordner/analyse#ergebnis");
    let (_, page) = customer.page("/ordner/analyse").await;
    let finding = |name: &str| -> Option<String> {
        let start = page.find(&format!("<h3>{name} <span class=\"status "))?;
        let rest = &page[start..];
        Some(rest[rest.find("status ").unwrap() + 7..].split('"').next().unwrap().to_owned())
    };
    assert_eq!(finding("Haftpflicht").as_deref(), Some("covered"));
    assert_eq!(finding("Verbundene Hausrat").as_deref(), Some("review"));
    assert_eq!(finding("Arbeitskraftabsicherung").as_deref(), Some("missing"));
    assert_eq!(finding("Hinterbliebenenvorsorge").as_deref(), Some("missing"));
    assert_eq!(finding("Kraftfahrt").as_deref(), Some("missing"));
    assert_eq!(finding("Verbundene Wohngebäude"), None, "tenants need no building insurance");
    assert_eq!(finding("Tierkranken"), None);
    assert!(page.contains("Jeder Vierte wird vor der Rente berufsunfähig"), "the broker's text");

    // Each open point leads to a prepared message to the broker.
    let link = regex_lite::Regex::new(
        r#"href="(/ordner/nachrichten/neu\?kategorie=contract_question&#38;vertrag=[0-9a-f]+&#38;text=[^"]+)""#,
    )
    .unwrap()
    .captures(&page)
    .expect("a review finding links to a message about the contract")[1]
        .replace("&#38;", "&");
    let (status, message_form) = customer.page(&link).await;
    assert_eq!(status, StatusCode::OK);
    assert!(message_form.contains("Bitte prüfen Sie meinen Vertrag in der Sparte Verbundene Hausrat."));
    assert!(message_form.contains(r#"<option value="contract_question" selected>"#));

    // The broker rewrites a text and adds a rule; the customer sees both.
    let (_, rules) = broker.page("/makler/analyse").await;
    let rule = regex_lite::Regex::new(r#"href="/makler/analyse/regeln/([0-9a-f]+)">Arbeitskraftabsicherung"#)
        .unwrap()
        .captures(&rules)
        .unwrap()[1]
        .to_owned();
    let (_, rule_form) = broker.page(&format!("/makler/analyse/regeln/{rule}")).await;
    let sparte = ordo_tests::option_value(&rule_form, "Arbeitskraftabsicherung");
    let updated = broker
        .submit(
            &format!("/makler/analyse/regeln/{rule}"),
            &format!("/makler/analyse/regeln/{rule}"),
            &[
                ("sparte_id", sparte.as_str()),
                ("situation", "earning"),
                ("text", "Sichern Sie Ihr Einkommen ab, wir beraten Sie gern."),
                ("review_after_years", ""),
            ],
        )
        .await;
    assert_eq!(updated.status(), StatusCode::SEE_OTHER);
    let rechtsschutz = ordo_tests::option_value(&rule_form, "Rechtsschutz");
    let bad = broker
        .submit(
            "/makler/analyse",
            "/makler/analyse",
            &[("sparte_id", rechtsschutz.as_str()), ("situation", "car"), ("text", "")],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let tier = ordo_tests::option_value(&rule_form, "Tierkranken");
    broker
        .submit(
            "/makler/analyse",
            "/makler/analyse",
            &[
                ("sparte_id", tier.as_str()),
                ("situation", "children"),
                ("text", "Kinder wünschen sich oft ein Haustier: denken Sie an die Tierarztkosten."),
            ],
        )
        .await;
    let (_, page) = customer.page("/ordner/analyse").await;
    assert!(page.contains("Sichern Sie Ihr Einkommen ab, wir beraten Sie gern."));
    assert!(page.contains("denken Sie an die Tierarztkosten"));

    // The broker sees the same findings on the customer page; customers cannot edit rules.
    let (_, customer_page) = broker.page(&format!("/makler/kunden/{max}")).await;
    assert!(customer_page.contains("Handlungsbedarf") && customer_page.contains("fehlt"));
    assert_eq!(customer.page("/makler/analyse").await.0, StatusCode::FORBIDDEN);
    app.stop().await;
}
