//! Helpers for the tenant REST API: keys made through the broker's page or the
//! operator's endpoint, a small JSON client with the key, and putting a tenant
//! on another plan through the real ordering flow.

use reqwest::multipart::{Form, Part};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::{PortalSession, TestApp, get_page, hidden_field, post_form};

/// A client of one portal's `/api/v1`, sending one key.
#[derive(Clone)]
pub struct ApiClient {
    pub client: Client,
    /// `http://<slug>.localhost:<port>`
    pub origin: String,
    pub key: String,
}

/// A status and the JSON body (`Value::Null` for an empty body).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    async fn of(response: reqwest::Response) -> Answer {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("answer body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"))
        };
        Answer { status, headers, body }
    }

    /// Asserts an RFC 9457 problem body with this status.
    pub fn assert_problem(&self, status: StatusCode) -> &Value {
        assert_eq!(self.status, status, "{}", self.body);
        let content_type = self.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert_eq!(content_type, "application/problem+json", "{}", self.body);
        assert_eq!(self.body["status"], status.as_u16(), "{}", self.body);
        assert!(self.body["title"].is_string(), "{}", self.body);
        &self.body
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl ApiClient {
    pub fn new(app: &TestApp, origin: &str, key: &str) -> ApiClient {
        ApiClient { client: app.client(), origin: origin.to_owned(), key: key.to_owned() }
    }

    /// The same portal with another key.
    pub fn with_key(&self, key: &str) -> ApiClient {
        ApiClient { key: key.to_owned(), ..self.clone() }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.origin)
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        Answer::of(request.bearer_auth(&self.key).send().await.expect("API request")).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(self.client.get(self.url(path))).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        self.send(self.client.post(self.url(path)).json(body)).await
    }

    /// A POST with an `Idempotency-Key`.
    pub async fn post_idempotent(&self, path: &str, key: &str, body: &Value) -> Answer {
        self.send(self.client.post(self.url(path)).header("Idempotency-Key", key).json(body)).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Answer {
        self.send(self.client.put(self.url(path)).json(body)).await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.send(self.client.delete(self.url(path))).await
    }

    /// Uploads a file as multipart with extra text fields to `owner`
    /// (`customers/{id}` or `contracts/{id}`).
    pub async fn upload(&self, owner: &str, fields: &[(&str, &str)], file_name: &str, bytes: Vec<u8>) -> Answer {
        let mut form = Form::new();
        for (name, value) in fields {
            form = form.text(name.to_string(), value.to_string());
        }
        form = form.part("file", Part::bytes(bytes).file_name(file_name.to_owned()));
        self.send(self.client.post(self.url(&format!("/{owner}/documents"))).multipart(form)).await
    }

    /// Creates a customer; returns its id.
    pub async fn create_customer(&self, first: &str, last: &str, email: Option<&str>) -> String {
        let answer = self.post("/customers", &json!({"first_name": first, "last_name": last, "email": email})).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
        answer.body["id"].as_str().expect("id").to_owned()
    }

    /// Creates a contract under a GDV Sparte; returns its id.
    pub async fn create_contract(&self, customer_id: &str, sparte_code: &str, policy_number: &str) -> String {
        let answer = self.post("/contracts", &contract(customer_id, sparte_code, policy_number)).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
        answer.body["id"].as_str().expect("id").to_owned()
    }

    /// Every item of a list, following `next` with pages of `limit`.
    pub async fn all(&self, path_and_query: &str, limit: u32) -> Vec<Value> {
        let separator = if path_and_query.contains('?') { '&' } else { '?' };
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("{path_and_query}{separator}limit={limit}");
            if let Some(cursor) = &cursor {
                path.push_str(&format!("&cursor={cursor}"));
            }
            let page = self.get(&path).await;
            assert_eq!(page.status, StatusCode::OK, "{}", page.body);
            items.extend(page.body["items"].as_array().expect("items").iter().cloned());
            match page.body["next"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return items,
            }
        }
    }
}

