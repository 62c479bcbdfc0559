//! Billing: money arithmetic and the invoice as a document, structured as an
//! EN 16931 e-invoice (Factur-X, XRechnung). Pure code without storage;
//! docs/billing.md has the rules.

pub mod bank;
pub mod document;
pub mod einvoice;
pub mod money;
