//! Values parsed once at the edge: after parsing, an invalid e-mail address,
//! amount or date cannot exist in the program. Parse errors are German sentences
//! meant for the form field they belong to.

use std::fmt;

use chrono::NaiveDate;

/// A lower-cased, syntactically valid e-mail address with a dotted domain.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(input: &str) -> Result<EmailAddress, &'static str> {
        let candidate = input.trim().to_lowercase();
        if candidate.is_empty() {
            return Err("Bitte geben Sie eine E-Mail-Adresse an.");
        }
        if candidate.len() > 254 {
            return Err("Die E-Mail-Adresse ist zu lang.");
        }
        let address: lettre::Address = candidate.parse().map_err(|_| "Das ist keine gültige E-Mail-Adresse.")?;
        let domain = address.domain();
        if !domain.contains('.') || domain.starts_with('.') || domain.ends_with('.') {
            return Err("Das ist keine gültige E-Mail-Adresse.");
        }
        Ok(EmailAddress(candidate))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An amount of money in euro cents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Cents(pub i64);

impl Cents {
    /// Parses German notation: `1.234,56`, `1234,5`, `99` (euros), and also a
    /// plain `1234.56` as typed on many phones.
    pub fn parse(input: &str) -> Result<Cents, &'static str> {
        const INVALID: &str = "Bitte geben Sie einen Betrag wie 49,90 an.";
        let text = input.trim().trim_end_matches('€').trim().replace(' ', "");
        if text.is_empty() {
            return Err("Bitte geben Sie einen Betrag an.");
        }
        if text.starts_with('-') {
            return Err("Der Betrag darf nicht negativ sein.");
        }
        let (euros, cents) = match (text.rfind(','), text.rfind('.')) {
            (Some(comma), _) => (text[..comma].replace('.', ""), &text[comma + 1..]),
            // A single dot followed by one or two digits is a decimal point.
            (None, Some(dot)) if text.len() - dot - 1 <= 2 && text.matches('.').count() == 1 => {
                (text[..dot].to_owned(), &text[dot + 1..])
            }
            (None, Some(_)) => (text.replace('.', ""), ""),
            (None, None) => (text.clone(), ""),
        };
        if euros.is_empty() || !euros.bytes().all(|b| b.is_ascii_digit()) || !cents.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(INVALID);
        }
        if cents.len() > 2 {
            return Err("Bitte höchstens zwei Nachkommastellen angeben.");
        }
        let euros: i64 = euros.parse().map_err(|_| INVALID)?;
        let cents: i64 = format!("{cents:0<2}").parse().map_err(|_| INVALID)?;
        euros
            .checked_mul(100)
            .and_then(|e| e.checked_add(cents))
            .filter(|total| *total <= 10_000_000_000)
            .map(Cents)
            .ok_or("Der Betrag ist zu groß.")
    }
}

impl Cents {
    /// The plain decimal form machines read (XML, CSV): `1234.56`, `-0.05`.
    pub fn decimal(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        format!("{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

// Sums of amounts: overflow is a bug (i64 cents hold 92 quadrillion euros), so these
// panic on overflow in every build rather than wrap.
impl std::ops::Add for Cents {
    type Output = Cents;
    fn add(self, other: Cents) -> Cents {
        Cents(self.0.checked_add(other.0).expect("amount overflow"))
    }
}

impl std::ops::Sub for Cents {
    type Output = Cents;
    fn sub(self, other: Cents) -> Cents {
        Cents(self.0.checked_sub(other.0).expect("amount overflow"))
    }
}

impl std::ops::Neg for Cents {
    type Output = Cents;
    fn neg(self) -> Cents {
        Cents(self.0.checked_neg().expect("amount overflow"))
    }
}

impl std::iter::Sum for Cents {
    fn sum<I: Iterator<Item = Cents>>(iter: I) -> Cents {
        iter.fold(Cents(0), |total, amount| total + amount)
    }
}

impl fmt::Display for Cents {
    /// German format with thousands separators: `1.234,56 €`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let euros = (abs / 100).to_string();
        let mut grouped = String::new();
        for (i, digit) in euros.chars().enumerate() {
            if i > 0 && (euros.len() - i).is_multiple_of(3) {
                grouped.push('.');
            }
            grouped.push(digit);
        }
        write!(f, "{sign}{grouped},{:02} €", abs % 100)
    }
}

/// Parses an HTML date input (`YYYY-MM-DD`) or German `TT.MM.JJJJ`.
pub fn parse_date(input: &str) -> Result<NaiveDate, &'static str> {
    let text = input.trim();
    if text.is_empty() {
        return Err("Bitte geben Sie ein Datum an.");
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(text, crate::calendar::DATE_FORMAT))
        .map_err(|_| "Bitte geben Sie ein gültiges Datum an (TT.MM.JJJJ).")
}

/// An optional date: empty input is `None`.
pub fn parse_optional_date(input: &str) -> Result<Option<NaiveDate>, &'static str> {
    if input.trim().is_empty() { Ok(None) } else { parse_date(input).map(Some) }
}

