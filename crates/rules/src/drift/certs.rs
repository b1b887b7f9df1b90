//! Certificates among the endpoints of one service: every host and port of a
//! service should present the same certificate (or at least the same names
//! and expiry), so renewals and reissues reach all of them.

use mailwarden_model::{Certificate, CertificateChain, PortState, Severity};

use super::{Audit, AuditHit, service_label};
use crate::catalogue::{Check, Family, Reference, Remediation, Rule, Severities};
use crate::facts::{self, Hit, evidence, fact_lines};

/// MW-DRIFT-012.
pub(crate) const CERTIFICATES_INCONSISTENT: Rule = Rule {
    id: "MW-DRIFT-012",
    name: "certificates-inconsistent",
    family: Family::Drift,
    title: "The endpoints of one service present different certificates",
    severities: Severities::everywhere(Severity::Medium),
    rationale: "The hosts and ports of a service are one service to its clients. When one of \
        them presents another certificate than the rest (an older one that a renewal missed, \
        another expiry date, other names or another chain), it fails on its own schedule: the \
        renewal that reached the others did not reach it, and clients or MTA-STS senders see \
        errors on that endpoint only.",
    remediation: Remediation {
        generic: "Deploy the same certificate and chain to every host and port of the service \
            (or renew them together), then audit again.",
        postfix: "point every service's `smtpd_tls_chain_files` at the renewed files (master.cf \
            `-o` overrides included) and run `postfix reload` on every host",
        dovecot: "point `ssl_cert`/`ssl_key` (2.3) or `ssl_server_cert_file`/`ssl_server_key_file` \
            (2.4) of every listener at the renewed files and run `doveadm reload` on every host",
        exim: "point `tls_certificate`/`tls_privatekey` at the renewed files on every host and \
            restart Exim",
    },
    references: &[Reference::rfc(
        "RFC 8461",
        "4.1",
        "MTA-STS: every MX must present a valid certificate for its name",
    )],
    check: Check::Audit(certificates_inconsistent),
};

/// The chain an endpoint presented (completed handshake first), with its leaf.
fn chain<'a>(ep: &crate::facts::Endpoint<'a>) -> Option<(&'a CertificateChain, &'a Certificate)> {
    let chains = facts::chains(ep.obs);
    let seen = chains.iter().find(|c| c.completed).or(chains.first())?;
    Some((seen.chain, seen.chain.leaf()?))
}

/// The fingerprints of a chain, leaf first.
fn fingerprints(chain: &CertificateChain) -> Vec<&str> {
    chain
        .certificates
        .iter()
        .map(|c| c.sha256.as_str())
        .collect()
}

fn names(c: &Certificate) -> Vec<String> {
    let mut n: Vec<String> = c
        .dns_names
        .iter()
        .chain(&c.ip_addresses)
        .map(|s| s.to_ascii_lowercase())
        .collect();
    n.sort();
    n.dedup();
    n
}

fn describe(c: &Certificate) -> Vec<String> {
    vec![
        format!("sha256: {}", c.sha256),
        format!(
            "notAfter: {}",
            c.not_after
                .map_or_else(|| "unknown".to_owned(), |t| t.to_string())
        ),
        format!("names: {}", names(c).join(", ")),
        format!("issuer: {}", c.issuer),
    ]
}

fn certificates_inconsistent(audit: &Audit<'_>) -> Vec<AuditHit> {
    let mut out = Vec::new();
    for service in &audit.policy.services {
        let seen: Vec<(usize, &CertificateChain, &Certificate)> = audit
            .of_service(service)
            .filter(|(_, ep)| ep.obs.state == PortState::Open)
            .filter_map(|(i, ep)| chain(ep).map(|(ch, leaf)| (i, ch, leaf)))
            .collect();
        // Groups of endpoints presenting the same chain.
        let mut groups: Vec<(&Certificate, &CertificateChain, Vec<usize>)> = Vec::new();
        for (i, ch, leaf) in &seen {
            match groups
                .iter_mut()
                .find(|(_, g, _)| fingerprints(g) == fingerprints(ch))
            {
                Some((_, _, members)) => members.push(*i),
                None => groups.push((leaf, ch, vec![*i])),
            }
        }
        if groups.len() < 2 {
            continue;
        }
        // The reference: the certificate most endpoints present; on a tie,
        // the one valid longest (the renewal the others missed).
        groups.sort_by(|a, b| {
            b.2.len()
                .cmp(&a.2.len())
                .then_with(|| b.0.not_after.cmp(&a.0.not_after))
        });
        let Some((reference, ref_chain, ref_members)) = groups.first() else {
            continue;
        };
        for (cert, cert_chain, members) in groups.iter().skip(1) {
            let mut differs: Vec<String> = Vec::new();
            if cert.not_after != reference.not_after {
                let when = |c: &Certificate| {
                    c.not_after
                        .map_or_else(|| "unknown".to_owned(), |t| t.to_string())
                };
                differs.push(format!(
                    "expires {} instead of {}",
                    when(cert),
                    when(reference)
                ));
            }
            if names(cert) != names(reference) {
                differs.push(format!(
                    "names {} instead of {}",
                    names(cert).join(", "),
                    names(reference).join(", ")
                ));
            }
            if cert.issuer != reference.issuer {
                differs.push(format!(
                    "issuer {} instead of {}",
                    cert.issuer, reference.issuer
                ));
            }
            if differs.is_empty() && cert.sha256 == reference.sha256 {
                differs.push(format!(
                    "the same leaf with another chain ({} instead of {} certificates)",
                    cert_chain.certificates.len(),
                    ref_chain.certificates.len()
                ));
            } else if differs.is_empty() {
                differs.push("another key or serial, same names and expiry".to_owned());
            }
            let others: Vec<String> = ref_members
                .iter()
                .filter_map(|i| audit.endpoints.get(*i))
                .map(|e| format!("{} ({})", e.obs.address, e.obs.target))
                .collect();
            for i in members {
                let Some(ep) = audit.endpoints.get(*i) else {
                    continue;
                };
                out.push(audit.on(
                    *i,
                    Hit::new(
                        format!(
                            "Port {} on {} presents another certificate than the rest of {}: {}.",
                            ep.obs.address.port(),
                            ep.obs.target,
                            service_label(service),
                            differs.join("; ")
                        ),
                        vec![
                            evidence(
                                "this endpoint's leaf certificate",
                                fact_lines(describe(cert)),
                            ),
                            evidence(
                                format!("the leaf presented by {}", others.join(", ")),
                                fact_lines(describe(reference)),
                            ),
                        ],
                    ),
                ));
            }
        }
    }
    out
}
