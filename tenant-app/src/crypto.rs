//! Envelope encryption of tenant secrets.
//!
//! Each tenant has its own random key. Secrets of that tenant (its database
//! password, its session key) are sealed with it, and the tenant key itself is
//! stored only wrapped with the operator's master key. Rotating the master key
//! therefore re-wraps one small key per tenant and touches no secret.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;

const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 24;

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("a key must be {KEY_LEN} bytes, base64-encoded")]
    BadKey,
    #[error("sealed value is malformed")]
    Malformed,
    #[error("sealed value does not decrypt under this key")]
    WrongKey,
}

/// A 256-bit symmetric key. `Debug` never shows the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Key([u8; KEY_LEN]);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(<redacted>)")
    }
}

impl Key {
    pub fn generate() -> Key {
        let mut bytes = [0u8; KEY_LEN];
        OsRng.fill_bytes(&mut bytes);
        Key(bytes)
    }

    pub fn from_base64(text: &str) -> Result<Key, CryptoError> {
        let bytes = B64.decode(text.trim()).map_err(|_| CryptoError::BadKey)?;
        let bytes: [u8; KEY_LEN] = bytes.try_into().map_err(|_| CryptoError::BadKey)?;
        Ok(Key(bytes))
    }

    pub fn to_base64(&self) -> String {
        B64.encode(self.0)
    }

    pub fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// Encrypts `plaintext`; the result is `base64(nonce || ciphertext)`.
    pub fn seal(&self, plaintext: &[u8]) -> String {
        let cipher = XChaCha20Poly1305::new((&self.0).into());
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let ciphertext = cipher.encrypt(&nonce, plaintext).expect("encryption of an in-memory buffer cannot fail");
        let mut out = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        B64.encode(out)
    }

    pub fn open(&self, sealed: &str) -> Result<Vec<u8>, CryptoError> {
        let bytes = B64.decode(sealed).map_err(|_| CryptoError::Malformed)?;
        if bytes.len() < NONCE_LEN {
            return Err(CryptoError::Malformed);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let cipher = XChaCha20Poly1305::new((&self.0).into());
        cipher.decrypt(XNonce::from_slice(nonce), ciphertext).map_err(|_| CryptoError::WrongKey)
    }

    pub fn open_string(&self, sealed: &str) -> Result<String, CryptoError> {
        String::from_utf8(self.open(sealed)?).map_err(|_| CryptoError::Malformed)
    }

    /// A sub-key for one purpose (HMAC-SHA256 of the purpose), so that one
    /// configured secret can serve several uses without reusing key material.
    pub fn derive(&self, purpose: &str) -> [u8; KEY_LEN] {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC accepts any key length");
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// [`Key::derive`] as a key of its own, for sealing one kind of secret.
    pub fn derive_key(&self, purpose: &str) -> Key {
        Key(self.derive(purpose))
    }

    /// Wraps another key with this one (this one being the master key).
    pub fn wrap(&self, key: &Key) -> String {
        self.seal(&key.0)
    }

    pub fn unwrap_key(&self, wrapped: &str) -> Result<Key, CryptoError> {
        let bytes = self.open(wrapped)?;
        let bytes: [u8; KEY_LEN] = bytes.try_into().map_err(|_| CryptoError::Malformed)?;
        Ok(Key(bytes))
    }
}

/// The operator's master key, and during a rotation the one it replaces: keys
/// are always wrapped with the current one, and unwrapped with whichever fits,
/// so running instances keep working while `control-plane keys rotate` re-wraps.
#[derive(Debug, Clone)]
pub struct MasterKeys {
    pub current: Key,
    pub previous: Option<Key>,
}

impl MasterKeys {
    pub fn new(current: Key, previous: Option<Key>) -> MasterKeys {
        MasterKeys { current, previous }
    }

    pub fn wrap(&self, key: &Key) -> String {
        self.current.wrap(key)
    }

    pub fn unwrap_key(&self, wrapped: &str) -> Result<Key, CryptoError> {
        match (self.current.unwrap_key(wrapped), &self.previous) {
            (Ok(key), _) => Ok(key),
            (Err(_), Some(previous)) => previous.unwrap_key(wrapped),
            (Err(err), None) => Err(err),
        }
    }

    /// Whether a wrapped key still needs re-wrapping under the current key.
    pub fn needs_rewrap(&self, wrapped: &str) -> bool {
        self.current.unwrap_key(wrapped).is_err()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_round_trip_and_resist_the_wrong_key() {
        let key = Key::generate();
        let sealed = key.seal(b"hunter2");
        assert_eq!(key.open(&sealed).unwrap(), b"hunter2");
        assert!(matches!(Key::generate().open(&sealed), Err(CryptoError::WrongKey)));
        assert!(!sealed.contains("hunter2"));
    }

    #[test]
    fn wrapped_keys_unwrap_only_under_their_master() {
        let master = Key::generate();
        let tenant = Key::generate();
        let wrapped = master.wrap(&tenant);
        assert_eq!(master.unwrap_key(&wrapped).unwrap(), tenant);
        assert!(Key::generate().unwrap_key(&wrapped).is_err());
    }

    #[test]
    fn rotation_unwraps_old_and_new_and_wraps_with_new() {
        let (old, new) = (Key::generate(), Key::generate());
        let tenant = Key::generate();
        let before = old.wrap(&tenant);
        let keys = MasterKeys::new(new.clone(), Some(old));
        assert!(keys.needs_rewrap(&before));
        assert_eq!(keys.unwrap_key(&before).unwrap(), tenant);
        let after = keys.wrap(&tenant);
        assert!(!keys.needs_rewrap(&after));
        assert_eq!(MasterKeys::new(new, None).unwrap_key(&after).unwrap(), tenant);
    }

    #[test]
    fn derived_keys_differ_by_purpose() {
        let key = Key::generate();
        assert_eq!(key.derive("a"), key.derive("a"));
        assert_ne!(key.derive("a"), key.derive("b"));
        assert_ne!(&key.derive("a"), key.bytes());
    }

    #[test]
    fn keys_parse_from_base64_and_never_print() {
        let key = Key::generate();
        assert_eq!(Key::from_base64(&key.to_base64()).unwrap(), key);
        assert!(Key::from_base64("c2hvcnQ=").is_err());
        assert_eq!(format!("{key:?}"), "Key(<redacted>)");
    }
}
