//! The invoice as a document: everything § 14 Abs. 4 UStG asks of an invoice and
//! EN 16931 of an e-invoice, checked once when it is made. Totals are derived
//! from the lines (see `money`), never given, so the printed PDF and the XML
//! cannot disagree with the lines or with each other.

use chrono::NaiveDate;
use tenant_app::values::EmailAddress;

use super::bank::{BankAccount, Iban};
use super::money::{Cents, Totals, VatRate};

/// Invoices are in euro only (BT-5).
pub const CURRENCY: &str = "EUR";

/// The most lines one invoice may have, which also bounds every total far below
/// the range of `i64`.
pub const MAX_LINES: usize = 10_000;
/// The largest amount of one line, in cents (100 billion euros).
const MAX_LINE_AMOUNT: i128 = 10_000_000_000_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocumentKind {
    /// A commercial invoice (UNTDID 1001 code 380).
    Invoice,
    /// A credit note (code 381) that corrects an earlier invoice. Its amounts are
    /// positive: the kind says they are credited.
    CreditNote { corrects: InvoiceReference },
}

/// The invoice a credit note corrects (BG-3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceReference {
    pub number: String,
    pub issue_date: NaiveDate,
}

/// The period the service was supplied in (§ 14 Abs. 4 Nr. 6 UStG, BG-14), both days included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServicePeriod {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostalAddress {
    /// Street and house number.
    pub street: String,
    pub postcode: String,
    pub city: String,
    /// ISO 3166-1 alpha-2, e.g. `DE`.
    pub country: String,
}

/// Who an invoice's recipient can ask about it (BG-6). XRechnung requires all three.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub name: String,
    pub phone: String,
    pub email: EmailAddress,
}

/// The seller's commercial register entry: its legal registration
/// identifier on e-invoices (BT-30).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// E.g. "Amtsgericht Berlin-Charlottenburg".
    pub court: String,
    /// E.g. "HRB 123456 B".
    pub number: String,
}

impl Registration {
    /// The identifier as written in BT-30 and printed: number and court.
    pub fn identifier(&self) -> String {
        format!("{}, {}", self.number, self.court)
    }
}

/// The supplier: the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seller {
    pub name: String,
    pub address: PostalAddress,
    /// USt-IdNr. (BT-31), e.g. `DE123456789`.
    pub vat_id: Option<String>,
    /// Steuernummer (BT-32). § 14 UStG needs this or the VAT id.
    pub tax_number: Option<String>,
    /// Handelsregister entry (BT-30). EN 16931 needs this or the VAT id
    /// (BR-CO-26): a tax number alone does not identify the seller.
    pub registration: Option<Registration>,
    /// The seller's electronic address (BT-34), and the e-mail printed on the invoice.
    pub email: EmailAddress,
    pub contact: Contact,
    pub bank: BankAccount,
    /// Further footer lines, e.g. the managing directors.
    pub legal_info: Vec<String>,
}

/// The recipient: the broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Buyer {
    pub name: String,
    pub address: PostalAddress,
    /// The buyer's electronic address (BT-49).
    pub email: EmailAddress,
    pub vat_id: Option<String>,
}

/// UN/ECE Recommendation 20 unit codes the products are sold in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// `C62`, one (pieces, contacts, one-time fees).
    Piece,
    /// `MON`, month.
    Month,
    /// `DAY`, day.
    Day,
}

