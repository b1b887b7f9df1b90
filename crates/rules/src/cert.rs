//! CERT rules: the certificate chain a server presents.
//!
//! Validity is computed here from each certificate's `notBefore`/`notAfter`
//! against the scan time, not read from the validator's error string, so the
//! verdict does not depend on how the cert crate names its errors or on when
//! validation ran. The validator's verdict is used only for what we cannot
//! recompute: whether a path to a trust anchor exists.
//!
//! On an MX, opportunistic TLS (RFC 7435) means senders encrypt without
//! authenticating the server, so identity problems (untrusted, self-signed,
//! wrong name) are only informational — unless the domain publishes DANE or
//! MTA-STS, which make senders authenticate it (`AssessContext::mx_authenticated_tls`).

use jiff::Timestamp;
use mailwarden_model::{Certificate, CertificateChain, Line, Severity};

use crate::catalogue::{Check, Family, Level, Reference, Remediation, Rule, Severities};
use crate::facts::{self, ChainSeen, Endpoint, Hit, evidence, fact_lines};

const SECONDS_PER_DAY: i64 = 86_400;

/// Identity problems: harmless under opportunistic TLS on an MX, fatal for
/// clients and for MX whose senders authenticate.
const IDENTITY: Severities = Severities {
    mx: Level::At(Severity::Info),
    mx_authenticated: Some(Severity::High),
    ..Severities::everywhere(Severity::High)
};

/// Validity problems: the same, but on an MX they still break MTA-STS and most
/// monitoring, so they stay visible as low.
const VALIDITY: Severities = Severities {
    mx: Level::At(Severity::Low),
    mx_authenticated: Some(Severity::High),
    ..Severities::everywhere(Severity::High)
};

/// Cryptographic weakness of the chain itself.
const STRENGTH: Severities = Severities {
    mx: Level::At(Severity::Low),
    mx_authenticated: Some(Severity::Medium),
    ..Severities::everywhere(Severity::Medium)
};

const RENEW: Remediation = Remediation {
    generic: "Renew the certificate, install it with its full chain, reload the service, and \
        automate renewal (ACME) with expiry monitoring.",
    postfix: "install the renewed key and chain in `smtpd_tls_chain_files` (or \
        `smtpd_tls_cert_file`/`smtpd_tls_key_file`) and run `postfix reload`",
    dovecot: "install the renewed chain in `ssl_cert = </path/fullchain.pem` (2.3) / \
        `ssl_server_cert_file` (2.4) and run `doveadm reload`",
    exim: "install the renewed chain in `tls_certificate` and its key in `tls_privatekey`, then \
        restart Exim",
};

const REPLACE_WITH_TRUSTED: Remediation = Remediation {
    generic: "Use a certificate from a publicly trusted CA (e.g. via ACME) for the host name \
        clients use, and send the full chain (leaf, then intermediates).",
    postfix: "`smtpd_tls_chain_files` with the key followed by the leaf and the intermediates",
    dovecot: "`ssl_cert` (2.3) / `ssl_server_cert_file` (2.4) must hold the leaf followed by \
        the intermediates",
    exim: "`tls_certificate` must hold the leaf followed by the intermediates",
};

const VALIDITY_REFERENCE: Reference = Reference::rfc(
    "RFC 5280",
    "4.1.2.5",
    "a certificate is valid only between notBefore and notAfter",
);
const CLIENTS_VALIDATE: Reference = Reference::rfc(
    "RFC 8314",
    "5.3",
    "mail clients must validate the server certificate",
);
const OPPORTUNISTIC: Reference = Reference::rfc(
    "RFC 7435",
    "",
    "opportunistic security: unauthenticated encryption is better than none (MX)",
);
const DANE: Reference =
    Reference::rfc("RFC 7672", "", "DANE for SMTP: senders authenticate the MX");
const MTA_STS: Reference = Reference::rfc(
    "RFC 8461",
    "",
    "MTA-STS: senders require a valid, trusted certificate for the MX name",
);

/// MW-CERT-001.
pub(crate) const CERTIFICATE_EXPIRED: Rule = Rule {
    id: "MW-CERT-001",
    name: "certificate-expired",
    family: Family::Cert,
    title: "A certificate in the chain has expired",
    severities: VALIDITY,
    rationale: "Clients that validate certificates refuse the connection, and users who click \
        through the warning learn to accept any certificate, which is what an attacker needs. \
        On an MX with MTA-STS or DANE-TA, senders defer mail.",
    remediation: RENEW,
    references: &[VALIDITY_REFERENCE, CLIENTS_VALIDATE, MTA_STS],
    check: Check::Endpoint(expired),
};

