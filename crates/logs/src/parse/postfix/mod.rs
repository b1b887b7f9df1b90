//! Postfix: `smtpd` (any `master.cf` service: `postfix/smtpd` is `smtp`,
//! `postfix/submission/smtpd` is `submission`), `postscreen`, `anvil`, and
//! `qmgr` plus the delivery agents for the sending volume of authenticated users.
//!
//! Per-process session state (keyed by host, program and PID, bounded) ties a
//! TLS failure to the `TLS library problem` line after it, knows whether a
//! session used TLS before it authenticated, and reports a success that only
//! the disconnect statistics show.

use std::net::IpAddr;

mod lines;
mod programs;

use crate::bytes::{self, after, after_find};
use crate::envelope::Record;
use crate::event::{Event, EventKind, Server, TlsReason};
use crate::parse::{Bounded, EventBuilder, LineCtx, Outcome, ServerParser};

use lines::{client, postscreen, smtpd};
use programs::{Daemon, Programs};

/// Whether a syslog program name is Postfix's (`postfix/...`, `postfix-in/...`).
pub fn claims(program: &[u8]) -> bool {
    program.starts_with(b"postfix")
}

/// The Postfix parser.
#[derive(Debug)]
pub struct Postfix {
    sessions: Bounded<(u64, u32), Session>,
    queue: Bounded<u64, Queued>,
    programs: Programs,
    /// Sessions holding back a TLS failure (most lines need no session lookup).
    pending_tls: usize,
    /// What [`Postfix::read`] pushed for the line in hand (reused).
    scratch: Vec<Event>,
}

