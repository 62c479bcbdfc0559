//! Web plumbing shared by the portal and the control plane: the layers every
//! response passes through, error pages, JSON problem bodies and form errors.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Content Security Policy: no inline script or style anywhere; everything the
/// pages need is served from their own origin.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
                       object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// Middleware: security headers on every response.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    // A page that needs a third-party origin (the control plane's Stripe page)
    // sets a policy of its own; every other response gets this one.
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(
        HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static("camera=(self), microphone=(), geolocation=()"),
    );
    headers.insert(HeaderName::from_static("cross-origin-opener-policy"), HeaderValue::from_static("same-origin"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        // Pages show private data: never store them in shared or browser caches.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// The outermost layers of a server: a request id (taken from the client or made
/// up), one tracing span per request carrying it and the matched route, and
/// security headers. Headers are not logged: they carry cookies and tokens.
pub fn with_request_layers(router: Router, trust_proxy: bool) -> Router {
    router
        .layer(axum::middleware::from_fn(security_headers))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request| {
                    let request_id = request
                        .extensions()
                        .get::<RequestId>()
                        .and_then(|id| id.header_value().to_str().ok())
                        .unwrap_or("-");
                    // Dispatch by host happens below this layer, so no route has
                    // matched yet: the path is logged with every value redacted.
                    let route = request
                        .extensions()
                        .get::<axum::extract::MatchedPath>()
                        .map(|path| path.as_str().to_owned())
                        .unwrap_or_else(|| redacted_path(request.uri().path()));
                    let host = request.headers().get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("-");
                    tracing::info_span!("request", method = %request.method(), host, route, request_id)
                })
                .on_response(tower_http::trace::DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(axum::middleware::from_fn(move |mut request: Request, next: Next| async move {
            let ip = client_ip(&request, trust_proxy);
            request.extensions_mut().insert(ClientIp(ip));
            next.run(request).await
        }))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// The client's address, as the request layers determined it (see
/// [`with_request_layers`]), else as seen by the listener.
pub fn client_address(request_extensions: &axum::http::Extensions) -> String {
    if let Some(ClientIp(ip)) = request_extensions.get::<ClientIp>() {
        return ip.clone();
    }
    request_extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// A path fit for a log line: every segment that is not a plain word of the
/// site's own paths (letters and hyphens, as in `/makler/kunden`, at most 24
/// characters) becomes `{…}`, so ids, tokens and links never reach the log.
/// The query string is never part of it.
pub fn redacted_path(path: &str) -> String {
    let segments: Vec<&str> = path
        .split('/')
        .map(|segment| {
            let plain = segment.len() <= 24
                && segment.chars().all(|c| c.is_ascii_lowercase() || c == '-' || c == '.' || c == '_');
            if plain { segment } else { "{…}" }
        })
        .collect();
    segments.join("/")
}

/// The client's address, decided once per request.
#[derive(Debug, Clone)]
struct ClientIp(String);

/// The address a request came from. Behind a reverse proxy (an ingress) every
/// connection comes from the proxy, so brute-force and sign-up limits per address
/// would throttle everybody at once; with `trust_proxy` the address the proxy
/// appended last to `X-Forwarded-For` counts. Never trust that header otherwise:
/// clients can write anything into it.
fn client_ip(request: &Request, trust_proxy: bool) -> String {
    let peer = || client_address(request.extensions());
    if !trust_proxy {
        return peer();
    }
    request
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .last()
        .and_then(|last| last.trim().parse::<std::net::IpAddr>().ok())
        .map(|ip| ip.to_string())
        .unwrap_or_else(peer)
}

/// Adds `Retry-After` to a refusal of the throttle (429) or of a full queue (503).
pub fn with_retry_after(mut response: Response, seconds: i64) -> Response {
    response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(seconds.max(1)));
    response
}

/// A minimal page with one sentence, for errors that have no better place.
pub fn plain_page(status: StatusCode, text: &str) -> Response {
    let title = status.canonical_reason().unwrap_or("Fehler");
    let body = format!(
        "<!doctype html><html lang=\"de\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{status_code} {title}</title></head><body><main><h1>{status_code}</h1><p>{text}</p></main></body></html>",
        status_code = status.as_u16(),
        title = escape(title),
        text = escape(text),
    );
    (status, Html(body)).into_response()
}

/// Escapes text for HTML outside of templates.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Field-level messages for a form or an API body, keyed by field name.
#[derive(Debug, Default, Clone, serde::Serialize)]
#[serde(transparent)]
pub struct FieldErrors(BTreeMap<&'static str, String>);

impl FieldErrors {
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.entry(field).or_insert_with(|| message.into());
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value)` when no field had an error.
    pub fn into_result<T>(self, value: impl FnOnce() -> T) -> Result<T, FieldErrors> {
        if self.is_empty() { Ok(value()) } else { Err(self) }
    }
}

/// An RFC 9457 problem body, the error format of every JSON API.
#[derive(Debug, serde::Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<FieldErrors>,
}

impl Problem {
    pub fn new(status: StatusCode, title: impl Into<String>) -> Problem {
        Problem { kind: "about:blank", title: title.into(), status: status.as_u16(), detail: None, errors: None }
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Problem {
        self.detail = Some(detail.into());
        self
    }

    pub fn validation(errors: FieldErrors) -> Problem {
        Problem {
            kind: "about:blank",
            title: "Invalid input".into(),
            status: 422,
            detail: Some("One or more fields are invalid; see errors.".into()),
            errors: Some(errors),
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        (status, [(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"))], body).into_response()
    }
}

/// The style sheet every page links to, served from memory.
pub const STYLESHEET: &str = include_str!("../assets/ordo.css");

pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8")),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600")),
        ],
        STYLESHEET,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
        let request = |xff: &str| {
            let mut request =
                Request::builder().header("x-forwarded-for", xff).body(axum::body::Body::empty()).unwrap();
            request.extensions_mut().insert(ConnectInfo(SocketAddr::from(([10, 0, 0, 9], 4000))));
            request
        };
        assert_eq!(client_ip(&request("203.0.113.7"), false), "10.0.0.9");
        assert_eq!(client_ip(&request("1.1.1.1, 203.0.113.7"), true), "203.0.113.7", "the proxy's entry is the last");
        assert_eq!(client_ip(&request("garbage"), true), "10.0.0.9");
    }

    #[test]
    fn escaping_neutralises_markup() {
        assert_eq!(escape("<script>\"'&"), "&lt;script&gt;&quot;&#39;&amp;");
    }
}

/// The client's address as an extractor; never fails.
#[derive(Debug, Clone)]
pub struct ClientAddress(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(client_address(&parts.extensions)))
    }
}

/// Why a page could not be shown. Causes of 500s are logged, never shown.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    #[error("login required")]
    LoginRequired,
    #[error("bad request")]
    BadRequest,
    /// Too many password checks at once: 503 with `Retry-After`.
    #[error("busy")]
    Busy { retry_after_secs: i64 },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for PageError {
    fn from(err: sqlx::Error) -> Self {
        PageError::Internal(err.into())
    }
}

impl From<crate::mail::MailError> for PageError {
    fn from(err: crate::mail::MailError) -> Self {
        PageError::Internal(err.into())
    }
}

impl From<askama::Error> for PageError {
    fn from(err: askama::Error) -> Self {
        PageError::Internal(err.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::NotFound => plain_page(StatusCode::NOT_FOUND, "Diese Seite gibt es nicht."),
            PageError::Forbidden => plain_page(StatusCode::FORBIDDEN, "Dafür fehlt Ihnen die Berechtigung."),
            PageError::LoginRequired => axum::response::Redirect::to("/anmelden").into_response(),
            PageError::BadRequest => plain_page(
                StatusCode::BAD_REQUEST,
                "Die Anfrage konnte nicht gelesen werden. Bitte laden Sie die Seite neu und versuchen Sie es noch einmal.",
            ),
            PageError::Busy { retry_after_secs } => with_retry_after(
                plain_page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Gerade melden sich sehr viele an. Bitte versuchen Sie es in einigen Sekunden noch einmal.",
                ),
                retry_after_secs,
            ),
            PageError::Internal(err) => {
                tracing::error!(error = format!("{err:#}"), "request failed");
                plain_page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Es ist ein Fehler aufgetreten. Bitte versuchen Sie es später noch einmal.",
                )
            }
        }
    }
}

/// Renders an askama template into an HTML response.
pub fn render(template: &impl askama::Template) -> Result<Response, PageError> {
    Ok(Html(template.render()?).into_response())
}

/// Renders with a status other than 200 (for example 422 for a form with errors).
pub fn render_with_status(status: StatusCode, template: &impl askama::Template) -> Result<Response, PageError> {
    Ok((status, Html(template.render()?)).into_response())
}

/// Resolves on SIGTERM or Ctrl-C, to start a graceful shutdown.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
