//! Read-only views over one endpoint's observations, shared by the posture
//! verdict and the rule checks so that both read the same facts the same way.

use jiff::Timestamp;
use mailwarden_model::{
    Attempt, Capabilities, CertificateChain, EndpointObservation, EnforcementKind,
    EnforcementOutcome, EnforcementProbe, Evidence, FailureKind, Line, PlaintextSession, Posture,
    Protocol, ServiceRole, StartTlsExchange, TlsHandshake,
};

use crate::Context;

/// Everything a rule check may look at for one endpoint.
pub(crate) struct Endpoint<'a> {
    /// The observation itself.
    pub obs: &'a EndpointObservation,
    /// Where the endpoint sits (decides severities, already applied by the engine).
    pub context: Context,
    /// The posture verdict, computed once before the checks run.
    pub posture: Posture,
    /// The server software, when the banner names one we have remediation for.
    pub software: Option<Software>,
    /// The instant certificates are judged at.
    pub scan_time: Timestamp,
}

/// What a check found: the sentence and the proof. The engine adds the rule's
/// identity, the severity for the context, and the remediation.
#[derive(Debug)]
pub(crate) struct Hit {
    pub summary: String,
    pub evidence: Vec<Evidence>,
}

impl Hit {
    /// A hit; the summary is a sentence, so its first letter is capitalized
    /// ("port 2525 was not assessed" becomes "Port 2525 ...").
    pub fn new(summary: impl Into<String>, evidence: Vec<Evidence>) -> Hit {
        let summary = summary.into();
        let mut chars = summary.chars();
        let summary = match chars.next() {
            Some(first) => first.to_uppercase().chain(chars).collect(),
            None => summary,
        };
        Hit { summary, evidence }
    }
}

/// Builds one evidence item.
pub(crate) fn evidence(label: impl Into<String>, lines: Vec<Line>) -> Evidence {
    Evidence {
        label: label.into(),
        lines,
    }
}

/// Evidence made of facts we state ourselves (certificate fields, failures),
/// not of lines the server sent.
pub(crate) fn fact_lines<I, S>(facts: I) -> Vec<Line>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    facts.into_iter().map(|s| Line::from(s.as_ref())).collect()
}

/// The lines of `reply` that mention any of `needles` (ASCII case-insensitive);
/// the whole reply when none does, so that evidence is never empty.
pub(crate) fn lines_mentioning(reply: &[Line], needles: &[&str]) -> Vec<Line> {
    let picked: Vec<Line> = reply
        .iter()
        .filter(|l| {
            let upper = l.text().to_ascii_uppercase();
            needles.iter().any(|n| upper.contains(n))
        })
        .cloned()
        .collect();
    if picked.is_empty() {
        reply.to_vec()
    } else {
        picked
    }
}

/// Mail software we give specific remediation for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Software {
    /// Postfix (SMTP).
    Postfix,
    /// Dovecot (IMAP, POP3, ManageSieve, LMTP, submission proxy).
    Dovecot,
    /// Exim (SMTP).
    Exim,
}

impl Software {
    /// The product name as written in remediation lines.
    pub fn as_str(self) -> &'static str {
        match self {
            Software::Postfix => "Postfix",
            Software::Dovecot => "Dovecot",
            Software::Exim => "Exim",
        }
    }

    /// The software an endpoint's banner names, if any: greetings first, then
    /// implementation strings, plaintext before TLS.
    pub(crate) fn detect(obs: &EndpointObservation) -> Option<Software> {
        banner_texts(obs).find_map(|text| {
            let lower = text.to_ascii_lowercase();
            [Software::Postfix, Software::Dovecot, Software::Exim]
                .into_iter()
                .find(|s| lower.contains(&s.as_str().to_ascii_lowercase()))
        })
    }
}

/// Every piece of text in which a server may name itself: greeting lines and
/// capability replies (where ManageSieve's IMPLEMENTATION lives), over
/// plaintext and over TLS.
pub(crate) fn banner_lines(obs: &EndpointObservation) -> Vec<&Line> {
    let mut lines: Vec<&Line> = Vec::new();
    if let Some(pt) = &obs.plaintext {
        lines.extend(pt.greeting.value().into_iter().flatten());
        lines.extend(pt.capabilities.value().into_iter().flat_map(|c| &c.reply));
    }
    if let Some(imp) = &obs.implicit_tls {
        lines.extend(imp.greeting.value().into_iter().flatten());
        lines.extend(imp.capabilities.value().into_iter().flat_map(|c| &c.reply));
    }
    if let Some(ex) = starttls(obs) {
        lines.extend(
            ex.capabilities_after_tls
                .value()
                .into_iter()
                .flat_map(|c| &c.reply),
        );
    }
    lines
}

