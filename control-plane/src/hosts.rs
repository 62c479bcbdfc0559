//! Host-based routing: which site a request's `Host` names, and the URLs of each site.

/// What a host name belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Site {
    /// The product page, pricing and sign-up: `<base>` (and `www.<base>`).
    Public,
    /// The operator console and API: `admin.<base>`.
    Admin,
    /// A tenant's portal: `<slug>.<base>`.
    Tenant(String),
    /// Nothing of ours.
    Unknown,
}

/// The scheme, base domain and port that every URL of this deployment shares.
#[derive(Debug, Clone)]
pub struct Hosts {
    pub scheme: String,
    pub base_domain: String,
    /// `None` when it is the scheme's default port.
    pub port: Option<u16>,
}

impl Hosts {
    pub fn new(scheme: &str, base_domain: &str, port: u16) -> Hosts {
        let default_port = if scheme == "https" { 443 } else { 80 };
        Hosts {
            scheme: scheme.to_owned(),
            base_domain: base_domain.to_lowercase(),
            port: (port != default_port).then_some(port),
        }
    }

    /// The host name of a `Host` header: lowercase, without port and trailing dot.
    pub fn host_name(host_header: &str) -> String {
        let host = host_header.trim().to_lowercase();
        // Strip the port; IPv6 literals are not ours anyway.
        let host = match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !name.contains(':') => name.to_owned(),
            _ => host,
        };
        host.trim_end_matches('.').to_owned()
    }

    pub fn classify(&self, host_header: &str) -> Site {
        let host = Hosts::host_name(host_header);
        let host = host.as_str();
        if host == self.base_domain || host == format!("www.{}", self.base_domain) {
            return Site::Public;
        }
        if host == format!("admin.{}", self.base_domain) {
            return Site::Admin;
        }
        match host.strip_suffix(&format!(".{}", self.base_domain)) {
            Some(label) if !label.is_empty() && !label.contains('.') => Site::Tenant(label.to_owned()),
            _ => Site::Unknown,
        }
    }

    fn url(&self, host: &str) -> String {
        match self.port {
            Some(port) => format!("{}://{host}:{port}", self.scheme),
            None => format!("{}://{host}", self.scheme),
        }
    }

    pub fn public_url(&self) -> String {
        self.url(&self.base_domain)
    }

    pub fn admin_url(&self) -> String {
        self.url(&format!("admin.{}", self.base_domain))
    }

    pub fn tenant_url(&self, slug: &str) -> String {
        self.url(&self.tenant_host(slug))
    }

    /// A tenant's portal host, `<slug>.<base>`: where brokers' own domains point.
    pub fn tenant_host(&self, slug: &str) -> String {
        format!("{slug}.{}", self.base_domain)
    }

    pub fn secure(&self) -> bool {
        self.scheme == "https"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_hosts_with_and_without_ports() {
        let hosts = Hosts::new("http", "localhost", 8080);
        assert_eq!(hosts.classify("localhost:8080"), Site::Public);
        assert_eq!(hosts.classify("www.localhost"), Site::Public);
        assert_eq!(hosts.classify("ADMIN.localhost:8080"), Site::Admin);
        assert_eq!(hosts.classify("mueller.localhost:8080"), Site::Tenant("mueller".into()));
        assert_eq!(hosts.classify("a.b.localhost"), Site::Unknown);
        assert_eq!(hosts.classify("example.com"), Site::Unknown);
        assert_eq!(hosts.classify("evil-localhost"), Site::Unknown);
        assert_eq!(hosts.classify(".localhost"), Site::Unknown);
        assert_eq!(Hosts::host_name("Portal.Makler-Meier.de.:8080"), "portal.makler-meier.de");
    }

    #[test]
    fn urls_carry_the_port_only_when_needed() {
        assert_eq!(Hosts::new("http", "localhost", 8080).tenant_url("x"), "http://x.localhost:8080");
        assert_eq!(Hosts::new("https", "ordo.example", 443).admin_url(), "https://admin.ordo.example");
    }
}
