//! Plan limits: contacts and storage are enforced with a reason and without
//! losing input; usage is reported to the control plane over the internal API.

use ordo_tests::{Backend, Plan, TestApp, both_backends, hidden_field};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::Value;

both_backends!(plan_limits_are_enforced_and_usage_reported);

const PDF: &[u8] = b"%PDF-1.4\n%%EOF\n";

async fn plan_limits_are_enforced_and_usage_reported(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let broker = app.broker_session("Muster Makler", "erika@example.de").await;
    let slug = broker.slug.clone();

    // The control plane moves the tenant to PREMIUMstarter; the running portal follows.
    app.set_plan(&broker.tenant_id, Plan::PremiumStarter, false).await;

    // 100 contacts (99 made directly in the portal's database, one through the form).
    let direct = app.add_customers_directly(&slug, "Voll", 99).await;
    let hundredth = broker.create_customer("Hundert", "Voll", "hundert@example.de").await;

    // The 101st is refused with the reason and a way out; the input stays.
    let refused = broker
        .submit(
            "/makler/kunden/neu",
            "/makler/kunden/neu",
            &[("first_name", "Einhunderteins"), ("last_name", "Zuviel")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = refused.text().await.unwrap();
    assert!(page.contains("bis zu 100 Kontakte") && page.contains("PREMIUM"), "{page}");
    assert!(page.contains("value=\"Einhunderteins\""), "nothing typed is lost");

    // Archiving one frees a place; restoring it while full is refused.
    let customer_page = format!("/makler/kunden/{hundredth}");
    broker.submit(&customer_page, &format!("{customer_page}/archivieren"), &[]).await;
    let created = broker
        .submit("/makler/kunden/neu", "/makler/kunden/neu", &[("first_name", "Neu"), ("last_name", "Platz")])
        .await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let restore = broker.submit(&customer_page, &format!("{customer_page}/reaktivieren"), &[]).await;
    assert_eq!(restore.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(restore.text().await.unwrap().contains("bis zu 100 Kontakte"));

    // Storage: with 1 GB all but 10 bytes used, a 15-byte PDF does not fit.
    let (_, page) = broker.page(&customer_page).await;
    let gib: i64 = 1024 * 1024 * 1024;
    app.record_document_without_content(&slug, &hundredth, gib - 10).await;
    let form = Form::new()
        .text("_csrf", hidden_field(&page, "_csrf"))
        .part("files", Part::bytes(PDF.to_vec()).file_name("neu.pdf").mime_str("application/pdf").unwrap());
    let upload =
        broker.client.post(broker.url(&format!("{customer_page}/dokumente"))).multipart(form).send().await.unwrap();
    assert_eq!(upload.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = upload.text().await.unwrap();
    assert!(page.contains("Speicherplatz") && page.contains("1 GB"), "{page}");
    assert!(!page.contains(">neu.pdf<"), "nothing stored");

    // A customer's photos are refused politely too; their text stays in the form.
    let k0 = format!("/makler/kunden/{}", direct[0]);
    let archived = broker.submit(&k0, &format!("{k0}/archivieren"), &[]).await;
    assert_eq!(archived.status(), StatusCode::SEE_OTHER);
    let max = broker.create_customer("Max", "Mustermann", "max@example.de").await;
    let customer = broker.invite(&app, &max, "max@example.de", "kunden passwort 1").await;
    let (_, form_page) = customer.page("/ordner/nachrichten/neu").await;
    let form = Form::new()
        .text("_csrf", hidden_field(&form_page, "_csrf"))
        .text("category", "claim")
        .text("body", "Sturmschaden am Dach")
        .part(
            "photos",
            Part::bytes(vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).file_name("dach.jpg"),
        );
    let sent = customer.client.post(customer.url("/ordner/nachrichten")).multipart(form).send().await.unwrap();
    assert_eq!(sent.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = sent.text().await.unwrap();
    assert!(page.contains("Fotos können gerade nicht gespeichert werden") && page.contains("Sturmschaden am Dach"));

    // The internal usage API: only with the tenant's internal token.
    let usage_url = broker.url("/internal/usage");
    assert_eq!(app.client().get(&usage_url).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.client().get(&usage_url).bearer_auth("guess").send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let token = app.internal_token(&broker.tenant_id).await;
    let report: Value = app.client().get(&usage_url).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert_eq!(report["plan"], "premium_starter");
    assert_eq!(report["limits"]["max_contacts"], 100);
    assert_eq!(report["usage"]["contacts"], 100, "{report}");
    assert_eq!(report["usage"]["stored_bytes"], gib - 10);
    // Another tenant's token opens nothing here.
    let other = app.broker_session("Andere Makler", "andere@example.de").await;
    let other_token = app.internal_token(&other.tenant_id).await;
    assert_eq!(
        app.client().get(&usage_url).bearer_auth(&other_token).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    app.stop().await;
}
