//! Deliveries in the database: claiming the due ones, recording each attempt
//! with what follows from it (delivered, a retry with backoff, given up, or the
//! endpoint disabled after three days of failures), and the schedule itself.
//!
//! Times here are the portal's clock (`Host::clock`), which tests move; the
//! signature's timestamp is the wall clock, which receivers compare with theirs.

use async_trait::async_trait;

use crate::clock::Clock;
use crate::crypto::Key;
use crate::db::{Db, new_id};
use crate::webhooks::guard::Policy;

/// The first retry comes after a minute; each further one waits twice as long.
pub const FIRST_RETRY_SECS: i64 = 60;
/// No two attempts of a delivery are further apart than six hours.
pub const MAX_RETRY_GAP_SECS: i64 = 6 * 3600;
/// A delivery is retried for three days from its first attempt (at least the
/// 24 hours a receiver may be down for maintenance), then it has failed.
pub const RETRY_WINDOW_SECS: i64 = 3 * 24 * 3600;
/// An endpoint that has failed every attempt for three days is disabled.
pub const DISABLE_AFTER_SECS: i64 = 3 * 24 * 3600;
/// Deliveries claimed at once; one batch per endpoint runs in order.
pub const BATCH: i64 = 20;
/// How long a claim holds: a batch of one endpoint, every request timing out.
const CLAIM_SECS: i64 = BATCH * 10 + 60;
/// Finished deliveries and their log are kept this long.
pub const KEEP_SECS: i64 = 30 * 24 * 3600;

/// What the delivery worker needs from the portal it runs for. The portal
/// implements it (`portal::webhooks`), so that this area never names the pages.
#[async_trait]
pub trait Host: Send + Sync + 'static {
    fn db(&self) -> &Db;
    fn clock(&self) -> &Clock;
    /// The key the endpoints' signing secrets are sealed with.
    fn secrets(&self) -> Key;
    fn policy(&self) -> Policy;
    /// Whether the plan includes webhooks right now: trials, PREMIUMstarter and
    /// PREMIUM, and not while the portal is locked.
    fn delivers(&self) -> bool;
    /// A link into the portal, for e-mails.
    fn link(&self, path: &str) -> String;
    /// Sends the owner an e-mail (in the portal's name and sender).
    async fn mail_owner(&self, subject: String, body: String) -> anyhow::Result<()>;
}

/// How long to wait after the `failures`-th failed attempt.
pub fn backoff(failures: i64) -> i64 {
    let doublings = (failures - 1).clamp(0, 20) as u32;
    (FIRST_RETRY_SECS << doublings).min(MAX_RETRY_GAP_SECS)
}

/// A claimed delivery with what sending it needs.
#[derive(Debug, Clone)]
pub struct Job {
    /// The claim it was taken under.
    pub claim: String,
    pub delivery_id: String,
    pub endpoint_id: String,
    pub endpoint_name: String,
    pub url: String,
    pub secret_sealed: String,
    pub event_type: String,
    pub body: String,
    /// Attempts so far in this series (since creation, redelivery or enabling).
    pub attempts: i64,
    pub first_attempt_at: Option<i64>,
    pub by_hand: bool,
}

/// What one attempt brought.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub status_code: Option<u16>,
    /// Why it did not count as received (no request made, no answer, a redirect).
    pub error: Option<String>,
    pub excerpt: Option<String>,
    pub duration_ms: i64,
}

impl Outcome {
    pub fn succeeded(&self) -> bool {
        self.status_code.is_some_and(|code| (200..300).contains(&code))
    }

    /// The reason in a few words, for the disabling notice.
    pub fn summary(&self) -> String {
        match (&self.error, self.status_code) {
            (Some(error), _) => error.clone(),
            (None, Some(code)) => format!("HTTP {code}"),
            (None, None) => "keine Antwort".into(),
        }
    }
}

/// What recording an attempt decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    Delivered,
    Retry {
        due_at: i64,
    },
    /// Retries used up.
    GaveUp,
    /// This failure made three days: the endpoint is disabled now.
    Disabled {
        reason: String,
    },
}

type JobRow = (String, String, String, String, String, String, String, i64, Option<i64>, i64);

