//! The portal's look: the stylesheet overrides and the logo every page uses,
//! and the broker's page to change them, with a live preview.

use axum::Extension;
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::branding::{self, ColourForm, LogoError};
use crate::portal::Portal;
use crate::portal::auth::{BrokerUser, EmptyForm, SessionUser};
use crate::portal::layout::Layout;
use crate::security::csrf::{CsrfForm, CsrfToken};
use crate::uploads::{self, UploadLimits, UploadRejection};
use crate::web::{FieldErrors, PageError, render_with_status};

pub fn routes() -> Router<Portal> {
    Router::new()
        .route("/branding.css", get(stylesheet))
        .route("/branding/logo", get(logo))
        .route("/makler/branding", get(branding_page).post(save_colours))
        .route("/makler/branding/logo", post(upload_logo))
        .route("/makler/branding/logo/entfernen", post(remove_logo))
}

async fn stylesheet(State(portal): State<Portal>) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8")),
            // The URL carries the version, so a long cache is safe.
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400")),
        ],
        portal.branding().stylesheet(),
    )
        .into_response()
}

async fn logo(State(portal): State<Portal>) -> Result<Response, PageError> {
    let Some(content_type) = portal.branding().logo_type else {
        return Err(PageError::NotFound);
    };
    let bytes = portal.store().get(branding::LOGO_KEY).await.map_err(|err| PageError::Internal(err.into()))?;
    let mut response = Response::new(Body::from(bytes));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&content_type).unwrap_or(HeaderValue::from_static("image/png")),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400"));
    Ok(response)
}

#[derive(askama::Template)]
#[template(path = "broker/branding.html")]
struct BrandingPage {
    layout: Layout,
    form: ColourForm,
    errors: FieldErrors,
    logo_error: Option<String>,
    whitelabel: bool,
    operator_name: String,
}

async fn show(
    portal: &Portal,
    user: &SessionUser,
    csrf: &CsrfToken,
    form: Option<ColourForm>,
    errors: FieldErrors,
    logo_error: Option<String>,
) -> Result<Response, PageError> {
    let current = portal.branding();
    let status =
        if errors.is_empty() && logo_error.is_none() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    render_with_status(
        status,
        &BrandingPage {
            layout: Layout::new(portal, csrf, Some(user)),
            form: form.unwrap_or(ColourForm { primary: current.primary.hex(), accent: current.accent.hex() }),
            errors,
            logo_error,
            whitelabel: portal.entitlements().whitelabel,
            operator_name: portal.settings().operator_name.clone(),
        },
    )
}

async fn branding_page(
    State(portal): State<Portal>,
    BrokerUser(user): BrokerUser,
    Extension(csrf): Extension<CsrfToken>,
) -> Result<Response, PageError> {
    show(&portal, &user, &csrf, None, FieldErrors::default(), None).await
}

async fn save_colours(
    State(portal): State<Portal>,
    BrokerUser(user): BrokerUser,
    Extension(csrf): Extension<CsrfToken>,
    CsrfForm(form): CsrfForm<ColourForm>,
) -> Result<Response, PageError> {
    match branding::parse_colours(&form) {
        Ok((primary, accent)) => {
            branding::save_colours(portal.db(), primary, accent).await?;
            portal.set_branding(branding::load(portal.db()).await?);
            Ok(Redirect::to("/makler/branding").into_response())
        }
        Err(errors) => show(&portal, &user, &csrf, Some(form), errors, None).await,
    }
}

async fn upload_logo(
    State(portal): State<Portal>,
    BrokerUser(user): BrokerUser,
    Extension(csrf): Extension<CsrfToken>,
    request: Request,
) -> Result<Response, PageError> {
    let limits = UploadLimits::files(branding::LOGO_MAX_BYTES, 1);
    let mut form = match uploads::receive(request, &portal.store().spool_dir(), limits).await {
        Ok(form) => form,
        Err(UploadRejection::TooLarge { message, .. }) => {
            let mut page = show(&portal, &user, &csrf, None, FieldErrors::default(), Some(message)).await?;
            *page.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
            return Ok(page);
        }
        Err(rejection) => return Ok(rejection.into_response()),
    };
    let problem = if let Some(refused) = form.refused.first() {
        Some(refused.to_string())
    } else if let Some(upload) = form.files.pop() {
        match branding::set_logo(portal.db(), portal.store(), upload).await {
            Ok(()) => None,
            Err(err @ (LogoError::WrongKind | LogoError::TooLarge)) => Some(err.to_string()),
            Err(err) => return Err(PageError::Internal(err.into())),
        }
    } else {
        Some("Bitte wählen Sie eine Bilddatei aus.".to_owned())
    };
    if let Some(problem) = problem {
        return show(&portal, &user, &csrf, None, FieldErrors::default(), Some(problem)).await;
    }
    portal.set_branding(branding::load(portal.db()).await?);
    Ok(Redirect::to("/makler/branding").into_response())
}

async fn remove_logo(
    State(portal): State<Portal>,
    BrokerUser(_): BrokerUser,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    branding::remove_logo(portal.db(), portal.store()).await.map_err(|err| PageError::Internal(err.into()))?;
    portal.set_branding(branding::load(portal.db()).await?);
    Ok(Redirect::to("/makler/branding").into_response())
}
