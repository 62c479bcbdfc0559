//! Reproduces docs/benchmarks.md. Every measurement runs the release
//! `control-plane` binary as a separate process on loopback.
//!
//! ```sh
//! cargo build --release -p control-plane -p ordo-tests --bin control-plane --bin ordo-bench
//! target/release/ordo-bench provisioning [--tenants 50]   # sign-up latency, memory per tenant
//! target/release/ordo-bench dashboard [--seconds 10]      # customer dashboard under load (needs wrk)
//! target/release/ordo-bench invoices --tenants 10000      # the monthly invoice run, in process
//! target/release/ordo-bench api [--seconds 10]            # the tenant API's lists under load (needs wrk)
//! ```
//! `provisioning` and `invoices` also measure PostgreSQL when `ORDO_TEST_DATABASE_URL` is set.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

mod api;
mod dashboard;
mod invoices;

struct Args {
    command: String,
    tenants: usize,
    seconds: u64,
    /// `None`: the command's own default (30 for the dashboard, 5,000 for the API).
    contracts: Option<usize>,
    customers: usize,
    port: u16,
    binary: String,
}

fn args() -> Args {
    let mut args = Args {
        command: "provisioning".into(),
        tenants: 50,
        seconds: 10,
        contracts: None,
        customers: 1000,
        port: 0,
        binary: "target/release/control-plane".into(),
    };
    let mut it = std::env::args().skip(1).peekable();
    if let Some(command) = it.next_if(|a| !a.starts_with("--")) {
        args.command = command;
    }
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--tenants" => args.tenants = it.next().and_then(|v| v.parse().ok()).expect("--tenants N"),
            "--seconds" => args.seconds = it.next().and_then(|v| v.parse().ok()).expect("--seconds N"),
            "--contracts" => args.contracts = Some(it.next().and_then(|v| v.parse().ok()).expect("--contracts N")),
            "--customers" => args.customers = it.next().and_then(|v| v.parse().ok()).expect("--customers N"),
            "--port" => args.port = it.next().and_then(|v| v.parse().ok()).expect("--port N"),
            "--binary" => args.binary = it.next().expect("--binary PATH"),
            other => panic!("unknown argument {other}"),
        }
    }
    args
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
    }
}

fn client() -> reqwest::Client {
    struct Loopback;
    impl reqwest::dns::Resolve for Loopback {
        fn resolve(&self, _name: reqwest::dns::Name) -> reqwest::dns::Resolving {
            Box::pin(async {
                let addrs: reqwest::dns::Addrs =
                    Box::new(std::iter::once(std::net::SocketAddr::from(([127, 0, 0, 1], 0))));
                Ok(addrs)
            })
        }
    }
    reqwest::Client::builder().dns_resolver(std::sync::Arc::new(Loopback)).build().unwrap()
}

struct Report {
    backend: &'static str,
    idle_rss_kib: u64,
    latencies_ms: Vec<f64>,
    rss_after_kib: u64,
    rss_after_touch_kib: u64,
}

async fn measure(binary: &str, tenants: usize, backend: &'static str, database_url: Option<&str>) -> Report {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut command = Command::new(binary);
    command
        .arg("serve")
        .env("ORDO_LISTEN", format!("127.0.0.1:{port}"))
        .env("ORDO_DATA_DIR", data.path())
        .env("ORDO_LOG_MAIL_LINKS", "false")
        // The benchmark signs up many tenants from one address.
        .env("ORDO_SIGNUP_LIMIT_PER_HOUR", "100000")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    if let Some(url) = database_url {
        command.env("ORDO_DATABASE_URL", url).env("ORDO_MASTER_KEY", tenant_app::crypto::Key::generate().to_base64());
    }
    let server = Server { child: command.spawn().expect("start control-plane (build it with --release first)"), port };
    let client = client();
    let base = format!("http://localhost:{}", server.port);
    for _ in 0..400 {
        if client.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let pid = server.child.id();
    let idle_rss_kib = rss_kib(pid);

    let mut latencies_ms = Vec::new();
    let mut slugs = Vec::new();
    for i in 0..tenants {
        let body = json!({"name": format!("Makler {i}"), "company": format!("Bench Makler {i}"), "street": "Hauptstraße 1",
                          "postal_code": "10115", "city": "Berlin", "phone": "030 1234567", "email": format!("bench{i}@example.de")});
        let started = Instant::now();
        let response = client.post(format!("{base}/api/v1/trials")).json(&body).send().await.unwrap();
        let created: serde_json::Value = response.json().await.unwrap();
        latencies_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(created["status"], "ready", "{created}");
        slugs.push(created["slug"].as_str().unwrap().to_owned());
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_after_kib = rss_kib(pid);
    for slug in &slugs {
        let page = client.get(format!("http://{slug}.localhost:{}/anmelden", server.port)).send().await.unwrap();
        assert!(page.status().is_success());
    }
    let rss_after_touch_kib = rss_kib(pid);
    drop(server);
    Report { backend, idle_rss_kib, latencies_ms, rss_after_kib, rss_after_touch_kib }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let args = args();
    match args.command.as_str() {
        "provisioning" => provisioning(&args).await,
        "dashboard" => dashboard::run(&args.binary, args.seconds, args.contracts.unwrap_or(30)).await,
        "api" => api::run(&args.binary, args.seconds, args.customers, args.contracts.unwrap_or(5000)).await,
        "hello" => dashboard::hello_world(args.port).await,
        "invoices" => invoices::run(args.tenants).await,
        other => panic!("unknown command {other}: provisioning, dashboard, invoices, api"),
    }
}

async fn provisioning(args: &Args) {
    let mut reports = vec![measure(&args.binary, args.tenants, "SQLite", None).await];
    if let Ok(admin_url) = std::env::var("ORDO_TEST_DATABASE_URL") {
        let name = format!("ordo_bench_{}", std::process::id());
        let admin = tenant_app::db::Db::connect(&admin_url, tenant_app::db::PoolSize::of(1)).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(admin.pool()).await.unwrap();
        let mut url = url::Url::parse(&admin_url).unwrap();
        url.set_path(&format!("/{name}"));
        let report = measure(&args.binary, args.tenants, "PostgreSQL", Some(url.as_str())).await;
        // Remove the bench database and the tenant databases and roles it made (only those).
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
        reports.push(report);
    }
    println!(
        "| backend | tenants | sign-up → ready median | p95 | max | idle RSS | RSS after sign-ups | per tenant | per tenant, every portal opened |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for r in reports {
        let mut sorted = r.latencies_ms.clone();
        sorted.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let n = sorted.len() as f64;
        let per = |total: u64| (total.saturating_sub(r.idle_rss_kib)) as f64 / n / 1024.0;
        println!(
            "| {} | {} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} MiB | {:.1} MiB | {:.2} MiB | {:.2} MiB |",
            r.backend,
            sorted.len(),
            percentile(&sorted, 0.5),
            percentile(&sorted, 0.95),
            sorted[sorted.len() - 1],
            r.idle_rss_kib as f64 / 1024.0,
            r.rss_after_kib as f64 / 1024.0,
            per(r.rss_after_kib),
            per(r.rss_after_touch_kib),
        );
    }
}
