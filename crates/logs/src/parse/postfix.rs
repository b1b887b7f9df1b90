//! Postfix: `smtpd` (any `master.cf` service: `postfix/smtpd` is `smtp`,
//! `postfix/submission/smtpd` is `submission`), `postscreen`, `anvil`, and
//! `qmgr` plus the delivery agents for the sending volume of authenticated users.
//!
//! Per-process session state (keyed by host, program and PID, bounded) ties a
//! TLS failure to the `TLS library problem` line after it, knows whether a
//! session used TLS before it authenticated, and reports a success that only
//! the disconnect statistics show.

use std::net::IpAddr;

use crate::bytes::{self, after, after_find, bracketed_ip, contains};
use crate::envelope::Record;
use crate::event::{CommandStats, Event, EventKind, ProtocolErrorKind, Server, TlsReason};
use crate::parse::{Bounded, EventBuilder, Interner, LineCtx, Outcome, ServerParser};

/// Whether a syslog program name is Postfix's (`postfix/...`, `postfix-in/...`).
pub fn claims(program: &[u8]) -> bool {
    program.starts_with(b"postfix")
}

/// The Postfix parser.
#[derive(Debug)]
pub struct Postfix {
    sessions: Bounded<(u64, u32), Session>,
    queue: Bounded<u64, Queued>,
    names: Interner,
    /// Sessions holding back a TLS failure (most lines need no session lookup).
    pending_tls: usize,
}

impl Default for Postfix {
    fn default() -> Self {
        Postfix {
            sessions: Bounded::new(16_384),
            queue: Bounded::new(65_536),
            names: Interner::default(),
            pending_tls: 0,
        }
    }
}

#[derive(Debug, Default)]
struct Session {
    tls: bool,
    auth_reported: bool,
    pending_tls: Option<Event>,
}

#[derive(Debug)]
struct Queued {
    user: Box<str>,
    source: Option<IpAddr>,
    service: std::sync::Arc<str>,
    recipients: u32,
    domains: Vec<Box<str>>,
}

impl ServerParser for Postfix {
    fn server(&self) -> Server {
        Server::Postfix
    }

    fn parse(&mut self, r: &Record<'_>, ctx: &LineCtx, out: &mut Vec<Event>) -> Outcome {
        let (service, daemon) = names(r.program);
        let service = self.names.get(service);
        let b = EventBuilder::new(ctx, r, Server::Postfix).service(service.clone());
        let before = out.len();
        let key = (session_hash(r), r.pid.unwrap_or(0));
        // A held-back TLS failure takes its reason from this line, or goes out as is.
        if self.pending_tls > 0
            && let Some(session) = self.sessions.get_mut(&key)
            && let Some(mut pending) = session.pending_tls.take()
        {
            self.pending_tls -= 1;
            if let Some(problem) = after_find(r.message, "TLS library problem: ") {
                if let EventKind::TlsFailed { reason, detail } = &mut pending.kind {
                    *reason = TlsReason::classify(problem);
                    *detail = bytes::text(problem);
                }
                out.push(pending);
                return Outcome::Events;
            }
            out.push(pending);
        }
        let outcome = match daemon {
            b"smtpd" => self.smtpd(r, &b, &service, key, out),
            b"postscreen" => postscreen(r.message, &b, out),
            b"anvil" => Outcome::Uninteresting,
            b"qmgr" if !r.message.ends_with(b": removed") => self.qmgr(r.message),
            _ => self.delivery(r.message, &b, out),
        };
        if out.len() > before {
            Outcome::Events
        } else {
            outcome
        }
    }

    fn finish(&mut self, out: &mut Vec<Event>) {
        self.pending_tls = 0;
        for session in self.sessions.drain_values() {
            out.extend(session.pending_tls);
        }
    }
}