/// Claims up to [`BATCH`] due deliveries of enabled endpoints, oldest first.
/// The claim is checked again in the outer statement, so two replicas that
/// picked the same rows do not both send them.
pub async fn claim(db: &Db, now: i64) -> Result<Vec<Job>, sqlx::Error> {
    let claim = new_id();
    sqlx::query(
        "UPDATE webhook_deliveries SET claim = $1, claimed_until = $2 \
         WHERE id IN (SELECT d.id FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id \
                      WHERE d.status = 'pending' AND d.due_at <= $3 AND d.claimed_until <= $3 \
                        AND e.disabled_at IS NULL ORDER BY d.due_at, d.id LIMIT $4) \
           AND status = 'pending' AND claimed_until <= $3",
    )
    .bind(&claim)
    .bind(now + CLAIM_SECS)
    .bind(now)
    .bind(BATCH)
    .execute(db.pool())
    .await?;
    let rows: Vec<JobRow> = sqlx::query_as(
        "SELECT d.id, d.endpoint_id, e.name, e.url, e.secret_sealed, v.event_type, v.body, d.attempts, \
           d.first_attempt_at, d.by_hand \
         FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id \
           JOIN webhook_events v ON v.id = d.event_id \
         WHERE d.claim = $1 ORDER BY d.due_at, d.id",
    )
    .bind(&claim)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(
                delivery_id,
                endpoint_id,
                endpoint_name,
                url,
                secret_sealed,
                event_type,
                body,
                attempts,
                first,
                by_hand,
            )| {
                Job {
                    claim: claim.clone(),
                    delivery_id,
                    endpoint_id,
                    endpoint_name,
                    url,
                    secret_sealed,
                    event_type,
                    body,
                    attempts,
                    first_attempt_at: first,
                    by_hand: by_hand != 0,
                }
            },
        )
        .collect())
}

