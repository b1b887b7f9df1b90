//! What a test bed listener is: a name (the API), an address, and what it is for.

use std::net::SocketAddr;

/// Which program answers on an [`Endpoint`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Server {
    /// A real Postfix `smtpd`.
    Postfix,
    /// A real Dovecot login service (or its LMTP server).
    Dovecot,
    /// A real Exim daemon.
    Exim,
    /// An in-process fake server that misbehaves on purpose (or `python3 -m http.server`).
    Hostile,
    /// Nothing: a closed port.
    Nothing,
}

impl Server {
    /// Lower-case name, as in the JSON of `mailwarden-testbed up --json`.
    pub fn as_str(self) -> &'static str {
        match self {
            Server::Postfix => "postfix",
            Server::Dovecot => "dovecot",
            Server::Exim => "exim",
            Server::Hostile => "hostile",
            Server::Nothing => "none",
        }
    }
}

/// One listener of the test bed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Stable name, e.g. `submission-enforced`: the key of [`crate::Testbed::endpoint`].
    pub name: &'static str,
    /// Where it listens (always 127.0.0.0/8).
    pub addr: SocketAddr,
    /// One line saying what it does.
    pub description: &'static str,
    /// What answers there.
    pub server: Server,
    /// The protocol spoken ("smtp", "lmtp", "imap", "pop3", "sieve", "http"; "" for
    /// hostile servers that speak nothing sensible and the closed port).
    pub protocol: &'static str,
    /// True when TLS starts at the first byte (smtps, imaps, pop3s).
    pub implicit_tls: bool,
}
