//! Provisioning: turning a sign-up into a running portal.
//!
//! A recorded state machine. The tenant row holds the status (requested →
//! provisioning → ready, or failed with a reason) and the last completed step
//! (database → migrated → seeded → deployed). Every step is idempotent, so
//! running `provision` again — after a crash, a restart or a failure — continues
//! where it stopped. Where the instance runs is the [`Provisioner`]'s business.

pub mod api_keys;
pub mod kubernetes;
pub mod local;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::Context;
use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use tenant_app::crypto::Key;
use tenant_app::db::Db;
use tenant_app::instance::{self, TENANT_POOL};
use tenant_app::mail::Email;
use tenant_app::plans::Plan;
use tenant_app::portal::Entitlements;
use tenant_app::values::EmailAddress;

use crate::state::AppState;
use crate::tenants::signup::{self, NewTrial, SignupError};
use crate::tenants::{self, ProvisionStep, Tenant, TenantStatus};

/// Everything an instance needs to serve one tenant.
#[derive(Clone)]
pub struct TenantDeployment {
    pub tenant_id: String,
    pub slug: String,
    pub display_name: String,
    pub public_url: String,
    pub database_url: SecretString,
    pub session_key: Key,
    pub entitlements: Entitlements,
    /// Verified custom whitelabel domains the portal also answers on.
    pub custom_domains: Vec<String>,
}

impl std::fmt::Debug for TenantDeployment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantDeployment")
            .field("tenant_id", &self.tenant_id)
            .field("slug", &self.slug)
            .finish_non_exhaustive()
    }
}

/// What a deploy or suspend did beyond what was asked.
#[derive(Debug, Default)]
pub struct Deployed {
    /// Objects that someone else had deleted or edited, restored (drift repair).
    pub repaired: Vec<String>,
}

/// Runs tenant instances somewhere: in this process (the embedded default) or
/// on Kubernetes. Every method is idempotent.
#[async_trait]
pub trait Provisioner: Send + Sync + 'static {
    /// A short name for logs and the console.
    fn kind(&self) -> &'static str;
    /// Makes the instance run and serve its host names; returns once it does.
    async fn deploy(&self, deployment: &TenantDeployment) -> anyhow::Result<Deployed>;
    /// Stops the instance, keeping its data; its host names show the maintenance page.
    async fn suspend(&self, deployment: &TenantDeployment) -> anyhow::Result<Deployed>;
    /// Removes the instance; its database is removed separately.
    async fn remove(&self, tenant_id: &str, slug: &str) -> anyhow::Result<()>;
    /// Where the control plane reaches a portal running as its own process
    /// (its internal API, `http://…` without a trailing slash); `None` for
    /// portals served by this process.
    fn internal_url(&self, _slug: &str) -> Option<String> {
        None
    }
}

/// The tenants that a task of this process is provisioning, so that two tasks
/// never run the steps of one tenant at once.
#[derive(Default)]
pub struct ProvisioningClaims(Arc<Mutex<HashSet<String>>>);

impl ProvisioningClaims {
    /// Claims a tenant; `None` if another task holds it.
    pub fn claim(&self, tenant_id: &str) -> Option<ProvisioningClaim> {
        let mut claims = self.0.lock().expect("claim lock poisoned");
        claims
            .insert(tenant_id.to_owned())
            .then(|| ProvisioningClaim { claims: self.0.clone(), tenant_id: tenant_id.to_owned() })
    }
}

/// Held while one task provisions a tenant; releases the claim when dropped.
pub struct ProvisioningClaim {
    claims: Arc<Mutex<HashSet<String>>>,
    tenant_id: String,
}

impl Drop for ProvisioningClaim {
    fn drop(&mut self) {
        self.claims.lock().expect("claim lock poisoned").remove(&self.tenant_id);
    }
}

