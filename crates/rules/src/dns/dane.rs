//! DANE rules (RFC 7672, RFC 7671).

use mailwarden_model::{DaneObservation, DnsOutcome, DnssecStatus, Severity, TlsaRecord};

use super::{DomainHit, DomainView, at, dns_fix, facts, lookup_evidence, rule};
use crate::Family;
use crate::catalogue::{Reference, Rule};

fn usable(r: &TlsaRecord) -> bool {
    matches!(r.usage, 2 | 3) && r.selector <= 1 && r.matching_type <= 2
}

/// A TLSA set senders use: DNSSEC-secure records, a secure host, a usable record.
pub(crate) fn usable_and_secure(d: &DaneObservation) -> bool {
    d.lookup.dnssec == DnssecStatus::Secure
        && d.host_dnssec == DnssecStatus::Secure
        && d.records.iter().any(usable)
}

fn host_hit(
    d: &DaneObservation,
    summary: String,
    ev: Vec<mailwarden_model::Evidence>,
) -> DomainHit {
    DomainHit {
        target: d.host.clone(),
        address: None,
        hit: crate::facts::Hit::new(summary, ev),
    }
}

/// MW-DANE-001.
pub(crate) const DANE_INSECURE: Rule = rule(
    "MW-DANE-001",
    "dane-tlsa-insecure",
    Family::Dane,
    "TLSA records are published without DNSSEC",
    at(Severity::Medium),
    "Senders use TLSA records only when they and the MX host's address records validate as \
     DNSSEC-secure; unsigned TLSA records are ignored, so DANE protects nothing here.",
    dns_fix("Sign the zones of the TLSA records and of the MX host, and publish their DS records."),
    &[Reference::rfc(
        "RFC 7672",
        "2.2",
        "TLSA records must be DNSSEC-validated",
    )],
    insecure,
);

fn insecure(v: &DomainView<'_>) -> Vec<DomainHit> {
    v.obs
        .dane
        .iter()
        .filter(|d| !d.records.is_empty())
        .filter(|d| {
            d.lookup.dnssec == DnssecStatus::Insecure || d.host_dnssec == DnssecStatus::Insecure
        })
        .map(|d| {
            host_hit(
                d,
                format!(
                    "TLSA of {} port {} is not DNSSEC-secure (TLSA {}, host {})",
                    d.host,
                    d.port,
                    d.lookup.dnssec.as_str(),
                    d.host_dnssec.as_str()
                ),
                vec![lookup_evidence(&d.lookup)],
            )
        })
        .collect()
}

/// MW-DANE-002.
pub(crate) const DANE_NO_MATCH: Rule = rule(
    "MW-DANE-002",
    "dane-no-match",
    Family::Dane,
    "No TLSA record matches the certificate chain an MX address presents",
    at(Severity::High),
    "DANE senders compare the presented chain with the TLSA records and defer delivery when none \
     matches: mail from them to this address queues up and eventually bounces. A certificate or \
     key renewed without updating the TLSA records is the usual cause.",
    dns_fix(
        "Publish a TLSA record for the current key (`3 1 1 <SHA-256 of the SPKI>`) next to the \
             next key's, before every key change.",
    ),
    &[Reference::rfc(
        "RFC 7672",
        "3.1",
        "the chain must match a usable TLSA record",
    )],
    no_match,
);

fn no_match(v: &DomainView<'_>) -> Vec<DomainHit> {
    let mut out = Vec::new();
    for d in v.obs.dane.iter().filter(|d| usable_and_secure(d)) {
        for m in d
            .matches
            .iter()
            .filter(|m| m.chain_presented && m.matched.is_empty())
        {
            let records: Vec<String> = d
                .records
                .iter()
                .map(|r| format!("{} {} {} {}", r.usage, r.selector, r.matching_type, r.data))
                .collect();
            out.push(DomainHit {
                target: d.host.clone(),
                address: Some(m.address),
                hit: crate::facts::Hit::new(
                    format!(
                        "the MX address {} ({}) presents a chain no TLSA record matches: {}",
                        m.address, d.host, m.detail
                    ),
                    vec![facts(&format!("_{}._tcp.{} TLSA", d.port, d.host), records)],
                ),
            });
        }
    }
    out
}

