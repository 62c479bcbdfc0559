//! Receiving a multipart upload as a stream.
//!
//! The order of work is what keeps a hostile client cheap:
//! 1. The caller's extractors have checked the session (they run before this).
//! 2. A declared `Content-Length` over the request limit is refused at once.
//! 3. The client waits for its turn ([`super::gate`]): a few uploads per client
//!    run at once, their bodies unread until then.
//! 4. The CSRF token is checked before any file byte is read: from the
//!    `X-CSRF-Token` header, or else from the form's FIRST field, which must be
//!    `_csrf`. Our forms put the hidden `_csrf` input first, and browsers send
//!    fields in document order, so forms work without any script.
//! 5. Files stream to temporary files in the tenant's spool directory; the
//!    moment a file or the request passes its limit, the answer is 413 and the
//!    rest of the body is never read.

use std::collections::HashMap;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::io::AsyncWriteExt;

use super::gate;
use super::{SNIFF_BYTES, Upload, UploadError, clean_file_name, mebibytes};
use crate::security::csrf::{CSRF_FIELD, CsrfToken, check_submitted};

/// The header that may carry the CSRF token instead of the first field.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// A text field longer than this is not one of our forms.
const TEXT_FIELD_MAX: usize = 64 * 1024;
/// Room for the text fields and the multipart framing.
const FORM_OVERHEAD: u64 = 1024 * 1024;

/// What one upload endpoint accepts.
#[derive(Debug, Clone, Copy)]
pub struct UploadLimits {
    pub max_file_bytes: u64,
    pub max_files: usize,
    pub max_request_bytes: u64,
}

impl UploadLimits {
    /// Up to `max_files` files of `max_file_bytes` each, plus the form's text.
    pub fn files(max_file_bytes: usize, max_files: usize) -> UploadLimits {
        let max_file_bytes = max_file_bytes as u64;
        UploadLimits {
            max_file_bytes,
            max_files,
            max_request_bytes: max_file_bytes.saturating_mul(max_files as u64).saturating_add(FORM_OVERHEAD),
        }
    }
}

/// A received form: its text fields and its files, each file checked and on
/// disk. Files that failed the checks are reported, not kept.
#[derive(Debug, Default)]
pub struct MultipartForm {
    pub fields: HashMap<String, String>,
    pub files: Vec<Upload>,
    pub refused: Vec<UploadError>,
}

impl MultipartForm {
    pub fn field(&self, name: &str) -> &str {
        self.fields.get(name).map(String::as_str).unwrap_or("")
    }

    /// Bytes of all accepted files.
    pub fn total_bytes(&self) -> i64 {
        self.files.iter().map(Upload::size_bytes).sum()
    }
}

/// Why an upload was refused before it was fully read.
#[derive(Debug)]
pub enum UploadRejection {
    Csrf,
    /// A file or the request passed its limit. `fields` are the text fields read
    /// before that point, so a form can be shown again with what was typed.
    TooLarge {
        message: String,
        fields: HashMap<String, String>,
    },
    /// The client already runs (and queues) as many uploads as it may.
    Busy,
    Malformed,
    /// The spool directory could not be written.
    Storage(std::io::Error),
}