impl Postfix {
    fn smtpd(
        &mut self,
        r: &Record<'_>,
        b: &EventBuilder<'_>,
        service: &std::sync::Arc<str>,
        key: (u64, u32),
        out: &mut Vec<Event>,
    ) -> Outcome {
        let m = r.message;
        // Lines that start with a queue id (`4ABC: client=...`, `4ABC: reject: ...`)
        // skip the cascade of fixed prefixes below.
        let queue_id = m.first().is_some_and(|c| c.is_ascii_alphanumeric())
            && memchr::memchr(b':', m).is_some_and(|colon| {
                colon < 24
                    && m.get(..colon).is_some_and(|id| {
                        id.iter().all(u8::is_ascii_alphanumeric)
                            && !matches!(
                                id,
                                b"warning" | b"error" | b"fatal" | b"panic" | b"statistics"
                            )
                    })
            });
        if queue_id {
            return self.queue_line(m, b, service, key, out);
        }
        if let Some(rest) = after(m, "connect from ") {
            self.sessions.insert(key, Session::default());
            out.push(b.event(EventKind::Connect, client(rest)));
        } else if let Some(rest) = after(m, "disconnect from ") {
            let source = client(rest);
            let session = self.sessions.remove(&key).unwrap_or_default();
            let stats = command_stats(rest);
            let idle = stats.as_ref().is_some_and(|s| !s.transaction);
            if let Some(s) = &stats
                && s.auth_ok > 0
                && !session.auth_reported
            {
                push_success(out, b, source, None, None, Some(session.tls));
            }
            out.extend(session.pending_tls);
            out.push(b.event(
                EventKind::Disconnect {
                    commands: stats,
                    idle,
                },
                source,
            ));
        } else if let Some(rest) = after(m, "lost connection after ") {
            lost(out, b, rest, false);
        } else if let Some(rest) = after(m, "timeout after ") {
            lost(out, b, rest, true);
        } else if let Some(rest) = after(m, "warning: ") {
            return warning(rest, b, out);
        } else if let Some(rest) = after(m, "SSL_accept error from ") {
            let detail = after_find(rest, ": ").unwrap_or_default();
            let event = b.event(
                EventKind::TlsFailed {
                    reason: TlsReason::classify(detail),
                    detail: bytes::text(detail),
                },
                client(rest),
            );
            match self.sessions.get_mut(&key) {
                Some(session) => {
                    if session.pending_tls.replace(event).is_none() {
                        self.pending_tls += 1;
                    }
                }
                None => out.push(event),
            }
        } else if let Some(rest) = after_find(m, " TLS connection established from ") {
            if let Some(session) = self.sessions.get_mut(&key) {
                session.tls = true;
            }
            let version = after_find(rest, "]: ").map(|v| bytes::text(bytes::until(v, b' ')));
            out.push(b.event(EventKind::TlsEstablished { version }, client(rest)));
        } else if let Some(rest) = after(m, "too many errors after ") {
            protocol(out, b, ProtocolErrorKind::TooManyErrors, rest);
        } else if let Some(rest) = after(m, "improper command pipelining after ") {
            protocol(out, b, ProtocolErrorKind::Pipelining, rest);
        } else if let Some(rest) = after(m, "non-SMTP command from ") {
            protocol(out, b, ProtocolErrorKind::NonProtocol, rest);
        } else {
            return Outcome::Uninteresting;
        }
        Outcome::Events
    }

