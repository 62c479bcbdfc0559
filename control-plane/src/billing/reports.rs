//! The operator's money figures: monthly recurring revenue now, revenue per
//! month, and how many trials became paying customers. docs/billing.md says
//! how each is computed.

use std::collections::{HashMap, HashSet};

use chrono::{Datelike, NaiveDate};
use tenant_app::db::Db;
use tenant_app::plans::Plan;

use super::document::ServicePeriod;
use super::invoices::Line;
use super::money::Cents;
use super::subscriptions::{self, Subscription};
use super::{prices, run};
use crate::tenants::{self, TenantStatus};

/// The first day of `day`'s month.
fn first_of_month(day: NaiveDate) -> NaiveDate {
    day.with_day(1).expect("first of month")
}

/// The `count` months up to and including `today`'s, oldest first, as first days.
fn months_until(today: NaiveDate, count: u32) -> Vec<NaiveDate> {
    let current = first_of_month(today);
    (0..count).rev().map(|back| current - chrono::Months::new(back)).collect()
}

/// A month as people read it: "Dezember 2026".
pub fn month_label(first: NaiveDate) -> String {
    run::german_month(first)
}

/// The monthly fees of one plan across the subscriptions running now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanRevenue {
    pub plan: Plan,
    pub subscriptions: i64,
    pub monthly: Cents,
}

/// Monthly recurring revenue (net).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mrr {
    pub total: Cents,
    /// Every plan, in the order of the price list, including those nobody has.
    pub by_plan: Vec<PlanRevenue>,
}

/// The latest contact count of every tenant that has a snapshot.
async fn latest_contacts(db: &Db) -> anyhow::Result<HashMap<String, i64>> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT s.tenant_id, s.contacts FROM usage_snapshots s \
         WHERE s.day = (SELECT MAX(l.day) FROM usage_snapshots l WHERE l.tenant_id = s.tenant_id)",
    )
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().collect())
}

/// What every subscription running on `today` brings in a whole month at this
/// month's prices: the plan fee (or the Pay-per-Use base fee plus the latest
/// contact count × the contact price) and the whitelabel fee. The lines are
/// the monthly run's own, so MRR and invoices cannot disagree on prices.
/// Deleted tenants are left out; one-time charges are not recurring.
pub async fn mrr(db: &Db, today: NaiveDate) -> anyhow::Result<Mrr> {
    let start = first_of_month(today);
    let month = ServicePeriod { start, end: start + chrono::Months::new(1) - chrono::Days::new(1) };
    let pricing = prices::for_period(db, &prices::month_of(today)).await?;
    let contacts = latest_contacts(db).await?;
    let deleted: HashSet<String> = tenants::ids_with_status(db, TenantStatus::Deleted).await?.into_iter().collect();
    let mut by_plan: Vec<PlanRevenue> = [Plan::Trial, Plan::PayPerUse, Plan::PremiumStarter, Plan::Premium]
        .into_iter()
        .map(|plan| PlanRevenue { plan, subscriptions: 0, monthly: Cents(0) })
        .collect();
    for running in subscriptions::overlapping(db, today, today).await? {
        if deleted.contains(&running.tenant_id) {
            continue;
        }
        let peak = contacts.get(&running.tenant_id).copied().unwrap_or(0);
        let whole_month = Subscription { starts_on: month.start, ends_on: None, ..running };
        let fee: Cents = run::plan_lines(&whole_month, month, &pricing, peak)?.iter().map(Line::net).sum();
        let entry = by_plan.iter_mut().find(|p| p.plan == whole_month.plan).expect("every plan is listed");
        entry.subscriptions += 1;
        entry.monthly = entry.monthly + fee;
    }
    Ok(Mrr { total: by_plan.iter().map(|p| p.monthly).sum(), by_plan })
}

/// Revenue (net) of one calendar month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthRevenue {
    /// The first day of the month.
    pub month: NaiveDate,
    pub invoiced: Cents,
    pub credited: Cents,
}

impl MonthRevenue {
    pub fn net(&self) -> Cents {
        self.invoiced - self.credited
    }
}

