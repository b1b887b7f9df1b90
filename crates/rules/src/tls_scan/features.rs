//! Protocol features: secure renegotiation, compression, Heartbleed, the
//! fallback SCSV.

use mailwarden_model::{FallbackOutcome, HeartbleedOutcome, Severity};

use super::{LABEL, scan};
use crate::catalogue::{Check, Family, Level, Reference, Remediation, Rule, Severities};
use crate::facts::{self, Endpoint, Hit, evidence, fact_lines};

/// "Upgrade the TLS library" remediation, shared by features that every
/// maintained library has had for a decade.
const UPGRADE: Remediation = Remediation {
    generic: "Upgrade the TLS library (OpenSSL, GnuTLS) to a maintained release and restart \
        the service.",
    postfix: "upgrade OpenSSL and Postfix to maintained releases and restart Postfix",
    dovecot: "upgrade OpenSSL and Dovecot to maintained releases and restart Dovecot",
    exim: "upgrade OpenSSL or GnuTLS and Exim to maintained releases and restart Exim",
};

/// MW-TLS-017.
pub(crate) const NO_SECURE_RENEGOTIATION: Rule = Rule {
    id: "MW-TLS-017",
    name: "secure-renegotiation-not-supported",
    family: Family::Tls,
    title: "The server does not support secure renegotiation (RFC 5746)",
    severities: Severities {
        mx: Level::At(Severity::Low),
        ..Severities::everywhere(Severity::Medium)
    },
    rationale: "Without the renegotiation_info extension a TLS 1.2-or-older renegotiation cannot \
        be tied to the connection it renegotiates: an attacker can splice their own plaintext \
        in front of the client's session (CVE-2009-3555). Every TLS library since 2010 supports \
        RFC 5746; a server without it runs a very old one.",
    remediation: UPGRADE,
    references: &[
        Reference::rfc(
            "RFC 5746",
            "",
            "TLS renegotiation indication extension; servers must support it",
        ),
        Reference::rfc(
            "RFC 9325",
            "3.5",
            "implementations must support and require RFC 5746 when renegotiating",
        ),
    ],
    check: Check::Endpoint(no_secure_renegotiation),
};

fn no_secure_renegotiation(ep: &Endpoint<'_>) -> Vec<Hit> {
    if scan(ep).and_then(|s| s.features.secure_renegotiation) != Some(false) {
        return Vec::new();
    }
    vec![Hit::new(
        format!(
            "{} does not support secure renegotiation.",
            facts::service(ep.obs)
        ),
        vec![evidence(
            LABEL,
            fact_lines(["no renegotiation_info extension in any ServerHello"]),
        )],
    )]
}

/// MW-TLS-018.
pub(crate) const COMPRESSION: Rule = Rule {
    id: "MW-TLS-018",
    name: "tls-compression-enabled",
    family: Family::Tls,
    title: "The server compresses TLS records (DEFLATE)",
    severities: Severities {
        mx: Level::At(Severity::Low),
        ..Severities::everywhere(Severity::Medium)
    },
    rationale: "When secrets and attacker-influenced data share a compressed stream, the \
        compressed length reveals the secret byte by byte (CRIME). TLS compression also makes \
        the server parse attacker-sized inputs. RFC 9325 requires it off; TLS 1.3 removed it.",
    remediation: Remediation {
        generic: "Disable TLS compression.",
        postfix: "`tls_ssl_options = NO_COMPRESSION` (Postfix 2.11+)",
        dovecot: "`ssl_options = no_compression` (the default since Dovecot 2.3)",
        exim: "`openssl_options = +no_compression` (OpenSSL builds) or `-COMP-DEFLATE` in the \
            GnuTLS priority string",
    },
    references: &[
        Reference::rfc(
            "RFC 9325",
            "3.3",
            "implementations must disable TLS-level compression",
        ),
        Reference::doc(
            "CVE-2012-4929",
            "CRIME: secrets recovered from compressed TLS",
            "https://nvd.nist.gov/vuln/detail/CVE-2012-4929",
        ),
    ],
    check: Check::Endpoint(compression),
};

fn compression(ep: &Endpoint<'_>) -> Vec<Hit> {
    if scan(ep).and_then(|s| s.features.compression) != Some(true) {
        return Vec::new();
    }
    vec![Hit::new(
        format!("{} compresses TLS records.", facts::service(ep.obs)),
        vec![evidence(
            LABEL,
            fact_lines(["the server chose compression method DEFLATE (1) when offered"]),
        )],
    )]
}

