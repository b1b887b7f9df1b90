//! `mailwarden diff [OLD] [NEW]`: what changed between two runs.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::{Args, ValueEnum};
use mailwarden_model::ScanReport;
use mailwarden_store::{RunDiff, RunSummary, Store};
use serde::Serialize;

use crate::cli::StoreArgs;

/// `mailwarden diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The older run: a run id from `mailwarden history`, or a JSON report
    /// file (`scan`/`audit --format json`). Default: the run before NEW of
    /// the same kind and targets.
    #[arg(value_name = "OLD")]
    pub old: Option<String>,

    /// The newer run (id or JSON file). Default: the newest run of OLD's kind
    /// and targets; without OLD, the newest run of all.
    #[arg(value_name = "NEW")]
    pub new: Option<String>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    pub format: DiffFormat,

    /// Exit with status 1 when something changed (as `git diff --exit-code`).
    #[arg(long)]
    pub exit_code: bool,

    /// The history store.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// `diff --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    /// One line per change, grouped by kind.
    Text,
    /// `{"old": {...}, "new": {...}, "changes": {...}}`.
    Json,
}

/// One side of a diff.
#[derive(Debug, Clone, Serialize)]
pub struct Side {
    /// The run id, when it came from the store.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<i64>,
    /// The JSON file, when it came from one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// When the run started.
    pub started_at: jiff::Timestamp,
    /// Its targets.
    pub targets: Vec<String>,
}

impl Side {
    pub fn of_run(r: &RunSummary) -> Side {
        Side {
            run: Some(r.id),
            file: None,
            started_at: r.started_at,
            targets: r.targets.clone(),
        }
    }

    fn label(&self) -> String {
        match (self.run, &self.file) {
            (Some(id), _) => format!(
                "run {id} ({})",
                self.started_at.strftime("%Y-%m-%d %H:%M:%S UTC")
            ),
            (None, Some(f)) => format!(
                "{} ({})",
                mailwarden_model::Line::from(f.as_str()),
                self.started_at
            ),
            (None, None) => self.started_at.to_string(),
        }
    }
}

/// A diff with the runs it compares: the JSON of `diff --format json`, and
/// of each line `watch` prints.
#[derive(Debug, Clone, Serialize)]
pub struct Compared {
    /// The older run.
    pub old: Side,
    /// The newer run.
    pub new: Side,
    /// True when anything changed.
    pub changed: bool,
    /// The changes.
    pub changes: RunDiff,
}

pub fn run(args: DiffArgs) -> anyhow::Result<ExitCode> {
    let ((old, old_report), (new, new_report)) = resolve(&args)?;
    let changes = mailwarden_store::diff(&old_report, &new_report);
    let compared = Compared {
        changed: !changes.is_empty(),
        old,
        new,
        changes,
    };
    let text = match args.format {
        DiffFormat::Json => {
            let mut json =
                serde_json::to_string_pretty(&compared).context("serializing the diff")?;
            json.push('\n');
            json
        }
        DiffFormat::Text => {
            let header = format!(
                "Changes from {} to {}",
                compared.old.label(),
                compared.new.label()
            );
            mailwarden_store::diff::render_text(&compared.changes, &header)
        }
    };
    print!("{text}");
    Ok(if args.exit_code && compared.changed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// A command-line run reference: an id, or a file.
enum Ref {
    Run(i64),
    File(String),
}

fn parse_ref(text: &str) -> Ref {
    match text.parse::<i64>() {
        Ok(id) if !Path::new(text).exists() => Ref::Run(id),
        _ => Ref::File(text.to_owned()),
    }
}

type Loaded = (Side, ScanReport);

fn resolve(args: &DiffArgs) -> anyhow::Result<(Loaded, Loaded)> {
    let old = args.old.as_deref().map(parse_ref);
    let new = args.new.as_deref().map(parse_ref);
    if let (Some(Ref::File(a)), Some(Ref::File(b))) = (&old, &new) {
        return Ok((file(a)?, file(b)?));
    }
    let store = crate::history_cmd::open_for_reading(&args.store)?;
    let from_store = |id: i64| -> anyhow::Result<Loaded> {
        let summary = store.run(id)?;
        Ok((Side::of_run(&summary), store.report(id)?))
    };
    match (old, new) {
        (None, _) => {
            let newest = store
                .latest()?
                .context("the history is empty: nothing to compare")?;
            let previous = previous(&store, &newest)?;
            Ok((from_store(previous.id)?, from_store(newest.id)?))
        }
        (Some(Ref::Run(o)), None) => {
            let newest = store.newest_like(o)?;
            if newest.id == o {
                bail!("run {o} is the newest run of its targets: give NEW, or run again first");
            }
            Ok((from_store(o)?, from_store(newest.id)?))
        }
        (Some(Ref::File(f)), None) => {
            bail!("OLD is the file {f}: give NEW as well (a run id or a file)")
        }
        (Some(o), Some(n)) => {
            let load = |r: Ref| match r {
                Ref::Run(id) => from_store(id),
                Ref::File(f) => file(&f),
            };
            Ok((load(o)?, load(n)?))
        }
    }
}

fn previous(store: &Store, newest: &RunSummary) -> anyhow::Result<RunSummary> {
    store.previous(newest.id)?.with_context(|| {
        format!(
            "run {} is the only {} of {}: nothing to compare it with yet",
            newest.id,
            newest.kind.as_str(),
            newest.targets.join(" ")
        )
    })
}

fn file(path: &str) -> anyhow::Result<Loaded> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    let report: ScanReport = serde_json::from_str(&text)
        .with_context(|| format!("{path} is not a mailwarden JSON report"))?;
    let side = Side {
        run: None,
        file: Some(path.to_owned()),
        started_at: report.started_at,
        targets: report.targets.iter().map(|t| t.input.clone()).collect(),
    };
    Ok((side, report))
}
