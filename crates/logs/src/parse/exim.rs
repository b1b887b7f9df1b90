//! Exim 4: mainlog and rejectlog files (`2026-11-28 01:34:11 [pid] message`)
//! or syslog (`exim[pid]:`/`exim4[pid]:`). Connections, failed authenticators,
//! relay refusals, synchronization and syntax errors, TLS errors, and the
//! `A=authenticator:user` of accepted messages.
//!
//! The client's address is the last `[address]` before ` I=[` (the local
//! interface) when that is logged, so a HELO name holding brackets cannot
//! forge it; otherwise the first one.

use std::net::IpAddr;

use crate::bytes::{self, after, after_find, bracketed_ip, contains};

use crate::envelope::Record;
use crate::event::{Event, EventKind, ProtocolErrorKind, Server, TlsReason};
use crate::parse::{EventBuilder, Interner, LineCtx, Outcome, ServerParser};

/// The Exim parser.
#[derive(Debug, Default)]
pub struct Exim {
    names: Interner,
    seen: Seen,
}

/// Exim writes every rejection and dropped call to the mainlog *and* the
/// rejectlog, with the same time, PID and text. Reading both must not count
/// them twice: event lines are remembered (as hashes, the most recent 65,536,
/// with the input they came from) and the same line from another input is
/// skipped. Identical lines within one input (four `SMTP syntax error` lines
/// in the same second) all count.
#[derive(Debug, Default)]
struct Seen {
    map: std::collections::HashMap<u64, u64, crate::hash::FastState>,
    order: std::collections::VecDeque<u64>,
}

impl Seen {
    const CAP: usize = 65_536;

    /// What identifies a line across inputs: its time, PID and text.
    fn key(r: &Record<'_>) -> u64 {
        use std::hash::BuildHasher;
        crate::hash::FastState::default().hash_one((
            r.time.map(|t| t.as_nanosecond()),
            r.pid,
            r.message,
        ))
    }

    /// True when the line of this key was already read from another input.
    fn repeat(&mut self, key: u64, file: &str) -> bool {
        use std::hash::BuildHasher;
        let input = crate::hash::FastState::default().hash_one(file);
        match self.map.get(&key) {
            Some(&from) => from != input,
            None => {
                self.map.insert(key, input);
                self.order.push_back(key);
                if self.order.len() > Self::CAP
                    && let Some(old) = self.order.pop_front()
                {
                    self.map.remove(&old);
                }
                false
            }
        }
    }
}

impl ServerParser for Exim {
    fn server(&self) -> Server {
        Server::Exim
    }

    fn parse(&mut self, r: &Record<'_>, ctx: &LineCtx, out: &mut Vec<Event>) -> Outcome {
        let before = out.len();
        let (outcome, seen) = self.read(r, ctx, out);
        match seen {
            Some(key) if self.repeat(key, &ctx.file) => {
                out.truncate(before);
                Outcome::Uninteresting
            }
            _ => outcome,
        }
    }
}

impl Exim {
    /// The stateless half: the line's events, and when there are any, the
    /// key under which [`Exim::repeat`] must check them (in line order).
    pub(crate) fn read(
        &mut self,
        r: &Record<'_>,
        ctx: &LineCtx,
        out: &mut Vec<Event>,
    ) -> (Outcome, Option<u64>) {
        let before = out.len();
        let outcome = self.parse_line(r, ctx, out);
        let seen = (out.len() > before).then(|| Seen::key(r));
        (outcome, seen)
    }

    /// The stateful half: true when a line (by its key) was already read
    /// from another input, so its events must be dropped.
    pub(crate) fn repeat(&mut self, key: u64, file: &str) -> bool {
        self.seen.repeat(key, file)
    }

