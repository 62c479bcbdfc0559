//! The customer's folder: contracts grouped by Sparte, their details and the
//! documents the broker shared.

use axum::Extension;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;

use crate::contracts::{self, Contract, SparteGroup};
use crate::documents::{self, Document};
use crate::portal::Portal;
use crate::portal::auth::CustomerUser;
use crate::portal::layout::Layout;
use crate::security::csrf::CsrfToken;
use crate::values::Cents;
use crate::web::{PageError, render};

pub fn routes() -> Router<Portal> {
    Router::new().route("/ordner", get(dashboard)).route("/ordner/vertraege/{id}", get(contract_page))
}

#[derive(askama::Template)]
#[template(path = "customer/dashboard.html")]
struct DashboardPage {
    layout: Layout,
    groups: Vec<SparteGroup>,
    total: Cents,
    documents: Vec<Document>,
}

async fn dashboard(
    State(portal): State<Portal>,
    customer: CustomerUser,
    Extension(csrf): Extension<CsrfToken>,
) -> Result<Response, PageError> {
    let active: Vec<Contract> = contracts::for_customer(portal.db(), &customer.customer_id)
        .await?
        .into_iter()
        .filter(|c| c.status == contracts::ContractStatus::Active)
        .collect();
    let (groups, total) = contracts::group_by_sparte(active);
    let documents = documents::visible_to_customer(portal.db(), &customer.customer_id, None).await?;
    render(&DashboardPage { documents, layout: Layout::new(&portal, &csrf, Some(&customer.user)), groups, total })
}

#[derive(askama::Template)]
#[template(path = "customer/contract.html")]
struct ContractPage {
    layout: Layout,
    contract: Contract,
    documents: Vec<Document>,
}

async fn contract_page(
    State(portal): State<Portal>,
    customer: CustomerUser,
    Extension(csrf): Extension<CsrfToken>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    // Looked up together with the customer's id: another customer's contract is
    // indistinguishable from one that does not exist.
    let contract =
        contracts::find_for_customer(portal.db(), &customer.customer_id, &id).await?.ok_or(PageError::NotFound)?;
    let documents = documents::visible_to_customer(portal.db(), &customer.customer_id, Some(&id)).await?;
    render(&ContractPage { documents, layout: Layout::new(&portal, &csrf, Some(&customer.user)), contract })
}
