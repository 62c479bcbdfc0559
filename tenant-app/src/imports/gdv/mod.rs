//! GDV VU-Vermittler files: one record per line, data packages from a 0001
//! Vorsatz to a 9999 Nachsatz, each contract a run of records sharing its key
//! (VU-Nr, Sparte, Versicherungsschein-Nr). Ordo reads 0001, 0100 (the
//! policyholder), 0200 (the contract) and 9999; other record types are counted
//! for the trailer and otherwise passed over.

pub mod layout;

use layout::{Precision, Record};

use super::ImportError;
use super::model::{ContractData, Item, Person, PersonDetails, Problem, SparteRef, Unit, Units};
use crate::values::Cents;

/// The file's text: ISO-8859-1 as the standard says, or UTF-8 where a program
/// wrote that instead (then valid UTF-8 with non-ASCII characters).
pub fn decode(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => super::text::latin1(bytes),
    }
}

/// Refuses what is not a GDV file at all; returns the number of records.
pub fn check(text: &str) -> Result<usize, ImportError> {
    if text.contains('\0') {
        return Err(ImportError::NotGdv);
    }
    let mut records = 0;
    let mut header = false;
    for line in lines(text).map(|(_, line)| line) {
        if records == 0 && !is_record_type(line) {
            return Err(ImportError::NotGdv);
        }
        header |= line.starts_with("0001");
        records += 1;
    }
    if records == 0 {
        return Err(ImportError::Empty);
    }
    if !header {
        return Err(ImportError::NoGdvHeader);
    }
    Ok(records)
}

fn is_record_type(line: &str) -> bool {
    line.len() >= 4 && line.as_bytes()[..4].iter().all(u8::is_ascii_digit)
}

/// Non-empty lines with their 0-based index; CR of CRLF removed.
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
}

/// The data package being read.
struct Package {
    line: i64,
    sender: String,
    records: i64,
    premiums: i64,
}

/// The records of one contract, collected until its key changes.
#[derive(Default)]
struct Group {
    key: (String, String, String),
    line: i64,
    record: String,
    person: Option<Record>,
    person_numbers: Option<Record>,
    contract: Option<Record>,
    product: Option<Record>,
    /// A 0100 or 0200 record of the group was malformed (already reported).
    broken: bool,
    records: usize,
}

/// Reads units from the text: one per contract, and one per line that stands alone.
pub struct GdvReader<'a> {
    lines: Vec<(usize, &'a str)>,
    /// Lines of the text, empty ones included: where the last unit ends.
    total_lines: usize,
    next: usize,
    package: Option<Package>,
    group: Option<Group>,
    unit: Unit,
}

