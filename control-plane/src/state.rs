//! The control plane's state: the handles that request handlers and
//! background work share (database, clock, mailer, hosts, keys, the
//! provisioner). It builds nothing itself; `startup` wires it from the
//! configuration.

use std::ops::Deref;
use std::path::PathBuf;
use std::sync::{Arc, Weak};

use tenant_app::crypto::MasterKeys;
use tenant_app::db::Db;
use tenant_app::mail::Mailer;
use tenant_app::security::csrf::CsrfConfig;
use tenant_app::security::throttle::LoginThrottle;

use crate::billing::stripe::Stripe;
use crate::clock::Clock;
use crate::config::Config;
use crate::domains::dns::DnsChecker;
use crate::hosts::Hosts;
use crate::metrics::Metrics;
use crate::provisioning::local::TenantRegistry;
use crate::provisioning::{Provisioner, ProvisioningClaims};
use crate::tenants::databases::TenantDatabases;

/// Shared by every request handler and background task; cheap to clone.
#[derive(Clone)]
pub struct AppState(pub(crate) Arc<AppInner>);

pub struct AppInner {
    pub config: Config,
    pub db: Db,
    pub master_key: MasterKeys,
    pub hosts: Hosts,
    pub mailer: Mailer,
    pub tenant_dbs: TenantDatabases,
    pub provisioner: Arc<dyn Provisioner>,
    /// Portals served by this process (the local provisioner's instances).
    pub registry: Arc<TenantRegistry>,
    pub metrics: Metrics,
    /// Checks brokers' own domains (`dns_servers`).
    pub dns: DnsChecker,
    pub csrf: CsrfConfig,
    pub throttle: LoginThrottle,
    /// The bound on concurrent password checks, shared with the embedded portals.
    pub passwords: tenant_app::security::passwords::PasswordGate,
    /// Tenants being provisioned by a task of this process.
    pub provisioning_now: ProvisioningClaims,
    /// `<data dir>/tenants`: each tenant's SQLite database (embedded default) and documents.
    pub tenants_dir: PathBuf,
    /// This process, as the holder of leases (`leases`).
    pub instance_id: String,
    /// Held while a tenant is deployed again after a domain change, so that the
    /// deployment that runs last has read the newest verified domains.
    pub domain_deploys: tokio::sync::Mutex<()>,
    pub clock: Arc<dyn Clock>,
    /// Card and SEPA Direct Debit payments, when `stripe.secret_key` is set.
    pub stripe: Option<Arc<Stripe>>,
}

impl Deref for AppState {
    type Target = AppInner;

    fn deref(&self) -> &AppInner {
        &self.0
    }
}

impl AppState {
    pub fn downgrade(&self) -> Weak<AppInner> {
        Arc::downgrade(&self.0)
    }

    /// The state again from a weak reference, while it is alive.
    pub fn upgrade(weak: &Weak<AppInner>) -> Option<AppState> {
        weak.upgrade().map(AppState)
    }

    /// Appends to the audit log: who did what to which subject.
    pub async fn audit(&self, actor: &str, action: &str, subject: &str) -> Result<(), sqlx::Error> {
        crate::audit::record(&self.db, self.clock.timestamp(), actor, action, subject).await
    }
}
