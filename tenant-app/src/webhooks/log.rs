//! The delivery log the owner reads: each delivery of an endpoint with its
//! attempts (when, the receiver's status code or why no request was made, how
//! long it took), and redelivery by hand.

use crate::db::Db;
use crate::webhooks::EventType;

/// How many of an endpoint's deliveries the log shows, newest first.
pub const SHOWN: i64 = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Not yet received: the first attempt or a retry is due.
    Pending,
    Delivered,
    /// Retries used up (three days).
    Failed,
    /// Not sent: the plan has no webhooks.
    Skipped,
}

impl DeliveryStatus {
    pub fn parse(text: &str) -> DeliveryStatus {
        match text {
            "delivered" => DeliveryStatus::Delivered,
            "failed" => DeliveryStatus::Failed,
            "skipped" => DeliveryStatus::Skipped,
            _ => DeliveryStatus::Pending,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::Skipped => "skipped",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "wird zugestellt",
            DeliveryStatus::Delivered => "zugestellt",
            DeliveryStatus::Failed => "fehlgeschlagen",
            DeliveryStatus::Skipped => "nicht gesendet (Tarif ohne Webhooks)",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Attempt {
    pub at: i64,
    pub status_code: Option<i64>,
    pub error: Option<String>,
    pub duration_ms: i64,
    pub by_hand: bool,
    pub response_excerpt: Option<String>,
}

impl Attempt {
    pub fn succeeded(&self) -> bool {
        self.status_code.is_some_and(|code| (200..300).contains(&code))
    }
}

#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: String,
    pub event_id: String,
    pub event_type: Option<EventType>,
    pub status: DeliveryStatus,
    /// When the next attempt is due, while pending.
    pub due_at: Option<i64>,
    pub created_at: i64,
    pub attempts: Vec<Attempt>,
}

type Row = (
    String,
    String,
    String,
    String,
    i64,
    i64,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<String>,
);

/// The newest deliveries of an endpoint, each with its attempts in order. One
/// statement, so that a delivery and its attempts are read as one state even
/// while the worker records a new attempt.
pub async fn recent(db: &Db, endpoint_id: &str) -> Result<Vec<Delivery>, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT d.id, d.event_id, v.event_type, d.status, d.due_at, d.created_at, \
           a.at, a.status_code, a.error, a.duration_ms, a.by_hand, a.response_excerpt \
         FROM (SELECT * FROM webhook_deliveries WHERE endpoint_id = $1 ORDER BY id DESC LIMIT $2) d \
           JOIN webhook_events v ON v.id = d.event_id \
           LEFT JOIN webhook_attempts a ON a.delivery_id = d.id \
         ORDER BY d.id DESC, a.at, a.id",
    )
    .bind(endpoint_id)
    .bind(SHOWN)
    .fetch_all(db.pool())
    .await?;
    let mut deliveries: Vec<Delivery> = Vec::new();
    for (id, event_id, event_type, status, due_at, created_at, at, status_code, error, duration, by_hand, excerpt) in
        rows
    {
        if deliveries.last().is_none_or(|last| last.id != id) {
            let status = DeliveryStatus::parse(&status);
            deliveries.push(Delivery {
                id,
                event_id,
                event_type: EventType::parse(&event_type),
                due_at: (status == DeliveryStatus::Pending).then_some(due_at),
                status,
                created_at,
                attempts: Vec::new(),
            });
        }
        if let (Some(at), Some(delivery)) = (at, deliveries.last_mut()) {
            delivery.attempts.push(Attempt {
                at,
                status_code,
                error,
                duration_ms: duration.unwrap_or_default(),
                by_hand: by_hand.unwrap_or_default() != 0,
                response_excerpt: excerpt,
            });
        }
    }
    Ok(deliveries)
}

/// Sends a delivery of this endpoint again, whatever became of it: it is due at
/// once, with a fresh three days of retries. `false` if there is no such delivery.
pub async fn redeliver(db: &Db, endpoint_id: &str, delivery_id: &str) -> Result<bool, sqlx::Error> {
    let updated = sqlx::query(
        "UPDATE webhook_deliveries SET status = 'pending', due_at = 0, attempts = 0, first_attempt_at = NULL, \
           by_hand = 1, claim = NULL, claimed_until = 0, finished_at = NULL \
         WHERE id = $1 AND endpoint_id = $2",
    )
    .bind(delivery_id)
    .bind(endpoint_id)
    .execute(db.pool())
    .await?;
    if updated.rows_affected() == 0 {
        return Ok(false);
    }
    db.wake_workers();
    Ok(true)
}
