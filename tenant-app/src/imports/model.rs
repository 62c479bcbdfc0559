//! What every format is read into: people and contracts as the file states
//! them, before any of them is matched against the portal's data.

use chrono::NaiveDate;

use crate::contracts::{ContractStatus, PaymentFrequency};
use crate::customers::Salutation;
use crate::values::Cents;

/// A person (the policyholder) as the file describes them. `None` in a field
/// means the file does not carry it: an existing customer keeps their value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PersonDetails {
    pub salutation: Option<Salutation>,
    pub title: Option<String>,
    pub first_name: Option<String>,
    /// The surname, or a company's name.
    pub last_name: String,
    pub birth_date: Option<Option<NaiveDate>>,
    pub street: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// Who a record belongs to: the broker's customer number where the file has
/// one, and the person's details unless the record only refers to a customer
/// (a contracts-only CSV).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub number: Option<String>,
    pub details: Option<PersonDetails>,
}

/// How the file names the Sparte: a GDV code, or (CSV) a name from the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SparteRef {
    Code(String),
    Name(String),
    Missing,
}

/// A contract as the file states it; `None` again means "not in the file".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractData {
    pub insurer: String,
    pub insurer_number: String,
    pub sparte: SparteRef,
    pub policy_number: String,
    pub produkt: Option<String>,
    pub premium: Option<Cents>,
    pub frequency: Option<PaymentFrequency>,
    pub start_date: NaiveDate,
    pub end_date: Option<Option<NaiveDate>>,
    pub main_due_date: Option<Option<NaiveDate>>,
    pub status: Option<ContractStatus>,
}

/// One thing to apply: a customer, a contract, or a contract with its customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The line the item starts on (1-based), and its record type, for problems.
    pub line: i64,
    pub record: String,
    pub person: Option<Person>,
    pub contract: Option<ContractData>,
}

/// Something wrong with the file, at a line and record type, in German.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    pub line: i64,
    pub record: String,
    pub message: String,
}

impl Problem {
    pub fn new(line: i64, record: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem { line, record: record.into(), message: message.into() }
    }
}

/// A piece of the file that is applied whole: after it, a resumed run may go
/// on at `end` (the number of lines consumed so far).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Unit {
    pub end: usize,
    /// Records (lines or rows) in this unit, for the progress shown.
    pub records: usize,
    pub items: Vec<Item>,
    pub problems: Vec<Problem>,
}

/// A source of units: the GDV reader or the table reader.
pub trait Units {
    fn next_unit(&mut self) -> Option<Unit>;
}
