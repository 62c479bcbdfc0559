//! The broker's pages: customers, their contracts, and inviting customers.

use axum::Extension;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::catalog::{self, Sparte};
use crate::contracts::{
    self, Contract, ContractForm, ContractStatus, NewContract, PaymentFrequency,
};
use crate::customers::{self, Customer, CustomerForm, NewCustomer};
use crate::mail::Email;
use crate::portal::Portal;
use crate::portal::auth::{BrokerUser, EmptyForm};
use crate::portal::layout::Layout;
use crate::security::csrf::{CsrfForm, CsrfToken};
use crate::users::{self, LinkPurpose};
use crate::values::EmailAddress;
use crate::web::{FieldErrors, PageError, render, render_with_status};

const PAGE_SIZE: i64 = 50;

pub fn routes() -> Router<Portal> {
    Router::new()
        .route("/makler", get(|| async { Redirect::to("/makler/kunden") }))
        .route("/makler/kunden", get(customer_list))
        .route(
            "/makler/kunden/neu",
            get(new_customer_page).post(create_customer),
        )
        .route("/makler/kunden/{id}", get(customer_page))
        .route(
            "/makler/kunden/{id}/vertraege/neu",
            get(new_contract_page).post(create_contract),
        )
        .route("/makler/kunden/{id}/einladen", post(invite_customer))
}

#[derive(askama::Template)]
#[template(path = "broker/customers.html")]
struct CustomerListPage {
    layout: Layout,
    query: String,
    customers: Vec<Customer>,
    page: i64,
    has_next: bool,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ListQuery {
    q: String,
    seite: Option<i64>,
}

async fn customer_list(
    State(portal): State<Portal>,
    BrokerUser(user): BrokerUser,
    Extension(csrf): Extension<CsrfToken>,
    Query(query): Query<ListQuery>,
) -> Result<Response, PageError> {
    let page = query.seite.unwrap_or(1).max(1);
    let mut customers =
        customers::search(portal.db(), &query.q, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE).await?;
    let has_next = customers.len() as i64 > PAGE_SIZE;
    customers.truncate(PAGE_SIZE as usize);
    render(&CustomerListPage {
        layout: Layout::new(&portal, &csrf, Some(&user)),
        query: query.q,
        customers,
        page,
        has_next,
    })
}

#[derive(askama::Template)]
#[template(path = "broker/customer_form.html")]
struct CustomerFormPage {
    layout: Layout,
    form: CustomerForm,
    errors: FieldErrors,
}

async fn new_customer_page(
    State(portal): State<Portal>,
    BrokerUser(user): BrokerUser,
    Extension(csrf): Extension<CsrfToken>,
) -> Result<Response, PageError> {
    render(&CustomerFormPage {
        layout: Layout::new(&portal, &csrf, Some(&user)),
        form: CustomerForm::default(),
        errors: FieldErrors::default(),
    })
}

async fn create_customer(
    State(portal): State<Portal>,
    BrokerUser(user): BrokerUser,
    Extension(csrf): Extension<CsrfToken>,
    CsrfForm(form): CsrfForm<CustomerForm>,
) -> Result<Response, PageError> {
    match NewCustomer::parse(&form) {
        Ok(customer) => {
            let id = customers::create(portal.db(), &customer).await?;
            Ok(Redirect::to(&format!("/makler/kunden/{id}")).into_response())
        }
        Err(errors) => render_with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &CustomerFormPage {
                layout: Layout::new(&portal, &csrf, Some(&user)),
                form,
                errors,
            },
        ),
    }
}

#[derive(askama::Template)]
#[template(path = "broker/customer.html")]
struct CustomerPage {
    layout: Layout,
    customer: Customer,
    contracts: Vec<Contract>,
    invited: bool,
    has_login: bool,
    notice: Option<&'static str>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CustomerQuery {
    hinweis: String,
}

async fn load_customer(portal: &Portal, id: &str) -> Result<Customer, PageError> {
    customers::find(portal.db(), id)
        .await?
        .ok_or(PageError::NotFound)
}

