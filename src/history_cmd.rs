//! `mailwarden history`: the stored runs; and [`record`], which `scan`,
//! `audit` and `watch` call to store each run.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use mailwarden_model::{ScanReport, Severity};
use mailwarden_store::{NewRun, RunFilter, RunKind, RunSummary, Store};

use crate::cli::{ReportArgs, StoreArgs};

/// `mailwarden history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// A run id: print that run's stored report (in `--format`) instead of the list.
    #[arg(value_name = "RUN")]
    pub run: Option<i64>,

    /// Only runs that scanned this target.
    #[arg(long, value_name = "TARGET")]
    pub target: Option<String>,

    /// Only scans or only audits.
    #[arg(long, value_enum)]
    pub kind: Option<KindArg>,

    /// At most this many runs, newest first.
    #[arg(long, short = 'n', value_name = "N")]
    pub limit: Option<u32>,

    /// How to print the list (`text` or `json`) or the run's report (any format).
    #[command(flatten)]
    pub report: ReportArgs,
}

/// `--kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    /// `mailwarden scan` runs.
    Scan,
    /// `mailwarden audit` and `watch` runs.
    Audit,
}

/// The store the options name, or the default one; `None` with `--no-store`.
pub fn store_path(args: &StoreArgs) -> anyhow::Result<Option<PathBuf>> {
    if args.no_store {
        return Ok(None);
    }
    match &args.store {
        Some(p) => Ok(Some(p.clone())),
        None => mailwarden_store::default_path().map(Some).context(
            "no history location: set XDG_DATA_HOME or HOME, or pass --store PATH or --no-store",
        ),
    }
}

/// Stores one run (one transaction) unless `--no-store`. With an explicit
/// `--store`, a failure is an error the caller returns after emitting its
/// report (so the report is never lost); with the default location it is a
/// warning on standard error, and the command's exit status is unchanged.
pub fn record(
    args: &StoreArgs,
    kind: RunKind,
    report: &ScanReport,
    policy: Option<&str>,
    code: ExitCode,
) -> anyhow::Result<Option<i64>> {
    let Some(path) = store_path(args)? else {
        return Ok(None);
    };
    let exit_status = if code == ExitCode::SUCCESS { 0 } else { 1 };
    let stored = Store::open(&path)
        .and_then(|mut store| {
            store.record(&NewRun {
                kind,
                report,
                policy,
                exit_status,
            })
        })
        .with_context(|| format!("recording the run in the history store {}", path.display()));
    match stored {
        Ok(id) => Ok(Some(id)),
        Err(e) if args.store.is_none() => {
            eprintln!(
                "mailwarden: warning: {e:#} (the report is complete; --no-store skips the history)"
            );
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Opens the store for reading; a clear error when there is none yet.
pub fn open_for_reading(args: &StoreArgs) -> anyhow::Result<Store> {
    let path = store_path(args)?.context("--no-store: there is no history to read")?;
    Store::open_existing(&path)
        .with_context(|| format!("history store {}", path.display()))?
        .with_context(|| {
            format!(
                "no history at {} yet: `mailwarden scan` and `mailwarden audit` record their runs there",
                path.display()
            )
        })
}

pub fn run(args: HistoryArgs) -> anyhow::Result<ExitCode> {
    let store = open_for_reading(&args.report.store)?;
    if let Some(id) = args.run {
        let summary = store.run(id)?;
        let report = store.report(id)?;
        let text = crate::scan::render_run(&args.report, &report, summary.kind == RunKind::Audit);
        crate::scan::emit(&args.report, &text)?;
        return Ok(ExitCode::SUCCESS);
    }
    let filter = RunFilter {
        target: args.target.clone(),
        kind: args.kind.map(|k| match k {
            KindArg::Scan => RunKind::Scan,
            KindArg::Audit => RunKind::Audit,
        }),
        limit: args.limit,
    };
    let runs = store.runs(&filter)?;
    let text = match args.report.format {
        crate::cli::Format::Json => {
            let mut json = serde_json::to_string_pretty(&runs).context("serializing the runs")?;
            json.push('\n');
            json
        }
        crate::cli::Format::Text => list_text(&runs),
        other => anyhow::bail!(
            "--format {}: the run list is text or json (give a RUN id to print a report in any format)",
            other
                .to_possible_value()
                .map_or_else(String::new, |v| v.get_name().to_owned())
        ),
    };
    crate::scan::emit(&args.report, &text)?;
    Ok(ExitCode::SUCCESS)
}

/// One line per run, newest first.
fn list_text(runs: &[RunSummary]) -> String {
    if runs.is_empty() {
        return "No runs.\n".to_owned();
    }
    let mut out = format!(
        "{:>5}  {:<20}  {:<5}  {:>4}  {:>4}  {:>4}  {:>4}  {:>4}  {:>4}  {:>7}  {}\n",
        "RUN",
        "STARTED (UTC)",
        "KIND",
        "CRIT",
        "HIGH",
        "MED",
        "LOW",
        "INFO",
        "EXIT",
        "TIME",
        "TARGETS"
    );
    for r in runs {
        let c = &r.findings;
        out.push_str(&format!(
            "{:>5}  {:<20}  {:<5}  {:>4}  {:>4}  {:>4}  {:>4}  {:>4}  {:>4}  {:>6.1}s  {}{}\n",
            r.id,
            r.started_at.strftime("%Y-%m-%d %H:%M:%S"),
            r.kind.as_str(),
            c.count(Severity::Critical),
            c.count(Severity::High),
            c.count(Severity::Medium),
            c.count(Severity::Low),
            c.count(Severity::Info),
            r.exit_status,
            r.duration_ms as f64 / 1000.0,
            mailwarden_model::Line::from(r.targets.join(" ").as_str()),
            r.policy
                .as_deref()
                .map(|p| format!("  (policy {})", mailwarden_model::Line::from(p)))
                .unwrap_or_default(),
        ));
    }
    out
}
