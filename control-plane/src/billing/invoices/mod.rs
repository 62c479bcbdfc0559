//! Invoices and credit notes as stored, and how they are read. Drafts and
//! their gapless numbering are in `drafts`, the documents and their e-mail in
//! `documents`; what settles an invoice (payments, credit notes) is in
//! `billing::settlement`. Nothing issued is ever edited or deleted:
//! corrections are credit notes that name the invoice they correct.

mod documents;
mod drafts;

pub use documents::{document, pdf, send_unsent, xrechnung};
pub use drafts::{Draft, finalise_all, finalise_drafts, insert_draft, insert_drafts};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use tenant_app::db::Db;

use super::document::Unit;
use super::money::Cents;
use crate::tenants::Tenant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Invoice,
    CreditNote,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Invoice => "invoice",
            Kind::CreditNote => "credit_note",
        }
    }

    fn parse(text: &str) -> Kind {
        if text == "credit_note" { Kind::CreditNote } else { Kind::Invoice }
    }

    pub fn label(self) -> &'static str {
        match self {
            Kind::Invoice => "Rechnung",
            Kind::CreditNote => "Gutschrift",
        }
    }
}

/// The recipient as the invoice names it, kept with the invoice so that a
/// later change of address does not change an issued invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuyerSnapshot {
    pub name: String,
    pub street: String,
    pub postcode: String,
    pub city: String,
    pub email: String,
    /// Our customer number for the broker (the buyer reference, BT-10).
    pub customer_number: String,
}

impl BuyerSnapshot {
    pub fn of(tenant: &Tenant) -> BuyerSnapshot {
        BuyerSnapshot {
            name: tenant.display_name().to_owned(),
            street: tenant.street.clone(),
            postcode: tenant.postal_code.clone(),
            city: tenant.city.clone(),
            email: tenant.email.clone(),
            customer_number: format!("K-{}", tenant.slug),
        }
    }
}

/// One line as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub description: String,
    pub quantity: i64,
    pub unit: Unit,
    pub unit_price: Cents,
}

impl Line {
    pub fn net(&self) -> Cents {
        Cents(self.quantity * self.unit_price.0)
    }
}

pub fn unit_code(unit: Unit) -> &'static str {
    unit.code()
}

pub fn parse_unit(code: &str) -> Unit {
    match code {
        "MON" => Unit::Month,
        "DAY" => Unit::Day,
        _ => Unit::Piece,
    }
}

#[derive(Debug, Clone)]
pub struct Invoice {
    pub id: String,
    pub tenant_id: String,
    pub kind: Kind,
    pub number: Option<String>,
    pub issued: bool,
    pub issue_date: Option<NaiveDate>,
    pub due_date: Option<NaiveDate>,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub net: Cents,
    pub vat: Cents,
    pub gross: Cents,
    pub corrects: Option<String>,
    pub buyer: BuyerSnapshot,
    pub notes: Vec<String>,
    pub paid: Cents,
    /// Gross of the credit notes that correct this invoice.
    pub credited: Cents,
    /// When nothing more was owed (by payments, credit notes or both).
    pub paid_at: Option<i64>,
    pub dunning_level: i64,
    pub emailed_at: Option<i64>,
    pub created_at: i64,
}

impl Invoice {
    /// What is still owed: gross less payments and credit notes.
    pub fn open_amount(&self) -> Cents {
        Cents((self.gross.0 - self.paid.0 - self.credited.0).max(0))
    }

    pub fn is_paid(&self) -> bool {
        self.paid_at.is_some()
    }

    /// Where the invoice stands on `today` (Berlin), as the operator sees it.
    pub fn status(&self, today: NaiveDate) -> Status {
        match (self.kind, self.issued) {
            (_, false) => Status::Draft,
            (Kind::CreditNote, true) => Status::CreditNote,
            (Kind::Invoice, true) if self.is_paid() => Status::Paid,
            (Kind::Invoice, true) if self.due_date.is_some_and(|due| due < today) => Status::Overdue,
            (Kind::Invoice, true) => Status::Open,
        }
    }

    /// Where the PDF and XML of this invoice are named after.
    pub fn file_stem(&self) -> String {
        format!("{}-{}", self.kind.label(), self.number.as_deref().unwrap_or("Entwurf"))
    }
}

/// Where an invoice stands; a credit note is settled when it is issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Draft,
    Open,
    Overdue,
    Paid,
    CreditNote,
}

impl Status {
    /// The value of the list filter (`Filter::status`).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Open => "open",
            Status::Overdue => "overdue",
            Status::Paid => "paid",
            Status::CreditNote => "credit_note",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Draft => "Entwurf",
            Status::Open => "offen",
            Status::Overdue => "überfällig",
            Status::Paid => "bezahlt",
            Status::CreditNote => "Gutschrift",
        }
    }

    /// Whether money is still expected for it.
    pub fn is_unpaid(self) -> bool {
        matches!(self, Status::Open | Status::Overdue)
    }
}

