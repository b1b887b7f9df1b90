//! The parallel reading pipeline (`pipeline::read_input_with`) against the
//! line-by-line reference (`Analyzer::read_all`), over a log whose lines
//! depend on the lines before them: Postfix sessions (a TLS failure held for
//! the next line, a login only the disconnect statistics show, a queued
//! message's recipients and removal), OpenSMTPD sessions, Exim rejectlog
//! continuations, syslog years across December to January and past a year,
//! journald JSON, over-long lines, blank and CRLF lines, a last line without
//! newline. Every chunk size from one byte up puts chunk boundaries between
//! every pair of such lines; the events, alerts, summary and counts must not
//! change, for one thread or several.

use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Read};

use mailwarden_logs::clock::Clock;
use mailwarden_logs::detect::Thresholds;
use mailwarden_logs::input::MAX_LINE;
use mailwarden_logs::pipeline::{ReadOptions, read_input_with};
use mailwarden_logs::{Analyzer, Collect, Report, Stats};

fn reference_time() -> jiff::Timestamp {
    "2026-11-28T12:00:00Z".parse().unwrap()
}

/// What reading line by line gives.
fn reference(log: &[u8]) -> Report {
    Analyzer::new(Thresholds::default()).read_all(log, "t.log", reference_time())
}

/// What the pipeline gives, with its counts.
fn piped(log: &[u8], options: ReadOptions) -> (Collect, Stats, String) {
    let mut analyzer = Analyzer::new(Thresholds::default());
    let mut sink = Collect::default();
    let mut reader = BufReader::with_capacity(64, log);
    let clock = Clock::new(jiff::tz::TimeZone::UTC, reference_time());
    read_input_with(
        &mut analyzer,
        &mut reader,
        "t.log",
        clock,
        &mut sink,
        options,
    )
    .unwrap();
    analyzer.finish(&mut sink);
    let summary = serde_json::to_string(&analyzer.engine().summary()).unwrap();
    (sink, analyzer.stats().clone(), summary)
}

fn same(log: &[u8], options: ReadOptions) {
    let want = reference(log);
    let (got, stats, summary) = piped(log, options);
    assert_eq!(got.events.len(), want.events.len(), "{options:?}");
    for (g, w) in got.events.iter().zip(&want.events) {
        assert_eq!(g, w, "{options:?}");
    }
    assert_eq!(got.alerts, want.alerts, "{options:?}");
    assert_eq!(summary, serde_json::to_string(&want.summary).unwrap());
    assert_eq!(stats, want.stats, "{options:?}");
}

