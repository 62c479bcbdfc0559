//! File imports: an insurer's GDV VU-Vermittler file, or a CSV or Excel export
//! of the broker's management program, becomes customers and contracts.
//!
//! Every format is read into the same items (`model`), and one set of rules
//! (`apply`) decides who the customer is, which contract it is and what
//! changed. A run is a preview first (a dry run that writes nothing but its
//! report); once confirmed it runs again for real, as a background job
//! (`runner`) that writes in batches, each in one transaction with the job's
//! position, so that a run cut short by a crash or restart goes on where it
//! stood (docs/integrations.md, "File import").

pub mod apply;
mod csv;
pub mod gdv;
pub mod mapping;
pub mod model;
mod rows;
mod runner;
mod sparten;
pub mod store;
mod text;
mod xlsx;

use std::sync::Arc;

pub use apply::{Change, Counts};
pub use mapping::{Field, Mapping};
pub use model::Problem;

use crate::audit::{self, Actor};
use crate::db::Db;
use crate::plans::Plan;

/// The kinds of file accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Gdv,
    Csv,
    Xlsx,
}

impl Format {
    pub const ALL: [Format; 3] = [Format::Gdv, Format::Csv, Format::Xlsx];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Gdv => "gdv",
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
    }

    pub fn parse(text: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.as_str() == text)
    }

    pub fn label(self) -> &'static str {
        match self {
            Format::Gdv => "GDV-Datei",
            Format::Csv => "CSV-Datei",
            Format::Xlsx => "Excel-Datei",
        }
    }

    /// CSV and Excel need columns assigned to fields; GDV has its layout.
    pub fn needs_mapping(self) -> bool {
        self != Format::Gdv
    }
}

/// Where an import stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Queued,
    Running,
    Done,
    Failed,
}

impl Status {
    fn parse(text: &str) -> Status {
        match text {
            "running" => Status::Running,
            "done" => Status::Done,
            "failed" => Status::Failed,
            _ => Status::Queued,
        }
    }
}

/// An import's state as the API shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ImportState {
    pub id: String,
    pub format: Format,
    pub file_name: String,
    /// A preview: counts say what the run would do; nothing was written.
    pub dry_run: bool,
    /// Records (GDV lines, CSV/Excel rows) in the file, and how many are done.
    pub records: i64,
    pub processed: i64,
    pub status: Status,
    pub customers: Counts,
    pub contracts: Counts,
    /// The first problems (at most [`store::MAX_LISTED`]); `problem_count` counts all.
    pub problems: Vec<Problem>,
    pub problem_count: i64,
}

/// Why a file is refused before any import starts; the text is for the broker.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("Die Datei ist leer.")]
    Empty,
    #[error("Die Datei ist zu groß (höchstens {0} MB).")]
    TooLarge(usize),
    #[error(
        "Diese Datei ist keine GDV-Datei: Jede Zeile einer GDV-Datei beginnt mit einer vierstelligen Satzart, die erste mit dem Vorsatz 0001."
    )]
    NotGdv,
    #[error("Der Datei fehlt der Vorsatz (Satzart 0001); ohne ihn ist sie keine GDV-Datei und wurde nicht eingelesen.")]
    NoGdvHeader,
    #[error("{0}")]
    Unreadable(String),
    #[error("{0}")]
    Mapping(String),
    #[error("Für eine CSV- oder Excel-Datei fehlt die Zuordnung der Spalten.")]
    MappingRequired,
    #[error("Dieser Import ist nicht mehr vorhanden.")]
    NotFound,
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

/// A file handed to an import.
#[derive(Debug, Clone)]
pub struct Submission {
    pub format: Format,
    pub file_name: String,
    pub bytes: Vec<u8>,
    /// CSV and Excel: which column fills which field.
    pub mapping: Option<Mapping>,
    /// CSV and Excel: the MVP or export the file came from; its mapping is remembered.
    pub source: String,
    /// Only preview: count and report, write nothing.
    pub dry_run: bool,
}

/// A CSV or Excel file waiting for its mapping: the first rows and a proposal.
#[derive(Debug, Clone)]
pub struct TablePreview {
    pub file_id: String,
    pub format: Format,
    pub file_name: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub proposal: Mapping,
}

/// Rows shown in the mapping step.
const PREVIEW_ROWS: usize = 5;

