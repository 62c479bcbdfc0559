//! Brute-force protection for logins: failures are counted per account and per
//! client address in a fixed window, in the database, so that every replica and
//! every restart sees the same counts. While a key is over its limit even the
//! right password is refused.

use crate::db::{Db, now};

#[derive(Debug, Clone, Copy)]
pub struct LoginThrottle {
    pub max_failures_per_account: i64,
    pub max_failures_per_address: i64,
    pub window_secs: i64,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        LoginThrottle { max_failures_per_account: 5, max_failures_per_address: 20, window_secs: 15 * 60 }
    }
}

/// A login attempt that must wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    pub retry_after_secs: i64,
}

fn account_key(account: &str) -> String {
    format!("account:{}", account.trim().to_lowercase())
}

fn address_key(address: &str) -> String {
    format!("address:{address}")
}

impl LoginThrottle {
    pub async fn check(&self, db: &Db, account: &str, address: &str) -> Result<Result<(), Throttled>, sqlx::Error> {
        let window_start = now() - self.window_secs;
        for (key, limit) in [
            (account_key(account), self.max_failures_per_account),
            (address_key(address), self.max_failures_per_address),
        ] {
            let row: Option<(i64, i64)> =
                sqlx::query_as("SELECT failures, window_start_at FROM login_throttle WHERE key = $1")
                    .bind(&key)
                    .fetch_optional(db.pool())
                    .await?;
            if let Some((failures, started)) = row
                && started > window_start
                && failures >= limit
            {
                return Ok(Err(Throttled { retry_after_secs: started - window_start }));
            }
        }
        Ok(Ok(()))
    }

    pub async fn record_failure(&self, db: &Db, account: &str, address: &str) -> Result<(), sqlx::Error> {
        for key in [account_key(account), address_key(address)] {
            count(db, &key, self.window_secs).await?;
        }
        Ok(())
    }

    /// A successful login forgives the account's failures (not the address's).
    pub async fn record_success(&self, db: &Db, account: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM login_throttle WHERE key = $1").bind(account_key(account)).execute(db.pool()).await?;
        Ok(())
    }
}

/// Counts one event under `key` in a fixed window of `window_secs` and returns
/// how many there were in the current window, this one included.
async fn count(db: &Db, key: &str, window_secs: i64) -> Result<i64, sqlx::Error> {
    let now = now();
    sqlx::query_scalar(
        "INSERT INTO login_throttle (key, failures, window_start_at) VALUES ($1, 1, $2) \
         ON CONFLICT (key) DO UPDATE SET \
           failures = CASE WHEN login_throttle.window_start_at <= $3 THEN 1 ELSE login_throttle.failures + 1 END, \
           window_start_at = CASE WHEN login_throttle.window_start_at <= $3 THEN $2 ELSE login_throttle.window_start_at END \
         RETURNING failures",
    )
    .bind(key)
    .bind(now)
    .bind(now - window_secs)
    .fetch_one(db.pool())
    .await
}

/// A rate limit for anything but logins (trial sign-ups per address): counts
/// the attempt and says whether it is within `limit` per window.
pub async fn allow(db: &Db, key: &str, limit: i64, window_secs: i64) -> Result<bool, sqlx::Error> {
    Ok(count(db, key, window_secs).await? <= limit)
}
