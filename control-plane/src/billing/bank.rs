//! Bank identifiers printed on invoices and written into e-invoices: an IBAN is
//! checked (ISO 13616 check digits) once, where it enters the program.

use std::fmt;

/// An IBAN in electronic form: upper case, no spaces, check digits verified.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Iban(String);

impl Iban {
    pub fn parse(input: &str) -> Result<Iban, &'static str> {
        let iban: String = input.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_uppercase();
        if !(15..=34).contains(&iban.len()) || !iban.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err("Das ist keine gültige IBAN.");
        }
        let bytes = iban.as_bytes();
        if !bytes[..2].iter().all(u8::is_ascii_alphabetic) || !bytes[2..4].iter().all(u8::is_ascii_digit) {
            return Err("Das ist keine gültige IBAN.");
        }
        // ISO 7064 MOD 97-10 over the rearranged IBAN, letters as 10..35, digit by digit.
        let rearranged = iban[4..].bytes().chain(iban[..4].bytes());
        let remainder = rearranged.fold(0u32, |acc, b| {
            let value = if b.is_ascii_digit() { u32::from(b - b'0') } else { u32::from(b - b'A') + 10 };
            if value >= 10 { (acc * 100 + value) % 97 } else { (acc * 10 + value) % 97 }
        });
        if remainder != 1 {
            return Err("Die Prüfziffer der IBAN stimmt nicht.");
        }
        Ok(Iban(iban))
    }

    /// The electronic form, as e-invoices carry it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Iban {
    /// The paper form, in groups of four: `DE89 3704 0044 0532 0130 00`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, chunk) in self.0.as_bytes().chunks(4).enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(std::str::from_utf8(chunk).map_err(|_| fmt::Error)?)?;
        }
        Ok(())
    }
}

/// A BIC (ISO 9362): 8 or 11 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Bic(String);

impl Bic {
    pub fn parse(input: &str) -> Result<Bic, &'static str> {
        let bic = input.trim().to_ascii_uppercase();
        let bytes = bic.as_bytes();
        let valid = matches!(bytes.len(), 8 | 11)
            && bytes[..6].iter().all(u8::is_ascii_alphabetic)
            && bytes[6..].iter().all(u8::is_ascii_alphanumeric);
        if valid { Ok(Bic(bic)) } else { Err("Das ist keine gültige BIC.") }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Bic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The account an invoice asks to be paid to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankAccount {
    pub holder: String,
    pub iban: Iban,
    pub bic: Option<Bic>,
    /// The bank's name, for the printed invoice only.
    pub bank_name: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ibans_are_checked_and_grouped() {
        let iban = Iban::parse("de89 3704 0044 0532 0130 00").unwrap();
        assert_eq!(iban.as_str(), "DE89370400440532013000");
        assert_eq!(iban.to_string(), "DE89 3704 0044 0532 0130 00");
        assert!(Iban::parse("GB82WEST12345698765432").is_ok());
        assert_eq!(Iban::parse("DE88370400440532013000"), Err("Die Prüfziffer der IBAN stimmt nicht."));
        for bad in ["", "DE89", "DE89 3704 0044 0532 0130 0!", "1289370400440532013000", "DEXX370400440532013000"] {
            assert!(Iban::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn bics_have_eight_or_eleven_characters() {
        assert_eq!(Bic::parse("cobadeffxxx").unwrap().as_str(), "COBADEFFXXX");
        assert!(Bic::parse("COBADEFF").is_ok());
        assert!(Bic::parse("COBADEF").is_err());
        assert!(Bic::parse("C0BADEFF").is_err());
    }
}
