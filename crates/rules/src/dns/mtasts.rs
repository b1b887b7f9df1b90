//! MTA-STS (RFC 8461) and TLS-RPT (RFC 8460) rules.

use mailwarden_model::{Attempt, DomainObservation, MtaStsPolicyFetch, Severity};

use super::{
    DomainHit, DomainView, at, dns_fix, facts, lookup_evidence, mx_pattern_matches, rule,
    sts_policy,
};
use crate::Family;
use crate::catalogue::{Reference, Rule};

fn fetch(obs: &DomainObservation) -> Option<&MtaStsPolicyFetch> {
    match &obs.mta_sts.policy {
        Attempt::Completed { value } => Some(value),
        _ => None,
    }
}

/// True when the policy came over HTTPS with a valid certificate for the
/// policy host (RFC 8461 §3.3).
pub(crate) fn policy_host_valid(obs: &DomainObservation) -> bool {
    fetch(obs)
        .and_then(|f| f.tls.certificate_chain.as_ref().filter(|_| f.tls.completed))
        .is_some_and(|c| c.validation.trusted && c.name_check.matched)
}

fn enforce(obs: &DomainObservation) -> bool {
    sts_policy(obs).is_some_and(|p| p.mode.as_deref() == Some("enforce"))
}

/// MW-MTASTS-001.
pub(crate) const MTASTS_MISSING: Rule = rule(
    "MW-MTASTS-001",
    "mta-sts-missing",
    Family::MtaSts,
    "The domain has neither MTA-STS nor DANE",
    at(Severity::Low),
    "Without MTA-STS or DANE, senders use TLS opportunistically: an attacker on the path can strip \
     STARTTLS or present any certificate, and mail is delivered in clear or to the attacker.",
    dns_fix(
        "Publish `_mta-sts.<domain> TXT \"v=STSv1; id=...\"` and a policy at \
             `https://mta-sts.<domain>/.well-known/mta-sts.txt` (mode testing, then enforce), or \
             sign the zone and publish TLSA records.",
    ),
    &[Reference::rfc("RFC 8461", "3", "policy discovery")],
    missing,
);

fn missing(v: &DomainView<'_>) -> Vec<DomainHit> {
    let l = &v.obs.mta_sts.lookup;
    let dane = v.obs.dane.iter().any(|d| !d.records.is_empty());
    if dane || v.obs.mx.null_mx || l.outcome.is_failure() || !v.obs.mta_sts.records.is_empty() {
        return Vec::new();
    }
    vec![DomainHit::domain(
        v,
        format!("neither MTA-STS nor DANE for {}", v.obs.domain),
        vec![lookup_evidence(l)],
    )]
}

/// MW-MTASTS-002.
pub(crate) const MTASTS_RECORD_INVALID: Rule = rule(
    "MW-MTASTS-002",
    "mta-sts-record-invalid",
    Family::MtaSts,
    "The `_mta-sts` record is malformed or published more than once",
    at(Severity::Medium),
    "Senders ignore an invalid or ambiguous record, so policy updates (a new `id`) are never \
     fetched.",
    dns_fix("Publish exactly one `v=STSv1; id=<1-32 letters and digits>` TXT record."),
    &[Reference::rfc("RFC 8461", "3.1", "the TXT record")],
    record_invalid,
);

fn record_invalid(v: &DomainView<'_>) -> Vec<DomainHit> {
    let m = &v.obs.mta_sts;
    let problem = if m.records.len() > 1 {
        format!("{} MTA-STS records", m.records.len())
    } else if let Some(e) = m.errors.first() {
        format!(
            "the MTA-STS record is malformed at {}: {}",
            e.position, e.message
        )
    } else {
        return Vec::new();
    };
    vec![DomainHit::domain(
        v,
        problem,
        vec![lookup_evidence(&m.lookup)],
    )]
}