/// MW-DANE-003.
pub(crate) const DANE_UNUSABLE: Rule = rule(
    "MW-DANE-003",
    "dane-unusable-records",
    Family::Dane,
    "The TLSA set has no record an SMTP sender can use",
    at(Severity::Medium),
    "SMTP senders use only DANE-TA (2) and DANE-EE (3) with selectors 0/1 and matching types 0-2; \
     PKIX-TA/PKIX-EE (0/1) records are unusable for SMTP, so the set protects nothing.",
    dns_fix(
        "Publish `3 1 1` records for the server key (and optionally `2 1 1` for the issuing CA).",
    ),
    &[Reference::rfc(
        "RFC 7672",
        "3.1.3",
        "PKIX usages are not for SMTP",
    )],
    unusable,
);

fn unusable(v: &DomainView<'_>) -> Vec<DomainHit> {
    v.obs
        .dane
        .iter()
        .filter(|d| !d.records.is_empty() && !d.records.iter().any(usable))
        .map(|d| {
            host_hit(
                d,
                format!("no usable TLSA record for {} port {}", d.host, d.port),
                vec![lookup_evidence(&d.lookup)],
            )
        })
        .collect()
}

/// MW-DANE-004.
pub(crate) const DANE_ROLLOVER_UNSAFE: Rule = rule(
    "MW-DANE-004",
    "dane-rollover-unsafe",
    Family::Dane,
    "The TLSA set has a single usable record",
    at(Severity::Low),
    "With one record, the next certificate or key change breaks delivery from DANE senders until \
     the record is updated and old answers expire. A safe set names the current and the next key, \
     or the server key and its issuing CA (`3 1 1` + `2 1 1`).",
    dns_fix("Publish a second record: the next key's `3 1 1`, or `2 1 1` for the issuing CA."),
    &[Reference::rfc(
        "RFC 7671",
        "8.1",
        "key rollover with TLSA records",
    )],
    rollover,
);

fn rollover(v: &DomainView<'_>) -> Vec<DomainHit> {
    v.obs
        .dane
        .iter()
        .filter(|d| d.records.iter().filter(|r| usable(r)).count() == 1)
        .map(|d| {
            host_hit(
                d,
                format!("one usable TLSA record for {} port {}", d.host, d.port),
                vec![lookup_evidence(&d.lookup)],
            )
        })
        .collect()
}

/// MW-DANE-005.
pub(crate) const DANE_NOT_DEPLOYED: Rule = rule(
    "MW-DANE-005",
    "dane-not-deployed",
    Family::Dane,
    "The MX host's zone is signed but publishes no TLSA record",
    at(Severity::Info),
    "DNSSEC is already in place; a TLSA record would let DANE senders authenticate the MX and \
     refuse downgrades.",
    dns_fix(
        "Publish `_25._tcp.<mx host> TLSA 3 1 1 <SHA-256 of the server's SPKI>` (and a second \
             record for rollover).",
    ),
    &[Reference::rfc(
        "RFC 7672",
        "",
        "SMTP security via opportunistic DANE TLS",
    )],
    not_deployed,
);

fn not_deployed(v: &DomainView<'_>) -> Vec<DomainHit> {
    v.obs
        .dane
        .iter()
        .filter(|d| d.port == 25 && d.host_dnssec == DnssecStatus::Secure)
        .filter(|d| {
            matches!(d.lookup.outcome, DnsOutcome::Nxdomain | DnsOutcome::Nodata)
                && d.lookup.dnssec == DnssecStatus::Secure
        })
        .map(|d| {
            host_hit(
                d,
                format!(
                    "the zone of {} is signed but publishes no TLSA record for port 25",
                    d.host
                ),
                vec![lookup_evidence(&d.lookup)],
            )
        })
        .collect()
}
