//! The owner's webhook pages: endpoints with their events and secret (shown
//! once), the delivery log with redelivery by hand, enabling and disabling.
//! Webhooks belong to the trial, PREMIUMstarter and PREMIUM; on Pay-per-Use the
//! pages say so and offer the upgrade, and every change is refused. The rules
//! and the delivery live in `crate::webhooks`; this module also lends the
//! worker what it needs of the portal ([`Host`]).

use std::collections::BTreeMap;

use async_trait::async_trait;
use axum::Extension;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::audit::{self, Actor};
use crate::calendar::berlin_time;
use crate::clock::Clock;
use crate::crypto::Key;
use crate::db::Db;
use crate::mail::Email;
use crate::portal::Portal;
use crate::portal::auth::{BrokerUser, EmptyForm, SessionUser};
use crate::portal::layout::Layout;
use crate::security::csrf::{CsrfForm, CsrfToken};
use crate::web::{FieldErrors, PageError, render_with_status};
use crate::webhooks::endpoints::{self, MAX_ENDPOINTS};
use crate::webhooks::guard::{self, Policy};
use crate::webhooks::log::{self, Attempt, Delivery};
use crate::webhooks::{Endpoint, EventType, Host, NewEndpoint};

const PAGE: &str = "/makler/webhooks";

pub fn routes() -> Router<Portal> {
    Router::new()
        .route(PAGE, get(list_page).post(create))
        .route("/makler/webhooks/{id}", get(endpoint_page).post(update))
        .route("/makler/webhooks/{id}/deaktivieren", post(disable))
        .route("/makler/webhooks/{id}/aktivieren", post(enable))
        .route("/makler/webhooks/{id}/geheimnis", post(rotate_secret))
        .route("/makler/webhooks/{id}/loeschen", post(delete))
        .route("/makler/webhooks/{id}/zustellungen/{delivery}/erneut", post(redeliver))
}

#[async_trait]
impl Host for Portal {
    fn db(&self) -> &Db {
        Portal::db(self)
    }

    fn clock(&self) -> &Clock {
        &self.settings().clock
    }

    fn secrets(&self) -> Key {
        self.settings().secret.derive_key("webhook signing secrets")
    }

    fn policy(&self) -> Policy {
        Policy { allow_loopback: self.settings().webhooks_allow_loopback }
    }

    fn delivers(&self) -> bool {
        let entitlements = self.entitlements();
        entitlements.plan.integrations() && !entitlements.trial_ended
    }

    fn link(&self, path: &str) -> String {
        self.settings().link(path)
    }

    async fn mail_owner(&self, subject: String, body: String) -> anyhow::Result<()> {
        for address in endpoints::owner_addresses(Portal::db(self)).await? {
            self.mailer()
                .send(Email {
                    to: address,
                    sender_name: self.settings().display_name.clone(),
                    from_address: self.sender_address(),
                    subject: subject.clone(),
                    body: body.clone(),
                })
                .await?;
        }
        Ok(())
    }
}

/// Whether the plan includes webhooks; every change is refused without.
fn allowed(portal: &Portal) -> bool {
    portal.entitlements().plan.integrations()
}

fn require_plan(portal: &Portal) -> Result<(), PageError> {
    if allowed(portal) { Ok(()) } else { Err(PageError::Forbidden) }
}

/// The audit trail names the endpoint and its host, never its full URL (which
/// may carry a receiver's token).
async fn audit(portal: &Portal, user: &SessionUser, action: &str, endpoint: &Endpoint) -> Result<(), PageError> {
    let host = url::Url::parse(&endpoint.url).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_default();
    let detail = format!("„{}“ ({host})", endpoint.name);
    audit::record(
        portal.db(),
        &Actor::user(&user.id, &user.name),
        action,
        &format!("webhook:{}", endpoint.id),
        &detail,
    )
    .await?;
    Ok(())
}

/// The event checkboxes, ticked as given.
fn event_choices(chosen: &[EventType]) -> Vec<(EventType, bool)> {
    EventType::ALL.into_iter().map(|event| (event, chosen.contains(&event))).collect()
}

