//! Wiring: builds the state from configuration (provisioner, Stripe, DNS,
//! the portal registry), starts the background loops, and serves.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Weak};

use anyhow::{Context, bail};
use secrecy::{ExposeSecret, SecretString};
use tenant_app::crypto::{Key, MasterKeys};
use tenant_app::db::{Backend, Db, EmbeddedMigrations, PoolSize, new_id};
use tenant_app::mail::{MailTransport, Mailer};
use tenant_app::security::csrf::CsrfConfig;
use tenant_app::security::throttle::LoginThrottle;
use tokio::net::TcpListener;

use crate::clock::{Clock, SystemClock};
use crate::config::{Config, ProvisionerKind};
use crate::domains::directory::InProcessDirectory;
use crate::domains::{self, dns::DnsChecker};
use crate::hosts::Hosts;
use crate::metrics::Metrics;
use crate::provisioning::ProvisioningClaims;
use crate::provisioning::kubernetes::KubernetesProvisioner;
use crate::provisioning::kubernetes::manifests::InstanceEnvironment;
use crate::provisioning::local::{DirectoryFactory, LocalProvisioner, TenantRegistry};
use crate::provisioning::{self, Provisioner};
use crate::state::{AppInner, AppState};
use crate::tenants::databases::TenantDatabases;

/// The control plane's schema (`migrations/control-plane`).
pub const MIGRATIONS: EmbeddedMigrations = EmbeddedMigrations(&[
    (1, "control plane schema", include_str!("../../migrations/control-plane/0001_control_plane.sql")),
    (2, "custom domains", include_str!("../../migrations/control-plane/0002_custom_domains.sql")),
    (3, "suspension", include_str!("../../migrations/control-plane/0003_suspension.sql")),
    (4, "leases", include_str!("../../migrations/control-plane/0004_leases.sql")),
    (5, "jobs, usage, trials", include_str!("../../migrations/control-plane/0005_jobs_usage_trials.sql")),
    (6, "billing", include_str!("../../migrations/control-plane/0006_billing.sql")),
    (7, "orders", include_str!("../../migrations/control-plane/0007_orders.sql")),
    (8, "stripe", include_str!("../../migrations/control-plane/0008_stripe.sql")),
    (9, "credited amounts", include_str!("../../migrations/control-plane/0009_credited.sql")),
    (11, "money", include_str!("../../migrations/control-plane/0011_money.sql")),
]);

/// The control plane's database URL: configured, or a SQLite file in the data directory.
pub fn control_database_url(config: &Config) -> anyhow::Result<SecretString> {
    match &config.database_url {
        Some(url) => Ok(url.clone()),
        None => {
            let dir = absolute(&config.data_dir)?;
            Ok(SecretString::from(format!("sqlite://{}?mode=rwc", dir.join("control-plane.db").display())))
        }
    }
}

pub fn absolute(path: &Path) -> anyhow::Result<std::path::PathBuf> {
    std::fs::create_dir_all(path).with_context(|| format!("creating the data directory {}", path.display()))?;
    path.canonicalize().with_context(|| format!("resolving {}", path.display()))
}

/// The master keys: configured, or (embedded default only) kept in
/// `<data dir>/master.key`; `master_key_previous` during a rotation.
pub fn master_keys(config: &Config, backend: Backend) -> anyhow::Result<MasterKeys> {
    let previous = config
        .master_key_previous
        .as_ref()
        .map(|key| Key::from_base64(key.expose_secret()).context("ORDO_MASTER_KEY_PREVIOUS must be 32 bytes, base64"))
        .transpose()?;
    if let Some(key) = &config.master_key {
        let current = Key::from_base64(key.expose_secret()).context("ORDO_MASTER_KEY must be 32 bytes, base64")?;
        return Ok(MasterKeys::new(current, previous));
    }
    if backend == Backend::Postgres {
        bail!("ORDO_MASTER_KEY must be set when ORDO_DATABASE_URL is PostgreSQL");
    }
    let path = absolute(&config.data_dir)?.join("master.key");
    let current = match std::fs::read_to_string(&path) {
        Ok(text) => Key::from_base64(&text).with_context(|| format!("{} is not a valid key", path.display()))?,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            let key = Key::generate();
            write_private(&path, &key.to_base64())?;
            tracing::info!(path = %path.display(), "generated a new master key");
            key
        }
        Err(err) => return Err(err).with_context(|| format!("reading {}", path.display())),
    };
    Ok(MasterKeys::new(current, previous))
}

fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).with_context(|| format!("creating {}", path.display()))?;
    file.write_all(contents.as_bytes())?;
    Ok(())
}

/// Opens and migrates the control-plane database.
pub async fn open_database(config: &Config) -> anyhow::Result<Db> {
    let url = control_database_url(config)?;
    let db = Db::connect(url.expose_secret(), PoolSize::of(10)).await.context("opening the control-plane database")?;
    db.migrate(MIGRATIONS).await.context("migrating the control-plane database")?;
    Ok(db)
}

/// Builds the state; `listen_port` is the port actually bound, used in links
/// unless `public_port` is configured.
pub async fn build(config: Config, listen_port: u16) -> anyhow::Result<AppState> {
    build_with_clock(config, listen_port, Arc::new(SystemClock)).await
}