    fn parse_line(&mut self, r: &Record<'_>, ctx: &LineCtx, out: &mut Vec<Event>) -> Outcome {
        let m = r.message;
        let b = EventBuilder::new(ctx, r, Server::Exim).service_only(self.names.get(b"smtp"));
        let (source, port) = addresses(m);
        let push = |out: &mut Vec<Event>, kind: EventKind| {
            let mut e = b.event(kind, source);
            e.port = port;
            out.push(e);
            e_index(out)
        };
        if let Some(rest) = after(m, "SMTP connection from ") {
            if contains(rest, "(TCP/IP connection count")
                || !contains(rest, " lost") && !contains(rest, " closed")
            {
                push(out, EventKind::Connect);
            } else if contains(rest, " lost") {
                let stage = if contains(rest, "message data") {
                    "DATA"
                } else {
                    "unknown"
                };
                push(
                    out,
                    EventKind::LostConnection {
                        stage: stage.into(),
                        timeout: false,
                    },
                );
            } else {
                push(
                    out,
                    EventKind::Disconnect {
                        commands: None,
                        idle: false,
                    },
                );
            }
        } else if let Some(rest) = after(m, "no MAIL in SMTP connection from ")
            .or_else(|| after(m, "no host name found for IP address "))
        {
            let idle = !contains(rest, "AUTH");
            push(
                out,
                EventKind::Disconnect {
                    commands: None,
                    idle,
                },
            );
        } else if let Some(rest) = after_find(m, " authenticator failed for ") {
            let name = bytes::until(m, b' ');
            let mechanism = mechanism(name);
            let i = push(out, EventKind::auth_failed(mechanism, 1));
            if let Some(e) = out.get_mut(i) {
                e.user = after_find(rest, "(set_id=")
                    .map(|u| bytes::until(u, b')'))
                    .and_then(bytes::user);
            }
        } else if let Some(rest) = after_find(m, "SMTP protocol synchronization error") {
            let error = if contains(rest, "without waiting for greeting") {
                ProtocolErrorKind::Pregreet
            } else {
                ProtocolErrorKind::Pipelining
            };
            push(
                out,
                EventKind::ProtocolError {
                    error,
                    detail: Some(bytes::text(rest)),
                },
            );
        } else if let Some(rest) = after(m, "SMTP call from ") {
            if let Some(why) = after_find(rest, "dropped: ") {
                let error = if contains(why, "unrecognized") {
                    ProtocolErrorKind::UnknownCommand
                } else {
                    ProtocolErrorKind::TooManyErrors
                };
                push(
                    out,
                    EventKind::ProtocolError {
                        error,
                        detail: Some(bytes::text(why)),
                    },
                );
            } else {
                return Outcome::Uninteresting;
            }
        } else if let Some(rest) = after(m, "SMTP syntax error in ") {
            let error = if contains(rest, "unrecognized command") {
                ProtocolErrorKind::UnknownCommand
            } else {
                ProtocolErrorKind::Syntax
            };
            push(
                out,
                EventKind::ProtocolError {
                    error,
                    detail: Some(bytes::text(rest)),
                },
            );
        } else if let Some(rest) = after(m, "SMTP protocol error in ") {
            push(
                out,
                EventKind::ProtocolError {
                    error: ProtocolErrorKind::Syntax,
                    detail: Some(bytes::text(rest)),
                },
            );
        } else if let Some(rest) = after(m, "TLS error on connection ") {
            let detail = after_find(rest, "): ").unwrap_or(rest);
            push(
                out,
                EventKind::TlsFailed {
                    reason: TlsReason::classify(detail),
                    detail: bytes::text(detail),
                },
            );
        } else if contains(m, "SMTP command timeout") || contains(m, "SMTP data timeout") {
            push(
                out,
                EventKind::LostConnection {
                    stage: "timeout".into(),
                    timeout: true,
                },
            );
        } else if contains(m, "too many connections") || contains(m, "Too many concurrent") {
            push(
                out,
                EventKind::RateLimited {
                    detail: bytes::text(m),
                },
            );
        } else if let Some(rest) = after_find(m, " rejected RCPT ") {
            let recipient = rest
                .strip_prefix(b"<")
                .map(|r| bytes::until(r, b'>'))
                .and_then(bytes::user);
            if contains(rest, "relay not permitted") || contains(rest, "Relay not permitted") {
                push(out, EventKind::RelayDenied { recipient });
            } else {
                push(
                    out,
                    EventKind::Rejected {
                        reason: bytes::text(after_find(rest, ": ").unwrap_or(rest)),
                    },
                );
            }
        } else if let Some(rest) = after_find(m, " rejected ") {
            if contains(rest, "syntactically invalid") {
                push(
                    out,
                    EventKind::ProtocolError {
                        error: ProtocolErrorKind::Syntax,
                        detail: Some(bytes::text(rest)),
                    },
                );
            } else {
                push(
                    out,
                    EventKind::Rejected {
                        reason: bytes::text(rest),
                    },
                );
            }
        } else if let Some(rest) = after_find(m, " <= ") {
            return accepted(rest, &b, out);
        } else {
            return Outcome::Uninteresting;
        }
        Outcome::Events
    }
}

