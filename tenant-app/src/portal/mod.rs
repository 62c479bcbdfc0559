//! One broker's portal: the router and the state every page shares.
//!
//! The same router runs inside the standalone `tenant-app` binary (one tenant per
//! process, as on Kubernetes) and inside the control plane (many tenants in one
//! process, the embedded default).

mod analysis;
pub mod api;
mod app_shell;
mod auth;
mod branding;
mod cache;
mod catalog;
mod contracts;
mod customers;
mod documents;
mod domains;
mod emergency;
mod folder;
mod interfaces;
mod internal;
mod layout;
mod lock;
mod messages;

use std::sync::{Arc, RwLock};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::branding::Branding;
use crate::crypto::Key;
use crate::db::Db;
use crate::domains::DomainDirectory;
use crate::mail::Mailer;
use crate::plans::Plan;
use crate::security::csrf::{self, CsrfConfig};
use crate::security::throttle::LoginThrottle;
use crate::storage::DocumentStore;

pub use auth::{BrokerUser, CustomerUser};
pub use internal::issue_for_operator;
// Lives in `security::internal_api`; this path stays because tests/e2e/limits.rs uses it.
pub use crate::security::internal_api::internal_token;

/// What a portal needs to know about the tenant it serves.
#[derive(Debug, Clone)]
pub struct PortalSettings {
    pub tenant_id: String,
    pub slug: String,
    /// The broker's company, or name: shown as the portal's title.
    pub display_name: String,
    /// Where the portal is reached, e.g. `https://mueller.ordo.example`; used in e-mail links.
    pub public_url: String,
    /// The operator's product name, shown as "runs on" unless whitelabelled.
    pub operator_name: String,
    /// Secret per tenant: CSRF tokens and the internal API token derive from it.
    pub secret: Key,
    /// The largest document or photo accepted, in bytes.
    pub max_file_bytes: usize,
    /// The sender address of a whitelabelled portal's mail, if the operator set one
    /// (a neutral address; otherwise the mailer's own).
    pub whitelabel_mail_from: Option<String>,
    /// Requests one API key may make per minute; more are answered with 429.
    pub api_requests_per_minute: u32,
}

impl PortalSettings {
    /// The bearer token the control plane uses for this portal's internal API.
    pub fn internal_token(&self) -> String {
        crate::security::internal_api::internal_token(&self.secret)
    }

    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// A link into this portal.
    pub fn link(&self, path_and_query: &str) -> String {
        format!("{}{}", self.public_url.trim_end_matches('/'), path_and_query)
    }
}

/// What the tenant's plan grants; changes while the portal runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entitlements {
    pub plan: Plan,
    pub whitelabel: bool,
    /// The trial is over without an order: the portal is locked (`lock`).
    pub trial_ended: bool,
}

impl Entitlements {
    /// Own domains belong to the whitelabel package; the trial opens every feature.
    pub fn custom_domains(self) -> bool {
        self.whitelabel || self.plan == Plan::Trial
    }
}

#[derive(Clone)]
pub struct Portal {
    inner: Arc<PortalInner>,
}

struct PortalInner {
    db: Db,
    settings: PortalSettings,
    mailer: Mailer,
    store: Arc<dyn DocumentStore>,
    entitlements: RwLock<Entitlements>,
    branding: RwLock<Branding>,
    cache: cache::ReadCache,
    throttle: LoginThrottle,
    api_limiter: api::RateLimiter,
    /// The control plane's records of this tenant's own domains; `None` where no
    /// control plane is configured (a standalone portal without one).
    domains: Option<Arc<dyn DomainDirectory>>,
}

impl Portal {
    pub fn new(
        db: Db,
        settings: PortalSettings,
        entitlements: Entitlements,
        branding: Branding,
        mailer: Mailer,
        store: Arc<dyn DocumentStore>,
        domains: Option<Arc<dyn DomainDirectory>>,
    ) -> Portal {
        let entitlements = RwLock::new(entitlements);
        let branding = RwLock::new(branding);
        let throttle = LoginThrottle::default();
        let cache = cache::ReadCache::default();
        Portal {
            inner: Arc::new(PortalInner {
                db,
                settings,
                mailer,
                store,
                entitlements,
                branding,
                cache,
                throttle,
                api_limiter: api::RateLimiter::default(),
                domains,
            }),
        }
    }

