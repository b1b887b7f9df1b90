//! INFO rules: disclosure, and coverage (what could not be assessed).
//!
//! A banner that names its software without a version ("ESMTP Postfix",
//! "Dovecot ready.") is not a finding: it is the default of every common
//! server, the product is recoverable from behaviour anyway, and hiding it buys
//! nothing. A version number is different: it maps the server to known
//! vulnerabilities without any probing, so it is reported (low).

use mailwarden_model::{Attempt, Line, PortState, Posture, Severity, TargetResult};

use crate::catalogue::{Check, Family, Reference, Remediation, Rule, Severities};
use crate::facts::{self, Endpoint, Hit, evidence, fact_lines};

/// MW-INFO-001.
pub(crate) const SOFTWARE_VERSION_DISCLOSED: Rule = Rule {
    id: "MW-INFO-001",
    name: "software-version-disclosed",
    family: Family::Info,
    title: "The banner discloses the server software and its version",
    severities: Severities::everywhere(Severity::Low),
    rationale: "A product name with a version number in the greeting or implementation string \
        tells anyone which known vulnerabilities apply, without probing. The product name alone \
        is not reported: it is the default everywhere and hiding it buys nothing.",
    remediation: Remediation {
        generic: "Remove the version number from the greeting and implementation strings.",
        postfix: "`smtpd_banner = $myhostname ESMTP` (without `$mail_version`)",
        dovecot: "`login_greeting` and `managesieve_implementation_string` without a version",
        exim: "`smtp_banner = $smtp_active_hostname ESMTP $tod_full` (without `$version_number`)",
    },
    references: &[Reference::doc(
        "CWE-200",
        "exposure of sensitive information to an unauthorized actor",
        "",
    )],
    check: Check::Endpoint(version_disclosed),
};

/// Product names that servers put in banners, lower-case; multi-word names
/// are matched on their last word's position.
const PRODUCTS: [&str; 24] = [
    "postfix",
    "exim",
    "dovecot",
    "sendmail",
    "opensmtpd",
    "cyrus",
    "courier",
    "courier-imap",
    "haraka",
    "mdaemon",
    "kerio",
    "hmailserver",
    "zimbra",
    "axigen",
    "communigate",
    "icewarp",
    "mailenable",
    "smartermail",
    "stalwart",
    "maddy",
    "pigeonhole",
    "timsieved",
    "qmail",
    "service,", // "Microsoft ESMTP MAIL Service, Version: 10.0.17763.1"
];

/// A product and version found in a banner line.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Disclosed {
    pub product: String,
    pub version: String,
}

/// Finds "<product> <version>" in one banner line: a known product word
/// followed, within three words, by a version (digits, a dot, digits). Also
/// "<product>/<version>" in one word. A version alone (an IP literal, a date)
/// is not a disclosure.
pub(crate) fn disclosed(text: &str) -> Option<Disclosed> {
    let words: Vec<&str> = text.split_whitespace().collect();
    for (i, word) in words.iter().enumerate() {
        let bare = word.trim_matches(|c: char| "()[]\";".contains(c));
        if let Some((name, version)) = bare.split_once('/')
            && is_product(name)
            && let Some(v) = as_version(version)
        {
            return Some(Disclosed {
                product: name.to_owned(),
                version: v,
            });
        }
        if !is_product(bare) {
            continue;
        }
        let version = words.iter().skip(i + 1).take(3).find_map(|w| as_version(w));
        let Some(version) = version else {
            continue;
        };
        let product = if bare.eq_ignore_ascii_case("service,") {
            // Only Exchange's "Microsoft ESMTP MAIL Service, Version: x".
            let Some(start) = words
                .iter()
                .take(i)
                .position(|w| w.eq_ignore_ascii_case("microsoft"))
            else {
                continue;
            };
            let mut name = words.get(start..i).unwrap_or_default().join(" ");
            name.push_str(" Service");
            name
        } else {
            bare.to_owned()
        };
        return Some(Disclosed { product, version });
    }
    None
}

fn is_product(word: &str) -> bool {
    PRODUCTS.contains(&word.to_ascii_lowercase().as_str())
}

/// "3.7.11", "(3.7.11)", "v3.4.2", "4.96," -> the version; anything else -> None.
fn as_version(word: &str) -> Option<String> {
    let w = word.trim_matches(|c: char| "()[]\",;:".contains(c));
    let w = w.strip_prefix(['v', 'V']).unwrap_or(w);
    let w = w.trim_end_matches('.');
    let mut parts = w.split('.');
    let major = parts.next()?;
    let minor = parts.next()?;
    let starts_with_digit = |s: &str| s.chars().next().is_some_and(|c| c.is_ascii_digit());
    (major.chars().all(|c| c.is_ascii_digit()) && !major.is_empty() && starts_with_digit(minor))
        .then(|| w.to_owned())
}