/// MW-MTASTS-003.
pub(crate) const MTASTS_POLICY_UNAVAILABLE: Rule = rule(
    "MW-MTASTS-003",
    "mta-sts-policy-unavailable",
    Family::MtaSts,
    "The MTA-STS policy cannot be fetched",
    at(Severity::High),
    "The record promises a policy that senders cannot get (no address, connection refused, TLS \
     failure, HTTP error or redirect): new senders get no protection, and senders with a cached \
     policy cannot refresh it.",
    dns_fix(
        "Serve the policy at `https://mta-sts.<domain>/.well-known/mta-sts.txt` with status \
             200, `Content-Type: text/plain` and no redirect.",
    ),
    &[Reference::rfc("RFC 8461", "3.3", "HTTPS policy fetching")],
    unavailable,
);

fn unavailable(v: &DomainView<'_>) -> Vec<DomainHit> {
    let why = match &v.obs.mta_sts.policy {
        Attempt::Skipped { .. } => return Vec::new(),
        Attempt::Failed { error } => error.to_string(),
        Attempt::Completed { value } => match &value.error {
            Some(e)
                if value.tls.completed
                    || value.status != 0
                    || value.tls.certificate_chain.is_none() =>
            {
                format!("{}: {e}", value.url)
            }
            Some(e) => format!("{}: {e}", value.url),
            None => return Vec::new(),
        },
    };
    vec![DomainHit::domain(
        v,
        format!(
            "the MTA-STS policy of {} cannot be fetched: {why}",
            v.obs.domain
        ),
        vec![facts("policy fetch", [why.clone()])],
    )]
}

/// MW-MTASTS-004.
pub(crate) const MTASTS_POLICY_HOST_CERT: Rule = rule(
    "MW-MTASTS-004",
    "mta-sts-policy-host-certificate-invalid",
    Family::MtaSts,
    "The MTA-STS policy host's certificate is not valid for it",
    at(Severity::High),
    "Senders fetch the policy only over HTTPS with a certificate valid for `mta-sts.<domain>`; \
     otherwise they discard it and fall back to opportunistic TLS.",
    dns_fix("Serve `mta-sts.<domain>` with a publicly trusted certificate naming that host."),
    &[Reference::rfc(
        "RFC 8461",
        "3.3",
        "the policy host must present a valid certificate",
    )],
    host_cert,
);

fn host_cert(v: &DomainView<'_>) -> Vec<DomainHit> {
    let Some(f) = fetch(v.obs) else {
        return Vec::new();
    };
    let Some(chain) = &f.tls.certificate_chain else {
        return Vec::new();
    };
    if chain.validation.trusted && chain.name_check.matched {
        return Vec::new();
    }
    let mut lines = Vec::new();
    if let Some(e) = &chain.validation.error {
        lines.push(format!("validation: {e}"));
    }
    if !chain.name_check.matched {
        let names = chain
            .leaf()
            .map(|l| l.dns_names.join(", "))
            .unwrap_or_default();
        lines.push(format!(
            "not valid for {} (names: {names})",
            chain.name_check.name
        ));
    }
    vec![DomainHit::domain(
        v,
        format!(
            "the certificate of {} is not valid for it",
            chain.name_check.name
        ),
        vec![facts("policy host certificate", lines)],
    )]
}

/// MW-MTASTS-005.
pub(crate) const MTASTS_POLICY_INVALID: Rule = rule(
    "MW-MTASTS-005",
    "mta-sts-policy-invalid",
    Family::MtaSts,
    "The MTA-STS policy file is malformed",
    at(Severity::Medium),
    "Senders discard a policy without a valid `version`, `mode`, `max_age` and `mx` lines, or \
     served with another media type than text/plain.",
    dns_fix(
        "Serve `version: STSv1`, `mode: enforce`, one `mx:` line per MX pattern and \
             `max_age: 604800`, as text/plain with CRLF line ends.",
    ),
    &[Reference::rfc("RFC 8461", "3.2", "the policy file")],
    policy_invalid,
);

fn policy_invalid(v: &DomainView<'_>) -> Vec<DomainHit> {
    let Some(f) = fetch(v.obs) else {
        return Vec::new();
    };
    let Some(p) = &f.policy else {
        return Vec::new();
    };
    let mut lines: Vec<String> = p.errors.iter().map(|e| e.message.clone()).collect();
    let ct = f.content_type.as_deref().unwrap_or("");
    if !ct.to_ascii_lowercase().starts_with("text/plain") {
        lines.push(format!("Content-Type is {ct:?}, not text/plain"));
    }
    if lines.is_empty() {
        return Vec::new();
    }
    vec![DomainHit::domain(
        v,
        format!(
            "the MTA-STS policy of {} is malformed: {}",
            v.obs.domain,
            lines.join("; ")
        ),
        vec![facts("policy", f.body.lines())],
    )]
}

