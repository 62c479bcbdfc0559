//! Liveness, readiness and metrics.

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::state::AppState;

/// `/healthz` and `/readyz`, mounted on every site of the control plane.
pub fn routes() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz))
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(app): State<AppState>) -> Response {
    match app.db.ping().await {
        Ok(()) => "ready".into_response(),
        Err(err) => {
            tracing::warn!(error = %err, "control-plane database not reachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

/// Prometheus text format, for scrapers holding an operator API token
/// (`authorization: {credentials: <token>}` in the scrape config).
pub async fn metrics(State(app): State<AppState>, _operator: super::api::ApiOperator) -> Response {
    let by_status: Vec<(String, i64)> = match crate::tenants::count_by_status(&app.db).await {
        Ok(rows) => rows,
        Err(err) => {
            tracing::warn!(error = %err, "counting tenants for metrics");
            Vec::new()
        }
    };
    let body = app.metrics.render(&by_status, app.registry.len());
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], body).into_response()
}
