//! The background job: claims the next queued import (or one whose worker
//! died), reads its file unit by unit and applies it in batches. Each batch is
//! one transaction that also moves the import's position, so after a crash or
//! restart the run resumes after the last committed batch: nothing is applied
//! twice, nothing is lost. A dry run writes only its report and, interrupted,
//! starts again from the top.

use std::time::Duration;

use anyhow::Context;

use super::apply::{Counts, Session};
use super::csv;
use super::gdv::GdvReader;
use super::mapping::{Mapping, TableReader};
use super::model::{Item, Problem, Units};
use super::store::{self, ImportRow, Progress};
use super::{Format, Importer};
use crate::audit::{self, Actor};
use crate::db::now;

/// Items per transaction: large enough for multi-row statements to pay off,
/// small enough that a batch holds the database briefly.
const BATCH_ITEMS: usize = 500;

/// A run that failed this often (not by crashing) is given up.
const MAX_ATTEMPTS: i64 = 3;

pub(super) async fn work(importer: Importer) {
    let mut last_purge = 0;
    loop {
        let at = now();
        if at - last_purge > 3600 {
            if let Err(err) = store::purge_expired(importer.db(), at).await {
                tracing::warn!(error = %err, "purging expired import files failed");
            }
            last_purge = at;
        }
        match store::claim_next(importer.db(), at).await {
            Ok(Some(row)) => {
                let id = row.id.clone();
                let attempts = row.attempts;
                if let Err(err) = run(&importer, row).await {
                    tracing::error!(import = %id, error = format!("{err:#}"), "import failed");
                    if let Err(err) = after_error(&importer, &id, attempts).await {
                        tracing::error!(import = %id, error = %err, "recording the import's failure failed");
                    }
                }
                continue;
            }
            Ok(None) => {}
            Err(err) => tracing::warn!(error = %err, "claiming an import failed"),
        }
        tokio::select! {
            () = importer.inner.wake.notified() => {}
            () = tokio::time::sleep(Duration::from_secs(2)) => {}
        }
    }
}

/// Retries soon (resuming from the last batch), or gives up after a few tries.
async fn after_error(importer: &Importer, id: &str, attempts: i64) -> Result<(), sqlx::Error> {
    let Some(row) = store::find(importer.db(), id).await? else { return Ok(()) };
    if attempts >= MAX_ATTEMPTS {
        let message = "Der Import wurde nach mehreren Versuchen abgebrochen. Bereits übernommene Daten bleiben erhalten; \
                       laden Sie die Datei erneut hoch, um den Rest zu übernehmen.";
        store::finish(importer.db(), &row, "failed", Some(message)).await?;
        if !row.dry_run {
            record_finished(importer, &row, "import_failed").await?;
        }
        return Ok(());
    }
    sqlx::query("UPDATE imports SET heartbeat_at = $1 WHERE id = $2 AND status = 'running'")
        .bind(now() - store::STALE_SECS + 5)
        .bind(id)
        .execute(importer.db().pool())
        .await?;
    Ok(())
}

async fn run(importer: &Importer, mut row: ImportRow) -> anyhow::Result<()> {
    let db = importer.db();
    if row.dry_run && row.position > 0 {
        store::reset(db, &row.id).await?;
        row = store::find(db, &row.id).await?.context("import vanished")?;
    }
    let file = match &row.file_id {
        Some(file_id) => store::find_file(db, file_id).await?,
        None => None,
    };
    let Some(file) = file else {
        store::finish(
            db,
            &row,
            "failed",
            Some("Die Datei dieses Imports ist nicht mehr vorhanden; bitte laden Sie sie erneut hoch."),
        )
        .await?;
        return Ok(());
    };
    let room = match (importer.inner.plan)().limits().max_contacts {
        Some(max) => Some(max - crate::customers::contact_count(db).await?),
        None => None,
    };
    let mut conn = db.pool().acquire().await?;
    let mut session = Session::start(&mut conn, row.dry_run, room).await?;
    drop(conn);
    let base = (row.customers, row.contracts);
    let format = Format::parse(&row.format).unwrap_or(Format::Gdv);
    let mut reader: Box<dyn Units + Send + '_> = match format {
        Format::Gdv => Box::new(GdvReader::new(&file.content)),
        Format::Csv | Format::Xlsx => {
            let rows = csv::parse(&file.content, csv::detect_separator(&file.content))?;
            let mapping: Mapping =
                serde_json::from_str(row.mapping.as_deref().unwrap_or("{}")).context("stored mapping")?;
            Box::new(TableReader::new(rows, &mapping, format.as_str()))
        }
    };
    let resume_at = row.position;
    let mut items: Vec<Item> = Vec::new();
    let mut problems: Vec<Problem> = Vec::new();
    let mut processed = row.processed;
    let mut position = row.position;
    loop {
        let unit = reader.next_unit();
        let last = unit.is_none();
        if let Some(unit) = unit {
            if (unit.end as i64) <= resume_at {
                continue;
            }
            processed += unit.records as i64;
            position = unit.end as i64;
            items.extend(unit.items);
            problems.extend(unit.problems);
        }
        if last || items.len() >= BATCH_ITEMS || problems.len() >= BATCH_ITEMS {
            let at = now();
            let started = std::time::Instant::now();
            let count = items.len();
            let mut tx = db.pool().begin().await?;
            if db.backend() == crate::db::Backend::Postgres {
                // The identity lookups are `IN (…)` lists against tables this run is
                // filling: a cached generic plan, made while they were small, scans
                // them whole. Plan each lookup for its values instead.
                sqlx::query("SET LOCAL plan_cache_mode = force_custom_plan").execute(&mut *tx).await?;
            }
            let report = session.apply(&mut tx, std::mem::take(&mut items), at).await?;
            let applied = started.elapsed();
            let mut all = std::mem::take(&mut problems);
            all.extend(report.problems);
            all.sort_by_key(|p| p.line);
            let progress = Progress {
                position,
                processed,
                customers: add(base.0, session.customer_counts),
                contracts: add(base.1, session.contract_counts),
                problems: &all,
                changes: &report.changes,
            };
            store::save_progress(&mut tx, &mut row, progress, at).await?;
            tx.commit().await?;
            tracing::debug!(import = %row.id, items = count, applied_ms = applied.as_millis() as u64,
                total_ms = started.elapsed().as_millis() as u64, "import batch written");
        }
        if last {
            break;
        }
    }
    store::finish(db, &row, "done", None).await?;
    if !row.dry_run {
        record_finished(importer, &row, "import_finished").await?;
    }
    Ok(())
}

fn add(a: Counts, b: Counts) -> Counts {
    Counts { created: a.created + b.created, updated: a.updated + b.updated, unchanged: a.unchanged + b.unchanged }
}

async fn record_finished(importer: &Importer, row: &ImportRow, action: &str) -> Result<(), sqlx::Error> {
    let row = store::find(importer.db(), &row.id).await?.unwrap_or_else(|| row.clone());
    let format = Format::parse(&row.format).unwrap_or(Format::Gdv);
    let detail = format!(
        "{} „{}“: Kunden {} neu, {} geändert, {} unverändert; Verträge {} neu, {} geändert, {} unverändert; {} Probleme.",
        format.label(),
        row.file_name,
        row.customers.created,
        row.customers.updated,
        row.customers.unchanged,
        row.contracts.created,
        row.contracts.updated,
        row.contracts.unchanged,
        row.problem_count
    );
    let actor = Actor { id: row.actor_id.clone(), name: row.actor_name.clone() };
    audit::record(importer.db(), &actor, action, &format!("import:{}", row.id), &detail).await
}