fn banner_texts(obs: &EndpointObservation) -> impl Iterator<Item = String> + '_ {
    let implementations = [
        obs.plaintext.as_ref().and_then(|p| p.capabilities.value()),
        obs.implicit_tls
            .as_ref()
            .and_then(|i| i.capabilities.value()),
    ]
    .into_iter()
    .flatten()
    .filter_map(|c| c.implementation.clone());
    banner_lines(obs)
        .into_iter()
        .map(|l| l.text().into_owned())
        .chain(implementations)
}

/// "SMTP on port 587", or "port 587" when no protocol was recognized.
pub(crate) fn service(obs: &EndpointObservation) -> String {
    let port = obs.address.port();
    match obs.protocol {
        Some(p) => format!("{p} on port {port}"),
        None => format!("port {port}"),
    }
}

/// The plaintext session, if one was made.
pub(crate) fn plaintext(obs: &EndpointObservation) -> Option<&PlaintextSession> {
    obs.plaintext.as_ref()
}

/// The plaintext greeting, when a non-empty one was read: proof that the port
/// speaks a mail protocol without TLS.
pub(crate) fn plaintext_greeting(obs: &EndpointObservation) -> Option<&[Line]> {
    let lines = plaintext(obs)?.greeting.value()?;
    (!lines.is_empty()).then_some(lines.as_slice())
}

/// Capabilities read in plaintext, before any TLS.
pub(crate) fn caps_before_tls(obs: &EndpointObservation) -> Option<&Capabilities> {
    plaintext(obs)?.capabilities.value()
}

/// The STARTTLS exchange, when the command was sent and answered.
pub(crate) fn starttls(obs: &EndpointObservation) -> Option<&StartTlsExchange> {
    plaintext(obs)?.starttls.value()
}

/// The port's role: declared, else registered for the port number.
pub(crate) fn role(obs: &EndpointObservation) -> Option<ServiceRole> {
    obs.role
        .or_else(|| ServiceRole::for_port(obs.address.port()))
}

/// True when the port's role is implicit TLS, or it was probed as such.
pub(crate) fn is_implicit_port(obs: &EndpointObservation) -> bool {
    obs.implicit_tls.is_some() || role(obs).is_some_and(ServiceRole::implicit_tls)
}

/// How a TLS session was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Via {
    /// TLS from the first byte.
    Implicit,
    /// TLS after the STARTTLS (STLS) command.
    Starttls,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Implicit => "implicit TLS",
            Via::Starttls => "STARTTLS",
        }
    }
}

/// Every handshake that produced an observation (completed or not), implicit first.
pub(crate) fn handshakes(obs: &EndpointObservation) -> Vec<(Via, &TlsHandshake)> {
    let implicit = obs
        .implicit_tls
        .as_ref()
        .and_then(|i| i.handshake.value())
        .map(|h| (Via::Implicit, h));
    let starttls = starttls(obs)
        .and_then(|ex| ex.handshake.value())
        .map(|h| (Via::Starttls, h));
    implicit.into_iter().chain(starttls).collect()
}

/// A certificate chain and the handshake it was seen in.
pub(crate) struct ChainSeen<'a> {
    pub via: Via,
    pub chain: &'a CertificateChain,
    /// Whether that handshake completed (a chain is recorded even when it did not).
    pub completed: bool,
}

/// The certificate chains presented, implicit first, without repeating a chain
/// whose leaf was already seen on the other handshake.
pub(crate) fn chains(obs: &EndpointObservation) -> Vec<ChainSeen<'_>> {
    let mut out: Vec<ChainSeen<'_>> = Vec::new();
    for (via, hs) in handshakes(obs) {
        let Some(chain) = &hs.certificate_chain else {
            continue;
        };
        let leaf = chain.leaf().map(|c| c.sha256.as_str());
        if out
            .iter()
            .any(|seen| seen.chain.leaf().map(|c| c.sha256.as_str()) == leaf)
        {
            continue;
        }
        out.push(ChainSeen {
            via,
            chain,
            completed: hs.completed,
        });
    }
    out
}

