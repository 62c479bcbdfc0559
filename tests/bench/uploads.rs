//! Memory under concurrent uploads: 10 brokers' uploads of 100 MB at once,
//! sent from a 64 KiB buffer over raw connections so that only the server's
//! memory is measured (`ordo-bench uploads`).

use std::process::{Command, Stdio};
use std::time::Duration;

use ordo_tests::uploads::RawBrowser;

use super::dashboard::{cookie_client, newest_link};
use super::{Server, client, free_port, rss_kib};

const UPLOADS: usize = 10;
const FILE_BYTES: u64 = 100 * 1000 * 1000;

pub async fn run(binary: &str) {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let server = Server {
        child: Command::new(binary)
            .arg("serve")
            .env("ORDO_LISTEN", format!("127.0.0.1:{port}"))
            .env("ORDO_DATA_DIR", data.path())
            .env("ORDO_LOG_MAIL_LINKS", "false")
            .env("ORDO_MAX_UPLOAD_MIB", "128")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start control-plane (build it with --release first)"),
        port,
    };
    let public = format!("http://localhost:{port}");
    for _ in 0..400 {
        if client().get(format!("{public}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let created: serde_json::Value = client()
        .post(format!("{public}/api/v1/trials"))
        .json(&serde_json::json!({"name": "Erika Muster", "company": "Bench Makler", "street": "Hauptstraße 1",
            "postal_code": "10115", "city": "Berlin", "phone": "030 1234567", "email": "bench@example.de"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let slug = created["slug"].as_str().unwrap().to_owned();
    let origin = format!("http://{slug}.localhost:{port}");
    let broker = cookie_client();
    ordo_tests::set_password_via_link(&broker, &newest_link(data.path(), "bench@example.de"), "bench passwort 123")
        .await;
    let session = ordo_tests::PortalSession {
        client: broker,
        origin: origin.clone(),
        slug,
        tenant_id: created["id"].as_str().unwrap().to_owned(),
    };
    let customer = session.create_customer("Max", "Mustermann", "max@example.de").await;
    let raw = RawBrowser::login(&cookie_client(), &origin, "bench@example.de", "bench passwort 123").await;
    tokio::time::sleep(Duration::from_secs(1)).await;

    let pid = server.child.id();
    let before = rss_kib(pid);
    let path = format!("/makler/kunden/{customer}/dokumente");
    let started = std::time::Instant::now();
    let uploads: Vec<_> = (0..UPLOADS)
        .map(|i| {
            let (raw, path) = (raw.clone(), path.clone());
            tokio::spawn(async move {
                let mut upload = raw.begin_upload(&path, &raw.csrf, &format!("gross-{i}.pdf"), FILE_BYTES).await;
                let _ = upload.finish().await;
                upload.status_within(Duration::from_secs(600)).await
            })
        })
        .collect();
    let mut peak = before;
    while !uploads.iter().all(|u| u.is_finished()) {
        peak = peak.max(rss_kib(pid));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed();
    let mut statuses = Vec::new();
    for upload in uploads {
        statuses.push(upload.await.unwrap());
    }
    println!("uploads: {UPLOADS} × {} MB at once, answered {statuses:?}", FILE_BYTES / 1_000_000);
    println!(
        "server RSS: {} MiB before, {} MiB peak, growth {} MiB; {:.1} s in all",
        before / 1024,
        peak / 1024,
        (peak - before) / 1024,
        elapsed.as_secs_f64()
    );
}
