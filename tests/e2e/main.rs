//! End-to-end tests against the real control plane on a real port, each run on
//! SQLite and on PostgreSQL.

mod analysis;
mod branding;
mod catalog;
mod console_billing;
mod customers;
mod documents;
mod domains;
mod dunning;
mod emergency;
mod first_path;
mod invoicing;
mod isolation;
mod jobs;
mod keys;
mod language;
mod leases;
mod limits;
mod messages;
mod operator;
mod ordering;
mod prices;
mod provisioning;
mod security;
mod signup;
mod smtp;
mod stripe;
mod suspension;
mod tenant_api;
mod trials;