/// A valid contract body.
pub fn contract(customer_id: &str, sparte_code: &str, policy_number: &str) -> Value {
    json!({
        "customer_id": customer_id, "insurer": "Allianz", "insurer_number": "5312", "policy_number": policy_number,
        "sparte_code": sparte_code, "produkt": "Privathaftpflicht", "start_date": "2025-01-01",
        "end_date": null, "main_due_date": "2026-01-01", "payment_frequency": "monthly", "premium_cents": 1234,
        "status": "active", "notes": "aus dem MVP"
    })
}

/// Makes a key on the broker's page `/makler/schnittstellen`; returns the key shown once.
pub async fn broker_key(broker: &PortalSession, name: &str, scope: &str) -> String {
    let made =
        broker.submit("/makler/schnittstellen", "/makler/schnittstellen", &[("name", name), ("scope", scope)]).await;
    let status = made.status();
    let page = made.text().await.expect("page");
    assert_eq!(status, StatusCode::OK, "{page}");
    shown_key(&page).unwrap_or_else(|| panic!("no key shown: {page}"))
}

/// The key a page shows, if it shows one.
pub fn shown_key(page: &str) -> Option<String> {
    let re = regex_lite::Regex::new(r#"id="api-key">(ordo_tk_[A-Za-z0-9_-]{43})<"#).expect("regex");
    re.captures(page).map(|found| found[1].to_owned())
}

/// An operator API token (the operator account is made if needed).
pub async fn operator_token(app: &TestApp, email: &str) -> String {
    app.operator(email).await;
    control_plane::cli::create_api_token(&app.linkable_config(), email, "integrations").await.expect("operator token")
}

/// `POST /api/v1/tenants/{id}/api-keys` on the admin host.
pub async fn operator_key(app: &TestApp, token: &str, tenant_id: &str, body: &Value) -> Answer {
    let url = app.url("admin", &format!("/api/v1/tenants/{tenant_id}/api-keys"));
    Answer::of(app.client().post(url).bearer_auth(token).json(body).send().await.expect("operator request")).await
}

/// Orders `plan` in the portal's billing area, uploads the signed contract, and
/// has the operator confirm it: the tenant is on that plan afterwards.
pub async fn order_plan(app: &TestApp, broker: &PortalSession, plan: &str) {
    let ordered = broker.submit("/makler/abrechnung", "/makler/abrechnung/bestellen", &[("plan", plan)]).await;
    assert_eq!(ordered.status(), StatusCode::SEE_OTHER, "order {plan}");
    let (_, billing) = broker.page("/makler/abrechnung").await;
    let link = regex_lite::Regex::new(r#"/makler/abrechnung/bestellung/([0-9a-f]+)/vertrag\.pdf"#).expect("regex");
    let order_id = link.captures(&billing).expect("contract link")[1].to_owned();
    let form = Form::new().text("_csrf", hidden_field(&billing, "_csrf")).part(
        "vertrag",
        Part::bytes(b"%PDF-1.4\n% signed\n".to_vec())
            .file_name("vertrag.pdf")
            .mime_str("application/pdf")
            .expect("mime"),
    );
    let action = broker.url(&format!("/makler/abrechnung/bestellung/{order_id}/unterschrift"));
    let signed = broker.client.post(action).multipart(form).send().await.expect("upload signed contract");
    assert_eq!(signed.status(), StatusCode::OK, "signed contract");
    let operator = app.operator("ops@example.de").await;
    let admin = app.url("admin", "");
    let (_, orders) = get_page(&operator, &format!("{admin}/bestellungen")).await;
    let confirmed = post_form(&operator, &format!("{admin}/bestellungen/{order_id}/bestaetigen"), &orders, &[]).await;
    assert_eq!(confirmed.status(), StatusCode::SEE_OTHER, "confirm order");
}
