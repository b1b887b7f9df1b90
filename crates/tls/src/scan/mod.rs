//! The enumeration planner: which ClientHellos to send to learn what a
//! server's TLS accepts, with as few connections as the questions allow.
//! Sans-IO: [`Planner::poll`] hands out probes, the caller sends each on a
//! fresh connection (after STARTTLS where the port needs it) and hands the
//! answer back with [`Planner::answer`]; [`Planner::finish`] gives the
//! model's [`TlsScan`].
//!
//! # The plan
//!
//! A failed hello ends its connection, so every probe costs one connection.
//! The plan makes each probe answer as much as it can:
//!
//! * **Version descent** (TLS 1.2 and older): a hello offering every
//!   candidate suite with client version `max` is answered with the best
//!   version the server has up to `max`, and the suite it prefers: one
//!   probe finds a version *and* its first suite. The next probe asks for
//!   the version below the answer; a `protocol_version` alert settles every
//!   lower version at once.
//! * **Suites** (full mode): per accepted version, offer the candidates
//!   not chosen yet, note the choice, repeat until refused: accepted + 1
//!   probes, the first of which the descent already made.
//! * **TLS 1.3**: hellos without a key share make the server answer with a
//!   HelloRetryRequest naming both its suite and its group, so suites and
//!   groups are enumerated together (removing both each time).
//! * **Features** ride along: every legacy hello offers DEFLATE, EMS, ETM,
//!   session tickets, OCSP stapling, heartbeat and renegotiation_info, and
//!   every ServerHello's answer is recorded; the ServerKeyExchange of each
//!   DHE or ECDHE answer gives the DH prime size or curve; the suite's
//!   authentication and the clear-text Certificate give the key type.
//!   The suite probes of the best legacy version put the ECDHE curves not
//!   seen yet first in supported_groups (a different one first in each):
//!   a server that follows the client's order of curves names a new one
//!   in each ServerKeyExchange, so the curves task finds them at no cost.
//! * **Server order** costs no probe of its own where it can ride along:
//!   the first suites probe of the best legacy version offers the suite
//!   the descent found *last* (a server with its own order picks it again,
//!   one that follows the client's picks a new suite), and the TLS 1.3
//!   order rides with a certificate key type probe (suites in reverse).
//! * Then, once what they need is known: a reverse-order probe for an
//!   older version with two suites, ECDHE curves of the best legacy version, the
//!   fallback SCSV probe, TLS 1.3 certificate key types (ECDSA-only and
//!   RSA-only signature algorithms), and — only when the server
//!   acknowledged heartbeat — the Heartbleed probe.
//! * **Ambiguous refusals** — a close without an alert, `internal_error` —
//!   may hide a suite the server chose and could not complete (Dovecot
//!   without DH parameters picks DHE, then closes): the remaining suites
//!   are then asked per key-exchange family, once (module `pending`); a lower
//!   version refused that way is asked once more without DHE suites.
//! * **Quick mode** replaces per-suite enumeration by weak-class
//!   enumeration: offer every NULL, anonymous, EXPORT, RC4, DES, 3DES and
//!   static-key suite; each answer settles the classes of the suite chosen;
//!   repeat until refused (at most 8 probes), plus one DHE probe for the DH
//!   size.
//!
//! Probes of different tasks are independent, so several are handed out at
//! once; the caller's connection limits decide how many run together.

mod answer;
mod descent;
mod extras;
mod facts;
mod hellos;
mod legacy;
mod pending;
mod quick;
mod tls13;

use mailwarden_model::{TlsScan, TlsScanMode};

pub use answer::{Answer, HeartbeatAnswer, TlsAnswer};
pub use hellos::{WeakClass, ecdhe_curves, legacy_candidates, tls13_candidates, tls13_groups};

use facts::Facts;
use hellos::HelloFactory;

/// How to scan.
#[derive(Debug, Clone)]
pub struct ScanConfig {
    /// Full enumeration or weak-class probes.
    pub mode: TlsScanMode,
    /// The DNS name for server_name (IP literals are never sent).
    pub server_name: Option<String>,
    /// The most suites per hello once an ambiguous refusal made the
    /// planner split the candidates (some servers read only the first 128
    /// or so).
    pub bundle_size: usize,
    /// The most probes one scan may send: a guard against a server that
    /// never lets an enumeration end.
    pub max_probes: u32,
    /// Enumerate the suites of the best legacy version in parallel lanes
    /// (one per key-exchange and authentication family) once the server
    /// is seen to follow the client's order: a few more probes (one
    /// refusal per lane), a far shorter chain of probes that wait for each
    /// other. A server with an order of its own is always asked in one
    /// chain, which finds its suites in its order.
    pub lanes: bool,
}

