//! What settles an invoice: payments received and credit notes. A payment
//! above what is still owed needs the operator's confirmation and then goes,
//! beyond the open amount, to the tenant's credit balance; a payment booked in
//! error is reversed (`reversal`), never deleted. After a payment or a credit
//! note, dunning lifts the suspension of the invoice's tenant once nothing is
//! owed. Every step is audited in the transaction that makes it.

mod credit;
mod reversal;

pub use credit::credit;
pub use reversal::{Reversal, reversals_between, reverse_payment};

use anyhow::Context;
use chrono::NaiveDate;
use tenant_app::db::{Db, new_id};

use super::balance::{self, Change, EntryKind};
use super::dunning;
use super::invoices::{Kind, find};
use super::money::Cents;
use super::refusal::{BillingError, Outcome, Refusal};
use crate::state::AppState;

/// The method of payments the operator records (console and API): a bank
/// transfer, identified by its statement line.
pub const BANK: &str = "bank";

/// Money received for an invoice, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub id: String,
    pub invoice_id: String,
    /// What arrived, in full.
    pub amount: Cents,
    /// The part above what the invoice still owed, which went to the credit balance.
    pub excess: Cents,
    pub method: String,
    pub reference: String,
    pub received_on: NaiveDate,
    pub recorded_by: String,
    pub recorded_at: i64,
    /// Set once the payment was reversed.
    pub reversal: Option<Reversal>,
}

impl Payment {
    /// What the payment settled of its invoice.
    pub fn applied(&self) -> Cents {
        self.amount - self.excess
    }
}

const PAYMENT_COLUMNS: &str = "p.id, p.invoice_id, p.amount_cents, p.excess_cents, p.method, p.reference, \
     p.received_on, p.recorded_by, p.created_at, r.reason, r.reversed_on, r.reversed_by, r.created_at";

type PaymentRow = (
    String,
    String,
    i64,
    i64,
    String,
    String,
    String,
    String,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
);

fn from_row(row: PaymentRow) -> anyhow::Result<Payment> {
    let (id, invoice_id, amount, excess, method, reference, received_on, recorded_by, recorded_at, reason, on, by, at) =
        row;
    let reversal = match (reason, on, by, at) {
        (Some(reason), Some(on), Some(by), Some(at)) => {
            Some(Reversal { reason, reversed_on: on.parse()?, reversed_by: by, reversed_at: at })
        }
        _ => None,
    };
    Ok(Payment {
        id,
        invoice_id,
        amount: Cents(amount),
        excess: Cents(excess),
        method,
        reference,
        received_on: received_on.parse()?,
        recorded_by,
        recorded_at,
        reversal,
    })
}

async fn payments_where(db: &Db, condition: &str, binds: &[String]) -> anyhow::Result<Vec<Payment>> {
    let sql = format!(
        "SELECT {PAYMENT_COLUMNS} FROM payments p LEFT JOIN payment_reversals r ON r.payment_id = p.id \
         WHERE {condition} ORDER BY p.received_on, p.created_at, p.id"
    );
    let mut query = sqlx::query_as::<_, PaymentRow>(&sql);
    for bind in binds {
        query = query.bind(bind.clone());
    }
    query.fetch_all(db.pool()).await?.into_iter().map(from_row).collect()
}

/// An invoice's payments, in the order they were received.
pub async fn payments(db: &Db, invoice_id: &str) -> anyhow::Result<Vec<Payment>> {
    payments_where(db, "p.invoice_id = $1", &[invoice_id.to_owned()]).await
}

pub async fn find_payment(db: &Db, payment_id: &str) -> anyhow::Result<Option<Payment>> {
    Ok(payments_where(db, "p.id = $1", &[payment_id.to_owned()]).await?.pop())
}

/// Payments received from `from` to `to` (both included), a page of `limit`
/// after the payment `after` (by id), for the DATEV export.
pub async fn payments_between(
    db: &Db,
    from: NaiveDate,
    to: NaiveDate,
    after: &str,
    limit: i64,
) -> anyhow::Result<Vec<Payment>> {
    let sql = format!(
        "SELECT {PAYMENT_COLUMNS} FROM payments p LEFT JOIN payment_reversals r ON r.payment_id = p.id \
         WHERE p.received_on >= $1 AND p.received_on <= $2 AND p.id > $3 ORDER BY p.id LIMIT $4"
    );
    let rows = sqlx::query_as::<_, PaymentRow>(&sql)
        .bind(from.to_string())
        .bind(to.to_string())
        .bind(after)
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    rows.into_iter().map(from_row).collect()
}

