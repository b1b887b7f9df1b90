//! DNS rules: lookups that failed, DNSSEC, the MX set and its hosts.

use std::collections::BTreeMap;

use mailwarden_model::{DnssecStatus, Severity};

use super::{DomainHit, DomainView, all_lookups, at, dns_fix, facts, lookup_evidence, rule};
use crate::Family;
use crate::catalogue::{Reference, Rule};

/// MW-DNS-001.
pub(crate) const LOOKUP_FAILED: Rule = rule(
    "MW-DNS-001",
    "dns-lookup-failed",
    Family::Dns,
    "A DNS lookup failed (SERVFAIL, timeout, REFUSED): what depends on it was not assessed",
    at(Severity::Low),
    "A failed lookup says nothing about whether the record exists. The checks that depend on it \
     are not reported as passing or as missing: they were not assessed. Senders meeting the same \
     failure defer mail or skip their security checks.",
    dns_fix(
        "Make every authoritative server answer for the name (check delegation, DNSSEC \
             signatures and firewalls), then scan again.",
    ),
    &[Reference::rfc(
        "RFC 1035",
        "4.1.1",
        "RCODE 2 (server failure) and 5 (refused)",
    )],
    lookup_failed,
);

fn lookup_failed(v: &DomainView<'_>) -> Vec<DomainHit> {
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for l in all_lookups(v.obs) {
        if !l.outcome.is_failure() || l.dnssec == DnssecStatus::Bogus {
            continue;
        }
        let key = (l.name.clone(), l.rtype.clone());
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        out.push(DomainHit::domain(
            v,
            format!(
                "the lookup {} {} failed: {}",
                l.name,
                l.rtype,
                l.outcome.as_str()
            ),
            vec![lookup_evidence(l)],
        ));
    }
    out
}

/// MW-DNS-002.
pub(crate) const DNSSEC_BOGUS: Rule = rule(
    "MW-DNS-002",
    "dnssec-bogus",
    Family::Dns,
    "An answer fails DNSSEC validation (bogus)",
    at(Severity::High),
    "Validating resolvers refuse bogus data with SERVFAIL: senders behind them cannot find the MX, \
     SPF or DMARC records, and DANE senders defer mail. Expired signatures and a DS that no longer \
     matches the zone's keys are the usual causes.",
    dns_fix(
        "Re-sign the zone (check the signer runs and signatures are refreshed before they \
             expire) and make the DS at the parent match a published KSK.",
    ),
    &[Reference::rfc(
        "RFC 4035",
        "5.5",
        "bogus data is not returned to validating clients",
    )],
    bogus,
);

fn bogus(v: &DomainView<'_>) -> Vec<DomainHit> {
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for l in all_lookups(v.obs) {
        if l.dnssec != DnssecStatus::Bogus || seen.contains(&(&l.name, &l.rtype)) {
            continue;
        }
        seen.push((&l.name, &l.rtype));
        out.push(DomainHit::domain(
            v,
            format!("the answer to {} {} is DNSSEC-bogus", l.name, l.rtype),
            vec![lookup_evidence(l)],
        ));
    }
    out
}

/// MW-DNS-003.
pub(crate) const DOMAIN_NOT_SIGNED: Rule = rule(
    "MW-DNS-003",
    "domain-not-signed",
    Family::Dns,
    "The domain's zone is not signed with DNSSEC",
    at(Severity::Low),
    "Without DNSSEC an attacker on the path can forge MX, SPF and DMARC answers, and DANE cannot be \
     used at all: senders ignore TLSA records from unsigned zones.",
    dns_fix(
        "Sign the zone (e.g. Knot or BIND automatic signing, or your DNS provider's DNSSEC \
             option) and publish the DS record at the registrar.",
    ),
    &[Reference::rfc(
        "RFC 7672",
        "2.2",
        "DANE for SMTP needs DNSSEC-validated TLSA records",
    )],
    not_signed,
);

fn not_signed(v: &DomainView<'_>) -> Vec<DomainHit> {
    let l = &v.obs.mx.lookup;
    if l.outcome.is_failure() || l.dnssec != DnssecStatus::Insecure {
        return Vec::new();
    }
    vec![DomainHit::domain(
        v,
        format!(
            "the zone of {} is not DNSSEC-signed (its MX answer is insecure)",
            v.obs.domain
        ),
        vec![lookup_evidence(l)],
    )]
}

/// MW-DNS-004.
pub(crate) const NO_MX: Rule = rule(
    "MW-DNS-004",
    "no-mx-record",
    Family::Dns,
    "The domain has no MX record and no null MX",
    at(Severity::Low),
    "Without MX, senders fall back to the domain's own A/AAAA record (RFC 5321 §5.1) or keep \
     retrying. A domain that receives mail should name its MX hosts; one that does not should \
     publish the null MX `0 .` so senders fail at once.",
    dns_fix("Publish `MX 10 <mail host>.` or, for a domain without mail, the null MX `MX 0 .`."),
    &[
        Reference::rfc("RFC 5321", "5.1", "the implicit MX"),
        Reference::rfc("RFC 7505", "3", "the null MX"),
    ],
    no_mx,
);

