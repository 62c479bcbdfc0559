//! Customers can switch their portal to English; German is the default, and the
//! broker's pages stay German.

use ordo_tests::{Backend, TestApp, both_backends, location};
use reqwest::StatusCode;

both_backends!(customers_can_read_their_portal_in_english);

async fn customers_can_read_their_portal_in_english(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let broker = app.broker_session("Muster Makler", "erika@example.de").await;
    let max = broker.create_customer("Max", "Mustermann", "max@example.de").await;
    broker.create_contract(&max, "Privathaftpflicht", "PH-1", "5,00", "monthly").await;
    let customer = broker.invite(&app, &max, "max@example.de", "kunden passwort 1").await;

    let (_, folder) = customer.page("/ordner").await;
    assert!(folder.contains("<html lang=\"de\">") && folder.contains("Mein Versicherungsordner"));
    assert!(folder.contains("href=\"/sprache/en\""), "the switch is offered");

    // Switching goes back to the page it was made on, and only ever to a path.
    let switched = customer
        .client
        .get(customer.url("/sprache/en"))
        .header("referer", customer.url("/ordner"))
        .send()
        .await
        .unwrap();
    assert_eq!(switched.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&switched), "/ordner");
    let evil = customer
        .client
        .get(customer.url("/sprache/en"))
        .header("referer", "https://evil.example//steal")
        .send()
        .await
        .unwrap();
    assert_eq!(location(&evil), "/", "a referer that is no plain path leads home");
    assert_eq!(customer.page("/sprache/fr").await.0, StatusCode::NOT_FOUND);

    let (_, folder) = customer.page("/ordner").await;
    assert!(folder.contains("<html lang=\"en\">"));
    assert!(
        folder.contains("My insurance folder") && folder.contains("per year") && folder.contains("monthly"),
        "{folder}"
    );
    assert!(!folder.contains("Mein Versicherungsordner"));
    let (_, analysis) = customer.page("/ordner/analyse").await;
    assert!(analysis.contains("Where is action needed?") && analysis.contains("as a family"));
    let (_, emergency) = customer.page("/ordner/notfall").await;
    assert!(emergency.contains("My emergency folder") && emergency.contains("Power of attorney"));
    let (_, new_message) = customer.page("/ordner/nachrichten/neu").await;
    assert!(new_message.contains("What is it about?") && new_message.contains("Claim report"));
    // Form errors too.
    let invalid = customer.submit("/ordner/analyse", "/ordner/analyse", &[("children", "x")]).await;
    assert!(invalid.text().await.unwrap().contains("Please enter a number between 0 and 20."));

    // The broker's own pages stay German even with the cookie set.
    let english_broker = broker.client.get(broker.url("/sprache/en")).send().await.unwrap();
    assert_eq!(english_broker.status(), StatusCode::SEE_OTHER);
    let (_, customers) = broker.page("/makler/kunden").await;
    assert!(customers.contains("Neuer Kunde"));

    // And back.
    customer.client.get(customer.url("/sprache/de")).send().await.unwrap();
    let (_, folder) = customer.page("/ordner").await;
    assert!(folder.contains("Mein Versicherungsordner"));
    app.stop().await;
}
