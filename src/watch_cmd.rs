//! `mailwarden watch --policy FILE --every 6h`: the periodic review.
//!
//! Every interval (measured from the start of one run to the start of the
//! next; a run that overruns is followed at once by the next) it re-reads the
//! policy, audits, stores the run, and prints **one JSON line** per run on
//! standard output: the run's id, time, status and finding counts, and the
//! diff against the previous run of the same targets (from the store, so a
//! restarted watcher continues where it stopped). When something changed the
//! same line is POSTed to `--webhook`. `--metrics ADDR` serves Prometheus
//! metrics of the last run on a loopback address.
//!
//! A run that fails (the policy no longer parses, the scan cannot start) is
//! a JSON line with `"event": "error"`; the watcher goes on.

mod metrics;
mod webhook;

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Args;
use mailwarden_model::{ScanReport, Severity};
use mailwarden_store::{RunKind, SeverityCounts};
use serde::Serialize;

use crate::audit_cmd::{self, AuditArgs};
use crate::cli::{ColorChoice, Format, ProbeArgs, ReportArgs, StoreArgs};
use crate::diff_cmd::Side;

/// `mailwarden watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// The policy file, re-read before every run.
    #[arg(long, value_name = "FILE")]
    pub policy: PathBuf,

    /// Time between the starts of two runs: `30s`, `15m`, `6h`, `1d`, `1h30m`.
    #[arg(long, value_name = "INTERVAL", value_parser = parse_interval)]
    pub every: Duration,

    /// Stop after this many runs (default: run until stopped).
    #[arg(long, value_name = "N")]
    pub runs: Option<u32>,

    /// POST each run that changed something, as its JSON line, to this
    /// `http://` or `https://` URL (timeouts apply; redirects are not followed).
    #[arg(long, value_name = "URL")]
    pub webhook: Option<String>,

    /// Extra trust anchors (PEM) for an `https://` webhook, added to the Mozilla roots.
    #[arg(long, value_name = "FILE", requires = "webhook")]
    pub webhook_ca_file: Option<PathBuf>,

    /// Seconds allowed for each step of a webhook POST.
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    pub webhook_timeout: f64,

    /// Serve Prometheus metrics at http://ADDR/metrics (loopback only,
    /// unless --metrics-allow-remote).
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<SocketAddr>,

    /// Allow --metrics on a non-loopback address.
    #[arg(long, requires = "metrics")]
    pub metrics_allow_remote: bool,

    /// Sweep every TCP port of the declared hosts on each run (as `audit --all-ports`).
    #[arg(long)]
    pub all_ports: bool,

    /// Connection attempts in flight per address during `--all-ports`.
    #[arg(long, default_value_t = 256, value_name = "N")]
    pub sweep_concurrency: usize,

    /// Check certificates against this name when a service names none.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// A run whose findings reach this severity has exit status 1 in its
    /// JSON line and in the metrics.
    #[arg(long, value_name = "SEVERITY", value_parser = crate::cli::parse_severity)]
    pub fail_on: Option<Severity>,

    /// How to probe.
    #[command(flatten)]
    pub probe: ProbeArgs,

    /// The history store.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// One JSON line of `watch`.
#[derive(Debug, Serialize)]
struct RunLine {
    event: &'static str,
    /// The run's id in the store (absent with --no-store).
    #[serde(skip_serializing_if = "Option::is_none")]
    run: Option<i64>,
    started_at: jiff::Timestamp,
    finished_at: jiff::Timestamp,
    duration_ms: u64,
    exit_status: i32,
    findings: SeverityCounts,
    /// The run compared with; absent for the first run of these targets.
    #[serde(skip_serializing_if = "Option::is_none")]
    previous: Option<Side>,
    changed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    changes: Option<mailwarden_store::RunDiff>,
}

#[derive(Debug, Serialize)]
struct ErrorLine {
    event: &'static str,
    at: jiff::Timestamp,
    message: String,
}

/// `30s`, `15m`, `6h`, `1d`, and sums such as `1h30m`; at least one second.
pub fn parse_interval(text: &str) -> Result<Duration, String> {
    let bad = || format!("{text:?} is not an interval such as 30s, 15m, 6h, 1d or 1h30m");
    let mut total: u64 = 0;
    let mut number = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(bad()),
        };
        let n: u64 = number.parse().map_err(|_| bad())?;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
        number.clear();
    }
    if !number.is_empty() || total == 0 {
        return Err(bad());
    }
    Ok(Duration::from_secs(total))
}