fn version_disclosed(ep: &Endpoint<'_>) -> Vec<Hit> {
    let mut seen: Vec<&Line> = Vec::new();
    let mut found: Option<(Disclosed, Vec<Line>)> = None;
    for line in facts::banner_lines(ep.obs) {
        if seen.contains(&line) {
            continue;
        }
        seen.push(line);
        let Some(d) = disclosed(&line.text()) else {
            continue;
        };
        match &mut found {
            Some((first, lines)) if *first == d => lines.push(line.clone()),
            Some(_) => {}
            None => found = Some((d, vec![line.clone()])),
        }
    }
    let Some((d, lines)) = found else {
        return Vec::new();
    };
    vec![Hit::new(
        format!(
            "{} announces {} {}.",
            facts::service(ep.obs),
            d.product,
            d.version
        ),
        vec![evidence("banner", lines)],
    )]
}

/// MW-INFO-002.
pub(crate) const OPEN_PORT_NOT_MAIL: Rule = Rule {
    id: "MW-INFO-002",
    name: "open-port-not-mail",
    family: Family::Info,
    title: "A port scanned for mail is open but does not speak a mail protocol",
    severities: Severities::everywhere(Severity::Info),
    rationale: "Something answers where mail was expected: another service, a proxy, a \
        load balancer without a backend, or a TLS-only service we could not talk to. It was not \
        assessed as mail, and it may be exposed by mistake.",
    remediation: Remediation {
        generic: "Check what listens on this port (`ss -ltnp`) and whether it should be reachable; \
            close it or put the mail service back.",
        postfix: "if Postfix should answer here, declare the port as a service in master.cf and \
            run `postfix reload`",
        dovecot: "if Dovecot should answer here, add the port to the service's `inet_listener` \
            and run `doveadm reload`",
        exim: "if Exim should answer here, add the port to `daemon_smtp_ports` and restart Exim",
    },
    references: &[Reference::doc(
        "IANA Service Name and Transport Protocol Port Number Registry",
        "the ports mailwarden scans by default are registered for mail protocols",
        "https://www.iana.org/assignments/service-names-port-numbers",
    )],
    check: Check::Endpoint(open_not_mail),
};

fn open_not_mail(ep: &Endpoint<'_>) -> Vec<Hit> {
    if ep.obs.state != PortState::OpenNotMail {
        return Vec::new();
    }
    let port = ep.obs.address.port();
    let registered = match facts::role(ep.obs) {
        Some(role) => format!(" (role: {role})"),
        None => String::new(),
    };
    let mut proof = Vec::new();
    if !ep.obs.non_mail_reply.is_empty() {
        proof.push(evidence(
            "what the port said",
            ep.obs.non_mail_reply.clone(),
        ));
    }
    if let Some(detail) = &ep.obs.state_detail {
        proof.push(evidence("probe result", fact_lines([detail.to_string()])));
    }
    vec![Hit::new(
        format!("Port {port}{registered} is open but does not speak a mail protocol."),
        proof,
    )]
}

/// MW-INFO-003.
pub(crate) const ENDPOINT_NOT_ASSESSED: Rule = Rule {
    id: "MW-INFO-003",
    name: "endpoint-not-assessed",
    family: Family::Info,
    title: "A mail port could not be assessed",
    severities: Severities::everywhere(Severity::Info),
    rationale: "The server throttled the scanner, or the dialog failed part-way. Nothing is \
        known about this port's TLS or authentication: this is not a pass. Mail servers limit \
        connections per client (Postfix anvil, Dovecot login limits, fail2ban), so a scan from \
        one address can be refused.",
    remediation: Remediation {
        generic: "Scan again later, with lower concurrency, or from an address the server's \
            connection limits exempt.",
        postfix: "exempt the scanner from anvil limits with `smtpd_client_event_limit_exceptions` \
            or raise `smtpd_client_connection_count_limit`",
        dovecot: "check `service imap-login`/`pop3-login` `client_limit` and any fail2ban or \
            `auth_policy_server_url` rule blocking the scanner",
        exim: "raise `smtp_accept_max_per_host`, or exempt the scanner from the rate limits in \
            the connect ACL",
    },
    references: &[Reference::rfc(
        "RFC 5321",
        "4.2.3",
        "reply 421: service not available, closing transmission channel",
    )],
    check: Check::Endpoint(not_assessed),
};

fn not_assessed(ep: &Endpoint<'_>) -> Vec<Hit> {
    let why = match ep.obs.state {
        PortState::Throttled => "the server throttled the scanner on every attempt",
        PortState::Error => "the dialog failed",
        PortState::Open if ep.posture == Posture::NotAssessed => {
            "a step needed for the verdict did not complete"
        }
        _ => return Vec::new(),
    };
    let mut proof = Vec::new();
    let mut facts_seen: Vec<String> = ep.obs.state_detail.iter().map(|d| d.to_string()).collect();
    if ep.obs.state == PortState::Open {
        facts_seen.extend(incomplete_steps(ep));
    }
    if !facts_seen.is_empty() {
        proof.push(evidence("probe result", fact_lines(facts_seen)));
    }
    for (n, event) in ep.obs.throttling.iter().enumerate() {
        proof.push(evidence(
            format!(
                "throttled (attempt {}, waited {} ms)",
                n + 1,
                event.backoff_ms
            ),
            event.evidence.clone(),
        ));
    }
    vec![Hit::new(
        format!(
            "{} was not assessed: {why}; nothing is known about its TLS or authentication.",
            facts::service(ep.obs)
        ),
        proof,
    )]
}

