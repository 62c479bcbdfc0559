//! The JSON API under `/api/v1`: trial sign-up on the public host, tenants on
//! the admin host (bearer tokens). Every error is an RFC 9457 problem body.

use axum::Json;
use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tenant_app::web::{ClientAddress, Problem};

use crate::domains;
use crate::operators::{self, Operator};
use crate::state::AppState;
use crate::tenants::signup::{NewTrial, SignupError, TrialRequest};
use crate::tenants::{self, Tenant};

pub fn public_routes() -> Router<AppState> {
    Router::new().route("/api/v1/trials", post(create_trial))
}

pub fn admin_routes() -> Router<AppState> {
    Router::new().route("/api/v1/tenants", get(list_tenants)).route("/api/v1/tenants/{id}", get(get_tenant))
}

/// `openapi.json` holds every operation of both hosts; each host serves the
/// operations tagged for it (`public`, `operator`) with itself as the server,
/// so that a client (or schemathesis) of one host sees only what it answers.
fn document_for(tag: &str, server: &str) -> String {
    let mut document: serde_json::Value =
        serde_json::from_str(include_str!("openapi.json")).expect("openapi.json is JSON");
    if let Some(paths) = document["paths"].as_object_mut() {
        paths.retain(|_, item| {
            item.as_object().is_some_and(|operations| {
                operations
                    .values()
                    .any(|operation| operation["tags"].as_array().is_some_and(|tags| tags.iter().any(|t| t == tag)))
            })
        });
    }
    if let Some(servers) = document["servers"].as_array_mut() {
        servers.retain(|entry| entry["description"].as_str().is_some_and(|d| d.starts_with(server)));
    }
    serde_json::to_string_pretty(&document).expect("a JSON value serialises")
}

fn json(body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response()
}

/// The public host's OpenAPI document (the trial sign-up).
pub async fn public_openapi() -> Response {
    static DOCUMENT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    json(DOCUMENT.get_or_init(|| document_for("public", "public host")))
}

/// The admin host's OpenAPI document (the operator API).
pub async fn admin_openapi() -> Response {
    static DOCUMENT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    json(DOCUMENT.get_or_init(|| document_for("operator", "admin host")))
}

/// Errors of the API.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0:?}")]
    Problem(Problem),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        ApiError::Internal(err.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Problem(problem) => problem.into_response(),
            ApiError::Internal(err) => {
                tracing::error!(error = format!("{err:#}"), "API request failed");
                Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal error").into_response()
            }
        }
    }
}

/// A JSON body whose rejection is a problem body too.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(ApiError::Problem(
                Problem::new(rejection.status(), "Unreadable request body").detail(rejection.body_text()),
            )),
        }
    }
}

/// The token of `Authorization: Bearer <token>`, if the request sent one.
pub(super) fn bearer_token(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
}