    /// `QUEUEID: client=...` (a login's user, for the volume of what it sends)
    /// and `QUEUEID: reject: ...`.
    fn queue_line(
        &mut self,
        m: &[u8],
        b: &EventBuilder<'_>,
        service: &std::sync::Arc<str>,
        key: (u64, u32),
        out: &mut Vec<Event>,
    ) -> Outcome {
        if let Some(rest) = after_find(m, ": reject: ") {
            reject(rest, b, out);
        } else if let Some(rest) = after_find(m, ": milter-reject: ") {
            out.push(b.event(
                EventKind::Rejected {
                    reason: bytes::text(bytes::until(
                        after_find(rest, "]: ").unwrap_or(rest),
                        b';',
                    )),
                },
                client(rest),
            ));
        } else if let Some(rest) = after_find(m, ": client=") {
            let Some(user) = bytes::field(rest, "sasl_username=").and_then(bytes::user) else {
                return Outcome::Uninteresting;
            };
            let source = client(rest);
            let mechanism = bytes::field(rest, "sasl_method=").and_then(bytes::user);
            let qid = bytes::until(m, b':');
            let (first, tls) = match self.sessions.get_mut(&key) {
                Some(session) => {
                    let first = !session.auth_reported;
                    session.auth_reported = true;
                    (first, Some(session.tls))
                }
                None => (true, None),
            };
            if first {
                push_success(out, b, source, Some(user.clone()), mechanism, tls);
            }
            self.queue.insert(
                qid_key(qid),
                Queued {
                    user,
                    source,
                    service: service.clone(),
                    recipients: 0,
                    domains: Vec::new(),
                },
            );
        } else {
            return Outcome::Uninteresting;
        }
        Outcome::Events
    }

    fn qmgr(&mut self, m: &[u8]) -> Outcome {
        let qid = bytes::until(m, b':');
        if let Some(n) = bytes::field(m, "nrcpt=").and_then(bytes::number)
            && let Some(q) = self.queue.get_mut(&qid_key(qid))
        {
            q.recipients = n;
        }
        Outcome::Uninteresting
    }

    fn delivery(&mut self, m: &[u8], b: &EventBuilder<'_>, out: &mut Vec<Event>) -> Outcome {
        let qid = qid_key(bytes::until(m, b':'));
        if m.ends_with(b": removed") {
            if let Some(q) = self.queue.remove(&qid) {
                let mut e = b.event(
                    EventKind::MessageSubmitted {
                        recipients: q
                            .recipients
                            .max(u32::try_from(q.domains.len()).unwrap_or(0)),
                        domains: q.domains,
                    },
                    q.source,
                );
                e.user = Some(q.user);
                e.service = Some(q.service.clone());
                e.port = crate::event::standard_port(&q.service);
                out.push(e);
                return Outcome::Events;
            }
        } else if let Some(q) = self.queue.get_mut(&qid)
            && let Some(to) = bytes::angle_field(m, "to=")
        {
            let domain = bytes::text(
                after_find(to, "@")
                    .unwrap_or(to)
                    .to_ascii_lowercase()
                    .as_slice(),
            );
            if q.domains.len() < 1000 && !q.domains.contains(&domain) {
                q.domains.push(domain);
            }
        }
        Outcome::Uninteresting
    }
}

fn push_success(
    out: &mut Vec<Event>,
    b: &EventBuilder<'_>,
    source: Option<IpAddr>,
    user: Option<Box<str>>,
    mechanism: Option<Box<str>>,
    tls: Option<bool>,
) {
    let mut e = b.event(
        EventKind::AuthSucceeded {
            mechanism: mechanism.clone(),
            tls,
        },
        source,
    );
    e.user = user.clone();
    out.push(e);
    if tls == Some(false) {
        let mut e = b.event(EventKind::PlaintextAllowed { mechanism }, source);
        e.user = user;
        out.push(e);
    }
}