/// MW-MTASTS-006.
pub(crate) const MTASTS_NOT_ENFORCED: Rule = rule(
    "MW-MTASTS-006",
    "mta-sts-not-enforced",
    Family::MtaSts,
    "The MTA-STS policy is in `testing` or `none` mode",
    at(Severity::Low),
    "In testing mode senders only report failures (with TLS-RPT) and deliver anyway; `none` \
     withdraws the policy. Neither protects against downgrade.",
    dns_fix("Move to `mode: enforce` once TLS-RPT reports show no failures."),
    &[Reference::rfc("RFC 8461", "5", "policy modes")],
    not_enforced,
);

fn not_enforced(v: &DomainView<'_>) -> Vec<DomainHit> {
    match sts_policy(v.obs).and_then(|p| p.mode.as_deref()) {
        Some(m @ ("testing" | "none")) => vec![DomainHit::domain(
            v,
            format!("the MTA-STS policy of {} is in mode {m}", v.obs.domain),
            vec![facts("policy mode", [m])],
        )],
        _ => Vec::new(),
    }
}

/// MW-MTASTS-007.
pub(crate) const MTASTS_MX_NOT_COVERED: Rule = rule(
    "MW-MTASTS-007",
    "mta-sts-mx-not-covered",
    Family::MtaSts,
    "An MX host is not matched by any `mx` pattern of the enforced MTA-STS policy",
    at(Severity::High),
    "In enforce mode senders refuse to deliver to an MX host the policy does not list: mail to that \
     host fails (and with every host unlisted, all mail to the domain fails).",
    dns_fix(
        "Add an `mx:` line for the host (or a `*.` pattern covering it) and change the record's \
             `id` so senders refresh the policy.",
    ),
    &[Reference::rfc("RFC 8461", "4.1", "MX host validation")],
    mx_not_covered,
);

fn mx_not_covered(v: &DomainView<'_>) -> Vec<DomainHit> {
    let Some(p) = sts_policy(v.obs).filter(|_| enforce(v.obs)) else {
        return Vec::new();
    };
    v.obs
        .mx
        .hosts
        .iter()
        .filter(|h| !p.mx.iter().any(|m| mx_pattern_matches(m, &h.name)))
        .map(|h| DomainHit {
            target: h.name.clone(),
            address: None,
            hit: crate::facts::Hit::new(
                format!(
                    "MX host {} is not covered by the MTA-STS policy ({})",
                    h.name,
                    p.mx.join(", ")
                ),
                vec![facts("policy mx patterns", p.mx.iter())],
            ),
        })
        .collect()
}

/// MW-MTASTS-008.
pub(crate) const MTASTS_MX_CERT: Rule = rule(
    "MW-MTASTS-008",
    "mta-sts-mx-certificate-invalid",
    Family::MtaSts,
    "Under an enforced MTA-STS policy, an MX address presents a certificate senders refuse",
    at(Severity::High),
    "MTA-STS senders require a certificate that chains to a trusted root and names the MX host \
     (RFC 8461 §4.2); with another, they do not deliver to that address.",
    dns_fix("Install a publicly trusted certificate naming the MX host on every MX address."),
    &[Reference::rfc(
        "RFC 8461",
        "4.2",
        "MX certificate validation",
    )],
    mx_cert,
);

