//! Credit notes: an issued invoice corrected in whole or by a net amount. The
//! credit note is issued and sent at once; the invoice owes that much less,
//! and what it had been paid beyond that goes to the tenant's credit balance.

use anyhow::Context;

use crate::billing::balance::{self, Change, EntryKind};
use crate::billing::document::{ServicePeriod, Unit};
use crate::billing::dunning;
use crate::billing::invoices::{Draft, Kind, Line, LineKind, finalise_all, find, insert_draft, lines, send_unsent};
use crate::billing::money::Cents;
use crate::billing::refusal::{Outcome, Refusal};
use crate::state::AppState;

/// Corrects an issued invoice with a credit note: the whole invoice, or
/// `amount` (net) of it. Returns the credit note's id.
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
                kind: LineKind::Other,
                description: format!("Gutschrift zur Rechnung {number}: {reason}"),
                quantity: 1,
                unit: Unit::Piece,
                unit_price: amount,
            }]
        }
    };
    let notes = vec![format!("Korrektur der Rechnung {number}. Grund: {reason}")];
    let period = ServicePeriod { start: invoice.period_start, end: invoice.period_end };
    let now = app.clock.timestamp();
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
            prepaid: Cents(0),
        },
        now,
    )
    .await?;
    // The invoice owes that much less from now on (in the same transaction as
    // the credit note, which only ever goes on to be issued).
    let credit_gross: i64 =
        sqlx::query_scalar("SELECT gross_cents FROM invoices WHERE id = $1").bind(&id).fetch_one(&mut *tx).await?;
    let (owed_before,): (i64,) = sqlx::query_as(
        "UPDATE invoices SET credited_cents = credited_cents + $1, \
           paid_at = CASE WHEN gross_cents - prepaid_cents - paid_cents - credited_cents <= $1 \
             THEN COALESCE(paid_at, $2) ELSE paid_at END WHERE id = $3 \
         RETURNING gross_cents - prepaid_cents - paid_cents - credited_cents + $1",
    )
    .bind(credit_gross)
    .bind(now)
    .bind(invoice_id)
    .fetch_one(&mut *tx)
    .await?;
    // What had been paid (or used of the balance) beyond what is owed now is the broker's.
    let excess = Cents(credit_gross - owed_before.max(0));
    if excess.0 > 0 {
        let reference = format!("Gutschrift zur Rechnung {number}");
        let change = Change {
            tenant_id: &invoice.tenant_id,
            kind: EntryKind::CreditNote,
            payment_id: None,
            invoice_id: Some(&id),
            reference: &reference,
            booked_on: app.clock.berlin_today(),
            actor,
            now,
        };
        balance::add(&mut tx, &change, excess).await?;
    }
    crate::audit::record_in(
        &mut tx,
        now,
        actor,
        "credit_note",
        &format!(
            "tenant:{} invoice:{invoice_id} credit_note:{id} Gutschrift zur Rechnung {number} über {} (netto). Grund: {reason}",
            invoice.tenant_id,
            Cents(lines.iter().map(|l| l.net().0).sum())
        ),
    )
    .await?;
    tx.commit().await?;
    finalise_all(app).await?;
    // A credit note that settles the invoice lifts a dunning suspension like a payment.
    let corrected = find(&app.db, invoice_id).await?.context("invoice vanished")?;
    dunning::after_payment(app, &corrected).await?;
    send_unsent(app).await?;
    Ok(id)
}