pub fn run(args: WatchArgs) -> anyhow::Result<ExitCode> {
    let hook = args
        .webhook
        .as_deref()
        .map(|url| {
            webhook::Webhook::parse(
                url,
                timeout(args.webhook_timeout)?,
                args.webhook_ca_file.as_deref(),
            )
        })
        .transpose()?;
    let state = Arc::new(Mutex::new(metrics::State::default()));
    if let Some(addr) = args.metrics {
        if !addr.ip().is_loopback() && !args.metrics_allow_remote {
            bail!(
                "--metrics {addr}: not a loopback address; the metrics tell anyone who can reach them \
                 which ports and certificates are weak. Use 127.0.0.1 or ::1, or add --metrics-allow-remote"
            );
        }
        let bound = metrics::serve(addr, state.clone())?;
        eprintln!("mailwarden: metrics at http://{bound}/metrics");
    }
    let store_path = crate::history_cmd::store_path(&args.store)?;
    let mut previous: Option<(Side, ScanReport)> = None;
    let mut done = 0u32;
    loop {
        let started = Instant::now();
        match review(&args, &store_path, &mut previous) {
            Ok((line, report)) => {
                // The metrics first: whoever hears of the run (the JSON
                // line, the webhook) and then scrapes must see this run.
                if let Ok(mut s) = state.lock() {
                    s.update(
                        &report,
                        line.exit_status,
                        line.duration_ms,
                        line.changes.as_ref(),
                    );
                }
                let text = serde_json::to_string(&line).context("serializing a run line")?;
                print_line(&text)?;
                if let (Some(hook), true) = (&hook, line.changed)
                    && let Err(e) = hook.post(&text)
                {
                    print_error(&format!("webhook: {e:#}"))?;
                }
            }
            Err(e) => {
                print_error(&format!("{e:#}"))?;
                if let Ok(mut s) = state.lock() {
                    s.failed(jiff::Timestamp::now());
                }
            }
        }
        done += 1;
        if args.runs.is_some_and(|n| done >= n) {
            return Ok(ExitCode::SUCCESS);
        }
        if let Some(rest) = args.every.checked_sub(started.elapsed()) {
            std::thread::sleep(rest);
        }
    }
}

fn timeout(seconds: f64) -> anyhow::Result<Duration> {
    if !(seconds > 0.0 && seconds <= 3600.0) {
        bail!("--webhook-timeout must be between 0 and 3600 seconds");
    }
    Ok(Duration::from_secs_f64(seconds))
}

fn print_line(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}").context("writing to standard output")?;
    out.flush().context("writing to standard output")
}

fn print_error(message: &str) -> anyhow::Result<()> {
    let line = ErrorLine {
        event: "error",
        at: jiff::Timestamp::now(),
        message: message.to_owned(),
    };
    print_line(&serde_json::to_string(&line).context("serializing an error line")?)
}

/// One audit: scan, judge, store, diff against the previous run.
fn review(
    args: &WatchArgs,
    store_path: &Option<PathBuf>,
    previous: &mut Option<(Side, ScanReport)>,
) -> anyhow::Result<(RunLine, ScanReport)> {
    let audit = audit_args(args);
    let policy = Arc::new(audit_cmd::load_policy(&args.policy)?);
    let mut report = audit_cmd::scan_declared(&audit, &policy)?;
    let ctx = mailwarden_rules::AssessContext::new(report.started_at).with_policy(policy.clone());
    report.assessment = mailwarden_rules::assess(&report.endpoints, &report.targets, &ctx);
    let code = crate::scan::exit_code(args.fail_on, &report.assessment.findings);
    let exit_status = if code == ExitCode::SUCCESS { 0 } else { 1 };
    let policy_text = args.policy.display().to_string();
    let run = crate::history_cmd::record(
        &args.store,
        RunKind::Audit,
        &report,
        Some(&policy_text),
        code,
    )?;
    // The previous run: the one kept from this watcher's last loop, else
    // the store's newest audit of the same targets before this one.
    if previous.is_none()
        && let (Some(path), Some(id)) = (store_path, run)
        && let Ok(Some(store)) = mailwarden_store::Store::open_existing(path)
        && let Ok(Some(before)) = store.previous(id)
    {
        *previous = Some((Side::of_run(&before), store.report(before.id)?));
    }
    let changes = previous
        .as_ref()
        .map(|(_, old)| mailwarden_store::diff(old, &report));
    let duration_ms = u64::try_from(
        report
            .finished_at
            .duration_since(report.started_at)
            .as_millis()
            .max(0),
    )
    .unwrap_or(0);
    let line = RunLine {
        event: "run",
        run,
        started_at: report.started_at,
        finished_at: report.finished_at,
        duration_ms,
        exit_status,
        findings: SeverityCounts::of(&report),
        previous: previous.as_ref().map(|(side, _)| side.clone()),
        changed: changes.as_ref().is_some_and(|c| !c.is_empty()),
        changes,
    };
    let side = Side {
        run,
        file: None,
        started_at: report.started_at,
        targets: report.targets.iter().map(|t| t.input.clone()).collect(),
    };
    *previous = Some((side, report.clone()));
    Ok((line, report))
}

fn audit_args(args: &WatchArgs) -> AuditArgs {
    AuditArgs {
        policy: args.policy.clone(),
        from: None,
        all_ports: args.all_ports,
        sweep_concurrency: args.sweep_concurrency,
        name: args.name.clone(),
        probe: args.probe.clone(),
        dns: crate::dns_cmd::DnsOptions::default(),
        report: ReportArgs {
            format: Format::Json,
            output: None,
            fail_on: args.fail_on,
            color: ColorChoice::Never,
            quiet: true,
            store: args.store.clone(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals() {
        assert_eq!(parse_interval("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_interval("6h"), Ok(Duration::from_secs(6 * 3600)));
        assert_eq!(parse_interval("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_interval("1d"), Ok(Duration::from_secs(86_400)));
        for bad in ["", "0s", "30", "h", "5x", "-1s", "99999999999999999999d"] {
            assert!(parse_interval(bad).is_err(), "{bad}");
        }
    }
}
