//! The test harness: starts the real control plane on port 0 against a fresh
//! SQLite directory or a fresh PostgreSQL database, and talks to it over HTTP
//! like a browser would (host names, cookies, CSRF tokens, e-mail links).
//!
//! Every scenario runs on both databases through [`both_backends!`]; the
//! PostgreSQL run needs `ORDO_TEST_DATABASE_URL` (a superuser URL such as
//! `postgres://postgres@127.0.0.1:5432/postgres`). Without it the run is
//! skipped locally and fails in CI ([`require_or_skip`]).
//!
//! Scenarios drive the public surface: HTTP through [`TestApp::client`], the
//! operator API ([`OperatorApi`]) and the CLI ([`Cli`]). What no interface can
//! arrange or show is done by the methods in [`arrange`], [`observe`] and
//! [`background`], each saying why. This crate is the only test code (besides
//! `tests/bench` and `tests/kubernetes`, which test internals on purpose) that
//! reaches into the control plane's and the tenant app's modules or runs SQL:
//! when those modules move, only the harness changes.

pub mod arrange;
pub mod attacks;
pub mod background;
pub mod browser;
pub mod cli;
pub mod dns;
pub mod einvoice;
pub mod gdv;
pub mod mail;
pub mod observe;
pub mod operator_api;
pub mod portal;
pub mod standalone;
pub mod uploads;
pub mod webhooks;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use control_plane::clock::{Clock, ManualClock};
use control_plane::config::Config;
use control_plane::startup;
use control_plane::state::AppState;
use figment::providers::Serialized;
use reqwest::redirect::Policy;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use background::{Leases, Replica};
pub use browser::{
    get_page, hidden_field, location, log_in, origin_of, post_form, session_set_cookie, set_password_via_link,
};
pub use cli::Cli;
pub use mail::{Attachment, Mail};
pub use observe::{customers_in, open_database};
pub use operator_api::OperatorApi;
pub use portal::{PortalSession, option_value};

// The value types scenarios compare against, re-exported so that a move or
// rename in the control plane or the tenant app changes only these lines.
pub use control_plane::audit::Entry as AuditEntry;
pub use control_plane::billing::invoices::{Invoice, Kind as InvoiceKind, Line as InvoiceLine};
pub use control_plane::billing::money::Cents;
pub use control_plane::billing::run::RunReport;
pub use control_plane::billing::settlement::Payment;
pub use control_plane::billing::stripe::Collection as StripeCollection;
pub use control_plane::config::Pricing;
pub use control_plane::scheduler::{Job, Ran};
pub use control_plane::tenants::{ProvisionStep, Tenant, TenantEvent, TenantStatus};
pub use control_plane::usage::Snapshot as UsageSnapshot;
pub use tenant_app::calendar::berlin_time;
pub use tenant_app::crypto::Key;
pub use tenant_app::domains::{DirectoryError, DomainDirectory, DomainName, DomainStatus, HttpDomainDirectory};
pub use tenant_app::plans::Plan;

/// Which database a test app runs on.
#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite,
    /// The server's admin URL (from `ORDO_TEST_DATABASE_URL`).
    Postgres(String),
}

/// Whether this is a CI run: `CI=true` (or `1`), as CI services and `.ci/run` set it.
fn on_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| value.eq_ignore_ascii_case("true") || value == "1")
}

/// The value of `env_var`, which names a real dependency of a test (`name`:
/// PostgreSQL, localstripe, an SMTP server …). Unset or empty, the test is to
/// be skipped: this says so and returns `None`. Under `CI=true` it panics
/// instead: in CI a missing dependency fails, it never skips silently.
pub fn require_or_skip(name: &str, env_var: &str) -> Option<String> {
    match std::env::var(env_var).ok().filter(|value| !value.is_empty()) {
        Some(value) => Some(value),
        None if on_ci() => panic!("{name} is required in CI, but {env_var} is not set (.ci/run sets it up)"),
        None => {
            eprintln!("skipped {name}: set {env_var} to run it (.ci/run sets it up)");
            None
        }
    }
}

impl Backend {
    /// PostgreSQL from `ORDO_TEST_DATABASE_URL`, or `None` (skip) outside CI.
    pub fn postgres_or_skip() -> Option<Backend> {
        require_or_skip("the PostgreSQL run", "ORDO_TEST_DATABASE_URL").map(Backend::Postgres)
    }
}

