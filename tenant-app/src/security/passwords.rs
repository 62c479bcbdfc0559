//! Passwords are stored only as argon2id hashes (PHC strings with the default,
//! OWASP-recommended parameters: 19 MiB, 2 iterations).

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

pub const MIN_LENGTH: usize = 10;
pub const MAX_LENGTH: usize = 256;

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

    /// Hashes on the blocking pool (see [`verify_off_thread`]).
    pub async fn hash_off_thread(self) -> String {
        tokio::task::spawn_blocking(move || hash(&self.0)).await.expect("hashing does not panic")
    }
}

/// Checks a login: argon2 costs tens of milliseconds of CPU, so it runs on the
/// blocking pool instead of stalling the async workers that serve other
/// requests. Without a stored hash it verifies a dummy, taking as long.
pub async fn verify_off_thread(password: &str, stored_hash: Option<&str>) -> bool {
    let password = password.to_owned();
    let stored_hash = stored_hash.map(str::to_owned);
    tokio::task::spawn_blocking(move || match stored_hash {
        Some(stored) => verify(&password, &stored),
        None => {
            verify_dummy(&password);
            false
        }
    })
    .await
    .unwrap_or(false)
}

pub fn hash(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters accepts any password")
        .to_string()
}

pub fn verify(password: &str, stored_hash: &str) -> bool {
    match PasswordHash::new(stored_hash) {
        Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
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
    }

    #[test]
    fn policy_is_enforced() {
        assert!(NewPassword::parse("short", "short").is_err());
        assert!(NewPassword::parse("long enough 1", "long enough 2").is_err());
        assert!(NewPassword::parse("long enough 1", "long enough 1").is_ok());
    }
}
