//! The console's money pages: invoices and credit notes with their documents,
//! recording payments, issuing credit notes, revenue figures; and the billing
//! part of a tenant's page.

use axum::Extension;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::NaiveDate;
use serde::Deserialize;
use tenant_app::calendar::format_date;
use tenant_app::security::csrf::{CsrfForm, CsrfToken};
use tenant_app::values::{self, Cents};
use tenant_app::web::{FieldErrors, PageError, render, render_with_status};

use crate::billing::invoices::{self, Filter, Invoice, Kind, Status};
use crate::billing::refusal::BillingError;
use crate::billing::reports::{self, Cohort, MonthRevenue, Mrr};
use crate::billing::settlement::{self, Payment};
use crate::billing::subscriptions;
use crate::charts::{self, Chart, Point};
use crate::operators::console::{ConsoleLayout, ConsoleOperator};
use crate::state::AppState;
use crate::usage;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/rechnungen", get(invoice_list))
        .route("/rechnungen/{id}", get(invoice_page))
        .route("/rechnungen/{id}/pdf", get(invoice_pdf))
        .route("/rechnungen/{id}/xrechnung", get(invoice_xrechnung))
        .route("/rechnungen/{id}/zahlung", post(record_payment))
        .route("/rechnungen/{id}/gutschrift", post(create_credit_note))
        .route("/umsatz", get(revenue_page))
}

/// How payments recorded in the console are identified: by the bank statement line.
const BANK: &str = "bank";

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
    gross: Cents,
    open: Cents,
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
const STATUS_CHOICES: [(&str, &str); 6] = [
    ("", "Alle"),
    ("open", "offen"),
    ("overdue", "überfällig"),
    ("paid", "bezahlt"),
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
    let rows = rows(invoices::list(&app.db, &filter, today).await?, today);
    let invoiced = || rows.iter().filter(|r| r.invoice.kind == Kind::Invoice && r.invoice.issued);
    let gross = invoiced().map(|r| r.invoice.gross).sum();
    let open = rows.iter().filter_map(InvoiceRow::open_amount).sum();
    render(&InvoiceListPage { layout: ConsoleLayout::new(&app, &csrf, Some(&operator)), filter, rows, gross, open })
}

/// The payment form as typed, kept when it has errors.
#[derive(Debug, Default, Deserialize)]
struct PaymentForm {
    #[serde(default)]
    amount: String,
    #[serde(default)]
    received_on: String,
    #[serde(default)]
    reference: String,
}

/// The credit note form as typed.
#[derive(Debug, Default, Deserialize)]
struct CreditForm {
    /// `all` for the whole invoice, `amount` for part of it.
    #[serde(default)]
    scope: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    reason: String,
}

#[derive(askama::Template)]
#[template(path = "billing/templates/invoice.html")]
struct InvoicePage {
    layout: ConsoleLayout,
    row: InvoiceRow,
    /// Description, quantity with unit, unit price, net.
    lines: Vec<(String, String, Cents, Cents)>,
    payments: Vec<(Payment, String)>,
    credit_notes: Vec<InvoiceRow>,
    corrected: Option<InvoiceRow>,
    /// Net that can still be credited.
    creditable: Cents,
    payment: PaymentForm,
    payment_errors: FieldErrors,
    credit: CreditForm,
    credit_errors: FieldErrors,
    notice: Option<&'static str>,
}

#[derive(Deserialize)]
struct NoticeQuery {
    #[serde(default)]
    erfasst: String,
}

