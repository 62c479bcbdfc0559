//! Documents: the broker uploads PDFs and photos for a customer or a contract
//! and decides what the customer sees; both download as attachments.

use axum::Extension;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::contracts;
use crate::documents::{self, Document, Placement};
use crate::portal::Portal;
use crate::portal::auth::{BrokerUser, CustomerUser, EmptyForm};
use crate::portal::customers::show_customer;
use crate::security::csrf::{CsrfForm, CsrfToken};
use crate::uploads::{self, UploadLimits, UploadRejection, attachment_header};
use crate::usage;
use crate::web::PageError;

/// Files a broker may upload in one request.
const FILES_PER_REQUEST: usize = 10;

pub fn routes() -> Router<Portal> {
    Router::new()
        .route("/makler/kunden/{id}/dokumente", post(upload))
        .route("/makler/dokumente/{id}", get(broker_download))
        .route("/makler/dokumente/{id}/sichtbarkeit", post(set_visibility))
        .route("/makler/dokumente/{id}/loeschen", post(delete))
        .route("/ordner/dokumente/{id}", get(customer_download))
}

async fn upload(
    State(portal): State<Portal>,
    BrokerUser(user): BrokerUser,
    Extension(csrf): Extension<CsrfToken>,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, PageError> {
    let customer = crate::customers::find(portal.db(), &id).await?.ok_or(PageError::NotFound)?;
    let limits = UploadLimits::files(portal.settings().max_file_bytes, FILES_PER_REQUEST);
    let form = match uploads::receive(request, &portal.store().spool_dir(), limits).await {
        Ok(form) => form,
        Err(UploadRejection::TooLarge { message, .. }) => {
            let mut response = show_customer(&portal, &user, &csrf, &id, Some((false, message))).await?;
            *response.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
            return Ok(response);
        }
        Err(rejection) => return Ok(rejection.into_response()),
    };
    // A contract must belong to this customer; anything else is ignored, not trusted.
    let contract_id = match form.field("contract_id") {
        "" => None,
        contract_id => {
            let contract = contracts::find(portal.db(), contract_id).await?;
            Some(contract.filter(|c| c.customer_id == customer.id).ok_or(PageError::NotFound)?.id)
        }
    };
    let placement = Placement {
        customer_id: customer.id.clone(),
        contract_id,
        message_id: None,
        visible_to_customer: form.field("visible") == "1",
        emergency_section: None,
    };
    // The plan's storage limit: all files of the request, or none.
    let adding = form.total_bytes();
    let usage = usage::measure(portal.db()).await?;
    if let Err(reason) = usage::check_storage(portal.entitlements().plan, usage, adding) {
        let mut response = show_customer(&portal, &user, &csrf, &id, Some((false, reason))).await?;
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(response);
    }
    let mut saved = 0;
    let nothing_chosen = form.files.is_empty() && form.refused.is_empty();
    for upload in form.files {
        documents::create(portal.db(), portal.store(), &placement, &user.id, upload)
            .await
            .map_err(|err| PageError::Internal(err.into()))?;
        saved += 1;
    }
    let mut messages: Vec<String> = form.refused.iter().map(ToString::to_string).collect();
    if nothing_chosen {
        messages.push("Bitte wählen Sie mindestens eine Datei aus.".into());
    }
    let notice = if messages.is_empty() {
        (
            true,
            if saved == 1 {
                "Das Dokument wurde gespeichert.".to_owned()
            } else {
                format!("{saved} Dokumente wurden gespeichert.")
            },
        )
    } else {
        let prefix = if saved > 0 { format!("{saved} Dokument(e) gespeichert. ") } else { String::new() };
        (false, format!("{prefix}{}", messages.join(" ")))
    };
    let status = if notice.0 { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let mut response = show_customer(&portal, &user, &csrf, &id, Some(notice)).await?;
    *response.status_mut() = status;
    Ok(response)
}

/// The file as a download: never rendered by the browser, never cached.
pub(super) async fn download(portal: &Portal, document: &Document) -> Result<Response, PageError> {
    let bytes = portal.store().get(&document.id).await.map_err(|err| PageError::Internal(err.into()))?;
    let mut response = Response::new(Body::from(bytes));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&document.content_type).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    if let Ok(disposition) = HeaderValue::from_str(&attachment_header(&document.file_name)) {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    // Even if a browser were to render it, it could run nothing.
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox; default-src 'none'"));
    Ok(response)
}

async fn broker_download(
    State(portal): State<Portal>,
    BrokerUser(_): BrokerUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    // The emergency folder is the customer's own: not even the broker reads it.
    let document = documents::find(portal.db(), &id)
        .await?
        .filter(|d| d.emergency_section.is_none())
        .ok_or(PageError::NotFound)?;
    download(&portal, &document).await
}

/// A customer downloads only their own documents that the broker shared, and
/// the photos of their own messages.
async fn customer_download(
    State(portal): State<Portal>,
    customer: CustomerUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let document = documents::find(portal.db(), &id)
        .await?
        .filter(|d| d.customer_id == customer.customer_id && d.visible_to_customer)
        .ok_or(PageError::NotFound)?;
    download(&portal, &document).await
}

#[derive(Deserialize)]
struct VisibilityForm {
    #[serde(default)]
    visible: String,
}

async fn set_visibility(
    State(portal): State<Portal>,
    BrokerUser(_): BrokerUser,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<VisibilityForm>,
) -> Result<Response, PageError> {
    let document = documents::find(portal.db(), &id)
        .await?
        .filter(|d| d.emergency_section.is_none())
        .ok_or(PageError::NotFound)?;
    documents::set_visible(portal.db(), &id, form.visible == "1").await?;
    Ok(Redirect::to(&format!("/makler/kunden/{}#dokumente", document.customer_id)).into_response())
}

async fn delete(
    State(portal): State<Portal>,
    BrokerUser(_): BrokerUser,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    let document = documents::find(portal.db(), &id)
        .await?
        .filter(|d| d.emergency_section.is_none())
        .ok_or(PageError::NotFound)?;
    documents::delete(portal.db(), portal.store(), &id).await.map_err(|err| PageError::Internal(err.into()))?;
    Ok(Redirect::to(&format!("/makler/kunden/{}#dokumente", document.customer_id)).into_response())
}
