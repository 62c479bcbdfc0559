//! A portal's look: the broker's logo and two colours. Colours are checked
//! against WCAG AA (contrast at least 4.5:1) for every pairing the pages use,
//! so a broker cannot make their portal unreadable.

use crate::db::Db;
use crate::storage::{DocumentStore, StorageError};
use crate::uploads::{FileKind, Upload};
use crate::web::FieldErrors;

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Colour(pub [u8; 3]);

/// The text colour of the stylesheet, on light backgrounds.
pub const TEXT: Colour = Colour([0x1d, 0x25, 0x30]);
pub const WHITE: Colour = Colour([0xff, 0xff, 0xff]);
pub const DEFAULT_PRIMARY: Colour = Colour([0x1f, 0x4e, 0x79]);
pub const DEFAULT_ACCENT: Colour = Colour([0xe8, 0xf0, 0xf8]);
/// WCAG 2.1 level AA for normal text.
pub const MIN_CONTRAST: f64 = 4.5;

impl Colour {
    /// Parses `#rrggbb` (the value of an `<input type="color">`).
    pub fn parse(text: &str) -> Option<Colour> {
        let hex = text.trim().strip_prefix('#')?;
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let channel = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
        Some(Colour([channel(0)?, channel(2)?, channel(4)?]))
    }

    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0[0], self.0[1], self.0[2])
    }

    /// Relative luminance, as WCAG defines it.
    fn luminance(self) -> f64 {
        let linear = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.039_28 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
        };
        0.2126 * linear(self.0[0]) + 0.7152 * linear(self.0[1]) + 0.0722 * linear(self.0[2])
    }

    pub fn contrast(self, other: Colour) -> f64 {
        let (a, b) = (self.luminance(), other.luminance());
        let (light, dark) = if a > b { (a, b) } else { (b, a) };
        (light + 0.05) / (dark + 0.05)
    }
}

/// The look of one portal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Branding {
    pub primary: Colour,
    pub accent: Colour,
    /// The content type of the uploaded logo, if there is one.
    pub logo_type: Option<String>,
}

impl Default for Branding {
    fn default() -> Self {
        Branding { primary: DEFAULT_PRIMARY, accent: DEFAULT_ACCENT, logo_type: None }
    }
}

impl Branding {
    /// The custom properties that override the stylesheet's defaults.
    pub fn stylesheet(&self) -> String {
        format!(
            ":root {{ --primary: {}; --primary-text: #ffffff; --accent: {}; }}\n",
            self.primary.hex(),
            self.accent.hex()
        )
    }

    /// A short fingerprint, so that pages ask for a new stylesheet when it changes.
    pub fn version(&self) -> String {
        format!("{}{}{}", &self.primary.hex()[1..], &self.accent.hex()[1..], u8::from(self.logo_type.is_some()))
    }
}

/// The colour form as submitted.
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(default)]
pub struct ColourForm {
    pub primary: String,
    pub accent: String,
}

/// Checks a pair of colours: white text on the primary colour (header, buttons),
/// the primary colour as text and links on white, and both the text colour and
/// the primary colour on the accent (notices, secondary buttons).
pub fn parse_colours(form: &ColourForm) -> Result<(Colour, Colour), FieldErrors> {
    let mut errors = FieldErrors::default();
    let primary = Colour::parse(&form.primary);
    let accent = Colour::parse(&form.accent);
    if primary.is_none() {
        errors.add("primary", "Bitte wählen Sie eine Farbe (#rrggbb).");
    }
    if accent.is_none() {
        errors.add("accent", "Bitte wählen Sie eine Farbe (#rrggbb).");
    }
    let (Some(primary), Some(accent)) = (primary, accent) else {
        return Err(errors);
    };
    let ratio = primary.contrast(WHITE);
    if ratio < MIN_CONTRAST {
        errors.add(
            "primary",
            format!(
                "Weiße Schrift auf dieser Farbe ist schwer lesbar (Kontrast {:.1}:1, nötig sind 4,5:1). Bitte wählen Sie einen dunkleren Ton.",
                ratio
            )
            .replace('.', ","),
        );
    }
    let on_accent = accent.contrast(TEXT).min(accent.contrast(primary));
    if on_accent < MIN_CONTRAST {
        errors.add(
            "accent",
            format!(
                "Text auf dieser Akzentfarbe ist schwer lesbar (Kontrast {:.1}:1, nötig sind 4,5:1). Bitte wählen Sie einen helleren Ton.",
                on_accent
            )
            .replace('.', ","),
        );
    }
    errors.into_result(|| (primary, accent))
}

