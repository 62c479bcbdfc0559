//! A tenant's credit balance: what the operator owes the broker. A confirmed
//! overpayment and a credit note on an invoice that was already paid add to
//! it; it is used on the next invoice (as its paid amount, BT-113) or paid out
//! by bank transfer, which the operator records. `credit_balances` holds what
//! is available and only changes by conditional updates (it never goes below
//! zero, even with two replicas at once); `balance_entries` says how it came
//! about. Both are written in the caller's transaction.

use std::collections::HashMap;

use chrono::NaiveDate;
use tenant_app::db::{Db, new_id};

use super::money::Cents;
use super::refusal::{Outcome, Refusal};
use crate::state::AppState;

/// Why the balance changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    Overpayment,
    CreditNote,
    Applied,
    Payout,
    Reversal,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Overpayment => "overpayment",
            EntryKind::CreditNote => "credit_note",
            EntryKind::Applied => "applied",
            EntryKind::Payout => "payout",
            EntryKind::Reversal => "reversal",
        }
    }

    fn parse(text: &str) -> EntryKind {
        match text {
            "overpayment" => EntryKind::Overpayment,
            "credit_note" => EntryKind::CreditNote,
            "applied" => EntryKind::Applied,
            "reversal" => EntryKind::Reversal,
            _ => EntryKind::Payout,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            EntryKind::Overpayment => "Überzahlung",
            EntryKind::CreditNote => "Gutschrift auf bezahlte Rechnung",
            EntryKind::Applied => "mit Rechnung verrechnet",
            EntryKind::Payout => "ausgezahlt",
            EntryKind::Reversal => "Überzahlung storniert",
        }
    }
}

/// One change of a balance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: String,
    pub tenant_id: String,
    /// Positive: owed to the tenant from now on; negative: used or paid out.
    pub amount: Cents,
    pub kind: EntryKind,
    pub payment_id: Option<String>,
    pub invoice_id: Option<String>,
    pub reference: String,
    pub booked_on: NaiveDate,
    pub recorded_by: String,
    pub created_at: i64,
}

/// Where a change of a balance came from.
pub struct Change<'a> {
    pub tenant_id: &'a str,
    pub kind: EntryKind,
    pub payment_id: Option<&'a str>,
    pub invoice_id: Option<&'a str>,
    pub reference: &'a str,
    pub booked_on: NaiveDate,
    pub actor: &'a str,
    pub now: i64,
}

/// What the tenant has to its credit now.
pub async fn available(db: &Db, tenant_id: &str) -> anyhow::Result<Cents> {
    let cents: Option<i64> = sqlx::query_scalar("SELECT cents FROM credit_balances WHERE tenant_id = $1")
        .bind(tenant_id)
        .fetch_optional(db.pool())
        .await?;
    Ok(Cents(cents.unwrap_or(0)))
}

/// Every positive balance, by tenant (the monthly run uses them up).
pub async fn all_available(db: &Db) -> anyhow::Result<HashMap<String, Cents>> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT tenant_id, cents FROM credit_balances WHERE cents > 0").fetch_all(db.pool()).await?;
    Ok(rows.into_iter().map(|(tenant, cents)| (tenant, Cents(cents))).collect())
}

