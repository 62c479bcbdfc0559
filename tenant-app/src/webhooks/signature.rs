//! Signing deliveries: `Ordo-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`,
//! keyed with the endpoint's secret exactly as shown to the owner. The timestamp
//! is part of what is signed, so a receiver that refuses old timestamps cannot
//! be fed a recorded delivery again (docs/integrations.md shows the check).

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::security::tokens::random_token;

pub const HEADER: &str = "Ordo-Signature";

/// An endpoint's signing secret, `whsec_…`. Shown to the owner once, stored
/// only sealed; `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningSecret(String);

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningSecret(<redacted>)")
    }
}

impl SigningSecret {
    pub fn generate() -> SigningSecret {
        SigningSecret(format!("whsec_{}", random_token()))
    }

    pub fn from_opened(text: String) -> SigningSecret {
        SigningSecret(text)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// The header value for `body` sent at `timestamp` (Unix seconds).
pub fn sign(secret: &SigningSecret, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.0.as_bytes()).expect("HMAC accepts any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={timestamp},v1={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body() {
        // Computed independently: python3 -c 'import hmac,hashlib;
        // print(hmac.new(b"whsec_test", b"1767225600.{}", hashlib.sha256).hexdigest())'
        let secret = SigningSecret::from_opened("whsec_test".into());
        assert_eq!(
            sign(&secret, 1_767_225_600, b"{}"),
            "t=1767225600,v1=4a942ef9477fb7b15b98664cf7ff2c2543984c1fa6bdf3520b48dcb25bcd1fe4"
        );
    }

    #[test]
    fn secrets_are_random_and_never_printed() {
        let secret = SigningSecret::generate();
        assert!(secret.expose().starts_with("whsec_"));
        assert_ne!(secret, SigningSecret::generate());
        assert_eq!(format!("{secret:?}"), "SigningSecret(<redacted>)");
    }
}
