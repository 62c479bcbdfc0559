//! Scheduled jobs on the Europe/Berlin calendar, each run once per due time
//! however many control-plane replicas there are.
//!
//! Every job has a cron schedule (the `cron` crate, seconds first, read as
//! Berlin wall-clock time; see `jobs.*` in docs/configuration.md). On each
//! tick the scheduler finds a job's latest due time and claims it with a row
//! in `job_runs` keyed by (job, due time): the INSERT succeeds on exactly one
//! replica. A run that failed, or whose replica died (no finish after
//! `stale_after`), is claimed again on a later tick; every job is written to
//! be safe to run again. Missed due times (the process was down) collapse
//! into the latest one, which is enough because each job catches up on
//! everything still open when it runs.

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use chrono_tz::Europe::Berlin;

use crate::config::JobSettings;
use crate::state::AppState;

/// The jobs, in the order they run when several are due at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// Contacts and stored bytes of every tenant, once a day.
    UsageSnapshot,
    /// Trial reminders, suspension at the end, deletion after the grace period.
    TrialLifecycle,
    /// Invoices for the month before, on the 1st.
    MonthlyInvoices,
    /// Payment reminders, suspension for non-payment, resumption when paid.
    Dunning,
}

impl Job {
    pub const ALL: [Job; 4] = [Job::UsageSnapshot, Job::TrialLifecycle, Job::MonthlyInvoices, Job::Dunning];

    pub fn name(self) -> &'static str {
        match self {
            Job::UsageSnapshot => "usage_snapshot",
            Job::TrialLifecycle => "trial_lifecycle",
            Job::MonthlyInvoices => "monthly_invoices",
            Job::Dunning => "dunning",
        }
    }

    fn schedule(self, settings: &JobSettings) -> &str {
        match self {
            Job::UsageSnapshot => &settings.usage_snapshot,
            Job::TrialLifecycle => &settings.trial_lifecycle,
            Job::MonthlyInvoices => &settings.monthly_invoices,
            Job::Dunning => &settings.dunning,
        }
    }

    async fn run(self, app: &AppState, due: DateTime<Utc>) -> anyhow::Result<String> {
        match self {
            Job::UsageSnapshot => crate::usage::snapshot_all(app, due).await,
            Job::TrialLifecycle => crate::trials::run_lifecycle(app).await,
            Job::MonthlyInvoices => crate::billing::run::run_monthly(app, due).await.map(|report| {
                let mut outcome =
                    format!("{} drafted, {} issued, {} e-mailed", report.drafted, report.issued, report.emailed);
                if app.stripe.is_some() {
                    outcome.push_str(&format!(", {} collected through Stripe", report.collected));
                }
                outcome
            }),
            Job::Dunning => crate::billing::dunning::run(app).await,
        }
    }
}

/// The latest time at or before `now` that `schedule` names, looking back up
/// to 40 days (longer than any month).
pub fn last_due(schedule: &cron::Schedule, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let start = (now - chrono::Duration::days(40)).with_timezone(&Berlin);
    schedule.after(&start).take_while(|at| at.with_timezone(&Utc) <= now).last().map(|at| at.with_timezone(&Utc))
}

/// What one tick did with one job.
#[derive(Debug, PartialEq, Eq)]
pub struct Ran {
    pub job: Job,
    pub due: DateTime<Utc>,
    pub outcome: Result<String, String>,
}

/// Runs every job whose latest due time has not run yet (or failed, or died).
pub async fn run_due(app: &AppState) -> anyhow::Result<Vec<Ran>> {
    let mut ran = Vec::new();
    for job in Job::ALL {
        let schedule = cron::Schedule::from_str(job.schedule(&app.config.jobs)).context("job schedule")?;
        let now = app.clock.now();
        let Some(due) = last_due(&schedule, now) else { continue };
        if !claim(app, job, due).await? {
            continue;
        }
        let outcome = job.run(app, due).await.map_err(|e| format!("{e:#}"));
        match &outcome {
            Ok(summary) => tracing::info!(job = job.name(), %due, summary, "job finished"),
            Err(error) => tracing::error!(job = job.name(), %due, error, "job failed"),
        }
        sqlx::query("UPDATE job_runs SET finished_at = $1, error = $2 WHERE job = $3 AND due_at = $4")
            .bind(outcome.is_ok().then(|| app.clock.timestamp()))
            .bind(outcome.as_ref().err())
            .bind(job.name())
            .bind(due.timestamp())
            .execute(app.db.pool())
            .await?;
        ran.push(Ran { job, due, outcome });
    }
    Ok(ran)
}

