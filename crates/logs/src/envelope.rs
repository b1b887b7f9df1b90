//! The envelope of a log line: its time, host, program, PID, and message,
//! whatever the transport wrote around the server's words.
//!
//! Recognized forms (an optional `<PRI>` prefix is skipped in all of them):
//! - RFC 3164 syslog: `Nov 28 01:34:11 host postfix/smtpd[123]: message`
//!   (also Postfix's own `maillog_file`, which writes the same form);
//! - RFC 3339 timestamps in its place (rsyslog's high-precision default):
//!   `2026-11-28T01:34:11.123456+01:00 host prog[pid]: message`;
//! - RFC 5424: `<34>1 2026-11-28T01:34:11Z host app procid msgid [sd] message`;
//! - Dovecot's `log_path` files: `Nov 28 01:34:11 imap-login: Info: message`;
//! - Exim's mainlog and rejectlog: `2026-11-28 01:34:11[.123][ +0100][ [pid]] message`,
//!   whose undated header lines in the rejectlog are continuations;
//! - journald JSON (`journalctl -o json`): `MESSAGE`, `SYSLOG_IDENTIFIER`,
//!   `_PID`, `_HOSTNAME`, `__REALTIME_TIMESTAMP`.

use jiff::Timestamp;

use crate::bytes;
use crate::clock::Clock;
use crate::stamp::{bsd_time, iso_time, tai64n};

/// A decoded line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// When, if the line had a readable time.
    pub time: Option<Timestamp>,
    /// The host name, when written.
    pub host: &'a [u8],
    /// The program (syslog tag without PID): `postfix/submission/smtpd`,
    /// `dovecot`, `imap-login`, `exim`, `smtpd`.
    pub program: &'a [u8],
    /// The process id, when written.
    pub pid: Option<u32>,
    /// The server's message.
    pub message: &'a [u8],
}

/// Why a line yielded no record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// Empty or blank.
    Blank,
    /// A continuation of the previous line (Exim rejectlog headers).
    Continuation,
    /// No envelope we know (garbage, or a truncated line).
    Unrecognized,
}

/// Decodes envelopes for one input; keeps the clock and the little state the
/// formats need.
#[derive(Debug)]
pub struct Decoder {
    clock: Clock,
    /// Inside an Exim rejectlog entry (undated lines continue it); `None`
    /// until a line says, for a decoder that starts in the middle of an input.
    in_exim_block: Option<bool>,
    /// Lines called unrecognized while `in_exim_block` was unknown.
    undecided: u64,
    scratch_program: Vec<u8>,
    scratch_message: Vec<u8>,
    scratch_host: Vec<u8>,
}

impl Decoder {
    /// A decoder whose clock resolves local times and missing years.
    pub fn new(clock: Clock) -> Decoder {
        Decoder {
            clock,
            in_exim_block: Some(false),
            undecided: 0,
            scratch_program: Vec::new(),
            scratch_message: Vec::new(),
            scratch_host: Vec::new(),
        }
    }

    /// A decoder for a piece of an input that starts after lines read
    /// elsewhere: it knows neither the year nor whether an Exim entry is open
    /// ([`Decoder::take_over`] settles both).
    pub(crate) fn for_piece(&self) -> Decoder {
        Decoder {
            in_exim_block: None,
            ..Decoder::new(self.clock.fresh())
        }
    }

    /// Continues after `piece` (made by [`Decoder::for_piece`] and fed the
    /// lines after this decoder's) as if this decoder had read them: takes
    /// over its state and returns how many of the lines it called
    /// unrecognized were continuations of an Exim entry. `None` when a year
    /// would differ: the piece must be decoded again, by this decoder.
    pub(crate) fn take_over(&mut self, piece: &Decoder) -> Option<u64> {
        if !self.clock.take_over(&piece.clock) {
            return None;
        }
        let continuations = if self.in_exim_block == Some(true) {
            piece.undecided
        } else {
            0
        };
        if piece.in_exim_block.is_some() {
            self.in_exim_block = piece.in_exim_block;
        }
        Some(continuations)
    }

