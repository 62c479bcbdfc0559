//! CSV and Excel: which column holds which field. A mapping is proposed from
//! the column names (or remembered from the last import of the same source),
//! shown with the first rows, and confirmed by the broker.

use std::collections::BTreeMap;

use super::ImportError;
use super::csv::Row;
use super::model::{ContractData, Item, Person, PersonDetails, Problem, SparteRef, Unit, Units};
use super::text::{german_amount, german_date};
use crate::contracts::{ContractStatus, PaymentFrequency};
use crate::customers::Salutation;

/// A field a column can fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    CustomerNumber,
    Salutation,
    Title,
    FirstName,
    LastName,
    BirthDate,
    Street,
    PostalCode,
    City,
    Email,
    Phone,
    Insurer,
    InsurerNumber,
    PolicyNumber,
    Sparte,
    Produkt,
    Premium,
    PaymentFrequency,
    StartDate,
    EndDate,
    MainDueDate,
    Status,
}

impl Field {
    pub const ALL: [Field; 22] = [
        Field::CustomerNumber,
        Field::Salutation,
        Field::Title,
        Field::FirstName,
        Field::LastName,
        Field::BirthDate,
        Field::Street,
        Field::PostalCode,
        Field::City,
        Field::Email,
        Field::Phone,
        Field::Insurer,
        Field::InsurerNumber,
        Field::PolicyNumber,
        Field::Sparte,
        Field::Produkt,
        Field::Premium,
        Field::PaymentFrequency,
        Field::StartDate,
        Field::EndDate,
        Field::MainDueDate,
        Field::Status,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Field::CustomerNumber => "customer_number",
            Field::Salutation => "salutation",
            Field::Title => "title",
            Field::FirstName => "first_name",
            Field::LastName => "last_name",
            Field::BirthDate => "birth_date",
            Field::Street => "street",
            Field::PostalCode => "postal_code",
            Field::City => "city",
            Field::Email => "email",
            Field::Phone => "phone",
            Field::Insurer => "insurer",
            Field::InsurerNumber => "insurer_number",
            Field::PolicyNumber => "policy_number",
            Field::Sparte => "sparte",
            Field::Produkt => "produkt",
            Field::Premium => "premium",
            Field::PaymentFrequency => "payment_frequency",
            Field::StartDate => "start_date",
            Field::EndDate => "end_date",
            Field::MainDueDate => "main_due_date",
            Field::Status => "status",
        }
    }

    pub fn parse(key: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.key() == key)
    }

    pub fn label(self) -> &'static str {
        match self {
            Field::CustomerNumber => "Kundennummer",
            Field::Salutation => "Anrede",
            Field::Title => "Titel",
            Field::FirstName => "Vorname",
            Field::LastName => "Nachname oder Firma",
            Field::BirthDate => "Geburtsdatum",
            Field::Street => "Straße",
            Field::PostalCode => "PLZ",
            Field::City => "Ort",
            Field::Email => "E-Mail",
            Field::Phone => "Telefon",
            Field::Insurer => "Versicherer",
            Field::InsurerNumber => "VU-Nummer",
            Field::PolicyNumber => "Vertragsnummer",
            Field::Sparte => "Sparte (GDV-Code oder Name)",
            Field::Produkt => "Produkt",
            Field::Premium => "Beitrag",
            Field::PaymentFrequency => "Zahlweise",
            Field::StartDate => "Beginn",
            Field::EndDate => "Ablauf",
            Field::MainDueDate => "Hauptfälligkeit",
            Field::Status => "Status",
        }
    }

    pub fn is_contract_field(self) -> bool {
        self >= Field::Insurer
    }

    /// Column names MVP exports use for the field, folded (see [`fold`]).
    fn synonyms(self) -> &'static [&'static str] {
        match self {
            Field::CustomerNumber => {
                &["kundennummer", "kundennr", "kunden nr", "kdnr", "kd nr", "kunde nr", "kundenid"]
            }
            Field::Salutation => &["anrede", "anredeschlussel"],
            Field::Title => &["titel"],
            Field::FirstName => &["vorname", "name3"],
            Field::LastName => &["nachname", "name", "name1", "firma", "familienname"],
            Field::BirthDate => &["geburtsdatum", "geboren", "gebdatum"],
            Field::Street => &["strasse", "str", "strasse und hausnummer", "anschrift"],
            Field::PostalCode => &["plz", "postleitzahl"],
            Field::City => &["ort", "wohnort", "stadt"],
            Field::Email => &["email", "e mail", "mail", "emailadresse"],
            Field::Phone => &["telefon", "tel", "telefonnummer", "mobil", "handy"],
            Field::Insurer => &["versicherer", "gesellschaft", "versicherungsgesellschaft", "vu"],
            Field::InsurerNumber => &["vu nr", "vunr", "vu nummer", "vunummer"],
            Field::PolicyNumber => &[
                "vertragsnummer",
                "versicherungsschein nr",
                "versicherungsscheinnummer",
                "vsnr",
                "vs nr",
                "policennummer",
                "vertrag",
            ],
            Field::Sparte => &["sparte", "spartencode", "sparte nr"],
            Field::Produkt => &["produkt", "tarif", "produktname"],
            Field::Premium => &["beitrag", "pramie", "beitrag brutto", "zahlbeitrag", "nettobeitrag"],
            Field::PaymentFrequency => &["zahlweise", "zahlungsweise"],
            Field::StartDate => &["beginn", "vertragsbeginn", "versicherungsbeginn"],
            Field::EndDate => &["ablauf", "ende", "vertragsende", "vertragsablauf"],
            Field::MainDueDate => &["hauptfalligkeit", "hauptfallig"],
            Field::Status => &["status", "vertragsstatus"],
        }
    }
}

