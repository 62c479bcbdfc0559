//! Configuration, layered: built-in defaults (the embedded default), then an
//! optional TOML file (`--config` or `ORDO_CONFIG`), then `ORDO_…` environment
//! variables. Nested keys use a double underscore: `ORDO_PRICING__SETUP_FEE_CENTS`.
//! Every key is documented in docs/configuration.md.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use tenant_app::telemetry::LogFormat;

mod billing;
mod datev;
mod jobs;
mod kubernetes;
mod stripe;

pub use billing::BillingSettings;
pub use datev::{DatevSettings, RevenueAccounts};
pub use jobs::JobSettings;
pub use kubernetes::{EgressTarget, KubernetesSettings, PlanSizes, PodSize};
pub use stripe::{DEFAULT_API_BASE, StripeSettings};

#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    /// Address the one HTTP listener binds to.
    pub listen: SocketAddr,
    /// Where the embedded default keeps its SQLite files, mail and keys.
    pub data_dir: PathBuf,
    /// `localhost` serves `localhost`, `admin.localhost` and `<slug>.localhost`.
    pub base_domain: String,
    /// `http` or `https`: the scheme of links and whether cookies are `Secure`.
    pub public_scheme: String,
    /// The port in links, if not the scheme's default; defaults to the listen port.
    pub public_port: Option<u16>,
    /// `postgres://…` switches to PostgreSQL (one database per tenant); unset is SQLite.
    pub database_url: Option<SecretString>,
    /// 32 bytes, base64. Wraps every tenant key. Generated into the data directory if unset
    /// (SQLite only; PostgreSQL deployments must set it).
    pub master_key: Option<SecretString>,
    /// The master key being replaced, during a rotation (see `control-plane keys rotate`).
    pub master_key_previous: Option<SecretString>,
    /// `smtp://…` sends real mail; unset writes `.eml` files to `<data dir>/mail`.
    pub smtp_url: Option<SecretString>,
    pub mail_from: String,
    /// The sender address of whitelabelled portals' mail: a neutral address, so
    /// that nothing names the operator. Unset: `mail_from`.
    pub whitelabel_mail_from: Option<String>,
    /// The product's name as shown to brokers and customers.
    pub operator_name: String,
    pub log_format: LogFormat,
    /// Log e-mail links (sign-up, invitations) so a developer can follow them.
    pub log_mail_links: bool,
    pub trial_days: i64,
    /// Days a lapsed trial's data is kept before the instance is deleted.
    pub trial_grace_days: i64,
    /// How many paid 30-day extensions a broker may buy.
    pub trial_extensions_allowed: i64,
    /// Trial sign-ups allowed per client address and hour.
    pub signup_limit_per_hour: i64,
    /// Behind a reverse proxy (an ingress): take the client's address from the
    /// last entry of X-Forwarded-For. Off by default: clients can forge the header.
    pub trust_proxy: bool,
    /// The largest document or photo a portal accepts, in MiB.
    pub max_upload_mib: usize,
    /// The name servers that check brokers' own domains: `ip` or `ip:port`, separated
    /// by commas. Empty: those of the system (`/etc/resolv.conf`).
    pub dns_servers: String,
    /// How often every claimed domain is checked again, in seconds.
    pub domain_check_interval_secs: u64,
    /// Failed checks in a row after which a verified domain is no longer served.
    pub domain_check_tolerance: i64,
    pub pricing: Pricing,
    /// Where tenant instances run: `local` (in this process) or `kubernetes`.
    pub provisioner: ProvisionerKind,
    /// How often every tenant's instance is brought back to its record (drift
    /// repair) and failed provisioning retried.
    pub reconcile_interval_secs: u64,
    pub kubernetes: KubernetesSettings,
    pub jobs: JobSettings,
    pub billing: BillingSettings,
    /// The DATEV export for the tax adviser.
    #[serde(default)]
    pub datev: DatevSettings,
    /// Card and SEPA Direct Debit payments through Stripe; off unless `stripe.secret_key` is set.
    #[serde(default)]
    pub stripe: StripeSettings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProvisionerKind {
    Local,
    Kubernetes,
}

/// Plan prices shown on the pricing page, in euro cents, net of VAT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pricing {
    pub setup_fee_cents: i64,
    pub pay_per_use_base_cents: i64,
    pub pay_per_use_contact_cents: i64,
    pub premium_starter_cents: i64,
    pub premium_cents: i64,
    pub whitelabel_setup_cents: i64,
    pub whitelabel_monthly_cents: i64,
    pub trial_extension_cents: i64,
}

impl Default for Pricing {
    fn default() -> Self {
        Pricing {
            setup_fee_cents: 19_900,
            pay_per_use_base_cents: 1_900,
            pay_per_use_contact_cents: 50,
            premium_starter_cents: 4_900,
            premium_cents: 19_900,
            whitelabel_setup_cents: 29_900,
            whitelabel_monthly_cents: 2_900,
            trial_extension_cents: 7_490,
        }
    }
}

