//! The broker's import pages: upload (GDV, CSV, Excel), the mapping step for
//! CSV and Excel, the preview with counts and problems, confirm, progress and
//! history. Every plan may import. Every POST answers with a redirect.

use std::collections::HashMap;

use axum::Extension;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::audit::Actor;
use crate::calendar;
use crate::imports::store::{self, ImportRow};
use crate::imports::{Change, Field, Format, ImportError, Mapping, Problem, Submission, TablePreview};
use crate::portal::Portal;
use crate::portal::auth::{BrokerUser, EmptyForm, SessionUser};
use crate::portal::layout::Layout;
use crate::security::csrf::{CsrfForm, CsrfToken, FormRejection, check_submitted};
use crate::web::{PageError, render, render_with_status};

pub fn routes(max_file_bytes: usize) -> Router<Portal> {
    // Twice the file limit: a file somewhat too large is read to its end (and
    // dropped on the way) so that the broker learns it is too large; memory
    // stays bounded by the file limit either way.
    let body_limit = DefaultBodyLimit::max(max_file_bytes.saturating_mul(2).saturating_add(1024 * 1024));
    Router::new()
        .route("/makler/import", get(imports_page).post(upload).layer(body_limit))
        .route("/makler/import/zuordnung/{file_id}", get(mapping_page).post(save_mapping))
        .route("/makler/import/{id}", get(import_page))
        .route("/makler/import/{id}/bestaetigen", post(confirm))
        .route("/makler/import/{id}/verwerfen", post(discard))
}

/// Imports listed in the history.
const HISTORY: i64 = 50;
/// Changes listed on an import's page.
const LISTED_CHANGES: i64 = 500;

fn actor(user: &SessionUser) -> Actor {
    Actor::user(&user.id, &user.name)
}

/// One import, as the pages show it.
pub struct ImportView {
    pub row: ImportRow,
}

impl ImportView {
    pub fn format_label(&self) -> &'static str {
        Format::parse(&self.row.format).map_or("", Format::label)
    }

    pub fn when(&self) -> String {
        calendar::berlin_time(self.row.created_at)
    }

    pub fn status_label(&self) -> &'static str {
        match (self.row.status.as_str(), self.row.dry_run) {
            ("queued", true) => "Vorschau wartet",
            ("running", true) => "Vorschau läuft",
            ("done", true) if self.row.file_id.is_some() => "Vorschau – nicht bestätigt",
            ("done", true) => "Vorschau abgelaufen",
            ("queued", false) => "wartet",
            ("running", false) => "läuft",
            ("done", false) => "abgeschlossen",
            _ => "fehlgeschlagen",
        }
    }

    pub fn busy(&self) -> bool {
        matches!(self.row.status.as_str(), "queued" | "running")
    }

    pub fn percent(&self) -> i64 {
        if self.row.records == 0 { 0 } else { (self.row.processed * 100 / self.row.records).min(100) }
    }

    pub fn can_confirm(&self) -> bool {
        self.row.dry_run && self.row.status == "done" && self.row.file_id.is_some()
    }
}

