//! One domain end to end: discovery (MX, null MX, SRV, addresses), then every
//! record check; and, after the endpoint scan, DANE and MTA-STS certificate
//! facts from the chains the MX addresses really presented.

use std::net::{IpAddr, SocketAddr};

use hickory_resolver::proto::rr::{RData, RecordType};
use mailwarden_model::{
    Attempt, DnsLookup, DnssecStatus, DomainObservation, EndpointObservation, MxHost,
    MxObservation, MxTlsObservation, ServiceRole, SrvObservation, SrvTarget, TlsHandshake,
};

use crate::resolver::{Resolver, addresses};
use crate::{dane, dkim, dmarc, fcrdns, mtasts, spf, tlsrpt};

/// The SRV service labels of RFC 6186 and RFC 8314, with the role of each.
pub const SRV_SERVICES: [(&str, ServiceRole); 6] = [
    ("_submission._tcp", ServiceRole::Submission),
    ("_submissions._tcp", ServiceRole::Submissions),
    ("_imap._tcp", ServiceRole::Imap),
    ("_imaps._tcp", ServiceRole::Imaps),
    ("_pop3._tcp", ServiceRole::Pop3),
    ("_pop3s._tcp", ServiceRole::Pop3s),
];

/// What to check besides the records.
#[derive(Clone)]
pub struct DomainSettings {
    /// DKIM selectors to look up (before the common ones).
    pub dkim_selectors: Vec<String>,
    /// Declared outbound addresses SPF must authorize.
    pub outbound: Vec<IpAddr>,
    /// How MTA-STS policies are fetched.
    pub fetch: mtasts::FetchSettings,
}

/// Observes everything about `domain` that DNS and the MTA-STS policy tell.
pub async fn observe(
    resolver: &Resolver,
    domain: &str,
    settings: &DomainSettings,
) -> DomainObservation {
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    let mx = discover_mx(resolver, &domain).await;
    let srv = discover_srv(resolver, &domain).await;
    let mut cases: Vec<(&str, IpAddr, String)> = Vec::new();
    for h in &mx.hosts {
        for ip in &h.addresses {
            cases.push(("mx", *ip, h.name.clone()));
        }
    }
    for ip in &settings.outbound {
        cases.push(("outbound", *ip, String::new()));
    }
    // Independent questions go out together: a slow or dead resolver costs
    // one timeout per round, not one per record.
    let (spf, dmarc, dkim, mta_sts, tls_rpt) = futures::join!(
        spf::observe(resolver, &domain, &cases),
        dmarc::observe(resolver, &domain),
        dkim::observe(resolver, &domain, &settings.dkim_selectors),
        mtasts::observe(resolver, &domain, &settings.fetch),
        tlsrpt::observe(resolver, &domain),
    );
    let dane_asks = mx.hosts.iter().flat_map(|h| {
        let host_dnssec = host_status(&h.lookups);
        [25u16, 465, 587].map(|port| dane::observe(resolver, &h.name, port, host_dnssec))
    });
    let fcrdns_asks = mx.hosts.iter().flat_map(|h| {
        h.addresses
            .iter()
            .map(|ip| fcrdns::observe(resolver, &h.name, *ip))
    });
    // SRV targets' TLSA at their own port, kept only where published.
    let srv_dane_asks = srv.iter().flat_map(|s| {
        s.targets
            .iter()
            .filter(|t| !t.target.is_empty() && t.port != 0)
            .map(|t| dane::observe(resolver, &t.target, t.port, host_status(&t.lookups)))
    });
    let (dane_all, srv_dane, fcrdns) = futures::join!(
        futures::future::join_all(dane_asks),
        futures::future::join_all(srv_dane_asks),
        futures::future::join_all(fcrdns_asks)
    );
    // TLSA for 465 and 587 only where published.
    let mut dane: Vec<_> = dane_all
        .into_iter()
        .filter(|d| d.port == 25 || !d.lookup.outcome.is_negative())
        .collect();
    for d in srv_dane {
        let published = !d.lookup.outcome.is_negative();
        if published && !dane.iter().any(|x| x.host == d.host && x.port == d.port) {
            dane.push(d);
        }
    }
    DomainObservation {
        domain,
        resolver: resolver.info().clone(),
        mx,
        srv,
        spf,
        dmarc,
        dkim,
        mta_sts,
        tls_rpt,
        dane,
        fcrdns,
        mx_tls: Vec::new(),
    }
}

