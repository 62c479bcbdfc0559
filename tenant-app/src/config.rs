//! Configuration of the standalone `tenant-app` binary: one tenant per process.
//! Layered like the control plane's: defaults, then an optional TOML file named
//! by `ORDO_CONFIG`, then `ORDO_…` environment variables (docs/configuration.md).

use std::net::SocketAddr;
use std::path::PathBuf;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::telemetry::LogFormat;

#[derive(Debug, Deserialize)]
pub struct TenantAppConfig {
    pub listen: SocketAddr,
    pub tenant_id: String,
    pub slug: String,
    pub display_name: String,
    pub public_url: String,
    pub operator_name: String,
    pub whitelabel: bool,
    /// The trial ended without an order: the portal is locked (set by the provisioner).
    pub trial_ended: bool,
    /// `trial`, `pay_per_use`, `premium_starter` or `premium`: sets the portal's limits.
    pub plan: String,
    pub database_url: SecretString,
    /// 32 bytes, base64: signs this portal's CSRF tokens.
    pub session_key: SecretString,
    /// The token the control plane presents to `/internal/…`. It is derived from
    /// the session key; when the environment also carries it (the Kubernetes
    /// Secret does), the two must agree, so a mixed-up Secret fails at start.
    pub internal_token: Option<SecretString>,
    pub smtp_url: Option<SecretString>,
    pub mail_dir: PathBuf,
    /// Where this tenant's documents are stored.
    pub files_dir: PathBuf,
    /// The largest accepted upload, in MiB.
    pub max_upload_mib: usize,
    /// Requests one API key may make per minute (the tenant REST API).
    pub api_requests_per_minute: u32,
    pub mail_from: String,
    /// The sender address when whitelabelled; unset: `mail_from`.
    pub whitelabel_mail_from: Option<String>,
    pub log_format: LogFormat,
    /// Behind a reverse proxy: take the client's address from X-Forwarded-For.
    pub trust_proxy: bool,
    /// The control plane's in-cluster address (`http://…`), for the broker's own
    /// domains; unset, the portal offers no domain settings.
    pub control_plane_url: Option<String>,
}

#[derive(Serialize)]
struct Defaults {
    listen: &'static str,
    operator_name: &'static str,
    whitelabel: bool,
    trial_ended: bool,
    plan: &'static str,
    mail_dir: &'static str,
    files_dir: &'static str,
    max_upload_mib: usize,
    api_requests_per_minute: u32,
    mail_from: &'static str,
    log_format: &'static str,
    trust_proxy: bool,
}

impl TenantAppConfig {
    pub fn load() -> Result<TenantAppConfig, Box<figment::Error>> {
        let defaults = Defaults {
            listen: "0.0.0.0:8080",
            operator_name: "Ordo",
            whitelabel: false,
            trial_ended: false,
            plan: "trial",
            mail_dir: "./data/mail",
            files_dir: "./data/files",
            max_upload_mib: 20,
            api_requests_per_minute: 600,
            mail_from: "portal@localhost.localdomain",
            log_format: "json",
            trust_proxy: false,
        };
        let mut figment = Figment::from(Serialized::defaults(defaults));
        if let Ok(path) = std::env::var("ORDO_CONFIG") {
            figment = figment.merge(Toml::file_exact(path));
        }
        figment.merge(Env::prefixed("ORDO_").ignore(&["config"])).extract().map_err(Box::new)
    }
}
