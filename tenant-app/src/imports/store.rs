//! The import records: uploaded files, imports with their progress and
//! counts, their problems and changes, and the remembered column mappings.

use sqlx::AnyConnection;

use super::apply::{Change, Counts};
use super::mapping::Mapping;
use super::model::Problem;
use crate::db::{Db, new_id};

/// Problems and changes kept per import; beyond that they are only counted,
/// so that a broken file of a million lines cannot fill the database.
pub const MAX_LISTED: i64 = 1000;

/// An uploaded file, decoded to text.
#[derive(Debug, Clone)]
pub struct StoredFile {
    pub id: String,
    pub format: String,
    pub file_name: String,
    pub content: String,
    pub created_by: String,
    pub created_at: i64,
}

pub async fn create_file(
    db: &Db,
    format: &str,
    file_name: &str,
    content: &str,
    by: &str,
) -> Result<String, sqlx::Error> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO import_files (id, format, file_name, content, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&id)
    .bind(format)
    .bind(file_name)
    .bind(content)
    .bind(by)
    .bind(crate::db::now())
    .execute(db.pool())
    .await?;
    Ok(id)
}

pub async fn find_file(db: &Db, id: &str) -> Result<Option<StoredFile>, sqlx::Error> {
    let row: Option<(String, String, String, String, String, i64)> =
        sqlx::query_as("SELECT id, format, file_name, content, created_by, created_at FROM import_files WHERE id = $1")
            .bind(id)
            .fetch_optional(db.pool())
            .await?;
    Ok(row.map(|(id, format, file_name, content, created_by, created_at)| StoredFile {
        id,
        format,
        file_name,
        content,
        created_by,
        created_at,
    }))
}

/// An import as stored.
#[derive(Debug, Clone)]
pub struct ImportRow {
    pub id: String,
    pub file_id: Option<String>,
    pub format: String,
    pub file_name: String,
    pub source: String,
    pub mapping: Option<String>,
    pub dry_run: bool,
    pub status: String,
    pub records: i64,
    pub processed: i64,
    pub position: i64,
    pub attempts: i64,
    pub customers: Counts,
    pub contracts: Counts,
    pub problem_count: i64,
    pub change_count: i64,
    pub failure: Option<String>,
    pub actor_id: String,
    pub actor_name: String,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

const COLUMNS: &str = "id, file_id, format, file_name, source, mapping, dry_run, status, records, processed, position, \
     attempts, customers_created, customers_updated, customers_unchanged, contracts_created, contracts_updated, \
     contracts_unchanged, problem_count, change_count, failure, actor_id, actor_name, created_at, finished_at";

fn from_row(row: sqlx::any::AnyRow) -> Result<ImportRow, sqlx::Error> {
    use sqlx::Row;
    let counts = |a: usize| -> Result<Counts, sqlx::Error> {
        Ok(Counts { created: row.try_get(a)?, updated: row.try_get(a + 1)?, unchanged: row.try_get(a + 2)? })
    };
    Ok(ImportRow {
        id: row.try_get(0)?,
        file_id: row.try_get(1)?,
        format: row.try_get(2)?,
        file_name: row.try_get(3)?,
        source: row.try_get(4)?,
        mapping: row.try_get(5)?,
        dry_run: row.try_get::<i64, _>(6)? == 1,
        status: row.try_get(7)?,
        records: row.try_get(8)?,
        processed: row.try_get(9)?,
        position: row.try_get(10)?,
        attempts: row.try_get(11)?,
        customers: counts(12)?,
        contracts: counts(15)?,
        problem_count: row.try_get(18)?,
        change_count: row.try_get(19)?,
        failure: row.try_get(20)?,
        actor_id: row.try_get(21)?,
        actor_name: row.try_get(22)?,
        created_at: row.try_get(23)?,
        finished_at: row.try_get(24)?,
    })
}

pub struct NewImport<'a> {
    pub file_id: &'a str,
    pub format: &'a str,
    pub file_name: &'a str,
    pub source: &'a str,
    pub mapping: Option<&'a Mapping>,
    pub dry_run: bool,
    pub records: i64,
    pub actor_id: &'a str,
    pub actor_name: &'a str,
}