/// The DNSSEC status of a host's address records (the A answer, else AAAA).
fn host_status(lookups: &[DnsLookup]) -> DnssecStatus {
    lookups
        .iter()
        .find(|l| l.outcome == mailwarden_model::DnsOutcome::Answer)
        .or(lookups.first())
        .map_or(DnssecStatus::Indeterminate, |l| l.dnssec)
}

async fn discover_mx(resolver: &Resolver, domain: &str) -> MxObservation {
    let answer = resolver.lookup(domain, RecordType::MX).await;
    let mut records: Vec<(u16, String)> = answer
        .data
        .iter()
        .filter_map(|d| match d {
            RData::MX(mx) => Some((
                mx.preference,
                mx.exchange
                    .to_ascii()
                    .trim_end_matches('.')
                    .to_ascii_lowercase(),
            )),
            _ => None,
        })
        .collect();
    records.sort();
    records.dedup();
    let null_mx = records.len() == 1 && records.first().is_some_and(|(_, h)| h.is_empty());
    let mut hosts = Vec::new();
    for (preference, name) in records {
        if name.is_empty() {
            continue;
        }
        let (lookups, ips) = addresses(resolver, &name).await;
        hosts.push(MxHost {
            preference,
            name,
            lookups,
            addresses: ips,
        });
    }
    let implicit = if answer.lookup.outcome.is_negative() {
        addresses(resolver, domain).await.0
    } else {
        Vec::new()
    };
    MxObservation {
        lookup: answer.lookup,
        null_mx,
        hosts,
        implicit,
    }
}

async fn discover_srv(resolver: &Resolver, domain: &str) -> Vec<SrvObservation> {
    let asks = SRV_SERVICES.map(|(service, _)| async move {
        (
            service,
            resolver
                .lookup(&format!("{service}.{domain}"), RecordType::SRV)
                .await,
        )
    });
    let answers = futures::future::join_all(asks).await;
    let mut out = Vec::new();
    for (service, answer) in answers {
        let mut targets = Vec::new();
        for d in &answer.data {
            let RData::SRV(srv) = d else { continue };
            let target = srv
                .target
                .to_ascii()
                .trim_end_matches('.')
                .to_ascii_lowercase();
            let (lookups, ips) = if target.is_empty() {
                (Vec::new(), Vec::new())
            } else {
                addresses(resolver, &target).await
            };
            targets.push(SrvTarget {
                priority: srv.priority,
                weight: srv.weight,
                port: srv.port,
                target,
                lookups,
                addresses: ips,
            });
        }
        targets.sort_by_key(|t| (t.priority, std::cmp::Reverse(t.weight)));
        out.push(SrvObservation {
            service: service.to_owned(),
            lookup: answer.lookup,
            targets,
        });
    }
    out
}

/// A host to scan, found in DNS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovered {
    /// The host name (the scan's target and certificate name).
    pub host: String,
    /// The role of the port.
    pub role: ServiceRole,
    /// The port (25 for MX hosts, the SRV port otherwise).
    pub port: u16,
    /// The addresses.
    pub addresses: Vec<IpAddr>,
}

