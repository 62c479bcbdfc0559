//! The rules every format shares: who a record's customer is, which contract
//! it is, what changed, and what is written. A session spans one run; it
//! remembers whom it has seen, so a person repeated with each contract is one
//! customer, and a dry run counts exactly what the real run would do.

use std::collections::{HashMap, HashSet};

use sqlx::AnyConnection;

use super::model::{ContractData, Item, Person, PersonDetails, Problem};
use super::rows::{self, StoredContract, StoredCustomer};
use super::sparten::Catalog;
use crate::calendar::format_date;
use crate::contracts::{ContractStatus, PaymentFrequency};
use crate::db::new_id;
use crate::values::{Cents, EmailAddress};

/// Created, updated, unchanged: per distinct customer or contract of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Created,
    Updated,
    Unchanged,
}

/// Counts a record the first time the run touches it, and moves it from
/// unchanged to updated when a later record of the file changes it.
fn touch(outcome: &mut Option<Outcome>, changed: bool, counts: &mut Counts) {
    match (*outcome, changed) {
        (None, false) => {
            *outcome = Some(Outcome::Unchanged);
            counts.unchanged += 1;
        }
        (None, true) => {
            *outcome = Some(Outcome::Updated);
            counts.updated += 1;
        }
        (Some(Outcome::Unchanged), true) => {
            *outcome = Some(Outcome::Updated);
            counts.unchanged -= 1;
            counts.updated += 1;
        }
        _ => {}
    }
}

/// What an existing customer or contract had changed, for the report.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Change {
    pub line: i64,
    pub subject: String,
    pub detail: String,
}

struct CustomerEntry {
    stored: StoredCustomer,
    outcome: Option<Outcome>,
    /// In the database (or, in a dry run, would be): updates go out as UPDATE.
    persisted: bool,
}

struct ContractEntry {
    stored: StoredContract,
    outcome: Option<Outcome>,
    persisted: bool,
}

type ContractKey = (String, String, String);

pub struct Session {
    dry_run: bool,
    catalog: Catalog,
    customers: Vec<CustomerEntry>,
    by_id: HashMap<String, usize>,
    by_number: HashMap<String, usize>,
    by_key: HashMap<String, usize>,
    contracts: HashMap<ContractKey, ContractEntry>,
    /// How many more contacts the plan allows; `None` is no limit.
    contact_room: Option<i64>,
    pub customer_counts: Counts,
    pub contract_counts: Counts,
}

/// What a batch found: problems and changes, in file order.
#[derive(Debug, Default)]
pub struct BatchReport {
    pub problems: Vec<Problem>,
    pub changes: Vec<Change>,
}

impl Session {
    pub async fn start(
        conn: &mut AnyConnection,
        dry_run: bool,
        contact_room: Option<i64>,
    ) -> Result<Session, sqlx::Error> {
        rows::backfill_match_keys(conn).await?;
        Ok(Session {
            dry_run,
            catalog: Catalog::load(conn).await?,
            customers: Vec::new(),
            by_id: HashMap::new(),
            by_number: HashMap::new(),
            by_key: HashMap::new(),
            contracts: HashMap::new(),
            contact_room,
            customer_counts: Counts::default(),
            contract_counts: Counts::default(),
        })
    }

    fn remember_customer(&mut self, stored: StoredCustomer, outcome: Option<Outcome>, persisted: bool) -> usize {
        if let Some(&known) = self.by_id.get(&stored.id) {
            return known;
        }
        let index = self.customers.len();
        self.by_id.insert(stored.id.clone(), index);
        if let Some(number) = &stored.number {
            self.by_number.entry(number.clone()).or_insert(index);
        }
        self.by_key.entry(stored.match_key()).or_insert(index);
        self.customers.push(CustomerEntry { stored, outcome, persisted });
        index
    }

