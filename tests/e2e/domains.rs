//! Brokers' own domains: claimed in the portal with field errors, proven by a TXT
//! and a CNAME record on a DNS server the test runs, routed only once verified,
//! watched by the periodic check, visible to the operator; and the same records
//! reached over HTTP by a standalone portal.

use control_plane::{domains, operators, tenants};
use hickory_proto::rr::RecordType;
use ordo_tests::dns::TestDns;
use ordo_tests::{Backend, PortalSession, TestApp, both_backends, get_page, location, post_form};
use reqwest::StatusCode;
use serde_json::Value;
use tenant_app::domains::{DirectoryError, DomainDirectory, DomainName, DomainStatus, HttpDomainDirectory};
use tenant_app::values::EmailAddress;

both_backends!(
    a_verified_domain_leads_to_the_portal,
    the_whitelabel_package_brings_own_domains,
    a_standalone_portal_reaches_its_domains_over_http
);

const DOMAIN: &str = "portal.makler-meier.de";
const CHALLENGE: &str = "_ordo-challenge.portal.makler-meier.de";

fn slug_of(session: &PortalSession) -> String {
    session.origin.split("//").nth(1).unwrap().split('.').next().unwrap().to_owned()
}

/// GETs a path on a host name of the test app's listener.
async fn on_host(app: &TestApp, host: &str, path: &str) -> (StatusCode, String) {
    get_page(&app.client(), &format!("http://{host}:{}{path}", app.addr.port())).await
}

/// Presses "Jetzt prüfen" and returns the domain page afterwards.
async fn check_now(broker: &PortalSession, domain: &str) -> String {
    let checked = broker.submit("/makler/domains", "/makler/domains/pruefen", &[("domain", domain)]).await;
    assert_eq!(checked.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&checked), "/makler/domains");
    broker.page("/makler/domains").await.1
}

