//! Orders in the operator console: the contract each broker was given, the
//! signed scan they uploaded, and confirming (the plan starts) or rejecting.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;
use tenant_app::security::csrf::{CsrfForm, CsrfToken};
use tenant_app::web::{PageError, render_with_status};

use crate::billing::orders::{self, Order, OrderStatus};
use crate::operators::console::{ConsoleLayout, ConsoleOperator};
use crate::state::AppState;
use crate::tenants;
use tenant_app::calendar::berlin_time;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/bestellungen", get(list))
        .route("/bestellungen/{id}/vertrag.pdf", get(contract))
        .route("/bestellungen/{id}/unterschrift", get(signed_scan))
        .route("/bestellungen/{id}/bestaetigen", post(confirm))
        .route("/bestellungen/{id}/ablehnen", post(reject))
}

struct Row {
    order: Order,
    tenant: String,
    created: String,
    signed: String,
}

#[derive(askama::Template)]
#[template(path = "billing/templates/orders.html")]
struct OrdersPage {
    layout: ConsoleLayout,
    rows: Vec<Row>,
    error: Option<String>,
}

async fn page(
    app: &AppState,
    operator: &crate::operators::Operator,
    csrf: &CsrfToken,
    error: Option<String>,
) -> Result<Response, PageError> {
    let mut rows = Vec::new();
    for order in orders::open(app).await? {
        let tenant =
            tenants::find(&app.db, &order.tenant_id).await?.map(|t| t.display_name().to_owned()).unwrap_or_default();
        rows.push(Row {
            created: berlin_time(order.created_at),
            signed: order.signed_at.map(berlin_time).unwrap_or_default(),
            tenant,
            order,
        });
    }
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    render_with_status(status, &OrdersPage { layout: ConsoleLayout::new(app, csrf, Some(operator)), rows, error })
}

async fn list(
    State(app): State<AppState>,
    ConsoleOperator(operator): ConsoleOperator,
    Extension(csrf): Extension<CsrfToken>,
) -> Result<Response, PageError> {
    page(&app, &operator, &csrf, None).await
}

async fn find(app: &AppState, id: &str) -> Result<Order, PageError> {
    orders::find(app, id).await?.ok_or(PageError::NotFound)
}

async fn contract(
    State(app): State<AppState>,
    ConsoleOperator(_): ConsoleOperator,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let order = find(&app, &id).await?;
    let tenant = tenants::find(&app.db, &order.tenant_id).await?.ok_or(PageError::NotFound)?;
    let pdf = crate::billing::contract::contract_pdf(&app, &tenant, &order).await?;
    Ok(attachment(pdf, "application/pdf".into(), format!("Vertrag-{}.pdf", order.number())))
}

async fn signed_scan(
    State(app): State<AppState>,
    ConsoleOperator(_): ConsoleOperator,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let (name, content_type, bytes) = orders::signed_scan(&app, &id).await?.ok_or(PageError::NotFound)?;
    Ok(attachment(bytes, content_type, name))
}

fn attachment(body: Vec<u8>, content_type: String, name: String) -> Response {
    let name: String = name.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')).collect();
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
            (header::CACHE_CONTROL, "private, no-store".into()),
        ],
        body,
    )
        .into_response()
}

#[derive(Deserialize)]
struct Empty {}

async fn confirm(
    State(app): State<AppState>,
    ConsoleOperator(operator): ConsoleOperator,
    Extension(csrf): Extension<CsrfToken>,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, PageError> {
    let order = find(&app, &id).await?;
    if order.status != OrderStatus::Signed {
        let problem = "Nur eine Bestellung mit hochgeladenem, unterschriebenem Vertrag kann bestätigt werden.";
        return page(&app, &operator, &csrf, Some(problem.into())).await;
    }
    orders::confirm(&app, &order, &operator.email).await?;
    Ok(Redirect::to("/bestellungen").into_response())
}

#[derive(Deserialize)]
struct RejectForm {
    #[serde(default)]
    grund: String,
}

async fn reject(
    State(app): State<AppState>,
    ConsoleOperator(operator): ConsoleOperator,
    Extension(csrf): Extension<CsrfToken>,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<RejectForm>,
) -> Result<Response, PageError> {
    let order = find(&app, &id).await?;
    let reason = form.grund.trim();
    if reason.is_empty() {
        return page(&app, &operator, &csrf, Some("Bitte nennen Sie den Grund der Ablehnung.".into())).await;
    }
    orders::reject(&app, &order, &operator.email, reason).await?;
    Ok(Redirect::to("/bestellungen").into_response())
}
