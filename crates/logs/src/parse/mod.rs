//! One parser per mail server behind one small interface ([`ServerParser`]),
//! and the [`Parsers`] set that routes each record to the parser that claims
//! its program name.
//!
//! Parsers read bytes they do not trust: they never index, never unwrap, and
//! cap every string they keep. They may keep a little per-session state
//! (Postfix's smtpd process, OpenSMTPD's session id), bounded in size.

pub mod dovecot;
pub mod exim;
pub mod opensmtpd;
pub mod postfix;

use std::net::IpAddr;
use std::sync::Arc;

use crate::envelope::Record;
use crate::event::{Event, EventKind, Server};

/// What a parser needs to know about the line besides the record.
#[derive(Debug, Clone)]
pub struct LineCtx {
    /// The input's name.
    pub file: Arc<str>,
    /// 1-based line number.
    pub line: u64,
}

/// Whether a record was the parser's and whether it meant something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Not this server's line.
    NotMine,
    /// This server's line, but nothing we normalize (statistics, deliveries...).
    Uninteresting,
    /// Events were pushed.
    Events,
}

/// The interface every server parser implements.
pub trait ServerParser {
    /// Which server this parser reads.
    fn server(&self) -> Server;
    /// Parses one record, pushing zero or more events.
    fn parse(&mut self, record: &Record<'_>, ctx: &LineCtx, out: &mut Vec<Event>) -> Outcome;
    /// Emits what is still held back at the end of the input.
    fn finish(&mut self, _out: &mut Vec<Event>) {}
}

/// The parser set, routing by program name.
#[derive(Default)]
pub struct Parsers {
    postfix: postfix::Postfix,
    dovecot: dovecot::Dovecot,
    exim: exim::Exim,
    opensmtpd: opensmtpd::OpenSmtpd,
}

impl std::fmt::Debug for Parsers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Parsers")
    }
}

impl Parsers {
    /// Routes a record to its server's parser.
    pub fn parse(&mut self, record: &Record<'_>, ctx: &LineCtx, out: &mut Vec<Event>) -> Outcome {
        let p = record.program;
        if postfix::claims(p) {
            self.postfix.parse(record, ctx, out)
        } else if dovecot::claims(p) {
            self.dovecot.parse(record, ctx, out)
        } else if p.starts_with(b"exim") {
            self.exim.parse(record, ctx, out)
        } else if p == b"smtpd" || p == b"opensmtpd" {
            self.opensmtpd.parse(record, ctx, out)
        } else {
            Outcome::NotMine
        }
    }

    /// The stateless half of [`Parsers::parse`]: what the line yields
    /// without the parsers' session state (events pushed to `out`), and what
    /// [`Parsers::apply`] must still do. Reading threads run this on their
    /// own `Parsers`; the thread that owns the state applies the steps in
    /// line order. `parse` is `read` then `apply`: the two agree by
    /// construction.
    pub(crate) fn read(
        &mut self,
        record: &Record<'_>,
        ctx: &LineCtx,
        out: &mut Vec<Event>,
    ) -> Read {
        let p = record.program;
        let (outcome, step) = if postfix::claims(p) {
            match self.postfix.read(record, ctx, out) {
                (outcome, step) if step.is_final() => (outcome, Step::Done),
                (outcome, step) => (outcome, Step::Postfix(step)),
            }
        } else if dovecot::claims(p) {
            (self.dovecot.parse(record, ctx, out), Step::Done)
        } else if p.starts_with(b"exim") {
            match self.exim.read(record, ctx, out) {
                (outcome, Some(key)) => (outcome, Step::Exim(key)),
                (outcome, None) => (outcome, Step::Done),
            }
        } else if p == b"smtpd" || p == b"opensmtpd" {
            // OpenSMTPD's lines name their session's address only once: all of them need the state.
            (Outcome::Uninteresting, Step::OpenSmtpd)
        } else {
            (Outcome::NotMine, Step::Done)
        };
        Read { outcome, step }
    }

    /// The stateful half: `events` are what [`Parsers::read`] pushed for this
    /// line, `record` and `ctx` the same line. Pushes to `out` the events
    /// that come before the read ones (a held-back TLS failure, a login only
    /// a disconnect shows, all of an OpenSMTPD line's), and says whether the
    /// read ones stand.
    pub(crate) fn apply(
        &mut self,
        read: Read,
        events: &[Event],
        record: &Record<'_>,
        ctx: &LineCtx,
        out: &mut Vec<Event>,
    ) -> (Outcome, bool) {
        match read.step {
            Step::Done => (read.outcome, true),
            Step::Postfix(step) => self
                .postfix
                .apply(read.outcome, step, events, record, ctx, out),
            Step::Exim(key) if self.exim.repeat(key, &ctx.file) => (Outcome::Uninteresting, false),
            Step::Exim(_) => (read.outcome, true),
            Step::OpenSmtpd => (self.opensmtpd.parse(record, ctx, out), false),
        }
    }

