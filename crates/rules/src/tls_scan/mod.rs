//! Rules on the TLS enumeration ([`TlsScan`]): protocol versions accepted
//! or missing (here), weak suites and DH groups ([`suites`]), protocol
//! features and Heartbleed ([`features`]).
//!
//! Everything the enumeration records is hello-level evidence: the server
//! *chose* a version or suite in a ServerHello. That is what a finding
//! needs (a server willing to negotiate RC4 is the problem, whether or not
//! our probe went on to finish the handshake), so these rules do not ask
//! for a completed handshake; the evidence says "ServerHello" all the same.
//! Rules never fire on what was not determined (throttled, failed or not
//! tested versions).
//!
//! Context: the MX (RFC 7435, opportunistic TLS) tolerates more than client
//! ports (RFC 8314, RFC 8996, RFC 8997, RFC 9325), because for a sending
//! MTA the alternative to weak TLS is plaintext.

pub(crate) mod features;
pub(crate) mod suites;

use mailwarden_model::{Evidence, Line, Severity, SupportStatus, TlsScan, TlsVersion, VersionScan};

use crate::catalogue::{Check, Family, Level, Reference, Remediation, Rule, Severities};
use crate::facts::{self, Endpoint, Hit, evidence, fact_lines};

/// The enumeration of an endpoint, when it ran to the end.
pub(crate) fn scan<'a>(ep: &Endpoint<'a>) -> Option<&'a TlsScan> {
    ep.obs.tls_scan.as_ref()?.value()
}

/// The label of enumeration evidence.
pub(crate) const LABEL: &str = "TLS enumeration (ServerHello answers to mailwarden's ClientHellos)";

/// At most this many suites are listed in evidence.
const MAX_LISTED: usize = 12;

/// One evidence item of fact lines, cut to [`MAX_LISTED`] with a count of the rest.
pub(crate) fn listed(lines: Vec<String>) -> Vec<Evidence> {
    let total = lines.len();
    let mut shown: Vec<String> = lines.into_iter().take(MAX_LISTED).collect();
    if total > MAX_LISTED {
        shown.push(format!("... and {} more", total - MAX_LISTED));
    }
    vec![evidence(LABEL, fact_lines(shown))]
}

/// "1 suite" / "3 suites".
pub(crate) fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn version_line(v: &VersionScan) -> Line {
    let (what, names): (String, Vec<String>) = if v.version == TlsVersion::SSL2 {
        (
            count(v.sslv2_ciphers.len(), "cipher kind"),
            v.sslv2_ciphers
                .iter()
                .map(|c| {
                    c.name
                        .clone()
                        .unwrap_or_else(|| format!("0x{:06x}", c.code))
                })
                .collect(),
        )
    } else {
        (
            count(v.suites.len(), "suite"),
            v.suites.iter().map(|s| s.id.to_string()).collect(),
        )
    };
    let shown: Vec<String> = names.iter().take(3).cloned().collect();
    let more = match (shown.len(), names.len()) {
        (0, _) => String::new(),
        (a, b) if a < b => format!(": {}, ...", shown.join(", ")),
        _ => format!(": {}", shown.join(", ")),
    };
    Line::from(format!("{}: accepted, {what}{more}", v.version).as_str())
}

/// A check for "the server accepts `version`".
fn accepts(ep: &Endpoint<'_>, version: TlsVersion) -> Vec<Hit> {
    let Some(v) = scan(ep)
        .and_then(|s| s.version(version))
        .filter(|v| v.accepted())
    else {
        return Vec::new();
    };
    vec![Hit::new(
        format!("{} accepts {version}.", facts::service(ep.obs)),
        vec![evidence(LABEL, vec![version_line(v)])],
    )]
}

/// A check for "the server refuses `version`" (only when that is known).
fn refuses<'a>(ep: &Endpoint<'a>, version: TlsVersion) -> Option<(&'a TlsScan, &'a VersionScan)> {
    let scan = scan(ep)?;
    let v = scan.version(version)?;
    (v.status == SupportStatus::Refused).then_some((scan, v))
}

const LEGACY_PROTOCOLS: Remediation = Remediation {
    generic: "Disable SSL 2.0, SSL 3.0, TLS 1.0 and TLS 1.1; offer TLS 1.2 and 1.3 only.",
    postfix: "`smtpd_tls_protocols = >=TLSv1.2` and `smtpd_tls_mandatory_protocols = >=TLSv1.2` \
        (Postfix 3.6+; older: `!SSLv2, !SSLv3, !TLSv1, !TLSv1.1`), and no `@SECLEVEL=0` in \
        `tls_*_cipherlist`",
    dovecot: "`ssl_min_protocol = TLSv1.2`",
    exim: "`openssl_options = +no_sslv2 +no_sslv3 +no_tlsv1 +no_tlsv1_1` (OpenSSL builds) or \
        `tls_require_ciphers = NORMAL:-VERS-SSL3.0:-VERS-TLS1.0:-VERS-TLS1.1` (GnuTLS builds)",
};

