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

/// Every log line the servers of this test process write from now on, at
/// INFO and above, with the request spans' fields, as the production
/// formatter writes them.
#[derive(Clone)]
pub struct CapturedLogs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl CapturedLogs {
    /// Starts capturing (once per process; later calls share the capture).
    pub fn start() -> CapturedLogs {
        static CAPTURE: std::sync::OnceLock<CapturedLogs> = std::sync::OnceLock::new();
        CAPTURE
            .get_or_init(|| {
                let logs = CapturedLogs(Default::default());
                let writer = logs.clone();
                let subscriber = tracing_subscriber::fmt()
                    .with_max_level(tracing::Level::INFO)
                    .with_ansi(false)
                    .with_writer(move || writer.clone())
                    .finish();
                tracing::subscriber::set_global_default(subscriber)
                    .expect("no other log subscriber (unset RUST_LOG for this test)");
                logs
            })
            .clone()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log buffer")).into_owned()
    }
}

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
