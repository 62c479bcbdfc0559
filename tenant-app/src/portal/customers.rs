//! The broker's customer pages: list and search, create and edit, households,
//! archive, and the customer's portal access (invite, resend, revoke).

use axum::Extension;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::analysis::Finding;
use crate::contracts::{self, Contract};
use crate::customers::{self, Customer, CustomerForm, Household, NewCustomer};
use crate::db::is_unique_violation;
use crate::documents::{self, Document};
use crate::mail::Email;
use crate::portal::Portal;
use crate::portal::auth::{BrokerUser, EmptyForm, SessionUser};
use crate::portal::layout::Layout;
use crate::security::csrf::{CsrfForm, CsrfToken};
use crate::security::throttle::{Action, SecondFactor};
use crate::usage;
use crate::users::{self, LinkPurpose};
use crate::values::EmailAddress;
use crate::web::{ClientAddress, FieldErrors, PageError, render, render_with_status};

const PAGE_SIZE: i64 = 50;

pub fn routes() -> Router<Portal> {
    Router::new()
        .route("/makler", get(|| async { Redirect::to("/makler/kunden") }))
        .route("/makler/kunden", get(customer_list))
        .route("/makler/kunden/neu", get(new_customer_page).post(create_customer))
        .route("/makler/kunden/{id}", get(customer_page))
        .route("/makler/kunden/{id}/bearbeiten", get(edit_customer_page).post(update_customer))
        .route("/makler/kunden/{id}/haushalt", post(set_household))
        .route("/makler/kunden/{id}/archivieren", post(archive_customer))
        .route("/makler/kunden/{id}/reaktivieren", post(restore_customer))
        .route("/makler/kunden/{id}/einladen", post(invite_customer))
        .route("/makler/kunden/{id}/zugang-entziehen", post(revoke_access))
}

#[derive(askama::Template)]
#[template(path = "broker/customers.html")]
struct CustomerListPage {
    layout: Layout,
    query: String,
    archived: bool,
    customers: Vec<Customer>,
    page: i64,
    has_next: bool,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ListQuery {
    q: String,
    seite: Option<i64>,
    archiv: Option<String>,
}

async fn customer_list(
    State(portal): State<Portal>,
    BrokerUser(user): BrokerUser,
    Extension(csrf): Extension<CsrfToken>,
    Query(query): Query<ListQuery>,
) -> Result<Response, PageError> {
    let page = query.seite.unwrap_or(1).max(1);
    let archived = query.archiv.is_some();
    let mut customers =
        customers::search(portal.db(), &query.q, archived, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE).await?;
    let has_next = customers.len() as i64 > PAGE_SIZE;
    customers.truncate(PAGE_SIZE as usize);
    render(&CustomerListPage {
        layout: Layout::new(&portal, &csrf, Some(&user)),
        query: query.q,
        archived,
        customers,
        page,
        has_next,
    })
}

#[derive(askama::Template)]
#[template(path = "broker/customer_form.html")]
struct CustomerFormPage {
    layout: Layout,
    /// `None` for a new customer.
    customer_id: Option<String>,
    form: CustomerForm,
    errors: FieldErrors,
    /// Why the plan does not allow another contact.
    limit: Option<String>,
}

async fn new_customer_page(
    State(portal): State<Portal>,
    BrokerUser(user): BrokerUser,
    Extension(csrf): Extension<CsrfToken>,
) -> Result<Response, PageError> {
    render(&CustomerFormPage {
        layout: Layout::new(&portal, &csrf, Some(&user)),
        customer_id: None,
        form: CustomerForm::default(),
        errors: FieldErrors::default(),
        limit: None,
    })
}

async fn create_customer(
    State(portal): State<Portal>,
    BrokerUser(user): BrokerUser,
    Extension(csrf): Extension<CsrfToken>,
    CsrfForm(form): CsrfForm<CustomerForm>,
) -> Result<Response, PageError> {
    let refused = |form: CustomerForm, errors: FieldErrors, limit: Option<String>| {
        render_with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &CustomerFormPage {
                layout: Layout::new(&portal, &csrf, Some(&user)),
                customer_id: None,
                form,
                errors,
                limit,
            },
        )
    };
    let customer = match NewCustomer::parse(&form) {
        Ok(customer) => customer,
        Err(errors) => return refused(form, errors, None),
    };
    // The plan's contact limit: refused with the reason, and the input stays in the form.
    let usage = usage::measure(portal.db()).await?;
    if let Err(reason) = usage::check_new_contact(portal.entitlements().plan, usage) {
        return refused(form, FieldErrors::default(), Some(reason));
    }
    let id = match customers::create(portal.db(), &customer).await {
        Ok(id) => id,
        Err(err) if is_unique_violation(&err) => return refused(form, number_taken(), None),
        Err(err) => return Err(err.into()),
    };
    Ok(Redirect::to(&format!("/makler/kunden/{id}")).into_response())
}

