//! The tenant REST API as an MVP script uses it: keys from the broker's page and
//! from the operator, who may call what, every resource's happy path and its
//! refusals (all RFC 9457 problem bodies), pages with cursors, idempotent
//! retries and the rate limit.

use ordo_tests::tenant_api::{ApiClient, broker_key, contract, operator_key, operator_token, order_plan};
use ordo_tests::{Backend, TestApp, both_backends, hidden_field};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

both_backends!(
    keys_decide_who_may_call_the_api,
    customers_and_households_through_the_api,
    contracts_through_the_api,
    lists_page_with_cursors_and_posts_retry_safely,
    documents_and_messages_through_the_api,
    the_operator_makes_a_key_for_an_integration,
    a_locked_portal_answers_the_api_with_a_problem,
);

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n";

/// The portal's audit trail, read from its database (no page shows it yet).
async fn audit_actions(app: &TestApp, tenant_id: &str) -> Vec<(String, String)> {
    let running = app.state.registry.by_tenant_id(tenant_id).expect("portal running");
    let (entries, _) = tenant_app::audit::page(running.portal.db(), 1, 100).await.unwrap();
    entries.into_iter().map(|e| (e.action, e.actor_name)).collect()
}

async fn tenant_id(app: &TestApp, slug: &str) -> String {
    control_plane::tenants::find_by_slug(&app.state.db, slug).await.unwrap().unwrap().id
}