/// MW-TLS-003.
pub(crate) const SSLV2_ACCEPTED: Rule = Rule {
    id: "MW-TLS-003",
    name: "sslv2-accepted",
    family: Family::Tls,
    title: "The server accepts SSL 2.0",
    severities: Severities {
        mx: Level::At(Severity::High),
        ..Severities::everywhere(Severity::Critical)
    },
    rationale: "SSL 2.0 is broken beyond repair: weak MACs, no handshake integrity, export \
        ciphers. A server that still answers it also exposes its RSA key to DROWN: sessions of \
        any protocol version made with the same key can be decrypted.",
    remediation: Remediation {
        generic: "Disable SSL 2.0 (and upgrade the TLS library: current OpenSSL and GnuTLS \
            cannot speak it at all).",
        ..LEGACY_PROTOCOLS
    },
    references: &[
        Reference::rfc("RFC 6176", "", "SSL 2.0 must never be negotiated"),
        Reference::doc(
            "CVE-2016-0800",
            "DROWN: SSLv2 support breaks TLS sessions that share the key",
            "https://nvd.nist.gov/vuln/detail/CVE-2016-0800",
        ),
    ],
    check: Check::Endpoint(sslv2_accepted),
};

fn sslv2_accepted(ep: &Endpoint<'_>) -> Vec<Hit> {
    accepts(ep, TlsVersion::SSL2)
}

/// MW-TLS-004.
pub(crate) const SSLV3_ACCEPTED: Rule = Rule {
    id: "MW-TLS-004",
    name: "sslv3-accepted",
    family: Family::Tls,
    title: "The server accepts SSL 3.0",
    severities: Severities {
        mx: Level::At(Severity::Medium),
        ..Severities::everywhere(Severity::High)
    },
    rationale: "SSL 3.0's CBC padding is not covered by its MAC (POODLE) and its only other \
        cipher is RC4: an attacker who can make a client retry recovers secrets such as \
        passwords. RFC 7568 forbids it.",
    remediation: LEGACY_PROTOCOLS,
    references: &[
        Reference::rfc("RFC 7568", "", "SSL 3.0 must not be used"),
        Reference::doc(
            "CVE-2014-3566",
            "POODLE: padding oracle on SSL 3.0 CBC",
            "https://nvd.nist.gov/vuln/detail/CVE-2014-3566",
        ),
    ],
    check: Check::Endpoint(sslv3_accepted),
};

fn sslv3_accepted(ep: &Endpoint<'_>) -> Vec<Hit> {
    accepts(ep, TlsVersion::SSL3)
}

/// Deprecated TLS versions: medium for clients, low on the MX.
const DEPRECATED_TLS: Severities = Severities {
    mx: Level::At(Severity::Low),
    ..Severities::everywhere(Severity::Medium)
};

const DEPRECATED_TLS_REFERENCES: &[Reference] = &[
    Reference::rfc("RFC 8996", "", "TLS 1.0 and TLS 1.1 must not be used"),
    Reference::rfc(
        "RFC 8997",
        "",
        "mail submission and access: TLS 1.1 and older are deprecated (updates RFC 8314)",
    ),
    Reference::rfc(
        "RFC 7435",
        "",
        "on an MX, any TLS beats plaintext: old senders fall back to cleartext",
    ),
];

/// MW-TLS-005.
pub(crate) const TLS10_ACCEPTED: Rule = Rule {
    id: "MW-TLS-005",
    name: "tls10-accepted",
    family: Family::Tls,
    title: "The server accepts TLS 1.0",
    severities: DEPRECATED_TLS,
    rationale: "TLS 1.0 has no AEAD suites, relies on MD5/SHA-1 in its PRF and handshake, and its \
        CBC suites are open to BEAST-style attacks. Mail clients made in the last decade speak \
        TLS 1.2; on client ports there is no reason to accept 1.0. On an MX, removing it may push \
        very old senders to plaintext, so it is a lower-severity clean-up there.",
    remediation: LEGACY_PROTOCOLS,
    references: DEPRECATED_TLS_REFERENCES,
    check: Check::Endpoint(tls10_accepted),
};

fn tls10_accepted(ep: &Endpoint<'_>) -> Vec<Hit> {
    accepts(ep, TlsVersion::TLS10)
}

