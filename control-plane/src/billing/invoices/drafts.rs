//! Drafts, written in the caller's transaction, and finalising them with the
//! next gapless number of their year.

use chrono::{Datelike, NaiveDate};
use tenant_app::db::{Db, new_id};

use super::{BuyerSnapshot, Kind, Line, unit_code};
use crate::billing::document::ServicePeriod;
use crate::billing::money::{Cents, Totals, VatRate};
use crate::state::AppState;

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
    /// The tenant's credit balance used on it (taken from the balance in the
    /// same transaction, `billing::balance::take`).
    pub prepaid: Cents,
}

pub async fn insert_draft(tx: &mut sqlx::AnyConnection, draft: &Draft<'_>, now: i64) -> anyhow::Result<String> {
    Ok(insert_drafts(tx, std::slice::from_ref(draft), now).await?.remove(0))
}

/// Invoices per multi-row INSERT (15 parameters each) and lines (7 each): few
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
                let p: Vec<String> = (1..=15).map(|n| format!("${}", i * 15 + n)).collect();
                format!(
                    "({}, {}, {}, {}, NULL, 'draft', NULL, NULL, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
                    p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12], p[13], p[14]
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO invoices (id, tenant_id, kind, run_key, number, status, issue_date, due_date, period_start, \
               period_end, net_cents, vat_cents, gross_cents, corrects, buyer, notes, created_at, prepaid_cents, paid_at) \
             VALUES {}",
            rows.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for (draft, id) in chunk.iter().zip(chunk_ids) {
            let totals = Totals::from_lines(draft.lines.iter().map(|l| (l.net(), VatRate::STANDARD)));
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
                .bind(now)
                .bind(draft.prepaid.0)
                // Covered by the credit balance alone: nothing is owed from the start.
                .bind((draft.prepaid.0 > 0 && draft.prepaid >= totals.gross).then_some(now));
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
                let p: Vec<String> = (1..=7).map(|n| format!("${}", i * 7 + n)).collect();
                format!("({})", p.join(", "))
            })
            .collect();
        let sql = format!(
            "INSERT INTO invoice_lines (invoice_id, position, description, quantity, unit, unit_cents, kind) VALUES {}",
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
                .bind(line.unit_price.0)
                .bind(line.kind.as_str());
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