pub async fn create(db: &Db, import: &NewImport<'_>) -> Result<String, sqlx::Error> {
    let id = new_id();
    let mapping = import.mapping.map(|m| serde_json::to_string(m).unwrap_or_default());
    sqlx::query(
        "INSERT INTO imports (id, file_id, format, file_name, source, mapping, dry_run, status, records, actor_id, \
           actor_name, created_at, confirmed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'queued', $8, $9, $10, $11, $12)",
    )
    .bind(&id)
    .bind(import.file_id)
    .bind(import.format)
    .bind(import.file_name)
    .bind(import.source)
    .bind(mapping)
    .bind(i64::from(import.dry_run))
    .bind(import.records)
    .bind(import.actor_id)
    .bind(import.actor_name)
    .bind(crate::db::now())
    .bind((!import.dry_run).then(crate::db::now))
    .execute(db.pool())
    .await?;
    Ok(id)
}

pub async fn find(db: &Db, id: &str) -> Result<Option<ImportRow>, sqlx::Error> {
    let row =
        sqlx::query(&format!("SELECT {COLUMNS} FROM imports WHERE id = $1")).bind(id).fetch_optional(db.pool()).await?;
    row.map(from_row).transpose()
}

/// The newest imports first.
pub async fn list(db: &Db, limit: i64) -> Result<Vec<ImportRow>, sqlx::Error> {
    let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM imports ORDER BY created_at DESC, id DESC LIMIT $1"))
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    rows.into_iter().map(from_row).collect()
}

pub async fn problems(db: &Db, id: &str, limit: i64) -> Result<Vec<Problem>, sqlx::Error> {
    let rows: Vec<(i64, String, String)> =
        sqlx::query_as("SELECT line, record, message FROM import_problems WHERE import_id = $1 ORDER BY seq LIMIT $2")
            .bind(id)
            .bind(limit)
            .fetch_all(db.pool())
            .await?;
    Ok(rows.into_iter().map(|(line, record, message)| Problem { line, record, message }).collect())
}

pub async fn changes(db: &Db, id: &str, limit: i64) -> Result<Vec<Change>, sqlx::Error> {
    let rows: Vec<(i64, String, String)> =
        sqlx::query_as("SELECT line, subject, detail FROM import_changes WHERE import_id = $1 ORDER BY seq LIMIT $2")
            .bind(id)
            .bind(limit)
            .fetch_all(db.pool())
            .await?;
    Ok(rows.into_iter().map(|(line, subject, detail)| Change { line, subject, detail }).collect())
}

/// A worker that has written nothing for this long is taken to have died.
pub const STALE_SECS: i64 = 60;

/// Claims the oldest queued import, or one whose worker died, unless another
/// worker is busy: imports run one at a time, so two files never race to
/// create the same customer.
pub async fn claim_next(db: &Db, now: i64) -> Result<Option<ImportRow>, sqlx::Error> {
    let stale = now - STALE_SECS;
    let candidate: Option<String> = sqlx::query_scalar(
        "SELECT id FROM imports WHERE (status = 'queued' OR (status = 'running' AND heartbeat_at < $1)) \
           AND NOT EXISTS (SELECT 1 FROM imports busy WHERE busy.status = 'running' AND busy.heartbeat_at >= $1) \
         ORDER BY created_at, id LIMIT 1",
    )
    .bind(stale)
    .fetch_optional(db.pool())
    .await?;
    let Some(id) = candidate else { return Ok(None) };
    let claimed = sqlx::query(
        "UPDATE imports SET status = 'running', heartbeat_at = $1, attempts = attempts + 1, \
           started_at = COALESCE(started_at, $1) \
         WHERE id = $2 AND (status = 'queued' OR (status = 'running' AND heartbeat_at < $3))",
    )
    .bind(now)
    .bind(&id)
    .bind(stale)
    .execute(db.pool())
    .await?;
    if claimed.rows_affected() == 1 { find(db, &id).await } else { Ok(None) }
}

