//! What the log fuzz targets share: splitting input into lines as the
//! analyzer does, a fixed clock (so runs are reproducible), and the checks
//! every event must pass besides "did not panic".
// Each target uses part of this module.
#![allow(dead_code)]

use std::net::IpAddr;
use std::sync::Arc;

use mailwarden_logs::clock::Clock;
use mailwarden_logs::envelope::{Decoder, Record};
use mailwarden_logs::event::{Event, EventKind};
use mailwarden_logs::parse::{LineCtx, Outcome, ServerParser};

/// The reference time of every run: syslog years resolve against it.
pub fn clock() -> Clock {
    Clock::new(
        jiff::tz::TimeZone::UTC,
        jiff::Timestamp::from_second(1_795_867_200).unwrap_or(jiff::Timestamp::UNIX_EPOCH),
    )
}

/// Lines as the analyzer reads them: split at `\n`, a last line without one kept.
pub fn lines(data: &[u8]) -> Vec<&[u8]> {
    let body = data.strip_suffix(b"\n").unwrap_or(data);
    if body.is_empty() {
        return Vec::new();
    }
    body.split(|&b| b == b'\n').collect()
}

/// What one run over an input produced, for comparing runs.
#[derive(Debug, PartialEq)]
pub struct Run {
    pub events: Vec<Event>,
    pub outcomes: Vec<Outcome>,
}

/// Feeds every line to `parser`: the decoded record when the envelope is
/// readable, else the whole line as the message of `fallback_program` (so
/// arbitrary bytes reach the parser's own code, not only the envelope's).
/// Checks every event against the input and returns what the run produced.
pub fn run_parser<P: ServerParser + Default>(data: &[u8], fallback_programs: &[&[u8]]) -> Run {
    let lines = lines(data);
    let file: Arc<str> = "fuzz".into();
    let mut parser = P::default();
    let mut decoder = Decoder::new(clock());
    let mut times = Vec::with_capacity(lines.len());
    let mut events = Vec::new();
    let mut outcomes = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let ctx = LineCtx {
            file: file.clone(),
            line: i as u64 + 1,
        };
        let before = events.len();
        let outcome = match decoder.decode(line) {
            Ok(record) => {
                times.push(record.time);
                parser.parse(&record, &ctx, &mut events)
            }
            Err(_) => {
                let program = fallback_programs
                    .get(line.len() % fallback_programs.len().max(1))
                    .copied()
                    .unwrap_or(b"");
                let record = Record {
                    time: None,
                    host: b"mx",
                    program,
                    pid: Some(1 + (line.len() % 3) as u32),
                    message: line,
                };
                times.push(None);
                parser.parse(&record, &ctx, &mut events)
            }
        };
        // A line that is not "events" pushes none. (The converse need not
        // hold: Postfix holds a TLS failure back for the line that explains it.)
        if outcome != Outcome::Events {
            assert_eq!(
                events.len(),
                before,
                "line {}: {outcome:?} pushed events",
                i + 1
            );
        }
        outcomes.push(outcome);
    }
    parser.finish(&mut events);
    for e in &events {
        assert_eq!(e.server, parser.server());
        check_event(e, &lines, &times);
        // The line counts call every line an event cites "recognized".
        assert_eq!(outcomes[e.line as usize - 1], Outcome::Events, "{e:?}");
    }
    Run { events, outcomes }
}

/// Text fields are capped at 512 input bytes; lossy UTF-8 makes each bad byte three.
const MAX_TEXT: usize = 512 * 3;

/// An event must cite a line of the input, carry that line's time, and take
/// its user and IPv4 source from the input it has seen so far.
pub fn check_event(e: &Event, lines: &[&[u8]], times: &[Option<jiff::Timestamp>]) {
    assert_eq!(&*e.file, "fuzz");
    let n = usize::try_from(e.line).unwrap_or(usize::MAX);
    assert!(
        n >= 1 && n <= lines.len(),
        "line {} of {}",
        e.line,
        lines.len()
    );
    assert_eq!(e.time, times[n - 1], "event time is not its line's: {e:?}");
    let seen = &lines[..n];
    let within = |needle: &[u8]| {
        seen.iter()
            .any(|l| memchr::memmem::find(l, needle).is_some())
    };
    for text in [e.user.as_deref(), e.session.as_deref()]
        .into_iter()
        .flatten()
    {
        assert!(text.len() <= MAX_TEXT, "{} bytes of text", text.len());
        // Lossy text (U+FFFD) and trimmed names cannot be found verbatim.
        if !text.contains('\u{fffd}') {
            assert!(
                within(text.as_bytes()),
                "{text:?} is not in the input: {e:?}"
            );
        }
    }
    for addr in [e.source, e.local].into_iter().flatten() {
        // Rust prints IPv4 exactly as it parses it (no leading zeros): the
        // text must be in the input. IPv6 has many spellings of one address.
        if let IpAddr::V4(v4) = addr {
            assert!(
                within(v4.to_string().as_bytes()),
                "{addr} is not in the input: {e:?}"
            );
        }
    }
    match &e.kind {
        EventKind::AuthFailed {
            attempts, counted, ..
        } => {
            assert!(*counted <= *attempts, "{e:?}");
        }
        EventKind::MessageSubmitted { domains, .. } => {
            for d in domains {
                assert!(d.len() <= MAX_TEXT);
            }
        }
        _ => {}
    }
    let json: serde_json::Value =
        serde_json::from_str(&mailwarden_logs::output::event_json(e)).expect("event JSON");
    assert_eq!(json["line"].as_u64(), Some(e.line));
    assert_eq!(json["kind"].as_str(), Some(e.kind.name()));
}
