//! The DNS section of the text report: one block per domain, one line per
//! record kind, every failed lookup shown as what it was (never as "none").

use std::fmt::Write as _;

use mailwarden_model::{Attempt, DnsLookup, DnsOutcome, DomainObservation, Finding, ScanReport};

/// `outcome [dnssec]`, or the records when there are some.
fn state(l: &DnsLookup) -> String {
    match l.outcome {
        DnsOutcome::Answer => format!("[{}]", l.dnssec.as_str()),
        other => format!("{} [{}]", other.as_str(), l.dnssec.as_str()),
    }
}

fn addrs(a: &[std::net::IpAddr]) -> String {
    if a.is_empty() {
        "(no address)".to_owned()
    } else {
        a.iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The block of one domain.
pub fn domain(d: &DomainObservation) -> String {
    let mut o = String::new();
    let r = &d.resolver;
    let _ = writeln!(
        o,
        "Domain {}  (resolver {}, DNSSEC {}{})",
        d.domain,
        r.servers.join(" "),
        match r.dnssec_mode {
            mailwarden_model::DnssecMode::Validate => "validated here",
            mailwarden_model::DnssecMode::UpstreamAd => "from the resolver's AD bit",
        },
        r.trust_anchor
            .as_deref()
            .map(|a| format!(", anchor {a}"))
            .unwrap_or_default()
    );
    let mut line = |label: &str, text: String| {
        let _ = writeln!(o, "  {label:<9} {text}");
    };
    if d.mx.null_mx {
        line(
            "MX",
            format!(
                "null MX (0 .): the domain accepts no mail {}",
                state(&d.mx.lookup)
            ),
        );
    } else if d.mx.hosts.is_empty() {
        line("MX", format!("none: {}", state(&d.mx.lookup)));
    }
    for h in &d.mx.hosts {
        line(
            "MX",
            format!(
                "{} {}  {}  {}",
                h.preference,
                h.name,
                addrs(&h.addresses),
                state(&d.mx.lookup)
            ),
        );
    }
    for s in &d.srv {
        for t in &s.targets {
            let text = if t.target.is_empty() {
                format!("{}  not offered (.)", s.service)
            } else {
                format!(
                    "{}  {} {} {} {}  {}",
                    s.service,
                    t.priority,
                    t.weight,
                    t.port,
                    t.target,
                    addrs(&t.addresses)
                )
            };
            line("SRV", text);
        }
        if s.lookup.outcome.is_failure() {
            line("SRV", format!("{}  {}", s.service, state(&s.lookup)));
        }
    }
    let spf = &d.spf;
    match spf.records.as_slice() {
        [] => line("SPF", format!("none: {}", state(&spf.lookup))),
        records => {
            for rec in records {
                line("SPF", format!("{rec}  {}", state(&spf.lookup)));
            }
        }
    }
    if let Some(e) = &spf.expansion {
        line(
            "",
            format!(
                "{} DNS lookups, {} void lookups, {} records in the tree{}",
                e.dns_lookups,
                e.void_lookups,
                e.nodes.len(),
                if e.loops.is_empty() {
                    String::new()
                } else {
                    format!(", loop via {}", e.loops.join(", "))
                }
            ),
        );
    }
    for c in &spf.checks {
        line(
            "",
            format!(
                "check_host({}) = {} ({}: {})",
                c.ip,
                c.result.as_str(),
                c.purpose,
                c.reason
            ),
        );
    }
    let dm = &d.dmarc;
    match (dm.records.as_slice(), &dm.found_at) {
        ([rec, ..], Some(at)) => line("DMARC", format!("{rec}  (at _dmarc.{at})")),
        _ => line(
            "DMARC",
            format!(
                "none: {}{}",
                state(&dm.lookup),
                dm.org_lookup
                    .as_ref()
                    .map(|l| format!(
                        "; organizational domain {}: {}",
                        dm.organizational_domain,
                        state(l)
                    ))
                    .unwrap_or_default()
            ),
        ),
    }
    for x in &dm.external_destinations {
        line(
            "",
            format!(
                "report destination {}: {}",
                x.domain,
                if x.authorized {
                    "authorized"
                } else {
                    "NOT authorized"
                }
            ),
        );
    }
    let keys: Vec<String> = d
        .dkim
        .iter()
        .filter_map(|k| {
            let key = k.key.as_ref()?;
            Some(if key.revoked {
                format!("{}: revoked", k.selector)
            } else {
                format!(
                    "{}: {}{}{}",
                    k.selector,
                    key.key_type,
                    key.bits.map(|b| format!("-{b}")).unwrap_or_default(),
                    if key.testing { " (t=y)" } else { "" }
                )
            })
        })
        .chain(
            d.dkim
                .iter()
                .filter(|k| {
                    k.lookup.outcome.is_failure() || (k.source == "given" && k.key.is_none())
                })
                .map(|k| {
                    format!(
                        "{}: {}",
                        k.selector,
                        if k.lookup.outcome.is_failure() {
                            state(&k.lookup)
                        } else {
                            "no key".to_owned()
                        }
                    )
                }),
        )
        .collect();
    line(
        "DKIM",
        if keys.is_empty() {
            format!("no key under the {} selectors tried", d.dkim.len())
        } else {
            keys.join("; ")
        },
    );
    let sts = &d.mta_sts;
    match sts.records.first() {
        None => line("MTA-STS", format!("none: {}", state(&sts.lookup))),
        Some(rec) => {
            let policy = match &sts.policy {
                Attempt::Completed { value } => match (&value.policy, &value.error) {
                    (Some(p), _) => format!(
                        "policy: mode {} max_age {} mx {}; host certificate {}",
                        p.mode.as_deref().unwrap_or("?"),
                        p.max_age
                            .map(|a| a.to_string())
                            .unwrap_or_else(|| "?".to_owned()),
                        p.mx.join(", "),
                        value.tls.certificate_chain.as_ref().map_or("none", |c| {
                            if c.validation.trusted && c.name_check.matched {
                                "valid"
                            } else {
                                "INVALID"
                            }
                        })
                    ),
                    (None, Some(e)) => format!("policy not fetched: {e}"),
                    (None, None) => "policy not fetched".to_owned(),
                },
                Attempt::Failed { error } => format!("policy not fetched: {error}"),
                Attempt::Skipped { reason } => reason.clone(),
            };
            line("MTA-STS", format!("{rec}  {}", state(&sts.lookup)));
            line("", policy);
        }
    }
    match d.tls_rpt.records.first() {
        Some(rec) => line("TLS-RPT", rec.clone()),
        None => line("TLS-RPT", format!("none: {}", state(&d.tls_rpt.lookup))),
    }
    for t in &d.dane {
        if t.records.is_empty() {
            line(
                "DANE",
                format!("_{}._tcp.{}: no TLSA, {}", t.port, t.host, state(&t.lookup)),
            );
            continue;
        }
        line(
            "DANE",
            format!(
                "_{}._tcp.{}: {} TLSA {} (host {})",
                t.port,
                t.host,
                t.records.len(),
                state(&t.lookup),
                t.host_dnssec.as_str()
            ),
        );
        for m in &t.matches {
            line("", format!("{}: {}", m.address, m.detail));
        }
    }
    for f in &d.fcrdns {
        let text = if f.confirmed.is_empty() {
            format!(
                "{} ({}): not confirmed, PTR {}",
                f.address,
                f.host,
                if f.ptr.records.is_empty() {
                    state(&f.ptr)
                } else {
                    f.ptr.records.join(" ")
                }
            )
        } else {
            format!("{} ({}): {}", f.address, f.host, f.confirmed.join(" "))
        };
        line("FCrDNS", text);
    }
    for t in &d.mx_tls {
        line(
            "MX TLS",
            format!(
                "{} {}: {} {}",
                t.host,
                t.address,
                t.version.as_deref().unwrap_or("no TLS"),
                t.leaf_sha256
                    .as_deref()
                    .map(|s| s.get(..16).unwrap_or(s))
                    .unwrap_or("-")
            ),
        );
    }
    o
}

/// The domain's findings that the host sections do not show already: those
/// about the domain, and about its hosts when they were not scanned.
pub fn findings(d: &DomainObservation, report: &ScanReport) -> String {
    let shown: Vec<&str> = report
        .targets
        .iter()
        .map(|t| t.input.as_str())
        .chain(report.endpoints.iter().map(|e| e.target.as_str()))
        .collect();
    let hosts: Vec<&str> =
        d.mx.hosts
            .iter()
            .map(|h| h.name.as_str())
            .chain(
                d.srv
                    .iter()
                    .flat_map(|s| s.targets.iter().map(|t| t.target.as_str())),
            )
            .chain(std::iter::once(d.domain.as_str()))
            .collect();
    let list: Vec<&Finding> = report
        .assessment
        .findings
        .iter()
        .filter(|f| hosts.contains(&f.target.as_str()) && !shown.contains(&f.target.as_str()))
        .collect();
    let mut o = String::new();
    if list.is_empty() {
        let _ = writeln!(o, "\nNo findings for {}.", d.domain);
        return o;
    }
    let _ = writeln!(o, "\nFindings for {} ({}):", d.domain, list.len());
    for f in list {
        let where_ = f
            .address
            .map_or_else(|| f.target.clone(), |a| a.to_string());
        let _ = writeln!(
            o,
            "\n[{}] {} {}  {where_}\n  {}",
            f.severity.as_str().to_ascii_uppercase(),
            f.rule_id,
            f.rule,
            f.summary
        );
        for ev in &f.evidence {
            let _ = writeln!(o, "  {}:", ev.label);
            for line in ev.lines.iter().take(12) {
                let _ = writeln!(o, "    {line}");
            }
        }
        let _ = writeln!(o, "  fix: {}", f.remediation);
    }
    o
}
