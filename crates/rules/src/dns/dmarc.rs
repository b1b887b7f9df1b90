//! DMARC rules (RFC 7489).

use mailwarden_model::{DnsOutcome, DnssecStatus, Severity};

use super::{DomainHit, DomainView, at, dns_fix, facts, lookup_evidence, rule};
use crate::Family;
use crate::catalogue::{Reference, Rule};

fn evidence(v: &DomainView<'_>) -> Vec<mailwarden_model::Evidence> {
    let mut ev = vec![lookup_evidence(&v.obs.dmarc.lookup)];
    ev.extend(v.obs.dmarc.org_lookup.iter().map(lookup_evidence));
    ev
}

/// MW-DMARC-001.
pub(crate) const DMARC_MISSING: Rule = rule(
    "MW-DMARC-001",
    "dmarc-missing",
    Family::Dmarc,
    "No DMARC policy applies to the domain",
    at(Severity::Medium),
    "Without DMARC, receivers have no instruction for mail that fails SPF and DKIM in the visible \
     From domain, and the owner gets no reports of who sends in the domain's name.",
    dns_fix(
        "Publish `_dmarc.<domain> TXT \"v=DMARC1; p=none; rua=mailto:...\"`, read the reports, \
             then move to `p=quarantine` and `p=reject`.",
    ),
    &[Reference::rfc("RFC 7489", "6.6.3", "policy discovery")],
    missing,
);

fn missing(v: &DomainView<'_>) -> Vec<DomainHit> {
    let d = &v.obs.dmarc;
    let concluded = |l: &mailwarden_model::DnsLookup| {
        matches!(
            l.outcome,
            DnsOutcome::Answer | DnsOutcome::Nxdomain | DnsOutcome::Nodata
        ) && l.dnssec != DnssecStatus::Bogus
    };
    let all_concluded = concluded(&d.lookup) && d.org_lookup.as_ref().is_none_or(concluded);
    if !d.records.is_empty() || !all_concluded {
        return Vec::new();
    }
    vec![DomainHit::domain(
        v,
        format!(
            "no DMARC record at _dmarc.{} (organizational domain {})",
            v.obs.domain, d.organizational_domain
        ),
        evidence(v),
    )]
}

/// MW-DMARC-002.
pub(crate) const DMARC_MULTIPLE: Rule = rule(
    "MW-DMARC-002",
    "dmarc-multiple-records",
    Family::Dmarc,
    "More than one DMARC record is published",
    at(Severity::High),
    "With several `v=DMARC1` records receivers must ignore them all: the domain has no DMARC policy.",
    dns_fix("Keep exactly one `v=DMARC1` TXT record at `_dmarc.<domain>`."),
    &[Reference::rfc(
        "RFC 7489",
        "6.6.3",
        "more than one record: no policy",
    )],
    multiple,
);

fn multiple(v: &DomainView<'_>) -> Vec<DomainHit> {
    if v.obs.dmarc.records.len() < 2 {
        return Vec::new();
    }
    vec![DomainHit::domain(
        v,
        format!(
            "{} DMARC records at _dmarc.{}",
            v.obs.dmarc.records.len(),
            v.obs.domain
        ),
        evidence(v),
    )]
}

/// MW-DMARC-003.
pub(crate) const DMARC_SYNTAX: Rule = rule(
    "MW-DMARC-003",
    "dmarc-syntax-error",
    Family::Dmarc,
    "The DMARC record has a syntax error",
    at(Severity::High),
    "Receivers ignore invalid tags, and a record without a valid `p` may be discarded entirely.",
    dns_fix(
        "Fix the tag at the reported position: `v=DMARC1` first, `p=none|quarantine|reject`, \
             `pct=0..100`, `rua`/`ruf` as comma-separated `mailto:` URIs.",
    ),
    &[Reference::rfc("RFC 7489", "6.4", "the record's grammar")],
    syntax,
);

fn syntax(v: &DomainView<'_>) -> Vec<DomainHit> {
    let d = &v.obs.dmarc;
    let Some(first) = d.errors.first() else {
        return Vec::new();
    };
    let record = d.records.first().cloned().unwrap_or_default();
    let lines: Vec<String> = std::iter::once(record.clone())
        .chain(d.errors.iter().map(|e| {
            format!(
                "{}^ at {}: {}",
                " ".repeat(e.position.min(record.len())),
                e.position,
                e.message
            )
        }))
        .collect();
    vec![DomainHit::domain(
        v,
        format!(
            "the DMARC record has {} error(s), first at {}: {}",
            d.errors.len(),
            first.position,
            first.message
        ),
        vec![facts("DMARC record", lines)],
    )]
}

fn policy_hit(v: &DomainView<'_>, summary: String) -> Vec<DomainHit> {
    vec![DomainHit::domain(
        v,
        summary,
        vec![facts("DMARC record", v.obs.dmarc.records.iter())],
    )]
}

/// MW-DMARC-004.
pub(crate) const DMARC_NONE: Rule = rule(
    "MW-DMARC-004",
    "dmarc-policy-none",
    Family::Dmarc,
    "The DMARC policy is `p=none` (monitoring only)",
    at(Severity::Medium),
    "`p=none` asks receivers to deliver mail that fails DMARC as if there were no policy: forged \
     mail in the domain's name is still delivered. It is a first step, not a protection.",
    dns_fix(
        "Once the reports show every legitimate sender aligned, move to `p=quarantine`, then \
             `p=reject`.",
    ),
    &[Reference::rfc(
        "RFC 7489",
        "6.3",
        "p: requested handling policy",
    )],
    none,
);

