//! The monthly invoice run at scale: `--tenants` Pay-per-Use tenants, each
//! with a daily usage snapshot for every day of November, invoiced in one run
//! (drafting and numbering; the PDFs and e-mails are measured apart). Runs in
//! process against a fresh SQLite file, and a fresh PostgreSQL database when
//! `ORDO_TEST_DATABASE_URL` is set.

use std::sync::Arc;
use std::time::Instant;

use chrono::{NaiveDate, TimeZone};
use chrono_tz::Europe::Berlin;
use control_plane::billing::{invoices, run};
use control_plane::clock::ManualClock;
use control_plane::config::Config;
use control_plane::state::AppState;
use figment::providers::Serialized;

/// Rows per multi-row INSERT: well under SQLite's and PostgreSQL's parameter limits.
const ROWS_PER_STATEMENT: usize = 400;

pub async fn run(tenants: usize) {
    println!("monthly run: {tenants} Pay-per-Use tenants × 30 daily snapshots (November 2026)");
    measure("SQLite", None, tenants).await;
    if let Ok(server) = std::env::var("ORDO_TEST_DATABASE_URL") {
        let name = format!("ordo_bench_{}", uuid::Uuid::new_v4().simple());
        admin(&server, &format!("CREATE DATABASE {name}")).await;
        let mut url = url::Url::parse(&server).unwrap();
        url.set_path(&format!("/{name}"));
        measure("PostgreSQL", Some(url.as_str()), tenants).await;
        admin(&server, &format!("DROP DATABASE {name} WITH (FORCE)")).await;
    }
}

async fn admin(url: &str, sql: &str) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    sqlx::query(sql).execute(&pool).await.unwrap();
    pool.close().await;
}

async fn measure(backend: &str, database_url: Option<&str>, tenants: usize) {
    let data = tempfile::tempdir().unwrap();
    let mut figment = Config::defaults()
        .merge(Serialized::default("data_dir", data.path()))
        .merge(Serialized::default("jobs.enabled", false));
    if let Some(url) = database_url {
        figment = figment
            .merge(Serialized::default("database_url", url))
            .merge(Serialized::default("master_key", tenant_app::crypto::Key::generate().to_base64()));
    }
    let config = Config::extract(figment).unwrap();
    let at = Berlin.with_ymd_and_hms(2026, 12, 1, 4, 0, 0).unwrap().with_timezone(&chrono::Utc);
    let app = control_plane::startup::build_with_clock(config, 0, Arc::new(ManualClock::new(at))).await.unwrap();
    control_plane::billing::prices::record(&app.db, &app.config.pricing, app.clock.berlin_today(), 0).await.unwrap();
    let seeded = Instant::now();
    seed(&app, tenants).await;
    println!("  {backend}: seeded in {:.1} s", seeded.elapsed().as_secs_f64());

    let started = Instant::now();
    let drafted = run::draft_period(&app, run::previous_month(app.clock.berlin_today())).await.unwrap().len();
    let draft_time = started.elapsed();
    let issued = invoices::finalise_all(&app).await.unwrap();
    let total = started.elapsed();
    assert_eq!((drafted, issued), (tenants, tenants));
    println!(
        "  {backend}: {tenants} invoices drafted in {:.2} s, numbered in {:.2} s: {:.2} s in all",
        draft_time.as_secs_f64(),
        (total - draft_time).as_secs_f64(),
        total.as_secs_f64()
    );
    // Rerunning finds everything done.
    let again = Instant::now();
    assert!(run::draft_period(&app, run::previous_month(app.clock.berlin_today())).await.unwrap().is_empty());
    println!("  {backend}: a second run makes nothing new, in {:.2} s", again.elapsed().as_secs_f64());

    let ids: Vec<String> =
        sqlx::query_scalar("SELECT id FROM invoices ORDER BY number LIMIT 50").fetch_all(app.db.pool()).await.unwrap();
    let pdfs = Instant::now();
    for id in &ids {
        let invoice = invoices::find(&app.db, id).await.unwrap().unwrap();
        let pdf = invoices::pdf(&app, &invoice).await.unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
    }
    println!(
        "  {backend}: PDF/A-3 with Factur-X XML, per invoice (incl. reading it): {:.1} ms",
        pdfs.elapsed().as_secs_f64() * 1000.0 / ids.len() as f64
    );
    app.db.close().await;
}

async fn seed(app: &AppState, tenants: usize) {
    let ids: Vec<String> = (0..tenants).map(|_| tenant_app::db::new_id()).collect();
    let days: Vec<NaiveDate> = (1..=30).map(|d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap()).collect();
    let mut tx = app.db.pool().begin().await.unwrap();
    for chunk in ids.chunks(ROWS_PER_STATEMENT / 4) {
        let mut sql = String::from(
            "INSERT INTO tenants (id, slug, name, company, street, postal_code, city, phone, email, status, \
             provision_step, plan, wrapped_key, session_key_enc, created_at, updated_at) VALUES ",
        );
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| {
                let p = i * 3;
                format!(
                    "(${}, ${}, 'Bench Makler', NULL, 'Hauptstraße 1', '10115', 'Berlin', '030 1', ${}, 'ready', \
                     'deployed', 'pay_per_use', 'x', 'x', 0, 0)",
                    p + 1,
                    p + 2,
                    p + 3
                )
            })
            .collect();
        sql.push_str(&rows.join(", "));
        let mut query = sqlx::query(&sql);
        for id in chunk {
            query = query.bind(id.clone()).bind(format!("bench-{id}")).bind(format!("{id}@example.de"));
        }
        query.execute(&mut *tx).await.unwrap();

        let mut sql = String::from(
            "INSERT INTO subscriptions (id, tenant_id, plan, whitelabel, starts_on, ends_on, created_at) VALUES ",
        );
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| format!("(${}, ${}, 'pay_per_use', 0, '2026-10-01', NULL, 0)", i * 2 + 1, i * 2 + 2))
            .collect();
        sql.push_str(&rows.join(", "));
        let mut query = sqlx::query(&sql);
        for id in chunk {
            query = query.bind(tenant_app::db::new_id()).bind(id.clone());
        }
        query.execute(&mut *tx).await.unwrap();
    }
    // 30 snapshots per tenant; contacts wander so that the peak is not the last day.
    let snapshots: Vec<(usize, &String, NaiveDate)> =
        ids.iter().enumerate().flat_map(|(n, id)| days.iter().map(move |day| (n, id, *day))).collect();
    for chunk in snapshots.chunks(ROWS_PER_STATEMENT) {
        let mut sql =
            String::from("INSERT INTO usage_snapshots (tenant_id, day, contacts, stored_bytes, taken_at) VALUES ");
        let rows: Vec<String> =
            (0..chunk.len()).map(|i| format!("(${}, ${}, ${}, 0, 0)", i * 3 + 1, i * 3 + 2, i * 3 + 3)).collect();
        sql.push_str(&rows.join(", "));
        let mut query = sqlx::query(&sql);
        for (n, id, day) in chunk {
            let contacts = 20 + (*n as i64 % 80) + (chrono::Datelike::day(day) as i64 * 7 % 13);
            query = query.bind((*id).clone()).bind(day.to_string()).bind(contacts);
        }
        query.execute(&mut *tx).await.unwrap();
    }
    tx.commit().await.unwrap();
}
