//! The GDV VU-Vermittler record layout: the fields Ordo reads, by column
//! (1-based, inclusive, the same in every release from 2009 to 2023), and how
//! each is read. A record is 256 characters; the Teildatensatz number is in
//! column 256.

use chrono::NaiveDate;

use crate::contracts::{ContractStatus, PaymentFrequency};
use crate::customers::Salutation;
use crate::values::Cents;

/// A field's first and last column.
pub type Columns = (usize, usize);

pub const RECORD_LENGTH: usize = 256;
pub const RECORD_TYPE: Columns = (1, 4);
pub const VU_NUMBER: Columns = (5, 9);
pub const SPARTE: Columns = (11, 13);
pub const POLICY_NUMBER: Columns = (14, 30);
pub const BROKER: Columns = (33, 42);
pub const SUB_RECORD: Columns = (256, 256);

/// 0001 Vorsatz.
pub mod header {
    use super::Columns;
    pub const SENDER: Columns = (10, 39);
    pub const RECIPIENT: Columns = (40, 69);
    pub const CREATED_FROM: Columns = (70, 77);
    pub const CREATED_TO: Columns = (78, 85);
    /// The version of the Vorsatz itself, which names the release the file follows.
    pub const VERSION: Columns = (96, 98);
}

/// 0100 Adressteil, Teildatensatz 1.
pub mod person {
    use super::Columns;
    pub const SALUTATION: Columns = (43, 43);
    pub const NAME1: Columns = (44, 73);
    pub const NAME2: Columns = (74, 103);
    pub const NAME3: Columns = (104, 133);
    pub const TITLE: Columns = (134, 153);
    pub const COUNTRY: Columns = (154, 156);
    pub const POSTAL_CODE: Columns = (157, 162);
    pub const CITY: Columns = (163, 187);
    pub const STREET: Columns = (188, 217);
    pub const BIRTH_DATE: Columns = (226, 233);
}

/// 0100 Adressteil, Teildatensatz 2.
pub mod person_numbers {
    use super::Columns;
    pub const AT_INSURER: Columns = (43, 59);
    pub const AT_BROKER: Columns = (60, 76);
}

/// 0200 Allgemeiner Vertragsteil, Teildatensatz 1.
pub mod contract {
    use super::Columns;
    pub const START: Columns = (44, 51);
    pub const END: Columns = (52, 59);
    pub const MAIN_DUE: Columns = (60, 67);
    pub const FREQUENCY: Columns = (68, 68);
    pub const STATUS: Columns = (69, 69);
    pub const CURRENCY: Columns = (113, 115);
    pub const PREMIUM: Columns = (116, 127);
}

/// 0200 Allgemeiner Vertragsteil, Teildatensatz 2.
pub mod contract_product {
    use super::Columns;
    pub const PRODUCT: Columns = (114, 133);
}

/// 9999 Nachsatz.
pub mod trailer {
    use super::Columns;
    pub const RECORD_COUNT: Columns = (5, 14);
    pub const TOTAL_PREMIUM: Columns = (25, 39);
}

/// One record, padded back to 256 characters where trailing spaces were stripped.
#[derive(Debug, Clone)]
pub struct Record {
    chars: Vec<char>,
}

impl Record {
    /// `None` when the line is longer than a record.
    pub fn parse(line: &str) -> Option<Record> {
        let mut chars: Vec<char> = line.chars().collect();
        if chars.len() > RECORD_LENGTH {
            return None;
        }
        chars.resize(RECORD_LENGTH, ' ');
        Some(Record { chars })
    }

    /// The field as it stands, untrimmed.
    pub fn raw(&self, (from, to): Columns) -> String {
        self.chars[from - 1..to].iter().collect()
    }

    /// The field without surrounding spaces.
    pub fn text(&self, columns: Columns) -> String {
        self.raw(columns).trim().to_owned()
    }

    pub fn record_type(&self) -> String {
        self.raw(RECORD_TYPE)
    }

    pub fn sub_record(&self) -> u8 {
        self.chars[RECORD_LENGTH - 1].to_digit(10).map_or(1, |d| d as u8)
    }

    /// (VU-Nr, Sparte, Versicherungsschein-Nr): what ties a contract's records together.
    pub fn contract_key(&self) -> (String, String, String) {
        (self.text(VU_NUMBER), self.text(SPARTE), self.text(POLICY_NUMBER))
    }
}