/// Every endpoint the domain's DNS names: port 25 of each MX host, and each
/// SRV target on its port, each with all its addresses.
pub fn discovered(obs: &DomainObservation) -> Vec<Discovered> {
    let mut out: Vec<Discovered> = Vec::new();
    let mut push = |d: Discovered| {
        if !out.iter().any(|o| o.host == d.host && o.port == d.port) {
            out.push(d);
        }
    };
    for h in &obs.mx.hosts {
        push(Discovered {
            host: h.name.clone(),
            role: ServiceRole::Smtp,
            port: 25,
            addresses: h.addresses.clone(),
        });
    }
    for s in &obs.srv {
        let Some(role) = SRV_SERVICES
            .iter()
            .find(|(label, _)| *label == s.service)
            .map(|(_, r)| *r)
        else {
            continue;
        };
        for t in &s.targets {
            if t.target.is_empty() || t.port == 0 {
                continue;
            }
            push(Discovered {
                host: t.target.clone(),
                role,
                port: t.port,
                addresses: t.addresses.clone(),
            });
        }
    }
    out
}

/// The handshake of an endpoint that reached TLS (STARTTLS or implicit).
fn handshake(obs: &EndpointObservation) -> Option<&TlsHandshake> {
    let starttls = obs
        .plaintext
        .as_ref()
        .and_then(|p| p.starttls.value())
        .and_then(|s| s.handshake.value());
    let implicit = obs.implicit_tls.as_ref().and_then(|i| i.handshake.value());
    starttls.or(implicit)
}

/// The DER chain a handshake recorded.
fn chain_der(h: &TlsHandshake) -> Option<Vec<Vec<u8>>> {
    use base64::Engine as _;
    let chain = h.certificate_chain.as_ref()?;
    chain
        .certificates
        .iter()
        .map(|c| {
            base64::engine::general_purpose::STANDARD
                .decode(&c.der_base64)
                .ok()
        })
        .collect()
}

/// Adds what the endpoint scan saw: the DANE match of every scanned
/// address's presented chain, and a TLS digest per MX address. `map` turns a
/// port DNS implies (25, an SRV port) into the one really scanned
/// (`--port-map`; the identity without it).
pub fn attach_scan(
    obs: &mut DomainObservation,
    endpoints: &[EndpointObservation],
    map: &dyn Fn(u16) -> u16,
) {
    let smtp_port = map(25);
    let mx_names: Vec<String> = obs.mx.hosts.iter().map(|h| h.name.clone()).collect();
    let is_mx =
        |e: &EndpointObservation| mx_names.contains(&e.target) && e.address.port() == smtp_port;
    obs.mx_tls = endpoints
        .iter()
        .filter(|e| is_mx(e))
        .map(|e| {
            let h = handshake(e);
            let leaf = h
                .and_then(|h| h.certificate_chain.as_ref())
                .and_then(|c| c.leaf());
            MxTlsObservation {
                host: e.target.clone(),
                address: e.address,
                tls: h.is_some_and(|h| h.completed),
                version: h.and_then(|h| h.version).map(|v| v.to_string()),
                leaf_sha256: leaf.map(|l| l.sha256.clone()),
                leaf_names: leaf.map(|l| l.dns_names.clone()).unwrap_or_default(),
                trusted: h
                    .and_then(|h| h.certificate_chain.as_ref())
                    .is_some_and(|c| c.validation.trusted),
            }
        })
        .collect();
    for d in &mut obs.dane {
        if d.records.is_empty() {
            continue;
        }
        let port = map(d.port);
        d.matches = endpoints
            .iter()
            .filter(|e| e.target == d.host && e.address.port() == port)
            .map(|e| {
                let chain = handshake(e).and_then(chain_der);
                dane::check_endpoint(&d.records, e.address, chain.as_deref())
            })
            .collect();
    }
}

/// The addresses to probe for each discovered host, as socket addresses.
pub fn socket_addrs(d: &Discovered, port: u16) -> Vec<SocketAddr> {
    d.addresses
        .iter()
        .map(|ip| SocketAddr::new(*ip, port))
        .collect()
}

/// The result of a fetch, for callers that only want the policy.
pub fn policy(obs: &DomainObservation) -> Option<&mailwarden_model::MtaStsPolicy> {
    match &obs.mta_sts.policy {
        Attempt::Completed { value } => value.policy.as_ref(),
        _ => None,
    }
}
