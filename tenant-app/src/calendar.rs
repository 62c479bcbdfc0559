//! The Berlin calendar and how dates and times are written for people.
//!
//! Billing periods, trial ends and every date a broker or an operator reads
//! follow Europe/Berlin. Both the control plane and the portal format dates
//! here, so that one format (`31.12.2026`, `31.12.2026 21:30`) holds everywhere.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::Berlin;

/// The German date format: `31.12.2026`.
pub const DATE_FORMAT: &str = "%d.%m.%Y";

/// The German date and wall-clock time: `31.12.2026 21:30`.
pub const DATE_TIME_FORMAT: &str = "%d.%m.%Y %H:%M";

/// A day of a month without the year, for ranges and chart labels: `31.12.`.
pub const DAY_MONTH_FORMAT: &str = "%d.%m.";

/// A date for display: `31.12.2026`.
pub fn format_date(date: &NaiveDate) -> String {
    date.format(DATE_FORMAT).to_string()
}

/// A day and month for display: `31.12.`.
pub fn format_day_month(date: &NaiveDate) -> String {
    date.format(DAY_MONTH_FORMAT).to_string()
}

/// An instant as Berlin wall-clock time for people: `26.11.2026 21:30`.
pub fn berlin_time(at: i64) -> String {
    Berlin.timestamp_opt(at, 0).single().map(|t| t.format(DATE_TIME_FORMAT).to_string()).unwrap_or_default()
}

/// The Berlin calendar day an instant falls on.
pub fn berlin_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&Berlin).date_naive()
}

/// The Berlin calendar day of a Unix instant (seconds).
pub fn berlin_date_of(at: i64) -> Option<NaiveDate> {
    Berlin.timestamp_opt(at, 0).single().map(|t| t.date_naive())
}

/// The last day of a period that ends at `end` (exclusive, e.g. a trial that
/// ends at midnight), as a German date.
pub fn last_day_before(end: i64) -> String {
    berlin_date_of(end - 1).as_ref().map(format_date).unwrap_or_default()
}

/// Midnight in Berlin at the start of `day`, as a Unix instant.
pub fn berlin_midnight(day: NaiveDate) -> Option<i64> {
    let midnight = day.and_hms_opt(0, 0, 0)?;
    // Midnight never falls in a DST gap in Germany (the switch is at 02:00/03:00).
    Berlin.from_local_datetime(&midnight).earliest().map(|t| t.timestamp())
}

/// The instant `days` Berlin calendar days after the day of `start` begin:
/// a trial begun on 1 March with 30 days ends at the start of 31 March.
pub fn days_later_at_midnight(start: i64, days: i64) -> i64 {
    let start_day = berlin_date_of(start).unwrap_or_default();
    berlin_midnight(start_day + Duration::days(days)).unwrap_or(start + days * 86_400)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times_are_written_the_german_way_in_berlin_time() {
        assert_eq!(format_date(&NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()), "31.12.2026");
        // 20:30 UTC in winter is 21:30 in Berlin.
        let at = Utc.with_ymd_and_hms(2026, 11, 26, 20, 30, 0).unwrap().timestamp();
        assert_eq!(berlin_time(at), "26.11.2026 21:30");
        // 23:30 UTC on 30 June is already 1 July in Berlin (CEST).
        let late = Utc.with_ymd_and_hms(2026, 6, 30, 23, 30, 0).unwrap();
        assert_eq!(berlin_date(late), NaiveDate::from_ymd_opt(2026, 7, 1).unwrap());
    }

    #[test]
    fn a_period_ending_at_midnight_ends_on_the_day_before() {
        let end = berlin_midnight(NaiveDate::from_ymd_opt(2026, 4, 9).unwrap()).unwrap();
        assert_eq!(last_day_before(end), "08.04.2026");
    }

    #[test]
    fn days_later_lands_on_berlin_midnight_across_dst() {
        // 10 March 2026, 15:00 Berlin (CET); 30 days later is 9 April (CEST).
        let start = Berlin.with_ymd_and_hms(2026, 3, 10, 15, 0, 0).unwrap().timestamp();
        let end = Berlin.timestamp_opt(days_later_at_midnight(start, 30), 0).unwrap();
        assert_eq!(end.format("%Y-%m-%d %H:%M").to_string(), "2026-04-09 00:00");
    }
}
