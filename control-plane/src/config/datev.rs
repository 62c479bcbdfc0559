//! `datev.*`: the DATEV export for the operator's tax adviser (a
//! "Buchungsstapel" of invoices, credit notes, payments and payouts). Accounts
//! left unset take the defaults of the chart of accounts (`SKR03` or `SKR04`);
//! the billing area resolves them (`billing::datev`).

use serde::{Deserialize, Serialize};

/// The revenue account of each kind of invoice line; unset: the chart's default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RevenueAccounts {
    /// Monthly plan fees (and the Pay-per-Use base fee).
    pub plan: Option<u64>,
    /// Pay-per-Use contacts.
    pub contacts: Option<u64>,
    /// The whitelabel add-on's monthly fee.
    pub whitelabel: Option<u64>,
    pub setup: Option<u64>,
    pub whitelabel_setup: Option<u64>,
    pub trial_extension: Option<u64>,
    /// Anything else (e.g. credit notes for part of an invoice).
    pub other: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DatevSettings {
    /// `SKR03` or `SKR04`.
    pub chart: String,
    /// Beraternummer of the tax adviser (1001–9999999).
    pub consultant_number: u32,
    /// Mandantennummer of the operator at the tax adviser (1–99999).
    pub client_number: u32,
    /// Digits of a G/L account (Sachkontenlänge, 4–8); debtor accounts have one more.
    pub account_length: u32,
    /// The debtor account of customer number 0; a tenant's is this plus its
    /// customer number. Unset: 10000 with four-digit accounts.
    pub debtor_base: Option<u64>,
    /// The bank account transfers arrive on and payouts leave from.
    pub bank_account: Option<u64>,
    /// Where payments collected by Stripe are booked until the payout reaches the bank.
    pub transit_account: Option<u64>,
    pub revenue_accounts: RevenueAccounts,
}

impl Default for DatevSettings {
    fn default() -> Self {
        DatevSettings {
            chart: "SKR03".into(),
            // DATEV's smallest numbers: placeholders until the tax adviser names the real ones.
            consultant_number: 1001,
            client_number: 1,
            account_length: 4,
            debtor_base: None,
            bank_account: None,
            transit_account: None,
            revenue_accounts: RevenueAccounts::default(),
        }
    }
}

impl DatevSettings {
    pub fn validate(&self) -> Result<(), String> {
        if !matches!(self.chart.as_str(), "SKR03" | "SKR04") {
            return Err("datev.chart must be SKR03 or SKR04".into());
        }
        if !(1001..=9_999_999).contains(&self.consultant_number) {
            return Err("datev.consultant_number (Beraternummer) must be between 1001 and 9999999".into());
        }
        if !(1..=99_999).contains(&self.client_number) {
            return Err("datev.client_number (Mandantennummer) must be between 1 and 99999".into());
        }
        if !(4..=8).contains(&self.account_length) {
            return Err("datev.account_length (Sachkontenlänge) must be between 4 and 8".into());
        }
        Ok(())
    }
}
