//! Passwords are stored only as argon2id hashes (PHC strings with the default,
//! OWASP-recommended parameters: 19 MiB, 2 iterations).
//!
//! Each check needs 19 MiB of working memory, so the number of checks that
//! run at once is bounded ([`PasswordGate`]; by default the CPU count): more
//! would only wait for the CPU anyway. The rest wait up to a bounded time,
//! then get [`Busy`] (503 with `Retry-After`). The working memory is kept in a
//! pool with one buffer per permit, reused by every check, so a burst of
//! logins cannot grow the process beyond permits × 19 MiB, and freed when the
//! burst is over.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::Semaphore;

pub const MIN_LENGTH: usize = 10;
pub const MAX_LENGTH: usize = 256;

/// How long a check waits for a permit before it is refused with 503.
pub const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(5);

/// Too many password checks are waiting; the client is to retry shortly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many password checks at once")]
pub struct Busy;

impl Busy {
    pub const RETRY_AFTER_SECS: i64 = 5;
}

impl From<Busy> for crate::web::PageError {
    fn from(_: Busy) -> Self {
        crate::web::PageError::Busy { retry_after_secs: Busy::RETRY_AFTER_SECS }
    }
}

/// The bound on concurrent password checks of one process, shared by every
/// site it serves (the console, the billing area, every embedded portal).
#[derive(Clone)]
pub struct PasswordGate {
    inner: Arc<GateInner>,
}

struct GateInner {
    permits: Semaphore,
    total: usize,
    max_wait: Duration,
}

impl std::fmt::Debug for PasswordGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordGate").field("max_wait", &self.inner.max_wait).finish_non_exhaustive()
    }
}

impl Default for PasswordGate {
    fn default() -> Self {
        PasswordGate::new(0, DEFAULT_MAX_WAIT)
    }
}

/// Working memory of finished checks, reused by the next while a burst lasts
/// (at most as many buffers as checks ran at once) and freed when it ends.
static BUFFERS: Mutex<Vec<Vec<Block>>> = Mutex::new(Vec::new());

/// The default number of concurrent checks: the CPUs this process may use.
pub fn default_permits() -> usize {
    std::thread::available_parallelism().map(std::num::NonZeroUsize::get).unwrap_or(2)
}

impl PasswordGate {
    /// `permits` checks at once (0: the CPU count); the others wait up to `max_wait`.
    pub fn new(permits: usize, max_wait: Duration) -> PasswordGate {
        let permits = if permits == 0 { default_permits() } else { permits };
        PasswordGate { inner: Arc::new(GateInner { permits: Semaphore::new(permits), total: permits, max_wait }) }
    }

    /// Runs `work` on the blocking pool under a permit, or says [`Busy`].
    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, Busy> {
        let inner = &self.inner;
        let permit =
            tokio::time::timeout(inner.max_wait, inner.permits.acquire()).await.map_err(|_| Busy)?.map_err(|_| Busy)?;
        let result = tokio::task::spawn_blocking(work).await.map_err(|_| Busy);
        drop(permit);
        // The last check of a burst gives the working memory back.
        if inner.permits.available_permits() == inner.total
            && let Ok(mut buffers) = BUFFERS.lock()
        {
            buffers.clear();
            buffers.shrink_to_fit();
        }
        result
    }

    /// Checks a login: argon2 costs tens of milliseconds of CPU, so it runs on
    /// the blocking pool instead of stalling the async workers that serve other
    /// requests, and only so many at once. Without a stored hash it verifies a
    /// dummy, taking as long.
    pub async fn verify(&self, password: &str, stored_hash: Option<&str>) -> Result<bool, Busy> {
        let password = password.to_owned();
        let stored_hash = stored_hash.map(str::to_owned);
        self.run(move || match stored_hash {
            Some(stored) => verify(&password, &stored),
            None => {
                verify_dummy(&password);
                false
            }
        })
        .await
    }

    /// Hashes a new password, bounded like [`PasswordGate::verify`].
    pub async fn hash(&self, password: NewPassword) -> Result<String, Busy> {
        self.run(move || hash(&password.0)).await
    }
}