/// Lines whose meaning depends on the lines before them, from every server.
fn stateful_log() -> String {
    let mut log = String::new();
    let mut line = |s: &str| {
        log.push_str(s);
        log.push('\n');
    };
    // Postfix: a session whose TLS failure waits for the next line of its process.
    line("Nov 28 01:34:14 mail postfix/smtps/smtpd[20295]: connect from unknown[127.0.0.13]");
    line(
        "Nov 28 01:34:15 mail postfix/smtps/smtpd[20295]: SSL_accept error from unknown[127.0.0.13]: -1",
    );
    line("Nov 28 01:34:15 mail postfix/qmgr[8]: 1A2B: removed");
    line(
        "Nov 28 01:34:15 mail postfix/smtps/smtpd[20295]: warning: TLS library problem: error:0A000102:SSL routines::unsupported protocol:../ssl/statem/statem_srvr.c:1657:",
    );
    line(
        "Nov 28 01:34:16 mail postfix/smtps/smtpd[20295]: lost connection after CONNECT from unknown[127.0.0.13]",
    );
    line(
        "Nov 28 01:34:16 mail postfix/smtps/smtpd[20295]: disconnect from unknown[127.0.0.13] commands=0/0",
    );
    // A held failure that the session's end releases as it is.
    line("Nov 28 01:35:00 mail postfix/smtps/smtpd[20296]: connect from unknown[127.0.0.14]");
    line(
        "Nov 28 01:35:00 mail postfix/smtps/smtpd[20296]: SSL_accept error from unknown[127.0.0.14]: Connection reset by peer",
    );
    line(
        "Nov 28 01:35:01 mail postfix/smtps/smtpd[20296]: disconnect from unknown[127.0.0.14] commands=0/0",
    );
    // A login that only the statistics show, in the clear.
    line("Nov 28 02:00:00 mail postfix/submission/smtpd[30]: connect from unknown[192.0.2.50]");
    line(
        "Nov 28 02:00:05 mail postfix/submission/smtpd[30]: disconnect from unknown[192.0.2.50] ehlo=1 auth=1 quit=1 commands=3",
    );
    // An authenticated user's message: its recipients and domains, then its removal.
    line("Nov 28 10:00:00 mx postfix/submission/smtpd[3]: connect from unknown[192.0.2.11]");
    line(
        "Nov 28 10:00:00 mx postfix/submission/smtpd[3]: Anonymous TLS connection established from unknown[192.0.2.11]: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)",
    );
    line(
        "Nov 28 10:00:00 mx postfix/submission/smtpd[3]: 4ABC: client=unknown[192.0.2.11], sasl_method=PLAIN, sasl_username=alice@example.org",
    );
    line("Nov 28 10:00:01 mx postfix/cleanup[7]: 4ABC: message-id=<x@example.org>");
    line(
        "Nov 28 10:00:01 mx postfix/qmgr[8]: 4ABC: from=<alice@example.org>, size=900, nrcpt=3 (queue active)",
    );
    for (i, domain) in ["example.net", "EXAMPLE.net", "example.com"]
        .iter()
        .enumerate()
    {
        line(&format!(
            "Nov 28 10:00:02 mx postfix/smtp[9]: 4ABC: to=<u{i}@{domain}>, relay=mx.{domain}[198.51.100.{i}]:25, delay=1, status=sent (250 ok)"
        ));
    }
    line("Nov 28 10:00:03 mx postfix/qmgr[8]: 4ABC: removed");
    line(
        "Nov 28 10:00:04 mx postfix/submission/smtpd[3]: disconnect from unknown[192.0.2.11] ehlo=1 auth=1 mail=1 rcpt=3 data=1 quit=1 commands=8",
    );
    // Failed logins: enough for alerts whose evidence spans chunks.
    for i in 0..6 {
        line(&format!(
            "Nov 28 10:01:{i:02} mx postfix/submission/smtpd[4]: warning: unknown[192.0.2.66]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username=bob"
        ));
        line(&format!(
            "Nov 28 10:01:{i:02} mx dovecot: imap-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<carol>, method=PLAIN, rip=192.0.2.67, lip=192.0.2.1, TLS, session=<s{i}>"
        ));
    }
    // OpenSMTPD: the address is on the first line of a session only.
    line(
        "Nov 28 10:02:00 mx smtpd[123]: 7c2b9e5f3a1d4e6b smtp connected address=203.0.113.9 host=unknown",
    );
    line(
        "Nov 28 10:02:00 mx smtpd[123]: 7c2b9e5f3a1d4e6b smtp authentication user=bob result=permfail",
    );
    line(
        "Nov 28 10:02:01 mx smtpd[123]: 7c2b9e5f3a1d4e6b smtp failed-command command=\"RCPT TO:<x@example.net>\" result=\"550 Invalid recipient: <x@example.net>\"",
    );
    line("Nov 28 10:02:02 mx smtpd[123]: 7c2b9e5f3a1d4e6b smtp disconnected reason=quit");
    line("Nov 28 10:02:05 mx smtpd[9]: smtp-in: New session 0123abcd from host x [203.0.113.11]");
    line(
        "Nov 28 10:02:05 mx smtpd[9]: smtp-in: Authentication failed for user carol on session 0123abcd",
    );
    // Exim's rejectlog: header lines continue the entry before them.
    line(
        "2026-11-28 10:03:00 H=altmx.example.com [203.0.113.116] F=<k@example.ru> rejected RCPT <o@example.ua>: Unknown user",
    );
    line("Envelope-from: <k@example.ru>");
    line("Envelope-to: <o@example.ua>");
    line("P Received: from [203.0.113.116] by x");
    line("  Subject: hello");
    line(
        "2026-11-28 10:03:01 [12] H=(x) [192.0.2.31]:50001 I=[192.0.2.1]:25 rejected RCPT <a@example.org>: relay not permitted",
    );
    // Garbage after Exim, blank lines, CRLF, invalid UTF-8, RFC 5424 and journald.
    line("this is not a log line");
    line("");
    line("   ");
    line("Nov 28 10:04:00 mx postfix/smtpd[5]: connect from unknown[192.0.2.90]\r");
    line(
        "Nov 28 10:04:01 mx dovecot: imap-login: Login: user=<d\u{fffd}ve>, method=PLAIN, rip=192.0.2.91, lip=192.0.2.1, session=<x>",
    );
    line(
        "<38>1 2026-11-28T10:05:00.123Z mx dovecot 77 - [a@1 b=\"]\\\"\"] imap-login: Login: user=<b>, method=PLAIN, rip=192.0.2.2, lip=192.0.2.9, TLS, session=<s>",
    );
    line(
        r#"{"__REALTIME_TIMESTAMP":"1795829651000000","_HOSTNAME":"mx","SYSLOG_IDENTIFIER":"postfix/submission/smtpd","_PID":"42","MESSAGE":"warning: unknown[192.0.2.1]: SASL LOGIN authentication failed: UGFzc3dvcmQ6"}"#,
    );
    line(
        r#"{"__REALTIME_TIMESTAMP":"1795829652000000","SYSLOG_IDENTIFIER":"smtpd","_PID":"1","MESSAGE":"0000000000000002 smtp connected address=203.0.113.12 host=x"}"#,
    );
    line(
        r#"{"__REALTIME_TIMESTAMP":"1795829653000000","SYSLOG_IDENTIFIER":"smtpd","_PID":"1","MESSAGE":"0000000000000002 smtp authentication user=eve result=ok"}"#,
    );
    log
}