    /// Decodes one line (without its newline).
    pub fn decode<'a>(&'a mut self, line: &'a [u8]) -> Result<Record<'a>, Skip> {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let line = line.strip_prefix("\u{feff}".as_bytes()).unwrap_or(line);
        if line.trim_ascii().is_empty() {
            return Err(Skip::Blank);
        }
        if line.first() == Some(&b'{') {
            self.in_exim_block = Some(false);
            return self.journal(line);
        }
        let body = skip_pri(line);
        if let Some(rest) = body.strip_prefix(b"1 ")
            && rest.first().is_some_and(u8::is_ascii_digit)
        {
            self.in_exim_block = Some(false);
            return self.rfc5424(rest);
        }
        if let Some((civil, rest)) = iso_time(body) {
            let exim = matches!(body.get(10), Some(b' '));
            let time = self.clock.resolve(civil);
            if exim && !looks_like_syslog(rest) {
                self.in_exim_block = Some(true);
                return Ok(exim_record(time, rest));
            }
            self.in_exim_block = Some(false);
            return syslog_tail(time, rest);
        }
        if let Some((time, rest)) = tai64n(body) {
            self.in_exim_block = Some(false);
            return syslog_tail(Some(time), rest);
        }
        if let Some((civil, rest)) = bsd_time(body) {
            self.in_exim_block = Some(false);
            let time = self.clock.resolve(civil);
            return syslog_tail(time, rest);
        }
        match self.in_exim_block {
            Some(true) => Err(Skip::Continuation),
            Some(false) => Err(Skip::Unrecognized),
            None => {
                // A piece's first lines: the lines before it decide (see `take_over`).
                self.undecided += 1;
                Err(Skip::Unrecognized)
            }
        }
    }

    fn rfc5424<'a>(&'a mut self, rest: &'a [u8]) -> Result<Record<'a>, Skip> {
        let (ts, rest) = bytes::token(rest);
        let time = iso_time(ts).and_then(|(c, _)| self.clock.resolve(c));
        let (host, rest) = bytes::token(rest);
        let (app, rest) = bytes::token(rest);
        let (procid, rest) = bytes::token(rest);
        let (_msgid, rest) = bytes::token(rest);
        let message = skip_structured_data(rest).ok_or(Skip::Unrecognized)?;
        let message = message
            .strip_prefix("\u{feff}".as_bytes())
            .unwrap_or(message);
        Ok(Record {
            time,
            host: nil(host),
            program: nil(app),
            pid: bytes::number(procid),
            message,
        })
    }

    fn journal<'a>(&'a mut self, line: &'a [u8]) -> Result<Record<'a>, Skip> {
        let value: serde_json::Value =
            serde_json::from_slice(line).map_err(|_| Skip::Unrecognized)?;
        let obj = value.as_object().ok_or(Skip::Unrecognized)?;
        let string = |key: &str| obj.get(key).and_then(|v| v.as_str());
        self.scratch_message.clear();
        match obj.get("MESSAGE") {
            Some(serde_json::Value::String(s)) => {
                self.scratch_message.extend_from_slice(s.as_bytes())
            }
            // journald writes non-UTF-8 messages as arrays of bytes.
            Some(serde_json::Value::Array(a)) => self.scratch_message.extend(
                a.iter()
                    .filter_map(|b| b.as_u64())
                    .map(|b| u8::try_from(b).unwrap_or(b'?')),
            ),
            _ => return Err(Skip::Unrecognized),
        }
        self.scratch_program.clear();
        let program = string("SYSLOG_IDENTIFIER")
            .or_else(|| string("_COMM"))
            .unwrap_or("");
        self.scratch_program.extend_from_slice(program.as_bytes());
        self.scratch_host.clear();
        self.scratch_host
            .extend_from_slice(string("_HOSTNAME").unwrap_or("").as_bytes());
        let pid = string("SYSLOG_PID")
            .or_else(|| string("_PID"))
            .and_then(|p| p.parse().ok());
        let time = string("__REALTIME_TIMESTAMP")
            .and_then(|us| us.parse::<i64>().ok())
            .and_then(|us| Timestamp::from_microsecond(us).ok());
        Ok(Record {
            time,
            host: &self.scratch_host,
            program: &self.scratch_program,
            pid,
            message: &self.scratch_message,
        })
    }
}

/// `prog: ...` or `host prog[pid]: ...` after an ISO date with a space (some
/// syslog daemons and Dovecot's `log_timestamp`), as opposed to Exim's own lines.
fn looks_like_syslog(rest: &[u8]) -> bool {
    let (first, after_first) = bytes::token(rest);
    let (second, _) = bytes::token(after_first);
    let tag = |t: &[u8]| {
        t.len() > 1 && t.ends_with(b":") && t.first().is_some_and(u8::is_ascii_alphabetic)
    };
    (tag(first) && !first.contains(&b'=')) || (tag(second) && second.contains(&b'['))
}

fn nil(s: &[u8]) -> &[u8] {
    if s == b"-" { &[] } else { s }
}

