//! Invoices and credit notes as stored: drafts, finalising with a gapless
//! number per year, the documents (PDF/A-3 with Factur-X, XRechnung), e-mail,
//! payments and credit notes. Nothing issued is ever edited or deleted:
//! corrections are credit notes that name the invoice they correct.

use anyhow::Context;
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use tenant_app::calendar::format_date;
use tenant_app::db::{Db, new_id};
use tenant_app::mail::{Attachment, Email};
use tenant_app::values::EmailAddress;

use super::document::{
    Buyer, DocumentKind, InvoiceContent, InvoiceDocument, InvoiceLine, InvoiceReference, PaymentMeans, PaymentTerms,
    PostalAddress, ServicePeriod, Unit,
};
use super::einvoice::{self, Flavour};
use super::money::{Cents, VatRate};
use crate::state::AppState;
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

/// A new draft, written inside the caller's transaction (the monthly run
/// writes a batch of them, with the charges they take up, at once).
pub struct Draft<'a> {
    pub tenant_id: &'a str,
    pub kind: Kind,
    pub run_key: Option<String>,
    pub period: ServicePeriod,
    pub buyer: &'a BuyerSnapshot,
    pub lines: &'a [Line],
    pub notes: &'a [String],
    pub corrects: Option<&'a str>,
}

pub async fn insert_draft(tx: &mut sqlx::AnyConnection, draft: &Draft<'_>, now: i64) -> anyhow::Result<String> {
    Ok(insert_drafts(tx, std::slice::from_ref(draft), now).await?.remove(0))
}

/// Invoices per multi-row INSERT (13 parameters each) and lines (6 each): few
/// statements for a batch of drafts, well under both databases' parameter limits.
const INVOICES_PER_STATEMENT: usize = 40;
const NUMBERS_PER_STATEMENT: usize = 200;
const LINES_PER_STATEMENT: usize = 100;

/// Writes drafts with a few multi-row statements (the monthly run writes
/// hundreds per transaction; one statement each would be one round trip each
/// on PostgreSQL). Returns their ids, in order.
pub async fn insert_drafts(
    tx: &mut sqlx::AnyConnection,
    drafts: &[Draft<'_>],
    now: i64,
) -> anyhow::Result<Vec<String>> {
    let ids: Vec<String> = drafts.iter().map(|_| new_id()).collect();
    for (chunk, chunk_ids) in drafts.chunks(INVOICES_PER_STATEMENT).zip(ids.chunks(INVOICES_PER_STATEMENT)) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| {
                let p: Vec<String> = (1..=13).map(|n| format!("${}", i * 13 + n)).collect();
                format!(
                    "({}, {}, {}, {}, NULL, 'draft', NULL, NULL, {}, {}, {}, {}, {}, {}, {}, {}, {})",
                    p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12]
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO invoices (id, tenant_id, kind, run_key, number, status, issue_date, due_date, period_start, \
               period_end, net_cents, vat_cents, gross_cents, corrects, buyer, notes, created_at) VALUES {}",
            rows.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for (draft, id) in chunk.iter().zip(chunk_ids) {
            let totals = super::money::Totals::from_lines(draft.lines.iter().map(|l| (l.net(), VatRate::STANDARD)));
            query = query
                .bind(id.clone())
                .bind(draft.tenant_id.to_owned())
                .bind(draft.kind.as_str())
                .bind(draft.run_key.clone())
                .bind(draft.period.start.to_string())
                .bind(draft.period.end.to_string())
                .bind(totals.net.0)
                .bind(totals.vat.0)
                .bind(totals.gross.0)
                .bind(draft.corrects.map(str::to_owned))
                .bind(serde_json::to_string(draft.buyer)?)
                .bind(serde_json::to_string(draft.notes)?)
                .bind(now);
        }
        query.execute(&mut *tx).await?;
    }
    let lines: Vec<(&String, i64, &Line)> = drafts
        .iter()
        .zip(&ids)
        .flat_map(|(draft, id)| draft.lines.iter().enumerate().map(move |(n, line)| (id, n as i64 + 1, line)))
        .collect();
    for chunk in lines.chunks(LINES_PER_STATEMENT) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| {
                let p: Vec<String> = (1..=6).map(|n| format!("${}", i * 6 + n)).collect();
                format!("({})", p.join(", "))
            })
            .collect();
        let sql = format!(
            "INSERT INTO invoice_lines (invoice_id, position, description, quantity, unit, unit_cents) VALUES {}",
            rows.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for (id, position, line) in chunk {
            query = query
                .bind((*id).clone())
                .bind(*position)
                .bind(line.description.clone())
                .bind(line.quantity)
                .bind(unit_code(line.unit))
                .bind(line.unit_price.0);
        }
        query.execute(&mut *tx).await?;
    }
    Ok(ids)
}