/// What a tenant's plan grants its portal at `now`.
pub fn entitlements(tenant: &Tenant, now: i64) -> Entitlements {
    let plan = Plan::parse(&tenant.plan).unwrap_or(Plan::Trial);
    let trial_ended = plan == Plan::Trial && tenant.trial_ends_at.is_some_and(|end| now >= end);
    // The trial opens every feature but whitelabel, which belongs to an order.
    Entitlements { plan, whitelabel: tenant.whitelabel && plan != Plan::Trial, trial_ended }
}

/// Builds what the provisioner needs from the tenant record and its verified domains.
pub async fn deployment_for(app: &AppState, tenant: &Tenant) -> anyhow::Result<TenantDeployment> {
    let tenant_key = tenant.key(&app.master_key).context("unwrapping the tenant key")?;
    let password = tenant
        .db_password_enc
        .as_deref()
        .map(|sealed| tenant_key.open_string(sealed))
        .transpose()
        .context("opening the database password")?;
    let entitlements = entitlements(tenant, app.clock.timestamp());
    // Own domains are served while the plan includes them; verified ones stay recorded.
    let custom_domains = if entitlements.custom_domains() {
        served_domains(&app.db, &tenant.id).await.context("reading the verified domains")?
    } else {
        Vec::new()
    };
    Ok(TenantDeployment {
        tenant_id: tenant.id.clone(),
        slug: tenant.slug.clone(),
        display_name: tenant.display_name().to_owned(),
        public_url: app.hosts.tenant_url(&tenant.slug),
        database_url: app.tenant_dbs.url(&tenant.id, password.as_deref())?,
        session_key: tenant.session_key(&app.master_key).context("opening the session key")?,
        entitlements,
        custom_domains,
    })
}

/// Records the trial and provisions it; the provisioning runs in its own task so
/// that a client hanging up does not cut it short. Each client address may sign
/// up `signup_limit_per_hour` times an hour: every sign-up creates a database.
pub async fn start_trial(app: &AppState, trial: &NewTrial, address: &str) -> Result<Tenant, SignupError> {
    let key = format!("signup:{address}");
    if !tenant_app::security::throttle::allow(&app.db, &key, app.config.signup_limit_per_hour, 3600).await? {
        tracing::warn!(address, "sign-up limit reached");
        return Err(SignupError::TooMany);
    }
    let tenant = signup::record_trial(app, trial).await?;
    app.metrics.signup();
    let task_app = app.clone();
    let tenant_id = tenant.id.clone();
    let provisioning = tokio::spawn(async move { provision(&task_app, &tenant_id).await });
    match provisioning.await {
        Ok(Ok(_status)) => {}
        Ok(Err(err)) => {
            tracing::error!(tenant_id = %tenant.id, error = format!("{err:#}"), "provisioning error")
        }
        Err(err) => {
            tracing::error!(tenant_id = %tenant.id, error = %err, "provisioning task failed")
        }
    }
    Ok(tenants::find(&app.db, &tenant.id).await?.unwrap_or(tenant))
}

/// The verified own domains a tenant's instance answers on. The domains area
/// owns these records; provisioning only reads which are verified.
async fn served_domains(db: &Db, tenant_id: &str) -> Result<Vec<String>, sqlx::Error> {
    let domains: Vec<(String,)> = sqlx::query_as(
        "SELECT domain FROM custom_domains WHERE tenant_id = $1 AND verified = 1 ORDER BY created_at, id",
    )
    .bind(tenant_id)
    .fetch_all(db.pool())
    .await?;
    Ok(domains.into_iter().map(|(domain,)| domain).collect())
}