/// Required free text, trimmed, with a length limit.
pub fn required_text(input: &str, max_chars: usize) -> Result<String, &'static str> {
    let text = input.trim();
    if text.is_empty() {
        return Err("Bitte füllen Sie dieses Feld aus.");
    }
    optional_text(text, max_chars)
}

/// A required single-line field (a name, company, street, phone, subject):
/// like [`required_text`], but line breaks and tabs are refused too, so the
/// value can never start a new line in a document or a mail header.
pub fn required_line(input: &str, max_chars: usize) -> Result<String, &'static str> {
    let text = required_text(input, max_chars)?;
    single_line(text)
}

/// An optional single-line field; see [`required_line`].
pub fn optional_line(input: &str, max_chars: usize) -> Result<String, &'static str> {
    let text = optional_text(input, max_chars)?;
    single_line(text)
}

fn single_line(text: String) -> Result<String, &'static str> {
    if text.chars().any(char::is_control) {
        return Err("Bitte nur eine Zeile, ohne Zeilenumbrüche oder Tabulatoren.");
    }
    Ok(text)
}

/// Text for a single line of output (a mail header, a line of a document):
/// every control character, line breaks included, becomes a space.
pub fn as_one_line(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// Optional free text, trimmed, with a length limit; control characters other
/// than line breaks are refused.
pub fn optional_text(input: &str, max_chars: usize) -> Result<String, &'static str> {
    let text = input.trim();
    if text.chars().count() > max_chars {
        return Err("Die Eingabe ist zu lang.");
    }
    if text.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
        return Err("Die Eingabe enthält unzulässige Zeichen.");
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(EmailAddress::parse("  Anna@Example.DE ").unwrap().as_str(), "anna@example.de");
        for bad in ["", "anna", "anna@", "@example.de", "anna@localhost", "a b@example.de"] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn amounts_parse_in_german_and_plain_notation() {
        assert_eq!(Cents::parse("49,90"), Ok(Cents(4990)));
        assert_eq!(Cents::parse("1.234,5"), Ok(Cents(123450)));
        assert_eq!(Cents::parse("1234.56"), Ok(Cents(123456)));
        assert_eq!(Cents::parse("1.234"), Ok(Cents(123400)));
        assert_eq!(Cents::parse("12 €"), Ok(Cents(1200)));
        for bad in ["", "-5", "abc", "1,234", "1,2,3"] {
            assert!(Cents::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn amounts_display_in_german() {
        assert_eq!(Cents(123456).to_string(), "1.234,56 €");
        assert_eq!(Cents(5).to_string(), "0,05 €");
        assert_eq!(Cents(100_000_000).to_string(), "1.000.000,00 €");
        assert_eq!(Cents(-123456).to_string(), "-1.234,56 €");
        assert_eq!(Cents(i64::MIN).to_string(), "-92.233.720.368.547.758,08 €");
    }

    #[test]
    fn amounts_in_plain_decimal_and_arithmetic() {
        assert_eq!(Cents(123456).decimal(), "1234.56");
        assert_eq!(Cents(0).decimal(), "0.00");
        assert_eq!(Cents(-5).decimal(), "-0.05");
        assert_eq!(Cents(i64::MIN).decimal(), "-92233720368547758.08");
        assert_eq!(Cents(150) + Cents(-200), Cents(-50));
        assert_eq!(Cents(150) - Cents(200), Cents(-50));
        assert_eq!(-Cents(7), Cents(-7));
        assert_eq!([Cents(1), Cents(2), Cents(3)].into_iter().sum::<Cents>(), Cents(6));
    }

    #[test]
    fn dates_and_text() {
        assert_eq!(parse_date("2026-01-31").unwrap(), NaiveDate::from_ymd_opt(2026, 1, 31).unwrap());
        assert_eq!(parse_date("31.01.2026").unwrap(), NaiveDate::from_ymd_opt(2026, 1, 31).unwrap());
        assert!(parse_date("31.02.2026").is_err());
        assert_eq!(parse_optional_date(" ").unwrap(), None);
        assert!(required_text("  ", 10).is_err());
        assert!(required_text("x\u{0}y", 10).is_err());
        assert_eq!(optional_text(" <b>hi</b> ", 20).unwrap(), "<b>hi</b>");
    }
}