/// Starts imports and runs them in the background, one at a time per portal.
#[derive(Clone)]
pub struct Importer {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    wake: tokio::sync::Notify,
    max_file_bytes: usize,
    plan: Box<dyn Fn() -> Plan + Send + Sync>,
}

impl std::fmt::Debug for Importer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Importer").field("max_file_bytes", &self.inner.max_file_bytes).finish_non_exhaustive()
    }
}

impl Importer {
    /// `plan` tells the tenant's current plan, whose contact limit a run keeps.
    pub fn new(db: Db, max_file_bytes: usize, plan: impl Fn() -> Plan + Send + Sync + 'static) -> Importer {
        Importer {
            inner: Arc::new(Inner { db, wake: tokio::sync::Notify::new(), max_file_bytes, plan: Box::new(plan) }),
        }
    }

    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    pub fn max_file_bytes(&self) -> usize {
        self.inner.max_file_bytes
    }

    /// Starts the background worker (where a runtime runs); abort it to stop.
    pub fn start_worker(&self) -> Option<tokio::task::AbortHandle> {
        let handle = tokio::runtime::Handle::try_current().ok()?;
        Some(handle.spawn(runner::work(self.clone())).abort_handle())
    }

    fn wake(&self) {
        self.inner.wake.notify_one();
    }

    fn check_size(&self, bytes: &[u8]) -> Result<(), ImportError> {
        if bytes.is_empty() {
            return Err(ImportError::Empty);
        }
        if bytes.len() > self.inner.max_file_bytes {
            return Err(ImportError::TooLarge(self.inner.max_file_bytes / (1024 * 1024)));
        }
        Ok(())
    }

    /// The programmatic entry point: checks the file and queues its import (a
    /// preview with `dry_run`); returns the import's id. CSV and Excel files
    /// need a mapping. Refusals are [`ImportError`]s worded for the broker.
    pub async fn submit(&self, submission: Submission, actor: &Actor) -> Result<String, ImportError> {
        self.check_size(&submission.bytes)?;
        let file_name = crate::uploads::clean_file_name(&submission.file_name);
        let (content, records) = match submission.format {
            Format::Gdv => {
                let content = gdv::decode(&submission.bytes);
                let records = gdv::check(&content)?;
                (content, records)
            }
            format => {
                let mapping = submission.mapping.as_ref().ok_or(ImportError::MappingRequired)?;
                let content = table_text(format, &submission.bytes)?;
                let (headers, records) = table_shape(&content)?;
                mapping.check(&headers)?;
                (content, records)
            }
        };
        let db = self.db();
        let file_id = store::create_file(db, submission.format.as_str(), &file_name, &content, &actor.id).await?;
        if let (Some(mapping), false) = (&submission.mapping, submission.source.trim().is_empty()) {
            store::remember_mapping(db, &submission.source, mapping).await?;
        }
        let id = store::create(
            db,
            &store::NewImport {
                file_id: &file_id,
                format: submission.format.as_str(),
                file_name: &file_name,
                source: submission.source.trim(),
                mapping: submission.mapping.as_ref(),
                dry_run: submission.dry_run,
                records: records as i64,
                actor_id: &actor.id,
                actor_name: &actor.name,
            },
        )
        .await?;
        if !submission.dry_run {
            audit::record(
                db,
                actor,
                "import_started",
                &format!("import:{id}"),
                &started_detail(submission.format, &file_name),
            )
            .await?;
        }
        self.wake();
        Ok(id)
    }

    /// The first step for CSV and Excel in the portal: keeps the file until its
    /// columns are assigned; returns the file's id.
    pub async fn upload_table(
        &self,
        format: Format,
        file_name: &str,
        bytes: &[u8],
        actor: &Actor,
    ) -> Result<String, ImportError> {
        self.check_size(bytes)?;
        let content = table_text(format, bytes)?;
        table_shape(&content)?;
        let file_name = crate::uploads::clean_file_name(file_name);
        Ok(store::create_file(self.db(), format.as_str(), &file_name, &content, &actor.id).await?)
    }

