//! Brokers' own domains for their portals (whitelabel).
//!
//! The control plane owns the records (`custom_domains`). A broker claims a domain
//! in the portal; the claim gets a random token. The domain is verified when the
//! TXT record `_ordo-challenge.<domain>` holds the token and the domain points
//! (CNAME) at the portal host `<slug>.<base domain>` (see [`dns`]). Only a verified
//! domain is served: whenever a domain starts or stops being verified, the tenant
//! is deployed again with its verified domains ([`crate::provisioning::deployment_for`]),
//! which moves the local host map or the Kubernetes Ingress.
//!
//! Checks run when the broker asks ("Jetzt prüfen") and every
//! `domain_check_interval_secs` for every domain, verified ones included: a verified
//! domain whose records are gone is unrouted after `domain_check_tolerance` failed
//! checks in a row.

pub mod directory;
pub mod dns;

use std::time::Duration;

use tenant_app::db::{Db, is_unique_violation, new_id, now};
use tenant_app::domains::{CustomDomain, DirectoryError, DomainName, DomainStatus};
use tenant_app::security::tokens::random_token;

use crate::hosts::Hosts;
use crate::provisioning;
use crate::state::AppState;
use crate::tenants::{self, Tenant};

/// How many domains one tenant may claim.
pub const MAX_PER_TENANT: usize = 5;

/// How long another tenant's claim that was never verified blocks a domain; after
/// that the domain's owner can claim it (the TXT record decides who that is).
pub const STALE_CLAIM_SECS: i64 = 7 * 24 * 60 * 60;

/// A claimed domain as stored.
#[derive(Debug, Clone)]
pub struct DomainRecord {
    pub id: String,
    pub tenant_id: String,
    pub domain: String,
    pub token: String,
    pub verified: bool,
    pub problem: Option<String>,
    pub failed_checks: i64,
    pub last_checked_at: Option<i64>,
    pub verified_at: Option<i64>,
    pub created_at: i64,
}

impl DomainRecord {
    pub fn status(&self) -> DomainStatus {
        if self.verified {
            DomainStatus::Verified
        } else if self.problem.is_some() {
            DomainStatus::Failed
        } else {
            DomainStatus::Pending
        }
    }

    /// What the broker and the operator see: the status and the records to create.
    pub fn view(&self, hosts: &Hosts, slug: &str) -> CustomDomain {
        CustomDomain {
            domain: DomainName::parse(&self.domain).expect("stored domains were parsed"),
            status: self.status(),
            cname_target: hosts.tenant_host(slug),
            txt_name: format!("{}.{}", tenant_app::domains::CHALLENGE_LABEL, self.domain),
            txt_value: self.token.clone(),
            problem: self.problem.clone(),
            last_checked_at: self.last_checked_at,
            verified_at: self.verified_at,
            created_at: self.created_at,
        }
    }
}

const COLUMNS: &str =
    "id, tenant_id, domain, token, verified, problem, failed_checks, last_checked_at, verified_at, created_at";

fn from_row(row: sqlx::any::AnyRow) -> Result<DomainRecord, sqlx::Error> {
    use sqlx::Row;
    Ok(DomainRecord {
        id: row.try_get(0)?,
        tenant_id: row.try_get(1)?,
        domain: row.try_get(2)?,
        token: row.try_get(3)?,
        verified: row.try_get::<i64, _>(4)? == 1,
        problem: row.try_get(5)?,
        failed_checks: row.try_get(6)?,
        last_checked_at: row.try_get(7)?,
        verified_at: row.try_get(8)?,
        created_at: row.try_get(9)?,
    })
}

/// A tenant's domains, oldest claim first.
pub async fn list(db: &Db, tenant_id: &str) -> Result<Vec<DomainRecord>, sqlx::Error> {
    let rows =
        sqlx::query(&format!("SELECT {COLUMNS} FROM custom_domains WHERE tenant_id = $1 ORDER BY created_at, id"))
            .bind(tenant_id)
            .fetch_all(db.pool())
            .await?;
    rows.into_iter().map(from_row).collect()
}

/// The domains a tenant's portal answers on.
/// The tenant a verified domain belongs to.
pub async fn verified_owner(db: &Db, domain: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT tenant_id FROM custom_domains WHERE domain = $1 AND verified = 1")
        .bind(domain)
        .fetch_optional(db.pool())
        .await
}

async fn find(db: &Db, tenant_id: &str, domain: &DomainName) -> Result<Option<DomainRecord>, sqlx::Error> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM custom_domains WHERE tenant_id = $1 AND domain = $2"))
        .bind(tenant_id)
        .bind(domain.as_str())
        .fetch_optional(db.pool())
        .await?;
    row.map(from_row).transpose()
}

