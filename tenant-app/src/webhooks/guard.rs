//! Outbound requests go only to public addresses.
//!
//! A webhook URL is typed by a broker, so it could name the portal's own
//! network: the database server, the cloud's metadata service, the control
//! plane's internal API. Every name is resolved here, every address is checked,
//! and the connection goes to exactly the checked addresses (the resolver hands
//! them to the HTTP client, which does not resolve again), so a name cannot
//! answer with a public address for the check and a private one for the
//! connection. IP literals never reach a resolver and are checked on their own.
//! Redirects are not followed: a public receiver could point anywhere.
//!
//! Tests (and local development) allow loopback addresses and plain HTTP with
//! `webhooks_allow_loopback`; private, link-local and the other special ranges
//! stay refused even then.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use reqwest::Client;
use url::{Host, Url};

/// The longest a request may take, connection and answer included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A name that does not resolve within this is treated as unresolvable.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Which addresses outbound requests may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Policy {
    /// Loopback addresses and plain `http://` too (tests, local development).
    pub allow_loopback: bool,
}

/// Why a request was not made. The text is German: the owner reads it in the log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("Nur HTTPS-Adressen sind erlaubt.")]
    NotHttps,
    #[error("Die Adresse {host} ({ip}) ist nicht öffentlich erreichbar; Webhooks gehen nur an öffentliche Adressen.")]
    NotPublic { host: String, ip: IpAddr },
    #[error("Der Name {host} lässt sich nicht auflösen.")]
    Unresolvable { host: String },
}

/// Whether `ip` is a public unicast address: not loopback, private, link-local,
/// unique-local, shared (CGNAT), multicast, documentation or otherwise reserved.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => public_v4(ip),
        IpAddr::V6(ip) => public_v6(ip),
    }
}

/// Whether the policy lets a request reach `ip`.
pub fn permitted(ip: IpAddr, policy: Policy) -> bool {
    is_public(ip) || (policy.allow_loopback && ip.to_canonical().is_loopback())
}

fn public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let special = a == 0 // "this network"
        || a == 10
        || a == 127
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 169 && b == 254)
        || (a == 172 && (16..32).contains(&b))
        || (a == 192 && b == 168)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // documentation
        || (a == 192 && b == 88 && c == 99) // 6to4 relays
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || (a == 198 && b == 51 && c == 100) // documentation
        || (a == 203 && b == 0 && c == 113) // documentation
        || a >= 224; // multicast, reserved, broadcast
    !special
}

fn public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return public_v4(v4);
    }
    let s = ip.segments();
    // NAT64 (RFC 6052): IPv6-only networks reach IPv4 hosts this way; the
    // embedded IPv4 address decides.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return public_v4(Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8));
    }
    // Only global unicast (2000::/3) can be public: this leaves out loopback,
    // unspecified, IPv4-compatible, unique-local (fc00::/7), link-local
    // (fe80::/10), site-local and multicast.
    if s[0] & 0xe000 != 0x2000 {
        return false;
    }
    // 6to4 (2002::/16) carries an IPv4 address, which decides.
    if s[0] == 0x2002 {
        return public_v4(Ipv4Addr::new((s[1] >> 8) as u8, s[1] as u8, (s[2] >> 8) as u8, s[2] as u8));
    }
    // 2001::/23: IETF protocol assignments, Teredo, benchmarking; 2001:db8::/32
    // and 3fff::/20: documentation.
    let special = match s[0] {
        0x2001 => s[1] < 0x200 || s[1] == 0x0db8,
        0x3fff => s[1] < 0x1000,
        _ => false,
    };
    !special
}

/// Checks what can be checked without resolving: the scheme, and the address
/// itself when the host is an IP literal (no resolver sees those).
pub fn check_target(url: &Url, policy: Policy) -> Result<(), Refusal> {
    match url.scheme() {
        "https" => {}
        "http" if policy.allow_loopback => {}
        _ => return Err(Refusal::NotHttps),
    }
    let ip = match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip),
        Some(Host::Domain(_)) => return Ok(()),
        None => return Err(Refusal::Unresolvable { host: String::new() }),
    };
    if permitted(ip, policy) { Ok(()) } else { Err(Refusal::NotPublic { host: ip.to_string(), ip }) }
}

/// Resolves `host` and returns its addresses if every one of them is permitted.
/// One non-public address refuses the name: a receiver has no reason to have one.
pub async fn resolve(host: &str, policy: Policy) -> Result<Vec<SocketAddr>, Refusal> {
    let unresolvable = || Refusal::Unresolvable { host: host.to_owned() };
    let lookup = tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((host, 0)))
        .await
        .map_err(|_| unresolvable())?
        .map_err(|_| unresolvable())?;
    let addrs: Vec<SocketAddr> = lookup.collect();
    if addrs.is_empty() {
        return Err(unresolvable());
    }
    if let Some(refused) = addrs.iter().find(|addr| !permitted(addr.ip(), policy)) {
        return Err(Refusal::NotPublic { host: host.to_owned(), ip: refused.ip() });
    }
    Ok(addrs)
}

