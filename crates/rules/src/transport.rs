//! TRANSPORT rules: whether TLS protects the dialog at all, and which ports
//! should not be reachable.

use mailwarden_model::{EnforcementOutcome, Evidence, Posture, Protocol, Severity};

use crate::catalogue::{Check, Family, Level, Reference, Remediation, Rule, Severities};
use crate::facts::{self, Endpoint, Hit, Via, evidence, lines_mentioning};

/// MW-TRANSPORT-001.
pub(crate) const PLAINTEXT_ONLY_CLIENT_PORT: Rule = Rule {
    id: "MW-TRANSPORT-001",
    name: "plaintext-only-client-port",
    family: Family::Transport,
    title: "A client port offers no TLS at all",
    severities: Severities {
        submission: Level::Default,
        mail_access: Level::Default,
        sieve: Level::Default,
        ..Severities::only(Severity::Critical)
    },
    rationale: "Mail clients authenticate on submission, IMAP, POP3 and ManageSieve ports. Without \
        STARTTLS or implicit TLS, every password and every message crosses the network in clear \
        and can be read by anyone on the path, without any active attack. RFC 8314 deprecates \
        cleartext access and submission altogether.",
    remediation: Remediation {
        generic: "Serve clients over implicit TLS (465 submissions, 993 imaps, 995 pop3s); where a \
            STARTTLS port must stay, enable STARTTLS and require it before authentication.",
        postfix: "add a `submissions` service with `-o smtpd_tls_wrappermode=yes` in master.cf, \
            set `smtpd_tls_chain_files`, and give `submission` `-o smtpd_tls_security_level=encrypt`",
        dovecot: "set `ssl = required` with `ssl_cert`/`ssl_key` (2.3) or \
            `ssl_server_cert_file`/`ssl_server_key_file` (2.4), and enable the imaps/pop3s listeners",
        exim: "set `tls_certificate`, `tls_privatekey` and `tls_advertise_hosts = *`, and add \
            `tls_on_connect_ports = 465` (with 465 in `daemon_smtp_ports`)",
    },
    references: &[
        Reference::rfc(
            "RFC 8314",
            "4.1",
            "cleartext mail access and submission are deprecated",
        ),
        Reference::rfc(
            "RFC 8314",
            "3",
            "implicit TLS for POP3, IMAP and submission",
        ),
        Reference::rfc(
            "RFC 2595",
            "2.3",
            "servers must be configurable to refuse cleartext logins without encryption",
        ),
    ],
    check: Check::Endpoint(plaintext_only),
};

/// MW-TRANSPORT-002.
pub(crate) const MX_WITHOUT_STARTTLS: Rule = Rule {
    id: "MW-TRANSPORT-002",
    name: "mx-without-starttls",
    family: Family::Transport,
    title: "The MX does not offer STARTTLS",
    severities: Severities {
        mx: Level::Default,
        ..Severities::only(Severity::High)
    },
    rationale: "Without STARTTLS every message sent to the domain crosses the Internet in clear, \
        even from senders that would encrypt opportunistically (RFC 7435). MTA-STS and DANE, the \
        mechanisms that let senders insist on TLS, both require STARTTLS.",
    remediation: Remediation {
        generic: "Enable STARTTLS on the MX with a certificate for its MX host name, and keep it \
            optional for senders (RFC 3207 §4).",
        postfix: "`smtpd_tls_security_level = may` and `smtpd_tls_chain_files = /etc/ssl/private/mx.pem` \
            in main.cf",
        dovecot: "Dovecot is not the MX: enable STARTTLS in the MTA in front of it (Postfix \
            `smtpd_tls_security_level = may`)",
        exim: "`tls_advertise_hosts = *` with `tls_certificate` and `tls_privatekey` set",
    },
    references: &[
        Reference::rfc(
            "RFC 7435",
            "",
            "opportunistic security: encrypt whenever possible, even unauthenticated",
        ),
        Reference::rfc(
            "RFC 3207",
            "4",
            "STARTTLS for SMTP; a public MX offers it without requiring it",
        ),
        Reference::rfc("RFC 8461", "", "MTA-STS requires STARTTLS on the MX"),
    ],
    check: Check::Endpoint(plaintext_only),
};

fn plaintext_only(ep: &Endpoint<'_>) -> Vec<Hit> {
    if ep.posture != Posture::PlaintextOnly {
        return Vec::new();
    }
    let mut proof: Vec<Evidence> = Vec::new();
    if let Some(caps) = facts::caps_before_tls(ep.obs) {
        proof.push(evidence(
            format!("reply to `{}` (no STARTTLS listed)", caps.command),
            caps.reply.clone(),
        ));
    }
    if let Some(ex) = facts::starttls(ep.obs) {
        proof.push(evidence(
            format!("reply to `{}`", ex.command),
            ex.reply.clone(),
        ));
    }
    if proof.is_empty()
        && let Some(greeting) = facts::plaintext_greeting(ep.obs)
    {
        proof.push(evidence("greeting", greeting.to_vec()));
    }
    vec![Hit::new(
        format!(
            "{} offers no TLS: STARTTLS is not available and the port does not speak implicit TLS.",
            facts::service(ep.obs)
        ),
        proof,
    )]
}

