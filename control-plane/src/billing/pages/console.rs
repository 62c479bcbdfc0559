//! The console's money pages: invoices and credit notes with their documents,
//! recording payments, issuing credit notes, revenue figures; and the billing
//! part of a tenant's page.

use std::collections::HashMap;

use axum::Extension;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::NaiveDate;
use serde::Deserialize;
use tenant_app::calendar::{format_date, last_day_before};
use tenant_app::plans::Plan;
use tenant_app::security::csrf::CsrfToken;
use tenant_app::values::Cents;
use tenant_app::web::{FieldErrors, PageError, render, render_with_status};

use crate::billing::balance;
use crate::billing::invoices::{self, Filter, Invoice, Kind, SearchTotals, Status};
use crate::billing::reports::{self, Cohort, MonthRevenue, Mrr};
use crate::billing::settlement::{self, Payment};
use crate::billing::subscriptions::{self, Subscription};
use crate::charts::{self, Chart, Point};
use crate::operators::console::{ConsoleLayout, ConsoleOperator};
use crate::state::AppState;
use crate::tenants::{Tenant, TenantStatus};
use crate::usage;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/rechnungen", get(invoice_list))
        .route("/rechnungen/{id}", get(invoice_page))
        .route("/rechnungen/{id}/pdf", get(invoice_pdf))
        .route("/rechnungen/{id}/xrechnung", get(invoice_xrechnung))
        .route("/umsatz", get(revenue_page))
        .merge(super::settle::routes())
        .merge(super::tenant::routes())
        .merge(super::exports::routes())
}

/// Invoices per page of the list.
const PAGE_SIZE: i64 = 100;

/// Months shown on the revenue page, and days of usage on a tenant's page.
const REVENUE_MONTHS: u32 = 12;
const USAGE_DAYS: u64 = 90;

/// An invoice as a row of a list or the head of its page.
pub struct InvoiceRow {
    pub invoice: Invoice,
    pub status: Status,
    pub issued_on: String,
    pub due_on: String,
    pub period: String,
}

impl InvoiceRow {
    pub fn new(invoice: Invoice, today: NaiveDate) -> InvoiceRow {
        InvoiceRow {
            status: invoice.status(today),
            issued_on: invoice.issue_date.as_ref().map(format_date).unwrap_or_else(|| "–".into()),
            due_on: invoice
                .due_date
                .filter(|_| invoice.kind == Kind::Invoice)
                .as_ref()
                .map(format_date)
                .unwrap_or_else(|| "–".into()),
            period: format!("{} – {}", format_date(&invoice.period_start), format_date(&invoice.period_end)),
            invoice,
        }
    }

    pub fn number(&self) -> &str {
        self.invoice.number.as_deref().unwrap_or("Entwurf")
    }

    /// What is still to be paid; nothing for credit notes and drafts.
    pub fn open_amount(&self) -> Option<Cents> {
        self.status.is_unpaid().then(|| self.invoice.open_amount())
    }
}

fn rows(invoices: Vec<Invoice>, today: NaiveDate) -> Vec<InvoiceRow> {
    invoices.into_iter().map(|invoice| InvoiceRow::new(invoice, today)).collect()
}

#[derive(askama::Template)]
#[template(path = "billing/templates/invoices.html")]
struct InvoiceListPage {
    layout: ConsoleLayout,
    filter: Filter,
    rows: Vec<InvoiceRow>,
    totals: SearchTotals,
    /// The query string of the next page, if there is one.
    next: Option<String>,
    /// The month the DATEV export offers first: the one before this one.
    export_month: String,
}

impl InvoiceListPage {
    fn choices(&self) -> &'static [(&'static str, &'static str)] {
        &STATUS_CHOICES
    }

    fn selected(&self, value: &str) -> bool {
        self.filter.status == value
    }
}

/// The status filter's choices: value and label.
const STATUS_CHOICES: [(&str, &str); 7] = [
    ("", "Alle"),
    ("open", "offen"),
    ("overdue", "überfällig"),
    ("paid", "bezahlt"),
    ("cancelled", "storniert"),
    ("draft", "Entwurf"),
    ("credit_note", "Gutschrift"),
];

