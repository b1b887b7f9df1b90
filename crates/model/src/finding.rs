//! What the rules concluded: the posture of each endpoint and the findings.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::{Line, Protocol};

/// Severity of a finding, ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// Worth knowing; no action needed.
    Info,
    /// Hardening opportunity.
    Low,
    /// Weakens protection; fix in the normal course.
    Medium,
    /// Exposes mail or credentials to an active attacker; fix soon.
    High,
    /// Exposes credentials or mail to a passive observer; fix now.
    Critical,
}

impl Severity {
    /// All severities, least severe first.
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Parses a lower-case name.
    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL
            .into_iter()
            .find(|sev| sev.as_str().eq_ignore_ascii_case(s))
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a port protects the mail dialog, judged from observations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Posture {
    /// No TLS is offered at all.
    PlaintextOnly,
    /// STARTTLS works, but a client may authenticate or send mail without it.
    StarttlsOptional,
    /// STARTTLS works and the server refuses authentication and mail before it.
    StarttlsEnforced,
    /// TLS from the first byte, and the handshake completes.
    ImplicitTls,
    /// TLS is advertised or expected, but no modern handshake completes.
    TlsBroken,
    /// Not assessed: the port is closed, filtered, throttled, not mail, or the dialog failed.
    NotAssessed,
}

impl Posture {
    /// Kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Posture::PlaintextOnly => "plaintext-only",
            Posture::StarttlsOptional => "starttls-optional",
            Posture::StarttlsEnforced => "starttls-enforced",
            Posture::ImplicitTls => "implicit-tls",
            Posture::TlsBroken => "tls-broken",
            Posture::NotAssessed => "not-assessed",
        }
    }
}

/// The posture verdict of one endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointAssessment {
    /// The target as given.
    pub target: String,
    /// Address and port.
    pub address: SocketAddr,
    /// The protocol recognized.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
    /// The context the rules applied ("mx", "submission", "mail-access", "sieve", "other").
    pub context: String,
    /// The verdict.
    pub posture: Posture,
}

/// One finding: a rule that fired on an endpoint (or on a whole target).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable rule id, e.g. "MW-AUTH-001".
    pub rule_id: String,
    /// Kebab-case rule name, e.g. "auth-offered-before-tls".
    pub rule: String,
    /// Severity in this context.
    pub severity: Severity,
    /// The target as given.
    pub target: String,
    /// The endpoint concerned, when the finding is about one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<SocketAddr>,
    /// The context the severity was chosen for ("mx", "submission", ...).
    pub context: String,
    /// One sentence saying what is wrong here.
    pub summary: String,
    /// The observations that prove it.
    pub evidence: Vec<Evidence>,
    /// One-line remediation.
    pub remediation: String,
}

/// A piece of evidence: a label and the raw lines (or facts) that prove a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// What the lines are, e.g. "EHLO reply before STARTTLS".
    pub label: String,
    /// The lines, verbatim.
    pub lines: Vec<Line>,
}