pub async fn load(db: &Db) -> Result<Branding, sqlx::Error> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT key, value FROM settings WHERE key IN ('brand_primary', 'brand_accent', 'brand_logo_type')",
    )
    .fetch_all(db.pool())
    .await?;
    let value = |key: &str| rows.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    Ok(Branding {
        primary: value("brand_primary").and_then(|v| Colour::parse(&v)).unwrap_or(DEFAULT_PRIMARY),
        accent: value("brand_accent").and_then(|v| Colour::parse(&v)).unwrap_or(DEFAULT_ACCENT),
        logo_type: value("brand_logo_type"),
    })
}

async fn set(db: &Db, key: &str, value: Option<&str>) -> Result<(), sqlx::Error> {
    match value {
        Some(value) => {
            sqlx::query(
                "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )
            .bind(key)
            .bind(value)
            .execute(db.pool())
            .await?;
        }
        None => {
            sqlx::query("DELETE FROM settings WHERE key = $1").bind(key).execute(db.pool()).await?;
        }
    }
    Ok(())
}

pub async fn save_colours(db: &Db, primary: Colour, accent: Colour) -> Result<(), sqlx::Error> {
    set(db, "brand_primary", Some(&primary.hex())).await?;
    set(db, "brand_accent", Some(&accent.hex())).await
}

/// Where the logo lives in the document store.
pub const LOGO_KEY: &str = "brand-logo";
pub const LOGO_MAX_BYTES: usize = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum LogoError {
    #[error("Das Logo muss ein PNG-, JPEG- oder WebP-Bild sein.")]
    WrongKind,
    #[error("Das Logo darf höchstens 1 MB groß sein.")]
    TooLarge,
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Stores a logo; vector formats are refused because an SVG can carry script.
pub async fn set_logo(db: &Db, store: &dyn DocumentStore, upload: Upload) -> Result<(), LogoError> {
    if !matches!(upload.kind, FileKind::Png | FileKind::Jpeg | FileKind::Webp) {
        return Err(LogoError::WrongKind);
    }
    if upload.size_bytes() > LOGO_MAX_BYTES as i64 {
        return Err(LogoError::TooLarge);
    }
    let content_type = upload.kind.content_type();
    store.put_file(LOGO_KEY, upload.into_temp_path()).await?;
    set(db, "brand_logo_type", Some(content_type)).await?;
    Ok(())
}

pub async fn remove_logo(db: &Db, store: &dyn DocumentStore) -> Result<(), LogoError> {
    set(db, "brand_logo_type", None).await?;
    store.delete(LOGO_KEY).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contrast_follows_wcag() {
        assert!((WHITE.contrast(Colour([0, 0, 0])) - 21.0).abs() < 0.01);
        assert!((WHITE.contrast(WHITE) - 1.0).abs() < 0.01);
        // #767676 on white is the classic 4.54:1 boundary.
        assert!(Colour::parse("#767676").unwrap().contrast(WHITE) >= 4.5);
        assert!(Colour::parse("#777777").unwrap().contrast(WHITE) < 4.5);
    }

    #[test]
    fn colours_parse_and_pairs_are_checked() {
        assert_eq!(Colour::parse("#1F4E79"), Some(DEFAULT_PRIMARY));
        assert_eq!(Colour::parse("1f4e79"), None);
        assert_eq!(Colour::parse("#1f4e7"), None);
        assert!(parse_colours(&ColourForm { primary: "#1f4e79".into(), accent: "#e8f0f8".into() }).is_ok());
        let errors = parse_colours(&ColourForm { primary: "#ffdd00".into(), accent: "#e8f0f8".into() }).unwrap_err();
        assert!(errors.get("primary").unwrap().contains("4,5:1"));
        let errors = parse_colours(&ColourForm { primary: "#1f4e79".into(), accent: "#2a2a2a".into() }).unwrap_err();
        assert!(errors.get("accent").is_some());
        assert!(parse_colours(&ColourForm { primary: "red".into(), accent: "".into() }).is_err());
    }

    #[test]
    fn the_default_look_passes_its_own_check() {
        let form = ColourForm { primary: DEFAULT_PRIMARY.hex(), accent: DEFAULT_ACCENT.hex() };
        assert!(parse_colours(&form).is_ok());
        assert!(Branding::default().stylesheet().contains("--primary: #1f4e79"));
    }
}
