//! Tenants: one broker each, with their own portal, database and secrets.

pub mod databases;
pub mod signup;
pub mod trial;

use tenant_app::crypto::{Key, MasterKeys};
use tenant_app::db::{Db, new_id, now};

/// Where a tenant is in its life. Provisioning moves it from `Requested` through
/// `Provisioning` to `Ready`, or to `Failed` with a reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantStatus {
    Requested,
    Provisioning,
    Ready,
    Failed,
    /// The instance and its data are gone (a lapsed trial); the record stays
    /// for invoices and the audit log.
    Deleted,
}

impl TenantStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TenantStatus::Requested => "requested",
            TenantStatus::Provisioning => "provisioning",
            TenantStatus::Ready => "ready",
            TenantStatus::Failed => "failed",
            TenantStatus::Deleted => "deleted",
        }
    }

    pub fn parse(text: &str) -> TenantStatus {
        match text {
            "requested" => TenantStatus::Requested,
            "provisioning" => TenantStatus::Provisioning,
            "ready" => TenantStatus::Ready,
            "deleted" => TenantStatus::Deleted,
            _ => TenantStatus::Failed,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            TenantStatus::Requested => "angefragt",
            TenantStatus::Provisioning => "wird eingerichtet",
            TenantStatus::Ready => "bereit",
            TenantStatus::Failed => "fehlgeschlagen",
            TenantStatus::Deleted => "gelöscht",
        }
    }
}

/// The provisioning steps, in order. A tenant records the last one completed,
/// so that provisioning resumes after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ProvisionStep {
    None,
    /// The database (SQLite file or PostgreSQL database and role) exists.
    Database,
    /// The tenant schema is applied.
    Migrated,
    /// Catalog and admin account are there, and the sign-up mail went out.
    Seeded,
    /// The instance serves the portal.
    Deployed,
}

