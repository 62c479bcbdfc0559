//! People who log in to a portal: the broker (and staff) and the broker's
//! customers, plus the single-use e-mail links that let them set a password.

use crate::db::{Db, new_id, now};
use crate::security::tokens::{random_token, token_hash};
use crate::values::EmailAddress;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Broker,
    Customer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Broker => "broker",
            Role::Customer => "customer",
        }
    }

    fn parse(text: &str) -> Role {
        if text == "broker" { Role::Broker } else { Role::Customer }
    }
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub customer_id: Option<String>,
    pub password_hash: Option<String>,
    pub disabled: bool,
}

type UserRow = (String, String, String, String, Option<String>, Option<String>, Option<i64>);

const USER_COLUMNS: &str = "id, email, name, role, customer_id, password_hash, disabled_at";

fn user_from_row((id, email, name, role, customer_id, password_hash, disabled_at): UserRow) -> User {
    User { id, email, name, role: Role::parse(&role), customer_id, password_hash, disabled: disabled_at.is_some() }
}

pub async fn find_by_id(db: &Db, id: &str) -> Result<Option<User>, sqlx::Error> {
    let row: Option<UserRow> = sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    Ok(row.map(user_from_row))
}

type SessionUserRow = (String, String, String, String, Option<String>, Option<String>, Option<i64>, i64);

/// The enabled user a live session (given by the hash of its token) belongs
/// to, and when the session expires.
pub async fn find_by_session(db: &Db, session_hash: &str) -> Result<Option<(User, i64)>, sqlx::Error> {
    let row: Option<SessionUserRow> = sqlx::query_as(
        "SELECT u.id, u.email, u.name, u.role, u.customer_id, u.password_hash, u.disabled_at, s.expires_at \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.id_hash = $1 AND s.expires_at > $2 AND u.disabled_at IS NULL",
    )
    .bind(session_hash)
    .bind(now())
    .fetch_optional(db.pool())
    .await?;
    Ok(row.map(|(id, email, name, role, customer_id, password_hash, disabled_at, expires_at)| {
        (user_from_row((id, email, name, role, customer_id, password_hash, disabled_at)), expires_at)
    }))
}

pub async fn find_by_email(db: &Db, email: &str) -> Result<Option<User>, sqlx::Error> {
    let row: Option<UserRow> = sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1"))
        .bind(email.trim().to_lowercase())
        .fetch_optional(db.pool())
        .await?;
    Ok(row.map(user_from_row))
}

pub async fn find_by_customer(db: &Db, customer_id: &str) -> Result<Option<User>, sqlx::Error> {
    let row: Option<UserRow> = sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users WHERE customer_id = $1"))
        .bind(customer_id)
        .fetch_optional(db.pool())
        .await?;
    Ok(row.map(user_from_row))
}