/// Records an attempt and what follows from it, for the delivery and for the
/// rest of its endpoint's queue, in one transaction.
pub async fn record(db: &Db, job: &Job, outcome: &Outcome, now: i64) -> Result<Recorded, sqlx::Error> {
    let mut tx = db.pool().begin().await?;
    sqlx::query(
        "INSERT INTO webhook_attempts (id, delivery_id, at, status_code, error, duration_ms, by_hand, response_excerpt) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(new_id())
    .bind(&job.delivery_id)
    .bind(now)
    .bind(outcome.status_code.map(i64::from))
    .bind(&outcome.error)
    .bind(outcome.duration_ms)
    .bind(i64::from(job.by_hand))
    .bind(&outcome.excerpt)
    .execute(&mut *tx)
    .await?;
    let attempts = job.attempts + 1;
    let first = job.first_attempt_at.unwrap_or(now);
    let (status, due_at, finished_at, recorded) = if outcome.succeeded() {
        sqlx::query("UPDATE webhook_endpoints SET failing_since = NULL, last_success_at = $1 WHERE id = $2")
            .bind(now)
            .bind(&job.endpoint_id)
            .execute(&mut *tx)
            .await?;
        ("delivered", now, Some(now), Recorded::Delivered)
    } else {
        sqlx::query("UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, $1) WHERE id = $2")
            .bind(now)
            .bind(&job.endpoint_id)
            .execute(&mut *tx)
            .await?;
        let failing_since: Option<i64> =
            sqlx::query_scalar("SELECT failing_since FROM webhook_endpoints WHERE id = $1 AND disabled_at IS NULL")
                .bind(&job.endpoint_id)
                .fetch_optional(&mut *tx)
                .await?
                .flatten();
        let disable = failing_since.is_some_and(|since| now - since >= DISABLE_AFTER_SECS);
        if disable {
            let reason = format!("Seit drei Tagen schlägt jede Zustellung fehl (zuletzt: {}).", outcome.summary());
            sqlx::query(
                "UPDATE webhook_endpoints SET disabled_at = $1, disabled_reason = $2 \
                 WHERE id = $3 AND disabled_at IS NULL",
            )
            .bind(now)
            .bind(&reason)
            .bind(&job.endpoint_id)
            .execute(&mut *tx)
            .await?;
            // The delivery stays pending: enabling the endpoint sends it again.
            ("pending", now, None, Recorded::Disabled { reason })
        } else if now - first >= RETRY_WINDOW_SECS {
            ("failed", now, Some(now), Recorded::GaveUp)
        } else {
            let due_at = now + backoff(attempts);
            ("pending", due_at, None, Recorded::Retry { due_at })
        }
    };
    match &recorded {
        Recorded::Delivered => {}
        // Everything else waiting for the endpoint waits for this retry: the
        // oldest delivery probes, the rest follow in order once it is received.
        Recorded::Retry { due_at } => {
            sqlx::query(
                "UPDATE webhook_deliveries SET due_at = $1, claim = NULL, claimed_until = 0 \
                 WHERE endpoint_id = $2 AND status = 'pending' AND id <> $3 AND due_at < $1 \
                   AND (claim IS NULL OR claim = $4)",
            )
            .bind(*due_at)
            .bind(&job.endpoint_id)
            .bind(&job.delivery_id)
            .bind(&job.claim)
            .execute(&mut *tx)
            .await?;
        }
        // What this claim holds of the endpoint and was not tried is given back:
        // after a delivery gave up, the next is tried at once (it has retries of
        // its own); a disabled endpoint's deliveries wait for it to be enabled.
        Recorded::GaveUp | Recorded::Disabled { .. } => {
            sqlx::query(
                "UPDATE webhook_deliveries SET claim = NULL, claimed_until = 0 \
                 WHERE claim = $1 AND endpoint_id = $2 AND status = 'pending' AND id <> $3",
            )
            .bind(&job.claim)
            .bind(&job.endpoint_id)
            .bind(&job.delivery_id)
            .execute(&mut *tx)
            .await?;
        }
    }
    sqlx::query(
        "UPDATE webhook_deliveries SET status = $1, attempts = $2, first_attempt_at = $3, due_at = $4, \
           last_status_code = $5, last_error = $6, finished_at = $7, by_hand = 0, claim = NULL, claimed_until = 0 \
         WHERE id = $8",
    )
    .bind(status)
    .bind(attempts)
    .bind(first)
    .bind(due_at)
    .bind(outcome.status_code.map(i64::from))
    .bind(&outcome.error)
    .bind(finished_at)
    .bind(&job.delivery_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(recorded)
}

/// On a plan without webhooks nothing is sent: whatever waits is marked so.
pub async fn skip_pending(db: &Db, now: i64) -> Result<u64, sqlx::Error> {
    let skipped = sqlx::query(
        "UPDATE webhook_deliveries SET status = 'skipped', last_error = $1, finished_at = $2, claim = NULL, \
           claimed_until = 0 WHERE status = 'pending'",
    )
    .bind("Der Tarif enthält keine Webhooks.")
    .bind(now)
    .execute(db.pool())
    .await?;
    Ok(skipped.rows_affected())
}

const NEXT_DUE: &str = "SELECT MIN(CASE WHEN d.claimed_until > d.due_at THEN d.claimed_until ELSE d.due_at END) \
     FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id \
     WHERE d.status = 'pending' AND e.disabled_at IS NULL";

/// When the next delivery is due (or its claim runs out), if any is waiting.
pub async fn next_due(db: &Db) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(NEXT_DUE).fetch_one(db.pool()).await
}

/// [`next_due`] on a connection of its own that is closed afterwards: an idle
/// portal's look at its outbox leaves no connection open behind it (hundreds
/// of portals looking after a start would otherwise hold hundreds).
pub async fn next_due_closing(db: &Db) -> Result<Option<i64>, sqlx::Error> {
    if db.pool().num_idle() > 0 {
        return next_due(db).await;
    }
    let mut conn = db.pool().acquire().await?;
    let due = sqlx::query_scalar(NEXT_DUE).fetch_one(&mut *conn).await;
    conn.close().await?;
    due
}

/// Removes finished deliveries (and their attempts and events) older than [`KEEP_SECS`].
pub async fn purge(db: &Db, now: i64) -> Result<(), sqlx::Error> {
    let before = now - KEEP_SECS;
    let mut tx = db.pool().begin().await?;
    sqlx::query(
        "DELETE FROM webhook_attempts WHERE delivery_id IN \
           (SELECT id FROM webhook_deliveries WHERE status <> 'pending' AND finished_at < $1)",
    )
    .bind(before)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM webhook_deliveries WHERE status <> 'pending' AND finished_at < $1")
        .bind(before)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "DELETE FROM webhook_events WHERE NOT EXISTS \
           (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = webhook_events.id)",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_and_cover_more_than_a_day() {
        assert_eq!(backoff(1), 60);
        assert_eq!(backoff(2), 120);
        assert_eq!(backoff(3), 240);
        assert_eq!(backoff(10), 6 * 3600, "capped");
        assert_eq!(backoff(1000), 6 * 3600);
        // The attempts of a delivery that always fails, until it is given up.
        let (mut at, mut failures, mut attempts) = (0_i64, 0_i64, vec![0_i64]);
        while at < RETRY_WINDOW_SECS {
            failures += 1;
            at += backoff(failures);
            attempts.push(at);
        }
        assert!(*attempts.last().unwrap() >= 24 * 3600);
        assert!(attempts.windows(2).all(|w| w[1] - w[0] <= MAX_RETRY_GAP_SECS));
        assert!(attempts.len() < 30, "{} attempts", attempts.len());
    }

    #[test]
    fn outcomes_succeed_only_on_2xx() {
        let outcome = |code: Option<u16>| Outcome { status_code: code, error: None, excerpt: None, duration_ms: 1 };
        assert!(outcome(Some(200)).succeeded());
        assert!(outcome(Some(204)).succeeded());
        for failed in [Some(301), Some(404), Some(500), None] {
            assert!(!outcome(failed).succeeded());
        }
        assert_eq!(outcome(Some(500)).summary(), "HTTP 500");
    }
}