/// A column name reduced for comparison: lower case, umlauts and ß spelled
/// out the simple way, punctuation as spaces.
fn fold(name: &str) -> String {
    let lower = name.to_lowercase().replace('ß', "ss").replace(['ä'], "a").replace(['ö'], "o").replace(['ü'], "u");
    let spaced: String = lower.chars().map(|c| if c.is_alphanumeric() { c } else { ' ' }).collect();
    spaced.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Which column (by its name in the header row) fills which field.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Mapping(pub BTreeMap<Field, String>);

impl Mapping {
    /// A column for each field: the remembered one where its column still
    /// exists, else one whose name is a known synonym.
    pub fn propose(headers: &[String], remembered: Option<&Mapping>) -> Mapping {
        let mut mapping = Mapping::default();
        for field in Field::ALL {
            let remembered = remembered.and_then(|m| m.0.get(&field)).filter(|column| headers.contains(column));
            let guessed = || headers.iter().find(|h| field.synonyms().contains(&fold(h).as_str()));
            if let Some(column) = remembered.or_else(guessed) {
                mapping.0.insert(field, column.clone());
            }
        }
        mapping
    }

    pub fn column(&self, field: Field) -> Option<&str> {
        self.0.get(&field).map(String::as_str)
    }

    /// Refuses a mapping that names unknown columns or leaves out what a
    /// customer or contract cannot do without.
    pub fn check(&self, headers: &[String]) -> Result<(), ImportError> {
        let mut missing = Vec::new();
        for column in self.0.values() {
            if !headers.contains(column) {
                return Err(ImportError::Mapping(format!("Die Spalte „{column}“ gibt es in der Datei nicht.")));
            }
        }
        if self.column(Field::LastName).is_none() && self.column(Field::CustomerNumber).is_none() {
            missing.push("Nachname oder Firma (oder die Kundennummer)");
        }
        if self.0.keys().any(|f| f.is_contract_field()) {
            if self.column(Field::PolicyNumber).is_none() {
                missing.push(Field::PolicyNumber.label());
            }
            if self.column(Field::Insurer).is_none() && self.column(Field::InsurerNumber).is_none() {
                missing.push("Versicherer oder VU-Nummer");
            }
            if self.column(Field::StartDate).is_none() {
                missing.push(Field::StartDate.label());
            }
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(ImportError::Mapping(format!("Bitte ordnen Sie eine Spalte zu für: {}.", missing.join(", "))))
        }
    }
}

/// Reads a table (header row, then one customer or contract per row) into units.
pub struct TableReader {
    rows: std::vec::IntoIter<Row>,
    columns: BTreeMap<Field, usize>,
    record: &'static str,
    position: usize,
}

impl TableReader {
    /// `record` names rows in problems (`csv`, `xlsx`). The first row is the header.
    pub fn new(rows: Vec<Row>, mapping: &Mapping, record: &'static str) -> TableReader {
        let mut rows = rows.into_iter();
        let headers: Vec<String> =
            rows.next().map(|r| r.cells).unwrap_or_default().iter().map(|h| h.trim().to_owned()).collect();
        let columns = mapping
            .0
            .iter()
            .filter_map(|(field, column)| headers.iter().position(|h| h == column).map(|i| (*field, i)))
            .collect();
        TableReader { rows, columns, record, position: 1 }
    }

    fn cell<'r>(&self, row: &'r Row, field: Field) -> Option<&'r str> {
        self.columns.get(&field).map(|&i| row.cells.get(i).map_or("", |c| c.trim()))
    }

    fn item(&self, row: &Row) -> Result<Item, String> {
        let cell = |field| self.cell(row, field);
        let text = |field| cell(field).map(str::to_owned);
        let date = |field: Field| -> Result<Option<Option<chrono::NaiveDate>>, String> {
            match cell(field) {
                None => Ok(None),
                Some("") => Ok(Some(None)),
                Some(value) => german_date(value)
                    .map(|d| Some(Some(d)))
                    .ok_or_else(|| format!("{}: „{value}“ ist kein Datum", field.label())),
            }
        };
        let number = text(Field::CustomerNumber).filter(|n| !n.is_empty());
        let last_name = text(Field::LastName).unwrap_or_default();
        let salutation = match cell(Field::Salutation) {
            None => None,
            Some(value) => Some(salutation(value).ok_or_else(|| format!("Anrede: „{value}“ ist unbekannt"))?),
        };
        let details = if last_name.is_empty() {
            None
        } else {
            Some(PersonDetails {
                salutation,
                title: text(Field::Title),
                first_name: text(Field::FirstName),
                last_name,
                birth_date: date(Field::BirthDate)?,
                street: text(Field::Street),
                postal_code: text(Field::PostalCode),
                city: text(Field::City),
                email: text(Field::Email).filter(|e| !e.is_empty()),
                phone: text(Field::Phone),
            })
        };
        if number.is_none() && details.is_none() {
            return Err("Die Zeile nennt weder Kundennummer noch Namen".into());
        }
        let person = Person { number, details };
        let policy_number = text(Field::PolicyNumber).unwrap_or_default();
        let contract = if policy_number.is_empty() {
            None
        } else {
            let insurer_number = text(Field::InsurerNumber).unwrap_or_default();
            let insurer =
                text(Field::Insurer).filter(|i| !i.is_empty()).unwrap_or_else(|| format!("VU {insurer_number}"));
            let start_date = date(Field::StartDate)?.flatten().ok_or("Der Vertrag hat kein Beginndatum")?;
            let premium = match cell(Field::Premium) {
                None => None,
                Some(value) => Some(german_amount(value).ok_or_else(|| format!("Beitrag: „{value}“ ist kein Betrag"))?),
            };
            let frequency = match cell(Field::PaymentFrequency) {
                None => None,
                Some(value) => Some(frequency(value).ok_or_else(|| format!("Zahlweise: „{value}“ ist unbekannt"))?),
            };
            let status = match cell(Field::Status) {
                None => None,
                Some(value) => Some(status(value).ok_or_else(|| format!("Status: „{value}“ ist unbekannt"))?),
            };
            let sparte = match cell(Field::Sparte) {
                None | Some("") => SparteRef::Missing,
                Some(code) if code.bytes().all(|b| b.is_ascii_digit()) && code.len() <= 3 => {
                    SparteRef::Code(format!("{:0>3}", code))
                }
                Some(name) => SparteRef::Name(name.to_owned()),
            };
            Some(ContractData {
                insurer,
                insurer_number,
                sparte,
                policy_number,
                produkt: text(Field::Produkt).filter(|p| !p.is_empty()),
                premium,
                frequency,
                start_date,
                end_date: date(Field::EndDate)?,
                main_due_date: date(Field::MainDueDate)?,
                status,
            })
        };
        Ok(Item { line: row.line, record: self.record.into(), person: Some(person), contract })
    }
}