async fn load_customer(portal: &Portal, id: &str) -> Result<Customer, PageError> {
    customers::find(portal.db(), id).await?.ok_or(PageError::NotFound)
}

async fn edit_customer_page(
    State(portal): State<Portal>,
    BrokerUser(user): BrokerUser,
    Extension(csrf): Extension<CsrfToken>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let customer = load_customer(&portal, &id).await?;
    render(&CustomerFormPage {
        layout: Layout::new(&portal, &csrf, Some(&user)),
        customer_id: Some(id),
        form: customer.to_form(),
        errors: FieldErrors::default(),
        limit: None,
    })
}

async fn update_customer(
    State(portal): State<Portal>,
    BrokerUser(user): BrokerUser,
    Extension(csrf): Extension<CsrfToken>,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<CustomerForm>,
) -> Result<Response, PageError> {
    load_customer(&portal, &id).await?;
    let invalid = |form: CustomerForm, errors: FieldErrors| {
        render_with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &CustomerFormPage {
                layout: Layout::new(&portal, &csrf, Some(&user)),
                customer_id: Some(id.clone()),
                form,
                errors,
                limit: None,
            },
        )
    };
    // A customer with portal access logs in with their address: keep both in step.
    let login = users::find_by_customer(portal.db(), &id).await?;
    let parsed = NewCustomer::parse(&form);
    let mut errors = parsed.as_ref().err().cloned().unwrap_or_default();
    if login.is_some() && form.email.trim().is_empty() {
        errors.add("email", "Dieser Kunde hat einen Portalzugang; die E-Mail-Adresse ist sein Benutzername.");
    }
    let customer = match parsed {
        Ok(customer) if errors.is_empty() => customer,
        _ => return invalid(form, errors),
    };
    if let (Some(login), Some(email)) = (login, customer.email.as_ref()) {
        let name = format!("{} {}", customer.first_name, customer.last_name).trim().to_owned();
        match users::change_email(portal.db(), &login.id, email, &name).await {
            Ok(()) => {}
            Err(err) if is_unique_violation(&err) => {
                let mut errors = FieldErrors::default();
                errors.add("email", "Diese E-Mail-Adresse nutzt bereits ein anderer Zugang zu Ihrem Portal.");
                return invalid(form, errors);
            }
            Err(err) => return Err(err.into()),
        }
    }
    match customers::update(portal.db(), &id, &customer).await {
        Ok(()) => {}
        Err(err) if is_unique_violation(&err) => return invalid(form, number_taken()),
        Err(err) => return Err(err.into()),
    }
    Ok(Redirect::to(&format!("/makler/kunden/{id}?hinweis=gespeichert")).into_response())
}

/// The only unique field of a customer is the broker's customer number.
fn number_taken() -> FieldErrors {
    let mut errors = FieldErrors::default();
    errors.add("customer_number", "Diese Kundennummer hat bereits ein anderer Kunde.");
    errors
}

#[derive(askama::Template)]
#[template(path = "broker/customer.html")]
struct CustomerPage {
    layout: Layout,
    customer: Customer,
    contracts: Vec<Contract>,
    household: Option<Household>,
    household_members: Vec<Customer>,
    households: Vec<Household>,
    documents: Vec<Document>,
    /// The customer's needs analysis, once they described their situation.
    findings: Option<Vec<Finding>>,
    invited: bool,
    has_login: bool,
    notice: Option<(bool, String)>,
}

