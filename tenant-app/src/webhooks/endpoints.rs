//! The owner's endpoints: a name, an HTTPS URL, the chosen events and a signing
//! secret. The secret is needed in clear to sign every delivery, so it is stored
//! sealed (XChaCha20-Poly1305) under a key derived from the portal's own secret,
//! never in clear, and shown to the owner once.

use std::collections::BTreeMap;

use sqlx::Row;
use url::Url;

use crate::crypto::{CryptoError, Key};
use crate::db::{Db, new_id, now};
use crate::values::required_text;
use crate::web::FieldErrors;
use crate::webhooks::EventType;
use crate::webhooks::guard::{self, Policy};
use crate::webhooks::signature::SigningSecret;

/// More would multiply every event; a broker's office has one management program.
pub const MAX_ENDPOINTS: i64 = 10;
const URL_MAX_CHARS: usize = 2000;

/// A URL a delivery may go to, as far as can be told without resolving it
/// (delivery resolves again and checks every address: see `guard`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointUrl(Url);

impl EndpointUrl {
    pub fn parse(input: &str, policy: Policy) -> Result<EndpointUrl, String> {
        let text = input.trim();
        if text.is_empty() {
            return Err("Bitte geben Sie die Adresse an, an die Ordo die Ereignisse senden soll.".into());
        }
        if text.chars().count() > URL_MAX_CHARS {
            return Err("Die Adresse ist zu lang.".into());
        }
        let url = Url::parse(text).map_err(|_| "Das ist keine gültige Adresse (z. B. https://mvp.example.de/hook).")?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err("Die Adresse darf keine Zugangsdaten enthalten; Ordo signiert jede Zustellung.".into());
        }
        if url.fragment().is_some() {
            return Err("Die Adresse darf keinen Anker (#…) enthalten.".into());
        }
        if url.host().is_none() {
            return Err("Das ist keine gültige Adresse (z. B. https://mvp.example.de/hook).".into());
        }
        guard::check_target(&url, policy).map_err(|refusal| refusal.to_string())?;
        Ok(EndpointUrl(url))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub fn url(&self) -> &Url {
        &self.0
    }
}

/// An endpoint as submitted, checked.
#[derive(Debug, Clone)]
pub struct NewEndpoint {
    pub name: String,
    pub url: EndpointUrl,
    pub events: Vec<EventType>,
}

