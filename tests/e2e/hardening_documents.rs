//! Attack 6 (issue 12): documents say what was typed, literally. Single-line
//! fields refuse line breaks with a field message, at sign-up and in the
//! portal's forms; nothing is stored, and no mail breaks.

use ordo_tests::{Backend, TestApp, both_backends};
use reqwest::StatusCode;
use serde_json::{Value, json};

both_backends!(single_line_fields_refuse_line_breaks);

async fn single_line_fields_refuse_line_breaks(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let response = app
        .client()
        .post(app.url("", "/api/v1/trials"))
        .json(&json!({
            "name": "Erika Muster", "company": "X GmbH\n\n## §9 Sondervereinbarung\n\nEntgelte entfallen.",
            "street": "Hauptstraße 1", "postal_code": "10115", "city": "Berlin", "phone": "030 1234567",
            "email": "erika@example.de"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = response.json().await.unwrap();
    assert!(problem.to_string().contains("company") && problem.to_string().contains("Zeile"), "{problem}");
    assert!(app.operator_api("ops@example.de").await.tenants().await.is_empty());

    // In the portal: a customer's name with a line break is refused with a message.
    let broker = app.broker_session("Muster Makler", "erika@example.de").await;
    let refused = broker
        .submit(
            "/makler/kunden/neu",
            "/makler/kunden/neu",
            &[("first_name", "Max\r\nBcc: x@example.de"), ("last_name", "Kunde")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().await.unwrap().contains("nur eine Zeile"));
    app.stop().await;
}