impl Units for TableReader {
    fn next_unit(&mut self) -> Option<Unit> {
        let row = self.rows.next()?;
        self.position += 1;
        let mut unit = Unit { end: self.position, records: 1, ..Unit::default() };
        match self.item(&row) {
            Ok(item) => unit.items.push(item),
            Err(reason) => unit.problems.push(Problem::new(
                row.line,
                self.record,
                format!("{reason}; die Zeile wurde übersprungen."),
            )),
        }
        Some(unit)
    }
}

fn salutation(value: &str) -> Option<Salutation> {
    match fold(value).as_str() {
        "" | "0" => Some(Salutation::None),
        "herr" | "1" | "hr" => Some(Salutation::Herr),
        "frau" | "2" | "fr" => Some(Salutation::Frau),
        "firma" | "3" | "fa" => Some(Salutation::Firma),
        "herr und frau" | "4" | "eheleute" | "familie" => Some(Salutation::HerrUndFrau),
        _ => None,
    }
}

fn frequency(value: &str) -> Option<PaymentFrequency> {
    match fold(value).as_str() {
        "1" | "jahrlich" | "jahrl" | "annual" => Some(PaymentFrequency::Annual),
        "2" | "halbjahrlich" | "halbjahrl" => Some(PaymentFrequency::HalfYearly),
        "4" | "vierteljahrlich" | "quartalsweise" | "viertelj" => Some(PaymentFrequency::Quarterly),
        "8" | "12" | "monatlich" | "monatl" => Some(PaymentFrequency::Monthly),
        "6" | "0" | "einmalig" | "einmalbeitrag" | "einmal" => Some(PaymentFrequency::Single),
        _ => None,
    }
}

