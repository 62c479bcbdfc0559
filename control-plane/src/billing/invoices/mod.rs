//! Invoices and credit notes as stored, and how they are read. Drafts and
//! their gapless numbering are in `drafts`, the documents and their e-mail in
//! `documents`; what settles an invoice (payments, credit notes) is in
//! `billing::settlement`. Nothing issued is ever edited or deleted:
//! corrections are credit notes that name the invoice they correct.

mod documents;
mod drafts;
mod search;

pub use documents::{document, pdf, send_unsent, xrechnung};
pub use drafts::{Draft, finalise_all, finalise_drafts, insert_draft, insert_drafts};
pub use search::{Filter, Search, Totals as SearchTotals, Wanted, search, totals};

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
    /// The recipient as the tenant's record names it now. A tenant gets its
    /// customer number at sign-up (`tenants::assign_customer_number`); callers
    /// make sure it has one.
    pub fn of(tenant: &Tenant) -> BuyerSnapshot {
        BuyerSnapshot {
            name: tenant.display_name().to_owned(),
            street: tenant.street.clone(),
            postcode: tenant.postal_code.clone(),
            city: tenant.city.clone(),
            email: tenant.email.clone(),
            customer_number: tenant.customer_number_text().unwrap_or_default(),
        }
    }
}

/// What a line bills: the DATEV export books each kind to its revenue account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LineKind {
    /// The monthly plan fee (or Pay-per-Use base fee).
    Plan,
    /// Pay-per-Use contacts.
    Contacts,
    /// The whitelabel add-on's monthly fee.
    Whitelabel,
    Setup,
    WhitelabelSetup,
    TrialExtension,
    /// Anything else, e.g. a credit note for part of an invoice.
    Other,
}

impl LineKind {
    pub const ALL: [LineKind; 7] = [
        LineKind::Plan,
        LineKind::Contacts,
        LineKind::Whitelabel,
        LineKind::Setup,
        LineKind::WhitelabelSetup,
        LineKind::TrialExtension,
        LineKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LineKind::Plan => "plan",
            LineKind::Contacts => "contacts",
            LineKind::Whitelabel => "whitelabel",
            LineKind::Setup => "setup",
            LineKind::WhitelabelSetup => "whitelabel_setup",
            LineKind::TrialExtension => "trial_extension",
            LineKind::Other => "other",
        }
    }

    pub fn parse(text: &str) -> LineKind {
        LineKind::ALL.into_iter().find(|kind| kind.as_str() == text).unwrap_or(LineKind::Other)
    }
}

/// One line as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub kind: LineKind,
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
    /// Payments received for it (the part of each that it owed).
    pub paid: Cents,
    /// Gross of the credit notes that correct this invoice.
    pub credited: Cents,
    /// The credit balance used on it when it was made (BT-113).
    pub prepaid: Cents,
    /// When nothing more was owed (by payments, credit notes or both).
    pub paid_at: Option<i64>,
    pub dunning_level: i64,
    pub emailed_at: Option<i64>,
    pub created_at: i64,
}

impl Invoice {
    /// What is still owed: gross less the credit balance used on it, payments and credit notes.
    pub fn open_amount(&self) -> Cents {
        Cents((self.gross.0 - self.prepaid.0 - self.paid.0 - self.credited.0).max(0))
    }

    /// What the recipient is asked to pay on the document: gross less the
    /// credit balance used on it (BT-115).
    pub fn due_amount(&self) -> Cents {
        self.gross - self.prepaid
    }

    pub fn is_paid(&self) -> bool {
        self.paid_at.is_some()
    }

    /// Where the invoice stands on `today` (Berlin), as the operator sees it.
    pub fn status(&self, today: NaiveDate) -> Status {
        match (self.kind, self.issued) {
            (_, false) => Status::Draft,
            (Kind::CreditNote, true) => Status::CreditNote,
            (Kind::Invoice, true) if self.credited.0 > 0 && self.credited >= self.gross => Status::Cancelled,
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
    /// Corrected in full by credit notes (storniert).
    Cancelled,
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
            Status::Cancelled => "cancelled",
            Status::CreditNote => "credit_note",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Draft => "Entwurf",
            Status::Open => "offen",
            Status::Overdue => "überfällig",
            Status::Paid => "bezahlt",
            Status::Cancelled => "storniert",
            Status::CreditNote => "Gutschrift",
        }
    }

