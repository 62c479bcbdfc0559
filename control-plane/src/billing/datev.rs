//! The DATEV export: a period's invoices, credit notes, payments, payment
//! reversals and payouts of credit balances as a DATEV "Buchungsstapel" (the
//! EXTF format, header version 700, category 21, format version 13), which
//! the operator's tax adviser imports into DATEV Rechnungswesen.
//!
//! The file is CSV with semicolons and CR/LF, in Windows-1252; text fields are
//! in double quotes. Every booking names the tenant's debtor account (the
//! debtor base plus its customer number) as `Konto`:
//!
//! | document | S/H | Gegenkonto | amount |
//! | --- | --- | --- | --- |
//! | invoice | S | revenue account of its lines | gross |
//! | credit note | H | revenue account of its lines | gross |
//! | payment received | H | bank (Stripe: money in transit) | what arrived |
//! | reversal of a payment | S | bank (Stripe: in transit) | the payment |
//! | payout of a credit balance | S | bank | what was paid out |
//!
//! Revenue accounts are automatic accounts of the 19 % rate (SKR03 8400,
//! SKR04 4400 by default), so DATEV derives the VAT from the gross amount and
//! no tax key is written. An invoice whose line kinds go to different revenue
//! accounts is one booking per account, all with the invoice's number; with
//! one account (the default) every document is one booking. A credit balance
//! used on an invoice needs no booking: it stays on the same debtor account.
//! The Belegdatum carries no year, so a file holds one calendar year at most.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, NaiveDate};
use encoding_rs::WINDOWS_1252;
use tokio::sync::mpsc;

use super::balance;
use super::invoices::{self, Invoice, Kind, LineKind};
use super::money::{Cents, Totals, VatRate};
use super::refusal::{Outcome, Refusal};
use super::settlement::{self, Payment};
use crate::config::DatevSettings;
use crate::state::AppState;
use crate::tenants;

/// The accounts bookings go to, resolved from the settings and the chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accounts {
    pub chart: &'static str,
    pub length: u32,
    pub debtor_base: u64,
    pub bank: u64,
    pub transit: u64,
    pub revenue: BTreeMap<LineKind, u64>,
}

impl Accounts {
    pub fn of(settings: &DatevSettings) -> Result<Accounts, String> {
        let skr04 = settings.chart == "SKR04";
        // The chart's accounts have four digits; longer G/L accounts append zeros (8400 → 84000).
        let scale = 10u64.pow(settings.account_length - 4);
        let (revenue_default, bank_default, transit_default) =
            if skr04 { (4400, 1800, 1460) } else { (8400, 1200, 1360) };
        let r = &settings.revenue_accounts;
        let revenue: BTreeMap<LineKind, u64> = [
            (LineKind::Plan, r.plan),
            (LineKind::Contacts, r.contacts),
            (LineKind::Whitelabel, r.whitelabel),
            (LineKind::Setup, r.setup),
            (LineKind::WhitelabelSetup, r.whitelabel_setup),
            (LineKind::TrialExtension, r.trial_extension),
            (LineKind::Other, r.other),
        ]
        .into_iter()
        .map(|(kind, account)| (kind, account.unwrap_or(revenue_default * scale)))
        .collect();
        let accounts = Accounts {
            chart: if skr04 { "04" } else { "03" },
            length: settings.account_length,
            debtor_base: settings.debtor_base.unwrap_or(10u64.pow(settings.account_length)),
            bank: settings.bank_account.unwrap_or(bank_default * scale),
            transit: settings.transit_account.unwrap_or(transit_default * scale),
            revenue,
        };
        let digits = |account: u64| account.to_string().len() as u32;
        for (name, account) in [("bank_account", accounts.bank), ("transit_account", accounts.transit)]
            .into_iter()
            .chain(accounts.revenue.iter().map(|(kind, account)| (kind.as_str(), *account)))
        {
            if digits(account) != accounts.length {
                return Err(format!("datev: account {account} ({name}) does not have {} digits", accounts.length));
            }
        }
        if digits(accounts.debtor_base) != accounts.length + 1 {
            return Err(format!("datev.debtor_base must have {} digits", accounts.length + 1));
        }
        Ok(accounts)
    }

