//! Contracts: list (by customer or policy number), get, create, update, delete.
//! The Sparte is named by its GDV code or its name in the broker's catalog; a
//! Produkt named that the Sparte does not have yet is added to it, as an
//! import does.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use serde::{Deserialize, Serialize};

use super::fields::{self, optional_date, text};
use super::{ApiClient, ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, Page, PageRequest, created, ok};
use crate::audit;
use crate::catalog::{self, Entry, Sparte};
use crate::contracts::{self, Contract, ContractFilter, ContractForm, ContractStatus, NewContract, PaymentFrequency};
use crate::portal::Portal;
use crate::web::FieldErrors;

/// The largest premium accepted, in cents (the domain's limit).
pub const MAX_PREMIUM_CENTS: i64 = 10_000_000_000;

pub fn routes() -> Router<Portal> {
    Router::new()
        .route("/contracts", get(list).post(create))
        .route("/contracts/{id}", get(show).put(update).delete(remove))
}

#[derive(Serialize)]
struct ContractView {
    id: String,
    customer_id: String,
    insurer: String,
    insurer_number: String,
    policy_number: String,
    sparte_code: Option<String>,
    sparte: String,
    produkt: Option<String>,
    start_date: Option<String>,
    end_date: Option<String>,
    main_due_date: Option<String>,
    payment_frequency: &'static str,
    premium_cents: i64,
    yearly_premium_cents: Option<i64>,
    status: &'static str,
    notes: String,
}

