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

/// What a well-known mail port is registered for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WellKnownPort {
    /// Port number.
    pub port: u16,
    /// The protocol expected there.
    pub protocol: Protocol,
    /// True when the port is registered for implicit TLS (TLS from the first byte).
    pub implicit_tls: bool,
    /// Short service name ("smtp", "submission", "submissions", "imap", ...).
    pub service: &'static str,
}

/// The ports `mailwarden scan` probes by default.
pub const DEFAULT_PORTS: [u16; 9] = [25, 465, 587, 110, 995, 143, 993, 4190, 2525];

const WELL_KNOWN: [WellKnownPort; 9] = [
    WellKnownPort {
        port: 25,
        protocol: Protocol::Smtp,
        implicit_tls: false,
        service: "smtp",
    },
    WellKnownPort {
        port: 465,
        protocol: Protocol::Smtp,
        implicit_tls: true,
        service: "submissions",
    },
    WellKnownPort {
        port: 587,
        protocol: Protocol::Smtp,
        implicit_tls: false,
        service: "submission",
    },
    WellKnownPort {
        port: 2525,
        protocol: Protocol::Smtp,
        implicit_tls: false,
        service: "submission-alt",
    },
    WellKnownPort {
        port: 110,
        protocol: Protocol::Pop3,
        implicit_tls: false,
        service: "pop3",
    },
    WellKnownPort {
        port: 995,
        protocol: Protocol::Pop3,
        implicit_tls: true,
        service: "pop3s",
    },
    WellKnownPort {
        port: 143,
        protocol: Protocol::Imap,
        implicit_tls: false,
        service: "imap",
    },
    WellKnownPort {
        port: 993,
        protocol: Protocol::Imap,
        implicit_tls: true,
        service: "imaps",
    },
    WellKnownPort {
        port: 4190,
        protocol: Protocol::ManageSieve,
        implicit_tls: false,
        service: "sieve",
    },
];

/// The registration of a well-known mail port, if `port` is one.
pub fn well_known_port(port: u16) -> Option<WellKnownPort> {
    WELL_KNOWN.iter().copied().find(|w| w.port == port)
}
