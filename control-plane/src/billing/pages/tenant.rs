//! A tenant's account in the console (`/mandanten/{id}/abrechnung`): its
//! customer number and plan, putting it on a plan directly (a contract that
//! came by post), its credit balance with how it came about, and paying the
//! balance out.

use axum::Extension;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tenant_app::calendar::format_date;
use tenant_app::plans::Plan;
use tenant_app::security::csrf::{CsrfForm, CsrfToken};
use tenant_app::values::{self, Cents};
use tenant_app::web::{FieldErrors, PageError, render_with_status};

use super::console::{InvoiceRow, plan_state};
use crate::billing::balance::{self, Entry};
use crate::billing::orders::{self, ORDERABLE, OperatorPlan};
use crate::billing::refusal::BillingError;
use crate::billing::{invoices, subscriptions};
use crate::operators::console::{ConsoleLayout, ConsoleOperator};
use crate::state::AppState;
use crate::tenants::{self, Tenant};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/mandanten/{id}/abrechnung", get(account_page))
        .route("/mandanten/{id}/tarif", post(set_plan))
        .route("/mandanten/{id}/auszahlung", post(pay_out))
}

#[derive(Debug, Default, Deserialize)]
struct PlanForm {
    #[serde(default)]
    plan: String,
    #[serde(default)]
    whitelabel: String,
    #[serde(default)]
    reason: String,
}

#[derive(Debug, Default, Deserialize)]
struct PayoutForm {
    #[serde(default)]
    amount: String,
    #[serde(default)]
    paid_on: String,
    #[serde(default)]
    reference: String,
}

