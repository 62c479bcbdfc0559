//! Who calls the API: the key of `Authorization: Bearer <key>`, checked against
//! this portal's keys (so another tenant's key is simply unknown here), the
//! tenant's plan, the rate limit per key and the key's scope.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ApiError;
use crate::api_keys::{self, ApiKey, Scope};
use crate::audit::Actor;
use crate::portal::Portal;
use crate::web::Problem;

/// The key a request was authenticated with (a request extension set by [`layer`]).
#[derive(Debug, Clone)]
pub struct ApiClient(pub ApiKey);

impl ApiClient {
    /// The audit trail's name for what this key does.
    pub fn actor(&self) -> Actor {
        Actor::api_key(&self.0.id, &self.0.name)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ApiClient {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<ApiClient>().cloned().ok_or_else(|| ApiError::Internal(anyhow::anyhow!("no API client")))
    }
}

fn unauthorized(detail: &str) -> Response {
    let mut response = Problem::new(StatusCode::UNAUTHORIZED, "Authentication required").detail(detail).into_response();
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

/// Middleware on every API resource.
pub async fn layer(State(portal): State<Portal>, mut request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or("");
    if presented.is_empty() {
        return unauthorized("Send an API key of this portal as `Authorization: Bearer <key>`.");
    }
    let key = match api_keys::authenticate(portal.db(), presented).await {
        Ok(Some(key)) => key,
        Ok(None) => return unauthorized("This key is unknown here or has been revoked."),
        Err(err) => return ApiError::from(err).into_response(),
    };
    if !portal.entitlements().plan.integrations() {
        return ApiError::forbidden(
            "Not included in the plan",
            "The tenant API belongs to the plans PREMIUMstarter and PREMIUM; the broker can change the plan under /makler/abrechnung.",
        )
        .into_response();
    }
    if let Err(retry_after) = portal.api_limiter().admit(&key.id, portal.settings().api_requests_per_minute) {
        let mut response = Problem::new(StatusCode::TOO_MANY_REQUESTS, "Too many requests")
            .detail(format!("This key may make {} requests per minute.", portal.settings().api_requests_per_minute))
            .into_response();
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after.as_secs().max(1)));
        return response;
    }
    let writes = !matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if writes && key.scope != Scope::Write {
        return ApiError::forbidden("Read-only key", "This key has the scope `read`; writing needs a `write` key.")
            .into_response();
    }
    request.extensions_mut().insert(ApiClient(key));
    next.run(request).await
}

/// Requests per key in fixed one-minute windows, in memory: each portal runs in
/// exactly one process, and the count is about load, not money. Memory is
/// bounded by the number of active keys.
#[derive(Default)]
pub struct RateLimiter {
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

const WINDOW: Duration = Duration::from_secs(60);

impl RateLimiter {
    /// Counts a request; `Err` with the time until the window ends when over `per_minute`.
    pub fn admit(&self, key_id: &str, per_minute: u32) -> Result<(), Duration> {
        let now = Instant::now();
        let mut windows = self.windows.lock().expect("rate limiter lock poisoned");
        // Keys seen long ago (revoked, unused) leave the map.
        if windows.len() > 2 * api_keys::MAX_ACTIVE_KEYS as usize {
            windows.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        }
        let (start, count) = windows.entry(key_id.to_owned()).or_insert((now, 0));
        if now.duration_since(*start) >= WINDOW {
            *start = now;
            *count = 0;
        }
        if *count >= per_minute {
            return Err(WINDOW.saturating_sub(now.duration_since(*start)));
        }
        *count += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_key_has_its_own_window() {
        let limiter = RateLimiter::default();
        assert!(limiter.admit("a", 2).is_ok());
        assert!(limiter.admit("a", 2).is_ok());
        let wait = limiter.admit("a", 2).unwrap_err();
        assert!(wait <= WINDOW && wait > Duration::from_secs(50));
        assert!(limiter.admit("b", 2).is_ok());
    }
}