fn mx_cert(v: &DomainView<'_>) -> Vec<DomainHit> {
    let Some(p) = sts_policy(v.obs).filter(|_| enforce(v.obs)) else {
        return Vec::new();
    };
    v.obs
        .mx_tls
        .iter()
        .filter(|t| p.mx.iter().any(|m| mx_pattern_matches(m, &t.host)))
        .filter_map(|t| {
            let name_ok = t
                .leaf_names
                .iter()
                .any(|n| n.eq_ignore_ascii_case(&t.host) || mx_pattern_matches(n, &t.host));
            let problem = if !t.tls {
                "no TLS handshake completed".to_owned()
            } else if !t.trusted {
                "the chain is not trusted".to_owned()
            } else if !name_ok {
                format!("the certificate names {}", t.leaf_names.join(", "))
            } else {
                return None;
            };
            Some(DomainHit {
                target: t.host.clone(),
                address: Some(t.address),
                hit: crate::facts::Hit::new(
                    format!(
                        "the MX address {} ({}) fails MTA-STS certificate validation: {problem}",
                        t.address, t.host
                    ),
                    vec![facts(
                        "MX TLS",
                        [format!(
                            "{}: tls={} trusted={} names={}",
                            t.address,
                            t.tls,
                            t.trusted,
                            t.leaf_names.join(",")
                        )],
                    )],
                ),
            })
        })
        .collect()
}

/// MW-MTASTS-009.
pub(crate) const MTASTS_MAX_AGE_SHORT: Rule = rule(
    "MW-MTASTS-009",
    "mta-sts-max-age-short",
    Family::MtaSts,
    "The MTA-STS policy's `max_age` is under one day",
    at(Severity::Low),
    "A short lifetime lets an attacker who blocks the policy fetch wait out the cache; RFC 8461 \
     suggests weeks.",
    dns_fix("Set `max_age: 604800` (a week) or more."),
    &[Reference::rfc(
        "RFC 8461",
        "3.2",
        "max_age: weeks or greater",
    )],
    max_age,
);

fn max_age(v: &DomainView<'_>) -> Vec<DomainHit> {
    match sts_policy(v.obs).and_then(|p| p.max_age) {
        Some(age) if age < 86_400 => vec![DomainHit::domain(
            v,
            format!("the MTA-STS max_age of {} is {age} s", v.obs.domain),
            vec![facts("max_age", [age.to_string()])],
        )],
        _ => Vec::new(),
    }
}

/// MW-TLSRPT-001.
pub(crate) const TLSRPT_MISSING: Rule = rule(
    "MW-TLSRPT-001",
    "tls-rpt-missing",
    Family::TlsRpt,
    "MTA-STS or DANE is published without a TLS-RPT record",
    at(Severity::Low),
    "Without TLS reporting the owner never learns that senders fail to deliver because of a \
     certificate, policy or TLSA mistake.",
    dns_fix("Publish `_smtp._tls.<domain> TXT \"v=TLSRPTv1; rua=mailto:tls-reports@<domain>\"`."),
    &[Reference::rfc(
        "RFC 8460",
        "3",
        "the reporting policy record",
    )],
    tlsrpt_missing,
);

fn tlsrpt_missing(v: &DomainView<'_>) -> Vec<DomainHit> {
    let uses =
        !v.obs.mta_sts.records.is_empty() || v.obs.dane.iter().any(|d| !d.records.is_empty());
    let l = &v.obs.tls_rpt.lookup;
    if !uses || !v.obs.tls_rpt.records.is_empty() || l.outcome.is_failure() {
        return Vec::new();
    }
    vec![DomainHit::domain(
        v,
        format!("no TLS-RPT record for {}", v.obs.domain),
        vec![lookup_evidence(l)],
    )]
}

/// MW-TLSRPT-002.
pub(crate) const TLSRPT_INVALID: Rule = rule(
    "MW-TLSRPT-002",
    "tls-rpt-invalid",
    Family::TlsRpt,
    "The TLS-RPT record is malformed or published more than once",
    at(Severity::Low),
    "Senders ignore an invalid record and send no reports.",
    dns_fix("Publish one `v=TLSRPTv1; rua=mailto:...` record (mailto: or https: URIs)."),
    &[Reference::rfc("RFC 8460", "3", "the record's grammar")],
    tlsrpt_invalid,
);

fn tlsrpt_invalid(v: &DomainView<'_>) -> Vec<DomainHit> {
    let t = &v.obs.tls_rpt;
    let problem = if t.records.len() > 1 {
        format!("{} TLS-RPT records", t.records.len())
    } else if let Some(e) = t.errors.first() {
        format!(
            "the TLS-RPT record is malformed at {}: {}",
            e.position, e.message
        )
    } else {
        return Vec::new();
    };
    vec![DomainHit::domain(
        v,
        problem,
        vec![lookup_evidence(&t.lookup)],
    )]
}
