//! The operator as the supplier on every invoice, made from the `billing.*`
//! settings (`config/billing.rs`).

use tenant_app::values::EmailAddress;

use super::bank::{BankAccount, Bic, Iban};
use super::document::{Contact, PostalAddress, Seller};
use crate::config::BillingSettings;

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
}
