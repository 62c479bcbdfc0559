//! API keys: how the broker's other programs (a broker management program, a
//! script) authenticate to the tenant REST API. A key is shown once when it is
//! made; only its SHA-256 is stored, like every other token of the portal.
//! The broker (the owner) makes and revokes keys in the portal; the operator can
//! make one while setting up an integration. Both land in the audit trail.

use crate::audit::{self, Actor};
use crate::db::{Db, new_id, now};
use crate::security::tokens::{random_token, token_hash};
use crate::values::required_text;

/// Every key starts with this, so that a leaked one is recognised by secret scanners.
pub const KEY_PREFIX: &str = "ordo_tk_";
/// Keys a portal may hold at once (revoked ones do not count).
pub const MAX_ACTIVE_KEYS: i64 = 20;
const NAME_MAX_CHARS: usize = 80;
/// `last_used_at` is written at most this often per key: a write on every request
/// would cost more than the request.
const LAST_USED_RESOLUTION_SECS: i64 = 60;
/// The `created_by_id` of keys the operator made.
const OPERATOR: &str = "operator";

/// What a key may do: read everything, or also write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Read,
    Write,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
        }
    }

    pub fn parse(text: &str) -> Option<Scope> {
        match text {
            "read" => Some(Scope::Read),
            "write" => Some(Scope::Write),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Scope::Read => "nur lesen",
            Scope::Write => "lesen und schreiben",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    pub scope: Scope,
    /// The first characters of the key, e.g. `ordo_tk_Ab3x`.
    pub prefix: String,
    pub created_by_name: String,
    /// Made by the operator (while setting up an integration), not by the broker.
    pub by_operator: bool,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// A key just made: the record and the secret, which exists only in this value.
#[derive(Debug)]
pub struct IssuedKey {
    pub key: ApiKey,
    pub secret: String,
}

/// Who makes a key.
#[derive(Debug, Clone)]
pub enum Maker {
    /// A user of this portal (the owner).
    User { id: String, name: String },
    /// The operator, named as the control plane knows them.
    Operator { name: String },
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{0}")]
    InvalidName(&'static str),
    #[error(
        "Es gibt bereits {MAX_ACTIVE_KEYS} aktive API-Schlüssel. Widerrufen Sie einen, den Sie nicht mehr brauchen."
    )]
    TooMany,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// A key's name: required, short, one line.
pub fn parse_name(input: &str) -> Result<String, &'static str> {
    let name = required_text(input, NAME_MAX_CHARS)?;
    if name.contains(['\n', '\r', '\t']) {
        return Err("Der Name darf nur eine Zeile haben.");
    }
    Ok(name)
}

const COLUMNS: &str = "id, name, scope, prefix, created_by_id, created_by_name, created_at, last_used_at, revoked_at";

type KeyRow = (String, String, String, String, String, String, i64, Option<i64>, Option<i64>);

fn from_row(row: KeyRow) -> ApiKey {
    let (id, name, scope, prefix, created_by_id, created_by_name, created_at, last_used_at, revoked_at) = row;
    ApiKey {
        id,
        name,
        scope: Scope::parse(&scope).unwrap_or(Scope::Read),
        prefix,
        created_by_name,
        by_operator: created_by_id == OPERATOR,
        created_at,
        last_used_at,
        revoked_at,
    }
}

/// Makes a key and records it in the audit trail, in one transaction.
pub async fn issue(db: &Db, name: &str, scope: Scope, maker: &Maker) -> Result<IssuedKey, KeyError> {
    let name = parse_name(name).map_err(KeyError::InvalidName)?;
    let secret = format!("{KEY_PREFIX}{}", random_token());
    let prefix: String = secret.chars().take(KEY_PREFIX.len() + 4).collect();
    let (created_by_id, created_by_name, actor) = match maker {
        Maker::User { id, name } => (id.clone(), name.clone(), Actor::user(id, name)),
        Maker::Operator { name } => (
            OPERATOR.to_owned(),
            format!("Betreiber ({name})"),
            Actor { id: OPERATOR.to_owned(), name: format!("Betreiber ({name})") },
        ),
    };
    let id = new_id();
    let created_at = now();
    let mut tx = db.pool().begin().await?;
    let active: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM api_keys WHERE revoked_at IS NULL").fetch_one(&mut *tx).await?;
    if active >= MAX_ACTIVE_KEYS {
        return Err(KeyError::TooMany);
    }
    sqlx::query(
        "INSERT INTO api_keys (id, name, scope, key_hash, prefix, created_by_id, created_by_name, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&id)
    .bind(&name)
    .bind(scope.as_str())
    .bind(token_hash(&secret))
    .bind(&prefix)
    .bind(&created_by_id)
    .bind(&created_by_name)
    .bind(created_at)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    let detail = format!("„{name}“, {}", scope.label());
    audit::record(db, &actor, "api_key_created", &format!("api_key:{id}"), &detail).await?;
    let key = ApiKey {
        id,
        name,
        scope,
        prefix,
        created_by_name,
        by_operator: matches!(maker, Maker::Operator { .. }),
        created_at,
        last_used_at: None,
        revoked_at: None,
    };
    Ok(IssuedKey { key, secret })
}

/// Every key, active ones first, newest first.
pub async fn list(db: &Db) -> Result<Vec<ApiKey>, sqlx::Error> {
    let rows: Vec<KeyRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM api_keys ORDER BY CASE WHEN revoked_at IS NULL THEN 0 ELSE 1 END, created_at DESC, id DESC"
    ))
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(from_row).collect())
}

