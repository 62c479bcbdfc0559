//! The DNS check of a claimed domain, with hickory's stub resolver.
//!
//! What is checked, in this order:
//! 1. the TXT records of `_ordo-challenge.<domain>`: one of them must be exactly the
//!    claim's token (a record split into several strings counts as their concatenation);
//! 2. the CNAME of `<domain>`: it must name the portal host `<slug>.<base domain>`,
//!    directly or through further CNAMEs (at most [`MAX_CHAIN`] in all).
//!
//! Each check builds a new resolver, so nothing cached from an earlier check hides
//! a record that was just added or removed (the name servers may still cache, up to
//! the records' TTL).

use std::net::SocketAddr;
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::NetError;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::{Name, RData, RecordType};

/// CNAMEs followed from the domain before giving up.
pub const MAX_CHAIN: usize = 8;

/// Asks the configured name servers, or the system's.
#[derive(Debug, Clone)]
pub struct DnsChecker {
    servers: Vec<SocketAddr>,
}

impl DnsChecker {
    /// `servers` empty: the system's configuration (`/etc/resolv.conf`).
    pub fn new(servers: Vec<SocketAddr>) -> DnsChecker {
        DnsChecker { servers }
    }

    fn resolver(&self) -> Result<TokioResolver, String> {
        let provider = TokioRuntimeProvider::default();
        let mut builder = if self.servers.is_empty() {
            TokioResolver::builder(provider).map_err(|err| format!("Systemkonfiguration des DNS unlesbar: {err}"))?
        } else {
            let servers = self
                .servers
                .iter()
                .map(|addr| {
                    let mut udp = ConnectionConfig::udp();
                    udp.port = addr.port();
                    let mut tcp = ConnectionConfig::tcp();
                    tcp.port = addr.port();
                    NameServerConfig::new(addr.ip(), true, vec![udp, tcp])
                })
                .collect();
            TokioResolver::builder_with_config(ResolverConfig::from_name_servers(servers), provider)
                .with_options(ResolverOpts::default())
        };
        let options = builder.options_mut();
        options.timeout = Duration::from_secs(5);
        options.attempts = 2;
        // Names are asked fully qualified; never try them below a search domain.
        options.ndots = 0;
        builder.build().map_err(|err| format!("DNS-Resolver nicht verfügbar: {err}"))
    }

    /// `Ok` if `domain` proves the claim with `token` and points at `portal_host`;
    /// otherwise the reason, in German, for the broker.
    pub async fn check(&self, domain: &str, token: &str, portal_host: &str) -> Result<(), String> {
        let resolver = self.resolver()?;
        let txt_name = format!("{}.{domain}", tenant_app::domains::CHALLENGE_LABEL);
        let txt = lookup(&resolver, &txt_name, RecordType::TXT).await?;
        let values: Vec<String> = txt
            .iter()
            .filter_map(|data| match data {
                RData::TXT(txt) => Some(txt.txt_data.iter().map(|part| String::from_utf8_lossy(part)).collect()),
                _ => None,
            })
            .collect();
        if values.is_empty() {
            return Err(format!("TXT-Eintrag {txt_name} nicht gefunden."));
        }
        if !values.iter().any(|value| value.trim() == token) {
            return Err(format!("TXT-Eintrag {txt_name} enthält nicht den erwarteten Wert {token}."));
        }

        let portal_host = portal_host.trim_end_matches('.').to_ascii_lowercase();
        let mut name = domain.to_owned();
        let mut first_target = None;
        for _ in 0..MAX_CHAIN {
            let target = lookup(&resolver, &name, RecordType::CNAME).await?.into_iter().find_map(|data| match data {
                RData::CNAME(cname) => Some(cname.0.to_ascii().trim_end_matches('.').to_ascii_lowercase()),
                _ => None,
            });
            let Some(target) = target else {
                return Err(match first_target {
                    None => format!("CNAME-Eintrag für {domain} nicht gefunden (er muss auf {portal_host} zeigen)."),
                    Some(first) => {
                        format!("CNAME-Eintrag für {domain} zeigt auf {first} statt auf {portal_host}.")
                    }
                });
            };
            if target == portal_host {
                return Ok(());
            }
            first_target.get_or_insert(target.clone());
            name = target;
        }
        Err(format!("CNAME-Kette ab {domain} ist zu lang oder kreisförmig (mehr als {MAX_CHAIN} Einträge)."))
    }
}

/// The records of one type at a name; none (also for a name that does not exist)
/// is an empty list, a failure to ask is the reason in German.
async fn lookup(resolver: &TokioResolver, name: &str, kind: RecordType) -> Result<Vec<RData>, String> {
    let fqdn = Name::from_ascii(format!("{name}.")).map_err(|err| format!("{name} ist kein gültiger Name: {err}"))?;
    match resolver.lookup(fqdn, kind).await {
        Ok(found) => Ok(found.answers().iter().filter(|r| r.record_type() == kind).map(|r| r.data.clone()).collect()),
        Err(err) if err.is_no_records_found() => Ok(Vec::new()),
        Err(NetError::Timeout) => Err(format!("Keine Antwort vom DNS-Server bei der Abfrage von {name} ({kind}).")),
        Err(err) => Err(format!("DNS-Abfrage von {name} ({kind}) fehlgeschlagen: {err}.")),
    }
}
