//! Server-side sessions. The cookie holds a random token; the database holds its
//! hash, the user and the expiry. Logging in always creates a new session (the id
//! is renewed), logging out deletes it.
//!
//! Cookies are host-only (no `Domain` attribute): a session made on one tenant's
//! host is never sent to another tenant's host or to the console.

use cookie::{Cookie, SameSite};

use crate::db::{Db, now};
use crate::security::tokens::{random_token, token_hash};

// Neutral names: a whitelabelled portal shows no trace of the operator, not even in cookies.
pub const SESSION_COOKIE: &str = "session";
/// Sessions last 12 hours; a broker's working day.
pub const SESSION_TTL_SECS: i64 = 12 * 3600;

pub async fn create(db: &Db, user_id: &str) -> Result<String, sqlx::Error> {
    let token = random_token();
    let now = now();
    sqlx::query("INSERT INTO sessions (id_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(token_hash(&token))
        .bind(user_id)
        .bind(now)
        .bind(now + SESSION_TTL_SECS)
        .execute(db.pool())
        .await?;
    Ok(token)
}

/// The user id of a live session.
pub async fn lookup(db: &Db, token: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT user_id FROM sessions WHERE id_hash = $1 AND expires_at > $2")
        .bind(token_hash(token))
        .bind(now())
        .fetch_optional(db.pool())
        .await
}

pub async fn revoke(db: &Db, token: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE id_hash = $1").bind(token_hash(token)).execute(db.pool()).await?;
    Ok(())
}

pub async fn revoke_all_for_user(db: &Db, user_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user_id).execute(db.pool()).await?;
    Ok(())
}

pub fn session_cookie(token: String, secure: bool) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, token))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .path("/")
        .max_age(cookie::time::Duration::seconds(SESSION_TTL_SECS))
        .build()
}

pub fn clear_session_cookie(secure: bool) -> Cookie<'static> {
    let mut cookie = session_cookie(String::new(), secure);
    cookie.make_removal();
    cookie
}

/// The value of one cookie in a request's `Cookie` headers.
pub fn cookie_value(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| Cookie::split_parse(value.to_owned()))
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == name)
        .map(|cookie| cookie.value().to_owned())
}