/// What the owner typed, kept when the form comes back with errors.
#[derive(Debug, Default)]
struct Typed {
    name: String,
    url: String,
    events: Vec<(EventType, bool)>,
}

impl Typed {
    fn from_form(form: &BTreeMap<String, String>) -> Typed {
        let chosen: Vec<EventType> = EventType::ALL.into_iter().filter(|e| form.contains_key(e.as_str())).collect();
        Typed {
            name: form.get("name").cloned().unwrap_or_default(),
            url: form.get("url").cloned().unwrap_or_default(),
            events: event_choices(&chosen),
        }
    }

    fn of(endpoint: &Endpoint) -> Typed {
        Typed { name: endpoint.name.clone(), url: endpoint.url.clone(), events: event_choices(&endpoint.events) }
    }
}

/// The state of an endpoint in a few words, and the CSS class of its badge.
fn state_of(endpoint: &Endpoint) -> (String, &'static str) {
    match (endpoint.disabled_at, endpoint.failing_since) {
        (Some(at), _) => (format!("deaktiviert seit {}", berlin_time(at)), "failed"),
        (None, Some(since)) => (format!("aktiv, Zustellungen scheitern seit {}", berlin_time(since)), "pending"),
        (None, None) => ("aktiv".to_owned(), "done"),
    }
}

struct EndpointRow {
    endpoint: Endpoint,
    state: String,
    state_class: &'static str,
}

/// A secret shown once, right after it was made.
struct NewSecret {
    endpoint_id: String,
    endpoint_name: String,
    secret: String,
}

#[derive(askama::Template)]
#[template(path = "broker/webhooks.html")]
struct ListPage {
    layout: Layout,
    allowed: bool,
    plan: &'static str,
    endpoints: Vec<EndpointRow>,
    full: bool,
    max: i64,
    created: Option<NewSecret>,
    form: Typed,
    errors: FieldErrors,
}

async fn show_list(
    portal: &Portal,
    user: &SessionUser,
    csrf: &CsrfToken,
    form: Typed,
    errors: FieldErrors,
    created: Option<NewSecret>,
) -> Result<Response, PageError> {
    let endpoints: Vec<EndpointRow> = endpoints::list(portal.db())
        .await?
        .into_iter()
        .map(|endpoint| {
            let (state, state_class) = state_of(&endpoint);
            EndpointRow { endpoint, state, state_class }
        })
        .collect();
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let form = if form.events.is_empty() { Typed { events: event_choices(&[]), ..form } } else { form };
    render_with_status(
        status,
        &ListPage {
            layout: Layout::new(portal, csrf, Some(user)),
            allowed: allowed(portal),
            plan: portal.entitlements().plan.label(),
            full: endpoints.len() as i64 >= MAX_ENDPOINTS,
            max: MAX_ENDPOINTS,
            endpoints,
            created,
            form,
            errors,
        },
    )
}

async fn list_page(
    State(portal): State<Portal>,
    BrokerUser(user): BrokerUser,
    Extension(csrf): Extension<CsrfToken>,
) -> Result<Response, PageError> {
    show_list(&portal, &user, &csrf, Typed::default(), FieldErrors::default(), None).await
}

/// Parses the form and checks every address the host name resolves to, so that
/// a name of the portal's own network is refused while the owner still types.
async fn checked(portal: &Portal, form: &BTreeMap<String, String>) -> Result<NewEndpoint, FieldErrors> {
    let policy = Host::policy(portal);
    let endpoint = NewEndpoint::parse(form, policy)?;
    if let Err(refusal) = guard::check_url(endpoint.url.url(), policy).await {
        let mut errors = FieldErrors::default();
        errors.add("url", refusal.to_string());
        return Err(errors);
    }
    Ok(endpoint)
}

