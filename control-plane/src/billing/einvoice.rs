//! The structured invoice: UN/CEFACT Cross Industry Invoice (CII, D16B) as
//! EN 16931 defines it, in two flavours that differ only in what they demand:
//!
//! - Factur-X / ZUGFeRD profile EN 16931 (guideline `urn:cen.eu:en16931:2017`),
//!   the XML embedded in the PDF;
//! - XRechnung 3.0 (CIUS of EN 16931 for Germany), which additionally requires
//!   the buyer reference (BR-DE-15), the seller's contact with phone and e-mail
//!   (BR-DE-2, -5, -6, -7) and both electronic addresses (BT-34, BT-49).
//!
//! Both are written from the same code, so they carry the same facts. Text goes
//! through quick-xml's writer, which escapes every value; elements are written in
//! the order the CII schema prescribes (tests/einvoice/validate.py checks it
//! against the official XSD).

use std::io;

use chrono::NaiveDate;
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};

use super::document::{CURRENCY, DocumentKind, InvoiceDocument, PaymentMeans, PostalAddress};

/// The guideline (BT-24) of the Factur-X EN 16931 profile.
pub const FACTURX_EN16931: &str = "urn:cen.eu:en16931:2017";
/// The guideline (BT-24) of XRechnung 3.0.
pub const XRECHNUNG_3: &str = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0";
/// The business process (BT-23) XRechnung 3.0 expects; harmless in Factur-X.
const BUSINESS_PROCESS: &str = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0";

const NS_RSM: &str = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100";
const NS_RAM: &str = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100";
const NS_QDT: &str = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100";
const NS_UDT: &str = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    FacturX,
    XRechnung,
}

