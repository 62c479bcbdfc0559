//! The broker's billing area, `/makler/abrechnung` on the portal's own host:
//! plan and trial, usage over time, invoices as PDF and XRechnung, ordering
//! with the contract to sign, plan changes and trial extensions; with Stripe,
//! the payment method invoices are collected from.
//!
//! The control plane serves it (the data is the control plane's), under the
//! portal's host so that the portal's own session applies: the broker's
//! session cookie is looked up in the tenant's database, and forms carry the
//! portal's CSRF token (its key derives from the tenant's session key, which
//! the control plane holds). It stays reachable while the portal is locked at
//! the end of a trial. On Kubernetes the tenant's Ingress sends this path to
//! the control plane.

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Days;
use secrecy::ExposeSecret;
use serde::Deserialize;
use tenant_app::calendar::format_date;
use tenant_app::db::{Db, PoolSize};
use tenant_app::plans::Plan;
use tenant_app::security::csrf::{self, CsrfConfig, CsrfForm, CsrfToken};
use tenant_app::security::sessions::{SESSION_COOKIE, cookie_value};
use tenant_app::security::tokens::token_hash;
use tenant_app::uploads::{self, UploadLimits, UploadRejection};
use tenant_app::users::Role;
use tenant_app::web::{PageError, render_with_status};
use tower::ServiceExt;

use crate::billing::invoices::{self, Invoice};
use crate::billing::money::Cents;
use crate::billing::orders::{self, ORDERABLE, Order};
use crate::billing::refusal::{Refusal, shown};
use crate::billing::{prices, stripe, subscriptions};
use crate::state::AppState;
use crate::tenants::Tenant;
use crate::usage;

pub const PREFIX: &str = "/makler/abrechnung";

pub fn is_billing_path(path: &str) -> bool {
    path == PREFIX || path.starts_with("/makler/abrechnung/")
}

#[derive(Clone)]
pub(super) struct Billing {
    pub(super) app: AppState,
    pub(super) tenant: Arc<Tenant>,
}

/// Serves one request of `tenant`'s billing area.
pub async fn handle(app: AppState, tenant: Tenant, request: Request) -> Response {
    let key = match tenant.session_key(&app.master_key) {
        Ok(key) => key,
        Err(err) => return PageError::Internal(anyhow::anyhow!(err)).into_response(),
    };
    let csrf_config = CsrfConfig::new(key.derive("csrf"), app.hosts.secure());
    let router = Router::new()
        .route(PREFIX, get(overview))
        .route(super::login::LOGIN_PATH, get(super::login::show).post(super::login::submit))
        .route("/makler/abrechnung/verlaengern", post(extend))
        .route("/makler/abrechnung/bestellen", post(place_order))
        .route("/makler/abrechnung/bestellung/{id}/vertrag.pdf", get(contract))
        .route("/makler/abrechnung/bestellung/{id}/unterschrift", post(upload_signed))
        .route("/makler/abrechnung/tarif", post(change_plan))
        .route("/makler/abrechnung/zahlungsart", post(start_payment_setup))
        .route("/makler/abrechnung/zahlungsart/stripe.js", get(payment_script))
        .route("/makler/abrechnung/zahlungsart/fertig", get(payment_setup_done))
        .route("/makler/abrechnung/zahlungsart/ueberweisung", post(pay_by_transfer))
        .route("/makler/abrechnung/rechnungen/{id}/pdf", get(invoice_pdf))
        .route("/makler/abrechnung/rechnungen/{id}/xrechnung", get(invoice_xml))
        .fallback(|| async { PageError::NotFound.into_response() })
        .layer(axum::middleware::from_fn_with_state(csrf_config, csrf::ensure_cookie))
        .with_state(Billing { app, tenant: Arc::new(tenant) });
    router.oneshot(request).await.unwrap_or_else(|never| match never {})
}

/// The portal's logged-in broker, found by the portal's session cookie in the
/// tenant's database.
struct Broker {
    name: String,
}

impl FromRequestParts<Billing> for Broker {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, billing: &Billing) -> Result<Self, Self::Rejection> {
        // While suspended the portal's own login is down; the billing area has its own.
        let login_path = if billing.tenant.suspended_at.is_some() { super::login::LOGIN_PATH } else { "/anmelden" };
        let login = || Redirect::to(login_path).into_response();
        let token = cookie_value(&parts.headers, SESSION_COOKIE).ok_or_else(login)?;
        let found = with_tenant_db(&billing.app, &billing.tenant, |db| async move {
            Ok(tenant_app::users::find_by_session(&db, &token_hash(&token)).await?)
        })
        .await
        .map_err(|err| PageError::Internal(err).into_response())?;
        match found {
            Some((user, expires_at)) if expires_at > tenant_app::db::now() && user.role == Role::Broker => {
                Ok(Broker { name: user.name })
            }
            Some((user, _)) if user.role == Role::Customer => Err(PageError::NotFound.into_response()),
            _ => Err(login()),
        }
    }
}

