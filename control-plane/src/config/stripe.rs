//! `stripe.*`: card and SEPA Direct Debit payments through Stripe; off
//! unless `stripe.secret_key` is set (docs/configuration.md).

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

pub const DEFAULT_API_BASE: &str = "https://api.stripe.com/";

/// The payment method types a broker may set up.
const KNOWN_TYPES: [&str; 2] = ["sepa_debit", "card"];

/// `stripe.*` (docs/configuration.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct StripeSettings {
    /// `sk_live_…` or `sk_test_…`; unset: no Stripe, bank transfer only.
    pub secret_key: Option<SecretString>,
    /// `pk_…`: handed to Stripe.js on the broker's payment method page.
    pub publishable_key: String,
    /// `whsec_…`: signs the webhook events Stripe sends.
    pub webhook_secret: Option<SecretString>,
    /// The API's base URL, ending in a slash.
    pub api_base: String,
    /// Offered when a broker sets up a payment method. Empty: the payment
    /// methods enabled in the Stripe dashboard.
    pub payment_method_types: Vec<String>,
}

impl Default for StripeSettings {
    fn default() -> Self {
        StripeSettings {
            secret_key: None,
            publishable_key: String::new(),
            webhook_secret: None,
            api_base: DEFAULT_API_BASE.into(),
            payment_method_types: vec!["sepa_debit".into(), "card".into()],
        }
    }
}

impl StripeSettings {
    pub fn enabled(&self) -> bool {
        self.secret_key.as_ref().is_some_and(|key| !key.expose_secret().is_empty())
    }

    pub fn validate(&self) -> Result<(), String> {
        if !self.enabled() {
            return Ok(());
        }
        if self.webhook_secret.as_ref().is_none_or(|secret| secret.expose_secret().is_empty()) {
            return Err("stripe.webhook_secret is required with stripe.secret_key".into());
        }
        if !self.publishable_key.starts_with("pk_") {
            return Err("stripe.publishable_key (pk_…) is required with stripe.secret_key".into());
        }
        let base = url::Url::parse(&self.api_base).map_err(|_| "stripe.api_base must be a URL".to_owned())?;
        if !matches!(base.scheme(), "http" | "https") || !self.api_base.ends_with('/') {
            return Err("stripe.api_base must be an http(s) URL ending in a slash".into());
        }
        if let Some(unknown) = self.payment_method_types.iter().find(|t| !KNOWN_TYPES.contains(&t.as_str())) {
            return Err(format!("stripe.payment_method_types: {unknown} is not sepa_debit or card"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_off_by_default_and_checked_when_on() {
        let mut settings = StripeSettings::default();
        assert!(!settings.enabled());
        assert_eq!(settings.validate(), Ok(()));
        settings.secret_key = Some("sk_test_123".into());
        assert!(settings.validate().unwrap_err().contains("webhook_secret"));
        settings.webhook_secret = Some("whsec_abc".into());
        assert!(settings.validate().unwrap_err().contains("publishable_key"));
        settings.publishable_key = "pk_test_123".into();
        assert_eq!(settings.validate(), Ok(()));
        settings.api_base = "http://127.0.0.1:8420".into();
        assert!(settings.validate().unwrap_err().contains("slash"));
        settings.api_base = "http://127.0.0.1:8420/".into();
        settings.payment_method_types = vec!["ideal".into()];
        assert!(settings.validate().unwrap_err().contains("ideal"));
        assert!(!format!("{settings:?}").contains("sk_test_123"));
        assert!(!format!("{settings:?}").contains("whsec_abc"));
    }
}