const COLUMNS: &str = "id, tenant_id, kind, number, status, issue_date, due_date, period_start, period_end, \
                       net_cents, vat_cents, gross_cents, corrects, buyer, notes, paid_cents, paid_at, dunning_level, \
                       emailed_at, created_at, credited_cents";

fn date(text: Option<String>) -> Option<NaiveDate> {
    text.and_then(|t| t.parse().ok())
}

fn from_row(row: sqlx::any::AnyRow) -> anyhow::Result<Invoice> {
    let buyer: String = row.try_get(13)?;
    let notes: String = row.try_get(14)?;
    Ok(Invoice {
        id: row.try_get(0)?,
        tenant_id: row.try_get(1)?,
        kind: Kind::parse(&row.try_get::<String, _>(2)?),
        number: row.try_get(3)?,
        issued: row.try_get::<String, _>(4)? == "issued",
        issue_date: date(row.try_get(5)?),
        due_date: date(row.try_get(6)?),
        period_start: row.try_get::<String, _>(7)?.parse()?,
        period_end: row.try_get::<String, _>(8)?.parse()?,
        net: Cents(row.try_get(9)?),
        vat: Cents(row.try_get(10)?),
        gross: Cents(row.try_get(11)?),
        corrects: row.try_get(12)?,
        buyer: serde_json::from_str(&buyer)?,
        notes: serde_json::from_str(&notes)?,
        paid: Cents(row.try_get(15)?),
        paid_at: row.try_get(16)?,
        dunning_level: row.try_get(17)?,
        emailed_at: row.try_get(18)?,
        created_at: row.try_get(19)?,
        credited: Cents(row.try_get(20)?),
    })
}

pub async fn find(db: &Db, id: &str) -> anyhow::Result<Option<Invoice>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM invoices WHERE id = $1"))
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    row.map(from_row).transpose()
}

/// A tenant's invoices and credit notes, newest first.
pub async fn for_tenant(db: &Db, tenant_id: &str) -> anyhow::Result<Vec<Invoice>> {
    let rows =
        sqlx::query(&format!("SELECT {COLUMNS} FROM invoices WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC"))
            .bind(tenant_id)
            .fetch_all(db.pool())
            .await?;
    rows.into_iter().map(from_row).collect()
}

/// What the operator filters the invoice list by.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct Filter {
    /// `open`, `paid`, `overdue`, `draft`, or empty for all.
    #[serde(default)]
    pub status: String,
    /// `YYYY-MM` of the issue date, or empty.
    #[serde(default)]
    pub month: String,
    /// Part of the number or the recipient's name.
    #[serde(default)]
    pub q: String,
}

pub async fn list(db: &Db, filter: &Filter, today: NaiveDate) -> anyhow::Result<Vec<Invoice>> {
    let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM invoices ORDER BY created_at DESC, id DESC"))
        .fetch_all(db.pool())
        .await?;
    let q = filter.q.trim().to_lowercase();
    Ok(rows
        .into_iter()
        .map(from_row)
        .collect::<anyhow::Result<Vec<_>>>()?
        .into_iter()
        .filter(|i| match (filter.status.as_str(), i.status(today)) {
            ("open", status) => status.is_unpaid(),
            ("", _) => true,
            (wanted, status) => status.as_str() == wanted,
        })
        .filter(|i| filter.month.is_empty() || i.issue_date.is_some_and(|d| super::prices::month_of(d) == filter.month))
        .filter(|i| {
            q.is_empty()
                || i.number.as_deref().is_some_and(|n| n.contains(&q))
                || i.buyer.name.to_lowercase().contains(&q)
        })
        .collect())
}

/// The credit notes that correct an invoice, oldest first.
pub async fn credit_notes(db: &Db, invoice_id: &str) -> anyhow::Result<Vec<Invoice>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM invoices WHERE corrects = $1 AND kind = 'credit_note' ORDER BY created_at, id"
    ))
    .bind(invoice_id)
    .fetch_all(db.pool())
    .await?;
    rows.into_iter().map(from_row).collect()
}

pub async fn lines(db: &Db, invoice_id: &str) -> anyhow::Result<Vec<Line>> {
    let rows: Vec<(String, i64, String, i64)> = sqlx::query_as(
        "SELECT description, quantity, unit, unit_cents FROM invoice_lines WHERE invoice_id = $1 ORDER BY position",
    )
    .bind(invoice_id)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(description, quantity, unit, unit_cents)| Line {
            description,
            quantity,
            unit: parse_unit(&unit),
            unit_price: Cents(unit_cents),
        })
        .collect())
}
