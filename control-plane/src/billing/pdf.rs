//! The invoice as a ZUGFeRD / Factur-X file: a PDF/A-3b A4 document in German
//! (DIN 5008 address field) with the EN 16931 CII XML attached as `factur-x.xml`.

use chrono::{DateTime, NaiveDate, Utc};
use tenant_app::calendar::format_date;

use super::document::{DocumentKind, InvoiceDocument, PaymentMeans, PostalAddress};
use super::einvoice;
use crate::pdfa::layout::{Frame, PAGE_HEIGHT, PAGE_WIDTH, mm};
use crate::pdfa::{
    self, Align, Attachment, Document, Flow, FontStyle, Relationship, Rgb, Table, TableColumn, TextStyle,
};

const BODY: TextStyle = TextStyle::new(FontStyle::Regular, 9.5);
const BOLD: TextStyle = TextStyle::new(FontStyle::Bold, 9.5);
const SMALL: TextStyle = TextStyle::new(FontStyle::Regular, 7.5).color(Rgb::GREY);
const LETTERHEAD: TextStyle = TextStyle::new(FontStyle::Bold, 15.0);
const TITLE: TextStyle = TextStyle::new(FontStyle::Bold, 14.0);

const LEFT: f32 = 25.0 * 72.0 / 25.4;
const RIGHT: f32 = PAGE_WIDTH - 20.0 * 72.0 / 25.4;
/// Where the footer starts; text flows down to just above it.
const FOOTER_TOP: f32 = 30.0 * 72.0 / 25.4;

/// The attachment name the Factur-X standard prescribes.
pub const FACTURX_FILE_NAME: &str = "factur-x.xml";

/// Renders the invoice with its Factur-X XML attached. `created` is the moment the
/// file is made, recorded in its metadata.
pub fn invoice_pdf(invoice: &InvoiceDocument, created: DateTime<Utc>) -> Vec<u8> {
    let xml = einvoice::facturx_xml(invoice);
    let mut document = Document::new();
    layout(&mut document, invoice);
    let content = invoice.content();
    let title = format!("{} {}", invoice.title(), content.number);
    let subject = format!("{} {} vom {}", invoice.title(), content.number, format_date(&content.issue_date));
    pdfa::write(
        document,
        &pdfa::Metadata {
            title: &title,
            author: &content.seller.name,
            subject: &subject,
            language: "de-DE",
            created,
            extra_xmp: FACTURX_XMP,
        },
        &[Attachment {
            name: FACTURX_FILE_NAME,
            description: "Factur-X/ZUGFeRD-Rechnungsdaten (EN 16931)",
            mime_type: "text/xml",
            data: &xml,
            // The visible invoice is rendered from the same data as the XML.
            relationship: Relationship::Data,
        }],
    )
}

/// The Factur-X XMP properties and, because PDF/A allows only known schemas, the
/// description of the Factur-X extension schema (Factur-X 1.0, section 6.2).
const FACTURX_XMP: &str = r#"<rdf:Description rdf:about="" xmlns:fx="urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#">
<fx:DocumentType>INVOICE</fx:DocumentType>
<fx:DocumentFileName>factur-x.xml</fx:DocumentFileName>
<fx:Version>1.0</fx:Version>
<fx:ConformanceLevel>EN 16931</fx:ConformanceLevel>
</rdf:Description>
<rdf:Description rdf:about="" xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/" xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#" xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#">
<pdfaExtension:schemas>
<rdf:Bag>
<rdf:li rdf:parseType="Resource">
<pdfaSchema:schema>Factur-X PDFA Extension Schema</pdfaSchema:schema>
<pdfaSchema:namespaceURI>urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#</pdfaSchema:namespaceURI>
<pdfaSchema:prefix>fx</pdfaSchema:prefix>
<pdfaSchema:property>
<rdf:Seq>
<rdf:li rdf:parseType="Resource">
<pdfaProperty:name>DocumentFileName</pdfaProperty:name>
<pdfaProperty:valueType>Text</pdfaProperty:valueType>
<pdfaProperty:category>external</pdfaProperty:category>
<pdfaProperty:description>The name of the embedded XML document</pdfaProperty:description>
</rdf:li>
<rdf:li rdf:parseType="Resource">
<pdfaProperty:name>DocumentType</pdfaProperty:name>
<pdfaProperty:valueType>Text</pdfaProperty:valueType>
<pdfaProperty:category>external</pdfaProperty:category>
<pdfaProperty:description>The type of the hybrid document in capital letters, e.g. INVOICE or ORDER</pdfaProperty:description>
</rdf:li>
<rdf:li rdf:parseType="Resource">
<pdfaProperty:name>Version</pdfaProperty:name>
<pdfaProperty:valueType>Text</pdfaProperty:valueType>
<pdfaProperty:category>external</pdfaProperty:category>
<pdfaProperty:description>The actual version of the standard applying to the embedded XML document</pdfaProperty:description>
</rdf:li>
<rdf:li rdf:parseType="Resource">
<pdfaProperty:name>ConformanceLevel</pdfaProperty:name>
<pdfaProperty:valueType>Text</pdfaProperty:valueType>
<pdfaProperty:category>external</pdfaProperty:category>
<pdfaProperty:description>The conformance level of the embedded XML document</pdfaProperty:description>
</rdf:li>
</rdf:Seq>
</pdfaSchema:property>
</rdf:li>
</rdf:Bag>
</pdfaExtension:schemas>
</rdf:Description>
"#;

