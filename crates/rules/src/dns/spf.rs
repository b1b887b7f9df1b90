//! SPF rules (RFC 7208).

use mailwarden_model::{Severity, SpfResult};

use super::{DomainHit, DomainView, at, dns_fix, facts, lookup_evidence, rule};
use crate::Family;
use crate::catalogue::{Reference, Rule};

const SPF_RFC: Reference = Reference::rfc("RFC 7208", "", "Sender Policy Framework");

fn record_evidence(v: &DomainView<'_>) -> Vec<mailwarden_model::Evidence> {
    vec![lookup_evidence(&v.obs.spf.lookup)]
}

/// The single SPF record, when exactly one exists.
fn the_record<'a>(v: &'a DomainView<'_>) -> Option<&'a str> {
    match v.obs.spf.records.as_slice() {
        [one] => Some(one.as_str()),
        _ => None,
    }
}

/// MW-SPF-001.
pub(crate) const SPF_MISSING: Rule = rule(
    "MW-SPF-001",
    "spf-missing",
    Family::Spf,
    "The domain publishes no SPF record",
    at(Severity::Medium),
    "Without SPF any host may send mail claiming the domain in its envelope, and DMARC can only \
     rely on DKIM. A domain that sends no mail at all should still say so with `v=spf1 -all`.",
    dns_fix(
        "Publish one TXT record `v=spf1 mx -all` (listing the hosts that really send), or \
             `v=spf1 -all` for a domain that sends no mail.",
    ),
    &[
        SPF_RFC,
        Reference::rfc("RFC 7208", "4.5", "selecting the record"),
    ],
    missing,
);

fn missing(v: &DomainView<'_>) -> Vec<DomainHit> {
    let l = &v.obs.spf.lookup;
    let no_record = l.outcome.is_negative()
        || (l.outcome == mailwarden_model::DnsOutcome::Answer
            && l.dnssec != mailwarden_model::DnssecStatus::Bogus
            && v.obs.spf.records.is_empty());
    if !no_record {
        return Vec::new();
    }
    vec![DomainHit::domain(
        v,
        format!("no SPF record at {}", v.obs.domain),
        record_evidence(v),
    )]
}

/// MW-SPF-002.
pub(crate) const SPF_MULTIPLE: Rule = rule(
    "MW-SPF-002",
    "spf-multiple-records",
    Family::Spf,
    "The domain publishes more than one SPF record",
    at(Severity::High),
    "With two `v=spf1` records, `check_host()` returns permerror for every message: receivers \
     treat the domain as having a broken policy, and DMARC loses SPF alignment.",
    dns_fix("Merge the records into a single `v=spf1` TXT record."),
    &[Reference::rfc(
        "RFC 7208",
        "4.5",
        "more than one record is a permerror",
    )],
    multiple,
);

fn multiple(v: &DomainView<'_>) -> Vec<DomainHit> {
    let n = v.obs.spf.records.len();
    if n < 2 {
        return Vec::new();
    }
    vec![DomainHit::domain(
        v,
        format!("{} has {n} SPF records", v.obs.domain),
        record_evidence(v),
    )]
}

/// MW-SPF-003.
pub(crate) const SPF_SYNTAX: Rule = rule(
    "MW-SPF-003",
    "spf-syntax-error",
    Family::Spf,
    "The SPF record (or one it includes) has a syntax error",
    at(Severity::High),
    "A syntax error makes `check_host()` return permerror wherever evaluation reaches it, so the \
     policy protects nothing and DMARC loses SPF alignment.",
    dns_fix(
        "Fix the term at the reported position (mechanism names, `ip4:`/`ip6:` networks, \
             prefix lengths, macros).",
    ),
    &[Reference::rfc("RFC 7208", "12", "the record's grammar")],
    syntax,
);

