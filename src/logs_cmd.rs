//! `mailwarden logs`: reads mail server logs and reports attacks per source.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use mailwarden_logs::detect::{Alert, Severity, Thresholds};
use mailwarden_logs::event::Event;
use mailwarden_logs::output::{self, BanFormat};
use mailwarden_logs::{Analyzer, Sink, input};

/// `mailwarden logs`.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Log files (plain or gzip), `-` for standard input. Syslog (RFC 3164,
    /// RFC 5424, RFC 3339 timestamps), Postfix `maillog_file`, Dovecot
    /// `log_path`, Exim mainlog/rejectlog, or `journalctl -o json`.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Keep reading as the files grow (survives rotation and truncation);
    /// Ctrl-C (or SIGTERM) stops and prints the summary.
    #[arg(long, short = 'f')]
    pub follow: bool,

    /// Print every recognized event as a JSON line (alerts then print as JSON lines too).
    #[arg(long)]
    pub events: bool,

    /// Format of alerts and summary.
    #[arg(long, value_enum, default_value_t = LogsFormat::Text)]
    pub format: LogsFormat,

    /// Print a ban list of the alerted sources on standard output instead of
    /// alerts and summary (those go to standard error).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub ban_list: Option<BanListFormat>,

    /// Sources whose worst alert is below this severity stay off the ban list
    /// (low, medium, high, critical).
    #[arg(long, default_value = "medium", value_parser = parse_severity, value_name = "SEVERITY")]
    pub ban_min_severity: Severity,

    /// Never alert on this network (`192.0.2.0/24`, `2001:db8::/48`, an address); repeatable.
    #[arg(long, value_name = "CIDR")]
    pub allow: Vec<String>,

    /// The architecture file (TOML, docs/policy.md): its `[logs.thresholds]`
    /// set the detection thresholds (any subset; see the README).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,

    /// Detection thresholds as JSON (any subset of the fields; see the README).
    #[arg(long, value_name = "FILE")]
    pub thresholds: Option<PathBuf>,

    /// Time zone of timestamps written without one (default: the system's).
    #[arg(long, value_name = "TZ")]
    pub timezone: Option<String>,

    /// Exit with status 1 when an alert at or above this severity was raised.
    #[arg(long, value_parser = parse_severity, value_name = "SEVERITY")]
    pub fail_on: Option<Severity>,

    /// No summary, only alerts (and events).
    #[arg(long, short)]
    pub quiet: bool,
}

/// Output format of `mailwarden logs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogsFormat {
    /// Lines for people.
    Text,
    /// JSON lines: alerts, then one `{"summary":...,"stats":...}` object.
    Json,
}

/// `--ban-list` formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BanListFormat {
    /// An nftables table with interval sets and a drop rule for the mail ports.
    Nft,
    /// `ipset restore` input.
    Ipset,
    /// One address or IPv6 prefix per line.
    Plain,
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    Severity::parse(s)
        .ok_or_else(|| format!("unknown severity {s:?}: use low, medium, high or critical"))
}

struct Printer<W: Write> {
    out: W,
    events: bool,
    json: bool,
    flush: bool,
    worst: Option<Severity>,
}

impl<W: Write> Sink for Printer<W> {
    fn event(&mut self, event: &Event) {
        if self.events {
            let _ = writeln!(self.out, "{}", output::event_json(event));
        }
    }

    fn alert(&mut self, alert: &Alert) {
        self.worst = self.worst.max(Some(alert.severity));
        let line = if self.json || self.events {
            output::alert_json(alert)
        } else {
            output::alert_text(alert)
        };
        let _ = writeln!(self.out, "{line}");
        if self.flush {
            let _ = self.out.flush();
        }
    }
}

