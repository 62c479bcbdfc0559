//! The operator as the supplier on every invoice, made from the `billing.*`
//! settings (`config/billing.rs`).

use tenant_app::values::EmailAddress;

use super::bank::{BankAccount, Bic, Iban};
use super::document::{Contact, PostalAddress, Registration, Seller, check_seller};
use crate::config::BillingSettings;

impl BillingSettings {
    /// The supplier as invoices name it, with every check an invoice makes of
    /// its seller; fails, naming the setting, on one that could not produce a
    /// valid invoice or e-invoice (`check` tries both documents).
    pub fn seller(&self) -> Result<Seller, String> {
        let email = EmailAddress::parse(&self.seller_email).map_err(|m| format!("billing.seller_email: {m}"))?;
        let none_if_empty = |text: &str| (!text.trim().is_empty()).then(|| text.trim().to_owned());
        let vat_id = none_if_empty(&self.seller_vat_id);
        let tax_number = none_if_empty(&self.seller_tax_number);
        if vat_id.is_none() && tax_number.is_none() {
            return Err("billing: an invoice needs seller_vat_id or seller_tax_number (§ 14 UStG)".into());
        }
        let registration =
            match (none_if_empty(&self.seller_register_court), none_if_empty(&self.seller_register_number)) {
                (Some(court), Some(number)) => Some(Registration { court, number }),
                (None, None) => None,
                _ => {
                    return Err("billing: seller_register_court and seller_register_number go together \
                            (the commercial register entry, e.g. Amtsgericht Berlin-Charlottenburg, HRB 123456 B)"
                        .into());
                }
            };
        if vat_id.is_none() && registration.is_none() {
            return Err("billing: an e-invoice needs seller_vat_id or the commercial register entry \
                        (seller_register_court and seller_register_number): EN 16931 rule BR-CO-26; \
                        a tax number alone does not identify the seller"
                .into());
        }
        let seller = Seller {
            name: self.seller_name.clone(),
            address: PostalAddress {
                street: self.seller_street.clone(),
                postcode: self.seller_postcode.clone(),
                city: self.seller_city.clone(),
                country: self.seller_country.clone(),
            },
            vat_id,
            tax_number,
            email: email.clone(),
            contact: Contact { name: self.seller_contact.clone(), phone: self.seller_phone.clone(), email },
            bank: BankAccount {
                holder: self.bank_account_holder.clone(),
                iban: Iban::parse(&self.iban).map_err(|m| format!("billing.iban: {m}"))?,
                bic: none_if_empty(&self.bic)
                    .map(|bic| Bic::parse(&bic))
                    .transpose()
                    .map_err(|m| format!("billing.bic: {m}"))?,
                bank_name: none_if_empty(&self.bank_name),
            },
            legal_info: self.legal_info.clone(),
            registration,
        };
        check_seller(&seller).map_err(|problem| format!("billing settings: {problem}"))?;
        Ok(seller)
    }
}

impl BillingSettings {
    /// Whether these settings produce valid documents: an invoice and a
    /// credit note naming this seller are made and written as Factur-X and
    /// XRechnung. Billing refuses to start otherwise (`startup`).
    pub fn check(&self) -> Result<(), String> {
        use chrono::NaiveDate;

        use super::document::{
            Buyer, DocumentKind, InvoiceContent, InvoiceDocument, InvoiceLine, InvoiceReference, PaymentMeans,
            PaymentTerms, ServicePeriod, Unit,
        };
        use super::einvoice::{Flavour, cii_xml};
        use super::money::{Cents, VatRate};

        let seller = self.seller()?;
        let day = |d: u32| NaiveDate::from_ymd_opt(2026, 12, d).expect("a day of December");
        let invoice = InvoiceContent {
            kind: DocumentKind::Invoice,
            number: "2026-000001".into(),
            issue_date: day(1),
            period: ServicePeriod { start: day(1), end: day(1) },
            buyer_reference: Some("K-000001".into()),
            buyer: Buyer {
                name: "Probe".into(),
                address: PostalAddress {
                    street: "Weg 1".into(),
                    postcode: "10115".into(),
                    city: "Berlin".into(),
                    country: "DE".into(),
                },
                email: EmailAddress::parse("probe@example.de").expect("an address"),
                vat_id: None,
            },
            lines: vec![InvoiceLine {
                description: "Probe".into(),
                quantity: 1,
                unit: Unit::Piece,
                unit_price: Cents(100),
                vat_rate: VatRate::STANDARD,
            }],
            notes: Vec::new(),
            payment: PaymentTerms {
                due_date: day(1 + self.payment_days.min(30)),
                text: "Probe".into(),
                means: PaymentMeans::CreditTransfer,
            },
            prepaid: Cents(0),
            seller,
        };
        let credit_note = InvoiceContent {
            kind: DocumentKind::CreditNote {
                corrects: InvoiceReference { number: invoice.number.clone(), issue_date: invoice.issue_date },
            },
            number: "2026-000002".into(),
            ..invoice.clone()
        };
        for content in [invoice, credit_note] {
            let document = InvoiceDocument::new(content).map_err(|problem| format!("billing settings: {problem}"))?;
            for flavour in [Flavour::FacturX, Flavour::XRechnung] {
                cii_xml(&document, flavour).map_err(|problem| format!("billing settings: {problem}"))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(change: impl FnOnce(&mut BillingSettings)) -> String {
        let mut settings = BillingSettings::default();
        change(&mut settings);
        settings.check().expect_err("accepted")
    }

    #[test]
    fn the_demonstration_defaults_make_valid_invoices() {
        let settings = BillingSettings::default();
        settings.check().unwrap();
        let seller = settings.seller().unwrap();
        assert_eq!(seller.registration.unwrap().identifier(), "HRB 000000 B, Amtsgericht Berlin-Charlottenburg");
    }

    #[test]
    fn settings_that_cannot_make_a_valid_e_invoice_are_refused_with_the_reason() {
        // A tax number alone: BR-CO-26 fails on every receiving platform.
        let message = refused(|s| (s.seller_register_court, s.seller_register_number) = (String::new(), String::new()));
        assert!(message.contains("BR-CO-26") && message.contains("seller_vat_id"), "{message}");
        // The VAT id alone is enough.
        let mut settings = BillingSettings::default();
        (settings.seller_register_court, settings.seller_register_number) = (String::new(), String::new());
        settings.seller_vat_id = "DE123456789".into();
        settings.check().unwrap();
        assert!(refused(|s| s.seller_register_number = String::new()).contains("go together"));
        assert!(refused(|s| s.seller_vat_id = "123".into()).contains("seller.vat_id"));
        assert!(refused(|s| s.seller_country = "Deutschland".into()).contains("seller.address.country"));
        assert!(refused(|s| s.seller_name = " ".into()).contains("seller.name"));
        assert!(refused(|s| s.iban = "DE00".into()).contains("billing.iban"));
        assert!(refused(|s| s.seller_email = "nope".into()).contains("billing.seller_email"));
        assert!(refused(|s| s.seller_phone = "\u{7}".into()).contains("seller.contact.phone"));
    }
}