#[derive(askama::Template)]
#[template(path = "broker/imports.html")]
struct ImportsPage {
    layout: Layout,
    imports: Vec<ImportView>,
    sources: Vec<String>,
    format: String,
    source: String,
    error: Option<String>,
    notice: Option<(bool, String)>,
    max_mib: usize,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct NoticeQuery {
    hinweis: String,
}

async fn show_imports(
    portal: &Portal,
    user: &SessionUser,
    csrf: &CsrfToken,
    error: Option<String>,
    format: String,
    source: String,
    notice: Option<(bool, String)>,
) -> Result<Response, PageError> {
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    render_with_status(
        status,
        &ImportsPage {
            layout: Layout::new(portal, csrf, Some(user)),
            imports: store::list(portal.db(), HISTORY).await?.into_iter().map(|row| ImportView { row }).collect(),
            sources: store::sources(portal.db()).await?,
            format,
            source,
            error,
            notice,
            max_mib: portal.settings().max_file_bytes / (1024 * 1024),
        },
    )
}

async fn imports_page(
    State(portal): State<Portal>,
    BrokerUser(user): BrokerUser,
    Extension(csrf): Extension<CsrfToken>,
    Query(query): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    let notice = match query.hinweis.as_str() {
        "verworfen" => Some((true, "Die Vorschau wurde verworfen; es wurde nichts übernommen.".to_owned())),
        "abgelaufen" => {
            Some((false, "Diese Datei ist nicht mehr vorhanden. Bitte laden Sie sie erneut hoch.".to_owned()))
        }
        _ => None,
    };
    show_imports(&portal, &user, &csrf, None, "gdv".into(), String::new(), notice).await
}

/// The upload form: its fields and the one file, read up to the size limit.
#[derive(Default)]
struct UploadForm {
    fields: HashMap<String, String>,
    file_name: String,
    bytes: Vec<u8>,
    too_large: bool,
}

async fn read_upload(mut multipart: Multipart, max_bytes: usize) -> Option<UploadForm> {
    let mut form = UploadForm::default();
    while let Some(mut field) = multipart.next_field().await.ok()? {
        let name = field.name().unwrap_or_default().to_owned();
        match field.file_name().map(str::to_owned) {
            Some(file_name) if name == "file" => {
                form.file_name = file_name;
                while let Some(chunk) = field.chunk().await.ok()? {
                    if form.bytes.len() + chunk.len() > max_bytes {
                        form.too_large = true;
                        form.bytes = Vec::new();
                    } else if !form.too_large {
                        form.bytes.extend_from_slice(&chunk);
                    }
                }
            }
            Some(_) => {}
            None => {
                form.fields.insert(name, field.text().await.ok()?);
            }
        }
    }
    Some(form)
}

async fn upload(
    State(portal): State<Portal>,
    BrokerUser(user): BrokerUser,
    Extension(csrf): Extension<CsrfToken>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Result<Response, PageError> {
    let max = portal.settings().max_file_bytes;
    let Some(form) = read_upload(multipart, max).await else {
        let error = format!(
            "Die Datei konnte nicht gelesen werden. Ist sie größer als {} MB? Bitte versuchen Sie es erneut.",
            max / (1024 * 1024)
        );
        return show_imports(&portal, &user, &csrf, Some(error), "gdv".into(), String::new(), None).await;
    };
    let field = |name: &str| form.fields.get(name).map(|v| v.trim().to_owned()).unwrap_or_default();
    if !check_submitted(&headers, &csrf, &field("_csrf")) {
        return Ok(FormRejection::Csrf.into_response());
    }
    let (format_text, source) = (field("format"), field("source"));
    let refused =
        |error: String| show_imports(&portal, &user, &csrf, Some(error), format_text.clone(), source.clone(), None);
    let Some(format) = Format::parse(&format_text) else {
        return refused("Bitte wählen Sie, welche Art von Datei Sie hochladen.".into()).await;
    };
    if form.too_large {
        return refused(ImportError::TooLarge(max / (1024 * 1024)).to_string()).await;
    }
    if form.bytes.is_empty() {
        return refused("Bitte wählen Sie eine Datei aus.".into()).await;
    }
    if source.chars().count() > 100 {
        return refused("Der Name der Quelle ist zu lang (höchstens 100 Zeichen).".into()).await;
    }
    let importer = portal.importer();
    let result = if format.needs_mapping() {
        importer.upload_table(format, &form.file_name, &form.bytes, &actor(&user)).await.map(|file_id| {
            let quelle: String = url::form_urlencoded::byte_serialize(source.as_bytes()).collect();
            format!("/makler/import/zuordnung/{file_id}?quelle={quelle}")
        })
    } else {
        let submission = Submission {
            format,
            file_name: form.file_name.clone(),
            bytes: form.bytes,
            mapping: None,
            source: String::new(),
            dry_run: true,
        };
        importer.submit(submission, &actor(&user)).await.map(|id| format!("/makler/import/{id}"))
    };
    match result {
        Ok(location) => Ok(Redirect::to(&location).into_response()),
        Err(ImportError::Database(err)) => Err(err.into()),
        Err(refusal) => refused(refusal.to_string()).await,
    }
}

#[derive(askama::Template)]
#[template(path = "broker/import_mapping.html")]
struct MappingPage {
    layout: Layout,
    preview: TablePreview,
    source: String,
    /// The columns chosen (or proposed), by field key.
    chosen: HashMap<String, String>,
    error: Option<String>,
}

impl MappingPage {
    fn fields(&self) -> [Field; 22] {
        Field::ALL
    }

    fn chosen(&self, field: &Field, column: &str) -> bool {
        self.chosen.get(field.key()).is_some_and(|c| c == column)
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct MappingQuery {
    quelle: String,
}

async fn mapping_page(
    State(portal): State<Portal>,
    BrokerUser(user): BrokerUser,
    Extension(csrf): Extension<CsrfToken>,
    Path(file_id): Path<String>,
    Query(query): Query<MappingQuery>,
) -> Result<Response, PageError> {
    let preview = match portal.importer().table_preview(&file_id, &query.quelle).await {
        Ok(Some(preview)) => preview,
        Ok(None) => return Ok(Redirect::to("/makler/import?hinweis=abgelaufen").into_response()),
        Err(ImportError::Database(err)) => return Err(err.into()),
        Err(_) => return Err(PageError::NotFound),
    };
    let chosen = preview.proposal.0.iter().map(|(f, c)| (f.key().to_owned(), c.clone())).collect();
    render(&MappingPage {
        layout: Layout::new(&portal, &csrf, Some(&user)),
        preview,
        source: query.quelle,
        chosen,
        error: None,
    })
}

async fn save_mapping(
    State(portal): State<Portal>,
    BrokerUser(user): BrokerUser,
    Extension(csrf): Extension<CsrfToken>,
    Path(file_id): Path<String>,
    CsrfForm(form): CsrfForm<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let source: String = form.get("source").map(|s| s.trim().chars().take(100).collect::<String>()).unwrap_or_default();
    let mut mapping = Mapping::default();
    for (key, column) in &form {
        if let (Some(field), false) = (key.strip_prefix("feld_").and_then(Field::parse), column.is_empty()) {
            mapping.0.insert(field, column.clone());
        }
    }
    let error = match portal.importer().start_mapped(&file_id, &source, &mapping, &actor(&user)).await {
        Ok(id) => return Ok(Redirect::to(&format!("/makler/import/{id}")).into_response()),
        Err(ImportError::Database(err)) => return Err(err.into()),
        Err(ImportError::NotFound) => return Ok(Redirect::to("/makler/import?hinweis=abgelaufen").into_response()),
        Err(refusal) => refusal.to_string(),
    };
    let Some(preview) =
        portal.importer().table_preview(&file_id, &source).await.map_err(|e| PageError::Internal(e.into()))?
    else {
        return Ok(Redirect::to("/makler/import?hinweis=abgelaufen").into_response());
    };
    let chosen = mapping.0.iter().map(|(f, c)| (f.key().to_owned(), c.clone())).collect();
    render_with_status(
        StatusCode::UNPROCESSABLE_ENTITY,
        &MappingPage { layout: Layout::new(&portal, &csrf, Some(&user)), preview, source, chosen, error: Some(error) },
    )
}

#[derive(askama::Template)]
#[template(path = "broker/import.html")]
struct ImportPage {
    layout: Layout,
    import: ImportView,
    problems: Vec<Problem>,
    changes: Vec<Change>,
    notice: Option<(bool, String)>,
}

async fn import_page(
    State(portal): State<Portal>,
    BrokerUser(user): BrokerUser,
    Extension(csrf): Extension<CsrfToken>,
    Path(id): Path<String>,
    Query(query): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    let row = store::find(portal.db(), &id).await?.ok_or(PageError::NotFound)?;
    let notice = match query.hinweis.as_str() {
        "bestaetigt" => Some((true, "Bestätigt: der Import läuft.".to_owned())),
        "nicht-bestaetigt" => Some((
            false,
            "Diese Vorschau kann nicht (mehr) bestätigt werden. Bitte laden Sie die Datei erneut hoch.".to_owned(),
        )),
        _ => None,
    };
    render(&ImportPage {
        layout: Layout::new(&portal, &csrf, Some(&user)),
        problems: store::problems(portal.db(), &id, store::MAX_LISTED).await?,
        changes: store::changes(portal.db(), &id, LISTED_CHANGES).await?,
        import: ImportView { row },
        notice,
    })
}

async fn confirm(
    State(portal): State<Portal>,
    BrokerUser(user): BrokerUser,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    store::find(portal.db(), &id).await?.ok_or(PageError::NotFound)?;
    let hint = if portal.importer().confirm(&id, &actor(&user)).await? { "bestaetigt" } else { "nicht-bestaetigt" };
    Ok(Redirect::to(&format!("/makler/import/{id}?hinweis={hint}")).into_response())
}

async fn discard(
    State(portal): State<Portal>,
    BrokerUser(_): BrokerUser,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    store::find(portal.db(), &id).await?.ok_or(PageError::NotFound)?;
    if portal.importer().discard(&id).await? {
        Ok(Redirect::to("/makler/import?hinweis=verworfen").into_response())
    } else {
        Ok(Redirect::to(&format!("/makler/import/{id}?hinweis=nicht-bestaetigt")).into_response())
    }
}
