//! The billing area's pages: the console's money pages (invoices, payments,
//! credit notes, revenue) and orders to confirm on the admin host, and the
//! broker's billing area on the portal's host.

pub mod broker;
pub mod console;
mod login;
pub mod orders;
