//! `Idempotency-Key` on POST: the first request with a key is answered and its
//! successful answer kept for 24 hours per API key; a retry with the same key
//! and the same request gets that answer again instead of a second customer,
//! contract or reply. The same key with another request is refused (422); while
//! the first is still being answered, a retry gets 409. Answers that are not a
//! success are not kept, so a corrected request can use the key again.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::{ApiClient, ApiError};
use crate::db::{Db, is_unique_violation, now};
use crate::portal::Portal;
use crate::web::Problem;

pub const HEADER: &str = "idempotency-key";
const KEEP_SECS: i64 = 24 * 60 * 60;
/// A claim this old without an answer belongs to a request that died.
const ABANDONED_SECS: i64 = 5 * 60;
/// The largest answer kept (every POST answers with one small JSON object).
const MAX_KEPT_BODY: usize = 64 * 1024;

/// Whether a header value may be an idempotency key: 1–255 visible ASCII characters.
fn valid(key: &str) -> bool {
    (1..=255).contains(&key.len()) && key.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

pub async fn layer(State(portal): State<Portal>, request: Request, next: Next) -> Response {
    if request.method() != Method::POST || !request.headers().contains_key(HEADER) {
        return next.run(request).await;
    }
    match handle(&portal, request, next).await {
        Ok(response) => response,
        Err(err) => err.into_response(),
    }
}

enum Claim {
    /// This request holds the key now.
    Fresh,
    /// The key was used before with this request: its answer.
    Replay { status: i64, body: String, location: Option<String> },
}

async fn handle(portal: &Portal, request: Request, next: Next) -> Result<Response, ApiError> {
    let key = request.headers().get(HEADER).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    if !valid(&key) {
        return Err(ApiError::Problem(
            Problem::new(StatusCode::BAD_REQUEST, "Invalid Idempotency-Key")
                .detail("An Idempotency-Key is 1 to 255 visible ASCII characters, e.g. a UUID."),
        ));
    }
    let client = request
        .extensions()
        .get::<ApiClient>()
        .cloned()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("idempotency layer without an authenticated client")))?;
    let (parts, body) = request.into_parts();
    // The body is read once here and handed on; the size limit is the upload limit.
    let limit = portal.settings().max_file_bytes.saturating_add(1024 * 1024);
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::Problem(Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "The request body is too large")))?;
    let mut hash = Sha256::new();
    hash.update(parts.method.as_str().as_bytes());
    hash.update(b"\n");
    hash.update(parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("").as_bytes());
    hash.update(b"\n");
    hash.update(parts.headers.get(header::CONTENT_TYPE).map(|v| v.as_bytes()).unwrap_or_default());
    hash.update(b"\n");
    hash.update(&bytes);
    let request_hash = hex::encode(hash.finalize());

    match claim(portal.db(), &client.0.id, &key, &request_hash).await? {
        Claim::Replay { status, body, location } => {
            let mut response = (
                StatusCode::from_u16(status as u16).unwrap_or(StatusCode::OK),
                [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))],
                body,
            )
                .into_response();
            if let Some(location) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
                response.headers_mut().insert(header::LOCATION, location);
            }
            response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
            Ok(response)
        }
        Claim::Fresh => {
            let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
            finish(portal.db(), &client.0.id, &key, response).await
        }
    }
}

/// request hash, status, body, location
type KeptRow = (String, Option<i64>, Option<String>, Option<String>);

async fn claim(db: &Db, key_id: &str, key: &str, request_hash: &str) -> Result<Claim, ApiError> {
    let now = now();
    sqlx::query("DELETE FROM api_idempotency WHERE created_at < $1 OR (status IS NULL AND created_at < $2)")
        .bind(now - KEEP_SECS)
        .bind(now - ABANDONED_SECS)
        .execute(db.pool())
        .await?;
    let inserted = sqlx::query(
        "INSERT INTO api_idempotency (key_id, idempotency_key, request_hash, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(key_id)
    .bind(key)
    .bind(request_hash)
    .bind(now)
    .execute(db.pool())
    .await;
    match inserted {
        Ok(_) => return Ok(Claim::Fresh),
        Err(err) if is_unique_violation(&err) => {}
        Err(err) => return Err(err.into()),
    }
    let existing: Option<KeptRow> = sqlx::query_as(
        "SELECT request_hash, status, body, location FROM api_idempotency WHERE key_id = $1 AND idempotency_key = $2",
    )
    .bind(key_id)
    .bind(key)
    .fetch_optional(db.pool())
    .await?;
    match existing {
        // Removed in between (the first request failed): this one may try.
        None => Box::pin(claim(db, key_id, key, request_hash)).await,
        Some((hash, _, _, _)) if hash != request_hash => Err(ApiError::Problem(
            Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "Idempotency-Key reused")
                .detail("This Idempotency-Key was used for a different request; use a new key for a new request."),
        )),
        Some((_, None, _, _)) => Err(ApiError::conflict(
            "Request in progress",
            "A request with this Idempotency-Key is still being answered; retry in a moment.",
        )),
        Some((_, Some(status), body, location)) => {
            Ok(Claim::Replay { status, body: body.unwrap_or_default(), location })
        }
    }
}

/// Keeps a successful answer; lets go of the key otherwise.
async fn finish(db: &Db, key_id: &str, key: &str, response: Response) -> Result<Response, ApiError> {
    if !response.status().is_success() {
        sqlx::query("DELETE FROM api_idempotency WHERE key_id = $1 AND idempotency_key = $2")
            .bind(key_id)
            .bind(key)
            .execute(db.pool())
            .await?;
        return Ok(response);
    }
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_KEPT_BODY)
        .await
        .map_err(|err| ApiError::Internal(anyhow::anyhow!("reading an answer to keep: {err}")))?;
    let location = parts.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
    sqlx::query(
        "UPDATE api_idempotency SET status = $1, body = $2, location = $3 WHERE key_id = $4 AND idempotency_key = $5",
    )
    .bind(i64::from(parts.status.as_u16()))
    .bind(String::from_utf8_lossy(&bytes).into_owned())
    .bind(location)
    .bind(key_id)
    .bind(key)
    .execute(db.pool())
    .await?;
    Ok(Response::from_parts(parts, Body::from(bytes)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn keys_are_visible_ascii() {
        assert!(super::valid("3f0c2a9e-5b1d-4c7e-9a8b-0d1e2f3a4b5c"));
        assert!(!super::valid(""));
        assert!(!super::valid("mit leerzeichen"));
        assert!(!super::valid(&"x".repeat(256)));
    }
}