/// Runs `f` on the tenant's database: the running portal's pool when this
/// process serves it, otherwise a connection of its own.
pub(super) async fn with_tenant_db<T, F, Fut>(app: &AppState, tenant: &Tenant, f: F) -> anyhow::Result<T>
where
    F: FnOnce(Db) -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    if let Some(running) = app.registry.by_tenant_id(&tenant.id) {
        return f(running.portal.db().clone()).await;
    }
    let deployment = crate::provisioning::deployment_for(app, tenant).await?;
    let db = Db::connect(deployment.database_url.expose_secret(), PoolSize { max: 1, idle_secs: 1 }).await?;
    let result = f(db.clone()).await;
    db.close().await;
    result
}

struct PlanOption {
    value: &'static str,
    label: &'static str,
    terms: String,
    current: bool,
}

#[derive(askama::Template)]
#[template(path = "billing/templates/overview.html")]
struct OverviewPage {
    brand: String,
    broker: String,
    csrf: String,
    notice: Option<(bool, String)>,
    error: Option<String>,
    plan_label: String,
    in_trial: bool,
    trial_ended: bool,
    trial_last_day: String,
    extensions_left: i64,
    extension_price: String,
    trial_days: i64,
    current_plan: Option<String>,
    current_whitelabel: bool,
    since: String,
    plans: Vec<PlanOption>,
    setup_fee: String,
    whitelabel_terms: String,
    open_order: Option<Order>,
    chart: String,
    usage_rows: Vec<(String, i64)>,
    invoices: Vec<InvoiceRow>,
    bank: String,
    stripe_enabled: bool,
    /// The Stripe payment method invoices are collected from; none: bank transfer.
    payment_method: Option<String>,
}

struct InvoiceRow {
    invoice: Invoice,
    status: String,
}

async fn overview(State(billing): State<Billing>, broker: Broker, csrf: axum::Extension<CsrfToken>) -> Response {
    page(&billing, broker, &csrf.0, None, StatusCode::OK).await.unwrap_or_else(IntoResponse::into_response)
}

async fn page(
    billing: &Billing,
    broker: Broker,
    csrf: &CsrfToken,
    outcome: Option<Result<String, String>>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let app = &billing.app;
    let tenant = crate::tenants::find(&app.db, &billing.tenant.id).await?.ok_or(PageError::NotFound)?;
    let today = app.clock.berlin_today();
    let pricing = prices::for_period(&app.db, &prices::month_of(today)).await?;
    let subscription = subscriptions::current(&app.db, &tenant.id).await?;
    let in_trial = tenant.plan == "trial";
    let history = usage::history(&app.db, &tenant.id, today - Days::new(90), today).await?;
    let invoices: Vec<Invoice> =
        invoices::for_tenant(&app.db, &tenant.id).await?.into_iter().filter(|i| i.issued).collect();
    let ids: Vec<&str> = invoices.iter().map(|i| i.id.as_str()).collect();
    let mut collections = stripe::collections(&app.db, &ids).await?;
    let invoices = invoices
        .into_iter()
        .map(|invoice| {
            let status = if invoice.is_paid() {
                "bezahlt".to_owned()
            } else if invoice.kind == invoices::Kind::CreditNote {
                "Gutschrift".to_owned()
            } else {
                collections.remove(&invoice.id).map(|c| c.label()).unwrap_or_else(|| "offen".to_owned())
            };
            InvoiceRow { invoice, status }
        })
        .collect();
    let payment_method = match &app.stripe {
        Some(_) => stripe::account(&app.db, &tenant.id).await?.and_then(|a| a.payment_method).map(|m| m.label()),
        None => None,
    };
    let open_order = orders::for_tenant(app, &tenant.id).await?.into_iter().find(Order::is_open);
    let seller = app.config.billing.seller().map_err(anyhow::Error::msg)?;
    let (notice, error) = match outcome {
        Some(Ok(text)) => (Some((true, text)), None),
        Some(Err(text)) => (None, Some(text)),
        None => (None, None),
    };
    let page = OverviewPage {
        brand: tenant.display_name().to_owned(),
        broker: broker.name,
        csrf: csrf.as_str().to_owned(),
        notice,
        error,
        plan_label: tenant.plan_label().to_owned(),
        in_trial,
        trial_ended: in_trial && tenant.trial_ends_at.is_some_and(|end| app.clock.timestamp() >= end),
        trial_last_day: tenant.trial_ends_at.map(tenant_app::calendar::last_day_before).unwrap_or_default(),
        extensions_left: (app.config.trial_extensions_allowed - tenant.trial_extensions).max(0),
        extension_price: Cents(pricing.trial_extension_cents).to_string(),
        trial_days: app.config.trial_days,
        current_plan: subscription.as_ref().map(|s| s.plan.label().to_owned()),
        current_whitelabel: subscription.as_ref().is_some_and(|s| s.whitelabel),
        since: subscription.as_ref().map(|s| format_date(&s.starts_on)).unwrap_or_default(),
        plans: ORDERABLE
            .iter()
            .map(|plan| PlanOption {
                value: plan.as_str(),
                label: plan.label(),
                terms: crate::billing::contract::plan_terms(*plan, &pricing),
                current: subscription.as_ref().is_some_and(|s| s.plan == *plan),
            })
            .collect(),
        setup_fee: Cents(pricing.setup_fee_cents).to_string(),
        whitelabel_terms: format!(
            "einmalig {}, monatlich {}",
            Cents(pricing.whitelabel_setup_cents),
            Cents(pricing.whitelabel_monthly_cents)
        ),
        open_order,
        chart: usage::contacts_chart(&history, "nutzung", "Kontakte in den letzten 90 Tagen"),
        usage_rows: history.iter().rev().take(7).map(|s| (format_date(&s.day), s.contacts)).collect(),
        invoices,
        bank: format!("{}, IBAN {}", seller.bank.holder, seller.bank.iban),
        stripe_enabled: app.stripe.is_some(),
        payment_method,
    };
    render_with_status(status, &page)
}