async fn create(
    State(portal): State<Portal>,
    BrokerUser(user): BrokerUser,
    Extension(csrf): Extension<CsrfToken>,
    CsrfForm(form): CsrfForm<BTreeMap<String, String>>,
) -> Result<Response, PageError> {
    require_plan(&portal)?;
    let typed = Typed::from_form(&form);
    if endpoints::count(portal.db()).await? >= MAX_ENDPOINTS {
        let mut errors = FieldErrors::default();
        errors.add("name", format!("Es sind höchstens {MAX_ENDPOINTS} Endpunkte möglich."));
        return show_list(&portal, &user, &csrf, typed, errors, None).await;
    }
    let endpoint = match checked(&portal, &form).await {
        Ok(endpoint) => endpoint,
        Err(errors) => return show_list(&portal, &user, &csrf, typed, errors, None).await,
    };
    let (id, secret) = endpoints::create(portal.db(), &Host::secrets(&portal), &endpoint, &user.id).await?;
    let created = endpoints::find(portal.db(), &id).await?.ok_or(PageError::NotFound)?;
    audit(&portal, &user, "webhook_created", &created).await?;
    // Shown in this answer only; no redirect, so the secret is in no URL.
    let created = NewSecret { endpoint_id: id, endpoint_name: created.name, secret: secret.expose().to_owned() };
    show_list(&portal, &user, &csrf, Typed::default(), FieldErrors::default(), Some(created)).await
}

/// One attempt as the log shows it.
struct ShownAttempt {
    attempt: Attempt,
    at: String,
}

struct ShownDelivery {
    delivery: Delivery,
    created: String,
    due: Option<String>,
    attempts: Vec<ShownAttempt>,
}

#[derive(askama::Template)]
#[template(path = "broker/webhook.html")]
struct EndpointPage {
    layout: Layout,
    allowed: bool,
    plan: &'static str,
    endpoint: Endpoint,
    state: String,
    state_class: &'static str,
    form: Typed,
    errors: FieldErrors,
    secret: Option<String>,
    notice: Option<&'static str>,
    deliveries: Vec<ShownDelivery>,
    shown: i64,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct NoticeQuery {
    hinweis: String,
}

fn notice(code: &str) -> Option<&'static str> {
    match code {
        "gespeichert" => Some("Die Änderungen sind gespeichert."),
        "erneut" => Some("Die Zustellung wird erneut gesendet."),
        "aktiviert" => Some("Der Endpunkt ist aktiviert; wartende Ereignisse werden jetzt gesendet."),
        "deaktiviert" => Some("Der Endpunkt ist deaktiviert; neue Ereignisse werden nicht mehr für ihn vorgemerkt."),
        _ => None,
    }
}

struct Shown {
    form: Typed,
    errors: FieldErrors,
    secret: Option<String>,
    notice: Option<&'static str>,
}

async fn show_endpoint(
    portal: &Portal,
    user: &SessionUser,
    csrf: &CsrfToken,
    endpoint: Endpoint,
    shown: Shown,
) -> Result<Response, PageError> {
    let deliveries = log::recent(portal.db(), &endpoint.id)
        .await?
        .into_iter()
        .map(|delivery| ShownDelivery {
            created: berlin_time(delivery.created_at),
            due: delivery.due_at.map(|due| if due == 0 { "sofort".to_owned() } else { berlin_time(due) }),
            attempts: delivery
                .attempts
                .iter()
                .map(|attempt| ShownAttempt { at: berlin_time(attempt.at), attempt: attempt.clone() })
                .collect(),
            delivery,
        })
        .collect();
    let (state, state_class) = state_of(&endpoint);
    let status = if shown.errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    render_with_status(
        status,
        &EndpointPage {
            layout: Layout::new(portal, csrf, Some(user)),
            allowed: allowed(portal),
            plan: portal.entitlements().plan.label(),
            endpoint,
            state,
            state_class,
            form: shown.form,
            errors: shown.errors,
            secret: shown.secret,
            notice: shown.notice,
            deliveries,
            shown: log::SHOWN,
        },
    )
}

async fn find(portal: &Portal, id: &str) -> Result<Endpoint, PageError> {
    endpoints::find(portal.db(), id).await?.ok_or(PageError::NotFound)
}

