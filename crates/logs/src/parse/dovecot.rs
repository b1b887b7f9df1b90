//! Dovecot 2.3 and 2.4: the login processes (`imap-login`, `pop3-login`,
//! `managesieve-login`, `submission-login`) and the auth process (`auth`,
//! `auth-worker(N)`, whose lines exist only with `auth_verbose = yes`),
//! through syslog (`dovecot: imap-login: ...`) or `log_path`
//! (`imap-login: Info: ...`).
//!
//! A login process logs one line per session when it ends:
//! `Disconnected: <reason> (auth failed, 3 attempts in 12 secs): user=<bob>, method=PLAIN, rip=..., lip=..., session=<...>`
//! (2.4: `Login aborted: <reason> (auth failed, ...) (auth_failed): ...`). The
//! auth process logs each attempt again (`passwd-file(bob,192.0.2.8,<session>): Password mismatch`):
//! those events are marked `via: backend` so the analyzer counts each attempt once.
//!
//! Observed on the real Dovecot 2.3.19: an IMAP `LOGIN` refused because
//! plaintext is disabled is summarized as `(auth failed, 1 attempts in 0 secs)`
//! *without* `method=` (the request never reached the auth process); such a
//! line is reported as `plaintext_refused`, not as a failed password.

use crate::bytes::{self, after, after_find, contains};
use crate::envelope::Record;
use crate::event::{AuthVia, Event, EventKind, ProtocolErrorKind, Server, TlsReason};
use crate::parse::{EventBuilder, Interner, LineCtx, Outcome, ServerParser};

/// Whether a program name is Dovecot's (syslog `dovecot`, or a process name
/// as Dovecot writes it into its own `log_path`).
pub fn claims(program: &[u8]) -> bool {
    program == b"dovecot"
        || program == b"dovecot-auth"
        || program.ends_with(b"-login")
        || is_auth_process(program)
        || matches!(
            program,
            b"imap"
                | b"pop3"
                | b"lmtp"
                | b"master"
                | b"managesieve"
                | b"submission"
                | b"config"
                | b"anvil"
                | b"log"
                | b"stats"
        )
}

fn is_auth_process(p: &[u8]) -> bool {
    p == b"auth" || p == b"dovecot-auth" || p.starts_with(b"auth(") || p.starts_with(b"auth-worker")
}

/// The Dovecot parser (stateless: a session's facts are on its one line).
#[derive(Debug, Default)]
pub struct Dovecot {
    names: Interner,
}

const LEVELS: [&str; 6] = [
    "Info: ",
    "Warning: ",
    "Error: ",
    "Fatal: ",
    "Panic: ",
    "Debug: ",
];

impl ServerParser for Dovecot {
    fn server(&self) -> Server {
        Server::Dovecot
    }

    fn parse(&mut self, r: &Record<'_>, ctx: &LineCtx, out: &mut Vec<Event>) -> Outcome {
        let (mut process, mut m) = (r.program, r.message);
        // Syslog: `dovecot: imap-login: ...`, sometimes `dovecot[1]: dovecot: auth(default): ...`.
        for _ in 0..2 {
            if process != b"dovecot" {
                break;
            }
            let (p, rest) = bytes::token(m);
            process = p.strip_suffix(b":").unwrap_or(p);
            m = rest;
        }
        for level in LEVELS {
            if let Some(rest) = after(m, level) {
                m = rest;
                break;
            }
        }
        let before = out.len();
        if let Some(protocol) = process.strip_suffix(b"-login") {
            let service = match protocol {
                b"imap" => "imap",
                b"pop3" => "pop3",
                b"managesieve" => "sieve",
                b"submission" => "submission",
                _ => "login",
            };
            let service = self.names.get(service.as_bytes());
            login(
                m,
                &EventBuilder::new(ctx, r, Server::Dovecot).service_only(service),
                out,
            );
        } else if is_auth_process(process) {
            backend(
                m,
                &EventBuilder::new(ctx, r, Server::Dovecot).service_only(self.names.get(b"auth")),
                out,
            );
        }
        if out.len() > before {
            Outcome::Events
        } else {
            Outcome::Uninteresting
        }
    }
}