async fn a_verified_domain_leads_to_the_portal(backend: Backend) {
    let dns = TestDns::start().await;
    let app = TestApp::spawn_with(backend, &[("dns_servers", &dns.server()), ("domain_check_tolerance", "2")]).await;
    let broker = app.broker_session("Makler Meier", "meier@example.de").await;
    let slug = slug_of(&broker);
    let portal_host = format!("{slug}.localhost");
    let tenant = tenants::find_by_slug(&app.state.db, &slug).await.unwrap().unwrap();

    // The trial includes own domains; the page has the form.
    let (status, page) = broker.page("/makler/domains").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Domain eintragen") && page.contains("href=\"/makler/domains\""), "{page}");

    // Refusals name the field, in German, and keep the input.
    for (input, reason) in [
        ("portal", "vollständige Domain"),
        ("https://portal.makler-meier.de/", "ohne https://"),
        ("kunden.localhost", "gehören bereits zu den Portalen"),
        ("por_tal.makler-meier.de", "„por_tal“ ist kein gültiger Teil"),
    ] {
        let refused = broker.submit("/makler/domains", "/makler/domains", &[("domain", input)]).await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY, "{input}");
        let html = refused.text().await.unwrap();
        assert!(html.contains("id=\"domain-error\"") && html.contains(reason), "{input}: {html}");
        assert!(html.contains(&format!("value=\"{input}\"")), "input kept: {html}");
    }
    // A claim without the CSRF token is refused.
    let forged = broker.client.post(broker.url("/makler/domains")).form(&[("domain", DOMAIN)]).send().await.unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);

    // The claim shows the two records to create.
    let claimed = broker.submit("/makler/domains", "/makler/domains", &[("domain", "Portal.Makler-Meier.DE")]).await;
    assert_eq!(claimed.status(), StatusCode::SEE_OTHER);
    let record = domains::list(&app.state.db, &tenant.id).await.unwrap().remove(0);
    assert_eq!(record.domain, DOMAIN);
    let (_, page) = broker.page("/makler/domains").await;
    for expected in [DOMAIN, "ausstehend", CHALLENGE, &record.token, &portal_host, "Noch nicht geprüft"] {
        assert!(page.contains(expected), "{expected}: {page}");
    }
    // Claiming it again changes nothing (no second token).
    broker.submit("/makler/domains", "/makler/domains", &[("domain", DOMAIN)]).await;
    assert_eq!(domains::list(&app.state.db, &tenant.id).await.unwrap().len(), 1);

    // Not verified: the same bare 404 as any unknown host.
    let unknown = on_host(&app, "niemand.example", "/anmelden").await;
    assert_eq!(unknown.0, StatusCode::NOT_FOUND);
    assert_eq!(on_host(&app, DOMAIN, "/anmelden").await, unknown);

    // Each check says exactly what is missing.
    let page = check_now(&broker, DOMAIN).await;
    assert!(page.contains("fehlgeschlagen") && page.contains("Zuletzt geprüft"), "{page}");
    assert!(page.contains(&format!("TXT-Eintrag {CHALLENGE} nicht gefunden.")), "{page}");
    dns.add_txt(CHALLENGE, "von-einem-anderen-anbieter");
    let page = check_now(&broker, DOMAIN).await;
    assert!(page.contains(&format!("TXT-Eintrag {CHALLENGE} enthält nicht den erwarteten Wert")), "{page}");
    dns.add_txt(CHALLENGE, &record.token);
    let page = check_now(&broker, DOMAIN).await;
    assert!(page.contains(&format!("CNAME-Eintrag für {DOMAIN} nicht gefunden")), "{page}");
    dns.set_cname(DOMAIN, "woanders.example");
    let page = check_now(&broker, DOMAIN).await;
    assert!(page.contains(&format!("zeigt auf woanders.example statt auf {portal_host}")), "{page}");
    assert_eq!(on_host(&app, DOMAIN, "/anmelden").await.0, StatusCode::NOT_FOUND);

    // Through a CNAME chain to the portal host: verified, and the portal answers there.
    dns.set_cname(DOMAIN, "kunden.makler-meier.de");
    dns.set_cname("kunden.makler-meier.de", &portal_host);
    let page = check_now(&broker, DOMAIN).await;
    assert!(page.contains("bestätigt") && !page.contains("fehlgeschlagen"), "{page}");
    let (status, login) = on_host(&app, DOMAIN, "/anmelden").await;
    assert_eq!(status, StatusCode::OK);
    assert!(login.contains("Makler Meier"), "{login}");
    assert_eq!(on_host(&app, "kunden.makler-meier.de", "/anmelden").await.0, StatusCode::NOT_FOUND, "only the claim");
    assert_eq!(on_host(&app, "PORTAL.makler-meier.de.", "/anmelden").await.0, StatusCode::OK, "any spelling");

    // Nobody else can claim it; another broker's unproven domain leads nowhere.
    let other = app.broker_session("Anders Makler", "anders@example.de").await;
    let refused = other.submit("/makler/domains", "/makler/domains", &[("domain", DOMAIN)]).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().await.unwrap().contains("bereits für ein anderes Portal eingetragen"));
    let claimed = other.submit("/makler/domains", "/makler/domains", &[("domain", "kunden.anders.de")]).await;
    assert_eq!(claimed.status(), StatusCode::SEE_OTHER);
    assert_eq!(on_host(&app, "kunden.anders.de", "/anmelden").await.0, StatusCode::NOT_FOUND);

    // The operator sees the domain and its state in the API and the console.
    let operator = operators::ensure(&app.state.db, &EmailAddress::parse("ops@example.de").unwrap()).await.unwrap();
    let token = operators::create_api_token(&app.state.db, &operator.id, "test").await.unwrap();
    let shown: Value = app
        .client()
        .get(app.url("admin", &format!("/api/v1/tenants/{}", tenant.id)))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let domain = &shown["custom_domains"][0];
    assert_eq!(domain["domain"], DOMAIN);
    assert_eq!(domain["status"], "verified");
    assert_eq!(domain["cname_target"], portal_host.as_str());
    assert!(domain["last_checked_at"].as_str().unwrap().contains('T'));
    let console = app.client();
    let link = operators::issue_login_link(&app.state.db, &operator.id).await.unwrap();
    console.get(app.url("admin", &format!("/anmelden/link?token={link}"))).send().await.unwrap();
    let (status, detail) = get_page(&console, &app.url("admin", &format!("/mandanten/{}", tenant.id))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(detail.contains(DOMAIN) && detail.contains("bestätigt"), "{detail}");

    // Suspended, the own domain shows the maintenance page too; resumed, the portal again.
    control_plane::provisioning::suspend(&app.state, &tenant.id, "Prüfung").await.unwrap();
    let (status, page) = on_host(&app, DOMAIN, "/anmelden").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(page.contains("vorübergehend nicht erreichbar"), "{page}");
    control_plane::provisioning::resume(&app.state, &tenant.id).await.unwrap();
    assert_eq!(on_host(&app, DOMAIN, "/anmelden").await.0, StatusCode::OK);

    // After a restart the verified domain is routed again, from the database.
    let app = app.restart().await;
    let broker = PortalSession { client: broker.client, origin: app.url(&slug, "") };
    assert_eq!(on_host(&app, DOMAIN, "/anmelden").await.0, StatusCode::OK);

    // The records go away: one failed check is tolerated and shown, the second unroutes.
    dns.remove(CHALLENGE, RecordType::TXT);
    domains::check_all(&app.state).await.unwrap();
    assert_eq!(on_host(&app, DOMAIN, "/anmelden").await.0, StatusCode::OK, "tolerated once");
    let (_, page) = broker.page("/makler/domains").await;
    assert!(page.contains("bestätigt") && page.contains("nicht gefunden") && page.contains("bald nicht mehr"));
    domains::check_all(&app.state).await.unwrap();
    assert_eq!(on_host(&app, DOMAIN, "/anmelden").await.0, StatusCode::NOT_FOUND, "unrouted");
    let detail = get_page(&console, &app.url("admin", &format!("/mandanten/{}", tenant.id))).await.1;
    assert!(detail.contains("fehlgeschlagen") && detail.contains("domain_unverified"), "{detail}");

    // They come back: the periodic check routes the domain again.
    dns.add_txt(CHALLENGE, &record.token);
    domains::check_all(&app.state).await.unwrap();
    assert_eq!(on_host(&app, DOMAIN, "/anmelden").await.0, StatusCode::OK);

    // The broker removes the domain: no longer served, no longer listed.
    let removed = broker.submit("/makler/domains", "/makler/domains/entfernen", &[("domain", DOMAIN)]).await;
    assert_eq!(removed.status(), StatusCode::SEE_OTHER);
    assert_eq!(on_host(&app, DOMAIN, "/anmelden").await.0, StatusCode::NOT_FOUND);
    let (_, page) = broker.page("/makler/domains").await;
    assert!(!page.contains(CHALLENGE), "{page}");

    // Claimed again, it needs a new token: the old TXT record proves nothing.
    broker.submit("/makler/domains", "/makler/domains", &[("domain", DOMAIN)]).await;
    let page = check_now(&broker, DOMAIN).await;
    assert!(page.contains("enthält nicht den erwarteten Wert"), "{page}");
    assert_eq!(on_host(&app, DOMAIN, "/anmelden").await.0, StatusCode::NOT_FOUND);
    app.stop().await;
}

