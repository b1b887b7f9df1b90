//! The normalized event model: what a mail server said happened, whatever
//! its log format. One log line yields zero, one or (rarely) two events.
//!
//! Events serialize as one flat JSON object (`--events`), e.g.
//! `{"file":"mail.log","line":12,"time":"2026-11-28T01:34:11Z","server":"postfix",
//! "service":"submission","port":587,"source":"192.0.2.7","user":"bob",
//! "kind":"auth_failed","mechanism":"PLAIN","attempts":1,"via":"server","counted":1}`.

use std::net::IpAddr;
use std::sync::Arc;

use jiff::Timestamp;
use serde::Serialize;

/// The mail server software that wrote a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Server {
    /// Postfix (smtpd, postscreen, anvil, qmgr and delivery agents).
    Postfix,
    /// Dovecot 2.3 or 2.4 (login processes and the auth process).
    Dovecot,
    /// Exim 4 (mainlog, rejectlog, or syslog).
    Exim,
    /// OpenSMTPD.
    Opensmtpd,
}

impl Server {
    /// Lower-case name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Server::Postfix => "postfix",
            Server::Dovecot => "dovecot",
            Server::Exim => "exim",
            Server::Opensmtpd => "opensmtpd",
        }
    }
}

/// One normalized event, with the line that supports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// The input it came from (`-` for standard input).
    #[serde(serialize_with = "arc_str")]
    pub file: Arc<str>,
    /// 1-based line number in that input.
    pub line: u64,
    /// When the server logged it (UTC), when the line had a readable time.
    pub time: Option<Timestamp>,
    /// Which software logged it.
    pub server: Server,
    /// The service: Postfix's syslog name (`smtp`, `submission`, `smtps`, or
    /// a custom `master.cf` name), Dovecot's protocol (`imap`, `pop3`,
    /// `sieve`, `submission`, or `auth` for the auth process), `smtp` for Exim
    /// and OpenSMTPD.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "opt_arc_str"
    )]
    pub service: Option<Arc<str>>,
    /// The local port, when the line says it or the service implies it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// The local address the client connected to, when logged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local: Option<IpAddr>,
    /// The client's address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<IpAddr>,
    /// The account name involved (as the client sent it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<Box<str>>,
    /// A server session identifier that ties lines together (Dovecot
    /// `session=<...>`, OpenSMTPD session id), when logged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<Box<str>>,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