/// Capability listings read inside TLS (after STARTTLS, or on an implicit port).
pub(crate) fn caps_inside_tls(obs: &EndpointObservation) -> Vec<(Via, &Capabilities)> {
    let implicit = obs
        .implicit_tls
        .as_ref()
        .and_then(|i| i.capabilities.value())
        .map(|c| (Via::Implicit, c));
    let starttls = starttls(obs)
        .and_then(|ex| ex.capabilities_after_tls.value())
        .map(|c| (Via::Starttls, c));
    implicit.into_iter().chain(starttls).collect()
}

/// Enforcement probes whose outcome is `outcome`.
pub(crate) fn probes_with(
    obs: &EndpointObservation,
    outcome: EnforcementOutcome,
) -> impl Iterator<Item = &EnforcementProbe> {
    plaintext(obs)
        .into_iter()
        .flat_map(|p| &p.enforcement)
        .filter(move |p| p.outcome == outcome)
}

/// The enforcement probe of one kind, if it was made.
pub(crate) fn probe(obs: &EndpointObservation, kind: EnforcementKind) -> Option<&EnforcementProbe> {
    plaintext(obs)?.enforcement.iter().find(|p| p.kind == kind)
}

/// The command an enforcement probe tried, as named in summaries.
pub(crate) fn probe_verb(kind: EnforcementKind) -> &'static str {
    match kind {
        EnforcementKind::SmtpMailBeforeTls => "MAIL FROM",
        EnforcementKind::ImapLoginBeforeTls => "LOGIN",
        EnforcementKind::Pop3UserBeforeTls => "USER",
    }
}

/// Evidence for one enforcement probe: its reply lines, labelled with the command.
pub(crate) fn probe_evidence(probe: &EnforcementProbe) -> Evidence {
    let lines = match &probe.reply {
        Attempt::Completed { value } => value.clone(),
        Attempt::Failed { error } => fact_lines([error.to_string()]),
        Attempt::Skipped { reason } => fact_lines([format!("skipped: {reason}")]),
    };
    evidence(
        format!("reply to `{}` before TLS", redact(&probe.command)),
        lines,
    )
}

/// Our probes never send real credentials, but an IMAP LOGIN command carries
/// a (fake) password argument: keep it out of reports anyway, so a report never
/// teaches anyone to paste passwords into evidence.
fn redact(command: &str) -> String {
    let mut words = command.split_whitespace();
    match (words.next(), words.next(), words.next(), words.next()) {
        (Some(tag), Some(cmd), Some(user), Some(_pass)) if cmd.eq_ignore_ascii_case("LOGIN") => {
            format!("{tag} {cmd} {user} ***")
        }
        _ => command.to_owned(),
    }
}

/// What a client may use to authenticate before TLS, read from the plaintext
/// capability listing.
pub(crate) struct AuthBeforeTls<'a> {
    /// Human-readable offers, e.g. "AUTH PLAIN LOGIN", "LOGIN (no LOGINDISABLED)".
    pub offers: Vec<String>,
    /// True when at least one offer sends the password itself (PLAIN, LOGIN,
    /// IMAP LOGIN, POP3 USER/PASS) rather than a challenge response.
    pub cleartext_password: bool,
    /// The listing the offers were read from.
    pub caps: &'a Capabilities,
}

/// SASL mechanisms that carry the password itself (RFC 4616 PLAIN, the
/// non-standard LOGIN); anything else is a challenge-response mechanism.
const CLEARTEXT_MECHANISMS: [&str; 2] = ["PLAIN", "LOGIN"];