/// MW-TLS-019.
pub(crate) const HEARTBLEED: Rule = Rule {
    id: "MW-TLS-019",
    name: "heartbleed",
    family: Family::Tls,
    title: "The server leaks memory through TLS heartbeats (Heartbleed)",
    severities: Severities::everywhere(Severity::Critical),
    rationale: "A heartbeat request claiming more payload than it carries makes a vulnerable \
        OpenSSL (1.0.1 to 1.0.1f) return that much of its memory: private keys, passwords, mail. \
        The check sends one such request after ServerHelloDone and only counts the bytes that \
        come back; they are never stored or shown.",
    remediation: Remediation {
        generic: "Upgrade OpenSSL (1.0.1g or later), restart every service using it, then \
            replace the private keys and certificates and revoke the old ones: they must be \
            considered stolen.",
        postfix: "upgrade OpenSSL, restart Postfix, then new keys and certificates in \
            `smtpd_tls_chain_files`; revoke the old certificates",
        dovecot: "upgrade OpenSSL, restart Dovecot, then new keys and certificates in `ssl_key`/\
            `ssl_cert`; revoke the old certificates",
        exim: "upgrade OpenSSL, restart Exim, then new keys and certificates in \
            `tls_privatekey`/`tls_certificate`; revoke the old certificates",
    },
    references: &[
        Reference::doc(
            "CVE-2014-0160",
            "Heartbleed: OpenSSL heartbeat read overrun",
            "https://nvd.nist.gov/vuln/detail/CVE-2014-0160",
        ),
        Reference::rfc(
            "RFC 6520",
            "4",
            "a heartbeat whose payload_length is too large must be discarded silently",
        ),
    ],
    check: Check::Endpoint(heartbleed),
};

fn heartbleed(ep: &Endpoint<'_>) -> Vec<Hit> {
    let Some(check) = scan(ep).and_then(|s| s.features.heartbleed.as_ref()) else {
        return Vec::new();
    };
    if check.outcome != HeartbleedOutcome::Vulnerable {
        return Vec::new();
    }
    vec![Hit::new(
        format!(
            "{} returned {} bytes of its memory to a heartbeat request ({}).",
            facts::service(ep.obs),
            check.echoed_bytes,
            check.version
        ),
        vec![evidence(
            LABEL,
            fact_lines([format!(
                "heartbeat request claiming {} bytes, carrying {}: {} bytes came back (not kept)",
                check.requested_length, check.sent_length, check.echoed_bytes
            )]),
        )],
    )]
}

/// MW-TLS-020.
pub(crate) const NO_FALLBACK_SCSV: Rule = Rule {
    id: "MW-TLS-020",
    name: "fallback-scsv-not-supported",
    family: Family::Tls,
    title: "The server ignores TLS_FALLBACK_SCSV (downgrade protection)",
    severities: Severities {
        mx: Level::At(Severity::Info),
        ..Severities::everywhere(Severity::Low)
    },
    rationale: "Clients that retry a failed handshake with a lower version mark the retry with \
        TLS_FALLBACK_SCSV; a server that supports a higher version must then refuse, so that an \
        attacker cannot force a downgrade by breaking handshakes. It matters as long as the \
        server accepts more than one version; disabling legacy versions removes the risk too.",
    remediation: Remediation {
        generic: "Upgrade the TLS library (OpenSSL 1.0.1j+, GnuTLS 3.3.10+), or accept one \
            protocol version family only (TLS 1.2 and 1.3 both support downgrade protection).",
        ..UPGRADE
    },
    references: &[Reference::rfc(
        "RFC 7507",
        "3",
        "a server receiving TLS_FALLBACK_SCSV with a lower version must send inappropriate_fallback",
    )],
    check: Check::Endpoint(no_fallback_scsv),
};

fn no_fallback_scsv(ep: &Endpoint<'_>) -> Vec<Hit> {
    let Some(f) = scan(ep).and_then(|s| s.features.fallback_scsv.as_ref()) else {
        return Vec::new();
    };
    if f.outcome != FallbackOutcome::Accepted {
        return Vec::new();
    }
    vec![Hit::new(
        format!(
            "{} accepts a {} hello carrying TLS_FALLBACK_SCSV although it supports a higher version.",
            facts::service(ep.obs),
            f.offered_version
        ),
        vec![evidence(LABEL, fact_lines([f.detail.clone()]))],
    )]
}