fn skip_pri(line: &[u8]) -> &[u8] {
    if let Some(rest) = line.strip_prefix(b"<") {
        let digits = rest
            .iter()
            .take(3)
            .take_while(|b| b.is_ascii_digit())
            .count();
        if digits > 0
            && let Some(after) = rest.get(digits..).and_then(|r| r.strip_prefix(b">"))
        {
            return after;
        }
    }
    line
}

fn skip_structured_data(s: &[u8]) -> Option<&[u8]> {
    if let Some(rest) = s.strip_prefix(b"- ") {
        return Some(rest);
    }
    if s == b"-" {
        return Some(&[]);
    }
    let mut i = 0;
    let mut in_quotes = false;
    let mut depth = 0u32;
    while let Some(&b) = s.get(i) {
        match b {
            b'\\' if in_quotes => i += 1,
            b'"' => in_quotes = !in_quotes,
            b'[' if !in_quotes => depth += 1,
            b']' if !in_quotes => {
                depth = depth.saturating_sub(1);
                if depth == 0 && s.get(i + 1) != Some(&b'[') {
                    let rest = s.get(i + 1..).unwrap_or_default();
                    return Some(rest.strip_prefix(b" ").unwrap_or(rest));
                }
            }
            _ if depth == 0 => return None,
            _ => {}
        }
        i += 1;
    }
    None
}

/// `host prog[pid]: message`, or `prog: message` without a host.
fn syslog_tail(time: Option<Timestamp>, rest: &[u8]) -> Result<Record<'_>, Skip> {
    let rest = bytes::skip_spaces(rest);
    let (first, after_first) = bytes::token(rest);
    if first.is_empty() {
        return Err(Skip::Unrecognized);
    }
    let (host, tag, message) = if first.ends_with(b":") || first.ends_with(b"]") {
        (&[][..], first, after_first)
    } else {
        let (tag, message) = bytes::token(after_first);
        (first, tag, message)
    };
    let tag = tag.strip_suffix(b":").unwrap_or(tag);
    if tag.is_empty() {
        return Err(Skip::Unrecognized);
    }
    let (program, pid) = match memchr::memchr(b'[', tag) {
        Some(i) => {
            let pid = tag
                .get(i + 1..)
                .and_then(|p| p.strip_suffix(b"]"))
                .and_then(bytes::number);
            (tag.get(..i).unwrap_or_default(), pid)
        }
        None => (tag, None),
    };
    Ok(Record {
        time,
        host,
        program,
        pid,
        message,
    })
}