impl Unit {
    pub fn code(self) -> &'static str {
        match self {
            Unit::Piece => "C62",
            Unit::Month => "MON",
            Unit::Day => "DAY",
        }
    }

    /// The German word for a printed quantity.
    pub fn label(self, quantity: i64) -> &'static str {
        match (self, quantity.abs() == 1) {
            (Unit::Piece, _) => "Stück",
            (Unit::Month, true) => "Monat",
            (Unit::Month, false) => "Monate",
            (Unit::Day, true) => "Tag",
            (Unit::Day, false) => "Tage",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceLine {
    pub description: String,
    /// Whole units; negative only for a correction inside an invoice.
    pub quantity: i64,
    pub unit: Unit,
    /// Net price of one unit (BT-146); never negative (BR-27).
    pub unit_price: Cents,
    pub vat_rate: VatRate,
}

impl InvoiceLine {
    /// `quantity × unit price` (BT-131): exact, there is nothing to round.
    pub fn net(&self) -> Cents {
        Cents(self.quantity * self.unit_price.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentMeans {
    /// SEPA credit transfer (UNTDID 4461 code 58) to the seller's account.
    CreditTransfer,
    /// SEPA direct debit (code 59) under a mandate.
    SepaDirectDebit {
        /// Mandatsreferenz (BT-89).
        mandate_reference: String,
        /// Gläubiger-Identifikationsnummer of the seller (BT-90).
        creditor_id: String,
        /// The account debited (BT-91).
        debtor_iban: Iban,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentTerms {
    pub due_date: NaiveDate,
    /// The terms in words (BT-20), e.g. "Zahlbar ohne Abzug innerhalb von 14 Tagen."
    pub text: String,
    pub means: PaymentMeans,
}

/// What an invoice says, before it is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceContent {
    pub kind: DocumentKind,
    /// The unique sequential number (BT-1).
    pub number: String,
    pub issue_date: NaiveDate,
    pub period: ServicePeriod,
    /// The buyer's reference (BT-10); XRechnung requires one. We use the customer number.
    pub buyer_reference: Option<String>,
    pub seller: Seller,
    pub buyer: Buyer,
    pub lines: Vec<InvoiceLine>,
    /// Free-text notes (BT-22), printed under the lines, e.g. how usage is counted.
    pub notes: Vec<String>,
    pub payment: PaymentTerms,
    /// Paid already (BT-113): the buyer's credit balance used on the invoice.
    /// The amount due (BT-115) is the gross less this.
    pub prepaid: Cents,
}

/// A checked invoice or credit note with its derived totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceDocument {
    content: InvoiceContent,
    totals: Totals,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct DocumentError {
    pub field: String,
    pub problem: &'static str,
}

fn error(field: impl Into<String>, problem: &'static str) -> DocumentError {
    DocumentError { field: field.into(), problem }
}

impl InvoiceDocument {
    pub fn new(content: InvoiceContent) -> Result<InvoiceDocument, DocumentError> {
        check(&content)?;
        let totals = Totals::from_lines(content.lines.iter().map(|line| (line.net(), line.vat_rate)));
        if totals.gross.0 < 0 {
            return Err(error("lines", "the total is negative: credit amounts belong on a credit note"));
        }
        if content.prepaid.0 < 0 || content.prepaid > totals.gross {
            return Err(error("prepaid", "the amount paid already lies between nothing and the gross total"));
        }
        if content.prepaid.0 != 0 && matches!(content.kind, DocumentKind::CreditNote { .. }) {
            return Err(error("prepaid", "nothing is paid on a credit note"));
        }
        Ok(InvoiceDocument { content, totals })
    }

    pub fn content(&self) -> &InvoiceContent {
        &self.content
    }

    pub fn totals(&self) -> &Totals {
        &self.totals
    }

    /// What the buyer is asked to pay (BT-115): the gross less what was paid already.
    pub fn due(&self) -> Cents {
        self.totals.gross - self.content.prepaid
    }

    /// UNTDID 1001 document type code (BT-3).
    pub fn type_code(&self) -> &'static str {
        match self.content.kind {
            DocumentKind::Invoice => "380",
            DocumentKind::CreditNote { .. } => "381",
        }
    }

    /// The German title printed on the document.
    pub fn title(&self) -> &'static str {
        match self.content.kind {
            DocumentKind::Invoice => "Rechnung",
            DocumentKind::CreditNote { .. } => "Gutschrift",
        }
    }
}

fn check(content: &InvoiceContent) -> Result<(), DocumentError> {
    text("number", &content.number, 200)?;
    if content.period.start > content.period.end {
        return Err(error("period", "the period ends before it starts"));
    }
    if content.payment.due_date < content.issue_date {
        return Err(error("payment.due_date", "payment is due before the invoice is issued"));
    }
    if let Some(reference) = &content.buyer_reference {
        text("buyer_reference", reference, 200)?;
    }
    if let DocumentKind::CreditNote { corrects } = &content.kind {
        text("kind.corrects.number", &corrects.number, 200)?;
        if corrects.issue_date > content.issue_date {
            return Err(error("kind.corrects.issue_date", "a credit note cannot correct a later invoice"));
        }
    }
    check_seller(&content.seller)?;
    text("buyer.name", &content.buyer.name, 200)?;
    address("buyer.address", &content.buyer.address)?;
    if let Some(vat_id) = &content.buyer.vat_id {
        check_vat_id("buyer.vat_id", vat_id)?;
    }
    if content.lines.is_empty() {
        return Err(error("lines", "an invoice has at least one line"));
    }
    if content.lines.len() > MAX_LINES {
        return Err(error("lines", "too many lines for one invoice"));
    }
    for (i, line) in content.lines.iter().enumerate() {
        let field = |name: &str| format!("lines[{i}].{name}");
        text(field("description"), &line.description, 500)?;
        if line.quantity == 0 {
            return Err(error(field("quantity"), "a line has a quantity"));
        }
        if line.unit_price.0 < 0 {
            return Err(error(field("unit_price"), "a unit price is never negative"));
        }
        if (i128::from(line.quantity) * i128::from(line.unit_price.0)).abs() > MAX_LINE_AMOUNT {
            return Err(error(field("quantity"), "the line amount is beyond any real invoice"));
        }
    }
    for (i, note) in content.notes.iter().enumerate() {
        multiline_text(format!("notes[{i}]"), note, 2_000)?;
    }
    multiline_text("payment.text", &content.payment.text, 1_000)?;
    if let PaymentMeans::SepaDirectDebit { mandate_reference, creditor_id, .. } = &content.payment.means {
        text("payment.means.mandate_reference", mandate_reference, 35)?;
        text("payment.means.creditor_id", creditor_id, 35)?;
    }
    Ok(())
}

/// What every invoice needs of its seller; also checked when billing starts.
pub fn check_seller(seller: &Seller) -> Result<(), DocumentError> {
    text("seller.name", &seller.name, 200)?;
    address("seller.address", &seller.address)?;
    if seller.vat_id.is_none() && seller.tax_number.is_none() {
        return Err(error("seller", "§ 14 UStG requires the VAT id or the tax number"));
    }
    if seller.vat_id.is_none() && seller.registration.is_none() {
        return Err(error(
            "seller",
            "EN 16931 (BR-CO-26) requires the VAT id or the commercial register entry; a tax number alone is not enough",
        ));
    }
    if let Some(registration) = &seller.registration {
        text("seller.registration.court", &registration.court, 100)?;
        text("seller.registration.number", &registration.number, 50)?;
    }
    if let Some(vat_id) = &seller.vat_id {
        check_vat_id("seller.vat_id", vat_id)?;
    }
    if let Some(tax_number) = &seller.tax_number {
        text("seller.tax_number", tax_number, 30)?;
    }
    text("seller.contact.name", &seller.contact.name, 200)?;
    text("seller.contact.phone", &seller.contact.phone, 50)?;
    text("seller.bank.holder", &seller.bank.holder, 70)?;
    if let Some(bank_name) = &seller.bank.bank_name {
        text("seller.bank.bank_name", bank_name, 100)?;
    }
    for (i, line) in seller.legal_info.iter().enumerate() {
        text(format!("seller.legal_info[{i}]"), line, 200)?;
    }
    Ok(())
}

fn address(field: &str, address: &PostalAddress) -> Result<(), DocumentError> {
    text(format!("{field}.street"), &address.street, 200)?;
    text(format!("{field}.postcode"), &address.postcode, 20)?;
    text(format!("{field}.city"), &address.city, 100)?;
    let country = address.country.as_bytes();
    if country.len() != 2 || !country.iter().all(u8::is_ascii_uppercase) {
        return Err(error(format!("{field}.country"), "a country is a two-letter ISO code such as DE"));
    }
    Ok(())
}

/// A VAT id starts with the country prefix (`DE`, or `EL` for Greece) and has at most 12 more letters or digits.
fn check_vat_id(field: &str, vat_id: &str) -> Result<(), DocumentError> {
    let bytes = vat_id.as_bytes();
    let valid = (4..=14).contains(&bytes.len())
        && bytes[..2].iter().all(u8::is_ascii_uppercase)
        && bytes[2..].iter().all(u8::is_ascii_alphanumeric);
    if valid { Ok(()) } else { Err(error(field, "a VAT id looks like DE123456789")) }
}

/// One line of text: not blank, no control characters (which XML 1.0 cannot carry).
fn text(field: impl Into<String>, value: &str, max_chars: usize) -> Result<(), DocumentError> {
    checked_text(field.into(), value, max_chars, false)
}

/// Text that may have line breaks.
fn multiline_text(field: impl Into<String>, value: &str, max_chars: usize) -> Result<(), DocumentError> {
    checked_text(field.into(), value, max_chars, true)
}

fn checked_text(field: String, value: &str, max_chars: usize, multiline: bool) -> Result<(), DocumentError> {
    if value.trim().is_empty() {
        return Err(error(field, "must not be empty"));
    }
    if value.chars().count() > max_chars {
        return Err(error(field, "is too long"));
    }
    if value.chars().any(|c| c.is_control() && !(multiline && c == '\n')) {
        return Err(error(field, "must not contain control characters"));
    }
    Ok(())
}

/// A complete, realistic invoice to test and measure with.
#[cfg(test)]
pub(crate) mod sample {
    use super::*;
    use crate::billing::bank::Bic;

    pub fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    pub fn content() -> InvoiceContent {
        InvoiceContent {
            kind: DocumentKind::Invoice,
            number: "RE-2026-000042".into(),
            issue_date: date("2026-12-01"),
            period: ServicePeriod { start: date("2026-11-01"), end: date("2026-11-30") },
            buyer_reference: Some("K-10023".into()),
            seller: Seller {
                name: "Ordo Software GmbH".into(),
                address: PostalAddress {
                    street: "Friedrichstraße 123".into(),
                    postcode: "10117".into(),
                    city: "Berlin".into(),
                    country: "DE".into(),
                },
                vat_id: Some("DE123456789".into()),
                tax_number: Some("37/123/45678".into()),
                registration: Some(Registration {
                    court: "Amtsgericht Berlin-Charlottenburg".into(),
                    number: "HRB 123456 B".into(),
                }),
                email: EmailAddress::parse("rechnung@ordo.example").unwrap(),
                contact: Contact {
                    name: "Buchhaltung".into(),
                    phone: "+49 30 1234567".into(),
                    email: EmailAddress::parse("buchhaltung@ordo.example").unwrap(),
                },
                bank: BankAccount {
                    holder: "Ordo Software GmbH".into(),
                    iban: Iban::parse("DE89 3704 0044 0532 0130 00").unwrap(),
                    bic: Some(Bic::parse("COBADEFFXXX").unwrap()),
                    bank_name: Some("Commerzbank".into()),
                },
                legal_info: vec!["Geschäftsführerin: Anna Beispiel".into()],
            },
            buyer: Buyer {
                name: "Versicherungsmakler Müller & Söhne <GmbH>".into(),
                address: PostalAddress {
                    street: "Königsallee 1".into(),
                    postcode: "40212".into(),
                    city: "Düsseldorf".into(),
                    country: "DE".into(),
                },
                email: EmailAddress::parse("buero@mueller-makler.example").unwrap(),
                vat_id: Some("DE987654321".into()),
            },
            lines: vec![
                InvoiceLine {
                    description: "Pay-per-Use Grundgebühr November 2026".into(),
                    quantity: 1,
                    unit: Unit::Month,
                    unit_price: Cents(1_900),
                    vat_rate: VatRate::STANDARD,
                },
                InvoiceLine {
                    description: "Kontakte (höchste Kontaktzahl im November 2026)".into(),
                    quantity: 123,
                    unit: Unit::Piece,
                    unit_price: Cents(50),
                    vat_rate: VatRate::STANDARD,
                },
                InvoiceLine {
                    description: "Whitelabel, anteilig 10 von 30 Tagen".into(),
                    quantity: 1,
                    unit: Unit::Piece,
                    unit_price: Cents(967),
                    vat_rate: VatRate::STANDARD,
                },
            ],
            notes: vec!["Abgerechnet wird die höchste Kontaktzahl im Zeitraum.".into()],
            payment: PaymentTerms {
                due_date: date("2026-12-15"),
                text: "Zahlbar ohne Abzug bis zum 15.12.2026.".into(),
                means: PaymentMeans::CreditTransfer,
            },
            prepaid: Cents(0),
        }
    }

    pub fn invoice() -> InvoiceDocument {
        InvoiceDocument::new(content()).unwrap()
    }

    pub fn credit_note() -> InvoiceDocument {
        let mut content = content();
        content.kind = DocumentKind::CreditNote {
            corrects: InvoiceReference { number: "RE-2026-000042".into(), issue_date: date("2026-12-01") },
        };
        content.number = "GS-2026-000003".into();
        content.issue_date = date("2026-12-05");
        content.lines.truncate(1);
        content.notes = vec!["Wir schreiben Ihnen die Grundgebühr für November 2026 gut.".into()];
        content.payment = PaymentTerms {
            due_date: date("2026-12-05"),
            text: "Die Erstattung erfolgt innerhalb von fünf Bankarbeitstagen.".into(),
            means: PaymentMeans::SepaDirectDebit {
                mandate_reference: "ORDO-K-10023-1".into(),
                creditor_id: "DE98ZZZ09999999999".into(),
                debtor_iban: Iban::parse("DE02 1203 0000 0000 2020 51").unwrap(),
            },
        };
        InvoiceDocument::new(content).unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::sample::{content, date};
    use super::*;

    #[test]
    fn totals_are_derived_from_the_lines() {
        let invoice = sample::invoice();
        // 19.00 + 123 × 0.50 + 9.67 = 90.17; VAT 17.1323 → 17.13.
        assert_eq!(invoice.totals().net, Cents(9_017));
        assert_eq!(invoice.totals().vat, Cents(1_713));
        assert_eq!(invoice.totals().gross, Cents(10_730));
        assert_eq!(invoice.type_code(), "380");
        assert_eq!(sample::credit_note().type_code(), "381");
        assert_eq!(sample::credit_note().title(), "Gutschrift");
    }

    fn refused(change: impl FnOnce(&mut InvoiceContent)) -> DocumentError {
        let mut content = content();
        change(&mut content);
        InvoiceDocument::new(content).expect_err("accepted")
    }

    #[test]
    fn what_section_14_requires_is_checked() {
        assert_eq!(refused(|c| (c.seller.vat_id, c.seller.tax_number) = (None, None)).field, "seller",);
        assert_eq!(refused(|c| c.number = " ".into()).field, "number");
        assert_eq!(refused(|c| c.lines.clear()).field, "lines");
        assert_eq!(refused(|c| c.period.end = date("2026-10-31")).field, "period");
        assert_eq!(refused(|c| c.payment.due_date = date("2026-11-30")).field, "payment.due_date");
        assert_eq!(refused(|c| c.buyer.address.country = "Deutschland".into()).field, "buyer.address.country");
        assert_eq!(refused(|c| c.seller.vat_id = Some("123".into())).field, "seller.vat_id");
        // The tax number with the register entry is enough (§ 14 UStG, BR-CO-26), and so is the VAT id alone.
        let mut content = content();
        content.seller.vat_id = None;
        assert!(InvoiceDocument::new(content.clone()).is_ok());
        // The tax number alone is not: it does not identify the seller of an e-invoice.
        content.seller.registration = None;
        let error = InvoiceDocument::new(content).unwrap_err();
        assert!(error.field == "seller" && error.problem.contains("BR-CO-26"), "{error}");
        let mut content = sample::content();
        (content.seller.tax_number, content.seller.registration) = (None, None);
        assert!(InvoiceDocument::new(content).is_ok());
    }

    #[test]
    fn lines_are_checked() {
        assert_eq!(refused(|c| c.lines[1].quantity = 0).field, "lines[1].quantity");
        assert_eq!(refused(|c| c.lines[0].unit_price = Cents(-1)).field, "lines[0].unit_price");
        assert_eq!(refused(|c| c.lines[0].description = "a\u{0}b".into()).field, "lines[0].description");
        assert_eq!(refused(|c| c.lines[0].unit_price = Cents(i64::MAX)).field, "lines[0].quantity");
        // A correction line may be negative, the total may not.
        let mut content = content();
        content.lines[1].quantity = -10;
        assert_eq!(InvoiceDocument::new(content).unwrap().totals().net, Cents(1_900 - 500 + 967));
        assert_eq!(refused(|c| c.lines[0].quantity = -100).field, "lines");
    }

    #[test]
    fn the_largest_invoice_stays_in_range() {
        let mut content = content();
        let line = InvoiceLine {
            description: "Posten".into(),
            quantity: 1_000,
            unit: Unit::Piece,
            unit_price: Cents(10_000_000_000),
            vat_rate: VatRate::STANDARD,
        };
        content.lines = vec![line; MAX_LINES];
        let invoice = InvoiceDocument::new(content).unwrap();
        assert_eq!(invoice.totals().net, Cents(100_000_000_000_000_000));
        assert_eq!(invoice.totals().gross, Cents(119_000_000_000_000_000));
    }

    #[test]
    fn credit_notes_refer_to_an_earlier_invoice() {
        let mut content = content();
        content.kind = DocumentKind::CreditNote {
            corrects: InvoiceReference { number: "RE-1".into(), issue_date: date("2026-12-02") },
        };
        assert_eq!(InvoiceDocument::new(content).unwrap_err().field, "kind.corrects.issue_date");
    }
}
