//! `ordo-bench hashing [--tenants N]`: N parallel password checks (default
//! 100) through the process's `PasswordGate`, as N parallel logins make them;
//! reports the resident memory before, at the peak and after the burst.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tenant_app::security::passwords::{self, PasswordGate};

fn own_rss_kib() -> u64 {
    super::rss_kib(std::process::id())
}

pub async fn run(parallel: usize) {
    let stored = passwords::hash("richtiges passwort 1");
    // Long enough a wait that every check of the burst runs (none answers 503).
    let gate = PasswordGate::new(0, Duration::from_secs(600));
    let before = own_rss_kib();
    let peak = Arc::new(AtomicU64::new(before));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(own_rss_kib(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let started = Instant::now();
    let checks: Vec<_> = (0..parallel)
        .map(|i| {
            let (gate, stored) = (gate.clone(), stored.clone());
            tokio::spawn(async move { gate.verify(&format!("falsches passwort {i}"), Some(&stored)).await })
        })
        .collect();
    for check in checks {
        assert_eq!(check.await.unwrap(), Ok(false));
    }
    let elapsed = started.elapsed();
    done.store(true, Ordering::Relaxed);
    sampler.await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = own_rss_kib();
    let peak = peak.load(Ordering::Relaxed);
    println!(
        "{parallel} parallel checks, {} at once: {:.1} s; RSS before {} MiB, peak {} MiB (+{} MiB), after {} MiB (+{} MiB)",
        passwords::default_permits(),
        elapsed.as_secs_f64(),
        before / 1024,
        peak / 1024,
        peak.saturating_sub(before) / 1024,
        after / 1024,
        after.saturating_sub(before) / 1024,
    );
}
