//! The public site: product page, pricing and the trial sign-up form.

use axum::Extension;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::response::Response;
use axum::routing::{get, post};
use tenant_app::security::csrf::{CsrfForm, CsrfToken};
use tenant_app::values::Cents;
use tenant_app::web::{ClientAddress, FieldErrors, PageError, Problem, render, render_with_status};

use crate::billing::stripe::webhook;
use crate::config::Pricing;
use crate::state::AppState;
use crate::tenants::TenantStatus;
use crate::tenants::signup::{NewTrial, SignupError, TrialRequest};
use crate::web::api;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/preise", get(pricing))
        .route("/testen", get(signup_page).post(signup))
        .route("/static/ordo.css", get(tenant_app::web::stylesheet))
        .route("/api/v1/openapi.json", get(api::public_openapi))
        .route("/webhooks/stripe", post(stripe_webhook))
        .merge(super::ops::routes())
}

/// What every public page shows around its content.
pub struct PublicLayout {
    pub product: String,
    pub csrf: String,
}

impl PublicLayout {
    fn new(app: &AppState, csrf: &CsrfToken) -> PublicLayout {
        PublicLayout { product: app.config.operator_name.clone(), csrf: csrf.as_str().to_owned() }
    }
}

#[derive(askama::Template)]
#[template(path = "home.html")]
struct HomePage {
    layout: PublicLayout,
    trial_days: i64,
}

async fn home(State(app): State<AppState>, Extension(csrf): Extension<CsrfToken>) -> Result<Response, PageError> {
    render(&HomePage { layout: PublicLayout::new(&app, &csrf), trial_days: app.config.trial_days })
}

/// Prices as shown: net and with 19 % VAT.
pub struct ShownPrice {
    pub net: Cents,
    pub gross: Cents,
}

impl ShownPrice {
    fn of(cents: i64) -> ShownPrice {
        // Display only; invoices compute VAT per invoice total (docs/billing.md).
        ShownPrice { net: Cents(cents), gross: Cents((cents * 119 + 50) / 100) }
    }
}

#[derive(askama::Template)]
#[template(path = "pricing.html")]
struct PricingPage {
    layout: PublicLayout,
    trial_days: i64,
    setup: ShownPrice,
    ppu_base: ShownPrice,
    ppu_contact: ShownPrice,
    starter: ShownPrice,
    premium: ShownPrice,
    whitelabel_setup: ShownPrice,
    whitelabel_monthly: ShownPrice,
    extension: ShownPrice,
}

async fn pricing(State(app): State<AppState>, Extension(csrf): Extension<CsrfToken>) -> Result<Response, PageError> {
    let Pricing {
        setup_fee_cents,
        pay_per_use_base_cents,
        pay_per_use_contact_cents,
        premium_starter_cents,
        premium_cents,
        whitelabel_setup_cents,
        whitelabel_monthly_cents,
        trial_extension_cents,
    } = app.config.pricing;
    render(&PricingPage {
        layout: PublicLayout::new(&app, &csrf),
        trial_days: app.config.trial_days,
        setup: ShownPrice::of(setup_fee_cents),
        ppu_base: ShownPrice::of(pay_per_use_base_cents),
        ppu_contact: ShownPrice::of(pay_per_use_contact_cents),
        starter: ShownPrice::of(premium_starter_cents),
        premium: ShownPrice::of(premium_cents),
        whitelabel_setup: ShownPrice::of(whitelabel_setup_cents),
        whitelabel_monthly: ShownPrice::of(whitelabel_monthly_cents),
        extension: ShownPrice::of(trial_extension_cents),
    })
}

#[derive(askama::Template)]
#[template(path = "signup.html")]
struct SignupPage {
    layout: PublicLayout,
    form: TrialRequest,
    errors: FieldErrors,
    trial_days: i64,
}

impl SignupPage {
    fn company(&self) -> &str {
        self.form.company.as_deref().unwrap_or("")
    }
}

async fn signup_page(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
) -> Result<Response, PageError> {
    render(&SignupPage {
        layout: PublicLayout::new(&app, &csrf),
        form: TrialRequest::default(),
        errors: FieldErrors::default(),
        trial_days: app.config.trial_days,
    })
}

#[derive(askama::Template)]
#[template(path = "signup_done.html")]
struct SignupDonePage {
    layout: PublicLayout,
    email: String,
    portal_url: String,
    ready: bool,
}

async fn signup(
    State(app): State<AppState>,
    Extension(csrf): Extension<CsrfToken>,
    ClientAddress(address): ClientAddress,
    CsrfForm(form): CsrfForm<TrialRequest>,
) -> Result<Response, PageError> {
    let invalid = |form: TrialRequest, errors: FieldErrors| {
        render_with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &SignupPage { layout: PublicLayout::new(&app, &csrf), form, errors, trial_days: app.config.trial_days },
        )
    };
    let trial = match NewTrial::parse(&form) {
        Ok(trial) => trial,
        Err(errors) => return invalid(form, errors),
    };
    match crate::provisioning::start_trial(&app, &trial, &address).await {
        Ok(tenant) => render(&SignupDonePage {
            layout: PublicLayout::new(&app, &csrf),
            email: tenant.email.clone(),
            portal_url: app.hosts.tenant_url(&tenant.slug),
            ready: tenant.status == TenantStatus::Ready,
        }),
        Err(SignupError::EmailTaken) => {
            let mut errors = FieldErrors::default();
            errors.add("email", "Für diese E-Mail-Adresse gibt es bereits ein Portal. Bitte melden Sie sich dort an.");
            invalid(form, errors)
        }
        Err(SignupError::TooMany) => {
            let mut errors = FieldErrors::default();
            errors.add(
                "email",
                "Von Ihrem Anschluss wurden in der letzten Stunde zu viele Testzugänge eingerichtet. Bitte versuchen Sie es später erneut.",
            );
            invalid(form, errors)
        }
        Err(err) => Err(PageError::Internal(err.into())),
    }
}

/// Stripe's events (docs/security.md): the signature is checked on the raw
/// body before anything in it is read; each event id is acted on once.
async fn stripe_webhook(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(stripe) = app.stripe.clone() else {
        return Problem::new(StatusCode::NOT_FOUND, "Stripe is not configured").into_response();
    };
    let signature = headers.get("stripe-signature").and_then(|value| value.to_str().ok());
    if let Err(refused) = webhook::verify(signature, &body, stripe.webhook_secret(), app.clock.timestamp()) {
        tracing::warn!(reason = %refused, "Stripe webhook refused");
        return Problem::new(StatusCode::BAD_REQUEST, "Invalid signature").detail(refused.to_string()).into_response();
    }
    let event: webhook::Event = match serde_json::from_slice(&body) {
        Ok(event) => event,
        Err(_) => return Problem::new(StatusCode::BAD_REQUEST, "Not a Stripe event").into_response(),
    };
    let (id, kind) = (event.id.clone(), event.kind.clone());
    match webhook::handle(&app, &stripe, event).await {
        Ok(outcome) => {
            tracing::info!(event = %id, kind = %kind, outcome = ?outcome, "Stripe webhook");
            axum::Json(serde_json::json!({ "received": true, "outcome": format!("{outcome:?}").to_lowercase() }))
                .into_response()
        }
        Err(err) => {
            // Stripe delivers again later; the event is not marked handled.
            tracing::error!(event = %id, kind = %kind, error = %format!("{err:#}"), "Stripe webhook failed");
            Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "The event could not be handled").into_response()
        }
    }
}
