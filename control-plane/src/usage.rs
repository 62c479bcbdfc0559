//! Metering: one usage snapshot per tenant and Berlin day (contacts and stored
//! bytes), read straight from the tenant's own database. Pay-per-Use bills
//! the highest contact count of the period (docs/billing.md); operator and
//! broker see the history as a chart.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Europe::Berlin;
use secrecy::ExposeSecret;
use tenant_app::db::{Db, PoolSize};

use crate::app::AppState;
use crate::provisioning::deployment_for;
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
    let day = due.with_timezone(&Berlin).date_naive();
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

/// A line chart of contacts per day as an inline SVG: no script, readable by
/// screen readers through its title and the table next to it.
pub fn contacts_chart(snapshots: &[Snapshot], title: &str) -> String {
    const WIDTH: f64 = 640.0;
    const HEIGHT: f64 = 200.0;
    const PAD: f64 = 32.0;
    let escape = |text: &str| text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let max = snapshots.iter().map(|s| s.contacts).max().unwrap_or(0).max(1) as f64;
    let steps = snapshots.len().saturating_sub(1).max(1) as f64;
    let points: Vec<String> = snapshots
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let x = PAD + (WIDTH - 2.0 * PAD) * i as f64 / steps;
            let y = HEIGHT - PAD - (HEIGHT - 2.0 * PAD) * s.contacts as f64 / max;
            format!("{x:.1},{y:.1}")
        })
        .collect();
    let first = snapshots.first().map(|s| s.day.format("%d.%m.").to_string()).unwrap_or_default();
    let last = snapshots.last().map(|s| s.day.format("%d.%m.").to_string()).unwrap_or_default();
    format!(
        "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-labelledby=\"chart-title\" \
         xmlns=\"http://www.w3.org/2000/svg\"><title id=\"chart-title\">{title}</title>\
         <line x1=\"{PAD}\" y1=\"{base}\" x2=\"{right}\" y2=\"{base}\" stroke=\"currentColor\" stroke-width=\"1\"/>\
         <text x=\"{PAD}\" y=\"{label_y}\" font-size=\"12\" fill=\"currentColor\">{first}</text>\
         <text x=\"{right}\" y=\"{label_y}\" font-size=\"12\" fill=\"currentColor\" text-anchor=\"end\">{last}</text>\
         <text x=\"4\" y=\"{top}\" font-size=\"12\" fill=\"currentColor\">{max}</text>\
         <polyline fill=\"none\" stroke=\"currentColor\" stroke-width=\"2\" points=\"{points}\"/></svg>",
        title = escape(title),
        base = HEIGHT - PAD,
        right = WIDTH - PAD,
        label_y = HEIGHT - PAD + 16.0,
        top = PAD - 4.0,
        max = max as i64,
        points = points.join(" "),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chart_scales_to_the_highest_count_and_escapes_its_title() {
        let day = |d: u32| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
        let snapshots = [
            Snapshot { day: day(1), contacts: 10, stored_bytes: 0 },
            Snapshot { day: day(2), contacts: 40, stored_bytes: 0 },
            Snapshot { day: day(3), contacts: 20, stored_bytes: 0 },
        ];
        let svg = contacts_chart(&snapshots, "Kontakte <Muster & Co>");
        assert!(svg.contains("Kontakte &lt;Muster &amp; Co&gt;"));
        // 40 is the top of the plot area, 10 a quarter of the way up.
        assert!(svg.contains("points=\"32.0,134.0 320.0,32.0 608.0,100.0\""), "{svg}");
        assert!(svg.contains(">01.11.<") && svg.contains(">03.11.<") && svg.contains(">40<"));
        assert!(contacts_chart(&[], "leer").contains("points=\"\""));
    }
}