    /// Reads the batch's customers and contracts that the session has not seen yet.
    async fn prefetch(&mut self, conn: &mut AnyConnection, items: &[Item]) -> Result<Vec<StoredContract>, sqlx::Error> {
        let persons = items.iter().filter_map(|i| i.person.as_ref());
        let numbers = rows::distinct(
            persons.clone().filter_map(|p| p.number.clone()).filter(|n| !self.by_number.contains_key(n)),
        );
        for customer in rows::customers_by(conn, "customer_number", &numbers).await? {
            self.remember_customer(customer, None, true);
        }
        let keys = rows::distinct(
            persons.filter_map(|p| p.details.as_ref().map(details_key)).filter(|k| !self.by_key.contains_key(k)),
        );
        for customer in rows::customers_by(conn, "match_key", &keys).await? {
            self.remember_customer(customer, None, true);
        }
        let policies =
            rows::distinct(items.iter().filter_map(|i| i.contract.as_ref()).map(|c| c.policy_number.clone()));
        let mut loose = Vec::new();
        for contract in rows::contracts_by_policy(conn, &policies).await? {
            match &contract.sparte_code {
                Some(code) if !contract.insurer_number.is_empty() => {
                    let key = (contract.insurer_number.clone(), code.clone(), contract.policy_number.clone());
                    self.contracts.entry(key).or_insert(ContractEntry {
                        stored: contract,
                        outcome: None,
                        persisted: true,
                    });
                }
                // Typed in by hand: no insurer number or code yet; an import may adopt it.
                _ => loose.push(contract),
            }
        }
        // The customers of known contracts: a contract may come without its person.
        let owners = rows::distinct(
            self.contracts.values().map(|c| c.stored.customer_id.clone()).filter(|id| !self.by_id.contains_key(id)),
        );
        for customer in rows::customers_by(conn, "id", &owners).await? {
            self.remember_customer(customer, None, true);
        }
        Ok(loose)
    }

    /// Applies a batch of items; writes them unless this is a dry run.
    pub async fn apply(
        &mut self,
        conn: &mut AnyConnection,
        items: Vec<Item>,
        now: i64,
    ) -> Result<BatchReport, sqlx::Error> {
        let mut loose = self.prefetch(conn, &items).await?;
        let mut report = BatchReport::default();
        let mut new_customers = Vec::new();
        let mut changed_customers = HashSet::new();
        let mut new_contracts = Vec::new();
        let mut changed_contracts = HashSet::new();
        for item in items {
            let customer = match &item.person {
                Some(person) => self.customer(&item, person, &mut report, &mut new_customers, &mut changed_customers),
                None => item.contract.as_ref().and_then(|c| self.customer_of_known_contract(c)),
            };
            let Some(contract) = &item.contract else { continue };
            let Some(customer) = customer else {
                if item.person.is_none() {
                    report.problems.push(Problem::new(
                        item.line,
                        item.record.clone(),
                        format!(
                            "Zu Vertrag {} fehlt der Personensatz (Satzart 0100), und der Vertrag ist noch nicht \
                             im Portal: er wurde übersprungen.",
                            contract.policy_number
                        ),
                    ));
                }
                continue;
            };
            let key = self.contract(&item, contract, customer, &mut loose, &mut report);
            match self.contracts.get(&key) {
                Some(entry) if entry.persisted => {
                    changed_contracts.insert(key);
                }
                Some(_) if !new_contracts.contains(&key) => new_contracts.push(key),
                _ => {}
            }
        }
        if self.dry_run {
            self.catalog.forget_new();
            for index in new_customers {
                self.customers[index].persisted = true;
            }
            for key in new_contracts {
                if let Some(entry) = self.contracts.get_mut(&key) {
                    entry.persisted = true;
                }
            }
            return Ok(report);
        }
        self.catalog.write_new(conn).await?;
        let inserts: Vec<&StoredCustomer> = new_customers.iter().map(|&i| &self.customers[i].stored).collect();
        rows::insert_customers(conn, &inserts, now).await?;
        for &index in changed_customers.iter().filter(|i| !new_customers.contains(i)) {
            rows::update_customer(conn, &self.customers[index].stored, now).await?;
        }
        let inserts: Vec<&StoredContract> =
            new_contracts.iter().filter_map(|k| self.contracts.get(k)).map(|e| &e.stored).collect();
        rows::insert_contracts(conn, &inserts, now).await?;
        for key in &changed_contracts {
            if let Some(entry) = self.contracts.get(key).filter(|e| e.outcome == Some(Outcome::Updated)) {
                rows::update_contract(conn, &entry.stored, now).await?;
            }
        }
        for index in new_customers {
            self.customers[index].persisted = true;
        }
        for key in new_contracts {
            if let Some(entry) = self.contracts.get_mut(&key) {
                entry.persisted = true;
            }
        }
        Ok(report)
    }

