//! Feeds arbitrary bytes to the heartbeat reader of the Heartbleed check:
//! it must never panic, never read past its cap, and never count more
//! leaked bytes than it was given.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailwarden_tls::{HeartbeatReader, MAX_HEARTBEAT_READ};

fuzz_target!(|data: &[u8]| {
    let mut reader = HeartbeatReader::new();
    for piece in data.chunks(977) {
        if !matches!(reader.feed(piece), Ok(false)) {
            break;
        }
    }
    assert!(reader.bytes_read() <= MAX_HEARTBEAT_READ.min(data.len()));
    assert!(reader.leaked_bytes() <= data.len());
});
