//! A portal whose trial has ended without an order stays up, but locked: the
//! broker sees what happened and where to order or extend (the billing area,
//! which the control plane serves under `/makler/abrechnung`), customers a
//! neutral notice that says nothing about trials or billing. Logging in and
//! out, setting a password and the portal's assets keep working.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::portal::Portal;
use crate::portal::auth::SessionUser;
use crate::portal::layout::Layout;
use crate::security::csrf::CsrfToken;
use crate::web::render_with_status;

/// Paths that work while the portal is locked.
fn open(path: &str) -> bool {
    matches!(
        path,
        "/anmelden"
            | "/abmelden"
            | "/passwort-setzen"
            | "/healthz"
            | "/readyz"
            | "/manifest.webmanifest"
            | "/sw.js"
            | "/offline"
    ) || ["/static/", "/icons/", "/internal/", "/sprache/", "/branding/"].iter().any(|prefix| path.starts_with(prefix))
}

#[derive(askama::Template)]
#[template(path = "broker/trial_ended.html")]
struct TrialEndedPage {
    layout: Layout,
}

#[derive(askama::Template)]
#[template(path = "closed.html")]
struct ClosedPage {
    layout: Layout,
}

pub async fn gate(State(portal): State<Portal>, request: Request, next: Next) -> Response {
    if !portal.entitlements().trial_ended || open(request.uri().path()) {
        return next.run(request).await;
    }
    // API clients get a problem body, not a page.
    if request.uri().path().starts_with("/api/") {
        return crate::web::Problem::new(StatusCode::FORBIDDEN, "Portal locked")
            .detail("The trial has ended without an order; the broker can order a plan under /makler/abrechnung.")
            .into_response();
    }
    let (mut parts, _body) = request.into_parts();
    // Set by the CSRF layer, which runs before this one.
    let Some(csrf) = parts.extensions.get::<CsrfToken>().cloned() else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let user = SessionUser::from_request_parts(&mut parts, &portal).await.ok();
    let page = match user {
        Some(user) if user.is_broker() => render_with_status(
            StatusCode::FORBIDDEN,
            &TrialEndedPage { layout: Layout::new(&portal, &csrf, Some(&user)) },
        ),
        // Customers and visitors learn only that the portal is not available.
        _ => render_with_status(
            StatusCode::SERVICE_UNAVAILABLE,
            &ClosedPage { layout: Layout::new(&portal, &csrf, None) },
        ),
    };
    page.unwrap_or_else(IntoResponse::into_response)
}
