//! The resolver wrapper: every question gets a [`DnsLookup`] with its outcome
//! (answer, NXDOMAIN, NODATA, SERVFAIL, REFUSED, timeout, error) and DNSSEC
//! status, never a bare `Err`.
//!
//! Built on hickory's name-server pool (UDP with TCP fallback, retries) rather
//! than its high-level `Resolver`, whose lookups turn negative answers and
//! failures into errors that lose the response code and the AD bit. Two ways
//! of deciding DNSSEC status ([`DnssecMode`]):
//!
//! * `Validate`: hickory's `DnssecDnsHandle` validates every answer from the
//!   trust anchor (the root's, or `--trust-anchor FILE`).
//! * `UpstreamAd`: the upstream resolver validates; its AD bit means secure.
//!   hickory 0.26 still has open validation bugs with some upstreams and
//!   unsigned domains, so this mode is offered for a trusted local validator.
//!
//! In both modes a SERVFAIL is asked again with checking disabled (CD): when
//! the data then comes back, the upstream refused it for failing validation,
//! and the answer is reported `servfail` + `bogus` (RFC 4035 §3.2.2).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverOpts};
use hickory_resolver::net::dnssec::DnssecDnsHandle;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::xfer::FirstAnswer as _;
use hickory_resolver::net::{DnsError, DnsHandle, NetError, RetryDnsHandle};
use hickory_resolver::proto::dnssec::TrustAnchors;
use hickory_resolver::proto::op::{DnsRequest, DnsRequestOptions, Edns, Message, Query};
use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};
use hickory_resolver::{NameServerPool, PoolContext, TlsConfig};
use mailwarden_model::{DnsLookup, DnsOutcome, DnssecMode, DnssecStatus, ResolverInfo};

mod classify;

pub(crate) use classify::presentation;
use classify::{classify, lookup, typed, weakest};

/// How to reach and trust DNS.
#[derive(Debug, Clone)]
pub struct ResolverSettings {
    /// `--resolver ADDR:PORT`; `None`: the system's name servers.
    pub server: Option<SocketAddr>,
    /// `--trust-anchor FILE` (DNSKEY records in zone-file format);
    /// `None`: the root anchor built into hickory.
    pub trust_anchor: Option<PathBuf>,
    /// Who decides DNSSEC status.
    pub mode: DnssecMode,
    /// Deadline of one question (each try; two tries are made).
    pub timeout: Duration,
}

/// Why a resolver could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ResolverError {
    /// The system configuration could not be read.
    #[error("reading the system resolver configuration: {0}")]
    SystemConfig(String),
    /// The trust anchor file could not be read.
    #[error("--trust-anchor {path}: {reason} (expected DNSKEY records in zone-file format)")]
    TrustAnchor {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// No name server to ask.
    #[error("no name server configured (give --resolver ADDR:PORT)")]
    NoServers,
}

/// One answer: the observation and the record data behind it.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The observation (what goes into the report).
    pub lookup: DnsLookup,
    /// The records of the type asked, when usable (not bogus).
    pub data: Vec<RData>,
}

type Pool = RetryDnsHandle<NameServerPool<TokioRuntimeProvider>>;

/// A DNS resolver that reports outcome and DNSSEC status of every answer.
/// Answers are cached for the resolver's life (one scan).
pub struct Resolver {
    pool: Pool,
    validator: Option<DnssecDnsHandle<Pool>>,
    info: ResolverInfo,
    timeout: Duration,
    cache: Mutex<HashMap<(String, RecordType), Answer>>,
    zones: Mutex<HashMap<String, DnssecStatus>>,
    /// The zones a `--trust-anchor` file anchors; `None`: the root.
    anchor_zones: Option<Vec<Name>>,
}

const ATTEMPTS: usize = 2;