    fn find_customer(&self, person: &Person) -> Option<usize> {
        if let Some(index) = person.number.as_ref().and_then(|n| self.by_number.get(n)) {
            return Some(*index);
        }
        let index = *self.by_key.get(&details_key(person.details.as_ref()?))?;
        // Someone with another customer number is someone else.
        match (&person.number, &self.customers[index].stored.number) {
            (Some(wanted), Some(has)) if wanted != has => None,
            _ => Some(index),
        }
    }

    fn customer(
        &mut self,
        item: &Item,
        person: &Person,
        report: &mut BatchReport,
        new_customers: &mut Vec<usize>,
        changed: &mut HashSet<usize>,
    ) -> Option<usize> {
        if let Some(index) = self.find_customer(person) {
            let entry = &mut self.customers[index];
            let before = entry.stored.clone();
            if let Some(details) = &person.details {
                apply_details(&mut entry.stored, details, item, report);
            }
            if entry.stored.number.is_none() {
                entry.stored.number = person.number.clone();
            }
            let changes = customer_changes(&before, &entry.stored);
            touch(&mut entry.outcome, !changes.is_empty(), &mut self.customer_counts);
            if !changes.is_empty() {
                changed.insert(index);
                report.changes.push(Change {
                    line: item.line,
                    subject: customer_subject(&entry.stored),
                    detail: changes.join("; "),
                });
                if before.match_key() != entry.stored.match_key() {
                    self.by_key.insert(entry.stored.match_key(), index);
                }
                if let Some(number) = entry.stored.number.clone() {
                    self.by_number.entry(number).or_insert(index);
                }
            }
            return Some(index);
        }
        let Some(details) = &person.details else {
            report.problems.push(Problem::new(
                item.line,
                item.record.clone(),
                format!(
                    "Einen Kunden mit der Kundennummer {} gibt es nicht; die Zeile wurde übersprungen.",
                    person.number.as_deref().unwrap_or("")
                ),
            ));
            return None;
        };
        if let Some(room) = self.contact_room.as_mut() {
            if *room <= 0 {
                report.problems.push(Problem::new(
                    item.line,
                    item.record.clone(),
                    format!(
                        "Ihr Tarif erlaubt keine weiteren Kontakte: {} wurde nicht angelegt, ihr Vertrag übersprungen.",
                        details.last_name
                    ),
                ));
                return None;
            }
            *room -= 1;
        }
        let mut stored = StoredCustomer {
            id: new_id(),
            salutation: Default::default(),
            title: String::new(),
            first_name: String::new(),
            last_name: String::new(),
            birth_date: None,
            street: String::new(),
            postal_code: String::new(),
            city: String::new(),
            email: None,
            phone: String::new(),
            number: person.number.clone(),
        };
        apply_details(&mut stored, details, item, report);
        self.customer_counts.created += 1;
        let index = self.remember_customer(stored, Some(Outcome::Created), false);
        new_customers.push(index);
        Some(index)
    }

    fn customer_of_known_contract(&self, contract: &ContractData) -> Option<usize> {
        let filing = self.catalog.file(&contract.sparte);
        let key = (contract.insurer_number.clone(), filing.code, contract.policy_number.clone());
        let customer_id = &self.contracts.get(&key)?.stored.customer_id;
        self.by_id.get(customer_id).copied()
    }