fn syntax(v: &DomainView<'_>) -> Vec<DomainHit> {
    let mut out = Vec::new();
    let Some(exp) = &v.obs.spf.expansion else {
        return out;
    };
    for node in &exp.nodes {
        if node.errors.is_empty() {
            continue;
        }
        let record = node.record.clone().unwrap_or_default();
        let lines: Vec<String> = std::iter::once(record.clone())
            .chain(node.errors.iter().map(|e| {
                format!(
                    "{}^ at {}: {}",
                    " ".repeat(e.position.min(record.len())),
                    e.position,
                    e.message
                )
            }))
            .collect();
        out.push(DomainHit::domain(
            v,
            format!(
                "the SPF record of {} has {} syntax error(s), first at {}: {}",
                node.domain,
                node.errors.len(),
                node.errors.first().map_or(0, |e| e.position),
                node.errors.first().map_or("", |e| e.message.as_str())
            ),
            vec![facts(&format!("SPF of {}", node.domain), lines)],
        ));
    }
    out
}

/// MW-SPF-004.
pub(crate) const SPF_TOO_MANY_LOOKUPS: Rule = rule(
    "MW-SPF-004",
    "spf-too-many-lookups",
    Family::Spf,
    "The SPF record needs more than 10 DNS lookups",
    at(Severity::High),
    "RFC 7208 limits `include`, `a`, `mx`, `ptr`, `exists` and `redirect` to 10 across the whole \
     evaluation; past the limit receivers return permerror. Every include counts with everything \
     it includes.",
    dns_fix(
        "Flatten includes (replace them with the `ip4:`/`ip6:` networks they stand for), drop \
             unused ones, and prefer `ip4:` over `a`/`mx`.",
    ),
    &[Reference::rfc(
        "RFC 7208",
        "4.6.4",
        "at most 10 DNS-querying terms",
    )],
    too_many,
);

fn tree_lines(v: &DomainView<'_>) -> Vec<String> {
    v.obs
        .spf
        .expansion
        .iter()
        .flat_map(|e| &e.nodes)
        .map(|n| {
            format!(
                "{}{} ({}): {}",
                "  ".repeat(n.depth as usize),
                n.domain,
                n.via,
                n.record.as_deref().unwrap_or(n.lookup.outcome.as_str())
            )
        })
        .collect()
}

fn too_many(v: &DomainView<'_>) -> Vec<DomainHit> {
    let Some(exp) = &v.obs.spf.expansion else {
        return Vec::new();
    };
    let over_eval = v
        .obs
        .spf
        .checks
        .iter()
        .find(|c| c.reason.contains("more than 10 DNS lookups"));
    if exp.dns_lookups <= 10 && over_eval.is_none() {
        return Vec::new();
    }
    vec![DomainHit::domain(
        v,
        format!(
            "the SPF record of {} needs {} DNS lookups (limit 10)",
            v.obs.domain, exp.dns_lookups
        ),
        vec![facts("include/redirect tree", tree_lines(v))],
    )]
}

/// MW-SPF-005.
pub(crate) const SPF_VOID_LOOKUPS: Rule = rule(
    "MW-SPF-005",
    "spf-too-many-void-lookups",
    Family::Spf,
    "The SPF record causes more than 2 void lookups",
    at(Severity::Medium),
    "Lookups that return no records (NXDOMAIN or NODATA) are limited to 2; past that receivers \
     return permerror. Stale includes and `a:`/`mx` terms naming hosts that no longer exist are \
     the cause.",
    dns_fix("Remove the terms naming domains or hosts that no longer exist."),
    &[Reference::rfc(
        "RFC 7208",
        "4.6.4",
        "at most 2 void lookups",
    )],
    voids,
);

fn voids(v: &DomainView<'_>) -> Vec<DomainHit> {
    let Some(exp) = &v.obs.spf.expansion else {
        return Vec::new();
    };
    let over_eval = v
        .obs
        .spf
        .checks
        .iter()
        .find(|c| c.reason.contains("void lookups"));
    if exp.void_lookups <= 2 && over_eval.is_none() {
        return Vec::new();
    }
    let mut lines = tree_lines(v);
    if let Some(c) = over_eval {
        lines.push(format!(
            "check_host({}) = {}: {}",
            c.ip,
            c.result.as_str(),
            c.reason
        ));
    }
    vec![DomainHit::domain(
        v,
        format!(
            "the SPF record of {} causes {} void lookups (limit 2)",
            v.obs.domain, exp.void_lookups
        ),
        vec![facts("include/redirect tree", lines)],
    )]
}