    /// Whether money is still expected for it.
    pub fn is_unpaid(self) -> bool {
        matches!(self, Status::Open | Status::Overdue)
    }
}

pub(crate) const COLUMNS: &str = "id, tenant_id, kind, number, status, issue_date, due_date, period_start, period_end, \
                       net_cents, vat_cents, gross_cents, corrects, buyer, notes, paid_cents, paid_at, dunning_level, \
                       emailed_at, created_at, credited_cents, prepaid_cents";

fn date(text: Option<String>) -> Option<NaiveDate> {
    text.and_then(|t| t.parse().ok())
}

pub(crate) fn from_row(row: sqlx::any::AnyRow) -> anyhow::Result<Invoice> {
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
        prepaid: Cents(row.try_get(21)?),
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

/// Issued invoices and credit notes of `[from, to]` (issue date), by number,
/// `limit` after the number `after` (a page of the DATEV export).
pub async fn issued_between(
    db: &Db,
    from: NaiveDate,
    to: NaiveDate,
    after: &str,
    limit: i64,
) -> anyhow::Result<Vec<Invoice>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM invoices WHERE status = 'issued' AND issue_date >= $1 AND issue_date <= $2 \
         AND number > $3 ORDER BY number LIMIT $4"
    ))
    .bind(from.to_string())
    .bind(to.to_string())
    .bind(after)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    rows.into_iter().map(from_row).collect()
}

/// The numbers of these invoices, by id (what payments are booked against).
pub async fn numbers_of(db: &Db, ids: &[String]) -> anyhow::Result<std::collections::HashMap<String, String>> {
    let mut numbers = std::collections::HashMap::new();
    for chunk in ids.chunks(500) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|n| format!("${n}")).collect();
        let sql =
            format!("SELECT id, number FROM invoices WHERE number IS NOT NULL AND id IN ({})", placeholders.join(", "));
        let mut query = sqlx::query_as::<_, (String, String)>(&sql);
        for id in chunk {
            query = query.bind(id.clone());
        }
        numbers.extend(query.fetch_all(db.pool()).await?);
    }
    Ok(numbers)
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
    let rows: Vec<(String, String, i64, String, i64)> = sqlx::query_as(
        "SELECT kind, description, quantity, unit, unit_cents FROM invoice_lines WHERE invoice_id = $1 ORDER BY position",
    )
    .bind(invoice_id)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(line_of).collect())
}

fn line_of((kind, description, quantity, unit, unit_cents): (String, String, i64, String, i64)) -> Line {
    Line { kind: LineKind::parse(&kind), description, quantity, unit: parse_unit(&unit), unit_price: Cents(unit_cents) }
}

/// The lines of many invoices at once, by invoice (the DATEV export, e-mailing a run).
pub async fn lines_of(db: &Db, invoice_ids: &[String]) -> anyhow::Result<std::collections::HashMap<String, Vec<Line>>> {
    let mut by_invoice: std::collections::HashMap<String, Vec<Line>> = std::collections::HashMap::new();
    for chunk in invoice_ids.chunks(500) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|n| format!("${n}")).collect();
        let sql = format!(
            "SELECT invoice_id, kind, description, quantity, unit, unit_cents FROM invoice_lines \
             WHERE invoice_id IN ({}) ORDER BY invoice_id, position",
            placeholders.join(", ")
        );
        let mut query = sqlx::query_as::<_, (String, String, String, i64, String, i64)>(&sql);
        for id in chunk {
            query = query.bind(id.clone());
        }
        for (invoice_id, kind, description, quantity, unit, unit_cents) in query.fetch_all(db.pool()).await? {
            by_invoice.entry(invoice_id).or_default().push(line_of((kind, description, quantity, unit, unit_cents)));
        }
    }
    Ok(by_invoice)
}
