//! The monthly invoice run (scheduler job, on the 1st, Europe/Berlin): one
//! invoice per tenant for the month before, then numbering, then e-mail.
//!
//! Safe to run twice and to kill half-way: each tenant's invoice carries the
//! run key `monthly:<tenant>:<YYYY-MM>` (unique), and drafts are written in
//! batches whose transaction also marks the charges they take up, so after a
//! crash a batch is either all there or not at all. Numbering and e-mail pick
//! up whatever drafts and unsent invoices there are, wherever the last run
//! stopped.
//!
//! Lines, for each part of the month a plan ran (prorated by day when it ran
//! for part of the month): the plan fee (PREMIUMstarter, PREMIUM) or the
//! Pay-per-Use base fee plus its highest contact count × the contact price;
//! the whitelabel fee; then every one-time charge dated in the month or
//! before that was not invoiced when it arose (`charges`). A tenant's credit
//! balance is used on its invoice.

use std::collections::HashMap;

use anyhow::Context;
use chrono::{Datelike, NaiveDate};
use tenant_app::calendar::{berlin_date, format_date, format_day_month};
use tenant_app::db::Db;
use tenant_app::plans::Plan;

use super::balance;
use super::charges::{self, OpenCharge};
use super::document::{ServicePeriod, Unit};
use super::invoices::{self, BuyerSnapshot, Draft, Kind, Line, LineKind};
use super::money::{Cents, prorate};
use super::prices;
use super::subscriptions::{self, Subscription};
use crate::config::Pricing;
use crate::state::AppState;
use crate::tenants;

/// Written on every invoice with Pay-per-Use, and in docs/billing.md.
pub const PEAK_RULE: &str = "Pay-per-Use: abgerechnet wird die höchste Kontaktzahl im Abrechnungszeitraum \
                             (tägliche Zählung), je Kontakt und Monat.";

/// Tenants written per transaction.
const BATCH: usize = 500;

/// The first and last day of the month before `day`.
pub fn previous_month(day: NaiveDate) -> ServicePeriod {
    let first_of_this = day.with_day(1).expect("first of month");
    let start = first_of_this - chrono::Months::new(1);
    ServicePeriod { start, end: first_of_this - chrono::Days::new(1) }
}

pub(crate) fn german_month(day: NaiveDate) -> String {
    const MONTHS: [&str; 12] = [
        "Januar",
        "Februar",
        "März",
        "April",
        "Mai",
        "Juni",
        "Juli",
        "August",
        "September",
        "Oktober",
        "November",
        "Dezember",
    ];
    format!("{} {}", MONTHS[day.month0() as usize], day.year())
}

/// The monthly lines of one subscription's part of `period`.
pub(crate) fn plan_lines(
    subscription: &Subscription,
    period: ServicePeriod,
    pricing: &Pricing,
    peak_contacts: i64,
) -> anyhow::Result<Vec<Line>> {
    let first = subscription.starts_on.max(period.start);
    let last = subscription.ends_on.map(|end| end - chrono::Days::new(1)).unwrap_or(period.end).min(period.end);
    if last < first {
        return Ok(Vec::new());
    }
    let days = (last - first).num_days() as u32 + 1;
    let month_days = (period.end - period.start).num_days() as u32 + 1;
    let whole = days == month_days;
    let span = if whole {
        german_month(period.start)
    } else {
        format!("{}–{}, anteilig {days} von {month_days} Tagen", format_day_month(&first), format_date(&last))
    };
    // A whole month is one month at the monthly price; part of one is one
    // line at the prorated price (docs/billing.md: rounding).
    let monthly = |kind: LineKind, description: String, price: i64| -> anyhow::Result<Line> {
        Ok(if whole {
            Line { kind, description, quantity: 1, unit: Unit::Month, unit_price: Cents(price) }
        } else {
            let unit_price = prorate(Cents(price), days, month_days)?;
            Line { kind, description, quantity: 1, unit: Unit::Piece, unit_price }
        })
    };
    let mut lines = Vec::new();
    match subscription.plan {
        Plan::Trial => {}
        Plan::PayPerUse => {
            let base = pricing.pay_per_use_base_cents;
            lines.push(monthly(LineKind::Plan, format!("Pay-per-Use Grundgebühr, {span}"), base)?);
            if peak_contacts > 0 {
                let contact = pricing.pay_per_use_contact_cents;
                lines.push(if whole {
                    Line {
                        kind: LineKind::Contacts,
                        description: format!("Kontakte (höchster Stand im {span})"),
                        quantity: peak_contacts,
                        unit: Unit::Piece,
                        unit_price: Cents(contact),
                    }
                } else {
                    Line {
                        kind: LineKind::Contacts,
                        description: format!("{peak_contacts} Kontakte (höchster Stand) à {}, {span}", Cents(contact)),
                        quantity: 1,
                        unit: Unit::Piece,
                        unit_price: prorate(Cents(peak_contacts * contact), days, month_days)?,
                    }
                });
            }
        }
        Plan::PremiumStarter => {
            lines.push(monthly(LineKind::Plan, format!("PREMIUMstarter, {span}"), pricing.premium_starter_cents)?)
        }
        Plan::Premium => lines.push(monthly(LineKind::Plan, format!("PREMIUM, {span}"), pricing.premium_cents)?),
    }
    if subscription.whitelabel && subscription.plan != Plan::Trial {
        let fee = pricing.whitelabel_monthly_cents;
        lines.push(monthly(LineKind::Whitelabel, format!("Whitelabel, {span}"), fee)?);
    }
    Ok(lines)
}

