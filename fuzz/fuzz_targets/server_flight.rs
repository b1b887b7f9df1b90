//! Feeds arbitrary bytes, in arbitrary chunks, to the server-flight reader
//! and the SSL 2.0 answer parser: they must never panic, and the reader's
//! verdict must not depend on the chunking (only the evidence kept with a
//! "not TLS" error does: it is what had arrived when the reader decided).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mailwarden_tls::{Error, Progress, ServerFlightReader, parse_sslv2_answer};

fn kind(r: Result<Progress, Error>) -> Result<Progress, String> {
    r.map_err(|e| match e {
        Error::NotTls { .. } => "not TLS".to_owned(),
        other => other.to_string(),
    })
}

fuzz_target!(|data: &[u8]| {
    // The first byte chooses a chunk size; the rest is the server's answer.
    let Some((&chunk, bytes)) = data.split_first() else {
        return;
    };
    let mut whole = ServerFlightReader::new();
    let one = kind(whole.feed(bytes));
    let mut pieces = ServerFlightReader::new();
    let mut last = Ok(Progress::NeedMore);
    for piece in bytes.chunks(usize::from(chunk).max(1)) {
        last = pieces.feed(piece);
        if !matches!(last, Ok(Progress::NeedMore)) {
            break;
        }
    }
    assert_eq!(one, kind(last));
    assert_eq!(whole.flight(), pieces.flight());
    let _ = whole.flight().legacy_hello();
    if let Some(ske) = &whole.flight().server_key_exchange {
        let _ = (ske.dhe_prime_bits(), ske.ecdhe_group());
    }
    let _ = parse_sslv2_answer(bytes);
});