    pub fn domains(&self) -> Option<&dyn DomainDirectory> {
        self.inner.domains.as_deref()
    }

    pub(crate) fn cache(&self) -> &cache::ReadCache {
        &self.inner.cache
    }

    pub fn branding(&self) -> Branding {
        self.inner.branding.read().expect("branding lock poisoned").clone()
    }

    pub fn set_branding(&self, branding: Branding) {
        *self.inner.branding.write().expect("branding lock poisoned") = branding;
    }

    /// The sender address for this portal's mail: neutral when whitelabelled.
    pub fn sender_address(&self) -> Option<String> {
        if self.entitlements().whitelabel { self.settings().whitelabel_mail_from.clone() } else { None }
    }

    pub fn entitlements(&self) -> Entitlements {
        *self.inner.entitlements.read().expect("entitlements lock poisoned")
    }

    /// A new plan or add-on takes effect with the next request.
    pub fn set_entitlements(&self, entitlements: Entitlements) {
        *self.inner.entitlements.write().expect("entitlements lock poisoned") = entitlements;
    }

    pub fn store(&self) -> &dyn DocumentStore {
        self.inner.store.as_ref()
    }

    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    pub fn settings(&self) -> &PortalSettings {
        &self.inner.settings
    }

    pub fn mailer(&self) -> &Mailer {
        &self.inner.mailer
    }

    pub fn throttle(&self) -> &LoginThrottle {
        &self.inner.throttle
    }

    pub(crate) fn api_limiter(&self) -> &api::RateLimiter {
        &self.inner.api_limiter
    }

    /// The portal's routes. The caller adds the request layers (ids, tracing,
    /// security headers) once for its whole server.
    pub fn router(&self) -> Router {
        let csrf_config = CsrfConfig::new(self.settings().secret.derive("csrf"), self.settings().secure_cookies());
        Router::new()
            .route("/", get(home))
            .route("/anmelden", get(auth::login_page).post(auth::login))
            .route("/abmelden", post(auth::logout))
            .route("/passwort-setzen", get(auth::set_password_page).post(auth::set_password))
            .merge(customers::routes())
            .merge(contracts::routes())
            .merge(catalog::routes())
            .merge(documents::routes(self.settings().max_file_bytes))
            .merge(folder::routes())
            .merge(analysis::routes())
            .merge(app_shell::routes())
            .merge(branding::routes())
            .merge(domains::routes())
            .merge(emergency::routes(self.settings().max_file_bytes))
            .merge(internal::routes())
            .merge(interfaces::routes())
            .merge(api::routes(self))
            .merge(messages::routes(self.settings().max_file_bytes))
            .route("/static/portal.css", get(crate::web::stylesheet))
            .route("/healthz", get(healthz))
            .route("/readyz", get(readyz))
            .fallback(not_found)
            .route("/sprache/{code}", get(crate::i18n::switch))
            .layer(axum::middleware::from_fn_with_state(self.clone(), lock::gate))
            .layer(axum::middleware::from_fn_with_state(csrf_config, csrf::ensure_cookie))
            .layer(axum::middleware::from_fn(crate::i18n::language))
            .layer(axum::middleware::from_fn_with_state(self.clone(), cache::invalidate_after_writes))
            .with_state(self.clone())
    }
}

/// The start page sends everyone where they belong.
async fn home(user: Option<auth::SessionUser>) -> Redirect {
    match user {
        Some(user) if user.is_broker() => Redirect::to("/makler/kunden"),
        Some(_) => Redirect::to("/ordner"),
        None => Redirect::to("/anmelden"),
    }
}

pub async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(portal): State<Portal>) -> Response {
    match portal.db().ping().await {
        Ok(()) => "ready".into_response(),
        Err(err) => {
            tracing::warn!(error = %err, "tenant database not reachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

async fn not_found() -> Response {
    crate::web::PageError::NotFound.into_response()
}
