//! The tenant REST API under `/api/v1`: JSON for the broker's other programs,
//! authenticated by API keys (`crate::api_keys`). It works through the same
//! domain modules as the portal's pages, so both follow one set of rules.
//! Every error is an RFC 9457 problem body, axum's own rejections included.
//!
//! Layers, outermost first: authentication and plan (401, 403), the rate limit
//! per key (429), the key's scope (403 for a read key writing), idempotent POSTs
//! (`Idempotency-Key`), then the handlers.

mod auth;
mod catalog;
mod contracts;
mod customers;
mod documents;
mod fields;
mod idempotency;
mod messages;

use axum::Router;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use auth::{ApiClient, RateLimiter};

use crate::portal::Portal;
use crate::web::{FieldErrors, Problem};

/// The OpenAPI 3.1 document of this API.
pub const OPENAPI: &str = include_str!("openapi.json");

/// The largest JSON body accepted.
const JSON_BODY_LIMIT: usize = 256 * 1024;

pub fn routes(portal: &Portal) -> Router<Portal> {
    let max_file_bytes = portal.settings().max_file_bytes;
    let resources = Router::new()
        .merge(customers::routes())
        .merge(contracts::routes())
        .merge(documents::routes(max_file_bytes))
        .merge(messages::routes())
        .merge(catalog::routes())
        .route_layer(axum::middleware::from_fn_with_state(portal.clone(), idempotency::layer))
        .route_layer(axum::middleware::from_fn_with_state(portal.clone(), auth::layer));
    let api = Router::new()
        .route("/openapi.json", get(openapi))
        .merge(resources)
        .layer(axum::extract::DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .fallback(|| async { ApiError::not_found("No such resource") })
        .method_not_allowed_fallback(|| async {
            Problem::new(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed").into_response()
        });
    Router::new().nest("/api/v1", api)
}

async fn openapi() -> Response {
    let mut response = OPENAPI.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// Why an API request failed. Causes of 500s are logged, never sent.
#[derive(Debug)]
pub enum ApiError {
    Problem(Problem),
    Internal(anyhow::Error),
}

impl ApiError {
    pub fn not_found(title: &str) -> ApiError {
        ApiError::Problem(Problem::new(StatusCode::NOT_FOUND, title))
    }

    pub fn invalid(errors: FieldErrors) -> ApiError {
        ApiError::Problem(Problem::validation(errors))
    }

    /// 422 for one field.
    pub fn field(field: &'static str, message: impl Into<String>) -> ApiError {
        let mut errors = FieldErrors::default();
        errors.add(field, message);
        ApiError::invalid(errors)
    }

    /// A resource that a body names (a customer, a household, a Sparte) does not
    /// exist: 409, since the request conflicts with the data as it is (the
    /// resource in the path may well exist).
    pub fn unknown_reference(title: &str) -> ApiError {
        ApiError::Problem(Problem::new(StatusCode::CONFLICT, title))
    }

    pub fn forbidden(title: &str, detail: impl Into<String>) -> ApiError {
        ApiError::Problem(Problem::new(StatusCode::FORBIDDEN, title).detail(detail))
    }

    pub fn conflict(title: &str, detail: impl Into<String>) -> ApiError {
        ApiError::Problem(Problem::new(StatusCode::CONFLICT, title).detail(detail))
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        ApiError::Internal(err.into())
    }
}

impl From<crate::documents::DocumentError> for ApiError {
    fn from(err: crate::documents::DocumentError) -> Self {
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

pub type ApiResult = Result<Response, ApiError>;

/// 200 with a JSON body.
pub fn ok(body: &impl Serialize) -> ApiResult {
    json(StatusCode::OK, body)
}

/// 201 with a JSON body and the new resource's address.
pub fn created(location: String, body: &impl Serialize) -> ApiResult {
    let mut response = json(StatusCode::CREATED, body)?;
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

fn json(status: StatusCode, body: &impl Serialize) -> ApiResult {
    let bytes = serde_json::to_vec(body).map_err(|err| ApiError::Internal(err.into()))?;
    Ok((status, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], bytes).into_response())
}

/// A JSON body whose rejection is a problem body.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    let title = match rejection {
        JsonRejection::MissingJsonContentType(_) => "Expected a JSON body (Content-Type: application/json)",
        JsonRejection::JsonSyntaxError(_) => "The body is not valid JSON",
        JsonRejection::JsonDataError(_) => "The body does not match the schema",
        _ => "The body could not be read",
    };
    ApiError::Problem(Problem::new(rejection.status(), title).detail(rejection.body_text()))
}

/// Query parameters whose rejection is a problem body (422).
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => Err(query_rejection(rejection)),
        }
    }
}

fn query_rejection(rejection: QueryRejection) -> ApiError {
    ApiError::Problem(
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "Invalid query parameters").detail(rejection.body_text()),
    )
}

/// A path parameter (a resource id) whose rejection is a problem body.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(ApiPath(value)),
            Err(rejection) => Err(path_rejection(rejection)),
        }
    }
}

fn path_rejection(rejection: PathRejection) -> ApiError {
    ApiError::Problem(Problem::new(rejection.status(), "Invalid path").detail(rejection.body_text()))
}

/// A page of a list: `limit` (1–100, default 50) and `cursor` (the last id of
/// the previous page, from its `next`).
#[derive(Debug, Clone)]
pub struct PageRequest {
    pub limit: i64,
    pub after: Option<String>,
}

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 100;

impl PageRequest {
    pub fn parse(limit: Option<i64>, cursor: Option<&str>) -> Result<PageRequest, ApiError> {
        let mut errors = FieldErrors::default();
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            errors.add("limit", format!("limit must be between 1 and {MAX_LIMIT}"));
        }
        let after = match cursor {
            None => None,
            Some(cursor) if fields::is_id(cursor) => Some(cursor.to_owned()),
            Some(_) => {
                errors.add("cursor", "not a cursor from a previous page's `next`");
                None
            }
        };
        errors.into_result(|| PageRequest { limit, after }).map_err(ApiError::invalid)
    }

    /// One more than the page holds: whether it is there tells if a next page exists.
    pub fn fetch(&self) -> i64 {
        self.limit + 1
    }

    pub fn after(&self) -> Option<&str> {
        self.after.as_deref()
    }
}

/// `{"items": [...], "next": cursor-or-null}`.
#[derive(Debug, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

impl<T> Page<T> {
    /// Cuts `rows` (fetched with [`PageRequest::fetch`]) to the page and sets `next`.
    pub fn of<R>(request: &PageRequest, mut rows: Vec<R>, id: impl Fn(&R) -> &str, view: impl Fn(R) -> T) -> Page<T> {
        let more = rows.len() as i64 > request.limit;
        rows.truncate(request.limit as usize);
        let next = if more { rows.last().map(|row| id(row).to_owned()) } else { None };
        Page { items: rows.into_iter().map(view).collect(), next }
    }
}

/// Unix seconds as RFC 3339 in UTC.
pub fn timestamp(at: i64) -> String {
    chrono::DateTime::from_timestamp(at, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}
