//! The test harness: starts the real control plane on port 0 against a fresh
//! SQLite directory or a fresh PostgreSQL database, and talks to it over HTTP
//! like a browser would (host names, cookies, CSRF tokens, e-mail links).
//!
//! Every scenario runs on both databases through [`both_backends!`]; the
//! PostgreSQL run needs `ORDO_TEST_DATABASE_URL` (a superuser URL such as
//! `postgres://postgres@127.0.0.1:5432/postgres`) and is skipped without it.

pub mod dns;
pub mod einvoice;
pub mod money;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use control_plane::clock::ManualClock;
use control_plane::config::Config;
use control_plane::startup;
use control_plane::state::AppState;
use figment::providers::Serialized;
use reqwest::redirect::Policy;
use reqwest::{Client, Response, StatusCode};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tenant_app::crypto::Key;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Which database a test app runs on.
#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite,
    /// The server's admin URL (from `ORDO_TEST_DATABASE_URL`).
    Postgres(String),
}

/// localstripe's base URL (`ORDO_TEST_LOCALSTRIPE_URL`, ending in a slash), if
/// one runs; `.ci/run` starts it.
pub fn localstripe_url() -> Option<String> {
    std::env::var("ORDO_TEST_LOCALSTRIPE_URL").ok().filter(|url| !url.is_empty())
}

impl Backend {
    pub fn postgres_from_env() -> Option<Backend> {
        std::env::var("ORDO_TEST_DATABASE_URL").ok().filter(|url| !url.is_empty()).map(Backend::Postgres)
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
                    match $crate::Backend::postgres_from_env() {
                        Some(backend) => super::$scenario(backend).await,
                        None => eprintln!("skipped: set ORDO_TEST_DATABASE_URL to run on PostgreSQL"),
                    }
                }
            }
        )*
    };
}

/// A running control plane with its own data directory (and database).
pub struct TestApp {
    /// The control plane's clock: stands still until a test moves it.
    pub clock: Arc<ManualClock>,
    pub addr: SocketAddr,
    pub state: AppState,
    pub config: Config,
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

    /// Moves the clock to `at` and runs whatever scheduled jobs are due then.
    pub async fn run_jobs_at(&self, at: chrono::DateTime<chrono::Utc>) -> Vec<control_plane::scheduler::Ran> {
        self.clock.set(at);
        control_plane::scheduler::run_due(&self.state).await.expect("scheduled jobs")
    }

    /// The configuration with links naming this run's port, as the CLI commands need it.
    pub fn linkable_config(&self) -> Config {
        let mut config = self.config.clone();
        config.public_port = Some(self.addr.port());
        config
    }

    /// A client logged in to the console as a (new or existing) operator.
    pub async fn operator(&self, email: &str) -> Client {
        let link = control_plane::cli::create_operator(&self.linkable_config(), email).await.expect("operator link");
        let client = self.client();
        let login = client.get(&link).send().await.expect("operator login");
        assert_eq!(login.status(), StatusCode::SEE_OTHER, "operator login link");
        client
    }

    /// Signs up and sets the broker's password through the e-mailed link;
    /// returns the slug and a client logged in as the broker.
    pub async fn broker(&self, company: &str, email: &str, password: &str) -> (String, Client) {
        let created = self.sign_up("Erika Muster", Some(company), email).await;
        let slug = created["slug"].as_str().expect("slug").to_owned();
        let link = self.last_mail_to(email).password_link();
        let client = self.client();
        set_password_via_link(&client, &link, password).await;
        (slug, client)
    }
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

/// Follows an e-mailed set-password link with `client` and sets `password`;
/// the client is logged in afterwards. Returns the raw `Set-Cookie` of the new session.
pub async fn set_password_via_link(client: &Client, link: &str, password: &str) -> String {
    let page = client.get(link).send().await.expect("open link");
    assert_eq!(page.status(), StatusCode::OK, "link page");
    let html = page.text().await.expect("page");
    let token = hidden_field(&html, "token");
    let origin = origin_of(link);
    let response = post_form(
        client,
        &format!("{origin}/passwort-setzen"),
        &html,
        &[("token", token.as_str()), ("password", password), ("password_confirm", password)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "set password: {}", response.text().await.unwrap_or_default());
    session_set_cookie(&response)
}

/// The `Set-Cookie` header that carries the session, verbatim.
pub fn session_set_cookie(response: &Response) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("session="))
        .expect("a session cookie")
        .to_owned()
}