impl ProvisionStep {
    pub fn as_str(self) -> &'static str {
        match self {
            ProvisionStep::None => "none",
            ProvisionStep::Database => "database",
            ProvisionStep::Migrated => "migrated",
            ProvisionStep::Seeded => "seeded",
            ProvisionStep::Deployed => "deployed",
        }
    }

    pub fn parse(text: &str) -> ProvisionStep {
        match text {
            "database" => ProvisionStep::Database,
            "migrated" => ProvisionStep::Migrated,
            "seeded" => ProvisionStep::Seeded,
            "deployed" => ProvisionStep::Deployed,
            _ => ProvisionStep::None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Tenant {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub company: Option<String>,
    pub street: String,
    pub postal_code: String,
    pub city: String,
    pub phone: String,
    pub email: String,
    pub status: TenantStatus,
    pub status_reason: Option<String>,
    pub step: ProvisionStep,
    pub plan: String,
    pub trial_ends_at: Option<i64>,
    pub wrapped_key: String,
    pub db_password_enc: Option<String>,
    pub session_key_enc: String,
    pub created_at: i64,
    /// Set while the instance is stopped (by the operator, or by billing).
    pub suspended_at: Option<i64>,
    pub suspended_reason: Option<String>,
    /// Trial reminders sent for the current trial end (see `trials`).
    pub trial_reminders: i64,
    pub trial_extensions: i64,
    pub deleted_at: Option<i64>,
    /// The whitelabel add-on, with a paid plan.
    pub whitelabel: bool,
    /// The number of the tenant's customer account, given at sign-up
    /// (`assign_customer_number`); printed as `K-000123`.
    pub customer_number: Option<i64>,
}

impl Tenant {
    /// The name the portal shows: the company, else the person.
    pub fn display_name(&self) -> &str {
        self.company.as_deref().filter(|c| !c.is_empty()).unwrap_or(&self.name)
    }

    pub fn key(&self, master: &MasterKeys) -> Result<Key, tenant_app::crypto::CryptoError> {
        master.unwrap_key(&self.wrapped_key)
    }

    /// The portal's CSRF/session signing key.
    pub fn session_key(&self, master: &MasterKeys) -> Result<Key, tenant_app::crypto::CryptoError> {
        Key::from_base64(&self.key(master)?.open_string(&self.session_key_enc)?)
    }

    /// The customer number as printed on invoices, e.g. `K-000123`: short
    /// and stable whatever the name (the slug is neither).
    pub fn customer_number_text(&self) -> Option<String> {
        self.customer_number.map(format_customer_number)
    }

    pub fn plan_label(&self) -> &str {
        match self.plan.as_str() {
            "trial" => "Testphase",
            "pay_per_use" => "Pay-per-Use",
            "premium_starter" => "PREMIUMstarter",
            "premium" => "PREMIUM",
            other => other,
        }
    }
}

/// `K-` and at least six digits.
pub fn format_customer_number(number: i64) -> String {
    format!("K-{number:06}")
}

const COLUMNS: &str = "id, slug, name, company, street, postal_code, city, phone, email, \
                       status, status_reason, provision_step, plan, trial_ends_at, wrapped_key, db_password_enc, session_key_enc, created_at, \
                       suspended_at, suspended_reason, trial_reminders, trial_extensions, deleted_at, whitelabel, \
                       customer_number";

fn from_row(row: sqlx::any::AnyRow) -> Result<Tenant, sqlx::Error> {
    use sqlx::Row;
    Ok(Tenant {
        id: row.try_get(0)?,
        slug: row.try_get(1)?,
        name: row.try_get(2)?,
        company: row.try_get(3)?,
        street: row.try_get(4)?,
        postal_code: row.try_get(5)?,
        city: row.try_get(6)?,
        phone: row.try_get(7)?,
        email: row.try_get(8)?,
        status: TenantStatus::parse(&row.try_get::<String, _>(9)?),
        status_reason: row.try_get(10)?,
        step: ProvisionStep::parse(&row.try_get::<String, _>(11)?),
        plan: row.try_get(12)?,
        trial_ends_at: row.try_get(13)?,
        wrapped_key: row.try_get(14)?,
        db_password_enc: row.try_get(15)?,
        session_key_enc: row.try_get(16)?,
        created_at: row.try_get(17)?,
        suspended_at: row.try_get(18)?,
        suspended_reason: row.try_get(19)?,
        trial_reminders: row.try_get(20)?,
        trial_extensions: row.try_get(21)?,
        deleted_at: row.try_get(22)?,
        whitelabel: row.try_get::<i64, _>(23)? != 0,
        customer_number: row.try_get(24)?,
    })
}

pub async fn find(db: &Db, id: &str) -> Result<Option<Tenant>, sqlx::Error> {
    let row =
        sqlx::query(&format!("SELECT {COLUMNS} FROM tenants WHERE id = $1")).bind(id).fetch_optional(db.pool()).await?;
    row.map(from_row).transpose()
}

pub async fn find_by_slug(db: &Db, slug: &str) -> Result<Option<Tenant>, sqlx::Error> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM tenants WHERE slug = $1"))
        .bind(slug)
        .fetch_optional(db.pool())
        .await?;
    row.map(from_row).transpose()
}

pub async fn list(db: &Db) -> Result<Vec<Tenant>, sqlx::Error> {
    let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM tenants ORDER BY created_at DESC, id DESC"))
        .fetch_all(db.pool())
        .await?;
    rows.into_iter().map(from_row).collect()
}

/// The tenant's customer number, given now from the one sequence if it has
/// none yet. Counter and tenant change in one transaction (the counter row is
/// locked on PostgreSQL, SQLite has one writer), so two tenants never share a
/// number and a number once given never changes.
pub async fn assign_customer_number(db: &Db, id: &str) -> Result<i64, sqlx::Error> {
    if let Some(number) = find(db, id).await?.and_then(|t| t.customer_number) {
        return Ok(number);
    }
    let mut tx = db.pool().begin().await?;
    let number: i64 =
        sqlx::query_scalar("UPDATE counters SET value = value + 1 WHERE name = 'customer_number' RETURNING value")
            .fetch_one(&mut *tx)
            .await?;
    let updated = sqlx::query("UPDATE tenants SET customer_number = $1 WHERE id = $2 AND customer_number IS NULL")
        .bind(number)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    if updated.rows_affected() == 1 {
        tx.commit().await?;
        return Ok(number);
    }
    // Given meanwhile (or no such tenant): keep that one, and the counter as it was.
    tx.rollback().await?;
    find(db, id).await?.and_then(|t| t.customer_number).ok_or(sqlx::Error::RowNotFound)
}

/// Every tenant's customer number, by tenant id (the DATEV export's debtor accounts).
pub async fn customer_numbers(db: &Db) -> Result<std::collections::HashMap<String, i64>, sqlx::Error> {
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT id, customer_number FROM tenants WHERE customer_number IS NOT NULL")
            .fetch_all(db.pool())
            .await?;
    Ok(rows.into_iter().collect())
}

/// Tenants whose provisioning has not finished (after a crash or restart).
pub async fn list_unfinished(db: &Db) -> Result<Vec<Tenant>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM tenants WHERE status IN ('requested', 'provisioning') ORDER BY created_at"
    ))
    .fetch_all(db.pool())
    .await?;
    rows.into_iter().map(from_row).collect()
}

pub async fn list_ready(db: &Db) -> Result<Vec<Tenant>, sqlx::Error> {
    let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM tenants WHERE status = 'ready' ORDER BY created_at"))
        .fetch_all(db.pool())
        .await?;
    rows.into_iter().map(from_row).collect()
}

