//! Prices by period. The `pricing.*` settings are the prices from now on; a
//! change is recorded as a price list valid from the next month, so a period
//! is always billed at the prices that were announced for it, and an issued
//! invoice (which stores its own line prices) never changes.

use chrono::{Datelike, NaiveDate};
use tenant_app::db::Db;

use crate::config::Pricing;

/// `YYYY-MM` of a day.
pub fn month_of(day: NaiveDate) -> String {
    format!("{:04}-{:02}", day.year(), day.month())
}

/// Records the configured prices if they differ from the latest price list:
/// valid at once when there is none yet, otherwise from the month after `today`.
/// Returns the month they apply from, if anything was recorded.
pub async fn record(db: &Db, pricing: &Pricing, today: NaiveDate, now: i64) -> anyhow::Result<Option<String>> {
    let latest: Option<(String, String)> =
        sqlx::query_as("SELECT valid_from, prices FROM price_lists ORDER BY valid_from DESC LIMIT 1")
            .fetch_optional(db.pool())
            .await?;
    let prices = serde_json::to_string(pricing)?;
    let valid_from = match &latest {
        None => "2000-01".to_owned(),
        Some((_, current)) if serde_json::from_str::<Pricing>(current)? == *pricing => return Ok(None),
        Some(_) => {
            let next = today.with_day(1).expect("first of month") + chrono::Months::new(1);
            month_of(next)
        }
    };
    // A second change in the same month replaces the first: it was not in force yet.
    sqlx::query(
        "INSERT INTO price_lists (valid_from, prices, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (valid_from) DO UPDATE SET prices = excluded.prices, created_at = excluded.created_at",
    )
    .bind(&valid_from)
    .bind(&prices)
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(Some(valid_from))
}

/// The prices of the month `period` (`YYYY-MM`).
pub async fn for_period(db: &Db, period: &str) -> anyhow::Result<Pricing> {
    let prices: Option<String> =
        sqlx::query_scalar("SELECT prices FROM price_lists WHERE valid_from <= $1 ORDER BY valid_from DESC LIMIT 1")
            .bind(period)
            .fetch_optional(db.pool())
            .await?;
    let prices = prices.ok_or_else(|| anyhow::anyhow!("no price list for {period}"))?;
    Ok(serde_json::from_str(&prices)?)
}
