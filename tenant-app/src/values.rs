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
    /// Parses an amount typed by a person, in German or in plain decimal
    /// notation, and refuses whatever could be read two ways:
    ///
    /// - `295`, `295,12`, `295,1`, `1.234,56`, `1.234.567,00`: German (dots group
    ///   thousands in threes, a comma starts one or two decimals);
    /// - `295.12`, `295.1`, `1234.56`: a single dot followed by one or two
    ///   decimals is a decimal point;
    /// - `1.234.567`: two or more dots that all group thousands;
    /// - an optional `€` or `EUR` after the number.
    ///
    /// Refused as ambiguous: `0.123` and `1.234` (a thousands group or three
    /// decimals?), `1,234` and `1,234.56` (English notation or three decimals?),
    /// `295.12.0`, `1,2,3`, groups of other than three digits, and more than
    /// two decimals.
    pub fn parse(input: &str) -> Result<Cents, &'static str> {
        const INVALID: &str = "Bitte geben Sie einen Betrag wie 49,90 an.";
        const AMBIGUOUS: &str = "Dieser Betrag ist nicht eindeutig. Bitte mit Komma und höchstens zwei Nachkommastellen angeben, z. B. 1.234,56.";
        let text = input.trim();
        let text = text.strip_suffix('€').or_else(|| text.strip_suffix("EUR")).unwrap_or(text).trim_end();
        if text.is_empty() {
            return Err("Bitte geben Sie einen Betrag an.");
        }
        if text.starts_with('-') {
            return Err("Der Betrag darf nicht negativ sein.");
        }
        if !text.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b',') {
            return Err(INVALID);
        }
        let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
        // Euros written with dots between groups of three: `1.234.567`.
        let grouped = |part: &str| {
            let mut groups = part.split('.');
            let first = groups.next().unwrap_or_default();
            digits(first) && first.len() <= 3 && groups.all(|group| group.len() == 3 && digits(group))
        };
        let commas = text.matches(',').count();
        let dots = text.matches('.').count();
        let (euros, decimals): (String, &str) = match (commas, dots) {
            (0, 0) => (text.to_owned(), ""),
            (1, _) => {
                let (euros, decimals) = text.split_once(',').expect("one comma");
                if decimals.len() > 2 || decimals.contains('.') {
                    return Err(AMBIGUOUS);
                }
                if !digits(decimals) || !(digits(euros) || grouped(euros)) {
                    return Err(INVALID);
                }
                (euros.replace('.', ""), decimals)
            }
            (0, 1) => {
                let (euros, decimals) = text.split_once('.').expect("one dot");
                if !digits(euros) || !digits(decimals) {
                    return Err(INVALID);
                }
                if decimals.len() > 2 {
                    return Err(AMBIGUOUS);
                }
                (euros.to_owned(), decimals)
            }
            (0, _) if grouped(text) => (text.replace('.', ""), ""),
            _ => return Err(AMBIGUOUS),
        };
        let euros: i64 = euros.parse().map_err(|_| "Der Betrag ist zu groß.")?;
        let cents: i64 = format!("{decimals:0<2}").parse().map_err(|_| INVALID)?;
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
        for (input, cents) in [
            ("295,12", 29_512),
            ("295.12", 29_512),
            ("1.234,56", 123_456),
            ("1234,56", 123_456),
            ("1234.56", 123_456),
            ("49,9", 4_990),
            ("49.9", 4_990),
            ("0,05", 5),
            ("0.50", 50),
            ("99", 9_900),
            ("1.234.567", 123_456_700),
            ("1.234.567,89", 123_456_789),
            ("12 €", 1_200),
            (" 318,92€ ", 31_892),
            ("318,92 EUR", 31_892),
            ("0", 0),
            ("100000000", 10_000_000_000),
        ] {
            assert_eq!(Cents::parse(input), Ok(Cents(cents)), "{input}");
        }
    }

    #[test]
    fn ambiguous_amounts_are_refused() {
        let ambiguous = Cents::parse("295.12.0").unwrap_err();
        assert!(ambiguous.contains("nicht eindeutig"), "{ambiguous}");
        for input in [
            "295.12.0",
            "0.123",
            "1.234",
            "1,2,3",
            "1,234",
            "1,234.56",
            "1.234,567",
            "12.34,56",
            "1.23.456",
            "295,123",
            "1.2345",
            "1,23.4",
        ] {
            assert!(Cents::parse(input).is_err(), "{input} accepted as {:?}", Cents::parse(input));
        }
        for input in ["", " ", "€", "-5", "-0,50", "abc", "12a", "1 234,56", ",50", ".50", "295,", "295.", "+5", "1e3"]
        {
            assert!(Cents::parse(input).is_err(), "{input} accepted as {:?}", Cents::parse(input));
        }
        assert_eq!(Cents::parse("100000000,01"), Err("Der Betrag ist zu groß."));
        assert_eq!(Cents::parse("99999999999999999999999"), Err("Der Betrag ist zu groß."));
        assert_eq!(Cents::parse(""), Err("Bitte geben Sie einen Betrag an."));
        assert_eq!(Cents::parse("-5"), Err("Der Betrag darf nicht negativ sein."));
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