/// Takes the run of `job` at `due` for this process: a new row, or one whose
/// run failed or went silent.
async fn claim(app: &AppState, job: Job, due: DateTime<Utc>) -> Result<bool, sqlx::Error> {
    let now = app.clock.timestamp();
    let inserted = sqlx::query(
        "INSERT INTO job_runs (job, due_at, holder, started_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (job, due_at) DO NOTHING",
    )
    .bind(job.name())
    .bind(due.timestamp())
    .bind(&app.instance_id)
    .bind(now)
    .execute(app.db.pool())
    .await?;
    if inserted.rows_affected() == 1 {
        return Ok(true);
    }
    let retaken = sqlx::query(
        "UPDATE job_runs SET holder = $1, started_at = $2, error = NULL \
         WHERE job = $3 AND due_at = $4 AND finished_at IS NULL AND (error IS NOT NULL OR started_at <= $5)",
    )
    .bind(&app.instance_id)
    .bind(now)
    .bind(job.name())
    .bind(due.timestamp())
    .bind(now - app.config.jobs.stale_after_secs)
    .execute(app.db.pool())
    .await?;
    Ok(retaken.rows_affected() == 1)
}

/// Ticks until the process ends.
pub async fn run_loop(app: AppState) {
    let mut ticker = tokio::time::interval(Duration::from_secs(app.config.jobs.tick_secs));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        if let Err(err) = run_due(&app).await {
            tracing::error!(error = format!("{err:#}"), "scheduler tick failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn berlin(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Berlin.with_ymd_and_hms(y, m, d, h, min, 0).single().unwrap().with_timezone(&Utc)
    }

    #[test]
    fn due_times_follow_the_berlin_calendar_across_daylight_saving() {
        let daily = cron::Schedule::from_str("0 30 0 * * *").unwrap();
        // The night summer time starts (29 March 2026): 00:30 still exists, in UTC+1.
        assert_eq!(last_due(&daily, berlin(2026, 3, 29, 5, 0)), Some(berlin(2026, 3, 29, 0, 30)));
        assert_eq!(berlin(2026, 3, 29, 0, 30).to_rfc3339(), "2026-03-28T23:30:00+00:00");
        // The day after, 00:30 is UTC+2.
        assert_eq!(last_due(&daily, berlin(2026, 3, 30, 0, 29)), Some(berlin(2026, 3, 29, 0, 30)));
        assert_eq!(berlin(2026, 3, 30, 0, 30).to_rfc3339(), "2026-03-29T22:30:00+00:00");
        // The night winter time returns (25 October 2026).
        assert_eq!(last_due(&daily, berlin(2026, 10, 25, 12, 0)), Some(berlin(2026, 10, 25, 0, 30)));

        let monthly = cron::Schedule::from_str("0 0 4 1 * *").unwrap();
        // Month ends: the last run before 1 March is 1 February, whatever February's length.
        assert_eq!(last_due(&monthly, berlin(2028, 2, 29, 23, 59)), Some(berlin(2028, 2, 1, 4, 0)));
        assert_eq!(last_due(&monthly, berlin(2028, 3, 1, 3, 59)), Some(berlin(2028, 2, 1, 4, 0)));
        assert_eq!(last_due(&monthly, berlin(2028, 3, 1, 4, 0)), Some(berlin(2028, 3, 1, 4, 0)));
        // New Year in Berlin is still 31 December in UTC.
        assert_eq!(last_due(&monthly, berlin(2027, 1, 1, 4, 0)).unwrap().to_rfc3339(), "2027-01-01T03:00:00+00:00");
    }
}