/// A password that satisfies the policy; the only way to get a hash.
pub struct NewPassword(String);

impl NewPassword {
    /// Checks the policy; the error is a German sentence for the form.
    pub fn parse(password: &str, confirmation: &str) -> Result<NewPassword, &'static str> {
        let length = password.chars().count();
        if length < MIN_LENGTH {
            return Err("Das Passwort muss mindestens 10 Zeichen lang sein.");
        }
        if length > MAX_LENGTH {
            return Err("Das Passwort darf höchstens 256 Zeichen lang sein.");
        }
        if password != confirmation {
            return Err("Die beiden Eingaben stimmen nicht überein.");
        }
        Ok(NewPassword(password.to_owned()))
    }
}

/// Runs argon2 with a pooled working buffer of `blocks` blocks.
fn with_memory<T>(blocks: usize, work: impl FnOnce(&mut [Block]) -> T) -> T {
    let mut buffer = BUFFERS
        .lock()
        .map(|mut buffers| buffers.pop())
        .unwrap_or(None)
        .filter(|buffer| buffer.len() == blocks)
        .unwrap_or_else(|| vec![Block::default(); blocks]);
    let result = work(&mut buffer);
    if let Ok(mut buffers) = BUFFERS.lock() {
        buffers.push(buffer);
    }
    result
}

/// The argon2id hash of `password` under `salt` with `params`, as a PHC string.
fn compute(argon2: &Argon2<'_>, password: &[u8], salt: &[u8], out_len: usize) -> Option<Output> {
    let blocks = argon2.params().block_count();
    with_memory(blocks, |memory| {
        Output::init_with(out_len, |out| {
            argon2
                .hash_password_into_with_memory(password, salt, out, &mut *memory)
                .map_err(|_| argon2::password_hash::Error::Password)
        })
        .ok()
    })
}

pub fn hash(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_bytes).expect("a generated salt decodes");
    let argon2 = Argon2::default();
    let output = compute(&argon2, password.as_bytes(), salt_bytes, Params::DEFAULT_OUTPUT_LEN)
        .expect("argon2 with default parameters accepts any password");
    PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(argon2.params()).expect("default parameters encode"),
        salt: Some(salt.as_salt()),
        hash: Some(output),
    }
    .to_string()
}

pub fn verify(password: &str, stored_hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored_hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(params), Some(salt), Some(expected)) =
        (Algorithm::try_from(parsed.algorithm), Params::try_from(&parsed), parsed.salt, parsed.hash)
    else {
        return false;
    };
    let version = parsed.version.map(Version::try_from).transpose().ok().flatten().unwrap_or_default();
    let mut salt_bytes = [0u8; 64];
    let Ok(salt_bytes) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let argon2 = Argon2::new(algorithm, version, params);
    // `Output` compares in constant time.
    compute(&argon2, password.as_bytes(), salt_bytes, expected.len()).is_some_and(|output| output == expected)
}

/// Verifies against a fixed hash so that a login for an unknown account takes as
/// long as one for a known account and does not reveal which accounts exist.
pub fn verify_dummy(password: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash("dummy password for timing"));
    let _ = verify(password, dummy);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let stored = hash("correct horse battery");
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &stored));
        assert!(!verify("wrong horse battery", &stored));
        assert!(!verify("anything", "not a hash"));
        // Hashes made by the crate's own hasher (as stored before) still verify.
        use argon2::PasswordHasher;
        let salt = SaltString::generate(&mut OsRng);
        let theirs = Argon2::default().hash_password(b"old password 1", &salt).unwrap().to_string();
        assert!(verify("old password 1", &theirs));
        assert!(!verify("old password 2", &theirs));
    }

    #[test]
    fn policy_is_enforced() {
        assert!(NewPassword::parse("short", "short").is_err());
        assert!(NewPassword::parse("long enough 1", "long enough 2").is_err());
        assert!(NewPassword::parse("long enough 1", "long enough 1").is_ok());
    }
}
