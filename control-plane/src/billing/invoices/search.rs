//! Finding invoices: by tenant, status, issue date and text, newest first, a
//! page at a time. The conditions are SQL, so a request reads only the page it
//! shows, however many invoices there are.

use chrono::NaiveDate;
use serde::Deserialize;
use tenant_app::db::Db;

use super::{COLUMNS, Invoice, Status, from_row};
use crate::billing::money::Cents;

/// What the console's invoice list filters by (a GET form, so a filtered list
/// can be bookmarked).
#[derive(Debug, Default, Clone, Deserialize)]
pub struct Filter {
    /// `open` (with overdue), `overdue`, `paid`, `cancelled`, `draft`,
    /// `credit_note`, or empty for all.
    #[serde(default)]
    pub status: String,
    /// `YYYY-MM` of the issue date, or empty.
    #[serde(default)]
    pub month: String,
    /// Part of the number or the recipient's name.
    #[serde(default)]
    pub q: String,
    /// The last invoice of the page before (older ones follow).
    #[serde(default)]
    pub nach: String,
}

impl Filter {
    /// The search the list shows, `limit` at a time.
    pub fn search(&self, limit: i64) -> Search {
        let month = self.month.trim();
        let first = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").ok();
        let status = match self.status.as_str() {
            "open" => Some(Wanted::Unpaid),
            "overdue" => Some(Wanted::Exactly(Status::Overdue)),
            "paid" => Some(Wanted::Exactly(Status::Paid)),
            "cancelled" => Some(Wanted::Exactly(Status::Cancelled)),
            "draft" => Some(Wanted::Exactly(Status::Draft)),
            "credit_note" => Some(Wanted::Exactly(Status::CreditNote)),
            _ => None,
        };
        Search {
            status,
            issued_from: first,
            issued_to: first.map(|day| day + chrono::Months::new(1) - chrono::Days::new(1)),
            text: Some(self.q.trim().to_owned()).filter(|q| !q.is_empty()),
            before: Some(self.nach.trim().to_owned()).filter(|id| !id.is_empty()),
            limit,
            ..Search::default()
        }
    }
}

/// Which statuses a search wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wanted {
    Exactly(Status),
    /// Open or overdue: money is still expected.
    Unpaid,
    /// Nothing is due on it: paid invoices and credit notes (the API's `paid`).
    PaidOrCreditNote,
}

#[derive(Debug, Default, Clone)]
pub struct Search {
    pub tenant_id: Option<String>,
    pub status: Option<Wanted>,
    /// Only issued documents (the API never shows drafts).
    pub issued_only: bool,
    /// Issue date from and to, both days included.
    pub issued_from: Option<NaiveDate>,
    pub issued_to: Option<NaiveDate>,
    /// Part of the number or of the recipient (name, address, e-mail).
    pub text: Option<String>,
    /// Only invoices listed after this one (its id: the cursor of a page).
    pub before: Option<String>,
    /// At most this many.
    pub limit: i64,
}

enum Bind {
    Text(String),
    Number(i64),
}

/// A WHERE clause with its parameters, numbered in order of first use.
#[derive(Default)]
struct Conditions {
    sql: Vec<String>,
    binds: Vec<Bind>,
}

impl Conditions {
    fn param(&mut self, bind: Bind) -> String {
        self.binds.push(bind);
        format!("${}", self.binds.len())
    }

