//! Money arithmetic for invoices: VAT, proration and the one rounding rule.
//!
//! Amounts are integer euro cents ([`Cents`], shared with the tenant app). Every
//! division that can leave a remainder rounds commercially — half away from zero —
//! to the cent, and happens in `i128` so no product of realistic amounts overflows.
//! VAT is computed once per invoice and rate on the sum of the line nets (EN 16931
//! BR-CO-17), never per line, so the printed and the structured invoice agree.

use std::fmt;

pub use tenant_app::values::Cents;

/// A VAT rate in hundredths of a percent: 1900 is 19 %.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VatRate(u32);

impl VatRate {
    /// The German standard rate (§ 12 Abs. 1 UStG), category S in EN 16931.
    pub const STANDARD: VatRate = VatRate(1900);

    /// A positive rate of at most 100 %, in hundredths of a percent.
    pub fn from_hundredths(hundredths: u32) -> Result<VatRate, MoneyError> {
        if hundredths == 0 || hundredths > 10_000 {
            return Err(MoneyError::VatRate(hundredths));
        }
        Ok(VatRate(hundredths))
    }

    pub fn hundredths(self) -> u32 {
        self.0
    }

    /// The rate as XML wants it: `19.00`.
    pub fn decimal(self) -> String {
        format!("{}.{:02}", self.0 / 100, self.0 % 100)
    }

    /// The VAT on a net amount: `net × rate`, rounded half away from zero to the cent.
    pub fn tax_on(self, net: Cents) -> Cents {
        Cents(div_round_half_away(i128::from(net.0) * i128::from(self.0), 10_000))
    }
}

impl fmt::Display for VatRate {
    /// German notation without needless decimals: `19 %`, `7,5 %`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (whole, fraction) = (self.0 / 100, self.0 % 100);
        match fraction {
            0 => write!(f, "{whole} %"),
            f10 if f10 % 10 == 0 => write!(f, "{whole},{} %", f10 / 10),
            _ => write!(f, "{whole},{fraction:02} %"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("a VAT rate must be above 0 and at most 100 %, not {0} hundredths of a percent")]
    VatRate(u32),
    #[error("a period has at least one day")]
    EmptyPeriod,
    #[error("{used} days used is more than the {period} days of the period")]
    DaysBeyondPeriod { used: u32, period: u32 },
}

/// The part of a monthly price for `days_used` of a period of `days_in_period` days:
/// `monthly × used / period`, rounded half away from zero to the cent. A negative
/// price (a credit) rounds symmetrically, so crediting a prorated charge gives
/// back exactly what was charged.
pub fn prorate(monthly: Cents, days_used: u32, days_in_period: u32) -> Result<Cents, MoneyError> {
    if days_in_period == 0 {
        return Err(MoneyError::EmptyPeriod);
    }
    if days_used > days_in_period {
        return Err(MoneyError::DaysBeyondPeriod { used: days_used, period: days_in_period });
    }
    Ok(Cents(div_round_half_away(i128::from(monthly.0) * i128::from(days_used), i128::from(days_in_period))))
}

/// `numerator / denominator` rounded half away from zero. The result of every
/// caller is bounded by its `i64` input (the factor is at most one), so the
/// conversion back cannot fail.
fn div_round_half_away(numerator: i128, denominator: i128) -> i64 {
    debug_assert!(denominator > 0);
    let quotient = numerator / denominator;
    let remainder = numerator % denominator;
    // Twice the remainder against the divisor: exactly half rounds away from zero.
    let rounded = if 2 * remainder.abs() >= denominator { quotient + numerator.signum() } else { quotient };
    i64::try_from(rounded).expect("a rate or share of at most one keeps the amount in range")
}

/// The VAT of one rate on an invoice (EN 16931 BG-23).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VatBreakdown {
    pub rate: VatRate,
    /// The sum of the line nets at this rate (BT-116).
    pub taxable: Cents,
    /// `taxable × rate`, rounded once (BT-117).
    pub tax: Cents,
}

/// The totals of an invoice, derived from its lines and nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Totals {
    /// Sum of the line nets (BT-106); with no document-level allowances also the
    /// taxable total (BT-109).
    pub net: Cents,
    /// One entry per rate, by ascending rate.
    pub vat_breakdown: Vec<VatBreakdown>,
    /// Sum of the VAT of every rate (BT-110).
    pub vat: Cents,
    /// `net + vat` (BT-112), which is also the amount due (BT-115).
    pub gross: Cents,
}

