//! A tenant's plan history: which plan, with or without whitelabel, from which
//! Berlin day. The monthly run bills each day of a period at the plan of that
//! day, so a change in the middle of a month is prorated by day.

use chrono::NaiveDate;
use tenant_app::db::{Db, new_id};
use tenant_app::plans::Plan;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub tenant_id: String,
    pub plan: Plan,
    pub whitelabel: bool,
    pub starts_on: NaiveDate,
    /// Exclusive; `None` while it runs.
    pub ends_on: Option<NaiveDate>,
}

type Row = (String, String, i64, String, Option<String>);

fn from_row((tenant_id, plan, whitelabel, starts_on, ends_on): Row) -> Option<Subscription> {
    Some(Subscription {
        tenant_id,
        plan: Plan::parse(&plan)?,
        whitelabel: whitelabel != 0,
        starts_on: starts_on.parse().ok()?,
        ends_on: ends_on.and_then(|d| d.parse().ok()),
    })
}

/// Starts `plan` on `day`, ending whatever ran before (on the same day).
pub async fn start(
    db: &Db,
    tenant_id: &str,
    plan: Plan,
    whitelabel: bool,
    day: NaiveDate,
    now: i64,
) -> Result<(), sqlx::Error> {
    let mut tx = db.pool().begin().await?;
    sqlx::query("UPDATE subscriptions SET ends_on = $1 WHERE tenant_id = $2 AND ends_on IS NULL")
        .bind(day.to_string())
        .bind(tenant_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO subscriptions (id, tenant_id, plan, whitelabel, starts_on, ends_on, created_at) \
         VALUES ($1, $2, $3, $4, $5, NULL, $6)",
    )
    .bind(new_id())
    .bind(tenant_id)
    .bind(plan.as_str())
    .bind(i64::from(whitelabel))
    .bind(day.to_string())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

pub async fn current(db: &Db, tenant_id: &str) -> Result<Option<Subscription>, sqlx::Error> {
    let row: Option<Row> = sqlx::query_as(
        "SELECT tenant_id, plan, whitelabel, starts_on, ends_on FROM subscriptions \
         WHERE tenant_id = $1 AND ends_on IS NULL",
    )
    .bind(tenant_id)
    .fetch_optional(db.pool())
    .await?;
    Ok(row.and_then(from_row))
}

/// Every tenant's running subscription, by tenant (the console's tenant list).
pub async fn all_current(db: &Db) -> Result<std::collections::HashMap<String, Subscription>, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT tenant_id, plan, whitelabel, starts_on, ends_on FROM subscriptions WHERE ends_on IS NULL",
    )
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().filter_map(from_row).map(|s| (s.tenant_id.clone(), s)).collect())
}

/// Every subscription that covers a day of `[first, last]`, by tenant and start.
pub async fn overlapping(db: &Db, first: NaiveDate, last: NaiveDate) -> Result<Vec<Subscription>, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT tenant_id, plan, whitelabel, starts_on, ends_on FROM subscriptions \
         WHERE starts_on <= $1 AND (ends_on IS NULL OR ends_on > $2) \
         ORDER BY tenant_id, starts_on",
    )
    .bind(last.to_string())
    .bind(first.to_string())
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().filter_map(from_row).collect())
}
