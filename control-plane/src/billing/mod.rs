//! Billing: money arithmetic and the invoice as a document, printed (PDF/A-3 with
//! Factur-X) and structured (EN 16931 CII, XRechnung); prices by period, the
//! plan history, invoices as stored (numbering, payments, credit notes) and the
//! monthly run; payments by card and SEPA Direct Debit through Stripe.
//! docs/billing.md has the rules.

pub mod balance;
pub mod bank;
pub mod charges;
#[cfg(test)]
mod conformance;
pub mod contract;
pub mod datev;
pub mod document;
pub mod dunning;
pub mod einvoice;
pub mod invoices;
pub mod money;
pub mod orders;
pub mod pages;
pub mod pdf;
pub mod prices;
pub mod refusal;
pub mod reports;
pub mod run;
pub mod settings;
pub mod settlement;
pub mod stripe;
pub mod subscriptions;
