//! Reading the audit log: who did what to which subject, and when. Entries
//! are written through `AppState::audit` and never changed.

pub mod page;

use tenant_app::db::{Db, new_id};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub subject: String,
}

/// One page of entries, newest first, optionally of one action only; and
/// whether older entries follow.
pub async fn page(db: &Db, action: Option<&str>, page: u32, per_page: u32) -> anyhow::Result<(Vec<Entry>, bool)> {
    let offset = i64::from(page.saturating_sub(1)) * i64::from(per_page);
    // One row more than shown tells whether there is a next page.
    let rows: Vec<(i64, String, String, String)> = sqlx::query_as(
        "SELECT at, actor, action, subject FROM audit_log WHERE ($1 = '' OR action = $1) \
         ORDER BY at DESC, id DESC LIMIT $2 OFFSET $3",
    )
    .bind(action.unwrap_or(""))
    .bind(i64::from(per_page) + 1)
    .bind(offset)
    .fetch_all(db.pool())
    .await?;
    let more = rows.len() > per_page as usize;
    let entries = rows
        .into_iter()
        .take(per_page as usize)
        .map(|(at, actor, action, subject)| Entry { at, actor, action, subject })
        .collect();
    Ok((entries, more))
}

/// Every action that occurs in the log, for the filter.
pub async fn actions(db: &Db) -> anyhow::Result<Vec<String>> {
    Ok(sqlx::query_scalar("SELECT DISTINCT action FROM audit_log ORDER BY action").fetch_all(db.pool()).await?)
}

/// Appends an entry: who did what to which subject, at `at`.
pub async fn record(db: &Db, at: i64, actor: &str, action: &str, subject: &str) -> Result<(), sqlx::Error> {
    let mut conn = db.pool().acquire().await?;
    record_in(&mut conn, at, actor, action, subject).await
}

/// As [`record`], inside the caller's transaction: the entry exists exactly
/// when what it describes was committed.
pub async fn record_in(
    conn: &mut sqlx::AnyConnection,
    at: i64,
    actor: &str,
    action: &str,
    subject: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO audit_log (id, at, actor, action, subject) VALUES ($1, $2, $3, $4, $5)")
        .bind(new_id())
        .bind(at)
        .bind(actor)
        .bind(action)
        .bind(subject)
        .execute(conn)
        .await?;
    Ok(())
}