/// MW-SPF-006.
pub(crate) const SPF_LOOP: Rule = rule(
    "MW-SPF-006",
    "spf-include-loop",
    Family::Spf,
    "SPF includes or redirects loop back to a record already being evaluated",
    at(Severity::High),
    "A loop exhausts the lookup limit on every evaluation that reaches it: permerror.",
    dns_fix("Remove the include or redirect that points back up the chain."),
    &[Reference::rfc(
        "RFC 7208",
        "5.2",
        "include loops end in the lookup limit",
    )],
    loops,
);

fn loops(v: &DomainView<'_>) -> Vec<DomainHit> {
    let Some(exp) = &v.obs.spf.expansion else {
        return Vec::new();
    };
    if exp.loops.is_empty() {
        return Vec::new();
    }
    vec![DomainHit::domain(
        v,
        format!(
            "the SPF of {} loops back to {}",
            v.obs.domain,
            exp.loops.join(", ")
        ),
        vec![facts("include/redirect tree", tree_lines(v))],
    )]
}

/// MW-SPF-007.
pub(crate) const SPF_PTR: Rule = rule(
    "MW-SPF-007",
    "spf-ptr-mechanism",
    Family::Spf,
    "The SPF record uses the deprecated `ptr` mechanism",
    at(Severity::Low),
    "`ptr` is slow, unreliable and places load on the `.arpa` servers; RFC 7208 says it should not \
     be published, and some receivers ignore or penalize it.",
    dns_fix("Replace `ptr` with `ip4:`/`ip6:` networks or `a:` terms."),
    &[Reference::rfc("RFC 7208", "5.5", "ptr: do not use")],
    ptr,
);

fn ptr(v: &DomainView<'_>) -> Vec<DomainHit> {
    let n = v.obs.spf.expansion.as_ref().map_or(0, |e| e.ptr_terms);
    if n == 0 {
        return Vec::new();
    }
    vec![DomainHit::domain(
        v,
        format!("the SPF of {} uses `ptr` {n} time(s)", v.obs.domain),
        vec![facts("include/redirect tree", tree_lines(v))],
    )]
}

/// The qualifier of the top-level record's `all`, or `None` without one.
fn all_qualifier(v: &DomainView<'_>) -> Option<Option<char>> {
    the_record(v)?;
    let has_redirect = v.obs.spf.terms.iter().any(|t| t.kind == "redirect");
    match v.obs.spf.terms.iter().find(|t| t.kind == "all") {
        Some(t) => Some(t.qualifier),
        None if has_redirect => None,
        None => Some(None),
    }
}

fn all_hit(v: &DomainView<'_>, want: &[Option<char>], what: &str) -> Vec<DomainHit> {
    match all_qualifier(v) {
        Some(q) if want.contains(&q) => vec![DomainHit::domain(
            v,
            format!("the SPF record of {} ends in {what}", v.obs.domain),
            vec![facts("SPF record", v.obs.spf.records.iter())],
        )],
        _ => Vec::new(),
    }
}

/// MW-SPF-008.
pub(crate) const SPF_PASS_ALL: Rule = rule(
    "MW-SPF-008",
    "spf-pass-all",
    Family::Spf,
    "The SPF record authorizes every host (`+all`)",
    at(Severity::High),
    "`+all` says any address on the Internet may send for the domain: SPF passes for forgers, and \
     DMARC passes on SPF alignment for them too.",
    dns_fix("End the record with `-all` (or `~all` while DMARC is being rolled out)."),
    &[Reference::rfc("RFC 7208", "5.1", "all")],
    pass_all,
);

fn pass_all(v: &DomainView<'_>) -> Vec<DomainHit> {
    all_hit(v, &[Some('+')], "`+all`: every host is authorized")
}

