//! The time the control plane goes by. Scheduled jobs, trial ends and billing
//! periods read it from here, never from the system directly, so that tests
//! (and an operator replaying a missed day) can set it.

use std::sync::Mutex;

use chrono::{DateTime, NaiveDate, Utc};
use tokio::sync::watch;

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;

    fn timestamp(&self) -> i64 {
        self.now().timestamp()
    }

    /// Today's date on the Berlin calendar, which billing periods and trial ends follow.
    fn berlin_today(&self) -> NaiveDate {
        tenant_app::calendar::berlin_date(self.now())
    }

    /// Changes whenever the clock is moved, so that work sleeping until a time
    /// (the portals' webhook retries) looks again; `None` for a clock that is not moved.
    fn moves(&self) -> Option<watch::Receiver<()>> {
        None
    }
}

/// The clock the portals of this process go by: this one.
pub fn portal_clock(clock: std::sync::Arc<dyn Clock>) -> tenant_app::clock::Clock {
    let moves = clock.moves();
    tenant_app::clock::Clock::new(move || clock.timestamp(), moves)
}

/// The real time.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until moved.
pub struct ManualClock {
    at: Mutex<DateTime<Utc>>,
    moved: watch::Sender<()>,
}

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> ManualClock {
        ManualClock { at: Mutex::new(at), moved: watch::Sender::new(()) }
    }

    pub fn set(&self, at: DateTime<Utc>) {
        *self.at.lock().expect("clock lock poisoned") = at;
        self.moved.send_replace(());
    }

    pub fn advance(&self, by: chrono::Duration) {
        *self.at.lock().expect("clock lock poisoned") += by;
        self.moved.send_replace(());
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.at.lock().expect("clock lock poisoned")
    }

    fn moves(&self) -> Option<watch::Receiver<()>> {
        Some(self.moved.subscribe())
    }
}
