//! The customers and contracts an import compares with and writes: read by
//! identity a batch at a time, written with multi-row statements.

use std::collections::HashSet;

use sqlx::AnyConnection;

use crate::contracts::{ContractStatus, PaymentFrequency};
use crate::customers::{Salutation, match_key};
use crate::values::Cents;

/// Rows per multi-row statement: well under both engines' parameter limits. A
/// batch of 500 contracts is two statements of contracts, one of customers.
const ROWS_PER_STATEMENT: usize = 250;

/// A customer as stored (or as it will be once the batch is written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCustomer {
    pub id: String,
    pub salutation: Salutation,
    pub title: String,
    pub first_name: String,
    pub last_name: String,
    pub birth_date: Option<String>,
    pub street: String,
    pub postal_code: String,
    pub city: String,
    pub email: Option<String>,
    pub phone: String,
    pub number: Option<String>,
}

impl StoredCustomer {
    pub fn match_key(&self) -> String {
        match_key(&self.first_name, &self.last_name, self.birth_date.as_deref(), &self.postal_code)
    }

    pub fn name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name).trim().to_owned()
    }
}

/// A contract as stored (or as it will be).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredContract {
    pub id: String,
    pub customer_id: String,
    pub sparte_id: String,
    pub produkt_id: Option<String>,
    pub insurer: String,
    pub insurer_number: String,
    pub sparte_code: Option<String>,
    pub policy_number: String,
    pub premium: Cents,
    pub frequency: PaymentFrequency,
    pub start_date: String,
    pub end_date: Option<String>,
    pub main_due_date: Option<String>,
    pub status: ContractStatus,
}

const CUSTOMER_COLUMNS: &str = "id, salutation, title, first_name, last_name, birth_date, street, postal_code, city, email, phone, customer_number";

type CustomerRow = (
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    String,
    Option<String>,
    String,
    Option<String>,
);

fn customer(row: CustomerRow) -> StoredCustomer {
    let (id, salutation, title, first_name, last_name, birth_date, street, postal_code, city, email, phone, number) =
        row;
    StoredCustomer {
        id,
        salutation: Salutation::parse(&salutation).unwrap_or_default(),
        title,
        first_name,
        last_name,
        birth_date,
        street,
        postal_code,
        city,
        email,
        phone,
        number,
    }
}

fn placeholders(count: usize, offset: usize) -> String {
    (1..=count).map(|i| format!("${}", i + offset)).collect::<Vec<_>>().join(", ")
}

/// Customers whose `column` (customer_number or match_key) is one of `values`.
pub async fn customers_by(
    conn: &mut AnyConnection,
    column: &str,
    values: &[String],
) -> Result<Vec<StoredCustomer>, sqlx::Error> {
    let mut found = Vec::new();
    for chunk in values.chunks(ROWS_PER_STATEMENT) {
        let sql =
            format!("SELECT {CUSTOMER_COLUMNS} FROM customers WHERE {column} IN ({})", placeholders(chunk.len(), 0));
        let mut query = sqlx::query_as::<_, CustomerRow>(&sql);
        for value in chunk {
            query = query.bind(value);
        }
        found.extend(query.fetch_all(&mut *conn).await?.into_iter().map(customer));
    }
    Ok(found)
}

type ContractRow = (
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    Option<String>,
    String,
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
);

const CONTRACT_COLUMNS: &str = "id, customer_id, sparte_id, produkt_id, insurer, insurer_number, sparte_code, \
     policy_number, premium_cents, payment_frequency, start_date, end_date, main_due_date, status";

/// Contracts with one of these policy numbers.
pub async fn contracts_by_policy(
    conn: &mut AnyConnection,
    policies: &[String],
) -> Result<Vec<StoredContract>, sqlx::Error> {
    let mut found = Vec::new();
    for chunk in policies.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "SELECT {CONTRACT_COLUMNS} FROM contracts WHERE policy_number IN ({})",
            placeholders(chunk.len(), 0)
        );
        let mut query = sqlx::query_as::<_, ContractRow>(&sql);
        for value in chunk {
            query = query.bind(value);
        }
        for row in query.fetch_all(&mut *conn).await? {
            let (id, customer_id, sparte_id, produkt_id, insurer, insurer_number, sparte_code, policy_number, premium) =
                (row.0, row.1, row.2, row.3, row.4, row.5, row.6, row.7, row.8);
            found.push(StoredContract {
                id,
                customer_id,
                sparte_id,
                produkt_id,
                insurer,
                insurer_number,
                sparte_code,
                policy_number,
                premium: Cents(premium),
                frequency: PaymentFrequency::parse(&row.9).unwrap_or(PaymentFrequency::Annual),
                start_date: row.10,
                end_date: row.11,
                main_due_date: row.12,
                status: ContractStatus::parse(&row.13).unwrap_or(ContractStatus::Active),
            });
        }
    }
    Ok(found)
}