/// MW-CERT-002.
pub(crate) const CERTIFICATE_NOT_YET_VALID: Rule = Rule {
    id: "MW-CERT-002",
    name: "certificate-not-yet-valid",
    family: Family::Cert,
    title: "A certificate in the chain is not valid yet",
    severities: VALIDITY,
    rationale: "Clients that validate certificates refuse the connection. A notBefore in the \
        future usually means a clock error on the issuing side or on the server, or a \
        certificate installed before its time.",
    remediation: Remediation {
        generic: "Check the server clock and the certificate's notBefore; install a certificate \
            that is valid now.",
        ..RENEW
    },
    references: &[VALIDITY_REFERENCE, CLIENTS_VALIDATE],
    check: Check::Endpoint(not_yet_valid),
};

/// MW-CERT-003.
pub(crate) const CERTIFICATE_EXPIRES_WITHIN_7_DAYS: Rule = Rule {
    id: "MW-CERT-003",
    name: "certificate-expires-within-7-days",
    family: Family::Cert,
    title: "A certificate in the chain expires within 7 days",
    severities: VALIDITY,
    rationale: "Automated renewal normally replaces certificates 30 days before expiry; one this \
        close to expiry means renewal has failed or is manual, and the service will break within \
        the week.",
    remediation: RENEW,
    references: &[VALIDITY_REFERENCE, CLIENTS_VALIDATE],
    check: Check::Endpoint(expires_within_7_days),
};

/// MW-CERT-004.
pub(crate) const CERTIFICATE_EXPIRES_WITHIN_30_DAYS: Rule = Rule {
    id: "MW-CERT-004",
    name: "certificate-expires-within-30-days",
    family: Family::Cert,
    title: "A certificate in the chain expires within 30 days",
    severities: Severities {
        mx: Level::At(Severity::Info),
        mx_authenticated: Some(Severity::Medium),
        ..Severities::everywhere(Severity::Medium)
    },
    rationale: "Automated renewal normally replaces certificates 30 days before expiry; check \
        that renewal is scheduled and that the renewed certificate is actually loaded by the \
        mail service.",
    remediation: RENEW,
    references: &[VALIDITY_REFERENCE],
    check: Check::Endpoint(expires_within_30_days),
};

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

/// MW-CERT-008.
pub(crate) const WEAK_RSA_KEY: Rule = Rule {
    id: "MW-CERT-008",
    name: "weak-rsa-key",
    family: Family::Cert,
    title: "A certificate in the chain has an RSA key shorter than 2048 bits",
    severities: STRENGTH,
    rationale: "RSA keys under 2048 bits are within reach of well-funded attackers; a factored \
        server key lets an attacker impersonate the server, and with RSA key exchange decrypt \
        recorded sessions. Public CAs no longer issue them.",
    remediation: Remediation {
        generic: "Generate a new key (RSA 3072, or ECDSA P-256) and get a new certificate for it.",
        postfix: "a new RSA (≥ 2048 bits) or ECDSA key and certificate in `smtpd_tls_chain_files` \
            (both may be listed)",
        dovecot: "a new key and certificate in `ssl_key`/`ssl_cert` (2.3) / \
            `ssl_server_key_file`/`ssl_server_cert_file` (2.4)",
        exim: "a new key and certificate in `tls_privatekey`/`tls_certificate`",
    },
    references: &[
        Reference::doc(
            "NIST SP 800-131A Rev. 2",
            "RSA keys shorter than 2048 bits are disallowed for digital signatures",
            "https://csrc.nist.gov/pubs/sp/800/131/a/r2/final",
        ),
        Reference::rfc(
            "RFC 9325",
            "",
            "BCP 195: recommendations for secure use of TLS",
        ),
    ],
    check: Check::Endpoint(weak_rsa_key),
};

