//! `billing.*`: the operator as the supplier on every invoice, and payment terms.
//! The defaults describe a demonstration operator for the embedded default;
//! production sets its own (docs/configuration.md). Turning these texts into a
//! seller that invoices can name is the billing area's (`billing/settings.rs`).

use serde::{Deserialize, Serialize};

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
    /// The court keeping the seller's commercial register entry, e.g.
    /// "Amtsgericht Berlin-Charlottenburg"; empty if none. With the number it
    /// is the legal registration identifier of e-invoices (BT-30).
    pub seller_register_court: String,
    /// The entry's number, e.g. "HRB 123456 B"; empty if none.
    pub seller_register_number: String,
    /// Printed on invoices and the address replies go to.
    pub seller_email: String,
    pub seller_phone: String,
    /// Who answers questions about invoices.
    pub seller_contact: String,
    pub bank_account_holder: String,
    pub iban: String,
    pub bic: String,
    pub bank_name: String,
    /// Further lines of the invoice footer, e.g. the managing directors.
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
            // A register entry, so that the demonstration invoices carry a seller
            // identifier as EN 16931 requires (BR-CO-26); a tax number is not one.
            seller_register_court: "Amtsgericht Berlin-Charlottenburg".into(),
            seller_register_number: "HRB 000000 B".into(),
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
    /// The ranges; whether the seller can be named on an invoice is checked
    /// when billing starts (`billing::settings`).
    pub fn validate(&self) -> Result<(), String> {
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
