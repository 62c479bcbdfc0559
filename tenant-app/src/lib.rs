//! The tenant app: one broker's portal.
//!
//! Run standalone by the `tenant-app` binary (one tenant per process, as on
//! Kubernetes), or embedded by the control plane (many tenants in one process,
//! the embedded default). Modules named after the domain hold the rules and the
//! SQL; `portal` holds the pages; the rest is plumbing the control plane shares.

pub mod analysis;
pub mod api_keys;
pub mod audit;
pub mod branding;
pub mod calendar;
pub mod catalog;
pub mod config;
pub mod contracts;
pub mod crypto;
pub mod customers;
pub mod db;
pub mod documents;
pub mod domains;
pub mod emergency;
pub mod i18n;
pub mod instance;
pub mod mail;
pub mod messages;
pub mod plans;
pub mod portal;
pub mod security;
pub mod storage;
pub mod telemetry;
pub mod uploads;
pub mod usage;
pub mod users;
pub mod values;
pub mod web;
