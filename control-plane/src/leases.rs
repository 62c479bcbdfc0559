//! Leases in the control-plane database, so that with several replicas against
//! one PostgreSQL a piece of background work runs on one of them at a time.
//!
//! A lease is a row (`name`, `holder`, `expires_at`). Taking it succeeds when
//! nobody holds it, when its holder's claim has run out, or when the caller
//! already holds it (a renewal). Both statements are single atomic writes, so
//! of any number of replicas racing for a free lease exactly one wins: on
//! PostgreSQL the losing UPDATE re-checks its WHERE against the winner's row.

use tenant_app::db::Db;

/// Takes or renews the lease `name` for `holder` until `now + ttl_secs`;
/// `false` if another holder's claim is still running.
pub async fn try_acquire(db: &Db, name: &str, holder: &str, now: i64, ttl_secs: i64) -> Result<bool, sqlx::Error> {
    let expires_at = now + ttl_secs;
    let inserted =
        sqlx::query("INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(holder)
            .bind(expires_at)
            .execute(db.pool())
            .await?;
    if inserted.rows_affected() == 1 {
        return Ok(true);
    }
    let taken = sqlx::query(
        "UPDATE leases SET holder = $1, expires_at = $2 WHERE name = $3 AND (holder = $1 OR expires_at <= $4)",
    )
    .bind(holder)
    .bind(expires_at)
    .bind(name)
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(taken.rows_affected() == 1)
}

/// Gives the lease up early (on shutdown), if `holder` still has it.
pub async fn release(db: &Db, name: &str, holder: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
        .bind(name)
        .bind(holder)
        .execute(db.pool())
        .await?;
    Ok(())
}
