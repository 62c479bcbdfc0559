//! One-time charges: setup fees, the whitelabel setup fee, paid trial
//! extensions. Each is invoiced at once, when it arises (`invoice_now`), on
//! an invoice of its own; whatever is still open when the monthly run comes
//! (an invoice that could not be made at the time) goes on the monthly invoice.

use std::collections::HashMap;

use anyhow::Context;
use chrono::NaiveDate;
use tenant_app::db::{Db, is_unique_violation, new_id};

use super::balance::{self, Change, EntryKind};
use super::document::ServicePeriod;
use super::invoices::{self, BuyerSnapshot, Draft, Kind, Line, LineKind};
use super::money::{Cents, Totals, VatRate};
use crate::state::AppState;
use crate::tenants;

/// The note on an invoice of one-time charges.
pub const ONE_TIME_NOTE: &str =
    "Einmalige Beträge, fällig mit ihrer Entstehung; die monatlichen Beträge folgen mit der Monatsrechnung.";

/// An amount owed besides the monthly fees. Nothing is recorded for zero.
pub async fn add_charge(
    db: &Db,
    tenant_id: &str,
    kind: LineKind,
    description: &str,
    amount: Cents,
    service_date: NaiveDate,
    now: i64,
) -> Result<Option<String>, sqlx::Error> {
    if amount.0 <= 0 {
        return Ok(None);
    }
    let id = new_id();
    sqlx::query(
        "INSERT INTO charges (id, tenant_id, description, quantity, unit, unit_cents, service_date, invoice_id, \
           created_at, kind) VALUES ($1, $2, $3, 1, 'C62', $4, $5, NULL, $6, $7)",
    )
    .bind(&id)
    .bind(tenant_id)
    .bind(description)
    .bind(amount.0)
    .bind(service_date.to_string())
    .bind(now)
    .bind(kind.as_str())
    .execute(db.pool())
    .await?;
    Ok(Some(id))
}

/// A charge no invoice has taken up yet.
pub struct OpenCharge {
    pub id: String,
    pub service_date: NaiveDate,
    pub line: Line,
}

/// id, tenant, description, quantity, unit, unit price, service date, kind.
type ChargeRow = (String, String, String, i64, String, i64, String, String);

/// Every open charge dated `until` or before, by tenant, oldest first.
pub async fn open_by_tenant(db: &Db, until: NaiveDate) -> anyhow::Result<HashMap<String, Vec<OpenCharge>>> {
    let rows: Vec<ChargeRow> = sqlx::query_as(
        "SELECT id, tenant_id, description, quantity, unit, unit_cents, service_date, kind FROM charges \
         WHERE invoice_id IS NULL AND service_date <= $1 ORDER BY service_date, created_at, id",
    )
    .bind(until.to_string())
    .fetch_all(db.pool())
    .await?;
    let mut by_tenant: HashMap<String, Vec<OpenCharge>> = HashMap::new();
    for (id, tenant_id, description, quantity, unit, unit_cents, service_date, kind) in rows {
        let unit = invoices::parse_unit(&unit);
        let line = Line { kind: LineKind::parse(&kind), description, quantity, unit, unit_price: Cents(unit_cents) };
        by_tenant.entry(tenant_id).or_default().push(OpenCharge { id, service_date: service_date.parse()?, line });
    }
    Ok(by_tenant)
}

/// Marks charges as taken up by `invoice_id`, in the transaction that wrote
/// the invoice; false if one was taken meanwhile (the caller rolls back).
pub async fn take_up(
    tx: &mut sqlx::AnyConnection,
    charges: &[OpenCharge],
    invoice_id: &str,
) -> Result<bool, sqlx::Error> {
    for charge in charges {
        let taken = sqlx::query("UPDATE charges SET invoice_id = $1 WHERE id = $2 AND invoice_id IS NULL")
            .bind(invoice_id)
            .bind(&charge.id)
            .execute(&mut *tx)
            .await?;
        if taken.rows_affected() != 1 {
            return Ok(false);
        }
    }
    Ok(true)
}

/// How much of `balance` an invoice of these lines uses: all of it, up to its gross.
pub fn prepaid_for(lines: &[Line], balance: Cents) -> Cents {
    let gross = Totals::from_lines(lines.iter().map(|l| (l.net(), VatRate::STANDARD))).gross;
    Cents(balance.0.min(gross.0).max(0))
}

/// Takes an invoice's prepaid amount from the tenant's balance, in the
/// transaction that wrote the invoice; false if the balance no longer holds it.
pub async fn take_prepaid(
    tx: &mut sqlx::AnyConnection,
    tenant_id: &str,
    invoice_id: &str,
    prepaid: Cents,
    today: NaiveDate,
    now: i64,
) -> Result<bool, sqlx::Error> {
    if prepaid.0 == 0 {
        return Ok(true);
    }
    let change = Change {
        tenant_id,
        kind: EntryKind::Applied,
        payment_id: None,
        invoice_id: Some(invoice_id),
        reference: "Guthaben verrechnet",
        booked_on: today,
        actor: "system",
        now,
    };
    balance::take(tx, &change, prepaid).await
}

/// Invoices the tenant's open charges now, on an invoice of their own, and
/// issues and e-mails it; returns its id, or `None` if nothing was open (or
/// another request invoiced the same charges first). The tenant's credit
/// balance is used on it. An e-mail that cannot be sent now is logged; the
/// invoice stays unsent and goes out with the next run's e-mails.
pub async fn invoice_now(app: &AppState, tenant_id: &str) -> anyhow::Result<Option<String>> {
    let today = app.clock.berlin_today();
    let Some(charges) = open_by_tenant(&app.db, today).await?.remove(tenant_id) else { return Ok(None) };
    tenants::assign_customer_number(&app.db, tenant_id).await?;
    let tenant = tenants::find(&app.db, tenant_id).await?.context("the charges' tenant")?;
    let lines: Vec<Line> = charges.iter().map(|c| c.line.clone()).collect();
    let first = charges.iter().map(|c| c.service_date).min().unwrap_or(today);
    let last = charges.iter().map(|c| c.service_date).max().unwrap_or(today);
    let buyer = BuyerSnapshot::of(&tenant);
    let prepaid = prepaid_for(&lines, balance::available(&app.db, tenant_id).await?);
    let notes = [ONE_TIME_NOTE.to_owned()];
    let now = app.clock.timestamp();
    let mut tx = app.db.pool().begin().await?;
    let drafted = invoices::insert_draft(
        &mut tx,
        &Draft {
            tenant_id,
            kind: Kind::Invoice,
            // One invoice for these charges, however many requests try.
            run_key: Some(format!("charges:{}", charges[0].id)),
            period: ServicePeriod { start: first, end: last },
            buyer: &buyer,
            lines: &lines,
            notes: &notes,
            corrects: None,
            prepaid,
        },
        now,
    )
    .await;
    let id = match drafted {
        Ok(id) => id,
        Err(err) if err.downcast_ref::<sqlx::Error>().is_some_and(is_unique_violation) => return Ok(None),
        Err(err) => return Err(err),
    };
    if !take_up(&mut tx, &charges, &id).await? || !take_prepaid(&mut tx, tenant_id, &id, prepaid, today, now).await? {
        tx.rollback().await?;
        return Ok(None);
    }
    tx.commit().await?;
    invoices::finalise_all(app).await?;
    if let Err(err) = invoices::send_unsent(app).await {
        tracing::error!(error = format!("{err:#}"), "sending invoices failed; the next run sends them");
    }
    Ok(Some(id))
}
