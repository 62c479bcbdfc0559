//! Metering: one usage snapshot per tenant and Berlin day (contacts and stored
//! bytes), read straight from the tenant's own database. Pay-per-Use bills
//! the highest contact count of the period (docs/billing.md); operator and
//! broker see the history as a chart.

use chrono::{DateTime, NaiveDate, Utc};
use secrecy::ExposeSecret;
use tenant_app::db::{Db, PoolSize};

use crate::charts::{self, Chart, Point};
use crate::provisioning::deployment_for;
use crate::state::AppState;
use crate::tenants;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub day: NaiveDate,
    pub contacts: i64,
    pub stored_bytes: i64,
}

/// The daily job: a snapshot of every ready tenant for the Berlin day of
/// `due`. Tenants that already have one for that day are left alone, so the
/// job can run again after a failure.
pub async fn snapshot_all(app: &AppState, due: DateTime<Utc>) -> anyhow::Result<String> {
    let day = tenant_app::calendar::berlin_date(due);
    let (mut taken, mut failed) = (0, 0);
    for tenant in tenants::list_ready(&app.db).await? {
        let exists: Option<i64> =
            sqlx::query_scalar("SELECT contacts FROM usage_snapshots WHERE tenant_id = $1 AND day = $2")
                .bind(&tenant.id)
                .bind(day.to_string())
                .fetch_optional(app.db.pool())
                .await?;
        if exists.is_some() {
            continue;
        }
        match measure(app, &tenant).await {
            Ok(usage) => {
                record(&app.db, &tenant.id, day, usage, app.clock.timestamp()).await?;
                taken += 1;
            }
            Err(err) => {
                // One unreachable tenant must not cost everyone else their snapshot.
                failed += 1;
                tracing::error!(tenant_id = %tenant.id, error = format!("{err:#}"), "usage snapshot failed");
            }
        }
    }
    anyhow::ensure!(failed == 0, "{failed} tenants could not be measured ({taken} snapshots taken)");
    Ok(format!("{taken} snapshots for {day}"))
}

/// Reads a tenant's usage from its database, on a connection of its own.
pub async fn measure(app: &AppState, tenant: &tenants::Tenant) -> anyhow::Result<tenant_app::usage::Usage> {
    let deployment = deployment_for(app, tenant).await?;
    let db = Db::connect(deployment.database_url.expose_secret(), PoolSize { max: 1, idle_secs: 1 }).await?;
    let usage = tenant_app::usage::measure(&db).await;
    db.close().await;
    Ok(usage?)
}

pub async fn record(
    db: &Db,
    tenant_id: &str,
    day: NaiveDate,
    usage: tenant_app::usage::Usage,
    taken_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO usage_snapshots (tenant_id, day, contacts, stored_bytes, taken_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (tenant_id, day) DO NOTHING",
    )
    .bind(tenant_id)
    .bind(day.to_string())
    .bind(usage.contacts)
    .bind(usage.stored_bytes)
    .bind(taken_at)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// The snapshots of `[from, to]`, oldest first.
pub async fn history(db: &Db, tenant_id: &str, from: NaiveDate, to: NaiveDate) -> Result<Vec<Snapshot>, sqlx::Error> {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT day, contacts, stored_bytes FROM usage_snapshots \
         WHERE tenant_id = $1 AND day >= $2 AND day <= $3 ORDER BY day",
    )
    .bind(tenant_id)
    .bind(from.to_string())
    .bind(to.to_string())
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(day, contacts, stored_bytes)| Some(Snapshot { day: day.parse().ok()?, contacts, stored_bytes }))
        .collect())
}

/// Contacts per day as a line chart (`crate::charts`).
pub fn contacts_chart(snapshots: &[Snapshot], id: &str, title: &str) -> String {
    let points: Vec<Point> = snapshots
        .iter()
        .map(|s| Point { label: tenant_app::calendar::format_day_month(&s.day), value: s.contacts })
        .collect();
    charts::line_chart(&Chart { id, title, format: &|count| count.to_string() }, &points)
}
