//! Builds GDV VU-Vermittler files for tests and benchmarks, field by field at
//! the columns of the published layout (1-based, inclusive), written down here
//! independently of the reader so that a wrong column in either shows.

use crate::TestApp;

/// A person record (0100, Teildatensätze 1 and 2).
#[derive(Debug, Clone)]
pub struct GdvPerson {
    /// 0 none, 1 Herr, 2 Frau, 3 Firma, 4 Herr und Frau.
    pub salutation: char,
    pub name1: String,
    pub name2: String,
    pub name3: String,
    pub title: String,
    pub postal_code: String,
    pub city: String,
    pub street: String,
    /// TTMMJJJJ
    pub birth_date: String,
    pub broker_number: String,
}

impl GdvPerson {
    pub fn new(salutation: char, surname: &str, first_name: &str, birth_date: &str) -> GdvPerson {
        GdvPerson {
            salutation,
            name1: surname.into(),
            name2: String::new(),
            name3: first_name.into(),
            title: String::new(),
            postal_code: "50667".into(),
            city: "Köln".into(),
            street: "Domstraße 1".into(),
            birth_date: birth_date.into(),
            broker_number: String::new(),
        }
    }

    pub fn number(mut self, number: &str) -> GdvPerson {
        self.broker_number = number.into();
        self
    }
}

/// A contract with its policyholder (0100 + 0200).
#[derive(Debug, Clone)]
pub struct GdvContract {
    pub person: GdvPerson,
    pub sparte: String,
    pub policy_number: String,
    pub product: String,
    /// TTMMJJJJ
    pub start: String,
    pub end: String,
    pub main_due: String,
    pub frequency: char,
    pub status: char,
    pub premium_cents: i64,
    pub currency: String,
}

impl GdvContract {
    pub fn new(person: GdvPerson, sparte: &str, policy_number: &str, premium_cents: i64) -> GdvContract {
        GdvContract {
            person,
            sparte: sparte.into(),
            policy_number: policy_number.into(),
            product: String::new(),
            start: "01012020".into(),
            end: "01012030".into(),
            main_due: "01010000".into(),
            frequency: '1',
            status: '1',
            premium_cents,
            currency: "EUR".into(),
        }
    }
}

/// One data package: 0001 … 9999.
#[derive(Debug, Clone)]
pub struct GdvPackage {
    pub vu_number: String,
    pub sender: String,
    /// The Vorsatz's version field (columns 96–98), which names the release.
    pub version: String,
    pub created_from: String,
    pub created_to: String,
    pub contracts: Vec<GdvContract>,
    /// Lines written as they are after the contract with this index (0-based).
    pub raw_lines: Vec<(usize, String)>,
    /// A trailer count other than the true one.
    pub wrong_count: Option<i64>,
}

impl GdvPackage {
    pub fn new(vu_number: &str, sender: &str) -> GdvPackage {
        GdvPackage {
            vu_number: vu_number.into(),
            sender: sender.into(),
            version: "2.3".into(),
            created_from: "01012024".into(),
            created_to: "31122024".into(),
            contracts: Vec::new(),
            raw_lines: Vec::new(),
            wrong_count: None,
        }
    }
}

/// A whole file.
#[derive(Debug, Clone, Default)]
pub struct GdvFile {
    pub packages: Vec<GdvPackage>,
    pub crlf: bool,
    /// Strip trailing spaces, as some programs do.
    pub shorten: bool,
}

/// A 256-character record with `fields` placed at their columns and the
/// Teildatensatz number in column 256.
pub fn record(fields: &[(usize, usize, &str)], sub_record: char) -> String {
    let mut chars = vec![' '; 256];
    for &(from, to, value) in fields {
        let width = to - from + 1;
        let value: Vec<char> = value.chars().take(width).collect();
        chars[from - 1..from - 1 + value.len()].copy_from_slice(&value);
    }
    chars[255] = sub_record;
    chars.into_iter().collect()
}

fn right(value: &str, width: usize) -> String {
    format!("{value:>width$}")
}

fn zeros(value: i64, width: usize) -> String {
    format!("{value:0width$}")
}

fn key<'a>(vu: &'a str, sparte: &'a str, policy: &'a str) -> Vec<(usize, usize, String)> {
    vec![(5, 9, vu.to_owned()), (11, 13, sparte.to_owned()), (14, 30, right(policy, 17)), (33, 42, "0001234567".into())]
}

