//! What settles an invoice: payments received and credit notes. After either,
//! dunning lifts the suspension of the invoice's tenant once nothing is owed.

use anyhow::Context;
use chrono::NaiveDate;
use tenant_app::db::{Db, new_id};

use super::document::{ServicePeriod, Unit};
use super::dunning;
use super::invoices::{Draft, Kind, Line, finalise_all, find, insert_draft, lines, send_unsent};
use super::money::Cents;
use super::refusal::{Outcome, Refusal};
use crate::state::AppState;

/// Money received for an invoice, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub amount: Cents,
    pub method: String,
    pub reference: String,
    pub received_on: NaiveDate,
    pub recorded_by: String,
    pub recorded_at: i64,
}

/// An invoice's payments, in the order they were received.
pub async fn payments(db: &Db, invoice_id: &str) -> anyhow::Result<Vec<Payment>> {
    let rows: Vec<(i64, String, String, String, String, i64)> = sqlx::query_as(
        "SELECT amount_cents, method, reference, received_on, recorded_by, created_at FROM payments \
         WHERE invoice_id = $1 ORDER BY received_on, created_at",
    )
    .bind(invoice_id)
    .fetch_all(db.pool())
    .await?;
    rows.into_iter()
        .map(|(amount, method, reference, received_on, recorded_by, recorded_at)| {
            Ok(Payment {
                amount: Cents(amount),
                method,
                reference,
                received_on: received_on.parse()?,
                recorded_by,
                recorded_at,
            })
        })
        .collect()
}

/// Whether a payment with this method and reference has been recorded (for
/// any invoice): recording it again would change nothing.
pub async fn payment_exists(db: &Db, method: &str, reference: &str) -> anyhow::Result<bool> {
    let found: Option<String> = sqlx::query_scalar("SELECT id FROM payments WHERE method = $1 AND reference = $2")
        .bind(method)
        .bind(reference)
        .fetch_optional(db.pool())
        .await?;
    Ok(found.is_some())
}

/// Records money received for an invoice. A payment is identified by its
/// method and reference (a bank statement line, a PaymentIntent), so
/// recording the same payment twice changes nothing. Returns whether the
/// invoice is now paid in full.
pub async fn record_payment(
    app: &AppState,
    invoice_id: &str,
    amount: Cents,
    method: &str,
    reference: &str,
    received_on: NaiveDate,
    actor: &str,
) -> anyhow::Result<bool> {
    anyhow::ensure!(amount.0 > 0, "a payment is a positive amount");
    let invoice = find(&app.db, invoice_id).await?.context("no such invoice")?;
    anyhow::ensure!(invoice.issued && invoice.kind == Kind::Invoice, "only issued invoices are paid");
    let now = app.clock.timestamp();
    let mut tx = app.db.pool().begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO payments (id, invoice_id, amount_cents, method, reference, received_on, recorded_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (method, reference) DO NOTHING",
    )
    .bind(new_id())
    .bind(invoice_id)
    .bind(amount.0)
    .bind(method)
    .bind(reference)
    .bind(received_on.to_string())
    .bind(actor)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 1 {
        sqlx::query(
            "UPDATE invoices SET paid_cents = paid_cents + $1, \
               paid_at = CASE WHEN paid_cents + $1 + credited_cents >= gross_cents THEN COALESCE(paid_at, $2) \
               ELSE paid_at END WHERE id = $3",
        )
        .bind(amount.0)
        .bind(now)
        .bind(invoice_id)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    if inserted.rows_affected() == 1 {
        app.audit(actor, "record_payment", &format!("invoice:{invoice_id} {method} {reference} {amount}")).await?;
    }
    let now_paid = find(&app.db, invoice_id).await?.context("invoice vanished")?;
    dunning::after_payment(app, &now_paid).await?;
    Ok(now_paid.is_paid())
}

/// Corrects an issued invoice with a credit note: the whole invoice, or
/// `amount` (net) of it. The credit note is issued and sent at once.
pub async fn credit(
    app: &AppState,
    invoice_id: &str,
    amount: Option<Cents>,
    reason: &str,
    actor: &str,
) -> Outcome<String> {
    let invoice = find(&app.db, invoice_id).await?.context("no such invoice")?;
    if !invoice.issued || invoice.kind != Kind::Invoice {
        return Err(Refusal::NotCreditable.into());
    }
    let credited: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(net_cents), 0) AS BIGINT) FROM invoices WHERE corrects = $1 AND kind = 'credit_note'",
    )
    .bind(invoice_id)
    .fetch_one(app.db.pool())
    .await?;
    let open = invoice.net.0 - credited;
    let number = invoice.number.clone().unwrap_or_default();
    let lines = match amount {
        None => {
            if credited != 0 {
                return Err(Refusal::PartlyCredited.into());
            }
            lines(&app.db, invoice_id).await?
        }
        Some(amount) => {
            if amount.0 <= 0 {
                return Err(Refusal::NotPositive.into());
            }
            if amount.0 > open {
                return Err(Refusal::TooMuch(Cents(open)).into());
            }
            vec![Line {
                description: format!("Gutschrift zur Rechnung {number}: {reason}"),
                quantity: 1,
                unit: Unit::Piece,
                unit_price: amount,
            }]
        }
    };
    let notes = vec![format!("Korrektur der Rechnung {number}. Grund: {reason}")];
    let period = ServicePeriod { start: invoice.period_start, end: invoice.period_end };
    let mut tx = app.db.pool().begin().await?;
    let id = insert_draft(
        &mut tx,
        &Draft {
            tenant_id: &invoice.tenant_id,
            kind: Kind::CreditNote,
            run_key: None,
            period,
            buyer: &invoice.buyer,
            lines: &lines,
            notes: &notes,
            corrects: Some(invoice_id),
        },
        app.clock.timestamp(),
    )
    .await?;
    // The invoice owes that much less from now on (in the same transaction as
    // the credit note, which only ever goes on to be issued).
    let credit_gross: i64 =
        sqlx::query_scalar("SELECT gross_cents FROM invoices WHERE id = $1").bind(&id).fetch_one(&mut *tx).await?;
    sqlx::query(
        "UPDATE invoices SET credited_cents = credited_cents + $1, \
           paid_at = CASE WHEN paid_cents + credited_cents + $1 >= gross_cents THEN COALESCE(paid_at, $2) \
           ELSE paid_at END WHERE id = $3",
    )
    .bind(credit_gross)
    .bind(app.clock.timestamp())
    .bind(invoice_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    finalise_all(app).await?;
    // A credit note that settles the invoice lifts a dunning suspension like a payment.
    let corrected = find(&app.db, invoice_id).await?.context("invoice vanished")?;
    dunning::after_payment(app, &corrected).await?;
    app.audit(actor, "credit_note", &format!("invoice:{invoice_id} credit_note:{id} {reason}")).await?;
    send_unsent(app).await?;
    Ok(id)
}