#[derive(Serialize)]
struct Defaults {
    listen: &'static str,
    data_dir: &'static str,
    base_domain: &'static str,
    public_scheme: &'static str,
    mail_from: &'static str,
    operator_name: &'static str,
    log_format: &'static str,
    log_mail_links: bool,
    trial_days: i64,
    trial_grace_days: i64,
    trial_extensions_allowed: i64,
    signup_limit_per_hour: i64,
    trust_proxy: bool,
    max_upload_mib: usize,
    dns_servers: &'static str,
    domain_check_interval_secs: u64,
    domain_check_tolerance: i64,
    pricing: Pricing,
    provisioner: ProvisionerKind,
    reconcile_interval_secs: u64,
    kubernetes: KubernetesSettings,
    jobs: JobSettings,
    billing: BillingSettings,
}

impl Config {
    /// The built-in defaults alone (the embedded default), as a figment to merge onto.
    pub fn defaults() -> Figment {
        let defaults = Defaults {
            listen: "127.0.0.1:8080",
            data_dir: "./data",
            base_domain: "localhost",
            public_scheme: "http",
            mail_from: "noreply@ordo.localhost.localdomain",
            operator_name: "Ordo",
            log_format: "pretty",
            log_mail_links: true,
            trial_days: 30,
            trial_grace_days: 30,
            trial_extensions_allowed: 2,
            signup_limit_per_hour: 10,
            trust_proxy: false,
            max_upload_mib: 20,
            dns_servers: "",
            domain_check_interval_secs: 600,
            domain_check_tolerance: 3,
            pricing: Pricing::default(),
            provisioner: ProvisionerKind::Local,
            reconcile_interval_secs: 60,
            kubernetes: KubernetesSettings::default(),
            jobs: JobSettings::default(),
            billing: BillingSettings::default(),
        };
        Figment::from(Serialized::defaults(defaults))
    }

    /// Loads the layers; `file` wins over `ORDO_CONFIG`.
    pub fn load(file: Option<&Path>) -> Result<Config, Box<figment::Error>> {
        let mut figment = Config::defaults();
        let file = file.map(Path::to_path_buf).or_else(|| std::env::var_os("ORDO_CONFIG").map(PathBuf::from));
        if let Some(path) = file {
            figment = figment.merge(Toml::file_exact(path));
        }
        Config::extract(figment.merge(Env::prefixed("ORDO_").ignore(&["config"]).split("__")))
    }

    /// Extracts and validates a configuration from any figment.
    pub fn extract(figment: Figment) -> Result<Config, Box<figment::Error>> {
        let config: Config = figment.extract().map_err(Box::new)?;
        config.validate().map_err(|message| Box::new(figment::Error::from(message)))?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), String> {
        if !matches!(self.public_scheme.as_str(), "http" | "https") {
            return Err("public_scheme must be http or https".into());
        }
        if self.base_domain.is_empty() || self.base_domain.contains('/') || self.base_domain.contains(':') {
            return Err("base_domain must be a bare host name such as ordo.example".into());
        }
        for address in std::iter::once(&self.mail_from).chain(self.whitelabel_mail_from.iter()) {
            if address.parse::<lettre::Address>().is_err() {
                return Err(format!("{address} is not an e-mail address"));
            }
        }
        if !(1..=200).contains(&self.max_upload_mib) {
            return Err("max_upload_mib must be between 1 and 200".into());
        }
        if self.trial_days < 1 {
            return Err("trial_days must be at least 1".into());
        }
        self.dns_servers()?;
        if self.domain_check_interval_secs < 10 {
            return Err("domain_check_interval_secs must be at least 10".into());
        }
        if self.domain_check_tolerance < 1 {
            return Err("domain_check_tolerance must be at least 1".into());
        }
        if self.trial_grace_days < 0 || self.trial_extensions_allowed < 0 {
            return Err("trial_grace_days and trial_extensions_allowed cannot be negative".into());
        }
        self.jobs.validate()?;
        self.billing.validate()?;
        self.datev.validate()?;
        self.stripe.validate()?;
        if self.reconcile_interval_secs == 0 {
            return Err("reconcile_interval_secs must be at least 1".into());
        }
        if self.provisioner == ProvisionerKind::Kubernetes {
            // Tenant pods need a database server they can reach: SQLite files on
            // the control plane's disk are not.
            if self.database_url.is_none() {
                return Err("provisioner = kubernetes needs database_url (PostgreSQL)".into());
            }
            self.kubernetes.validate()?;
        }
        Ok(())
    }

    /// The configured name servers (port 53 unless given); empty means the system's.
    pub fn dns_servers(&self) -> Result<Vec<SocketAddr>, String> {
        self.dns_servers
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                entry
                    .parse::<SocketAddr>()
                    .or_else(|_| entry.parse::<std::net::IpAddr>().map(|ip| SocketAddr::new(ip, 53)))
                    .map_err(|_| format!("dns_servers: {entry} is not an IP address (with an optional port)"))
            })
            .collect()
    }

    pub fn mail_dir(&self) -> PathBuf {
        self.data_dir.join("mail")
    }
}