fn owned(kind: &str, key: Vec<(usize, usize, String)>, more: Vec<(usize, usize, String)>, sub: char) -> String {
    let mut fields = vec![(1, 4, kind.to_owned())];
    fields.extend(key);
    fields.extend(more);
    let borrowed: Vec<(usize, usize, &str)> = fields.iter().map(|(a, b, s)| (*a, *b, s.as_str())).collect();
    record(&borrowed, sub)
}

impl GdvContract {
    fn lines(&self, vu: &str) -> Vec<String> {
        let p = &self.person;
        let k = || key(vu, &self.sparte, &self.policy_number);
        vec![
            owned(
                "0100",
                k(),
                vec![
                    (43, 43, p.salutation.to_string()),
                    (44, 73, p.name1.clone()),
                    (74, 103, p.name2.clone()),
                    (104, 133, p.name3.clone()),
                    (134, 153, p.title.clone()),
                    (154, 156, "D".into()),
                    (157, 162, p.postal_code.clone()),
                    (163, 187, p.city.clone()),
                    (188, 217, p.street.clone()),
                    (226, 233, p.birth_date.clone()),
                ],
                '1',
            ),
            owned(
                "0100",
                k(),
                vec![(43, 59, format!("VU-{}", p.broker_number)), (60, 76, p.broker_number.clone())],
                '2',
            ),
            owned(
                "0200",
                k(),
                vec![
                    (43, 43, "2".into()),
                    (44, 51, self.start.clone()),
                    (52, 59, self.end.clone()),
                    (60, 67, self.main_due.clone()),
                    (68, 68, self.frequency.to_string()),
                    (69, 69, self.status.to_string()),
                    (113, 115, self.currency.clone()),
                    (116, 127, zeros(self.premium_cents, 12)),
                ],
                '1',
            ),
            owned("0200", k(), vec![(114, 133, self.product.clone())], '2'),
            // A Sparten record Ordo does not read: counted, passed over.
            owned("0210", k(), vec![(43, 60, "Spartendaten".into())], '1'),
        ]
    }
}

impl GdvFile {
    pub fn lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for package in &self.packages {
            let start = lines.len();
            lines.push(record(
                &[
                    (1, 4, "0001"),
                    (5, 9, &package.vu_number),
                    (10, 39, &package.sender),
                    (40, 69, "Maklerbüro Muster"),
                    (70, 77, &package.created_from),
                    (78, 85, &package.created_to),
                    (86, 95, "0001234567"),
                    (96, 98, &package.version),
                ],
                '1',
            ));
            let mut total = 0;
            for (index, contract) in package.contracts.iter().enumerate() {
                lines.extend(contract.lines(&package.vu_number));
                total += contract.premium_cents;
                lines.extend(package.raw_lines.iter().filter(|(after, _)| *after == index).map(|(_, l)| l.clone()));
            }
            let count = package.wrong_count.unwrap_or((lines.len() - start + 1) as i64);
            lines.push(record(&[(1, 4, "9999"), (5, 14, &zeros(count, 10)), (25, 39, &zeros(total, 15))], ' '));
        }
        if self.shorten {
            lines = lines.into_iter().map(|l| l.trim_end().to_owned()).collect();
        }
        lines
    }

    /// The file as an insurer sends it: ISO-8859-1, LF or CRLF line ends.
    pub fn to_bytes(&self) -> Vec<u8> {
        let newline = if self.crlf { "\r\n" } else { "\n" };
        let text: String = self.lines().into_iter().map(|l| l + newline).collect();
        latin1(&text)
    }
}

/// Encodes text as ISO-8859-1 (every character must be in it).
pub fn latin1(text: &str) -> Vec<u8> {
    text.chars().map(|c| u8::try_from(u32::from(c)).expect("character outside ISO-8859-1")).collect()
}

/// Encodes text as Windows-1252 (German text: ISO-8859-1 plus € and quotes).
pub fn windows_1252(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            '€' => 0x80,
            '„' => 0x84,
            '“' => 0x93,
            '–' => 0x96,
            c => u8::try_from(u32::from(c)).expect("character outside Windows-1252"),
        })
        .collect()
}