pub async fn insert_customers(
    conn: &mut AnyConnection,
    customers: &[&StoredCustomer],
    now: i64,
) -> Result<(), sqlx::Error> {
    for chunk in customers.chunks(ROWS_PER_STATEMENT) {
        // `now` is a parameter, not text: the statement's text must repeat so that
        // its prepared form is reused (preparing thousands of parameters is costly).
        let rows: Vec<String> =
            (0..chunk.len()).map(|i| format!("({}, $1, $1)", placeholders(13, 1 + i * 13))).collect();
        let sql = format!(
            "INSERT INTO customers (id, salutation, title, first_name, last_name, birth_date, street, postal_code, city, \
               email, phone, customer_number, match_key, created_at, updated_at) VALUES {}",
            rows.join(", ")
        );
        let mut query = sqlx::query(&sql).bind(now);
        for c in chunk {
            query = query
                .bind(&c.id)
                .bind(c.salutation.as_str())
                .bind(&c.title)
                .bind(&c.first_name)
                .bind(&c.last_name)
                .bind(&c.birth_date)
                .bind(&c.street)
                .bind(&c.postal_code)
                .bind(&c.city)
                .bind(&c.email)
                .bind(&c.phone)
                .bind(&c.number)
                .bind(c.match_key());
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

pub async fn update_customer(conn: &mut AnyConnection, c: &StoredCustomer, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE customers SET salutation = $1, title = $2, first_name = $3, last_name = $4, birth_date = $5, \
           street = $6, postal_code = $7, city = $8, email = $9, phone = $10, customer_number = $11, match_key = $12, \
           updated_at = $13 WHERE id = $14",
    )
    .bind(c.salutation.as_str())
    .bind(&c.title)
    .bind(&c.first_name)
    .bind(&c.last_name)
    .bind(&c.birth_date)
    .bind(&c.street)
    .bind(&c.postal_code)
    .bind(&c.city)
    .bind(&c.email)
    .bind(&c.phone)
    .bind(&c.number)
    .bind(c.match_key())
    .bind(now)
    .bind(&c.id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn insert_contracts(
    conn: &mut AnyConnection,
    contracts: &[&StoredContract],
    now: i64,
) -> Result<(), sqlx::Error> {
    for chunk in contracts.chunks(ROWS_PER_STATEMENT) {
        let rows: Vec<String> =
            (0..chunk.len()).map(|i| format!("({}, '', $1, $1)", placeholders(14, 1 + i * 14))).collect();
        let sql = format!(
            "INSERT INTO contracts (id, customer_id, sparte_id, produkt_id, insurer, insurer_number, sparte_code, \
               policy_number, premium_cents, payment_frequency, start_date, end_date, main_due_date, status, notes, \
               created_at, updated_at) VALUES {}",
            rows.join(", ")
        );
        let mut query = sqlx::query(&sql).bind(now);
        for k in chunk {
            query = query
                .bind(&k.id)
                .bind(&k.customer_id)
                .bind(&k.sparte_id)
                .bind(&k.produkt_id)
                .bind(&k.insurer)
                .bind(&k.insurer_number)
                .bind(&k.sparte_code)
                .bind(&k.policy_number)
                .bind(k.premium.0)
                .bind(k.frequency.as_str())
                .bind(&k.start_date)
                .bind(&k.end_date)
                .bind(&k.main_due_date)
                .bind(k.status.as_str());
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

pub async fn update_contract(conn: &mut AnyConnection, k: &StoredContract, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE contracts SET customer_id = $1, sparte_id = $2, produkt_id = $3, insurer = $4, insurer_number = $5, \
           sparte_code = $6, premium_cents = $7, payment_frequency = $8, start_date = $9, end_date = $10, \
           main_due_date = $11, status = $12, updated_at = $13 WHERE id = $14",
    )
    .bind(&k.customer_id)
    .bind(&k.sparte_id)
    .bind(&k.produkt_id)
    .bind(&k.insurer)
    .bind(&k.insurer_number)
    .bind(&k.sparte_code)
    .bind(k.premium.0)
    .bind(k.frequency.as_str())
    .bind(&k.start_date)
    .bind(&k.end_date)
    .bind(&k.main_due_date)
    .bind(k.status.as_str())
    .bind(now)
    .bind(&k.id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Customers stored before imports existed have no match key yet: computed
/// here, in Rust, because the key folds case the way only Unicode does.
pub async fn backfill_match_keys(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    let rows: Vec<(String, String, String, Option<String>, String)> = sqlx::query_as(
        "SELECT id, first_name, last_name, birth_date, postal_code FROM customers WHERE match_key IS NULL",
    )
    .fetch_all(&mut *conn)
    .await?;
    for (id, first, last, birth, postal) in rows {
        sqlx::query("UPDATE customers SET match_key = $1 WHERE id = $2")
            .bind(match_key(&first, &last, birth.as_deref(), &postal))
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Distinct values, in order of first appearance.
pub fn distinct(values: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut seen = HashSet::new();
    values.into_iter().filter(|v| seen.insert(v.clone())).collect()
}
