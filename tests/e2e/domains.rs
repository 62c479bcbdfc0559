//! Brokers' own domains: claimed in the portal with field errors, proven by a TXT
//! and a CNAME record on a DNS server the test runs, routed only once verified,
//! watched by the periodic check, visible to the operator; and the same records
//! reached over HTTP by a standalone portal.

use hickory_proto::rr::RecordType;
use ordo_tests::dns::TestDns;
use ordo_tests::standalone::StandalonePortal;
use ordo_tests::{
    Backend, DirectoryError, DomainDirectory, DomainName, DomainStatus, Plan, PortalSession, TestApp, both_backends,
    get_page, location, post_form,
};
use reqwest::StatusCode;

both_backends!(
    a_verified_domain_leads_to_the_portal,
    the_whitelabel_package_brings_own_domains,
    a_standalone_portal_reaches_its_domains_over_http
);

const DOMAIN: &str = "portal.makler-meier.de";
const CHALLENGE: &str = "_ordo-challenge.portal.makler-meier.de";

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
    let portal_host = format!("{}.localhost", broker.slug);
    let tenant_id = broker.tenant_id.clone();
    // The operator watches through the API: the records of a tenant's domains are in its view.
    let api = app.operator_api("ops@example.de").await;
    let domains_of = |view: serde_json::Value| view["custom_domains"].as_array().unwrap().clone();

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
    let record = domains_of(api.tenant(&tenant_id).await).remove(0);
    assert_eq!(record["domain"], DOMAIN);
    let token = record["txt_value"].as_str().unwrap().to_owned();
    let (_, page) = broker.page("/makler/domains").await;
    for expected in [DOMAIN, "ausstehend", CHALLENGE, &token, &portal_host, "Noch nicht geprüft"] {
        assert!(page.contains(expected), "{expected}: {page}");
    }
    // Claiming it again changes nothing (no second token).
    broker.submit("/makler/domains", "/makler/domains", &[("domain", DOMAIN)]).await;
    let records = domains_of(api.tenant(&tenant_id).await);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["txt_value"], token.as_str());

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
    dns.add_txt(CHALLENGE, &token);
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
    let shown = api.tenant(&tenant_id).await;
    let domain = &shown["custom_domains"][0];
    assert_eq!(domain["domain"], DOMAIN);
    assert_eq!(domain["status"], "verified");
    assert_eq!(domain["cname_target"], portal_host.as_str());
    assert!(domain["last_checked_at"].as_str().unwrap().contains('T'));
    let console = app.operator("ops@example.de").await;
    let tenant_page = app.url("admin", &format!("/mandanten/{tenant_id}"));
    let (status, detail) = get_page(&console, &tenant_page).await;
    assert_eq!(status, StatusCode::OK);
    assert!(detail.contains(DOMAIN) && detail.contains("bestätigt"), "{detail}");

    // Suspended by the operator, the own domain shows the maintenance page too; resumed, the portal again.
    let suspended = post_form(&console, &format!("{tenant_page}/sperren"), &detail, &[("grund", "Prüfung")]).await;
    assert_eq!(suspended.status(), StatusCode::SEE_OTHER);
    let (status, page) = on_host(&app, DOMAIN, "/anmelden").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(page.contains("vorübergehend nicht erreichbar"), "{page}");
    let (_, detail) = get_page(&console, &tenant_page).await;
    let resumed = post_form(&console, &format!("{tenant_page}/entsperren"), &detail, &[]).await;
    assert_eq!(resumed.status(), StatusCode::SEE_OTHER);
    assert_eq!(on_host(&app, DOMAIN, "/anmelden").await.0, StatusCode::OK);

    // After a restart the verified domain is routed again, from the database.
    let app = app.restart().await;
    let broker = broker.on(&app);
    let tenant_page = app.url("admin", &format!("/mandanten/{tenant_id}"));
    assert_eq!(on_host(&app, DOMAIN, "/anmelden").await.0, StatusCode::OK);

    // The records go away: one failed check is tolerated and shown, the second unroutes.
    dns.remove(CHALLENGE, RecordType::TXT);
    app.check_domains().await;
    assert_eq!(on_host(&app, DOMAIN, "/anmelden").await.0, StatusCode::OK, "tolerated once");
    let (_, page) = broker.page("/makler/domains").await;
    assert!(page.contains("bestätigt") && page.contains("nicht gefunden") && page.contains("bald nicht mehr"));
    app.check_domains().await;
    assert_eq!(on_host(&app, DOMAIN, "/anmelden").await.0, StatusCode::NOT_FOUND, "unrouted");
    let detail = get_page(&console, &tenant_page).await.1;
    assert!(detail.contains("fehlgeschlagen") && detail.contains("domain_unverified"), "{detail}");

    // They come back: the periodic check routes the domain again.
    dns.add_txt(CHALLENGE, &token);
    app.check_domains().await;
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
    let dns = TestDns::start().await;
    let app = TestApp::spawn_with(backend, &[("dns_servers", &dns.server())]).await;
    let broker = app.broker_session("Muster Makler", "erika@example.de").await;
    let api = app.operator_api("ops@example.de").await;
    // A domain verified during the trial is served.
    broker.submit("/makler/domains", "/makler/domains", &[("domain", DOMAIN)]).await;
    let token = api.tenant(&broker.tenant_id).await["custom_domains"][0]["txt_value"].as_str().unwrap().to_owned();
    dns.add_txt(CHALLENGE, &token);
    dns.set_cname(DOMAIN, &format!("{}.localhost", broker.slug));
    assert!(check_now(&broker, DOMAIN).await.contains("bestätigt"));
    assert_eq!(on_host(&app, DOMAIN, "/anmelden").await.0, StatusCode::OK);

    // After the trial, without whitelabel, the domain is no longer served, the page
    // explains, and claims are refused.
    app.set_plan(&broker.tenant_id, Plan::Premium, false).await;
    assert_eq!(on_host(&app, DOMAIN, "/anmelden").await.0, StatusCode::NOT_FOUND);
    let (status, page) = broker.page("/makler/domains").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("gehört zum Whitelabel-Paket") && !page.contains("Domain eintragen"), "{page}");
    let refused = broker.submit("/makler/domains", "/makler/domains", &[("domain", "kunden.muster.de")]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(api.tenant(&broker.tenant_id).await["custom_domains"].as_array().unwrap().len(), 1);
    app.stop().await;
}