#[cfg(test)]
// figment's Jail API returns its large error type by design.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_embedded_default_and_secrets_do_not_print() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("ORDO_DATABASE_URL", "postgres://ordo:s3cret@db/ordo");
            jail.set_env("ORDO_PRICING__SETUP_FEE_CENTS", "1000");
            let config = Config::load(None).expect("loads");
            assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
            assert_eq!(config.data_dir, PathBuf::from("./data"));
            assert_eq!(config.base_domain, "localhost");
            assert_eq!(config.pricing.setup_fee_cents, 1000);
            assert_eq!(config.pricing.trial_extension_cents, 7490);
            assert!(config.dns_servers().unwrap().is_empty(), "the system's resolvers");
            jail.set_env("ORDO_DNS_SERVERS", "10.0.0.10, [::1]:5353");
            let servers = Config::load(None).expect("loads").dns_servers().unwrap();
            assert_eq!(servers, ["10.0.0.10:53".parse().unwrap(), "[::1]:5353".parse().unwrap()]);
            assert!(!format!("{config:?}").contains("s3cret"));
            Ok(())
        });
    }

    #[test]
    fn stripe_is_off_until_its_secret_key_is_set() {
        figment::Jail::expect_with(|jail| {
            let config = Config::load(None).expect("loads");
            assert!(!config.stripe.enabled());
            assert_eq!(config.stripe.api_base, "https://api.stripe.com/");
            assert_eq!(config.stripe.payment_method_types, ["sepa_debit", "card"]);
            jail.set_env("ORDO_STRIPE__SECRET_KEY", "sk_test_s3cret");
            let error = Config::load(None).unwrap_err().to_string();
            assert!(error.contains("webhook_secret"), "{error}");
            jail.set_env("ORDO_STRIPE__WEBHOOK_SECRET", "whsec_s3cret");
            jail.set_env("ORDO_STRIPE__PUBLISHABLE_KEY", "pk_test_123");
            jail.set_env("ORDO_STRIPE__PAYMENT_METHOD_TYPES", "[sepa_debit]");
            let config = Config::load(None).expect("complete");
            assert!(config.stripe.enabled());
            assert_eq!(config.stripe.payment_method_types, ["sepa_debit"]);
            let printed = format!("{config:?}");
            assert!(!printed.contains("sk_test_s3cret") && !printed.contains("whsec_s3cret"));
            Ok(())
        });
    }

    #[test]
    fn a_file_layer_sits_between_defaults_and_environment() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("ordo.toml", "base_domain = \"ordo.example\"\nlisten = \"0.0.0.0:9000\"\n")?;
            jail.set_env("ORDO_LISTEN", "127.0.0.1:9100");
            let config = Config::load(Some(Path::new("ordo.toml"))).expect("loads");
            assert_eq!(config.base_domain, "ordo.example");
            assert_eq!(config.listen.to_string(), "127.0.0.1:9100");
            Ok(())
        });
    }

    #[test]
    fn bad_values_are_refused() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("ORDO_PUBLIC_SCHEME", "ftp");
            assert!(Config::load(None).is_err());
            jail.set_env("ORDO_PUBLIC_SCHEME", "https");
            jail.set_env("ORDO_DNS_SERVERS", "10.0.0.10, nameserver.example");
            assert!(Config::load(None).is_err());
            Ok(())
        });
    }

    #[test]
    fn a_file_can_clear_optional_kubernetes_keys_that_have_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "ordo.toml",
                r#"
provisioner = "kubernetes"
database_url = "postgres://ordo@db/ordo"

[kubernetes]
image = "registry.example.com/ordo/tenant-app:1"
ingress_class = ""
storage_class = ""

[kubernetes.database]
cidr = ""
namespace = "postgres"
port = 5432
"#,
            )?;
            let config = Config::load(Some(Path::new("ordo.toml"))).expect("loads");
            assert_eq!(config.kubernetes.database.cidr, None);
            assert_eq!(config.kubernetes.database.namespace.as_deref(), Some("postgres"));
            assert_eq!(config.kubernetes.ingress_class, None);
            assert_eq!(config.kubernetes.storage_class, None);
            // Untouched defaults stay.
            assert_eq!(config.kubernetes.smtp.cidr.as_deref(), Some("0.0.0.0/0"));
            Ok(())
        });
    }

    #[test]
    fn kubernetes_needs_postgres_and_an_image() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("ORDO_PROVISIONER", "kubernetes");
            let error = Config::load(None).unwrap_err().to_string();
            assert!(error.contains("database_url"), "{error}");
            jail.set_env("ORDO_DATABASE_URL", "postgres://ordo@db/ordo");
            let error = Config::load(None).unwrap_err().to_string();
            assert!(error.contains("kubernetes.image"), "{error}");
            jail.set_env("ORDO_KUBERNETES__IMAGE", "registry.example.com/ordo/tenant-app:1");
            jail.set_env("ORDO_KUBERNETES__CLUSTER_ISSUER", "letsencrypt");
            let config = Config::load(None).expect("complete");
            assert_eq!(config.provisioner, ProvisionerKind::Kubernetes);
            assert_eq!(config.kubernetes.cluster_issuer.as_deref(), Some("letsencrypt"));
            assert_eq!(config.kubernetes.plans.premium.storage, "30Gi");
            Ok(())
        });
    }
}