async fn customer_page(
    State(portal): State<Portal>,
    BrokerUser(user): BrokerUser,
    Extension(csrf): Extension<CsrfToken>,
    Path(id): Path<String>,
    Query(query): Query<CustomerQuery>,
) -> Result<Response, PageError> {
    let customer = load_customer(&portal, &id).await?;
    let contracts = contracts::for_customer(portal.db(), &id).await?;
    let login = users::find_by_customer(portal.db(), &id).await?;
    let notice = match query.hinweis.as_str() {
        "eingeladen" => Some("Die Einladung wurde per E-Mail verschickt."),
        "keine-email" => {
            Some("Bitte hinterlegen Sie zuerst eine E-Mail-Adresse, um den Kunden einzuladen.")
        }
        "vertrag" => Some("Der Vertrag wurde angelegt."),
        _ => None,
    };
    render(&CustomerPage {
        layout: Layout::new(&portal, &csrf, Some(&user)),
        invited: login.as_ref().is_some_and(|login| !login.disabled),
        has_login: login
            .as_ref()
            .is_some_and(|login| login.password_hash.is_some() && !login.disabled),
        customer,
        contracts,
        notice,
    })
}

#[derive(askama::Template)]
#[template(path = "broker/contract_form.html")]
struct ContractFormPage {
    layout: Layout,
    customer: Customer,
    catalog: Vec<Sparte>,
    form: ContractForm,
    errors: FieldErrors,
    frequencies: [PaymentFrequency; 5],
    statuses: [ContractStatus; 3],
}

async fn contract_form_page(
    portal: &Portal,
    user: &crate::portal::auth::SessionUser,
    csrf: &CsrfToken,
    customer: Customer,
    form: ContractForm,
    errors: FieldErrors,
) -> Result<Response, PageError> {
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render_with_status(
        status,
        &ContractFormPage {
            layout: Layout::new(portal, csrf, Some(user)),
            customer,
            catalog: catalog::list(portal.db()).await?,
            form,
            errors,
            frequencies: PaymentFrequency::ALL,
            statuses: ContractStatus::ALL,
        },
    )
}

async fn new_contract_page(
    State(portal): State<Portal>,
    BrokerUser(user): BrokerUser,
    Extension(csrf): Extension<CsrfToken>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let customer = load_customer(&portal, &id).await?;
    let form = ContractForm {
        payment_frequency: "monthly".into(),
        status: "active".into(),
        ..Default::default()
    };
    contract_form_page(
        &portal,
        &user,
        &csrf,
        customer,
        form,
        FieldErrors::default(),
    )
    .await
}

async fn create_contract(
    State(portal): State<Portal>,
    BrokerUser(user): BrokerUser,
    Extension(csrf): Extension<CsrfToken>,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<ContractForm>,
) -> Result<Response, PageError> {
    let customer = load_customer(&portal, &id).await?;
    let contract = match NewContract::parse(&form) {
        Ok(contract) => contract,
        Err(errors) => {
            return contract_form_page(&portal, &user, &csrf, customer, form, errors).await;
        }
    };
    let Some(produkt) = catalog::find_produkt(portal.db(), &contract.produkt_id).await? else {
        let mut errors = FieldErrors::default();
        errors.add(
            "produkt_id",
            "Dieses Produkt gibt es nicht mehr. Bitte wählen Sie ein anderes.",
        );
        return contract_form_page(&portal, &user, &csrf, customer, form, errors).await;
    };
    contracts::create(portal.db(), &customer.id, &produkt.sparte_id, &contract).await?;
    Ok(Redirect::to(&format!("/makler/kunden/{}?hinweis=vertrag", customer.id)).into_response())
}

async fn invite_customer(
    State(portal): State<Portal>,
    BrokerUser(_user): BrokerUser,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    let customer = load_customer(&portal, &id).await?;
    let Some(email) = customer
        .email
        .as_deref()
        .and_then(|e| EmailAddress::parse(e).ok())
    else {
        return Ok(
            Redirect::to(&format!("/makler/kunden/{id}?hinweis=keine-email")).into_response(),
        );
    };
    let login =
        users::ensure_customer_login(portal.db(), &customer.id, &email, &customer.full_name())
            .await?;
    let token = users::issue_link(portal.db(), &login.id, LinkPurpose::Invitation).await?;
    let settings = portal.settings();
    let link = settings.link(&format!("/passwort-setzen?token={token}"));
    portal
        .mailer()
        .send(Email {
            to: email.to_string(),
            sender_name: settings.display_name.clone(),
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
    Ok(Redirect::to(&format!("/makler/kunden/{id}?hinweis=eingeladen")).into_response())
}