fn login(m: &[u8], b: &EventBuilder<'_>, out: &mut Vec<Event>) {
    let fields = fields_part(m);
    let source = bytes::field(fields, "rip=").and_then(bytes::ip);
    let user = bytes::angle_field(fields, "user=").and_then(bytes::user);
    let mechanism = bytes::field(fields, "method=").and_then(bytes::user);
    let tls = contains(fields, ", TLS") || contains(fields, ", secured");
    // Read once: a line can yield two events.
    let local = bytes::field(fields, "lip=").and_then(bytes::ip);
    let port = bytes::field(fields, "lport=")
        .and_then(bytes::number)
        .and_then(|p| u16::try_from(p).ok());
    let session = bytes::angle_field(fields, "session=").and_then(bytes::user);
    let mut push = |kind: EventKind| {
        let mut e = b.event(kind, source);
        e.user = user.clone();
        e.local = local;
        e.port = port;
        e.session = session.clone();
        out.push(e);
    };
    if after(m, "Login: ").is_some() {
        push(EventKind::AuthSucceeded {
            mechanism: mechanism.clone(),
            tls: Some(tls),
        });
        if !tls {
            push(EventKind::PlaintextAllowed { mechanism });
        }
        return;
    }
    if contains(m, "Maximum number of connections") {
        push(EventKind::RateLimited {
            detail: bytes::text(bytes::until(m, b':')),
        });
        return;
    }
    // A session's end: `Disconnected...`, `Aborted login`, 2.4 `Login aborted`,
    // submission-login `Client has quit the connection`, `Remote closed connection`.
    if bytes::field(fields, "rip=").is_none() || memchr::memchr(b'(', m).is_none() {
        return;
    }
    let reason = reason_part(m);
    if let Some(rest) = after_find(reason, "(auth failed, ") {
        let attempts = bytes::leading_number(rest).map_or(1, |(n, _)| n.max(1));
        if mechanism.is_none() && !tls {
            push(EventKind::PlaintextRefused);
        } else {
            push(EventKind::auth_failed(mechanism, attempts));
        }
    } else if contains(reason, "plaintext auth)") {
        push(EventKind::PlaintextRefused);
    } else if contains(reason, "unsupported auth mechanism") {
        push(EventKind::ProtocolError {
            error: ProtocolErrorKind::UnsupportedMechanism,
            detail: Some(bytes::text(reason)),
        });
    } else if contains(reason, "disconnected while authenticating")
        || contains(reason, "client didn't finish SASL auth")
        || contains(reason, "proxy dest auth failed")
    {
        push(EventKind::auth_failed(mechanism, 1));
    } else if contains(reason, "Too many invalid") || contains(reason, "Too many bad") {
        push(EventKind::ProtocolError {
            error: ProtocolErrorKind::TooManyErrors,
            detail: Some(bytes::text(reason)),
        });
    } else if let Some(tls_error) = after_find(fields, "TLS handshaking: ") {
        let detail = tls_handshake_detail(tls_error);
        push(EventKind::TlsFailed {
            reason: TlsReason::classify(detail),
            detail: bytes::text(detail),
        });
    } else {
        let idle = contains(reason, "no auth attempts") || contains(reason, "before greeting");
        push(EventKind::Disconnect {
            commands: None,
            idle,
        });
    }
}

/// The text of `TLS handshaking: <detail>, session=<...>` (the detail may contain commas).
fn tls_handshake_detail(s: &[u8]) -> &[u8] {
    let end = crate::bytes::find(s, b", session=").unwrap_or(s.len());
    s.get(..end).unwrap_or(s)
}

