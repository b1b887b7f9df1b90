//! Domain rules: what a mail domain publishes in DNS (SPF, DMARC, DKIM,
//! MTA-STS, TLS-RPT, DANE, DNSSEC, MX) and whether it holds up against the
//! certificates the MX addresses really presented.
//!
//! They read [`DomainObservation`]s (carried by
//! [`AssessContext::domains`](crate::AssessContext)) and the endpoint
//! observations of the same scan. Domain rules concern server-to-server mail,
//! so their severities are declared for the `mx` context.
//!
//! A lookup that failed (SERVFAIL, timeout, REFUSED) never counts as "no
//! record": the record rules stay silent and `dns-lookup-failed` says what
//! could not be assessed.

pub(crate) mod dane;
pub(crate) mod dkim;
pub(crate) mod dmarc;
pub(crate) mod mtasts;
pub(crate) mod records;
pub(crate) mod spf;

use std::net::SocketAddr;

use jiff::Timestamp;
use mailwarden_model::{
    Attempt, DnsLookup, DomainObservation, EndpointObservation, Evidence, Finding, Line,
    MtaStsPolicy,
};

use crate::catalogue::{Check, Reference, Remediation, Rule, Severities, catalogue};
use crate::facts::{Hit, evidence, fact_lines};
use crate::{AssessContext, Context, Family};

/// What a domain check sees.
pub(crate) struct DomainView<'a> {
    /// The domain's observations.
    pub obs: &'a DomainObservation,
    /// Every endpoint of the scan (the MX hosts' among them).
    #[allow(dead_code)]
    pub endpoints: &'a [EndpointObservation],
    /// The instant certificates are judged at.
    #[allow(dead_code)]
    pub scan_time: Timestamp,
}

/// A domain finding before the engine adds the rule's identity.
pub(crate) struct DomainHit {
    /// The domain, or the MX host it is about.
    pub target: String,
    /// The endpoint, when the finding is about one address.
    pub address: Option<SocketAddr>,
    /// The sentence and the proof.
    pub hit: Hit,
}

impl DomainHit {
    /// A hit about the domain itself.
    pub fn domain(view: &DomainView<'_>, summary: String, evidence: Vec<Evidence>) -> DomainHit {
        DomainHit {
            target: view.obs.domain.clone(),
            address: None,
            hit: Hit::new(summary, evidence),
        }
    }
}

/// The same remediation for every server: these are DNS or web fixes.
pub(crate) const fn dns_fix(text: &'static str) -> Remediation {
    Remediation {
        generic: text,
        postfix: text,
        dovecot: text,
        exim: text,
    }
}

/// A domain rule, declared in one line per field.
#[allow(clippy::too_many_arguments)]
pub(crate) const fn rule(
    id: &'static str,
    name: &'static str,
    family: Family,
    title: &'static str,
    severities: Severities,
    rationale: &'static str,
    remediation: Remediation,
    references: &'static [Reference],
    check: fn(&DomainView<'_>) -> Vec<DomainHit>,
) -> Rule {
    Rule {
        id,
        name,
        family,
        title,
        severities,
        rationale,
        remediation,
        references,
        check: Check::Domain(check),
    }
}

/// Severities of a domain rule: `severity` in the `mx` context only.
pub(crate) const fn at(severity: mailwarden_model::Severity) -> Severities {
    Severities {
        mx: crate::catalogue::Level::Default,
        ..Severities::only(severity)
    }
}

/// Evidence: one lookup's summary and records.
pub(crate) fn lookup_evidence(l: &DnsLookup) -> Evidence {
    let mut lines = vec![Line::from(l.summary().as_str())];
    lines.extend(l.records.iter().map(|r| Line::from(r.as_str())));
    evidence(format!("{} {}", l.name, l.rtype), lines)
}

/// Evidence made of stated facts.
pub(crate) fn facts<I, S>(label: &str, items: I) -> Evidence
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    evidence(label, fact_lines(items))
}

/// The MTA-STS policy, when it was fetched and parsed.
pub(crate) fn sts_policy(obs: &DomainObservation) -> Option<&MtaStsPolicy> {
    match &obs.mta_sts.policy {
        Attempt::Completed { value } => value.policy.as_ref(),
        _ => None,
    }
}

