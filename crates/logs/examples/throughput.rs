//! Runs the analyzer over files and prints lines per second (no output of
//! alerts): `cargo run --release -p mailwarden-logs --example throughput -- FILE...`
//!
//! `THREADS=n` and `CHUNK=bytes` in the environment override the reading
//! pipeline's defaults (parsing threads, chunk size), for tuning.

use std::time::Instant;

use mailwarden_logs::detect::Thresholds;
use mailwarden_logs::pipeline::{ReadOptions, read_input_with};
use mailwarden_logs::{AlertsOnly, Analyzer, input};

fn main() -> std::io::Result<()> {
    let tz = jiff::tz::TimeZone::system();
    let mut analyzer = Analyzer::new(Thresholds::default());
    let mut sink = AlertsOnly::default();
    let mut options = ReadOptions::default();
    let env = |name: &str| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
    };
    if let Some(n) = env("THREADS") {
        options.threads = n;
    }
    if let Some(n) = env("CHUNK") {
        options.chunk_bytes = n;
    }
    let start = Instant::now();
    for path in std::env::args().skip(1) {
        let (mut reader, modified) = input::open(path.as_ref())?;
        read_input_with(
            &mut analyzer,
            &mut reader,
            &path,
            input::clock_for(&tz, modified),
            &mut sink,
            options,
        )?;
    }
    analyzer.finish(&mut sink);
    let secs = start.elapsed().as_secs_f64();
    let lines = analyzer.stats().lines;
    println!(
        "{lines} lines in {secs:.3} s: {:.0} lines/s, {} alerts, {} alerted sources, {} sources tracked at the end",
        lines as f64 / secs,
        sink.0.len(),
        analyzer.engine().summary().len(),
        analyzer.engine().tracked_sources()
    );
    println!("{:?}", analyzer.stats());
    Ok(())
}