async fn the_whitelabel_package_brings_own_domains(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let broker = app.broker_session("Muster Makler", "erika@example.de").await;
    let slug = slug_of(&broker);
    let tenant = tenants::find_by_slug(&app.state.db, &slug).await.unwrap().unwrap();
    // A domain verified during the trial is served.
    sqlx::query(
        "INSERT INTO custom_domains (id, tenant_id, domain, token, verified, failed_checks, created_at) \
         VALUES ($1, $2, $3, 'token', 1, 0, 0)",
    )
    .bind(uuid::Uuid::now_v7().simple().to_string())
    .bind(&tenant.id)
    .bind(DOMAIN)
    .execute(app.state.db.pool())
    .await
    .unwrap();
    let deployment = control_plane::provisioning::deployment_for(&app.state, &tenant).await.unwrap();
    app.state.provisioner.deploy(&deployment).await.unwrap();
    assert_eq!(on_host(&app, DOMAIN, "/anmelden").await.0, StatusCode::OK);

    // After the trial, without whitelabel, the domain is no longer served, the page
    // explains, and claims are refused.
    sqlx::query("UPDATE tenants SET plan = 'premium' WHERE id = $1")
        .bind(&tenant.id)
        .execute(app.state.db.pool())
        .await
        .unwrap();
    let tenant = tenants::find(&app.state.db, &tenant.id).await.unwrap().unwrap();
    app.state
        .provisioner
        .deploy(&control_plane::provisioning::deployment_for(&app.state, &tenant).await.unwrap())
        .await
        .unwrap();
    assert_eq!(on_host(&app, DOMAIN, "/anmelden").await.0, StatusCode::NOT_FOUND);
    let (status, page) = broker.page("/makler/domains").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("gehört zum Whitelabel-Paket") && !page.contains("Domain eintragen"), "{page}");
    let refused = broker.submit("/makler/domains", "/makler/domains", &[("domain", "kunden.muster.de")]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(domains::list(&app.state.db, &tenant.id).await.unwrap().len(), 1);
    app.stop().await;
}

