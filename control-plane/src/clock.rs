//! The time the control plane goes by. Scheduled jobs, trial ends and billing
//! periods read it from here, never from the system directly, so that tests
//! (and an operator replaying a missed day) can set it.

use std::sync::Mutex;

use chrono::{DateTime, NaiveDate, Utc};

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;

    fn timestamp(&self) -> i64 {
        self.now().timestamp()
    }

    /// Today's date on the Berlin calendar, which billing periods and trial ends follow.
    fn berlin_today(&self) -> NaiveDate {
        tenant_app::calendar::berlin_date(self.now())
    }
}

/// The real time.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until moved.
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> ManualClock {
        ManualClock(Mutex::new(at))
    }

    pub fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().expect("clock lock poisoned") = at;
    }

    pub fn advance(&self, by: chrono::Duration) {
        *self.0.lock().expect("clock lock poisoned") += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock lock poisoned")
    }
}