impl From<Contract> for ContractView {
    fn from(c: Contract) -> Self {
        ContractView {
            yearly_premium_cents: c.yearly_premium().map(|cents| cents.0),
            payment_frequency: c.frequency.as_str(),
            premium_cents: c.premium.0,
            status: c.status.as_str(),
            start_date: Some(c.start_date.to_string()),
            end_date: c.end_date.map(|d| d.to_string()),
            main_due_date: c.main_due_date.map(|d| d.to_string()),
            id: c.id,
            customer_id: c.customer_id,
            insurer: c.insurer,
            insurer_number: c.insurer_number,
            policy_number: c.policy_number,
            sparte_code: c.sparte_code,
            sparte: c.sparte_name,
            produkt: c.produkt_name,
            notes: c.notes,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    customer_id: Option<String>,
    policy_number: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

async fn list(State(portal): State<Portal>, ApiQuery(query): ApiQuery<ListQuery>) -> ApiResult {
    let mut errors = FieldErrors::default();
    fields::optional_id(&mut errors, "customer_id", query.customer_id.as_deref());
    if let Some(policy_number) = &query.policy_number {
        fields::search_text(&mut errors, "policy_number", policy_number, 60);
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    let filter = ContractFilter {
        customer_id: query.customer_id,
        policy_number: query.policy_number.map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()),
    };
    let rows = contracts::page(portal.db(), &filter, page.after(), page.fetch()).await?;
    ok(&Page::of(&page, rows, |c| &c.id, ContractView::from))
}

async fn load(portal: &Portal, id: &str) -> Result<Contract, ApiError> {
    let found = if fields::is_id(id) { contracts::find(portal.db(), id).await? } else { None };
    found.ok_or_else(|| ApiError::not_found("No such contract"))
}

async fn show(State(portal): State<Portal>, ApiPath(id): ApiPath<String>) -> ApiResult {
    ok(&ContractView::from(load(&portal, &id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContractInput {
    customer_id: String,
    insurer: String,
    #[serde(default)]
    insurer_number: String,
    policy_number: String,
    #[serde(default)]
    sparte_code: Option<String>,
    #[serde(default)]
    sparte: Option<String>,
    #[serde(default)]
    produkt: Option<String>,
    start_date: String,
    #[serde(default)]
    end_date: Option<String>,
    #[serde(default)]
    main_due_date: Option<String>,
    payment_frequency: String,
    #[serde(deserialize_with = "fields::integer")]
    premium_cents: i64,
    #[serde(default = "active")]
    status: String,
    #[serde(default)]
    notes: String,
}

fn active() -> String {
    ContractStatus::Active.as_str().to_owned()
}

/// A contract that passed every rule, with where it is filed.
struct Checked {
    contract: NewContract,
    sparte_id: String,
}

async fn parse(portal: &Portal, client: &ApiClient, input: &ContractInput) -> Result<Checked, ApiError> {
    let mut errors = FieldErrors::default();
    fields::optional_id(&mut errors, "customer_id", Some(&input.customer_id));
    text(&mut errors, "insurer", &input.insurer, 200);
    text(&mut errors, "insurer_number", &input.insurer_number, contracts::INSURER_NUMBER_MAX_CHARS);
    text(&mut errors, "policy_number", &input.policy_number, 60);
    text(&mut errors, "notes", &input.notes, 5000);
    let code_shaped = |code: &str| code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit());
    if let Some(code) = &input.sparte_code
        && !code_shaped(code)
    {
        errors.add("sparte_code", "three digits, e.g. \"030\"");
    }
    if let Some(name) = &input.sparte {
        text(&mut errors, "sparte", name, 100);
    }
    if input.sparte_code.is_none() && input.sparte.is_none() {
        errors.add("sparte_code", "name the Sparte by sparte_code or sparte");
    }
    let produkt = match &input.produkt {
        None => None,
        Some(name) => {
            text(&mut errors, "produkt", name, 100);
            let form = catalog::EntryForm { name: name.clone(), description: String::new() };
            Entry::parse(&form).map_err(|_| errors.add("produkt", "Bitte füllen Sie dieses Feld aus.")).ok()
        }
    };
    if !(0..=MAX_PREMIUM_CENTS).contains(&input.premium_cents) {
        errors.add("premium_cents", format!("between 0 and {MAX_PREMIUM_CENTS}"));
    }
    let start_date = optional_date(&mut errors, "start_date", Some(&input.start_date));
    let end_date = optional_date(&mut errors, "end_date", input.end_date.as_deref());
    let main_due_date = optional_date(&mut errors, "main_due_date", input.main_due_date.as_deref());
    if PaymentFrequency::parse(&input.payment_frequency).is_none() {
        errors.add("payment_frequency", "one of annual, half_yearly, quarterly, monthly, single");
    }
    if ContractStatus::parse(&input.status).is_none() {
        errors.add("status", "one of active, dormant, cancelled");
    }
    let premium = input.premium_cents.clamp(0, MAX_PREMIUM_CENTS);
    let form = ContractForm {
        produkt_id: String::new(),
        insurer: input.insurer.clone(),
        insurer_number: input.insurer_number.clone(),
        policy_number: input.policy_number.clone(),
        premium: format!("{},{:02}", premium / 100, premium % 100),
        payment_frequency: input.payment_frequency.clone(),
        start_date,
        end_date,
        main_due_date,
        status: input.status.clone(),
        notes: input.notes.clone(),
    };
    let parsed = NewContract::parse_with(&form, false);
    if let Err(domain) = &parsed {
        fields::rename(domain.clone(), &[("premium", "premium_cents")], &mut errors);
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    let mut contract = parsed.expect("checked");
    if crate::customers::find(portal.db(), &input.customer_id).await?.is_none() {
        return Err(ApiError::unknown_reference("No such customer"));
    }
    let sparte = find_sparte(portal, input.sparte_code.as_deref(), input.sparte.as_deref()).await?;
    contract.produkt_id = match produkt {
        None => None,
        Some(entry) => Some(produkt_id(portal, client, &sparte, &entry).await?),
    };
    Ok(Checked { contract, sparte_id: sparte.id })
}

/// The Sparte a code and/or a name give.
async fn find_sparte(portal: &Portal, code: Option<&str>, name: Option<&str>) -> Result<Sparte, ApiError> {
    let catalog = catalog::list(portal.db()).await?;
    let by_code = code.map(|code| catalog.iter().find(|s| s.gdv_code.as_deref() == Some(code)));
    let by_name = name.map(|name| catalog.iter().find(|s| s.name.to_lowercase() == name.trim().to_lowercase()));
    let found = match (by_code, by_name) {
        (Some(Some(a)), Some(Some(b))) if a.id != b.id => {
            return Err(ApiError::conflict(
                "Sparte code and name disagree",
                "sparte_code and sparte name two different Sparten of the catalog.",
            ));
        }
        (Some(found), None) | (None, Some(found)) => found,
        (Some(a), Some(b)) => a.and(b),
        (None, None) => None,
    };
    found.cloned().ok_or_else(|| ApiError::unknown_reference("No such Sparte in the catalog"))
}

/// The Produkt of this name under the Sparte, added if it has none yet.
async fn produkt_id(portal: &Portal, client: &ApiClient, sparte: &Sparte, entry: &Entry) -> Result<String, ApiError> {
    let wanted = entry.name.to_lowercase();
    if let Some(produkt) = sparte.produkte.iter().find(|p| p.name.to_lowercase() == wanted) {
        return Ok(produkt.id.clone());
    }
    let id = catalog::add_produkt(portal.db(), &sparte.id, entry).await?;
    let detail = format!("{} / {}", sparte.name, entry.name);
    audit::record(portal.db(), &client.actor(), "produkt_created", &format!("produkt:{id}"), &detail).await?;
    Ok(id)
}

fn label(contract: &NewContract) -> String {
    format!("{} {}", contract.insurer, contract.policy_number)
}

async fn create(State(portal): State<Portal>, client: ApiClient, ApiJson(input): ApiJson<ContractInput>) -> ApiResult {
    let checked = parse(&portal, &client, &input).await?;
    let id = contracts::create(portal.db(), &input.customer_id, &checked.sparte_id, &checked.contract).await?;
    let detail = label(&checked.contract);
    audit::record(portal.db(), &client.actor(), "contract_created", &format!("contract:{id}"), &detail).await?;
    created(format!("/api/v1/contracts/{id}"), &ContractView::from(load(&portal, &id).await?))
}

async fn update(
    State(portal): State<Portal>,
    client: ApiClient,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<ContractInput>,
) -> ApiResult {
    load(&portal, &id).await?;
    let checked = parse(&portal, &client, &input).await?;
    contracts::update(portal.db(), &id, &checked.sparte_id, &checked.contract).await?;
    if contracts::find(portal.db(), &id).await?.is_some_and(|c| c.customer_id != input.customer_id) {
        contracts::move_to_customer(portal.db(), &id, &input.customer_id).await?;
    }
    let detail = label(&checked.contract);
    audit::record(portal.db(), &client.actor(), "contract_updated", &format!("contract:{id}"), &detail).await?;
    ok(&ContractView::from(load(&portal, &id).await?))
}

async fn remove(State(portal): State<Portal>, client: ApiClient, ApiPath(id): ApiPath<String>) -> ApiResult {
    let contract = load(&portal, &id).await?;
    contracts::delete(portal.db(), &id).await?;
    let detail = format!("{} {}", contract.insurer, contract.policy_number);
    audit::record(portal.db(), &client.actor(), "contract_deleted", &format!("contract:{id}"), &detail).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