/// Checks a whole URL as a request would: the scheme, and every address of its host.
pub async fn check_url(url: &Url, policy: Policy) -> Result<(), Refusal> {
    check_target(url, policy)?;
    if let Some(Host::Domain(name)) = url.host() {
        resolve(name, policy).await?;
    }
    Ok(())
}

/// The HTTP client's resolver: the checked addresses are the ones it connects to.
struct CheckedResolver(Policy);

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.0;
        Box::pin(async move {
            let addrs = resolve(name.as_str(), policy).await?;
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// The client for webhook deliveries under `policy`: one per process and policy,
/// shared by every portal, so that a process with hundreds of portals holds
/// one TLS configuration and one connection pool, not hundreds.
pub fn client(policy: Policy) -> &'static Client {
    static STRICT: OnceLock<Client> = OnceLock::new();
    static LOOPBACK: OnceLock<Client> = OnceLock::new();
    let cell = if policy.allow_loopback { &LOOPBACK } else { &STRICT };
    cell.get_or_init(|| {
        Client::builder()
            .dns_resolver(Arc::new(CheckedResolver(policy)))
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .https_only(!policy.allow_loopback)
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(2)
            .user_agent("Ordo-Webhooks/1")
            .build()
            .expect("the webhook client's configuration is valid")
    })
}

/// The refusal behind a failed request, if the guard refused it.
pub fn refusal_of(err: &(dyn std::error::Error + 'static)) -> Option<Refusal> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(err) = source {
        if let Some(refusal) = err.downcast_ref::<Refusal>() {
            return Some(refusal.clone());
        }
        source = err.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: Policy = Policy { allow_loopback: false };
    const LOOPBACK: Policy = Policy { allow_loopback: true };

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn only_public_addresses_are_public() {
        for refused in [
            "127.0.0.1",
            "127.8.9.10",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.178.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.254",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.2.10",
            "198.18.0.1",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "fd12:3456::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:0a00:0001::1",
            "2001:db8::1",
            "2001::1",
            "fec0::1",
        ] {
            assert!(!is_public(ip(refused)), "{refused} counted as public");
        }
        for public in
            ["1.1.1.1", "93.184.215.14", "172.32.0.1", "100.128.0.1", "2a00:1450:4001::1", "64:ff9b::5db8:d70e"]
        {
            assert!(is_public(ip(public)), "{public} refused");
        }
    }

    #[test]
    fn the_setting_allows_loopback_and_nothing_else() {
        assert!(!permitted(ip("127.0.0.1"), STRICT));
        assert!(!permitted(ip("::1"), STRICT));
        assert!(permitted(ip("127.0.0.1"), LOOPBACK));
        assert!(permitted(ip("::1"), LOOPBACK));
        assert!(permitted(ip("::ffff:127.0.0.1"), LOOPBACK));
        for still_refused in ["10.0.0.1", "192.168.1.1", "169.254.169.254", "fd00::1", "fe80::1"] {
            assert!(!permitted(ip(still_refused), LOOPBACK), "{still_refused}");
        }
    }

    #[test]
    fn literals_and_schemes_are_checked_without_a_resolver() {
        let url = |text: &str| Url::parse(text).unwrap();
        assert_eq!(check_target(&url("http://93.184.215.14/"), STRICT), Err(Refusal::NotHttps));
        assert!(check_target(&url("https://93.184.215.14/hook"), STRICT).is_ok());
        assert!(matches!(check_target(&url("https://127.0.0.1/"), STRICT), Err(Refusal::NotPublic { .. })));
        // Other spellings of a private address are the same address.
        assert!(matches!(check_target(&url("https://0x7f000001/"), STRICT), Err(Refusal::NotPublic { .. })));
        assert!(matches!(check_target(&url("https://[::ffff:a9fe:a9fe]/"), STRICT), Err(Refusal::NotPublic { .. })));
        assert!(matches!(check_target(&url("https://10.0.0.5:8443/"), LOOPBACK), Err(Refusal::NotPublic { .. })));
        assert!(check_target(&url("http://127.0.0.1:9000/hook"), LOOPBACK).is_ok());
        assert_eq!(check_target(&url("ftp://example.org/"), LOOPBACK), Err(Refusal::NotHttps));
    }

    #[tokio::test]
    async fn names_resolving_to_loopback_are_refused_without_the_setting() {
        let refused = resolve("localhost", STRICT).await.unwrap_err();
        assert!(matches!(refused, Refusal::NotPublic { .. }), "{refused:?}");
        let addrs = resolve("localhost", LOOPBACK).await.unwrap();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()));
        let url = Url::parse("https://localhost:8443/hook").unwrap();
        assert!(matches!(check_url(&url, STRICT).await, Err(Refusal::NotPublic { .. })));
    }

    #[tokio::test]
    async fn the_client_connects_only_to_checked_addresses() {
        // A server on loopback that would answer; the strict client must not reach it.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let err = client(STRICT).get(format!("https://localhost:{port}/")).send().await.unwrap_err();
        assert!(matches!(refusal_of(&err), Some(Refusal::NotPublic { .. })), "{err:?}");
        // Plain HTTP is refused by the strict client before any connection.
        let err = client(STRICT).get(format!("http://localhost:{port}/")).send().await.unwrap_err();
        assert!(refusal_of(&err).is_none() && err.is_builder(), "{err:?}");
        drop(listener);
    }
}