fn no_mx(v: &DomainView<'_>) -> Vec<DomainHit> {
    let l = &v.obs.mx.lookup;
    if !l.outcome.is_negative() {
        return Vec::new();
    }
    let mut ev = vec![lookup_evidence(l)];
    ev.extend(v.obs.mx.implicit.iter().map(lookup_evidence));
    vec![DomainHit::domain(
        v,
        format!("no MX record for {} ({})", v.obs.domain, l.outcome.as_str()),
        ev,
    )]
}

/// MW-DNS-005.
pub(crate) const MX_UNRESOLVABLE: Rule = rule(
    "MW-DNS-005",
    "mx-host-unresolvable",
    Family::Dns,
    "An MX host has no address",
    at(Severity::High),
    "Senders cannot deliver to an MX host without an A or AAAA record; with every host in that \
     state the domain receives no mail. A CNAME or a typo in the MX target is the usual cause.",
    dns_fix("Point the MX at a host name with A/AAAA records (never at a CNAME or an IP literal)."),
    &[Reference::rfc(
        "RFC 5321",
        "5.1",
        "MX targets must resolve to addresses",
    )],
    mx_unresolvable,
);

fn mx_unresolvable(v: &DomainView<'_>) -> Vec<DomainHit> {
    v.obs
        .mx
        .hosts
        .iter()
        .filter(|h| h.addresses.is_empty() && h.lookups.iter().all(|l| l.outcome.is_negative()))
        .map(|h| DomainHit {
            target: h.name.clone(),
            address: None,
            hit: crate::facts::Hit::new(
                format!("MX host {} has no A or AAAA record", h.name),
                h.lookups.iter().map(lookup_evidence).collect(),
            ),
        })
        .collect()
}

/// MW-DNS-006.
pub(crate) const FCRDNS_MISSING: Rule = rule(
    "MW-DNS-006",
    "mx-fcrdns-missing",
    Family::Dns,
    "An MX address has no forward-confirmed reverse DNS",
    at(Severity::Low),
    "Receivers check that a sending address's PTR names a host that resolves back to it; MX hosts \
     usually also send (bounces, forwarding), and mail from an address without forward-confirmed \
     reverse DNS is often rejected or scored as spam.",
    dns_fix(
        "Ask the address's owner (hosting provider) for a PTR naming the MX host, and give \
             that name an A/AAAA record with the same address.",
    ),
    &[Reference::rfc(
        "RFC 8601",
        "2.7.3",
        "iprev: forward-confirmed reverse DNS",
    )],
    fcrdns,
);

fn fcrdns(v: &DomainView<'_>) -> Vec<DomainHit> {
    v.obs
        .fcrdns
        .iter()
        .filter(|f| f.confirmed.is_empty() && !f.ptr.outcome.is_failure())
        .map(|f| {
            let mut ev = vec![lookup_evidence(&f.ptr)];
            ev.extend(f.forward.iter().map(lookup_evidence));
            DomainHit {
                target: f.host.clone(),
                address: None,
                hit: crate::facts::Hit::new(
                    format!(
                        "the MX address {} ({}) has no forward-confirmed reverse DNS",
                        f.address, f.host
                    ),
                    ev,
                ),
            }
        })
        .collect()
}

/// MW-DNS-007.
pub(crate) const MX_INCONSISTENT: Rule = rule(
    "MW-DNS-007",
    "mx-addresses-inconsistent",
    Family::Dns,
    "The addresses of one MX host present different certificates or TLS",
    at(Severity::Medium),
    "Senders pick any address of an MX host. When one address presents another certificate, \
     another TLS version or no TLS at all, delivery succeeds or fails by chance, DANE and MTA-STS \
     checks pass on one address and fail on another, and problems are hard to reproduce.",
    dns_fix(
        "Deploy the same certificate and TLS configuration on every address of the MX host \
             (IPv4 and IPv6, every node behind it).",
    ),
    &[Reference::rfc(
        "RFC 7672",
        "3.1",
        "every MX address must match the TLSA records",
    )],
    inconsistent,
);

fn inconsistent(v: &DomainView<'_>) -> Vec<DomainHit> {
    let mut by_host: BTreeMap<&str, Vec<&mailwarden_model::MxTlsObservation>> = BTreeMap::new();
    for t in &v.obs.mx_tls {
        by_host.entry(t.host.as_str()).or_default().push(t);
    }
    let mut out = Vec::new();
    for (host, list) in by_host {
        let key = |t: &&mailwarden_model::MxTlsObservation| {
            (t.tls, t.version.clone(), t.leaf_sha256.clone())
        };
        let Some(first) = list.first().map(key) else {
            continue;
        };
        if list.len() < 2 || list.iter().all(|t| key(t) == first) {
            continue;
        }
        let lines: Vec<String> = list
            .iter()
            .map(|t| {
                format!(
                    "{}: tls={} version={} leaf sha256={}",
                    t.address,
                    t.tls,
                    t.version.as_deref().unwrap_or("-"),
                    t.leaf_sha256.as_deref().unwrap_or("-")
                )
            })
            .collect();
        out.push(DomainHit {
            target: host.to_owned(),
            address: None,
            hit: crate::facts::Hit::new(
                format!(
                    "the {} addresses of {host} differ in TLS or certificate",
                    list.len()
                ),
                vec![facts("TLS per address", lines)],
            ),
        });
    }
    out
}
