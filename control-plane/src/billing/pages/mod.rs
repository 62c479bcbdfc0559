//! The billing area's pages: the console's money pages (invoices, payments
//! and their reversal, credit notes, revenue, a tenant's account and credit
//! balance, the DATEV export) and orders to confirm on the admin host, and the
//! broker's billing area on the portal's host.

pub mod broker;
pub mod console;
pub mod exports;
pub mod orders;
mod settle;
mod tenant;