/// Net revenue per issue month for the `count` months up to `today`'s:
/// issued invoices minus issued credit notes, by the month of their issue
/// date. Drafts do not count; payments do not matter (this is revenue, not cash).
pub async fn revenue_by_month(db: &Db, today: NaiveDate, count: u32) -> anyhow::Result<Vec<MonthRevenue>> {
    let months = months_until(today, count);
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT SUBSTR(issue_date, 1, 7), kind, CAST(SUM(net_cents) AS BIGINT) FROM invoices \
         WHERE status = 'issued' AND issue_date >= $1 GROUP BY SUBSTR(issue_date, 1, 7), kind",
    )
    .bind(months[0].to_string())
    .fetch_all(db.pool())
    .await?;
    Ok(months
        .into_iter()
        .map(|month| {
            let key = prices::month_of(month);
            let sum = |kind: &str| {
                Cents(rows.iter().filter(|(m, k, _)| *m == key && k == kind).map(|(_, _, net)| *net).sum())
            };
            MonthRevenue { month, invoiced: sum("invoice"), credited: sum("credit_note") }
        })
        .collect())
}

/// The brokers who signed up in one month and what became of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cohort {
    /// The first day of the sign-up month (Berlin).
    pub month: NaiveDate,
    pub signed_up: i64,
    /// Those who ever had a paid plan (any plan but the trial).
    pub paid: i64,
    /// Those whose instance was deleted (trial expired).
    pub deleted: i64,
}

impl Cohort {
    /// Paid among signed up, "66,7 %"; `None` for a month without sign-ups.
    pub fn conversion(&self) -> Option<String> {
        if self.signed_up == 0 {
            return None;
        }
        let permille = (self.paid * 1000 + self.signed_up / 2) / self.signed_up;
        Some(format!("{},{} %", permille / 10, permille % 10))
    }
}

/// The trial-to-paid funnel for the `count` sign-up months up to `today`'s, newest first.
pub async fn funnel(db: &Db, today: NaiveDate, count: u32) -> anyhow::Result<Vec<Cohort>> {
    let sign_ups = tenants::sign_ups(db).await?;
    let paid: HashSet<String> = sqlx::query_scalar("SELECT DISTINCT tenant_id FROM subscriptions WHERE plan <> $1")
        .bind(Plan::Trial.as_str())
        .fetch_all(db.pool())
        .await?
        .into_iter()
        .collect();
    let mut cohorts: Vec<Cohort> = months_until(today, count)
        .into_iter()
        .rev()
        .map(|month| Cohort { month, signed_up: 0, paid: 0, deleted: 0 })
        .collect();
    for (id, created_at, status) in sign_ups {
        let Some(created) = tenant_app::calendar::berlin_date_of(created_at) else {
            continue;
        };
        let month = first_of_month(created);
        if let Some(cohort) = cohorts.iter_mut().find(|c| c.month == month) {
            cohort.signed_up += 1;
            cohort.paid += i64::from(paid.contains(&id));
            cohort.deleted += i64::from(status == TenantStatus::Deleted.as_str());
        }
    }
    Ok(cohorts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_run_back_across_the_year() {
        let months = months_until("2027-02-14".parse().unwrap(), 4);
        let names: Vec<String> = months.iter().map(|m| m.to_string()).collect();
        assert_eq!(names, ["2026-11-01", "2026-12-01", "2027-01-01", "2027-02-01"]);
        assert_eq!(month_label(months[1]), "Dezember 2026");
    }

    #[test]
    fn conversion_is_a_rounded_percentage() {
        let cohort = |signed_up, paid| Cohort { month: NaiveDate::MIN, signed_up, paid, deleted: 0 };
        assert_eq!(cohort(3, 2).conversion().as_deref(), Some("66,7 %"));
        assert_eq!(cohort(8, 1).conversion().as_deref(), Some("12,5 %"));
        assert_eq!(cohort(4, 4).conversion().as_deref(), Some("100,0 %"));
        assert_eq!(cohort(0, 0).conversion(), None);
    }
}