    /// A tenant's debtor account; debtor accounts end below 70000 (with four-digit G/L accounts).
    pub fn debtor(&self, customer_number: i64) -> anyhow::Result<u64> {
        let account = self.debtor_base + u64::try_from(customer_number)?;
        anyhow::ensure!(
            account < 7 * 10u64.pow(self.length),
            "customer number {customer_number} is beyond the debtor accounts; raise datev.account_length"
        );
        Ok(account)
    }
}

/// One booking line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booking {
    /// Positive; `debit` says on which side of `account` it is.
    pub amount: Cents,
    pub debit: bool,
    pub account: u64,
    pub contra: u64,
    pub date: NaiveDate,
    /// Belegfeld 1: the invoice's number.
    pub document: String,
    pub text: String,
    /// The end of the service period (Leistungsdatum), for invoices and credit notes.
    pub service_date: Option<NaiveDate>,
}

/// Columns of a Buchungsstapel (format version 13) and which of them are not text.
const COLUMNS: usize = 125;
const NOT_TEXT: [usize; 41] = [
    1, 4, 5, 7, 8, 10, 13, 15, 17, 18, 19, 39, 41, 43, 44, 45, 46, 47, 88, 89, 90, 92, 93, 94, 97, 99, 100, 101, 104,
    106, 108, 111, 113, 114, 115, 116, 117, 119, 122, 124, 125,
];

/// The headings of the 125 columns, in order.
fn headings() -> Vec<String> {
    let mut names: Vec<String> = [
        "Umsatz (ohne Soll/Haben-Kz)",
        "Soll/Haben-Kennzeichen",
        "WKZ Umsatz",
        "Kurs",
        "Basis-Umsatz",
        "WKZ Basis-Umsatz",
        "Konto",
        "Gegenkonto (ohne BU-Schlüssel)",
        "BU-Schlüssel",
        "Belegdatum",
        "Belegfeld 1",
        "Belegfeld 2",
        "Skonto",
        "Buchungstext",
        "Postensperre",
        "Diverse Adressnummer",
        "Geschäftspartnerbank",
        "Sachverhalt",
        "Zinssperre",
        "Beleglink",
    ]
    .map(String::from)
    .to_vec();
    for n in 1..=8 {
        names.push(format!("Beleginfo - Art {n}"));
        names.push(format!("Beleginfo - Inhalt {n}"));
    }
    names.extend(
        [
            "KOST1 - Kostenstelle",
            "KOST2 - Kostenstelle",
            "Kost-Menge",
            "EU-Land u. UStID (Bestimmung)",
            "EU-Steuersatz (Bestimmung)",
            "Abw. Versteuerungsart",
            "Sachverhalt L+L",
            "Funktionsergänzung L+L",
            "BU 49 Hauptfunktionstyp",
            "BU 49 Hauptfunktionsnummer",
            "BU 49 Funktionsergänzung",
        ]
        .map(String::from),
    );
    for n in 1..=20 {
        names.push(format!("Zusatzinformation - Art {n}"));
        names.push(format!("Zusatzinformation- Inhalt {n}"));
    }
    names.extend(
        [
            "Stück",
            "Gewicht",
            "Zahlweise",
            "Forderungsart",
            "Veranlagungsjahr",
            "Zugeordnete Fälligkeit",
            "Skontotyp",
            "Auftragsnummer",
            "Buchungstyp",
            "USt-Schlüssel (Anzahlungen)",
            "EU-Land (Anzahlungen)",
            "Sachverhalt L+L (Anzahlungen)",
            "EU-Steuersatz (Anzahlungen)",
            "Erlöskonto (Anzahlungen)",
            "Herkunft-Kz",
            "Buchungs GUID",
            "KOST-Datum",
            "SEPA-Mandatsreferenz",
            "Skontosperre",
            "Gesellschaftername",
            "Beteiligtennummer",
            "Identifikationsnummer",
            "Zeichnernummer",
            "Postensperre bis",
            "Bezeichnung SoBil-Sachverhalt",
            "Kennzeichen SoBil-Buchung",
            "Festschreibung",
            "Leistungsdatum",
            "Datum Zuord. Steuerperiode",
            "Fälligkeit",
            "Generalumkehr (GU)",
            "Steuersatz",
            "Land",
            "Abrechnungsreferenz",
            "BVV-Position",
            "EU-Land u. UStID (Ursprung)",
            "EU-Steuersatz (Ursprung)",
            "Abw. Skontokonto",
        ]
        .map(String::from),
    );
    debug_assert_eq!(names.len(), COLUMNS);
    names
}

