//! `tenant-app`: serves one broker's portal, configured by environment (this is
//! how each tenant runs on Kubernetes).

use std::net::SocketAddr;

use anyhow::Context;
use secrecy::ExposeSecret;
use tenant_app::config::TenantAppConfig;
use tenant_app::crypto::Key;
use tenant_app::domains::{DomainDirectory, HttpDomainDirectory};
use tenant_app::mail::{MailTransport, Mailer};
use tenant_app::plans::Plan;
use tenant_app::portal::{Entitlements, PortalSettings};
use tenant_app::security::internal_api::internal_token;
use tenant_app::storage::LocalStore;
use tenant_app::{instance, telemetry, web};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = TenantAppConfig::load().context("reading configuration")?;
    telemetry::init(config.log_format);
    let transport = match &config.smtp_url {
        Some(url) => MailTransport::Smtp(url.clone()),
        None => MailTransport::Files(config.mail_dir.clone()),
    };
    let mailer = Mailer::new(&transport, &config.mail_from)?;
    let db = instance::open_database(config.database_url.expose_secret()).await?;
    let session_key = Key::from_base64(config.session_key.expose_secret()).context("ORDO_SESSION_KEY")?;
    if let Some(token) = &config.internal_token {
        anyhow::ensure!(
            token.expose_secret() == internal_token(&session_key),
            "ORDO_INTERNAL_TOKEN does not belong to ORDO_SESSION_KEY"
        );
    }
    let settings = PortalSettings {
        tenant_id: config.tenant_id,
        slug: config.slug,
        display_name: config.display_name,
        public_url: config.public_url,
        operator_name: config.operator_name,
        secret: session_key,
        max_file_bytes: config.max_upload_mib * 1024 * 1024,
        whitelabel_mail_from: config.whitelabel_mail_from.clone(),
        api_requests_per_minute: config.api_requests_per_minute,
    };
    let store = std::sync::Arc::new(LocalStore::new(config.files_dir.clone()));
    let plan = Plan::parse(&config.plan).context("ORDO_PLAN must be trial, pay_per_use, premium_starter or premium")?;
    let entitlements = Entitlements { plan, whitelabel: config.whitelabel, trial_ended: config.trial_ended };
    let branding = tenant_app::branding::load(&db).await.context("loading the branding")?;
    let domains = match &config.control_plane_url {
        Some(url) => {
            let directory = HttpDomainDirectory::new(url, &settings.tenant_id, &settings.secret)
                .context("ORDO_CONTROL_PLANE_URL")?;
            Some(std::sync::Arc::new(directory) as std::sync::Arc<dyn DomainDirectory>)
        }
        None => None,
    };
    let portal = instance::start(db.clone(), settings, entitlements, branding, mailer, store, domains);
    let app = web::with_request_layers(portal.router(), config.trust_proxy);
    let listener = tokio::net::TcpListener::bind(config.listen).await.context("binding the listen address")?;
    tracing::info!(address = %config.listen, "tenant app listening");
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(web::shutdown_signal())
        .await?;
    db.close().await;
    Ok(())
}