async fn entry(conn: &mut sqlx::AnyConnection, change: &Change<'_>, amount: Cents) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO balance_entries (id, tenant_id, amount_cents, kind, payment_id, invoice_id, reference, booked_on, \
           recorded_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(new_id())
    .bind(change.tenant_id)
    .bind(amount.0)
    .bind(change.kind.as_str())
    .bind(change.payment_id)
    .bind(change.invoice_id)
    .bind(change.reference)
    .bind(change.booked_on.to_string())
    .bind(change.actor)
    .bind(change.now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Adds `amount` to the tenant's balance, in the caller's transaction.
pub async fn add(conn: &mut sqlx::AnyConnection, change: &Change<'_>, amount: Cents) -> Result<(), sqlx::Error> {
    debug_assert!(amount.0 > 0);
    sqlx::query(
        "INSERT INTO credit_balances (tenant_id, cents) VALUES ($1, $2) \
         ON CONFLICT (tenant_id) DO UPDATE SET cents = credit_balances.cents + $2",
    )
    .bind(change.tenant_id)
    .bind(amount.0)
    .execute(&mut *conn)
    .await?;
    entry(conn, change, amount).await
}

/// Takes `amount` from the tenant's balance if it holds that much; returns
/// whether it did. In the caller's transaction, which rolls back if not.
pub async fn take(conn: &mut sqlx::AnyConnection, change: &Change<'_>, amount: Cents) -> Result<bool, sqlx::Error> {
    let taken = sqlx::query("UPDATE credit_balances SET cents = cents - $1 WHERE tenant_id = $2 AND cents >= $1")
        .bind(amount.0)
        .bind(change.tenant_id)
        .execute(&mut *conn)
        .await?;
    if taken.rows_affected() != 1 {
        return Ok(false);
    }
    entry(conn, change, -amount).await?;
    Ok(true)
}

/// The tenant's balance entries, oldest first.
pub async fn entries(db: &Db, tenant_id: &str) -> anyhow::Result<Vec<Entry>> {
    let rows = sqlx::query_as::<_, EntryRow>(&format!(
        "SELECT {ENTRY_COLUMNS} FROM balance_entries WHERE tenant_id = $1 ORDER BY created_at, id"
    ))
    .bind(tenant_id)
    .fetch_all(db.pool())
    .await?;
    rows.into_iter().map(from_row).collect()
}

/// Every payout booked from `from` to `to` (both included), for the DATEV export.
pub async fn payouts_between(db: &Db, from: NaiveDate, to: NaiveDate) -> anyhow::Result<Vec<Entry>> {
    let rows = sqlx::query_as::<_, EntryRow>(&format!(
        "SELECT {ENTRY_COLUMNS} FROM balance_entries WHERE kind = 'payout' AND booked_on >= $1 AND booked_on <= $2 \
         ORDER BY booked_on, created_at, id"
    ))
    .bind(from.to_string())
    .bind(to.to_string())
    .fetch_all(db.pool())
    .await?;
    rows.into_iter().map(from_row).collect()
}

const ENTRY_COLUMNS: &str =
    "id, tenant_id, amount_cents, kind, payment_id, invoice_id, reference, booked_on, recorded_by, created_at";

type EntryRow = (String, String, i64, String, Option<String>, Option<String>, String, String, String, i64);

fn from_row(row: EntryRow) -> anyhow::Result<Entry> {
    let (id, tenant_id, amount, kind, payment_id, invoice_id, reference, booked_on, recorded_by, created_at) = row;
    Ok(Entry {
        id,
        tenant_id,
        amount: Cents(amount),
        kind: EntryKind::parse(&kind),
        payment_id,
        invoice_id,
        reference,
        booked_on: booked_on.parse()?,
        recorded_by,
        created_at,
    })
}

/// The operator paid (part of) the balance back to the broker, by bank
/// transfer with `reference`, on `paid_on`. Audited in the same transaction.
pub async fn pay_out(
    app: &AppState,
    tenant_id: &str,
    amount: Cents,
    reference: &str,
    paid_on: NaiveDate,
    actor: &str,
) -> Outcome<()> {
    if amount.0 <= 0 {
        return Err(Refusal::NotPositive.into());
    }
    if paid_on > app.clock.berlin_today() {
        return Err(Refusal::PaidInFuture.into());
    }
    let have = available(&app.db, tenant_id).await?;
    if have.0 <= 0 {
        return Err(Refusal::NoBalance.into());
    }
    let now = app.clock.timestamp();
    let mut tx = app.db.pool().begin().await?;
    let change = Change {
        tenant_id,
        kind: EntryKind::Payout,
        payment_id: None,
        invoice_id: None,
        reference,
        booked_on: paid_on,
        actor,
        now,
    };
    if !take(&mut tx, &change, amount).await? {
        return Err(Refusal::BalanceTooLow(available(&app.db, tenant_id).await?).into());
    }
    crate::audit::record_in(
        &mut tx,
        now,
        actor,
        "balance_payout",
        &format!("tenant:{tenant_id} {amount} ausgezahlt am {paid_on}, Referenz {reference}"),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
