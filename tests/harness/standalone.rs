//! A tenant's portal running on its own, as each does on Kubernetes: it reaches
//! its control plane over HTTP (the internal API), with the token derived from
//! the tenant's secret.

use std::sync::Arc;

use tenant_app::crypto::Key;
use tenant_app::domains::HttpDomainDirectory;
use tenant_app::instance;
use tenant_app::mail::{MailTransport, Mailer};
use tenant_app::plans::Plan;
use tenant_app::portal::{Entitlements, PortalSettings};
use tenant_app::values::EmailAddress;
use tokio::task::JoinHandle;

use crate::{PortalSession, TestApp};

impl TestApp {
    /// The domain directory a standalone portal of `tenant_id` uses, holding
    /// `secret` (the tenant's own, or another's to play an intruder). It reaches
    /// the control plane by an address that is none of its sites.
    pub fn domain_directory(&self, tenant_id: &str, secret: &Key) -> HttpDomainDirectory {
        let control_plane = format!("http://127.0.0.1:{}", self.addr.port());
        HttpDomainDirectory::new(&control_plane, tenant_id, secret).expect("a domain directory")
    }
}

/// A standalone portal on its own SQLite database and port, with the broker
/// (makler@example.de) logged in; it stops when dropped.
pub struct StandalonePortal {
    pub broker: PortalSession,
    server: JoinHandle<std::io::Result<()>>,
    _dir: tempfile::TempDir,
}

const TENANT_ID: &str = "0190f5a3c2b47c3e8d1f2a3b4c5d6e7f";

impl StandalonePortal {
    /// Starts a trial portal whose control plane is at `control_plane_url`.
    pub async fn start(control_plane_url: &str) -> StandalonePortal {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("portal.db").display());
        let db = instance::open_database(&url).await.expect("the portal database");
        let admin = EmailAddress::parse("makler@example.de").expect("address");
        let token = instance::seed(&db, &admin, "Erika Muster").await.expect("seeding").expect("a set-password token");
        let secret = Key::generate();
        let directory = HttpDomainDirectory::new(control_plane_url, TENANT_ID, &secret).expect("a domain directory");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let origin = format!("http://127.0.0.1:{}", listener.local_addr().expect("local addr").port());
        let settings = PortalSettings {
            tenant_id: TENANT_ID.into(),
            slug: "muster".into(),
            display_name: "Muster Makler".into(),
            public_url: origin.clone(),
            operator_name: "Ordo".into(),
            secret,
            max_file_bytes: 1024 * 1024,
            whitelabel_mail_from: None,
            passwords: Default::default(),
            clock: tenant_app::clock::Clock::system(),
            webhooks_allow_loopback: false,
        };
        let mailer = Mailer::new(&MailTransport::Files(dir.path().join("mail")), "portal@example.de").expect("mailer");
        let portal = instance::start(
            db,
            settings,
            Entitlements { plan: Plan::Trial, whitelabel: false, trial_ended: false },
            tenant_app::branding::Branding::default(),
            mailer,
            Arc::new(tenant_app::storage::LocalStore::new(dir.path().join("files"))),
            Some(Arc::new(directory)),
        );
        let router = tenant_app::web::with_request_layers(portal.router(), false);
        let server =
            tokio::spawn(async move { tenant_app::server::serve(listener, router, std::future::pending()).await });

        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        crate::set_password_via_link(
            &client,
            &format!("{origin}/passwort-setzen?token={token}"),
            "makler passwort 2026",
        )
        .await;
        let broker = PortalSession { client, origin, slug: "muster".into(), tenant_id: TENANT_ID.into() };
        StandalonePortal { broker, server, _dir: dir }
    }
}

impl Drop for StandalonePortal {
    fn drop(&mut self) {
        self.server.abort();
    }
}
