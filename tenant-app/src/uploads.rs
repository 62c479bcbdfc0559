//! Checking uploaded files. The type is decided by the content's signature,
//! never by the name or the browser's claim: only PDF, JPEG, PNG, HEIC and WebP
//! pass. A script renamed to `.jpg`, an SVG, an HTML page: all are refused.

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

/// A file that passed the checks.
#[derive(Debug, Clone)]
pub struct Upload {
    pub file_name: String,
    pub kind: FileKind,
    pub bytes: Vec<u8>,
}

impl Upload {
    pub fn check(raw_name: &str, bytes: Vec<u8>, max_bytes: usize) -> Result<Upload, UploadError> {
        let file_name = clean_file_name(raw_name);
        if bytes.is_empty() {
            return Err(UploadError::Empty);
        }
        if bytes.len() > max_bytes {
            return Err(UploadError::TooLarge(file_name, max_bytes / (1024 * 1024)));
        }
        let kind = FileKind::sniff(&bytes).ok_or_else(|| UploadError::WrongKind(file_name.clone()))?;
        Ok(Upload { file_name, kind, bytes })
    }
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
        let pdf = b"%PDF-1.4 test".to_vec();
        let upload = Upload::check("C:\\Users\\x\\Police 2024.pdf", pdf.clone(), 1024).unwrap();
        assert_eq!(upload.file_name, "Police 2024.pdf");
        assert_eq!(Upload::check("a.pdf", Vec::new(), 1024).unwrap_err(), UploadError::Empty);
        assert!(matches!(Upload::check("a.pdf", pdf, 5), Err(UploadError::TooLarge(..))));
        assert!(matches!(Upload::check("bild.jpg", b"<script>".to_vec(), 1024), Err(UploadError::WrongKind(_))));
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

/// A multipart form read into memory: its text fields and its files, each file
/// already checked. Files that fail the checks are reported, not kept.
#[derive(Debug, Default)]
pub struct MultipartForm {
    pub fields: std::collections::HashMap<String, String>,
    pub files: Vec<Upload>,
    pub refused: Vec<UploadError>,
}

impl MultipartForm {
    /// Reads every part; a file part with no file chosen is ignored.
    pub async fn read(
        mut multipart: axum::extract::Multipart,
        max_file_bytes: usize,
    ) -> Result<MultipartForm, MultipartError> {
        let mut form = MultipartForm::default();
        while let Some(mut field) = multipart.next_field().await.map_err(|_| MultipartError)? {
            let name = field.name().unwrap_or_default().to_owned();
            match field.file_name().map(str::to_owned) {
                Some(file_name) => {
                    let mut bytes = Vec::new();
                    let mut too_large = false;
                    while let Some(chunk) = field.chunk().await.map_err(|_| MultipartError)? {
                        if bytes.len() + chunk.len() > max_file_bytes {
                            too_large = true;
                            bytes.clear();
                        } else if !too_large {
                            bytes.extend_from_slice(&chunk);
                        }
                    }
                    if file_name.is_empty() && bytes.is_empty() {
                        continue;
                    }
                    if too_large {
                        form.refused
                            .push(UploadError::TooLarge(clean_file_name(&file_name), max_file_bytes / (1024 * 1024)));
                        continue;
                    }
                    match Upload::check(&file_name, bytes, max_file_bytes) {
                        Ok(upload) => form.files.push(upload),
                        Err(err) => form.refused.push(err),
                    }
                }
                None => {
                    let value = field.text().await.map_err(|_| MultipartError)?;
                    form.fields.insert(name, value);
                }
            }
        }
        Ok(form)
    }

    pub fn field(&self, name: &str) -> &str {
        self.fields.get(name).map(String::as_str).unwrap_or("")
    }
}

/// The request body was not a readable multipart form (or exceeded the body limit).
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the upload could not be read")]
pub struct MultipartError;
