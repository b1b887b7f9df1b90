//! TLS rules: whether a handshake completes, and with which protocol version.

use mailwarden_model::{Attempt, Evidence, Posture, Severity, TlsHandshake, TlsVersion};

use crate::catalogue::{Check, Family, Level, Reference, Remediation, Rule, Severities};
use crate::facts::{self, Endpoint, Hit, evidence, fact_lines, handshake_failure_lines};

/// MW-TLS-001.
pub(crate) const TLS_HANDSHAKE_FAILS: Rule = Rule {
    id: "MW-TLS-001",
    name: "tls-handshake-fails",
    family: Family::Tls,
    title: "TLS is advertised or expected, but no modern handshake completes",
    severities: Severities::everywhere(Severity::High),
    rationale: "A modern client (TLS 1.2/1.3, ECDHE, AEAD suites) cannot establish TLS. Mail \
        clients fail to connect or, if configured for opportunistic STARTTLS, continue in clear; \
        sending MTAs fall back to plaintext delivery or defer the mail. Common causes: a \
        certificate and key that do not match, an unreadable key file, TLS 1.2 and 1.3 disabled, \
        or a cipher list with only legacy suites.",
    remediation: Remediation {
        generic: "Make a TLS 1.2/1.3 handshake with ECDHE and AEAD suites complete: matching \
            key and certificate, TLS 1.2+ enabled, modern suites allowed.",
        postfix: "check `smtpd_tls_chain_files` (key matches certificate), \
            `smtpd_tls_protocols = >=TLSv1.2`, `smtpd_tls_mandatory_protocols = >=TLSv1.2`, and \
            the mail log for TLS errors",
        dovecot: "check `ssl_cert`/`ssl_key` (2.3) or `ssl_server_cert_file`/\
            `ssl_server_key_file` (2.4), `ssl_min_protocol = TLSv1.2`, and the log for SSL errors",
        exim: "check `tls_certificate`/`tls_privatekey`, `tls_require_ciphers` and \
            `openssl_options`, and the main log for TLS errors",
    },
    references: &[
        Reference::rfc(
            "RFC 9325",
            "3.1.1",
            "TLS 1.2 must be supported and TLS 1.3 should be",
        ),
        Reference::rfc(
            "RFC 3207",
            "6",
            "when STARTTLS fails, SMTP continues in clear or not at all",
        ),
    ],
    check: Check::Endpoint(handshake_fails),
};

fn handshake_fails(ep: &Endpoint<'_>) -> Vec<Hit> {
    if ep.posture != Posture::TlsBroken {
        return Vec::new();
    }
    let service = facts::service(ep.obs);
    let (summary, proof) = match facts::starttls(ep.obs) {
        // STARTTLS was sent: the exchange is the story, whatever the port.
        Some(ex) if !ex.accepted => (
            format!("{service} advertises STARTTLS but refuses the command."),
            vec![evidence(
                format!("reply to `{}`", ex.command),
                ex.reply.clone(),
            )],
        ),
        Some(ex) => {
            let mut proof = vec![evidence(
                format!("reply to `{}`", ex.command),
                ex.reply.clone(),
            )];
            proof.push(attempt_evidence("STARTTLS handshake", &ex.handshake));
            (
                format!(
                    "{service} accepts STARTTLS, but the TLS handshake does not complete{}.",
                    legacy_note(ex.handshake.value())
                ),
                proof,
            )
        }
        None => match &ep.obs.implicit_tls {
            Some(imp) => (
                format!(
                    "{service} expects implicit TLS, but the TLS handshake does not complete{}.",
                    legacy_note(imp.handshake.value())
                ),
                vec![attempt_evidence("implicit TLS handshake", &imp.handshake)],
            ),
            None => {
                let failure = facts::plaintext(ep.obs)
                    .and_then(|p| p.starttls.failure())
                    .map(|f| f.to_string())
                    .unwrap_or_else(|| "no reply".to_owned());
                (
                    format!("{service} advertises STARTTLS, but the command fails: {failure}."),
                    vec![evidence("STARTTLS", fact_lines([failure]))],
                )
            }
        },
    };
    vec![Hit::new(summary, proof)]
}