/// MW-CERT-009.
pub(crate) const WEAK_CERTIFICATE_SIGNATURE: Rule = Rule {
    id: "MW-CERT-009",
    name: "weak-certificate-signature",
    family: Family::Cert,
    title: "A certificate in the chain is signed with SHA-1 or MD5",
    severities: STRENGTH,
    rationale: "Collisions for MD5 and SHA-1 are practical (chosen-prefix collisions exist for \
        both), so a signature made with them no longer proves who issued the certificate. Modern \
        clients reject such chains. Self-signed certificates (roots) are exempt: their own \
        signature is never relied upon.",
    remediation: Remediation {
        generic: "Get a certificate and intermediates signed with SHA-256 or stronger.",
        ..REPLACE_WITH_TRUSTED
    },
    references: &[
        Reference::rfc(
            "RFC 6194",
            "",
            "security considerations for SHA-1: collision resistance is broken",
        ),
        Reference::rfc(
            "RFC 6151",
            "",
            "MD5 must not be used where collision resistance is required",
        ),
    ],
    check: Check::Endpoint(weak_signature),
};

/// The certificates whose validity and strength matter: every one except
/// self-signed certificates after the leaf (roots a server sends along are
/// never used by a validating client, which has its own copy).
fn relevant(chain: &CertificateChain) -> impl Iterator<Item = (usize, &Certificate)> {
    chain
        .certificates
        .iter()
        .enumerate()
        .filter(|(i, c)| *i == 0 || !c.self_signed)
}

fn label(seen: &ChainSeen<'_>, index: usize) -> String {
    let total = seen.chain.certificates.len();
    let which = if index == 0 {
        "leaf certificate".to_owned()
    } else {
        format!("certificate {} of {total}", index + 1)
    };
    let incomplete = if seen.completed {
        ""
    } else {
        ", handshake did not complete"
    };
    format!("{which} ({}{incomplete})", seen.via.as_str())
}

fn which(index: usize) -> &'static str {
    if index == 0 {
        "the leaf certificate"
    } else {
        "an intermediate certificate"
    }
}

/// The facts about a certificate, as evidence lines.
pub(crate) fn cert_lines(cert: &Certificate) -> Vec<Line> {
    fact_lines([
        format!("subject: {}", cert.subject),
        format!("issuer: {}", cert.issuer),
        format!("notBefore: {}", cert.not_before),
        format!("notAfter: {}", cert.not_after),
        format!("sha256: {}", cert.sha256),
    ])
}

fn cert_evidence(
    seen: &ChainSeen<'_>,
    index: usize,
    cert: &Certificate,
) -> Vec<mailwarden_model::Evidence> {
    vec![evidence(label(seen, index), cert_lines(cert))]
}

/// Whole days from `now` to `then`, rounded toward negative infinity.
pub(crate) fn days_between(now: Timestamp, then: Timestamp) -> i64 {
    (then.as_second() - now.as_second()).div_euclid(SECONDS_PER_DAY)
}

fn expired(ep: &Endpoint<'_>) -> Vec<Hit> {
    let mut hits = Vec::new();
    for seen in facts::chains(ep.obs) {
        for (i, cert) in relevant(seen.chain).filter(|(_, c)| c.not_after < ep.scan_time) {
            let days = -days_between(ep.scan_time, cert.not_after);
            hits.push(Hit::new(
                format!(
                    "{} ({}) expired on {} ({days} days before the scan).",
                    capitalized(which(i)),
                    cert.subject,
                    cert.not_after
                ),
                cert_evidence(&seen, i, cert),
            ));
        }
    }
    hits
}

fn not_yet_valid(ep: &Endpoint<'_>) -> Vec<Hit> {
    let mut hits = Vec::new();
    for seen in facts::chains(ep.obs) {
        for (i, cert) in relevant(seen.chain).filter(|(_, c)| c.not_before > ep.scan_time) {
            hits.push(Hit::new(
                format!(
                    "{} ({}) is not valid before {}.",
                    capitalized(which(i)),
                    cert.subject,
                    cert.not_before
                ),
                cert_evidence(&seen, i, cert),
            ));
        }
    }
    hits
}

/// The certificate of a chain that expires first, among those still valid,
/// when no certificate of the chain has expired already (then MW-CERT-001 says it).
fn soonest_expiry<'a>(
    seen: &ChainSeen<'a>,
    now: Timestamp,
) -> Option<(usize, &'a Certificate, i64)> {
    if relevant(seen.chain).any(|(_, c)| c.not_after < now) {
        return None;
    }
    relevant(seen.chain)
        .min_by_key(|(_, c)| c.not_after)
        .map(|(i, c)| (i, c, c.not_after.as_second() - now.as_second()))
}