fn address_lines(address: &PostalAddress) -> Vec<String> {
    let mut lines = vec![address.street.clone(), format!("{} {}", address.postcode, address.city)];
    if address.country != "DE" {
        lines.push(address.country.clone());
    }
    lines
}

fn period(start: NaiveDate, end: NaiveDate) -> String {
    format!("{} – {}", format_date(&start), format_date(&end))
}

/// Shows the first and last four characters of the payer's IBAN only.
fn masked(iban: &str) -> String {
    let visible: String = iban.chars().take(4).chain(std::iter::repeat_n('X', iban.len().saturating_sub(8))).collect();
    let masked = format!("{visible}{}", &iban[iban.len().saturating_sub(4)..]);
    masked.as_bytes().chunks(4).map(|chunk| String::from_utf8_lossy(chunk).into_owned()).collect::<Vec<_>>().join(" ")
}

fn layout(document: &mut Document, invoice: &InvoiceDocument) {
    let content = invoice.content();
    let seller = &content.seller;
    let first = document.add_page();

    // Letterhead: the seller's name left, contact right.
    let top = PAGE_HEIGHT - mm(20.0);
    document.text(first, LEFT, top - 12.0, LETTERHEAD, Align::Left, &seller.name);
    let mut contact = address_lines(&seller.address);
    contact.push(format!("Tel. {}", seller.contact.phone));
    contact.push(seller.email.to_string());
    for (i, line) in contact.iter().enumerate() {
        document.text(first, RIGHT, top - 2.0 - i as f32 * 10.0, SMALL, Align::Right, line);
    }

    // DIN 5008 form B: the address field starts 45 mm from the top, 25 mm from the left,
    // with the return address in its first lines; fold marks at 105 and 210 mm.
    let field_top = PAGE_HEIGHT - mm(45.0);
    let sender = std::iter::once(seller.name.clone()).chain(address_lines(&seller.address)).collect::<Vec<_>>();
    document.text(first, LEFT, field_top - 10.0, SMALL, Align::Left, &sender.join(" · "));
    let buyer = &content.buyer;
    let recipient = std::iter::once(buyer.name.clone()).chain(address_lines(&buyer.address));
    let mut y = field_top - mm(12.7) - 2.0;
    for line in recipient {
        for wrapped in pdfa::layout::wrap(&line, &BODY, mm(80.0)) {
            document.text(first, LEFT, y, BODY, Align::Left, &wrapped);
            y -= BODY.leading;
        }
    }
    for fold in [105.0, 210.0] {
        let y = PAGE_HEIGHT - mm(fold);
        document.line(first, (mm(5.0), y), (mm(10.0), y), 0.5, Rgb::GREY);
    }

    // Information block right of the address field.
    let number_label = match content.kind {
        DocumentKind::Invoice => "Rechnungsnummer",
        DocumentKind::CreditNote { .. } => "Gutschriftsnummer",
    };
    let mut facts = vec![
        (number_label, content.number.clone()),
        ("Datum", format_date(&content.issue_date)),
        ("Leistungszeitraum", period(content.period.start, content.period.end)),
    ];
    if let Some(reference) = &content.buyer_reference {
        facts.push(("Kundennummer", reference.clone()));
    }
    if let Some(vat_id) = &buyer.vat_id {
        facts.push(("Ihre USt-IdNr.", vat_id.clone()));
    }
    if matches!(content.kind, DocumentKind::Invoice) {
        facts.push(("Fällig am", format_date(&content.payment.due_date)));
    }
    let labels_x = mm(118.0);
    for (i, (label, value)) in facts.iter().enumerate() {
        let y = field_top - 10.0 - i as f32 * BODY.leading;
        document.text(first, labels_x, y, SMALL, Align::Left, label);
        document.text(first, RIGHT, y, BODY, Align::Right, value);
    }

    let frame = Frame { left: LEFT, right: RIGHT, top: PAGE_HEIGHT - mm(25.0), bottom: FOOTER_TOP + mm(8.0) };
    let mut flow = Flow::new(document, frame, PAGE_HEIGHT - mm(98.0));
    flow.heading(&format!("{} {}", invoice.title(), content.number), TITLE, BODY.leading * 4.0);
    if let DocumentKind::CreditNote { corrects } = &content.kind {
        flow.paragraph(&format!("zur Rechnung {} vom {}", corrects.number, format_date(&corrects.issue_date)), BODY);
    }
    flow.space(BODY.leading);
    flow.paragraph(&format!("Leistungszeitraum: {}", period(content.period.start, content.period.end)), BODY);
    flow.space(BODY.leading * 0.8);

    let rows = content
        .lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            vec![
                (i + 1).to_string(),
                line.description.clone(),
                format!("{} {}", line.quantity, line.unit.label(line.quantity)),
                line.unit_price.to_string(),
                line.net().to_string(),
            ]
        })
        .collect();
    flow.table(&Table {
        columns: vec![
            TableColumn { width: Some(32.0), align: Align::Left },
            TableColumn { width: None, align: Align::Left },
            TableColumn { width: Some(66.0), align: Align::Right },
            TableColumn { width: Some(72.0), align: Align::Right },
            TableColumn { width: Some(80.0), align: Align::Right },
        ],
        header: ["Pos.", "Beschreibung", "Menge", "Einzelpreis", "Betrag"].map(String::from).to_vec(),
        rows,
        style: BODY,
        header_style: BOLD,
    });

    // Totals, right-aligned under the amounts; kept together on one page.
    let totals = invoice.totals();
    let mut sums = vec![("Summe netto".to_owned(), totals.net.to_string(), BODY)];
    for breakdown in &totals.vat_breakdown {
        let label = if totals.vat_breakdown.len() == 1 {
            format!("USt. {}", breakdown.rate)
        } else {
            format!("USt. {} auf {}", breakdown.rate, breakdown.taxable)
        };
        sums.push((label, breakdown.tax.to_string(), BODY));
    }
    let gross_label = match content.kind {
        DocumentKind::Invoice => "Gesamtbetrag",
        DocumentKind::CreditNote { .. } => "Gutschriftsbetrag",
    };
    sums.push((gross_label.to_owned(), totals.gross.to_string(), BOLD));
    flow.ensure(BODY.leading * (sums.len() as f32 + 1.0));
    flow.space(4.0);
    let labels_right = RIGHT - 90.0;
    for (i, (label, amount, style)) in sums.iter().enumerate() {
        if i == sums.len() - 1 {
            flow.space(2.0);
            let (page, y) = (flow.page(), flow.y());
            flow.document.line(page, (labels_right - 110.0, y), (RIGHT, y), 0.8, Rgb::BLACK);
        }
        flow.space(style.leading);
        let (page, y) = (flow.page(), flow.y() + (style.leading - style.size) * 0.5);
        flow.document.text(page, labels_right, y, *style, Align::Right, label);
        flow.document.text(page, RIGHT, y, *style, Align::Right, amount);
    }
    flow.space(BODY.leading * 1.5);

    for note in &content.notes {
        flow.paragraph(note, BODY);
        flow.space(BODY.leading * 0.5);
    }
    flow.space(BODY.leading * 0.5);
    for paragraph in payment_paragraphs(invoice) {
        flow.paragraph(&paragraph, BODY);
        flow.space(BODY.leading * 0.5);
    }

    decorate_pages(document, invoice);
}

