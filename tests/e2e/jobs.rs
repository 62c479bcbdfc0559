//! Scheduled jobs with two control-plane replicas on one database: every job
//! runs once per due time, and a run that failed is taken up again.

use chrono::{TimeZone, Utc};
use chrono_tz::Europe::Berlin;
use ordo_tests::{Backend, Job, TestApp, both_backends};

both_backends!(two_replicas_run_each_job_once_per_due_time);

async fn two_replicas_run_each_job_once_per_due_time(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up("Erika Muster", Some("Muster Makler"), "erika@example.de").await;
    // A second replica: its own process state, the same database and clock.
    let second = app.second_replica().await;
    let at = Berlin.with_ymd_and_hms(2026, 11, 20, 7, 0, 0).unwrap().with_timezone(&Utc);
    app.set_clock(at);

    let (first, other) = tokio::join!(app.run_due_jobs(), second.run_due_jobs());
    let mut ran: Vec<Job> = first.into_iter().chain(other).map(|r| r.job).collect();
    ran.sort_by_key(|job| job.name());
    assert_eq!(
        ran,
        [Job::Dunning, Job::MonthlyInvoices, Job::TrialLifecycle, Job::UsageSnapshot],
        "each job once, on one replica or the other"
    );
    // Later ticks at the same due time run nothing, on either replica.
    app.set_clock(at + chrono::Duration::minutes(30));
    assert!(app.run_due_jobs().await.is_empty());
    assert!(second.run_due_jobs().await.is_empty());

    // A run that failed is taken up on the next tick; one that succeeded is not.
    app.mark_job_runs_failed(Job::UsageSnapshot, "database went away").await;
    let again = second.run_due_jobs().await;
    assert_eq!(again.iter().map(|r| r.job).collect::<Vec<_>>(), [Job::UsageSnapshot]);
    assert!(again[0].outcome.is_ok());
    // A run whose replica died (claimed, never finished) is taken up once it is stale.
    app.mark_job_runs_abandoned(Job::TrialLifecycle).await;
    assert!(app.run_due_jobs().await.is_empty(), "not yet stale");
    app.set_clock(at + chrono::Duration::hours(2));
    let taken_up = app.run_due_jobs().await;
    assert_eq!(taken_up.iter().map(|r| r.job).collect::<Vec<_>>(), [Job::TrialLifecycle]);
    second.stop().await;
    app.stop().await;
}