impl UploadRejection {
    pub fn status(&self) -> StatusCode {
        match self {
            UploadRejection::Csrf => StatusCode::FORBIDDEN,
            UploadRejection::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            UploadRejection::Busy => StatusCode::TOO_MANY_REQUESTS,
            UploadRejection::Malformed => StatusCode::BAD_REQUEST,
            UploadRejection::Storage(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The text for the person who uploaded.
    pub fn message(&self) -> String {
        match self {
            UploadRejection::Csrf => "Die Sicherheitsprüfung des Formulars ist fehlgeschlagen. Bitte laden Sie die \
                                      Seite neu und senden Sie das Formular erneut."
                .to_owned(),
            UploadRejection::TooLarge { message, .. } => message.clone(),
            UploadRejection::Busy => {
                "Es laufen schon mehrere Uploads. Bitte warten Sie einen Moment und versuchen Sie es erneut.".to_owned()
            }
            UploadRejection::Malformed => {
                "Die Übertragung wurde unterbrochen oder war unvollständig. Bitte versuchen Sie es erneut.".to_owned()
            }
            UploadRejection::Storage(_) => "Die Datei konnte gerade nicht gespeichert werden.".to_owned(),
        }
    }
}

impl IntoResponse for UploadRejection {
    fn into_response(self) -> Response {
        if let UploadRejection::Storage(err) = &self {
            tracing::error!(error = %err, "spooling an upload failed");
        }
        let mut response = crate::web::plain_page(self.status(), &self.message());
        if matches!(self, UploadRejection::Busy) {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("10"));
        }
        response
    }
}

/// Receives a multipart upload as described in the module documentation; the
/// request must have passed [`crate::security::csrf::ensure_cookie`].
pub async fn receive(
    request: Request,
    spool_dir: &Path,
    limits: UploadLimits,
) -> Result<MultipartForm, UploadRejection> {
    let expected = request.extensions().get::<CsrfToken>().cloned().ok_or(UploadRejection::Csrf)?;
    let client = crate::web::client_address(request.extensions());
    let headers = request.headers().clone();
    let boundary = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| multer::parse_boundary(value).ok())
        .ok_or(UploadRejection::Malformed)?;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    let constraints = multer::Constraints::new().size_limit(
        multer::SizeLimit::new()
            .whole_stream(limits.max_request_bytes)
            .per_field(limits.max_file_bytes.max(TEXT_FIELD_MAX as u64)),
    );
    let body = OneChunkAtATime { inner: request.into_body().into_data_stream(), yielded: false };
    let mut multipart = multer::Multipart::with_constraints(body, boundary, constraints);

    if declared.is_some_and(|length| length > limits.max_request_bytes) {
        return Err(too_large_request(limits, HashMap::new()));
    }
    // The turn comes before the token: the body's deadline starts with its first
    // read, so no upload waits for a turn with its clock running.
    let _turn = gate::enter(&client).await.map_err(|gate::Busy| UploadRejection::Busy)?;
    check_csrf(&headers, &expected, &mut multipart).await?;
    tokio::fs::create_dir_all(spool_dir).await.map_err(UploadRejection::Storage)?;

    let mut form = MultipartForm::default();
    let mut file_count = 0;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(err) => return Err(stream_error(err, limits, form.fields)),
        };
        let name = field.name().unwrap_or_default().to_owned();
        let Some(file_name) = field.file_name().map(str::to_owned) else {
            let value = match read_text(field).await {
                Ok(value) => value,
                Err(err) => return Err(stream_error(err, limits, form.fields)),
            };
            form.fields.insert(name, value.ok_or(UploadRejection::Malformed)?);
            continue;
        };
        match spool(field, &file_name, spool_dir, limits).await {
            Ok(Spooled::Nothing) => {}
            Ok(Spooled::File(checked)) => {
                file_count += 1;
                if file_count > limits.max_files {
                    let message = format!("Bitte laden Sie höchstens {} Dateien auf einmal hoch.", limits.max_files);
                    return Err(UploadRejection::TooLarge { message, fields: form.fields });
                }
                match checked {
                    Ok(upload) => form.files.push(upload),
                    Err(refused) => form.refused.push(refused),
                }
            }
            Err(SpoolError::Stream(err)) => return Err(stream_error(err, limits, form.fields)),
            Err(SpoolError::TooLarge) => {
                let message =
                    UploadError::TooLarge(clean_file_name(&file_name), mebibytes(limits.max_file_bytes)).to_string();
                return Err(UploadRejection::TooLarge { message, fields: form.fields });
            }
            Err(SpoolError::Io(err)) => return Err(UploadRejection::Storage(err)),
        }
    }
    Ok(form)
}