impl ScanConfig {
    /// A configuration with the defaults: bundles of 128, at most 1000
    /// probes, lanes.
    pub fn new(mode: TlsScanMode, server_name: Option<&str>) -> Self {
        ScanConfig {
            mode,
            server_name: server_name.map(str::to_owned),
            bundle_size: 128,
            max_probes: 1000,
            lanes: true,
        }
    }
}

/// Identifies a probe between [`Planner::poll`] and [`Planner::answer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProbeId(pub u32);

/// What to send on a fresh connection, once TLS may start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Send {
    /// A TLS or SSL 3.0 ClientHello; read the server's first flight.
    Hello(Vec<u8>),
    /// An SSL 2.0 CLIENT-HELLO; read the SSL 2.0 answer
    /// ([`crate::parse_sslv2_answer`]).
    Sslv2(Vec<u8>),
    /// A ClientHello; when the flight ends with ServerHelloDone, send
    /// [`crate::heartbleed_requests`] for the version of the ServerHello and
    /// read what comes back with a [`crate::HeartbeatReader`].
    Heartbleed(Vec<u8>),
}

/// One probe to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeRequest {
    /// Pass it back with the answer.
    pub id: ProbeId,
    /// What the probe asks, in words (for logs and tests).
    pub purpose: String,
    /// The bytes.
    pub send: Send,
}

/// What a task wants next.
pub(crate) enum Next {
    /// Send this.
    Probe { purpose: String, send: Send },
    /// Wait for other tasks to learn something.
    Wait,
    /// Nothing more to ask.
    Done,
}

/// What tasks may use and change while deciding or reading an answer.
pub(crate) struct Ctx<'a> {
    pub facts: &'a mut Facts,
    pub hellos: &'a HelloFactory,
    pub config: &'a ScanConfig,
    /// A seed for the next hello's random.
    pub seed: u32,
    /// Tasks to start.
    pub spawn: Vec<Task>,
}

/// A chain of probes that asks one question.
pub(crate) enum Task {
    Sslv2(extras::Sslv2Task),
    Descent(descent::DescentTask),
    Suites(legacy::SuitesTask),
    Classes(quick::ClassesTask),
    Dhe(quick::DheTask),
    Curves(legacy::CurvesTask),
    Tls13(tls13::Tls13Task),
    KeyType13(tls13::KeyTypeTask),
    Order(extras::OrderTask),
    Fallback(extras::FallbackTask),
    Heartbleed(extras::HeartbleedTask),
}

impl Task {
    fn next(&mut self, ctx: &mut Ctx<'_>) -> Next {
        match self {
            Task::Sslv2(t) => t.next(ctx),
            Task::Descent(t) => t.next(ctx),
            Task::Suites(t) => t.next(ctx),
            Task::Classes(t) => t.next(ctx),
            Task::Dhe(t) => t.next(ctx),
            Task::Curves(t) => t.next(ctx),
            Task::Tls13(t) => t.next(ctx),
            Task::KeyType13(t) => t.next(ctx),
            Task::Order(t) => t.next(ctx),
            Task::Fallback(t) => t.next(ctx),
            Task::Heartbleed(t) => t.next(ctx),
        }
    }

    fn answer(&mut self, answer: &Answer, ctx: &mut Ctx<'_>) {
        match self {
            Task::Sslv2(t) => t.answer(answer, ctx),
            Task::Descent(t) => t.answer(answer, ctx),
            Task::Suites(t) => t.answer(answer, ctx),
            Task::Classes(t) => t.answer(answer, ctx),
            Task::Dhe(t) => t.answer(answer, ctx),
            Task::Curves(t) => t.answer(answer, ctx),
            Task::Tls13(t) => t.answer(answer, ctx),
            Task::KeyType13(t) => t.answer(answer, ctx),
            Task::Order(t) => t.answer(answer, ctx),
            Task::Fallback(t) => t.answer(answer, ctx),
            Task::Heartbleed(t) => t.answer(answer, ctx),
        }
    }
}

/// One task and whether it waits for an answer.
struct Slot {
    task: Task,
    in_flight: Option<ProbeId>,
    done: bool,
}

/// The enumeration of one endpoint, as a state machine.
pub struct Planner {
    config: ScanConfig,
    hellos: HelloFactory,
    facts: Facts,
    slots: Vec<Slot>,
    next_id: u32,
    probes: u32,
}

/// What [`Planner::finish`] returns.
#[derive(Debug, Clone)]
pub struct Finished {
    /// The scan (the caller fills in `connections` and `duration_ms`).
    pub scan: TlsScan,
    /// The leaf certificate (DER) seen for `scan.certificate_keys[index]`,
    /// for the caller to describe.
    pub leaves: Vec<(usize, Vec<u8>)>,
}