    fn contract(
        &mut self,
        item: &Item,
        data: &ContractData,
        customer: usize,
        loose: &mut Vec<StoredContract>,
        report: &mut BatchReport,
    ) -> ContractKey {
        let filing = self.catalog.file(&data.sparte);
        if let Some(problem) = &filing.problem {
            report.problems.push(Problem::new(
                item.line,
                item.record.clone(),
                format!("Vertrag {}: {problem}", data.policy_number),
            ));
        }
        let produkt_id = self.catalog.produkt(&filing.sparte_id, data.produkt.as_deref(), &filing.code);
        let key = (data.insurer_number.clone(), filing.code.clone(), data.policy_number.clone());
        let customer_id = self.customers[customer].stored.id.clone();
        if !self.contracts.contains_key(&key) {
            // A contract typed in by hand with this policy number and Sparte is this one.
            if let Some(at) = loose.iter().position(|c| c.sparte_id == filing.sparte_id) {
                let stored = loose.remove(at);
                self.contracts.insert(key.clone(), ContractEntry { stored, outcome: None, persisted: true });
            }
        }
        if !self.contracts.contains_key(&key) {
            self.contract_counts.created += 1;
            let stored = StoredContract {
                id: new_id(),
                customer_id: customer_id.clone(),
                sparte_id: filing.sparte_id.clone(),
                produkt_id: produkt_id.clone(),
                insurer: data.insurer.clone(),
                insurer_number: data.insurer_number.clone(),
                sparte_code: Some(filing.code.clone()),
                policy_number: data.policy_number.clone(),
                premium: Cents(0),
                frequency: PaymentFrequency::Annual,
                start_date: data.start_date.to_string(),
                end_date: None,
                main_due_date: None,
                status: ContractStatus::Active,
            };
            self.contracts
                .insert(key.clone(), ContractEntry { stored, outcome: Some(Outcome::Created), persisted: false });
        }
        let before = self.contracts[&key].stored.clone();
        let mut k = before.clone();
        k.customer_id = customer_id;
        k.sparte_id = filing.sparte_id.clone();
        if produkt_id.is_some() {
            k.produkt_id = produkt_id;
        }
        if !data.insurer.is_empty() {
            k.insurer = data.insurer.clone();
        }
        k.insurer_number = data.insurer_number.clone();
        k.sparte_code = Some(filing.code.clone());
        if let Some(premium) = data.premium {
            k.premium = premium;
        }
        if let Some(frequency) = data.frequency {
            k.frequency = frequency;
        }
        k.start_date = data.start_date.to_string();
        if let Some(end) = data.end_date {
            k.end_date = end.map(|d| d.to_string());
        }
        if let Some(due) = data.main_due_date {
            k.main_due_date = due.map(|d| d.to_string());
        }
        if let Some(status) = data.status {
            k.status = status;
        }
        let changes = self.contract_changes(&before, &k);
        let entry = self.contracts.get_mut(&key).expect("inserted above");
        entry.stored = k;
        touch(&mut entry.outcome, !changes.is_empty(), &mut self.contract_counts);
        if !changes.is_empty() && entry.persisted {
            let subject = format!("Vertrag {} ({})", entry.stored.policy_number, entry.stored.insurer);
            report.changes.push(Change { line: item.line, subject, detail: changes.join("; ") });
        }
        key
    }

    fn contract_changes(&self, before: &StoredContract, after: &StoredContract) -> Vec<String> {
        let mut changes = Vec::new();
        let date = |d: &Option<String>| {
            d.as_deref()
                .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                .map_or("–".to_owned(), |d| format_date(&d))
        };
        let mut differ = |label: &str, old: String, new: String| {
            if old != new {
                changes.push(format!("{label}: {old} → {new}"));
            }
        };
        if before.customer_id != after.customer_id {
            let name = |id: &str| self.by_id.get(id).map_or("?".into(), |&i| self.customers[i].stored.name());
            differ("Versicherungsnehmer", name(&before.customer_id), name(&after.customer_id));
        }
        differ(
            "Sparte",
            self.catalog.sparte_name(&before.sparte_id).into(),
            self.catalog.sparte_name(&after.sparte_id).into(),
        );
        let produkt =
            |id: &Option<String>| id.as_deref().map_or("–".into(), |id| self.catalog.produkt_name(id).to_owned());
        differ("Produkt", produkt(&before.produkt_id), produkt(&after.produkt_id));
        differ("Versicherer", before.insurer.clone(), after.insurer.clone());
        differ("VU-Nummer", before.insurer_number.clone(), after.insurer_number.clone());
        differ("Beitrag", Cents::to_string(&before.premium), after.premium.to_string());
        differ("Zahlweise", before.frequency.label().into(), after.frequency.label().into());
        differ("Beginn", date(&Some(before.start_date.clone())), date(&Some(after.start_date.clone())));
        differ("Ablauf", date(&before.end_date), date(&after.end_date));
        differ("Hauptfälligkeit", date(&before.main_due_date), date(&after.main_due_date));
        differ("Status", before.status.label().into(), after.status.label().into());
        if before.sparte_code != after.sparte_code && changes.is_empty() {
            changes.push(format!("Sparten-Code {} ergänzt", after.sparte_code.as_deref().unwrap_or("")));
        }
        changes
    }
}