async fn invoice_list(
    State(app): State<AppState>,
    ConsoleOperator(operator): ConsoleOperator,
    Extension(csrf): Extension<CsrfToken>,
    Query(filter): Query<Filter>,
) -> Result<Response, PageError> {
    let today = app.clock.berlin_today();
    let search = filter.search(PAGE_SIZE);
    let (found, more) = invoices::search(&app.db, &search, today).await?;
    let totals = invoices::totals(&app.db, &search, today).await?;
    let next = match (more, found.last()) {
        (true, Some(last)) => Some(
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("status", &filter.status)
                .append_pair("month", &filter.month)
                .append_pair("q", &filter.q)
                .append_pair("nach", &last.id)
                .finish(),
        ),
        _ => None,
    };
    let export_month = crate::billing::prices::month_of(crate::billing::run::previous_month(today).start);
    render(&InvoiceListPage {
        layout: ConsoleLayout::new(&app, &csrf, Some(&operator)),
        filter,
        rows: rows(found, today),
        totals,
        next,
        export_month,
    })
}

/// The payment form as typed, kept when it has errors.
#[derive(Debug, Default, Deserialize)]
pub(super) struct PaymentForm {
    #[serde(default)]
    pub amount: String,
    #[serde(default)]
    pub received_on: String,
    #[serde(default)]
    pub reference: String,
    /// `ja` when the operator confirms an overpayment.
    #[serde(default)]
    pub overpayment: String,
}

/// The credit note form as typed.
#[derive(Debug, Default, Deserialize)]
pub(super) struct CreditForm {
    /// `all` for the whole invoice, `amount` for part of it.
    #[serde(default)]
    pub scope: String,
    #[serde(default)]
    pub amount: String,
    #[serde(default)]
    pub reason: String,
}

/// A payment as its row on the invoice page.
pub struct PaymentRow {
    pub payment: Payment,
    pub received: String,
    /// When and why it was reversed.
    pub reversed: Option<String>,
}

#[derive(askama::Template)]
#[template(path = "billing/templates/invoice.html")]
struct InvoicePage {
    layout: ConsoleLayout,
    row: InvoiceRow,
    /// Description, quantity with unit, unit price, net.
    lines: Vec<(String, String, Cents, Cents)>,
    payments: Vec<PaymentRow>,
    credit_notes: Vec<InvoiceRow>,
    corrected: Option<InvoiceRow>,
    /// Net that can still be credited.
    creditable: Cents,
    payment: PaymentForm,
    payment_errors: FieldErrors,
    credit: CreditForm,
    credit_errors: FieldErrors,
    /// A reversal that was refused: the payment and why.
    reversal_error: Option<(String, String)>,
    notice: Option<&'static str>,
}

#[derive(Deserialize)]
struct NoticeQuery {
    #[serde(default)]
    erfasst: String,
}