impl Default for Postfix {
    fn default() -> Self {
        Postfix {
            sessions: Bounded::new(16_384),
            queue: Bounded::new(65_536),
            programs: Programs::default(),
            pending_tls: 0,
            scratch: Vec::new(),
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

/// What a line asks of the session and queue state, decided by [`Postfix::read`]
/// and done by [`Postfix::apply`] (in line order, on the thread that owns the state).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Step {
    /// The process (host and program hash, PID) whose session the line belongs to.
    key: (u64, u32),
    op: Op,
    /// An smtpd line: it may complete its process's held-back TLS failure.
    smtpd: bool,
}

impl Step {
    /// Nothing for the state to do: the events read are final.
    pub(crate) fn is_final(&self) -> bool {
        !self.smtpd && self.op == Op::None
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// The events read are final.
    None,
    /// `connect from`: a new session for this process.
    Open,
    /// `TLS connection established`: the session uses TLS.
    Tls,
    /// `disconnect from` (its event read): the session ends; `auth_ok` when
    /// its statistics show a login no `client=` line reported.
    Close { auth_ok: bool },
    /// qmgr and delivery lines: they matter only for a message an
    /// authenticated user queued, so they are parsed again only then.
    Queue(u64),
    /// `SSL_accept error`: held back while the session lives.
    SslAccept,
    /// `QUEUEID: client=... sasl_username=`: a login and its message.
    Login,
}

impl ServerParser for Postfix {
    fn server(&self) -> Server {
        Server::Postfix
    }

    fn parse(&mut self, r: &Record<'_>, ctx: &LineCtx, out: &mut Vec<Event>) -> Outcome {
        // The same two halves the parallel reader runs apart, back to back.
        let mut events = std::mem::take(&mut self.scratch);
        let (outcome, step) = self.read(r, ctx, &mut events);
        let (outcome, keep) = self.apply(outcome, step, &events, r, ctx, out);
        if keep {
            out.append(&mut events);
        }
        events.clear();
        self.scratch = events;
        outcome
    }

    fn finish(&mut self, out: &mut Vec<Event>) {
        self.pending_tls = 0;
        for session in self.sessions.drain_values() {
            out.extend(session.pending_tls);
        }
    }
}

impl Postfix {
    /// The stateless half: parses the line into `out` as far as it can
    /// without sessions and queue, and says what the state must do.
    pub(crate) fn read(
        &mut self,
        r: &Record<'_>,
        ctx: &LineCtx,
        out: &mut Vec<Event>,
    ) -> (Outcome, Step) {
        let program = self.programs.get(r.host, r.program);
        let key = (program.key, r.pid.unwrap_or(0));
        let m = r.message;
        let builder = || {
            EventBuilder::new(ctx, r, Server::Postfix)
                .service_port(program.service.clone(), program.port)
        };
        let (outcome, op) = match program.daemon {
            Daemon::Smtpd => smtpd(m, &builder(), out),
            Daemon::Postscreen => (postscreen(m, &builder(), out), Op::None),
            Daemon::Anvil => (Outcome::Uninteresting, Op::None),
            // What `qmgr` and `delivery` act on, for a queued message.
            Daemon::Qmgr if m.ends_with(b": removed") || bytes::field(m, "nrcpt=").is_some() => (
                Outcome::Uninteresting,
                Op::Queue(qid_key(bytes::until(m, b':'))),
            ),
            Daemon::Other
                if m.ends_with(b": removed") || bytes::angle_field(m, "to=").is_some() =>
            {
                (
                    Outcome::Uninteresting,
                    Op::Queue(qid_key(bytes::until(m, b':'))),
                )
            }
            Daemon::Qmgr | Daemon::Other => (Outcome::Uninteresting, Op::None),
        };
        let smtpd = program.daemon == Daemon::Smtpd;
        (outcome, Step { key, op, smtpd })
    }

    /// The stateful half, in line order: `events` are what [`Postfix::read`]
    /// pushed for this line, `r` and `ctx` the same line. Pushes the events
    /// that come before the read ones to `out`, and says whether the read
    /// ones stand (with the line's outcome).
    pub(crate) fn apply(
        &mut self,
        outcome: Outcome,
        step: Step,
        events: &[Event],
        r: &Record<'_>,
        ctx: &LineCtx,
        out: &mut Vec<Event>,
    ) -> (Outcome, bool) {
        let before = out.len();
        // A held-back TLS failure takes its reason from the process's next
        // line, or goes out as is (only smtpd processes have sessions).
        if step.smtpd
            && self.pending_tls > 0
            && let Some(session) = self.sessions.get_mut(&step.key)
            && let Some(mut pending) = session.pending_tls.take()
        {
            self.pending_tls -= 1;
            if let Some(problem) = after_find(r.message, "TLS library problem: ") {
                if let EventKind::TlsFailed { reason, detail } = &mut pending.kind {
                    *reason = TlsReason::classify(problem);
                    *detail = bytes::text(problem);
                }
                out.push(pending);
                return (Outcome::Events, false);
            }
            out.push(pending);
        }
        let outcome = match step.op {
            Op::None => outcome,
            Op::Open => {
                self.sessions.insert(step.key, Session::default());
                outcome
            }
            Op::Tls => {
                if let Some(session) = self.sessions.get_mut(&step.key) {
                    session.tls = true;
                }
                outcome
            }
            Op::Close { auth_ok } => {
                let session = self.sessions.remove(&step.key).unwrap_or_default();
                if auth_ok && !session.auth_reported {
                    let (b, _) = self.builder(r, ctx);
                    let source = events.first().and_then(|e| e.source);
                    push_success(out, &b, source, None, None, Some(session.tls));
                }
                out.extend(session.pending_tls);
                outcome
            }
            // Not a message of an authenticated user: nothing to count.
            Op::Queue(qid) if self.queue.get_mut(&qid).is_none() => Outcome::Uninteresting,
            Op::Queue(_) => {
                let (b, _) = self.builder(r, ctx);
                let daemon = self.programs.get(r.host, r.program).daemon;
                if daemon == Daemon::Qmgr && !r.message.ends_with(b": removed") {
                    self.qmgr(r.message)
                } else {
                    self.delivery(r.message, &b, out)
                }
            }
            Op::SslAccept => {
                let (b, _) = self.builder(r, ctx);
                self.ssl_accept(r.message, &b, step.key, out);
                Outcome::Events
            }
            Op::Login => {
                let (b, service) = self.builder(r, ctx);
                self.login(r.message, &b, service, step.key, out)
            }
        };
        if out.len() > before || !events.is_empty() {
            (Outcome::Events, true)
        } else {
            (outcome, true)
        }
    }

    /// The line's event builder and service, as [`Postfix::read`] makes them.
    fn builder<'a>(
        &mut self,
        r: &'a Record<'a>,
        ctx: &'a LineCtx,
    ) -> (EventBuilder<'a>, std::sync::Arc<str>) {
        let program = self.programs.get(r.host, r.program);
        let service = program.service.clone();
        let b =
            EventBuilder::new(ctx, r, Server::Postfix).service_port(service.clone(), program.port);
        (b, service)
    }

    fn ssl_accept(
        &mut self,
        m: &[u8],
        b: &EventBuilder<'_>,
        key: (u64, u32),
        out: &mut Vec<Event>,
    ) {
        let Some(rest) = after(m, "SSL_accept error from ") else {
            return;
        };
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
    }

    /// `QUEUEID: client=... sasl_username=bob`: a login (reported once per
    /// session) and the message it queues, for the sending volume.
    fn login(
        &mut self,
        m: &[u8],
        b: &EventBuilder<'_>,
        service: std::sync::Arc<str>,
        key: (u64, u32),
        out: &mut Vec<Event>,
    ) -> Outcome {
        let Some(rest) = after_find(m, ": client=") else {
            return Outcome::Uninteresting;
        };
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
                service,
                recipients: 0,
                domains: Vec::new(),
            },
        );
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

/// A queue id as a map key (FNV-1a): no allocation per delivery line.
fn qid_key(qid: &[u8]) -> u64 {
    qid.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
