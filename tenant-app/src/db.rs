//! One data layer over SQLite and PostgreSQL.
//!
//! Queries are written once, in the SQL both engines understand, and run through
//! sqlx's `Any` driver; the backend is chosen by the URL scheme. Conventions that
//! keep the SQL portable (see docs/architecture.md):
//! - ids are `TEXT` (UUIDv7, so they sort by creation time),
//! - integers are `BIGINT` and decoded as `i64`, money is integer cents, flags are `BIGINT` 0/1
//!   (the `Any` driver has no boolean that works on both engines),
//! - instants are `BIGINT` Unix seconds, always UTC; calendar dates are `TEXT` `YYYY-MM-DD`,
//! - placeholders are `$1, $2, …`, numbered in order of first appearance.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use sqlx::{AnyPool, ConnectOptions};

/// Which engine a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }
}

/// A connection pool plus the knowledge of which engine is behind it.
#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
}

impl std::fmt::Debug for Db {
    // The pool's options hold the connection URL, password included.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("backend", &self.backend).finish_non_exhaustive()
    }
}

/// How many connections a pool may open, and how long an unused one stays.
#[derive(Debug, Clone, Copy)]
pub struct PoolSize {
    pub max: u32,
    pub idle_secs: u64,
}

impl PoolSize {
    /// A pool for one purpose, kept open for a minute when idle.
    pub const fn of(max: u32) -> PoolSize {
        PoolSize { max, idle_secs: 60 }
    }
}

impl Db {
    /// Opens a pool lazily: no connection is made until the first query, so a
    /// registered but idle tenant holds no socket and no SQLite page cache.
    pub async fn connect(url: &str, size: PoolSize) -> Result<Db, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(url)
            .ok_or_else(|| sqlx::Error::Configuration("database URL must start with sqlite: or postgres:".into()))?;
        let mut options = AnyConnectOptions::from_str(url)?;
        options = options.disable_statement_logging();
        let pool = AnyPoolOptions::new()
            .max_connections(size.max)
            .min_connections(0)
            .idle_timeout(Some(Duration::from_secs(size.idle_secs)))
            .acquire_timeout(Duration::from_secs(10))
            // No ping before every query: it doubles the round trips to SQLite's
            // worker thread, and a broken connection fails the query anyway.
            .test_before_acquire(false)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers proceed during a write; the busy timeout turns
                        // brief lock contention into a wait instead of an error.
                        sqlx::query("PRAGMA journal_mode = WAL").execute(&mut *conn).await?;
                        sqlx::query("PRAGMA busy_timeout = 5000").execute(&mut *conn).await?;
                        sqlx::query("PRAGMA foreign_keys = ON").execute(&mut *conn).await?;
                        sqlx::query("PRAGMA synchronous = NORMAL").execute(&mut *conn).await?;
                        sqlx::query("PRAGMA cache_size = -512").execute(&mut *conn).await?;
                    }
                    Ok(())
                })
            })
            .connect_lazy_with(options);
        Ok(Db { pool, backend })
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Readiness: can we run a query right now?
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map(|_| ())
    }

    pub async fn migrate(&self, migrations: EmbeddedMigrations) -> Result<(), sqlx::migrate::MigrateError> {
        migrations.migrator().await?.run(&self.pool).await
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// SQL migrations compiled into the binary, so that a deployed binary needs no
/// migrations folder next to it. Each entry is `(version, description, sql)`.
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedMigrations(pub &'static [(i64, &'static str, &'static str)]);

impl<'s> MigrationSource<'s> for EmbeddedMigrations {
    fn resolve(self) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 's>> {
        let migrations = self
            .0
            .iter()
            .map(|(version, description, sql)| {
                Migration::new(*version, Cow::Borrowed(*description), MigrationType::Simple, Cow::Borrowed(*sql), false)
            })
            .collect();
        Box::pin(async move { Ok(migrations) })
    }
}

impl EmbeddedMigrations {
    pub async fn migrator(self) -> Result<Migrator, sqlx::migrate::MigrateError> {
        Migrator::new(self).await
    }
}

/// The tenant schema (`migrations/tenant`).
pub const TENANT_MIGRATIONS: EmbeddedMigrations = EmbeddedMigrations(&[
    (1, "tenant schema", include_str!("../../migrations/tenant/0001_tenant.sql")),
    (2, "documents and messages", include_str!("../../migrations/tenant/0002_documents_and_messages.sql")),
    (3, "needs analysis", include_str!("../../migrations/tenant/0003_analysis.sql")),
    (4, "emergency folder", include_str!("../../migrations/tenant/0004_emergency.sql")),
    (5, "audit trail", include_str!("../../migrations/tenant/0005_audit.sql")),
    (7, "tenant api", include_str!("../../migrations/tenant/0007_tenant_api.sql")),
]);

/// Seconds since the Unix epoch, UTC: how every instant is stored.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A new time-ordered id.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

/// Is this error a violated foreign key (a row that names one that is gone)?
/// PostgreSQL `23503`, SQLite `787`.
pub fn is_foreign_key_violation(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => matches!(db.code().as_deref(), Some("23503") | Some("787")),
        _ => false,
    }
}

/// Is this error a violation of a UNIQUE constraint? Both engines report it with
/// SQLSTATE-like codes: PostgreSQL `23505`, SQLite `2067`/`1555`.
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => {
            matches!(db.code().as_deref(), Some("23505") | Some("2067") | Some("1555"))
        }
        _ => false,
    }
}