/// A text field: quoted, quotes doubled, no control characters, at most `max` characters.
fn text(value: &str, max: usize) -> String {
    let clean: String =
        value.chars().map(|c| if c.is_control() { ' ' } else { c }).take(max).collect::<String>().replace('"', "\"\"");
    format!("\"{clean}\"")
}

/// An amount as DATEV writes it: `1234,56`.
fn amount(cents: Cents) -> String {
    cents.decimal().replace('.', ",")
}

impl Booking {
    fn line(&self) -> String {
        let mut fields: Vec<String> =
            (1..=COLUMNS).map(|n| if NOT_TEXT.contains(&n) { String::new() } else { "\"\"".into() }).collect();
        fields[0] = amount(self.amount);
        fields[1] = text(if self.debit { "S" } else { "H" }, 1);
        fields[2] = text("EUR", 3);
        fields[6] = self.account.to_string();
        fields[7] = self.contra.to_string();
        fields[9] = self.date.format("%d%m").to_string();
        fields[10] = text(&self.document, 36);
        fields[13] = text(&self.text, 60);
        if let Some(day) = self.service_date {
            fields[114] = day.format("%d%m%Y").to_string();
        }
        fields.join(";")
    }
}

/// The header line (EXTF 700, category 21 "Buchungsstapel", format version 13).
fn header(settings: &DatevSettings, accounts: &Accounts, from: NaiveDate, to: NaiveDate, created: &str) -> String {
    let label = format!("Rechnungen {}–{}", from.format("%d.%m."), to.format("%d.%m.%Y"));
    [
        text("EXTF", 4),
        "700".into(),
        "21".into(),
        text("Buchungsstapel", 14),
        "13".into(),
        created.to_owned(),
        String::new(),
        text("RE", 2),
        text("", 25),
        text("", 25),
        settings.consultant_number.to_string(),
        settings.client_number.to_string(),
        format!("{}0101", from.year()),
        accounts.length.to_string(),
        from.format("%Y%m%d").to_string(),
        to.format("%Y%m%d").to_string(),
        text(&label, 30),
        text("", 2),
        "1".into(),
        "0".into(),
        "0".into(),
        text("EUR", 3),
        String::new(),
        text("", 2),
        String::new(),
        String::new(),
        text(accounts.chart, 2),
        String::new(),
        String::new(),
        text("", 16),
        text("", 16),
    ]
    .join(";")
}

/// Windows-1252, with `?` for what it cannot carry.
pub fn windows_1252(text: &str) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut buffer = [0u8; 4];
    for c in text.chars() {
        let (encoded, _, unmappable) = WINDOWS_1252.encode(c.encode_utf8(&mut buffer));
        if unmappable { bytes.push(b'?') } else { bytes.extend_from_slice(&encoded) }
    }
    bytes
}

/// The bookings of an invoice or credit note: one per revenue account its
/// lines go to, the gross divided by the nets with the last one taking the
/// rounding, so that they add up to the document's gross exactly.
pub fn document_bookings(
    invoice: &Invoice,
    lines: &[invoices::Line],
    accounts: &Accounts,
    debtor: u64,
) -> Vec<Booking> {
    let mut nets: BTreeMap<u64, Cents> = BTreeMap::new();
    for line in lines {
        let net = nets.entry(accounts.revenue[&line.kind]).or_default();
        *net = *net + line.net();
    }
    let number = invoice.number.clone().unwrap_or_default();
    let credit_note = invoice.kind == Kind::CreditNote;
    let what = if credit_note { "Gutschrift" } else { "Rechnung" };
    let text = format!("{what} {number} {}", invoice.buyer.name);
    let mut remaining = invoice.gross;
    let count = nets.len();
    nets.into_iter()
        .enumerate()
        .map(|(i, (contra, net))| {
            let gross = if i + 1 == count {
                remaining
            } else {
                Totals::from_lines(std::iter::once((net, VatRate::STANDARD))).gross
            };
            remaining = remaining - gross;
            Booking {
                amount: gross,
                debit: !credit_note,
                account: debtor,
                contra,
                date: invoice.issue_date.unwrap_or(invoice.period_end),
                document: number.clone(),
                text: text.clone(),
                service_date: Some(invoice.period_end),
            }
        })
        .filter(|booking| booking.amount.0 != 0)
        .collect()
}