fn attempt_evidence(label: &str, attempt: &Attempt<TlsHandshake>) -> Evidence {
    let lines = match attempt {
        Attempt::Completed { value } => handshake_failure_lines(value),
        Attempt::Failed { error } => fact_lines([format!("handshake failed: {error}")]),
        Attempt::Skipped { reason } => fact_lines([format!("handshake skipped: {reason}")]),
    };
    evidence(label, lines)
}

/// ", and a legacy client only gets TLSv1.0" when the legacy hello shows why.
fn legacy_note(hs: Option<&TlsHandshake>) -> String {
    match hs
        .and_then(|h| h.legacy_hello.as_ref())
        .and_then(|l| l.version)
    {
        Some(v) => format!(" (a legacy client is offered {v})"),
        None => String::new(),
    }
}

/// MW-TLS-002.
pub(crate) const LEGACY_TLS_VERSION: Rule = Rule {
    id: "MW-TLS-002",
    name: "legacy-tls-version",
    family: Family::Tls,
    title: "The server negotiates TLS 1.1 or older by default",
    severities: Severities {
        mx: Level::At(Severity::Medium),
        ..Severities::everywhere(Severity::High)
    },
    rationale: "TLS 1.0 and 1.1 (and SSL 3.0) are deprecated: they lack modern AEAD cipher \
        suites and rely on MD5/SHA-1 constructions. When a server's default handshake lands on \
        them, either it cannot do TLS 1.2 at all or it prefers an obsolete version; current \
        clients refuse both. On an MX, senders fall back to plaintext.",
    remediation: Remediation {
        generic: "Enable TLS 1.2 and 1.3 and disable TLS 1.0, TLS 1.1 and SSL.",
        postfix: "`smtpd_tls_protocols = >=TLSv1.2` and `smtpd_tls_mandatory_protocols = >=TLSv1.2` \
            (Postfix 3.6+), with an OpenSSL that supports TLS 1.3",
        dovecot: "`ssl_min_protocol = TLSv1.2`",
        exim: "`openssl_options = +no_sslv3 +no_tlsv1 +no_tlsv1_1` (OpenSSL builds) or \
            `tls_require_ciphers = NORMAL:-VERS-TLS1.0:-VERS-TLS1.1` (GnuTLS builds)",
    },
    references: &[
        Reference::rfc("RFC 8996", "", "TLS 1.0 and TLS 1.1 are deprecated"),
        Reference::rfc(
            "RFC 8997",
            "",
            "TLS 1.1 and older are deprecated for email submission and access (updates RFC 8314)",
        ),
        Reference::rfc("RFC 7568", "", "SSL 3.0 is deprecated"),
        Reference::rfc(
            "RFC 9325",
            "3.1.1",
            "TLS 1.0 and 1.1 must not be negotiated",
        ),
    ],
    check: Check::Endpoint(legacy_version),
};

fn legacy_version(ep: &Endpoint<'_>) -> Vec<Hit> {
    facts::handshakes(ep.obs)
        .into_iter()
        .filter_map(|(via, hs)| {
            let (version, how) = legacy_of(hs)?;
            let suite = if hs.completed {
                hs.cipher_suite.as_ref()
            } else {
                hs.legacy_hello
                    .as_ref()
                    .and_then(|l| l.cipher_suite.as_ref())
            };
            let mut line = format!("{how}: {version}");
            if let Some(s) = suite {
                line.push_str(&format!(" {s}"));
            }
            Some(Hit::new(
                format!(
                    "{} {how} {version} over {}.",
                    facts::service(ep.obs),
                    via.as_str()
                ),
                vec![evidence(
                    format!("{} handshake", via.as_str()),
                    fact_lines([line]),
                )],
            ))
        })
        .collect()
}

/// The legacy version a handshake shows, and how: negotiated by the modern
/// handshake itself, or chosen for a legacy ClientHello after the modern one failed.
fn legacy_of(hs: &TlsHandshake) -> Option<(TlsVersion, &'static str)> {
    if hs.completed {
        let v = hs.version?;
        return (v < TlsVersion::TLS12).then_some((v, "negotiates"));
    }
    let v = hs.legacy_hello.as_ref()?.version?;
    (v < TlsVersion::TLS12).then_some((v, "only offers a legacy client"))
}