/// Runs `mailwarden logs`.
pub fn run(args: LogsArgs) -> anyhow::Result<ExitCode> {
    let thresholds = thresholds(&args)?;
    let tz = match &args.timezone {
        Some(name) => jiff::tz::TimeZone::get(name).with_context(|| {
            format!("unknown time zone {name:?}: use an IANA name such as Europe/Berlin or UTC")
        })?,
        None => jiff::tz::TimeZone::system(),
    };
    let mut analyzer = Analyzer::new(thresholds);
    for cidr in &args.allow {
        let (addr, prefix) = parse_cidr(cidr)?;
        analyzer.engine_mut().allow(addr, prefix);
    }
    if args.follow && args.files.iter().any(|f| f.as_os_str() == "-") && args.files.len() > 1 {
        bail!("--follow reads standard input alone or files only, not both");
    }
    let to_stderr = args.ban_list.is_some();
    let stdout = std::io::stdout();
    let writer: Box<dyn Write> = if to_stderr {
        Box::new(std::io::stderr())
    } else {
        Box::new(BufWriter::with_capacity(64 * 1024, stdout.lock()))
    };
    let mut printer = Printer {
        out: writer,
        events: args.events,
        json: args.format == LogsFormat::Json,
        flush: args.follow,
        worst: None,
    };

    // Following ends with Ctrl-C (or SIGTERM): stop reading, then finish and
    // print the summary like at the end of a file.
    let stop = if args.follow {
        Some(stop_on_signals().context("installing the Ctrl-C handler")?)
    } else {
        None
    };
    if args.follow && args.files.iter().all(|f| f.as_os_str() != "-") {
        let stopped = stop.clone().unwrap_or_default();
        input::follow(
            &mut analyzer,
            &args.files,
            &tz,
            Duration::from_millis(500),
            &mut printer,
            &mut || stopped.load(Ordering::SeqCst),
        )
        .context("following the logs")?;
    } else {
        for path in &args.files {
            read_one(&mut analyzer, path, &tz, &mut printer, stop.as_ref())?;
        }
        analyzer.finish(&mut printer);
    }

    let summary = analyzer.engine().summary();
    let quiet_sources = analyzer.engine().expired_quiet + analyzer.engine().quiet_sources() as u64;
    if !args.quiet {
        if printer.json {
            let all = serde_json::json!({ "summary": summary, "stats": analyzer.stats() });
            let _ = writeln!(printer.out, "{all}");
        } else if !args.events {
            let _ = write!(
                printer.out,
                "\n{}",
                output::summary_text(&summary, analyzer.stats(), quiet_sources)
            );
        }
    }
    let _ = printer.out.flush();
    if let Some(format) = args.ban_list {
        let format = match format {
            BanListFormat::Nft => BanFormat::Nft,
            BanListFormat::Ipset => BanFormat::Ipset,
            BanListFormat::Plain => BanFormat::Plain,
        };
        let sources = output::ban_sources(&summary, args.ban_min_severity);
        let mut out = stdout.lock();
        let _ = out.write_all(output::ban_list(format, &sources).as_bytes());
        let _ = out.flush();
    }
    let failed = match (args.fail_on, printer.worst) {
        (Some(min), Some(worst)) => worst >= min,
        _ => false,
    };
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The thresholds from `--policy` or `--thresholds`, else the defaults. The
/// policy file is validated as `audit` validates it (errors with line and
/// column, exit status 2).
fn thresholds(args: &LogsArgs) -> anyhow::Result<Thresholds> {
    let from_policy = match &args.policy {
        Some(path) => crate::audit_cmd::load_policy(path)?.logs.thresholds,
        None => None,
    };
    let Some(path) = &args.thresholds else {
        return Ok(from_policy.unwrap_or_default());
    };
    if from_policy.is_some() {
        // Two sources would silently shadow each other: one of them must go.
        bail!(
            "both --thresholds and the policy's [logs.thresholds] set thresholds: keep one of them"
        );
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str::<Thresholds>(&text).with_context(|| {
        format!(
            "{}: not a thresholds JSON object (see the README, section Logs)",
            path.display()
        )
    })
}

fn read_one(
    analyzer: &mut Analyzer,
    path: &std::path::Path,
    tz: &jiff::tz::TimeZone,
    sink: &mut dyn Sink,
    stop: Option<&Arc<AtomicBool>>,
) -> anyhow::Result<()> {
    if path.as_os_str() == "-" {
        let clock = input::clock_for(tz, None);
        // `Stdin`, not its lock: the reader moves to the parsing threads.
        let result = match stop {
            // `--follow -`: a pipe that stays open ends on Ctrl-C too.
            Some(stop) => {
                let mut reader = input::until_stopped(std::io::stdin(), stop.clone());
                input::read_input(analyzer, &mut reader, "-", clock, sink)
            }
            None => {
                let mut reader = std::io::BufReader::with_capacity(256 * 1024, std::io::stdin());
                input::read_input(analyzer, &mut reader, "-", clock, sink)
            }
        };
        return result.context("reading standard input");
    }
    let (mut reader, modified) =
        input::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let name = path.display().to_string();
    input::read_input(
        analyzer,
        &mut reader,
        &name,
        input::clock_for(tz, modified),
        sink,
    )
    .with_context(|| format!("reading {}", path.display()))
}

/// A flag set by the first SIGINT or SIGTERM; a second one exits at once
/// (status 130), for a summary that takes too long. The handlers live on a
/// thread of their own with a small tokio runtime (the workspace's signal
/// handling); they are installed before this returns.
fn stop_on_signals() -> anyhow::Result<Arc<AtomicBool>> {
    use tokio::signal::unix::{SignalKind, signal};
    let stop = Arc::new(AtomicBool::new(false));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    let (mut interrupt, mut terminate) = {
        let _context = runtime.enter();
        (
            signal(SignalKind::interrupt())?,
            signal(SignalKind::terminate())?,
        )
    };
    let flag = stop.clone();
    std::thread::spawn(move || {
        runtime.block_on(async move {
            loop {
                tokio::select! {
                    _ = interrupt.recv() => {}
                    _ = terminate.recv() => {}
                }
                if flag.swap(true, Ordering::SeqCst) {
                    std::process::exit(130);
                }
            }
        });
    });
    Ok(stop)
}

fn parse_cidr(s: &str) -> anyhow::Result<(std::net::IpAddr, u8)> {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let addr: std::net::IpAddr = addr
        .parse()
        .with_context(|| format!("--allow {s:?}: not an address or CIDR network"))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        Some(p) => p
            .parse::<u8>()
            .ok()
            .filter(|p| *p <= max)
            .with_context(|| format!("--allow {s:?}: prefix must be 0..={max}"))?,
        None => max,
    };
    Ok((addr, prefix))
}
