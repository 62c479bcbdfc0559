//! Documents: upload to a customer or a contract (multipart, checked by content
//! like every upload), list, read, download. Emergency folder documents do not
//! exist here, as they do not for the broker.

use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use super::{ApiClient, ApiError, ApiPath, ApiQuery, ApiResult, Page, PageRequest, created, fields, ok, timestamp};
use crate::audit;
use crate::documents::{self, Document, Placement};
use crate::portal::Portal;
use crate::uploads::MultipartForm;
use crate::web::FieldErrors;
use crate::{contracts, usage, users};

pub fn routes(max_file_bytes: usize) -> Router<Portal> {
    let body_limit = DefaultBodyLimit::max(max_file_bytes.saturating_add(64 * 1024));
    Router::new()
        .route("/documents", get(list))
        .route("/customers/{id}/documents", post(upload_to_customer).layer(body_limit))
        .route("/contracts/{id}/documents", post(upload_to_contract).layer(body_limit))
        .route("/documents/{id}", get(show))
        .route("/documents/{id}/content", get(content))
}

#[derive(Serialize)]
struct DocumentView {
    id: String,
    customer_id: String,
    contract_id: Option<String>,
    message_id: Option<String>,
    file_name: String,
    content_type: String,
    size_bytes: i64,
    visible_to_customer: bool,
    created_at: String,
}

impl From<Document> for DocumentView {
    fn from(d: Document) -> Self {
        DocumentView {
            created_at: timestamp(d.created_at),
            id: d.id,
            customer_id: d.customer_id,
            contract_id: d.contract_id,
            message_id: d.message_id,
            file_name: d.file_name,
            content_type: d.content_type,
            size_bytes: d.size_bytes,
            visible_to_customer: d.visible_to_customer,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    customer_id: Option<String>,
    contract_id: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

async fn list(State(portal): State<Portal>, ApiQuery(query): ApiQuery<ListQuery>) -> ApiResult {
    let mut errors = FieldErrors::default();
    fields::optional_id(&mut errors, "customer_id", query.customer_id.as_deref());
    fields::optional_id(&mut errors, "contract_id", query.contract_id.as_deref());
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    let rows = documents::page(
        portal.db(),
        query.customer_id.as_deref(),
        query.contract_id.as_deref(),
        page.after(),
        page.fetch(),
    )
    .await?;
    ok(&Page::of(&page, rows, |d| &d.id, DocumentView::from))
}

/// A document the broker may see: never one of an emergency folder.
async fn load(portal: &Portal, id: &str) -> Result<Document, ApiError> {
    let found = if fields::is_id(id) { documents::find(portal.db(), id).await? } else { None };
    found.filter(|d| d.emergency_section.is_none()).ok_or_else(|| ApiError::not_found("No such document"))
}

async fn show(State(portal): State<Portal>, ApiPath(id): ApiPath<String>) -> ApiResult {
    ok(&DocumentView::from(load(&portal, &id).await?))
}

async fn content(State(portal): State<Portal>, ApiPath(id): ApiPath<String>) -> ApiResult {
    let document = load(&portal, &id).await?;
    crate::portal::documents::download(&portal, &document).await.map_err(|err| ApiError::Internal(err.into()))
}

/// `true` or `false` as a form field sends it; absent is `false`.
fn flag(errors: &mut FieldErrors, value: Option<&String>) -> bool {
    match value.map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            errors.add("visible_to_customer", "true or false");
            false
        }
    }
}

type MultipartBody = Result<Multipart, axum::extract::multipart::MultipartRejection>;

async fn upload_to_customer(
    State(portal): State<Portal>,
    client: ApiClient,
    ApiPath(id): ApiPath<String>,
    headers: axum::http::HeaderMap,
    multipart: MultipartBody,
) -> ApiResult {
    let customer = super::customers::load(&portal, &id).await?;
    upload(&portal, &client, &headers, multipart, customer.id, None).await
}

async fn upload_to_contract(
    State(portal): State<Portal>,
    client: ApiClient,
    ApiPath(id): ApiPath<String>,
    headers: axum::http::HeaderMap,
    multipart: MultipartBody,
) -> ApiResult {
    let found = if fields::is_id(&id) { contracts::find(portal.db(), &id).await? } else { None };
    let contract = found.ok_or_else(|| ApiError::not_found("No such contract"))?;
    upload(&portal, &client, &headers, multipart, contract.customer_id, Some(contract.id)).await
}

/// A multipart body with one `file` and optionally `visible_to_customer`.
async fn upload(
    portal: &Portal,
    client: &ApiClient,
    headers: &axum::http::HeaderMap,
    multipart: MultipartBody,
    customer_id: String,
    contract_id: Option<String>,
) -> ApiResult {
    let multipart = multipart.map_err(|rejection| {
        let is_multipart = headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
        let status = if is_multipart {
            axum::http::StatusCode::BAD_REQUEST
        } else {
            axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE
        };
        ApiError::Problem(
            crate::web::Problem::new(status, "Expected multipart/form-data").detail(rejection.body_text()),
        )
    })?;
    let max = portal.settings().max_file_bytes;
    let form = MultipartForm::read(multipart, max).await.map_err(|_| {
        ApiError::Problem(crate::web::Problem::new(
            axum::http::StatusCode::BAD_REQUEST,
            "The body is not readable multipart/form-data",
        ))
    })?;
    let mut errors = FieldErrors::default();
    if let Some(name) = form.fields.keys().find(|name| name.as_str() != "visible_to_customer") {
        errors.add("file", format!("unknown field {name:?}; send `file` and `visible_to_customer`"));
    }
    let visible = flag(&mut errors, form.fields.get("visible_to_customer"));
    if let Some(refused) = form.refused.first() {
        errors.add("file", refused.to_string());
    } else if form.files.len() != 1 {
        errors.add("file", "exactly one file, a PDF or a photo (JPEG, PNG, HEIC, WebP)");
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    let file = &form.files[0];
    let usage = usage::measure(portal.db()).await?;
    if let Err(reason) = usage::check_storage(portal.entitlements().plan, usage, file.bytes.len() as i64) {
        return Err(ApiError::forbidden("Storage of the plan used up", reason));
    }
    let owner = users::owner(portal.db()).await?.ok_or_else(|| ApiError::Internal(anyhow::anyhow!("no owner")))?;
    let placement =
        Placement { customer_id, contract_id, message_id: None, emergency_section: None, visible_to_customer: visible };
    let id = documents::create(portal.db(), portal.store(), &placement, &owner.id, file).await?;
    let subject = format!("document:{id}");
    audit::record(portal.db(), &client.actor(), "document_uploaded", &subject, &file.file_name).await?;
    created(format!("/api/v1/documents/{id}"), &DocumentView::from(load(portal, &id).await?))
}