fn e_index(out: &[Event]) -> usize {
    out.len().saturating_sub(1)
}

/// An accepted message: `<= a@b H=... [192.0.2.1]:port I=... P=esmtpsa X=TLS1.3:... A=dovecot_plain:alice S=1 for r@x s@y`.
fn accepted(rest: &[u8], b: &EventBuilder<'_>, out: &mut Vec<Event>) -> Outcome {
    let Some(auth) = bytes::field(rest, "A=") else {
        return Outcome::Uninteresting;
    };
    let colon = memchr::memchr(b':', auth);
    let Some(user) = colon.and_then(|c| auth.get(c + 1..)).and_then(bytes::user) else {
        return Outcome::Uninteresting;
    };
    let mechanism = mechanism(colon.and_then(|c| auth.get(..c)).unwrap_or_default());
    let (source, port) = addresses(rest);
    let tls = bytes::field(rest, "X=").is_some();
    let mut domains: Vec<Box<str>> = Vec::new();
    let mut recipients = 0u32;
    if let Some(list) = after_find(rest, " for ") {
        for r in list.split(|&c| c == b' ').filter(|r| !r.is_empty()) {
            recipients = recipients.saturating_add(1);
            let d = bytes::text(&after_find(r, "@").unwrap_or(r).to_ascii_lowercase());
            if domains.len() < 1000 && !domains.contains(&d) {
                domains.push(d);
            }
        }
    }
    for kind in [
        EventKind::AuthSucceeded {
            mechanism: mechanism.clone(),
            tls: Some(tls),
        },
        EventKind::MessageSubmitted {
            recipients,
            domains,
        },
    ] {
        let mut e = b.event(kind, source);
        e.port = port;
        e.user = Some(user.clone());
        out.push(e);
    }
    if !tls {
        let mut e = b.event(EventKind::PlaintextAllowed { mechanism }, source);
        e.port = port;
        e.user = Some(user);
        out.push(e);
    }
    Outcome::Events
}

/// `dovecot_login` → LOGIN, `plain_server` → PLAIN, `cram_md5` → CRAM-MD5.
fn mechanism(name: &[u8]) -> Option<Box<str>> {
    let upper = name.to_ascii_uppercase();
    for m in ["PLAIN", "LOGIN", "CRAM-MD5", "CRAM_MD5", "XOAUTH2", "SCRAM"] {
        if contains(&upper, m) {
            return Some(m.replace('_', "-").into());
        }
    }
    bytes::user(name)
}

/// The client address and the local port (`I=[198.51.100.1]:587`).
fn addresses(m: &[u8]) -> (Option<IpAddr>, Option<u16>) {
    let (client_part, port) = match crate::bytes::find(m, b" I=[") {
        Some(i) => {
            let local = m.get(i + 3..).unwrap_or_default();
            let port = bracketed_ip(local)
                .and_then(|(_, tail)| tail.strip_prefix(b":"))
                .map(|p| bytes::until(bytes::until(p, b' '), b':'))
                .and_then(bytes::number)
                .and_then(|p| u16::try_from(p).ok());
            (m.get(..i).unwrap_or_default(), port)
        }
        None => (m, None),
    };
    (outside_parentheses_ip(client_part), port)
}

/// The first `[address]` not inside parentheses: Exim writes the client's
/// HELO in parentheses, and a HELO of `[192.0.2.1]` must not pass for the address.
fn outside_parentheses_ip(s: &[u8]) -> Option<IpAddr> {
    let mut depth = 0u32;
    for (i, &c) in s.iter().enumerate() {
        match c {
            b'(' => depth += 1,
            b')' => depth = depth.saturating_sub(1),
            b'[' if depth == 0 => {
                let inner = s.get(i + 1..)?;
                let close = memchr::memchr(b']', inner)?;
                if let Some(ip) = bytes::ip(inner.get(..close)?) {
                    return Some(ip);
                }
            }
            _ => {}
        }
    }
    None
}