    /// Flushes held-back events at the end of all input.
    pub fn finish(&mut self, out: &mut Vec<Event>) {
        self.postfix.finish(out);
        self.dovecot.finish(out);
        self.exim.finish(out);
        self.opensmtpd.finish(out);
    }
}

/// What [`Parsers::read`] made of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Read {
    /// The outcome as far as reading knows.
    pub(crate) outcome: Outcome,
    /// What the state must still do.
    pub(crate) step: Step,
}

impl Read {
    /// Whether [`Parsers::apply`] can change anything: otherwise the events
    /// read are final and need neither the record nor the state.
    pub(crate) fn is_final(&self) -> bool {
        self.step == Step::Done
    }
}

/// The stateful work a line still needs, per server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// None: the events read are final.
    Done,
    /// Postfix sessions (held-back TLS failures, logins) and queued messages.
    Postfix(postfix::Step),
    /// Exim: events of a line another input already had are dropped (the key of the line).
    Exim(u64),
    /// OpenSMTPD: the whole line is parsed with the session state.
    OpenSmtpd,
}

/// Builds events of one line, filling the common fields.
#[derive(Debug, Clone)]
pub struct EventBuilder<'a> {
    ctx: &'a LineCtx,
    record: &'a Record<'a>,
    server: Server,
    service: Option<Arc<str>>,
    port: Option<u16>,
}

impl<'a> EventBuilder<'a> {
    /// A builder for `server`'s events from this line.
    pub fn new(ctx: &'a LineCtx, record: &'a Record<'a>, server: Server) -> Self {
        EventBuilder {
            ctx,
            record,
            server,
            service: None,
            port: None,
        }
    }

    /// Sets the service (and its standard port, when it has one).
    pub fn service(mut self, service: Arc<str>) -> Self {
        self.port = crate::event::standard_port(&service);
        self.service = Some(service);
        self
    }

    /// Sets the service and its port, already looked up.
    pub(crate) fn service_port(mut self, service: Arc<str>, port: Option<u16>) -> Self {
        self.service = Some(service);
        self.port = port;
        self
    }

    /// Sets the service without implying a port (Dovecot serves a protocol
    /// on plaintext and implicit-TLS ports alike).
    pub fn service_only(mut self, service: Arc<str>) -> Self {
        self.service = Some(service);
        self
    }

    /// An event of `kind` from `source`.
    pub fn event(&self, kind: EventKind, source: Option<IpAddr>) -> Event {
        Event {
            file: self.ctx.file.clone(),
            line: self.ctx.line,
            time: self.record.time,
            server: self.server,
            service: self.service.clone(),
            port: self.port,
            local: None,
            source,
            user: None,
            session: None,
            kind,
        }
    }
}

/// A bounded map: when full, the oldest insertion is dropped (sessions whose
/// end we never saw must not grow memory without limit).
#[derive(Debug)]
pub(crate) struct Bounded<K, V> {
    map: crate::hash::FastMap<K, V>,
    order: std::collections::VecDeque<K>,
    cap: usize,
}

impl<K: std::hash::Hash + Eq + Clone, V> Bounded<K, V> {
    pub(crate) fn new(cap: usize) -> Self {
        Bounded {
            map: crate::hash::FastMap::default(),
            order: std::collections::VecDeque::new(),
            cap,
        }
    }

    pub(crate) fn insert(&mut self, key: K, value: V) {
        if self.map.insert(key.clone(), value).is_none() {
            self.order.push_back(key);
        }
        while self.map.len() > self.cap || self.order.len() > self.cap * 2 {
            match self.order.pop_front() {
                Some(old) => {
                    if self.map.len() > self.cap {
                        self.map.remove(&old);
                    }
                }
                None => break,
            }
        }
    }

    pub(crate) fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.map.get_mut(key)
    }

    pub(crate) fn remove(&mut self, key: &K) -> Option<V> {
        self.map.remove(key)
    }

    pub(crate) fn drain_values(&mut self) -> Vec<V> {
        self.order.clear();
        self.map.drain().map(|(_, v)| v).collect()
    }
}

/// Shared copies of the few service names a log mentions, so that events
/// clone a reference instead of allocating a string each.
#[derive(Debug, Default)]
pub(crate) struct Interner {
    items: Vec<(Box<[u8]>, Arc<str>)>,
}

impl Interner {
    pub(crate) fn get(&mut self, name: &[u8]) -> Arc<str> {
        if let Some((_, arc)) = self.items.iter().find(|(k, _)| **k == *name) {
            return arc.clone();
        }
        let arc: Arc<str> = String::from_utf8_lossy(name).into();
        if self.items.len() < 256 {
            self.items.push((name.into(), arc.clone()));
        }
        arc
    }
}
