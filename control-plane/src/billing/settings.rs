//! `billing.*`: the operator as the supplier on every invoice, and payment terms.
//! The defaults describe a demonstration operator for the embedded default;
//! production sets its own (docs/configuration.md).

use serde::{Deserialize, Serialize};
use tenant_app::values::EmailAddress;

use super::bank::{BankAccount, Bic, Iban};
use super::document::{Contact, PostalAddress, Seller};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct BillingSettings {
    pub seller_name: String,
    pub seller_street: String,
    pub seller_postcode: String,
    pub seller_city: String,
    /// ISO 3166-1 alpha-2.
    pub seller_country: String,
    /// USt-IdNr.; empty if none. § 14 UStG needs this or the tax number.
    pub seller_vat_id: String,
    /// Steuernummer; empty if none.
    pub seller_tax_number: String,
    /// Printed on invoices and the address replies go to.
    pub seller_email: String,
    pub seller_phone: String,
    /// Who answers questions about invoices.
    pub seller_contact: String,
    pub bank_account_holder: String,
    pub iban: String,
    pub bic: String,
    pub bank_name: String,
    /// Register court and number, managing directors: the invoice footer.
    pub legal_info: Vec<String>,
    /// Days between the invoice date and the due date.
    pub payment_days: u32,
    /// The usage contract (with the data processing annex) brokers sign when
    /// they order: a text file with `{placeholders}` (docs/billing.md). Unset:
    /// the built-in template.
    pub contract_template: Option<std::path::PathBuf>,
    /// Days after the due date for the first and second payment reminder,
    /// and for suspending the portal (billing/dunning.rs).
    pub dunning_first_days: u32,
    pub dunning_second_days: u32,
    pub dunning_suspend_days: u32,
}

impl Default for BillingSettings {
    fn default() -> Self {
        BillingSettings {
            seller_name: "Ordo Demo-Betreiber".into(),
            seller_street: "Beispielstraße 1".into(),
            seller_postcode: "10115".into(),
            seller_city: "Berlin".into(),
            seller_country: "DE".into(),
            seller_vat_id: String::new(),
            seller_tax_number: "30/000/00000".into(),
            seller_email: "rechnung@ordo.localhost.localdomain".into(),
            seller_phone: "+49 30 0000000".into(),
            seller_contact: "Buchhaltung".into(),
            bank_account_holder: "Ordo Demo-Betreiber".into(),
            // A syntactically valid IBAN of the demonstration operator.
            iban: "DE02120300000000202051".into(),
            bic: "BYLADEM1001".into(),
            bank_name: "Demo-Bank".into(),
            legal_info: Vec::new(),
            payment_days: 14,
            contract_template: None,
            dunning_first_days: 7,
            dunning_second_days: 14,
            dunning_suspend_days: 30,
        }
    }
}

impl BillingSettings {
    /// The supplier as invoices name it; fails on an unusable setting.
    pub fn seller(&self) -> Result<Seller, String> {
        let email = EmailAddress::parse(&self.seller_email).map_err(|m| format!("billing.seller_email: {m}"))?;
        let none_if_empty = |text: &str| (!text.trim().is_empty()).then(|| text.trim().to_owned());
        let vat_id = none_if_empty(&self.seller_vat_id);
        let tax_number = none_if_empty(&self.seller_tax_number);
        if vat_id.is_none() && tax_number.is_none() {
            return Err("billing: an invoice needs seller_vat_id or seller_tax_number (§ 14 UStG)".into());
        }
        Ok(Seller {
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
        })
    }

    pub fn validate(&self) -> Result<(), String> {
        self.seller().map(drop)?;
        if !(1..=90).contains(&self.payment_days) {
            return Err("billing.payment_days must be between 1 and 90".into());
        }
        if !(1 <= self.dunning_first_days
            && self.dunning_first_days < self.dunning_second_days
            && self.dunning_second_days < self.dunning_suspend_days)
        {
            return Err("billing: dunning days must rise: 1 ≤ first < second < suspend".into());
        }
        Ok(())
    }
}