impl Totals {
    /// Totals of line nets with their rates.
    pub fn from_lines(lines: impl IntoIterator<Item = (Cents, VatRate)>) -> Totals {
        let mut by_rate = std::collections::BTreeMap::<VatRate, Cents>::new();
        for (net, rate) in lines {
            let taxable = by_rate.entry(rate).or_default();
            *taxable = *taxable + net;
        }
        let vat_breakdown: Vec<VatBreakdown> = by_rate
            .into_iter()
            .map(|(rate, taxable)| VatBreakdown { rate, taxable, tax: rate.tax_on(taxable) })
            .collect();
        let net = vat_breakdown.iter().map(|b| b.taxable).sum();
        let vat = vat_breakdown.iter().map(|b| b.tax).sum();
        Totals { net, vat_breakdown, vat, gross: net + vat }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vat_rounds_half_away_from_zero() {
        let vat = VatRate::STANDARD;
        assert_eq!(vat.tax_on(Cents(0)), Cents(0));
        // 1 cent × 19 % = 0.19 cent → 0; 3 cents → 0.57 → 1.
        assert_eq!(vat.tax_on(Cents(1)), Cents(0));
        assert_eq!(vat.tax_on(Cents(3)), Cents(1));
        // 50 cents × 19 % = 9.5 cents: exactly half, away from zero.
        assert_eq!(vat.tax_on(Cents(50)), Cents(10));
        assert_eq!(vat.tax_on(Cents(-50)), Cents(-10));
        // 150 cents → 28.5 → 29; 250 → 47.5 → 48; 149 → 28.31 → 28.
        assert_eq!(vat.tax_on(Cents(150)), Cents(29));
        assert_eq!(vat.tax_on(Cents(250)), Cents(48));
        assert_eq!(vat.tax_on(Cents(149)), Cents(28));
        assert_eq!(vat.tax_on(Cents(-149)), Cents(-28));
        assert_eq!(vat.tax_on(Cents(4_900)), Cents(931));
        assert_eq!(vat.tax_on(Cents(19_900)), Cents(3_781));
    }

    #[test]
    fn vat_on_large_sums_does_not_overflow() {
        // A hundred billion euros, and the largest amount there is.
        assert_eq!(VatRate::STANDARD.tax_on(Cents(10_000_000_000_000)), Cents(1_900_000_000_000));
        assert_eq!(VatRate::STANDARD.tax_on(Cents(i64::MAX)), Cents(1_752_440_687_002_407_403));
        assert_eq!(VatRate::STANDARD.tax_on(Cents(i64::MIN)), Cents(-1_752_440_687_002_407_404));
    }

    #[test]
    fn vat_rates_parse_and_print() {
        assert_eq!(VatRate::STANDARD.decimal(), "19.00");
        assert_eq!(VatRate::STANDARD.to_string(), "19 %");
        assert_eq!(VatRate::from_hundredths(750).unwrap().to_string(), "7,5 %");
        assert_eq!(VatRate::from_hundredths(725).unwrap().to_string(), "7,25 %");
        assert_eq!(VatRate::from_hundredths(0), Err(MoneyError::VatRate(0)));
        assert_eq!(VatRate::from_hundredths(10_001), Err(MoneyError::VatRate(10_001)));
    }

    #[test]
    fn proration_by_days() {
        assert_eq!(prorate(Cents(4_900), 30, 30), Ok(Cents(4_900)));
        assert_eq!(prorate(Cents(4_900), 0, 30), Ok(Cents(0)));
        // 49.00 € × 10/30 = 16.333… → 16.33; × 20/30 = 32.666… → 32.67.
        assert_eq!(prorate(Cents(4_900), 10, 30), Ok(Cents(1_633)));
        assert_eq!(prorate(Cents(4_900), 20, 30), Ok(Cents(3_267)));
        // 0.01 € × 15/30 = 0.5 cent: half, away from zero; a credit mirrors it.
        assert_eq!(prorate(Cents(1), 15, 30), Ok(Cents(1)));
        assert_eq!(prorate(Cents(-1), 15, 30), Ok(Cents(-1)));
        assert_eq!(prorate(Cents(1), 14, 30), Ok(Cents(0)));
        // 19.00 € × 1/28 = 67.857… → 68; × 1/31 = 61.29… → 61.
        assert_eq!(prorate(Cents(1_900), 1, 28), Ok(Cents(68)));
        assert_eq!(prorate(Cents(1_900), 1, 31), Ok(Cents(61)));
        assert_eq!(prorate(Cents(-4_900), 10, 30), Ok(Cents(-1_633)));
        assert_eq!(prorate(Cents(i64::MAX), 30, 31), Ok(Cents(8_925_843_906_633_654_007)));
    }

    #[test]
    fn proration_refuses_impossible_periods() {
        assert_eq!(prorate(Cents(100), 1, 0), Err(MoneyError::EmptyPeriod));
        assert_eq!(prorate(Cents(100), 32, 31), Err(MoneyError::DaysBeyondPeriod { used: 32, period: 31 }));
    }

    #[test]
    fn totals_round_vat_once_per_rate_on_the_sum_of_lines() {
        // Three lines of 0.50 €: per line VAT would be 3 × 0.10 = 0.30, but the
        // rule is VAT on the sum: 1.50 × 19 % = 0.285 → 0.29.
        let totals = Totals::from_lines([(Cents(50), VatRate::STANDARD); 3]);
        assert_eq!(totals.net, Cents(150));
        assert_eq!(totals.vat, Cents(29));
        assert_eq!(totals.gross, Cents(179));
        assert_eq!(
            totals.vat_breakdown,
            vec![VatBreakdown { rate: VatRate::STANDARD, taxable: Cents(150), tax: Cents(29) }]
        );
    }

    #[test]
    fn totals_of_several_rates_and_negative_lines() {
        let reduced = VatRate::from_hundredths(700).unwrap();
        let totals = Totals::from_lines([
            (Cents(19_900), VatRate::STANDARD),
            (Cents(-1_000), VatRate::STANDARD),
            (Cents(1_050), reduced),
        ]);
        assert_eq!(totals.vat_breakdown.len(), 2);
        assert_eq!(totals.vat_breakdown[0], VatBreakdown { rate: reduced, taxable: Cents(1_050), tax: Cents(74) });
        assert_eq!(
            totals.vat_breakdown[1],
            VatBreakdown { rate: VatRate::STANDARD, taxable: Cents(18_900), tax: Cents(3_591) }
        );
        assert_eq!(totals.net, Cents(19_950));
        assert_eq!(totals.vat, Cents(3_665));
        assert_eq!(totals.gross, Cents(23_615));
    }

    #[test]
    fn totals_of_nothing_are_zero() {
        let totals = Totals::from_lines([]);
        assert_eq!((totals.net, totals.vat, totals.gross), (Cents(0), Cents(0), Cents(0)));
        assert!(totals.vat_breakdown.is_empty());
    }
}
