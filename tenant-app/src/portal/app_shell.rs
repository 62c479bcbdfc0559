//! What makes the portal an installable web app: the manifest, the icons, the
//! service worker and its offline page.

use axum::Extension;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::portal::Portal;
use crate::portal::layout::Layout;
use crate::security::csrf::CsrfToken;
use crate::web::{PageError, render};

pub fn routes() -> Router<Portal> {
    Router::new()
        .route("/manifest.webmanifest", get(manifest))
        .route("/sw.js", get(service_worker))
        .route("/offline", get(offline))
        .route("/static/app.js", get(|| async { script(include_str!("../../assets/app.js")) }))
        .route("/static/branding.js", get(|| async { script(include_str!("../../assets/branding.js")) }))
        .route("/icons/icon-192.png", get(|| async { png(include_bytes!("../../assets/icon-192.png")) }))
        .route("/icons/icon-512.png", get(|| async { png(include_bytes!("../../assets/icon-512.png")) }))
}

fn script(source: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8")),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600")),
        ],
        source,
    )
        .into_response()
}

fn png(bytes: &'static [u8]) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("image/png")),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400")),
        ],
        bytes,
    )
        .into_response()
}

/// The manifest names the broker's portal, never the operator.
async fn manifest(State(portal): State<Portal>) -> Response {
    let name = &portal.settings().display_name;
    let short_name: String = name.chars().take(12).collect();
    let body = serde_json::json!({
        "name": name,
        "short_name": short_name,
        "lang": "de",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#f5f7fa",
        "theme_color": portal.branding().primary.hex(),
        "icons": [
            {"src": "/icons/icon-192.png", "sizes": "192x192", "type": "image/png", "purpose": "any maskable"},
            {"src": "/icons/icon-512.png", "sizes": "512x512", "type": "image/png", "purpose": "any maskable"}
        ]
    });
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/manifest+json")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body.to_string(),
    )
        .into_response()
}

async fn service_worker() -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8")),
            // Browsers check for a new worker on every visit.
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        include_str!("../../assets/sw.js"),
    )
        .into_response()
}

#[derive(askama::Template)]
#[template(path = "offline.html")]
struct OfflinePage {
    layout: Layout,
}

/// Cached by the service worker, so it shows nobody's data.
async fn offline(State(portal): State<Portal>, Extension(csrf): Extension<CsrfToken>) -> Result<Response, PageError> {
    let mut response = render(&OfflinePage { layout: Layout::new(&portal, &csrf, None) })?;
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}
