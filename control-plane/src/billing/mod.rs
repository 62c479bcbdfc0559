//! Billing: money arithmetic and the invoice as a document, printed (PDF/A-3 with
//! Factur-X) and structured (EN 16931 CII, XRechnung). Pure code without storage;
//! docs/billing.md has the rules.

pub mod bank;
#[cfg(test)]
mod conformance;
pub mod document;
pub mod einvoice;
pub mod money;
pub mod pdf;
