//! Rotating the master key: instances keep running with the new key and the
//! previous one, `keys rotate` re-wraps every tenant key, and afterwards the
//! new key alone opens everything while the old one opens nothing.

use ordo_tests::{Backend, TestApp, both_backends, get_page, new_master_key};
use reqwest::StatusCode;

both_backends!(master_key_rotation_without_downtime);

async fn master_key_rotation_without_downtime(backend: Backend) {
    let (old, new) = (new_master_key(), new_master_key());
    let app = TestApp::spawn_with(backend, &[("master_key", old.as_str())]).await;
    let broker = app.broker_session("Muster Makler", "erika@example.de").await;
    assert_eq!(broker.page("/makler/kunden").await.0, StatusCode::OK);
    // After a restart the port changes; the browser (and its cookies) stays.
    let again = |app: &TestApp| broker.on(app);

    // Step 1: run with the new key and the previous one; nothing changes for users.
    let app = app.restart_with(&[("master_key", new.as_str()), ("master_key_previous", old.as_str())]).await;
    assert_eq!(again(&app).page("/makler/kunden").await.0, StatusCode::OK, "the broker stays logged in");
    // Step 2: re-wrap; running it again finds nothing left to do.
    assert_eq!(app.cli().rotate_keys().await, 1);
    assert_eq!(app.cli().rotate_keys().await, 0);
    // A tenant signed up during the rotation is wrapped with the new key at once.
    app.sign_up("Neu Makler", Some("Neu Makler"), "neu@example.de").await;
    assert_eq!(app.cli().rotate_keys().await, 0);

    // Step 3: the new key alone.
    let app = app.restart_without("master_key_previous").await;
    assert_eq!(again(&app).page("/makler/kunden").await.0, StatusCode::OK);
    assert_eq!(get_page(&app.client(), &app.url("neu-makler", "/anmelden")).await.0, StatusCode::OK);

    // The old key alone no longer opens any tenant: their portals stay down.
    let app = app.restart_with(&[("master_key", old.as_str())]).await;
    assert_eq!(get_page(&app.client(), &app.url("muster-makler", "/anmelden")).await.0, StatusCode::NOT_FOUND);
    app.stop().await;
}