/// Whether a payment with this method and reference has been recorded (for
/// any invoice): recording it again is refused.
pub async fn payment_exists(db: &Db, method: &str, reference: &str) -> anyhow::Result<bool> {
    let found: Option<String> = sqlx::query_scalar("SELECT id FROM payments WHERE method = $1 AND reference = $2")
        .bind(method)
        .bind(reference)
        .fetch_optional(db.pool())
        .await?;
    Ok(found.is_some())
}

/// The largest payment a script may record, in cents: just under 100 million euros.
pub const MAX_PAYMENT_CENTS: i64 = 9_999_999_999;

/// An amount as a script gives it (the operator API): exactly one of text
/// or whole cents. Text is German or plain decimal notation as
/// `Cents::parse` reads it, written plainly: digits with `.` and `,` only, no
/// leading zero (`0,50` and `0.5` aside), above zero and below 100 million
/// euros. The OpenAPI document's pattern for `amount` describes exactly this.
pub fn amount_of(text: Option<&str>, cents: Option<i64>) -> Result<Cents, Refusal> {
    const PLAIN: &str = "Bitte den Betrag nur mit Ziffern, Punkt und Komma angeben, z. B. 295,12 oder 1.234,56.";
    let amount = match (text, cents) {
        (Some(_), Some(_)) => return Err(Refusal::TwoAmounts),
        (Some(text), None) => {
            if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b',') {
                return Err(Refusal::Amount(PLAIN));
            }
            let bytes = text.as_bytes();
            let leading_zero =
                bytes[0] == b'0' && !(bytes.len() >= 3 && matches!(bytes[1], b'.' | b',') && bytes.len() <= 4);
            if leading_zero {
                return Err(Refusal::Amount(PLAIN));
            }
            Cents::parse(text).map_err(Refusal::Amount)?
        }
        (None, Some(cents)) => Cents(cents),
        (None, None) => return Err(Refusal::Amount("Bitte geben Sie einen Betrag an.")),
    };
    match amount.0 {
        ..=0 => Err(Refusal::NotPositive),
        1..=MAX_PAYMENT_CENTS => Ok(amount),
        _ => Err(Refusal::Amount("Der Betrag ist zu groß.")),
    }
}

/// A payment to record.
#[derive(Debug, Clone)]
pub struct NewPayment<'a> {
    pub amount: Cents,
    /// `bank` (recorded by the operator) or `stripe`.
    pub method: &'a str,
    /// What identifies it: the bank statement line, the PaymentIntent.
    pub reference: &'a str,
    pub received_on: NaiveDate,
    /// The operator confirmed that more arrived than the invoice still owes.
    pub overpayment: bool,
    pub actor: &'a str,
}

/// What recording a payment did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub payment_id: String,
    /// What went to the tenant's credit balance.
    pub excess: Cents,
    /// Whether the invoice owes nothing any more.
    pub paid: bool,
}

/// Records money received for an issued invoice. A payment is identified by
/// its method and reference, so the same statement line or PaymentIntent is
/// refused the second time. More than the open amount is refused unless
/// `overpayment` confirms it; the excess then becomes the tenant's credit.
pub async fn record_payment(app: &AppState, invoice_id: &str, payment: &NewPayment<'_>) -> Outcome<Recorded> {
    if payment.amount.0 <= 0 {
        return Err(Refusal::NotPositive.into());
    }
    if payment.received_on > app.clock.berlin_today() {
        return Err(Refusal::PaidInFuture.into());
    }
    // Another payment or credit note may change what is owed between reading
    // and writing; the conditional update notices, and it is read again.
    for _ in 0..3 {
        match try_record(app, invoice_id, payment).await? {
            Some(recorded) => {
                let invoice = find(&app.db, invoice_id).await?.context("invoice vanished")?;
                dunning::after_payment(app, &invoice).await?;
                return Ok(recorded);
            }
            None => continue,
        }
    }
    Err(BillingError::Failed(anyhow::anyhow!("invoice {invoice_id} kept changing while a payment was recorded")))
}

