//! The envelope decoder (RFC 3164 and RFC 5424 syslog, RFC 3339 stamps,
//! TAI64N, Dovecot `log_path`, Exim's logs, journald JSON) on arbitrary
//! lines. Besides not panicking: a blank line is exactly one with nothing but
//! spaces; host, program and message of a syslog-style record are pieces of
//! the line itself, and a PID is digits found in it; a journald record's
//! message is the JSON's `MESSAGE`; a fresh decoder gives the same record
//! (but for the time: syslog years carry over from line to line).
#![no_main]

#[path = "logs/mod.rs"]
mod logs;

use libfuzzer_sys::fuzz_target;
use mailwarden_logs::envelope::{Decoder, Skip};

/// Whether `part` lies inside `whole` (the record borrows from the line).
fn inside(part: &[u8], whole: &[u8]) -> bool {
    let (p, w) = (part.as_ptr() as usize, whole.as_ptr() as usize);
    part.is_empty() || (p >= w && p + part.len() <= w + whole.len())
}

/// Everything but the time: a syslog year depends on the lines before
/// (December to January), so only the rest must match a fresh decoder's.
fn owned(r: &Result<mailwarden_logs::envelope::Record<'_>, Skip>) -> String {
    match r {
        Ok(r) => format!("{:?} {:?} {:?} {:?}", r.host, r.program, r.pid, r.message),
        Err(e) => format!("{e:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    // One decoder for the whole input (Exim's rejectlog continuations depend
    // on the line before), a fresh one per line for the comparison.
    let mut decoder = Decoder::new(logs::clock());
    for line in logs::lines(data) {
        let decoded = decoder.decode(line);
        let text = owned(&decoded);
        let trimmed = line.strip_suffix(b"\r").unwrap_or(line);
        let trimmed = trimmed
            .strip_prefix("\u{feff}".as_bytes())
            .unwrap_or(trimmed);
        assert_eq!(
            matches!(decoded, Err(Skip::Blank)),
            trimmed.trim_ascii().is_empty(),
            "{line:?}"
        );
        if let Ok(r) = &decoded {
            if trimmed.first() == Some(&b'{') {
                let json: serde_json::Value =
                    serde_json::from_slice(trimmed).expect("decoded JSON");
                if let Some(m) = json["MESSAGE"].as_str() {
                    assert_eq!(r.message, m.as_bytes());
                }
            } else {
                // Exim's own lines name no program: the decoder says `exim`.
                let program = if r.program == b"exim" {
                    &[][..]
                } else {
                    r.program
                };
                for part in [r.host, program, r.message] {
                    assert!(inside(part, line), "{r:?} does not come from {line:?}");
                }
                if let Some(pid) = r.pid {
                    let digits = pid.to_string();
                    assert!(
                        memchr::memmem::find(line, digits.as_bytes()).is_some(),
                        "{r:?}"
                    );
                }
            }
        }
        // Continuations need the line before: compare only what stands alone.
        if !matches!(decoded, Err(Skip::Continuation)) {
            let mut fresh = Decoder::new(logs::clock());
            let again = fresh.decode(line);
            if !matches!(again, Err(Skip::Continuation)) {
                assert_eq!(text, owned(&again), "{line:?}");
            }
        }
    }
});