/// Runs an async scenario `fn(Backend)` as two tests, `sqlite` and `postgres`.
#[macro_export]
macro_rules! both_backends {
    ($($scenario:ident),* $(,)?) => {
        $(
            mod $scenario {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$scenario($crate::Backend::Sqlite).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(backend) = $crate::Backend::postgres_or_skip() {
                        super::$scenario(backend).await;
                    }
                }
            }
        )*
    };
}

/// A running control plane with its own data directory (and database).
pub struct TestApp {
    /// The control plane's clock: stands still until a test moves it.
    pub(crate) clock: Arc<ManualClock>,
    pub addr: SocketAddr,
    pub(crate) state: AppState,
    pub(crate) config: Config,
    data_dir: tempfile::TempDir,
    backend: Backend,
    /// The control-plane database this test created on PostgreSQL.
    pg_database: Option<String>,
    /// Configuration set by the test, kept for restarts.
    settings: Vec<(String, String)>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<anyhow::Result<()>>>,
}

fn random_suffix() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..12).map(|_| char::from(b'a' + rng.gen_range(0..26))).collect()
}

fn with_database(url: &str, database: &str) -> String {
    let mut url = url::Url::parse(url).expect("ORDO_TEST_DATABASE_URL is a URL");
    url.set_path(&format!("/{database}"));
    url.to_string()
}