/// As [`build`], going by `clock` (tests move it).
pub async fn build_with_clock(config: Config, listen_port: u16, clock: Arc<dyn Clock>) -> anyhow::Result<AppState> {
    // Billing refuses to start on settings that cannot produce a valid invoice
    // and e-invoice (the seller's identifiers, addresses, bank account…).
    config.billing.check().map_err(anyhow::Error::msg).context("billing settings")?;
    let db = open_database(&config).await?;
    let master_key = master_keys(&config, db.backend())?;
    let hosts = Hosts::new(&config.public_scheme, &config.base_domain, config.public_port.unwrap_or(listen_port));
    let transport = match &config.smtp_url {
        Some(url) => MailTransport::Smtp(url.clone()),
        None => MailTransport::Files(absolute(&config.data_dir)?.join("mail")),
    };
    let mailer = Mailer::new(&transport, &config.mail_from).context("setting up mail")?;
    let tenant_dbs = match db.backend() {
        Backend::Sqlite => TenantDatabases::Sqlite { dir: absolute(&config.data_dir)?.join("tenants") },
        Backend::Postgres => TenantDatabases::Postgres {
            admin: db.clone(),
            server_url: config.database_url.clone().expect("postgres backend implies a URL"),
        },
    };
    let registry = Arc::new(TenantRegistry::default());
    let tenants_dir = absolute(&config.data_dir)?.join("tenants");
    let dns = DnsChecker::new(config.dns_servers().map_err(anyhow::Error::msg)?);
    let csrf = CsrfConfig::new(master_key.current.derive("control-plane csrf"), hosts.secure());
    let stripe = crate::billing::stripe::Stripe::from_settings(&config.stripe)?.map(Arc::new);
    let kubernetes = match config.provisioner {
        ProvisionerKind::Local => None,
        ProvisionerKind::Kubernetes => {
            let environment = InstanceEnvironment {
                operator_name: config.operator_name.clone(),
                mail_from: config.mail_from.clone(),
                whitelabel_mail_from: config.whitelabel_mail_from.clone(),
                smtp_url: config.smtp_url.clone(),
                max_upload_mib: config.max_upload_mib,
            };
            Some(KubernetesProvisioner::connect(config.kubernetes.clone(), environment).await?)
        }
    };
    // The portals served here reach the domain records through the state that owns them.
    Ok(AppState(Arc::new_cyclic(|state: &Weak<AppInner>| {
        let state = state.clone();
        let provisioner: Arc<dyn Provisioner> = match kubernetes {
            Some(kubernetes) => Arc::new(kubernetes),
            None => {
                let directories: DirectoryFactory =
                    Box::new(move |tenant_id| Arc::new(InProcessDirectory::new(state.clone(), tenant_id)));
                Arc::new(LocalProvisioner::new(
                    registry.clone(),
                    directories,
                    mailer.clone(),
                    config.operator_name.clone(),
                    tenants_dir.clone(),
                    config.max_upload_mib * 1024 * 1024,
                    config.whitelabel_mail_from.clone(),
                ))
            }
        };
        AppInner {
            config,
            db,
            master_key,
            hosts,
            mailer,
            tenant_dbs,
            provisioner,
            registry,
            metrics: Metrics::default(),
            dns,
            csrf,
            throttle: LoginThrottle::default(),
            provisioning_now: ProvisioningClaims::default(),
            tenants_dir: tenants_dir.clone(),
            instance_id: new_id(),
            domain_deploys: tokio::sync::Mutex::new(()),
            clock,
            stripe,
        }
    })))
}

/// Serves until `shutdown` resolves: first brings every tenant back (and
/// finishes interrupted provisioning), then answers on the listener.
pub async fn run(
    app: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    // Prices configured now apply from the next month (docs/billing.md).
    if let Some(from) =
        crate::billing::prices::record(&app.db, &app.config.pricing, app.clock.berlin_today(), app.clock.timestamp())
            .await
            .context("recording the price list")?
    {
        tracing::info!(valid_from = %from, "new prices recorded");
        app.audit("system", "price_list", &format!("valid from {from}")).await?;
    }
    match app.config.provisioner {
        // Portals served in-process must be back before the first request.
        ProvisionerKind::Local => provisioning::resume_all(&app).await.context("resuming tenants")?,
        // On Kubernetes the portals run on their own: bringing hundreds of them
        // to their records (each waiting for its Deployment) must not hold up
        // this replica's readiness, or its startup probe would restart it.
        ProvisionerKind::Kubernetes => {
            let app = app.clone();
            tokio::spawn(async move {
                if let Err(err) = provisioning::resume_all(&app).await {
                    tracing::error!(error = format!("{err:#}"), "resuming tenants failed; the reconcile loop retries");
                }
            });
        }
    }
    let domain_checks = domains::spawn_periodic_checks(app.clone());
    let interval = std::time::Duration::from_secs(app.config.reconcile_interval_secs);
    let reconciler = tokio::spawn(provisioning::reconcile_loop(app.clone(), interval));
    let scheduler = app.config.jobs.enabled.then(|| tokio::spawn(crate::scheduler::run_loop(app.clone())));
    let router = crate::web::router(app.clone());
    tracing::info!(
        public = %app.hosts.public_url(),
        admin = %app.hosts.admin_url(),
        provisioner = app.provisioner.kind(),
        "control plane listening"
    );
    let served = axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving");
    domain_checks.abort();
    reconciler.abort();
    if let Some(scheduler) = scheduler {
        scheduler.abort();
    }
    let _ = crate::leases::release(&app.db, provisioning::RECONCILE_LEASE, &app.instance_id).await;
    served?;
    app.db.close().await;
    Ok(())
}

/// `control-plane serve`.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let listener = TcpListener::bind(config.listen).await.with_context(|| format!("binding {}", config.listen))?;
    let port = listener.local_addr()?.port();
    let app = build(config, port).await?;
    run(app, listener, tenant_app::web::shutdown_signal()).await
}
