//! The portal's internal API for the control plane: usage for metering and
//! plan limits, and API keys the operator makes while setting up an
//! integration. Authenticated by a bearer token derived from the tenant's secret.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::api_keys::{self, KeyError, Maker, Scope, remote};
use crate::plans::Limits;
use crate::portal::Portal;
use crate::security::tokens::constant_time_eq;
use crate::usage::{self, Usage};
use crate::web::Problem;

pub fn routes() -> Router<Portal> {
    Router::new().route("/internal/usage", get(usage_report)).route("/internal/api-keys", post(create_api_key))
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

/// Makes a write key for the operator (the control plane's
/// `POST /api/v1/tenants/{id}/api-keys` on a standalone portal).
async fn create_api_key(
    State(portal): State<Portal>,
    headers: HeaderMap,
    body: Result<Json<remote::CreateRequest>, axum::extract::rejection::JsonRejection>,
) -> Response {
    if !authorized(&portal, &headers) {
        let mut response = Problem::new(StatusCode::UNAUTHORIZED, "Authentication required").into_response();
        response.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        return response;
    }
    let Json(request) = match body {
        Ok(body) => body,
        Err(rejection) => {
            return Problem::new(rejection.status(), "Unreadable request body")
                .detail(rejection.body_text())
                .into_response();
        }
    };
    match issue_for_operator(&portal, &request.name, &request.operator).await {
        Ok(created) => (StatusCode::CREATED, Json(created)).into_response(),
        Err(KeyError::Database(err)) => {
            tracing::error!(error = %err, "making an API key");
            Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal error").into_response()
        }
        Err(refused) => Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "API key refused")
            .detail(refused.to_string())
            .into_response(),
    }
}

/// The one way a key for the operator is made, for a portal in this process or
/// behind the internal API: a write key (integrations write), audited.
pub async fn issue_for_operator(portal: &Portal, name: &str, operator: &str) -> Result<remote::CreatedKey, KeyError> {
    let maker = Maker::Operator { name: operator.to_owned() };
    let issued = api_keys::issue(portal.db(), name, Scope::Write, &maker).await?;
    tracing::info!(key_id = %issued.key.id, "API key created for the operator");
    Ok(remote::CreatedKey { id: issued.key.id, key: issued.secret, name: issued.key.name })
}
