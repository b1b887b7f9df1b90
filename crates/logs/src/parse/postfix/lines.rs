//! Postfix lines read without state: what each smtpd, postscreen and
//! queue line yields, and what it asks of the sessions and queue (`Op`).

use std::net::IpAddr;

use super::Op;
use crate::bytes::{self, after, after_find, bracketed_ip, contains};
use crate::event::{CommandStats, Event, EventKind, ProtocolErrorKind};
use crate::parse::{EventBuilder, Outcome};

/// smtpd lines, without state: the events they yield and what the state must do.
pub(super) fn smtpd(m: &[u8], b: &EventBuilder<'_>, out: &mut Vec<Event>) -> (Outcome, Op) {
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
        return queue_line(m, b, out);
    }
    let mut op = Op::None;
    if let Some(rest) = after(m, "connect from ") {
        out.push(b.event(EventKind::Connect, client(rest)));
        op = Op::Open;
    } else if let Some(rest) = after(m, "disconnect from ") {
        let stats = command_stats(rest);
        let idle = stats.as_ref().is_some_and(|s| !s.transaction);
        let auth_ok = stats.as_ref().is_some_and(|s| s.auth_ok > 0);
        out.push(b.event(
            EventKind::Disconnect {
                commands: stats,
                idle,
            },
            client(rest),
        ));
        op = Op::Close { auth_ok };
    } else if let Some(rest) = after(m, "lost connection after ") {
        lost(out, b, rest, false);
    } else if let Some(rest) = after(m, "timeout after ") {
        lost(out, b, rest, true);
    } else if let Some(rest) = after(m, "warning: ") {
        return (warning(rest, b, out), Op::None);
    } else if after(m, "SSL_accept error from ").is_some() {
        return (Outcome::Events, Op::SslAccept);
    } else if let Some(rest) = after_find(m, " TLS connection established from ") {
        let version = after_find(rest, "]: ").map(|v| bytes::text(bytes::until(v, b' ')));
        out.push(b.event(EventKind::TlsEstablished { version }, client(rest)));
        op = Op::Tls;
    } else if let Some(rest) = after(m, "too many errors after ") {
        protocol(out, b, ProtocolErrorKind::TooManyErrors, rest);
    } else if let Some(rest) = after(m, "improper command pipelining after ") {
        protocol(out, b, ProtocolErrorKind::Pipelining, rest);
    } else if let Some(rest) = after(m, "non-SMTP command from ") {
        protocol(out, b, ProtocolErrorKind::NonProtocol, rest);
    } else {
        return (Outcome::Uninteresting, Op::None);
    }
    (Outcome::Events, op)
}

/// `QUEUEID: reject: ...`, `QUEUEID: milter-reject: ...`, and `QUEUEID:
/// client=...` (a login's user, for the volume of what it sends).
fn queue_line(m: &[u8], b: &EventBuilder<'_>, out: &mut Vec<Event>) -> (Outcome, Op) {
    if let Some(rest) = after_find(m, ": reject: ") {
        reject(rest, b, out);
    } else if let Some(rest) = after_find(m, ": milter-reject: ") {
        out.push(b.event(
            EventKind::Rejected {
                reason: bytes::text(bytes::until(after_find(rest, "]: ").unwrap_or(rest), b';')),
            },
            client(rest),
        ));
    } else if let Some(rest) = after_find(m, ": client=") {
        if bytes::field(rest, "sasl_username=")
            .and_then(bytes::user)
            .is_none()
        {
            return (Outcome::Uninteresting, Op::None);
        }
        return (Outcome::Events, Op::Login);
    } else {
        return (Outcome::Uninteresting, Op::None);
    }
    (Outcome::Events, Op::None)
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
pub(super) fn postscreen(m: &[u8], b: &EventBuilder<'_>, out: &mut Vec<Event>) -> Outcome {
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
pub(super) fn client(rest: &[u8]) -> Option<IpAddr> {
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