async fn admin_execute(admin_url: &str, sql: &str) {
    let db = tenant_app::db::Db::connect(admin_url, tenant_app::db::PoolSize::of(1)).await.expect("admin connection");
    sqlx::query(sql).execute(db.pool()).await.unwrap_or_else(|err| panic!("{sql}: {err}"));
    db.close().await;
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, &[]).await
    }

    /// Starts an app with some configuration keys set, e.g. `("smtp_url", "smtp://…")`.
    pub async fn spawn_with(backend: Backend, settings: &[(&str, &str)]) -> TestApp {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let settings = settings.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Self::spawn_in(backend, data_dir, None, settings, None).await
    }

    /// Starts (or restarts) an app on an existing data directory and database.
    async fn spawn_in(
        backend: Backend,
        data_dir: tempfile::TempDir,
        pg_database: Option<String>,
        settings: Vec<(String, String)>,
        clock: Option<Arc<ManualClock>>,
    ) -> TestApp {
        let mut figment = Config::defaults()
            .merge(Serialized::default("data_dir", data_dir.path()))
            .merge(Serialized::default("listen", "127.0.0.1:0"))
            .merge(Serialized::default("log_mail_links", false))
            // Tests run scheduled jobs themselves, at the times they set (`run_jobs`).
            .merge(Serialized::default("jobs.enabled", false));
        let mut pg_database = pg_database;
        if let Backend::Postgres(admin_url) = &backend {
            let database = match pg_database.clone() {
                Some(existing) => existing,
                None => {
                    let name = format!("ordo_test_{}", random_suffix());
                    admin_execute(admin_url, &format!("CREATE DATABASE {name}")).await;
                    name
                }
            };
            figment = figment
                .merge(Serialized::default("database_url", with_database(admin_url, &database)))
                .merge(Serialized::default("master_key", test_master_key(data_dir.path())));
            pg_database = Some(database);
        }
        for (key, value) in &settings {
            // Like environment variables: numbers, booleans and `[…]` lists are typed.
            figment = match (value.parse::<i64>(), value.parse::<bool>(), serde_json::from_str::<Vec<String>>(value)) {
                (Ok(number), _, _) => figment.merge(Serialized::default(key, number)),
                (_, Ok(flag), _) => figment.merge(Serialized::default(key, flag)),
                (_, _, Ok(list)) => figment.merge(Serialized::default(key, list)),
                _ => figment.merge(Serialized::default(key, value)),
            };
        }
        let config = Config::extract(figment).expect("test configuration");
        // Set RUST_LOG (e.g. `RUST_LOG=error`) to see the server's logs while debugging a test.
        if std::env::var_os("RUST_LOG").is_some() {
            tenant_app::telemetry::init(tenant_app::telemetry::LogFormat::Pretty);
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let clock = clock.unwrap_or_else(|| Arc::new(ManualClock::new(chrono::Utc::now())));
        let state = control_plane::startup::build_with_clock(config.clone(), addr.port(), clock.clone())
            .await
            .expect("app builds");
        let (shutdown, shutdown_rx) = oneshot::channel::<()>();
        let server = tokio::spawn(startup::run(state.clone(), listener, async move {
            let _ = shutdown_rx.await;
        }));
        let app = TestApp {
            clock,
            addr,
            state,
            config,
            data_dir,
            backend,
            pg_database,
            settings,
            shutdown: Some(shutdown),
            server: Some(server),
        };
        app.wait_until_serving().await;
        app
    }

    async fn wait_until_serving(&self) {
        let client = self.client();
        for _ in 0..200 {
            if let Ok(response) = client.get(self.url("", "/healthz")).send().await
                && response.status().is_success()
            {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("app did not start serving");
    }

    /// A restart with some settings changed (later settings win).
    pub async fn restart_with(mut self, settings: &[(&str, &str)]) -> TestApp {
        self.settings.extend(settings.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        self.restart().await
    }

    /// A restart with a setting removed.
    pub async fn restart_without(mut self, key: &str) -> TestApp {
        self.settings.retain(|(k, _)| k != key);
        self.restart().await
    }

    /// Stops the server and starts a new one on the same data: a restart.
    pub async fn restart(mut self) -> TestApp {
        self.stop_server().await;
        let backend = self.backend.clone();
        let pg_database = self.pg_database.take();
        let data_dir = std::mem::replace(&mut self.data_dir, tempfile::tempdir().expect("temp dir"));
        let settings = std::mem::take(&mut self.settings);
        let clock = self.clock.clone();
        TestApp::spawn_in(backend, data_dir, pg_database, settings, Some(clock)).await
    }

    async fn stop_server(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task").expect("server ran cleanly");
        }
        for slug in self.slugs().await {
            let _ = self.state.provisioner.remove("", &slug).await;
        }
        self.state.db.close().await;
    }

    async fn slugs(&self) -> Vec<String> {
        control_plane::tenants::list(&self.state.db)
            .await
            .map(|ts| ts.into_iter().map(|t| t.slug).collect())
            .unwrap_or_default()
    }

    /// Stops the app and removes every database it made.
    pub async fn stop(mut self) {
        let tenant_ids: Vec<String> = control_plane::tenants::list(&self.state.db)
            .await
            .map(|ts| ts.into_iter().map(|t| t.id).collect())
            .unwrap_or_default();
        self.stop_server().await;
        if let (Backend::Postgres(admin_url), Some(database)) = (&self.backend, self.pg_database.take()) {
            for id in tenant_ids {
                let name = control_plane::tenants::databases::database_name(&id).expect("tenant database name");
                admin_execute(admin_url, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
                admin_execute(admin_url, &format!("DROP ROLE IF EXISTS {name}")).await;
            }
            admin_execute(admin_url, &format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)")).await;
        }
    }

    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    pub fn data_dir(&self) -> PathBuf {
        self.data_dir.path().to_path_buf()
    }

    /// `site` is `""` (public), `"admin"`, or a tenant slug.
    pub fn url(&self, site: &str, path: &str) -> String {
        let host = if site.is_empty() { "localhost".to_owned() } else { format!("{site}.localhost") };
        format!("http://{host}:{}{path}", self.addr.port())
    }

    /// A browser-like client: its own cookie jar, no automatic redirects, and every
    /// `*.localhost` name resolved to the loopback address.
    pub fn client(&self) -> Client {
        Client::builder()
            .cookie_store(true)
            .redirect(Policy::none())
            .dns_resolver(Arc::new(Loopback))
            .build()
            .expect("client")
    }

    /// Every mail written so far, oldest first.
    pub fn mails(&self) -> Vec<Mail> {
        let dir = self.data_dir.path().join("mail");
        let mut mails: Vec<(std::time::SystemTime, Mail)> = std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                    .map(|e| {
                        let modified =
                            e.metadata().and_then(|m| m.modified()).unwrap_or(std::time::SystemTime::UNIX_EPOCH);
                        (modified, Mail::parse(&std::fs::read(e.path()).expect("read mail")))
                    })
                    .collect()
            })
            .unwrap_or_default();
        mails.sort_by_key(|(modified, _)| *modified);
        mails.into_iter().map(|(_, mail)| mail).collect()
    }

    /// The newest mail to `to`.
    pub fn last_mail_to(&self, to: &str) -> Mail {
        self.mails().into_iter().rev().find(|m| m.to.contains(to)).unwrap_or_else(|| panic!("no mail to {to}"))
    }

    /// Signs up through the JSON API and returns the 201 body.
    pub async fn sign_up(&self, name: &str, company: Option<&str>, email: &str) -> Value {
        let response = self
            .client()
            .post(self.url("", "/api/v1/trials"))
            .json(&json!({
                "name": name, "company": company, "street": "Hauptstraße 1", "postal_code": "10115",
                "city": "Berlin", "phone": "030 1234567", "email": email
            }))
            .send()
            .await
            .expect("sign-up request");
        assert_eq!(
            response.status(),
            StatusCode::CREATED,
            "sign-up failed: {}",
            response.text().await.unwrap_or_default()
        );
        response.json().await.expect("sign-up body")
    }

    /// Sets the control plane's clock (jobs, billing, webhooks' time window go by it).
    pub fn set_clock(&self, at: chrono::DateTime<chrono::Utc>) {
        self.clock.set(at);
    }

    /// Moves the control plane's clock on.
    pub fn advance_clock(&self, by: chrono::Duration) {
        self.clock.advance(by);
    }

    /// The control plane's time now.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// The control plane's time now, in Unix seconds.
    pub fn timestamp(&self) -> i64 {
        self.clock.timestamp()
    }

    /// The control plane's date in Berlin (billing and jobs go by it).
    pub fn berlin_today(&self) -> chrono::NaiveDate {
        self.clock.berlin_today()
    }

    /// The configuration with links naming this run's port, as the CLI commands need it.
    pub(crate) fn linkable_config(&self) -> Config {
        let mut config = self.config.clone();
        config.public_port = Some(self.addr.port());
        config
    }

    /// A client logged in to the console as a (new or existing) operator.
    pub async fn operator(&self, email: &str) -> Client {
        let link = self.cli().create_operator(email).await;
        let client = self.client();
        let login = client.get(&link).send().await.expect("operator login");
        assert_eq!(login.status(), StatusCode::SEE_OTHER, "operator login link");
        client
    }

    /// Signs up and sets the broker's password through the e-mailed link;
    /// returns the slug and a client logged in as the broker.
    pub async fn broker(&self, company: &str, email: &str, password: &str) -> (String, Client) {
        let session = self.broker_session_with(company, email, password).await;
        (session.slug, session.client)
    }

    /// Signs up a broker and returns their logged-in portal session.
    pub async fn broker_session(&self, company: &str, email: &str) -> PortalSession {
        self.broker_session_with(company, email, "makler passwort 2026").await
    }

    async fn broker_session_with(&self, company: &str, email: &str, password: &str) -> PortalSession {
        let created = self.sign_up("Erika Muster", Some(company), email).await;
        let slug = created["slug"].as_str().expect("slug").to_owned();
        let tenant_id = created["id"].as_str().expect("id").to_owned();
        let link = self.last_mail_to(email).password_link();
        let client = self.client();
        set_password_via_link(&client, &link, password).await;
        PortalSession { client, origin: self.url(&slug, ""), slug, tenant_id }
    }
}

/// A new random master key, base64, as `master_key` takes it.
pub fn new_master_key() -> String {
    Key::generate().to_base64()
}

fn test_master_key(dir: &std::path::Path) -> String {
    let path = dir.join("test-master.key");
    match std::fs::read_to_string(&path) {
        Ok(key) => key,
        Err(_) => {
            let key = Key::generate().to_base64();
            std::fs::write(&path, &key).expect("write test key");
            key
        }
    }
}

/// Resolves every name to the loopback address, as browsers do for `*.localhost`.
struct Loopback;

impl reqwest::dns::Resolve for Loopback {
    fn resolve(&self, _name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async {
            let addrs: reqwest::dns::Addrs = Box::new(std::iter::once(SocketAddr::from(([127, 0, 0, 1], 0))));
            Ok(addrs)
        })
    }
}
