//! The standalone `tenant-app` binary serves one tenant from its environment,
//! the way each tenant runs on Kubernetes, and shuts down cleanly on SIGTERM.

use std::process::{Command, Stdio};
use std::time::Duration;

use tenant_app::crypto::Key;
use tenant_app::instance;
use tenant_app::security::internal_api::internal_token;
use tenant_app::values::EmailAddress;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn get(url: &str) -> Option<(u16, String)> {
    // A minimal HTTP/1.1 client: this crate's tests need no HTTP client dependency.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = url.trim_start_matches("http://");
    let (host, path) = address.split_once('/').map(|(h, p)| (h, format!("/{p}"))).unwrap_or((address, "/".into()));
    let mut stream = tokio::net::TcpStream::connect(host).await.ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: portal.example\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await.ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, response))
}

#[tokio::test]
async fn serves_one_tenant_from_its_environment_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}?mode=rwc", dir.path().join("portal.db").display());
    let db = instance::open_database(&database_url).await.unwrap();
    instance::seed(&db, &EmailAddress::parse("makler@example.de").unwrap(), "Erika Muster").await.unwrap();
    db.close().await;

    let port = free_port();
    let session_key = Key::generate();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tenant-app"))
        .env("ORDO_LISTEN", format!("127.0.0.1:{port}"))
        .env("ORDO_TENANT_ID", "0190f5a3c2b47c3e8d1f2a3b4c5d6e7f")
        .env("ORDO_SLUG", "muster")
        .env("ORDO_DISPLAY_NAME", "Muster Versicherungsmakler")
        .env("ORDO_PUBLIC_URL", "http://muster.localhost:8080")
        .env("ORDO_DATABASE_URL", &database_url)
        .env("ORDO_SESSION_KEY", session_key.to_base64())
        .env("ORDO_INTERNAL_TOKEN", internal_token(&session_key))
        .env("ORDO_MAIL_DIR", dir.path().join("mail"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    let base = format!("http://127.0.0.1:{port}");
    let mut ready = None;
    for _ in 0..200 {
        ready = get(&format!("{base}/readyz")).await;
        if ready.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(ready.expect("tenant-app answers").0, 200);
    assert_eq!(get(&format!("{base}/healthz")).await.unwrap().0, 200);
    let (status, login) = get(&format!("{base}/anmelden")).await.unwrap();
    assert_eq!(status, 200);
    assert!(login.contains("Muster Versicherungsmakler"));
    assert!(login.contains("content-security-policy"), "security headers on the standalone binary");

    let logs = child.stdout.take().unwrap();
    Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "graceful shutdown exits 0: {status:?}");
    let logs = std::io::read_to_string(logs).unwrap();
    assert!(logs.contains("shutting down"), "{logs}");
    assert!(!logs.contains(&database_url), "the database URL is never logged");
}

#[test]
fn refuses_to_start_with_an_internal_token_of_another_session_key() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_tenant-app"))
        .env("ORDO_LISTEN", "127.0.0.1:0")
        .env("ORDO_TENANT_ID", "0190f5a3c2b47c3e8d1f2a3b4c5d6e7f")
        .env("ORDO_SLUG", "muster")
        .env("ORDO_DISPLAY_NAME", "Muster Versicherungsmakler")
        .env("ORDO_PUBLIC_URL", "http://muster.localhost:8080")
        .env("ORDO_DATABASE_URL", format!("sqlite://{}?mode=rwc", dir.path().join("portal.db").display()))
        .env("ORDO_SESSION_KEY", Key::generate().to_base64())
        .env("ORDO_INTERNAL_TOKEN", internal_token(&Key::generate()))
        .env("ORDO_MAIL_DIR", dir.path().join("mail"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("ORDO_INTERNAL_TOKEN does not belong to ORDO_SESSION_KEY"), "{stderr}");
}
