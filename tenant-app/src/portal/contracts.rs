//! The broker's contract forms: create and edit. Only the broker writes
//! contracts; customers ask through messages.

use axum::Extension;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::catalog::{self, Sparte};
use crate::contracts::{self, ContractForm, ContractStatus, NewContract, PaymentFrequency};
use crate::customers::{self, Customer};
use crate::portal::Portal;
use crate::portal::auth::{BrokerUser, SessionUser};
use crate::portal::layout::Layout;
use crate::security::csrf::{CsrfForm, CsrfToken};
use crate::web::{FieldErrors, PageError, render_with_status};

pub fn routes() -> Router<Portal> {
    Router::new()
        .route("/makler/kunden/{id}/vertraege/neu", get(new_contract_page).post(create_contract))
        .route("/makler/vertraege/{id}", get(edit_contract_page).post(update_contract))
}

#[derive(askama::Template)]
#[template(path = "broker/contract_form.html")]
struct ContractFormPage {
    layout: Layout,
    customer: Customer,
    /// `None` while creating.
    contract_id: Option<String>,
    catalog: Vec<Sparte>,
    form: ContractForm,
    errors: FieldErrors,
    frequencies: [PaymentFrequency; 5],
    statuses: [ContractStatus; 3],
}

impl ContractFormPage {
    fn action(&self) -> String {
        match &self.contract_id {
            Some(id) => format!("/makler/vertraege/{id}"),
            None => format!("/makler/kunden/{}/vertraege/neu", self.customer.id),
        }
    }
}

async fn show_form(
    portal: &Portal,
    user: &SessionUser,
    csrf: &CsrfToken,
    customer: Customer,
    contract_id: Option<String>,
    form: ContractForm,
    errors: FieldErrors,
) -> Result<Response, PageError> {
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    render_with_status(
        status,
        &ContractFormPage {
            layout: Layout::new(portal, csrf, Some(user)),
            customer,
            contract_id,
            catalog: catalog::list(portal.db()).await?,
            form,
            errors,
            frequencies: PaymentFrequency::ALL,
            statuses: ContractStatus::ALL,
        },
    )
}

async fn load_customer(portal: &Portal, id: &str) -> Result<Customer, PageError> {
    customers::find(portal.db(), id).await?.ok_or(PageError::NotFound)
}

async fn new_contract_page(
    State(portal): State<Portal>,
    BrokerUser(user): BrokerUser,
    Extension(csrf): Extension<CsrfToken>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let customer = load_customer(&portal, &id).await?;
    let form = ContractForm { payment_frequency: "monthly".into(), status: "active".into(), ..Default::default() };
    show_form(&portal, &user, &csrf, customer, None, form, FieldErrors::default()).await
}

/// Parses the form and resolves its Produkt; `Err` carries the field errors.
async fn parse(portal: &Portal, form: &ContractForm) -> Result<Result<(NewContract, String), FieldErrors>, PageError> {
    let contract = match NewContract::parse(form) {
        Ok(contract) => contract,
        Err(errors) => return Ok(Err(errors)),
    };
    match catalog::find_produkt(portal.db(), contract.produkt_id.as_deref().unwrap_or_default()).await? {
        Some(produkt) => Ok(Ok((contract, produkt.sparte_id))),
        None => {
            let mut errors = FieldErrors::default();
            errors.add("produkt_id", "Dieses Produkt gibt es nicht mehr. Bitte wählen Sie ein anderes.");
            Ok(Err(errors))
        }
    }
}

async fn create_contract(
    State(portal): State<Portal>,
    BrokerUser(user): BrokerUser,
    Extension(csrf): Extension<CsrfToken>,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<ContractForm>,
) -> Result<Response, PageError> {
    let customer = load_customer(&portal, &id).await?;
    match parse(&portal, &form).await? {
        Ok((contract, sparte_id)) => {
            contracts::create(portal.db(), &customer.id, &sparte_id, &contract).await?;
            Ok(Redirect::to(&format!("/makler/kunden/{}?hinweis=vertrag", customer.id)).into_response())
        }
        Err(errors) => show_form(&portal, &user, &csrf, customer, None, form, errors).await,
    }
}

async fn edit_contract_page(
    State(portal): State<Portal>,
    BrokerUser(user): BrokerUser,
    Extension(csrf): Extension<CsrfToken>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let contract = contracts::find(portal.db(), &id).await?.ok_or(PageError::NotFound)?;
    let customer = load_customer(&portal, &contract.customer_id).await?;
    show_form(&portal, &user, &csrf, customer, Some(id), contract.to_form(), FieldErrors::default()).await
}

async fn update_contract(
    State(portal): State<Portal>,
    BrokerUser(user): BrokerUser,
    Extension(csrf): Extension<CsrfToken>,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<ContractForm>,
) -> Result<Response, PageError> {
    let existing = contracts::find(portal.db(), &id).await?.ok_or(PageError::NotFound)?;
    let customer = load_customer(&portal, &existing.customer_id).await?;
    match parse(&portal, &form).await? {
        Ok((contract, sparte_id)) => {
            contracts::update(portal.db(), &id, &sparte_id, &contract).await?;
            Ok(Redirect::to(&format!("/makler/kunden/{}?hinweis=vertrag", customer.id)).into_response())
        }
        Err(errors) => show_form(&portal, &user, &csrf, customer, Some(id), form, errors).await,
    }
}