/// A dry run keeps nothing between attempts: it starts again from the top.
pub async fn reset(db: &Db, id: &str) -> Result<(), sqlx::Error> {
    let mut tx = db.pool().begin().await?;
    sqlx::query("DELETE FROM import_problems WHERE import_id = $1").bind(id).execute(&mut *tx).await?;
    sqlx::query("DELETE FROM import_changes WHERE import_id = $1").bind(id).execute(&mut *tx).await?;
    sqlx::query(
        "UPDATE imports SET position = 0, processed = 0, customers_created = 0, customers_updated = 0, \
           customers_unchanged = 0, contracts_created = 0, contracts_updated = 0, contracts_unchanged = 0, \
           problem_count = 0, change_count = 0 WHERE id = $1",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// Where the run stands after a batch; written in the batch's transaction.
pub struct Progress<'a> {
    pub position: i64,
    pub processed: i64,
    pub customers: Counts,
    pub contracts: Counts,
    pub problems: &'a [Problem],
    pub changes: &'a [Change],
}

pub async fn save_progress(
    conn: &mut AnyConnection,
    row: &mut ImportRow,
    progress: Progress<'_>,
    now: i64,
) -> Result<(), sqlx::Error> {
    let listed = |count: i64, len: usize| (MAX_LISTED - count).clamp(0, len as i64) as usize;
    let problems = &progress.problems[..listed(row.problem_count, progress.problems.len())];
    for chunk in problems.chunks(200) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| format!("($1, ${}, ${}, ${}, ${})", i * 4 + 2, i * 4 + 3, i * 4 + 4, i * 4 + 5))
            .collect();
        let sql =
            format!("INSERT INTO import_problems (import_id, seq, line, record, message) VALUES {}", values.join(", "));
        let mut query = sqlx::query(&sql).bind(&row.id);
        for (n, problem) in chunk.iter().enumerate() {
            query = query
                .bind(row.problem_count + n as i64)
                .bind(problem.line)
                .bind(&problem.record)
                .bind(&problem.message);
        }
        query.execute(&mut *conn).await?;
        row.problem_count += chunk.len() as i64;
    }
    row.problem_count += (progress.problems.len() - problems.len()) as i64;
    let changes = &progress.changes[..listed(row.change_count, progress.changes.len())];
    for chunk in changes.chunks(200) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| format!("($1, ${}, ${}, ${}, ${})", i * 4 + 2, i * 4 + 3, i * 4 + 4, i * 4 + 5))
            .collect();
        let sql =
            format!("INSERT INTO import_changes (import_id, seq, line, subject, detail) VALUES {}", values.join(", "));
        let mut query = sqlx::query(&sql).bind(&row.id);
        for (n, change) in chunk.iter().enumerate() {
            query =
                query.bind(row.change_count + n as i64).bind(change.line).bind(&change.subject).bind(&change.detail);
        }
        query.execute(&mut *conn).await?;
        row.change_count += chunk.len() as i64;
    }
    row.change_count += (progress.changes.len() - changes.len()) as i64;
    sqlx::query(
        "UPDATE imports SET position = $1, processed = $2, customers_created = $3, customers_updated = $4, \
           customers_unchanged = $5, contracts_created = $6, contracts_updated = $7, contracts_unchanged = $8, \
           problem_count = $9, change_count = $10, heartbeat_at = $11 WHERE id = $12",
    )
    .bind(progress.position)
    .bind(progress.processed)
    .bind(progress.customers.created)
    .bind(progress.customers.updated)
    .bind(progress.customers.unchanged)
    .bind(progress.contracts.created)
    .bind(progress.contracts.updated)
    .bind(progress.contracts.unchanged)
    .bind(row.problem_count)
    .bind(row.change_count)
    .bind(now)
    .bind(&row.id)
    .execute(&mut *conn)
    .await?;
    row.position = progress.position;
    row.processed = progress.processed;
    row.customers = progress.customers;
    row.contracts = progress.contracts;
    Ok(())
}

/// Ends a run. A real run's file is deleted with it: the data is in the
/// portal now, and the file holds personal data no one needs any more.
pub async fn finish(db: &Db, row: &ImportRow, status: &str, failure: Option<&str>) -> Result<(), sqlx::Error> {
    let mut tx = db.pool().begin().await?;
    sqlx::query("UPDATE imports SET status = $1, failure = $2, finished_at = $3, heartbeat_at = NULL WHERE id = $4")
        .bind(status)
        .bind(failure)
        .bind(crate::db::now())
        .bind(&row.id)
        .execute(&mut *tx)
        .await?;
    if !row.dry_run || status == "failed" {
        drop_file(&mut tx, row).await?;
    }
    tx.commit().await
}

