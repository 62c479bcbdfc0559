//! The broker's customers (contacts). Every customer that is not archived counts
//! as one contact for billing and plan limits.

use crate::db::{Db, new_id, now};
use crate::values::{EmailAddress, optional_text, parse_optional_date, required_text};
use crate::web::FieldErrors;

#[derive(Debug, Clone)]
pub struct Customer {
    pub id: String,
    pub household_id: Option<String>,
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

    /// The edit form, filled with this customer's data.
    pub fn to_form(&self) -> CustomerForm {
        CustomerForm {
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            email: self.email.clone().unwrap_or_default(),
            phone: self.phone.clone(),
            birth_date: self.birth_date.clone().unwrap_or_default(),
            street: self.street.clone(),
            postal_code: self.postal_code.clone(),
            city: self.city.clone(),
        }
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
            result.map_err(|message| errors.add(name, message)).unwrap_or_default()
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
            EmailAddress::parse(&form.email).map_err(|message| errors.add("email", message)).ok()
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
    Option<String>,
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
    "id, household_id, first_name, last_name, email, phone, birth_date, street, postal_code, city, archived_at";

fn from_row(row: CustomerRow) -> Customer {
    let (id, household_id, first_name, last_name, email, phone, birth_date, street, postal_code, city, archived_at) =
        row;
    Customer {
        id,
        household_id,
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
    create_in_household(db, customer, None).await
}

/// Creates a customer who belongs to a household from the start (one statement,
/// so a household removed meanwhile fails it as a foreign key violation).
pub async fn create_in_household(
    db: &Db,
    customer: &NewCustomer,
    household_id: Option<&str>,
) -> Result<String, sqlx::Error> {
    let id = new_id();
    let now = now();
    sqlx::query(
        "INSERT INTO customers (id, first_name, last_name, email, phone, birth_date, street, postal_code, city, created_at, updated_at, household_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
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
    .bind(household_id)
    .execute(db.pool())
    .await?;
    Ok(id)
}

pub async fn find(db: &Db, id: &str) -> Result<Option<Customer>, sqlx::Error> {
    let row: Option<CustomerRow> = sqlx::query_as(&format!("SELECT {COLUMNS} FROM customers WHERE id = $1"))
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    Ok(row.map(from_row))
}

/// Customers matching a search over name, e-mail and policy number: the active
/// ones, or with `archived` the archived ones.
pub async fn search(
    db: &Db,
    query: &str,
    archived: bool,
    limit: i64,
    offset: i64,
) -> Result<Vec<Customer>, sqlx::Error> {
    let pattern = like_pattern(query);
    let rows: Vec<CustomerRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM customers c WHERE ( \
           LOWER(first_name || ' ' || last_name) LIKE $1 ESCAPE '\\' \
           OR LOWER(COALESCE(email, '')) LIKE $1 ESCAPE '\\' \
           OR EXISTS (SELECT 1 FROM contracts k WHERE k.customer_id = c.id AND LOWER(k.policy_number) LIKE $1 ESCAPE '\\')) \
           AND (CASE WHEN archived_at IS NULL THEN 0 ELSE 1 END) = $2 \
         ORDER BY last_name, first_name, id LIMIT $3 OFFSET $4"
    ))
    .bind(pattern)
    .bind(i64::from(archived))
    .bind(limit)
    .bind(offset)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(from_row).collect())
}

/// The SQL `LIKE` pattern that finds `query` anywhere, with its wildcards escaped.
fn like_pattern(query: &str) -> String {
    format!("%{}%", query.trim().to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"))
}

/// Like [`search`], but in id (creation) order after `after`: the API's keyset
/// pagination, which costs the same on every page.
pub async fn page(
    db: &Db,
    query: &str,
    archived: bool,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Customer>, sqlx::Error> {
    let rows: Vec<CustomerRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM customers c WHERE c.id > $1 AND ($2 = '%%' OR \
           LOWER(first_name || ' ' || last_name) LIKE $2 ESCAPE '\\' \
           OR LOWER(COALESCE(email, '')) LIKE $2 ESCAPE '\\' \
           OR EXISTS (SELECT 1 FROM contracts k WHERE k.customer_id = c.id AND LOWER(k.policy_number) LIKE $2 ESCAPE '\\')) \
           AND (CASE WHEN archived_at IS NULL THEN 0 ELSE 1 END) = $3 \
         ORDER BY c.id LIMIT $4"
    ))
    .bind(after.unwrap_or(""))
    .bind(like_pattern(query))
    .bind(i64::from(archived))
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(from_row).collect())
}

/// Saves edited master data.
pub async fn update(db: &Db, id: &str, customer: &NewCustomer) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE customers SET first_name = $1, last_name = $2, email = $3, phone = $4, birth_date = $5, street = $6, \
           postal_code = $7, city = $8, updated_at = $9 WHERE id = $10",
    )
    .bind(&customer.first_name)
    .bind(&customer.last_name)
    .bind(customer.email.as_ref().map(EmailAddress::as_str))
    .bind(&customer.phone)
    .bind(&customer.birth_date)
    .bind(&customer.street)
    .bind(&customer.postal_code)
    .bind(&customer.city)
    .bind(now())
    .bind(id)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Archives (or restores) a customer. An archived customer is no contact: not