async fn endpoint_page(
    State(portal): State<Portal>,
    BrokerUser(user): BrokerUser,
    Extension(csrf): Extension<CsrfToken>,
    Path(id): Path<String>,
    Query(query): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    let endpoint = find(&portal, &id).await?;
    let shown = Shown {
        form: Typed::of(&endpoint),
        errors: FieldErrors::default(),
        secret: None,
        notice: notice(&query.hinweis),
    };
    show_endpoint(&portal, &user, &csrf, endpoint, shown).await
}

fn back(id: &str, notice: &str) -> Response {
    Redirect::to(&format!("{PAGE}/{id}?hinweis={notice}")).into_response()
}

async fn update(
    State(portal): State<Portal>,
    BrokerUser(user): BrokerUser,
    Extension(csrf): Extension<CsrfToken>,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<BTreeMap<String, String>>,
) -> Result<Response, PageError> {
    require_plan(&portal)?;
    let endpoint = find(&portal, &id).await?;
    let changed = match checked(&portal, &form).await {
        Ok(changed) => changed,
        Err(errors) => {
            let shown = Shown { form: Typed::from_form(&form), errors, secret: None, notice: None };
            return show_endpoint(&portal, &user, &csrf, endpoint, shown).await;
        }
    };
    endpoints::update(portal.db(), &id, &changed).await?;
    audit(&portal, &user, "webhook_updated", &find(&portal, &id).await?).await?;
    Ok(back(&id, "gespeichert"))
}

async fn disable(
    State(portal): State<Portal>,
    BrokerUser(user): BrokerUser,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    require_plan(&portal)?;
    let endpoint = find(&portal, &id).await?;
    endpoints::disable(portal.db(), &id, &format!("Von {} deaktiviert.", user.name), Host::clock(&portal).now())
        .await?;
    audit(&portal, &user, "webhook_disabled", &endpoint).await?;
    Ok(back(&id, "deaktiviert"))
}

async fn enable(
    State(portal): State<Portal>,
    BrokerUser(user): BrokerUser,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    require_plan(&portal)?;
    let endpoint = find(&portal, &id).await?;
    endpoints::enable(portal.db(), &id).await?;
    audit(&portal, &user, "webhook_enabled", &endpoint).await?;
    Ok(back(&id, "aktiviert"))
}

async fn rotate_secret(
    State(portal): State<Portal>,
    BrokerUser(user): BrokerUser,
    Extension(csrf): Extension<CsrfToken>,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    require_plan(&portal)?;
    let endpoint = find(&portal, &id).await?;
    let secret = endpoints::rotate_secret(portal.db(), &Host::secrets(&portal), &id).await?;
    audit(&portal, &user, "webhook_secret_rotated", &endpoint).await?;
    let shown = Shown {
        form: Typed::of(&endpoint),
        errors: FieldErrors::default(),
        secret: Some(secret.expose().to_owned()),
        notice: None,
    };
    show_endpoint(&portal, &user, &csrf, endpoint, shown).await
}

async fn delete(
    State(portal): State<Portal>,
    BrokerUser(user): BrokerUser,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    require_plan(&portal)?;
    let endpoint = find(&portal, &id).await?;
    endpoints::delete(portal.db(), &id).await?;
    audit(&portal, &user, "webhook_deleted", &endpoint).await?;
    Ok(Redirect::to(PAGE).into_response())
}

async fn redeliver(
    State(portal): State<Portal>,
    BrokerUser(user): BrokerUser,
    Extension(csrf): Extension<CsrfToken>,
    Path((id, delivery)): Path<(String, String)>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    require_plan(&portal)?;
    let endpoint = find(&portal, &id).await?;
    if !endpoint.enabled() {
        let mut errors = FieldErrors::default();
        errors.add("redeliver", "Der Endpunkt ist deaktiviert. Aktivieren Sie ihn, dann wird erneut gesendet.");
        let shown = Shown { form: Typed::of(&endpoint), errors, secret: None, notice: None };
        return show_endpoint(&portal, &user, &csrf, endpoint, shown).await;
    }
    if !log::redeliver(portal.db(), &id, &delivery).await? {
        return Err(PageError::NotFound);
    }
    audit(&portal, &user, "webhook_redelivered", &endpoint).await?;
    Ok(back(&id, "erneut"))
}
