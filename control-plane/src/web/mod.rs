//! The one HTTP listener: requests are dispatched by `Host` to the public site,
//! the operator console, or a tenant's portal. Each site is a router of its own,
//! built here once.

mod api;
mod console;
mod internal;
mod money_api;
mod ops;
mod public;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use tenant_app::security::csrf;
use tower::ServiceExt;

use crate::hosts::{Hosts, Site};
use crate::state::AppState;

#[derive(Clone)]
struct Sites {
    app: AppState,
    public: Router,
    admin: Router,
    ops: Router,
    internal: Router,
}

/// The whole server: host dispatch wrapped in the request layers.
pub fn router(app: AppState) -> Router {
    let csrf_layer = axum::middleware::from_fn_with_state(app.csrf.clone(), csrf::ensure_cookie);
    let public = public::routes().merge(api::public_routes()).layer(csrf_layer.clone()).with_state(app.clone());
    let admin = console::routes()
        .merge(api::admin_routes())
        .merge(money_api::routes())
        .layer(csrf_layer)
        .with_state(app.clone());
    let ops = ops::routes().with_state(app.clone());
    let internal = internal::routes().with_state(app.clone());
    let sites = Arc::new(Sites { app, public, admin, ops, internal });
    let trust_proxy = sites.app.config.trust_proxy;
    tenant_app::web::with_request_layers(Router::new().fallback(dispatch).with_state(sites), trust_proxy)
}

async fn dispatch(State(sites): State<Arc<Sites>>, request: Request) -> Response {
    let host = request.headers().get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    let site = sites.app.hosts.classify(host);
    let path = request.uri().path();
    let is_probe = path == "/healthz" || path == "/readyz";
    // Standalone portals reach the internal API by the control plane's service name.
    let is_internal = path.starts_with("/internal/");
    // The broker's billing area lives on the portal's host but is served here.
    if crate::billing::pages::broker::is_billing_path(path)
        && let Some(tenant) = tenant_for_host(&sites.app, &site, host).await
    {
        let response = crate::billing::pages::broker::handle(sites.app.clone(), tenant, request).await;
        sites.app.metrics.request("billing", response.status().as_u16());
        return response;
    }
    let (label, router) = match &site {
        Site::Public => ("public", Some(sites.public.clone())),
        Site::Admin if is_internal => ("internal", Some(sites.internal.clone())),
        Site::Admin => ("admin", Some(sites.admin.clone())),
        Site::Tenant(slug) => ("tenant", sites.app.registry.get(slug).map(|running| running.router)),
        // A broker's own domain, once verified; anything else is not ours.
        Site::Unknown => match sites.app.registry.by_domain(&Hosts::host_name(host)) {
            Some(running) => ("custom_domain", Some(running.router)),
            None if is_internal => ("internal", Some(sites.internal.clone())),
            None => ("unknown", None),
        },
    };
    let suspended = match router {
        None => suspended_portal(&sites.app, &site, host).await,
        Some(_) => None,
    };
    let response = match (router, suspended) {
        (Some(router), _) => router.oneshot(request).await.unwrap_or_else(|never| match never {}),
        // A suspended portal's hosts: the neutral maintenance page (its stylesheet too).
        (None, Some(display_name)) => maintenance_page(path, display_name).await,
        // Probes from the orchestrator arrive with an IP as Host.
        (None, None) if is_probe => sites.ops.clone().oneshot(request).await.unwrap_or_else(|never| match never {}),
        // Nothing here: the same bare page for every unknown host, naming nothing.
        (None, None) => {
            (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "Not Found").into_response()
        }
    };
    sites.app.metrics.request(label, response.status().as_u16());
    response
}

/// The tenant whose portal a host is: its own host name or a verified domain.
async fn tenant_for_host(app: &AppState, site: &Site, host: &str) -> Option<crate::tenants::Tenant> {
    let tenant = match site {
        Site::Tenant(slug) => crate::tenants::find_by_slug(&app.db, slug).await.ok()??,
        Site::Unknown => {
            let tenant_id = crate::domains::verified_owner(&app.db, &Hosts::host_name(host)).await.ok()??;
            crate::tenants::find(&app.db, &tenant_id).await.ok()??
        }
        _ => return None,
    };
    (tenant.status == crate::tenants::TenantStatus::Ready).then_some(tenant)
}

/// The display name of the suspended tenant a host (its own or a verified
/// domain) names, if it is one.
async fn suspended_portal(app: &AppState, site: &Site, host: &str) -> Option<String> {
    let tenant = tenant_for_host(app, site, host).await?;
    tenant.suspended_at.map(|_| tenant.display_name().to_owned())
}

#[derive(askama::Template)]
#[template(path = "maintenance.html")]
struct MaintenancePage {
    display_name: String,
}

async fn maintenance_page(path: &str, display_name: String) -> Response {
    if path == "/static/ordo.css" {
        return tenant_app::web::stylesheet().await;
    }
    let body = askama::Template::render(&MaintenancePage { display_name }).unwrap_or_default();
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-store")],
        body,
    )
        .into_response()
}