fn warning(rest: &[u8], b: &EventBuilder<'_>, out: &mut Vec<Event>) -> Outcome {
    if let Some(detail) = after_find(rest, " authentication failed") {
        // `warning: unknown[192.0.2.7]: SASL LOGIN authentication failed: UGFzc3dvcmQ6[, sasl_username=bob]`
        let (source, after_client) = match bracketed_ip(rest) {
            Some((ip, tail)) => (Some(ip), tail),
            None => (None, rest),
        };
        let mechanism = after_find(after_client, "SASL ")
            .map(|m| bytes::until(m, b' '))
            .filter(|m| !m.is_empty() && *m != b"authentication")
            .and_then(bytes::user);
        let kind = if contains(detail, "Invalid authentication mechanism") {
            EventKind::ProtocolError {
                error: ProtocolErrorKind::UnsupportedMechanism,
                detail: Some(bytes::text(detail)),
            }
        } else {
            EventKind::auth_failed(mechanism, 1)
        };
        let mut e = b.event(kind, source);
        e.user = bytes::field(detail, "sasl_username=").and_then(bytes::user);
        out.push(e);
    } else if contains(rest, "rate limit exceeded") || contains(rest, "concurrency limit exceeded")
    {
        let source = bracketed_ip(rest).map(|(ip, _)| ip);
        out.push(b.event(
            EventKind::RateLimited {
                detail: bytes::text(rest),
            },
            source,
        ));
    } else if let Some(tail) = after(rest, "non-SMTP command from ") {
        protocol(out, b, ProtocolErrorKind::NonProtocol, tail);
    } else if let Some(tail) = after(rest, "Illegal address syntax from ") {
        protocol(out, b, ProtocolErrorKind::Syntax, tail);
    } else {
        return Outcome::Uninteresting;
    }
    Outcome::Events
}

/// `RCPT from unknown[192.0.2.9]: 554 5.7.1 <x@example.net>: Relay access denied; from=<...> to=<...> proto=ESMTP helo=<...>`
fn reject(rest: &[u8], b: &EventBuilder<'_>, out: &mut Vec<Event>) {
    let source = bracketed_ip(rest).map(|(ip, _)| ip);
    if contains(rest, "Relay access denied") {
        let recipient = bytes::angle_field(rest, "to=").and_then(bytes::user);
        out.push(b.event(EventKind::RelayDenied { recipient }, source));
    } else {
        let reason = after_find(rest, "]: ").unwrap_or(rest);
        let reason = bytes::until(reason, b';');
        out.push(b.event(
            EventKind::Rejected {
                reason: bytes::text(reason),
            },
            source,
        ));
    }
}

fn lost(out: &mut Vec<Event>, b: &EventBuilder<'_>, rest: &[u8], timeout: bool) {
    let stage = bytes::until(rest, b' ');
    out.push(b.event(
        EventKind::LostConnection {
            stage: bytes::text(stage),
            timeout,
        },
        client(rest),
    ));
}

fn protocol(out: &mut Vec<Event>, b: &EventBuilder<'_>, error: ProtocolErrorKind, rest: &[u8]) {
    let detail = after_find(rest, "]: ").map(bytes::text);
    out.push(b.event(EventKind::ProtocolError { error, detail }, client(rest)));
}

/// postscreen: `CONNECT from [192.0.2.1]:4321 to [198.51.100.1]:25`, `PREGREET 11 after 0.1 from [...]:port: EHLO x`,
/// `COMMAND PIPELINING from`, `NON-SMTP COMMAND from`, `BARE NEWLINE from`, `HANGUP after 0.5 from`,
/// `DISCONNECT [...]:port`, `COMMAND COUNT LIMIT from`, `DNSBL rank 3 for`, `NOQUEUE: reject:`.
fn postscreen(m: &[u8], b: &EventBuilder<'_>, out: &mut Vec<Event>) -> Outcome {
    let source = || bracketed_ip(m).map(|(ip, _)| ip);
    let first = bytes::until(m, b' ');
    let kind = match first {
        b"CONNECT" => {
            let mut e = b.event(EventKind::Connect, source());
            if let Some(to) = after_find(m, " to ")
                && let Some((local, tail)) = bracketed_ip(to)
            {
                e.local = Some(local);
                e.port = tail
                    .strip_prefix(b":")
                    .and_then(bytes::number)
                    .and_then(|p| u16::try_from(p).ok());
            }
            out.push(e);
            return Outcome::Events;
        }
        b"PREGREET" => protocol_kind(ProtocolErrorKind::Pregreet, m),
        b"BARE" => protocol_kind(ProtocolErrorKind::Syntax, m),
        b"NON-SMTP" => protocol_kind(ProtocolErrorKind::NonProtocol, m),
        b"COMMAND" if contains(m, "PIPELINING") => protocol_kind(ProtocolErrorKind::Pipelining, m),
        b"COMMAND" => protocol_kind(ProtocolErrorKind::TooManyErrors, m),
        b"HANGUP" => EventKind::LostConnection {
            stage: "postscreen".into(),
            timeout: false,
        },
        b"DISCONNECT" => EventKind::Disconnect {
            commands: None,
            idle: true,
        },
        b"DNSBL" | b"DENYLISTED" | b"BLACKLISTED" => EventKind::Rejected {
            reason: bytes::text(m),
        },
        b"NOQUEUE:" => {
            reject(after(m, "NOQUEUE: reject: ").unwrap_or(m), b, out);
            return Outcome::Events;
        }
        _ => return Outcome::Uninteresting,
    };
    out.push(b.event(kind, source()));
    Outcome::Events
}

