//! The internal API for standalone portals, under `/internal/v1/tenants/{id}`:
//! a portal's own domain records. Each request carries the tenant's internal
//! token (derived from its session key, as for the portal's `/internal/usage`),
//! so a portal can reach only its own tenant's records.
//!
//! Served on the admin host and on hosts that are not ours (the control plane's
//! in-cluster service name), never on a portal's host.

use axum::Json;
use axum::Router;
use axum::extract::{FromRequestParts, Path};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use tenant_app::domains::{DirectoryError, DomainDirectory, DomainName};
use tenant_app::security::internal_api::internal_token;
use tenant_app::security::tokens::constant_time_eq;
use tenant_app::web::Problem;

use super::api::{ApiError, ApiJson, bearer_token, unauthorized};
use crate::domains::directory::InProcessDirectory;
use crate::state::AppState;
use crate::tenants;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/internal/v1/tenants/{id}/domains", get(list).post(claim))
        .route("/internal/v1/tenants/{id}/domains/{domain}", delete(remove))
        .route("/internal/v1/tenants/{id}/domains/{domain}/check", post(verify))
}

/// The directory of the tenant named in the path, if the bearer token is that tenant's.
struct TenantDirectory(InProcessDirectory);

impl FromRequestParts<AppState> for TenantDirectory {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Self::Rejection> {
        let unauthorized = || unauthorized("Send the tenant's internal token as `Authorization: Bearer <token>`.");
        let presented = bearer_token(parts).ok_or_else(unauthorized)?;
        let tenant_id = parts.uri.path().trim_start_matches("/internal/v1/tenants/").split('/').next().unwrap_or("");
        let tenant = match tenants::find(&app.db, tenant_id).await {
            Ok(Some(tenant)) => tenant,
            Ok(None) => return Err(unauthorized()),
            Err(err) => return Err(ApiError::from(err).into_response()),
        };
        let key = tenant.session_key(&app.master_key).map_err(|err| {
            ApiError::Internal(anyhow::Error::new(err).context("opening a session key")).into_response()
        })?;
        let expected = internal_token(&key);
        if !constant_time_eq(presented.as_bytes(), expected.as_bytes()) {
            return Err(unauthorized());
        }
        Ok(TenantDirectory(InProcessDirectory::new(app.downgrade(), &tenant.id)))
    }
}

fn refused(err: DirectoryError) -> ApiError {
    match err {
        DirectoryError::Refused(message) => {
            ApiError::Problem(Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "Domain refused").detail(message))
        }
        DirectoryError::NotFound => {
            ApiError::Problem(Problem::new(StatusCode::NOT_FOUND, "Domain not claimed by this tenant"))
        }
        DirectoryError::Unavailable(reason) => ApiError::Internal(anyhow::anyhow!(reason)),
    }
}

fn domain_in_path(domain: &str) -> Result<DomainName, ApiError> {
    DomainName::parse(domain).map_err(|_| refused(DirectoryError::NotFound))
}

async fn list(TenantDirectory(directory): TenantDirectory) -> Result<Response, ApiError> {
    Ok(Json(directory.list().await.map_err(refused)?).into_response())
}

#[derive(serde::Deserialize)]
struct ClaimRequest {
    domain: String,
}

async fn claim(
    TenantDirectory(directory): TenantDirectory,
    ApiJson(request): ApiJson<ClaimRequest>,
) -> Result<Response, ApiError> {
    let domain = DomainName::parse(&request.domain).map_err(|message| refused(DirectoryError::Refused(message)))?;
    let claimed = directory.claim(&domain).await.map_err(refused)?;
    Ok((StatusCode::CREATED, Json(claimed)).into_response())
}

async fn verify(
    TenantDirectory(directory): TenantDirectory,
    Path((_, domain)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    Ok(Json(directory.verify(&domain_in_path(&domain)?).await.map_err(refused)?).into_response())
}

async fn remove(
    TenantDirectory(directory): TenantDirectory,
    Path((_, domain)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    directory.remove(&domain_in_path(&domain)?).await.map_err(refused)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