/// What happened, with the details of each kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    /// A client connected.
    Connect,
    /// A client's session ended.
    Disconnect {
        /// Postfix's per-command statistics (`ehlo=1 auth=0/1 commands=1/2`).
        #[serde(skip_serializing_if = "Option::is_none")]
        commands: Option<CommandStats>,
        /// The session ended without any authentication or mail transaction
        /// (what a scanner or a banner grabber leaves behind).
        idle: bool,
    },
    /// Authentication failed.
    AuthFailed {
        /// SASL mechanism, when logged.
        #[serde(skip_serializing_if = "Option::is_none")]
        mechanism: Option<Box<str>>,
        /// Attempts this line reports (Dovecot's login processes summarize
        /// a session: `auth failed, 3 attempts`).
        attempts: u32,
        /// Which process logged it: the server the client talked to, or an
        /// authentication back end that logs the same attempt again.
        via: AuthVia,
        /// Attempts counted by the detectors after removing those already
        /// counted from another line (set by the analyzer).
        counted: u32,
    },
    /// Authentication succeeded.
    AuthSucceeded {
        /// SASL mechanism, when logged.
        #[serde(skip_serializing_if = "Option::is_none")]
        mechanism: Option<Box<str>>,
        /// Whether the session was protected by TLS, when known.
        #[serde(skip_serializing_if = "Option::is_none")]
        tls: Option<bool>,
    },
    /// A recipient was refused because the client may not relay.
    RelayDenied {
        /// The refused recipient.
        #[serde(skip_serializing_if = "Option::is_none")]
        recipient: Option<Box<str>>,
    },
    /// Another policy rejection (unknown user, blocklist, sender or HELO checks).
    Rejected {
        /// The server's reply or reason.
        reason: Box<str>,
    },
    /// A TLS handshake failed.
    TlsFailed {
        /// The class of failure.
        reason: TlsReason,
        /// The server's words.
        detail: Box<str>,
    },
    /// A TLS session was established.
    TlsEstablished {
        /// Protocol version (`TLSv1.3`), when logged.
        #[serde(skip_serializing_if = "Option::is_none")]
        version: Option<Box<str>>,
    },
    /// A plaintext login was refused because the connection was not protected.
    PlaintextRefused,
    /// A login succeeded over a connection that was not protected by TLS.
    PlaintextAllowed {
        /// SASL mechanism, when logged.
        #[serde(skip_serializing_if = "Option::is_none")]
        mechanism: Option<Box<str>>,
    },
    /// The client broke the protocol.
    ProtocolError {
        /// What it did.
        error: ProtocolErrorKind,
        /// The server's words.
        #[serde(skip_serializing_if = "Option::is_none")]
        detail: Option<Box<str>>,
    },
    /// The server throttled or refused the client for its rate or concurrency.
    RateLimited {
        /// The server's words.
        detail: Box<str>,
    },
    /// The connection was lost (or timed out) after a protocol stage.
    LostConnection {
        /// The last stage (`CONNECT`, `EHLO`, `AUTH`, `RCPT`, `DATA`...).
        stage: Box<str>,
        /// True for a server-side timeout rather than a drop.
        timeout: bool,
    },
    /// An authenticated client queued a message (Postfix `nrcpt=`, Exim `<=`).
    MessageSubmitted {
        /// Number of recipients, when logged.
        recipients: u32,
        /// Distinct recipient domains, when logged.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        domains: Vec<Box<str>>,
    },
}

impl EventKind {
    /// The `kind` string of the JSON form.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::Connect => "connect",
            EventKind::Disconnect { .. } => "disconnect",
            EventKind::AuthFailed { .. } => "auth_failed",
            EventKind::AuthSucceeded { .. } => "auth_succeeded",
            EventKind::RelayDenied { .. } => "relay_denied",
            EventKind::Rejected { .. } => "rejected",
            EventKind::TlsFailed { .. } => "tls_failed",
            EventKind::TlsEstablished { .. } => "tls_established",
            EventKind::PlaintextRefused => "plaintext_refused",
            EventKind::PlaintextAllowed { .. } => "plaintext_allowed",
            EventKind::ProtocolError { .. } => "protocol_error",
            EventKind::RateLimited { .. } => "rate_limited",
            EventKind::LostConnection { .. } => "lost_connection",
            EventKind::MessageSubmitted { .. } => "message_submitted",
        }
    }

    /// A failed authentication reported by the server the client talked to.
    pub fn auth_failed(mechanism: Option<Box<str>>, attempts: u32) -> EventKind {
        EventKind::AuthFailed {
            mechanism,
            attempts,
            via: AuthVia::Server,
            counted: 0,
        }
    }
}

/// Which process logged an authentication failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthVia {
    /// The server the client spoke to (Postfix smtpd, a Dovecot login
    /// process, Exim, OpenSMTPD): the authoritative line.
    Server,
    /// An authentication back end (Dovecot `auth`/`auth-worker` with
    /// `auth_verbose`) that logs the same attempt a second time.
    Backend,
}

/// Postfix's per-command session statistics (`disconnect from ... ehlo=1 auth=0/1 commands=1/2`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CommandStats {
    /// Commands accepted.
    pub ok: u32,
    /// Commands sent.
    pub total: u32,
    /// Whether AUTH, MAIL, RCPT, DATA or BDAT was sent.
    pub transaction: bool,
    /// Failed AUTH commands.
    pub auth_failed: u32,
    /// Successful AUTH commands.
    pub auth_ok: u32,
}

