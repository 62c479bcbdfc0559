//! The operator's money API on the admin host (bearer token): invoices and
//! credit notes with their files, payments and their reversal, credit notes,
//! putting a tenant on a plan, and the DATEV export. Every refusal is a
//! problem body naming its field; the OpenAPI document (`openapi.json`)
//! describes each operation with the same constraints the handlers apply.

use axum::Json;
use axum::Router;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use tenant_app::plans::Plan;
use tenant_app::web::{FieldErrors, Problem};

use super::api::{ApiError, ApiJson, ApiOperator};
use crate::billing::invoices::{self, Invoice, Kind, Search, Status, Wanted};
use crate::billing::orders::{self, ORDERABLE, OperatorPlan};
use crate::billing::refusal::{BillingError, Refusal};
use crate::billing::settlement::{self, NewPayment, Payment};
use crate::billing::{datev, subscriptions};
use crate::state::AppState;
use crate::tenants;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/invoices", get(list_invoices))
        .route("/api/v1/invoices/{id}", get(get_invoice))
        .route("/api/v1/invoices/{id}/pdf", get(invoice_pdf))
        .route("/api/v1/invoices/{id}/xrechnung", get(invoice_xrechnung))
        .route("/api/v1/invoices/{id}/payments", post(record_payment))
        .route("/api/v1/invoices/{id}/credit-notes", post(credit_note))
        .route("/api/v1/payments/{id}/reversal", post(reverse_payment))
        .route("/api/v1/tenants/{id}/plan", post(set_plan))
        .route("/api/v1/exports/datev", get(datev_export))
}

/// Invoices per page when the request names no `limit`, and the most it may.
const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 500;
/// Longest reference or reason.
const MAX_TEXT: usize = 200;

fn not_found(what: &str) -> ApiError {
    ApiError::Problem(Problem::new(StatusCode::NOT_FOUND, format!("No such {what}")))
}

fn invalid(field: &'static str, message: impl Into<String>) -> ApiError {
    let mut errors = FieldErrors::default();
    errors.add(field, message);
    ApiError::Problem(Problem::validation(errors))
}

/// A refusal as its problem: 409 when it conflicts with what is recorded,
/// 422 otherwise; the German message in `detail` and at its field.
fn refused(refusal: Refusal) -> ApiError {
    let field = match refusal.field() {
        "" => "request",
        field => field,
    };
    let status = if refusal.is_conflict() { StatusCode::CONFLICT } else { StatusCode::UNPROCESSABLE_ENTITY };
    let mut errors = FieldErrors::default();
    errors.add(field, refusal.to_string());
    let title = if refusal.is_conflict() { "Conflicts with what is recorded" } else { "Refused" };
    let mut problem = Problem::new(status, title).detail(refusal.to_string());
    problem.errors = Some(errors);
    ApiError::Problem(problem)
}

impl From<BillingError> for ApiError {
    fn from(err: BillingError) -> Self {
        match err {
            BillingError::Refused(refusal) => refused(refusal),
            BillingError::Failed(err) => ApiError::Internal(err),
        }
    }
}

/// Query parameters whose rejection is a problem body too.
pub struct ApiQuery<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => Err(ApiError::Problem(
                Problem::new(StatusCode::BAD_REQUEST, "Unreadable query").detail(rejection.body_text()),
            )),
        }
    }
}

/// An id of ours: 32 lowercase hex digits. Anything else names nothing.
fn is_id(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn date(field: &'static str, text: &str) -> Result<NaiveDate, ApiError> {
    // Exactly YYYY-MM-DD (the OpenAPI `date` format).
    let ok = text.len() == 10 && text.as_bytes()[4] == b'-' && text.as_bytes()[7] == b'-';
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .filter(|_| ok)
        .ok_or_else(|| invalid(field, "Bitte ein Datum im Format JJJJ-MM-TT angeben."))
}

/// Free text a script sends: not blank, no control characters, at most 200 characters.
fn plain_text(field: &'static str, text: &str) -> Result<String, ApiError> {
    if text.chars().any(char::is_control) {
        return Err(invalid(field, "Die Eingabe enthält unzulässige Zeichen."));
    }
    if text.chars().count() > MAX_TEXT {
        return Err(invalid(field, "Die Eingabe ist zu lang."));
    }
    match text.trim() {
        "" => Err(invalid(field, "Bitte füllen Sie dieses Feld aus.")),
        trimmed => Ok(trimmed.to_owned()),
    }
}

/// The API's status of an issued document; a credit note is `paid`: nothing is due on it.
fn api_status(status: Status) -> &'static str {
    match status {
        Status::Open => "open",
        Status::Overdue => "overdue",
        Status::Cancelled => "cancelled",
        Status::Paid | Status::CreditNote | Status::Draft => "paid",
    }
}