fn expiring(ep: &Endpoint<'_>, more_than_days: i64, at_most_days: i64) -> Vec<Hit> {
    let mut hits = Vec::new();
    for seen in facts::chains(ep.obs) {
        let Some((i, cert, seconds_left)) = soonest_expiry(&seen, ep.scan_time) else {
            continue;
        };
        let in_window = seconds_left > more_than_days * SECONDS_PER_DAY
            && seconds_left <= at_most_days * SECONDS_PER_DAY;
        if !in_window {
            continue;
        }
        let days = seconds_left.div_euclid(SECONDS_PER_DAY);
        hits.push(Hit::new(
            format!(
                "{} ({}) expires on {} ({days} days after the scan).",
                capitalized(which(i)),
                cert.subject,
                cert.not_after
            ),
            cert_evidence(&seen, i, cert),
        ));
    }
    hits
}

fn expires_within_7_days(ep: &Endpoint<'_>) -> Vec<Hit> {
    expiring(ep, 0, 7)
}

fn expires_within_30_days(ep: &Endpoint<'_>) -> Vec<Hit> {
    expiring(ep, 7, 30)
}

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

fn weak_rsa_key(ep: &Endpoint<'_>) -> Vec<Hit> {
    let mut hits = Vec::new();
    for seen in facts::chains(ep.obs) {
        for (i, cert) in relevant(seen.chain) {
            let key = &cert.public_key;
            let Some(bits) = key.bits else { continue };
            // "rsa" and "rsa-pss" alike.
            if !key.algorithm.to_ascii_lowercase().starts_with("rsa") || bits >= 2048 {
                continue;
            }
            let mut lines = cert_lines(cert);
            lines.push(Line::from(format!("public key: RSA {bits} bits").as_str()));
            hits.push(Hit::new(
                format!(
                    "{} ({}) has a {bits}-bit RSA key.",
                    capitalized(which(i)),
                    cert.subject
                ),
                vec![evidence(label(&seen, i), lines)],
            ));
        }
    }
    hits
}

/// Signature algorithm names (as the cert crate writes them) and OIDs built on
/// MD2, MD4, MD5 or SHA-1.
fn is_weak_signature(algorithm: &str) -> bool {
    const WEAK_OIDS: [&str; 5] = [
        "1.2.840.113549.1.1.2", // md2WithRSAEncryption
        "1.2.840.113549.1.1.4", // md5WithRSAEncryption
        "1.2.840.113549.1.1.5", // sha1WithRSAEncryption
        "1.2.840.10045.4.1",    // ecdsa-with-SHA1
        "1.2.840.10040.4.3",    // dsa-with-sha1
    ];
    let lower = algorithm.to_ascii_lowercase();
    WEAK_OIDS.contains(&algorithm)
        || lower.contains("sha1")
        || lower.contains("sha-1")
        || lower.contains("md5")
        || lower.contains("md2")
        || lower.contains("md4")
}

fn weak_signature(ep: &Endpoint<'_>) -> Vec<Hit> {
    let mut hits = Vec::new();
    for seen in facts::chains(ep.obs) {
        // A self-signed certificate's own signature is never relied upon.
        for (i, cert) in seen.chain.certificates.iter().enumerate() {
            if cert.self_signed || !is_weak_signature(&cert.signature_algorithm) {
                continue;
            }
            let mut lines = cert_lines(cert);
            lines.push(Line::from(
                format!("signature algorithm: {}", cert.signature_algorithm).as_str(),
            ));
            hits.push(Hit::new(
                format!(
                    "{} ({}) is signed with {}.",
                    capitalized(which(i)),
                    cert.subject,
                    cert.signature_algorithm
                ),
                vec![evidence(label(&seen, i), lines)],
            ));
        }
    }
    hits
}

fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
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

    #[test]
    fn weak_signatures_by_name_and_oid() {
        for a in [
            "sha1WithRSAEncryption",
            "ecdsa-with-SHA1",
            "md5WithRSAEncryption",
            "1.2.840.113549.1.1.5",
        ] {
            assert!(is_weak_signature(a), "{a}");
        }
        for a in ["sha256WithRSAEncryption", "ecdsa-with-SHA384", "ED25519"] {
            assert!(!is_weak_signature(a), "{a}");
        }
    }

    #[test]
    fn days_round_down() {
        let now: Timestamp = "2025-01-01T00:00:00Z".parse().unwrap();
        let later: Timestamp = "2025-01-08T23:59:59Z".parse().unwrap();
        let earlier: Timestamp = "2024-12-31T23:00:00Z".parse().unwrap();
        assert_eq!(days_between(now, later), 7);
        assert_eq!(days_between(now, earlier), -1);
    }
}