async fn drop_file(conn: &mut AnyConnection, row: &ImportRow) -> Result<(), sqlx::Error> {
    if let Some(file_id) = &row.file_id {
        sqlx::query("UPDATE imports SET file_id = NULL WHERE id = $1").bind(&row.id).execute(&mut *conn).await?;
        sqlx::query("DELETE FROM import_files WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM imports WHERE file_id = $1)")
            .bind(file_id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Turns a finished preview into the real run; false if it is no such preview.
pub async fn confirm(db: &Db, id: &str) -> Result<bool, sqlx::Error> {
    let mut tx = db.pool().begin().await?;
    let confirmed = sqlx::query(
        "UPDATE imports SET dry_run = 0, status = 'queued', confirmed_at = $1, position = 0, processed = 0, \
           attempts = 0, customers_created = 0, customers_updated = 0, customers_unchanged = 0, contracts_created = 0, \
           contracts_updated = 0, contracts_unchanged = 0, problem_count = 0, change_count = 0, finished_at = NULL \
         WHERE id = $2 AND dry_run = 1 AND status = 'done' AND file_id IS NOT NULL",
    )
    .bind(crate::db::now())
    .bind(id)
    .execute(&mut *tx)
    .await?;
    if confirmed.rows_affected() != 1 {
        return Ok(false);
    }
    sqlx::query("DELETE FROM import_problems WHERE import_id = $1").bind(id).execute(&mut *tx).await?;
    sqlx::query("DELETE FROM import_changes WHERE import_id = $1").bind(id).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(true)
}

/// Removes a preview the broker does not want, with its file.
pub async fn discard(db: &Db, id: &str) -> Result<bool, sqlx::Error> {
    let Some(row) = find(db, id).await?.filter(|r| r.dry_run && r.status != "running") else { return Ok(false) };
    let mut tx = db.pool().begin().await?;
    drop_file(&mut tx, &row).await?;
    sqlx::query("DELETE FROM import_problems WHERE import_id = $1").bind(id).execute(&mut *tx).await?;
    sqlx::query("DELETE FROM import_changes WHERE import_id = $1").bind(id).execute(&mut *tx).await?;
    sqlx::query("DELETE FROM imports WHERE id = $1").bind(id).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(true)
}

/// Files of previews never confirmed, and uploads never mapped, are kept a day.
pub const KEEP_UNCONFIRMED_SECS: i64 = 24 * 60 * 60;

pub async fn purge_expired(db: &Db, now: i64) -> Result<(), sqlx::Error> {
    let before = now - KEEP_UNCONFIRMED_SECS;
    let mut tx = db.pool().begin().await?;
    sqlx::query(
        "UPDATE imports SET file_id = NULL WHERE dry_run = 1 AND status IN ('done', 'failed') AND created_at < $1",
    )
    .bind(before)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "DELETE FROM import_files WHERE created_at < $1 AND NOT EXISTS (SELECT 1 FROM imports i WHERE i.file_id = import_files.id)",
    )
    .bind(before)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

pub async fn remembered_mapping(db: &Db, source: &str) -> Result<Option<Mapping>, sqlx::Error> {
    let json: Option<String> = sqlx::query_scalar("SELECT mapping FROM import_mappings WHERE source = $1")
        .bind(source.trim().to_lowercase())
        .fetch_optional(db.pool())
        .await?;
    Ok(json.and_then(|j| serde_json::from_str(&j).ok()))
}

pub async fn remember_mapping(db: &Db, source: &str, mapping: &Mapping) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO import_mappings (source, mapping, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (source) DO UPDATE SET mapping = $2, updated_at = $3",
    )
    .bind(source.trim().to_lowercase())
    .bind(serde_json::to_string(mapping).unwrap_or_default())
    .bind(crate::db::now())
    .execute(db.pool())
    .await?;
    Ok(())
}

/// The sources mapped before, for the upload form's suggestions.
pub async fn sources(db: &Db) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT DISTINCT source FROM imports WHERE source <> '' ORDER BY source")
        .fetch_all(db.pool())
        .await
}
