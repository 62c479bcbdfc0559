//! Reversing (Storno) a payment booked in error: the payment stays, a
//! reversal with its reason is added, the invoice owes again what the payment
//! had settled, and an excess that went to the credit balance leaves it again
//! (refused if the balance was used meanwhile). A payment is reversed once.

use anyhow::Context;
use chrono::NaiveDate;
use tenant_app::calendar::format_date;
use tenant_app::db::new_id;

use super::find_payment;
use crate::billing::balance::{self, Change, EntryKind};
use crate::billing::invoices::find;
use crate::billing::refusal::{Outcome, Refusal};
use crate::state::AppState;

/// The reversal of a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reversal {
    pub reason: String,
    /// The Berlin day it was booked (the DATEV export books it then).
    pub reversed_on: NaiveDate,
    pub reversed_by: String,
    pub reversed_at: i64,
}

/// Reverses a payment; returns the reversal's id. The invoice is open again.
pub async fn reverse_payment(app: &AppState, payment_id: &str, reason: &str, actor: &str) -> Outcome<String> {
    let payment = find_payment(&app.db, payment_id).await?.context("no such payment")?;
    if payment.reversal.is_some() {
        return Err(Refusal::AlreadyReversed.into());
    }
    let invoice = find(&app.db, &payment.invoice_id).await?.context("the payment's invoice")?;
    let today = app.clock.berlin_today();
    let now = app.clock.timestamp();
    let id = new_id();
    let mut tx = app.db.pool().begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO payment_reversals (id, payment_id, reason, reversed_on, reversed_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (payment_id) DO NOTHING",
    )
    .bind(&id)
    .bind(payment_id)
    .bind(reason)
    .bind(today.to_string())
    .bind(actor)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(Refusal::AlreadyReversed.into());
    }
    let applied = payment.applied();
    if applied.0 > 0 {
        sqlx::query(
            "UPDATE invoices SET paid_cents = paid_cents - $1, \
               paid_at = CASE WHEN gross_cents - prepaid_cents - paid_cents - credited_cents + $1 <= 0 \
                 THEN paid_at ELSE NULL END \
             WHERE id = $2",
        )
        .bind(applied.0)
        .bind(&payment.invoice_id)
        .execute(&mut *tx)
        .await?;
    }
    if payment.excess.0 > 0 {
        let change = Change {
            tenant_id: &invoice.tenant_id,
            kind: EntryKind::Reversal,
            payment_id: Some(payment_id),
            invoice_id: Some(&payment.invoice_id),
            reference: &payment.reference,
            booked_on: today,
            actor,
            now,
        };
        if !balance::take(&mut tx, &change, payment.excess).await? {
            return Err(Refusal::BalanceSpent(payment.excess).into());
        }
    }
    crate::audit::record_in(
        &mut tx,
        now,
        actor,
        "reverse_payment",
        &format!(
            "tenant:{} invoice:{} Rechnung {}: Zahlung über {} vom {} ({}) storniert. Grund: {reason}",
            invoice.tenant_id,
            invoice.id,
            invoice.number.as_deref().unwrap_or_default(),
            payment.amount,
            format_date(&payment.received_on),
            payment.reference
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Payments reversed from `from` to `to` (both included), with when: for the DATEV export.
pub async fn reversals_between(app: &AppState, from: NaiveDate, to: NaiveDate) -> anyhow::Result<Vec<super::Payment>> {
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT payment_id FROM payment_reversals WHERE reversed_on >= $1 AND reversed_on <= $2 \
         ORDER BY reversed_on, created_at, id",
    )
    .bind(from.to_string())
    .bind(to.to_string())
    .fetch_all(app.db.pool())
    .await?;
    let mut payments = Vec::with_capacity(ids.len());
    for id in ids {
        payments.push(find_payment(&app.db, &id).await?.context("a reversed payment")?);
    }
    Ok(payments)
}
