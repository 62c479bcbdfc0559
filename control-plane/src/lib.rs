//! The control plane: the public site with trial sign-up, the operator console
//! and API, and the provisioning of tenant instances.

pub mod audit;
pub mod billing;
pub mod charts;
pub mod cli;
pub mod clock;
pub mod config;
pub mod domains;
pub mod hosts;
pub mod leases;
pub mod metrics;
pub mod operators;
pub mod pdfa;
pub mod provisioning;
pub mod scheduler;
pub mod slug;
pub mod startup;
pub mod state;
pub mod tenants;
pub mod trials;
pub mod usage;
pub mod web;