async fn a_standalone_portal_reaches_its_domains_over_http(backend: Backend) {
    let dns = TestDns::start().await;
    let app = TestApp::spawn_with(backend, &[("dns_servers", &dns.server())]).await;
    let created = app.sign_up("Erika Muster", Some("Muster Makler"), "erika@example.de").await;
    let tenant = tenants::find(&app.state.db, created["id"].as_str().unwrap()).await.unwrap().unwrap();
    let key = tenant.session_key(&app.state.master_key).unwrap();
    // The control plane as a standalone portal addresses it: by an address that is no site of ours.
    let control_plane = format!("http://127.0.0.1:{}", app.addr.port());
    let directory = HttpDomainDirectory::new(&control_plane, &tenant.id, &key).unwrap();
    let domain = DomainName::parse("portal.muster-makler.de").unwrap();

    assert!(directory.list().await.unwrap().is_empty());
    let claimed = directory.claim(&domain).await.unwrap();
    assert_eq!(claimed.status, DomainStatus::Pending);
    assert_eq!(claimed.cname_target, format!("{}.localhost", tenant.slug));
    assert_eq!(claimed.txt_name, "_ordo-challenge.portal.muster-makler.de");
    match directory.claim(&DomainName::parse("x.localhost").unwrap()).await {
        Err(DirectoryError::Refused(message)) => assert!(message.contains("eigene Domain"), "{message}"),
        other => panic!("refused expected: {other:?}"),
    }

    let checked = directory.verify(&domain).await.unwrap();
    assert_eq!(checked.status, DomainStatus::Failed);
    assert_eq!(checked.problem.as_deref(), Some("TXT-Eintrag _ordo-challenge.portal.muster-makler.de nicht gefunden."));
    dns.add_txt(&claimed.txt_name, &claimed.txt_value);
    dns.set_cname(domain.as_str(), &claimed.cname_target);
    let checked = directory.verify(&domain).await.unwrap();
    assert_eq!(checked.status, DomainStatus::Verified, "{:?}", checked.problem);
    assert!(checked.verified_at.is_some() && checked.last_checked_at.is_some());
    assert_eq!(on_host(&app, domain.as_str(), "/anmelden").await.0, StatusCode::OK);
    assert_eq!(directory.list().await.unwrap(), vec![checked]);

    // Only the tenant's own token opens its records; unknown domains are not found.
    let other = app.sign_up("Otto Anders", Some("Anders Makler"), "otto@example.de").await;
    let other = tenants::find(&app.state.db, other["id"].as_str().unwrap()).await.unwrap().unwrap();
    let other_key = other.session_key(&app.state.master_key).unwrap();
    let intruder = HttpDomainDirectory::new(&control_plane, &tenant.id, &other_key).unwrap();
    assert!(matches!(intruder.list().await, Err(DirectoryError::Unavailable(_))));
    assert!(matches!(intruder.remove(&domain).await, Err(DirectoryError::Unavailable(_))));
    let unknown = DomainName::parse("nicht.eingetragen.de").unwrap();
    assert!(matches!(directory.verify(&unknown).await, Err(DirectoryError::NotFound)));

    directory.remove(&domain).await.unwrap();
    assert_eq!(on_host(&app, domain.as_str(), "/anmelden").await.0, StatusCode::NOT_FOUND);
    assert!(directory.list().await.unwrap().is_empty());
    app.stop().await;
}