/// Creates the portal's first broker account, or returns it if it exists, so
/// that provisioning can run this step again.
pub async fn ensure_broker_admin(db: &Db, email: &EmailAddress, name: &str) -> Result<User, sqlx::Error> {
    if let Some(user) = find_by_email(db, email.as_str()).await? {
        return Ok(user);
    }
    let id = new_id();
    sqlx::query("INSERT INTO users (id, email, name, role, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(&id)
        .bind(email.as_str())
        .bind(name)
        .bind(Role::Broker.as_str())
        .bind(now())
        .execute(db.pool())
        .await?;
    Ok(find_by_id(db, &id).await?.expect("just inserted"))
}

/// The portal's owner: its first broker account. What the API writes in the
/// broker's name (replies, uploads) is authored by the owner.
pub async fn owner(db: &Db) -> Result<Option<User>, sqlx::Error> {
    let row: Option<UserRow> =
        sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users WHERE role = $1 ORDER BY created_at, id LIMIT 1"))
            .bind(Role::Broker.as_str())
            .fetch_optional(db.pool())
            .await?;
    Ok(row.map(user_from_row))
}

/// Creates the login of a customer, or re-enables and returns the existing one.
pub async fn ensure_customer_login(
    db: &Db,
    customer_id: &str,
    email: &EmailAddress,
    name: &str,
) -> Result<User, sqlx::Error> {
    if let Some(user) = find_by_customer(db, customer_id).await? {
        sqlx::query("UPDATE users SET email = $1, name = $2, disabled_at = NULL WHERE id = $3")
            .bind(email.as_str())
            .bind(name)
            .bind(&user.id)
            .execute(db.pool())
            .await?;
        return Ok(find_by_id(db, &user.id).await?.expect("exists"));
    }
    let id = new_id();
    sqlx::query("INSERT INTO users (id, email, name, role, customer_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(&id)
        .bind(email.as_str())
        .bind(name)
        .bind(Role::Customer.as_str())
        .bind(customer_id)
        .bind(now())
        .execute(db.pool())
        .await?;
    Ok(find_by_id(db, &id).await?.expect("just inserted"))
}

/// Changes the login address (and display name) of a user; fails with a unique
/// violation when another user of this portal has that address.
pub async fn change_email(db: &Db, user_id: &str, email: &EmailAddress, name: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET email = $1, name = $2 WHERE id = $3")
        .bind(email.as_str())
        .bind(name)
        .bind(user_id)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// What an e-mail link lets its holder do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    /// Sent at sign-up: verify the address and choose a password.
    SetPassword,
    /// Sent by the broker to a customer.
    Invitation,
}

impl LinkPurpose {
    fn as_str(self) -> &'static str {
        match self {
            LinkPurpose::SetPassword => "set_password",
            LinkPurpose::Invitation => "invitation",
        }
    }

    fn ttl_secs(self) -> i64 {
        match self {
            LinkPurpose::SetPassword => 7 * 24 * 3600,
            LinkPurpose::Invitation => 14 * 24 * 3600,
        }
    }
}

/// Issues a single-use link token; earlier unused links of the same purpose stop
/// working, so only the newest mail is valid.
pub async fn issue_link(db: &Db, user_id: &str, purpose: LinkPurpose) -> Result<String, sqlx::Error> {
    let token = random_token();
    let now = now();
    let mut tx = db.pool().begin().await?;
    sqlx::query("UPDATE user_tokens SET used_at = $1 WHERE user_id = $2 AND purpose = $3 AND used_at IS NULL")
        .bind(now)
        .bind(user_id)
        .bind(purpose.as_str())
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO user_tokens (token_hash, user_id, purpose, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash(&token))
    .bind(user_id)
    .bind(purpose.as_str())
    .bind(now)
    .bind(now + purpose.ttl_secs())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(token)
}

/// The user a live link belongs to, without using it up.
pub async fn peek_link(db: &Db, token: &str) -> Result<Option<User>, sqlx::Error> {
    let user_id: Option<String> = sqlx::query_scalar(
        "SELECT user_id FROM user_tokens WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
    )
    .bind(token_hash(token))
    .bind(now())
    .fetch_optional(db.pool())
    .await?;
    match user_id {
        Some(id) => Ok(find_by_id(db, &id).await?.filter(|user| !user.disabled)),
        None => Ok(None),
    }
}

/// Uses up a link and sets the password it was for, in one transaction: the
/// address is now verified, and every older session of the user ends.
pub async fn redeem_link_with_password(db: &Db, token: &str, password_hash: &str) -> Result<Option<User>, sqlx::Error> {
    let now = now();
    let mut tx = db.pool().begin().await?;
    let user_id: Option<String> = sqlx::query_scalar(
        "UPDATE user_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $3 RETURNING user_id",
    )
    .bind(now)
    .bind(token_hash(token))
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(user_id) = user_id else {
        return Ok(None);
    };
    sqlx::query(
        "UPDATE users SET password_hash = $1, email_verified_at = COALESCE(email_verified_at, $2) \
         WHERE id = $3 AND disabled_at IS NULL",
    )
    .bind(password_hash)
    .bind(now)
    .bind(&user_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(&user_id).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(find_by_id(db, &user_id).await?.filter(|user| !user.disabled))
}

/// Ends a customer's access: no login, no open link, no live session.
pub async fn disable(db: &Db, user_id: &str) -> Result<(), sqlx::Error> {
    let now = now();
    let mut tx = db.pool().begin().await?;
    sqlx::query("UPDATE users SET disabled_at = $1 WHERE id = $2").bind(now).bind(user_id).execute(&mut *tx).await?;
    sqlx::query("UPDATE user_tokens SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL")
        .bind(now)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
    tx.commit().await
}