pub async fn find(db: &Db, id: &str) -> Result<Option<ApiKey>, sqlx::Error> {
    let row: Option<KeyRow> = sqlx::query_as(&format!("SELECT {COLUMNS} FROM api_keys WHERE id = $1"))
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    Ok(row.map(from_row))
}

/// Revokes a key at once; returns whether an active key was revoked.
pub async fn revoke(db: &Db, id: &str, actor: &Actor) -> Result<bool, sqlx::Error> {
    let revoked: Option<String> =
        sqlx::query_scalar("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL RETURNING name")
            .bind(now())
            .bind(id)
            .fetch_optional(db.pool())
            .await?;
    if let Some(name) = &revoked {
        audit::record(db, actor, "api_key_revoked", &format!("api_key:{id}"), &format!("„{name}“")).await?;
    }
    Ok(revoked.is_some())
}

/// The active key a presented secret belongs to. Notes the use (at most once a
/// minute per key, see [`LAST_USED_RESOLUTION_SECS`]).
pub async fn authenticate(db: &Db, secret: &str) -> Result<Option<ApiKey>, sqlx::Error> {
    if !secret.starts_with(KEY_PREFIX) {
        return Ok(None);
    }
    let row: Option<KeyRow> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL"))
            .bind(token_hash(secret))
            .fetch_optional(db.pool())
            .await?;
    let Some(key) = row.map(from_row) else {
        return Ok(None);
    };
    let now = now();
    if key.last_used_at.is_none_or(|at| at <= now - LAST_USED_RESOLUTION_SECS) {
        sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2")
            .bind(now)
            .bind(&key.id)
            .execute(db.pool())
            .await?;
    }
    Ok(Some(key))
}

/// The client of a portal's internal API for keys, used by the control plane to
/// make a key in a portal that runs as its own process (on Kubernetes).
pub mod remote {
    use serde::{Deserialize, Serialize};

    /// The internal API's answer: the key, shown once.
    #[derive(Debug, Clone, Serialize, Deserialize)]
    pub struct CreatedKey {
        pub id: String,
        pub key: String,
        pub name: String,
    }

    /// The body of `POST /internal/api-keys`.
    #[derive(Debug, Clone, Serialize, Deserialize)]
    pub struct CreateRequest {
        pub name: String,
        /// Who at the operator made it, for the portal's audit trail.
        pub operator: String,
    }

    #[derive(Debug, thiserror::Error)]
    pub enum RemoteError {
        /// The portal refused the request (a bad name, too many keys): its message.
        #[error("{0}")]
        Refused(String),
        #[error("portal internal API: {0}")]
        Unavailable(String),
    }