/// How precise a date must be for its field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// Day or month `00` means the first of it (contract dates).
    FirstOfUnknown,
    /// Day or month `00` leaves the date unknown (a birth date is exact or nothing).
    Exact,
}

/// A `TTMMJJJJ` date: blank or all zeros is no date; `Err` names the field's problem.
pub fn date(raw: &str, precision: Precision) -> Result<Option<NaiveDate>, String> {
    let trimmed = raw.trim();
    if trimmed.is_empty() || trimmed.bytes().all(|b| b == b'0') {
        return Ok(None);
    }
    if raw.len() != 8 || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("„{trimmed}“ ist kein Datum im Format TTMMJJJJ"));
    }
    let (day, month, year): (u32, u32, i32) =
        (raw[0..2].parse().unwrap_or(0), raw[2..4].parse().unwrap_or(0), raw[4..8].parse().unwrap_or(0));
    if year == 0 {
        return Ok(None);
    }
    if (day == 0 || month == 0) && precision == Precision::Exact {
        return Ok(None);
    }
    let month_known = if month == 0 { 1 } else { month };
    let day_known = if day == 0 || month == 0 { 1 } else { day };
    NaiveDate::from_ymd_opt(year, month_known, day_known)
        .map(Some)
        .ok_or_else(|| format!("„{trimmed}“ ist kein gültiges Datum"))
}

/// An amount with two implied decimals; blank is zero.
pub fn amount(raw: &str) -> Result<Cents, String> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Ok(Cents(0));
    }
    let (negative, digits) = match trimmed.strip_prefix('-').or_else(|| trimmed.strip_suffix('-')) {
        Some(rest) => (true, rest),
        None => (false, trimmed),
    };
    if !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 15 {
        return Err(format!("„{trimmed}“ ist kein Betrag"));
    }
    let cents: i64 = digits.parse().map_err(|_| format!("„{trimmed}“ ist kein Betrag"))?;
    Ok(Cents(if negative { -cents } else { cents }))
}

pub fn frequency(code: &str) -> Option<PaymentFrequency> {
    PaymentFrequency::ALL.into_iter().find(|f| code.trim() == f.gdv_code().to_string())
}

/// 1 active, 4 cancelled; every other state (beitragsfrei, ruhend, …) is dormant.
pub fn status(code: &str) -> ContractStatus {
    match code.trim() {
        "1" => ContractStatus::Active,
        "4" => ContractStatus::Cancelled,
        _ => ContractStatus::Dormant,
    }
}

pub fn salutation(code: &str) -> Option<Salutation> {
    match code.trim() {
        "" => Some(Salutation::None),
        digit => digit.parse().ok().and_then(Salutation::from_gdv),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_with_unknown_parts() {
        let d = |y, m, day| Some(NaiveDate::from_ymd_opt(y, m, day).unwrap());
        assert_eq!(date("15032024", Precision::FirstOfUnknown), Ok(d(2024, 3, 15)));
        assert_eq!(date("00032024", Precision::FirstOfUnknown), Ok(d(2024, 3, 1)));
        assert_eq!(date("00002024", Precision::FirstOfUnknown), Ok(d(2024, 1, 1)));
        assert_eq!(date("00031980", Precision::Exact), Ok(None));
        assert_eq!(date("00000000", Precision::FirstOfUnknown), Ok(None));
        assert_eq!(date("        ", Precision::FirstOfUnknown), Ok(None));
        assert!(date("31022024", Precision::FirstOfUnknown).is_err());
        assert!(date("1.3.2024", Precision::FirstOfUnknown).is_err());
    }

    #[test]
    fn amounts_codes_and_padding() {
        assert_eq!(amount("000000012345"), Ok(Cents(12_345)));
        assert_eq!(amount("            "), Ok(Cents(0)));
        assert!(amount("00000012,345").is_err());
        assert_eq!(frequency("8"), Some(PaymentFrequency::Monthly));
        assert_eq!(frequency("6"), Some(PaymentFrequency::Single));
        assert_eq!(frequency("3"), None);
        assert_eq!(status("1"), ContractStatus::Active);
        assert_eq!(status("4"), ContractStatus::Cancelled);
        assert_eq!(status("2"), ContractStatus::Dormant);
        assert_eq!(salutation("3"), Some(Salutation::Firma));
        assert_eq!(salutation("7"), None);
        let record = Record::parse("0200").unwrap();
        assert_eq!(record.raw(SUB_RECORD), " ");
        assert_eq!(record.record_type(), "0200");
        assert!(Record::parse(&"x".repeat(257)).is_none());
    }
}
