//! Reading bytes and values as German exports write them: ISO-8859-1 and
//! Windows-1252 text, `1.234,56`, `31.12.2026`.

use chrono::NaiveDate;

use crate::values::Cents;

/// ISO-8859-1: every byte is the code point of the same number.
pub fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// Windows-1252: ISO-8859-1 except 0x80–0x9F, where it puts €, quotes and dashes.
pub fn windows_1252(bytes: &[u8]) -> String {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž', '\u{8f}', '\u{90}', '‘',
        '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}', 'ž', 'Ÿ',
    ];
    bytes.iter().map(|&b| if (0x80..0xA0).contains(&b) { HIGH[usize::from(b - 0x80)] } else { char::from(b) }).collect()
}

/// UTF-8 (without its byte order mark) when the bytes are valid UTF-8, else
/// Windows-1252, which every byte sequence is.
pub fn utf8_or_windows_1252(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => windows_1252(bytes),
    }
}

/// A date as exports write it: `31.12.2026`, `1.2.2026`, `31.12.26` or `2026-12-31`.
pub fn german_date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    // Excel cells arrive as `2026-12-31` (see xlsx.rs), sometimes with a time.
    let date_part = text.split([' ', 'T']).next().unwrap_or(text);
    if let Ok(date) = NaiveDate::parse_from_str(date_part, "%Y-%m-%d") {
        return Some(date);
    }
    let mut parts = text.split('.');
    let (day, month, year) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let number = |s: &str| {
        if !s.is_empty() && s.len() <= 4 && s.bytes().all(|b| b.is_ascii_digit()) {
            s.parse::<i32>().ok()
        } else {
            None
        }
    };
    let (day, month, year) = (number(day)?, number(month)?, number(year.trim())?);
    let year = match year {
        0..=69 if text.trim().len() <= 8 => 2000 + year,
        70..=99 => 1900 + year,
        year => year,
    };
    NaiveDate::from_ymd_opt(year, u32::try_from(month).ok()?, u32::try_from(day).ok()?)
}

/// An amount in euros: `1.234,56`, `1234,5`, `-12,00`, `1234.56` (a decimal point
/// only where it cannot be a thousands separator), `1.234`, with or without `€`.
pub fn german_amount(text: &str) -> Option<Cents> {
    let cleaned: String =
        text.trim().trim_end_matches('€').trim_end_matches("EUR").trim().chars().filter(|c| *c != ' ').collect();
    let (negative, digits) = match cleaned.strip_prefix('-') {
        Some(rest) => (true, rest.to_owned()),
        None => (false, cleaned),
    };
    if digits.is_empty() {
        return None;
    }
    let (whole, fraction) = if let Some((whole, fraction)) = digits.rsplit_once(',') {
        (whole.replace('.', ""), fraction.to_owned())
    } else if let Some((whole, fraction)) = digits.rsplit_once('.')
        && (1..=2).contains(&fraction.len())
        && !whole.contains('.')
    {
        (whole.to_owned(), fraction.to_owned())
    } else {
        (digits.replace('.', ""), String::new())
    };
    if whole.is_empty() && fraction.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
        || fraction.len() > 2
    {
        return None;
    }
    let euros: i64 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
    let cents: i64 = format!("{fraction:0<2}").parse().ok()?;
    let total = euros.checked_mul(100)?.checked_add(cents)?;
    Some(Cents(if negative { -total } else { total }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_decode_umlauts() {
        assert_eq!(latin1(b"M\xfcller \xdf"), "Müller ß");
        assert_eq!(windows_1252(b"\x80 \x84Gr\xfc\xdfe\x93"), "€ „Grüße“");
        assert_eq!(utf8_or_windows_1252("\u{feff}Müller".as_bytes()), "Müller");
        assert_eq!(utf8_or_windows_1252(b"M\xfcller"), "Müller");
    }

    #[test]
    fn german_dates_and_amounts() {
        let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d);
        assert_eq!(german_date("31.12.2026"), date(2026, 12, 31));
        assert_eq!(german_date("1.2.2026"), date(2026, 2, 1));
        assert_eq!(german_date("01.02.26"), date(2026, 2, 1));
        assert_eq!(german_date("3.4.85"), date(1985, 4, 3));
        assert_eq!(german_date("2026-12-31"), date(2026, 12, 31));
        assert_eq!(german_date("2026-12-31 00:00:00"), date(2026, 12, 31));
        assert_eq!(german_date("31.02.2026"), None);
        assert_eq!(german_date("heute"), None);
        assert_eq!(german_amount("1.234,56"), Some(Cents(123_456)));
        assert_eq!(german_amount("1234,5 €"), Some(Cents(123_450)));
        assert_eq!(german_amount("-12,00"), Some(Cents(-1200)));
        assert_eq!(german_amount("1234.56"), Some(Cents(123_456)));
        assert_eq!(german_amount("1.234"), Some(Cents(123_400)));
        assert_eq!(german_amount("1.234.567,8"), Some(Cents(123_456_780)));
        assert_eq!(german_amount("12"), Some(Cents(1200)));
        assert_eq!(german_amount("zwölf"), None);
        assert_eq!(german_amount("1,234"), None);
        assert_eq!(german_amount(""), None);
    }
}