impl<'a> GdvReader<'a> {
    pub fn new(text: &'a str) -> GdvReader<'a> {
        GdvReader {
            lines: lines(text).collect(),
            total_lines: text.split('\n').count(),
            next: 0,
            package: None,
            group: None,
            unit: Unit::default(),
        }
    }

    /// Where a resumed run goes on: the index of the line not yet consumed.
    fn position(&self) -> usize {
        self.lines.get(self.next).map_or(self.total_lines, |(index, _)| *index)
    }

    /// Ends the current contract, if any, into the unit being built.
    fn close_group(&mut self) {
        let Some(group) = self.group.take() else { return };
        let sender = self.package.as_ref().map(|p| p.sender.clone()).unwrap_or_default();
        self.unit.records += group.records;
        if let Some(item) = group_item(group, &sender, &mut self.unit.problems) {
            self.unit.items.push(item);
        }
    }

    fn take_unit(&mut self) -> Unit {
        let mut unit = std::mem::take(&mut self.unit);
        unit.end = self.position();
        unit
    }

    fn problem(&mut self, line: i64, record: &str, message: String) {
        self.unit.problems.push(Problem::new(line, record, message));
    }

    /// Handles one line; `true` when a unit is complete.
    fn read(&mut self, line_no: i64, line: &str) -> bool {
        let Some(record) = Record::parse(line) else {
            let kind = line.get(..4).unwrap_or("").to_owned();
            self.close_group();
            self.unit.records += 1;
            self.count_in_package();
            self.problem(line_no, &kind, "Der Satz ist länger als 256 Zeichen und wurde übersprungen.".into());
            return true;
        };
        let kind = record.record_type();
        if !kind.bytes().all(|b| b.is_ascii_digit()) {
            self.close_group();
            self.unit.records += 1;
            self.count_in_package();
            self.problem(line_no, &kind, "Die Zeile beginnt mit keiner Satzart und wurde übersprungen.".into());
            return true;
        }
        match kind.as_str() {
            "0001" => {
                self.close_group();
                if let Some(open) = self.package.take() {
                    self.problem(
                        open.line,
                        "9999",
                        "Das Datenpaket endet ohne Nachsatz (Satzart 9999); seine Summen wurden nicht geprüft.".into(),
                    );
                }
                self.package = Some(Package {
                    line: line_no,
                    sender: record.text(layout::header::SENDER),
                    records: 1,
                    premiums: 0,
                });
                self.unit.records += 1;
                true
            }
            "9999" => {
                self.close_group();
                self.unit.records += 1;
                match self.package.take() {
                    Some(package) => self.check_trailer(line_no, &record, package),
                    None => self.problem(
                        line_no,
                        "9999",
                        "Nachsatz ohne Vorsatz (Satzart 0001): er wurde übersprungen.".into(),
                    ),
                }
                true
            }
            _ if self.package.is_none() => {
                self.close_group();
                self.unit.records += 1;
                self.problem(
                    line_no,
                    &kind,
                    "Der Satz steht außerhalb eines Datenpakets (nicht zwischen Vorsatz 0001 und Nachsatz 9999) \
                     und wurde übersprungen."
                        .into(),
                );
                true
            }
            _ => self.read_contract_record(line_no, kind, record),
        }
    }

    fn count_in_package(&mut self) {
        if let Some(package) = self.package.as_mut() {
            package.records += 1;
        }
    }

    fn read_contract_record(&mut self, line_no: i64, kind: String, record: Record) -> bool {
        self.count_in_package();
        let key = record.contract_key();
        if let Some(group) = &self.group
            && group.key != key
        {
            {
                // A new contract starts here: the previous one is a unit of its own.
                self.close_group();
                self.next -= 1;
                if let Some(package) = self.package.as_mut() {
                    package.records -= 1;
                }
                return true;
            }
        }
        let group =
            self.group.get_or_insert_with(|| Group { key, line: line_no, record: kind.clone(), ..Group::default() });
        group.records += 1;
        match (kind.as_str(), record.sub_record()) {
            ("0100", 1) if group.person.is_none() => match person_problem(&record) {
                None => group.person = Some(record),
                Some(message) => {
                    group.broken = true;
                    self.unit.problems.push(Problem::new(line_no, "0100", message));
                }
            },
            ("0100", 2) if group.person_numbers.is_none() => group.person_numbers = Some(record),
            ("0200", 1) if group.contract.is_none() => match contract_problem(&record) {
                None => {
                    if let (Some(package), Ok(premium)) =
                        (self.package.as_mut(), layout::amount(&record.raw(layout::contract::PREMIUM)))
                    {
                        package.premiums += premium.0;
                    }
                    group.contract = Some(record);
                }
                Some(message) => {
                    group.broken = true;
                    self.unit.problems.push(Problem::new(line_no, "0200", message));
                }
            },
            ("0200", 2) if group.product.is_none() => group.product = Some(record),
            _ => {}
        }
        false
    }

    fn check_trailer(&mut self, line_no: i64, record: &Record, package: Package) {
        let count = record.text(layout::trailer::RECORD_COUNT);
        let records = package.records + 1;
        if !count.is_empty() && count.parse::<i64>().ok() != Some(records) {
            let stated = count.parse::<i64>().map_or(count.clone(), |n| n.to_string());
            self.problem(
                line_no,
                "9999",
                format!("Warnung: Der Nachsatz nennt {stated} Sätze, das Datenpaket enthält {records}."),
            );
        }
        let total = record.raw(layout::trailer::TOTAL_PREMIUM);
        if !total.trim().is_empty() {
            match layout::amount(&total) {
                Ok(stated) if stated.0 == package.premiums => {}
                Ok(stated) => self.problem(
                    line_no,
                    "9999",
                    format!(
                        "Warnung: Der Nachsatz nennt eine Beitragssumme von {stated}, die Verträge des Datenpakets \
                         ergeben {}.",
                        Cents(package.premiums)
                    ),
                ),
                Err(message) => {
                    self.problem(line_no, "9999", format!("Warnung: Beitragssumme im Nachsatz: {message}."))
                }
            }
        }
    }
}

impl Units for GdvReader<'_> {
    fn next_unit(&mut self) -> Option<Unit> {
        while let Some(&(index, line)) = self.lines.get(self.next) {
            self.next += 1;
            if self.read(index as i64 + 1, line) {
                return Some(self.take_unit());
            }
        }
        if self.group.is_some() || self.package.is_some() {
            self.close_group();
            if let Some(open) = self.package.take() {
                self.problem(
                    open.line,
                    "9999",
                    "Das Datenpaket endet ohne Nachsatz (Satzart 9999); seine Summen wurden nicht geprüft.".into(),
                );
            }
        }
        let unit = self.take_unit();
        (unit.records > 0 || !unit.problems.is_empty()).then_some(unit)
    }
}

