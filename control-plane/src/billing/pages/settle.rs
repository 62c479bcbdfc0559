//! The console's forms that settle an invoice: recording a payment (with the
//! confirmation an overpayment needs), reversing a payment booked in error,
//! and issuing a credit note. A refusal is shown at its field on the invoice
//! page; the domain functions audit what they do.

use axum::Extension;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use chrono::NaiveDate;
use serde::Deserialize;
use tenant_app::security::csrf::{CsrfForm, CsrfToken};
use tenant_app::values::{self, Cents};
use tenant_app::web::{FieldErrors, PageError};

use super::console::{CreditForm, PaymentForm, Shown, find_invoice, show_invoice};
use crate::billing::refusal::{BillingError, Refusal};
use crate::billing::settlement::{self, BANK, NewPayment};
use crate::operators::console::{ConsoleLayout, ConsoleOperator};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/rechnungen/{id}/zahlung", post(record_payment))
        .route("/rechnungen/{id}/gutschrift", post(create_credit_note))
        .route("/zahlungen/{id}/storno", post(reverse_payment))
}

/// A parsed payment, or the fields that were wrong.
fn parse_payment(form: &PaymentForm, today: NaiveDate) -> Result<(Cents, NaiveDate, String), FieldErrors> {
    let mut errors = FieldErrors::default();
    let amount = match Cents::parse(&form.amount) {
        Ok(Cents(0)) => {
            errors.add("amount", Refusal::NotPositive.to_string());
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
            errors.add("received_on", Refusal::PaidInFuture.to_string());
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

/// The form field of the invoice page a refusal belongs to.
fn payment_field(refusal: &Refusal) -> &'static str {
    match refusal.field() {
        "paid_on" => "received_on",
        "" => "amount",
        field => field,
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
    let (amount, received_on, reference) = match parse_payment(&form, app.clock.berlin_today()) {
        Ok(parsed) => parsed,
        Err(errors) => return show_invoice(&app, layout, invoice, Shown::Payment(form, errors)).await,
    };
    let payment = NewPayment {
        amount,
        method: BANK,
        reference: &reference,
        received_on,
        overpayment: form.overpayment == "ja",
        actor: &operator.email,
    };
    match settlement::record_payment(&app, &id, &payment).await {
        Ok(recorded) => {
            let notice = if recorded.excess.0 > 0 { "ueberzahlung" } else { "zahlung" };
            Ok(Redirect::to(&format!("/rechnungen/{id}?erfasst={notice}")).into_response())
        }
        Err(BillingError::Refused(refusal)) => {
            let mut errors = FieldErrors::default();
            errors.add(payment_field(&refusal), refusal.to_string());
            show_invoice(&app, layout, invoice, Shown::Payment(form, errors)).await
        }
        Err(BillingError::Failed(err)) => Err(err.into()),
    }
}

#[derive(Debug, Default, Deserialize)]
struct ReversalForm {
    #[serde(default)]
    reason: String,
}

async fn reverse_payment(
    State(app): State<AppState>,
    ConsoleOperator(operator): ConsoleOperator,
    Extension(csrf): Extension<CsrfToken>,
    Path(payment_id): Path<String>,
    CsrfForm(form): CsrfForm<ReversalForm>,
) -> Result<Response, PageError> {
    let payment = settlement::find_payment(&app.db, &payment_id).await?.ok_or(PageError::NotFound)?;
    let invoice = find_invoice(&app, &payment.invoice_id).await?;
    let layout = ConsoleLayout::new(&app, &csrf, Some(&operator));
    let reason = match values::required_text(&form.reason, 200) {
        Ok(reason) => reason,
        Err(_) => {
            let message = "Bitte geben Sie den Grund der Stornierung an.".to_owned();
            return show_invoice(&app, layout, invoice, Shown::Reversal(payment_id, message)).await;
        }
    };
    match settlement::reverse_payment(&app, &payment_id, &reason, &operator.email).await {
        Ok(_) => Ok(Redirect::to(&format!("/rechnungen/{}?erfasst=storno", invoice.id)).into_response()),
        Err(BillingError::Refused(refusal)) => {
            show_invoice(&app, layout, invoice, Shown::Reversal(payment_id, refusal.to_string())).await
        }
        Err(BillingError::Failed(err)) => Err(err.into()),
    }
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
        return show_invoice(&app, layout, invoice, Shown::Credit(form, errors)).await;
    };
    // Audited by `credit` itself.
    match settlement::credit(&app, &id, amount, &reason, &operator.email).await {
        Ok(credit_note) => Ok(Redirect::to(&format!("/rechnungen/{credit_note}?erfasst=gutschrift")).into_response()),
        Err(BillingError::Refused(refusal)) => {
            errors.add("amount", refusal.to_string());
            show_invoice(&app, layout, invoice, Shown::Credit(form, errors)).await
        }
        Err(BillingError::Failed(err)) => Err(err.into()),
    }
}