fn none(v: &DomainView<'_>) -> Vec<DomainHit> {
    match v.obs.dmarc.policy.as_ref().and_then(|p| p.p.as_deref()) {
        Some("none") if v.obs.dmarc.records.len() == 1 => {
            policy_hit(v, format!("the DMARC policy of {} is p=none", v.obs.domain))
        }
        _ => Vec::new(),
    }
}

/// MW-DMARC-005.
pub(crate) const DMARC_SUBDOMAIN_WEAKER: Rule = rule(
    "MW-DMARC-005",
    "dmarc-subdomain-policy-weaker",
    Family::Dmarc,
    "The DMARC subdomain policy (`sp`) is weaker than `p`",
    at(Severity::Low),
    "Forgers can use any subdomain (`invoice.example.org`) to escape the stricter policy.",
    dns_fix("Set `sp` to the same value as `p` (or drop `sp`, which then defaults to `p`)."),
    &[Reference::rfc(
        "RFC 7489",
        "6.3",
        "sp: policy for subdomains",
    )],
    sub_weaker,
);

fn strength(p: &str) -> u8 {
    match p {
        "reject" => 2,
        "quarantine" => 1,
        _ => 0,
    }
}

fn sub_weaker(v: &DomainView<'_>) -> Vec<DomainHit> {
    let Some(policy) = &v.obs.dmarc.policy else {
        return Vec::new();
    };
    match (policy.p.as_deref(), policy.sp.as_deref()) {
        (Some(p), Some(sp)) if strength(sp) < strength(p) => policy_hit(
            v,
            format!(
                "the DMARC of {}: sp={sp} is weaker than p={p}",
                v.obs.domain
            ),
        ),
        _ => Vec::new(),
    }
}

/// MW-DMARC-006.
pub(crate) const DMARC_PARTIAL: Rule = rule(
    "MW-DMARC-006",
    "dmarc-partial-pct",
    Family::Dmarc,
    "The DMARC policy applies to only part of the mail (`pct` < 100)",
    at(Severity::Medium),
    "With `pct` below 100 receivers apply the policy to a sample only; the rest of the failing mail \
     is handled one step weaker (reject as quarantine, quarantine as none).",
    dns_fix("Raise `pct` to 100 (or remove it) once the reports are clean."),
    &[Reference::rfc(
        "RFC 7489",
        "6.3",
        "pct: percentage of messages",
    )],
    partial,
);

fn partial(v: &DomainView<'_>) -> Vec<DomainHit> {
    match &v.obs.dmarc.policy {
        Some(p) if p.pct < 100 => policy_hit(
            v,
            format!(
                "the DMARC of {} applies to {}% of mail",
                v.obs.domain, p.pct
            ),
        ),
        _ => Vec::new(),
    }
}

/// MW-DMARC-007.
pub(crate) const DMARC_NO_RUA: Rule = rule(
    "MW-DMARC-007",
    "dmarc-no-aggregate-reports",
    Family::Dmarc,
    "The DMARC record asks for no aggregate reports (`rua`)",
    at(Severity::Low),
    "Without `rua` the owner never learns who sends in the domain's name or which legitimate \
     senders fail, which is what makes moving to `p=reject` safe.",
    dns_fix("Add `rua=mailto:dmarc-reports@<domain>` (or a reporting service's address)."),
    &[Reference::rfc("RFC 7489", "7.2", "aggregate reports")],
    no_rua,
);

fn no_rua(v: &DomainView<'_>) -> Vec<DomainHit> {
    match &v.obs.dmarc.policy {
        Some(p) if p.rua.is_empty() && v.obs.dmarc.records.len() == 1 => {
            policy_hit(v, format!("the DMARC of {} has no rua", v.obs.domain))
        }
        _ => Vec::new(),
    }
}

/// MW-DMARC-008.
pub(crate) const DMARC_EXTERNAL_UNAUTHORIZED: Rule = rule(
    "MW-DMARC-008",
    "dmarc-external-destination-unauthorized",
    Family::Dmarc,
    "A DMARC report address in another domain has not authorized the reports",
    at(Severity::Medium),
    "Receivers send reports to a domain outside the organizational domain only when it publishes \
     `<domain>._report._dmarc.<destination>`: without it the reports are never sent.",
    dns_fix(
        "Have the destination publish `<your domain>._report._dmarc.<destination> TXT \
             \"v=DMARC1\"`, or use an address in your own domain.",
    ),
    &[Reference::rfc(
        "RFC 7489",
        "7.1",
        "verifying external destinations",
    )],
    external,
);

fn external(v: &DomainView<'_>) -> Vec<DomainHit> {
    v.obs
        .dmarc
        .external_destinations
        .iter()
        .filter(|d| !d.authorized && !d.lookup.outcome.is_failure())
        .map(|d| {
            DomainHit::domain(
                v,
                format!(
                    "the report destination {} has not authorized DMARC reports for {} ({})",
                    d.domain, v.obs.domain, d.uri
                ),
                vec![lookup_evidence(&d.lookup)],
            )
        })
        .collect()
}
