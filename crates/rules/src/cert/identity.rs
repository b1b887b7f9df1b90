//! Identity: trust path, self-signed, host name.

use super::*;
use crate::catalogue::{Check, Family, Reference, Remediation, Rule};
use crate::facts::{self, Endpoint, Hit, evidence, fact_lines};

/// MW-CERT-005.
pub(crate) const CERTIFICATE_UNTRUSTED: Rule = Rule {
    id: "MW-CERT-005",
    name: "certificate-untrusted",
    family: Family::Cert,
    title: "The certificate chain does not lead to a trusted root",
    severities: IDENTITY,
    rationale: "Without a path to a trust anchor (unknown issuer, missing intermediate, bad \
        signature), a client cannot tell the server from an attacker. Mail clients then fail or \
        ask the user, who usually accepts. A missing intermediate is the most common cause.",
    remediation: REPLACE_WITH_TRUSTED,
    references: &[
        Reference::rfc("RFC 5280", "6", "certification path validation"),
        CLIENTS_VALIDATE,
        OPPORTUNISTIC,
        MTA_STS,
    ],
    check: Check::Endpoint(untrusted),
};

/// MW-CERT-006.
pub(crate) const CERTIFICATE_SELF_SIGNED: Rule = Rule {
    id: "MW-CERT-006",
    name: "certificate-self-signed",
    family: Family::Cert,
    title: "The server certificate is self-signed",
    severities: IDENTITY,
    rationale: "A self-signed certificate authenticates nothing: any attacker can make one with \
        the same subject. Clients must pin it or accept anything. On an MX it is acceptable under \
        opportunistic TLS and with DANE-EE, but not with MTA-STS.",
    remediation: REPLACE_WITH_TRUSTED,
    references: &[
        Reference::rfc("RFC 5280", "6", "certification path validation"),
        CLIENTS_VALIDATE,
        OPPORTUNISTIC,
        DANE,
        MTA_STS,
    ],
    check: Check::Endpoint(self_signed),
};

/// MW-CERT-007.
pub(crate) const CERTIFICATE_NAME_MISMATCH: Rule = Rule {
    id: "MW-CERT-007",
    name: "certificate-name-mismatch",
    family: Family::Cert,
    title: "The certificate is not valid for the scanned host name",
    severities: IDENTITY,
    rationale: "Clients check the name they connected to against the certificate's \
        subjectAltName (RFC 7817); a mismatch makes them fail or warn exactly as for an attacker's \
        certificate. For an MX, the relevant name is the MX host name.",
    remediation: Remediation {
        generic: "Issue the certificate for every name clients use (subjectAltName; for an MX, \
            the MX host name), or select certificates by SNI.",
        postfix: "a certificate whose subjectAltName covers the name in `smtpd_tls_chain_files`, \
            or per-name certificates with `tls_server_sni_maps`",
        dovecot: "a certificate covering the name in `ssl_cert` (2.3) / `ssl_server_cert_file` \
            (2.4), or per-name certificates in a `local_name` block",
        exim: "a certificate covering the name in `tls_certificate`, or choose one per name with \
            an expansion on `$tls_in_sni`",
    },
    references: &[
        Reference::rfc("RFC 7817", "3", "server identity check for email protocols"),
        Reference::rfc("RFC 6125", "6", "verifying service identity"),
        OPPORTUNISTIC,
        MTA_STS,
    ],
    check: Check::Endpoint(name_mismatch),
};

/// True when the validator's error is about time, which MW-CERT-001/002
/// report from the certificates themselves. Accepts the cert crate's
/// kebab-case names (`expired`, `not-valid-yet`) as well as webpki's
/// (`CertExpired`, `CertNotValidYet`).
fn is_time_error(error: &str) -> bool {
    let squashed: String = error
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    squashed.contains("expired")
        || squashed.contains("notvalidyet")
        || squashed.contains("notyetvalid")
}

fn untrusted(ep: &Endpoint<'_>) -> Vec<Hit> {
    let mut hits = Vec::new();
    for seen in facts::chains(ep.obs) {
        let validation = &seen.chain.validation;
        let Some(leaf) = seen.chain.leaf() else {
            continue;
        };
        // A self-signed leaf is MW-CERT-006; a time error is MW-CERT-001/002.
        if validation.trusted
            || leaf.self_signed
            || validation.error.as_deref().is_some_and(is_time_error)
        {
            continue;
        }
        let reason = validation.error.as_deref().unwrap_or("no reason recorded");
        let mut lines = cert_lines(leaf);
        lines.extend(fact_lines([
            format!("validation error: {reason}"),
            format!("trust anchors: {}", validation.anchors.join(", ")),
            format!("certificates sent: {}", seen.chain.certificates.len()),
        ]));
        hits.push(Hit::new(
            format!(
                "The certificate chain for {} is not trusted: {reason}.",
                leaf.subject
            ),
            vec![evidence(label(&seen, 0), lines)],
        ));
    }
    hits
}

fn self_signed(ep: &Endpoint<'_>) -> Vec<Hit> {
    facts::chains(ep.obs)
        .iter()
        .filter_map(|seen| {
            let leaf = seen.chain.leaf()?;
            // Trusted anyway: the user gave this certificate as an anchor (--ca-file).
            if !leaf.self_signed || seen.chain.validation.trusted {
                return None;
            }
            Some(Hit::new(
                format!("The server certificate ({}) is self-signed.", leaf.subject),
                cert_evidence(seen, 0, leaf),
            ))
        })
        .collect()
}

fn name_mismatch(ep: &Endpoint<'_>) -> Vec<Hit> {
    facts::chains(ep.obs)
        .iter()
        .filter_map(|seen| {
            let leaf = seen.chain.leaf()?;
            let check = &seen.chain.name_check;
            if check.matched {
                return None;
            }
            let mut names: Vec<&str> = leaf.dns_names.iter().map(String::as_str).collect();
            names.extend(leaf.ip_addresses.iter().map(String::as_str));
            let listed = if names.is_empty() {
                "no subjectAltName".to_owned()
            } else {
                names.join(", ")
            };
            let mut lines = fact_lines([
                format!("name checked: {}", check.name),
                format!("subjectAltName: {listed}"),
            ]);
            lines.extend(cert_lines(leaf));
            Some(Hit::new(
                format!(
                    "The certificate is not valid for {}: it names {listed}.",
                    check.name
                ),
                vec![evidence(label(seen, 0), lines)],
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_errors_are_recognized_in_either_spelling() {
        for e in ["expired", "CertExpired", "not-valid-yet", "CertNotValidYet"] {
            assert!(is_time_error(e), "{e}");
        }
        for e in ["unknown-issuer", "UnknownIssuer", "bad-signature"] {
            assert!(!is_time_error(e), "{e}");
        }
    }
}
