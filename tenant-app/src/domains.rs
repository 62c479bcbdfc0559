//! Custom whitelabel domains: the broker's own host name (e.g. `portal.makler-meier.de`)
//! for the portal.
//!
//! The control plane owns the records and checks DNS; a portal reaches it through a
//! [`DomainDirectory`] bound to its own tenant: in process when the control plane
//! embeds the portal, over HTTP ([`HttpDomainDirectory`]) when the portal runs
//! standalone.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::crypto::Key;
use crate::security::internal_api::internal_token;

/// The label of the TXT record that proves control of a domain.
pub const CHALLENGE_LABEL: &str = "_ordo-challenge";

/// A host name as a broker may claim it: lowercase ASCII (an internationalised
/// name is stored in its `xn--` form), at least two labels, no trailing dot.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DomainName(String);

impl DomainName {
    /// Parses what a broker typed; the error is a German message for the form field.
    pub fn parse(input: &str) -> Result<DomainName, String> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err("Bitte geben Sie eine Domain ein.".into());
        }
        if trimmed.contains("://") || trimmed.contains('/') || trimmed.contains(':') {
            return Err(
                "Bitte nur den Namen eingeben, ohne https:// und ohne Pfad, z. B. portal.makler-meier.de.".into()
            );
        }
        let name = trimmed.strip_suffix('.').unwrap_or(trimmed);
        let name = if name.is_ascii() {
            name.to_ascii_lowercase()
        } else {
            // Umlauts and the like: the DNS knows the name only in its xn-- form.
            match url::Host::parse(name) {
                Ok(url::Host::Domain(ascii)) => ascii,
                _ => return Err(format!("„{name}“ ist kein gültiger Domainname.")),
            }
        };
        if name.len() > 253 {
            return Err("Der Domainname ist zu lang (höchstens 253 Zeichen).".into());
        }
        let labels: Vec<&str> = name.split('.').collect();
        if labels.len() < 2 {
            return Err("Bitte geben Sie eine vollständige Domain an, z. B. portal.makler-meier.de.".into());
        }
        for label in &labels {
            let valid = (1..=63).contains(&label.len())
                && label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-');
            if !valid {
                return Err(format!(
                    "„{label}“ ist kein gültiger Teil eines Domainnamens: erlaubt sind Buchstaben, Ziffern und \
                     Bindestriche (nicht am Anfang oder Ende), höchstens 63 Zeichen."
                ));
            }
        }
        if labels.last().is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit())) {
            return Err("Bitte geben Sie einen Domainnamen an, keine IP-Adresse.".into());
        }
        Ok(DomainName(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this name is `zone` itself or lies below it.
    pub fn is_within(&self, zone: &str) -> bool {
        let zone = zone.trim_end_matches('.').to_ascii_lowercase();
        self.0 == zone || self.0.ends_with(&format!(".{zone}"))
    }

    /// `_ordo-challenge.<domain>`: where the TXT record with the token goes.
    pub fn challenge_name(&self) -> String {
        format!("{CHALLENGE_LABEL}.{}", self.0)
    }
}

impl TryFrom<String> for DomainName {
    type Error = String;

    fn try_from(value: String) -> Result<DomainName, String> {
        DomainName::parse(&value)
    }
}

impl From<DomainName> for String {
    fn from(domain: DomainName) -> String {
        domain.0
    }
}

impl std::fmt::Display for DomainName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a claimed domain stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DomainStatus {
    /// Claimed, not checked yet.
    Pending,
    /// Both records were found: the portal answers on the domain.
    Verified,
    /// The last check failed and the domain is not routed; `problem` says why.
    Failed,
}

impl DomainStatus {
    pub fn label(self) -> &'static str {
        match self {
            DomainStatus::Pending => "ausstehend",
            DomainStatus::Verified => "bestätigt",
            DomainStatus::Failed => "fehlgeschlagen",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DomainStatus::Pending => "pending",
            DomainStatus::Verified => "verified",
            DomainStatus::Failed => "failed",
        }
    }
}

/// A domain claimed by a tenant, with the DNS records that prove and route it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomDomain {
    pub domain: DomainName,
    pub status: DomainStatus,
    /// The CNAME record's target: the portal's own host, `<slug>.<base domain>`.
    pub cname_target: String,
    /// The TXT record's name, `_ordo-challenge.<domain>`.
    pub txt_name: String,
    /// The TXT record's value: a random token of this claim.
    pub txt_value: String,
    /// Why the last check failed. A verified domain keeps being served for a few
    /// failed checks; this then says what is wrong.
    pub problem: Option<String>,
    /// Unix seconds.
    pub last_checked_at: Option<i64>,
    pub verified_at: Option<i64>,
    pub created_at: i64,
}

/// Why the directory could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// The domain was refused; the German message belongs to the form field.
    #[error("{0}")]
    Refused(String),
    /// This tenant has not claimed that domain.
    #[error("domain not claimed by this tenant")]
    NotFound,
    /// The control plane could not be asked or failed.
    #[error("domain directory unavailable: {0}")]
    Unavailable(String),
}

/// The control plane's domain records of one tenant, as its portal sees them.
#[async_trait]
pub trait DomainDirectory: Send + Sync + 'static {
    /// The tenant's domains, oldest claim first.
    async fn list(&self) -> Result<Vec<CustomDomain>, DirectoryError>;
    /// Claims a domain for the tenant (again claiming one it holds returns it unchanged).
    async fn claim(&self, domain: &DomainName) -> Result<CustomDomain, DirectoryError>;
    /// Checks the DNS records now and returns the outcome.
    async fn verify(&self, domain: &DomainName) -> Result<CustomDomain, DirectoryError>;
    /// Gives the domain up; the portal stops answering on it.
    async fn remove(&self, domain: &DomainName) -> Result<(), DirectoryError>;
}