/// A standalone portal whose control plane cannot be reached says so and keeps
/// what the broker typed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standalone_portal_keeps_the_input_while_the_control_plane_is_away() {
    use std::sync::Arc;
    use tenant_app::crypto::Key;
    use tenant_app::instance;
    use tenant_app::mail::{MailTransport, Mailer};
    use tenant_app::plans::Plan;
    use tenant_app::portal::{Entitlements, PortalSettings};

    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("portal.db").display());
    let db = instance::open_database(&url).await.unwrap();
    let admin = EmailAddress::parse("makler@example.de").unwrap();
    let token = instance::seed(&db, &admin, "Erika Muster").await.unwrap().unwrap();
    // A port that nothing listens on: the control plane is away.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let secret = Key::generate();
    let directory = HttpDomainDirectory::new(&format!("http://{closed}"), "0190f5a3c2b47c3e8d1f2a3b4c5d6e7f", &secret);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let settings = PortalSettings {
        tenant_id: "0190f5a3c2b47c3e8d1f2a3b4c5d6e7f".into(),
        slug: "muster".into(),
        display_name: "Muster Makler".into(),
        public_url: origin.clone(),
        operator_name: "Ordo".into(),
        secret,
        max_file_bytes: 1024 * 1024,
        whitelabel_mail_from: None,
        api_requests_per_minute: 600,
    };
    let mailer = Mailer::new(&MailTransport::Files(dir.path().join("mail")), "portal@example.de").unwrap();
    let portal = instance::start(
        db,
        settings,
        Entitlements { plan: Plan::Trial, whitelabel: false, trial_ended: false },
        tenant_app::branding::Branding::default(),
        mailer,
        Arc::new(tenant_app::storage::LocalStore::new(dir.path().join("files"))),
        Some(Arc::new(directory.unwrap())),
    );
    let router = tenant_app::web::with_request_layers(portal.router(), false);
    let server = tokio::spawn(async move {
        axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>()).await
    });

    let broker =
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    ordo_tests::set_password_via_link(
        &broker,
        &format!("{origin}/passwort-setzen?token={token}"),
        "makler passwort 2026",
    )
    .await;
    let broker = PortalSession { client: broker, origin };
    let (status, page) = broker.page("/makler/domains").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(page.contains("nicht erreichbar") && page.contains("Domain eintragen"), "{page}");
    let refused = post_form(&broker.client, &broker.url("/makler/domains"), &page, &[("domain", DOMAIN)]).await;
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    let html = refused.text().await.unwrap();
    assert!(html.contains(&format!("value=\"{DOMAIN}\"")) && html.contains("id=\"domain-error\""), "{html}");
    server.abort();
}
