//! Mail protocols and the well-known mail ports.

use serde::{Deserialize, Serialize};

/// A mail protocol, recognized from what a server says (never from the port).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Protocol {
    /// SMTP (RFC 5321), including submission (RFC 6409).
    Smtp,
    /// LMTP (RFC 2033): SMTP's local-delivery sibling; should never be exposed.
    Lmtp,
    /// IMAP4rev1/rev2 (RFC 3501, RFC 9051).
    Imap,
    /// POP3 (RFC 1939).
    Pop3,
    /// ManageSieve (RFC 5804).
    #[serde(rename = "managesieve")]
    ManageSieve,
}

impl Protocol {
    /// Display name.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Smtp => "SMTP",
            Protocol::Lmtp => "LMTP",
            Protocol::Imap => "IMAP",
            Protocol::Pop3 => "POP3",
            Protocol::ManageSieve => "ManageSieve",
        }
    }
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The service a port is expected to provide: from the IANA port table, or
/// declared by the user (`--ports 10025/smtp`) or a policy file. The rules use
/// it to choose the context (an MX on 25 is judged differently from submission).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServiceRole {
    /// SMTP relay / MX (port 25): opportunistic STARTTLS (RFC 7435).
    Smtp,
    /// Message submission with STARTTLS (port 587, also 2525 by convention; RFC 6409).
    Submission,
    /// Message submission over implicit TLS (port 465; RFC 8314).
    Submissions,
    /// IMAP with STARTTLS (port 143).
    Imap,
    /// IMAP over implicit TLS (port 993).
    Imaps,
    /// POP3 with STLS (port 110).
    Pop3,
    /// POP3 over implicit TLS (port 995).
    Pop3s,
    /// ManageSieve with STARTTLS (port 4190).
    Sieve,
    /// LMTP (port 24): local delivery, never meant for the network.
    Lmtp,
}

impl ServiceRole {
    /// All roles.
    pub const ALL: [ServiceRole; 9] = [
        ServiceRole::Smtp,
        ServiceRole::Submission,
        ServiceRole::Submissions,
        ServiceRole::Imap,
        ServiceRole::Imaps,
        ServiceRole::Pop3,
        ServiceRole::Pop3s,
        ServiceRole::Sieve,
        ServiceRole::Lmtp,
    ];

    /// The IANA service name ("smtp", "submissions", ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceRole::Smtp => "smtp",
            ServiceRole::Submission => "submission",
            ServiceRole::Submissions => "submissions",
            ServiceRole::Imap => "imap",
            ServiceRole::Imaps => "imaps",
            ServiceRole::Pop3 => "pop3",
            ServiceRole::Pop3s => "pop3s",
            ServiceRole::Sieve => "sieve",
            ServiceRole::Lmtp => "lmtp",
        }
    }

    /// Parses an IANA service name.
    pub fn parse(s: &str) -> Option<ServiceRole> {
        ServiceRole::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s))
    }

    /// The protocol expected.
    pub fn protocol(self) -> Protocol {
        match self {
            ServiceRole::Smtp | ServiceRole::Submission | ServiceRole::Submissions => {
                Protocol::Smtp
            }
            ServiceRole::Imap | ServiceRole::Imaps => Protocol::Imap,
            ServiceRole::Pop3 | ServiceRole::Pop3s => Protocol::Pop3,
            ServiceRole::Sieve => Protocol::ManageSieve,
            ServiceRole::Lmtp => Protocol::Lmtp,
        }
    }

    /// True when the service is TLS from the first byte.
    pub fn implicit_tls(self) -> bool {
        matches!(
            self,
            ServiceRole::Submissions | ServiceRole::Imaps | ServiceRole::Pop3s
        )
    }

    /// The role registered for a port number, if it is a well-known mail port.
    pub fn for_port(port: u16) -> Option<ServiceRole> {
        Some(match port {
            25 => ServiceRole::Smtp,
            587 | 2525 => ServiceRole::Submission,
            465 => ServiceRole::Submissions,
            143 => ServiceRole::Imap,
            993 => ServiceRole::Imaps,
            110 => ServiceRole::Pop3,
            995 => ServiceRole::Pop3s,
            4190 => ServiceRole::Sieve,
            24 => ServiceRole::Lmtp,
            _ => return None,
        })
    }
}

impl std::fmt::Display for ServiceRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The ports `mailwarden scan` probes by default.
pub const DEFAULT_PORTS: [u16; 9] = [25, 465, 587, 110, 995, 143, 993, 4190, 2525];