/// Gives every draft (oldest first, at most `limit`) the next numbers of the
/// year of `issue_date`, and issues it. One transaction: the counter row is
/// locked first (PostgreSQL row lock; SQLite's single writer), so concurrent
/// finalising waits, and a failure leaves neither a number nor a gap.
/// Returns how many were issued.
pub async fn finalise_drafts(db: &Db, issue_date: NaiveDate, payment_days: u32, limit: i64) -> anyhow::Result<usize> {
    let year = i64::from(issue_date.year());
    let due_date = issue_date + chrono::Days::new(u64::from(payment_days));
    let mut tx = db.pool().begin().await?;
    sqlx::query("INSERT INTO invoice_numbers (year, last_number) VALUES ($1, 0) ON CONFLICT (year) DO NOTHING")
        .bind(year)
        .execute(&mut *tx)
        .await?;
    let last: i64 = sqlx::query_scalar(
        "UPDATE invoice_numbers SET last_number = last_number WHERE year = $1 RETURNING last_number",
    )
    .bind(year)
    .fetch_one(&mut *tx)
    .await?;
    let drafts: Vec<String> =
        sqlx::query_scalar("SELECT id FROM invoices WHERE status = 'draft' ORDER BY created_at, id LIMIT $1")
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?;
    // Numbers in order of the drafts, written a chunk per statement; every
    // draft must still be one, or the whole transaction (and its numbers) rolls back.
    let numbered: Vec<(String, String)> = drafts
        .iter()
        .enumerate()
        .map(|(offset, id)| (id.clone(), format!("{year}-{:06}", last + 1 + offset as i64)))
        .collect();
    for chunk in numbered.chunks(NUMBERS_PER_STATEMENT) {
        let cases: Vec<String> = (0..chunk.len()).map(|i| format!("WHEN ${} THEN ${}", i * 2 + 3, i * 2 + 4)).collect();
        let ids: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i * 2 + 3)).collect();
        let sql = format!(
            "UPDATE invoices SET status = 'issued', issue_date = $1, due_date = $2, number = CASE id {} END \
             WHERE status = 'draft' AND id IN ({})",
            cases.join(" "),
            ids.join(", ")
        );
        let mut query = sqlx::query(&sql).bind(issue_date.to_string()).bind(due_date.to_string());
        for (id, number) in chunk {
            query = query.bind(id.clone()).bind(number.clone());
        }
        let updated = query.execute(&mut *tx).await?;
        anyhow::ensure!(updated.rows_affected() == chunk.len() as u64, "a draft changed while it was being numbered");
    }
    sqlx::query("UPDATE invoice_numbers SET last_number = $1 WHERE year = $2")
        .bind(last + drafts.len() as i64)
        .bind(year)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(drafts.len())
}

/// Issues every draft, in batches.
pub async fn finalise_all(app: &AppState) -> anyhow::Result<usize> {
    let today = app.clock.berlin_today();
    let mut issued = 0;
    loop {
        let batch = finalise_drafts(&app.db, today, app.config.billing.payment_days, 500).await?;
        issued += batch;
        if batch < 500 {
            return Ok(issued);
        }
    }
}

/// The checked document of an issued invoice or credit note.
pub async fn document(app: &AppState, invoice: &Invoice) -> anyhow::Result<InvoiceDocument> {
    let number = invoice.number.clone().context("a draft has no document yet")?;
    let issue_date = invoice.issue_date.context("issued without a date")?;
    let due_date = invoice.due_date.unwrap_or(issue_date);
    let kind = match (&invoice.kind, &invoice.corrects) {
        (Kind::CreditNote, Some(corrected)) => {
            let original = find(&app.db, corrected).await?.context("the corrected invoice")?;
            DocumentKind::CreditNote {
                corrects: InvoiceReference {
                    number: original.number.context("the corrected invoice has a number")?,
                    issue_date: original.issue_date.context("the corrected invoice has a date")?,
                },
            }
        }
        _ => DocumentKind::Invoice,
    };
    let payment_text = match kind {
        DocumentKind::Invoice => format!(
            "Zahlbar ohne Abzug bis zum {} auf das unten genannte Konto; bitte geben Sie die Rechnungsnummer {number} an.",
            format_date(&due_date)
        ),
        DocumentKind::CreditNote { .. } => "Der Betrag wird mit offenen Rechnungen verrechnet oder erstattet.".into(),
    };
    let content = InvoiceContent {
        kind,
        number,
        issue_date,
        period: ServicePeriod { start: invoice.period_start, end: invoice.period_end },
        buyer_reference: Some(invoice.buyer.customer_number.clone()),
        seller: app.config.billing.seller().map_err(anyhow::Error::msg)?,
        buyer: Buyer {
            name: invoice.buyer.name.clone(),
            address: PostalAddress {
                street: invoice.buyer.street.clone(),
                postcode: invoice.buyer.postcode.clone(),
                city: invoice.buyer.city.clone(),
                country: "DE".into(),
            },
            email: EmailAddress::parse(&invoice.buyer.email).map_err(|m| anyhow::anyhow!("buyer e-mail: {m}"))?,
            vat_id: None,
        },
        lines: lines(&app.db, &invoice.id)
            .await?
            .into_iter()
            .map(|line| InvoiceLine {
                description: line.description,
                quantity: line.quantity,
                unit: line.unit,
                unit_price: line.unit_price,
                vat_rate: VatRate::STANDARD,
            })
            .collect(),
        notes: invoice.notes.clone(),
        payment: PaymentTerms { due_date, text: payment_text, means: PaymentMeans::CreditTransfer },
    };
    Ok(InvoiceDocument::new(content)?)
}

