//! Tenant slugs: the `<slug>` in `<slug>.<base domain>`.

use std::fmt;

/// Host labels the operator needs for itself, or that would mislead customers.
pub const RESERVED: &[&str] = &[
    "admin",
    "api",
    "app",
    "assets",
    "auth",
    "autoconfig",
    "autodiscover",
    "billing",
    "blog",
    "cdn",
    "console",
    "dashboard",
    "dev",
    "dns",
    "docs",
    "ftp",
    "help",
    "hilfe",
    "imap",
    "internal",
    "k8s",
    "konto",
    "kube",
    "login",
    "mail",
    "metrics",
    "ns",
    "ns1",
    "ns2",
    "operator",
    "ordo",
    "pop",
    "portal",
    "root",
    "smtp",
    "staging",
    "static",
    "status",
    "support",
    "system",
    "test",
    "webmail",
    "www",
];

pub const MAX_LEN: usize = 40;

/// Words of German company names that are legal forms, dropped from slugs.
const LEGAL_FORMS: &[&str] = &[
    "gmbh",
    "mbh",
    "ag",
    "kg",
    "ohg",
    "gbr",
    "ug",
    "ek",
    "e",
    "k",
    "co",
    "haftungsbeschraenkt",
    "partg",
    "partgmbb",
    "kgaa",
    "se",
];

/// A valid, non-reserved host label of lower-case letters, digits and hyphens.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Slug(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlugError {
    #[error("a slug has 2 to {MAX_LEN} characters")]
    Length,
    #[error("a slug has only a-z, 0-9 and inner hyphens")]
    Characters,
    #[error("this name is reserved")]
    Reserved,
}

impl Slug {
    pub fn parse(text: &str) -> Result<Slug, SlugError> {
        if text.len() < 2 || text.len() > MAX_LEN {
            return Err(SlugError::Length);
        }
        let valid_chars = text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid_chars || text.starts_with('-') || text.ends_with('-') || text.contains("--") {
            return Err(SlugError::Characters);
        }
        if RESERVED.contains(&text) {
            return Err(SlugError::Reserved);
        }
        Ok(Slug(text.to_owned()))
    }

    /// The preferred slug for a company or person name: German umlauts are
    /// transliterated, everything else that is not a letter or digit becomes a
    /// hyphen. Not necessarily valid (it may be reserved or too short):
    /// [`Slug::candidates`] turns it into valid choices.
    pub fn base_for(name: &str) -> String {
        let mut out = String::new();
        for c in name.to_lowercase().chars() {
            let mapped: &str = match c {
                'ä' => "ae",
                'ö' => "oe",
                'ü' => "ue",
                'ß' => "ss",
                'é' | 'è' | 'ê' => "e",
                'á' | 'à' | 'â' => "a",
                'ó' | 'ò' | 'ô' => "o",
                'í' | 'ì' | 'î' => "i",
                'ú' | 'ù' | 'û' => "u",
                'ç' => "c",
                'ñ' => "n",
                c if c.is_ascii_alphanumeric() => {
                    out.push(c);
                    continue;
                }
                _ => "-",
            };
            out.push_str(mapped);
        }
        let parts: Vec<&str> = out.split('-').filter(|p| !p.is_empty()).collect();
        // Legal forms say nothing about the broker: `Müller GmbH & Co. KG` → `mueller`.
        let meaningful: Vec<&str> = parts.iter().copied().filter(|p| !LEGAL_FORMS.contains(p)).collect();
        let parts = if meaningful.is_empty() { parts } else { meaningful };
        let mut collapsed = String::new();
        for part in parts {
            if collapsed.len() + part.len() + 1 > MAX_LEN - 4 {
                break;
            }
            if !collapsed.is_empty() {
                collapsed.push('-');
            }
            collapsed.push_str(part);
        }
        collapsed
    }

    /// Valid slugs for a name, best first: `mueller`, `mueller-2`, `mueller-3`, …
    /// A reserved or too short base gets a suffix too (`admin` → `admin-2`).
    pub fn candidates(name: &str) -> impl Iterator<Item = Slug> {
        let base = Slug::base_for(name);
        let base = if base.is_empty() { "makler".to_owned() } else { base };
        std::iter::once(base.clone())
            .chain((2..).map(move |n| format!("{base}-{n}")))
            .filter_map(|candidate| Slug::parse(&candidate).ok())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derives_readable_slugs_from_german_names() {
        assert_eq!(Slug::base_for("Müller & Söhne Versicherungsmakler GmbH"), "mueller-soehne-versicherungsmakler");
        assert_eq!(Slug::base_for("  Jürgen Weiß  "), "juergen-weiss");
        assert_eq!(Slug::base_for("Berg GmbH & Co. KG"), "berg");
        assert_eq!(Slug::base_for("GmbH"), "gmbh");
        assert_eq!(Slug::base_for("!!!"), "");
        assert!(Slug::base_for(&"sehr langer name ".repeat(10)).len() <= MAX_LEN);
    }

    #[test]
    fn refuses_reserved_and_malformed_slugs() {
        assert_eq!(Slug::parse("admin"), Err(SlugError::Reserved));
        assert_eq!(Slug::parse("www"), Err(SlugError::Reserved));
        assert_eq!(Slug::parse("a"), Err(SlugError::Length));
        assert_eq!(Slug::parse("-abc"), Err(SlugError::Characters));
        assert_eq!(Slug::parse("ab--c"), Err(SlugError::Characters));
        assert_eq!(Slug::parse("Abc"), Err(SlugError::Characters));
        assert!(Slug::parse("mueller-2").is_ok());
    }

    #[test]
    fn candidates_skip_reserved_names() {
        let first: Vec<String> = Slug::candidates("Admin").take(2).map(|s| s.to_string()).collect();
        assert_eq!(first, ["admin-2", "admin-3"]);
        let first: Vec<String> = Slug::candidates("Müller").take(2).map(|s| s.to_string()).collect();
        assert_eq!(first, ["mueller", "mueller-2"]);
        assert_eq!(Slug::candidates("?").next().unwrap().as_str(), "makler");
        assert_eq!(Slug::candidates("X").next().unwrap().as_str(), "x-2");
    }
}