/// MW-SPF-009.
pub(crate) const SPF_NEUTRAL_ALL: Rule = rule(
    "MW-SPF-009",
    "spf-neutral-all",
    Family::Spf,
    "The SPF record ends neutral (`?all`, or no `all` at all)",
    at(Severity::Medium),
    "A neutral result asserts nothing: receivers treat unauthorized hosts like unknown ones.",
    dns_fix("End the record with `-all` (or `~all` while DMARC is being rolled out)."),
    &[Reference::rfc(
        "RFC 7208",
        "4.7",
        "the default result is neutral",
    )],
    neutral_all,
);

fn neutral_all(v: &DomainView<'_>) -> Vec<DomainHit> {
    all_hit(v, &[Some('?'), None], "neutral (`?all` or no `all`)")
}

/// MW-SPF-010.
pub(crate) const SPF_SOFTFAIL_ALL: Rule = rule(
    "MW-SPF-010",
    "spf-softfail-all",
    Family::Spf,
    "The SPF record ends in softfail (`~all`)",
    at(Severity::Info),
    "Softfail asks receivers to accept but mark unauthorized mail. Harmless under an enforcing \
     DMARC policy; on its own, `-all` protects more.",
    dns_fix("End the record with `-all` once all senders are listed."),
    &[Reference::rfc("RFC 7208", "8.5", "softfail")],
    softfail_all,
);

fn softfail_all(v: &DomainView<'_>) -> Vec<DomainHit> {
    all_hit(v, &[Some('~')], "`~all` (softfail)")
}

fn check_hits(v: &DomainView<'_>, purpose: &str, what: &str) -> Vec<DomainHit> {
    v.obs
        .spf
        .checks
        .iter()
        .filter(|c| c.purpose == purpose && c.result != SpfResult::Pass)
        .filter(|c| c.result != SpfResult::Temperror)
        .map(|c| {
            let target = c.helo.clone().unwrap_or_else(|| v.obs.domain.clone());
            DomainHit {
                target,
                address: None,
                hit: crate::facts::Hit::new(
                    format!(
                        "{what} {} is not authorized by SPF: {}",
                        c.ip,
                        c.result.as_str()
                    ),
                    vec![facts(
                        "check_host()",
                        [format!(
                            "check_host({}, {}, {}) = {} ({}; {} lookups, {} void)",
                            c.ip,
                            v.obs.domain,
                            c.sender,
                            c.result.as_str(),
                            c.reason,
                            c.dns_lookups,
                            c.void_lookups
                        )],
                    )],
                ),
            }
        })
        .collect()
}

/// MW-SPF-011.
pub(crate) const SPF_MX_NOT_AUTHORIZED: Rule = rule(
    "MW-SPF-011",
    "spf-mx-not-authorized",
    Family::Spf,
    "An MX address is not authorized by the domain's SPF",
    at(Severity::Low),
    "MX hosts usually also send for the domain (bounces, forwards, replies from the same \
     servers); mail they send then fails SPF.",
    dns_fix(
        "Add `mx` (or the MX hosts' networks) to the SPF record, unless the MX hosts never \
             send mail for the domain.",
    ),
    &[SPF_RFC],
    mx_not_authorized,
);

fn mx_not_authorized(v: &DomainView<'_>) -> Vec<DomainHit> {
    check_hits(v, "mx", "MX address")
}

/// MW-SPF-012.
pub(crate) const SPF_OUTBOUND_NOT_AUTHORIZED: Rule = rule(
    "MW-SPF-012",
    "spf-outbound-not-authorized",
    Family::Spf,
    "A declared outbound address is not authorized by the domain's SPF",
    at(Severity::High),
    "The address was declared as sending mail for the domain (`--outbound`), yet SPF does not \
     authorize it: its mail fails SPF and, without aligned DKIM, DMARC.",
    dns_fix("Add the address (`ip4:`/`ip6:`) or its provider's include to the SPF record."),
    &[SPF_RFC],
    outbound_not_authorized,
);

fn outbound_not_authorized(v: &DomainView<'_>) -> Vec<DomainHit> {
    check_hits(v, "outbound", "declared outbound address")
}
