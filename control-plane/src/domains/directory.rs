//! The domain directory that the control plane hands to the portals it serves
//! itself; the internal API (`web/internal.rs`) answers standalone portals with it too.

use std::sync::Weak;

use async_trait::async_trait;
use tenant_app::domains::{CustomDomain, DirectoryError, DomainDirectory, DomainName};

use crate::domains;
use crate::state::{AppInner, AppState};
use crate::tenants::{self, Tenant};

/// One tenant's domains, straight from the control plane's database.
pub struct InProcessDirectory {
    // Weak: the state owns the provisioner, which owns the portals, which own this.
    app: Weak<AppInner>,
    tenant_id: String,
}

impl InProcessDirectory {
    pub fn new(app: Weak<AppInner>, tenant_id: &str) -> InProcessDirectory {
        InProcessDirectory { app, tenant_id: tenant_id.to_owned() }
    }

    async fn context(&self) -> Result<(AppState, Tenant), DirectoryError> {
        let app = AppState::upgrade(&self.app)
            .ok_or_else(|| DirectoryError::Unavailable("the control plane is shutting down".into()))?;
        let tenant = tenants::find(&app.db, &self.tenant_id)
            .await
            .map_err(|err| DirectoryError::Unavailable(err.to_string()))?
            .ok_or(DirectoryError::NotFound)?;
        Ok((app, tenant))
    }
}

#[async_trait]
impl DomainDirectory for InProcessDirectory {
    async fn list(&self) -> Result<Vec<CustomDomain>, DirectoryError> {
        let (app, tenant) = self.context().await?;
        let records =
            domains::list(&app.db, &tenant.id).await.map_err(|err| DirectoryError::Unavailable(err.to_string()))?;
        Ok(records.iter().map(|record| record.view(&app.hosts, &tenant.slug)).collect())
    }

    async fn claim(&self, domain: &DomainName) -> Result<CustomDomain, DirectoryError> {
        let (app, tenant) = self.context().await?;
        Ok(domains::claim(&app, &tenant, domain).await?.view(&app.hosts, &tenant.slug))
    }

    async fn verify(&self, domain: &DomainName) -> Result<CustomDomain, DirectoryError> {
        let (app, tenant) = self.context().await?;
        Ok(domains::verify(&app, &tenant, domain).await?.view(&app.hosts, &tenant.slug))
    }

    async fn remove(&self, domain: &DomainName) -> Result<(), DirectoryError> {
        let (app, tenant) = self.context().await?;
        domains::remove(&app, &tenant, domain).await
    }
}