/// MW-TRANSPORT-003.
pub(crate) const STARTTLS_OPTIONAL_CLIENT_PORT: Rule = Rule {
    id: "MW-TRANSPORT-003",
    name: "starttls-optional-client-port",
    family: Family::Transport,
    title: "A client port lets the session go on without TLS",
    severities: Severities {
        submission: Level::Default,
        mail_access: Level::Default,
        sieve: Level::Default,
        ..Severities::only(Severity::High)
    },
    rationale: "STARTTLS works, but the server also lets a client authenticate or send mail \
        without it. An active attacker who strips the STARTTLS capability (RFC 3207 §6) gets the \
        client's password or message in clear, and a misconfigured client leaks them to a passive \
        one. RFC 8314 asks servers to require TLS before authentication and recommends implicit \
        TLS for clients.",
    remediation: Remediation {
        generic: "Require TLS before any authentication or mail on client ports, and move clients \
            to implicit TLS (465, 993, 995) as RFC 8314 recommends.",
        postfix: "for the submission service in master.cf: `-o smtpd_tls_security_level=encrypt \
            -o smtpd_tls_auth_only=yes`",
        dovecot: "`ssl = required`, and `disable_plaintext_auth = yes` (2.3) / \
            `auth_allow_cleartext = no` (2.4)",
        exim: "`auth_advertise_hosts = ${if eq{$tls_in_cipher}{}{}{*}}`, and in `acl_smtp_mail`: \
            `deny condition = ${if eq{$received_port}{587}} !encrypted = *`",
    },
    references: &[
        Reference::rfc(
            "RFC 8314",
            "3.3",
            "submission clients should use implicit TLS",
        ),
        Reference::rfc(
            "RFC 8314",
            "4.1",
            "cleartext access and submission are deprecated",
        ),
        Reference::rfc(
            "RFC 3207",
            "4",
            "a server that is not a public MX may require TLS (530 before STARTTLS)",
        ),
        Reference::rfc(
            "RFC 3207",
            "6",
            "an active attacker can delete the STARTTLS capability",
        ),
    ],
    check: Check::Endpoint(starttls_optional),
};

fn starttls_optional(ep: &Endpoint<'_>) -> Vec<Hit> {
    if ep.posture != Posture::StarttlsOptional {
        return Vec::new();
    }
    let mut what: Vec<String> = Vec::new();
    let mut proof = Vec::new();
    if let Some(auth) = facts::auth_before_tls(ep.obs) {
        what.push(format!("offers {} before TLS", auth.offers.join(", ")));
        proof.push(facts::auth_evidence(ep.obs, &auth));
    }
    for probe in facts::probes_with(ep.obs, EnforcementOutcome::AcceptedWithoutTls) {
        what.push(format!(
            "accepted `{}` without TLS",
            facts::probe_verb(probe.kind)
        ));
        proof.push(facts::probe_evidence(probe));
    }
    vec![Hit::new(
        format!(
            "{} does not require STARTTLS: it {}.",
            facts::service(ep.obs),
            what.join(" and ")
        ),
        proof,
    )]
}

/// MW-TRANSPORT-004.
pub(crate) const IMPLICIT_TLS_PORT_SPEAKS_PLAINTEXT: Rule = Rule {
    id: "MW-TRANSPORT-004",
    name: "implicit-tls-port-speaks-plaintext",
    family: Family::Transport,
    title: "An implicit-TLS port answers in plaintext",
    severities: Severities::everywhere(Severity::High),
    rationale: "Ports 465, 993 and 995 are registered for TLS from the first byte (RFC 8314 §3). \
        A client configured for them sends its ClientHello and fails, or, worse, a client that \
        falls back to plaintext on that port believes it is protected while it is not. A mail \
        greeting in plaintext shows the listener is configured as a plaintext or STARTTLS port.",
    remediation: Remediation {
        generic: "Configure the listener on this port for TLS from the first byte (implicit TLS), \
            or stop listening on it.",
        postfix: "give the `submissions` (465) service `-o smtpd_tls_wrappermode=yes` in master.cf",
        dovecot: "declare the port as `inet_listener imaps { port = 993; ssl = yes }` (pop3s \
            likewise) under `service imap-login`",
        exim: "list the port in `tls_on_connect_ports` (e.g. `tls_on_connect_ports = 465`)",
    },
    references: &[
        Reference::rfc(
            "RFC 8314",
            "3",
            "implicit TLS: the TLS handshake starts immediately after the TCP connection",
        ),
        Reference::rfc(
            "RFC 8314",
            "3.3",
            "port 465 is registered for submission over implicit TLS",
        ),
    ],
    check: Check::Endpoint(implicit_port_plaintext),
};