impl Flavour {
    pub fn guideline(self) -> &'static str {
        match self {
            Flavour::FacturX => FACTURX_EN16931,
            Flavour::XRechnung => XRECHNUNG_3,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EInvoiceError {
    #[error("XRechnung requires the buyer reference (BR-DE-15)")]
    MissingBuyerReference,
    #[error("writing the XML failed: {0}")]
    Write(#[from] io::Error),
}

/// The Factur-X EN 16931 XML, as embedded in the PDF under the name `factur-x.xml`.
pub fn facturx_xml(invoice: &InvoiceDocument) -> Vec<u8> {
    cii_xml(invoice, Flavour::FacturX).expect("the Factur-X profile has no further requirements and Vec never fails")
}

/// The XRechnung 3.0 CII XML.
pub fn xrechnung_xml(invoice: &InvoiceDocument) -> Result<Vec<u8>, EInvoiceError> {
    cii_xml(invoice, Flavour::XRechnung)
}

pub fn cii_xml(invoice: &InvoiceDocument, flavour: Flavour) -> Result<Vec<u8>, EInvoiceError> {
    let content = invoice.content();
    if flavour == Flavour::XRechnung && content.buyer_reference.is_none() {
        return Err(EInvoiceError::MissingBuyerReference);
    }
    let mut xml = Writer::new_with_indent(Vec::new(), b' ', 2);
    xml.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    xml.create_element("rsm:CrossIndustryInvoice")
        .with_attributes([("xmlns:rsm", NS_RSM), ("xmlns:ram", NS_RAM), ("xmlns:qdt", NS_QDT), ("xmlns:udt", NS_UDT)])
        .write_inner_content(|xml| {
            xml.create_element("rsm:ExchangedDocumentContext").write_inner_content(|xml| {
                xml.create_element("ram:BusinessProcessSpecifiedDocumentContextParameter")
                    .write_inner_content(|xml| text(xml, "ram:ID", BUSINESS_PROCESS))?;
                xml.create_element("ram:GuidelineSpecifiedDocumentContextParameter")
                    .write_inner_content(|xml| text(xml, "ram:ID", flavour.guideline()))?;
                Ok(())
            })?;
            exchanged_document(xml, invoice)?;
            xml.create_element("rsm:SupplyChainTradeTransaction").write_inner_content(|xml| {
                for (index, _) in content.lines.iter().enumerate() {
                    line_item(xml, invoice, index)?;
                }
                agreement(xml, invoice)?;
                // The service period is stated once, on the settlement (BG-14).
                xml.create_element("ram:ApplicableHeaderTradeDelivery").write_empty()?;
                settlement(xml, invoice)
            })?;
            Ok(())
        })?;
    let mut bytes = xml.into_inner();
    bytes.push(b'\n');
    Ok(bytes)
}

type XmlWriter = Writer<Vec<u8>>;

fn text(xml: &mut XmlWriter, name: &str, value: &str) -> io::Result<()> {
    xml.create_element(name).write_text_content(BytesText::new(value))?;
    Ok(())
}

fn text_with(xml: &mut XmlWriter, name: &str, attribute: (&str, &str), value: &str) -> io::Result<()> {
    xml.create_element(name).with_attribute(attribute).write_text_content(BytesText::new(value))?;
    Ok(())
}

/// A date in format 102 (`CCYYMMDD`), the only one EN 16931 allows.
fn date(xml: &mut XmlWriter, name: &str, data_type: &str, value: NaiveDate) -> io::Result<()> {
    xml.create_element(name).write_inner_content(|xml| {
        text_with(xml, &format!("{data_type}:DateTimeString"), ("format", "102"), &value.format("%Y%m%d").to_string())
    })?;
    Ok(())
}

fn exchanged_document(xml: &mut XmlWriter, invoice: &InvoiceDocument) -> io::Result<()> {
    let content = invoice.content();
    xml.create_element("rsm:ExchangedDocument").write_inner_content(|xml| {
        text(xml, "ram:ID", &content.number)?;
        text(xml, "ram:TypeCode", invoice.type_code())?;
        date(xml, "ram:IssueDateTime", "udt", content.issue_date)?;
        for note in &content.notes {
            xml.create_element("ram:IncludedNote").write_inner_content(|xml| text(xml, "ram:Content", note))?;
        }
        Ok(())
    })?;
    Ok(())
}

fn line_item(xml: &mut XmlWriter, invoice: &InvoiceDocument, index: usize) -> io::Result<()> {
    let line = &invoice.content().lines[index];
    xml.create_element("ram:IncludedSupplyChainTradeLineItem").write_inner_content(|xml| {
        xml.create_element("ram:AssociatedDocumentLineDocument")
            .write_inner_content(|xml| text(xml, "ram:LineID", &(index + 1).to_string()))?;
        xml.create_element("ram:SpecifiedTradeProduct")
            .write_inner_content(|xml| text(xml, "ram:Name", &line.description))?;
        xml.create_element("ram:SpecifiedLineTradeAgreement").write_inner_content(|xml| {
            xml.create_element("ram:NetPriceProductTradePrice")
                .write_inner_content(|xml| text(xml, "ram:ChargeAmount", &line.unit_price.decimal()))?;
            Ok(())
        })?;
        xml.create_element("ram:SpecifiedLineTradeDelivery").write_inner_content(|xml| {
            text_with(xml, "ram:BilledQuantity", ("unitCode", line.unit.code()), &line.quantity.to_string())
        })?;
        xml.create_element("ram:SpecifiedLineTradeSettlement").write_inner_content(|xml| {
            xml.create_element("ram:ApplicableTradeTax").write_inner_content(|xml| {
                text(xml, "ram:TypeCode", "VAT")?;
                text(xml, "ram:CategoryCode", "S")?;
                text(xml, "ram:RateApplicablePercent", &line.vat_rate.decimal())
            })?;
            xml.create_element("ram:SpecifiedTradeSettlementLineMonetarySummation")
                .write_inner_content(|xml| text(xml, "ram:LineTotalAmount", &line.net().decimal()))?;
            Ok(())
        })?;
        Ok(())
    })?;
    Ok(())
}

fn address(xml: &mut XmlWriter, address: &PostalAddress) -> io::Result<()> {
    xml.create_element("ram:PostalTradeAddress").write_inner_content(|xml| {
        text(xml, "ram:PostcodeCode", &address.postcode)?;
        text(xml, "ram:LineOne", &address.street)?;
        text(xml, "ram:CityName", &address.city)?;
        text(xml, "ram:CountryID", &address.country)
    })?;
    Ok(())
}

fn electronic_address(xml: &mut XmlWriter, email: &str) -> io::Result<()> {
    xml.create_element("ram:URIUniversalCommunication")
        .write_inner_content(|xml| text_with(xml, "ram:URIID", ("schemeID", "EM"), email))?;
    Ok(())
}

fn tax_registration(xml: &mut XmlWriter, scheme: &str, id: &str) -> io::Result<()> {
    xml.create_element("ram:SpecifiedTaxRegistration")
        .write_inner_content(|xml| text_with(xml, "ram:ID", ("schemeID", scheme), id))?;
    Ok(())
}

fn agreement(xml: &mut XmlWriter, invoice: &InvoiceDocument) -> io::Result<()> {
    let content = invoice.content();
    let (seller, buyer) = (&content.seller, &content.buyer);
    xml.create_element("ram:ApplicableHeaderTradeAgreement").write_inner_content(|xml| {
        if let Some(reference) = &content.buyer_reference {
            text(xml, "ram:BuyerReference", reference)?;
        }
        xml.create_element("ram:SellerTradeParty").write_inner_content(|xml| {
            text(xml, "ram:Name", &seller.name)?;
            // The legal registration identifier (BT-30): the commercial register
            // entry. No scheme (BT-30-1): ISO 6523 lists none for a Handelsregister.
            if let Some(registration) = &seller.registration {
                xml.create_element("ram:SpecifiedLegalOrganization")
                    .write_inner_content(|xml| text(xml, "ram:ID", &registration.identifier()))?;
            }
            xml.create_element("ram:DefinedTradeContact").write_inner_content(|xml| {
                text(xml, "ram:PersonName", &seller.contact.name)?;
                xml.create_element("ram:TelephoneUniversalCommunication")
                    .write_inner_content(|xml| text(xml, "ram:CompleteNumber", &seller.contact.phone))?;
                xml.create_element("ram:EmailURIUniversalCommunication")
                    .write_inner_content(|xml| text(xml, "ram:URIID", seller.contact.email.as_str()))?;
                Ok(())
            })?;
            address(xml, &seller.address)?;
            electronic_address(xml, seller.email.as_str())?;
            if let Some(tax_number) = &seller.tax_number {
                tax_registration(xml, "FC", tax_number)?;
            }
            if let Some(vat_id) = &seller.vat_id {
                tax_registration(xml, "VA", vat_id)?;
            }
            Ok(())
        })?;
        xml.create_element("ram:BuyerTradeParty").write_inner_content(|xml| {
            text(xml, "ram:Name", &buyer.name)?;
            address(xml, &buyer.address)?;
            electronic_address(xml, buyer.email.as_str())?;
            if let Some(vat_id) = &buyer.vat_id {
                tax_registration(xml, "VA", vat_id)?;
            }
            Ok(())
        })?;
        Ok(())
    })?;
    Ok(())
}

fn settlement(xml: &mut XmlWriter, invoice: &InvoiceDocument) -> io::Result<()> {
    let content = invoice.content();
    let totals = invoice.totals();
    let seller = &content.seller;
    xml.create_element("ram:ApplicableHeaderTradeSettlement").write_inner_content(|xml| {
        if let PaymentMeans::SepaDirectDebit { creditor_id, .. } = &content.payment.means {
            text(xml, "ram:CreditorReferenceID", creditor_id)?;
        }
        // The remittance information (BT-83): the invoice number.
        text(xml, "ram:PaymentReference", &content.number)?;
        text(xml, "ram:InvoiceCurrencyCode", CURRENCY)?;
        xml.create_element("ram:SpecifiedTradeSettlementPaymentMeans").write_inner_content(|xml| {
            match &content.payment.means {
                PaymentMeans::CreditTransfer => {
                    text(xml, "ram:TypeCode", "58")?;
                    text(xml, "ram:Information", "SEPA-Überweisung")?;
                    xml.create_element("ram:PayeePartyCreditorFinancialAccount").write_inner_content(|xml| {
                        text(xml, "ram:IBANID", seller.bank.iban.as_str())?;
                        text(xml, "ram:AccountName", &seller.bank.holder)
                    })?;
                    if let Some(bic) = &seller.bank.bic {
                        xml.create_element("ram:PayeeSpecifiedCreditorFinancialInstitution")
                            .write_inner_content(|xml| text(xml, "ram:BICID", bic.as_str()))?;
                    }
                }
                PaymentMeans::SepaDirectDebit { debtor_iban, .. } => {
                    text(xml, "ram:TypeCode", "59")?;
                    text(xml, "ram:Information", "SEPA-Lastschrift")?;
                    xml.create_element("ram:PayerPartyDebtorFinancialAccount")
                        .write_inner_content(|xml| text(xml, "ram:IBANID", debtor_iban.as_str()))?;
                }
            }
            Ok(())
        })?;
        for breakdown in &totals.vat_breakdown {
            xml.create_element("ram:ApplicableTradeTax").write_inner_content(|xml| {
                text(xml, "ram:CalculatedAmount", &breakdown.tax.decimal())?;
                text(xml, "ram:TypeCode", "VAT")?;
                text(xml, "ram:BasisAmount", &breakdown.taxable.decimal())?;
                text(xml, "ram:CategoryCode", "S")?;
                text(xml, "ram:RateApplicablePercent", &breakdown.rate.decimal())
            })?;
        }
        xml.create_element("ram:BillingSpecifiedPeriod").write_inner_content(|xml| {
            date(xml, "ram:StartDateTime", "udt", content.period.start)?;
            date(xml, "ram:EndDateTime", "udt", content.period.end)
        })?;
        xml.create_element("ram:SpecifiedTradePaymentTerms").write_inner_content(|xml| {
            text(xml, "ram:Description", &content.payment.text)?;
            date(xml, "ram:DueDateDateTime", "udt", content.payment.due_date)?;
            if let PaymentMeans::SepaDirectDebit { mandate_reference, .. } = &content.payment.means {
                text(xml, "ram:DirectDebitMandateID", mandate_reference)?;
            }
            Ok(())
        })?;
        xml.create_element("ram:SpecifiedTradeSettlementHeaderMonetarySummation").write_inner_content(|xml| {
            text(xml, "ram:LineTotalAmount", &totals.net.decimal())?;
            text(xml, "ram:TaxBasisTotalAmount", &totals.net.decimal())?;
            text_with(xml, "ram:TaxTotalAmount", ("currencyID", CURRENCY), &totals.vat.decimal())?;
            text(xml, "ram:GrandTotalAmount", &totals.gross.decimal())?;
            // The credit balance used on the invoice (BT-113); due is the rest (BR-CO-16).
            if content.prepaid.0 != 0 {
                text(xml, "ram:TotalPrepaidAmount", &content.prepaid.decimal())?;
            }
            text(xml, "ram:DuePayableAmount", &invoice.due().decimal())
        })?;
        if let DocumentKind::CreditNote { corrects } = &content.kind {
            xml.create_element("ram:InvoiceReferencedDocument").write_inner_content(|xml| {
                text(xml, "ram:IssuerAssignedID", &corrects.number)?;
                date(xml, "ram:FormattedIssueDateTime", "qdt", corrects.issue_date)
            })?;
        }
        Ok(())
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::billing::document::sample;
    use crate::billing::money::Cents;

    fn xml(invoice: &InvoiceDocument, flavour: Flavour) -> String {
        String::from_utf8(cii_xml(invoice, flavour).unwrap()).unwrap()
    }

    #[test]
    fn an_invoice_carries_its_facts() {
        let text = xml(&sample::invoice(), Flavour::FacturX);
        for expected in [
            "<ram:ID>urn:cen.eu:en16931:2017</ram:ID>",
            "<ram:TypeCode>380</ram:TypeCode>",
            "<udt:DateTimeString format=\"102\">20261201</udt:DateTimeString>",
            "<ram:BilledQuantity unitCode=\"C62\">123</ram:BilledQuantity>",
            "<ram:BilledQuantity unitCode=\"MON\">1</ram:BilledQuantity>",
            "<ram:ChargeAmount>0.50</ram:ChargeAmount>",
            "<ram:LineTotalAmount>61.50</ram:LineTotalAmount>",
            "<ram:RateApplicablePercent>19.00</ram:RateApplicablePercent>",
            "<ram:CalculatedAmount>17.13</ram:CalculatedAmount>",
            "<ram:TaxTotalAmount currencyID=\"EUR\">17.13</ram:TaxTotalAmount>",
            "<ram:GrandTotalAmount>107.30</ram:GrandTotalAmount>",
            "<ram:IBANID>DE89370400440532013000</ram:IBANID>",
            "<ram:ID schemeID=\"VA\">DE123456789</ram:ID>",
            "<ram:URIID schemeID=\"EM\">buero@mueller-makler.example</ram:URIID>",
            "<ram:Content>Abgerechnet wird die höchste Kontaktzahl im Zeitraum.</ram:Content>",
            "<ram:SpecifiedLegalOrganization>\n          <ram:ID>HRB 123456 B, Amtsgericht Berlin-Charlottenburg</ram:ID>",
            "<ram:ID schemeID=\"FC\">37/123/45678</ram:ID>",
            "<ram:DuePayableAmount>107.30</ram:DuePayableAmount>",
        ] {
            assert!(text.contains(expected), "missing {expected} in\n{text}");
        }
        assert!(!text.contains("InvoiceReferencedDocument"));
        assert!(!text.contains("TotalPrepaidAmount"));
    }

    #[test]
    fn a_credit_balance_used_on_the_invoice_is_its_paid_amount() {
        let mut content = sample::content();
        content.prepaid = Cents(3_000);
        let text = xml(&InvoiceDocument::new(content).unwrap(), Flavour::XRechnung);
        for expected in [
            "<ram:GrandTotalAmount>107.30</ram:GrandTotalAmount>",
            "<ram:TotalPrepaidAmount>30.00</ram:TotalPrepaidAmount>",
            "<ram:DuePayableAmount>77.30</ram:DuePayableAmount>",
        ] {
            assert!(text.contains(expected), "missing {expected} in\n{text}");
        }
        let mut content = sample::content();
        content.prepaid = Cents(10_731);
        assert_eq!(InvoiceDocument::new(content).unwrap_err().field, "prepaid");
    }

    #[test]
    fn text_is_escaped() {
        let text = xml(&sample::invoice(), Flavour::FacturX);
        assert!(text.contains("<ram:Name>Versicherungsmakler Müller &amp; Söhne &lt;GmbH&gt;</ram:Name>"), "{text}");
    }

    #[test]
    fn a_credit_note_refers_to_the_invoice_and_the_mandate() {
        let text = xml(&sample::credit_note(), Flavour::XRechnung);
        for expected in [
            XRECHNUNG_3,
            "<ram:TypeCode>381</ram:TypeCode>",
            "<ram:IssuerAssignedID>RE-2026-000042</ram:IssuerAssignedID>",
            "<qdt:DateTimeString format=\"102\">20261201</qdt:DateTimeString>",
            "<ram:TypeCode>59</ram:TypeCode>",
            "<ram:CreditorReferenceID>DE98ZZZ09999999999</ram:CreditorReferenceID>",
            "<ram:DirectDebitMandateID>ORDO-K-10023-1</ram:DirectDebitMandateID>",
            "<ram:BuyerReference>K-10023</ram:BuyerReference>",
        ] {
            assert!(text.contains(expected), "missing {expected} in\n{text}");
        }
    }

    #[test]
    fn xrechnung_requires_a_buyer_reference() {
        let mut content = sample::content();
        content.buyer_reference = None;
        let invoice = InvoiceDocument::new(content).unwrap();
        assert!(matches!(xrechnung_xml(&invoice), Err(EInvoiceError::MissingBuyerReference)));
        assert!(!facturx_xml(&invoice).is_empty());
    }
}