#[derive(Serialize)]
struct InvoiceItem {
    id: String,
    number: String,
    tenant_id: String,
    customer_number: String,
    kind: &'static str,
    issued_on: String,
    period_start: String,
    period_end: String,
    net_cents: i64,
    vat_cents: i64,
    gross_cents: i64,
    paid_cents: i64,
    prepaid_cents: i64,
    credited_cents: i64,
    open_cents: i64,
    due_on: Option<String>,
    status: &'static str,
    corrects: Option<String>,
}

fn item(invoice: &Invoice, today: NaiveDate) -> InvoiceItem {
    let status = invoice.status(today);
    InvoiceItem {
        id: invoice.id.clone(),
        number: invoice.number.clone().unwrap_or_default(),
        tenant_id: invoice.tenant_id.clone(),
        customer_number: invoice.buyer.customer_number.clone(),
        kind: invoice.kind.as_str(),
        issued_on: invoice.issue_date.map(|d| d.to_string()).unwrap_or_default(),
        period_start: invoice.period_start.to_string(),
        period_end: invoice.period_end.to_string(),
        net_cents: invoice.net.0,
        vat_cents: invoice.vat.0,
        gross_cents: invoice.gross.0,
        paid_cents: invoice.paid.0,
        prepaid_cents: invoice.prepaid.0,
        credited_cents: invoice.credited.0,
        open_cents: if status.is_unpaid() { invoice.open_amount().0 } else { 0 },
        due_on: invoice.due_date.filter(|_| invoice.kind == Kind::Invoice).map(|d| d.to_string()),
        status: api_status(status),
        corrects: invoice.corrects.clone(),
    }
}

#[derive(Deserialize)]
struct ListQuery {
    tenant_id: Option<String>,
    status: Option<String>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

#[derive(Serialize)]
struct InvoicePage {
    items: Vec<InvoiceItem>,
    /// The cursor of the next page; null on the last.
    next: Option<String>,
}

async fn list_invoices(
    State(app): State<AppState>,
    _operator: ApiOperator,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<InvoicePage>, ApiError> {
    let status = match query.status.as_deref() {
        None => None,
        Some("open") => Some(Wanted::Exactly(Status::Open)),
        Some("overdue") => Some(Wanted::Exactly(Status::Overdue)),
        // Credit notes too: nothing is due on them.
        Some("paid") => Some(Wanted::PaidOrCreditNote),
        Some("cancelled") => Some(Wanted::Exactly(Status::Cancelled)),
        Some(_) => return Err(invalid("status", "open, paid, overdue oder cancelled")),
    };
    let limit = match query.limit.as_deref() {
        None => DEFAULT_LIMIT,
        Some(text) => match text.parse::<i64>() {
            Ok(limit) if (1..=MAX_LIMIT).contains(&limit) && !text.starts_with('+') => limit,
            _ => return Err(invalid("limit", "Eine ganze Zahl von 1 bis 500.")),
        },
    };
    for (field, value) in [("tenant_id", &query.tenant_id), ("cursor", &query.cursor)] {
        if value.as_deref().is_some_and(|id| !is_id(id)) {
            return Err(invalid(field, "Eine Kennung aus 32 Hexadezimalziffern."));
        }
    }
    let from = query.from.as_deref().map(|text| date("from", text)).transpose()?;
    let to = query.to.as_deref().map(|text| date("to", text)).transpose()?;
    let today = app.clock.berlin_today();
    let search = Search {
        tenant_id: query.tenant_id,
        status,
        issued_only: true,
        issued_from: from,
        issued_to: to,
        before: query.cursor,
        limit,
        ..Search::default()
    };
    let (found, more) = invoices::search(&app.db, &search, today).await?;
    let next = if more { found.last().map(|last| last.id.clone()) } else { None };
    Ok(Json(InvoicePage { items: found.iter().map(|invoice| item(invoice, today)).collect(), next }))
}

/// An issued invoice or credit note; drafts are not shown.
async fn issued(app: &AppState, id: &str) -> Result<Invoice, ApiError> {
    if !is_id(id) {
        return Err(not_found("invoice"));
    }
    invoices::find(&app.db, id).await?.filter(|invoice| invoice.issued).ok_or_else(|| not_found("invoice"))
}

#[derive(Serialize)]
struct LineView {
    kind: &'static str,
    description: String,
    quantity: i64,
    unit: &'static str,
    unit_price_cents: i64,
    net_cents: i64,
}

#[derive(Serialize)]
struct ReversalView {
    reason: String,
    reversed_on: String,
    reversed_by: String,
}

#[derive(Serialize)]
struct PaymentView {
    id: String,
    invoice_id: String,
    amount_cents: i64,
    excess_cents: i64,
    method: String,
    reference: String,
    paid_on: String,
    recorded_by: String,
    reversal: Option<ReversalView>,
}

fn payment_view(payment: Payment) -> PaymentView {
    PaymentView {
        id: payment.id,
        invoice_id: payment.invoice_id,
        amount_cents: payment.amount.0,
        excess_cents: payment.excess.0,
        method: payment.method,
        reference: payment.reference,
        paid_on: payment.received_on.to_string(),
        recorded_by: payment.recorded_by,
        reversal: payment.reversal.map(|r| ReversalView {
            reason: r.reason,
            reversed_on: r.reversed_on.to_string(),
            reversed_by: r.reversed_by,
        }),
    }
}

#[derive(Serialize)]
struct InvoiceDetail {
    #[serde(flatten)]
    item: InvoiceItem,
    lines: Vec<LineView>,
    payments: Vec<PaymentView>,
    /// The credit notes that correct this invoice (ids), oldest first.
    credit_notes: Vec<String>,
}

async fn detail(app: &AppState, invoice: Invoice) -> Result<InvoiceDetail, ApiError> {
    let today = app.clock.berlin_today();
    let lines = invoices::lines(&app.db, &invoice.id)
        .await?
        .into_iter()
        .map(|line| LineView {
            kind: line.kind.as_str(),
            net_cents: line.net().0,
            description: line.description,
            quantity: line.quantity,
            unit: line.unit.code(),
            unit_price_cents: line.unit_price.0,
        })
        .collect();
    let payments = settlement::payments(&app.db, &invoice.id).await?.into_iter().map(payment_view).collect();
    let credit_notes = invoices::credit_notes(&app.db, &invoice.id).await?.into_iter().map(|c| c.id).collect();
    Ok(InvoiceDetail { item: item(&invoice, today), lines, payments, credit_notes })
}

async fn get_invoice(
    State(app): State<AppState>,
    _operator: ApiOperator,
    Path(id): Path<String>,
) -> Result<Json<InvoiceDetail>, ApiError> {
    let invoice = issued(&app, &id).await?;
    Ok(Json(detail(&app, invoice).await?))
}

fn file(content: Vec<u8>, content_type: &'static str, filename: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
        ],
        content,
    )
        .into_response()
}

