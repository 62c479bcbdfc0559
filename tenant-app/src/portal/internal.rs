//! The portal's internal API for the control plane: usage for metering and
//! plan limits. Authenticated by a bearer token derived from the tenant's secret.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::plans::Limits;
use crate::portal::Portal;
use crate::security::tokens::constant_time_eq;
use crate::usage::{self, Usage};
use crate::web::Problem;

pub fn routes() -> Router<Portal> {
    Router::new().route("/internal/usage", get(usage_report))
}

#[derive(serde::Serialize)]
struct UsageReport {
    tenant_id: String,
    plan: &'static str,
    limits: Limits,
    usage: Usage,
}

fn authorized(portal: &Portal, headers: &HeaderMap) -> bool {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    constant_time_eq(presented.as_bytes(), portal.settings().internal_token().as_bytes())
}

async fn usage_report(State(portal): State<Portal>, headers: HeaderMap) -> Response {
    if !authorized(&portal, &headers) {
        let mut response = Problem::new(StatusCode::UNAUTHORIZED, "Authentication required").into_response();
        response.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        return response;
    }
    match usage::measure(portal.db()).await {
        Ok(usage) => {
            let plan = portal.entitlements().plan;
            Json(UsageReport {
                tenant_id: portal.settings().tenant_id.clone(),
                plan: plan.as_str(),
                limits: plan.limits(),
                usage,
            })
            .into_response()
        }
        Err(err) => {
            tracing::error!(error = %err, "measuring usage");
            Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal error").into_response()
        }
    }
}
