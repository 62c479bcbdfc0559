//! Throttling of what an outsider can repeat to guess a password or to load
//! us: logins, the set-password form of e-mail links (invitations and
//! recovery), re-sent invitations and sign-ups. One implementation for all.
//!
//! An attempt is counted *before* anything is checked, in one statement
//! (`INSERT … ON CONFLICT … DO UPDATE … RETURNING`) in the database every
//! replica shares, so N parallel attempts let at most the limit through,
//! whatever their timing. Each attempt is counted twice:
//! - per (action, account, client address): past `limit` that pair is refused
//!   for the rest of the window. Only that pair: a stranger's failures never
//!   block the owner's browser at another address.
//! - per (action, account): past `limit` every further attempt waits a delay
//!   that doubles with each one (up to `max_delay`) before it is checked, but
//!   it is checked: someone guessing from many addresses is slowed down, and
//!   the owner still gets in.
//!
//! A verified second factor passes both (see [`SecondFactor`]).

use std::time::Duration;

use crate::db::{Db, now};

#[derive(Debug, Clone, Copy)]
pub struct Throttle {
    /// Attempts per window before a pair is blocked and an account is slowed.
    pub limit: i64,
    pub window_secs: i64,
    /// The delay of the first attempt past the limit; it doubles from there.
    pub first_delay: Duration,
    pub max_delay: Duration,
}

/// The throttle of logins in the portals and the console.
pub type LoginThrottle = Throttle;

impl Default for Throttle {
    fn default() -> Self {
        Throttle {
            limit: 5,
            window_secs: 15 * 60,
            first_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(10),
        }
    }
}

/// What is throttled; each action counts on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Login,
    /// The set-password form of an e-mail link (invitation, sign-up, recovery).
    SetPassword,
    /// Sending a customer's invitation again.
    Invite,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Action::Login => "login",
            Action::SetPassword => "set_password",
            Action::Invite => "invite",
        }
    }
}

/// Whether the attempt carries a second factor that has been verified.
/// There is no second factor yet: every caller passes `None`. Two-factor
/// login will verify the code first and pass `Verified`, so that a correct
/// password with a valid second factor always gets in, however many
/// failures strangers have caused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondFactor {
    None,
    Verified,
}

/// An attempt that must wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    pub retry_after_secs: i64,
}

impl Throttled {
    /// Whole minutes, rounded up, for the page's sentence.
    pub fn minutes(&self) -> i64 {
        (self.retry_after_secs + 59) / 60
    }
}

fn normalized(account: &str) -> String {
    account.trim().to_lowercase()
}

fn pair_key(action: Action, account: &str, address: &str) -> String {
    format!("{}:pair:{}|{address}", action.as_str(), normalized(account))
}

fn account_key(action: Action, account: &str) -> String {
    format!("{}:account:{}", action.as_str(), normalized(account))
}

impl Throttle {
    /// Counts an attempt and lets it through, after the account's delay if it
    /// is under attack; or refuses it if this pair is over the limit.
    pub async fn attempt(
        &self,
        db: &Db,
        action: Action,
        account: &str,
        address: &str,
        second_factor: SecondFactor,
    ) -> Result<Result<(), Throttled>, sqlx::Error> {
        if second_factor == SecondFactor::Verified {
            return Ok(Ok(()));
        }
        let (pair_count, started) = count(db, &pair_key(action, account, address), self.window_secs).await?;
        if pair_count > self.limit {
            return Ok(Err(Throttled { retry_after_secs: (started + self.window_secs - now()).max(1) }));
        }
        // Only attempts that will be checked count for the account.
        let (account_count, _) = count(db, &account_key(action, account), self.window_secs).await?;
        let delay = self.delay(account_count);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        Ok(Ok(()))
    }

    /// How long the `count`-th attempt of an account in a window waits.
    pub fn delay(&self, count: i64) -> Duration {
        let past = count - self.limit;
        if past <= 0 {
            return Duration::ZERO;
        }
        let factor = 1u32 << (past - 1).clamp(0, 20) as u32;
        self.first_delay.saturating_mul(factor).min(self.max_delay)
    }

    /// A successful attempt forgives the pair's and the account's count.
    pub async fn succeeded(&self, db: &Db, action: Action, account: &str, address: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM login_throttle WHERE key = $1 OR key = $2")
            .bind(pair_key(action, account, address))
            .bind(account_key(action, account))
            .execute(db.pool())
            .await?;
        Ok(())
    }
}

/// Counts one event under `key` in a fixed window of `window_secs`, in one
/// statement, and returns how many there were in the current window (this
/// one included) and when the window started.
async fn count(db: &Db, key: &str, window_secs: i64) -> Result<(i64, i64), sqlx::Error> {
    let now = now();
    sqlx::query_as(
        "INSERT INTO login_throttle (key, failures, window_start_at) VALUES ($1, 1, $2) \
         ON CONFLICT (key) DO UPDATE SET \
           failures = CASE WHEN login_throttle.window_start_at <= $3 THEN 1 ELSE login_throttle.failures + 1 END, \
           window_start_at = CASE WHEN login_throttle.window_start_at <= $3 THEN $2 ELSE login_throttle.window_start_at END \
         RETURNING failures, window_start_at",
    )
    .bind(key)
    .bind(now)
    .bind(now - window_secs)
    .fetch_one(db.pool())
    .await
}

/// A plain rate limit on one key (trial sign-ups per address), counted the
/// same way: says whether this attempt is within `limit` per window.
pub async fn allow(db: &Db, key: &str, limit: i64, window_secs: i64) -> Result<bool, sqlx::Error> {
    Ok(count(db, key, window_secs).await?.0 <= limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_doubles_past_the_limit_and_is_capped() {
        let throttle = Throttle::default();
        assert_eq!(throttle.delay(5), Duration::ZERO);
        assert_eq!(throttle.delay(6), Duration::from_millis(500));
        assert_eq!(throttle.delay(7), Duration::from_secs(1));
        assert_eq!(throttle.delay(9), Duration::from_secs(4));
        assert_eq!(throttle.delay(i64::MAX), Duration::from_secs(10));
    }
}
