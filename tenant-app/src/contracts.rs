//! Insurance contracts. Only the broker creates and edits them; customers read.

use chrono::NaiveDate;

use crate::calendar::format_date;
use crate::db::{Backend, Db, new_id, now};
use crate::values::{Cents, optional_text, parse_date, parse_optional_date, required_text};
use crate::web::FieldErrors;

/// How often the premium is paid. The GDV codes are those of record 0200.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentFrequency {
    Annual,
    HalfYearly,
    Quarterly,
    Monthly,
    Single,
}

impl PaymentFrequency {
    pub const ALL: [PaymentFrequency; 5] = [
        PaymentFrequency::Monthly,
        PaymentFrequency::Quarterly,
        PaymentFrequency::HalfYearly,
        PaymentFrequency::Annual,
        PaymentFrequency::Single,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PaymentFrequency::Annual => "annual",
            PaymentFrequency::HalfYearly => "half_yearly",
            PaymentFrequency::Quarterly => "quarterly",
            PaymentFrequency::Monthly => "monthly",
            PaymentFrequency::Single => "single",
        }
    }

    pub fn parse(text: &str) -> Option<PaymentFrequency> {
        PaymentFrequency::ALL.into_iter().find(|f| f.as_str() == text)
    }

    pub fn label(self) -> &'static str {
        match self {
            PaymentFrequency::Annual => "jährlich",
            PaymentFrequency::HalfYearly => "halbjährlich",
            PaymentFrequency::Quarterly => "vierteljährlich",
            PaymentFrequency::Monthly => "monatlich",
            PaymentFrequency::Single => "Einmalbeitrag",
        }
    }

    /// GDV VU-Vermittler payment frequency code.
    pub fn gdv_code(self) -> u8 {
        match self {
            PaymentFrequency::Annual => 1,
            PaymentFrequency::HalfYearly => 2,
            PaymentFrequency::Quarterly => 4,
            PaymentFrequency::Monthly => 8,
            PaymentFrequency::Single => 6,
        }
    }

    /// Payments per year; a single premium recurs never.
    pub fn per_year(self) -> i64 {
        match self {
            PaymentFrequency::Annual => 1,
            PaymentFrequency::HalfYearly => 2,
            PaymentFrequency::Quarterly => 4,
            PaymentFrequency::Monthly => 12,
            PaymentFrequency::Single => 0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContractStatus {
    Active,
    Dormant,
    Cancelled,
}

impl ContractStatus {
    pub const ALL: [ContractStatus; 3] = [ContractStatus::Active, ContractStatus::Dormant, ContractStatus::Cancelled];

    pub fn as_str(self) -> &'static str {
        match self {
            ContractStatus::Active => "active",
            ContractStatus::Dormant => "dormant",
            ContractStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<ContractStatus> {
        ContractStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }

    pub fn label(self) -> &'static str {
        match self {
            ContractStatus::Active => "aktiv",
            ContractStatus::Dormant => "ruhend",
            ContractStatus::Cancelled => "gekündigt",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Contract {
    pub id: String,
    pub customer_id: String,
    pub sparte_id: String,
    pub sparte_name: String,
    /// The Sparte's GDV line code (`"030"`), if it has one.
    pub sparte_code: Option<String>,
    pub sparte_description: String,
    pub produkt_id: Option<String>,
    pub produkt_name: Option<String>,
    pub produkt_description: Option<String>,
    pub insurer: String,
    /// The insurer's number (GDV VU-Nr) as the broker's files carry it; may be empty.
    pub insurer_number: String,
    pub policy_number: String,
    pub premium: Cents,
    pub frequency: PaymentFrequency,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub main_due_date: Option<NaiveDate>,
    pub status: ContractStatus,
    pub notes: String,
}

impl Contract {
    /// The premium paid per year; `None` for a single premium.
    pub fn yearly_premium(&self) -> Option<Cents> {
        yearly_premium(self.premium, self.frequency)
    }

    pub fn start_display(&self) -> String {
        format_date(&self.start_date)
    }

    pub fn end_display(&self) -> String {
        self.end_date.as_ref().map(format_date).unwrap_or_default()
    }

    pub fn due_display(&self) -> String {
        self.main_due_date.as_ref().map(format_date).unwrap_or_default()
    }

    /// The edit form, filled with this contract.
    pub fn to_form(&self) -> ContractForm {
        let date = |d: &Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
        ContractForm {
            produkt_id: self.produkt_id.clone().unwrap_or_default(),
            insurer: self.insurer.clone(),
            insurer_number: self.insurer_number.clone(),
            policy_number: self.policy_number.clone(),
            premium: format!("{},{:02}", self.premium.0 / 100, self.premium.0 % 100),
            payment_frequency: self.frequency.as_str().to_owned(),
            start_date: self.start_date.to_string(),
            end_date: date(&self.end_date),
            main_due_date: date(&self.main_due_date),
            status: self.status.as_str().to_owned(),
            notes: self.notes.clone(),
        }
    }

    /// The description customers read: the Produkt's, else the Sparte's.
    pub fn purpose(&self) -> &str {
        self.produkt_description.as_deref().filter(|d| !d.is_empty()).unwrap_or(&self.sparte_description)
    }
}

pub fn yearly_premium(premium: Cents, frequency: PaymentFrequency) -> Option<Cents> {
    match frequency {
        PaymentFrequency::Single => None,
        recurring => Some(Cents(premium.0 * recurring.per_year())),
    }
}

/// The contract form as submitted.
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(default)]
pub struct ContractForm {
    pub produkt_id: String,
    pub insurer: String,
    pub insurer_number: String,
    pub policy_number: String,
    pub premium: String,
    pub payment_frequency: String,
    pub start_date: String,
    pub end_date: String,
    pub main_due_date: String,
    pub status: String,
    pub notes: String,
}

/// The longest insurer number accepted (the GDV VU-Nr has five characters).
pub const INSURER_NUMBER_MAX_CHARS: usize = 20;

/// A valid contract, except that its Produkt's existence is checked on insert.
#[derive(Debug, Clone)]
pub struct NewContract {
    /// The Produkt; the portal's form always names one, the API may leave it out.
    pub produkt_id: Option<String>,
    pub insurer: String,
    pub insurer_number: String,
    pub policy_number: String,
    pub premium: Cents,
    pub frequency: PaymentFrequency,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub main_due_date: Option<NaiveDate>,
    pub status: ContractStatus,
    pub notes: String,
}

impl NewContract {
    /// The broker's form: a Produkt is required.
    pub fn parse(form: &ContractForm) -> Result<NewContract, FieldErrors> {
        NewContract::parse_with(form, true)
    }

    /// The same rules, with the Produkt optional when `require_produkt` is false.
    pub fn parse_with(form: &ContractForm, require_produkt: bool) -> Result<NewContract, FieldErrors> {
        let mut errors = FieldErrors::default();
        let produkt_id = Some(form.produkt_id.trim().to_owned()).filter(|id| !id.is_empty());
        if require_produkt && produkt_id.is_none() {
            errors.add("produkt_id", "Bitte wählen Sie Sparte und Produkt.");
        }
        let insurer = required_text(&form.insurer, 200).map_err(|m| errors.add("insurer", m)).unwrap_or_default();
        let insurer_number = optional_text(&form.insurer_number, INSURER_NUMBER_MAX_CHARS)
            .map_err(|m| errors.add("insurer_number", m))
            .unwrap_or_default();
        let policy_number =
            required_text(&form.policy_number, 60).map_err(|m| errors.add("policy_number", m)).unwrap_or_default();
        let premium = Cents::parse(&form.premium).map_err(|m| errors.add("premium", m)).unwrap_or_default();
        let frequency = PaymentFrequency::parse(&form.payment_frequency);
        if frequency.is_none() {
            errors.add("payment_frequency", "Bitte wählen Sie die Zahlweise.");
        }
        let status =
            if form.status.is_empty() { Some(ContractStatus::Active) } else { ContractStatus::parse(&form.status) };
        if status.is_none() {
            errors.add("status", "Bitte wählen Sie einen Status.");
        }
        let start_date = parse_date(&form.start_date).map_err(|m| errors.add("start_date", m)).ok();
        let end_date = parse_optional_date(&form.end_date).map_err(|m| errors.add("end_date", m)).unwrap_or(None);
        let main_due_date =
            parse_optional_date(&form.main_due_date).map_err(|m| errors.add("main_due_date", m)).unwrap_or(None);
        if let (Some(start), Some(end)) = (start_date, end_date)
            && end < start
        {
            errors.add("end_date", "Das Ende liegt vor dem Beginn.");
        }
        let notes = optional_text(&form.notes, 5000).map_err(|m| errors.add("notes", m)).unwrap_or_default();
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(NewContract {
            produkt_id,
            insurer,
            insurer_number,
            policy_number,
            premium,
            frequency: frequency.expect("checked"),
            start_date: start_date.expect("checked"),
            end_date,
            main_due_date,
            status: status.expect("checked"),
            notes,
        })
    }
}

pub async fn create(
    db: &Db,
    customer_id: &str,
    sparte_id: &str,
    contract: &NewContract,
) -> Result<String, sqlx::Error> {
    let id = new_id();
    let now = now();
    sqlx::query(
        "INSERT INTO contracts (id, customer_id, sparte_id, produkt_id, insurer, policy_number, premium_cents, \
           payment_frequency, start_date, end_date, main_due_date, status, notes, created_at, updated_at, insurer_number) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
    )
    .bind(&id)
    .bind(customer_id)
    .bind(sparte_id)
    .bind(&contract.produkt_id)
    .bind(&contract.insurer)
    .bind(&contract.policy_number)
    .bind(contract.premium.0)
    .bind(contract.frequency.as_str())
    .bind(contract.start_date.to_string())
    .bind(contract.end_date.map(|d| d.to_string()))
    .bind(contract.main_due_date.map(|d| d.to_string()))
    .bind(contract.status.as_str())
    .bind(&contract.notes)
    .bind(now)
    .bind(now)
    .bind(&contract.insurer_number)
    .execute(db.pool())
    .await?;
    Ok(id)
}

const SELECT: &str = "SELECT k.id, k.customer_id, k.sparte_id, s.name, s.description, k.produkt_id, p.name, p.description, \
       k.insurer, k.policy_number, k.premium_cents, k.payment_frequency, k.start_date, k.end_date, \
       k.main_due_date, k.status, k.notes, k.insurer_number, s.gdv_code \
     FROM contracts k JOIN sparten s ON s.id = k.sparte_id LEFT JOIN produkte p ON p.id = k.produkt_id";

fn from_row(row: sqlx::any::AnyRow) -> Result<Contract, sqlx::Error> {
    use sqlx::Row;
    let date = |text: &str| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok();
    let optional_date = |index: usize| -> Result<Option<NaiveDate>, sqlx::Error> {
        Ok(row.try_get::<Option<String>, _>(index)?.as_deref().and_then(date))
    };
    Ok(Contract {
        id: row.try_get(0)?,
        customer_id: row.try_get(1)?,
        sparte_id: row.try_get(2)?,
        sparte_name: row.try_get(3)?,
        sparte_description: row.try_get(4)?,
        produkt_id: row.try_get(5)?,
        produkt_name: row.try_get(6)?,
        produkt_description: row.try_get(7)?,
        insurer: row.try_get(8)?,
        policy_number: row.try_get(9)?,
        premium: Cents(row.try_get(10)?),
        frequency: PaymentFrequency::parse(&row.try_get::<String, _>(11)?).unwrap_or(PaymentFrequency::Annual),
        start_date: date(&row.try_get::<String, _>(12)?).unwrap_or_default(),
        end_date: optional_date(13)?,
        main_due_date: optional_date(14)?,
        status: ContractStatus::parse(&row.try_get::<String, _>(15)?).unwrap_or(ContractStatus::Active),
        notes: row.try_get(16)?,
        insurer_number: row.try_get(17)?,
        sparte_code: row.try_get(18)?,
    })
}

/// The columns of a contract, in the order of [`SELECT`], for the JSON form below.
const COLUMN_LIST: &str = "k.id, k.customer_id, k.sparte_id, s.name, s.description, k.produkt_id, p.name, p.description, \
       k.insurer, k.policy_number, k.premium_cents, k.payment_frequency, k.start_date, k.end_date, \
       k.main_due_date, k.status, k.notes, k.insurer_number, s.gdv_code";

const JOINS: &str = "FROM contracts k JOIN sparten s ON s.id = k.sparte_id LEFT JOIN produkte p ON p.id = k.produkt_id";

/// All contracts of one customer, in catalog order.
///
/// This is the customer's dashboard query, the portal's hottest. It returns all
/// contracts as one JSON row instead of one row each: sqlx's SQLite driver hands
/// every row from its worker thread to the async side separately, and with 30
/// contracts those hand-offs cost more than the query. The aggregate functions
/// differ between the engines, so this is one of the few places with SQL per engine.
pub async fn for_customer(db: &Db, customer_id: &str) -> Result<Vec<Contract>, sqlx::Error> {
    let sql = match db.backend() {
        Backend::Sqlite => format!(
            "SELECT COALESCE(json_group_array(json(c)), '[]') FROM \
               (SELECT json_array({COLUMN_LIST}) AS c {JOINS} WHERE k.customer_id = $1 \
                ORDER BY s.position, k.start_date, k.id)"
        ),
        Backend::Postgres => format!(
            "SELECT COALESCE(json_agg(json_build_array({COLUMN_LIST}) ORDER BY s.position, k.start_date, k.id), '[]')::text \
             {JOINS} WHERE k.customer_id = $1"
        ),
    };
    let json: String = sqlx::query_scalar(&sql).bind(customer_id).fetch_one(db.pool()).await?;
    let rows: Vec<Vec<serde_json::Value>> =
        serde_json::from_str(&json).map_err(|err| sqlx::Error::Decode(Box::new(err)))?;
    rows.into_iter().map(from_json).collect()
}

fn from_json(row: Vec<serde_json::Value>) -> Result<Contract, sqlx::Error> {
    let malformed = || sqlx::Error::Decode("contract row has an unexpected shape".into());
    if row.len() != 19 {
        return Err(malformed());
    }
    let text = |i: usize| row[i].as_str().map(str::to_owned).ok_or_else(malformed);
    let optional = |i: usize| row[i].as_str().map(str::to_owned);
    let date = |text: &str| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok();
    Ok(Contract {
        id: text(0)?,
        customer_id: text(1)?,
        sparte_id: text(2)?,
        sparte_name: text(3)?,
        sparte_description: text(4)?,
        produkt_id: optional(5),
        produkt_name: optional(6),
        produkt_description: optional(7),
        insurer: text(8)?,
        policy_number: text(9)?,
        premium: Cents(row[10].as_i64().ok_or_else(malformed)?),
        frequency: PaymentFrequency::parse(&text(11)?).unwrap_or(PaymentFrequency::Annual),
        start_date: date(&text(12)?).unwrap_or_default(),
        end_date: optional(13).as_deref().and_then(date),
        main_due_date: optional(14).as_deref().and_then(date),
        status: ContractStatus::parse(&text(15)?).unwrap_or(ContractStatus::Active),
        notes: text(16)?,
        insurer_number: text(17)?,
        sparte_code: optional(18),
    })
}

/// One contract, only if it belongs to this customer: the query itself enforces
/// that a customer never reads another customer's contract.
pub async fn find_for_customer(db: &Db, customer_id: &str, contract_id: &str) -> Result<Option<Contract>, sqlx::Error> {
    let row = sqlx::query(&format!("{SELECT} WHERE k.id = $1 AND k.customer_id = $2"))
        .bind(contract_id)
        .bind(customer_id)
        .fetch_optional(db.pool())
        .await?;
    row.map(from_row).transpose()
}

/// One contract, for the broker (any customer of this portal).
pub async fn find(db: &Db, contract_id: &str) -> Result<Option<Contract>, sqlx::Error> {
    let row = sqlx::query(&format!("{SELECT} WHERE k.id = $1")).bind(contract_id).fetch_optional(db.pool()).await?;
    row.map(from_row).transpose()
}

/// Saves an edited contract; the Sparte follows the chosen Produkt.
pub async fn update(db: &Db, id: &str, sparte_id: &str, contract: &NewContract) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE contracts SET sparte_id = $1, produkt_id = $2, insurer = $3, policy_number = $4, premium_cents = $5, \
           payment_frequency = $6, start_date = $7, end_date = $8, main_due_date = $9, status = $10, notes = $11, \
           updated_at = $12, insurer_number = $13 WHERE id = $14",
    )
    .bind(sparte_id)
    .bind(&contract.produkt_id)
    .bind(&contract.insurer)
    .bind(&contract.policy_number)
    .bind(contract.premium.0)
    .bind(contract.frequency.as_str())
    .bind(contract.start_date.to_string())
    .bind(contract.end_date.map(|d| d.to_string()))
    .bind(contract.main_due_date.map(|d| d.to_string()))
    .bind(contract.status.as_str())
    .bind(&contract.notes)
    .bind(now())
    .bind(&contract.insurer_number)
    .bind(id)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Deletes a contract. Its documents stay with the customer and its message
/// threads keep their messages; both just no longer point at it.
pub async fn delete(db: &Db, id: &str) -> Result<bool, sqlx::Error> {
    let mut tx = db.pool().begin().await?;
    sqlx::query("UPDATE documents SET contract_id = NULL WHERE contract_id = $1").bind(id).execute(&mut *tx).await?;
    sqlx::query("UPDATE message_threads SET contract_id = NULL WHERE contract_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let deleted = sqlx::query("DELETE FROM contracts WHERE id = $1").bind(id).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(deleted.rows_affected() > 0)
}

/// Gives a contract to another customer (a change of policyholder). Its
/// documents go with it; the old customer's messages about it stay theirs and
/// no longer point at it.
pub async fn move_to_customer(db: &Db, id: &str, customer_id: &str) -> Result<(), sqlx::Error> {
    let mut tx = db.pool().begin().await?;
    sqlx::query("UPDATE contracts SET customer_id = $1, updated_at = $2 WHERE id = $3")
        .bind(customer_id)
        .bind(now())
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE documents SET customer_id = $1 WHERE contract_id = $2 AND message_id IS NULL")
        .bind(customer_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE message_threads SET contract_id = NULL WHERE contract_id = $1 AND customer_id <> $2")
        .bind(id)
        .bind(customer_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// Which contracts a page of the API's list holds.
#[derive(Debug, Clone, Default)]
pub struct ContractFilter {
    pub customer_id: Option<String>,
    pub policy_number: Option<String>,
}

/// Contracts in id (creation) order after `after`, at most `limit`: keyset
/// pagination, so a page costs the same however deep it is.
pub async fn page(
    db: &Db,
    filter: &ContractFilter,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Contract>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "{SELECT} WHERE k.id > $1 AND ($2 = '' OR k.customer_id = $2) AND ($3 = '' OR k.policy_number = $3) \
         ORDER BY k.id LIMIT $4"
    ))
    .bind(after.unwrap_or(""))
    .bind(filter.customer_id.as_deref().unwrap_or(""))
    .bind(filter.policy_number.as_deref().unwrap_or(""))
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    rows.into_iter().map(from_row).collect()
}

/// Contracts of one Sparte, for the customer's overview.
#[derive(Debug, Clone)]
pub struct SparteGroup {
    pub sparte_name: String,
    pub contracts: Vec<Contract>,
    pub yearly_total: Cents,
}

/// Groups contracts (already in catalog order) by Sparte, with yearly totals.
pub fn group_by_sparte(contracts: Vec<Contract>) -> (Vec<SparteGroup>, Cents) {
    let mut groups: Vec<SparteGroup> = Vec::new();
    for contract in contracts {
        let yearly = contract.yearly_premium().unwrap_or_default();
        match groups.last_mut() {
            Some(group) if group.sparte_name == contract.sparte_name => {
                group.yearly_total.0 += yearly.0;
                group.contracts.push(contract);
            }
            _ => groups.push(SparteGroup {
                sparte_name: contract.sparte_name.clone(),
                contracts: vec![contract],
                yearly_total: yearly,
            }),
        }
    }
    let total = Cents(groups.iter().map(|g| g.yearly_total.0).sum());
    (groups, total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yearly_premium_follows_the_frequency() {
        assert_eq!(yearly_premium(Cents(1000), PaymentFrequency::Monthly), Some(Cents(12000)));
        assert_eq!(yearly_premium(Cents(1000), PaymentFrequency::Quarterly), Some(Cents(4000)));
        assert_eq!(yearly_premium(Cents(1000), PaymentFrequency::HalfYearly), Some(Cents(2000)));
        assert_eq!(yearly_premium(Cents(1000), PaymentFrequency::Annual), Some(Cents(1000)));
        assert_eq!(yearly_premium(Cents(1000), PaymentFrequency::Single), None);
    }

    #[test]
    fn gdv_frequency_codes() {
        let codes: Vec<u8> = [
            PaymentFrequency::Annual,
            PaymentFrequency::HalfYearly,
            PaymentFrequency::Quarterly,
            PaymentFrequency::Monthly,
            PaymentFrequency::Single,
        ]
        .iter()
        .map(|f| f.gdv_code())
        .collect();
        assert_eq!(codes, [1, 2, 4, 8, 6]);
    }

    #[test]
    fn contract_form_checks_every_field() {
        let errors = NewContract::parse(&ContractForm {
            premium: "abc".into(),
            start_date: "2026-05-01".into(),
            end_date: "2026-01-01".into(),
            ..Default::default()
        })
        .unwrap_err();
        for field in ["produkt_id", "insurer", "policy_number", "premium", "payment_frequency", "end_date"] {
            assert!(errors.get(field).is_some(), "{field} not reported");
        }
    }
}
