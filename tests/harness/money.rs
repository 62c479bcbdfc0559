//! Helpers for the money scenarios: the Berlin calendar, recording payments
//! as the console and the CLI functions do, and the operator's JSON API with a
//! bearer token made by the CLI function.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::Berlin;
use control_plane::billing::invoices::{self, Invoice};
use control_plane::billing::money::Cents;
use control_plane::billing::refusal::Outcome;
use control_plane::billing::settlement::{self, NewPayment, Recorded};
use control_plane::tenants::{self, Tenant};
use reqwest::{Client, StatusCode};
use serde_json::Value;

use crate::TestApp;

pub fn day(text: &str) -> NaiveDate {
    text.parse().expect("a YYYY-MM-DD day")
}

/// `hour` o'clock on a Berlin day, as an instant.
pub fn berlin(text: &str, hour: u32) -> DateTime<Utc> {
    Berlin
        .from_local_datetime(&day(text).and_hms_opt(hour, 0, 0).expect("an hour"))
        .single()
        .expect("an unambiguous time")
        .with_timezone(&Utc)
}

pub async fn tenant(app: &TestApp, slug: &str) -> Tenant {
    tenants::find_by_slug(&app.state.db, slug).await.expect("tenant query").expect("the tenant")
}

/// The tenant's invoices and credit notes, newest first.
pub async fn invoices_of(app: &TestApp, tenant_id: &str) -> Vec<Invoice> {
    invoices::for_tenant(&app.state.db, tenant_id).await.expect("invoices")
}

pub async fn invoice(app: &TestApp, id: &str) -> Invoice {
    invoices::find(&app.state.db, id).await.expect("invoice query").expect("the invoice")
}

/// Records a bank transfer the way the console does (method `bank`).
pub async fn pay(app: &TestApp, invoice_id: &str, amount: Cents, reference: &str, on: &str) -> Outcome<Recorded> {
    let payment = NewPayment {
        amount,
        method: "bank",
        reference,
        received_on: day(on),
        overpayment: false,
        actor: "ops@example.de",
    };
    settlement::record_payment(&app.state, invoice_id, &payment).await
}

/// The line descriptions and nets of an invoice.
pub async fn lines(app: &TestApp, invoice_id: &str) -> Vec<(String, Cents)> {
    invoices::lines(&app.state.db, invoice_id)
        .await
        .expect("lines")
        .into_iter()
        .map(|line| (line.description.clone(), line.net()))
        .collect()
}

/// A script calling the operator API on the admin host with its bearer token.
pub struct OperatorApi {
    pub client: Client,
    pub base: String,
    pub token: String,
}

impl TestApp {
    /// An operator (made if new) and an API token for it, both by the CLI's functions.
    pub async fn operator_api(&self, email: &str) -> OperatorApi {
        let config = self.linkable_config();
        control_plane::cli::create_operator(&config, email).await.expect("operator");
        let token = control_plane::cli::create_api_token(&config, email, "tests").await.expect("API token");
        OperatorApi { client: self.client(), base: self.url("admin", ""), token }
    }
}

impl OperatorApi {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// GET with the token; the status and the JSON body (or `Null`).
    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        let response = self.client.get(self.url(path)).bearer_auth(&self.token).send().await.expect("GET");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// POST a JSON body with the token; the status and the JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        let response = self.client.post(self.url(path)).bearer_auth(&self.token).json(body).send().await.expect("POST");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// GET a file: the status, its content type and disposition, and the bytes.
    pub async fn download(&self, path: &str) -> (StatusCode, String, String, Vec<u8>) {
        let response = self.client.get(self.url(path)).bearer_auth(&self.token).send().await.expect("GET");
        let header =
            |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let (content_type, disposition) = (header("content-type"), header("content-disposition"));
        let status = response.status();
        (status, content_type, disposition, response.bytes().await.expect("body").to_vec())
    }
}