fn implicit_port_plaintext(ep: &Endpoint<'_>) -> Vec<Hit> {
    if !facts::is_implicit_port(ep.obs) {
        return Vec::new();
    }
    let Some(greeting) = facts::plaintext_greeting(ep.obs) else {
        return Vec::new();
    };
    let also_tls = ep.posture == Posture::ImplicitTls;
    let summary = if also_tls {
        format!(
            "{} is an implicit-TLS port, but it also answers a plaintext connection with a mail greeting.",
            facts::service(ep.obs)
        )
    } else {
        format!(
            "{} is an implicit-TLS port, but it speaks plaintext: the first thing it sends is a mail greeting.",
            facts::service(ep.obs)
        )
    };
    vec![Hit::new(
        summary,
        vec![evidence("plaintext greeting", greeting.to_vec())],
    )]
}

/// MW-TRANSPORT-005.
pub(crate) const STARTTLS_ADVERTISED_INSIDE_TLS: Rule = Rule {
    id: "MW-TRANSPORT-005",
    name: "starttls-advertised-inside-tls",
    family: Family::Transport,
    title: "STARTTLS is advertised over a connection that is already TLS",
    severities: Severities {
        mail_access: Level::At(Severity::Info),
        sieve: Level::At(Severity::Info),
        ..Severities::everywhere(Severity::Low)
    },
    rationale: "Once TLS is active, offering STARTTLS again is an error in SMTP (RFC 3207 §4.2) \
        and confuses clients that act on it. It usually means TLS is terminated by a wrapper or \
        proxy that the mail server does not know about, so the server may also apply its \
        plaintext policies (such as offering AUTH) to connections it believes are unencrypted.",
    remediation: Remediation {
        generic: "Let the mail server terminate TLS itself so it knows the session is encrypted, \
            or make the proxy rewrite the capability list.",
        postfix: "terminate TLS in Postfix (`-o smtpd_tls_wrappermode=yes` on the 465 service) \
            rather than in an external wrapper such as stunnel",
        dovecot: "terminate TLS in Dovecot (`inet_listener imaps { ssl = yes }`) rather than in \
            an external proxy",
        exim: "terminate TLS in Exim (`tls_on_connect_ports`) rather than in an external wrapper",
    },
    references: &[Reference::rfc(
        "RFC 3207",
        "4.2",
        "a server MUST NOT return the STARTTLS extension after a TLS handshake has completed",
    )],
    check: Check::Endpoint(starttls_inside_tls),
};

fn starttls_inside_tls(ep: &Endpoint<'_>) -> Vec<Hit> {
    facts::caps_inside_tls(ep.obs)
        .into_iter()
        .filter(|(_, caps)| caps.starttls)
        .map(|(via, caps)| {
            let over = match via {
                Via::Implicit => "over implicit TLS",
                Via::Starttls => "after STARTTLS completed",
            };
            Hit::new(
                format!(
                    "{} still advertises STARTTLS {over}.",
                    facts::service(ep.obs)
                ),
                vec![evidence(
                    format!("reply to `{}` {over}", caps.command),
                    lines_mentioning(&caps.reply, &["STARTTLS", "STLS"]),
                )],
            )
        })
        .collect()
}

/// MW-TRANSPORT-006.
pub(crate) const LMTP_EXPOSED: Rule = Rule {
    id: "MW-TRANSPORT-006",
    name: "lmtp-exposed",
    family: Family::Transport,
    title: "LMTP is reachable over the network",
    severities: Severities {
        lmtp: Level::Default,
        ..Severities::only(Severity::High)
    },
    rationale: "LMTP (RFC 2033) delivers straight into mailboxes, usually without \
        authentication, spam filtering or TLS: it trusts its client to be the local MTA. Anyone \
        who can reach it can inject mail into any mailbox, bypassing every check the MX applies.",
    remediation: Remediation {
        generic: "Bind LMTP to a UNIX socket or to loopback, and firewall its TCP port from every \
            network.",
        postfix: "deliver over a UNIX socket (`mailbox_transport = lmtp:unix:private/dovecot-lmtp`) \
            so the LMTP server needs no TCP listener",
        dovecot: "use `service lmtp { unix_listener ... }` and remove its `inet_listener lmtp` \
            (or set `address = 127.0.0.1`)",
        exim: "point the `lmtp` transport at a UNIX socket (`socket = /run/dovecot/lmtp`) and \
            close the LMTP server's TCP port",
    },
    references: &[Reference::rfc(
        "RFC 2033",
        "5",
        "LMTP is for local delivery and MUST NOT be used on TCP port 25",
    )],
    check: Check::Endpoint(lmtp_exposed),
};

fn lmtp_exposed(ep: &Endpoint<'_>) -> Vec<Hit> {
    if ep.obs.protocol != Some(Protocol::Lmtp) {
        return Vec::new();
    }
    let mut proof = Vec::new();
    if let Some(greeting) = facts::plaintext_greeting(ep.obs) {
        proof.push(evidence("greeting", greeting.to_vec()));
    }
    if let Some(caps) = facts::caps_before_tls(ep.obs) {
        proof.push(evidence(
            format!("reply to `{}`", caps.command),
            caps.reply.clone(),
        ));
    }
    vec![Hit::new(
        format!(
            "LMTP answers on port {} from the scanning host: local delivery is reachable from the network.",
            ep.obs.address.port()
        ),
        proof,
    )]
}
