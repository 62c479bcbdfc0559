//! The logged-in customer dashboard with 30 contracts under load, next to a bare
//! axum hello-world measured the same way in the same run. The load comes from
//! wrk (Debian package `wrk`) on loopback.

use std::process::{Command, Stdio};
use std::time::Duration;

use super::{Server, client, free_port};

/// A bare axum hello-world, the yardstick (run as `ordo-bench hello --port N`).
pub async fn hello_world(port: u16) {
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "Hello, World!" }));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("bind");
    axum::serve(listener, app).await.expect("serve");
}

pub struct Load {
    pub requests_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub errors: String,
}

/// Runs wrk with 2 threads and 64 connections and reads its summary.
fn wrk(url: &str, headers: &[String], seconds: u64) -> Load {
    wrk_with(url, headers, seconds, 64)
}

/// Runs wrk with 2 threads and `connections` connections and reads its summary.
pub fn wrk_with(url: &str, headers: &[String], seconds: u64, connections: u32) -> Load {
    let mut command = Command::new("wrk");
    command.args(["-t2", &format!("-c{connections}"), &format!("-d{seconds}s"), "--latency"]);
    for header in headers {
        command.args(["-H", header]);
    }
    let output = command.arg(url).stderr(Stdio::inherit()).output().expect("run wrk (apt-get install wrk)");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let number = |line_start: &str| -> f64 {
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with(line_start))
            .unwrap_or_else(|| panic!("wrk: no {line_start}: {text}"));
        let value = line.split_whitespace().nth(1).expect("value");
        parse_duration_ms(value).unwrap_or_else(|| value.parse().expect("number"))
    };
    let errors = text
        .lines()
        .filter(|l| l.contains("Non-2xx") || l.contains("Socket errors"))
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("; ");
    Load { requests_per_second: number("Requests/sec:"), p50_ms: number("50%"), p99_ms: number("99%"), errors }
}

fn parse_duration_ms(value: &str) -> Option<f64> {
    let split = value.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = value.split_at(split);
    let number: f64 = number.parse().ok()?;
    Some(match unit {
        "us" => number / 1000.0,
        "ms" => number,
        "s" => number * 1000.0,
        "m" => number * 60_000.0,
        _ => return None,
    })
}

pub async fn run(binary: &str, seconds: u64, contracts: usize) {
    // The yardstick.
    let hello_port = free_port();
    let hello = Server {
        child: Command::new(std::env::current_exe().expect("own path"))
            .args(["hello", "--port", &hello_port.to_string()])
            .spawn()
            .expect("start hello-world"),
        port: hello_port,
    };

    // The product, with request logging as in production (JSON, to nowhere).
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let server = Server {
        child: Command::new(binary)
            .arg("serve")
            .env("ORDO_LISTEN", format!("127.0.0.1:{port}"))
            .env("ORDO_DATA_DIR", data.path())
            .env("ORDO_LOG_FORMAT", "json")
            .env("ORDO_LOG_MAIL_LINKS", "false")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start control-plane (build it with --release first)"),
        port,
    };
    let http = client();
    for _ in 0..400 {
        let up =
            http.get(format!("http://localhost:{port}/healthz")).send().await.is_ok_and(|r| r.status().is_success())
                && http.get(format!("http://127.0.0.1:{hello_port}/")).send().await.is_ok();
        if up {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }

    // A broker with one customer holding 30 contracts, and that customer's session.
    let (slug, session) = customer_with_contracts(port, data.path(), contracts).await;
    let host = format!("{slug}.localhost:{port}");

    let baseline = wrk(&format!("http://127.0.0.1:{}/", hello.port), &[], seconds);
    let dashboard = wrk(
        &format!("http://127.0.0.1:{port}/ordner"),
        &[format!("Host: {host}"), format!("Cookie: {session}")],
        seconds,
    );
    drop(server);
    drop(hello);
    println!("| endpoint | requests/s | p50 | p99 | errors |");
    println!("| --- | --- | --- | --- | --- |");
    for (name, load) in
        [("axum hello-world", &baseline), (&*format!("customer dashboard, {contracts} contracts"), &dashboard)]
    {
        println!(
            "| {name} | {:.0} | {:.2} ms | {:.2} ms | {} |",
            load.requests_per_second,
            load.p50_ms,
            load.p99_ms,
            if load.errors.is_empty() { "none" } else { &load.errors }
        );
    }
    println!(
        "\ndashboard / hello-world: {:.1} % of the requests per second (target: at least 25 %); dashboard p99 {:.2} ms (target: at most 20 ms)",
        100.0 * dashboard.requests_per_second / baseline.requests_per_second,
        dashboard.p99_ms
    );
}

/// Signs up a broker, creates a customer with `contracts` contracts through the
/// pages, and logs the customer in. Returns the slug and the session cookie.
async fn customer_with_contracts(port: u16, data: &std::path::Path, contracts: usize) -> (String, String) {
    let public = format!("http://localhost:{port}");
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
    let portal = format!("http://{slug}.localhost:{port}");
    let broker = cookie_client();
    ordo_tests::set_password_via_link(&broker, &newest_link(data, "bench@example.de"), "bench passwort 123").await;
    let session = ordo_tests::PortalSession { client: broker, origin: portal.clone() };
    let customer_id = session.create_customer("Max", "Mustermann", "max@example.de").await;
    let produkte = [
        "Privathaftpflicht",
        "Hausratversicherung",
        "Risikolebensversicherung",
        "Kfz-Haftpflicht (051)",
        "Privatrechtsschutz",
    ];
    for i in 0..contracts {
        session
            .create_contract(&customer_id, produkte[i % produkte.len()], &format!("B-{i:03}"), "12,34", "monthly")
            .await;
    }
    let page = format!("/makler/kunden/{customer_id}");
    session.submit(&page, &format!("{page}/einladen"), &[]).await;
    let customer = cookie_client();
    let set_cookie =
        ordo_tests::set_password_via_link(&customer, &newest_link(data, "max@example.de"), "kunden passwort 1").await;
    (slug, set_cookie.split(';').next().unwrap().to_owned())
}

fn cookie_client() -> reqwest::Client {
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
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(std::sync::Arc::new(Loopback))
        .build()
        .unwrap()
}

/// The set-password link in the newest mail to `to`.
fn newest_link(data: &std::path::Path, to: &str) -> String {
    let mut mails: Vec<(std::time::SystemTime, String)> = std::fs::read_dir(data.join("mail"))
        .unwrap()
        .flatten()
        .map(|e| {
            let raw = std::fs::read(e.path()).unwrap();
            let mail = mailparse::parse_mail(&raw).unwrap();
            let to_header =
                mail.headers.iter().find(|h| h.get_key() == "To").map(|h| h.get_value()).unwrap_or_default();
            (e.metadata().unwrap().modified().unwrap(), format!("{to_header}\n{}", mail.get_body().unwrap()))
        })
        .filter(|(_, text)| text.starts_with(to))
        .collect();
    mails.sort();
    let text = &mails.last().expect("a mail").1;
    regex_lite::Regex::new(r"https?://\S+/passwort-setzen\?token=\S+").unwrap().find(text).unwrap().as_str().to_owned()
}