/// Syslog dates whose year the lines before decide: from November of the
/// reference's year through December into January of the next, and on
/// past February (a file that spans more than the months the reference
/// alone would place).
fn years_log() -> String {
    let mut log = String::new();
    for (month, day) in [
        ("Nov", 27),
        ("Dec", 1),
        ("Dec", 31),
        ("Jan", 1),
        ("Jan", 2),
        ("Feb", 3),
        ("Dec", 30),
    ] {
        for i in 0..3 {
            let _ = writeln!(
                log,
                "{month} {day:2} 10:00:0{i} mx postfix/submission/smtpd[4]: warning: unknown[192.0.2.77]: SASL LOGIN authentication failed: x, sasl_username=u{i}"
            );
        }
    }
    log
}

fn sizes(len: usize) -> Vec<usize> {
    let mut out: Vec<usize> = (1..64).collect();
    out.extend([97, 200, 333, 1000, 4096, len / 3, len, 256 * 1024]);
    out
}

#[test]
fn the_pipeline_reads_like_the_line_by_line_reference() {
    let log = stateful_log();
    let want = reference(log.as_bytes());
    assert!(
        want.events
            .iter()
            .any(|e| e.kind.name() == "message_submitted"),
        "the log must exercise the queued message"
    );
    assert!(want.events.iter().any(|e| e.kind.name() == "tls_failed"));
    assert!(want.stats.skipped >= 4, "continuations: {:?}", want.stats);
    assert!(!want.alerts.is_empty());
    for threads in [1, 2, 3] {
        for chunk_bytes in sizes(log.len()) {
            same(
                log.as_bytes(),
                ReadOptions {
                    threads,
                    chunk_bytes,
                },
            );
        }
    }
    // Without the final newline, the last line still counts.
    let cut = log.trim_end_matches('\n');
    same(
        cut.as_bytes(),
        ReadOptions {
            threads: 2,
            chunk_bytes: 7,
        },
    );
}

