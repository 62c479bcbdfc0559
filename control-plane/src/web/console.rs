//! The console's tenant overview on the admin host: the tenant list and each
//! tenant's page, which bring together what several areas know of a tenant
//! (its record and events, domains, billing, contacts), and the operator's
//! actions on its instance. The console's other pages belong to their areas
//! (operators, billing, audit) and are merged in `web::router`.

use axum::Extension;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tenant_app::calendar::berlin_time;
use tenant_app::customers;
use tenant_app::domains::CustomDomain;
use tenant_app::security::csrf::{CsrfForm, CsrfToken};
use tenant_app::web::{PageError, render};

use crate::billing::pages::console::{TenantBilling, plan_states, tenant_billing};
use crate::domains;
use crate::operators::console::{ConsoleLayout, ConsoleOperator};
use crate::state::AppState;
use crate::tenants::{self, Tenant, TenantEvent};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(tenant_list))
        .route("/mandanten/{id}", get(tenant_page))
        .route("/mandanten/{id}/erneut", post(retry_provisioning))
        .route("/mandanten/{id}/sperren", post(suspend_tenant))
        .route("/mandanten/{id}/entsperren", post(resume_tenant))
        .route("/metrics", get(super::ops::metrics))
        .route("/static/ordo.css", get(tenant_app::web::stylesheet))
        .route("/api/v1/openapi.json", get(super::api::admin_openapi))
        .merge(super::ops::routes())
        .merge(crate::operators::pages::routes())
        .merge(crate::billing::pages::console::routes())
        .merge(crate::billing::pages::orders::routes())
        .merge(crate::audit::page::routes())
}

#[derive(Deserialize)]
struct EmptyForm {}

/// One row of the tenants list.
pub struct TenantRow {
    pub tenant: Tenant,
    pub portal_url: String,
    /// Where it stands with its plan: "PREMIUM seit …", "Testphase bis …".
    pub plan_state: String,
    pub contacts: Option<i64>,
}

#[derive(askama::Template)]
#[template(path = "admin/tenants.html")]
struct TenantListPage {
    layout: ConsoleLayout,
    rows: Vec<TenantRow>,
}

/// Contacts of a tenant whose portal this process serves.
pub async fn contact_count(app: &AppState, tenant_id: &str) -> Option<i64> {
    let running = app.registry.by_tenant_id(tenant_id)?;
    customers::contact_count(running.portal.db()).await.ok()
}

async fn tenant_list(
    State(app): State<AppState>,
    ConsoleOperator(operator): ConsoleOperator,
    Extension(csrf): Extension<CsrfToken>,
) -> Result<Response, PageError> {
    let tenants = tenants::list(&app.db).await?;
    let mut states = plan_states(&app, &tenants).await?;
    let mut rows = Vec::new();
    for tenant in tenants {
        rows.push(TenantRow {
            portal_url: app.hosts.tenant_url(&tenant.slug),
            plan_state: states.remove(&tenant.id).unwrap_or_default(),
            contacts: contact_count(&app, &tenant.id).await,
            tenant,
        });
    }
    render(&TenantListPage { layout: ConsoleLayout::new(&app, &csrf, Some(&operator)), rows })
}

#[derive(askama::Template)]
#[template(path = "admin/tenant.html")]
struct TenantPage {
    layout: ConsoleLayout,
    row: TenantRow,
    events: Vec<(String, TenantEvent)>,
    created: String,
    suspended_since: String,
    /// The broker's own domains, each with when it was last checked.
    domains: Vec<(CustomDomain, String)>,
    billing: TenantBilling,
}

async fn tenant_page(
    State(app): State<AppState>,
    ConsoleOperator(operator): ConsoleOperator,
    Extension(csrf): Extension<CsrfToken>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let tenant = tenants::find(&app.db, &id).await?.ok_or(PageError::NotFound)?;
    let events = tenants::events(&app.db, &id).await?.into_iter().map(|e| (berlin_time(e.at), e)).collect();
    let domains = domains::list(&app.db, &id)
        .await?
        .iter()
        .map(|record| {
            (record.view(&app.hosts, &tenant.slug), record.last_checked_at.map(berlin_time).unwrap_or_default())
        })
        .collect();
    let billing = tenant_billing(&app, &tenant).await?;
    render(&TenantPage {
        layout: ConsoleLayout::new(&app, &csrf, Some(&operator)),
        created: berlin_time(tenant.created_at),
        suspended_since: tenant.suspended_at.map(berlin_time).unwrap_or_default(),
        domains,
        row: TenantRow {
            portal_url: app.hosts.tenant_url(&tenant.slug),
            plan_state: billing.plan.clone(),
            contacts: contact_count(&app, &tenant.id).await,
            tenant,
        },
        billing,
        events,
    })
}

async fn retry_provisioning(
    State(app): State<AppState>,
    ConsoleOperator(operator): ConsoleOperator,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    tenants::find(&app.db, &id).await?.ok_or(PageError::NotFound)?;
    app.audit(&operator.email, "retry_provisioning", &format!("tenant:{id}")).await?;
    crate::provisioning::provision(&app, &id).await?;
    Ok(Redirect::to(&format!("/mandanten/{id}")).into_response())
}

#[derive(serde::Deserialize)]
struct SuspendForm {
    grund: String,
}

async fn suspend_tenant(
    State(app): State<AppState>,
    ConsoleOperator(operator): ConsoleOperator,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<SuspendForm>,
) -> Result<Response, PageError> {
    tenants::find(&app.db, &id).await?.ok_or(PageError::NotFound)?;
    let reason = form.grund.trim();
    let reason = if reason.is_empty() { "Vom Betreiber gesperrt." } else { reason };
    let reason: String = reason.chars().take(200).collect();
    app.audit(&operator.email, "suspend_tenant", &format!("tenant:{id}")).await?;
    crate::provisioning::suspend(&app, &id, &reason).await?;
    Ok(Redirect::to(&format!("/mandanten/{id}")).into_response())
}

async fn resume_tenant(
    State(app): State<AppState>,
    ConsoleOperator(operator): ConsoleOperator,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    tenants::find(&app.db, &id).await?.ok_or(PageError::NotFound)?;
    app.audit(&operator.email, "resume_tenant", &format!("tenant:{id}")).await?;
    crate::provisioning::resume(&app, &id).await?;
    Ok(Redirect::to(&format!("/mandanten/{id}")).into_response())
}
