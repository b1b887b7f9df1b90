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

mod identity;
mod strength;
mod validity;

pub(crate) use identity::{
    CERTIFICATE_NAME_MISMATCH, CERTIFICATE_SELF_SIGNED, CERTIFICATE_UNTRUSTED,
};
pub(crate) use strength::{WEAK_CERTIFICATE_SIGNATURE, WEAK_RSA_KEY};
pub(crate) use validity::{
    CERTIFICATE_EXPIRED, CERTIFICATE_EXPIRES_WITHIN_7_DAYS, CERTIFICATE_EXPIRES_WITHIN_30_DAYS,
    CERTIFICATE_NOT_YET_VALID,
};

use jiff::Timestamp;
use mailwarden_model::{Certificate, CertificateChain, Line, Severity};

use crate::catalogue::{Level, Reference, Remediation, Severities};
use crate::facts::{ChainSeen, evidence, fact_lines};

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
        format!("notBefore: {}", optional_time(cert.not_before)),
        format!("notAfter: {}", optional_time(cert.not_after)),
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

/// "1 day", "5 days".
fn day_count(n: i64) -> String {
    if n == 1 {
        "1 day".to_owned()
    } else {
        format!("{n} days")
    }
}

fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn optional_time(t: Option<jiff::Timestamp>) -> String {
    t.map_or_else(|| "(unparsable)".to_owned(), |t| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_round_down() {
        let now: Timestamp = "2025-01-01T00:00:00Z".parse().unwrap();
        let later: Timestamp = "2025-01-08T23:59:59Z".parse().unwrap();
        let earlier: Timestamp = "2024-12-31T23:00:00Z".parse().unwrap();
        assert_eq!(days_between(now, later), 7);
        assert_eq!(days_between(now, earlier), -1);
    }
}