async fn keys_decide_who_may_call_the_api(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("api_requests_per_minute", "40")]).await;
    let broker = app.broker_session("Muster Makler", "erika@example.de").await;
    let other = app.broker_session("Andere Makler", "otto@example.de").await;

    // The page explains keys and offers both scopes; nothing is listed yet.
    let (status, page) = broker.page("/makler/schnittstellen").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Noch keine Schlüssel") && page.contains("/api/v1/openapi.json"), "{page}");
    let (_, customers) = broker.page("/makler/kunden").await;
    assert!(customers.contains(r#"href="/makler/schnittstellen""#), "linked from the navigation");
    let bad =
        broker.submit("/makler/schnittstellen", "/makler/schnittstellen", &[("name", " "), ("scope", "read")]).await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text().await.unwrap().contains("id=\"name-error\""));

    let write = broker_key(&broker, "MVP", "write").await;
    let read = broker_key(&broker, "Auswertung", "read").await;
    let foreign = broker_key(&other, "Fremd", "write").await;
    let api = ApiClient::new(&app, &broker.origin, &write);
    let (_, page) = broker.page("/makler/schnittstellen").await;
    assert!(!page.contains(&write), "a key is shown only once");
    assert!(page.contains("MVP") && page.contains("lesen und schreiben") && page.contains("noch nie"), "{page}");

    // Missing, wrong and another tenant's keys: 401 with a problem body.
    let anonymous = app.client().get(api.url("/customers")).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous.headers()["www-authenticate"], "Bearer");
    assert_eq!(anonymous.headers()["content-type"], "application/problem+json");
    api.with_key("ordo_tk_wrong").get("/customers").await.assert_problem(StatusCode::UNAUTHORIZED);
    api.with_key(&foreign).get("/customers").await.assert_problem(StatusCode::UNAUTHORIZED);
    assert_eq!(ApiClient::new(&app, &other.origin, &foreign).get("/customers").await.status, StatusCode::OK);

    // A read key reads and may not write.
    let reader = api.with_key(&read);
    assert_eq!(reader.get("/customers").await.status, StatusCode::OK);
    let refused = reader.post("/customers", &json!({"first_name": "Max", "last_name": "Muster"})).await;
    assert!(refused.assert_problem(StatusCode::FORBIDDEN)["detail"].as_str().unwrap().contains("read"));
    api.create_customer("Max", "Muster", None).await;
    let (_, page) = broker.page("/makler/schnittstellen").await;
    assert_eq!(page.matches("noch nie").count(), 0, "both keys show when they were last used: {page}");

    // The rate limit: 40 a minute per key, then 429 with Retry-After; other keys go on.
    let mut limited = None;
    for _ in 0..45 {
        let answer = reader.get("/catalog").await;
        if answer.status == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(answer);
            break;
        }
    }
    let limited = limited.expect("the limit was reached");
    limited.assert_problem(StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = limited.header("retry-after").expect("Retry-After").parse().unwrap();
    assert!((1..=60).contains(&retry_after));
    assert_eq!(api.get("/catalog").await.status, StatusCode::OK, "each key has its own window");

    // Revoked keys stop working at once; creation and revocation are audited.
    let (_, page) = broker.page("/makler/schnittstellen").await;
    let revoke = regex_lite::Regex::new(r#"action="(/makler/schnittstellen/[0-9a-f]+/widerrufen)""#).unwrap();
    let first = revoke.captures_iter(&page).last().expect("a revoke button")[1].to_owned();
    let revoked = broker.submit("/makler/schnittstellen", &first, &[]).await;
    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
    api.get("/customers").await.assert_problem(StatusCode::UNAUTHORIZED);
    let (_, page) = broker.page("/makler/schnittstellen").await;
    assert!(page.contains("widerrufen am"), "{page}");
    let trail = audit_actions(&app, &tenant_id(&app, "muster-makler").await).await;
    let actions: Vec<&str> = trail.iter().map(|(action, _)| action.as_str()).collect();
    assert_eq!(actions.iter().filter(|a| **a == "api_key_created").count(), 2, "{actions:?}");
    assert!(actions.contains(&"api_key_revoked") && actions.contains(&"customer_created"), "{actions:?}");
    assert!(trail.iter().any(|(a, who)| a == "customer_created" && who == "API-Schlüssel „MVP“"), "{trail:?}");

    // On Pay-per-Use: no automated interfaces; the page says so and keys are refused.
    order_plan(&app, &broker, "pay_per_use").await;
    let answer = reader.get("/customers").await;
    assert!(answer.assert_problem(StatusCode::FORBIDDEN)["detail"].as_str().unwrap().contains("/makler/abrechnung"));
    let (_, page) = broker.page("/makler/schnittstellen").await;
    assert!(page.contains("enthält sie nicht") && page.contains(r#"href="/makler/abrechnung""#), "{page}");
    let made =
        broker.submit("/makler/schnittstellen", "/makler/schnittstellen", &[("name", "X"), ("scope", "read")]).await;
    assert_eq!(made.status(), StatusCode::FORBIDDEN);
    assert!(ordo_tests::tenant_api::shown_key(&made.text().await.unwrap()).is_none());
    // A wrong key is still 401 first: no one learns the plan without a key.
    api.with_key("ordo_tk_wrong").get("/customers").await.assert_problem(StatusCode::UNAUTHORIZED);
    app.stop().await;
}

async fn customers_and_households_through_the_api(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let broker = app.broker_session("Muster Makler", "erika@example.de").await;
    let api = ApiClient::new(&app, &broker.origin, &broker_key(&broker, "MVP", "write").await);

    // Create: trimmed and lower-cased like the form does; 201 with Location.
    let created = api
        .post(
            "/customers",
            &json!({"first_name": " Erika ", "last_name": "Muster", "email": "Erika@Example.DE", "phone": "030 1",
                    "birth_date": "1980-02-29", "street": "Weg 1", "postal_code": "10115", "city": "Berlin"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let erika = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(created.header("location"), Some(format!("/api/v1/customers/{erika}").as_str()));
    assert_eq!(created.body["first_name"], "Erika");
    assert_eq!(created.body["email"], "erika@example.de");
    assert_eq!(created.body["archived"], false);
    assert_eq!(api.get(&format!("/customers/{erika}")).await.body, created.body);
    // The broker sees the customer in the portal.
    let (_, page) = broker.page(&format!("/makler/kunden/{erika}")).await;
    assert!(page.contains("Erika") && page.contains("erika@example.de"));

    // Validation: every bad field at once, with the reason; nothing stored.
    let invalid = api
        .post(
            "/customers",
            &json!({"first_name": "", "last_name": "x".repeat(101), "email": "nope", "birth_date": "29.02.1980"}),
        )
        .await;
    let problem = invalid.assert_problem(StatusCode::UNPROCESSABLE_ENTITY);
    for field in ["first_name", "last_name", "email", "birth_date"] {
        assert!(problem["errors"][field].is_string(), "{field}: {problem}");
    }
    // axum's own refusals are problem bodies too.
    let broken =
        api.send(api.client.post(api.url("/customers")).header("content-type", "application/json").body("{")).await;
    broken.assert_problem(StatusCode::BAD_REQUEST);
    let not_json = api.send(api.client.post(api.url("/customers")).body("first_name=Max")).await;
    not_json.assert_problem(StatusCode::UNSUPPORTED_MEDIA_TYPE);
    api.post("/customers", &json!({"first_name": "A", "last_name": "B", "extra": 1}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY);
    api.get("/customers?limit=0").await.assert_problem(StatusCode::UNPROCESSABLE_ENTITY);
    api.get("/customers?limit=abc").await.assert_problem(StatusCode::UNPROCESSABLE_ENTITY);
    api.get("/customers/0190f5a3c2b47c3e8d1f2a3b4c5d6e7f").await.assert_problem(StatusCode::NOT_FOUND);
    api.get("/nothing-here").await.assert_problem(StatusCode::NOT_FOUND);
    api.send(api.client.patch(api.url("/customers"))).await.assert_problem(StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(api.all("/customers", 100).await.len(), 1);

    // Search over names, e-mail addresses and policy numbers.
    let max = api.create_customer("Max", "Kunde", Some("max@example.de")).await;
    api.create_contract(&max, "040", "PH-4711").await;
    for (q, expected) in [("muster", &erika), ("max@example", &max), ("ph-47", &max)] {
        let found = api.all(&format!("/customers?q={q}"), 10).await;
        assert_eq!(found.len(), 1, "{q}");
        assert_eq!(found[0]["id"], *expected, "{q}");
    }

    // Update replaces the data; archive and restore.
    let updated =
        api.put(&format!("/customers/{max}"), &json!({"first_name": "Maximilian", "last_name": "Kunde"})).await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    assert_eq!((updated.body["first_name"].as_str(), updated.body["email"].as_str()), (Some("Maximilian"), None));
    let archived = api.post(&format!("/customers/{max}/archive"), &json!({})).await;
    assert_eq!(archived.body["archived"], true);
    assert!(api.all("/customers", 10).await.iter().all(|c| c["id"] != max.as_str()));
    assert_eq!(api.all("/customers?archived=true", 10).await.len(), 1);
    assert_eq!(api.post(&format!("/customers/{max}/restore"), &json!({})).await.body["archived"], false);

    // Households: create, join through household_id, rename, dissolve.
    let household = api.post("/households", &json!({"name": "Familie Muster"})).await;
    assert_eq!(household.status, StatusCode::CREATED, "{}", household.body);
    let household_id = household.body["id"].as_str().unwrap().to_owned();
    let joined = api
        .put(
            &format!("/customers/{erika}"),
            &json!({"first_name": "Erika", "last_name": "Muster", "household_id": household_id}),
        )
        .await;
    assert_eq!(joined.body["household_id"], household_id.as_str(), "{}", joined.body);
    let renamed = api.put(&format!("/households/{household_id}"), &json!({"name": "Muster-Schmidt"})).await;
    assert_eq!(
        (renamed.body["name"].as_str(), renamed.body["member_ids"].clone()),
        (Some("Muster-Schmidt"), json!([erika]))
    );
    let stranger = json!({"first_name": "A", "last_name": "B", "household_id": "0190f5a3c2b47c3e8d1f2a3b4c5d6e7f"});
    api.post("/customers", &stranger).await.assert_problem(StatusCode::CONFLICT);
    api.post("/households", &json!({"name": "  "})).await.assert_problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(api.all("/households", 10).await.len(), 1);
    assert_eq!(api.delete(&format!("/households/{household_id}")).await.status, StatusCode::NO_CONTENT);
    api.get(&format!("/households/{household_id}")).await.assert_problem(StatusCode::NOT_FOUND);
    assert_eq!(api.get(&format!("/customers/{erika}")).await.body["household_id"], Value::Null);
    app.stop().await;
}

async fn contracts_through_the_api(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let broker = app.broker_session("Muster Makler", "erika@example.de").await;
    let api = ApiClient::new(&app, &broker.origin, &broker_key(&broker, "MVP", "write").await);
    let max = api.create_customer("Max", "Kunde", None).await;
    let anna = api.create_customer("Anna", "Andere", None).await;

    // Every field as the issue names it; the yearly premium follows the frequency.
    let created = api.post("/contracts", &contract(&max, "040", "PH-1")).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let expected = json!({
        "id": id, "customer_id": max, "insurer": "Allianz", "insurer_number": "5312", "policy_number": "PH-1",
        "sparte_code": "040", "sparte": "Haftpflicht", "produkt": "Privathaftpflicht", "start_date": "2025-01-01",
        "end_date": null, "main_due_date": "2026-01-01", "payment_frequency": "monthly", "premium_cents": 1234,
        "yearly_premium_cents": 14808, "status": "active", "notes": "aus dem MVP"
    });
    assert_eq!(created.body, expected);
    assert_eq!(api.get(&format!("/contracts/{id}")).await.body, expected);
    // The broker's form shows the insurer number too.
    let (_, form) = broker.page(&format!("/makler/vertraege/{id}")).await;
    assert!(form.contains(r#"name="insurer_number" type="text" value="5312""#), "{form}");

    // A Sparte without a GDV code by its name; a new Produkt joins the catalog; single premiums have no year.
    let mut by_name = contract(&anna, "000", "BU-1");
    by_name.as_object_mut().unwrap().remove("sparte_code");
    by_name["sparte"] = json!("Arbeitskraftabsicherung");
    by_name["produkt"] = json!("BU mit Dynamik");
    by_name["payment_frequency"] = json!("single");
    by_name["status"] = json!("dormant");
    let bu = api.post("/contracts", &by_name).await;
    assert_eq!(bu.status, StatusCode::CREATED, "{}", bu.body);
    assert_eq!((bu.body["sparte_code"].clone(), bu.body["yearly_premium_cents"].clone()), (Value::Null, Value::Null));
    assert_eq!(bu.body["status"], "dormant");
    let catalog = api.get("/catalog").await.body;
    let sparte =
        catalog["sparten"].as_array().unwrap().iter().find(|s| s["name"] == "Arbeitskraftabsicherung").unwrap();
    assert!(sparte["produkte"].as_array().unwrap().iter().any(|p| p["name"] == "BU mit Dynamik"));

    // Filters: by customer, by policy number.
    assert_eq!(api.all(&format!("/contracts?customer_id={anna}"), 10).await.len(), 1);
    let found = api.all("/contracts?policy_number=PH-1", 10).await;
    assert_eq!((found.len(), found[0]["id"].as_str()), (1, Some(id.as_str())));

    // Refusals: each bad field named; a customer or Sparte that does not exist is a conflict (409).
    let mut bad = contract(&max, "040", "");
    bad["start_date"] = json!("2026-05-01");
    bad["end_date"] = json!("2026-01-01");
    bad["premium_cents"] = json!(-5);
    bad["payment_frequency"] = json!("weekly");
    bad["status"] = json!("paused");
    let problem = api.post("/contracts", &bad).await;
    let problem = problem.assert_problem(StatusCode::UNPROCESSABLE_ENTITY);
    for field in ["policy_number", "end_date", "premium_cents", "payment_frequency", "status"] {
        assert!(problem["errors"][field].is_string(), "{field}: {problem}");
    }
    api.post("/contracts", &contract(&max, "999", "X-1")).await.assert_problem(StatusCode::CONFLICT);
    api.post("/contracts", &contract("0190f5a3c2b47c3e8d1f2a3b4c5d6e7f", "040", "X-1"))
        .await
        .assert_problem(StatusCode::CONFLICT);
    let mut disagree = contract(&max, "040", "X-1");
    disagree["sparte"] = json!("Verbundene Hausrat");
    api.post("/contracts", &disagree).await.assert_problem(StatusCode::CONFLICT);
    let mut code_only = contract(&max, "40", "X-1");
    code_only["produkt"] = Value::Null;
    api.post("/contracts", &code_only).await.assert_problem(StatusCode::UNPROCESSABLE_ENTITY);

    // Update (also to another customer), delete.
    let mut changed = contract(&anna, "130", "HR-9");
    changed["produkt"] = Value::Null;
    changed["status"] = json!("cancelled");
    changed["end_date"] = json!("2026-12-31");
    let updated = api.put(&format!("/contracts/{id}"), &changed).await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    assert_eq!(
        (updated.body["customer_id"].as_str(), updated.body["sparte"].as_str(), updated.body["produkt"].clone()),
        (Some(anna.as_str()), Some("Verbundene Hausrat"), Value::Null)
    );
    assert_eq!(updated.body["end_date"], "2026-12-31");
    assert_eq!(api.delete(&format!("/contracts/{id}")).await.status, StatusCode::NO_CONTENT);
    api.get(&format!("/contracts/{id}")).await.assert_problem(StatusCode::NOT_FOUND);
    api.delete(&format!("/contracts/{id}")).await.assert_problem(StatusCode::NOT_FOUND);
    app.stop().await;
}

async fn lists_page_with_cursors_and_posts_retry_safely(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let broker = app.broker_session("Muster Makler", "erika@example.de").await;
    let api = ApiClient::new(&app, &broker.origin, &broker_key(&broker, "MVP", "write").await);
    let mut ids = Vec::new();
    for n in 0..7 {
        ids.push(api.create_customer(&format!("Kunde{n}"), "Muster", None).await);
    }

    // Pages of 3 in creation order: 3, 3, 1, and `next` is null at the end.
    let first = api.get("/customers?limit=3").await.body;
    assert_eq!(first["items"].as_array().unwrap().len(), 3);
    let next = first["next"].as_str().unwrap().to_owned();
    let second = api.get(&format!("/customers?limit=3&cursor={next}")).await.body;
    let third = api.get(&format!("/customers?limit=3&cursor={}", second["next"].as_str().unwrap())).await.body;
    assert_eq!(third["items"].as_array().unwrap().len(), 1);
    assert_eq!(third["next"], Value::Null);
    let paged: Vec<Value> =
        [&first, &second, &third].iter().flat_map(|p| p["items"].as_array().unwrap().clone()).collect();
    assert_eq!(paged.iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>(), ids);
    // The default page holds them all; a cursor that is no id is refused.
    assert_eq!(api.get("/customers").await.body["items"].as_array().unwrap().len(), 7);
    api.get("/customers?cursor=abc").await.assert_problem(StatusCode::UNPROCESSABLE_ENTITY);
    api.get("/customers?limit=101").await.assert_problem(StatusCode::UNPROCESSABLE_ENTITY);

    // The same Idempotency-Key and body: the first answer again, one customer only.
    let body = json!({"first_name": "Ida", "last_name": "Empotent"});
    let once = api.post_idempotent("/customers", "7d2c0c4e-retry-1", &body).await;
    assert_eq!(once.status, StatusCode::CREATED);
    let again = api.post_idempotent("/customers", "7d2c0c4e-retry-1", &body).await;
    assert_eq!((again.status, &again.body), (StatusCode::CREATED, &once.body));
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.header("location"), once.header("location"));
    assert_eq!(api.all("/customers?q=empotent", 10).await.len(), 1);
    // The same key with another request is refused; another key is a new request.
    let other = json!({"first_name": "Ida", "last_name": "Anders"});
    api.post_idempotent("/customers", "7d2c0c4e-retry-1", &other)
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY);
    api.post_idempotent("/customers", "", &other).await.assert_problem(StatusCode::BAD_REQUEST);
    // A refused request does not use up its key: corrected, it goes through.
    let refused = api.post_idempotent("/customers", "retry-2", &json!({"first_name": "", "last_name": "X"})).await;
    refused.assert_problem(StatusCode::UNPROCESSABLE_ENTITY);
    let fixed = api.post_idempotent("/customers", "retry-2", &json!({"first_name": "Y", "last_name": "X"})).await;
    assert_eq!(fixed.status, StatusCode::CREATED);
    // Keys are per API key: another key's "retry-2" is its own.
    let second_key = api.with_key(&broker_key(&broker, "Zweites MVP", "write").await);
    let own = second_key.post_idempotent("/customers", "retry-2", &json!({"first_name": "Z", "last_name": "X"})).await;
    assert_eq!(own.status, StatusCode::CREATED);
    assert_eq!(api.all("/customers", 100).await.len(), 10);
    app.stop().await;
}

async fn documents_and_messages_through_the_api(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let broker = app.broker_session("Muster Makler", "erika@example.de").await;
    let api = ApiClient::new(&app, &broker.origin, &broker_key(&broker, "MVP", "write").await);
    let max = api.create_customer("Max", "Kunde", Some("max@example.de")).await;
    let contract_id = api.create_contract(&max, "130", "HR-1").await;

    // Uploads to a customer and to a contract, checked by content.
    let to_max = format!("customers/{max}");
    let general = api.upload(&to_max, &[("visible_to_customer", "true")], "Police.pdf", PDF.to_vec()).await;
    assert_eq!(general.status, StatusCode::CREATED, "{}", general.body);
    assert_eq!(
        (general.body["content_type"].as_str(), general.body["visible_to_customer"].as_bool()),
        (Some("application/pdf"), Some(true))
    );
    let of_contract = api.upload(&format!("contracts/{contract_id}"), &[], "../../Nachtrag.pdf", PDF.to_vec()).await;
    assert_eq!(of_contract.status, StatusCode::CREATED, "{}", of_contract.body);
    assert_eq!(
        (of_contract.body["customer_id"].as_str(), of_contract.body["file_name"].as_str()),
        (Some(max.as_str()), Some("Nachtrag.pdf"))
    );
    assert_eq!(of_contract.body["visible_to_customer"], false);
    let script = api.upload(&to_max, &[], "bild.jpg", b"<script>alert(1)</script>".to_vec()).await;
    assert!(script.assert_problem(StatusCode::UNPROCESSABLE_ENTITY)["errors"]["file"].is_string());
    let unknown = "customers/0190f5a3c2b47c3e8d1f2a3b4c5d6e7f";
    api.upload(unknown, &[], "Police.pdf", PDF.to_vec()).await.assert_problem(StatusCode::NOT_FOUND);
    let extra = [("customer_id", max.as_str())];
    api.upload(&to_max, &extra, "a.pdf", PDF.to_vec()).await.assert_problem(StatusCode::UNPROCESSABLE_ENTITY);
    let flag = [("visible_to_customer", "ja")];
    api.upload(&to_max, &flag, "a.pdf", PDF.to_vec()).await.assert_problem(StatusCode::UNPROCESSABLE_ENTITY);
    let not_multipart = api.send(api.client.post(api.url(&format!("/{to_max}/documents"))).body("x")).await;
    not_multipart.assert_problem(StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(api.all(&format!("/documents?customer_id={max}"), 1).await.len(), 2);
    assert_eq!(api.all(&format!("/documents?contract_id={contract_id}"), 10).await.len(), 1);
    let download = api
        .client
        .get(api.url(&format!("/documents/{}/content", general.body["id"].as_str().unwrap())))
        .bearer_auth(&api.key)
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), StatusCode::OK);
    assert!(download.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
    assert_eq!(download.bytes().await.unwrap().as_ref(), PDF);

    // The customer writes through the portal; the MVP reads, replies and closes the thread.
    let customer = broker.invite(&app, &max, "max@example.de", "kunden passwort 1").await;
    let (_, form_page) = customer.page("/ordner/nachrichten/neu").await;
    let form = Form::new()
        .text("_csrf", hidden_field(&form_page, "_csrf"))
        .text("category", "claim")
        .text("body", "Wasserschaden in der Küche")
        .part(
            "photos",
            Part::bytes(vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F'])
                .file_name("k.jpg")
                .mime_str("image/jpeg")
                .unwrap(),
        );
    let sent = customer.client.post(customer.url("/ordner/nachrichten")).multipart(form).send().await.unwrap();
    assert_eq!(sent.status(), StatusCode::SEE_OTHER);
    let threads = api.all("/threads?status=new", 10).await;
    assert_eq!(threads.len(), 1);
    assert_eq!(
        (threads[0]["category"].as_str(), threads[0]["customer_id"].as_str()),
        (Some("claim"), Some(max.as_str()))
    );
    let thread_id = threads[0]["id"].as_str().unwrap().to_owned();
    let thread = api.get(&format!("/threads/{thread_id}")).await.body;
    assert_eq!(thread["messages"][0]["body"], "Wasserschaden in der Küche");
    let photo = thread["messages"][0]["document_ids"][0].as_str().expect("the photo").to_owned();
    assert_eq!(api.get(&format!("/documents/{photo}")).await.body["content_type"], "image/jpeg");
    api.post(&format!("/threads/{thread_id}/messages"), &json!({"body": " "}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY);
    let reply = api.post(&format!("/threads/{thread_id}/messages"), &json!({"body": "Wir kümmern uns."})).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert_eq!(
        (reply.body["author"].as_str(), reply.body["author_name"].as_str()),
        (Some("broker"), Some("Erika Muster"))
    );
    assert!(app.last_mail_to("max@example.de").subject.contains("geantwortet"));
    assert_eq!(api.get(&format!("/threads/{thread_id}")).await.body["status"], "in_progress");
    let done = api.put(&format!("/threads/{thread_id}/status"), &json!({"status": "done"})).await;
    assert_eq!(done.body["status"], "done");
    api.put(&format!("/threads/{thread_id}/status"), &json!({"status": "gone"}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY);
    let (_, thread_page) = customer.page(&format!("/ordner/nachrichten/{thread_id}")).await;
    assert!(thread_page.contains("Wir kümmern uns."), "the customer reads the reply");
    app.stop().await;
}

async fn the_operator_makes_a_key_for_an_integration(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let broker = app.broker_session("Muster Makler", "erika@example.de").await;
    let tenant = tenant_id(&app, "muster-makler").await;
    let token = operator_token(&app, "ops@example.de").await;

    let made = operator_key(&app, &token, &tenant, &json!({"name": "MVP-Anbindung"})).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let keys: Vec<&str> = made.body.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["id", "key", "name"]);
    assert_eq!(made.body["name"], "MVP-Anbindung");
    let api = ApiClient::new(&app, &broker.origin, made.body["key"].as_str().unwrap());
    api.create_customer("Max", "Kunde", None).await;

    // The broker sees it, marked as the operator's, and can revoke it.
    let (_, page) = broker.page("/makler/schnittstellen").await;
    assert!(page.contains("MVP-Anbindung") && page.contains("vom Betreiber eingerichtet"), "{page}");
    // Audited on both sides.
    let log = control_plane::audit::page(&app.state.db, Some("create_api_key"), 1, 10).await.unwrap().0;
    assert_eq!(log.len(), 1);
    let trail = audit_actions(&app, &tenant).await;
    assert!(trail.iter().any(|(a, who)| a == "api_key_created" && who == "Betreiber (ops@example.de)"), "{trail:?}");

    // Refusals: no token, an unknown tenant, a bad name, an unknown field.
    let anonymous = app
        .client()
        .post(app.url("admin", &format!("/api/v1/tenants/{tenant}/api-keys")))
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    operator_key(&app, &token, "0190f5a3c2b47c3e8d1f2a3b4c5d6e7f", &json!({"name": "x"}))
        .await
        .assert_problem(StatusCode::NOT_FOUND);
    let unnamed = operator_key(&app, &token, &tenant, &json!({"name": " "})).await;
    assert!(unnamed.assert_problem(StatusCode::UNPROCESSABLE_ENTITY)["errors"]["name"].is_string());
    operator_key(&app, &token, &tenant, &json!({"name": "x", "scope": "read"}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY);
    // The route in the control plane's OpenAPI document.
    let openapi: Value =
        app.client().get(app.url("admin", "/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert!(openapi["paths"]["/api/v1/tenants/{id}/api-keys"]["post"].is_object());

    // A standalone portal (its router on a listener of its own, as on Kubernetes)
    // is reached through its internal API with the tenant's internal token, by
    // the client the control plane uses there.
    let running = app.state.registry.by_tenant_id(&tenant).unwrap();
    let internal = running.portal.settings().internal_token();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let standalone = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, running.router.clone()).await });
    let request = tenant_app::api_keys::remote::CreateRequest {
        name: "Über die interne API".into(),
        operator: "ops@example.de".into(),
    };
    let remote = tenant_app::api_keys::remote::create(&standalone, &internal, &request).await.unwrap();
    assert_eq!(api.with_key(&remote.key).get("/catalog").await.status, StatusCode::OK);
    let wrong = tenant_app::api_keys::remote::create(&standalone, "not-the-token", &request).await;
    assert!(matches!(wrong, Err(tenant_app::api_keys::remote::RemoteError::Unavailable(_))));
    app.stop().await;
}

async fn a_locked_portal_answers_the_api_with_a_problem(backend: Backend) {
    use chrono::TimeZone;
    let app = TestApp::spawn(backend).await;
    let signed_up =
        chrono_tz::Europe::Berlin.with_ymd_and_hms(2026, 10, 1, 9, 0, 0).unwrap().with_timezone(&chrono::Utc);
    app.clock.set(signed_up);
    let broker = app.broker_session("Muster Makler", "erika@example.de").await;
    let api = ApiClient::new(&app, &broker.origin, &broker_key(&broker, "MVP", "read").await);
    assert_eq!(api.get("/catalog").await.status, StatusCode::OK);
    // The trial ends without an order: pages show the lock, the API a problem body.
    app.run_jobs_at(signed_up + chrono::Duration::days(31)).await;
    assert_eq!(broker.page("/makler/kunden").await.0, StatusCode::FORBIDDEN);
    let locked = api.get("/catalog").await;
    assert!(locked.assert_problem(StatusCode::FORBIDDEN)["detail"].as_str().unwrap().contains("/makler/abrechnung"));
    app.stop().await;
}