impl Planner {
    /// A planner for one endpoint.
    pub fn new(config: ScanConfig) -> Self {
        let hellos = HelloFactory::new(config.server_name.as_deref());
        let mode = config.mode;
        let mut slots = Vec::new();
        let mut add = |task| {
            slots.push(Slot {
                task,
                in_flight: None,
                done: false,
            })
        };
        add(Task::Descent(descent::DescentTask::new()));
        add(Task::Tls13(tls13::Tls13Task::new(mode)));
        add(Task::Sslv2(extras::Sslv2Task::default()));
        add(Task::Fallback(extras::FallbackTask::default()));
        add(Task::Heartbleed(extras::HeartbleedTask::default()));
        if mode == TlsScanMode::Quick {
            add(Task::Dhe(quick::DheTask::default()));
        }
        Planner {
            facts: Facts::new(mode),
            config,
            hellos,
            slots,
            next_id: 0,
            probes: 0,
        }
    }

    /// The probes that can be sent now (possibly none while others are
    /// out). Each is handed out once.
    pub fn poll(&mut self) -> Vec<ProbeRequest> {
        let mut out = Vec::new();
        loop {
            // A task that ends may release one that waits on it earlier in
            // the list: go round again until a pass changes nothing.
            let before = self.open_slots();
            let mut i = 0;
            while i < self.slots.len() {
                let ready = self
                    .slots
                    .get(i)
                    .is_some_and(|s| !s.done && s.in_flight.is_none());
                if ready && let Some(req) = self.step(i) {
                    out.push(req);
                }
                i += 1;
            }
            if !out.is_empty() || self.open_slots() == before {
                break;
            }
        }
        if out.is_empty() && !self.slots.iter().any(|s| s.in_flight.is_some()) {
            // Nothing runs and nothing can start: what still waits would
            // wait forever.
            for s in &mut self.slots {
                s.done = true;
            }
        }
        out
    }

    /// (slots, slots not done): changes whenever a task ends or spawns.
    fn open_slots(&self) -> (usize, usize) {
        let open = self.slots.iter().filter(|s| !s.done).count();
        (self.slots.len(), open)
    }

    fn step(&mut self, i: usize) -> Option<ProbeRequest> {
        let seed = self.next_id;
        let over_budget = self.probes >= self.config.max_probes;
        let mut ctx = Ctx {
            facts: &mut self.facts,
            hellos: &self.hellos,
            config: &self.config,
            seed,
            spawn: Vec::new(),
        };
        let slot = self.slots.get_mut(i)?;
        let next = if over_budget {
            Next::Done
        } else {
            slot.task.next(&mut ctx)
        };
        let spawn = std::mem::take(&mut ctx.spawn);
        let request = match next {
            Next::Probe { purpose, send } => {
                let id = ProbeId(self.next_id);
                self.next_id += 1;
                self.probes += 1;
                slot.in_flight = Some(id);
                Some(ProbeRequest { id, purpose, send })
            }
            Next::Wait => None,
            Next::Done => {
                slot.done = true;
                None
            }
        };
        self.adopt(spawn);
        request
    }

    fn adopt(&mut self, tasks: Vec<Task>) {
        self.slots.extend(tasks.into_iter().map(|task| Slot {
            task,
            in_flight: None,
            done: false,
        }));
    }

    /// Takes the answer to probe `id`. Unknown ids are ignored.
    pub fn answer(&mut self, id: ProbeId, answer: Answer) {
        let mut ctx = Ctx {
            facts: &mut self.facts,
            hellos: &self.hellos,
            config: &self.config,
            seed: self.next_id,
            spawn: Vec::new(),
        };
        let Some(slot) = self.slots.iter_mut().find(|s| s.in_flight == Some(id)) else {
            return;
        };
        slot.in_flight = None;
        slot.task.answer(&answer, &mut ctx);
        let spawn = std::mem::take(&mut ctx.spawn);
        self.adopt(spawn);
    }

    /// True when every task is over and no probe is out.
    pub fn is_done(&self) -> bool {
        self.slots.iter().all(|s| s.done && s.in_flight.is_none())
    }

    /// Probes handed out so far.
    pub fn probes(&self) -> u32 {
        self.probes
    }

    /// What was learned.
    pub fn finish(self) -> Finished {
        let (scan, leaves) = self.facts.into_model(self.probes);
        Finished { scan, leaves }
    }
}

#[cfg(test)]
mod sim;
#[cfg(test)]
mod tests;
