//! Mail server logs in, attacks out: the library behind `mailwarden logs`.
//!
//! The pipeline, one line at a time and in bounded memory:
//!
//! 1. [`input`] reads files (plain or gzip), standard input, or follows files
//!    through rotation; lines are capped in length;
//! 2. [`envelope`] takes the transport apart (RFC 3164/5424 syslog, RFC 3339
//!    timestamps, Dovecot `log_path`, Exim mainlog, journald JSON) and
//!    resolves the time ([`clock`]: the year syslog leaves out);
//! 3. [`parse`] routes the record to its server's parser (Postfix, Dovecot,
//!    Exim, OpenSMTPD), which yields normalized [`event::Event`]s;
//! 4. [`detect`] counts each failed attempt once and runs the detectors per
//!    source and account, yielding [`detect::Alert`]s that cite their lines;
//! 5. [`output`] renders events, alerts, the per-source summary and ban lists.
//!
//! [`pipeline`] runs steps 2 and 3 for whole files on several threads (each
//! parser's stateless half on chunks of lines) and the rest in order on the
//! calling thread, with the same result as line by line.
//!
//! ```
//! use mailwarden_logs::{Analyzer, detect::Thresholds};
//! let log = "Nov 28 01:34:11 mail postfix/submission/smtpd[7]: warning: unknown[192.0.2.7]: SASL LOGIN authentication failed: UGFzc3dvcmQ6\n";
//! let mut analyzer = Analyzer::new(Thresholds::default());
//! let report = analyzer.read_all(log.as_bytes(), "mail.log", mailwarden_logs::clock_now());
//! assert_eq!(report.events.len(), 1);
//! assert!(report.alerts.is_empty(), "one mistyped password is never an alert");
//! ```
#![deny(missing_docs)]

mod bytes;
pub mod clock;
pub mod detect;
pub mod envelope;
pub mod event;
mod hash;
pub mod input;
pub mod output;
pub mod parse;
pub mod pipeline;
mod stamp;

use std::sync::Arc;

use serde::Serialize;

use crate::detect::{Alert, Engine, Thresholds};
use crate::envelope::{Decoder, Skip};
use crate::event::Event;
use crate::parse::{LineCtx, Outcome, Parsers};

/// Where events and alerts go as they are found (printing them in `--follow` mode).
pub trait Sink {
    /// A recognized event (after deduplication set its `counted`).
    fn event(&mut self, event: &Event);
    /// An alert.
    fn alert(&mut self, alert: &Alert);
}

/// A sink that keeps everything (tests, small inputs).
#[derive(Debug, Default)]
pub struct Collect {
    /// Events, in order.
    pub events: Vec<Event>,
    /// Alerts, in order.
    pub alerts: Vec<Alert>,
}

impl Sink for Collect {
    fn event(&mut self, event: &Event) {
        self.events.push(event.clone());
    }
    fn alert(&mut self, alert: &Alert) {
        self.alerts.push(alert.clone());
    }
}

/// A sink that keeps only alerts.
#[derive(Debug, Default)]
pub struct AlertsOnly(pub Vec<Alert>);

impl Sink for AlertsOnly {
    fn event(&mut self, _event: &Event) {}
    fn alert(&mut self, alert: &Alert) {
        self.0.push(alert.clone());
    }
}

/// Line counts: what was read and what could not be used.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Lines read.
    pub lines: u64,
    /// Lines that yielded at least one event.
    pub recognized: u64,
    /// Events produced.
    pub events: u64,
    /// Mail server lines that are not events (deliveries, statistics...).
    pub uninteresting: u64,
    /// Lines of other programs.
    pub other_programs: u64,
    /// Lines with no envelope we know (garbage or truncated).
    pub unrecognized: u64,
    /// Blank lines and continuation lines (Exim rejectlog headers).
    pub skipped: u64,
    /// Lines longer than the cap, cut.
    pub oversized: u64,
    /// Inputs that ended early (a truncated gzip stream, a read error).
    pub truncated_inputs: u64,
}

/// The analyzer: parsers, detectors and counters over any number of inputs.
#[derive(Debug)]
pub struct Analyzer {
    parsers: Parsers,
    engine: Engine,
    stats: Stats,
    events: Vec<Event>,
    alerts: Vec<Alert>,
}

/// Everything from [`Analyzer::read_all`].
#[derive(Debug)]
pub struct Report {
    /// Every event.
    pub events: Vec<Event>,
    /// Every alert.
    pub alerts: Vec<Alert>,
    /// Line counts.
    pub stats: Stats,
    /// Per-source summary of alerted sources.
    pub summary: Vec<detect::SourceSummary>,
}

