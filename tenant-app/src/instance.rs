//! Starting one tenant's portal: connect its database, migrate it, build the router.

use std::sync::Arc;

use anyhow::Context;

use crate::branding::Branding;
use crate::db::{Db, PoolSize, TENANT_MIGRATIONS};
use crate::domains::DomainDirectory;
use crate::mail::Mailer;
use crate::portal::{Entitlements, Portal, PortalSettings};
use crate::storage::DocumentStore;
use crate::users::{self, LinkPurpose};
use crate::values::EmailAddress;
use crate::{analysis, catalog};

/// A tenant pool opens connections only on demand and closes them after a minute
/// idle, so an idle portal costs next to nothing; under load eight connections
/// measured best on two cores (docs/benchmarks.md).
// Idle connections go after ten seconds: on a shared PostgreSQL server every
// tenant's idle connections count against max_connections.
pub const TENANT_POOL: PoolSize = PoolSize { max: 8, idle_secs: 10 };

/// Opens and migrates a tenant database.
pub async fn open_database(url: &str) -> anyhow::Result<Db> {
    let db = Db::connect(url, TENANT_POOL).await.context("opening the tenant database")?;
    db.migrate(TENANT_MIGRATIONS).await.context("migrating the tenant database")?;
    analysis::seed_default_rules(&db).await.context("seeding the analysis rules")?;
    Ok(db)
}

/// Fills a freshly migrated database: the default catalog and the broker's admin
/// account. Safe to run again; returns a new set-password link token for the admin
/// while the admin has no password yet.
pub async fn seed(db: &Db, admin_email: &EmailAddress, admin_name: &str) -> anyhow::Result<Option<String>> {
    catalog::seed_default(db).await.context("seeding the catalog")?;
    analysis::seed_default_rules(db).await.context("seeding the analysis rules")?;
    let admin = users::ensure_broker_admin(db, admin_email, admin_name).await.context("creating the admin account")?;
    if admin.password_hash.is_some() {
        return Ok(None);
    }
    Ok(Some(users::issue_link(db, &admin.id, LinkPurpose::SetPassword).await?))
}

/// Starts serving a portal on an already opened database and document store,
/// with its webhook delivery worker (which ends when the database is closed).
pub fn start(
    db: Db,
    settings: PortalSettings,
    entitlements: Entitlements,
    branding: Branding,
    mailer: Mailer,
    store: Arc<dyn DocumentStore>,
    domains: Option<Arc<dyn DomainDirectory>>,
) -> Portal {
    let portal = Portal::new(db, settings, entitlements, branding, mailer, store, domains);
    crate::webhooks::spawn_worker(Arc::new(portal.clone()));
    portal
}
