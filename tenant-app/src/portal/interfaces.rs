//! The broker's interfaces page (`/makler/schnittstellen`): API keys for the
//! tenant REST API. A key is shown once, right after it is made; the list shows
//! who made each key (the broker or the operator), when it was last used, and
//! lets the broker revoke it. The automated interfaces belong to the trial,
//! PREMIUMstarter and PREMIUM; on Pay-per-Use the page says so.

use axum::Extension;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::api_keys::{self, ApiKey, IssuedKey, KeyError, Maker, Scope};
use crate::audit::Actor;
use crate::calendar::berlin_time;
use crate::portal::Portal;
use crate::portal::auth::{BrokerUser, EmptyForm, SessionUser};
use crate::portal::layout::Layout;
use crate::security::csrf::{CsrfForm, CsrfToken};
use crate::web::{FieldErrors, PageError, render_with_status};

const PAGE: &str = "/makler/schnittstellen";

pub fn routes() -> Router<Portal> {
    Router::new().route(PAGE, get(page).post(create)).route("/makler/schnittstellen/{id}/widerrufen", post(revoke))
}

/// One key as the list shows it.
struct KeyRow {
    key: ApiKey,
    created: String,
    last_used: Option<String>,
    revoked: Option<String>,
}

#[derive(askama::Template)]
#[template(path = "broker/interfaces.html")]
struct InterfacesPage {
    layout: Layout,
    /// The plan includes the automated interfaces.
    allowed: bool,
    plan: &'static str,
    keys: Vec<KeyRow>,
    /// The key just made, shown this once.
    issued: Option<IssuedKey>,
    name: String,
    scope: String,
    errors: FieldErrors,
    notice: Option<(bool, String)>,
    openapi_url: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct KeyForm {
    name: String,
    scope: String,
}

#[allow(clippy::too_many_arguments)]
async fn show(
    portal: &Portal,
    user: &SessionUser,
    csrf: &CsrfToken,
    status: StatusCode,
    issued: Option<IssuedKey>,
    form: KeyForm,
    errors: FieldErrors,
    notice: Option<(bool, String)>,
) -> Result<Response, PageError> {
    let plan = portal.entitlements().plan;
    let keys = api_keys::list(portal.db())
        .await?
        .into_iter()
        .map(|key| KeyRow {
            created: berlin_time(key.created_at),
            last_used: key.last_used_at.map(berlin_time),
            revoked: key.revoked_at.map(berlin_time),
            key,
        })
        .collect();
    render_with_status(
        status,
        &InterfacesPage {
            layout: Layout::new(portal, csrf, Some(user)),
            allowed: plan.integrations(),
            plan: plan.label(),
            keys,
            issued,
            name: form.name,
            scope: if form.scope.is_empty() { "read".into() } else { form.scope },
            errors,
            notice,
            openapi_url: portal.settings().link("/api/v1/openapi.json"),
        },
    )
}

async fn page(
    State(portal): State<Portal>,
    BrokerUser(user): BrokerUser,
    Extension(csrf): Extension<CsrfToken>,
) -> Result<Response, PageError> {
    show(&portal, &user, &csrf, StatusCode::OK, None, KeyForm::default(), FieldErrors::default(), None).await
}

async fn create(
    State(portal): State<Portal>,
    BrokerUser(user): BrokerUser,
    Extension(csrf): Extension<CsrfToken>,
    CsrfForm(form): CsrfForm<KeyForm>,
) -> Result<Response, PageError> {
    if !portal.entitlements().plan.integrations() {
        return show(&portal, &user, &csrf, StatusCode::FORBIDDEN, None, form, FieldErrors::default(), None).await;
    }
    let mut errors = FieldErrors::default();
    let scope = Scope::parse(&form.scope);
    if scope.is_none() {
        errors.add("scope", "Bitte wählen Sie, was der Schlüssel darf.");
    }
    if let Err(message) = api_keys::parse_name(&form.name) {
        errors.add("name", message);
    }
    if !errors.is_empty() {
        return show(&portal, &user, &csrf, StatusCode::UNPROCESSABLE_ENTITY, None, form, errors, None).await;
    }
    let maker = Maker::User { id: user.id.clone(), name: user.name.clone() };
    match api_keys::issue(portal.db(), &form.name, scope.expect("checked"), &maker).await {
        Ok(issued) => {
            tracing::info!(key_id = %issued.key.id, "API key created");
            let notice = Some((true, "Der Schlüssel wurde erstellt.".to_owned()));
            show(&portal, &user, &csrf, StatusCode::OK, Some(issued), KeyForm::default(), errors, notice).await
        }
        Err(KeyError::InvalidName(message)) => {
            errors.add("name", message);
            show(&portal, &user, &csrf, StatusCode::UNPROCESSABLE_ENTITY, None, form, errors, None).await
        }
        Err(KeyError::TooMany) => {
            let notice = Some((false, KeyError::TooMany.to_string()));
            show(&portal, &user, &csrf, StatusCode::UNPROCESSABLE_ENTITY, None, form, errors, notice).await
        }
        Err(KeyError::Database(err)) => Err(err.into()),
    }
}

async fn revoke(
    State(portal): State<Portal>,
    BrokerUser(user): BrokerUser,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    api_keys::find(portal.db(), &id).await?.ok_or(PageError::NotFound)?;
    if api_keys::revoke(portal.db(), &id, &Actor::user(&user.id, &user.name)).await? {
        tracing::info!(key_id = %id, "API key revoked");
    }
    Ok(Redirect::to(PAGE).into_response())
}
