//! The broker's customers (contacts). Every customer that is not archived counts
//! as one contact for billing and plan limits.

use crate::db::{Db, new_id, now};
use crate::values::{EmailAddress, optional_text, parse_optional_date, required_text};
use crate::web::FieldErrors;

#[derive(Debug, Clone)]
pub struct Customer {
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub phone: String,
    pub birth_date: Option<String>,
    pub street: String,
    pub postal_code: String,
    pub city: String,
    pub archived: bool,
}

impl Customer {
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }
}

/// The customer form as submitted: every field a string, parsed by [`NewCustomer::parse`].
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(default)]
pub struct CustomerForm {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: String,
    pub birth_date: String,
    pub street: String,
    pub postal_code: String,
    pub city: String,
}

/// A valid customer, ready to be stored.
#[derive(Debug, Clone)]
pub struct NewCustomer {
    pub first_name: String,
    pub last_name: String,
    pub email: Option<EmailAddress>,
    pub phone: String,
    pub birth_date: Option<String>,
    pub street: String,
    pub postal_code: String,
    pub city: String,
}

impl NewCustomer {
    pub fn parse(form: &CustomerForm) -> Result<NewCustomer, FieldErrors> {
        let mut errors = FieldErrors::default();
        let mut field = |name: &'static str, result: Result<String, &'static str>| {
            result
                .map_err(|message| errors.add(name, message))
                .unwrap_or_default()
        };
        let first_name = field("first_name", required_text(&form.first_name, 100));
        let last_name = field("last_name", required_text(&form.last_name, 100));
        let phone = field("phone", optional_text(&form.phone, 50));
        let street = field("street", optional_text(&form.street, 200));
        let postal_code = field("postal_code", optional_text(&form.postal_code, 10));
        let city = field("city", optional_text(&form.city, 100));
        let email = if form.email.trim().is_empty() {
            None
        } else {
            EmailAddress::parse(&form.email)
                .map_err(|message| errors.add("email", message))
                .ok()
        };
        let birth_date = match parse_optional_date(&form.birth_date) {
            Ok(date) => date.map(|d| d.to_string()),
            Err(message) => {
                errors.add("birth_date", message);
                None
            }
        };
        errors.into_result(|| NewCustomer {
            first_name,
            last_name,
            email,
            phone,
            birth_date,
            street,
            postal_code,
            city,
        })
    }
}

type CustomerRow = (
    String,
    String,
    String,
    Option<String>,
    String,
    Option<String>,
    String,
    String,
    String,
    Option<i64>,
);

const COLUMNS: &str =
    "id, first_name, last_name, email, phone, birth_date, street, postal_code, city, archived_at";

fn from_row(row: CustomerRow) -> Customer {
    let (
        id,
        first_name,
        last_name,
        email,
        phone,
        birth_date,
        street,
        postal_code,
        city,
        archived_at,
    ) = row;
    Customer {
        id,
        first_name,
        last_name,
        email,
        phone,
        birth_date,
        street,
        postal_code,
        city,
        archived: archived_at.is_some(),
    }
}

pub async fn create(db: &Db, customer: &NewCustomer) -> Result<String, sqlx::Error> {
    let id = new_id();
    let now = now();
    sqlx::query(
        "INSERT INTO customers (id, first_name, last_name, email, phone, birth_date, street, postal_code, city, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&id)
    .bind(&customer.first_name)
    .bind(&customer.last_name)
    .bind(customer.email.as_ref().map(EmailAddress::as_str))
    .bind(&customer.phone)
    .bind(&customer.birth_date)
    .bind(&customer.street)
    .bind(&customer.postal_code)
    .bind(&customer.city)
    .bind(now)
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(id)
}

pub async fn find(db: &Db, id: &str) -> Result<Option<Customer>, sqlx::Error> {
    let row: Option<CustomerRow> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM customers WHERE id = $1"))
            .bind(id)
            .fetch_optional(db.pool())
            .await?;
    Ok(row.map(from_row))
}

/// Active customers matching a search over name, e-mail and policy number.
pub async fn search(
    db: &Db,
    query: &str,
    limit: i64,
    offset: i64,
) -> Result<Vec<Customer>, sqlx::Error> {
    let pattern = format!(
        "%{}%",
        query
            .trim()
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    let rows: Vec<CustomerRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM customers c WHERE archived_at IS NULL AND ( \
           LOWER(first_name || ' ' || last_name) LIKE $1 ESCAPE '\\' \
           OR LOWER(COALESCE(email, '')) LIKE $1 ESCAPE '\\' \
           OR EXISTS (SELECT 1 FROM contracts k WHERE k.customer_id = c.id AND LOWER(k.policy_number) LIKE $1 ESCAPE '\\')) \
         ORDER BY last_name, first_name, id LIMIT $2 OFFSET $3"
    ))
    .bind(pattern)
    .bind(limit)
    .bind(offset)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(from_row).collect())
}

/// The number of contacts: customers that are not archived.
pub async fn contact_count(db: &Db) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM customers WHERE archived_at IS NULL")
        .fetch_one(db.pool())
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customer_form_reports_each_bad_field() {
        let form = CustomerForm {
            first_name: " ".into(),
            last_name: "Muster".into(),
            email: "nope".into(),
            birth_date: "32.13.1990".into(),
            ..Default::default()
        };
        let errors = NewCustomer::parse(&form).unwrap_err();
        assert!(errors.get("first_name").is_some());
        assert!(errors.get("email").is_some());
        assert!(errors.get("birth_date").is_some());
        assert!(errors.get("last_name").is_none());
    }

    #[test]
    fn customer_form_accepts_minimal_input() {
        let form = CustomerForm {
            first_name: "Erika".into(),
            last_name: "Muster".into(),
            ..Default::default()
        };
        let customer = NewCustomer::parse(&form).unwrap();
        assert_eq!(customer.email, None);
        assert_eq!(customer.birth_date, None);
    }
}
