//! A small read cache for what every customer page view asks: who holds this
//! session, and the customer's folder. Entries are invalid as soon as anything
//! is written through this portal: every request that may write (any method
//! but GET, HEAD and OPTIONS) bumps a generation counter when it is done, and an
//! entry counts only for the generation it was read in. A short lifetime bounds
//! staleness from writers outside this process (there are none in normal
//! operation: each portal runs in exactly one process).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

use crate::contracts::SparteGroup;
use crate::documents::Document;
use crate::portal::Portal;
use crate::portal::auth::SessionUser;
use crate::values::Cents;

const LIFETIME: Duration = Duration::from_secs(10);
/// More entries than this and the map starts over: memory stays bounded.
const MAX_ENTRIES: usize = 4096;

/// What the dashboard shows of a customer.
#[derive(Debug, Clone)]
pub struct Folder {
    /// Active contracts, grouped by Sparte in catalog order.
    pub groups: Vec<SparteGroup>,
    /// The yearly premium of them all.
    pub total: Cents,
    pub documents: Vec<Document>,
}

/// The folder as HTML in one language: the dashboard renders it once per
/// change and serves it to every view until the next write.
#[derive(Debug)]
pub struct RenderedFolder {
    pub html: String,
}

struct Entry<T> {
    generation: u64,
    stored: Instant,
    value: T,
}

/// Entries by a string key (looked up without allocating).
struct Map<T>(Mutex<HashMap<String, Entry<T>>>);

impl<T: Clone> Map<T> {
    fn new() -> Self {
        Map(Mutex::new(HashMap::new()))
    }

    fn get(&self, key: &str, generation: u64) -> Option<T> {
        let map = self.0.lock().expect("cache lock poisoned");
        map.get(key).filter(|e| e.generation == generation && e.stored.elapsed() < LIFETIME).map(|e| e.value.clone())
    }

    fn put(&self, key: String, generation: u64, value: T) {
        let mut map = self.0.lock().expect("cache lock poisoned");
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(key, Entry { generation, stored: Instant::now(), value });
    }
}

pub struct ReadCache {
    generation: AtomicU64,
    /// By session token hash: the user, and when the session expires (Unix seconds).
    sessions: Map<Option<(SessionUser, i64)>>,
    /// By customer id and language.
    folders: Map<std::sync::Arc<RenderedFolder>>,
}

impl Default for ReadCache {
    fn default() -> Self {
        ReadCache { generation: AtomicU64::new(0), sessions: Map::new(), folders: Map::new() }
    }
}

impl ReadCache {
    /// Read this before querying, and store what the query returned under it.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    pub fn session(&self, hash: &str) -> Option<Option<(SessionUser, i64)>> {
        self.sessions.get(hash, self.generation())
    }

    pub fn store_session(&self, hash: String, generation: u64, value: Option<(SessionUser, i64)>) {
        self.sessions.put(hash, generation, value);
    }

    /// `key` names the customer and the language.
    pub fn folder(&self, key: &str) -> Option<std::sync::Arc<RenderedFolder>> {
        self.folders.get(key, self.generation())
    }

    pub fn store_folder(&self, key: String, generation: u64, folder: std::sync::Arc<RenderedFolder>) {
        self.folders.put(key, generation, folder);
    }
}

/// Middleware: after any request that may have written, every entry is stale.
pub async fn invalidate_after_writes(State(portal): State<Portal>, request: Request, next: Next) -> Response {
    let may_write = !matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let response = next.run(request).await;
    if may_write {
        portal.cache().invalidate();
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::users::Role;

    fn user() -> SessionUser {
        SessionUser { id: "u".into(), name: "N".into(), email: "e".into(), role: Role::Customer, customer_id: None }
    }

    #[test]
    fn entries_die_with_their_generation() {
        let cache = ReadCache::default();
        let generation = cache.generation();
        cache.store_session("h".into(), generation, Some((user(), i64::MAX)));
        assert!(cache.session("h").is_some());
        cache.invalidate();
        assert!(cache.session("h").is_none());
        // A read that began before a write finished is stored under the old generation: never served.
        cache.store_session("h".into(), generation, Some((user(), i64::MAX)));
        assert!(cache.session("h").is_none());
    }
}
