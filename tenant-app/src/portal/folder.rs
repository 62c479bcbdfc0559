//! The customer's folder: contracts grouped by Sparte, their details and the
//! documents the broker shared.

use axum::Extension;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;

use std::sync::Arc;

use crate::contracts::{self, Contract};
use crate::documents::{self, Document};
use crate::portal::Portal;
use crate::portal::auth::CustomerUser;
use askama::Template;

use crate::i18n::Lang;
use crate::portal::cache::{Folder, RenderedFolder};
use crate::portal::layout::Layout;
use crate::security::csrf::CsrfToken;
use crate::web::{PageError, render};

pub fn routes() -> Router<Portal> {
    Router::new().route("/ordner", get(dashboard)).route("/ordner/vertraege/{id}", get(contract_page))
}

#[derive(askama::Template)]
#[template(path = "customer/dashboard.html")]
struct DashboardPage<'a> {
    layout: Layout,
    /// Rendered by [`FolderFragment`], which escapes every value.
    folder_html: &'a str,
}

#[derive(askama::Template)]
#[template(path = "customer/_folder.html")]
struct FolderFragment<'a> {
    layout: Translator,
    folder: &'a Folder,
}

/// What the folder fragment needs of a layout: the language.
struct Translator {
    lang: Lang,
}

impl Translator {
    fn t<'a>(&self, german: &'a str) -> &'a str {
        self.lang.t(german)
    }
}

/// The customer's folder as HTML: from the cache, or read, grouped and rendered
/// once until the next write.
async fn rendered_folder(portal: &Portal, customer_id: &str) -> Result<Arc<RenderedFolder>, PageError> {
    let lang = Lang::current();
    let key = format!("{customer_id}/{}", lang.code());
    if let Some(folder) = portal.cache().folder(&key) {
        return Ok(folder);
    }
    let generation = portal.cache().generation();
    let active: Vec<Contract> = contracts::for_customer(portal.db(), customer_id)
        .await?
        .into_iter()
        .filter(|c| c.status == contracts::ContractStatus::Active)
        .collect();
    let (groups, total) = contracts::group_by_sparte(active);
    let documents = documents::visible_to_customer(portal.db(), customer_id, None).await?;
    let folder = Folder { groups, total, documents };
    let html = FolderFragment { layout: Translator { lang }, folder: &folder }.render()?;
    let rendered = Arc::new(RenderedFolder { html });
    portal.cache().store_folder(key, generation, rendered.clone());
    Ok(rendered)
}

async fn dashboard(
    State(portal): State<Portal>,
    customer: CustomerUser,
    Extension(csrf): Extension<CsrfToken>,
) -> Result<Response, PageError> {
    let folder = rendered_folder(&portal, &customer.customer_id).await?;
    render(&DashboardPage { layout: Layout::new(&portal, &csrf, Some(&customer.user)), folder_html: &folder.html })
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
