//! Robustness: every parser is fed arbitrary bytes behind its own envelope,
//! every truncation of real lines, and byte corruptions of them; nothing may
//! panic. (The cargo-fuzz targets in `fuzz/` — one per parser, the envelope
//! and the whole pipeline — go further; these run with every `cargo test`.)

use mailwarden_logs::Analyzer;
use mailwarden_logs::detect::Thresholds;
use proptest::prelude::*;

const PREFIXES: [&str; 9] = [
    "Nov 28 10:00:00 mx postfix/smtpd[1]: ",
    "Nov 28 10:00:00 mx postfix/submission/smtpd[1]: warning: unknown[",
    "Nov 28 10:00:00 mx postfix/postscreen[1]: ",
    "Nov 28 10:00:00 mx dovecot: imap-login: ",
    "Nov 28 10:00:00 auth-worker(1): Info: pam(",
    "2026-11-28 10:00:00 ",
    "2026-11-28 10:00:00 [12] H=(x) [",
    "Nov 28 10:00:00 mx smtpd[1]: 0123 smtp ",
    "<34>1 2026-11-28T10:00:00Z mx dovecot 1 - [",
];

const SAMPLES: [&str; 10] = [
    "Nov 28 01:34:11 mail postfix/submission/smtpd[20292]: warning: unknown[127.0.0.7]: SASL PLAIN authentication failed: (reason unavailable), sasl_username=bob",
    "Nov 28 01:34:09 mail postfix/smtp-plain/smtpd[20282]: disconnect from unknown[127.0.0.6] ehlo=1 auth=0/1 quit=1 commands=2/3",
    "Jul 12 07:47:48 saturn postfix/smtpd[8738]: NOQUEUE: reject: RCPT from x[1.2.3.4]: 554 5.7.1 <smtp@example.com>: Relay access denied; from=<j@example.com> to=<smtp@example.org> proto=SMTP helo=<h>",
    "Nov 28 01:34:15 imap-login: Info: Disconnected: Connection closed: SSL_accept() failed: error:0A0000F4:SSL routines::unexpected message (no auth attempts in 0 secs): user=<>, rip=127.0.0.10, lip=127.0.0.2, TLS handshaking: SSL_accept() failed: x, session=<6/esLExhS7F/AAAK>",
    "Jun 12 23:06:05 auth-worker(57065): Info: conn unix:auth-worker (uid=143): auth-worker<225622>: sql(user@domain.com,192.0.2.7,<Yx7+W8+Io>): Password mismatch",
    "2014-12-02 03:00:23 auth_plain authenticator failed for (rom182) [193.254.202.35]:41556 I=[10.0.0.1]:25: 535 Incorrect authentication data (set_id=webmaster)",
    "2026-11-28 10:00:00 1tAbCd-000Xyz-AB <= alice@example.org H=(laptop) [192.0.2.32]:50002 I=[192.0.2.1]:587 P=esmtpsa A=dovecot_plain:alice S=1234 for a@example.net",
    "Nov 28 10:00:01 mx smtpd[123]: 7c2b9e5f3a1d4e6b smtp failed-command command=\"RCPT TO:<x@example.net>\" result=\"550 Invalid recipient: <x@example.net>\"",
    r#"{"__REALTIME_TIMESTAMP":"1795829651000000","SYSLOG_IDENTIFIER":"postfix/smtpd","_PID":"42","MESSAGE":"connect from x[192.0.2.1]"}"#,
    "<38>1 2026-11-28T10:00:00.123Z mx dovecot 77 - [a@1 b=\"]\\\"\"] imap-login: Login: user=<b>, method=PLAIN, rip=192.0.2.2, lip=192.0.2.9, TLS, session=<s>",
];

fn feed(data: &[u8]) {
    let mut a = Analyzer::new(Thresholds::default());
    let _ = a.read_all(data, "fuzz", "2026-11-28T12:00:00Z".parse().unwrap());
}

#[test]
fn every_truncation_of_real_lines() {
    for sample in SAMPLES {
        let b = sample.as_bytes();
        for end in 0..=b.len() {
            feed(b.get(..end).unwrap());
            feed(b.get(end..).unwrap());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_behind_each_envelope(prefix in 0..PREFIXES.len(), tail in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut line = PREFIXES[prefix].as_bytes().to_vec();
        line.extend(tail);
        feed(&line);
    }

    #[test]
    fn corrupted_real_lines(sample in 0..SAMPLES.len(), edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8)) {
        let mut line = SAMPLES[sample].as_bytes().to_vec();
        for (at, byte) in edits {
            let i = at % line.len();
            line[i] = byte;
        }
        feed(&line);
    }

    #[test]
    fn arbitrary_multi_line_input(data in proptest::collection::vec(any::<u8>(), 0..2000)) {
        feed(&data);
    }
}
