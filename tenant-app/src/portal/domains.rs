//! The broker's own domains: claim one, see the DNS records to create, check them
//! now, remove a domain. The records live in the control plane (see `crate::domains`).

use axum::Extension;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::calendar::berlin_time;
use crate::domains::{CustomDomain, DirectoryError, DomainDirectory, DomainName};
use crate::portal::Portal;
use crate::portal::auth::{BrokerUser, SessionUser};
use crate::portal::layout::Layout;
use crate::security::csrf::{CsrfForm, CsrfToken};
use crate::web::{FieldErrors, PageError, render_with_status};

const PAGE: &str = "/makler/domains";

pub fn routes() -> Router<Portal> {
    Router::new()
        .route(PAGE, get(domains_page).post(claim))
        .route("/makler/domains/pruefen", post(verify))
        .route("/makler/domains/entfernen", post(remove))
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct DomainForm {
    #[serde(default)]
    domain: String,
}

/// One domain as the page shows it.
struct DomainRow {
    domain: CustomDomain,
    last_checked: Option<String>,
}

#[derive(askama::Template)]
#[template(path = "broker/domains.html")]
struct DomainsPage {
    layout: Layout,
    /// The plan includes own domains (whitelabel, or the trial).
    allowed: bool,
    /// This installation has a control plane to keep the domains (a standalone
    /// portal without `control_plane_url` has none).
    configured: bool,
    /// The control plane's domain records could be read.
    reachable: bool,
    domains: Vec<DomainRow>,
    form: String,
    errors: FieldErrors,
}

async fn show(
    portal: &Portal,
    user: &SessionUser,
    csrf: &CsrfToken,
    form: String,
    errors: FieldErrors,
) -> Result<Response, PageError> {
    let allowed = portal.entitlements().custom_domains();
    let configured = portal.domains().is_some();
    let listed = match portal.domains() {
        Some(directory) if allowed => directory.list().await,
        _ => Ok(Vec::new()),
    };
    let (reachable, domains) = match listed {
        Ok(domains) => (true, domains),
        Err(err) => {
            tracing::error!(error = %err, "listing the tenant's domains");
            (false, Vec::new())
        }
    };
    let status = if !reachable {
        StatusCode::SERVICE_UNAVAILABLE
    } else if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let domains = domains
        .into_iter()
        .map(|domain| DomainRow { last_checked: domain.last_checked_at.map(berlin_time), domain })
        .collect();
    render_with_status(
        status,
        &DomainsPage {
            layout: Layout::new(portal, csrf, Some(user)),
            allowed,
            configured,
            reachable,
            domains,
            form,
            errors,
        },
    )
}

async fn domains_page(
    State(portal): State<Portal>,
    BrokerUser(user): BrokerUser,
    Extension(csrf): Extension<CsrfToken>,
) -> Result<Response, PageError> {
    show(&portal, &user, &csrf, String::new(), FieldErrors::default()).await
}

/// The directory, if the plan includes own domains and one is configured.
fn directory(portal: &Portal) -> Result<&dyn DomainDirectory, PageError> {
    match portal.domains() {
        Some(directory) if portal.entitlements().custom_domains() => Ok(directory),
        _ => Err(PageError::Forbidden),
    }
}

async fn claim(
    State(portal): State<Portal>,
    BrokerUser(user): BrokerUser,
    Extension(csrf): Extension<CsrfToken>,
    CsrfForm(form): CsrfForm<DomainForm>,
) -> Result<Response, PageError> {
    let directory = directory(&portal)?;
    let mut errors = FieldErrors::default();
    match DomainName::parse(&form.domain) {
        Ok(domain) => match directory.claim(&domain).await {
            Ok(_) => return Ok(Redirect::to(PAGE).into_response()),
            Err(DirectoryError::Refused(message)) => errors.add("domain", message),
            Err(err) => {
                tracing::error!(error = %err, "claiming a domain");
                errors.add("domain", UNAVAILABLE);
            }
        },
        Err(message) => errors.add("domain", message),
    }
    show(&portal, &user, &csrf, form.domain, errors).await
}

const UNAVAILABLE: &str =
    "Die Domain-Verwaltung ist gerade nicht erreichbar. Bitte versuchen Sie es in einigen Minuten noch einmal.";

enum Action {
    Verify,
    Remove,
}

/// Checks or removes the submitted domain; a domain that is not (or no longer)
/// the tenant's is nothing to act on.
async fn act(portal: &Portal, form: &DomainForm, action: Action) -> Result<Response, PageError> {
    let directory = directory(portal)?;
    let domain = DomainName::parse(&form.domain).map_err(|_| PageError::BadRequest)?;
    let done = match action {
        Action::Verify => directory.verify(&domain).await.map(drop),
        Action::Remove => directory.remove(&domain).await,
    };
    match done {
        Ok(()) | Err(DirectoryError::NotFound) => Ok(Redirect::to(PAGE).into_response()),
        Err(err) => Err(PageError::Internal(err.into())),
    }
}

async fn verify(
    State(portal): State<Portal>,
    BrokerUser(_): BrokerUser,
    CsrfForm(form): CsrfForm<DomainForm>,
) -> Result<Response, PageError> {
    act(&portal, &form, Action::Verify).await
}

async fn remove(
    State(portal): State<Portal>,
    BrokerUser(_): BrokerUser,
    CsrfForm(form): CsrfForm<DomainForm>,
) -> Result<Response, PageError> {
    act(&portal, &form, Action::Remove).await
}
