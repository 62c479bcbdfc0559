//! Uploads are streamed: the CSRF token is checked before the body is read,
//! limits hold while the body arrives, and normal uploads still work.

use std::time::Duration;

use ordo_tests::uploads::RawBrowser;
use ordo_tests::{Backend, TestApp, both_backends};

both_backends!(uploads_are_refused_before_the_body_is_read);

async fn uploads_are_refused_before_the_body_is_read(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("max_upload_mib", "2")]).await;
    let broker = app.broker_session("Muster Makler", "erika@example.de").await;
    let max = broker.create_customer("Max", "Mustermann", "max@example.de").await;
    let raw = RawBrowser::login(&app.client(), &broker.origin, "erika@example.de", "makler passwort 2026").await;
    let path = format!("/makler/kunden/{max}/dokumente");

    // A wrong token: answered while 19 of the 20 MB announced are still unsent.
    let mut upload = raw.begin_upload(&path, "falsch", "gross.pdf", 20 * 1024 * 1024).await;
    upload.send(1024 * 1024).await.expect("the first megabyte");
    assert_eq!(upload.status_within(Duration::from_secs(10)).await, Some(403));
    assert!(upload.file_sent < 20 * 1024 * 1024);

    // A file past the 2 MB limit: 413 as soon as it passes, not after the body.
    let mut upload = raw.begin_upload(&path, &raw.csrf, "gross.pdf", 15 * 1024 * 1024).await;
    let _ = upload.send(3 * 1024 * 1024).await;
    assert_eq!(upload.status_within(Duration::from_secs(10)).await, Some(413));

    // More than the request may carry, announced: refused before any byte is read.
    let mut upload = raw.begin_upload(&path, &raw.csrf, "riesig.pdf", 200 * 1024 * 1024).await;
    assert_eq!(upload.status_within(Duration::from_secs(10)).await, Some(413));

    // A file within the limit, sent in full, is stored; no temporary file stays behind.
    let mut upload = raw.begin_upload(&path, &raw.csrf, "passt.pdf", 1024 * 1024).await;
    upload.finish().await.expect("the whole file");
    assert_eq!(upload.status_within(Duration::from_secs(10)).await, Some(200));
    let (_, page) = broker.page(&format!("/makler/kunden/{max}")).await;
    assert!(page.contains("passt.pdf") && !page.contains("gross.pdf"), "only the whole file is kept");
    let spool = app.data_dir().join("tenants").join(&broker.tenant_id).join("files").join(".spool");
    let left: Vec<_> = std::fs::read_dir(&spool).map(|dir| dir.flatten().collect()).unwrap_or_default();
    assert!(left.is_empty(), "temporary files are removed: {left:?}");
}