fn protocol_kind(error: ProtocolErrorKind, m: &[u8]) -> EventKind {
    EventKind::ProtocolError {
        error,
        detail: Some(bytes::text(m)),
    }
}

/// The client address in `name[address]...`.
fn client(rest: &[u8]) -> Option<IpAddr> {
    let from = after_find(rest, " from ").unwrap_or(rest);
    bracketed_ip(from).map(|(ip, _)| ip)
}

/// `ehlo=1 auth=0/1 quit=1 commands=2/3` after the client.
fn command_stats(rest: &[u8]) -> Option<CommandStats> {
    let (_, tail) = bracketed_ip(rest)?;
    let mut stats = CommandStats::default();
    let mut seen = false;
    for item in tail.split(|&b| b == b' ').filter(|t| !t.is_empty()) {
        let Some(eq) = memchr::memchr(b'=', item) else {
            continue;
        };
        let name = item.get(..eq).unwrap_or_default();
        let value = item.get(eq + 1..).unwrap_or_default();
        let (ok, total) = match memchr::memchr(b'/', value) {
            Some(slash) => (
                bytes::number(value.get(..slash).unwrap_or_default()).unwrap_or(0),
                bytes::number(value.get(slash + 1..).unwrap_or_default()).unwrap_or(0),
            ),
            None => {
                let n = bytes::number(value).unwrap_or(0);
                (n, n)
            }
        };
        match name {
            b"commands" => {
                stats.ok = ok;
                stats.total = total;
                seen = true;
            }
            b"auth" => {
                stats.auth_ok = ok;
                stats.auth_failed = total.saturating_sub(ok);
                stats.transaction = true;
            }
            b"mail" | b"rcpt" | b"data" | b"bdat" => stats.transaction = true,
            _ => {}
        }
    }
    seen.then_some(stats)
}

/// (service, daemon) from `postfix/submission/smtpd`: the daemon is the last
/// component; the service is the middle one, or `smtp` for a plain smtpd/postscreen.
fn names(program: &[u8]) -> (&[u8], &[u8]) {
    let mut parts = program.rsplitn(2, |&b| b == b'/');
    let daemon = parts.next().unwrap_or_default();
    let prefix = parts.next().unwrap_or_default();
    let service = match memchr::memchr(b'/', prefix) {
        Some(i) => prefix.get(i + 1..).unwrap_or_default(),
        None => match daemon {
            b"smtpd" | b"postscreen" => b"smtp",
            other => other,
        },
    };
    (service, daemon)
}

fn session_hash(r: &Record<'_>) -> u64 {
    use std::hash::BuildHasher;
    crate::hash::FastState::default().hash_one((r.host, r.program))
}

/// A queue id as a map key (FNV-1a): no allocation per delivery line.
fn qid_key(qid: &[u8]) -> u64 {
    qid.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
