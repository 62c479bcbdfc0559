//! The operator JSON API on the admin host, as a monitoring script uses it:
//! a bearer token from `operator token`, then `GET /api/v1/tenants[/{id}]`.

use reqwest::{Client, StatusCode};
use serde_json::Value;

use crate::TestApp;

/// A client of the operator API with its token.
pub struct OperatorApi {
    client: Client,
    base: String,
    token: String,
}

impl TestApp {
    /// The operator API for `email` (the account is made if it is new), with a new token.
    pub async fn operator_api(&self, email: &str) -> OperatorApi {
        let cli = self.cli();
        cli.create_operator(email).await;
        let token = cli.create_api_token(email, "test").await;
        OperatorApi { client: self.client(), base: self.url("admin", "/api/v1"), token }
    }
}

impl OperatorApi {
    pub fn token(&self) -> &str {
        &self.token
    }

    async fn get(&self, path: &str) -> Value {
        let response =
            self.client.get(format!("{}{path}", self.base)).bearer_auth(&self.token).send().await.expect("API request");
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.json().await.expect("API body")
    }

    /// Every tenant, as `GET /api/v1/tenants` lists them.
    pub async fn tenants(&self) -> Vec<Value> {
        match self.get("/tenants").await {
            Value::Array(tenants) => tenants,
            other => panic!("a list of tenants expected: {other}"),
        }
    }

    /// One tenant, as `GET /api/v1/tenants/{id}` shows it.
    pub async fn tenant(&self, id: &str) -> Value {
        self.get(&format!("/tenants/{id}")).await
    }
}