/// The header's token, or else the first field's; nothing else is read first.
async fn check_csrf(
    headers: &HeaderMap,
    expected: &CsrfToken,
    multipart: &mut multer::Multipart<'static>,
) -> Result<(), UploadRejection> {
    if let Some(token) = headers.get(CSRF_HEADER) {
        let token = token.to_str().unwrap_or_default();
        return if check_submitted(headers, expected, token) { Ok(()) } else { Err(UploadRejection::Csrf) };
    }
    let first = multipart.next_field().await.map_err(|_| UploadRejection::Csrf)?.ok_or(UploadRejection::Csrf)?;
    if first.name() != Some(CSRF_FIELD) || first.file_name().is_some() {
        return Err(UploadRejection::Csrf);
    }
    let token = read_text(first).await.map_err(|_| UploadRejection::Csrf)?.ok_or(UploadRejection::Csrf)?;
    if check_submitted(headers, expected, &token) { Ok(()) } else { Err(UploadRejection::Csrf) }
}

/// A text field, or `None` if it is not UTF-8 or longer than a form's field may be.
async fn read_text(mut field: multer::Field<'static>) -> Result<Option<String>, multer::Error> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await? {
        if bytes.len() + chunk.len() > TEXT_FIELD_MAX {
            return Ok(None);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8(bytes).ok())
}

enum Spooled {
    /// A file input with no file chosen.
    Nothing,
    File(Result<Upload, UploadError>),
}

enum SpoolError {
    Stream(multer::Error),
    TooLarge,
    Io(std::io::Error),
}

/// Streams one file part to a temporary file; only its first bytes stay in
/// memory, for the content check.
async fn spool(
    mut field: multer::Field<'static>,
    file_name: &str,
    spool_dir: &Path,
    limits: UploadLimits,
) -> Result<Spooled, SpoolError> {
    let temporary =
        tempfile::Builder::new().prefix(".upload-").tempfile_in(spool_dir).map_err(SpoolError::Io)?.into_temp_path();
    let mut file = tokio::fs::File::create(&temporary).await.map_err(SpoolError::Io)?;
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    let mut size: u64 = 0;
    loop {
        let chunk = match field.chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(multer::Error::FieldSizeExceeded { .. }) => return Err(SpoolError::TooLarge),
            Err(err) => return Err(SpoolError::Stream(err)),
        };
        size += chunk.len() as u64;
        if size > limits.max_file_bytes {
            return Err(SpoolError::TooLarge);
        }
        let missing = SNIFF_BYTES.saturating_sub(head.len()).min(chunk.len());
        head.extend_from_slice(&chunk[..missing]);
        file.write_all(&chunk).await.map_err(SpoolError::Io)?;
    }
    file.flush().await.map_err(SpoolError::Io)?;
    drop(file);
    if size == 0 && file_name.is_empty() {
        return Ok(Spooled::Nothing);
    }
    Ok(Spooled::File(Upload::check(file_name, &head, size, temporary, limits.max_file_bytes)))
}

/// multer reads its stream until the stream is pending, which on a fast
/// connection is the whole body, into memory, however slowly the file is
/// written. Handing it one chunk per poll keeps its buffer at about one chunk.
struct OneChunkAtATime<S> {
    inner: S,
    yielded: bool,
}

impl<S: futures_core::Stream + Unpin> futures_core::Stream for OneChunkAtATime<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        if self.yielded {
            self.yielded = false;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let item = std::task::ready!(Pin::new(&mut self.inner).poll_next(cx));
        self.yielded = true;
        Poll::Ready(item)
    }
}

fn too_large_request(limits: UploadLimits, fields: HashMap<String, String>) -> UploadRejection {
    let message =
        format!("Die Dateien sind zusammen zu groß (höchstens {} MB auf einmal).", mebibytes(limits.max_request_bytes));
    UploadRejection::TooLarge { message, fields }
}

