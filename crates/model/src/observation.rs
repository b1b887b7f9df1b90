//! What a scan saw at one endpoint (address and port).

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::{Attempt, Failure, Line, Protocol, ServiceRole, TlsHandshake, TlsScan};

/// Everything observed at one address and port.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointObservation {
    /// The target as the user gave it (host name or IP literal).
    pub target: String,
    /// The address and port probed.
    pub address: SocketAddr,
    /// The service the port is expected to provide (from the port number, or
    /// declared with `--ports PORT/ROLE` or a policy); `None` for other ports.
    /// The rules take their context from it, the probe its first move
    /// (plaintext greeting or TLS handshake first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<ServiceRole>,
    /// Reachability of the port.
    pub state: PortState,
    /// The failure behind a `closed`, `filtered`, `throttled` or `error` state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_detail: Option<Failure>,
    /// The protocol recognized from the server's own words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
    /// The plaintext dialog (greeting, capabilities, STARTTLS, enforcement checks).
    /// On implicit-TLS ports: whether anything answered in plaintext.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plaintext: Option<PlaintextSession>,
    /// The implicit-TLS dialog (handshake at connect, then greeting and capabilities).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub implicit_tls: Option<ImplicitTlsSession>,
    /// The TLS enumeration (versions, suites, groups, features) made with
    /// hand-built ClientHellos after the dialog reached TLS; absent when
    /// `--tls off` or the port has no TLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_scan: Option<Attempt<TlsScan>>,
    /// What a non-mail service said, when the port is open but not mail.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub non_mail_reply: Vec<Line>,
    /// Times the server throttled us (421, `-ERR [IN-USE]`, resets) and what we did.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub throttling: Vec<ThrottleEvent>,
    /// TCP connections opened to this endpoint.
    pub connections: u32,
    /// Wall time spent on this endpoint, in milliseconds.
    pub duration_ms: u64,
}

/// Reachability of a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PortState {
    /// A mail service answered.
    Open,
    /// The connection was refused (RST).
    Closed,
    /// No answer to the connection attempt within the timeout.
    Filtered,
    /// Something answered, but not a mail protocol.
    OpenNotMail,
    /// The server accepted connections but refused service for load reasons
    /// every time we tried; the service was not assessed.
    Throttled,
    /// Open, but the dialog failed (timeout mid-dialog, reset, oversized reply).
    Error,
}

impl PortState {
    /// Kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            PortState::Open => "open",
            PortState::Closed => "closed",
            PortState::Filtered => "filtered",
            PortState::OpenNotMail => "open-not-mail",
            PortState::Throttled => "throttled",
            PortState::Error => "error",
        }
    }
}

/// One time a server throttled us.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThrottleEvent {
    /// The reply or event that signalled throttling.
    pub evidence: Vec<Line>,
    /// Milliseconds waited before retrying (0 when we gave up).
    pub backoff_ms: u64,
}

/// A plaintext connection's dialog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlaintextSession {
    /// The greeting lines, raw (for ManageSieve the greeting is the capability list).
    pub greeting: Attempt<Vec<Line>>,
    /// Capabilities before TLS (EHLO/LHLO, CAPABILITY, CAPA, Sieve greeting).
    pub capabilities: Attempt<Capabilities>,
    /// The STARTTLS exchange, if STARTTLS was offered (or tried anyway).
    pub starttls: Attempt<StartTlsExchange>,
    /// Checks of whether a client may authenticate or send mail without TLS.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub enforcement: Vec<EnforcementProbe>,
}

/// A capability listing as the server sent it, with the facts parsed from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    /// The command sent ("EHLO mailwarden.invalid", "A1 CAPABILITY", "CAPA"), or
    /// "(greeting)" when the capabilities came unasked.
    pub command: String,
    /// The reply lines, raw.
    pub reply: Vec<Line>,
    /// Capability keywords, upper-cased, in server order (AUTH mechanisms excluded).
    pub keywords: Vec<String>,
    /// True when STARTTLS (or STLS for POP3) is advertised.
    pub starttls: bool,
    /// SASL mechanisms advertised, upper-cased.
    pub auth_mechanisms: Vec<String>,
    /// IMAP `LOGINDISABLED`: plaintext LOGIN is refused.
    pub login_disabled: bool,
    /// The software banner or implementation string (SMTP greeting text,
    /// IMAP/POP3 greeting, Sieve "IMPLEMENTATION"), when one is present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub implementation: Option<String>,
}

/// A STARTTLS command and the handshake that follows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StartTlsExchange {
    /// The command sent ("STARTTLS", "A2 STARTTLS", "STLS").
    pub command: String,
    /// The server's reply lines.
    pub reply: Vec<Line>,
    /// True when the reply allowed the client to begin TLS.
    pub accepted: bool,
    /// The handshake after an accepted STARTTLS.
    pub handshake: Attempt<TlsHandshake>,
    /// Capabilities asked again over TLS.
    pub capabilities_after_tls: Attempt<Capabilities>,
}

/// An implicit-TLS connection: handshake first, then the mail dialog inside TLS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImplicitTlsSession {
    /// The handshake at connect.
    pub handshake: Attempt<TlsHandshake>,
    /// The greeting read over TLS.
    pub greeting: Attempt<Vec<Line>>,
    /// Capabilities over TLS.
    pub capabilities: Attempt<Capabilities>,
}

/// What kind of "can a client do this without TLS?" check was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EnforcementKind {
    /// SMTP `MAIL FROM:<>` before STARTTLS (RFC 3207 §4: 530 expected where TLS is required).
    SmtpMailBeforeTls,
    /// IMAP `LOGIN` with an obviously invalid user before STARTTLS.
    ImapLoginBeforeTls,
    /// POP3 `USER` with an obviously invalid user before STLS.
    Pop3UserBeforeTls,
}

/// The result of one enforcement check. Credentials are never real: the user
/// name is an obviously invalid one and no password is ever sent to POP3.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnforcementProbe {
    /// Which check.
    pub kind: EnforcementKind,
    /// The command sent, verbatim.
    pub command: String,
    /// The reply.
    pub reply: Attempt<Vec<Line>>,
    /// What the reply means at protocol level.
    pub outcome: EnforcementOutcome,
}

/// The protocol-level meaning of a reply to an enforcement check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EnforcementOutcome {
    /// The server processed the command in plaintext (e.g. 250 to MAIL, `+OK` to
    /// USER, or an authentication *failure* to LOGIN: the password was read).
    AcceptedWithoutTls,
    /// The server refused because TLS is required (530, `[PRIVACYREQUIRED]`, ...).
    RefusedTlsRequired,
    /// The server refused for another reason, or the reply was not understood.
    Inconclusive,
    /// No usable reply.
    NoReply,
}
