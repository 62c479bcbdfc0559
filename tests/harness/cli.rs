//! The `control-plane` subcommands, run as an operator runs them beside a
//! running server: against its configuration, printing what the command prints.

use control_plane::config::Config;

use crate::TestApp;

/// The CLI of one test app; links it prints name the app's port.
pub struct Cli {
    config: Config,
}

impl TestApp {
    pub fn cli(&self) -> Cli {
        Cli { config: self.linkable_config() }
    }
}

impl Cli {
    /// `operator create --email …`: ensures the account; returns the one-time login link.
    pub async fn create_operator(&self, email: &str) -> String {
        control_plane::cli::create_operator(&self.config, email).await.expect("operator create")
    }

    /// `operator token --email … --name …`: a new API token for an existing operator.
    pub async fn create_api_token(&self, email: &str, name: &str) -> String {
        control_plane::cli::create_api_token(&self.config, email, name).await.expect("operator token")
    }

    /// `keys rotate`: how many tenant keys were re-wrapped with the new master key.
    pub async fn rotate_keys(&self) -> usize {
        control_plane::cli::rotate_keys(&self.config).await.expect("keys rotate")
    }
}
