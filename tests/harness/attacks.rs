//! The steps of the attacks the hardening scenarios replay (tests/e2e/hardening_*.rs):
//! what an operator or an outsider does, through the public surface only.

use reqwest::{Client, Response, StatusCode};

use crate::TestApp;
use crate::browser::{get_page, post_form};

impl TestApp {
    /// The operator suspends `tenant_id` in the console, giving `reason`.
    pub async fn suspend_in_console(&self, operator: &Client, tenant_id: &str, reason: &str) {
        let admin = self.url("admin", "");
        let (_, detail) = get_page(operator, &format!("{admin}/mandanten/{tenant_id}")).await;
        let suspended =
            post_form(operator, &format!("{admin}/mandanten/{tenant_id}/sperren"), &detail, &[("grund", reason)]).await;
        assert_eq!(suspended.status(), StatusCode::SEE_OTHER, "suspend");
    }

    /// The operator resumes `tenant_id` in the console.
    pub async fn resume_in_console(&self, operator: &Client, tenant_id: &str) {
        let admin = self.url("admin", "");
        let (_, detail) = get_page(operator, &format!("{admin}/mandanten/{tenant_id}")).await;
        let resumed = post_form(operator, &format!("{admin}/mandanten/{tenant_id}/entsperren"), &detail, &[]).await;
        assert_eq!(resumed.status(), StatusCode::SEE_OTHER, "resume");
    }
}

/// Logs in to a form at `origin` + `path` (GET for the token, then POST) with
/// e-mail and password; returns the answer to the POST.
pub async fn log_in_at(client: &Client, origin: &str, path: &str, email: &str, password: &str) -> Response {
    let (status, html) = get_page(client, &format!("{origin}{path}")).await;
    assert_eq!(status, StatusCode::OK, "login page {path}: {html}");
    post_form(client, &format!("{origin}{path}"), &html, &[("email", email), ("password", password)]).await
}