impl CustomerPage {
    /// The contract a document belongs to, as shown in the documents list.
    fn contract_label(&self, document: &Document) -> String {
        document
            .contract_id
            .as_ref()
            .and_then(|id| self.contracts.iter().find(|c| &c.id == id))
            .map(|c| format!("{} · {}", c.sparte_name, c.policy_number))
            .unwrap_or_else(|| "Allgemein".to_owned())
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CustomerQuery {
    hinweis: String,
}

async fn customer_page(
    State(portal): State<Portal>,
    BrokerUser(user): BrokerUser,
    Extension(csrf): Extension<CsrfToken>,
    Path(id): Path<String>,
    Query(query): Query<CustomerQuery>,
) -> Result<Response, PageError> {
    let notice = match query.hinweis.as_str() {
        "eingeladen" => Some((true, "Die Einladung wurde per E-Mail verschickt.")),
        "keine-email" => Some((false, "Bitte hinterlegen Sie zuerst eine E-Mail-Adresse, um den Kunden einzuladen.")),
        "einladung-wartet" => {
            Some((false, "Diese Einladung wurde gerade mehrfach verschickt. Bitte versuchen Sie es später erneut."))
        }
        "email-vergeben" => Some((false, "Diese E-Mail-Adresse nutzt bereits ein anderer Zugang zu Ihrem Portal.")),
        "archiviert-einladung" => Some((false, "Archivierte Kunden können nicht eingeladen werden.")),
        "vertrag" => Some((true, "Der Vertrag wurde gespeichert.")),
        "gespeichert" => Some((true, "Gespeichert.")),
        "archiviert" => Some((true, "Der Kunde ist archiviert; sein Portalzugang ist beendet.")),
        "reaktiviert" => Some((true, "Der Kunde ist wieder aktiv.")),
        "zugang-entzogen" => Some((true, "Der Portalzugang ist beendet.")),
        "haushalt-name" => Some((false, "Bitte geben Sie dem neuen Haushalt einen Namen.")),
        _ => None,
    };
    show_customer(&portal, &user, &csrf, &id, notice.map(|(ok, text)| (ok, text.to_owned()))).await
}

/// The customer page, with an optional notice on top.
pub(super) async fn show_customer(
    portal: &Portal,
    user: &SessionUser,
    csrf: &CsrfToken,
    id: &str,
    notice: Option<(bool, String)>,
) -> Result<Response, PageError> {
    let customer = load_customer(portal, id).await?;
    let contracts = contracts::for_customer(portal.db(), id).await?;
    let login = users::find_by_customer(portal.db(), id).await?;
    let household = match &customer.household_id {
        Some(household_id) => customers::find_household(portal.db(), household_id).await?,
        None => None,
    };
    let household_members = match &household {
        Some(h) => customers::household_members(portal.db(), &h.id).await?.into_iter().filter(|m| m.id != id).collect(),
        None => Vec::new(),
    };
    render(&CustomerPage {
        layout: Layout::new(portal, csrf, Some(user)),
        invited: login.as_ref().is_some_and(|login| !login.disabled),
        has_login: login.as_ref().is_some_and(|login| login.password_hash.is_some() && !login.disabled),
        households: customers::households(portal.db()).await?,
        documents: documents::for_customer(portal.db(), id).await?,
        findings: super::analysis::findings_for(portal, id).await?,
        customer,
        contracts,
        household,
        household_members,
        notice,
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct HouseholdForm {
    /// An existing household's id, `neu` for a new one, or empty for none.
    household: String,
    new_name: String,
}

async fn set_household(
    State(portal): State<Portal>,
    BrokerUser(_): BrokerUser,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<HouseholdForm>,
) -> Result<Response, PageError> {
    load_customer(&portal, &id).await?;
    let household_id = match form.household.as_str() {
        "" => None,
        "neu" => match crate::values::required_line(&form.new_name, 100) {
            Ok(name) => Some(customers::create_household(portal.db(), &name).await?),
            Err(_) => {
                return Ok(Redirect::to(&format!("/makler/kunden/{id}?hinweis=haushalt-name")).into_response());
            }
        },
        existing => Some(customers::find_household(portal.db(), existing).await?.ok_or(PageError::NotFound)?.id),
    };
    customers::set_household(portal.db(), &id, household_id.as_deref()).await?;
    Ok(Redirect::to(&format!("/makler/kunden/{id}?hinweis=gespeichert")).into_response())
}

async fn archive_customer(
    State(portal): State<Portal>,
    BrokerUser(_): BrokerUser,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    load_customer(&portal, &id).await?;
    if let Some(login) = users::find_by_customer(portal.db(), &id).await? {
        users::disable(portal.db(), &login.id).await?;
    }
    customers::set_archived(portal.db(), &id, true).await?;
    Ok(Redirect::to(&format!("/makler/kunden/{id}?hinweis=archiviert")).into_response())
}

async fn restore_customer(
    State(portal): State<Portal>,
    BrokerUser(user): BrokerUser,
    Extension(csrf): Extension<CsrfToken>,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    load_customer(&portal, &id).await?;
    let usage = usage::measure(portal.db()).await?;
    if let Err(reason) = usage::check_new_contact(portal.entitlements().plan, usage) {
        let mut response = show_customer(&portal, &user, &csrf, &id, Some((false, reason))).await?;
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(response);
    }
    customers::set_archived(portal.db(), &id, false).await?;
    Ok(Redirect::to(&format!("/makler/kunden/{id}?hinweis=reaktiviert")).into_response())
}

async fn revoke_access(
    State(portal): State<Portal>,
    BrokerUser(_): BrokerUser,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    load_customer(&portal, &id).await?;
    if let Some(login) = users::find_by_customer(portal.db(), &id).await? {
        users::disable(portal.db(), &login.id).await?;
        tracing::info!(customer_id = %id, "customer access revoked");
    }
    Ok(Redirect::to(&format!("/makler/kunden/{id}?hinweis=zugang-entzogen")).into_response())
}

/// Invites a customer, or sends the invitation again: only the newest link works.
async fn invite_customer(
    State(portal): State<Portal>,
    BrokerUser(_): BrokerUser,
    ClientAddress(address): ClientAddress,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    let customer = load_customer(&portal, &id).await?;
    let back = |hint: &str| Ok(Redirect::to(&format!("/makler/kunden/{id}?hinweis={hint}")).into_response());
    // Every invitation is a mail to the customer: re-sending is throttled like a login.
    let attempt =
        portal.throttle().attempt(portal.db(), Action::Invite, &customer.id, &address, SecondFactor::None).await?;
    if attempt.is_err() {
        return back("einladung-wartet");
    }
    if customer.archived {
        return back("archiviert-einladung");
    }
    let Some(email) = customer.email.as_deref().and_then(|e| EmailAddress::parse(e).ok()) else {
        return back("keine-email");
    };
    let login = match users::ensure_customer_login(portal.db(), &customer.id, &email, &customer.full_name()).await {
        Ok(login) => login,
        Err(err) if is_unique_violation(&err) => return back("email-vergeben"),
        Err(err) => return Err(err.into()),
    };
    let token = users::issue_link(portal.db(), &login.id, LinkPurpose::Invitation).await?;
    let settings = portal.settings();
    let link = settings.link(&format!("/passwort-setzen?token={token}"));
    portal
        .mailer()
        .send(Email {
            to: email.to_string(),
            sender_name: settings.display_name.clone(),
            from_address: portal.sender_address(),
            subject: format!("Ihr digitaler Versicherungsordner bei {}", settings.display_name),
            body: format!(
                "Guten Tag {name},\n\n{broker} hat für Sie einen digitalen Versicherungsordner eingerichtet. \
                 Dort sehen Sie alle Ihre Verträge auf einen Blick und können Ihrem Makler jederzeit schreiben.\n\n\
                 Bitte legen Sie über diesen Link Ihr Passwort fest:\n{link}\n\n\
                 Der Link ist 14 Tage gültig und kann nur einmal benutzt werden.\n\n\
                 Mit freundlichen Grüßen\n{broker}\n",
                name = customer.full_name(),
                broker = settings.display_name,
            ),
        })
        .await?;
    tracing::info!(customer_id = %customer.id, "customer invited");
    back("eingeladen")
}
