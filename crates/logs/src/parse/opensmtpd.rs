//! OpenSMTPD (syslog tag `smtpd`): the 6.x/7.x session lines
//! (`<session> smtp connected address=192.0.2.1 host=x`,
//! `<session> smtp authentication user=bob result=permfail`,
//! `<session> smtp failed-command command="RCPT TO:<...>" result="550 ..."`,
//! `<session> smtp disconnected reason=quit`) and the older 5.x/6.0 `smtp-in:` lines.
//!
//! Only the `connected` line carries the client address: a bounded map from
//! session id to address (and TLS state) supplies it to the session's later lines.

use std::net::IpAddr;

use crate::bytes::{self, after, after_find, contains};
use crate::envelope::Record;
use crate::event::{Event, EventKind, ProtocolErrorKind, Server, TlsReason};
use crate::parse::{Bounded, EventBuilder, Interner, LineCtx, Outcome, ServerParser};

/// The OpenSMTPD parser.
#[derive(Debug)]
pub struct OpenSmtpd {
    sessions: Bounded<Box<[u8]>, Session>,
    names: Interner,
}

#[derive(Debug, Clone, Copy)]
struct Session {
    source: Option<IpAddr>,
    tls: bool,
}

impl Default for OpenSmtpd {
    fn default() -> Self {
        OpenSmtpd {
            sessions: Bounded::new(16_384),
            names: Interner::default(),
        }
    }
}

impl ServerParser for OpenSmtpd {
    fn server(&self) -> Server {
        Server::Opensmtpd
    }

    fn parse(&mut self, r: &Record<'_>, ctx: &LineCtx, out: &mut Vec<Event>) -> Outcome {
        let b = EventBuilder::new(ctx, r, Server::Opensmtpd).service_only(self.names.get(b"smtp"));
        let (id, rest) = bytes::token(r.message);
        if let Some(m) = after(rest, "smtp ") {
            return self.session_line(id, m, &b, out);
        }
        if let Some(m) = after(r.message, "smtp-in: ") {
            return self.legacy(m, &b, out);
        }
        Outcome::Uninteresting
    }
}

impl OpenSmtpd {
    fn session_line(
        &mut self,
        id: &[u8],
        m: &[u8],
        b: &EventBuilder<'_>,
        out: &mut Vec<Event>,
    ) -> Outcome {
        let key: Box<[u8]> = id.into();
        let session = self.sessions.get_mut(&key).copied();
        let source = session.and_then(|s| s.source);
        let (verb, rest) = bytes::token(m);
        let kind = match verb {
            b"connected" => {
                // 7.x writes IPv6 in brackets: `address=[::1]`.
                let source = bytes::field(rest, "address=")
                    .map(|a| a.strip_prefix(b"[").map_or(a, |a| bytes::until(a, b']')))
                    .and_then(bytes::ip);
                self.sessions.insert(key, Session { source, tls: false });
                out.push(b.event(EventKind::Connect, source));
                return Outcome::Events;
            }
            b"tls" => {
                if let Some(s) = self.sessions.get_mut(&key) {
                    s.tls = true;
                }
                let version =
                    bytes::field(rest, "ciphers=").map(|c| bytes::text(bytes::until(c, b':')));
                EventKind::TlsEstablished { version }
            }
            b"authentication" => {
                let user = bytes::field(rest, "user=").and_then(bytes::user);
                let kind = if bytes::field(rest, "result=") == Some(b"ok") {
                    EventKind::AuthSucceeded {
                        mechanism: None,
                        tls: session.map(|s| s.tls),
                    }
                } else {
                    EventKind::auth_failed(None, 1)
                };
                let plaintext = matches!(
                    kind,
                    EventKind::AuthSucceeded {
                        tls: Some(false),
                        ..
                    }
                );
                let mut e = b.event(kind, source);
                e.user = user.clone();
                e.session = bytes::user(id);
                out.push(e);
                if plaintext {
                    let mut e = b.event(EventKind::PlaintextAllowed { mechanism: None }, source);
                    e.user = user;
                    out.push(e);
                }
                return Outcome::Events;
            }
            b"failed-command" | b"bad-input" => {
                let result = after_find(rest, "result=\"")
                    .map(|r| bytes::until(r, b'"'))
                    .unwrap_or_default();
                let command = after_find(rest, "command=\"")
                    .map(|c| bytes::until(c, b'"'))
                    .unwrap_or_default();
                failed_command(command, result)
            }
            b"disconnected" => {
                self.sessions.remove(&key);
                let reason = after_find(rest, "reason=").unwrap_or_default();
                if contains(reason, "handshake")
                    || contains(reason, "TLS")
                    || contains(reason, "SSL")
                {
                    EventKind::TlsFailed {
                        reason: TlsReason::classify(reason),
                        detail: bytes::text(reason),
                    }
                } else if reason.starts_with(b"io-error") || reason.starts_with(b"disconnect") {
                    EventKind::LostConnection {
                        stage: bytes::text(bytes::until(reason, b' ')),
                        timeout: false,
                    }
                } else if reason.starts_with(b"timeout") {
                    EventKind::LostConnection {
                        stage: "timeout".into(),
                        timeout: true,
                    }
                } else {
                    EventKind::Disconnect {
                        commands: None,
                        idle: false,
                    }
                }
            }
            _ => return Outcome::Uninteresting,
        };
        let mut e = b.event(kind, source);
        e.session = bytes::user(id);
        out.push(e);
        Outcome::Events
    }