/// The probe steps that failed or were skipped, as "step: reason" facts.
fn incomplete_steps(ep: &Endpoint<'_>) -> Vec<String> {
    fn note<T>(out: &mut Vec<String>, step: &str, attempt: &Attempt<T>) {
        match attempt {
            Attempt::Completed { .. } => {}
            Attempt::Failed { error } => out.push(format!("{step}: {error}")),
            Attempt::Skipped { reason } => out.push(format!("{step}: skipped ({reason})")),
        }
    }
    let mut out = Vec::new();
    if let Some(p) = facts::plaintext(ep.obs) {
        note(&mut out, "greeting", &p.greeting);
        note(&mut out, "capabilities", &p.capabilities);
        note(&mut out, "STARTTLS", &p.starttls);
        if let Some(ex) = p.starttls.value() {
            note(&mut out, "STARTTLS handshake", &ex.handshake);
        }
    }
    if let Some(i) = &ep.obs.implicit_tls {
        note(&mut out, "implicit TLS handshake", &i.handshake);
    }
    out
}

/// MW-INFO-004.
pub(crate) const TARGET_NOT_RESOLVED: Rule = Rule {
    id: "MW-INFO-004",
    name: "target-not-resolved",
    family: Family::Info,
    title: "A target name did not resolve to any address",
    severities: Severities::everywhere(Severity::Info),
    rationale: "No address, no scan: none of this target's ports were assessed. A typo, a \
        missing A/AAAA record or a resolver problem are the usual causes.",
    remediation: Remediation {
        generic: "Check the name (and the resolver), or scan the address directly.",
        postfix: "not a Postfix setting: publish A/AAAA records for the host name",
        dovecot: "not a Dovecot setting: publish A/AAAA records for the host name",
        exim: "not an Exim setting: publish A/AAAA records for the host name",
    },
    references: &[Reference::rfc(
        "RFC 5321",
        "5.1",
        "locating the target host: MX, then A/AAAA records",
    )],
    check: Check::Target(target_not_resolved),
};

fn target_not_resolved(target: &TargetResult) -> Vec<Hit> {
    let why = match &target.resolution {
        Attempt::Completed { value } if value.is_empty() => "it has no address".to_owned(),
        Attempt::Completed { .. } => return Vec::new(),
        Attempt::Failed { error } => error.to_string(),
        Attempt::Skipped { reason } => format!("resolution skipped: {reason}"),
    };
    vec![Hit::new(
        format!("Target {} was not scanned: {why}.", target.input),
        vec![evidence("resolution", fact_lines([why.clone()]))],
    )]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Option<(String, String)> {
        disclosed(text).map(|d| (d.product, d.version))
    }

    #[test]
    fn versions_are_found_after_a_product_name() {
        let cases = [
            (
                "220 mx.example.org ESMTP Postfix 3.7.11",
                "Postfix",
                "3.7.11",
            ),
            (
                "220 mx.example.org ESMTP Postfix (3.7.11)",
                "Postfix",
                "3.7.11",
            ),
            (
                "220 mail.example.com ESMTP Exim 4.96 Mon, 01 Jan 2024 10:00:00 +0000",
                "Exim",
                "4.96",
            ),
            ("* OK Dovecot 2.3.19 ready.", "Dovecot", "2.3.19"),
            (
                "\"IMPLEMENTATION\" \"Cyrus timsieved v3.4.2\"",
                "Cyrus",
                "3.4.2",
            ),
            ("220 mx ESMTP Haraka/2.8.28 ready", "Haraka", "2.8.28"),
            (
                "220 mx Microsoft ESMTP MAIL Service, Version: 10.0.17763.1 ready",
                "Microsoft ESMTP MAIL Service",
                "10.0.17763.1",
            ),
        ];
        for (text, product, version) in cases {
            assert_eq!(
                found(text),
                Some((product.to_owned(), version.to_owned())),
                "{text}"
            );
        }
    }

    #[test]
    fn names_alone_and_numbers_alone_are_not_disclosures() {
        for text in [
            "220 mx.example.org ESMTP Postfix",
            "220 mx.example.org ESMTP Postfix (Debian/GNU)",
            "* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] Dovecot ready.",
            "+OK Dovecot (Debian) ready.",
            "220 [192.0.2.1] ESMTP ready",
            "220 mx ESMTP Exim Mon, 01 Jan 2024 10:00:00 +0000",
        ] {
            assert_eq!(found(text), None, "{text}");
        }
    }
}