/// The booking of a payment received (or, `reversed`, of its reversal).
fn payment_booking(payment: &Payment, number: &str, accounts: &Accounts, debtor: u64, reversed: bool) -> Booking {
    let contra = if payment.method == "stripe" { accounts.transit } else { accounts.bank };
    let (date, text) = match (&payment.reversal, reversed) {
        (Some(reversal), true) => {
            (reversal.reversed_on, format!("Storno Zahlung {}: {}", payment.reference, reversal.reason))
        }
        _ => (payment.received_on, format!("Zahlung {} {}", number, payment.reference)),
    };
    Booking {
        amount: payment.amount,
        debit: reversed,
        account: debtor,
        contra,
        date,
        document: number.to_owned(),
        text,
        service_date: None,
    }
}

/// Whether `[from, to]` can be one Buchungsstapel: in order, in one calendar year.
pub fn check_period(from: NaiveDate, to: NaiveDate) -> Outcome<()> {
    if from > to || from.year() != to.year() {
        return Err(Refusal::ExportPeriod.into());
    }
    Ok(())
}

/// The file name the download suggests.
pub fn file_name(from: NaiveDate, to: NaiveDate) -> String {
    format!("EXTF_Buchungsstapel_{}_{}.csv", from.format("%Y%m%d"), to.format("%Y%m%d"))
}

/// Documents per query while the file is written.
const PAGE: i64 = 1_000;

