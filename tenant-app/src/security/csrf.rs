//! CSRF protection for every HTML form.
//!
//! Signed double-submit: each browser gets a random `csrf` cookie, and every
//! form carries `_csrf = HMAC(instance key, cookie)`. A cross-site page can
//! neither read the cookie nor compute the HMAC, and a cookie planted by a sibling
//! host is useless without the key. Browsers that announce a cross-site request
//! (`Sec-Fetch-Site: cross-site`) are refused outright.

use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cookie::{Cookie, SameSite};
use hmac::{Hmac, Mac};
use serde::de::DeserializeOwned;
use sha2::Sha256;

use crate::security::sessions::cookie_value;
use crate::security::tokens::{constant_time_eq, random_token};

pub const CSRF_COOKIE: &str = "csrf";
pub const CSRF_FIELD: &str = "_csrf";

/// The instance's CSRF signing key and whether cookies need `Secure`.
#[derive(Clone)]
pub struct CsrfConfig {
    key: [u8; 32],
    secure: bool,
}

impl std::fmt::Debug for CsrfConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsrfConfig").field("secure", &self.secure).finish_non_exhaustive()
    }
}

impl CsrfConfig {
    pub fn new(key: [u8; 32], secure: bool) -> CsrfConfig {
        CsrfConfig { key, secure }
    }

    fn sign(&self, cookie: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC accepts any key length");
        mac.update(cookie.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

/// The token a page must put in its forms, made available to handlers by
/// [`ensure_cookie`].
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

impl CsrfToken {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Middleware: gives every visitor a CSRF cookie and every handler the matching
/// token (as a request extension).
pub async fn ensure_cookie(State(config): State<CsrfConfig>, mut request: Request, next: Next) -> Response {
    let existing = cookie_value(request.headers(), CSRF_COOKIE).filter(|value| value.len() >= 32);
    let (value, fresh) = match existing {
        Some(value) => (value, false),
        None => (random_token(), true),
    };
    request.extensions_mut().insert(CsrfToken(config.sign(&value)));
    request.extensions_mut().insert(config.clone());
    let mut response = next.run(request).await;
    if fresh {
        let cookie = Cookie::build((CSRF_COOKIE, value))
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(config.secure)
            .path("/")
            .build();
        if let Ok(header_value) = HeaderValue::from_str(&cookie.to_string()) {
            response.headers_mut().append(header::SET_COOKIE, header_value);
        }
    }
    response
}

/// Checks a token submitted by other means than a URL-encoded form (multipart
/// uploads), with the same rules as [`CsrfForm`].
pub fn check_submitted(headers: &axum::http::HeaderMap, expected: &CsrfToken, submitted: &str) -> bool {
    let cross_site =
        headers.get("sec-fetch-site").is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"cross-site"));
    !cross_site && constant_time_eq(expected.0.as_bytes(), submitted.as_bytes())
}

/// A URL-encoded form whose `_csrf` field was checked before `T` is parsed.
pub struct CsrfForm<T>(pub T);

/// Why a form was refused before it was read.
#[derive(Debug)]
pub enum FormRejection {
    Csrf,
    Malformed,
    TooLarge,
}

impl IntoResponse for FormRejection {
    fn into_response(self) -> Response {
        let (status, text) = match self {
            FormRejection::Csrf => (
                StatusCode::FORBIDDEN,
                "Die Sicherheitsprüfung des Formulars ist fehlgeschlagen. Bitte laden Sie die Seite neu und senden Sie das Formular erneut.",
            ),
            FormRejection::Malformed => (StatusCode::BAD_REQUEST, "Das Formular konnte nicht gelesen werden."),
            FormRejection::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "Die Eingabe ist zu groß."),
        };
        crate::web::plain_page(status, text)
    }
}

#[derive(serde::Deserialize)]
struct CsrfField {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
}

/// Forms are small; anything larger is not a form of ours.
const FORM_LIMIT: usize = 64 * 1024;

impl<T, S> FromRequest<S> for CsrfForm<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = FormRejection;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let cross_site = request
            .headers()
            .get("sec-fetch-site")
            .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"cross-site"));
        let expected = request.extensions().get::<CsrfToken>().cloned();
        let body = axum::body::to_bytes(request.into_body(), FORM_LIMIT).await.map_err(|_| FormRejection::TooLarge)?;
        let submitted: CsrfField = serde_urlencoded::from_bytes(&body).map_err(|_| FormRejection::Malformed)?;
        let valid = match (expected, submitted.csrf) {
            (Some(expected), Some(submitted)) => constant_time_eq(expected.0.as_bytes(), submitted.as_bytes()),
            _ => false,
        };
        if cross_site || !valid {
            return Err(FormRejection::Csrf);
        }
        serde_urlencoded::from_bytes(&body).map(CsrfForm).map_err(|_| FormRejection::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_depend_on_key_and_cookie() {
        let a = CsrfConfig::new([1; 32], false);
        let b = CsrfConfig::new([2; 32], false);
        assert_eq!(a.sign("cookie"), a.sign("cookie"));
        assert_ne!(a.sign("cookie"), a.sign("other"));
        assert_ne!(a.sign("cookie"), b.sign("cookie"));
    }
}
