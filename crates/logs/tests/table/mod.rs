//! The table-test helpers shared by `lines.rs` and `lines_dovecot.rs`: run
//! one line through a fresh analyzer, and check rows of (line, server,
//! event kind, source, user).

// Each test file uses what it needs of this module.
#![allow(dead_code)]

use mailwarden_logs::Analyzer;
use mailwarden_logs::detect::Thresholds;
use mailwarden_logs::event::{Event, Server};

pub fn events(log: &str) -> Vec<Event> {
    let mut a = Analyzer::new(Thresholds::default());
    a.read_all(
        log.as_bytes(),
        "t.log",
        "2026-11-28T12:00:00Z".parse().unwrap(),
    )
    .events
}

/// (line, server, kind, source, user)
pub type Row = (
    &'static str,
    Server,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
);

pub fn check(rows: &[Row]) {
    for (line, server, kind, source, user) in rows {
        let got = events(line);
        let e = got
            .iter()
            .find(|e| e.kind.name() == *kind)
            .unwrap_or_else(|| {
                panic!(
                    "{line}\n  expected {kind}, got {:?}",
                    got.iter().map(|e| e.kind.name()).collect::<Vec<_>>()
                )
            });
        assert_eq!(e.server, *server, "{line}");
        assert_eq!(
            e.source.map(|s| s.to_string()).as_deref(),
            *source,
            "{line}"
        );
        assert_eq!(e.user.as_deref(), *user, "{line}");
    }
}