#[derive(Deserialize)]
struct OrderForm {
    #[serde(default)]
    plan: String,
    #[serde(default)]
    whitelabel: Option<String>,
}

fn parse_plan(text: &str) -> Result<Plan, String> {
    Plan::parse(text).filter(|plan| ORDERABLE.contains(plan)).ok_or_else(|| "Bitte wählen Sie einen Tarif.".to_owned())
}

/// The billing page again, with what an action did: 200 with a notice, or 422 with the problem.
async fn answer(
    billing: &Billing,
    broker: Broker,
    csrf: &CsrfToken,
    outcome: Result<String, String>,
) -> Result<Response, PageError> {
    let status = if outcome.is_ok() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    page(billing, broker, csrf, Some(outcome), status).await
}

async fn current_tenant(billing: &Billing) -> Result<Tenant, PageError> {
    crate::tenants::find(&billing.app.db, &billing.tenant.id).await?.ok_or(PageError::NotFound)
}

async fn place_order(
    State(billing): State<Billing>,
    broker: Broker,
    csrf: axum::Extension<CsrfToken>,
    CsrfForm(form): CsrfForm<OrderForm>,
) -> Result<Response, PageError> {
    let plan = match parse_plan(&form.plan) {
        Ok(plan) => plan,
        Err(problem) => return answer(&billing, broker, &csrf.0, Err(problem)).await,
    };
    let tenant = current_tenant(&billing).await?;
    if tenant.plan != "trial" {
        let problem = "Ihr Portal hat bereits einen Tarif; wechseln Sie ihn unter „Tarif wechseln“.".to_owned();
        return answer(&billing, broker, &csrf.0, Err(problem)).await;
    }
    orders::place(&billing.app, &tenant, plan, form.whitelabel.is_some()).await?;
    Ok(Redirect::to(PREFIX).into_response())
}

async fn own_order(billing: &Billing, id: &str) -> Result<Order, PageError> {
    orders::find(&billing.app, id)
        .await?
        .filter(|order| order.tenant_id == billing.tenant.id)
        .ok_or(PageError::NotFound)
}

async fn contract(
    State(billing): State<Billing>,
    _broker: Broker,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let order = own_order(&billing, &id).await?;
    let tenant = crate::tenants::find(&billing.app.db, &order.tenant_id).await?.ok_or(PageError::NotFound)?;
    let pdf = crate::billing::contract::contract_pdf(&billing.app, &tenant, &order).await?;
    Ok(download(pdf, "application/pdf", &format!("Vertrag-{}.pdf", order.number())))
}