    fn of(search: &Search, today: NaiveDate) -> Conditions {
        let mut c = Conditions::default();
        if let Some(tenant) = &search.tenant_id {
            let p = c.param(Bind::Text(tenant.clone()));
            c.sql.push(format!("tenant_id = {p}"));
        }
        if search.issued_only {
            c.sql.push("status = 'issued'".into());
        }
        if let Some(wanted) = search.status {
            let condition = match wanted {
                Wanted::Unpaid => UNPAID.to_owned(),
                Wanted::PaidOrCreditNote => format!(
                    "(status = 'issued' AND kind = 'credit_note') OR ({INVOICE} AND paid_at IS NOT NULL AND NOT ({CANCELLED}))"
                ),
                Wanted::Exactly(Status::Draft) => "status = 'draft'".to_owned(),
                Wanted::Exactly(Status::CreditNote) => "status = 'issued' AND kind = 'credit_note'".to_owned(),
                Wanted::Exactly(Status::Cancelled) => format!("{INVOICE} AND {CANCELLED}"),
                Wanted::Exactly(Status::Paid) => format!("{INVOICE} AND paid_at IS NOT NULL AND NOT ({CANCELLED})"),
                Wanted::Exactly(Status::Overdue) => {
                    let p = c.param(Bind::Text(today.to_string()));
                    format!("{UNPAID} AND due_date < {p}")
                }
                Wanted::Exactly(Status::Open) => {
                    let p = c.param(Bind::Text(today.to_string()));
                    format!("{UNPAID} AND due_date >= {p}")
                }
            };
            c.sql.push(format!("({condition})"));
        }
        if let Some(from) = search.issued_from {
            let p = c.param(Bind::Text(from.to_string()));
            c.sql.push(format!("issue_date >= {p}"));
        }
        if let Some(to) = search.issued_to {
            let p = c.param(Bind::Text(to.to_string()));
            c.sql.push(format!("issue_date <= {p}"));
        }
        if let Some(text) = &search.text {
            let escaped: String = text
                .to_lowercase()
                .chars()
                .flat_map(|ch| match ch {
                    '%' | '_' | '\\' => vec!['\\', ch],
                    other => vec![other],
                })
                .collect();
            let p = c.param(Bind::Text(format!("%{escaped}%")));
            c.sql.push(format!(
                "(LOWER(COALESCE(number, '')) LIKE {p} ESCAPE '\\' OR LOWER(buyer) LIKE {p} ESCAPE '\\')"
            ));
        }
        if let Some(before) = &search.before {
            let p = c.param(Bind::Text(before.clone()));
            c.sql.push(format!(
                "(created_at < (SELECT created_at FROM invoices WHERE id = {p}) \
                 OR (created_at = (SELECT created_at FROM invoices WHERE id = {p}) AND id < {p}))"
            ));
        }
        c
    }

    fn clause(&self) -> String {
        if self.sql.is_empty() { String::new() } else { format!(" WHERE {}", self.sql.join(" AND ")) }
    }

    fn bind<'q>(
        self,
        mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        for bind in self.binds {
            query = match bind {
                Bind::Text(text) => query.bind(text),
                Bind::Number(number) => query.bind(number),
            };
        }
        query
    }
}

const INVOICE: &str = "status = 'issued' AND kind = 'invoice'";
const UNPAID: &str = "status = 'issued' AND kind = 'invoice' AND paid_at IS NULL";
const CANCELLED: &str = "credited_cents > 0 AND credited_cents >= gross_cents";

/// A page of the invoices a search finds, newest first, and whether more follow.
pub async fn search(db: &Db, search: &Search, today: NaiveDate) -> anyhow::Result<(Vec<Invoice>, bool)> {
    let mut conditions = Conditions::of(search, today);
    let limit = conditions.param(Bind::Number(search.limit.max(1) + 1));
    let sql = format!(
        "SELECT {COLUMNS} FROM invoices{} ORDER BY created_at DESC, id DESC LIMIT {limit}",
        conditions.clause()
    );
    let rows = conditions.bind(sqlx::query(&sql)).fetch_all(db.pool()).await?;
    let more = rows.len() as i64 > search.limit.max(1);
    let invoices = rows.into_iter().take(search.limit.max(1) as usize).map(from_row).collect::<anyhow::Result<_>>()?;
    Ok((invoices, more))
}

/// What a search finds in all: how many documents, the gross of its issued
/// invoices, and what they still owe.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub count: i64,
    pub gross: Cents,
    pub open: Cents,
}

pub async fn totals(db: &Db, search: &Search, today: NaiveDate) -> anyhow::Result<Totals> {
    let conditions = Conditions::of(&Search { before: None, ..search.clone() }, today);
    let sql = format!(
        "SELECT CAST(COUNT(*) AS BIGINT), \
           CAST(COALESCE(SUM(CASE WHEN {INVOICE} THEN gross_cents ELSE 0 END), 0) AS BIGINT), \
           CAST(COALESCE(SUM(CASE WHEN {UNPAID} THEN gross_cents - prepaid_cents - paid_cents - credited_cents \
             ELSE 0 END), 0) AS BIGINT) \
         FROM invoices{}",
        conditions.clause()
    );
    let row: (i64, i64, i64) = {
        use sqlx::Row;
        let row = conditions.bind(sqlx::query(&sql)).fetch_one(db.pool()).await?;
        (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?)
    };
    Ok(Totals { count: row.0, gross: Cents(row.1), open: Cents(row.2) })
}