/// 401 with a problem body saying which token to send.
pub(super) fn unauthorized(detail: &'static str) -> Response {
    let mut response = Problem::new(StatusCode::UNAUTHORIZED, "Authentication required").detail(detail).into_response();
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

/// An operator authenticated by `Authorization: Bearer <token>`.
pub struct ApiOperator(#[allow(dead_code)] pub Operator);

impl FromRequestParts<AppState> for ApiOperator {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Self::Rejection> {
        let unauthorized = || unauthorized("Send an operator API token as `Authorization: Bearer <token>`.");
        let token = bearer_token(parts).ok_or_else(unauthorized)?;
        match operators::authenticate_api_token(&app.db, token).await {
            Ok(Some(operator)) => Ok(ApiOperator(operator)),
            Ok(None) => Err(unauthorized()),
            Err(err) => Err(ApiError::from(err).into_response()),
        }
    }
}

#[derive(Serialize)]
struct TrialCreated {
    id: String,
    slug: String,
    status: &'static str,
    portal_url: String,
}

async fn create_trial(
    State(app): State<AppState>,
    ClientAddress(address): ClientAddress,
    ApiJson(request): ApiJson<TrialRequest>,
) -> Result<Response, ApiError> {
    let trial = NewTrial::parse(&request).map_err(|errors| ApiError::Problem(Problem::validation(errors)))?;
    match crate::provisioning::start_trial(&app, &trial, &address).await {
        Ok(tenant) => {
            let body = TrialCreated {
                portal_url: app.hosts.tenant_url(&tenant.slug),
                status: tenant.status.as_str(),
                id: tenant.id,
                slug: tenant.slug,
            };
            Ok((StatusCode::CREATED, Json(body)).into_response())
        }
        Err(SignupError::EmailTaken) => Err(ApiError::Problem(
            Problem::new(StatusCode::CONFLICT, "E-mail address already registered")
                .detail("A tenant with this e-mail address exists; log in to its portal instead."),
        )),
        Err(SignupError::TooMany) => Err(ApiError::Problem(
            Problem::new(StatusCode::TOO_MANY_REQUESTS, "Too many sign-ups")
                .detail("Too many trials were started from this address in the last hour; please try again later."),
        )),
        Err(err) => Err(ApiError::Internal(err.into())),
    }
}

/// A tenant as the operator API shows it.
#[derive(Serialize)]
struct TenantView {
    id: String,
    slug: String,
    name: String,
    company: Option<String>,
    email: String,
    status: &'static str,
    status_reason: Option<String>,
    plan: String,
    /// `K-000123`, as printed on invoices.
    customer_number: Option<String>,
    trial_ends_at: Option<String>,
    portal_url: String,
    contact_count: Option<i64>,
    custom_domains: Vec<DomainView>,
    created_at: String,
    /// When the instance was stopped; null while it serves.
    suspended_at: Option<String>,
    suspended_reason: Option<String>,
}

/// A broker's own domain as the operator API shows it.
#[derive(Serialize)]
struct DomainView {
    domain: String,
    status: &'static str,
    problem: Option<String>,
    cname_target: String,
    txt_name: String,
    txt_value: String,
    last_checked_at: Option<String>,
    verified_at: Option<String>,
    created_at: String,
}

fn rfc3339(at: i64) -> String {
    chrono::DateTime::from_timestamp(at, 0).map(|t| t.to_rfc3339()).unwrap_or_default()
}

async fn view(app: &AppState, tenant: Tenant) -> Result<TenantView, ApiError> {
    let custom_domains = domains::list(&app.db, &tenant.id)
        .await?
        .iter()
        .map(|record| {
            let shown = record.view(&app.hosts, &tenant.slug);
            DomainView {
                status: shown.status.as_str(),
                domain: shown.domain.into(),
                problem: shown.problem,
                cname_target: shown.cname_target,
                txt_name: shown.txt_name,
                txt_value: shown.txt_value,
                last_checked_at: shown.last_checked_at.map(rfc3339),
                verified_at: shown.verified_at.map(rfc3339),
                created_at: rfc3339(shown.created_at),
            }
        })
        .collect();
    Ok(TenantView {
        custom_domains,
        contact_count: super::console::contact_count(app, &tenant.id).await,
        portal_url: app.hosts.tenant_url(&tenant.slug),
        status: tenant.status.as_str(),
        trial_ends_at: tenant.trial_ends_at.map(rfc3339),
        customer_number: tenant.customer_number_text(),
        created_at: rfc3339(tenant.created_at),
        suspended_at: tenant.suspended_at.map(rfc3339),
        suspended_reason: tenant.suspended_reason,
        id: tenant.id,
        slug: tenant.slug,
        name: tenant.name,
        company: tenant.company,
        email: tenant.email,
        status_reason: tenant.status_reason,
        plan: tenant.plan,
    })
}

async fn list_tenants(State(app): State<AppState>, _operator: ApiOperator) -> Result<Json<Vec<TenantView>>, ApiError> {
    let mut views = Vec::new();
    for tenant in tenants::list(&app.db).await? {
        views.push(view(&app, tenant).await?);
    }
    Ok(Json(views))
}

async fn get_tenant(
    State(app): State<AppState>,
    _operator: ApiOperator,
    Path(id): Path<String>,
) -> Result<Json<TenantView>, ApiError> {
    let tenant = tenants::find(&app.db, &id)
        .await?
        .ok_or_else(|| ApiError::Problem(Problem::new(StatusCode::NOT_FOUND, "No such tenant")))?;
    Ok(Json(view(&app, tenant).await?))
}