/// What a form on the invoice page left to show.
enum Outcome {
    Shown(Option<&'static str>),
    Payment(PaymentForm, FieldErrors),
    Credit(CreditForm, FieldErrors),
}

async fn show_invoice(
    app: &AppState,
    layout: ConsoleLayout,
    invoice: Invoice,
    outcome: Outcome,
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
        .map(|payment| {
            let received = format_date(&payment.received_on);
            (payment, received)
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
    let (notice, payment, payment_errors, credit, credit_errors) = match outcome {
        Outcome::Shown(notice) => {
            (notice, default_payment(), FieldErrors::default(), default_credit(), FieldErrors::default())
        }
        Outcome::Payment(form, errors) => (None, form, errors, default_credit(), FieldErrors::default()),
        Outcome::Credit(form, errors) => (None, default_payment(), FieldErrors::default(), form, errors),
    };
    let status = if payment_errors.is_empty() && credit_errors.is_empty() {
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
            notice,
        },
    )
}

async fn find_invoice(app: &AppState, id: &str) -> Result<Invoice, PageError> {
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
        "gutschrift" => Some("Die Gutschrift wurde ausgestellt und an den Makler gesendet."),
        _ => None,
    };
    show_invoice(&app, ConsoleLayout::new(&app, &csrf, Some(&operator)), invoice, Outcome::Shown(notice)).await
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

/// A parsed payment, or the fields that were wrong.
fn parse_payment(form: &PaymentForm, today: NaiveDate) -> Result<(Cents, NaiveDate, String), FieldErrors> {
    let mut errors = FieldErrors::default();
    let amount = match Cents::parse(&form.amount) {
        Ok(Cents(0)) => {
            errors.add("amount", "Bitte einen Betrag über 0,00 € angeben.");
            None
        }
        Ok(amount) => Some(amount),
        Err(message) => {
            errors.add("amount", message);
            None
        }
    };
    let received_on = match values::parse_date(&form.received_on) {
        Ok(day) if day > today => {
            errors.add("received_on", "Der Zahlungseingang kann nicht in der Zukunft liegen.");
            None
        }
        Ok(day) => Some(day),
        Err(message) => {
            errors.add("received_on", message);
            None
        }
    };
    let reference =
        values::required_text(&form.reference, 200).map_err(|message| errors.add("reference", message)).ok();
    match (amount, received_on, reference) {
        (Some(amount), Some(day), Some(reference)) if errors.is_empty() => Ok((amount, day, reference)),
        _ => Err(errors),
    }
}

async fn record_payment(
    State(app): State<AppState>,
    ConsoleOperator(operator): ConsoleOperator,
    Extension(csrf): Extension<CsrfToken>,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<PaymentForm>,
) -> Result<Response, PageError> {
    let invoice = find_invoice(&app, &id).await?;
    let layout = ConsoleLayout::new(&app, &csrf, Some(&operator));
    let today = app.clock.berlin_today();
    let parsed = parse_payment(&form, today);
    let (amount, received_on, reference) = match parsed {
        Ok(parsed) => parsed,
        Err(errors) => return show_invoice(&app, layout, invoice, Outcome::Payment(form, errors)).await,
    };
    let mut errors = FieldErrors::default();
    if !invoice.status(today).is_unpaid() {
        errors.add("amount", "Für diese Rechnung ist keine Zahlung offen.");
    } else if settlement::payment_exists(&app.db, BANK, &reference).await? {
        errors.add("reference", "Eine Zahlung mit dieser Referenz ist bereits erfasst.");
    }
    if !errors.is_empty() {
        return show_invoice(&app, layout, invoice, Outcome::Payment(form, errors)).await;
    }
    // Audited by `record_payment` itself, with who, what and when.
    settlement::record_payment(&app, &id, amount, BANK, &reference, received_on, &operator.email).await?;
    Ok(Redirect::to(&format!("/rechnungen/{id}?erfasst=zahlung")).into_response())
}

async fn create_credit_note(
    State(app): State<AppState>,
    ConsoleOperator(operator): ConsoleOperator,
    Extension(csrf): Extension<CsrfToken>,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<CreditForm>,
) -> Result<Response, PageError> {
    let invoice = find_invoice(&app, &id).await?;
    let layout = ConsoleLayout::new(&app, &csrf, Some(&operator));
    let mut errors = FieldErrors::default();
    let amount = match form.scope.as_str() {
        "amount" => Cents::parse(&form.amount).map(Some).map_err(|message| errors.add("amount", message)).ok(),
        _ => Some(None),
    };
    let reason = values::required_text(&form.reason, 200).map_err(|message| errors.add("reason", message)).ok();
    let (Some(amount), Some(reason)) = (amount, reason) else {
        return show_invoice(&app, layout, invoice, Outcome::Credit(form, errors)).await;
    };
    // Audited by `credit` itself.
    match settlement::credit(&app, &id, amount, &reason, &operator.email).await {
        Ok(credit_note) => Ok(Redirect::to(&format!("/rechnungen/{credit_note}?erfasst=gutschrift")).into_response()),
        Err(BillingError::Refused(refusal)) => {
            errors.add("amount", refusal.to_string());
            show_invoice(&app, layout, invoice, Outcome::Credit(form, errors)).await
        }
        Err(BillingError::Failed(err)) => Err(err.into()),
    }
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

pub struct TenantBilling {
    /// The running plan, e.g. "Pay-per-Use mit Whitelabel seit 20.10.2026".
    pub plan: Option<String>,
    pub usage_chart: String,
    /// Day and contacts, oldest first.
    pub usage: Vec<(String, i64)>,
    pub invoices: Vec<InvoiceRow>,
}

pub async fn tenant_billing(app: &AppState, tenant_id: &str) -> Result<TenantBilling, PageError> {
    let today = app.clock.berlin_today();
    let plan = subscriptions::current(&app.db, tenant_id).await?.map(|s| {
        let whitelabel = if s.whitelabel { " mit Whitelabel" } else { "" };
        format!("{}{whitelabel} seit {}", s.plan.label(), format_date(&s.starts_on))
    });
    let from = today - chrono::Days::new(USAGE_DAYS - 1);
    let snapshots = usage::history(&app.db, tenant_id, from, today).await?;
    let usage_chart = usage::contacts_chart(&snapshots, "kontakte-chart", "Kontakte je Tag, letzte 90 Tage");
    let usage = snapshots.iter().map(|s| (format_date(&s.day), s.contacts)).collect();
    let invoices = rows(invoices::for_tenant(&app.db, tenant_id).await?, today);
    Ok(TenantBilling { plan, usage_chart, usage, invoices })
}