#[test]
fn syslog_years_carry_across_chunks() {
    let log = years_log();
    let want = reference(log.as_bytes());
    let years: Vec<i16> = want
        .events
        .iter()
        .map(|e| e.time.unwrap().to_zoned(jiff::tz::TimeZone::UTC).year())
        .collect();
    // November and December of 2026, then 2027 from January on (the second
    // December too: years only move forward).
    assert_eq!(years.first(), Some(&2026));
    assert_eq!(years.last(), Some(&2027));
    for threads in [1, 2] {
        for chunk_bytes in sizes(log.len()) {
            same(
                log.as_bytes(),
                ReadOptions {
                    threads,
                    chunk_bytes,
                },
            );
        }
    }
}

#[test]
fn over_long_lines_are_cut_once_whatever_the_chunk() {
    let mut log = String::new();
    log.push_str("Nov 28 10:00:00 mx postfix/smtpd[5]: connect from unknown[192.0.2.90]\n");
    // Longer than the cap but shorter than a default chunk, then longer than both.
    for len in [MAX_LINE + 10, 3 * 256 * 1024] {
        log.push_str("Nov 28 10:00:01 mx dovecot: imap-login: Login: user=<");
        log.push_str(&"a".repeat(len));
        log.push_str(">, rip=192.0.2.91\n");
    }
    log.push_str(
        "Nov 28 10:00:02 mx postfix/smtpd[5]: disconnect from unknown[192.0.2.90] commands=0/0\n",
    );
    let want = reference(log.as_bytes());
    for chunk_bytes in [100, MAX_LINE, MAX_LINE + 1, 256 * 1024, 1 << 20] {
        let (got, stats, _) = piped(
            log.as_bytes(),
            ReadOptions {
                threads: 2,
                chunk_bytes,
            },
        );
        assert_eq!(stats.lines, 4, "{chunk_bytes}");
        assert_eq!(stats.oversized, 2, "{chunk_bytes}");
        // The reference does not cut lines: compare what does not depend on it.
        let kinds = |events: &[mailwarden_logs::event::Event]| {
            events
                .iter()
                .map(|e| (e.line, e.kind.name()))
                .collect::<Vec<_>>()
        };
        assert_eq!(kinds(&got.events), kinds(&want.events), "{chunk_bytes}");
    }
}

/// A reader that fails after `ok` bytes.
struct Failing<'a> {
    data: &'a [u8],
    ok: usize,
}

impl Read for Failing<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.ok == 0 {
            return Err(io::Error::other("disk on fire"));
        }
        let n = buf.len().min(self.ok).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        self.ok -= n;
        Ok(n)
    }
}

#[test]
fn a_read_error_ends_the_input_after_its_first_byte_and_fails_it_before() {
    let log = stateful_log();
    let run = |ok: usize| {
        let mut analyzer = Analyzer::new(Thresholds::default());
        let mut sink = Collect::default();
        let mut reader: Box<dyn BufRead + Send> = Box::new(BufReader::with_capacity(
            16,
            Failing {
                data: log.as_bytes(),
                ok,
            },
        ));
        let clock = Clock::new(jiff::tz::TimeZone::UTC, reference_time());
        let options = ReadOptions {
            threads: 2,
            chunk_bytes: 50,
        };
        let result = read_input_with(
            &mut analyzer,
            reader.as_mut(),
            "t.log",
            clock,
            &mut sink,
            options,
        );
        (result.is_ok(), analyzer.stats().clone())
    };
    let (ok, stats) = run(0);
    assert!(!ok, "an error before the first byte is the caller's");
    assert_eq!(stats.lines, 0);
    // Cut in the middle of the third line: two whole lines and the piece.
    let third = log.match_indices('\n').nth(1).unwrap().0 + 10;
    let (ok, stats) = run(third);
    assert!(ok);
    assert_eq!((stats.lines, stats.truncated_inputs), (3, 1));
}