/// RFC 8461 §4.1: `mx.example.com` matches itself; `*.example.com` matches
/// exactly one more label on the left.
pub fn mx_pattern_matches(pattern: &str, host: &str) -> bool {
    let pattern = pattern.trim().trim_end_matches('.').to_ascii_lowercase();
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    match pattern.strip_prefix("*.") {
        Some(parent) => host
            .split_once('.')
            .is_some_and(|(label, rest)| !label.is_empty() && rest == parent),
        None => pattern == host,
    }
}

/// True when senders check this MX host's certificate identity (names,
/// validity, trust): an enforced MTA-STS policy (fetched over valid HTTPS)
/// covering it, or a secure TLSA set for port 25 with a DANE-TA (2) record.
/// DANE-EE (3) alone pins the key and ignores names and dates (RFC 7672
/// §3.1.1), so it does not make those findings more severe;
/// `dane-no-match` covers it.
pub fn mx_authenticated(obs: &DomainObservation, host: &str) -> bool {
    let dane = obs.dane.iter().any(|d| {
        d.host == host
            && d.port == 25
            && dane::usable_and_secure(d)
            && d.records.iter().any(|r| r.usage == 2)
    });
    let sts = sts_policy(obs).is_some_and(|p| {
        p.mode.as_deref() == Some("enforce") && p.mx.iter().any(|m| mx_pattern_matches(m, host))
    }) && mtasts::policy_host_valid(obs);
    dane || sts
}

/// The findings of every domain rule on every domain of the context.
pub(crate) fn findings(endpoints: &[EndpointObservation], ctx: &AssessContext) -> Vec<Finding> {
    let mut out = Vec::new();
    for obs in &ctx.domains {
        let view = DomainView {
            obs,
            endpoints,
            scan_time: ctx.scan_time,
        };
        for rule in catalogue() {
            let Check::Domain(check) = rule.check else {
                continue;
            };
            let Some(severity) = rule.severities.for_context(Context::Mx, false) else {
                continue;
            };
            for h in check(&view) {
                out.push(Finding {
                    rule_id: rule.id.to_owned(),
                    rule: rule.name.to_owned(),
                    severity,
                    target: h.target,
                    address: h.address,
                    context: "domain".to_owned(),
                    summary: h.hit.summary,
                    evidence: h.hit.evidence,
                    remediation: rule.remediation.generic.to_owned(),
                });
            }
        }
    }
    out
}

/// Every lookup of a domain observation, for the failure rule.
pub(crate) fn all_lookups(obs: &DomainObservation) -> Vec<&DnsLookup> {
    let mut v: Vec<&DnsLookup> = vec![&obs.mx.lookup];
    v.extend(obs.mx.implicit.iter());
    for h in &obs.mx.hosts {
        v.extend(h.lookups.iter());
    }
    for s in &obs.srv {
        v.push(&s.lookup);
        for t in &s.targets {
            v.extend(t.lookups.iter());
        }
    }
    v.push(&obs.spf.lookup);
    if let Some(e) = &obs.spf.expansion {
        v.extend(e.nodes.iter().skip(1).map(|n| &n.lookup));
    }
    v.push(&obs.dmarc.lookup);
    v.extend(obs.dmarc.org_lookup.iter());
    v.extend(obs.dmarc.external_destinations.iter().map(|d| &d.lookup));
    v.extend(obs.dkim.iter().map(|d| &d.lookup));
    v.push(&obs.mta_sts.lookup);
    v.push(&obs.tls_rpt.lookup);
    v.extend(obs.dane.iter().map(|d| &d.lookup));
    for f in &obs.fcrdns {
        v.push(&f.ptr);
        v.extend(f.forward.iter());
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mta_sts_patterns() {
        assert!(mx_pattern_matches("mx.example.com", "MX.example.com."));
        assert!(mx_pattern_matches("*.example.com", "mx1.example.com"));
        assert!(!mx_pattern_matches("*.example.com", "a.b.example.com"));
        assert!(!mx_pattern_matches("*.example.com", "example.com"));
        assert!(!mx_pattern_matches("mx.other.test", "mx.weak.test"));
    }
}
