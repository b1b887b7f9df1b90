//! Dovecot's parser (2.3 and 2.4: login processes, auth, auth-worker).
//! Lines go through the real envelope decoder; lines it cannot read reach
//! the parser whole, as the message of one of its programs. Besides not
//! panicking: every event cites a line of the input with that line's time,
//! its user and IPv4 addresses come from the input, it renders as JSON, the
//! outcome says "events" exactly when events were pushed, and a second run
//! over the same bytes gives the same events.
#![no_main]

#[path = "logs/mod.rs"]
mod logs;

use libfuzzer_sys::fuzz_target;
use mailwarden_logs::parse::dovecot::Dovecot;

const PROGRAMS: &[&[u8]] = &[
    b"dovecot",
    b"imap-login",
    b"pop3-login",
    b"auth",
    b"auth-worker(7)",
    b"managesieve-login",
];

fuzz_target!(|data: &[u8]| {
    let first = logs::run_parser::<Dovecot>(data, PROGRAMS);
    let second = logs::run_parser::<Dovecot>(data, PROGRAMS);
    assert_eq!(first, second, "two runs over the same input differ");
});