impl Resolver {
    /// Builds a resolver. Must be called inside a tokio runtime.
    pub fn new(settings: &ResolverSettings) -> Result<Resolver, ResolverError> {
        let (servers, system) = match settings.server {
            Some(addr) => (vec![server_config(addr)], false),
            None => {
                let (config, _) = hickory_resolver::system_conf::read_system_conf()
                    .map_err(|e| ResolverError::SystemConfig(e.to_string()))?;
                (config.name_servers().to_vec(), true)
            }
        };
        if servers.is_empty() {
            return Err(ResolverError::NoServers);
        }
        let described = servers
            .iter()
            .map(|s| {
                let port = s.connections.first().map_or(53, |c| c.port);
                SocketAddr::new(s.ip, port).to_string()
            })
            .fold(Vec::<String>::new(), |mut v, s| {
                if !v.contains(&s) {
                    v.push(s);
                }
                v
            });
        let mut options = ResolverOpts::default();
        options.timeout = settings.timeout;
        options.attempts = ATTEMPTS;
        options.edns_payload_len = 1232;
        let tls = TlsConfig::new().map_err(|e| ResolverError::SystemConfig(e.to_string()))?;
        let cx = Arc::new(PoolContext::new(options, tls));
        let pool = NameServerPool::from_config(servers, cx, TokioRuntimeProvider::default());
        let pool = RetryDnsHandle::new(pool, ATTEMPTS);
        let mut anchor_zones = None;
        let validator = match settings.mode {
            DnssecMode::UpstreamAd => None,
            DnssecMode::Validate => {
                let anchors = match &settings.trust_anchor {
                    Some(path) => {
                        let (anchors, zones) = trust_anchors(path)?;
                        anchor_zones = Some(zones);
                        anchors
                    }
                    None => TrustAnchors::default(),
                };
                Some(DnssecDnsHandle::with_trust_anchor(
                    pool.clone(),
                    Arc::new(anchors),
                ))
            }
        };
        Ok(Resolver {
            pool,
            validator,
            info: ResolverInfo {
                servers: described,
                system,
                dnssec_mode: settings.mode,
                trust_anchor: settings
                    .trust_anchor
                    .as_ref()
                    .map(|p| p.display().to_string()),
            },
            timeout: settings.timeout,
            cache: Mutex::new(HashMap::new()),
            zones: Mutex::new(HashMap::new()),
            anchor_zones,
        })
    }

    /// What the report says about this resolver.
    pub fn info(&self) -> &ResolverInfo {
        &self.info
    }