/// counted, not listed, and without portal access (ended by the caller).
pub async fn set_archived(db: &Db, id: &str, archived: bool) -> Result<(), sqlx::Error> {
    let now = now();
    sqlx::query("UPDATE customers SET archived_at = $1, updated_at = $2 WHERE id = $3")
        .bind(archived.then_some(now))
        .bind(now)
        .bind(id)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// A household (family) of customers.
#[derive(Debug, Clone)]
pub struct Household {
    pub id: String,
    pub name: String,
}

pub async fn households(db: &Db) -> Result<Vec<Household>, sqlx::Error> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT id, name FROM households ORDER BY name, id").fetch_all(db.pool()).await?;
    Ok(rows.into_iter().map(|(id, name)| Household { id, name }).collect())
}

pub async fn find_household(db: &Db, id: &str) -> Result<Option<Household>, sqlx::Error> {
    let row: Option<(String, String)> =
        sqlx::query_as("SELECT id, name FROM households WHERE id = $1").bind(id).fetch_optional(db.pool()).await?;
    Ok(row.map(|(id, name)| Household { id, name }))
}

pub async fn create_household(db: &Db, name: &str) -> Result<String, sqlx::Error> {
    let id = new_id();
    sqlx::query("INSERT INTO households (id, name, created_at) VALUES ($1, $2, $3)")
        .bind(&id)
        .bind(name)
        .bind(now())
        .execute(db.pool())
        .await?;
    Ok(id)
}

/// Households in id order after `after`, at most `limit` (the API's pages).
pub async fn household_page(db: &Db, after: Option<&str>, limit: i64) -> Result<Vec<Household>, sqlx::Error> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT id, name FROM households WHERE id > $1 ORDER BY id LIMIT $2")
            .bind(after.unwrap_or(""))
            .bind(limit)
            .fetch_all(db.pool())
            .await?;
    Ok(rows.into_iter().map(|(id, name)| Household { id, name }).collect())
}

pub async fn rename_household(db: &Db, id: &str, name: &str) -> Result<bool, sqlx::Error> {
    let updated =
        sqlx::query("UPDATE households SET name = $1 WHERE id = $2").bind(name).bind(id).execute(db.pool()).await?;
    Ok(updated.rows_affected() > 0)
}

/// Dissolves a household: its members stay, in no household.
pub async fn dissolve_household(db: &Db, id: &str) -> Result<bool, sqlx::Error> {
    let mut tx = db.pool().begin().await?;
    sqlx::query("UPDATE customers SET household_id = NULL, updated_at = $1 WHERE household_id = $2")
        .bind(now())
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let deleted = sqlx::query("DELETE FROM households WHERE id = $1").bind(id).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(deleted.rows_affected() > 0)
}

/// Puts a customer into a household, or takes them out with `None`. The
/// household they leave is removed once nobody belongs to it any more (one
/// made through the API and not filled yet stays).
pub async fn set_household(db: &Db, customer_id: &str, household_id: Option<&str>) -> Result<(), sqlx::Error> {
    let mut tx = db.pool().begin().await?;
    let left: Option<Option<String>> = sqlx::query_scalar("SELECT household_id FROM customers WHERE id = $1")
        .bind(customer_id)
        .fetch_optional(&mut *tx)
        .await?;
    sqlx::query("UPDATE customers SET household_id = $1, updated_at = $2 WHERE id = $3")
        .bind(household_id)
        .bind(now())
        .bind(customer_id)
        .execute(&mut *tx)
        .await?;
    if let Some(left) = left.flatten().filter(|left| Some(left.as_str()) != household_id) {
        sqlx::query(
            "DELETE FROM households WHERE id = $1 \
             AND NOT EXISTS (SELECT 1 FROM customers c WHERE c.household_id = households.id)",
        )
        .bind(left)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

/// The other members of a customer's household.
pub async fn household_members(db: &Db, household_id: &str) -> Result<Vec<Customer>, sqlx::Error> {
    let rows: Vec<CustomerRow> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM customers WHERE household_id = $1 ORDER BY first_name, id"))
            .bind(household_id)
            .fetch_all(db.pool())
            .await?;
    Ok(rows.into_iter().map(from_row).collect())
}

/// The number of contacts: customers that are not archived.
pub async fn contact_count(db: &Db) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM customers WHERE archived_at IS NULL").fetch_one(db.pool()).await
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
        let form = CustomerForm { first_name: "Erika".into(), last_name: "Muster".into(), ..Default::default() };
        let customer = NewCustomer::parse(&form).unwrap();
        assert_eq!(customer.email, None);
        assert_eq!(customer.birth_date, None);
    }
}
