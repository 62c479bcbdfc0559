//! Trial sign-up through the API and the form: validation, conflicts, slugs.

use ordo_tests::{Backend, TestApp, both_backends, get_page, post_form};
use reqwest::StatusCode;
use serde_json::{Value, json};

both_backends!(
    api_reports_bad_fields_and_conflicts,
    slugs_are_unique_and_never_reserved,
    form_signup_works_like_the_api,
    sign_ups_are_limited_per_address
);

fn valid() -> Value {
    json!({"name": "Jürgen Weiß", "company": null, "street": "Am Markt 3", "postal_code": "50667",
           "city": "Köln", "phone": "+49 221 123456", "email": "juergen@example.de"})
}

async fn api_reports_bad_fields_and_conflicts(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.client();
    let url = app.url("", "/api/v1/trials");

    let bad =
        json!({"name": "", "street": "x", "postal_code": "123", "city": "Köln", "phone": "call me", "email": "no"});
    let response = client.post(&url).json(&bad).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    let problem: Value = response.json().await.unwrap();
    for field in ["name", "postal_code", "phone", "email"] {
        assert!(problem["errors"][field].is_string(), "{field} missing in {problem}");
    }
    assert!(problem["errors"]["city"].is_null());

    let response = client.post(&url).header("content-type", "application/json").body("{not json").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["status"], 400);

    let created = client.post(&url).json(&valid()).send().await.unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    assert_eq!(created["slug"], "juergen-weiss");

    let mut again = valid();
    again["email"] = json!("JUERGEN@example.de");
    let conflict = client.post(&url).json(&again).send().await.unwrap();
    assert_eq!(conflict.status(), StatusCode::CONFLICT);
    let problem: Value = conflict.json().await.unwrap();
    assert_eq!(problem["status"], 409);
    // Nothing was lost or duplicated by the refused attempts.
    assert_eq!(app.operator_api("ops@example.de").await.tenants().await.len(), 1);
    app.stop().await;
}

async fn slugs_are_unique_and_never_reserved(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let first = app.sign_up("Eva Berg", Some("Berg & Partner"), "eva@example.de").await;
    let second = app.sign_up("Ole Berg", Some("Berg & Partner"), "ole@example.de").await;
    assert_eq!(first["slug"], "berg-partner");
    assert_eq!(second["slug"], "berg-partner-2");
    let reserved = app.sign_up("Ad Min", Some("Admin"), "admin@example.de").await;
    assert_eq!(reserved["slug"], "admin-2");
    // Both portals answer on their own host.
    for slug in ["berg-partner", "berg-partner-2", "admin-2"] {
        assert_eq!(get_page(&app.client(), &app.url(slug, "/anmelden")).await.0, StatusCode::OK, "{slug}");
    }
    // The admin host stays the console.
    let (_, console) = get_page(&app.client(), &app.url("admin", "/anmelden")).await;
    assert!(console.contains("Konsole"));
    app.stop().await;
}

async fn form_signup_works_like_the_api(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.client();
    let (status, page) = get_page(&client, &app.url("", "/testen")).await;
    assert_eq!(status, StatusCode::OK);
    for field in ["name", "company", "street", "postal_code", "city", "phone", "email"] {
        assert!(page.contains(&format!("<label for=\"{field}\"")), "label for {field}");
    }

    let invalid =
        post_form(&client, &app.url("", "/testen"), &page, &[("name", "Lena Kurz"), ("email", "lena@")]).await;
    assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let invalid = invalid.text().await.unwrap();
    assert!(invalid.contains("id=\"email-error\"") && invalid.contains("id=\"street-error\""));
    assert!(invalid.contains("value=\"Lena Kurz\""), "input kept");

    let fields = [
        ("name", "Lena Kurz"),
        ("company", ""),
        ("street", "Ring 1"),
        ("postal_code", "20095"),
        ("city", "Hamburg"),
        ("phone", "040 123456"),
        ("email", "lena@example.de"),
    ];
    let done = post_form(&client, &app.url("", "/testen"), &page, &fields).await;
    assert_eq!(done.status(), StatusCode::OK);
    let done = done.text().await.unwrap();
    assert!(done.contains("Ihr Portal ist eingerichtet"), "{done}");
    assert!(done.contains(&app.url("lena-kurz", "")));
    assert!(app.last_mail_to("lena@example.de").password_link().contains("lena-kurz.localhost"));

    let duplicate = post_form(&client, &app.url("", "/testen"), &page, &fields).await;
    assert_eq!(duplicate.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(duplicate.text().await.unwrap().contains("bereits ein Portal"));

    // Product and pricing pages are there, with the trial extension price.
    let (status, home) = get_page(&client, &app.url("", "/")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(home.contains("href=\"/testen\""));
    let (status, pricing) = get_page(&client, &app.url("", "/preise")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(pricing.contains("74,90 €") && pricing.contains("0,50 €"), "{pricing}");
    app.stop().await;
}

async fn sign_ups_are_limited_per_address(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("signup_limit_per_hour", "2"), ("trust_proxy", "true")]).await;
    let client = app.client();
    let url = app.url("", "/api/v1/trials");
    let trial = |n: u32, from: &str| {
        let mut body = valid();
        body["email"] = json!(format!("makler{n}@example.de"));
        body["company"] = json!(format!("Makler {n}"));
        client.post(&url).header("x-forwarded-for", from).json(&body).send()
    };
    assert_eq!(trial(1, "203.0.113.1").await.unwrap().status(), StatusCode::CREATED);
    assert_eq!(trial(2, "203.0.113.1").await.unwrap().status(), StatusCode::CREATED);
    let refused = trial(3, "203.0.113.1").await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.headers()["content-type"], "application/problem+json");
    // Another address, as the proxy reports it, has its own allowance.
    assert_eq!(trial(4, "198.51.100.2").await.unwrap().status(), StatusCode::CREATED);
    let tenants = app.operator_api("ops@example.de").await.tenants().await;
    assert_eq!(tenants.len(), 3, "nothing made for the refused one");

    // The form says so next to the e-mail field, keeping what was typed.
    let (_, page) = get_page(&client, &app.url("", "/testen")).await;
    let csrf = ordo_tests::hidden_field(&page, "_csrf");
    let form = [
        ("_csrf", csrf.as_str()),
        ("name", "Lena Kurz"),
        ("street", "Ring 1"),
        ("postal_code", "20095"),
        ("city", "Hamburg"),
        ("phone", "040 123456"),
        ("email", "lena@example.de"),
    ];
    let refused =
        client.post(app.url("", "/testen")).header("x-forwarded-for", "203.0.113.1").form(&form).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = refused.text().await.unwrap();
    assert!(page.contains("zu viele Testzugänge") && page.contains("value=\"Lena Kurz\""));
    app.stop().await;
}