    /// 5.x/6.0: `New session 0123abcd from host x [192.0.2.1]`, `Failed command on session
    /// 0123abcd: "AUTH LOGIN" => 535 ...`, `Authentication failed for user bob on session 0123abcd`.
    fn legacy(&mut self, m: &[u8], b: &EventBuilder<'_>, out: &mut Vec<Event>) -> Outcome {
        if let Some(rest) = after(m, "New session ") {
            let id = bytes::until(rest, b' ');
            let source = bytes::bracketed_ip(rest).map(|(ip, _)| ip);
            self.sessions
                .insert(id.into(), Session { source, tls: false });
            out.push(b.event(EventKind::Connect, source));
            return Outcome::Events;
        }
        let id = after_find(m, "session ")
            .map(|s| bytes::until(bytes::until(s, b':'), b' '))
            .unwrap_or_default();
        let source = self.sessions.get_mut(&Box::from(id)).and_then(|s| s.source);
        let kind = if let Some(rest) = after(m, "Authentication failed for user ") {
            let mut e = b.event(EventKind::auth_failed(None, 1), source);
            e.user = bytes::user(bytes::until(rest, b' '));
            out.push(e);
            return Outcome::Events;
        } else if let Some(rest) = after(m, "Accepted authentication for user ") {
            let mut e = b.event(
                EventKind::AuthSucceeded {
                    mechanism: None,
                    tls: None,
                },
                source,
            );
            e.user = bytes::user(bytes::until(rest, b' '));
            out.push(e);
            return Outcome::Events;
        } else if let Some(rest) = after_find(m, "\" => ") {
            let command = after_find(m, ": \"")
                .map(|c| bytes::until(c, b'"'))
                .unwrap_or_default();
            failed_command(command, rest)
        } else if after(m, "Closing session ").is_some() {
            EventKind::Disconnect {
                commands: None,
                idle: false,
            }
        } else {
            return Outcome::Uninteresting;
        };
        out.push(b.event(kind, source));
        Outcome::Events
    }
}

fn failed_command(command: &[u8], result: &[u8]) -> EventKind {
    let upper = command.to_ascii_uppercase();
    if upper.starts_with(b"AUTH") && (result.starts_with(b"535") || result.starts_with(b"5.7.8")) {
        EventKind::auth_failed(bytes::user(bytes::token(command).1), 1)
    } else if upper.starts_with(b"RCPT")
        && (contains(result, "elay") || contains(result, "Invalid recipient"))
    {
        let recipient = after_find(command, "<")
            .map(|r| bytes::until(r, b'>'))
            .and_then(bytes::user);
        EventKind::RelayDenied { recipient }
    } else if contains(result, "Pipelining") || contains(result, "pipelining") {
        EventKind::ProtocolError {
            error: ProtocolErrorKind::Pipelining,
            detail: Some(bytes::text(result)),
        }
    } else if contains(result, "Command unrecognized")
        || contains(result, "Invalid command")
        || result.starts_with(b"500")
    {
        EventKind::ProtocolError {
            error: ProtocolErrorKind::UnknownCommand,
            detail: Some(bytes::text(result)),
        }
    } else if result.starts_with(b"421") && contains(result, "many") {
        EventKind::RateLimited {
            detail: bytes::text(result),
        }
    } else {
        EventKind::Rejected {
            reason: bytes::text(result),
        }
    }
}