async fn upload_signed(
    State(billing): State<Billing>,
    broker: Broker,
    csrf: axum::Extension<CsrfToken>,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, PageError> {
    let order = own_order(&billing, &id).await?;
    // Streamed like the portal's uploads: the token first, the scan spooled in
    // the tenant's directory, 413 the moment it passes the limit.
    let spool = billing.app.tenants_dir.join(&billing.tenant.id).join("spool");
    let mut form = match uploads::receive(request, &spool, UploadLimits::files(orders::MAX_SCAN_BYTES, 1)).await {
        Ok(form) => form,
        Err(UploadRejection::TooLarge { .. }) => {
            let problem = Err(Refusal::ScanTooLarge.to_string());
            return page(&billing, broker, &csrf.0, Some(problem), StatusCode::PAYLOAD_TOO_LARGE).await;
        }
        Err(rejection) => return Ok(rejection.into_response()),
    };
    let outcome = match (form.files.pop(), form.refused.is_empty()) {
        (_, false) => Err(Refusal::ScanType.to_string()),
        (None, true) => Err(Refusal::ScanMissing.to_string()),
        (Some(scan), true) => {
            let bytes = scan.read().await.map_err(|err| PageError::Internal(err.into()))?;
            shown(orders::attach_signed(&billing.app, &order, &scan.file_name, &bytes).await)?
                .map(|()| "Danke! Wir prüfen den unterschriebenen Vertrag und schalten Ihren Tarif frei.".to_owned())
                .map_err(|refusal| refusal.to_string())
        }
    };
    answer(&billing, broker, &csrf.0, outcome).await
}

async fn change_plan(
    State(billing): State<Billing>,
    broker: Broker,
    csrf: axum::Extension<CsrfToken>,
    CsrfForm(form): CsrfForm<OrderForm>,
) -> Result<Response, PageError> {
    let plan = match parse_plan(&form.plan) {
        Ok(plan) => plan,
        Err(problem) => return answer(&billing, broker, &csrf.0, Err(problem)).await,
    };
    let tenant = current_tenant(&billing).await?;
    let outcome = shown(orders::change_plan(&billing.app, &tenant, plan, form.whitelabel.is_some()).await)?
        .map(|()| format!("Ihr Tarif ist ab heute {}. Der Monat wird tagesgenau abgerechnet.", plan.label()))
        .map_err(|refusal| refusal.to_string());
    answer(&billing, broker, &csrf.0, outcome).await
}

#[derive(Deserialize)]
struct Empty {}

async fn extend(
    State(billing): State<Billing>,
    broker: Broker,
    csrf: axum::Extension<CsrfToken>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, PageError> {
    let tenant = current_tenant(&billing).await?;
    let outcome = shown(orders::extend_trial(&billing.app, &tenant).await)?
        .map(|last_day| {
            format!(
                "Ihre Testphase ist verlängert bis einschließlich {}. Die Verlängerung stellen wir mit der nächsten \
                 Monatsrechnung in Rechnung.",
                format_date(&last_day)
            )
        })
        .map_err(|refusal| refusal.to_string());
    answer(&billing, broker, &csrf.0, outcome).await
}

#[derive(askama::Template)]
#[template(path = "billing/templates/payment_method.html")]
struct PaymentMethodPage {
    brand: String,
    broker: String,
    publishable_key: String,
    client_secret: String,
    return_url: String,
}

/// This page alone loads Stripe.js, which runs in frames from Stripe and talks
/// to Stripe's API; every other page keeps the strict policy (docs/security.md).
const STRIPE_PAGE_CSP: &str = "default-src 'self'; script-src 'self' https://js.stripe.com; style-src 'self'; \
                               img-src 'self' data: https://*.stripe.com; connect-src 'self' https://api.stripe.com; \
                               frame-src https://js.stripe.com https://hooks.stripe.com; object-src 'none'; \
                               base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// Starts setting up a payment method: a SetupIntent for the tenant's Stripe
/// Customer, and the page where Stripe.js collects the mandate or card.
async fn start_payment_setup(
    State(billing): State<Billing>,
    broker: Broker,
    csrf: axum::Extension<CsrfToken>,
    headers: HeaderMap,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, PageError> {
    let app = &billing.app;
    let Some(stripe_account) = app.stripe.clone() else { return Err(PageError::NotFound) };
    let tenant = current_tenant(&billing).await?;
    // One SetupIntent per broker and minute: a double submit shows the same one.
    let attempt = (app.clock.timestamp() / 60).to_string();
    let setup = match stripe::start_setup(app, &stripe_account, &tenant, &attempt).await {
        Ok(setup) => setup,
        Err(err) => {
            tracing::error!(tenant = %tenant.id, error = %format!("{err:#}"), "Stripe SetupIntent failed");
            let problem = "Die Verbindung zu unserem Zahlungsdienstleister ist gerade gestört. Bitte versuchen Sie es \
                           später erneut; bis dahin zahlen Sie wie gewohnt per Überweisung.";
            return answer(&billing, broker, &csrf.0, Err(problem.to_owned())).await;
        }
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default();
    let scheme = if app.hosts.secure() { "https" } else { "http" };
    let page = PaymentMethodPage {
        brand: tenant.display_name().to_owned(),
        broker: broker.name,
        publishable_key: stripe_account.publishable_key.clone(),
        client_secret: setup.client_secret,
        return_url: format!("{scheme}://{host}/makler/abrechnung/zahlungsart/fertig"),
    };
    let mut response = render_with_status(StatusCode::OK, &page)?;
    response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, header::HeaderValue::from_static(STRIPE_PAGE_CSP));
    Ok(response)
}

async fn payment_script(_broker: Broker) -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "private, max-age=3600")],
        include_str!("../../../assets/js/payment_method.js"),
    )
        .into_response()
}