    /// A waiting table's first rows and the mapping proposed for `source`.
    pub async fn table_preview(&self, file_id: &str, source: &str) -> Result<Option<TablePreview>, ImportError> {
        let Some(file) = store::find_file(self.db(), file_id).await? else { return Ok(None) };
        let Some(format) = Format::parse(&file.format).filter(|f| f.needs_mapping()) else { return Ok(None) };
        let mut rows = csv::parse(&file.content, csv::detect_separator(&file.content))?.into_iter().map(|r| r.cells);
        let headers: Vec<String> = rows.next().unwrap_or_default().iter().map(|h| h.trim().to_owned()).collect();
        let remembered = store::remembered_mapping(self.db(), source).await?;
        Ok(Some(TablePreview {
            file_id: file.id,
            format,
            file_name: file.file_name,
            proposal: Mapping::propose(&headers, remembered.as_ref()),
            headers,
            rows: rows.take(PREVIEW_ROWS).collect(),
        }))
    }

    /// Queues the preview of a waiting table with the broker's mapping, and
    /// remembers the mapping for the source.
    pub async fn start_mapped(
        &self,
        file_id: &str,
        source: &str,
        mapping: &Mapping,
        actor: &Actor,
    ) -> Result<String, ImportError> {
        let db = self.db();
        let file = store::find_file(db, file_id).await?.ok_or(ImportError::NotFound)?;
        let format = Format::parse(&file.format).filter(|f| f.needs_mapping()).ok_or(ImportError::NotFound)?;
        let (headers, records) = table_shape(&file.content)?;
        mapping.check(&headers)?;
        if !source.trim().is_empty() {
            store::remember_mapping(db, source, mapping).await?;
        }
        let id = store::create(
            db,
            &store::NewImport {
                file_id: &file.id,
                format: format.as_str(),
                file_name: &file.file_name,
                source: source.trim(),
                mapping: Some(mapping),
                dry_run: true,
                records: records as i64,
                actor_id: &actor.id,
                actor_name: &actor.name,
            },
        )
        .await?;
        self.wake();
        Ok(id)
    }

    /// Confirms a finished preview: it runs again, for real. False if the
    /// import is no finished preview (or its file has expired).
    pub async fn confirm(&self, id: &str, actor: &Actor) -> Result<bool, sqlx::Error> {
        let Some(row) = store::find(self.db(), id).await? else { return Ok(false) };
        if !store::confirm(self.db(), id).await? {
            return Ok(false);
        }
        let format = Format::parse(&row.format).unwrap_or(Format::Gdv);
        audit::record(
            self.db(),
            actor,
            "import_started",
            &format!("import:{id}"),
            &started_detail(format, &row.file_name),
        )
        .await?;
        self.wake();
        Ok(true)
    }

    /// Drops a preview and its file.
    pub async fn discard(&self, id: &str) -> Result<bool, sqlx::Error> {
        store::discard(self.db(), id).await
    }
}

fn started_detail(format: Format, file_name: &str) -> String {
    format!("{} „{file_name}“ wird importiert.", format.label())
}

/// A CSV's or Excel sheet's text as kept until the import has run.
fn table_text(format: Format, bytes: &[u8]) -> Result<String, ImportError> {
    match format {
        Format::Csv => Ok(text::utf8_or_windows_1252(bytes)),
        Format::Xlsx => Ok(csv::write(&xlsx::rows(bytes)?)),
        Format::Gdv => Err(ImportError::NotFound),
    }
}

/// The header row and the number of data rows; refuses a table without both.
fn table_shape(content: &str) -> Result<(Vec<String>, usize), ImportError> {
    let rows = csv::parse(content, csv::detect_separator(content))?;
    let headers: Vec<String> =
        rows.first().map(|r| r.cells.iter().map(|c| c.trim().to_owned()).collect()).unwrap_or_default();
    if rows.len() < 2 || headers.iter().all(String::is_empty) {
        return Err(ImportError::Unreadable(
            "Die Datei braucht eine Kopfzeile mit den Spaltennamen und darunter mindestens eine Zeile mit Daten."
                .into(),
        ));
    }
    Ok((headers, rows.len() - 1))
}

/// An import's state, for the API and the progress page.
pub async fn state(db: &Db, id: &str) -> Result<Option<ImportState>, sqlx::Error> {
    let Some(row) = store::find(db, id).await? else { return Ok(None) };
    let problems = store::problems(db, id, store::MAX_LISTED).await?;
    Ok(Some(ImportState {
        format: Format::parse(&row.format).unwrap_or(Format::Gdv),
        status: Status::parse(&row.status),
        id: row.id,
        file_name: row.file_name,
        dry_run: row.dry_run,
        records: row.records,
        processed: row.processed,
        customers: row.customers,
        contracts: row.contracts,
        problems,
        problem_count: row.problem_count,
    }))
}