fn person_problem(record: &Record) -> Option<String> {
    if layout::salutation(&record.raw(layout::person::SALUTATION)).is_none() {
        return Some(format!(
            "Unbekannter Anredeschlüssel „{}“: der Personensatz wurde übersprungen.",
            record.text(layout::person::SALUTATION)
        ));
    }
    if record.text(layout::person::NAME1).is_empty() {
        return Some("Der Personensatz hat keinen Namen (Name 1) und wurde übersprungen.".into());
    }
    layout::date(&record.raw(layout::person::BIRTH_DATE), Precision::Exact)
        .err()
        .map(|message| format!("Geburtsdatum: {message}; der Personensatz wurde übersprungen."))
}

fn contract_problem(record: &Record) -> Option<String> {
    use layout::contract as c;
    if record.text(layout::POLICY_NUMBER).is_empty() {
        return Some("Der Vertragssatz hat keine Versicherungsschein-Nummer und wurde übersprungen.".into());
    }
    for (label, columns) in [("Beginn", c::START), ("Ablauf", c::END), ("Hauptfälligkeit", c::MAIN_DUE)] {
        if let Err(message) = layout::date(&record.raw(columns), Precision::FirstOfUnknown) {
            return Some(format!("{label}: {message}; der Vertrag wurde übersprungen."));
        }
    }
    if layout::date(&record.raw(c::START), Precision::FirstOfUnknown).ok().flatten().is_none() {
        return Some("Der Vertrag hat kein Beginndatum und wurde übersprungen.".into());
    }
    if layout::frequency(&record.raw(c::FREQUENCY)).is_none() {
        return Some(format!(
            "Unbekannte Zahlungsweise „{}“ (erwartet 1, 2, 4, 6 oder 8): der Vertrag wurde übersprungen.",
            record.text(c::FREQUENCY)
        ));
    }
    layout::amount(&record.raw(c::PREMIUM))
        .err()
        .map(|message| format!("Beitrag: {message}; der Vertrag wurde übersprungen."))
}