fn unavailable(err: impl std::fmt::Display) -> DirectoryError {
    tracing::error!(error = %err, "custom domain records");
    DirectoryError::Unavailable(err.to_string())
}

const TAKEN: &str = "Diese Domain ist bereits für ein anderes Portal eingetragen.";

/// Claims `domain` for `tenant`; claiming a domain the tenant already holds returns it.
pub async fn claim(app: &AppState, tenant: &Tenant, domain: &DomainName) -> Result<DomainRecord, DirectoryError> {
    if !provisioning::entitlements(tenant, app.clock.timestamp()).custom_domains() {
        return Err(DirectoryError::Refused("Eine eigene Domain gehört zum Whitelabel-Paket.".into()));
    }
    let base = &app.hosts.base_domain;
    if domain.is_within(base) {
        return Err(DirectoryError::Refused(format!(
            "Adressen unter {base} gehören bereits zu den Portalen; bitte geben Sie eine eigene Domain an."
        )));
    }
    let mut tx = app.db.pool().begin().await.map_err(unavailable)?;
    let holder: Option<(String, i64, i64)> =
        sqlx::query_as("SELECT tenant_id, verified, created_at FROM custom_domains WHERE domain = $1")
            .bind(domain.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(unavailable)?;
    match holder {
        Some((holder, _, _)) if holder == tenant.id => {
            tx.rollback().await.map_err(unavailable)?;
            return find(&app.db, &tenant.id, domain).await.map_err(unavailable)?.ok_or(DirectoryError::NotFound);
        }
        Some((_, verified, created_at)) if verified == 1 || created_at > now() - STALE_CLAIM_SECS => {
            return Err(DirectoryError::Refused(TAKEN.into()));
        }
        Some(_) => {
            // Another tenant claimed it long ago and never proved it: released.
            sqlx::query("DELETE FROM custom_domains WHERE domain = $1")
                .bind(domain.as_str())
                .execute(&mut *tx)
                .await
                .map_err(unavailable)?;
        }
        None => {}
    }
    let (held,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM custom_domains WHERE tenant_id = $1")
        .bind(&tenant.id)
        .fetch_one(&mut *tx)
        .await
        .map_err(unavailable)?;
    if held >= MAX_PER_TENANT as i64 {
        return Err(DirectoryError::Refused(format!(
            "Sie können höchstens {MAX_PER_TENANT} Domains eintragen; entfernen Sie zuerst eine andere."
        )));
    }
    let inserted = sqlx::query(
        "INSERT INTO custom_domains (id, tenant_id, domain, token, verified, failed_checks, created_at) \
         VALUES ($1, $2, $3, $4, 0, 0, $5)",
    )
    .bind(new_id())
    .bind(&tenant.id)
    .bind(domain.as_str())
    .bind(random_token())
    .bind(now())
    .execute(&mut *tx)
    .await;
    match inserted {
        Ok(_) => tx.commit().await.map_err(unavailable)?,
        // Someone claimed it at the same moment.
        Err(err) if is_unique_violation(&err) => return Err(DirectoryError::Refused(TAKEN.into())),
        Err(err) => return Err(unavailable(err)),
    }
    tenants::record_event(&app.db, &tenant.id, "domain_claimed", domain.as_str()).await.map_err(unavailable)?;
    find(&app.db, &tenant.id, domain).await.map_err(unavailable)?.ok_or(DirectoryError::NotFound)
}

/// Checks one of the tenant's domains now.
pub async fn verify(app: &AppState, tenant: &Tenant, domain: &DomainName) -> Result<DomainRecord, DirectoryError> {
    let record = find(&app.db, &tenant.id, domain).await.map_err(unavailable)?.ok_or(DirectoryError::NotFound)?;
    check(app, tenant, &record).await.map_err(unavailable)
}

/// Gives a domain up; if it was served, the portal stops answering on it.
pub async fn remove(app: &AppState, tenant: &Tenant, domain: &DomainName) -> Result<(), DirectoryError> {
    let record = find(&app.db, &tenant.id, domain).await.map_err(unavailable)?.ok_or(DirectoryError::NotFound)?;
    sqlx::query("DELETE FROM custom_domains WHERE id = $1")
        .bind(&record.id)
        .execute(app.db.pool())
        .await
        .map_err(unavailable)?;
    tenants::record_event(&app.db, &tenant.id, "domain_removed", domain.as_str()).await.map_err(unavailable)?;
    if record.verified {
        redeploy(app, &tenant.id).await;
    }
    Ok(())
}

/// Asks DNS about one domain, records the outcome, and moves the routing if the
/// domain started or stopped being verified. Returns the record as it now is.
async fn check(app: &AppState, tenant: &Tenant, record: &DomainRecord) -> Result<DomainRecord, sqlx::Error> {
    let outcome = app.dns.check(&record.domain, &record.token, &app.hosts.tenant_host(&tenant.slug)).await;
    let checked_at = now();
    let mut updated = record.clone();
    updated.last_checked_at = Some(checked_at);
    match outcome {
        Ok(()) => {
            updated.verified = true;
            updated.problem = None;
            updated.failed_checks = 0;
            updated.verified_at = record.verified_at.filter(|_| record.verified).or(Some(checked_at));
        }
        Err(reason) => {
            updated.failed_checks = record.failed_checks + 1;
            // A verified domain survives a few failed checks: a DNS hiccup must not take it down.
            updated.verified = record.verified && updated.failed_checks < app.config.domain_check_tolerance;
            updated.problem = Some(reason);
            if !updated.verified {
                updated.verified_at = None;
            }
        }
    }
    sqlx::query(
        "UPDATE custom_domains SET verified = $1, problem = $2, failed_checks = $3, last_checked_at = $4, \
         verified_at = $5 WHERE id = $6",
    )
    .bind(i64::from(updated.verified))
    .bind(&updated.problem)
    .bind(updated.failed_checks)
    .bind(updated.last_checked_at)
    .bind(updated.verified_at)
    .bind(&record.id)
    .execute(app.db.pool())
    .await?;
    app.metrics.domain_checked(updated.problem.is_none());
    if updated.verified != record.verified {
        let (kind, message) = if updated.verified {
            ("domain_verified", format!("{} bestätigt", record.domain))
        } else {
            ("domain_unverified", format!("{}: {}", record.domain, updated.problem.as_deref().unwrap_or_default()))
        };
        tracing::info!(tenant_id = %tenant.id, domain = %record.domain, verified = updated.verified, "custom domain changed");
        tenants::record_event(&app.db, &tenant.id, kind, &message).await?;
        redeploy(app, &tenant.id).await;
    }
    Ok(updated)
}

/// Deploys a ready tenant again, so that the instance serves exactly its verified
/// domains. A failure is logged and recorded for the operator; the next change or
/// start deploys again.
async fn redeploy(app: &AppState, tenant_id: &str) {
    let _serialised = app.domain_deploys.lock().await;
    let result = async {
        if tenants::find(&app.db, tenant_id).await?.is_none() {
            return Ok(());
        }
        // A tenant still provisioning is deployed with its verified domains when it gets there.
        provisioning::apply_record(app, tenant_id).await
    }
    .await;
    if let Err(err) = result {
        let reason = format!("{err:#}");
        tracing::error!(tenant_id, error = %reason, "deploying after a domain change");
        if let Err(err) = tenants::record_event(&app.db, tenant_id, "deploy_failed", &reason).await {
            tracing::error!(tenant_id, error = %err, "recording a failed deployment");
        }
    }
}

/// Tenants whose domains are checked at the same time (each tenant's one after another).
const PARALLEL_TENANTS: usize = 4;

/// Checks every domain of every ready tenant once. A failure to record one
/// tenant's checks is logged and does not stop the others.
pub async fn check_all(app: &AppState) -> anyhow::Result<()> {
    let mut running = tokio::task::JoinSet::new();
    for tenant in tenants::list_ready(&app.db).await? {
        if running.len() >= PARALLEL_TENANTS {
            running.join_next().await;
        }
        let app = app.clone();
        running.spawn(async move {
            let checked = async {
                for record in list(&app.db, &tenant.id).await? {
                    check(&app, &tenant, &record).await?;
                }
                Ok::<_, sqlx::Error>(())
            };
            if let Err(err) = checked.await {
                tracing::error!(tenant_id = %tenant.id, error = %err, "checking a tenant's domains");
            }
        });
    }
    while running.join_next().await.is_some() {}
    Ok(())
}

/// The periodic check, until the task is aborted.
pub fn spawn_periodic_checks(app: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let period = Duration::from_secs(app.config.domain_check_interval_secs);
        // The first round one period after the start: a restart does not ask DNS at once.
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if let Err(err) = check_all(&app).await {
                tracing::error!(error = format!("{err:#}"), "checking custom domains");
            }
        }
    })
}
