//! Background work runs on one replica at a time: leases in the shared database.

use control_plane::leases;
use ordo_tests::{Backend, TestApp, both_backends};

both_backends!(one_holder_at_a_time_and_the_lease_passes_on_when_it_runs_out);

async fn one_holder_at_a_time_and_the_lease_passes_on_when_it_runs_out(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let db = app.state.db.clone();
    let now = 1_800_000_000;

    // Ten replicas race for a free lease: exactly one wins.
    let racers = (0..10).map(|i| {
        let db = db.clone();
        tokio::spawn(
            async move { leases::try_acquire(&db, "nightly", &format!("replica-{i}"), now, 60).await.unwrap() },
        )
    });
    let mut winners = 0;
    for racer in racers {
        winners += usize::from(racer.await.unwrap());
    }
    assert_eq!(winners, 1);
    let holder: String =
        sqlx::query_scalar("SELECT holder FROM leases WHERE name = 'nightly'").fetch_one(db.pool()).await.unwrap();

    // The holder renews; nobody else gets it while the claim runs.
    assert!(leases::try_acquire(&db, "nightly", &holder, now + 30, 60).await.unwrap());
    assert!(!leases::try_acquire(&db, "nightly", "replica-late", now + 89, 60).await.unwrap());
    // The holder died: once its claim has run out, another replica takes over.
    assert!(leases::try_acquire(&db, "nightly", "replica-late", now + 90, 60).await.unwrap());
    assert!(!leases::try_acquire(&db, "nightly", &holder, now + 91, 60).await.unwrap());
    // Released on shutdown: free at once; releasing someone else's lease does nothing.
    leases::release(&db, "nightly", &holder).await.unwrap();
    assert!(!leases::try_acquire(&db, "nightly", &holder, now + 92, 60).await.unwrap());
    leases::release(&db, "nightly", "replica-late").await.unwrap();
    assert!(leases::try_acquire(&db, "nightly", &holder, now + 93, 60).await.unwrap());
    app.stop().await;
}