/// The person and contract of a group of records; problems for what is missing.
fn group_item(group: Group, sender: &str, problems: &mut Vec<Problem>) -> Option<Item> {
    let person = group.person.as_ref().map(|record| {
        use layout::person as p;
        let salutation = layout::salutation(&record.raw(p::SALUTATION)).unwrap_or_default();
        let (name1, name2, name3) = (record.text(p::NAME1), record.text(p::NAME2), record.text(p::NAME3));
        let join = |a: String, b: String| if b.is_empty() { a } else { format!("{a} {b}") };
        // A company's name runs over Name 1 and 2; a person's first name is Name 3.
        let (first_name, last_name) = if salutation == crate::customers::Salutation::Firma {
            (String::new(), join(join(name1, name2), name3))
        } else {
            (name3, join(name1, name2))
        };
        let number =
            group.person_numbers.as_ref().map(|r| r.text(layout::person_numbers::AT_BROKER)).filter(|n| !n.is_empty());
        Person {
            number,
            details: Some(PersonDetails {
                salutation: Some(salutation),
                title: Some(record.text(p::TITLE)),
                first_name: Some(first_name),
                last_name,
                birth_date: Some(layout::date(&record.raw(p::BIRTH_DATE), Precision::Exact).ok().flatten()),
                street: Some(record.text(p::STREET)),
                postal_code: Some(record.text(p::POSTAL_CODE)),
                city: Some(record.text(p::CITY)),
                email: None,
                phone: None,
            }),
        }
    });
    let Some(record) = group.contract.as_ref() else {
        if !group.broken && person.is_some() {
            problems.push(Problem::new(
                group.line,
                "0100",
                format!(
                    "Zum Personensatz von Vertrag {} fehlt der Vertragssatz (Satzart 0200); er wurde übersprungen.",
                    group.key.2
                ),
            ));
        }
        return None;
    };
    use layout::contract as c;
    let date = |columns| layout::date(&record.raw(columns), Precision::FirstOfUnknown).ok().flatten();
    let start_date = date(c::START)?;
    let currency = record.text(c::CURRENCY);
    if !currency.is_empty() && currency != "EUR" {
        problems.push(Problem::new(
            group.line,
            "0200",
            format!("Vertrag {}: Beitrag in „{currency}“ wurde ohne Umrechnung als Euro übernommen.", group.key.2),
        ));
    }
    let (vu, sparte, policy) = group.key;
    let insurer = if sender.is_empty() { format!("VU {vu}") } else { sender.to_owned() };
    // The main due date recurs: without a year it falls in the year the contract began.
    let raw_due = record.raw(c::MAIN_DUE);
    let main_due_date = date(c::MAIN_DUE).or_else(|| {
        let known = &raw_due[..4];
        (raw_due.ends_with("0000") && known != "0000").then(|| {
            layout::date(&format!("{known}{:04}", chrono::Datelike::year(&start_date)), Precision::FirstOfUnknown)
                .ok()
                .flatten()
        })?
    });
    let contract = ContractData {
        insurer,
        insurer_number: vu,
        sparte: if sparte.is_empty() { SparteRef::Missing } else { SparteRef::Code(sparte) },
        policy_number: policy,
        produkt: group.product.as_ref().map(|r| r.text(layout::contract_product::PRODUCT)).filter(|p| !p.is_empty()),
        premium: Some(layout::amount(&record.raw(c::PREMIUM)).unwrap_or_default()),
        frequency: Some(layout::frequency(&record.raw(c::FREQUENCY))?),
        start_date,
        end_date: Some(date(c::END)),
        main_due_date: Some(main_due_date),
        status: Some(layout::status(&record.raw(c::STATUS))),
    };
    Some(Item { line: group.line, record: group.record, person, contract: Some(contract) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contracts::{ContractStatus, PaymentFrequency};
    use crate::customers::Salutation;

    /// A record with values at (1-based, inclusive) columns, as the layout table gives them.
    fn rec(fields: &[(usize, &str)], sub: char) -> String {
        let mut chars = vec![' '; 256];
        for (from, value) in fields {
            for (i, c) in value.chars().enumerate() {
                chars[from - 1 + i] = c;
            }
        }
        chars[255] = sub;
        chars.into_iter().collect::<String>().trim_end().to_owned()
    }

    fn contract_lines(policy: &str, sparte: &str, name: &str, td1_extra: &[(usize, &str)]) -> Vec<String> {
        let key = [(5, "9001"), (11, sparte), (14, policy)];
        fn with<'a>(kind: &'a str, key: &[(usize, &'a str)], more: &[(usize, &'a str)]) -> Vec<(usize, &'a str)> {
            let mut fields = vec![(1, kind)];
            fields.extend_from_slice(key);
            fields.extend_from_slice(more);
            fields
        }
        let mut contract = vec![
            (44, "15032021"),
            (52, "00000000"),
            (60, "01040000"),
            (68, "8"),
            (69, "1"),
            (113, "EUR"),
            (116, "000000002550"),
        ];
        contract.extend_from_slice(td1_extra);
        vec![
            rec(
                &with(
                    "0100",
                    &key,
                    &[
                        (43, "2"),
                        (44, name),
                        (104, "Jürgen"),
                        (157, "80331"),
                        (163, "München"),
                        (188, "Weg 1"),
                        (226, "00051975"),
                    ],
                ),
                '1',
            ),
            rec(&with("0100", &key, &[(60, "K-77")]), '2'),
            rec(&with("0200", &key, &contract), '1'),
            rec(&with("0200", &key, &[(114, "Unfall Plus")]), '2'),
        ]
    }

    fn units(text: &str) -> Vec<Unit> {
        let mut reader = GdvReader::new(text);
        std::iter::from_fn(|| reader.next_unit()).collect()
    }

    #[test]
    fn records_become_a_customer_and_a_contract() {
        let mut lines = vec![rec(&[(1, "0001"), (5, "9001"), (10, "Süd Versicherung AG")], '1')];
        lines.extend(contract_lines("      A-1", "030", "Müßig", &[]));
        lines.push(rec(&[(1, "9999"), (5, "0000000006"), (25, "000000000002550")], ' '));
        let text = latin1_roundtrip(&(lines.join("\r\n") + "\r\n"));
        assert!(matches!(check(&text), Ok(6)));
        let all = units(&text);
        let items: Vec<&Item> = all.iter().flat_map(|u| &u.items).collect();
        assert_eq!(items.len(), 1);
        assert!(all.iter().all(|u| u.problems.is_empty()), "{:?}", all);
        let contract = items[0].contract.as_ref().unwrap();
        assert_eq!(contract.insurer, "Süd Versicherung AG");
        assert_eq!(contract.insurer_number, "9001");
        assert_eq!(contract.policy_number, "A-1");
        assert_eq!(contract.sparte, SparteRef::Code("030".into()));
        assert_eq!(contract.premium, Some(Cents(2550)));
        assert_eq!(contract.frequency, Some(PaymentFrequency::Monthly));
        assert_eq!(contract.status, Some(ContractStatus::Active));
        assert_eq!(contract.end_date, Some(None));
        assert_eq!(contract.main_due_date, Some(chrono::NaiveDate::from_ymd_opt(2021, 4, 1)));
        assert_eq!(contract.produkt.as_deref(), Some("Unfall Plus"));
        let person = items[0].person.as_ref().unwrap();
        assert_eq!(person.number.as_deref(), Some("K-77"));
        let details = person.details.as_ref().unwrap();
        assert_eq!((details.last_name.as_str(), details.first_name.as_deref()), ("Müßig", Some("Jürgen")));
        assert_eq!(details.salutation, Some(Salutation::Frau));
        assert_eq!(details.birth_date, Some(None), "an unknown birth day leaves the date unknown");
        assert_eq!(all.last().unwrap().end, text.split('\n').count());
    }

    fn latin1_roundtrip(text: &str) -> String {
        let bytes: Vec<u8> = text.chars().map(|c| c as u32 as u8).collect();
        decode(&bytes)
    }

    #[test]
    fn broken_records_and_wrong_trailers_are_reported() {
        let mut lines = vec![rec(&[(1, "0001"), (10, "VU A")], '1')];
        lines.extend(contract_lines("A-1", "030", "Eins", &[]));
        lines.extend(contract_lines("A-2", "030", "Zwei", &[(68, "3")]));
        lines.push("kaputt".into());
        lines.push(rec(&[(1, "9999"), (5, "0000000099")], ' '));
        lines.push(rec(&[(1, "0001"), (10, "VU B")], '1'));
        lines.extend(contract_lines("B-1", "999", "Drei", &[]));
        let all = units(&lines.join("\n"));
        let problems: Vec<&Problem> = all.iter().flat_map(|u| &u.problems).collect();
        let items: Vec<&Item> = all.iter().flat_map(|u| &u.items).collect();
        assert_eq!(items.len(), 2, "the contract with the bad payment code is skipped");
        assert_eq!(items[1].contract.as_ref().unwrap().insurer, "VU B");
        let at = |line: i64| {
            problems.iter().find(|p| p.line == line).unwrap_or_else(|| panic!("no problem at {line}: {problems:?}"))
        };
        assert!(at(8).message.contains("Zahlungsweise"), "{problems:?}");
        assert_eq!(at(8).record, "0200");
        assert!(at(10).message.contains("Satzart"));
        assert!(at(11).message.contains("nennt 99 Sätze, das Datenpaket enthält 11"), "{problems:?}");
        assert!(at(12).message.contains("ohne Nachsatz"), "{problems:?}");
        assert!(matches!(check("0100 ohne Vorsatz"), Err(ImportError::NoGdvHeader)));
        assert!(matches!(check("Name;Vorname\nMuster;Max"), Err(ImportError::NotGdv)));
        assert!(matches!(check("0001\0binär"), Err(ImportError::NotGdv)));
        assert!(matches!(check("\n\n"), Err(ImportError::Empty)));
    }
}
