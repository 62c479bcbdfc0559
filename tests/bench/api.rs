//! The tenant REST API under load: the customers list and the contracts list
//! (pages of 100) of a portal with 1,000 customers and 5,000 contracts, at 16
//! concurrent connections, measured with wrk on loopback.

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use super::dashboard::wrk_with;
use super::{Server, client, free_port};

const CONNECTIONS: u32 = 16;

pub async fn run(binary: &str, seconds: u64, customers: usize, contracts: usize) {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let environment = |command: &mut Command| {
        command
            .env("ORDO_LISTEN", format!("127.0.0.1:{port}"))
            .env("ORDO_DATA_DIR", data.path())
            .env("ORDO_LOG_FORMAT", "json")
            .env("ORDO_LOG_MAIL_LINKS", "false")
            // Seeding sends thousands of writes with one key; the limit is not what is measured.
            .env("ORDO_API_REQUESTS_PER_MINUTE", "100000000");
    };
    let mut serve = Command::new(binary);
    environment(&mut serve);
    let server = Server {
        child: serve
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start control-plane (build it with --release first)"),
        port,
    };
    let http = client();
    for _ in 0..400 {
        if http.get(format!("http://localhost:{port}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }

    // A broker signs up; the operator makes a key for the portal.
    let created: Value = http
        .post(format!("http://localhost:{port}/api/v1/trials"))
        .json(&json!({"name": "Erika Muster", "company": "Bench Makler", "street": "Hauptstraße 1",
            "postal_code": "10115", "city": "Berlin", "phone": "030 1234567", "email": "bench@example.de"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (tenant_id, slug) = (created["id"].as_str().unwrap(), created["slug"].as_str().unwrap().to_owned());
    let cli = |args: &[&str]| {
        let mut command = Command::new(binary);
        environment(&mut command);
        let output = command.args(args).stderr(Stdio::inherit()).output().expect("control-plane command");
        assert!(output.status.success(), "control-plane {args:?}");
        String::from_utf8(output.stdout).unwrap().trim().to_owned()
    };
    cli(&["operator", "create", "--email", "ops@example.de"]);
    let token = cli(&["operator", "token", "--email", "ops@example.de", "--name", "bench"]);
    let made: Value = http
        .post(format!("http://admin.localhost:{port}/api/v1/tenants/{tenant_id}/api-keys"))
        .bearer_auth(&token)
        .json(&json!({"name": "bench"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = made["key"].as_str().expect("key").to_owned();
    let api = format!("http://{slug}.localhost:{port}/api/v1");

    // The book, written through the API itself, eight requests at a time.
    let started = std::time::Instant::now();
    let customer_ids = seed(
        &api,
        &key,
        customers,
        |i| {
            json!({"first_name": format!("Kunde{i}"), "last_name": "Muster", "email": format!("kunde{i}@example.de"),
               "postal_code": "10115", "city": "Berlin"})
        },
        "/customers",
    )
    .await;
    let codes = ["040", "130", "050", "070", "010"];
    let ids = customer_ids.clone();
    seed(
        &api,
        &key,
        contracts,
        move |i| {
            json!({"customer_id": ids[i % ids.len()], "insurer": "Allianz", "insurer_number": "5312",
               "policy_number": format!("B-{i:05}"), "sparte_code": codes[i % codes.len()], "start_date": "2025-01-01",
               "payment_frequency": "monthly", "premium_cents": 1234})
        },
        "/contracts",
    )
    .await;
    eprintln!("seeded {customers} customers and {contracts} contracts in {:.1} s", started.elapsed().as_secs_f64());

    let base = format!("http://127.0.0.1:{port}/api/v1");
    let headers = [format!("Host: {slug}.localhost:{port}"), format!("Authorization: Bearer {key}")];
    let cases = [
        ("GET /api/v1/customers?limit=100", format!("{base}/customers?limit=100")),
        ("GET /api/v1/contracts?limit=100", format!("{base}/contracts?limit=100")),
        (
            "GET /api/v1/contracts?customer_id=…&limit=100",
            format!("{base}/contracts?customer_id={}&limit=100", customer_ids[0]),
        ),
        ("GET /api/v1/customers?q=kunde99&limit=100", format!("{base}/customers?q=kunde99&limit=100")),
    ];
    let mut rows = Vec::new();
    for (name, url) in cases {
        rows.push((name, wrk_with(&url, &headers, seconds, CONNECTIONS)));
    }
    drop(server);
    println!(
        "| request ({customers} customers, {contracts} contracts, {CONNECTIONS} connections) | requests/s | p50 | p99 | errors |"
    );
    println!("| --- | --- | --- | --- | --- |");
    for (name, load) in &rows {
        println!(
            "| `{name}` | {:.0} | {:.2} ms | {:.2} ms | {} |",
            load.requests_per_second,
            load.p50_ms,
            load.p99_ms,
            if load.errors.is_empty() { "none" } else { &load.errors }
        );
    }
    let worst = rows.iter().map(|(_, l)| l.p99_ms).fold(0.0, f64::max);
    println!("\nworst p99 {worst:.2} ms (target: at most 20 ms)");
}

/// POSTs `count` bodies to `path`, eight at a time; returns the ids in order.
async fn seed(api: &str, key: &str, count: usize, body: impl Fn(usize) -> Value, path: &str) -> Vec<String> {
    let http = client();
    let mut ids = vec![String::new(); count];
    for chunk in (0..count).collect::<Vec<_>>().chunks(8) {
        let mut tasks = tokio::task::JoinSet::new();
        for &i in chunk {
            let request = http.post(format!("{api}{path}")).bearer_auth(key).json(&body(i));
            tasks.spawn(async move {
                let response = request.send().await.expect("seed request");
                let status = response.status();
                let created: Value = response.json().await.expect("seed answer");
                assert_eq!(status, reqwest::StatusCode::CREATED, "{created}");
                (i, created["id"].as_str().expect("id").to_owned())
            });
        }
        while let Some(done) = tasks.join_next().await {
            let (i, id) = done.expect("seed task");
            ids[i] = id;
        }
    }
    ids
}