impl Analyzer {
    /// An analyzer with these thresholds.
    pub fn new(thresholds: Thresholds) -> Analyzer {
        Analyzer {
            parsers: Parsers::default(),
            engine: Engine::new(thresholds),
            stats: Stats::default(),
            events: Vec::new(),
            alerts: Vec::new(),
        }
    }

    /// The detection engine (summary, allowlist, thresholds).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The detection engine, mutable (to add allowed networks).
    pub fn engine_mut(&mut self) -> &mut Engine {
        &mut self.engine
    }

    /// Line counts so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Counts an input that ended early.
    pub fn note_truncated_input(&mut self) {
        self.stats.truncated_inputs += 1;
    }

    /// Counts a line that was cut at the length cap.
    pub fn note_oversized_line(&mut self) {
        self.stats.oversized += 1;
    }

    /// Analyzes one line (without its newline) of an input.
    pub fn line(&mut self, decoder: &mut Decoder, ctx: &LineCtx, line: &[u8], sink: &mut dyn Sink) {
        self.events.clear();
        parse_line(
            &mut self.parsers,
            &mut self.stats,
            decoder,
            ctx,
            line,
            &mut self.events,
        );
        self.emit(sink);
    }

    /// Flushes what parsers hold back; call at the end of all input.
    pub fn finish(&mut self, sink: &mut dyn Sink) {
        self.events.clear();
        self.parsers.finish(&mut self.events);
        self.emit(sink);
    }

    fn emit(&mut self, sink: &mut dyn Sink) {
        let mut events = std::mem::take(&mut self.events);
        self.emit_batch(&mut events, sink);
        events.clear();
        self.events = events;
    }

    /// Runs the detectors over parsed events and hands events and alerts to the sink.
    fn emit_batch(&mut self, events: &mut [Event], sink: &mut dyn Sink) {
        for event in events {
            self.stats.events += 1;
            self.alerts.clear();
            self.engine.observe(event, &mut self.alerts);
            sink.event(event);
            for alert in &self.alerts {
                sink.alert(alert);
            }
        }
    }

    /// Reads a whole input from memory (tests, examples): every event and alert.
    pub fn read_all(&mut self, data: &[u8], name: &str, reference: jiff::Timestamp) -> Report {
        let mut sink = Collect::default();
        let mut decoder = Decoder::new(clock::Clock::new(jiff::tz::TimeZone::UTC, reference));
        let file: Arc<str> = name.into();
        let body = data.strip_suffix(b"\n").unwrap_or(data);
        if !body.is_empty() {
            for (i, line) in body.split(|&b| b == b'\n').enumerate() {
                let ctx = LineCtx {
                    file: file.clone(),
                    line: i as u64 + 1,
                };
                self.line(&mut decoder, &ctx, line, &mut sink);
            }
        }
        self.finish(&mut sink);
        Report {
            events: sink.events,
            alerts: sink.alerts,
            stats: self.stats.clone(),
            summary: self.engine.summary(),
        }
    }
}

/// Decodes and parses one line, appending its events to `out`.
fn parse_line(
    parsers: &mut Parsers,
    stats: &mut Stats,
    decoder: &mut Decoder,
    ctx: &LineCtx,
    line: &[u8],
    out: &mut Vec<Event>,
) {
    stats.lines += 1;
    let record = match decoder.decode(line) {
        Ok(record) => record,
        Err(Skip::Unrecognized) => {
            stats.unrecognized += 1;
            return;
        }
        Err(Skip::Blank | Skip::Continuation) => {
            stats.skipped += 1;
            return;
        }
    };
    match parsers.parse(&record, ctx, out) {
        Outcome::NotMine => stats.other_programs += 1,
        Outcome::Uninteresting => stats.uninteresting += 1,
        Outcome::Events => stats.recognized += 1,
    }
}

impl Stats {
    fn add(&mut self, o: &Stats) {
        self.lines += o.lines;
        self.recognized += o.recognized;
        self.events += o.events;
        self.uninteresting += o.uninteresting;
        self.other_programs += o.other_programs;
        self.unrecognized += o.unrecognized;
        self.skipped += o.skipped;
        self.oversized += o.oversized;
        self.truncated_inputs += o.truncated_inputs;
    }
}

/// The current time (the reference for years of standard input).
pub fn clock_now() -> jiff::Timestamp {
    jiff::Timestamp::now()
}