/// Provisions a tenant to `ready`, or records why it failed. Returns the final status.
pub async fn provision(app: &AppState, tenant_id: &str) -> anyhow::Result<TenantStatus> {
    let Some(_guard) = app.provisioning_now.claim(tenant_id) else {
        // Another task is on it; report what the record says.
        let tenant = tenants::find(&app.db, tenant_id).await?.context("tenant vanished")?;
        return Ok(tenant.status);
    };
    let tenant = tenants::find(&app.db, tenant_id).await?.context("no such tenant")?;
    if tenant.status == TenantStatus::Ready && tenant.step == ProvisionStep::Deployed {
        return Ok(TenantStatus::Ready);
    }
    let started = Instant::now();
    tenants::set_status(&app.db, tenant_id, TenantStatus::Provisioning, None).await?;
    match run_steps(app, &tenant).await {
        Ok(()) => {
            tenants::set_status(&app.db, tenant_id, TenantStatus::Ready, None).await?;
            tenants::record_event(&app.db, tenant_id, "ready", "Portal ist bereit.").await?;
            app.metrics.provisioning_finished("ready", started.elapsed());
            tracing::info!(tenant_id, slug = %tenant.slug, elapsed_ms = started.elapsed().as_millis() as u64, "tenant ready");
            Ok(TenantStatus::Ready)
        }
        Err(err) => {
            let reason = format!("{err:#}");
            tracing::error!(tenant_id, error = %reason, "provisioning failed");
            tenants::set_status(&app.db, tenant_id, TenantStatus::Failed, Some(&reason)).await?;
            tenants::record_event(&app.db, tenant_id, "failed", &reason).await?;
            app.metrics.provisioning_finished("failed", started.elapsed());
            Ok(TenantStatus::Failed)
        }
    }
}

async fn run_steps(app: &AppState, tenant: &Tenant) -> anyhow::Result<()> {
    let tenant_key = tenant.key(&app.master_key).context("unwrapping the tenant key")?;
    let stored_password = tenant.db_password_enc.as_deref().map(|sealed| tenant_key.open_string(sealed)).transpose()?;

    // 1. The database exists (cheap to confirm, so confirmed every time).
    let ensured = app.tenant_dbs.ensure(&tenant.id, stored_password).await.context("creating the database")?;
    if let Some(password) = &ensured.new_password {
        tenants::set_db_password(&app.db, &tenant.id, &tenant_key.seal(password.as_bytes())).await?;
    }
    advance(app, tenant, ProvisionStep::Database).await?;

    // 2. The schema is applied.
    if tenant.step < ProvisionStep::Migrated {
        let db = instance::open_database(ensured.url.expose_secret()).await?;
        db.close().await;
        advance(app, tenant, ProvisionStep::Migrated).await?;
    }

    // 3. Catalog, admin account, and the sign-up mail with the set-password link.
    if tenant.step < ProvisionStep::Seeded {
        let db = Db::connect(ensured.url.expose_secret(), TENANT_POOL).await?;
        let email = EmailAddress::parse(&tenant.email).map_err(|m| anyhow::anyhow!("stored e-mail invalid: {m}"))?;
        let token = instance::seed(&db, &email, &tenant.name).await;
        db.close().await;
        if let Some(token) = token? {
            send_welcome(app, tenant, &token).await.context("sending the sign-up e-mail")?;
        }
        advance(app, tenant, ProvisionStep::Seeded).await?;
    }

    // 4. The instance runs (always asked: after a restart it must start again).
    let deployment = deployment_for(app, tenant).await?;
    app.provisioner.deploy(&deployment).await.context("deploying the instance")?;
    advance(app, tenant, ProvisionStep::Deployed).await?;
    Ok(())
}

async fn advance(app: &AppState, tenant: &Tenant, step: ProvisionStep) -> anyhow::Result<()> {
    if tenant.step < step {
        tenants::set_step(&app.db, &tenant.id, step).await?;
        tenants::record_event(&app.db, &tenant.id, "step", step.as_str()).await?;
    }
    Ok(())
}