fn payment_paragraphs(invoice: &InvoiceDocument) -> Vec<String> {
    let content = invoice.content();
    let seller = &content.seller;
    let gross = invoice.totals().gross;
    let due = format_date(&content.payment.due_date);
    let mut paragraphs = vec![content.payment.text.clone()];
    match (&content.kind, &content.payment.means) {
        (DocumentKind::Invoice, PaymentMeans::CreditTransfer) => {
            let bic = seller.bank.bic.as_ref().map(|bic| format!(", BIC {bic}")).unwrap_or_default();
            let bank = seller.bank.bank_name.as_ref().map(|name| format!(" ({name})")).unwrap_or_default();
            paragraphs.push(format!(
                "Bitte überweisen Sie {gross} bis zum {due} unter Angabe der Rechnungsnummer {} an {}, \
                 IBAN {}{bic}{bank}.",
                content.number, seller.bank.holder, seller.bank.iban,
            ));
        }
        (DocumentKind::Invoice, PaymentMeans::SepaDirectDebit { mandate_reference, creditor_id, debtor_iban }) => {
            paragraphs.push(format!(
                "Den Betrag von {gross} ziehen wir am {due} per SEPA-Lastschrift von Ihrem Konto {} ein. \
                 Mandatsreferenz: {mandate_reference}, Gläubiger-Identifikationsnummer: {creditor_id}.",
                masked(debtor_iban.as_str()),
            ));
        }
        (DocumentKind::CreditNote { .. }, PaymentMeans::SepaDirectDebit { mandate_reference, debtor_iban, .. }) => {
            paragraphs.push(format!(
                "Den Betrag von {gross} erstatten wir auf Ihr Konto {} (Mandatsreferenz {mandate_reference}).",
                masked(debtor_iban.as_str()),
            ));
        }
        (DocumentKind::CreditNote { .. }, PaymentMeans::CreditTransfer) => {}
    }
    paragraphs
}

