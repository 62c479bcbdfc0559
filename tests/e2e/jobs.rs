//! Scheduled jobs with two control-plane replicas on one database: every job
//! runs once per due time, and a run that failed is taken up again.

use chrono::{TimeZone, Utc};
use chrono_tz::Europe::Berlin;
use control_plane::scheduler::{self, Job};
use ordo_tests::{Backend, TestApp, both_backends};

both_backends!(two_replicas_run_each_job_once_per_due_time);

async fn two_replicas_run_each_job_once_per_due_time(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.sign_up("Erika Muster", Some("Muster Makler"), "erika@example.de").await;
    // A second replica: its own process state, the same database and clock.
    let second =
        control_plane::startup::build_with_clock(app.config.clone(), app.addr.port(), app.clock.clone()).await.unwrap();
    let at = Berlin.with_ymd_and_hms(2026, 11, 20, 7, 0, 0).unwrap().with_timezone(&Utc);
    app.clock.set(at);

    let (first, other) = tokio::join!(scheduler::run_due(&app.state), scheduler::run_due(&second));
    let mut ran: Vec<Job> = first.unwrap().into_iter().chain(other.unwrap()).map(|r| r.job).collect();
    ran.sort_by_key(|job| job.name());
    assert_eq!(
        ran,
        [Job::Dunning, Job::MonthlyInvoices, Job::TrialLifecycle, Job::UsageSnapshot],
        "each job once, on one replica or the other"
    );
    // Later ticks at the same due time run nothing, on either replica.
    app.clock.set(at + chrono::Duration::minutes(30));
    assert!(scheduler::run_due(&app.state).await.unwrap().is_empty());
    assert!(scheduler::run_due(&second).await.unwrap().is_empty());

    // A run that failed is taken up on the next tick; one that succeeded is not.
    sqlx::query("UPDATE job_runs SET finished_at = NULL, error = 'database went away' WHERE job = 'usage_snapshot'")
        .execute(app.state.db.pool())
        .await
        .unwrap();
    let again = scheduler::run_due(&second).await.unwrap();
    assert_eq!(again.iter().map(|r| r.job).collect::<Vec<_>>(), [Job::UsageSnapshot]);
    assert!(again[0].outcome.is_ok());
    // A run whose replica died (claimed, never finished) is taken up once it is stale.
    sqlx::query("UPDATE job_runs SET finished_at = NULL, error = NULL WHERE job = 'trial_lifecycle'")
        .execute(app.state.db.pool())
        .await
        .unwrap();
    assert!(scheduler::run_due(&app.state).await.unwrap().is_empty(), "not yet stale");
    app.clock.set(at + chrono::Duration::hours(2));
    let taken_up = scheduler::run_due(&app.state).await.unwrap();
    assert_eq!(taken_up.iter().map(|r| r.job).collect::<Vec<_>>(), [Job::TrialLifecycle]);
    second.db.close().await;
    app.stop().await;
}