async fn a_standalone_portal_reaches_its_domains_over_http(backend: Backend) {
    let dns = TestDns::start().await;
    let app = TestApp::spawn_with(backend, &[("dns_servers", &dns.server())]).await;
    let created = app.sign_up("Erika Muster", Some("Muster Makler"), "erika@example.de").await;
    let (tenant_id, slug) = (created["id"].as_str().unwrap(), created["slug"].as_str().unwrap());
    // The control plane as a standalone portal addresses it: by an address that is no site of ours.
    let directory = app.domain_directory(tenant_id, &app.tenant_secret(tenant_id).await);
    let domain = DomainName::parse("portal.muster-makler.de").unwrap();

    assert!(directory.list().await.unwrap().is_empty());
    let claimed = directory.claim(&domain).await.unwrap();
    assert_eq!(claimed.status, DomainStatus::Pending);
    assert_eq!(claimed.cname_target, format!("{slug}.localhost"));
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
    let other_secret = app.tenant_secret(other["id"].as_str().unwrap()).await;
    let intruder = app.domain_directory(tenant_id, &other_secret);
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
    // A port that nothing listens on: the control plane is away.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let portal = StandalonePortal::start(&format!("http://{closed}")).await;
    let broker = &portal.broker;
    let (status, page) = broker.page("/makler/domains").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(page.contains("nicht erreichbar") && page.contains("Domain eintragen"), "{page}");
    let refused = post_form(&broker.client, &broker.url("/makler/domains"), &page, &[("domain", DOMAIN)]).await;
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    let html = refused.text().await.unwrap();
    assert!(html.contains(&format!("value=\"{DOMAIN}\"")) && html.contains("id=\"domain-error\""), "{html}");
}