impl NewEndpoint {
    /// Reads the form: `name`, `url`, and one checkbox per event named by its type.
    pub fn parse(form: &BTreeMap<String, String>, policy: Policy) -> Result<NewEndpoint, FieldErrors> {
        let mut errors = FieldErrors::default();
        let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
        let name = required_text(field("name"), 100).map_err(|m| errors.add("name", m)).unwrap_or_default();
        let url = EndpointUrl::parse(field("url"), policy).map_err(|m| errors.add("url", m)).ok();
        let events: Vec<EventType> = EventType::ALL.into_iter().filter(|e| !field(e.as_str()).is_empty()).collect();
        if events.is_empty() {
            errors.add("events", "Bitte wählen Sie mindestens ein Ereignis.");
        }
        match url {
            Some(url) if errors.is_empty() => Ok(NewEndpoint { name, url, events }),
            _ => Err(errors),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Endpoint {
    pub id: String,
    pub name: String,
    pub url: String,
    pub events: Vec<EventType>,
    pub created_at: i64,
    pub disabled_at: Option<i64>,
    pub disabled_reason: Option<String>,
    pub failing_since: Option<i64>,
    pub last_success_at: Option<i64>,
}

impl Endpoint {
    pub fn enabled(&self) -> bool {
        self.disabled_at.is_none()
    }

    pub fn subscribes(&self, event: &EventType) -> bool {
        self.events.contains(event)
    }
}

const COLUMNS: &str =
    "id, name, url, created_at, disabled_at, disabled_reason, failing_since, last_success_at, secret_sealed";

async fn from_row(db: &Db, row: sqlx::any::AnyRow) -> Result<Endpoint, sqlx::Error> {
    let id: String = row.try_get(0)?;
    let types: Vec<String> =
        sqlx::query_scalar("SELECT event_type FROM webhook_subscriptions WHERE endpoint_id = $1 ORDER BY event_type")
            .bind(&id)
            .fetch_all(db.pool())
            .await?;
    let mut events: Vec<EventType> = types.iter().filter_map(|t| EventType::parse(t)).collect();
    events.sort();
    Ok(Endpoint {
        id,
        name: row.try_get(1)?,
        url: row.try_get(2)?,
        events,
        created_at: row.try_get(3)?,
        disabled_at: row.try_get(4)?,
        disabled_reason: row.try_get(5)?,
        failing_since: row.try_get(6)?,
        last_success_at: row.try_get(7)?,
    })
}

pub async fn list(db: &Db) -> Result<Vec<Endpoint>, sqlx::Error> {
    let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM webhook_endpoints ORDER BY created_at, id"))
        .fetch_all(db.pool())
        .await?;
    let mut endpoints = Vec::with_capacity(rows.len());
    for row in rows {
        endpoints.push(from_row(db, row).await?);
    }
    Ok(endpoints)
}

pub async fn find(db: &Db, id: &str) -> Result<Option<Endpoint>, sqlx::Error> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM webhook_endpoints WHERE id = $1"))
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    match row {
        Some(row) => Ok(Some(from_row(db, row).await?)),
        None => Ok(None),
    }
}

pub async fn count(db: &Db) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM webhook_endpoints").fetch_one(db.pool()).await
}

async fn subscribe(conn: &mut sqlx::AnyConnection, id: &str, events: &[EventType]) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM webhook_subscriptions WHERE endpoint_id = $1").bind(id).execute(&mut *conn).await?;
    for event in events {
        sqlx::query("INSERT INTO webhook_subscriptions (endpoint_id, event_type) VALUES ($1, $2)")
            .bind(id)
            .bind(event.as_str())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Registers an endpoint; returns its id and its secret, which only this answer shows.
pub async fn create(
    db: &Db,
    key: &Key,
    endpoint: &NewEndpoint,
    created_by: &str,
) -> Result<(String, SigningSecret), sqlx::Error> {
    let id = new_id();
    let secret = SigningSecret::generate();
    let mut tx = db.pool().begin().await?;
    sqlx::query(
        "INSERT INTO webhook_endpoints (id, name, url, secret_sealed, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&id)
    .bind(&endpoint.name)
    .bind(endpoint.url.as_str())
    .bind(key.seal(secret.expose().as_bytes()))
    .bind(now())
    .bind(created_by)
    .execute(&mut *tx)
    .await?;
    subscribe(&mut tx, &id, &endpoint.events).await?;
    tx.commit().await?;
    Ok((id, secret))
}

/// Changes name, URL and events; the secret stays.
pub async fn update(db: &Db, id: &str, endpoint: &NewEndpoint) -> Result<(), sqlx::Error> {
    let mut tx = db.pool().begin().await?;
    sqlx::query("UPDATE webhook_endpoints SET name = $1, url = $2 WHERE id = $3")
        .bind(&endpoint.name)
        .bind(endpoint.url.as_str())
        .bind(id)
        .execute(&mut *tx)
        .await?;
    subscribe(&mut tx, id, &endpoint.events).await?;
    tx.commit().await
}

/// A new secret for the endpoint; the old one stops signing at once.
pub async fn rotate_secret(db: &Db, key: &Key, id: &str) -> Result<SigningSecret, sqlx::Error> {
    let secret = SigningSecret::generate();
    sqlx::query("UPDATE webhook_endpoints SET secret_sealed = $1 WHERE id = $2")
        .bind(key.seal(secret.expose().as_bytes()))
        .bind(id)
        .execute(db.pool())
        .await?;
    Ok(secret)
}

/// Opens a sealed secret for signing.
pub fn open_secret(key: &Key, sealed: &str) -> Result<SigningSecret, CryptoError> {
    key.open_string(sealed).map(SigningSecret::from_opened)
}

/// Stops deliveries to the endpoint; what is pending waits for it to be enabled.
pub async fn disable(db: &Db, id: &str, reason: &str, at: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE webhook_endpoints SET disabled_at = $1, disabled_reason = $2 WHERE id = $3 AND disabled_at IS NULL",
    )
    .bind(at)
    .bind(reason)
    .bind(id)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Delivers again: the waiting deliveries are due at once, with a fresh three
/// days of retries, and the endpoint's failure count starts over.
pub async fn enable(db: &Db, id: &str) -> Result<(), sqlx::Error> {
    let mut tx = db.pool().begin().await?;
    sqlx::query(
        "UPDATE webhook_endpoints SET disabled_at = NULL, disabled_reason = NULL, failing_since = NULL WHERE id = $1",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE webhook_deliveries SET due_at = 0, attempts = 0, first_attempt_at = NULL, claim = NULL, \
           claimed_until = 0 \
         WHERE endpoint_id = $1 AND status = 'pending'",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    db.wake_workers();
    Ok(())
}

/// Removes the endpoint with its deliveries and their log.
pub async fn delete(db: &Db, id: &str) -> Result<(), sqlx::Error> {
    let mut tx = db.pool().begin().await?;
    sqlx::query(
        "DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM webhook_deliveries WHERE endpoint_id = $1)",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM webhook_deliveries WHERE endpoint_id = $1").bind(id).execute(&mut *tx).await?;
    sqlx::query("DELETE FROM webhook_subscriptions WHERE endpoint_id = $1").bind(id).execute(&mut *tx).await?;
    sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1").bind(id).execute(&mut *tx).await?;
    tx.commit().await
}

/// Whom to tell about an endpoint: the portal's owners. Today every broker
/// account is one; when a team with roles comes, this is where it narrows.
pub async fn owner_addresses(db: &Db) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT email FROM users WHERE role = 'broker' AND disabled_at IS NULL ORDER BY email")
        .fetch_all(db.pool())
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: Policy = Policy { allow_loopback: false };

    fn form(fields: &[(&str, &str)]) -> BTreeMap<String, String> {
        fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn urls_must_be_https_public_and_without_credentials() {
        assert!(EndpointUrl::parse("https://mvp.example.de/hook?x=1", STRICT).is_ok());
        for refused in [
            "",
            "mvp.example.de/hook",
            "http://mvp.example.de/hook",
            "https://user:pw@mvp.example.de/",
            "https://mvp.example.de/#top",
            "https://192.168.0.10/hook",
            "https://[fd00::1]/hook",
        ] {
            assert!(EndpointUrl::parse(refused, STRICT).is_err(), "{refused} accepted");
        }
        let loopback = Policy { allow_loopback: true };
        assert!(EndpointUrl::parse("http://127.0.0.1:8080/hook", loopback).is_ok());
    }

    #[test]
    fn the_form_needs_a_name_an_address_and_an_event() {
        let errors = NewEndpoint::parse(&form(&[("url", "http://x")]), STRICT).unwrap_err();
        for field in ["name", "url", "events"] {
            assert!(errors.get(field).is_some(), "{field} not reported");
        }
        let parsed = NewEndpoint::parse(
            &form(&[("name", "MVP"), ("url", "https://mvp.example.de/"), ("message.created", "1")]),
            STRICT,
        )
        .unwrap();
        assert_eq!(parsed.events, vec![EventType::MessageCreated]);
    }

    #[test]
    fn secrets_are_sealed_and_open_only_under_their_key() {
        let key = Key::generate().derive_key("webhook signing secrets");
        let secret = SigningSecret::generate();
        let sealed = key.seal(secret.expose().as_bytes());
        assert!(!sealed.contains(secret.expose()));
        assert_eq!(open_secret(&key, &sealed).unwrap(), secret);
        assert!(open_secret(&Key::generate(), &sealed).is_err());
    }
}
