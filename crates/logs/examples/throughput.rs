//! Runs the analyzer over files and prints lines per second (no output of
//! alerts): `cargo run --release -p mailwarden-logs --example throughput -- FILE...`

use std::time::Instant;

use mailwarden_logs::detect::Thresholds;
use mailwarden_logs::{AlertsOnly, Analyzer, input};

fn main() -> std::io::Result<()> {
    let tz = jiff::tz::TimeZone::system();
    let mut analyzer = Analyzer::new(Thresholds::default());
    let mut sink = AlertsOnly::default();
    let start = Instant::now();
    for path in std::env::args().skip(1) {
        let (mut reader, modified) = input::open(path.as_ref())?;
        input::read_input(
            &mut analyzer,
            &mut reader,
            &path,
            input::clock_for(&tz, modified),
            &mut sink,
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
