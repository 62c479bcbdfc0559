//! What the API checks before a value reaches the domain's rules: the limits
//! its OpenAPI document states, exactly as stated there. The domain trims text
//! and reads German dates for forms; a JSON client gets the stricter rule of the
//! schema (lengths counted before trimming, dates only as `YYYY-MM-DD`), so
//! that every request the schema allows is accepted and every other refused.

use chrono::{Datelike, NaiveDate};

use crate::web::FieldErrors;

/// A resource id: 32 lowercase hex digits (a UUIDv7 without dashes).
pub fn is_id(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Text of at most `max` characters as sent.
pub fn text(errors: &mut FieldErrors, field: &'static str, value: &str, max: usize) {
    if value.chars().count() > max {
        errors.add(field, format!("at most {max} characters"));
    }
}

/// Text that may be searched for: no control characters (PostgreSQL cannot
/// even hold a NUL) and at most `max` characters.
pub fn search_text(errors: &mut FieldErrors, field: &'static str, value: &str, max: usize) {
    text(errors, field, value, max);
    if let Err(message) = crate::values::optional_text(value, max) {
        errors.add(field, message);
    }
}

/// An optional id: `None`, or a well-formed id.
pub fn optional_id(errors: &mut FieldErrors, field: &'static str, value: Option<&str>) {
    if let Some(value) = value
        && !is_id(value)
    {
        errors.add(field, "not an id (32 lowercase hex digits)");
    }
}

/// A calendar date, only as `YYYY-MM-DD` (RFC 3339 full-date, years 1–9999).
pub fn date(text: &str) -> Option<NaiveDate> {
    let bytes = text.as_bytes();
    let shaped = bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes.iter().enumerate().all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
    if !shaped {
        return None;
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().filter(|d| d.year() >= 1)
}

/// An optional date field: checked, and given back as text for the domain's form.
pub fn optional_date(errors: &mut FieldErrors, field: &'static str, value: Option<&str>) -> String {
    match value {
        None => String::new(),
        Some(text) => match date(text) {
            Some(day) => day.to_string(),
            None => {
                errors.add(field, "a date as YYYY-MM-DD");
                String::new()
            }
        },
    }
}

/// An integer as JSON Schema counts them: `12` and also `12.0`.
pub fn integer<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    let number = <serde_json::Number as serde::Deserialize>::deserialize(deserializer)?;
    if let Some(n) = number.as_i64() {
        return Ok(n);
    }
    match number.as_f64() {
        Some(f) if f.fract() == 0.0 && f >= i64::MIN as f64 && f <= i64::MAX as f64 => Ok(f as i64),
        _ => Err(serde::de::Error::custom(format!("invalid type: {number}, expected an integer"))),
    }
}

/// Moves the domain's field errors (German sentences for forms) under the API's
/// field names where they differ.
pub fn rename(errors: FieldErrors, renames: &[(&'static str, &'static str)], into: &mut FieldErrors) {
    let json = serde_json::to_value(&errors).unwrap_or_default();
    if let Some(map) = json.as_object() {
        for (field, message) in map {
            let message = message.as_str().unwrap_or_default().to_owned();
            let renamed = renames.iter().find(|(from, _)| from == field).map(|(_, to)| *to);
            match renamed {
                Some(to) => into.add(to, message),
                None => {
                    if let Some(known) = KNOWN_FIELDS.iter().find(|f| **f == field.as_str()) {
                        into.add(known, message);
                    }
                }
            }
        }
    }
}

/// The field names the domain's forms report, as `'static` names.
const KNOWN_FIELDS: &[&str] = &[
    "first_name",
    "last_name",
    "email",
    "phone",
    "birth_date",
    "street",
    "postal_code",
    "city",
    "insurer",
    "insurer_number",
    "policy_number",
    "payment_frequency",
    "start_date",
    "end_date",
    "main_due_date",
    "status",
    "notes",
    "name",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_dates_are_exactly_as_the_schema_says() {
        assert!(is_id("0190f0e2a1b27c3d8e9f00112233aabb"));
        assert!(!is_id("0190F0E2A1B27C3D8E9F00112233AABB"));
        assert!(!is_id("0190f0e2-a1b2-7c3d-8e9f-00112233aabb"));
        assert_eq!(date("2026-02-28"), NaiveDate::from_ymd_opt(2026, 2, 28));
        for bad in ["2026-2-28", "28.02.2026", "2026-02-30", "+2026-02-28", "0000-01-01", "2026-02-28 "] {
            assert_eq!(date(bad), None, "{bad}");
        }
    }

    #[test]
    fn domain_errors_move_to_the_api_names() {
        let mut domain = FieldErrors::default();
        domain.add("premium", "Bitte geben Sie einen Betrag an.");
        domain.add("insurer", "Bitte füllen Sie dieses Feld aus.");
        let mut api = FieldErrors::default();
        rename(domain, &[("premium", "premium_cents")], &mut api);
        assert!(api.get("premium_cents").is_some() && api.get("insurer").is_some());
    }
}