/// `count` contracts of `count / 2` customers (two each), in one package: the benchmark's file.
pub fn book(count: usize) -> GdvFile {
    let mut package = GdvPackage::new("9001", "Bench Versicherung AG");
    let sparten = ["010", "020", "030", "040", "051", "070", "130", "140"];
    for n in 0..count {
        let person = GdvPerson::new('1', &format!("Kunde{}", n / 2), "Max", "15041980").number(&format!("K{}", n / 2));
        let mut contract = GdvContract::new(person, sparten[n % sparten.len()], &format!("B{n:08}"), 1000 + n as i64);
        contract.product = format!("Tarif {}", n % 5);
        contract.frequency = '8';
        package.contracts.push(contract);
    }
    GdvFile { packages: vec![package], crlf: false, shorten: false }
}

impl TestApp {
    /// Arranges: a running import that holds the portal's import worker (a
    /// claim with a heartbeat an hour ahead), so that a confirmed import waits.
    /// No interface can pause the worker; `arrange_import_died_after_first_batch`
    /// removes the claim again.
    pub async fn arrange_busy_import_worker(&self, slug: &str) {
        let db = self.state.registry.get(slug).expect("the portal runs here").portal.db().clone();
        let now = tenant_app::db::now();
        sqlx::query(
            "INSERT INTO imports (id, format, file_name, dry_run, status, actor_id, actor_name, created_at, heartbeat_at) \
             VALUES ('busy', 'gdv', 'x', 1, 'running', 'x', 'x', $1, $2)",
        )
        .bind(now)
        .bind(now + 3600)
        .execute(db.pool())
        .await
        .expect("claiming the worker");
    }

    /// Arranges: import `id` as a worker leaves it that died after committing its
    /// first batch (status running, no heartbeat for minutes, position after the
    /// first contract's five lines, that batch's customer and contract written, the
    /// contract with a premium the file does not have so that a second application
    /// would show). A crash cannot be caused through any interface.
    pub async fn arrange_import_died_after_first_batch(&self, slug: &str, id: &str) {
        let db = self.state.registry.get(slug).expect("the portal runs here").portal.db().clone();
        let now = tenant_app::db::now();
        sqlx::query(
            "UPDATE imports SET status = 'running', heartbeat_at = $1, position = 6, processed = 6, \
             customers_created = 1, contracts_created = 1 WHERE id = $2",
        )
        .bind(now - 600)
        .bind(id)
        .execute(db.pool())
        .await
        .expect("leaving the import half done");
        sqlx::query("DELETE FROM imports WHERE id = 'busy'").execute(db.pool()).await.expect("freeing the worker");
        let customer = tenant_app::db::new_id();
        sqlx::query(
            "INSERT INTO customers (id, first_name, last_name, birth_date, postal_code, city, street, customer_number, \
             salutation, title, match_key, created_at, updated_at) VALUES ($1, 'Erika', 'Müßig', '1970-03-12', '50667', \
             'Köln', 'Domstraße 1', 'K-1', 'frau', 'Dr.', $2, $3, $3)",
        )
        .bind(&customer)
        .bind(tenant_app::customers::match_key("Erika", "Müßig", Some("1970-03-12"), "50667"))
        .bind(now)
        .execute(db.pool())
        .await
        .expect("the first batch's customer");
        let unfall: String = sqlx::query_scalar("SELECT id FROM sparten WHERE gdv_code = '030'")
            .fetch_one(db.pool())
            .await
            .expect("the Unfall Sparte");
        sqlx::query(
            "INSERT INTO contracts (id, customer_id, sparte_id, insurer, insurer_number, sparte_code, policy_number, \
             premium_cents, payment_frequency, start_date, status, created_at, updated_at) \
             VALUES ($1, $2, $3, 'Süd Versicherung AG', '9001', '030', 'U-1', 777, 'annual', '2020-01-01', 'active', $4, $4)",
        )
        .bind(tenant_app::db::new_id())
        .bind(&customer)
        .bind(&unfall)
        .bind(now)
        .execute(db.pool())
        .await
        .expect("the first batch's contract");
    }

    /// Observes: the portal's audit trail, newest first (the owner's page for it
    /// comes with the team).
    pub async fn portal_audit_trail(&self, slug: &str) -> Vec<tenant_app::audit::Entry> {
        let db = self.state.registry.get(slug).expect("the portal runs here").portal.db().clone();
        tenant_app::audit::page(&db, 1, 200).await.expect("reading the audit trail").0
    }
}