pub async fn pdf(app: &AppState, invoice: &Invoice) -> anyhow::Result<Vec<u8>> {
    let document = document(app, invoice).await?;
    let created = chrono::DateTime::from_timestamp(invoice.created_at, 0).unwrap_or_default();
    Ok(super::pdf::invoice_pdf(&document, created))
}

pub async fn xrechnung(app: &AppState, invoice: &Invoice) -> anyhow::Result<Vec<u8>> {
    let document = document(app, invoice).await?;
    Ok(einvoice::cii_xml(&document, Flavour::XRechnung)?)
}

/// E-mails every issued invoice and credit note that has not gone out yet,
/// with the PDF (Factur-X) and the XRechnung XML attached. Marked sent only
/// after the mail server took it, so a crash sends again rather than never.
pub async fn send_unsent(app: &AppState) -> anyhow::Result<usize> {
    let ids: Vec<String> =
        sqlx::query_scalar("SELECT id FROM invoices WHERE status = 'issued' AND emailed_at IS NULL ORDER BY number")
            .fetch_all(app.db.pool())
            .await?;
    let mut sent = 0;
    for id in ids {
        let invoice = find(&app.db, &id).await?.context("invoice vanished")?;
        let stem = invoice.file_stem();
        let attachments = vec![
            Attachment {
                filename: format!("{stem}.pdf"),
                content_type: "application/pdf",
                content: pdf(app, &invoice).await?,
            },
            Attachment {
                filename: format!("{stem}-XRechnung.xml"),
                content_type: "application/xml",
                content: xrechnung(app, &invoice).await?,
            },
        ];
        let label = invoice.kind.label();
        let number = invoice.number.as_deref().unwrap_or_default();
        let body = format!(
            "Guten Tag,\n\nanbei erhalten Sie Ihre {label} {number} über {gross} (brutto) für den Zeitraum \
             {start} bis {end}.\n\nDie {label} liegt als PDF bei (mit eingebetteter E-Rechnung nach ZUGFeRD/Factur-X) \
             und zusätzlich als XRechnung. Alle Rechnungen finden Sie auch im Bereich „Abrechnung“ Ihres Portals.\n\n\
             Ihr {operator}-Team\n",
            gross = invoice.gross,
            start = format_date(&invoice.period_start),
            end = format_date(&invoice.period_end),
            operator = app.config.operator_name,
        );
        let email = Email {
            to: invoice.buyer.email.clone(),
            sender_name: app.config.operator_name.clone(),
            from_address: None,
            subject: format!("Ihre {label} {number}"),
            body,
        };
        app.mailer.send_with_attachments(email, attachments).await?;
        sqlx::query("UPDATE invoices SET emailed_at = $1 WHERE id = $2")
            .bind(app.clock.timestamp())
            .bind(&invoice.id)
            .execute(app.db.pool())
            .await?;
        sent += 1;
    }
    Ok(sent)
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
    super::dunning::after_payment(app, &now_paid).await?;
    Ok(now_paid.is_paid())
}

/// Why a credit note cannot be made as asked; shown to the operator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreditRefusal {
    #[error("Nur ausgestellte Rechnungen können gutgeschrieben werden.")]
    NotCreditable,
    #[error("Zu dieser Rechnung gibt es schon eine Gutschrift; bitte einen Betrag angeben.")]
    PartlyCredited,
    #[error("Bitte einen Betrag über 0,00 € angeben.")]
    NotPositive,
    #[error("Höchstens {0} (netto) können noch gutgeschrieben werden.")]
    TooMuch(Cents),
}

/// Corrects an issued invoice with a credit note: the whole invoice, or
/// `amount` (net) of it. The credit note is issued and sent at once.
pub async fn credit(
    app: &AppState,
    invoice_id: &str,
    amount: Option<Cents>,
    reason: &str,
    actor: &str,
) -> anyhow::Result<String> {
    let invoice = find(&app.db, invoice_id).await?.context("no such invoice")?;
    if !invoice.issued || invoice.kind != Kind::Invoice {
        return Err(CreditRefusal::NotCreditable.into());
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
                return Err(CreditRefusal::PartlyCredited.into());
            }
            lines(&app.db, invoice_id).await?
        }
        Some(amount) => {
            if amount.0 <= 0 {
                return Err(CreditRefusal::NotPositive.into());
            }
            if amount.0 > open {
                return Err(CreditRefusal::TooMuch(Cents(open)).into());
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
    super::dunning::after_payment(app, &corrected).await?;
    app.audit(actor, "credit_note", &format!("invoice:{invoice_id} credit_note:{id} {reason}")).await?;
    send_unsent(app).await?;
    Ok(id)
}