fn exim_record(time: Option<Timestamp>, rest: &[u8]) -> Record<'_> {
    let mut rest = bytes::skip_spaces(rest);
    // An optional numeric zone ` +0100` (log_timezone) was consumed by iso_time.
    let mut pid = None;
    if let Some(inner) = rest.strip_prefix(b"[") {
        let close = memchr::memchr(b']', inner).unwrap_or(0);
        if let Some(p) = inner
            .get(..close)
            .and_then(|p| bytes::number(bytes::until(p, b'/')))
        {
            pid = Some(p);
            rest = bytes::skip_spaces(inner.get(close + 1..).unwrap_or_default());
        }
    }
    Record {
        time,
        host: &[],
        program: b"exim",
        pid,
        message: rest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::tz::TimeZone;

    fn decoder() -> Decoder {
        Decoder::new(Clock::new(
            TimeZone::UTC,
            "2026-11-28T12:00:00Z".parse().unwrap(),
        ))
    }

    fn parts(line: &str) -> (String, String, String, Option<u32>, String) {
        let mut d = decoder();
        let r = d.decode(line.as_bytes()).unwrap();
        let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        (
            r.time.map(|t| t.to_string()).unwrap_or_default(),
            s(r.host),
            s(r.program),
            r.pid,
            s(r.message),
        )
    }

    #[test]
    fn rfc3164() {
        assert_eq!(
            parts(
                "Nov 28 01:34:11 mail postfix/submission/smtpd[20292]: connect from x[192.0.2.1]"
            ),
            (
                "2026-11-28T01:34:11Z".into(),
                "mail".into(),
                "postfix/submission/smtpd".into(),
                Some(20292),
                "connect from x[192.0.2.1]".into()
            )
        );
        assert_eq!(
            parts("<22>Nov  2 01:34:11 mail dovecot: imap-login: x").0,
            "2026-11-02T01:34:11Z"
        );
    }

    #[test]
    fn dovecot_log_path() {
        let p = parts("Nov 28 01:33:55 imap-login: Info: Disconnected: x");
        assert_eq!(
            (p.1.as_str(), p.2.as_str(), p.4.as_str()),
            ("", "imap-login", "Info: Disconnected: x")
        );
        let p = parts("Nov 28 01:33:55 auth-worker(123): Info: pam(bob,192.0.2.1): unknown user");
        assert_eq!(p.2, "auth-worker(123)");
    }

    #[test]
    fn rfc3339_and_rfc5424() {
        let p = parts("2026-11-28T01:34:11.500000+01:00 mail postfix/smtpd[1]: hello");
        assert_eq!(
            (p.0.as_str(), p.2.as_str(), p.4.as_str()),
            ("2026-11-28T00:34:11.5Z", "postfix/smtpd", "hello")
        );
        let p = parts(
            "<38>1 2026-11-28T01:34:11Z mail dovecot 77 - [x@1 a=\"]\"] imap-login: Login: y",
        );
        assert_eq!(
            (p.2.as_str(), p.3, p.4.as_str()),
            ("dovecot", Some(77), "imap-login: Login: y")
        );
        let p = parts("<38>1 2026-11-28T01:34:11Z - smtpd - - - msg");
        assert_eq!(
            (p.1.as_str(), p.2.as_str(), p.4.as_str()),
            ("", "smtpd", "msg")
        );
    }

    #[test]
    fn exim_mainlog_and_rejectlog() {
        let p = parts("2026-11-28 01:34:11 [1234] H=(x) [192.0.2.1] rejected");
        assert_eq!(
            (p.0.as_str(), p.2.as_str(), p.3, p.4.as_str()),
            (
                "2026-11-28T01:34:11Z",
                "exim",
                Some(1234),
                "H=(x) [192.0.2.1] rejected"
            )
        );
        let p = parts("2026-11-28 01:34:11.123 +0100 1abc-000-XY <= a@b");
        assert_eq!(
            (p.0.as_str(), p.4.as_str()),
            ("2026-11-28T00:34:11.123Z", "1abc-000-XY <= a@b")
        );
        let mut d = decoder();
        assert!(
            d.decode(b"2026-11-28 01:34:11 H=[192.0.2.1] rejected RCPT")
                .is_ok()
        );
        assert_eq!(d.decode(b"Envelope-from: <a@b>"), Err(Skip::Continuation));
    }

    #[test]
    fn iso_dates_with_a_space_may_still_be_syslog() {
        let p = parts("2019-10-22 03:39:17 mx1 exim[29786]: dovecot_login authenticator failed");
        assert_eq!((p.1.as_str(), p.2.as_str()), ("mx1", "exim"));
        let p = parts("2013-08-11 03:56:40 auth-worker(default): Info: pam(u,1.2.3.4): x");
        assert_eq!(p.2, "auth-worker(default)");
        let p = parts("2013-06-10 18:33:32 [10099] H=(x) [202.132.70.178]:3755 rejected");
        assert_eq!(p.2, "exim");
    }

    #[test]
    fn tai64n_stamps() {
        let p = parts("@400000004c91b044077a9e94 imap-login: Info: Aborted login");
        assert_eq!(
            (p.0.as_str(), p.2.as_str()),
            ("2010-09-16T05:50:50.1254765Z", "imap-login")
        );
    }

    #[test]
    fn journald_json() {
        let line = r#"{"__REALTIME_TIMESTAMP":"1795829651000000","_HOSTNAME":"mail","SYSLOG_IDENTIFIER":"postfix/smtpd","_PID":"42","MESSAGE":"connect from x[192.0.2.1]"}"#;
        let p = parts(line);
        assert_eq!(
            (p.2.as_str(), p.3, p.4.as_str()),
            ("postfix/smtpd", Some(42), "connect from x[192.0.2.1]")
        );
        assert!(p.0.starts_with("2026-"));
        let bytes = r#"{"SYSLOG_IDENTIFIER":"smtpd","MESSAGE":[104,105,255]}"#;
        assert_eq!(parts(bytes).4, "hi\u{fffd}");
    }

    #[test]
    fn garbage_is_unrecognized_never_a_panic() {
        let mut d = decoder();
        for line in [
            "",
            "   ",
            "Nov",
            "Nov 28",
            "Nov 28 01:3",
            "2026-11-28T",
            "<1",
            "<12>",
            "{",
            "1 ",
            "\u{feff}",
        ] {
            assert!(d.decode(line.as_bytes()).is_err(), "{line:?}");
        }
    }
}
