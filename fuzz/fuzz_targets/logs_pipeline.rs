//! The whole analyzer on arbitrary bytes: the reading pipeline of
//! `mailwarden logs` (chunks of whole lines parsed on several threads, the
//! stateful half and the detectors in order on the calling thread) against
//! the plain line-by-line reference (`Analyzer::read_all`). Besides not panicking: both see the same events,
//! alerts and summary; the line counts add up to the lines of the input;
//! every event and every alert's evidence cites a line of the input; every
//! event passes the per-event checks of the parser targets.
#![no_main]

#[path = "logs/mod.rs"]
mod logs;

use std::io::BufReader;

use libfuzzer_sys::fuzz_target;
use mailwarden_logs::detect::Thresholds;
use mailwarden_logs::envelope::Decoder;
use mailwarden_logs::pipeline::{ReadOptions, read_input_with};
use mailwarden_logs::{Analyzer, Collect};

fuzz_target!(|data: &[u8]| {
    let lines = logs::lines(data);

    let mut reference = Analyzer::new(Thresholds::default());
    let expected = reference.read_all(
        data,
        "fuzz",
        jiff::Timestamp::from_second(1_795_867_200).unwrap(),
    );

    // Small buffers and chunks, varying with the input, put chunk boundaries
    // between the lines that depend on each other, and several threads
    // parse them out of order.
    let capacity = 1 + data.len() % 97;
    let seed = data.len().wrapping_mul(31) + usize::from(data.first().copied().unwrap_or(0));
    let options = ReadOptions {
        threads: 1 + seed % 3,
        chunk_bytes: 1 + seed % 301,
    };
    let mut reader = BufReader::with_capacity(capacity, data);
    let mut analyzer = Analyzer::new(Thresholds::default());
    let mut sink = Collect::default();
    read_input_with(
        &mut analyzer,
        &mut reader,
        "fuzz",
        logs::clock(),
        &mut sink,
        options,
    )
    .expect("reading from memory cannot fail");
    analyzer.finish(&mut sink);

    assert_eq!(sink.events, expected.events);
    assert_eq!(sink.alerts, expected.alerts);
    let json = |s| serde_json::to_string(&s).expect("summary JSON");
    assert_eq!(json(analyzer.engine().summary()), json(expected.summary));

    let stats = analyzer.stats();
    // read_all drops one final newline-only line ("\n" is no line for it, one blank line here).
    let read = if data == b"\n" { 1 } else { lines.len() as u64 };
    assert_eq!(stats.lines, read);
    assert_eq!(
        stats.recognized
            + stats.uninteresting
            + stats.other_programs
            + stats.unrecognized
            + stats.skipped,
        stats.lines,
        "{stats:?}"
    );
    assert_eq!(stats.events, sink.events.len() as u64);

    // The time each line resolves to, as the pipeline's decoder saw it.
    let mut decoder = Decoder::new(logs::clock());
    let times: Vec<_> = lines
        .iter()
        .map(|l| decoder.decode(l).ok().and_then(|r| r.time))
        .collect();
    for e in &sink.events {
        logs::check_event(e, &lines, &times);
    }
    for a in &sink.alerts {
        for ev in &a.evidence {
            assert!(ev.line >= 1 && ev.line <= lines.len() as u64, "{a:?}");
        }
        assert!(a.count > 0);
    }
});