#[derive(Deserialize)]
struct SetupReturn {
    #[serde(default)]
    setup_intent: String,
}

/// Where Stripe sends the browser back: the SetupIntent is read from Stripe
/// (not taken from the address) and its payment method stored as the default.
/// The `setup_intent.succeeded` webhook does the same, whichever comes first.
async fn payment_setup_done(
    State(billing): State<Billing>,
    broker: Broker,
    csrf: axum::Extension<CsrfToken>,
    axum::extract::Query(query): axum::extract::Query<SetupReturn>,
) -> Result<Response, PageError> {
    let app = &billing.app;
    let Some(stripe_account) = app.stripe.clone() else { return Err(PageError::NotFound) };
    if !query.setup_intent.starts_with("seti_") {
        return Ok(Redirect::to(PREFIX).into_response());
    }
    let outcome = match stripe::adopt_setup(app, &stripe_account, &query.setup_intent).await {
        Ok(Some(tenant_id)) if tenant_id == billing.tenant.id => {
            Ok("Ihre Zahlungsart ist gespeichert. Künftige Rechnungen ziehen wir damit ein.".to_owned())
        }
        Ok(_) => Err("Die Zahlungsart ist noch nicht bestätigt. Bitte versuchen Sie es erneut.".to_owned()),
        Err(err) => {
            tracing::error!(tenant = %billing.tenant.id, error = %format!("{err:#}"), "reading a SetupIntent failed");
            Err("Die Zahlungsart konnte gerade nicht geprüft werden. Bitte laden Sie die Seite gleich erneut."
                .to_owned())
        }
    };
    answer(&billing, broker, &csrf.0, outcome).await
}

async fn pay_by_transfer(
    State(billing): State<Billing>,
    broker: Broker,
    csrf: axum::Extension<CsrfToken>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, PageError> {
    if billing.app.stripe.is_none() {
        return Err(PageError::NotFound);
    }
    stripe::forget_payment_method(&billing.app, &billing.tenant.id, &format!("broker:{}", broker.name)).await?;
    let outcome = Ok("Sie zahlen künftige Rechnungen per Überweisung.".to_owned());
    answer(&billing, broker, &csrf.0, outcome).await
}

async fn own_invoice(billing: &Billing, id: &str) -> Result<Invoice, PageError> {
    invoices::find(&billing.app.db, id)
        .await?
        .filter(|invoice| invoice.tenant_id == billing.tenant.id && invoice.issued)
        .ok_or(PageError::NotFound)
}

async fn invoice_pdf(
    State(billing): State<Billing>,
    _broker: Broker,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let invoice = own_invoice(&billing, &id).await?;
    let pdf = invoices::pdf(&billing.app, &invoice).await?;
    Ok(download(pdf, "application/pdf", &format!("{}.pdf", invoice.file_stem())))
}

async fn invoice_xml(
    State(billing): State<Billing>,
    _broker: Broker,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let invoice = own_invoice(&billing, &id).await?;
    let xml = invoices::xrechnung(&billing.app, &invoice).await?;
    Ok(download(xml, "application/xml", &format!("{}-XRechnung.xml", invoice.file_stem())))
}

fn download(body: Vec<u8>, content_type: &'static str, filename: &str) -> Response {
    // File names are ours (numbers, letters, '-'), so quoting is enough.
    let disposition = format!("attachment; filename=\"{}\"", filename.replace('"', ""));
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        body,
    )
        .into_response()
}