async fn send_welcome(app: &AppState, tenant: &Tenant, token: &str) -> anyhow::Result<()> {
    let portal_url = app.hosts.tenant_url(&tenant.slug);
    let link = format!("{portal_url}/passwort-setzen?token={token}");
    if app.config.log_mail_links {
        tracing::info!(tenant = %tenant.slug, %link, "sign-up link (log_mail_links is on)");
    }
    let trial_end = tenant.trial_ends_at.map(tenant_app::calendar::last_day_before).unwrap_or_default();
    let operator = &app.config.operator_name;
    app.mailer
        .send(Email {
            to: tenant.email.clone(),
            sender_name: operator.clone(),
            from_address: None,
            subject: format!("Ihr {operator}-Portal ist bereit: bitte E-Mail-Adresse bestätigen"),
            body: format!(
                "Guten Tag {name},\n\n\
                 Ihr Kundenportal „{display}“ ist eingerichtet:\n{portal_url}\n\n\
                 Bitte bestätigen Sie Ihre E-Mail-Adresse und legen Sie Ihr Passwort fest:\n{link}\n\n\
                 Ihr Benutzername ist Ihre E-Mail-Adresse ({email}). Der Link ist 7 Tage gültig.\n\n\
                 Ihre Testphase ist kostenlos und endet am {trial_end}. Sie müssen nichts kündigen: \
                 ohne Bestellung endet sie von selbst.\n\n\
                 Ihr {operator}-Team\n",
                name = tenant.name,
                display = tenant.display_name(),
                email = tenant.email,
            ),
        })
        .await?;
    Ok(())
}

/// Stops a ready tenant's instance, keeping its data; its host names show the
/// maintenance page until [`resume`].
pub async fn suspend(app: &AppState, tenant_id: &str, reason: &str) -> anyhow::Result<()> {
    let tenant = tenants::find(&app.db, tenant_id).await?.context("no such tenant")?;
    tenants::set_suspended(&app.db, tenant_id, Some(reason)).await?;
    tenants::record_event(&app.db, tenant_id, "suspended", reason).await?;
    if tenant.status == TenantStatus::Ready {
        app.provisioner.suspend(&deployment_for(app, &tenant).await?).await.context("stopping the instance")?;
    }
    Ok(())
}

/// Starts a suspended tenant's instance again.
pub async fn resume(app: &AppState, tenant_id: &str) -> anyhow::Result<()> {
    let tenant = tenants::find(&app.db, tenant_id).await?.context("no such tenant")?;
    tenants::set_suspended(&app.db, tenant_id, None).await?;
    tenants::record_event(&app.db, tenant_id, "resumed", "Portal ist wieder erreichbar.").await?;
    if tenant.status == TenantStatus::Ready {
        app.provisioner.deploy(&deployment_for(app, &tenant).await?).await.context("starting the instance")?;
    }
    Ok(())
}

/// After a change to what a tenant's instance should be (plan, trial end,
/// own domains): brings a ready tenant's instance to its record. A suspended
/// tenant stays suspended: only [`resume`] reopens a portal.
pub async fn apply_record(app: &AppState, tenant_id: &str) -> anyhow::Result<()> {
    let tenant = tenants::find(&app.db, tenant_id).await?.context("no such tenant")?;
    if tenant.status == TenantStatus::Ready {
        converge(app, &tenant).await?;
    }
    Ok(())
}

/// Brings one ready tenant's instance to what its record says: running, or
/// stopped while suspended. Records repaired drift for the operator.
async fn converge(app: &AppState, tenant: &Tenant) -> anyhow::Result<()> {
    let deployment = deployment_for(app, tenant).await?;
    let outcome = match tenant.suspended_at {
        Some(_) => app.provisioner.suspend(&deployment).await?,
        None => app.provisioner.deploy(&deployment).await?,
    };
    if !outcome.repaired.is_empty() {
        let message = format!("Von außen geändert und wiederhergestellt: {}", outcome.repaired.join(", "));
        tracing::warn!(tenant_id = %tenant.id, repaired = ?outcome.repaired, "drift repaired");
        tenants::record_event(&app.db, &tenant.id, "drift_repaired", &message).await?;
    }
    Ok(())
}

