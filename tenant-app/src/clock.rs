//! The time a portal's background work goes by.
//!
//! Requests stamp their rows with the system time (`db::now`). Work that waits
//! for a time to come (the webhook worker's retries, disabling an endpoint after
//! days of failures) asks this clock instead, so that tests can move it: the
//! control plane hands its own clock to the portals it runs, and says when it
//! was moved, so a worker asleep until the next retry wakes up and looks again.

use std::sync::Arc;

use tokio::sync::watch;

#[derive(Clone)]
pub struct Clock {
    now: Arc<dyn Fn() -> i64 + Send + Sync>,
    /// Changes whenever a test moves the clock; `None` for the system clock.
    moves: Option<watch::Receiver<()>>,
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clock").field("movable", &self.moves.is_some()).finish_non_exhaustive()
    }
}

impl Clock {
    /// The real time.
    pub fn system() -> Clock {
        Clock { now: Arc::new(crate::db::now), moves: None }
    }

    /// A clock read by `now` (Unix seconds), announcing its moves on `moves`.
    pub fn new(now: impl Fn() -> i64 + Send + Sync + 'static, moves: Option<watch::Receiver<()>>) -> Clock {
        Clock { now: Arc::new(now), moves }
    }

    /// Unix seconds, UTC.
    pub fn now(&self) -> i64 {
        (self.now)()
    }

    /// A receiver that changes when the clock is moved; `None` if it never is.
    pub fn moves(&self) -> Option<watch::Receiver<()>> {
        self.moves.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_clock_follows_the_system_time() {
        let clock = Clock::system();
        assert!((clock.now() - crate::db::now()).abs() <= 1);
        assert!(clock.moves().is_none());
        let fixed = Clock::new(|| 42, None);
        assert_eq!(fixed.now(), 42);
    }
}
