//! The broker's customers: edit, search and page, households, archive, portal
//! access (resend, revoke), and editing contracts.

use ordo_tests::{Backend, OperatorApi, TestApp, both_backends, get_page, location, log_in, set_password_via_link};
use reqwest::StatusCode;

both_backends!(broker_manages_customers_and_access, search_finds_by_name_email_and_policy_and_pages);

/// The tenant's contacts, as the operator API reports them.
async fn contacts(api: &OperatorApi, tenant_id: &str) -> i64 {
    api.tenant(tenant_id).await["contact_count"].as_i64().expect("a contact count")
}

async fn broker_manages_customers_and_access(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let broker = app.broker_session("Muster Makler", "erika@example.de").await;
    let api = app.operator_api("ops@example.de").await;
    let max = broker.create_customer("Max", "Mustermann", "max@example.de").await;
    let anna = broker.create_customer("Anna", "Mustermann", "anna@example.de").await;
    assert_eq!(contacts(&api, &broker.tenant_id).await, 2);

    // Resending an invitation: only the newest link works.
    let page = format!("/makler/kunden/{max}");
    broker.submit(&page, &format!("{page}/einladen"), &[]).await;
    let first_link = app.last_mail_to("max@example.de").password_link();
    broker.submit(&page, &format!("{page}/einladen"), &[]).await;
    let second_link = app.last_mail_to("max@example.de").password_link();
    assert_ne!(first_link, second_link);
    assert_eq!(get_page(&app.client(), &first_link).await.0, StatusCode::NOT_FOUND);
    let max_browser = app.client();
    set_password_via_link(&max_browser, &second_link, "max passwort 123").await;

    // Editing master data; the login follows a changed address.
    let invalid = broker
        .submit(
            &format!("{page}/bearbeiten"),
            &format!("{page}/bearbeiten"),
            &[("first_name", "Max"), ("last_name", ""), ("email", "")],
        )
        .await;
    assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let invalid = invalid.text().await.unwrap();
    assert!(
        invalid.contains("id=\"last_name-error\"") && invalid.contains("id=\"email-error\""),
        "a customer with a login keeps an address"
    );
    let taken = broker
        .submit(
            &format!("{page}/bearbeiten"),
            &format!("{page}/bearbeiten"),
            &[("first_name", "Max"), ("last_name", "Mustermann"), ("email", "erika@example.de")],
        )
        .await;
    assert_eq!(taken.status(), StatusCode::UNPROCESSABLE_ENTITY, "the broker's own address is taken");
    let saved = broker
        .submit(
            &format!("{page}/bearbeiten"),
            &format!("{page}/bearbeiten"),
            &[
                ("first_name", "Maximilian"),
                ("last_name", "Mustermann"),
                ("email", "maximilian@example.de"),
                ("city", "Potsdam"),
            ],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let (_, detail) = broker.page(&page).await;
    assert!(detail.contains("Maximilian Mustermann") && detail.contains("Potsdam"));
    assert_eq!(
        log_in(&app.client(), &broker.origin, "maximilian@example.de", "max passwort 123").await.status(),
        StatusCode::SEE_OTHER
    );

    // Households: a new one for Max, then Anna joins it.
    let household = broker
        .submit(&page, &format!("{page}/haushalt"), &[("household", "neu"), ("new_name", "Familie Mustermann")])
        .await;
    assert_eq!(household.status(), StatusCode::SEE_OTHER);
    let (_, anna_page) = broker.page(&format!("/makler/kunden/{anna}")).await;
    let household_id = ordo_tests::option_value(&anna_page, "Familie Mustermann");
    broker
        .submit(
            &format!("/makler/kunden/{anna}"),
            &format!("/makler/kunden/{anna}/haushalt"),
            &[("household", household_id.as_str())],
        )
        .await;
    let (_, detail) = broker.page(&page).await;
    assert!(
        detail.contains("Familie Mustermann") && detail.contains(&format!("href=\"/makler/kunden/{anna}\"")),
        "members listed"
    );

    // Contracts are edited by the broker; the customer sees the new figures.
    broker.create_contract(&max, "Privathaftpflicht", "PH-1", "5,00", "monthly").await;
    let (_, detail) = broker.page(&page).await;
    let contract =
        regex_lite::Regex::new(r#"href="/makler/vertraege/([0-9a-f]+)""#).unwrap().captures(&detail).unwrap()[1]
            .to_owned();
    let (status, form) = broker.page(&format!("/makler/vertraege/{contract}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains("value=\"5,00\"") && form.contains("value=\"PH-1\""), "the form shows the contract");
    let produkt = ordo_tests::option_value(&form, "Privathaftpflicht");
    let edited = ordo_tests::post_form(
        &broker.client,
        &broker.url(&format!("/makler/vertraege/{contract}")),
        &form,
        &[
            ("produkt_id", produkt.as_str()),
            ("insurer", "HUK-COBURG"),
            ("policy_number", "PH-2"),
            ("premium", "60"),
            ("payment_frequency", "annual"),
            ("start_date", "2025-02-01"),
            ("status", "active"),
        ],
    )
    .await;
    assert_eq!(edited.status(), StatusCode::SEE_OTHER);
    let (_, folder) = get_page(&max_browser, &broker.url("/ordner")).await;
    assert!(folder.contains("HUK-COBURG") && folder.contains("PH-2") && folder.contains("60,00 € im Jahr"), "{folder}");
    // Customers never edit contracts.
    assert_eq!(
        get_page(&max_browser, &broker.url(&format!("/makler/vertraege/{contract}"))).await.0,
        StatusCode::FORBIDDEN
    );

    // Revoking access ends the session at once; a new invitation restores it.
    broker.submit(&page, &format!("{page}/zugang-entziehen"), &[]).await;
    let (status, _) = get_page(&max_browser, &broker.url("/ordner")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        log_in(&app.client(), &broker.origin, "maximilian@example.de", "max passwort 123").await.status(),
        StatusCode::UNAUTHORIZED
    );

    // Archiving: no longer a contact, out of the list, in the archive; data kept.
    let archived = broker.submit(&page, &format!("{page}/archivieren"), &[]).await;
    assert!(location(&archived).contains("hinweis=archiviert"));
    assert_eq!(contacts(&api, &broker.tenant_id).await, 1);
    let (_, list) = broker.page("/makler/kunden").await;
    assert!(!list.contains("Maximilian"));
    let (_, archive) = broker.page("/makler/kunden?archiv=1").await;
    assert!(archive.contains("Maximilian"));
    let refused = broker.submit(&page, &format!("{page}/einladen"), &[]).await;
    assert!(location(&refused).contains("archiviert-einladung"));
    broker.submit(&page, &format!("{page}/reaktivieren"), &[]).await;
    assert_eq!(contacts(&api, &broker.tenant_id).await, 2);
    let (_, detail) = broker.page(&page).await;
    assert!(detail.contains("PH-2"), "contracts survive archiving");
    app.stop().await;
}

async fn search_finds_by_name_email_and_policy_and_pages(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let broker = app.broker_session("Muster Makler", "erika@example.de").await;
    for i in 0..52 {
        broker.create_customer(&format!("Kunde{i:02}"), "Reihe", &format!("kunde{i:02}@example.de")).await;
    }
    let special = broker.create_customer("Zora", "Zündel", "zora@beispiel.de").await;
    broker.create_contract(&special, "Hausratversicherung", "HR-777-X", "9,90", "monthly").await;

    let (_, first) = broker.page("/makler/kunden").await;
    assert_eq!(first.matches("<tr>").count() - 1, 50, "50 per page");
    assert!(first.contains("seite=2"));
    let (_, second) = broker.page("/makler/kunden?seite=2").await;
    assert_eq!(second.matches("<tr>").count() - 1, 3);
    assert!(!second.contains("seite=3"));

    for query in ["zündel", "ZORA", "beispiel.de", "hr-777", "777-x"] {
        let (_, found) = broker.page(&format!("/makler/kunden?q={}", urlencode(query))).await;
        assert!(found.contains("Zündel, Zora"), "search {query}");
        assert!(!found.contains("Kunde01"), "search {query} is narrow");
    }
    // Wildcards in the query are taken literally.
    let (_, none) = broker.page("/makler/kunden?q=%25").await;
    assert!(none.contains("Keine Treffer"));
    app.stop().await;
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
