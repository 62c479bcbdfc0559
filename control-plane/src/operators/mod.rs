//! The operator's people: accounts, one-time login links, and API tokens.

pub mod console;
pub mod pages;

use tenant_app::db::{Db, new_id, now};
use tenant_app::security::tokens::{random_token, token_hash};
use tenant_app::values::EmailAddress;

#[derive(Debug, Clone)]
pub struct Operator {
    pub id: String,
    pub email: String,
    pub password_hash: Option<String>,
}

/// How long a login link from `operator create` stays valid.
pub const LOGIN_LINK_TTL_SECS: i64 = 24 * 3600;

/// Prefix of API tokens, so that a leaked one is recognisable in secret scanners.
pub const API_TOKEN_PREFIX: &str = "ordo_";

pub async fn find_by_email(db: &Db, email: &str) -> Result<Option<Operator>, sqlx::Error> {
    let row: Option<(String, String, Option<String>)> =
        sqlx::query_as("SELECT id, email, password_hash FROM operators WHERE email = $1")
            .bind(email.trim().to_lowercase())
            .fetch_optional(db.pool())
            .await?;
    Ok(row.map(|(id, email, password_hash)| Operator { id, email, password_hash }))
}

pub async fn find(db: &Db, id: &str) -> Result<Option<Operator>, sqlx::Error> {
    let row: Option<(String, String, Option<String>)> =
        sqlx::query_as("SELECT id, email, password_hash FROM operators WHERE id = $1")
            .bind(id)
            .fetch_optional(db.pool())
            .await?;
    Ok(row.map(|(id, email, password_hash)| Operator { id, email, password_hash }))
}

/// Creates the operator unless it exists; either way returns it.
pub async fn ensure(db: &Db, email: &EmailAddress) -> Result<Operator, sqlx::Error> {
    if let Some(operator) = find_by_email(db, email.as_str()).await? {
        return Ok(operator);
    }
    sqlx::query("INSERT INTO operators (id, email, created_at) VALUES ($1, $2, $3)")
        .bind(new_id())
        .bind(email.as_str())
        .bind(now())
        .execute(db.pool())
        .await?;
    Ok(find_by_email(db, email.as_str()).await?.expect("just inserted"))
}

/// A single-use login link token.
pub async fn issue_login_link(db: &Db, operator_id: &str) -> Result<String, sqlx::Error> {
    let token = random_token();
    let now = now();
    sqlx::query(
        "INSERT INTO operator_login_links (token_hash, operator_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(token_hash(&token))
    .bind(operator_id)
    .bind(now)
    .bind(now + LOGIN_LINK_TTL_SECS)
    .execute(db.pool())
    .await?;
    Ok(token)
}

/// Uses up a login link; the operator it belonged to, if it was live.
pub async fn redeem_login_link(db: &Db, token: &str) -> Result<Option<Operator>, sqlx::Error> {
    let now = now();
    let operator_id: Option<String> = sqlx::query_scalar(
        "UPDATE operator_login_links SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $3 \
         RETURNING operator_id",
    )
    .bind(now)
    .bind(token_hash(token))
    .bind(now)
    .fetch_optional(db.pool())
    .await?;
    match operator_id {
        Some(id) => find(db, &id).await,
        None => Ok(None),
    }
}

pub async fn set_password(db: &Db, operator_id: &str, password_hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE operators SET password_hash = $1 WHERE id = $2")
        .bind(password_hash)
        .bind(operator_id)
        .execute(db.pool())
        .await?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct ApiTokenInfo {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// Creates an API token; the token itself is returned once and never stored.
pub async fn create_api_token(db: &Db, operator_id: &str, name: &str) -> Result<String, sqlx::Error> {
    let token = format!("{API_TOKEN_PREFIX}{}", random_token());
    sqlx::query("INSERT INTO api_tokens (id, operator_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(new_id())
        .bind(operator_id)
        .bind(name)
        .bind(token_hash(&token))
        .bind(now())
        .execute(db.pool())
        .await?;
    Ok(token)
}

/// The operator a bearer token belongs to, if it is live; notes its use.
pub async fn authenticate_api_token(db: &Db, token: &str) -> Result<Option<Operator>, sqlx::Error> {
    if !token.starts_with(API_TOKEN_PREFIX) {
        return Ok(None);
    }
    let operator_id: Option<String> = sqlx::query_scalar(
        "UPDATE api_tokens SET last_used_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL RETURNING operator_id",
    )
    .bind(now())
    .bind(token_hash(token))
    .fetch_optional(db.pool())
    .await?;
    match operator_id {
        Some(id) => find(db, &id).await,
        None => Ok(None),
    }
}

pub async fn list_api_tokens(db: &Db, operator_id: &str) -> Result<Vec<ApiTokenInfo>, sqlx::Error> {
    let rows: Vec<(String, String, i64, Option<i64>)> = sqlx::query_as(
        "SELECT id, name, created_at, last_used_at FROM api_tokens WHERE operator_id = $1 AND revoked_at IS NULL \
         ORDER BY created_at DESC",
    )
    .bind(operator_id)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name, created_at, last_used_at)| ApiTokenInfo { id, name, created_at, last_used_at })
        .collect())
}

pub async fn revoke_api_token(db: &Db, operator_id: &str, token_id: &str) -> Result<bool, sqlx::Error> {
    let result =
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND operator_id = $3 AND revoked_at IS NULL")
            .bind(now())
            .bind(token_id)
            .bind(operator_id)
            .execute(db.pool())
            .await?;
    Ok(result.rows_affected() == 1)
}
