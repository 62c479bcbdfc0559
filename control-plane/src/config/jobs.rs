//! `jobs.*`: when each scheduled job runs, on the Berlin calendar.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// `jobs.*`: when each job runs (Berlin time) and how the scheduler ticks.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct JobSettings {
    /// Off: no job runs in this process (e.g. a replica kept for the web only).
    pub enabled: bool,
    pub tick_secs: u64,
    /// A claimed run without a finish after this long is taken to have died.
    pub stale_after_secs: i64,
    // Times avoid 02:00–03:00, which the switch to summer time skips.
    pub usage_snapshot: String,
    pub trial_lifecycle: String,
    pub monthly_invoices: String,
    pub dunning: String,
}

impl Default for JobSettings {
    fn default() -> Self {
        JobSettings {
            enabled: true,
            tick_secs: 60,
            stale_after_secs: 3_600,
            usage_snapshot: "0 30 0 * * *".into(),
            trial_lifecycle: "0 0 6 * * *".into(),
            monthly_invoices: "0 0 4 1 * *".into(),
            dunning: "0 30 6 * * *".into(),
        }
    }
}

impl JobSettings {
    /// Each job's setting key and cron schedule.
    pub fn schedules(&self) -> [(&'static str, &str); 4] {
        [
            ("usage_snapshot", &self.usage_snapshot),
            ("trial_lifecycle", &self.trial_lifecycle),
            ("monthly_invoices", &self.monthly_invoices),
            ("dunning", &self.dunning),
        ]
    }

    pub fn validate(&self) -> Result<(), String> {
        for (key, schedule) in self.schedules() {
            cron::Schedule::from_str(schedule).map_err(|e| format!("jobs.{key}: not a cron schedule ({e})"))?;
        }
        if self.tick_secs == 0 {
            return Err("jobs.tick_secs must be at least 1".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_are_checked() {
        let mut settings = JobSettings::default();
        assert!(settings.validate().is_ok());
        settings.trial_lifecycle = "every day".into();
        assert!(settings.validate().unwrap_err().contains("jobs.trial_lifecycle"));
    }
}