/// The standalone portal's directory: the control plane's internal API, under
/// `/internal/v1/tenants/{id}/domains`, authenticated with the tenant's internal token.
pub struct HttpDomainDirectory {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl HttpDomainDirectory {
    /// `control_plane_url` is the control plane's in-cluster address, e.g.
    /// `http://ordo-control-plane:8080`.
    pub fn new(control_plane_url: &str, tenant_id: &str, secret: &Key) -> anyhow::Result<HttpDomainDirectory> {
        let url = url::Url::parse(control_plane_url)?;
        anyhow::ensure!(url.scheme() == "http", "the control plane URL must be http:// (its in-cluster address)");
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            // A check asks DNS twice, each with its own timeout.
            .timeout(Duration::from_secs(60))
            .build()?;
        Ok(HttpDomainDirectory {
            client,
            base: format!("{}/internal/v1/tenants/{tenant_id}/domains", control_plane_url.trim_end_matches('/')),
            token: internal_token(secret),
        })
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, DirectoryError> {
        let response = request
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|err| DirectoryError::Unavailable(format!("request failed: {err}")))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        if status == reqwest::StatusCode::NOT_FOUND {
            return Err(DirectoryError::NotFound);
        }
        if status == reqwest::StatusCode::CONFLICT || status == reqwest::StatusCode::UNPROCESSABLE_ENTITY {
            #[derive(Deserialize)]
            struct Refusal {
                detail: Option<String>,
            }
            let refusal: Refusal = response.json().await.map_err(|err| DirectoryError::Unavailable(err.to_string()))?;
            return Err(DirectoryError::Refused(refusal.detail.unwrap_or_default()));
        }
        Err(DirectoryError::Unavailable(format!("the control plane answered {status}")))
    }

    async fn json<T: serde::de::DeserializeOwned>(response: reqwest::Response) -> Result<T, DirectoryError> {
        response.json().await.map_err(|err| DirectoryError::Unavailable(format!("unreadable answer: {err}")))
    }
}

#[async_trait]
impl DomainDirectory for HttpDomainDirectory {
    async fn list(&self) -> Result<Vec<CustomDomain>, DirectoryError> {
        Self::json(self.send(self.client.get(&self.base)).await?).await
    }

    async fn claim(&self, domain: &DomainName) -> Result<CustomDomain, DirectoryError> {
        let body = serde_json::json!({ "domain": domain });
        Self::json(self.send(self.client.post(&self.base).json(&body)).await?).await
    }

    async fn verify(&self, domain: &DomainName) -> Result<CustomDomain, DirectoryError> {
        Self::json(self.send(self.client.post(format!("{}/{domain}/check", self.base))).await?).await
    }

    async fn remove(&self, domain: &DomainName) -> Result<(), DirectoryError> {
        self.send(self.client.delete(format!("{}/{domain}", self.base))).await.map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_host_names_and_normalises_them() {
        assert_eq!(DomainName::parse(" Portal.Makler-Meier.DE. ").unwrap().as_str(), "portal.makler-meier.de");
        assert_eq!(DomainName::parse("makler-meier.de").unwrap().as_str(), "makler-meier.de");
        assert_eq!(
            DomainName::parse("kunden.müller-versicherungen.de").unwrap().as_str(),
            "kunden.xn--mller-versicherungen-pec.de"
        );
        assert_eq!(DomainName::parse("a1.b2.c3.example").unwrap().as_str(), "a1.b2.c3.example");
    }

    #[test]
    fn refuses_what_is_not_a_host_name() {
        let message = |input: &str| DomainName::parse(input).unwrap_err();
        assert!(message("").contains("Bitte geben Sie"));
        assert!(message("localhost").contains("vollständige Domain"));
        assert!(message("https://portal.example.de").contains("ohne https://"));
        assert!(message("portal.example.de/login").contains("ohne Pfad"));
        assert!(message("portal.example.de:8443").contains("ohne"));
        assert!(message("-portal.example.de").contains("„-portal“"));
        assert!(message("portal-.example.de").contains("„portal-“"));
        assert!(message("por_tal.example.de").contains("„por_tal“"));
        assert!(message("portal..example.de").contains("„“"));
        assert!(message("_ordo-challenge.example.de").contains("„_ordo-challenge“"));
        assert!(message(&format!("{}.de", "a".repeat(64))).contains("63 Zeichen"));
        assert!(message(&format!("{}.de", ["abcdefghij"; 25].join("."))).contains("zu lang"));
        assert!(message("192.168.1.1").contains("IP-Adresse"));
    }

    #[test]
    fn knows_what_lies_within_a_zone() {
        let domain = DomainName::parse("meier.ordo.example").unwrap();
        assert!(domain.is_within("ordo.example"));
        assert!(domain.is_within("ORDO.example."));
        assert!(!domain.is_within("do.example"));
        assert!(DomainName::parse("ordo.example").unwrap().is_within("ordo.example"));
        assert_eq!(domain.challenge_name(), "_ordo-challenge.meier.ordo.example");
    }

    #[test]
    fn serialises_as_a_string_and_parses_on_the_way_in() {
        let domain = DomainName::parse("portal.makler-meier.de").unwrap();
        assert_eq!(serde_json::to_string(&domain).unwrap(), "\"portal.makler-meier.de\"");
        assert!(serde_json::from_str::<DomainName>("\"not a domain\"").is_err());
    }
}
