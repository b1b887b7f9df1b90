//! Weak cipher suites and Diffie-Hellman groups the server accepts.

use mailwarden_model::{AcceptedSuite, Severity, SuiteFlag, TlsVersion};

use super::{count, listed, scan};
use crate::catalogue::{Check, Family, Level, Reference, Remediation, Rule, Severities};
use crate::facts::{self, Endpoint, Hit};

/// The suites accepted with `flag`, with their versions.
fn with_flag<'a>(ep: &Endpoint<'a>, flag: SuiteFlag) -> Vec<(TlsVersion, &'a AcceptedSuite)> {
    scan(ep)
        .map(|s| s.accepted_suites().filter(|(_, s)| s.has(flag)).collect())
        .unwrap_or_default()
}

fn suite_line(version: TlsVersion, s: &AcceptedSuite) -> String {
    format!("{version} {} (0x{:04x})", s.id, s.id.code)
}

/// The versions of `found`, without repeats, oldest first.
fn versions(found: &[(TlsVersion, &AcceptedSuite)]) -> String {
    let mut vs: Vec<TlsVersion> = found.iter().map(|(v, _)| *v).collect();
    vs.sort();
    vs.dedup();
    vs.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// One hit listing every accepted suite of a class (`what`: "RC4").
fn class_hit(ep: &Endpoint<'_>, flag: SuiteFlag, what: &str) -> Vec<Hit> {
    let found = with_flag(ep, flag);
    if found.is_empty() {
        return Vec::new();
    }
    let summary = format!(
        "{} accepts {} ({}).",
        facts::service(ep.obs),
        count(found.len(), &format!("{what} suite")),
        versions(&found)
    );
    let lines = found.iter().map(|(v, s)| suite_line(*v, s)).collect();
    vec![Hit::new(summary, listed(lines))]
}

/// Remediation built from one cipher-list token per server family.
macro_rules! exclude {
    ($generic:literal, $openssl:literal, $gnutls:literal) => {
        Remediation {
            generic: $generic,
            postfix: concat!(
                "add `",
                $openssl,
                "` to `smtpd_tls_exclude_ciphers` (all TLS) or `smtpd_tls_mandatory_exclude_ciphers` \
                 (mandatory TLS), per service in `master.cf` with `-o`"
            ),
            dovecot: concat!("append `:!", $openssl, "` to `ssl_cipher_list`"),
            exim: concat!(
                "append `:!",
                $openssl,
                "` to `tls_require_ciphers` (OpenSSL builds) or `",
                $gnutls,
                "` to its GnuTLS priority string"
            ),
        }
    };
}

/// MW-TLS-009.
pub(crate) const NULL_SUITES: Rule = Rule {
    id: "MW-TLS-009",
    name: "null-suites-accepted",
    family: Family::Tls,
    title: "The server accepts cipher suites without encryption (NULL)",
    severities: Severities {
        mx: Level::At(Severity::High),
        ..Severities::everywhere(Severity::Critical)
    },
    rationale: "A NULL suite authenticates the records but sends them in clear: mail and \
        passwords cross the network readable while the client believes they are encrypted. A \
        server must never choose one.",
    remediation: exclude!(
        "Remove eNULL suites from the server's cipher list.",
        "eNULL",
        "-NULL"
    ),
    references: &[Reference::rfc(
        "RFC 9325",
        "4.1",
        "implementations must not negotiate the cipher suites with NULL encryption",
    )],
    check: Check::Endpoint(null_suites),
};

fn null_suites(ep: &Endpoint<'_>) -> Vec<Hit> {
    class_hit(ep, SuiteFlag::Null, "NULL")
}

/// MW-TLS-010.
pub(crate) const ANONYMOUS_SUITES: Rule = Rule {
    id: "MW-TLS-010",
    name: "anonymous-suites-accepted",
    family: Family::Tls,
    title: "The server accepts anonymous cipher suites (no server authentication)",
    severities: Severities {
        mx: Level::At(Severity::Info),
        mx_authenticated: Some(Severity::Low),
        ..Severities::everywhere(Severity::High)
    },
    rationale: "Anonymous (aNULL) suites skip the certificate: any attacker in the path can \
        answer in the server's place and read everything, including passwords. On an MX they \
        are expected: senders use opportunistic TLS without authenticating (RFC 7435), and \
        Postfix offers aNULL on port 25 by default so that such senders still encrypt. On \
        submission, IMAP, POP3 and ManageSieve they have no place.",
    remediation: exclude!(
        "Remove aNULL suites from the cipher list of client ports (keep them on port 25 if you \
         like).",
        "aNULL",
        "-ANON-DH:-ANON-ECDH"
    ),
    references: &[
        Reference::rfc(
            "RFC 9325",
            "4.1",
            "implementations must not negotiate cipher suites offering no authentication",
        ),
        Reference::rfc(
            "RFC 7435",
            "",
            "opportunistic security: unauthenticated encryption beats none on an MX",
        ),
        Reference::rfc(
            "RFC 8314",
            "4.1",
            "mail clients must authenticate the server's certificate",
        ),
    ],
    check: Check::Endpoint(anonymous_suites),
};

fn anonymous_suites(ep: &Endpoint<'_>) -> Vec<Hit> {
    class_hit(ep, SuiteFlag::Anonymous, "anonymous")
}

/// MW-TLS-011.
pub(crate) const EXPORT_SUITES: Rule = Rule {
    id: "MW-TLS-011",
    name: "export-suites-accepted",
    family: Family::Tls,
    title: "The server accepts EXPORT-grade cipher suites",
    severities: Severities {
        mx: Level::At(Severity::Medium),
        ..Severities::everywhere(Severity::High)
    },
    rationale: "EXPORT suites use 40- or 56-bit ciphers and 512-bit RSA or DH: broken in hours on \
        a laptop. FREAK and Logjam let an attacker force them onto clients that never offered \
        them.",
    remediation: Remediation {
        generic: "Remove EXPORT suites from the cipher list; current OpenSSL (1.1.0+) and \
            GnuTLS have none, so an upgrade removes them too.",
        postfix: "add `EXPORT` to `smtpd_tls_exclude_ciphers`, and upgrade OpenSSL",
        dovecot: "append `:!EXPORT` to `ssl_cipher_list`, and upgrade OpenSSL",
        exim: "append `:!EXPORT` to `tls_require_ciphers` (OpenSSL builds); GnuTLS builds \
            have no EXPORT suites: upgrade",
    },
    references: &[
        Reference::rfc(
            "RFC 9325",
            "4.1",
            "implementations must not negotiate cipher suites offering less than 112 bits of security",
        ),
        Reference::doc(
            "CVE-2015-0204",
            "FREAK: RSA export downgrade",
            "https://nvd.nist.gov/vuln/detail/CVE-2015-0204",
        ),
        Reference::doc(
            "CVE-2015-4000",
            "Logjam: DH export downgrade",
            "https://nvd.nist.gov/vuln/detail/CVE-2015-4000",
        ),
    ],
    check: Check::Endpoint(export_suites),
};

fn export_suites(ep: &Endpoint<'_>) -> Vec<Hit> {
    class_hit(ep, SuiteFlag::Export, "EXPORT-grade")
}

/// MW-TLS-012.
pub(crate) const RC4_SUITES: Rule = Rule {
    id: "MW-TLS-012",
    name: "rc4-suites-accepted",
    family: Family::Tls,
    title: "The server accepts RC4 cipher suites",
    severities: Severities {
        mx: Level::At(Severity::Low),
        ..Severities::everywhere(Severity::High)
    },
    rationale: "RC4's keystream biases let an attacker who sees the same secret encrypted many \
        times recover it; a mail client that logs in every few minutes does exactly that. RFC \
        7465 prohibits RC4 in TLS.",
    remediation: exclude!(
        "Remove RC4 suites from the cipher list.",
        "RC4",
        "-ARCFOUR-128"
    ),
    references: &[
        Reference::rfc("RFC 7465", "", "RC4 cipher suites must not be negotiated"),
        Reference::rfc("RFC 9325", "4.1", "implementations must not negotiate RC4"),
    ],
    check: Check::Endpoint(rc4_suites),
};

fn rc4_suites(ep: &Endpoint<'_>) -> Vec<Hit> {
    class_hit(ep, SuiteFlag::Rc4, "RC4")
}

/// MW-TLS-013.
pub(crate) const DES_SUITES: Rule = Rule {
    id: "MW-TLS-013",
    name: "des-suites-accepted",
    family: Family::Tls,
    title: "The server accepts single-DES cipher suites",
    severities: Severities {
        mx: Level::At(Severity::Medium),
        ..Severities::everywhere(Severity::High)
    },
    rationale: "Single DES has a 56-bit key, found by exhaustive search in about a day on \
        commodity hardware; RFC 5469 removed it from TLS.",
    remediation: exclude!("Remove DES suites from the cipher list.", "DES", "-DES-CBC"),
    references: &[
        Reference::rfc(
            "RFC 5469",
            "",
            "DES and IDEA cipher suites are deprecated for TLS",
        ),
        Reference::rfc(
            "RFC 9325",
            "4.1",
            "implementations must not negotiate cipher suites offering less than 112 bits of security",
        ),
    ],
    check: Check::Endpoint(des_suites),
};

fn des_suites(ep: &Endpoint<'_>) -> Vec<Hit> {
    class_hit(ep, SuiteFlag::Des, "single-DES")
}

/// MW-TLS-014.
pub(crate) const TRIPLE_DES_SUITES: Rule = Rule {
    id: "MW-TLS-014",
    name: "3des-suites-accepted",
    family: Family::Tls,
    title: "The server accepts 3DES cipher suites",
    severities: Severities {
        mx: Level::At(Severity::Low),
        ..Severities::everywhere(Severity::Medium)
    },
    rationale: "3DES has a 64-bit block: after some 32 GB under one key, block collisions leak \
        plaintext (Sweet32). Long IMAP sessions and bulk SMTP make that reachable. No current \
        client needs 3DES.",
    remediation: exclude!(
        "Remove 3DES suites from the cipher list.",
        "3DES",
        "-3DES-CBC"
    ),
    references: &[
        Reference::doc(
            "CVE-2016-2183",
            "Sweet32: birthday attacks on 64-bit block ciphers",
            "https://nvd.nist.gov/vuln/detail/CVE-2016-2183",
        ),
        Reference::rfc(
            "RFC 9325",
            "4.2",
            "cipher suites with 64-bit block ciphers should not be negotiated",
        ),
    ],
    check: Check::Endpoint(triple_des_suites),
};

fn triple_des_suites(ep: &Endpoint<'_>) -> Vec<Hit> {
    class_hit(ep, SuiteFlag::TripleDes, "3DES")
}

/// MW-TLS-015.
pub(crate) const NO_FORWARD_SECRECY: Rule = Rule {
    id: "MW-TLS-015",
    name: "suites-without-forward-secrecy",
    family: Family::Tls,
    title: "The server accepts cipher suites without forward secrecy",
    severities: Severities {
        mx: Level::At(Severity::Info),
        ..Severities::everywhere(Severity::Low)
    },
    rationale: "With static RSA (or static DH/ECDH) key exchange, whoever obtains the server's \
        private key later can decrypt every recorded session made with such a suite. Clients \
        that prefer them, or can only do them, lose that protection.",
    remediation: Remediation {
        generic: "Offer only ECDHE and DHE key exchange (and TLS 1.3).",
        postfix: "add `kRSA` (and `kDH, kECDH`) to `smtpd_tls_exclude_ciphers` on client \
            ports; keep them on port 25 only if old senders need them",
        dovecot: "append `:!kRSA:!kDH:!kECDH` to `ssl_cipher_list`",
        exim: "append `:!kRSA` to `tls_require_ciphers` (OpenSSL builds) or `-RSA` to the GnuTLS \
            priority string",
    },
    references: &[Reference::rfc(
        "RFC 9325",
        "4.1",
        "implementations should not negotiate cipher suites based on non-ephemeral key exchange",
    )],
    check: Check::Endpoint(no_forward_secrecy),
};

fn no_forward_secrecy(ep: &Endpoint<'_>) -> Vec<Hit> {
    let Some(scan) = scan(ep) else {
        return Vec::new();
    };
    // Anonymous and NULL suites have their own rules.
    let found: Vec<(TlsVersion, &AcceptedSuite)> = scan
        .accepted_suites()
        .filter(|(_, s)| {
            !s.has(SuiteFlag::ForwardSecrecy)
                && !s.has(SuiteFlag::Anonymous)
                && !s.has(SuiteFlag::Null)
                && s.kx != "TLS13"
        })
        .collect();
    if found.is_empty() {
        return Vec::new();
    }
    let summary = format!(
        "{} accepts {} without forward secrecy ({}).",
        facts::service(ep.obs),
        count(found.len(), "suite"),
        versions(&found)
    );
    let lines = found
        .iter()
        .map(|(v, s)| format!("{} key exchange {}", suite_line(*v, s), s.kx))
        .collect();
    vec![Hit::new(summary, listed(lines))]
}

/// MW-TLS-016.
pub(crate) const WEAK_DH_GROUP: Rule = Rule {
    id: "MW-TLS-016",
    name: "weak-dh-group",
    family: Family::Tls,
    title: "DHE key exchange uses a Diffie-Hellman group under 2048 bits",
    severities: Severities {
        mx: Level::At(Severity::Low),
        ..Severities::everywhere(Severity::Medium)
    },
    rationale: "Finite-field DH under 2048 bits is within reach of well-funded attackers: 1024-bit \
        groups (especially shared, well-known ones) can be precomputed against (Logjam), and \
        512-bit ones are broken outright. The group size is read from the ServerKeyExchange of \
        each DHE suite; OpenSSL picks small groups automatically for weak or anonymous suites.",
    remediation: Remediation {
        generic: "Use DH groups of at least 2048 bits (RFC 7919 ffdhe2048 or larger), or offer \
            ECDHE only.",
        postfix: "`smtpd_tls_dh1024_param_file` pointing to a 2048-bit (or larger) file made with \
            `openssl dhparam -out dh2048.pem 2048`; exclude aNULL where not needed (OpenSSL \
            gives anonymous suites 1024-bit groups)",
        dovecot: "`ssl_dh = </etc/dovecot/dh.pem` with a 2048-bit or larger group (2.3); \
            ECDHE-only `ssl_cipher_list` otherwise",
        exim: "`tls_dhparam = ffdhe3072` (or another RFC 7919 group) and `tls_dh_max_bits` of \
            at least 2048",
    },
    references: &[
        Reference::rfc(
            "RFC 9325",
            "4.5",
            "DH groups of fewer than 2048 bits should not be used",
        ),
        Reference::doc(
            "CVE-2015-4000",
            "Logjam: precomputation against common 512- and 1024-bit DH groups",
            "https://nvd.nist.gov/vuln/detail/CVE-2015-4000",
        ),
    ],
    check: Check::Endpoint(weak_dh_group),
};

fn weak_dh_group(ep: &Endpoint<'_>) -> Vec<Hit> {
    let Some(scan) = scan(ep) else {
        return Vec::new();
    };
    let found: Vec<(TlsVersion, &AcceptedSuite, u32)> = scan
        .accepted_suites()
        .filter_map(|(v, s)| Some((v, s, s.dh_bits.filter(|&b| b < 2048)?)))
        .collect();
    let Some(smallest) = found.iter().map(|(_, _, b)| *b).min() else {
        return Vec::new();
    };
    let anonymous_only = found.iter().all(|(_, s, _)| s.has(SuiteFlag::Anonymous));
    let note = if anonymous_only {
        ", anonymous suites only"
    } else {
        ""
    };
    let summary = format!(
        "{} uses a {smallest}-bit DH group for {}{note}.",
        facts::service(ep.obs),
        count(found.len(), "DHE suite"),
    );
    let lines = found
        .iter()
        .map(|(v, s, b)| format!("{}: {b}-bit DH group", suite_line(*v, s)))
        .collect();
    vec![Hit::new(summary, listed(lines))]
}