/// What the plaintext capability listing lets a client authenticate with, or
/// `None` when it offers nothing (or was not read).
pub(crate) fn auth_before_tls(obs: &EndpointObservation) -> Option<AuthBeforeTls<'_>> {
    let caps = caps_before_tls(obs)?;
    let mut offers = Vec::new();
    let mut cleartext_password = false;
    if !caps.auth_mechanisms.is_empty() {
        let keyword = match obs.protocol {
            Some(Protocol::ManageSieve) => "SASL",
            Some(Protocol::Imap) => "AUTH=",
            Some(Protocol::Pop3) => "SASL",
            _ => "AUTH",
        };
        offers.push(format!("{keyword} {}", caps.auth_mechanisms.join(" ")));
        cleartext_password |= caps
            .auth_mechanisms
            .iter()
            .any(|m| CLEARTEXT_MECHANISMS.contains(&m.as_str()));
    }
    match obs.protocol {
        // RFC 2595 §3.2: without LOGINDISABLED, IMAP LOGIN (a cleartext
        // password command) is available.
        Some(Protocol::Imap) if !caps.login_disabled => {
            offers.push("LOGIN (no LOGINDISABLED)".to_owned());
            cleartext_password = true;
        }
        // RFC 2449 §6.2: the USER capability means USER/PASS is accepted.
        Some(Protocol::Pop3) if caps.keywords.iter().any(|k| k == "USER") => {
            offers.push("USER/PASS".to_owned());
            cleartext_password = true;
        }
        _ => {}
    }
    (!offers.is_empty()).then_some(AuthBeforeTls {
        offers,
        cleartext_password,
        caps,
    })
}

/// Evidence for [`auth_before_tls`]: the lines of the listing that show it.
pub(crate) fn auth_evidence(obs: &EndpointObservation, auth: &AuthBeforeTls<'_>) -> Evidence {
    let needles: &[&str] = match obs.protocol {
        // The absence of LOGINDISABLED is proven by the whole capability line.
        Some(Protocol::Imap) => &["CAPABILITY"],
        Some(Protocol::Pop3) => &["USER", "SASL"],
        Some(Protocol::ManageSieve) => &["\"SASL\""],
        _ => &["AUTH"],
    };
    evidence(
        format!("reply to `{}` before TLS", auth.caps.command),
        lines_mentioning(&auth.caps.reply, needles),
    )
}

/// Failure kinds that say nothing about TLS: the connection itself did not
/// happen or the server refused service for load reasons. An attempt that
/// failed this way leaves the endpoint not assessed.
pub(crate) fn says_nothing_about_tls(kind: FailureKind) -> bool {
    matches!(
        kind,
        FailureKind::Throttled
            | FailureKind::ConnectionRefused
            | FailureKind::ConnectTimeout
            | FailureKind::Unreachable
            | FailureKind::Unresolvable
            | FailureKind::Io
    )
}

/// Evidence lines describing a handshake that did not complete.
pub(crate) fn handshake_failure_lines(hs: &TlsHandshake) -> Vec<Line> {
    let mut facts = Vec::new();
    match &hs.failure {
        Some(f) => facts.push(format!("handshake failed: {f}")),
        None => facts.push("handshake did not complete".to_owned()),
    }
    if let Some(alert) = hs.alert_received {
        facts.push(format!("alert received: {alert}"));
    }
    if hs.certificate_chain.is_some() {
        facts.push("a certificate chain was presented before the failure".to_owned());
    }
    if let Some(legacy) = &hs.legacy_hello {
        facts.push(match (&legacy.version, &legacy.cipher_suite) {
            (Some(v), Some(s)) => format!("legacy ClientHello: server chose {v} {s}"),
            (Some(v), None) => format!("legacy ClientHello: server chose {v}"),
            _ => match (&legacy.alert, &legacy.failure) {
                (Some(a), _) => format!("legacy ClientHello: alert {a}"),
                (None, Some(f)) => format!("legacy ClientHello: {f}"),
                (None, None) => "legacy ClientHello: no answer".to_owned(),
            },
        });
    }
    fact_lines(facts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_mentioning_falls_back_to_the_whole_reply() {
        let reply: Vec<Line> = vec!["250-mx".into(), "250 AUTH PLAIN".into()];
        assert_eq!(lines_mentioning(&reply, &["AUTH"]), vec![reply[1].clone()]);
        assert_eq!(lines_mentioning(&reply, &["NOPE"]), reply);
    }

    #[test]
    fn login_password_is_redacted() {
        assert_eq!(
            redact("A3 LOGIN mailwarden-invalid secret"),
            "A3 LOGIN mailwarden-invalid ***"
        );
        assert_eq!(redact("MAIL FROM:<>"), "MAIL FROM:<>");
    }
}