/// After a start: finish every unfinished provisioning and bring every ready
/// tenant's instance back.
pub async fn resume_all(app: &AppState) -> anyhow::Result<()> {
    for tenant in tenants::list_unfinished(&app.db).await? {
        tracing::info!(tenant_id = %tenant.id, step = tenant.step.as_str(), "resuming provisioning");
        provision(app, &tenant.id).await?;
    }
    for tenant in tenants::list_ready(&app.db).await? {
        if let Err(err) = converge(app, &tenant).await {
            tracing::error!(tenant_id = %tenant.id, error = format!("{err:#}"), "could not start tenant instance");
            tenants::record_event(&app.db, &tenant.id, "start_failed", &format!("{err:#}")).await?;
        }
    }
    Ok(())
}

/// One pass of the reconcile loop: every ready tenant is applied again (which
/// repairs drift), and failed provisioning is retried, each tenant with its
/// own backoff after failures.
pub async fn reconcile_all(app: &AppState, backoff: &mut Backoff) -> anyhow::Result<()> {
    let started = Instant::now();
    for tenant in tenants::list_failed(&app.db).await? {
        if backoff.due(&tenant.id, started) {
            let status = provision(app, &tenant.id).await?;
            backoff.record(&tenant.id, started, status == TenantStatus::Ready);
        }
    }
    for tenant in tenants::list_ready(&app.db).await? {
        if !backoff.due(&tenant.id, started) {
            continue;
        }
        let result = converge(app, &tenant).await;
        if let Err(err) = &result {
            tracing::error!(tenant_id = %tenant.id, error = format!("{err:#}"), "reconciling the tenant failed");
            tenants::record_event(&app.db, &tenant.id, "reconcile_failed", &format!("{err:#}")).await?;
        }
        backoff.record(&tenant.id, started, result.is_ok());
    }
    Ok(())
}

/// Per-tenant backoff of the reconcile loop: after `n` failures in a row a
/// tenant is skipped for 2^n − 1 passes (at most 32), so one broken tenant
/// neither floods the API nor delays the others.
pub struct Backoff {
    failing: std::collections::HashMap<String, (u32, Instant)>,
    interval: std::time::Duration,
}

impl Backoff {
    pub fn new(interval: std::time::Duration) -> Backoff {
        Backoff { failing: Default::default(), interval }
    }

    fn due(&self, tenant_id: &str, now: Instant) -> bool {
        self.failing.get(tenant_id).is_none_or(|(_, next)| *next <= now)
    }

    fn record(&mut self, tenant_id: &str, now: Instant, ok: bool) {
        if ok {
            self.failing.remove(tenant_id);
            return;
        }
        let failures = self.failing.get(tenant_id).map_or(0, |(n, _)| *n) + 1;
        let passes = (1u32 << failures.min(5)) - 1;
        self.failing.insert(tenant_id.to_owned(), (failures, now + self.interval * passes));
    }
}

/// The lease that lets one replica at a time run the reconcile loop.
pub const RECONCILE_LEASE: &str = "reconcile";

/// Runs [`reconcile_all`] every `interval` until the process ends, on the
/// replica that holds the reconcile lease (renewed every pass, so it stays put
/// until that replica stops).
pub async fn reconcile_loop(app: AppState, interval: std::time::Duration) {
    let mut backoff = Backoff::new(interval);
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await; // The first tick is immediate; `resume_all` just ran.
    let ttl = (interval.as_secs() as i64 * 3).max(30);
    loop {
        ticker.tick().await;
        match crate::leases::try_acquire(&app.db, RECONCILE_LEASE, &app.instance_id, tenant_app::db::now(), ttl).await {
            Ok(true) => {}
            Ok(false) => continue,
            Err(err) => {
                tracing::error!(error = %err, "could not take the reconcile lease");
                continue;
            }
        }
        if let Err(err) = reconcile_all(&app, &mut backoff).await {
            tracing::error!(error = format!("{err:#}"), "reconcile pass failed");
        }
    }
}