async fn invoice_pdf(
    State(app): State<AppState>,
    _operator: ApiOperator,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let invoice = issued(&app, &id).await?;
    Ok(file(invoices::pdf(&app, &invoice).await?, "application/pdf", format!("{}.pdf", invoice.file_stem())))
}

async fn invoice_xrechnung(
    State(app): State<AppState>,
    _operator: ApiOperator,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let invoice = issued(&app, &id).await?;
    let xml = invoices::xrechnung(&app, &invoice).await?;
    Ok(file(xml, "application/xml", format!("{}-XRechnung.xml", invoice.file_stem())))
}

/// An optional field that, when sent, must have a value: `null` is refused
/// like any other wrong type (the document allows none), absent is `None`.
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<Option<T>, D::Error> {
    T::deserialize(deserializer).map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PaymentRequest {
    #[serde(default, deserialize_with = "present")]
    amount: Option<String>,
    #[serde(default, deserialize_with = "present")]
    amount_cents: Option<i64>,
    #[serde(default, deserialize_with = "present")]
    reference: Option<String>,
    #[serde(default, deserialize_with = "present")]
    paid_on: Option<String>,
    #[serde(default)]
    overpayment: bool,
}

#[derive(Serialize)]
struct PaymentRecorded {
    #[serde(flatten)]
    payment: PaymentView,
    invoice_status: &'static str,
    open_cents: i64,
}

async fn record_payment(
    State(app): State<AppState>,
    ApiOperator(operator): ApiOperator,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<PaymentRequest>,
) -> Result<Response, ApiError> {
    let invoice = issued(&app, &id).await?;
    let amount = settlement::amount_of(request.amount.as_deref(), request.amount_cents).map_err(refused)?;
    let reference = match request.reference.as_deref() {
        Some(text) => plain_text("reference", text)?,
        // Without one a repeated request records the payment again: scripts should send the statement line.
        None => format!("API {}", tenant_app::db::new_id()),
    };
    let received_on = match request.paid_on.as_deref() {
        Some(text) => date("paid_on", text)?,
        None => app.clock.berlin_today(),
    };
    let payment = NewPayment {
        amount,
        method: settlement::BANK,
        reference: &reference,
        received_on,
        overpayment: request.overpayment,
        actor: &operator.email,
    };
    let recorded = settlement::record_payment(&app, &invoice.id, &payment).await?;
    let payment = settlement::find_payment(&app.db, &recorded.payment_id).await?.ok_or_else(|| not_found("payment"))?;
    let now = invoices::find(&app.db, &invoice.id).await?.ok_or_else(|| not_found("invoice"))?;
    let status = now.status(app.clock.berlin_today());
    let body = PaymentRecorded {
        payment: payment_view(payment),
        invoice_status: api_status(status),
        open_cents: if status.is_unpaid() { now.open_amount().0 } else { 0 },
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReversalRequest {
    reason: String,
}

#[derive(Serialize)]
struct ReversalCreated {
    id: String,
    payment_id: String,
    invoice_id: String,
    reason: String,
    reversed_on: String,
    invoice_status: &'static str,
    open_cents: i64,
}

async fn reverse_payment(
    State(app): State<AppState>,
    ApiOperator(operator): ApiOperator,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<ReversalRequest>,
) -> Result<Response, ApiError> {
    if !is_id(&id) {
        return Err(not_found("payment"));
    }
    let payment = settlement::find_payment(&app.db, &id).await?.ok_or_else(|| not_found("payment"))?;
    let reason = plain_text("reason", &request.reason)?;
    let reversal = settlement::reverse_payment(&app, &payment.id, &reason, &operator.email).await?;
    let invoice = invoices::find(&app.db, &payment.invoice_id).await?.ok_or_else(|| not_found("invoice"))?;
    let today = app.clock.berlin_today();
    let status = invoice.status(today);
    let body = ReversalCreated {
        id: reversal,
        payment_id: payment.id,
        invoice_id: invoice.id.clone(),
        reason,
        reversed_on: today.to_string(),
        invoice_status: api_status(status),
        open_cents: if status.is_unpaid() { invoice.open_amount().0 } else { 0 },
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreditRequest {
    /// Net; absent: the whole invoice.
    #[serde(default, deserialize_with = "present")]
    amount_cents: Option<i64>,
    reason: String,
}

async fn credit_note(
    State(app): State<AppState>,
    ApiOperator(operator): ApiOperator,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<CreditRequest>,
) -> Result<Response, ApiError> {
    let invoice = issued(&app, &id).await?;
    let reason = plain_text("reason", &request.reason)?;
    let amount = match request.amount_cents {
        Some(cents) if !(1..=settlement::MAX_PAYMENT_CENTS).contains(&cents) => {
            return Err(refused(Refusal::NotPositive));
        }
        other => other.map(crate::billing::money::Cents),
    };
    let id = settlement::credit(&app, &invoice.id, amount, &reason, &operator.email).await?;
    let credit_note = invoices::find(&app.db, &id).await?.ok_or_else(|| not_found("credit note"))?;
    Ok((StatusCode::CREATED, Json(detail(&app, credit_note).await?)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanRequest {
    plan: String,
    #[serde(default)]
    whitelabel: bool,
    reason: String,
}

#[derive(Serialize)]
struct PlanSet {
    tenant_id: String,
    plan: &'static str,
    whitelabel: bool,
    starts_on: String,
    /// The invoice of the one-time fees, made at once; null if there were none.
    invoice_id: Option<String>,
}

async fn set_plan(
    State(app): State<AppState>,
    ApiOperator(operator): ApiOperator,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<PlanRequest>,
) -> Result<Response, ApiError> {
    if !is_id(&id) {
        return Err(not_found("tenant"));
    }
    let tenant = tenants::find(&app.db, &id).await?.ok_or_else(|| not_found("tenant"))?;
    let plan = Plan::parse(&request.plan)
        .filter(|plan| ORDERABLE.contains(plan))
        .ok_or_else(|| invalid("plan", "pay_per_use, premium_starter oder premium"))?;
    let reason = plain_text("reason", &request.reason)?;
    let wanted = OperatorPlan { plan, whitelabel: request.whitelabel, reason };
    let invoice_id = orders::set_by_operator(&app, &tenant, &wanted, &operator.email).await?;
    let current = subscriptions::current(&app.db, &tenant.id).await?;
    let body = PlanSet {
        tenant_id: tenant.id,
        plan: plan.as_str(),
        whitelabel: wanted.whitelabel,
        starts_on: current.map(|s| s.starts_on).unwrap_or_else(|| app.clock.berlin_today()).to_string(),
        invoice_id,
    };
    Ok((StatusCode::OK, Json(body)).into_response())
}

#[derive(Deserialize)]
struct ExportQuery {
    from: Option<String>,
    to: Option<String>,
}

async fn datev_export(
    State(app): State<AppState>,
    _operator: ApiOperator,
    ApiQuery(query): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    let from = date("from", query.from.as_deref().ok_or_else(|| invalid("from", "Bitte angeben."))?)?;
    let to = date("to", query.to.as_deref().ok_or_else(|| invalid("to", "Bitte angeben."))?)?;
    datev::check_period(from, to)?;
    Ok(crate::billing::pages::exports::datev_download(app, from, to))
}
