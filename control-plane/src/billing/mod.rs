//! Billing: money arithmetic and the invoice as a document. Pure code without
//! storage; docs/billing.md has the rules.

pub mod bank;
pub mod document;
pub mod money;
