//! The plan and trial columns of a tenant record: what billing and the trial
//! lifecycle change. Each change is one conditional statement, so that two
//! replicas (or two clicks) cannot both apply it.

use tenant_app::db::Db;
use tenant_app::plans::Plan;

use super::TenantStatus;

/// Puts the tenant on `plan` (and whitelabel) from now on; trial notices start over.
pub async fn set_plan(db: &Db, id: &str, plan: Plan, whitelabel: bool, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE tenants SET plan = $1, whitelabel = $2, trial_reminders = 0, updated_at = $3 WHERE id = $4")
        .bind(plan.as_str())
        .bind(i64::from(whitelabel))
        .bind(now)
        .bind(id)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Moves a trial's end to `new_end` as its next extension, if it has had
/// exactly `extensions_so_far` (another request may have extended it
/// meanwhile) and is still a trial. Returns whether it did.
pub async fn extend_trial(
    db: &Db,
    id: &str,
    new_end: i64,
    extensions_so_far: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query(
        "UPDATE tenants SET trial_ends_at = $1, trial_extensions = trial_extensions + 1, trial_reminders = 0, \
           updated_at = $2 WHERE id = $3 AND trial_extensions = $4 AND plan = 'trial'",
    )
    .bind(new_end)
    .bind(now)
    .bind(id)
    .bind(extensions_so_far)
    .execute(db.pool())
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// Claims sending trial notice `level`: true unless it (or a later one) was
/// already sent for the current trial end.
pub async fn claim_trial_notice(db: &Db, id: &str, level: i64) -> Result<bool, sqlx::Error> {
    let claimed = sqlx::query("UPDATE tenants SET trial_reminders = $1 WHERE id = $2 AND trial_reminders < $1")
        .bind(level)
        .bind(id)
        .execute(db.pool())
        .await?;
    Ok(claimed.rows_affected() == 1)
}

/// Gives back a claim whose mail could not be sent, so the next run tries again.
pub async fn release_trial_notice(db: &Db, id: &str, level: i64, previous: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE tenants SET trial_reminders = $1 WHERE id = $2 AND trial_reminders = $3")
        .bind(previous)
        .bind(id)
        .bind(level)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Marks a tenant deleted and frees its e-mail address, so that the broker
/// can start afresh later. The record stays, for invoices and the audit log.
pub async fn mark_deleted(db: &Db, id: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE tenants SET status = $1, deleted_at = $2, updated_at = $2, email = $3 WHERE id = $4")
        .bind(TenantStatus::Deleted.as_str())
        .bind(now)
        .bind(format!("deleted-{id}@invalid"))
        .bind(id)
        .execute(db.pool())
        .await?;
    Ok(())
}