/// The highest daily contact count per tenant within `[first, last]`.
async fn peaks(db: &Db, first: NaiveDate, last: NaiveDate) -> anyhow::Result<HashMap<String, i64>> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT tenant_id, CAST(MAX(contacts) AS BIGINT) FROM usage_snapshots \
         WHERE day >= $1 AND day <= $2 GROUP BY tenant_id",
    )
    .bind(first.to_string())
    .bind(last.to_string())
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().collect())
}

/// What one run did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RunReport {
    pub drafted: usize,
    pub issued: usize,
    pub emailed: usize,
    /// PaymentIntents created for tenants with a Stripe payment method.
    pub collected: usize,
    /// The invoices this run drafted (ids), in order.
    pub invoices: Vec<String>,
}

/// Drafts the invoices of `period` that do not exist yet; returns their ids.
pub async fn draft_period(app: &AppState, period: ServicePeriod) -> anyhow::Result<Vec<String>> {
    let month = prices::month_of(period.start);
    let pricing = prices::for_period(&app.db, &month).await?;
    let subscriptions = subscriptions::overlapping(&app.db, period.start, period.end).await?;
    // Peaks for whole months in one query; a plan that changed within the
    // month gets the peak of its own days.
    let month_peaks = peaks(&app.db, period.start, period.end).await?;
    let mut charges = charges::open_by_tenant(&app.db, period.end).await?;
    let mut balances = balance::all_available(&app.db).await?;
    let done: Vec<String> = sqlx::query_scalar("SELECT run_key FROM invoices WHERE run_key LIKE $1")
        .bind(format!("monthly:%:{month}"))
        .fetch_all(app.db.pool())
        .await?;
    let done: std::collections::HashSet<String> = done.into_iter().collect();

    let mut by_tenant: Vec<(String, Vec<Subscription>)> = Vec::new();
    for subscription in subscriptions {
        match by_tenant.last_mut() {
            Some((tenant, list)) if *tenant == subscription.tenant_id => list.push(subscription),
            _ => by_tenant.push((subscription.tenant_id.clone(), vec![subscription])),
        }
    }
    for tenant_id in charges.keys() {
        if !by_tenant.iter().any(|(t, _)| t == tenant_id) {
            by_tenant.push((tenant_id.clone(), Vec::new()));
        }
    }

    let mut by_id: HashMap<String, tenants::Tenant> =
        tenants::list(&app.db).await?.into_iter().map(|t| (t.id.clone(), t)).collect();
    // Every tenant has its customer number from the sign-up; one that missed it gets it now.
    for tenant in by_id.values_mut().filter(|t| t.customer_number.is_none()) {
        tenant.customer_number = Some(tenants::assign_customer_number(&app.db, &tenant.id).await?);
    }
    let today = app.clock.berlin_today();
    let mut drafted = Vec::new();
    for batch in by_tenant.chunks(BATCH) {
        // What each tenant of the batch is billed, then written in one transaction.
        struct Prepared {
            tenant_id: String,
            run_key: String,
            buyer: BuyerSnapshot,
            lines: Vec<Line>,
            notes: Vec<String>,
            taken: Vec<OpenCharge>,
            prepaid: Cents,
        }
        let mut prepared = Vec::new();
        for (tenant_id, subscriptions) in batch {
            let run_key = format!("monthly:{tenant_id}:{month}");
            if done.contains(&run_key) {
                continue;
            }
            let tenant = by_id.get(tenant_id).context("tenant of a subscription")?;
            let mut lines = Vec::new();
            let mut pay_per_use = false;
            for subscription in subscriptions {
                let whole_month =
                    subscription.starts_on <= period.start && subscription.ends_on.is_none_or(|end| end > period.end);
                let peak = if subscription.plan != Plan::PayPerUse {
                    0
                } else if whole_month {
                    month_peaks.get(tenant_id).copied().unwrap_or(0)
                } else {
                    let first = subscription.starts_on.max(period.start);
                    let last =
                        subscription.ends_on.map(|e| e - chrono::Days::new(1)).unwrap_or(period.end).min(period.end);
                    peaks(&app.db, first, last).await?.get(tenant_id).copied().unwrap_or(0)
                };
                pay_per_use |= subscription.plan == Plan::PayPerUse;
                lines.extend(plan_lines(subscription, period, &pricing, peak)?);
            }
            let taken = charges.remove(tenant_id).unwrap_or_default();
            lines.extend(taken.iter().map(|c| c.line.clone()));
            if lines.is_empty() {
                continue;
            }
            let notes: Vec<String> = if pay_per_use { vec![PEAK_RULE.to_owned()] } else { Vec::new() };
            let prepaid = charges::prepaid_for(&lines, balances.remove(tenant_id).unwrap_or_default());
            prepared.push(Prepared {
                tenant_id: tenant_id.clone(),
                run_key,
                buyer: BuyerSnapshot::of(tenant),
                lines,
                notes,
                taken,
                prepaid,
            });
        }
        if prepared.is_empty() {
            continue;
        }
        let drafts: Vec<Draft> = prepared
            .iter()
            .map(|p| Draft {
                tenant_id: &p.tenant_id,
                kind: Kind::Invoice,
                run_key: Some(p.run_key.clone()),
                period,
                buyer: &p.buyer,
                lines: &p.lines,
                notes: &p.notes,
                corrects: None,
                prepaid: p.prepaid,
            })
            .collect();
        let now = app.clock.timestamp();
        let mut tx = app.db.pool().begin().await?;
        let ids = invoices::insert_drafts(&mut tx, &drafts, now).await?;
        for (invoice_id, p) in ids.iter().zip(&prepared) {
            anyhow::ensure!(
                charges::take_up(&mut tx, &p.taken, invoice_id).await?,
                "a charge was invoiced meanwhile; the next run drafts this batch again"
            );
            anyhow::ensure!(
                charges::take_prepaid(&mut tx, &p.tenant_id, invoice_id, p.prepaid, today, now).await?,
                "a credit balance changed meanwhile; the next run drafts this batch again"
            );
        }
        tx.commit().await?;
        drafted.extend(ids);
    }
    Ok(drafted)
}