/// MW-TLS-006.
pub(crate) const TLS11_ACCEPTED: Rule = Rule {
    id: "MW-TLS-006",
    name: "tls11-accepted",
    family: Family::Tls,
    title: "The server accepts TLS 1.1",
    severities: DEPRECATED_TLS,
    rationale: "TLS 1.1 shares TLS 1.0's weaknesses except BEAST: no AEAD suites, MD5/SHA-1 in \
        the handshake. It is deprecated for all uses; no client needs it that cannot do TLS 1.2.",
    remediation: LEGACY_PROTOCOLS,
    references: DEPRECATED_TLS_REFERENCES,
    check: Check::Endpoint(tls11_accepted),
};

fn tls11_accepted(ep: &Endpoint<'_>) -> Vec<Hit> {
    accepts(ep, TlsVersion::TLS11)
}

/// MW-TLS-007.
pub(crate) const NO_TLS12: Rule = Rule {
    id: "MW-TLS-007",
    name: "tls12-not-supported",
    family: Family::Tls,
    title: "The server does not accept TLS 1.2",
    severities: Severities::everywhere(Severity::Medium),
    rationale: "TLS 1.2 is the version every current client and MTA can speak; RFC 9325 requires \
        it. Without it, clients without TLS 1.3 cannot connect, and senders to an MX fall back \
        to plaintext. When TLS 1.3 is missing too, no modern client gets TLS at all \
        (`tls-handshake-fails`).",
    remediation: Remediation {
        generic: "Enable TLS 1.2 (and 1.3) with ECDHE and AEAD suites.",
        postfix: "`smtpd_tls_protocols = >=TLSv1.2` with an OpenSSL that has TLS 1.2, and no \
            upper bound such as `<=TLSv1.1`",
        dovecot: "`ssl_min_protocol = TLSv1.2`, and no `ssl_max_protocol` below it",
        exim: "remove `+no_tlsv1_2` from `openssl_options`, or add `+VERS-TLS1.2` to the GnuTLS \
            priority in `tls_require_ciphers`",
    },
    references: &[Reference::rfc(
        "RFC 9325",
        "3.1.1",
        "implementations must support TLS 1.2",
    )],
    check: Check::Endpoint(no_tls12),
};

fn no_tls12(ep: &Endpoint<'_>) -> Vec<Hit> {
    let Some((scan, v)) = refuses(ep, TlsVersion::TLS12) else {
        return Vec::new();
    };
    let tls13 = scan
        .version(TlsVersion::TLS13)
        .is_some_and(VersionScan::accepted);
    let also = if tls13 { " (only TLSv1.3)" } else { "" };
    let detail = v.detail.clone().unwrap_or_else(|| "refused".to_owned());
    vec![Hit::new(
        format!("{} does not accept TLSv1.2{also}.", facts::service(ep.obs)),
        vec![evidence(
            LABEL,
            fact_lines([format!("TLSv1.2: refused ({detail})")]),
        )],
    )]
}

/// MW-TLS-008.
pub(crate) const NO_TLS13: Rule = Rule {
    id: "MW-TLS-008",
    name: "tls13-not-supported",
    family: Family::Tls,
    title: "The server does not accept TLS 1.3",
    severities: Severities::everywhere(Severity::Low),
    rationale: "TLS 1.3 removes static key exchange, CBC and renegotiation, encrypts the \
        certificate and saves a round trip. RFC 9325 asks servers to support it; every current \
        OpenSSL and GnuTLS has it.",
    remediation: Remediation {
        generic: "Upgrade to a TLS library with TLS 1.3 (OpenSSL 1.1.1+, GnuTLS 3.6.5+) and do \
            not cap the protocol version at 1.2.",
        postfix: "Postfix 3.4+ with OpenSSL 1.1.1+; no `<=TLSv1.2` in `smtpd_tls_protocols`",
        dovecot: "Dovecot 2.3+ with OpenSSL 1.1.1+; no `ssl_max_protocol` below TLSv1.3",
        exim: "Exim 4.92+ with OpenSSL 1.1.1+ or GnuTLS 3.6.5+; no `+no_tlsv1_3` in \
            `openssl_options`",
    },
    references: &[Reference::rfc(
        "RFC 9325",
        "3.1.1",
        "implementations should support TLS 1.3",
    )],
    check: Check::Endpoint(no_tls13),
};

fn no_tls13(ep: &Endpoint<'_>) -> Vec<Hit> {
    let Some((_, v)) = refuses(ep, TlsVersion::TLS13) else {
        return Vec::new();
    };
    let detail = v.detail.clone().unwrap_or_else(|| "refused".to_owned());
    vec![Hit::new(
        format!("{} does not accept TLSv1.3.", facts::service(ep.obs)),
        vec![evidence(
            LABEL,
            fact_lines([format!("TLSv1.3: refused ({detail})")]),
        )],
    )]
}
