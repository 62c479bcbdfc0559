//! The delivery worker: one tokio task per portal, started with it.
//!
//! It sleeps until the next delivery is due, until a committed event wakes it
//! (`Db::wake_workers`), or until its clock is moved; it never polls. An idle
//! portal's worker costs one sleeping task and, once an hour, one look at its
//! outbox on a connection that is closed again, so the embedded default can
//! run hundreds of portals in one process (docs/decisions.md). It ends when
//! the portal's database is closed (the portal stopped).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use crate::audit::{self, Actor};
use crate::webhooks::delivery::{self, BATCH, Host, Job, Recorded};
use crate::webhooks::send;

/// The longest an idle worker sleeps before it looks again (for deliveries
/// written by another process or replica, which cannot wake it).
const NAP: Duration = Duration::from_secs(3600);
/// Portals that start together spread their first look over this much time.
const START_SPREAD_MS: u64 = 30_000;
/// After a database error, the next look comes this much later.
const AFTER_ERROR: Duration = Duration::from_secs(60);
const PURGE_EVERY_SECS: i64 = 24 * 3600;

/// Starts the portal's delivery worker.
pub fn spawn_worker(host: Arc<dyn Host>) -> JoinHandle<()> {
    // Subscribed before the task runs, so no event committed from now on is missed.
    let wakeups = host.db().wakeups();
    let moves = host.clock().moves();
    tokio::spawn(run(host, wakeups, moves))
}

/// What the worker does when its sleep ends without anyone waking it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Then {
    /// A delivery is due: deliver.
    Deliver,
    /// Nothing known to be due: look, leaving no connection open.
    Look,
}

async fn run(host: Arc<dyn Host>, mut wakeups: watch::Receiver<u64>, mut moves: Option<watch::Receiver<()>>) {
    let db = host.db().clone();
    let mut sleep = Duration::from_millis(rand::thread_rng().gen_range(0..START_SPREAD_MS));
    let mut then = Then::Look;
    let mut last_purge = i64::MIN;
    loop {
        let woken = tokio::select! {
            () = tokio::time::sleep(sleep) => false,
            changed = wakeups.changed() => {
                if changed.is_err() {
                    return; // the database handle is gone
                }
                true
            }
            () = moved(&mut moves) => true,
            () = db.pool().close_event() => return,
        };
        if db.pool().is_closed() {
            return;
        }
        let next = if woken || then == Then::Deliver {
            round(&host, &mut last_purge).await
        } else {
            match delivery::next_due_closing(&db).await {
                Ok(Some(due)) if due <= host.clock().now() => round(&host, &mut last_purge).await,
                other => other,
            }
        };
        if db.pool().is_closed() {
            return;
        }
        (sleep, then) = match next {
            Ok(Some(due)) => {
                let wait = Duration::from_secs(u64::try_from(due - host.clock().now()).unwrap_or(0));
                // Something due that could not be claimed (another replica holds it): not a busy loop.
                let wait = wait.max(Duration::from_secs(1));
                if wait > NAP { (NAP, Then::Look) } else { (wait, Then::Deliver) }
            }
            Ok(None) => (NAP, Then::Look),
            Err(err) => {
                tracing::warn!(error = %err, "webhook deliveries: database error; trying again in a minute");
                (AFTER_ERROR, Then::Deliver)
            }
        };
    }
}