/// The whole run for `period`: drafts (what is not there yet), numbers,
/// e-mails, then (with Stripe) a PaymentIntent for each open invoice of a
/// tenant that set up a payment method. Safe to repeat for the same period.
pub async fn run_period(app: &AppState, period: ServicePeriod) -> anyhow::Result<RunReport> {
    let invoices = draft_period(app, period).await?;
    let issued = invoices::finalise_all(app).await?;
    let emailed = invoices::send_unsent(app).await?;
    let collected = super::stripe::collect_open(app).await?;
    Ok(RunReport { drafted: invoices.len(), issued, emailed, collected, invoices })
}

/// The scheduled run, for the month before `due` (Berlin).
pub async fn run_monthly(app: &AppState, due: chrono::DateTime<chrono::Utc>) -> anyhow::Result<RunReport> {
    run_period(app, previous_month(berlin_date(due))).await
}

/// The period of a month given as `YYYY-MM` (the command line's `--period`).
pub fn month_period(month: &str) -> Option<ServicePeriod> {
    let start = NaiveDate::parse_from_str(&format!("{}-01", month.trim()), "%Y-%m-%d").ok()?;
    (prices::month_of(start) == month.trim()).then(|| previous_month(start + chrono::Months::new(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn pricing() -> Pricing {
        Pricing::default()
    }

    fn subscription(plan: Plan, whitelabel: bool, starts: &str, ends: Option<&str>) -> Subscription {
        Subscription { tenant_id: "t".into(), plan, whitelabel, starts_on: day(starts), ends_on: ends.map(day) }
    }

    #[test]
    fn the_previous_month_follows_the_calendar() {
        assert_eq!(
            previous_month(day("2026-12-01")),
            ServicePeriod { start: day("2026-11-01"), end: day("2026-11-30") }
        );
        assert_eq!(
            previous_month(day("2027-01-01")),
            ServicePeriod { start: day("2026-12-01"), end: day("2026-12-31") }
        );
        assert_eq!(
            previous_month(day("2028-03-01")),
            ServicePeriod { start: day("2028-02-01"), end: day("2028-02-29") }
        );
        assert_eq!(
            previous_month(day("2027-03-15")),
            ServicePeriod { start: day("2027-02-01"), end: day("2027-02-28") }
        );
    }

    #[test]
    fn a_whole_month_bills_monthly_prices_and_the_peak_count() {
        let november = previous_month(day("2026-12-01"));
        let lines =
            plan_lines(&subscription(Plan::PayPerUse, true, "2026-10-05", None), november, &pricing(), 123).unwrap();
        assert_eq!(lines.len(), 3);
        assert_eq!((lines[0].quantity, lines[0].unit, lines[0].unit_price), (1, Unit::Month, Cents(1_900)));
        assert_eq!((lines[1].quantity, lines[1].unit_price, lines[1].net()), (123, Cents(50), Cents(6_150)));
        assert!(lines[1].description.contains("November 2026"));
        assert_eq!(lines[2].unit_price, Cents(2_900));
        let premium =
            plan_lines(&subscription(Plan::Premium, false, "2026-01-01", None), november, &pricing(), 0).unwrap();
        assert_eq!(premium.iter().map(Line::net).collect::<Vec<_>>(), [Cents(19_900)]);
        assert!(
            plan_lines(&subscription(Plan::Trial, true, "2026-11-01", None), november, &pricing(), 50)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn part_of_a_month_is_prorated_by_day() {
        let november = previous_month(day("2026-12-01"));
        // PREMIUM from 12 November: 19 of 30 days of 199,00 € = 126,03 € (126.0333…).
        let lines =
            plan_lines(&subscription(Plan::Premium, false, "2026-11-12", None), november, &pricing(), 0).unwrap();
        assert_eq!(lines[0].net(), Cents(12_603));
        assert!(
            lines[0].description.contains("12.11.–30.11.2026, anteilig 19 von 30 Tagen"),
            "{}",
            lines[0].description
        );
        // PREMIUMstarter until 11 November (ends_on exclusive): 11 of 30 days of 49,00 € = 17,97 € (17.9666…).
        let lines = plan_lines(
            &subscription(Plan::PremiumStarter, false, "2026-10-01", Some("2026-11-12")),
            november,
            &pricing(),
            0,
        )
        .unwrap();
        assert_eq!(lines[0].net(), Cents(1_797));
        // Pay-per-Use for 15 of 30 days with a peak of 7 contacts: base 9,50 €, contacts 7 × 0,50 € × ½ = 1,75 €.
        let lines =
            plan_lines(&subscription(Plan::PayPerUse, false, "2026-11-16", None), november, &pricing(), 7).unwrap();
        assert_eq!(lines.iter().map(Line::net).collect::<Vec<_>>(), [Cents(950), Cents(175)]);
        // A subscription outside the period contributes nothing.
        assert!(
            plan_lines(&subscription(Plan::Premium, false, "2026-12-01", None), november, &pricing(), 0)
                .unwrap()
                .is_empty()
        );
    }
}