/// The `user=<...>, method=..., rip=...` part: after the last `): ` of the reason.
fn fields_part(m: &[u8]) -> &[u8] {
    match crate::bytes::find(m, b"user=<") {
        Some(i) => m.get(i..).unwrap_or_default(),
        None => after_find(m, "rip=").map_or(&[][..], |_| m),
    }
}

/// Everything before the fields.
fn reason_part(m: &[u8]) -> &[u8] {
    let end = crate::bytes::find(m, b"user=<")
        .or_else(|| crate::bytes::find(m, b"rip="))
        .unwrap_or(m.len());
    m.get(..end).unwrap_or(m)
}

/// `passwd-file(bob,192.0.2.8,<session>): Password mismatch`, 2.4:
/// `passwd-file(bob,192.0.2.8,sasl:plain,<session>): Password mismatch`,
/// `pam(bob,192.0.2.8): pam_authenticate() failed: Authentication failure (password mismatch?)`.
fn backend(m: &[u8], b: &EventBuilder<'_>, out: &mut Vec<Event>) {
    // PAM's own line: `pam_unix(dovecot:auth): authentication failure; ... rhost=192.0.2.1  user=root`
    if let Some(rest) = after_find(m, "pam_unix(dovecot:auth): authentication failure;") {
        let mut e = b.event(
            EventKind::AuthFailed {
                mechanism: None,
                attempts: 1,
                via: AuthVia::Backend,
                counted: 0,
            },
            last_field(rest, "rhost=").and_then(bytes::ip),
        );
        e.user = bytes::field(rest, "user=").and_then(bytes::user);
        out.push(e);
        return;
    }
    let Some((inner, result)) = driver_group(m) else {
        return;
    };
    let failed = contains(result, "Password mismatch")
        || contains(result, "password mismatch")
        || contains(result, "unknown user")
        || contains(result, "User not known")
        || contains(result, "Authentication failure")
        || contains(result, "Permission denied")
        || contains(result, "invalid credentials");
    if !failed {
        return;
    }
    let mut parts = inner.split(|&c| c == b',');
    let user = parts.next().and_then(bytes::user);
    let mut source = None;
    let mut session = None;
    let mut mechanism = None;
    for part in parts {
        if let Some(s) = part.strip_prefix(b"<") {
            session = bytes::user(bytes::until(s, b'>'));
        } else if let Some(mech) = part.strip_prefix(b"sasl:") {
            mechanism = Some(bytes::text(&mech.to_ascii_uppercase()));
        } else if source.is_none() {
            source = bytes::ip(part);
        }
    }
    let mut e = b.event(
        EventKind::AuthFailed {
            mechanism,
            attempts: 1,
            via: AuthVia::Backend,
            counted: 0,
        },
        source,
    );
    e.user = user;
    e.session = session;
    out.push(e);
}

/// The last `key=` value (PAM repeats `rhost=` when a field is empty).
fn last_field<'a>(s: &'a [u8], key: &str) -> Option<&'a [u8]> {
    let mut found = None;
    let mut rest = s;
    while let Some(v) = bytes::field(rest, key) {
        if !v.is_empty() {
            found = Some(v);
        }
        rest = after_find(rest, key).unwrap_or_default();
    }
    found
}

/// The first `driver(user,ip[,...]): result` group: its inside and the result.
fn driver_group(m: &[u8]) -> Option<(&[u8], &[u8])> {
    for close in memchr::memmem::find_iter(m, b"): ") {
        let before = m.get(..close)?;
        let Some(open) = memchr::memrchr(b'(', before) else {
            continue;
        };
        let driver_start = before
            .get(..open)?
            .iter()
            .rposition(|c| !(c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_'))
            .map_or(0, |i| i + 1);
        let driver = before.get(driver_start..open)?;
        let inner = before.get(open + 1..)?;
        if !driver.is_empty() && driver != b"auth-worker" && memchr::memchr(b',', inner).is_some() {
            return Some((inner, m.get(close + 3..)?));
        }
    }
    None
}