pub async fn list_failed(db: &Db) -> Result<Vec<Tenant>, sqlx::Error> {
    let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM tenants WHERE status = 'failed' ORDER BY created_at"))
        .fetch_all(db.pool())
        .await?;
    rows.into_iter().map(from_row).collect()
}

/// How many tenants are in each status (the metrics).
pub async fn count_by_status(db: &Db) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT status, COUNT(*) FROM tenants GROUP BY status").fetch_all(db.pool()).await
}

/// The ids of the tenants in `status`.
pub async fn ids_with_status(db: &Db, status: TenantStatus) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM tenants WHERE status = $1").bind(status.as_str()).fetch_all(db.pool()).await
}

/// Every tenant's id, sign-up instant and status (the trial-to-paid funnel).
pub async fn sign_ups(db: &Db) -> Result<Vec<(String, i64, String)>, sqlx::Error> {
    sqlx::query_as("SELECT id, created_at, status FROM tenants").fetch_all(db.pool()).await
}

/// The ids of the tenants suspended with a reason that starts with `prefix`.
pub async fn suspended_for(db: &Db, prefix: &str) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM tenants WHERE suspended_at IS NOT NULL AND suspended_reason LIKE $1")
        .bind(format!("{prefix}%"))
        .fetch_all(db.pool())
        .await
}

pub async fn set_status(db: &Db, id: &str, status: TenantStatus, reason: Option<&str>) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE tenants SET status = $1, status_reason = $2, updated_at = $3 WHERE id = $4")
        .bind(status.as_str())
        .bind(reason)
        .bind(now())
        .bind(id)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Marks the tenant suspended (with the reason shown to the operator), or
/// active again with `None`.
pub async fn set_suspended(db: &Db, id: &str, reason: Option<&str>) -> Result<(), sqlx::Error> {
    let at = reason.map(|_| now());
    sqlx::query("UPDATE tenants SET suspended_at = $1, suspended_reason = $2, updated_at = $3 WHERE id = $4")
        .bind(at)
        .bind(reason)
        .bind(now())
        .bind(id)
        .execute(db.pool())
        .await?;
    Ok(())
}

pub async fn set_step(db: &Db, id: &str, step: ProvisionStep) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE tenants SET provision_step = $1, updated_at = $2 WHERE id = $3")
        .bind(step.as_str())
        .bind(now())
        .bind(id)
        .execute(db.pool())
        .await?;
    Ok(())
}

pub async fn set_db_password(db: &Db, id: &str, sealed: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE tenants SET db_password_enc = $1, updated_at = $2 WHERE id = $3")
        .bind(sealed)
        .bind(now())
        .bind(id)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Records something that happened to a tenant, for the operator to read.
pub async fn record_event(db: &Db, tenant_id: &str, kind: &str, message: &str) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO tenant_events (id, tenant_id, at, kind, message) VALUES ($1, $2, $3, $4, $5)")
        .bind(new_id())
        .bind(tenant_id)
        .bind(now())
        .bind(kind)
        .bind(message)
        .execute(db.pool())
        .await?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct TenantEvent {
    pub at: i64,
    pub kind: String,
    pub message: String,
}

pub async fn events(db: &Db, tenant_id: &str) -> Result<Vec<TenantEvent>, sqlx::Error> {
    let rows: Vec<(i64, String, String)> =
        sqlx::query_as("SELECT at, kind, message FROM tenant_events WHERE tenant_id = $1 ORDER BY at DESC, id DESC")
            .bind(tenant_id)
            .fetch_all(db.pool())
            .await?;
    Ok(rows.into_iter().map(|(at, kind, message)| TenantEvent { at, kind, message }).collect())
}

/// Re-wraps every tenant key that is still wrapped with the previous master key
/// under the current one; returns how many were re-wrapped. Safe to run again.
pub async fn rewrap_keys(db: &Db, master: &MasterKeys) -> anyhow::Result<usize> {
    use anyhow::Context;
    let mut rewrapped = 0;
    for tenant in list(db).await? {
        if !master.needs_rewrap(&tenant.wrapped_key) {
            continue;
        }
        let key = master
            .unwrap_key(&tenant.wrapped_key)
            .with_context(|| format!("tenant {}: neither key fits", tenant.slug))?;
        // Only if the row still holds what was read: a concurrent writer wins.
        sqlx::query("UPDATE tenants SET wrapped_key = $1, updated_at = $2 WHERE id = $3 AND wrapped_key = $4")
            .bind(master.wrap(&key))
            .bind(now())
            .bind(&tenant.id)
            .bind(&tenant.wrapped_key)
            .execute(db.pool())
            .await?;
        rewrapped += 1;
    }
    Ok(rewrapped)
}
