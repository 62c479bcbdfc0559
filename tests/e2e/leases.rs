//! Background work runs on one replica at a time: leases in the shared database.

use ordo_tests::{Backend, TestApp, both_backends};

both_backends!(one_holder_at_a_time_and_the_lease_passes_on_when_it_runs_out);

async fn one_holder_at_a_time_and_the_lease_passes_on_when_it_runs_out(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let leases = app.leases();
    let now = 1_800_000_000;

    // Ten replicas race for a free lease: exactly one wins.
    let racers: Vec<_> = (0..10)
        .map(|i| {
            let leases = leases.clone();
            tokio::spawn(async move { leases.try_acquire("nightly", &format!("replica-{i}"), now, 60).await })
        })
        .collect();
    let mut winners = 0;
    for racer in racers {
        winners += usize::from(racer.await.unwrap());
    }
    assert_eq!(winners, 1);
    let holder = leases.holder("nightly").await.expect("a holder");

    // The holder renews; nobody else gets it while the claim runs.
    assert!(leases.try_acquire("nightly", &holder, now + 30, 60).await);
    assert!(!leases.try_acquire("nightly", "replica-late", now + 89, 60).await);
    // The holder died: once its claim has run out, another replica takes over.
    assert!(leases.try_acquire("nightly", "replica-late", now + 90, 60).await);
    assert!(!leases.try_acquire("nightly", &holder, now + 91, 60).await);
    // Released on shutdown: free at once; releasing someone else's lease does nothing.
    leases.release("nightly", &holder).await;
    assert!(!leases.try_acquire("nightly", &holder, now + 92, 60).await);
    leases.release("nightly", "replica-late").await;
    assert!(leases.try_acquire("nightly", &holder, now + 93, 60).await);
    app.stop().await;
}