fn details_key(details: &PersonDetails) -> String {
    let birth = details.birth_date.flatten().map(|d| d.to_string());
    crate::customers::match_key(
        details.first_name.as_deref().unwrap_or(""),
        &details.last_name,
        birth.as_deref(),
        details.postal_code.as_deref().unwrap_or(""),
    )
}

/// Takes what the file states over; fields it does not carry stay. An e-mail
/// address is only added, never replaced: it may be the customer's login.
fn apply_details(stored: &mut StoredCustomer, details: &PersonDetails, item: &Item, report: &mut BatchReport) {
    let set = |target: &mut String, value: &Option<String>| {
        if let Some(value) = value {
            value.clone_into(target);
        }
    };
    if let Some(salutation) = details.salutation {
        stored.salutation = salutation;
    }
    set(&mut stored.title, &details.title);
    set(&mut stored.first_name, &details.first_name);
    stored.last_name.clone_from(&details.last_name);
    if let Some(birth) = details.birth_date {
        stored.birth_date = birth.map(|d| d.to_string());
    }
    set(&mut stored.street, &details.street);
    set(&mut stored.postal_code, &details.postal_code);
    set(&mut stored.city, &details.city);
    set(&mut stored.phone, &details.phone);
    if let (None, Some(email)) = (&stored.email, &details.email) {
        match EmailAddress::parse(email) {
            Ok(email) => stored.email = Some(email.as_str().to_owned()),
            Err(_) => report.problems.push(Problem::new(
                item.line,
                item.record.clone(),
                format!("„{email}“ ist keine gültige E-Mail-Adresse; sie wurde nicht übernommen."),
            )),
        }
    }
}

fn customer_subject(customer: &StoredCustomer) -> String {
    match &customer.number {
        Some(number) => format!("Kunde {} (Kundennummer {number})", customer.name()),
        None => format!("Kunde {}", customer.name()),
    }
}

fn customer_changes(before: &StoredCustomer, after: &StoredCustomer) -> Vec<String> {
    let mut changes = Vec::new();
    let mut differ = |label: &str, old: &str, new: &str| {
        if old != new {
            let shown = |v: &str| if v.is_empty() { "–".to_owned() } else { v.to_owned() };
            changes.push(format!("{label}: {} → {}", shown(old), shown(new)));
        }
    };
    differ("Anrede", before.salutation.label(), after.salutation.label());
    differ("Titel", &before.title, &after.title);
    differ("Vorname", &before.first_name, &after.first_name);
    differ("Nachname", &before.last_name, &after.last_name);
    differ("Geburtsdatum", before.birth_date.as_deref().unwrap_or(""), after.birth_date.as_deref().unwrap_or(""));
    differ("Straße", &before.street, &after.street);
    differ("PLZ", &before.postal_code, &after.postal_code);
    differ("Ort", &before.city, &after.city);
    differ("Telefon", &before.phone, &after.phone);
    differ("E-Mail", before.email.as_deref().unwrap_or(""), after.email.as_deref().unwrap_or(""));
    differ("Kundennummer", before.number.as_deref().unwrap_or(""), after.number.as_deref().unwrap_or(""));
    changes
}