async fn try_record(app: &AppState, invoice_id: &str, payment: &NewPayment<'_>) -> Outcome<Option<Recorded>> {
    let invoice = find(&app.db, invoice_id).await?.context("no such invoice")?;
    if !invoice.issued || invoice.kind != Kind::Invoice {
        return Err(Refusal::NoPaymentDue.into());
    }
    if payment_exists(&app.db, payment.method, payment.reference).await? {
        return Err(Refusal::DuplicateReference.into());
    }
    let open = invoice.open_amount();
    let excess = Cents((payment.amount.0 - open.0).max(0));
    if excess.0 > 0 && !payment.overpayment {
        if open.0 == 0 {
            return Err(Refusal::NoPaymentDue.into());
        }
        return Err(Refusal::Overpayment { open, excess }.into());
    }
    let applied = payment.amount - excess;
    let now = app.clock.timestamp();
    let id = new_id();
    let mut tx = app.db.pool().begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO payments (id, invoice_id, amount_cents, excess_cents, method, reference, received_on, \
           recorded_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (method, reference) DO NOTHING",
    )
    .bind(&id)
    .bind(invoice_id)
    .bind(payment.amount.0)
    .bind(excess.0)
    .bind(payment.method)
    .bind(payment.reference)
    .bind(payment.received_on.to_string())
    .bind(payment.actor)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(Refusal::DuplicateReference.into());
    }
    if applied.0 > 0 {
        let updated = sqlx::query(
            "UPDATE invoices SET paid_cents = paid_cents + $1, \
               paid_at = CASE WHEN gross_cents - prepaid_cents - paid_cents - credited_cents <= $1 \
                 THEN COALESCE(paid_at, $2) ELSE paid_at END \
             WHERE id = $3 AND gross_cents - prepaid_cents - paid_cents - credited_cents = $4",
        )
        .bind(applied.0)
        .bind(now)
        .bind(invoice_id)
        .bind(open.0)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() != 1 {
            return Ok(None);
        }
    }
    let number = invoice.number.as_deref().unwrap_or_default();
    if excess.0 > 0 {
        let change = Change {
            tenant_id: &invoice.tenant_id,
            kind: EntryKind::Overpayment,
            payment_id: Some(&id),
            invoice_id: Some(invoice_id),
            reference: payment.reference,
            booked_on: payment.received_on,
            actor: payment.actor,
            now,
        };
        balance::add(&mut tx, &change, excess).await?;
    }
    let credit = if excess.0 > 0 { format!(", davon {excess} als Guthaben") } else { String::new() };
    crate::audit::record_in(
        &mut tx,
        now,
        payment.actor,
        "record_payment",
        &format!(
            "tenant:{} invoice:{invoice_id} Rechnung {number}: {} eingegangen am {} ({} {}){credit}",
            invoice.tenant_id, payment.amount, payment.received_on, payment.method, payment.reference
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(Some(Recorded { payment_id: id, excess, paid: applied == open }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pattern of `amount` in openapi.json, which must accept exactly what `amount_of` does.
    fn pattern() -> regex_lite::Regex {
        let document: serde_json::Value = serde_json::from_str(include_str!("../../web/openapi.json")).unwrap();
        let pattern = document["components"]["schemas"]["PaymentRequest"]["properties"]["amount"]["pattern"]
            .as_str()
            .unwrap()
            .to_owned();
        regex_lite::Regex::new(&pattern).unwrap()
    }

    #[test]
    fn api_amounts_are_plain_and_unambiguous() {
        assert_eq!(amount_of(Some("295,12"), None), Ok(Cents(29_512)));
        assert_eq!(amount_of(Some("295.12"), None), Ok(Cents(29_512)));
        assert_eq!(amount_of(Some("1.234,56"), None), Ok(Cents(123_456)));
        assert_eq!(amount_of(None, Some(29_512)), Ok(Cents(29_512)));
        assert!(matches!(amount_of(Some("295.12.0"), None), Err(Refusal::Amount(m)) if m.contains("nicht eindeutig")));
        assert!(amount_of(Some("0.123"), None).is_err() && amount_of(Some("1,2,3"), None).is_err());
        assert_eq!(amount_of(Some("1"), Some(100)), Err(Refusal::TwoAmounts));
        assert_eq!(amount_of(None, Some(0)), Err(Refusal::NotPositive));
        assert!(amount_of(Some("12 €"), None).is_err(), "no currency in a script's amount");
    }

    #[test]
    fn the_documented_pattern_is_what_is_accepted() {
        let pattern = pattern();
        // Every string of these characters up to six long, and some longer ones.
        let alphabet = ['0', '1', '9', '.', ','];
        let mut strings: Vec<String> = vec![String::new()];
        let mut frontier = strings.clone();
        for _ in 0..6 {
            frontier = frontier.iter().flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}"))).collect();
            strings.extend(frontier.iter().cloned());
        }
        strings.extend(
            [
                "99.999.999,99",
                "99999999,99",
                "100000000",
                "12.345.678",
                "123.456.789",
                "1.234.567,8",
                "0,05",
                "0.5",
                " 1",
                "1€",
            ]
            .map(String::from),
        );
        for text in strings {
            assert_eq!(
                pattern.is_match(&text),
                amount_of(Some(&text), None).is_ok(),
                "{text:?}: pattern and parser disagree ({:?})",
                amount_of(Some(&text), None)
            );
        }
    }
}