    /// `POST {base_url}/internal/api-keys` with the tenant's internal token.
    pub async fn create(
        base_url: &str,
        internal_token: &str,
        request: &CreateRequest,
    ) -> Result<CreatedKey, RemoteError> {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|err| RemoteError::Unavailable(err.to_string()))?;
        let url = format!("{}/internal/api-keys", base_url.trim_end_matches('/'));
        let response = client
            .post(url)
            .bearer_auth(internal_token)
            .json(request)
            .send()
            .await
            .map_err(|err| RemoteError::Unavailable(err.without_url().to_string()))?;
        let status = response.status();
        if status.is_success() {
            return response.json().await.map_err(|err| RemoteError::Unavailable(err.to_string()));
        }
        let problem: serde_json::Value = response.json().await.unwrap_or_default();
        let detail = problem["detail"].as_str().unwrap_or("").to_owned();
        if status == reqwest::StatusCode::UNPROCESSABLE_ENTITY || status == reqwest::StatusCode::CONFLICT {
            Err(RemoteError::Refused(detail))
        } else {
            Err(RemoteError::Unavailable(format!("status {status}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn database() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("portal.db").display());
        // Not `instance::open_database`: that would make this module depend on the portal.
        let db = Db::connect(&url, crate::db::PoolSize::of(1)).await.unwrap();
        db.migrate(crate::db::TENANT_MIGRATIONS).await.unwrap();
        (dir, db)
    }

    #[tokio::test]
    async fn keys_authenticate_until_revoked_and_are_stored_as_hashes() {
        let (_dir, db) = database().await;
        let owner = Maker::User { id: "u1".into(), name: "Erika Muster".into() };
        let issued = issue(&db, "  MVP  ", Scope::Write, &owner).await.unwrap();
        assert!(issued.secret.starts_with(KEY_PREFIX));
        assert_eq!(issued.key.name, "MVP");
        let stored: String = sqlx::query_scalar("SELECT key_hash FROM api_keys").fetch_one(db.pool()).await.unwrap();
        assert_ne!(stored, issued.secret);
        let found = authenticate(&db, &issued.secret).await.unwrap().unwrap();
        assert_eq!(found.id, issued.key.id);
        assert!(find(&db, &found.id).await.unwrap().unwrap().last_used_at.is_some());
        assert!(authenticate(&db, "ordo_tk_wrong").await.unwrap().is_none());
        assert!(revoke(&db, &found.id, &Actor::user("u1", "Erika Muster")).await.unwrap());
        assert!(!revoke(&db, &found.id, &Actor::user("u1", "Erika Muster")).await.unwrap());
        assert!(authenticate(&db, &issued.secret).await.unwrap().is_none());
        let (trail, _) = audit::page(&db, 1, 10).await.unwrap();
        let actions: Vec<&str> = trail.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["api_key_revoked", "api_key_created"]);
        assert!(!trail.iter().any(|e| e.detail.contains(&issued.secret)));
    }

    #[tokio::test]
    async fn names_are_checked_and_active_keys_are_limited() {
        let (_dir, db) = database().await;
        let operator = Maker::Operator { name: "ops@example.de".into() };
        assert!(matches!(issue(&db, " ", Scope::Read, &operator).await, Err(KeyError::InvalidName(_))));
        assert!(matches!(issue(&db, "a\nb", Scope::Read, &operator).await, Err(KeyError::InvalidName(_))));
        for n in 0..MAX_ACTIVE_KEYS {
            let issued = issue(&db, &format!("Key {n}"), Scope::Read, &operator).await.unwrap();
            assert!(issued.key.by_operator);
        }
        assert!(matches!(issue(&db, "one more", Scope::Read, &operator).await, Err(KeyError::TooMany)));
        let listed = list(&db).await.unwrap();
        assert!(listed.iter().all(|k| k.by_operator && k.created_by_name == "Betreiber (ops@example.de)"));
    }
}