fn status(value: &str) -> Option<ContractStatus> {
    match fold(value).as_str() {
        "" | "1" | "aktiv" | "lebend" | "bestand" => Some(ContractStatus::Active),
        "4" | "gekundigt" | "storniert" | "storno" => Some(ContractStatus::Cancelled),
        "ruhend" | "beitragsfrei" | "2" | "3" => Some(ContractStatus::Dormant),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mapping_is_proposed_from_german_column_names() {
        let headers: Vec<String> = [
            "Kd-Nr",
            "Anrede",
            "Vorname",
            "Nachname",
            "Straße",
            "PLZ",
            "Ort",
            "Gesellschaft",
            "VSNR",
            "Beitrag",
            "Zahlweise",
            "Beginn",
        ]
        .map(String::from)
        .to_vec();
        let mapping = Mapping::propose(&headers, None);
        assert_eq!(mapping.column(Field::CustomerNumber), Some("Kd-Nr"));
        assert_eq!(mapping.column(Field::Street), Some("Straße"));
        assert_eq!(mapping.column(Field::PolicyNumber), Some("VSNR"));
        assert_eq!(mapping.column(Field::Insurer), Some("Gesellschaft"));
        assert!(mapping.check(&headers).is_ok());
        let mut remembered = Mapping::default();
        remembered.0.insert(Field::LastName, "Vorname".into());
        assert_eq!(Mapping::propose(&headers, Some(&remembered)).column(Field::LastName), Some("Vorname"));
        let mut incomplete = mapping.clone();
        incomplete.0.remove(&Field::StartDate);
        assert!(incomplete.check(&headers).is_err());
    }

    #[test]
    fn rows_become_items_or_problems() {
        let rows = super::super::csv::parse(
            "Nachname;Vorname;Vertragsnummer;Versicherer;Beginn;Beitrag;Zahlweise;Sparte\n\
             Müller;Max;V-1;Allianz;01.02.2024;1.234,56;monatlich;030\n\
             Schmidt;Eva;V-2;HUK;kein Datum;1;monatlich;Unfall\n",
            ';',
        )
        .unwrap();
        let headers = rows[0].cells.clone();
        let mut reader = TableReader::new(rows, &Mapping::propose(&headers, None), "csv");
        let first = reader.next_unit().unwrap();
        let contract = first.items[0].contract.as_ref().unwrap();
        assert_eq!(contract.premium, Some(crate::values::Cents(123_456)));
        assert_eq!(contract.sparte, SparteRef::Code("030".into()));
        assert_eq!(contract.frequency, Some(PaymentFrequency::Monthly));
        let second = reader.next_unit().unwrap();
        assert!(second.items.is_empty());
        assert_eq!(second.problems[0].line, 3);
        assert!(second.problems[0].message.contains("kein Datum"), "{:?}", second.problems);
        assert!(reader.next_unit().is_none());
    }
}