/// Logs in with e-mail and password on a site; returns the response to the POST.
pub async fn log_in(client: &Client, origin: &str, email: &str, password: &str) -> Response {
    let (status, html) = get_page(client, &format!("{origin}/anmelden")).await;
    assert_eq!(status, StatusCode::OK, "login page");
    post_form(client, &format!("{origin}/anmelden"), &html, &[("email", email), ("password", password)]).await
}

pub fn origin_of(url: &str) -> String {
    let parsed = url::Url::parse(url).expect("url");
    format!("{}://{}:{}", parsed.scheme(), parsed.host_str().expect("host"), parsed.port().expect("port"))
}

/// The value of a hidden input in a page.
pub fn hidden_field(html: &str, name: &str) -> String {
    let pattern = format!(r#"name="{name}" value="([^"]*)""#);
    let re = regex_lite::Regex::new(&pattern).expect("regex");
    re.captures(html)
        .unwrap_or_else(|| panic!("no field {name} in page"))
        .get(1)
        .expect("group")
        .as_str()
        .replace("&#x2f;", "/")
}

/// Posts a form, taking the CSRF token from a page previously fetched by the same client.
pub async fn post_form(client: &Client, url: &str, page_html: &str, fields: &[(&str, &str)]) -> Response {
    let csrf = hidden_field(page_html, "_csrf");
    let mut body: Vec<(&str, &str)> = vec![("_csrf", csrf.as_str())];
    body.extend_from_slice(fields);
    client.post(url).form(&body).send().await.expect("post form")
}

/// GETs a page and returns its status and HTML.
pub async fn get_page(client: &Client, url: &str) -> (StatusCode, String) {
    let response = client.get(url).send().await.expect("get page");
    let status = response.status();
    (status, response.text().await.expect("body"))
}

pub fn location(response: &Response) -> String {
    response.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

/// A received e-mail.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub from: String,
    pub subject: String,
    pub body: String,
    pub attachments: Vec<Attachment>,
}

/// A file attached to a mail.
#[derive(Debug, Clone)]
pub struct Attachment {
    pub filename: String,
    pub content_type: String,
    pub content: Vec<u8>,
}

impl Mail {
    fn parse(raw: &[u8]) -> Mail {
        let parsed = mailparse::parse_mail(raw).expect("valid mail");
        let header = |name: &str| {
            parsed
                .headers
                .iter()
                .find(|h| h.get_key().eq_ignore_ascii_case(name))
                .map(|h| h.get_value())
                .unwrap_or_default()
        };
        // A mail with attachments is multipart: the text is its first plain part.
        let text = parsed
            .subparts
            .iter()
            .find(|part| part.ctype.mimetype == "text/plain")
            .map(|part| part.get_body().expect("text part"));
        let attachments = parsed
            .subparts
            .iter()
            .filter(|part| part.get_content_disposition().disposition == mailparse::DispositionType::Attachment)
            .map(|part| Attachment {
                filename: part.get_content_disposition().params.get("filename").cloned().unwrap_or_default(),
                content_type: part.ctype.mimetype.clone(),
                content: part.get_body_raw().expect("attachment"),
            })
            .collect();
        Mail {
            to: header("To"),
            from: header("From"),
            subject: header("Subject"),
            body: text.unwrap_or_else(|| parsed.get_body().expect("body")),
            attachments,
        }
    }

    /// The first http(s) link in the body.
    pub fn link(&self) -> String {
        let re = regex_lite::Regex::new(r"https?://\S+").expect("regex");
        re.find(&self.body).unwrap_or_else(|| panic!("no link in mail: {}", self.body)).as_str().to_owned()
    }

    /// The link that sets a password.
    pub fn password_link(&self) -> String {
        let re = regex_lite::Regex::new(r"https?://\S+/passwort-setzen\?token=\S+").expect("regex");
        re.find(&self.body).unwrap_or_else(|| panic!("no password link in mail: {}", self.body)).as_str().to_owned()
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

/// Reads a secret value for assertions on stored data.
pub fn expose(secret: &secrecy::SecretString) -> &str {
    secret.expose_secret()
}

/// A logged-in browser on one portal, with helpers for the broker's common steps.
pub struct PortalSession {
    pub client: Client,
    /// `http://<slug>.localhost:<port>`
    pub origin: String,
}

impl PortalSession {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }

    pub async fn page(&self, path: &str) -> (StatusCode, String) {
        get_page(&self.client, &self.url(path)).await
    }

    /// GETs `form_path` for its CSRF token, then POSTs `fields` to `action_path`.
    pub async fn submit(&self, form_path: &str, action_path: &str, fields: &[(&str, &str)]) -> Response {
        let (status, html) = self.page(form_path).await;
        assert_eq!(status, StatusCode::OK, "form page {form_path}");
        post_form(&self.client, &self.url(action_path), &html, fields).await
    }

    /// Creates a customer through the form; returns its id.
    pub async fn create_customer(&self, first: &str, last: &str, email: &str) -> String {
        let created = self
            .submit(
                "/makler/kunden/neu",
                "/makler/kunden/neu",
                &[
                    ("first_name", first),
                    ("last_name", last),
                    ("email", email),
                    ("phone", "0171 1234567"),
                    ("street", "Weg 2"),
                    ("postal_code", "10117"),
                    ("city", "Berlin"),
                ],
            )
            .await;
        assert_eq!(created.status(), StatusCode::SEE_OTHER, "create customer");
        location(&created).rsplit('/').next().expect("id").to_owned()
    }

    /// Adds a contract for the Produkt with this label; returns nothing, the
    /// contract shows on the customer's page.
    pub async fn create_contract(
        &self,
        customer_id: &str,
        produkt: &str,
        policy_number: &str,
        premium: &str,
        frequency: &str,
    ) {
        let form_path = format!("/makler/kunden/{customer_id}/vertraege/neu");
        let (_, html) = self.page(&form_path).await;
        let produkt_id = option_value(&html, produkt);
        let saved = post_form(
            &self.client,
            &self.url(&form_path),
            &html,
            &[
                ("produkt_id", produkt_id.as_str()),
                ("insurer", "Allianz"),
                ("policy_number", policy_number),
                ("premium", premium),
                ("payment_frequency", frequency),
                ("start_date", "2025-01-01"),
                ("status", "active"),
            ],
        )
        .await;
        assert_eq!(
            saved.status(),
            StatusCode::SEE_OTHER,
            "create contract: {}",
            saved.text().await.unwrap_or_default()
        );
    }

    /// Invites a customer and lets them set a password; returns their session.
    pub async fn invite(&self, app: &TestApp, customer_id: &str, email: &str, password: &str) -> PortalSession {
        let page = format!("/makler/kunden/{customer_id}");
        let invited = self.submit(&page, &format!("{page}/einladen"), &[]).await;
        assert_eq!(invited.status(), StatusCode::SEE_OTHER, "invite");
        let customer = app.client();
        set_password_via_link(&customer, &app.last_mail_to(email).password_link(), password).await;
        PortalSession { client: customer, origin: self.origin.clone() }
    }
}

impl TestApp {
    /// Signs up a broker and returns their logged-in portal session.
    pub async fn broker_session(&self, company: &str, email: &str) -> PortalSession {
        let (slug, client) = self.broker(company, email, "makler passwort 2026").await;
        PortalSession { client, origin: self.url(&slug, "") }
    }
}

/// The value of the `<option>` with this label.
pub fn option_value(html: &str, label: &str) -> String {
    let re =
        regex_lite::Regex::new(&format!(r#"<option value="([0-9a-f]+)"[^>]*>{}</option>"#, regex_lite::escape(label)))
            .expect("regex");
    re.captures(html).unwrap_or_else(|| panic!("no option {label}")).get(1).expect("group").as_str().to_owned()
}