fn stream_error(err: multer::Error, limits: UploadLimits, fields: HashMap<String, String>) -> UploadRejection {
    match err {
        multer::Error::StreamSizeExceeded { .. } => too_large_request(limits, fields),
        multer::Error::FieldSizeExceeded { .. } => {
            UploadRejection::TooLarge { message: "Die Eingabe ist zu groß.".to_owned(), fields }
        }
        _ => UploadRejection::Malformed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use axum::body::Body;

    fn request(body: &'static str, content_type: &str, token: Option<&str>) -> Request {
        let mut request = Request::builder()
            .method("POST")
            .uri("/upload")
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .expect("request");
        if let Some(token) = token {
            request.extensions_mut().insert(CsrfToken(token.to_owned()));
        }
        request
    }

    const TYPE: &str = "multipart/form-data; boundary=X";

    fn body(parts: &[(&str, Option<&str>, &str)]) -> &'static str {
        let mut text = String::new();
        for (name, file, content) in parts {
            text.push_str("--X\r\n");
            match file {
                Some(file) => text
                    .push_str(&format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\n\r\n")),
                None => text.push_str(&format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n")),
            }
            text.push_str(content);
            text.push_str("\r\n");
        }
        text.push_str("--X--\r\n");
        Box::leak(text.into_boxed_str())
    }

    #[tokio::test]
    async fn the_token_must_come_first_and_files_are_spooled_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let limits = UploadLimits::files(64, 3);
        let file_first = body(&[("files", Some("a.pdf"), "%PDF-1.4"), ("_csrf", None, "t")]);
        let refused = receive(request(file_first, TYPE, Some("t")), dir.path(), limits).await;
        assert!(matches!(refused, Err(UploadRejection::Csrf)), "a file before the token is refused");
        let wrong = body(&[("_csrf", None, "u"), ("files", Some("a.pdf"), "%PDF-1.4")]);
        assert!(matches!(
            receive(request(wrong, TYPE, Some("t")), dir.path(), limits).await,
            Err(UploadRejection::Csrf)
        ));

        let good = body(&[
            ("_csrf", None, "t"),
            ("note", None, "Hallo"),
            ("files", Some("a.pdf"), "%PDF-1.4 ..."),
            ("files", Some("b.jpg"), "<script>"),
            ("files", Some(""), ""),
        ]);
        let form = receive(request(good, TYPE, Some("t")), dir.path(), limits).await.unwrap();
        assert_eq!(form.field("note"), "Hallo");
        assert_eq!(form.files.len(), 1);
        assert_eq!(form.refused, vec![UploadError::WrongKind("b.jpg".into())]);
        let spooled = form.files[0].path().to_path_buf();
        assert_eq!(std::fs::read(&spooled).unwrap(), b"%PDF-1.4 ...");
        drop(form);
        assert!(!spooled.exists(), "the temporary file goes with the form");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "no refused file stays behind");
    }

    #[tokio::test]
    async fn limits_hold_while_streaming() {
        let dir = tempfile::tempdir().unwrap();
        let big = Box::leak(format!("%PDF-{}", "x".repeat(100)).into_boxed_str());
        let over = body(&[("_csrf", None, "t"), ("body", None, "Text"), ("files", Some("gross.pdf"), big)]);
        match receive(request(over, TYPE, Some("t")), dir.path(), UploadLimits::files(64, 3)).await {
            Err(UploadRejection::TooLarge { message, fields }) => {
                assert!(message.contains("gross.pdf"), "{message}");
                assert_eq!(fields["body"], "Text", "what was typed comes back");
            }
            other => panic!("{other:?}"),
        }
        let many = body(&[("_csrf", None, "t"), ("f", Some("a.pdf"), "%PDF-"), ("f", Some("b.pdf"), "%PDF-")]);
        let refused = receive(request(many, TYPE, Some("t")), dir.path(), UploadLimits::files(64, 1)).await;
        assert!(matches!(refused, Err(UploadRejection::TooLarge { .. })));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "nothing left in the spool");
        let not_multipart = receive(
            request("a=b", "application/x-www-form-urlencoded", Some("t")),
            dir.path(),
            UploadLimits::files(64, 1),
        )
        .await;
        assert!(matches!(not_multipart, Err(UploadRejection::Malformed)));
    }
}