/// What a form on the invoice page left to show.
pub(super) enum Shown {
    Notice(Option<&'static str>),
    Payment(PaymentForm, FieldErrors),
    Credit(CreditForm, FieldErrors),
    Reversal(String, String),
}

pub(super) async fn show_invoice(
    app: &AppState,
    layout: ConsoleLayout,
    invoice: Invoice,
    shown: Shown,
) -> Result<Response, PageError> {
    let today = app.clock.berlin_today();
    let lines = invoices::lines(&app.db, &invoice.id)
        .await?
        .into_iter()
        .map(|line| {
            let net = line.net();
            (line.description, format!("{} {}", line.quantity, line.unit.label(line.quantity)), line.unit_price, net)
        })
        .collect();
    let payments = settlement::payments(&app.db, &invoice.id)
        .await?
        .into_iter()
        .map(|payment| PaymentRow {
            received: format_date(&payment.received_on),
            reversed: payment
                .reversal
                .as_ref()
                .map(|r| format!("storniert am {} von {}: {}", format_date(&r.reversed_on), r.reversed_by, r.reason)),
            payment,
        })
        .collect();
    let credit_notes = rows(invoices::credit_notes(&app.db, &invoice.id).await?, today);
    let credited: Cents = credit_notes.iter().filter(|c| c.invoice.issued).map(|c| c.invoice.net).sum();
    let corrected = match &invoice.corrects {
        Some(id) => invoices::find(&app.db, id).await?.map(|original| InvoiceRow::new(original, today)),
        None => None,
    };
    let default_payment = || PaymentForm { received_on: today.to_string(), ..PaymentForm::default() };
    let default_credit = || CreditForm { scope: "all".into(), ..CreditForm::default() };
    let (mut notice, mut payment, mut payment_errors) = (None, default_payment(), FieldErrors::default());
    let (mut credit, mut credit_errors, mut reversal_error) = (default_credit(), FieldErrors::default(), None);
    match shown {
        Shown::Notice(text) => notice = text,
        Shown::Payment(form, errors) => (payment, payment_errors) = (form, errors),
        Shown::Credit(form, errors) => (credit, credit_errors) = (form, errors),
        Shown::Reversal(payment_id, message) => reversal_error = Some((payment_id, message)),
    }
    let status = if payment_errors.is_empty() && credit_errors.is_empty() && reversal_error.is_none() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let creditable = invoice.net - credited;
    render_with_status(
        status,
        &InvoicePage {
            layout,
            row: InvoiceRow::new(invoice, today),
            lines,
            payments,
            credit_notes,
            corrected,
            creditable,
            payment,
            payment_errors,
            credit,
            credit_errors,
            reversal_error,
            notice,
        },
    )
}

pub(super) async fn find_invoice(app: &AppState, id: &str) -> Result<Invoice, PageError> {
    invoices::find(&app.db, id).await?.ok_or(PageError::NotFound)
}

async fn invoice_page(
    State(app): State<AppState>,
    ConsoleOperator(operator): ConsoleOperator,
    Extension(csrf): Extension<CsrfToken>,
    Path(id): Path<String>,
    Query(query): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    let invoice = find_invoice(&app, &id).await?;
    let notice = match query.erfasst.as_str() {
        "zahlung" => Some("Die Zahlung wurde erfasst."),
        "ueberzahlung" => Some("Die Zahlung wurde erfasst; der Überschuss steht dem Makler als Guthaben zu."),
        "storno" => Some("Die Zahlung wurde storniert; die Rechnung ist wieder offen."),
        "gutschrift" => Some("Die Gutschrift wurde ausgestellt und an den Makler gesendet."),
        _ => None,
    };
    show_invoice(&app, ConsoleLayout::new(&app, &csrf, Some(&operator)), invoice, Shown::Notice(notice)).await
}

/// A document as a download named after the invoice.
async fn download(app: &AppState, id: &str, xrechnung: bool) -> Result<Response, PageError> {
    let invoice = find_invoice(app, id).await?;
    if !invoice.issued {
        // A draft has no number yet, so no document either.
        return Err(PageError::NotFound);
    }
    let stem = invoice.file_stem();
    let (content, content_type, filename) = if xrechnung {
        (invoices::xrechnung(app, &invoice).await?, "application/xml", format!("{stem}-XRechnung.xml"))
    } else {
        (invoices::pdf(app, &invoice).await?, "application/pdf", format!("{stem}.pdf"))
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
        ],
        content,
    )
        .into_response())
}

async fn invoice_pdf(
    State(app): State<AppState>,
    ConsoleOperator(_): ConsoleOperator,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    download(&app, &id, false).await
}

async fn invoice_xrechnung(
    State(app): State<AppState>,
    ConsoleOperator(_): ConsoleOperator,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    download(&app, &id, true).await
}

#[derive(askama::Template)]
#[template(path = "billing/templates/revenue.html")]
struct RevenuePage {
    layout: ConsoleLayout,
    as_of: String,
    mrr: Mrr,
    months: Vec<(String, MonthRevenue)>,
    year_total: Cents,
    chart: String,
    funnel: Vec<(String, Cohort)>,
}