/// Why a TLS handshake failed, in classes that matter for detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TlsReason {
    /// The client offered only protocol versions the server refuses (a
    /// downgrade attempt or an obsolete client).
    ProtocolVersion,
    /// No cipher suite in common (a downgrade attempt or an obsolete client).
    NoSharedCipher,
    /// The client did not speak TLS (plaintext or HTTP on a TLS port, garbage).
    NotTls,
    /// The client hung up during the handshake.
    ClientAborted,
    /// The client rejected the server's certificate, or sent a bad one.
    Certificate,
    /// Anything else.
    Other,
}

impl TlsReason {
    /// Classifies an OpenSSL/GnuTLS/LibreSSL error text.
    pub fn classify(text: &[u8]) -> TlsReason {
        let has = |needle: &str| crate::bytes::find(text, needle.as_bytes()).is_some();
        if has("unsupported protocol")
            || has("version too low")
            || has("no protocols available")
            || has("protocol version")
            || has("UNSUPPORTED_VERSION")
            || has("unsupported version")
        {
            TlsReason::ProtocolVersion
        } else if has("no shared cipher")
            || has("no suitable")
            || has("NO_CIPHER_SUITABLE")
            || has("handshake failure")
            || has("no cipher")
        {
            TlsReason::NoSharedCipher
        } else if has("http request")
            || has("wrong version number")
            || has("unknown protocol")
            || has("unexpected message")
            || has("packet length too long")
            || has("record layer failure")
            || has("UNEXPECTED_PACKET")
            || has("unexpected packet")
            || has("record overflow")
            || has("bad record")
        {
            TlsReason::NotTls
        } else if has("certificate") || has("unknown ca") || has("bad_certificate") {
            TlsReason::Certificate
        } else if has("lost connection")
            || has("Connection closed")
            || has("Disconnected")
            || has("unexpected eof")
            || has("EOF")
            || has("reset by peer")
            || has("Connection reset")
            || has("timed out")
            || has("timeout")
        {
            TlsReason::ClientAborted
        } else {
            TlsReason::Other
        }
    }

    /// Whether this looks like a downgrade attempt (old protocol or weak suites only).
    pub fn is_downgrade(self) -> bool {
        matches!(self, TlsReason::ProtocolVersion | TlsReason::NoSharedCipher)
    }
}

/// How the client broke the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProtocolErrorKind {
    /// Commands sent before the server's reply (SMTP pipelining violation).
    Pipelining,
    /// Talked before the greeting (postscreen PREGREET, Exim synchronization error).
    Pregreet,
    /// Something that is not the protocol at all (HTTP on port 25).
    NonProtocol,
    /// Unknown or invalid commands.
    UnknownCommand,
    /// The server gave up on the client after too many errors.
    TooManyErrors,
    /// A bare newline or a line too long.
    Syntax,
    /// An authentication mechanism the server does not offer.
    UnsupportedMechanism,
}

/// Where a line is in its input: file and line number.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct LineRef {
    /// The input (`-` for standard input).
    #[serde(serialize_with = "arc_str")]
    pub file: Arc<str>,
    /// 1-based line number.
    pub line: u64,
}

/// The standard port of a service name, when there is one.
pub fn standard_port(service: &str) -> Option<u16> {
    Some(match service {
        "smtp" => 25,
        "submission" => 587,
        "smtps" | "submissions" => 465,
        "imap" => 143,
        "imaps" => 993,
        "pop3" => 110,
        "pop3s" => 995,
        "sieve" | "managesieve" => 4190,
        _ => return None,
    })
}

fn arc_str<S: serde::Serializer>(s: &Arc<str>, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(s)
}

fn opt_arc_str<S: serde::Serializer>(s: &Option<Arc<str>>, ser: S) -> Result<S::Ok, S::Error> {
    match s {
        Some(s) => ser.serialize_str(s),
        None => ser.serialize_none(),
    }
}
