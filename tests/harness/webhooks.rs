//! Webhooks in tests: a real HTTP receiver on 127.0.0.1 that records every
//! request and answers as the test tells it, the signature check exactly as
//! docs/integrations.md documents it (written here again, not borrowed from
//! the portal), and the broker's steps on the webhook pages.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use reqwest::Response;
use serde_json::Value;
use sha2::Sha256;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::{PortalSession, TestApp};

/// How long a test waits for something the portal's worker does.
const PATIENCE: Duration = Duration::from_secs(30);

/// One request as the receiver got it.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// When it arrived (for ordo-bench's delivery latencies).
    pub at: std::time::Instant,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("the body is JSON")
    }

    /// The `type` of the event delivered.
    pub fn event_type(&self) -> String {
        self.json()["type"].as_str().unwrap_or_default().to_owned()
    }
}

#[derive(Default)]
struct Recorded {
    received: Mutex<Vec<Received>>,
    /// Statuses for the next requests, in order; afterwards `otherwise`.
    answers: Mutex<VecDeque<u16>>,
    otherwise: Mutex<u16>,
    arrived: Notify,
}

/// A webhook receiver: a small axum server on a free port of 127.0.0.1.
pub struct Receiver {
    /// Where to point an endpoint: `http://127.0.0.1:<port>/hook`.
    pub url: String,
    recorded: Arc<Recorded>,
    server: JoinHandle<()>,
}

async fn receive(State(recorded): State<Arc<Recorded>>, headers: HeaderMap, body: Bytes) -> (StatusCode, String) {
    recorded.received.lock().unwrap().push(Received { headers, body: body.to_vec(), at: std::time::Instant::now() });
    let status = recorded.answers.lock().unwrap().pop_front().unwrap_or(*recorded.otherwise.lock().unwrap());
    recorded.arrived.notify_waiters();
    (StatusCode::from_u16(status).unwrap(), format!("receiver answered {status}"))
}

impl Receiver {
    pub async fn start() -> Receiver {
        let recorded = Arc::new(Recorded { otherwise: Mutex::new(200), ..Recorded::default() });
        let router = axum::Router::new().fallback(receive).with_state(recorded.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the receiver");
        let url = format!("http://127.0.0.1:{}/hook", listener.local_addr().unwrap().port());
        let server = tokio::spawn(async move {
            axum::serve(listener, router).await.expect("the receiver serves");
        });
        Receiver { url, recorded, server }
    }

    /// Answers the next requests with these statuses, then as before.
    pub fn answer_next(&self, statuses: &[u16]) {
        self.recorded.answers.lock().unwrap().extend(statuses.iter().copied());
    }

    /// Answers every later request with this status.
    pub fn answer_always(&self, status: u16) {
        self.recorded.answers.lock().unwrap().clear();
        *self.recorded.otherwise.lock().unwrap() = status;
    }

    pub fn received(&self) -> Vec<Received> {
        self.recorded.received.lock().unwrap().clone()
    }

    /// Waits until `count` requests have arrived and returns them all.
    pub async fn wait_for(&self, count: usize) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let arrived = self.recorded.arrived.notified();
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                let types: Vec<String> = self.received().iter().map(Received::event_type).collect();
                panic!("waited for {count} webhook requests, got {}: {types:?}", types.len());
            }
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Checks an `Ordo-Signature` header the way docs/integrations.md tells a
/// receiver to: `t` within five minutes of now, and `v1` the hex HMAC-SHA256
/// of `"<t>.<body>"` keyed with the endpoint's secret, compared in constant time.
pub fn signature_valid(header: &str, secret: &str, body: &[u8]) -> bool {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => signatures.push(value.to_owned()),
            _ => {}
        }
    }
    let Some(timestamp) = timestamp else { return false };
    if (chrono::Utc::now().timestamp() - timestamp).abs() > 300 {
        return false;
    }
    signatures.iter().any(|signature| {
        let Ok(expected) = hex::decode(signature) else { return false };
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{timestamp}.").as_bytes());
        mac.update(body);
        mac.verify_slice(&expected).is_ok()
    })
}