#[derive(askama::Template)]
#[template(path = "billing/templates/account.html")]
struct AccountPage {
    layout: ConsoleLayout,
    tenant: Tenant,
    customer_number: String,
    plan: String,
    plans: Vec<(&'static str, &'static str)>,
    plan_form: PlanForm,
    plan_errors: FieldErrors,
    balance: Cents,
    /// The day it was booked, the entry, its kind in words.
    entries: Vec<(String, Entry, &'static str)>,
    payout: PayoutForm,
    payout_errors: FieldErrors,
    open_invoices: Vec<InvoiceRow>,
    notice: Option<&'static str>,
}

#[derive(Deserialize)]
struct NoticeQuery {
    #[serde(default)]
    erledigt: String,
}

enum Shown {
    Notice(Option<&'static str>),
    Plan(PlanForm, FieldErrors),
    Payout(PayoutForm, FieldErrors),
}

async fn find_tenant(app: &AppState, id: &str) -> Result<Tenant, PageError> {
    tenants::find(&app.db, id).await?.ok_or(PageError::NotFound)
}

async fn show(app: &AppState, layout: ConsoleLayout, tenant: Tenant, shown: Shown) -> Result<Response, PageError> {
    let today = app.clock.berlin_today();
    let current = subscriptions::current(&app.db, &tenant.id).await?;
    let entries = balance::entries(&app.db, &tenant.id)
        .await?
        .into_iter()
        .rev()
        .map(|entry| {
            let label = entry.kind.label();
            (format_date(&entry.booked_on), entry, label)
        })
        .collect();
    let open_invoices = invoices::for_tenant(&app.db, &tenant.id)
        .await?
        .into_iter()
        .map(|invoice| InvoiceRow::new(invoice, today))
        .filter(|row| row.status.is_unpaid())
        .collect();
    let default_plan = || PlanForm {
        plan: current.as_ref().map(|s| s.plan).filter(|p| *p != Plan::Trial).unwrap_or(Plan::PayPerUse).as_str().into(),
        whitelabel: if current.as_ref().is_some_and(|s| s.whitelabel) { "ja".into() } else { String::new() },
        reason: String::new(),
    };
    let default_payout = || PayoutForm { paid_on: today.to_string(), ..PayoutForm::default() };
    let (mut notice, mut plan_form, mut plan_errors) = (None, default_plan(), FieldErrors::default());
    let (mut payout, mut payout_errors) = (default_payout(), FieldErrors::default());
    match shown {
        Shown::Notice(text) => notice = text,
        Shown::Plan(form, errors) => (plan_form, plan_errors) = (form, errors),
        Shown::Payout(form, errors) => (payout, payout_errors) = (form, errors),
    }
    let status = if plan_errors.is_empty() && payout_errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render_with_status(
        status,
        &AccountPage {
            layout,
            customer_number: tenant.customer_number_text().unwrap_or_else(|| "–".into()),
            plan: plan_state(&tenant, current.as_ref(), app.clock.timestamp()),
            plans: ORDERABLE.iter().map(|p| (p.as_str(), p.label())).collect(),
            plan_form,
            plan_errors,
            balance: balance::available(&app.db, &tenant.id).await?,
            entries,
            payout,
            payout_errors,
            open_invoices,
            notice,
            tenant,
        },
    )
}

async fn account_page(
    State(app): State<AppState>,
    ConsoleOperator(operator): ConsoleOperator,
    Extension(csrf): Extension<CsrfToken>,
    Path(id): Path<String>,
    Query(query): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    let tenant = find_tenant(&app, &id).await?;
    let notice = match query.erledigt.as_str() {
        "tarif" => Some("Der Tarif gilt ab heute; einmalige Gebühren wurden sofort in Rechnung gestellt."),
        "auszahlung" => Some("Die Auszahlung wurde erfasst."),
        _ => None,
    };
    show(&app, ConsoleLayout::new(&app, &csrf, Some(&operator)), tenant, Shown::Notice(notice)).await
}

async fn set_plan(
    State(app): State<AppState>,
    ConsoleOperator(operator): ConsoleOperator,
    Extension(csrf): Extension<CsrfToken>,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<PlanForm>,
) -> Result<Response, PageError> {
    let tenant = find_tenant(&app, &id).await?;
    let layout = ConsoleLayout::new(&app, &csrf, Some(&operator));
    let mut errors = FieldErrors::default();
    let plan = Plan::parse(&form.plan).filter(|p| ORDERABLE.contains(p));
    if plan.is_none() {
        errors.add("plan", "Bitte wählen Sie einen Tarif.");
    }
    let reason = values::required_text(&form.reason, 200).map_err(|message| errors.add("reason", message)).ok();
    let (Some(plan), Some(reason)) = (plan, reason) else {
        return show(&app, layout, tenant, Shown::Plan(form, errors)).await;
    };
    let wanted = OperatorPlan { plan, whitelabel: form.whitelabel == "ja", reason };
    match orders::set_by_operator(&app, &tenant, &wanted, &operator.email).await {
        Ok(_) => Ok(Redirect::to(&format!("/mandanten/{id}/abrechnung?erledigt=tarif")).into_response()),
        Err(BillingError::Refused(refusal)) => {
            errors.add("plan", refusal.to_string());
            show(&app, layout, tenant, Shown::Plan(form, errors)).await
        }
        Err(BillingError::Failed(err)) => Err(err.into()),
    }
}

async fn pay_out(
    State(app): State<AppState>,
    ConsoleOperator(operator): ConsoleOperator,
    Extension(csrf): Extension<CsrfToken>,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<PayoutForm>,
) -> Result<Response, PageError> {
    let tenant = find_tenant(&app, &id).await?;
    let layout = ConsoleLayout::new(&app, &csrf, Some(&operator));
    let mut errors = FieldErrors::default();
    let amount = Cents::parse(&form.amount).map_err(|message| errors.add("amount", message)).ok();
    let paid_on = values::parse_date(&form.paid_on).map_err(|message| errors.add("paid_on", message)).ok();
    let reference =
        values::required_text(&form.reference, 200).map_err(|message| errors.add("reference", message)).ok();
    let (Some(amount), Some(paid_on), Some(reference)) = (amount, paid_on, reference) else {
        return show(&app, layout, tenant, Shown::Payout(form, errors)).await;
    };
    match balance::pay_out(&app, &tenant.id, amount, &reference, paid_on, &operator.email).await {
        Ok(()) => Ok(Redirect::to(&format!("/mandanten/{id}/abrechnung?erledigt=auszahlung")).into_response()),
        Err(BillingError::Refused(refusal)) => {
            let field = if refusal.field() == "paid_on" { "paid_on" } else { "amount" };
            errors.add(field, refusal.to_string());
            show(&app, layout, tenant, Shown::Payout(form, errors)).await
        }
        Err(BillingError::Failed(err)) => Err(err.into()),
    }
}
