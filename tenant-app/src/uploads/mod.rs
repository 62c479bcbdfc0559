//! Checking uploaded files. The type is decided by the content's signature,
//! never by the name or the browser's claim: only PDF, JPEG, PNG, HEIC and WebP
//! pass. A script renamed to `.jpg`, an SVG, an HTML page: all are refused.
//!
//! Every upload endpoint receives its files through [`receive`]: the CSRF token
//! is checked before the body is read, limits hold while the body streams, and
//! files go to disk, never whole into memory.

mod gate;
mod receive;

pub use receive::{MultipartForm, UploadLimits, UploadRejection, receive};

/// Default largest accepted file.
pub const DEFAULT_MAX_FILE_BYTES: usize = 20 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Pdf,
    Jpeg,
    Png,
    Heic,
    Webp,
}

impl FileKind {
    pub fn content_type(self) -> &'static str {
        match self {
            FileKind::Pdf => "application/pdf",
            FileKind::Jpeg => "image/jpeg",
            FileKind::Png => "image/png",
            FileKind::Heic => "image/heic",
            FileKind::Webp => "image/webp",
        }
    }

    pub fn is_image(self) -> bool {
        self != FileKind::Pdf
    }

    /// Recognises a file by its first bytes.
    pub fn sniff(bytes: &[u8]) -> Option<FileKind> {
        if bytes.starts_with(b"%PDF-") {
            return Some(FileKind::Pdf);
        }
        if bytes.len() >= 4 && bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            return Some(FileKind::Jpeg);
        }
        if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
            return Some(FileKind::Png);
        }
        if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            return Some(FileKind::Webp);
        }
        // ISO base media file: size, "ftyp", major brand. iPhones write heic/heix/mif1.
        if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
            let brand = &bytes[8..12];
            if [b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"].iter().any(|b| brand == *b) {
                return Some(FileKind::Heic);
            }
        }
        None
    }
}

/// Why an upload was refused; the text is for the person who uploaded it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UploadError {
    #[error("Bitte wählen Sie eine Datei aus.")]
    Empty,
    #[error("Die Datei „{0}“ ist zu groß (höchstens {1} MB).")]
    TooLarge(String, usize),
    #[error("Die Datei „{0}“ ist kein PDF und kein Foto (JPEG, PNG, HEIC, WebP) und wurde nicht übernommen.")]
    WrongKind(String),
}

/// A file that passed the checks, spooled to a temporary file in the tenant's
/// directory (see [`receive`]). The temporary file is removed when the value is
/// dropped, on every path, unless a store took it over ([`Upload::into_temp_path`]).
#[derive(Debug)]
pub struct Upload {
    pub file_name: String,
    pub kind: FileKind,
    size: u64,
    file: tempfile::TempPath,
}

impl Upload {
    /// Checks a spooled file by its first bytes; `head` holds at least its first
    /// [`SNIFF_BYTES`] bytes (or all of a smaller file).
    pub(crate) fn check(
        raw_name: &str,
        head: &[u8],
        size: u64,
        file: tempfile::TempPath,
        max_bytes: u64,
    ) -> Result<Upload, UploadError> {
        let file_name = clean_file_name(raw_name);
        if size == 0 {
            return Err(UploadError::Empty);
        }
        if size > max_bytes {
            return Err(UploadError::TooLarge(file_name, mebibytes(max_bytes)));
        }
        let kind = FileKind::sniff(head).ok_or_else(|| UploadError::WrongKind(file_name.clone()))?;
        Ok(Upload { file_name, kind, size, file })
    }

    pub fn size_bytes(&self) -> i64 {
        i64::try_from(self.size).unwrap_or(i64::MAX)
    }

    pub fn path(&self) -> &std::path::Path {
        &self.file
    }

    /// The whole content in memory: only for files whose limit is small (a
    /// logo, a contract scan) or that must be sealed as one piece.
    pub async fn read(&self) -> std::io::Result<Vec<u8>> {
        tokio::fs::read(&self.file).await
    }

    /// Hands the temporary file to a store that moves it into place.
    pub fn into_temp_path(self) -> tempfile::TempPath {
        self.file
    }
}

/// How many leading bytes decide a file's kind.
pub const SNIFF_BYTES: usize = 16;

pub(crate) fn mebibytes(bytes: u64) -> usize {
    usize::try_from(bytes / (1024 * 1024)).unwrap_or(usize::MAX)
}

/// The last path component of a name, without control characters, at most 120
/// characters; a browser may send `C:\\Users\\…\\scan.pdf` or `../../x`.
pub fn clean_file_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last.chars().filter(|c| !c.is_control()).take(120).collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim().to_owned();
    if cleaned.is_empty() { "Dokument".to_owned() } else { cleaned }
}

/// `Content-Disposition: attachment` with an ASCII fallback and the UTF-8 name (RFC 6266).
pub fn attachment_header(file_name: &str) -> String {
    let ascii: String =
        file_name.chars().map(|c| if c.is_ascii_alphanumeric() || ".-_ ()".contains(c) { c } else { '_' }).collect();
    let encoded: String =
        url::form_urlencoded::byte_serialize(file_name.as_bytes()).collect::<String>().replace('+', "%20");
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_recognised_by_content() {
        assert_eq!(FileKind::sniff(b"%PDF-1.7\n..."), Some(FileKind::Pdf));
        assert_eq!(FileKind::sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]), Some(FileKind::Jpeg));
        assert_eq!(FileKind::sniff(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0]), Some(FileKind::Png));
        assert_eq!(FileKind::sniff(b"RIFF\x10\0\0\0WEBPVP8 "), Some(FileKind::Webp));
        assert_eq!(FileKind::sniff(b"\0\0\0\x18ftypheic\0\0\0\0"), Some(FileKind::Heic));
        assert_eq!(FileKind::sniff(b"\0\0\0\x18ftypisom\0\0\0\0"), None, "an MP4 is no photo");
        assert_eq!(FileKind::sniff(b"<script>alert(1)</script>"), None);
        assert_eq!(FileKind::sniff(b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script/></svg>"), None);
        assert_eq!(FileKind::sniff(b"MZ\x90\0"), None);
    }

    #[test]
    fn uploads_are_checked_for_size_kind_and_name() {
        let temp = || tempfile::NamedTempFile::new().unwrap().into_temp_path();
        let pdf = b"%PDF-1.4 test";
        let upload = Upload::check("C:\\Users\\x\\Police 2024.pdf", pdf, 13, temp(), 1024).unwrap();
        assert_eq!(upload.file_name, "Police 2024.pdf");
        assert_eq!(Upload::check("a.pdf", b"", 0, temp(), 1024).unwrap_err(), UploadError::Empty);
        assert!(matches!(Upload::check("a.pdf", pdf, 13, temp(), 5), Err(UploadError::TooLarge(..))));
        assert!(matches!(Upload::check("bild.jpg", b"<script>", 8, temp(), 1024), Err(UploadError::WrongKind(_))));
    }

    #[test]
    fn names_lose_paths_and_control_characters() {
        assert_eq!(clean_file_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_file_name("a\u{0}b\r\n.pdf"), "ab.pdf");
        assert_eq!(clean_file_name("..."), "Dokument");
        assert_eq!(clean_file_name(".htaccess"), "htaccess");
        assert_eq!(
            attachment_header("Schadenfoto Küche.jpg"),
            "attachment; filename=\"Schadenfoto K_che.jpg\"; filename*=UTF-8''Schadenfoto%20K%C3%BCche.jpg"
        );
    }
}
