//! The embedded default: every tenant's portal runs inside the control plane's
//! process, on the same listener, found by its host name.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use anyhow::Context;
use async_trait::async_trait;
use axum::Router;
use secrecy::ExposeSecret;
use tenant_app::domains::DomainDirectory;
use tenant_app::instance;
use tenant_app::mail::Mailer;
use tenant_app::portal::{Portal, PortalSettings};
use tenant_app::storage::LocalStore;

use crate::provisioning::{Deployed, Provisioner, TenantDeployment};

/// A portal that this process serves.
#[derive(Clone)]
pub struct RunningTenant {
    pub tenant_id: String,
    pub portal: Portal,
    pub router: Router,
}

/// The portals this process serves, by slug, and the verified own domains that
/// lead to them.
#[derive(Default)]
pub struct TenantRegistry {
    running: RwLock<HashMap<String, RunningTenant>>,
    /// Custom domain → slug; set by every deploy from the tenant's verified domains.
    domains: RwLock<HashMap<String, String>>,
}

impl TenantRegistry {
    pub fn get(&self, slug: &str) -> Option<RunningTenant> {
        self.running.read().expect("registry lock poisoned").get(slug).cloned()
    }

    /// The portal that a verified custom domain (a lowercase host name) leads to.
    pub fn by_domain(&self, host: &str) -> Option<RunningTenant> {
        let slug = self.domains.read().expect("registry lock poisoned").get(host).cloned()?;
        self.get(&slug)
    }

    /// Makes exactly `domains` lead to the tenant with this slug.
    fn set_domains(&self, slug: &str, domains: &[String]) {
        let mut map = self.domains.write().expect("registry lock poisoned");
        map.retain(|_, owner| owner != slug);
        map.extend(domains.iter().map(|domain| (domain.clone(), slug.to_owned())));
    }

    pub fn by_tenant_id(&self, tenant_id: &str) -> Option<RunningTenant> {
        self.running.read().expect("registry lock poisoned").values().find(|t| t.tenant_id == tenant_id).cloned()
    }

    fn insert(&self, slug: &str, tenant: RunningTenant) {
        self.running.write().expect("registry lock poisoned").insert(slug.to_owned(), tenant);
    }

    fn remove(&self, slug: &str) -> Option<RunningTenant> {
        self.set_domains(slug, &[]);
        self.running.write().expect("registry lock poisoned").remove(slug)
    }

    pub fn len(&self) -> usize {
        self.running.read().expect("registry lock poisoned").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Gives each portal its tenant's view of the control plane's domain records.
pub type DirectoryFactory = Box<dyn Fn(&str) -> Arc<dyn DomainDirectory> + Send + Sync>;

pub struct LocalProvisioner {
    registry: Arc<TenantRegistry>,
    directories: DirectoryFactory,
    mailer: Mailer,
    operator_name: String,
    /// `<data dir>/tenants`: each tenant's documents go to `<id>/files` below it.
    tenants_dir: PathBuf,
    max_file_bytes: usize,
    whitelabel_mail_from: Option<String>,
    api_requests_per_minute: u32,
}

impl LocalProvisioner {
    pub fn new(
        registry: Arc<TenantRegistry>,
        directories: DirectoryFactory,
        mailer: Mailer,
        operator_name: String,
        tenants_dir: PathBuf,
        max_file_bytes: usize,
        whitelabel_mail_from: Option<String>,
    ) -> LocalProvisioner {
        LocalProvisioner {
            registry,
            directories,
            mailer,
            operator_name,
            tenants_dir,
            max_file_bytes,
            whitelabel_mail_from,
            api_requests_per_minute: DEFAULT_API_REQUESTS_PER_MINUTE,
        }
    }

    /// The rate limit of every portal's API keys (`api_requests_per_minute`).
    pub fn with_api_requests_per_minute(mut self, per_minute: u32) -> LocalProvisioner {
        self.api_requests_per_minute = per_minute;
        self
    }
}

/// The rate limit per API key unless configured otherwise.
pub const DEFAULT_API_REQUESTS_PER_MINUTE: u32 = 600;

impl LocalProvisioner {
    async fn stop(&self, slug: &str) {
        if let Some(running) = self.registry.remove(slug) {
            running.portal.db().close().await;
        }
    }
}

#[async_trait]
impl Provisioner for LocalProvisioner {
    fn kind(&self) -> &'static str {
        "local"
    }

    async fn deploy(&self, deployment: &TenantDeployment) -> anyhow::Result<Deployed> {
        if let Some(running) = self.registry.get(&deployment.slug).filter(|t| t.tenant_id == deployment.tenant_id) {
            // Already serving: a changed plan, add-on or domain takes effect at once.
            running.portal.set_entitlements(deployment.entitlements);
            self.registry.set_domains(&deployment.slug, &deployment.custom_domains);
            return Ok(Deployed::default());
        }
        // Migrate and read the branding on a pool of its own, closed afterwards: the
        // portal's pool then opens connections only when someone visits, so an idle
        // portal holds none (on PostgreSQL each would count against max_connections).
        let url = deployment.database_url.expose_secret();
        let setup = instance::open_database(url).await.context("opening the portal database")?;
        let branding = tenant_app::branding::load(&setup).await.context("loading the branding")?;
        setup.close().await;
        let db =
            tenant_app::db::Db::connect(url, instance::TENANT_POOL).await.context("opening the portal database")?;
        let settings = PortalSettings {
            tenant_id: deployment.tenant_id.clone(),
            slug: deployment.slug.clone(),
            display_name: deployment.display_name.clone(),
            public_url: deployment.public_url.clone(),
            operator_name: self.operator_name.clone(),
            secret: deployment.session_key.clone(),
            max_file_bytes: self.max_file_bytes,
            whitelabel_mail_from: self.whitelabel_mail_from.clone(),
            api_requests_per_minute: self.api_requests_per_minute,
        };
        let store = Arc::new(LocalStore::new(self.tenants_dir.join(&deployment.tenant_id).join("files")));
        let directory = (self.directories)(&deployment.tenant_id);
        let portal = instance::start(
            db,
            settings,
            deployment.entitlements,
            branding,
            self.mailer.clone(),
            store,
            Some(directory),
        );
        let router = portal.router();
        self.registry
            .insert(&deployment.slug, RunningTenant { tenant_id: deployment.tenant_id.clone(), portal, router });
        self.registry.set_domains(&deployment.slug, &deployment.custom_domains);
        Ok(Deployed::default())
    }

    /// Stops serving the portal; the host dispatch then answers its host with
    /// the maintenance page.
    async fn suspend(&self, deployment: &TenantDeployment) -> anyhow::Result<Deployed> {
        self.stop(&deployment.slug).await;
        Ok(Deployed::default())
    }

    async fn remove(&self, _tenant_id: &str, slug: &str) -> anyhow::Result<()> {
        self.stop(slug).await;
        Ok(())
    }
}