async fn revenue_page(
    State(app): State<AppState>,
    ConsoleOperator(operator): ConsoleOperator,
    Extension(csrf): Extension<CsrfToken>,
) -> Result<Response, PageError> {
    let today = app.clock.berlin_today();
    let mrr = reports::mrr(&app.db, today).await?;
    let revenue = reports::revenue_by_month(&app.db, today, REVENUE_MONTHS).await?;
    let points: Vec<Point> =
        revenue.iter().map(|m| Point { label: m.month.format("%m/%y").to_string(), value: m.net().0 }).collect();
    let chart = charts::bar_chart(
        &Chart {
            id: "umsatz-chart",
            title: "Umsatz (netto) je Monat, letzte 12 Monate",
            format: &|cents| Cents(cents).to_string(),
        },
        &points,
    );
    let year_total = revenue.iter().map(MonthRevenue::net).sum();
    let months = revenue.into_iter().map(|m| (reports::month_label(m.month), m)).collect();
    let funnel = reports::funnel(&app.db, today, REVENUE_MONTHS)
        .await?
        .into_iter()
        .map(|cohort| (reports::month_label(cohort.month), cohort))
        .collect();
    render(&RevenuePage {
        layout: ConsoleLayout::new(&app, &csrf, Some(&operator)),
        as_of: format_date(&today),
        mrr,
        months,
        year_total,
        chart,
        funnel,
    })
}

/// Where a tenant stands with its plan, in words: "PREMIUM mit Whitelabel
/// seit 05.11.2026", "Testphase bis 30.10.2026", "Testphase beendet am …".
pub fn plan_state(tenant: &Tenant, current: Option<&Subscription>, now: i64) -> String {
    if tenant.status == TenantStatus::Deleted {
        return "gelöscht".into();
    }
    match (current.filter(|s| s.plan != Plan::Trial), tenant.trial_ends_at) {
        (Some(s), _) => {
            let whitelabel = if s.whitelabel { " mit Whitelabel" } else { "" };
            format!("{}{whitelabel} seit {}", s.plan.label(), format_date(&s.starts_on))
        }
        (None, Some(end)) if tenant.plan == "trial" && end > now => format!("Testphase bis {}", last_day_before(end)),
        (None, Some(end)) if tenant.plan == "trial" => format!("Testphase beendet am {}", last_day_before(end)),
        (None, _) => tenant.plan_label().to_owned(),
    }
}

/// The plan state of every tenant, by id.
pub async fn plan_states(app: &AppState, tenants: &[Tenant]) -> Result<HashMap<String, String>, PageError> {
    let current = subscriptions::all_current(&app.db).await?;
    let now = app.clock.timestamp();
    Ok(tenants.iter().map(|t| (t.id.clone(), plan_state(t, current.get(&t.id), now))).collect())
}

pub struct TenantBilling {
    /// Where the tenant stands with its plan (`plan_state`).
    pub plan: String,
    pub customer_number: String,
    /// What the operator owes the tenant.
    pub balance: Cents,
    pub usage_chart: String,
    /// Day and contacts, oldest first.
    pub usage: Vec<(String, i64)>,
    pub invoices: Vec<InvoiceRow>,
}

pub async fn tenant_billing(app: &AppState, tenant: &Tenant) -> Result<TenantBilling, PageError> {
    let today = app.clock.berlin_today();
    let current = subscriptions::current(&app.db, &tenant.id).await?;
    let plan = plan_state(tenant, current.as_ref(), app.clock.timestamp());
    let from = today - chrono::Days::new(USAGE_DAYS - 1);
    let snapshots = usage::history(&app.db, &tenant.id, from, today).await?;
    let usage_chart = usage::contacts_chart(&snapshots, "kontakte-chart", "Kontakte je Tag, letzte 90 Tage");
    let usage = snapshots.iter().map(|s| (format_date(&s.day), s.contacts)).collect();
    let invoices = rows(invoices::for_tenant(&app.db, &tenant.id).await?, today);
    Ok(TenantBilling {
        plan,
        customer_number: tenant.customer_number_text().unwrap_or_else(|| "–".into()),
        balance: balance::available(&app.db, &tenant.id).await?,
        usage_chart,
        usage,
        invoices,
    })
}