/// Resolves when the clock was moved; never for a clock that is not moved.
async fn moved(moves: &mut Option<watch::Receiver<()>>) {
    match moves {
        Some(receiver) => {
            if receiver.changed().await.is_err() {
                *moves = None;
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending::<()>().await,
    }
}

/// Delivers what is due, batch by batch; returns when the next delivery is due.
async fn round(host: &Arc<dyn Host>, last_purge: &mut i64) -> Result<Option<i64>, sqlx::Error> {
    let db = host.db();
    if !host.delivers() {
        delivery::skip_pending(db, host.clock().now()).await?;
        return Ok(None);
    }
    loop {
        let jobs = delivery::claim(db, host.clock().now()).await?;
        let full = jobs.len() as i64 == BATCH;
        if jobs.is_empty() {
            break;
        }
        deliver_batch(host, jobs).await;
        if !full {
            break;
        }
    }
    let now = host.clock().now();
    if now.saturating_sub(*last_purge) >= PURGE_EVERY_SECS {
        delivery::purge(db, now).await?;
        *last_purge = now;
    }
    delivery::next_due(db).await
}

/// Each endpoint's deliveries in order, the endpoints side by side: one slow
/// receiver does not hold up another.
async fn deliver_batch(host: &Arc<dyn Host>, jobs: Vec<Job>) {
    let mut by_endpoint: Vec<(String, Vec<Job>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for job in jobs {
        let slot = *index.entry(job.endpoint_id.clone()).or_insert_with(|| {
            by_endpoint.push((job.endpoint_id.clone(), Vec::new()));
            by_endpoint.len() - 1
        });
        by_endpoint[slot].1.push(job);
    }
    let mut tasks = JoinSet::new();
    for (_, jobs) in by_endpoint {
        tasks.spawn(deliver_in_order(host.clone(), jobs));
    }
    while let Some(done) = tasks.join_next().await {
        if let Err(err) = done {
            tracing::error!(error = %err, "a webhook delivery task failed");
        }
    }
}

/// Sends one endpoint's deliveries in order until one fails; recording the
/// failure makes the rest wait for its retry (`delivery::record`), so that a
/// receiver that is down is not asked again for every event.
async fn deliver_in_order(host: Arc<dyn Host>, jobs: Vec<Job>) {
    let db = host.db();
    for job in &jobs {
        let outcome = send::attempt(host.as_ref(), job).await;
        match delivery::record(db, job, &outcome, host.clock().now()).await {
            Ok(Recorded::Delivered) => continue,
            Ok(Recorded::Retry { .. } | Recorded::GaveUp) => return,
            Ok(Recorded::Disabled { reason }) => return tell_owner(host.as_ref(), job, &reason).await,
            Err(err) => {
                // The claims run out and the deliveries are tried again.
                tracing::warn!(endpoint = %job.endpoint_id, error = %err, "recording a webhook attempt");
                return;
            }
        }
    }
}

async fn tell_owner(host: &dyn Host, job: &Job, reason: &str) {
    tracing::info!(endpoint = %job.endpoint_id, "webhook endpoint disabled after three days of failures");
    let subject_id = format!("webhook:{}", job.endpoint_id);
    let detail = format!("„{}“: {reason}", job.endpoint_name);
    if let Err(err) = audit::record(host.db(), &Actor::system(), "webhook_disabled", &subject_id, &detail).await {
        tracing::warn!(endpoint = %job.endpoint_id, error = %err, "recording a disabled webhook in the audit trail");
    }
    let subject = format!("Webhook „{}“ deaktiviert", job.endpoint_name);
    let body = format!(
        "Guten Tag,\n\nIhr Kundenportal konnte dem Webhook-Endpunkt „{name}“ drei Tage lang kein Ereignis \
         zustellen. {reason}\n\nDamit keine weiteren Versuche ins Leere gehen, ist der Endpunkt jetzt \
         deaktiviert. Ereignisse, die noch nicht zugestellt sind, warten: Sobald der Empfänger wieder \
         erreichbar ist und Sie den Endpunkt aktivieren, werden sie gesendet.\n\nZum Endpunkt und seinem \
         Zustellprotokoll:\n{link}\n",
        name = job.endpoint_name,
        link = host.link(&format!("/makler/webhooks/{}", job.endpoint_id)),
    );
    if let Err(err) = host.mail_owner(subject, body).await {
        tracing::warn!(endpoint = %job.endpoint_id, error = %err, "mailing the owner about a disabled webhook");
    }
}