/// The footer with the seller's tax and bank details on every page, page numbers,
/// and on continuation pages a line saying which document they belong to.
fn decorate_pages(document: &mut Document, invoice: &InvoiceDocument) {
    let content = invoice.content();
    let seller = &content.seller;
    let mut columns: Vec<Vec<String>> = vec![
        std::iter::once(seller.name.clone()).chain(address_lines(&seller.address)).collect(),
        Vec::new(),
        vec![format!("Kontoinhaber: {}", seller.bank.holder), format!("IBAN: {}", seller.bank.iban)],
    ];
    if let Some(vat_id) = &seller.vat_id {
        columns[1].push(format!("USt-IdNr.: {vat_id}"));
    }
    if let Some(tax_number) = &seller.tax_number {
        columns[1].push(format!("Steuernummer: {tax_number}"));
    }
    columns[1].extend(seller.legal_info.iter().cloned());
    if let Some(bic) = &seller.bank.bic {
        columns[2].push(format!("BIC: {bic}"));
    }
    if let Some(name) = &seller.bank.bank_name {
        columns[2].push(name.clone());
    }
    let pages = document.page_count();
    let column_width = (RIGHT - LEFT) / 3.0;
    for page in 0..pages {
        let rule_y = FOOTER_TOP;
        document.line(page, (LEFT, rule_y), (RIGHT, rule_y), 0.5, Rgb::RULE);
        for (c, column) in columns.iter().enumerate() {
            let x = LEFT + c as f32 * column_width;
            let mut y = rule_y - 10.0;
            for line in column {
                for wrapped in pdfa::layout::wrap(line, &SMALL, column_width - 6.0) {
                    document.text(page, x, y, SMALL, Align::Left, &wrapped);
                    y -= SMALL.leading;
                }
            }
        }
        let page_label = format!("Seite {} von {pages}", page + 1);
        document.text(page, RIGHT, rule_y + 6.0, SMALL, Align::Right, &page_label);
        if page > 0 {
            let header = format!("{} {} vom {}", invoice.title(), content.number, format_date(&content.issue_date));
            document.text(page, LEFT, PAGE_HEIGHT - mm(15.0), SMALL, Align::Left, &header);
            document.text(page, RIGHT, PAGE_HEIGHT - mm(15.0), SMALL, Align::Right, &seller.name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::billing::document::sample;

    #[test]
    fn payers_ibans_are_masked() {
        assert_eq!(masked("DE02120300000000202051"), "DE02 XXXX XXXX XXXX XX20 51");
    }

    #[test]
    fn the_pdf_is_a_pdf_a_3_with_the_xml_attached() {
        let invoice = sample::invoice();
        let pdf = invoice_pdf(&invoice, Utc::now());
        assert!(pdf.starts_with(b"%PDF-1.7"));
        let text = String::from_utf8_lossy(&pdf);
        for needle in ["/AFRelationship /Data", "/GTS_PDFA1", "/FontFile2", "/Identity-H", "factur-x.xml"] {
            assert!(text.contains(needle), "missing {needle}");
        }
        assert!(!text.contains("/Helvetica"), "a standard font that is not embedded");
    }

    #[test]
    fn long_invoices_break_across_pages() {
        let count_pages = |invoice: &InvoiceDocument| {
            let pdf = invoice_pdf(invoice, Utc::now());
            String::from_utf8_lossy(&pdf).matches("/Type /Page\n").count()
        };
        assert_eq!(count_pages(&sample::invoice()), 1);
        let mut content = sample::content();
        content.lines = vec![content.lines[1].clone(); 60];
        assert!(count_pages(&InvoiceDocument::new(content).unwrap()) >= 3);
    }
}
