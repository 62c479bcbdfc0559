//! Webhooks: what an event costs the request that causes it, and how soon it
//! reaches the broker's management program. The release control plane runs as
//! its own process (SQLite, and PostgreSQL when `ORDO_TEST_DATABASE_URL` is
//! set) with `webhooks_allow_loopback`; the receiver is a real HTTP server in
//! this process (`ordo_tests::webhooks::Receiver`). Contracts are saved through
//! the broker's form one after another, first without an endpoint, then with
//! one subscribed to `contract.created`.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ordo_tests::PortalSession;
use ordo_tests::webhooks::Receiver;

use super::dashboard::{cookie_client, newest_link};
use super::{Server, client, free_port, percentile};

struct Report {
    backend: &'static str,
    save_without_ms: Vec<f64>,
    save_with_ms: Vec<f64>,
    delivery_ms: Vec<f64>,
}

pub async fn run(binary: &str, events: usize) {
    let mut reports = vec![measure(binary, events, "SQLite", None).await];
    if let Ok(admin_url) = std::env::var("ORDO_TEST_DATABASE_URL") {
        let name = format!("ordo_bench_hooks_{}", std::process::id());
        let admin = tenant_app::db::Db::connect(&admin_url, tenant_app::db::PoolSize::of(1)).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(admin.pool()).await.unwrap();
        let mut url = url::Url::parse(&admin_url).unwrap();
        url.set_path(&format!("/{name}"));
        reports.push(measure(binary, events, "PostgreSQL", Some(url.as_str())).await);
        let bench = tenant_app::db::Db::connect(url.as_str(), tenant_app::db::PoolSize::of(1)).await.unwrap();
        let tenant_ids: Vec<String> =
            sqlx::query_scalar("SELECT id FROM tenants").fetch_all(bench.pool()).await.unwrap();
        bench.close().await;
        sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)")).execute(admin.pool()).await.unwrap();
        for id in tenant_ids {
            let db = control_plane::tenants::databases::database_name(&id).unwrap();
            sqlx::query(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)")).execute(admin.pool()).await.unwrap();
            sqlx::query(&format!("DROP ROLE IF EXISTS {db}")).execute(admin.pool()).await.unwrap();
        }
    }
    println!(
        "| backend | events | save, no endpoint (p50 / p99) | save, one endpoint (p50 / p99) | saved → received p50 | p99 | max |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for mut r in reports {
        for list in [&mut r.save_without_ms, &mut r.save_with_ms, &mut r.delivery_ms] {
            list.sort_by(|a, b| a.partial_cmp(b).unwrap());
        }
        println!(
            "| {} | {} | {:.1} / {:.1} ms | {:.1} / {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms |",
            r.backend,
            r.delivery_ms.len(),
            percentile(&r.save_without_ms, 0.5),
            percentile(&r.save_without_ms, 0.99),
            percentile(&r.save_with_ms, 0.5),
            percentile(&r.save_with_ms, 0.99),
            percentile(&r.delivery_ms, 0.5),
            percentile(&r.delivery_ms, 0.99),
            r.delivery_ms[r.delivery_ms.len() - 1],
        );
    }
}

async fn measure(binary: &str, events: usize, backend: &'static str, database_url: Option<&str>) -> Report {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut command = Command::new(binary);
    command
        .arg("serve")
        .env("ORDO_LISTEN", format!("127.0.0.1:{port}"))
        .env("ORDO_DATA_DIR", data.path())
        .env("ORDO_LOG_FORMAT", "json")
        .env("ORDO_LOG_MAIL_LINKS", "false")
        .env("ORDO_WEBHOOKS_ALLOW_LOOPBACK", "true")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    if let Some(url) = database_url {
        command.env("ORDO_DATABASE_URL", url).env("ORDO_MASTER_KEY", tenant_app::crypto::Key::generate().to_base64());
    }
    let server = Server { child: command.spawn().expect("start control-plane (build it with --release first)"), port };
    let http = client();
    for _ in 0..400 {
        if http.get(format!("http://localhost:{port}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let created: serde_json::Value = http
        .post(format!("http://localhost:{port}/api/v1/trials"))
        .json(&serde_json::json!({"name": "Erika Muster", "company": "Bench Makler", "street": "Hauptstraße 1",
            "postal_code": "10115", "city": "Berlin", "phone": "030 1234567", "email": "bench@example.de"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let slug = created["slug"].as_str().unwrap().to_owned();
    let broker = cookie_client();
    ordo_tests::set_password_via_link(&broker, &newest_link(data.path(), "bench@example.de"), "bench passwort 123")
        .await;
    let session = PortalSession {
        client: broker,
        origin: format!("http://{slug}.localhost:{port}"),
        tenant_id: created["id"].as_str().unwrap().to_owned(),
        slug: slug.clone(),
    };
    let customer = session.create_customer("Max", "Mustermann", "max@example.de").await;

    let mut save_without_ms = Vec::new();
    for i in 0..events {
        let started = Instant::now();
        session.create_contract(&customer, "Privathaftpflicht", &format!("OHNE-{i}"), "5,00", "monthly").await;
        save_without_ms.push(started.elapsed().as_secs_f64() * 1000.0);
    }

    let receiver = Receiver::start().await;
    session.register_webhook("Bench", &receiver.url, &["contract.created"]).await;
    let mut save_with_ms = Vec::new();
    let mut saved_at = Vec::new();
    for i in 0..events {
        let started = Instant::now();
        session.create_contract(&customer, "Privathaftpflicht", &format!("MIT-{i}"), "5,00", "monthly").await;
        let done = Instant::now();
        save_with_ms.push((done - started).as_secs_f64() * 1000.0);
        saved_at.push(done);
    }
    let received = receiver.wait_for(events).await;
    drop(server);
    let delivery_ms = received
        .iter()
        .map(|r| {
            let policy = r.json()["data"]["policy_number"].as_str().unwrap().to_owned();
            let i: usize = policy.strip_prefix("MIT-").unwrap().parse().unwrap();
            // The answer to the save may come after the delivery: the worker is woken at the commit.
            r.at.saturating_duration_since(saved_at[i]).as_secs_f64() * 1000.0
        })
        .collect();
    Report { backend, save_without_ms, save_with_ms, delivery_ms }
}