    /// Asks `name` (with or without the trailing dot) for `rtype`.
    pub async fn lookup(&self, name: &str, rtype: RecordType) -> Answer {
        let display = name.trim_end_matches('.').to_ascii_lowercase();
        let key = (display.clone(), rtype);
        if let Some(hit) = self.cache_get(&key) {
            return hit;
        }
        let answer = match fqdn(&display) {
            Some(qname) => self.ask(&display, qname, rtype).await,
            None => Answer {
                lookup: lookup(
                    &display,
                    rtype,
                    DnsOutcome::Error,
                    DnssecStatus::Indeterminate,
                    Some("not a valid domain name".to_owned()),
                ),
                data: Vec::new(),
            },
        };
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, answer.clone());
        answer
    }

    fn cache_get(&self, key: &(String, RecordType)) -> Option<Answer> {
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned()
    }

    fn options() -> DnsRequestOptions {
        let mut options = DnsRequestOptions::default();
        options.use_edns = true;
        options.edns_set_dnssec_ok = true;
        options.recursion_desired = true;
        options
    }

    async fn ask(&self, display: &str, qname: Name, rtype: RecordType) -> Answer {
        let query = Query::query(qname.clone(), rtype);
        // Retries inside the pool are bounded by the per-try timeout; this is the backstop.
        let deadline = self.timeout * (ATTEMPTS as u32 + 1) + Duration::from_millis(200);
        let raw = tokio::time::timeout(
            deadline,
            self.pool
                .lookup(query.clone(), Self::options())
                .first_answer(),
        )
        .await
        .unwrap_or(Err(NetError::Timeout));
        // What the upstream says (its AD bit decides in upstream mode).
        let mut answer = classify(display, rtype, raw, false);
        if answer.lookup.outcome == DnsOutcome::Servfail {
            self.probe_checking_disabled(qname, rtype, &mut answer)
                .await;
            return answer;
        }
        let Some(validator) = &self.validator else {
            return answer;
        };
        if let Some(zones) = &self.anchor_zones
            && !zones.iter().any(|z| z.zone_of(&qname))
        {
            // RFC 4035 §4.3: without an anchor above it, nothing is provable.
            answer.lookup.dnssec = DnssecStatus::Indeterminate;
            answer.lookup.detail = Some("no trust anchor covers this name".to_owned());
            return answer;
        }
        if answer.lookup.outcome.is_failure() {
            answer.lookup.dnssec = DnssecStatus::Indeterminate;
            return answer;
        }
        let validated = tokio::time::timeout(
            self.timeout * 2,
            validator.lookup(query, Self::options()).first_answer(),
        )
        .await;
        let checked = validated.map(|result| classify(display, rtype, result, true));
        match checked {
            Ok(c) if c.lookup.dnssec != DnssecStatus::Bogus && !c.lookup.outcome.is_failure() => c,
            other => {
                // hickory 0.26 calls some answers of unsigned zones bogus, or
                // never finishes validating them: the zone's own SOA settles it.
                let zone = self.zone_status(&qname).await;
                match (zone, other) {
                    (Some((apex, DnssecStatus::Insecure)), _) => {
                        answer.lookup.dnssec = DnssecStatus::Insecure;
                        answer.lookup.detail =
                            Some(format!("the zone {apex} is provably unsigned"));
                        answer
                    }
                    (_, Ok(bogus)) if bogus.lookup.dnssec == DnssecStatus::Bogus => bogus,
                    _ => {
                        answer.lookup.dnssec = DnssecStatus::Indeterminate;
                        answer.lookup.detail =
                            Some("DNSSEC validation did not complete".to_owned());
                        answer
                    }
                }
            }
        }
    }

    /// The apex of the zone holding `qname` and that zone's validated status
    /// (its SOA through the validator), cached per apex.
    async fn zone_status(&self, qname: &Name) -> Option<(String, DnssecStatus)> {
        let validator = self.validator.as_ref()?;
        let soa = Query::query(qname.clone(), RecordType::SOA);
        let raw = tokio::time::timeout(
            self.timeout * 3,
            self.pool.lookup(soa, Self::options()).first_answer(),
        )
        .await
        .ok()?;
        let apex = match raw {
            Ok(r) => r
                .answers
                .iter()
                .chain(&r.authorities)
                .find(|r| r.record_type() == RecordType::SOA)
                .map(|r| r.name.clone())?,
            Err(NetError::Dns(DnsError::NoRecordsFound(nr))) => nr.soa.map(|s| s.name.clone())?,
            Err(_) => return None,
        };
        let key = apex.to_ascii().to_ascii_lowercase();
        if let Some(status) = self
            .zones
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            return Some((key.trim_end_matches('.').to_owned(), *status));
        }
        let check = Query::query(apex, RecordType::SOA);
        let status = match tokio::time::timeout(
            self.timeout * 2,
            validator.lookup(check, Self::options()).first_answer(),
        )
        .await
        {
            Ok(Ok(r)) => {
                let records: Vec<&Record> = typed(&r.answers, RecordType::SOA).collect();
                weakest(&records)
            }
            _ => DnssecStatus::Indeterminate,
        };
        self.zones
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.clone(), status);
        Some((key.trim_end_matches('.').to_owned(), status))
    }

    /// Asks again with CD set: data that comes back now was refused by the
    /// upstream's validation (or by ours), so it is bogus. Kept as evidence.
    async fn probe_checking_disabled(&self, qname: Name, rtype: RecordType, answer: &mut Answer) {
        let mut message = Message::query();
        message.add_query(Query::query(qname, rtype));
        message.metadata.recursion_desired = true;
        message.metadata.checking_disabled = true;
        let mut edns = Edns::new();
        edns.set_max_payload(1232).set_dnssec_ok(true);
        message.set_edns(edns);
        let request = DnsRequest::new(message, DnsRequestOptions::default());
        let deadline = self.timeout * (ATTEMPTS as u32 + 1);
        let Ok(result) =
            tokio::time::timeout(deadline, self.pool.send(request).first_answer()).await
        else {
            return;
        };
        let records: Vec<String> = match &result {
            Ok(response) => typed(&response.answers, rtype)
                .map(|r| presentation(&r.data))
                .collect(),
            Err(NetError::Dns(DnsError::NoRecordsFound(_))) => Vec::new(),
            Err(_) => return,
        };
        let was_servfail = answer.lookup.outcome == DnsOutcome::Servfail;
        answer.lookup.dnssec = DnssecStatus::Bogus;
        answer.data.clear();
        if answer.lookup.records.is_empty() {
            answer.lookup.records = records;
        }
        answer.lookup.detail = Some(if was_servfail {
            "the resolver answers SERVFAIL, and with checking disabled it answers: \
             DNSSEC validation fails"
                .to_owned()
        } else {
            answer
                .lookup
                .detail
                .clone()
                .unwrap_or_else(|| "DNSSEC validation fails".to_owned())
        });
    }
}