/// Writes the Buchungsstapel of `[from, to]` into `out`, a chunk at a time
/// (the caller streams them), so that a month of many thousand invoices is
/// never held in memory at once. The period must pass `check_period`.
pub async fn export(app: &AppState, from: NaiveDate, to: NaiveDate, out: mpsc::Sender<Vec<u8>>) -> anyhow::Result<()> {
    let accounts = Accounts::of(&app.config.datev).map_err(anyhow::Error::msg)?;
    let created = app.clock.now().with_timezone(&chrono_tz::Europe::Berlin).format("%Y%m%d%H%M%S%3f").to_string();
    let numbers = tenants::customer_numbers(&app.db).await?;
    let debtor = |tenant_id: &str| -> anyhow::Result<u64> {
        let number = numbers
            .get(tenant_id)
            .copied()
            .ok_or_else(|| anyhow::anyhow!("tenant {tenant_id} has no customer number"))?;
        accounts.debtor(number)
    };
    let send = |lines: Vec<String>| {
        let out = out.clone();
        async move {
            let mut text = lines.join("\r\n");
            text.push_str("\r\n");
            out.send(windows_1252(&text)).await.map_err(|_| anyhow::anyhow!("the download was cancelled"))
        }
    };
    send(vec![header(&app.config.datev, &accounts, from, to, &created), headings().join(";")]).await?;

    let mut after = String::new();
    loop {
        let page = invoices::issued_between(&app.db, from, to, &after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.number.clone().unwrap_or_default();
        let ids: Vec<String> = page.iter().map(|i| i.id.clone()).collect();
        let lines = invoices::lines_of(&app.db, &ids).await?;
        let mut rows = Vec::new();
        for invoice in &page {
            let debtor = debtor(&invoice.tenant_id)?;
            let of_invoice = lines.get(&invoice.id).map(Vec::as_slice).unwrap_or_default();
            rows.extend(document_bookings(invoice, of_invoice, &accounts, debtor).iter().map(Booking::line));
        }
        send(rows).await?;
    }

    let mut after = String::new();
    loop {
        let page = settlement::payments_between(&app.db, from, to, &after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.id.clone();
        send(payment_rows(app, &page, &accounts, &debtor, false).await?).await?;
    }
    let reversed = settlement::reversals_between(app, from, to).await?;
    send(payment_rows(app, &reversed, &accounts, &debtor, true).await?).await?;

    let mut rows = Vec::new();
    for payout in balance::payouts_between(&app.db, from, to).await? {
        rows.push(
            Booking {
                amount: -payout.amount,
                debit: true,
                account: debtor(&payout.tenant_id)?,
                contra: accounts.bank,
                date: payout.booked_on,
                document: String::new(),
                text: format!("Auszahlung Guthaben {}", payout.reference),
                service_date: None,
            }
            .line(),
        );
    }
    if !rows.is_empty() {
        send(rows).await?;
    }
    Ok(())
}

async fn payment_rows(
    app: &AppState,
    payments: &[Payment],
    accounts: &Accounts,
    debtor: &impl Fn(&str) -> anyhow::Result<u64>,
    reversed: bool,
) -> anyhow::Result<Vec<String>> {
    let ids: Vec<String> = payments.iter().map(|p| p.invoice_id.clone()).collect();
    let invoices: HashMap<String, Invoice> = {
        let mut found = HashMap::new();
        for id in &ids {
            if !found.contains_key(id)
                && let Some(invoice) = invoices::find(&app.db, id).await?
            {
                found.insert(id.clone(), invoice);
            }
        }
        found
    };
    let mut rows = Vec::new();
    for payment in payments {
        let invoice = invoices.get(&payment.invoice_id).ok_or_else(|| anyhow::anyhow!("a payment's invoice"))?;
        let number = invoice.number.as_deref().unwrap_or_default();
        rows.push(payment_booking(payment, number, accounts, debtor(&invoice.tenant_id)?, reversed).line());
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_come_from_the_chart_unless_set() {
        let skr03 = Accounts::of(&DatevSettings::default()).unwrap();
        assert_eq!((skr03.chart, skr03.bank, skr03.transit, skr03.debtor_base), ("03", 1200, 1360, 10_000));
        assert!(skr03.revenue.values().all(|account| *account == 8400));
        let skr04 = Accounts::of(&DatevSettings { chart: "SKR04".into(), ..DatevSettings::default() }).unwrap();
        assert_eq!((skr04.chart, skr04.bank, skr04.transit), ("04", 1800, 1460));
        assert!(skr04.revenue.values().all(|account| *account == 4400));
        let mut settings = DatevSettings { account_length: 5, ..DatevSettings::default() };
        settings.revenue_accounts.setup = Some(84_010);
        let long = Accounts::of(&settings).unwrap();
        assert_eq!((long.bank, long.debtor_base, long.revenue[&LineKind::Setup]), (12_000, 100_000, 84_010));
        assert_eq!(long.revenue[&LineKind::Plan], 84_000);
        settings.revenue_accounts.setup = Some(8401);
        assert!(Accounts::of(&settings).unwrap_err().contains("setup"));
        assert_eq!(skr03.debtor(123).unwrap(), 10_123);
        assert!(skr03.debtor(60_000).is_err(), "debtor accounts end at 69999");
    }

    #[test]
    fn fields_are_written_as_datev_reads_them() {
        assert_eq!(amount(Cents(123_456)), "1234,56");
        assert_eq!(text("Müller \"&\" Söhne\n", 60), "\"Müller \"\"&\"\" Söhne \"");
        assert_eq!(text(&"x".repeat(80), 60).len(), 62);
        assert_eq!(windows_1252("Müller € – ✓"), b"M\xfcller \x80 \x96 ?");
        assert_eq!(headings().len(), COLUMNS);
        let booking = Booking {
            amount: Cents(31_892),
            debit: true,
            account: 10_001,
            contra: 8400,
            date: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            document: "2026-000001".into(),
            text: "Rechnung 2026-000001 Muster".into(),
            service_date: NaiveDate::from_ymd_opt(2026, 11, 30),
        };
        let line = booking.line();
        let fields: Vec<&str> = line.split(';').collect();
        assert_eq!(fields.len(), COLUMNS);
        assert_eq!(
            &fields[..11],
            ["318,92", "\"S\"", "\"EUR\"", "", "", "\"\"", "10001", "8400", "\"\"", "0112", "\"2026-000001\""]
        );
        assert_eq!(fields[13], "\"Rechnung 2026-000001 Muster\"");
        assert_eq!(fields[114], "30112026");
    }

    #[test]
    fn a_file_holds_one_calendar_year() {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert!(check_period(day(2026, 11, 1), day(2026, 11, 30)).is_ok());
        assert!(check_period(day(2026, 12, 1), day(2027, 1, 31)).is_err());
        assert!(check_period(day(2026, 11, 30), day(2026, 11, 1)).is_err());
    }
}
