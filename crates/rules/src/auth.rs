//! AUTH rules: authentication offered or accepted without TLS.

use mailwarden_model::{EnforcementKind, EnforcementOutcome, Posture, Severity};

use crate::catalogue::{Check, Family, Level, Reference, Remediation, Rule, Severities};
use crate::facts::{self, Endpoint, Hit};

/// MW-AUTH-001.
pub(crate) const AUTH_OFFERED_BEFORE_TLS: Rule = Rule {
    id: "MW-AUTH-001",
    name: "auth-offered-before-tls",
    family: Family::Auth,
    title: "Authentication is offered before TLS",
    severities: Severities {
        mx: Level::At(Severity::Medium),
        ..Severities::everywhere(Severity::High)
    },
    rationale: "A server that lists SASL mechanisms (SMTP AUTH, ManageSieve SASL), IMAP LOGIN \
        (no LOGINDISABLED) or POP3 USER before TLS invites clients to send credentials in clear. \
        PLAIN, LOGIN, IMAP LOGIN and POP3 PASS carry the password itself; challenge-response \
        mechanisms still expose the whole session and allow offline guessing. On an MX, AUTH \
        before TLS exposes the credentials of anyone relaying through it.",
    remediation: Remediation {
        generic: "Offer authentication only after TLS is established (or only on implicit-TLS \
            ports).",
        postfix: "`smtpd_tls_auth_only = yes` in main.cf (or `-o smtpd_tls_auth_only=yes` on the \
            service in master.cf)",
        dovecot: "`disable_plaintext_auth = yes` (2.3) / `auth_allow_cleartext = no` (2.4); \
            `ssl = required` also hides the other mechanisms before TLS",
        exim: "`auth_advertise_hosts = ${if eq{$tls_in_cipher}{}{}{*}}` so AUTH is advertised \
            only over TLS",
    },
    references: &[
        Reference::rfc(
            "RFC 2595",
            "2.3",
            "servers must be configurable to refuse cleartext logins unless encryption is active",
        ),
        Reference::rfc(
            "RFC 2595",
            "3.2",
            "an IMAP server implementing STARTTLS must implement LOGINDISABLED",
        ),
        Reference::rfc(
            "RFC 3501",
            "6.2.3",
            "IMAP LOGIN: plaintext passwords should not be permitted before TLS",
        ),
        Reference::rfc(
            "RFC 2449",
            "6.2",
            "the POP3 USER capability announces USER/PASS",
        ),
        Reference::rfc("RFC 5804", "2.2", "ManageSieve STARTTLS"),
        Reference::rfc(
            "RFC 8314",
            "4.1",
            "cleartext access and submission are deprecated",
        ),
    ],
    check: Check::Endpoint(auth_offered_before_tls),
};

fn auth_offered_before_tls(ep: &Endpoint<'_>) -> Vec<Hit> {
    let Some(auth) = facts::auth_before_tls(ep.obs) else {
        return Vec::new();
    };
    let mut summary = format!(
        "{} offers {} before TLS",
        facts::service(ep.obs),
        auth.offers.join(", ")
    );
    if auth.cleartext_password {
        summary.push_str(", which sends the password itself");
    }
    if ep.posture == Posture::PlaintextOnly {
        summary.push_str("; TLS is not offered at all");
    }
    summary.push('.');
    vec![Hit::new(summary, vec![facts::auth_evidence(ep.obs, &auth)])]
}

/// MW-AUTH-002.
pub(crate) const PLAINTEXT_LOGIN_ACCEPTED: Rule = Rule {
    id: "MW-AUTH-002",
    name: "plaintext-login-accepted",
    family: Family::Auth,
    title: "A cleartext login is accepted before TLS",
    severities: Severities {
        mx: Level::No,
        ..Severities::everywhere(Severity::Critical)
    },
    rationale: "The server processed a login command sent in clear: it answered IMAP LOGIN with \
        an authentication failure (so it read the password) or POP3 USER with +OK (so it waits \
        for PASS). Any client that does not insist on TLS sends its password to every passive \
        observer on the path.",
    remediation: Remediation {
        generic: "Refuse cleartext logins before TLS on every client port.",
        postfix: "Postfix serves no IMAP or POP3: fix the server behind this port with its \
            cleartext-login switch (Dovecot `auth_allow_cleartext = no`)",
        dovecot: "`disable_plaintext_auth = yes` (2.3) / `auth_allow_cleartext = no` (2.4), or \
            `ssl = required`",
        exim: "Exim serves no IMAP or POP3: fix the server behind this port with its \
            cleartext-login switch (Dovecot `auth_allow_cleartext = no`)",
    },
    references: &[
        Reference::rfc(
            "RFC 2595",
            "2.3",
            "servers must be configurable to refuse cleartext logins unless encryption is active",
        ),
        Reference::rfc(
            "RFC 3501",
            "6.2.3",
            "IMAP LOGIN: plaintext passwords should not be permitted before TLS",
        ),
        Reference::rfc(
            "RFC 8314",
            "4.1",
            "cleartext access and submission are deprecated",
        ),
    ],
    check: Check::Endpoint(plaintext_login_accepted),
};

fn plaintext_login_accepted(ep: &Endpoint<'_>) -> Vec<Hit> {
    facts::probes_with(ep.obs, EnforcementOutcome::AcceptedWithoutTls)
        .filter(|p| {
            matches!(
                p.kind,
                EnforcementKind::ImapLoginBeforeTls | EnforcementKind::Pop3UserBeforeTls
            )
        })
        .map(|probe| {
            let consequence = match probe.kind {
                EnforcementKind::Pop3UserBeforeTls => {
                    "the next command, PASS, carries the password in clear"
                }
                _ => "the server reads passwords sent in clear",
            };
            Hit::new(
                format!(
                    "{} accepted `{}` before TLS: {consequence}.",
                    facts::service(ep.obs),
                    facts::probe_verb(probe.kind)
                ),
                vec![facts::probe_evidence(probe)],
            )
        })
        .collect()
}