/// The name as a fully-qualified hickory name.
fn fqdn(name: &str) -> Option<Name> {
    if name.is_empty() || name.len() > 253 || name.contains(['/', ' ', '@']) {
        return None;
    }
    let mut n = Name::from_utf8(name).ok()?;
    n.set_fqdn(true);
    Some(n)
}

fn server_config(addr: SocketAddr) -> NameServerConfig {
    let mut udp = ConnectionConfig::udp();
    udp.port = addr.port();
    let mut tcp = ConnectionConfig::tcp();
    tcp.port = addr.port();
    NameServerConfig::new(addr.ip(), true, vec![udp, tcp])
}

fn trust_anchors(path: &Path) -> Result<(TrustAnchors, Vec<Name>), ResolverError> {
    let err = |reason: String| ResolverError::TrustAnchor {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    // Tolerate what `ldns-keygen`/`dig` write: comments and DS lines are skipped.
    let dnskeys: String = text
        .lines()
        .filter(|l| {
            let upper = l.to_ascii_uppercase();
            upper.split_whitespace().any(|w| w == "DNSKEY")
        })
        .map(|l| format!("{l}\n"))
        .collect();
    if dnskeys.is_empty() {
        return Err(err("no DNSKEY record in the file".to_owned()));
    }
    let mut zones: Vec<Name> = Vec::new();
    for line in dnskeys.lines() {
        if let Some(owner) = line.split_whitespace().next()
            && let Ok(mut name) = Name::from_ascii(owner)
        {
            name.set_fqdn(true);
            if !zones.contains(&name) {
                zones.push(name);
            }
        }
    }
    let anchors = dnskeys
        .parse::<TrustAnchors>()
        .map_err(|e| err(e.to_string()))?;
    Ok((anchors, zones))
}

/// The A and AAAA addresses of `host`, with both lookups.
pub async fn addresses(resolver: &Resolver, host: &str) -> (Vec<DnsLookup>, Vec<IpAddr>) {
    let (a, aaaa) = futures::join!(
        resolver.lookup(host, RecordType::A),
        resolver.lookup(host, RecordType::AAAA)
    );
    let mut ips = Vec::new();
    for d in a.data.iter().chain(&aaaa.data) {
        let ip = match d {
            RData::A(a) => IpAddr::V4(a.0),
            RData::AAAA(a) => IpAddr::V6(a.0),
            _ => continue,
        };
        if !ips.contains(&ip) {
            ips.push(ip);
        }
    }
    (vec![a.lookup, aaaa.lookup], ips)
}

#[cfg(test)]
mod tests {
    use hickory_resolver::proto::dnssec::Proof;

    use super::*;

    #[test]
    fn names() {
        assert!(fqdn("example.org").is_some());
        assert!(fqdn("_dmarc.example.org").is_some());
        assert!(fqdn("").is_none());
        assert!(fqdn("a b").is_none());
    }

    #[test]
    fn weakest_proof_wins() {
        let mut r = Record::from_rdata(
            Name::from_ascii("a.test.").unwrap(),
            60,
            RData::A(hickory_resolver::proto::rr::rdata::A::new(127, 0, 0, 1)),
        );
        r.proof = Proof::Secure;
        let mut s = r.clone();
        assert_eq!(weakest(&[&r, &s]), DnssecStatus::Secure);
        s.proof = Proof::Insecure;
        assert_eq!(weakest(&[&r, &s]), DnssecStatus::Insecure);
        s.proof = Proof::Bogus;
        assert_eq!(weakest(&[&r, &s]), DnssecStatus::Bogus);
    }
}
