//! The GDV import at scale: a generated file of `--contracts` contracts (two
//! per customer) imported into a fresh portal database, in process, on SQLite
//! and, with `ORDO_TEST_DATABASE_URL`, on PostgreSQL. Measures the preview
//! (dry run), the import, and a re-import of the same file (all unchanged),
//! each from submission to `done`, and the process's peak memory.

use std::time::{Duration, Instant};

use tenant_app::audit::Actor;
use tenant_app::imports::{self, Format, Importer, Status, Submission};
use tenant_app::plans::Plan;

pub async fn run(contracts: usize) {
    // `RUST_LOG=tenant_app::imports=debug` shows the time of each batch.
    if std::env::var_os("RUST_LOG").is_some() {
        tenant_app::telemetry::init(tenant_app::telemetry::LogFormat::Pretty);
    }
    let bytes = ordo_tests::gdv::book(contracts).to_bytes();
    println!(
        "GDV import: {contracts} contracts of {} customers, file {:.1} MB",
        contracts / 2,
        bytes.len() as f64 / 1_048_576.0
    );
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("portal.db").display());
    measure("SQLite", &url, &bytes, contracts).await;
    if let Ok(server) = std::env::var("ORDO_TEST_DATABASE_URL") {
        let name = format!("ordo_bench_{}", uuid::Uuid::new_v4().simple());
        admin(&server, &format!("CREATE DATABASE {name}")).await;
        let mut url = url::Url::parse(&server).unwrap();
        url.set_path(&format!("/{name}"));
        measure("PostgreSQL", url.as_str(), &bytes, contracts).await;
        admin(&server, &format!("DROP DATABASE {name} WITH (FORCE)")).await;
    }
    println!("  peak resident memory of the whole run (VmHWM): {:.1} MiB", peak_rss_kib() as f64 / 1024.0);
}

async fn admin(url: &str, sql: &str) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    sqlx::query(sql).execute(&pool).await.unwrap();
    pool.close().await;
}

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

async fn measure(backend: &str, url: &str, bytes: &[u8], contracts: usize) {
    let db = tenant_app::instance::open_database(url).await.unwrap();
    tenant_app::catalog::seed_default(&db).await.unwrap();
    let importer = Importer::new(db.clone(), 64 * 1024 * 1024, || Plan::PayPerUse);
    let worker = importer.start_worker().unwrap();
    let actor = Actor::user("bench", "Bench");
    for (label, dry_run) in [("preview (dry run)", true), ("import", false), ("re-import, unchanged", false)] {
        let submission = Submission {
            format: Format::Gdv,
            file_name: "bestand.gdv".into(),
            bytes: bytes.to_vec(),
            mapping: None,
            source: String::new(),
            dry_run,
        };
        let started = Instant::now();
        let id = importer.submit(submission, &actor).await.unwrap();
        let state = loop {
            let state = imports::state(&db, &id).await.unwrap().unwrap();
            if matches!(state.status, Status::Done | Status::Failed) {
                break state;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        let seconds = started.elapsed().as_secs_f64();
        assert_eq!(state.status, Status::Done);
        assert_eq!(state.problem_count, 0, "{:?}", state.problems);
        let touched = state.contracts.created + state.contracts.updated + state.contracts.unchanged;
        assert_eq!(touched, contracts as i64);
        println!(
            "  {backend}: {label}: {:.2} s, {:.0} contracts/s (customers {}/{}/{}, contracts {}/{}/{} created/updated/unchanged)",
            seconds,
            contracts as f64 / seconds,
            state.customers.created,
            state.customers.updated,
            state.customers.unchanged,
            state.contracts.created,
            state.contracts.updated,
            state.contracts.unchanged,
        );
    }
    worker.abort();
    db.close().await;
}
