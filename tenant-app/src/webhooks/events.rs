//! The outbox: an event is written in the transaction of its cause, with one
//! delivery for each enabled endpoint that subscribed to its type. Nothing is
//! written when nobody listens, so a portal without endpoints pays one indexed
//! query per change and stores nothing.

use chrono::{DateTime, SecondsFormat};
use sqlx::AnyConnection;

use crate::db::{Db, new_id, now};
use crate::webhooks::EventType;

/// Whether an event went into the outbox. After the commit, [`Emitted::announce`]
/// wakes the portal's worker; announcing before the commit could wake it too early.
#[must_use = "announce the event after the commit, or it waits for the worker's next look"]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Emitted(bool);

impl Emitted {
    /// Nothing was written (nobody listens).
    pub const NONE: Emitted = Emitted(false);

    pub fn announce(self, db: &Db) {
        if self.0 {
            db.wake_workers();
        }
    }

    pub fn written(self) -> bool {
        self.0
    }
}

/// Whether an enabled endpoint listens for `event_type`: lets a cause skip the
/// work of building a payload nobody receives.
pub async fn wanted(conn: &mut AnyConnection, event_type: EventType) -> Result<bool, sqlx::Error> {
    let listening: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM webhook_endpoints e JOIN webhook_subscriptions s ON s.endpoint_id = e.id \
         WHERE s.event_type = $1 AND e.disabled_at IS NULL LIMIT 1",
    )
    .bind(event_type.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    Ok(listening.is_some())
}

/// Puts an event into the outbox on `conn` (the cause's transaction).
pub async fn emit(
    conn: &mut AnyConnection,
    event_type: EventType,
    data: serde_json::Value,
) -> Result<Emitted, sqlx::Error> {
    let endpoints: Vec<String> = sqlx::query_scalar(
        "SELECT e.id FROM webhook_endpoints e JOIN webhook_subscriptions s ON s.endpoint_id = e.id \
         WHERE s.event_type = $1 AND e.disabled_at IS NULL ORDER BY e.id",
    )
    .bind(event_type.as_str())
    .fetch_all(&mut *conn)
    .await?;
    if endpoints.is_empty() {
        return Ok(Emitted(false));
    }
    let id = new_id();
    let created_at = now();
    sqlx::query("INSERT INTO webhook_events (id, event_type, created_at, body) VALUES ($1, $2, $3, $4)")
        .bind(&id)
        .bind(event_type.as_str())
        .bind(created_at)
        .bind(payload(&id, event_type, created_at, data))
        .execute(&mut *conn)
        .await?;
    for endpoint_id in endpoints {
        // Due at once, or behind what already waits for this endpoint (after a
        // failure): each endpoint gets its events in order, and a receiver that
        // is down is asked once per retry, not once per event.
        sqlx::query(
            "INSERT INTO webhook_deliveries (id, event_id, endpoint_id, status, due_at, created_at) \
             SELECT $1, $2, $3, 'pending', COALESCE(MAX(due_at), 0), $4 FROM webhook_deliveries \
             WHERE endpoint_id = $3 AND status = 'pending'",
        )
        .bind(new_id())
        .bind(&id)
        .bind(endpoint_id)
        .bind(created_at)
        .execute(&mut *conn)
        .await?;
    }
    Ok(Emitted(true))
}

/// The body every endpoint receives: `{"id", "type", "created_at", "data"}`,
/// `created_at` in RFC 3339 (UTC).
pub fn payload(id: &str, event_type: EventType, created_at: i64, data: serde_json::Value) -> String {
    let created_at =
        DateTime::from_timestamp(created_at, 0).unwrap_or_default().to_rfc3339_opts(SecondsFormat::Secs, true);
    serde_json::json!({ "id": id, "type": event_type.as_str(), "created_at": created_at, "data": data }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payload_has_the_documented_shape() {
        let body = payload("e1", EventType::MessageCreated, 1_767_225_600, serde_json::json!({"category": "claim"}));
        let value: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(value["id"], "e1");
        assert_eq!(value["type"], "message.created");
        assert_eq!(value["created_at"], "2026-01-01T00:00:00Z");
        assert_eq!(value["data"]["category"], "claim");
        assert_eq!(value.as_object().unwrap().len(), 4);
    }
}
