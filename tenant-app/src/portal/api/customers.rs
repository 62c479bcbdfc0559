//! Customers and households: list (with `q`), get, create, update, archive.

use axum::Router;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use super::fields::{self, optional_date, optional_id, text};
use super::{ApiClient, ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, Page, PageRequest, created, ok};
use crate::audit;
use crate::customers::{self, Customer, CustomerForm, Household, NewCustomer};
use crate::db::is_unique_violation;
use crate::portal::Portal;
use crate::usage;
use crate::users;
use crate::values::required_text;
use crate::web::FieldErrors;

pub fn routes() -> Router<Portal> {
    Router::new()
        .route("/customers", get(list).post(create))
        .route("/customers/{id}", get(show).put(update))
        .route("/customers/{id}/archive", post(archive))
        .route("/customers/{id}/restore", post(restore))
        .route("/households", get(list_households).post(create_household))
        .route("/households/{id}", get(show_household).put(update_household).delete(dissolve_household))
}

#[derive(Serialize)]
pub struct CustomerView {
    id: String,
    household_id: Option<String>,
    first_name: String,
    last_name: String,
    email: Option<String>,
    phone: String,
    birth_date: Option<String>,
    street: String,
    postal_code: String,
    city: String,
    archived: bool,
}

impl From<Customer> for CustomerView {
    fn from(c: Customer) -> Self {
        CustomerView {
            id: c.id,
            household_id: c.household_id,
            first_name: c.first_name,
            last_name: c.last_name,
            email: c.email,
            phone: c.phone,
            birth_date: c.birth_date,
            street: c.street,
            postal_code: c.postal_code,
            city: c.city,
            archived: c.archived,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    archived: bool,
    limit: Option<i64>,
    cursor: Option<String>,
}

async fn list(State(portal): State<Portal>, ApiQuery(query): ApiQuery<ListQuery>) -> ApiResult {
    let mut errors = FieldErrors::default();
    fields::search_text(&mut errors, "q", &query.q, 200);
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    let rows = customers::page(portal.db(), &query.q, query.archived, page.after(), page.fetch()).await?;
    ok(&Page::of(&page, rows, |c| &c.id, CustomerView::from))
}

pub async fn load(portal: &Portal, id: &str) -> Result<Customer, ApiError> {
    if !fields::is_id(id) {
        return Err(ApiError::not_found("No such customer"));
    }
    customers::find(portal.db(), id).await?.ok_or_else(|| ApiError::not_found("No such customer"))
}

async fn show(State(portal): State<Portal>, ApiPath(id): ApiPath<String>) -> ApiResult {
    ok(&CustomerView::from(load(&portal, &id).await?))
}

/// A customer as sent: every field a customer has; optional ones may be left out
/// (or null) and are then empty.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CustomerInput {
    first_name: String,
    last_name: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    birth_date: Option<String>,
    #[serde(default)]
    street: String,
    #[serde(default)]
    postal_code: String,
    #[serde(default)]
    city: String,
    #[serde(default)]
    household_id: Option<String>,
}

/// The domain's rules, after the schema's limits.
async fn parse(portal: &Portal, input: &CustomerInput) -> Result<NewCustomer, ApiError> {
    let mut errors = FieldErrors::default();
    for (field, value, max) in [
        ("first_name", &input.first_name, 100),
        ("last_name", &input.last_name, 100),
        ("phone", &input.phone, 50),
        ("street", &input.street, 200),
        ("postal_code", &input.postal_code, 10),
        ("city", &input.city, 100),
    ] {
        text(&mut errors, field, value, max);
    }
    text(&mut errors, "email", input.email.as_deref().unwrap_or(""), 254);
    // No e-mail address is null; an empty or padded string is not an address.
    if let Some(email) = &input.email
        && (email.is_empty() || email.trim() != email)
    {
        errors.add("email", "an e-mail address without surrounding spaces, or null");
    }
    let birth_date = optional_date(&mut errors, "birth_date", input.birth_date.as_deref());
    optional_id(&mut errors, "household_id", input.household_id.as_deref());
    let form = CustomerForm {
        first_name: input.first_name.clone(),
        last_name: input.last_name.clone(),
        email: input.email.clone().unwrap_or_default(),
        phone: input.phone.clone(),
        birth_date,
        street: input.street.clone(),
        postal_code: input.postal_code.clone(),
        city: input.city.clone(),
    };
    let parsed = NewCustomer::parse(&form);
    if let Err(domain) = &parsed {
        fields::rename(domain.clone(), &[], &mut errors);
    }
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    if let Some(household_id) = &input.household_id
        && customers::find_household(portal.db(), household_id).await?.is_none()
    {
        return Err(ApiError::unknown_reference("No such household"));
    }
    Ok(parsed.expect("checked"))
}

async fn create(State(portal): State<Portal>, client: ApiClient, ApiJson(input): ApiJson<CustomerInput>) -> ApiResult {
    let customer = parse(&portal, &input).await?;
    let usage = usage::measure(portal.db()).await?;
    if let Err(reason) = usage::check_new_contact(portal.entitlements().plan, usage) {
        return Err(ApiError::forbidden("Contact limit of the plan reached", reason));
    }
    let id = customers::create_in_household(portal.db(), &customer, input.household_id.as_deref())
        .await
        .map_err(household_gone)?;
    let subject = format!("customer:{id}");
    let name = format!("{} {}", customer.first_name, customer.last_name);
    audit::record(portal.db(), &client.actor(), "customer_created", &subject, &name).await?;
    created(format!("/api/v1/customers/{id}"), &CustomerView::from(load(&portal, &id).await?))
}

async fn update(
    State(portal): State<Portal>,
    client: ApiClient,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<CustomerInput>,
) -> ApiResult {
    let existing = load(&portal, &id).await?;
    let customer = parse(&portal, &input).await?;
    // A customer with portal access logs in with their address: keep both in step.
    if let Some(login) = users::find_by_customer(portal.db(), &id).await? {
        let Some(email) = customer.email.as_ref() else {
            return Err(ApiError::conflict(
                "E-mail address required",
                "This customer has portal access; the e-mail address is their user name and cannot be removed.",
            ));
        };
        let name = format!("{} {}", customer.first_name, customer.last_name);
        match users::change_email(portal.db(), &login.id, email, &name).await {
            Ok(()) => {}
            Err(err) if is_unique_violation(&err) => {
                return Err(ApiError::conflict(
                    "E-mail address in use",
                    "Another login of this portal uses this e-mail address.",
                ));
            }
            Err(err) => return Err(err.into()),
        }
    }
    if existing.household_id != input.household_id {
        customers::set_household(portal.db(), &id, input.household_id.as_deref()).await.map_err(household_gone)?;
    }
    customers::update(portal.db(), &id, &customer).await?;
    let name = format!("{} {}", customer.first_name, customer.last_name);
    audit::record(portal.db(), &client.actor(), "customer_updated", &format!("customer:{id}"), &name).await?;
    ok(&CustomerView::from(load(&portal, &id).await?))
}

/// A household dissolved between the check and the write is as unknown as one never made.
fn household_gone(err: sqlx::Error) -> ApiError {
    if crate::db::is_foreign_key_violation(&err) {
        ApiError::unknown_reference("No such household")
    } else {
        err.into()
    }
}

async fn archive(State(portal): State<Portal>, client: ApiClient, ApiPath(id): ApiPath<String>) -> ApiResult {
    let customer = load(&portal, &id).await?;
    if let Some(login) = users::find_by_customer(portal.db(), &id).await? {
        users::disable(portal.db(), &login.id).await?;
    }
    customers::set_archived(portal.db(), &id, true).await?;
    let subject = format!("customer:{id}");
    audit::record(portal.db(), &client.actor(), "customer_archived", &subject, &customer.full_name()).await?;
    ok(&CustomerView::from(load(&portal, &id).await?))
}

async fn restore(State(portal): State<Portal>, client: ApiClient, ApiPath(id): ApiPath<String>) -> ApiResult {
    let customer = load(&portal, &id).await?;
    if customer.archived {
        let usage = usage::measure(portal.db()).await?;
        if let Err(reason) = usage::check_new_contact(portal.entitlements().plan, usage) {
            return Err(ApiError::forbidden("Contact limit of the plan reached", reason));
        }
        customers::set_archived(portal.db(), &id, false).await?;
        let subject = format!("customer:{id}");
        audit::record(portal.db(), &client.actor(), "customer_restored", &subject, &customer.full_name()).await?;
    }
    ok(&CustomerView::from(load(&portal, &id).await?))
}

#[derive(Serialize)]
struct HouseholdView {
    id: String,
    name: String,
    member_ids: Vec<String>,
}

async fn household_view(portal: &Portal, household: Household) -> Result<HouseholdView, ApiError> {
    let members = customers::household_members(portal.db(), &household.id).await?;
    Ok(HouseholdView {
        id: household.id,
        name: household.name,
        member_ids: members.into_iter().map(|m| m.id).collect(),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    limit: Option<i64>,
    cursor: Option<String>,
}

async fn list_households(State(portal): State<Portal>, ApiQuery(query): ApiQuery<PageQuery>) -> ApiResult {
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    let rows = customers::household_page(portal.db(), page.after(), page.fetch()).await?;
    let page = Page::of(&page, rows, |h| &h.id, |h| h);
    let mut items = Vec::with_capacity(page.items.len());
    for household in page.items {
        items.push(household_view(&portal, household).await?);
    }
    ok(&Page { items, next: page.next })
}

async fn load_household(portal: &Portal, id: &str) -> Result<Household, ApiError> {
    let found = if fields::is_id(id) { customers::find_household(portal.db(), id).await? } else { None };
    found.ok_or_else(|| ApiError::not_found("No such household"))
}

async fn show_household(State(portal): State<Portal>, ApiPath(id): ApiPath<String>) -> ApiResult {
    let household = load_household(&portal, &id).await?;
    ok(&household_view(&portal, household).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HouseholdInput {
    name: String,
}

fn household_name(input: &HouseholdInput) -> Result<String, ApiError> {
    let mut errors = FieldErrors::default();
    text(&mut errors, "name", &input.name, 100);
    let name = required_text(&input.name, 100).map_err(|m| errors.add("name", m)).unwrap_or_default();
    errors.into_result(|| name).map_err(ApiError::invalid)
}

async fn create_household(
    State(portal): State<Portal>,
    client: ApiClient,
    ApiJson(input): ApiJson<HouseholdInput>,
) -> ApiResult {
    let name = household_name(&input)?;
    let id = customers::create_household(portal.db(), &name).await?;
    audit::record(portal.db(), &client.actor(), "household_created", &format!("household:{id}"), &name).await?;
    let view = household_view(&portal, load_household(&portal, &id).await?).await?;
    created(format!("/api/v1/households/{id}"), &view)
}

async fn update_household(
    State(portal): State<Portal>,
    client: ApiClient,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<HouseholdInput>,
) -> ApiResult {
    load_household(&portal, &id).await?;
    let name = household_name(&input)?;
    customers::rename_household(portal.db(), &id, &name).await?;
    audit::record(portal.db(), &client.actor(), "household_updated", &format!("household:{id}"), &name).await?;
    ok(&household_view(&portal, load_household(&portal, &id).await?).await?)
}

async fn dissolve_household(
    State(portal): State<Portal>,
    client: ApiClient,
    ApiPath(id): ApiPath<String>,
) -> ApiResult {
    let household = load_household(&portal, &id).await?;
    customers::dissolve_household(portal.db(), &id).await?;
    let subject = format!("household:{id}");
    audit::record(portal.db(), &client.actor(), "household_dissolved", &subject, &household.name).await?;
    Ok(axum::http::StatusCode::NO_CONTENT.into_response())
}