/// An endpoint just registered, with the secret the page showed once.
#[derive(Debug, Clone)]
pub struct Registered {
    pub id: String,
    pub secret: String,
}

fn capture(html: &str, pattern: &str) -> Option<String> {
    regex_lite::Regex::new(pattern).unwrap().captures(html).map(|c| c[1].to_owned())
}

impl PortalSession {
    /// Submits the "Endpunkt einrichten" form; `events` are types such as `message.created`.
    pub async fn submit_webhook(&self, name: &str, url: &str, events: &[&str]) -> Response {
        let mut fields = vec![("name", name), ("url", url)];
        fields.extend(events.iter().map(|event| (*event, "1")));
        self.submit("/makler/webhooks", "/makler/webhooks", &fields).await
    }

    /// Registers an endpoint and reads its id and secret off the answer.
    pub async fn register_webhook(&self, name: &str, url: &str, events: &[&str]) -> Registered {
        let response = self.submit_webhook(name, url, events).await;
        assert_eq!(response.status(), StatusCode::OK, "register webhook");
        let html = response.text().await.unwrap();
        let secret = capture(&html, r#"<code class="secret" id="secret">([^<]+)</code>"#).expect("the secret is shown");
        let id = capture(&html, r#"href="/makler/webhooks/([0-9a-f]+)""#).expect("a link to the endpoint");
        Registered { id, secret }
    }

    /// The endpoint's page with its delivery log.
    pub async fn webhook_page(&self, id: &str) -> String {
        let (status, html) = self.page(&format!("/makler/webhooks/{id}")).await;
        assert_eq!(status, StatusCode::OK, "webhook page");
        html
    }

    /// Waits until the endpoint's page shows `text` (the worker writes the log).
    pub async fn wait_for_webhook_page(&self, id: &str, text: &str) -> String {
        self.wait_for_webhook_page_count(id, text, 1).await
    }

    /// Waits until the endpoint's page shows `text` at least `count` times
    /// (`HTTP 500` twice: the second attempt is recorded).
    pub async fn wait_for_webhook_page_count(&self, id: &str, text: &str, count: usize) -> String {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let html = self.webhook_page(id).await;
            if html.matches(text).count() >= count {
                return html;
            }
            assert!(tokio::time::Instant::now() < deadline, "the webhook page never showed {text:?} {count}×:\n{html}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The ids of the endpoint's deliveries as its log lists them, newest first.
    pub async fn webhook_deliveries(&self, id: &str) -> Vec<String> {
        let html = self.webhook_page(id).await;
        regex_lite::Regex::new(r#"id="delivery-([0-9a-f]+)""#)
            .unwrap()
            .captures_iter(&html)
            .map(|c| c[1].to_owned())
            .collect()
    }

    /// "Erneut senden" on one delivery.
    pub async fn redeliver(&self, id: &str, delivery: &str) -> Response {
        let page = format!("/makler/webhooks/{id}");
        self.submit(&page, &format!("{page}/zustellungen/{delivery}/erneut"), &[]).await
    }

    /// The tenant's slug, from the portal's host name.
    pub fn slug(&self) -> String {
        self.origin.split("//").nth(1).unwrap().split('.').next().unwrap().to_owned()
    }
}

/// Puts the tenant on `plan` and lets the running portal follow, as the
/// control plane does after an order. The order flow itself is tested in
/// ordering.rs; here only the plan matters, so the record is set directly.
pub async fn set_plan(app: &TestApp, slug: &str, plan: &str) {
    let tenant = control_plane::tenants::find_by_slug(&app.state.db, slug).await.unwrap().expect("tenant");
    sqlx::query("UPDATE tenants SET plan = $1 WHERE id = $2")
        .bind(plan)
        .bind(&tenant.id)
        .execute(app.state.db.pool())
        .await
        .unwrap();
    let tenant = control_plane::tenants::find(&app.state.db, &tenant.id).await.unwrap().unwrap();
    let deployment = control_plane::provisioning::deployment_for(&app.state, &tenant).await.unwrap();
    app.state.provisioner.deploy(&deployment).await.unwrap();
}
