//! The `control-plane` command line: `serve` (the default), `migrate`,
//! `operator create|token`, and `tenants list`.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tenant_app::values::EmailAddress;

use crate::config::Config;
use crate::hosts::Hosts;
use crate::operators;
use crate::startup;
use crate::tenants;

#[derive(Debug, Parser)]
#[command(
    name = "control-plane",
    version,
    about = "Ordo control plane: sign-up, tenants, provisioning and the operator console"
)]
pub struct Cli {
    /// A TOML configuration file (overrides defaults; ORDO_* variables override it).
    #[arg(long, global = true, env = "ORDO_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the public site, the operator console and the tenant portals (default).
    Serve,
    /// Apply the control-plane migrations and exit.
    Migrate,
    /// Operator accounts.
    #[command(subcommand)]
    Operator(OperatorCommand),
    /// Tenants.
    #[command(subcommand)]
    Tenants(TenantsCommand),
    /// The master key.
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Re-wrap every tenant key under ORDO_MASTER_KEY that is still wrapped with
    /// ORDO_MASTER_KEY_PREVIOUS (docs/deploy-kubernetes.md, "Rotating the master key").
    Rotate,
}

#[derive(Debug, Subcommand)]
pub enum OperatorCommand {
    /// Create an operator account (or reuse it) and print a one-time login link.
    Create {
        #[arg(long)]
        email: String,
    },
    /// Print a new API token for scripts.
    Token {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "cli")]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TenantsCommand {
    /// List tenants with status, plan and trial end.
    List,
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::load(cli.config.as_deref()).context("reading configuration")?;
    tenant_app::telemetry::init(config.log_format);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => startup::serve(config).await,
        Command::Migrate => {
            let db = startup::open_database(&config).await?;
            db.close().await;
            println!("control-plane database is up to date");
            Ok(())
        }
        Command::Operator(OperatorCommand::Create { email }) => {
            let link = create_operator(&config, &email).await?;
            println!("Operator {} is ready. One-time login link (valid 24 hours):", email.trim().to_lowercase());
            println!("{link}");
            Ok(())
        }
        Command::Operator(OperatorCommand::Token { email, name }) => {
            println!("{}", create_api_token(&config, &email, &name).await?);
            Ok(())
        }
        Command::Keys(KeysCommand::Rotate) => {
            let rewrapped = rotate_keys(&config).await?;
            println!("re-wrapped {rewrapped} tenant key(s); ORDO_MASTER_KEY_PREVIOUS can now be removed");
            Ok(())
        }
        Command::Tenants(TenantsCommand::List) => {
            let db = startup::open_database(&config).await?;
            println!(
                "ID                                 SLUG                         STATUS        PLAN       TRIAL ENDS"
            );
            for tenant in tenants::list(&db).await? {
                let trial = tenant.trial_ends_at.map(tenant_app::calendar::last_day_before).unwrap_or_default();
                println!(
                    "{:<34} {:<28} {:<13} {:<10} {}",
                    tenant.id,
                    tenant.slug,
                    tenant.status.as_str(),
                    tenant.plan,
                    trial
                );
            }
            db.close().await;
            Ok(())
        }
    }
}

/// `operator create`: ensures the account and returns a one-time login link.
pub async fn create_operator(config: &Config, email: &str) -> anyhow::Result<String> {
    let email = EmailAddress::parse(email).map_err(|m| anyhow::anyhow!("--email: {m}"))?;
    let db = startup::open_database(config).await?;
    let operator = operators::ensure(&db, &email).await?;
    let token = operators::issue_login_link(&db, &operator.id).await?;
    db.close().await;
    let hosts =
        Hosts::new(&config.public_scheme, &config.base_domain, config.public_port.unwrap_or(config.listen.port()));
    Ok(format!("{}/anmelden/link?token={token}", hosts.admin_url()))
}

/// `operator token`: a new API token for an existing operator.
pub async fn create_api_token(config: &Config, email: &str, name: &str) -> anyhow::Result<String> {
    let db = startup::open_database(config).await?;
    let operator = operators::find_by_email(&db, email)
        .await?
        .with_context(|| format!("no operator {email}; create one with `operator create`"))?;
    let token = operators::create_api_token(&db, &operator.id, name).await?;
    db.close().await;
    Ok(token)
}

/// `keys rotate`: needs both the new (`master_key`) and the old (`master_key_previous`) key.
pub async fn rotate_keys(config: &Config) -> anyhow::Result<usize> {
    anyhow::ensure!(config.master_key_previous.is_some(), "set ORDO_MASTER_KEY_PREVIOUS to the key being replaced");
    let db = startup::open_database(config).await?;
    let keys = startup::master_keys(config, db.backend())?;
    let rewrapped = tenants::rewrap_keys(&db, &keys).await;
    db.close().await;
    rewrapped
}
