//! How many uploads one client may run at once.
//!
//! The gate is one per process, not per portal: in the embedded default a
//! single process serves every tenant, and a client must not get a fresh
//! allowance from each portal it can reach. A few uploads run at once; a few
//! more wait (their bodies stay unread in the socket, costing no memory); the
//! rest, and those that waited too long, are refused with `Retry-After`.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Uploads one client address runs at once.
pub const PER_CLIENT: usize = 4;
/// Uploads of one client that may wait for a turn.
const WAITING_PER_CLIENT: usize = 12;
/// How long an upload waits for its turn.
const MAX_WAIT: Duration = Duration::from_secs(60);

static GATE: LazyLock<Mutex<HashMap<String, Arc<Semaphore>>>> = LazyLock::new(Mutex::default);

/// A running upload's turn; the client's next upload may start when it is dropped.
pub struct Turn {
    permit: Option<OwnedSemaphorePermit>,
    client: String,
    semaphore: Arc<Semaphore>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

/// Waits for the client's turn, or gives up at once when too many already wait.
pub async fn enter(client: &str) -> Result<Turn, Busy> {
    let semaphore = {
        let mut gate = GATE.lock().expect("upload gate poisoned");
        let semaphore = gate.entry(client.to_owned()).or_insert_with(|| Arc::new(Semaphore::new(PER_CLIENT)));
        // The map keeps one reference; every running or waiting upload two (its
        // turn, and its permit or the future waiting for one).
        if (Arc::strong_count(semaphore) - 1) / 2 >= PER_CLIENT + WAITING_PER_CLIENT {
            return Err(Busy);
        }
        semaphore.clone()
    };
    let mut turn = Turn { permit: None, client: client.to_owned(), semaphore };
    match tokio::time::timeout(MAX_WAIT, turn.semaphore.clone().acquire_owned()).await {
        Ok(Ok(permit)) => {
            turn.permit = Some(permit);
            Ok(turn)
        }
        _ => Err(Busy),
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        drop(self.permit.take());
        let mut gate = GATE.lock().expect("upload gate poisoned");
        // Only the map and this turn hold it: nobody runs or waits, so the entry goes.
        if Arc::strong_count(&self.semaphore) == 2 {
            gate.remove(&self.client);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_client_runs_a_few_uploads_at_once_and_the_entry_goes_afterwards() {
        let client = "203.0.113.77";
        let mut turns = Vec::new();
        for _ in 0..PER_CLIENT {
            turns.push(enter(client).await.unwrap());
        }
        let waiting = tokio::spawn(async move { enter("203.0.113.77").await.map(|_| ()) });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished(), "the next upload waits for a turn");
        turns.pop();
        assert_eq!(waiting.await.unwrap(), Ok(()));
        let more: Vec<_> = (0..WAITING_PER_CLIENT + 1).map(|_| tokio::spawn(enter("203.0.113.77"))).collect();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(more.iter().filter(|m| m.is_finished()).count(), 1, "one gets the free turn, a dozen wait");
        assert!(enter(client).await.is_err(), "the next one is refused at once");
        turns.clear();
        for waiting in more {
            drop(waiting.await.unwrap().unwrap());
        }
        assert!(!GATE.lock().unwrap().contains_key(client));
    }
}
