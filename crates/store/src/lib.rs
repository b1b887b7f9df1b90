//! The history of mailwarden: every `scan` and `audit` run stored in an
//! embedded SQLite database, and the [`diff`] between two runs.
//!
//! A run is written in **one transaction**: a row in `runs` carrying the whole
//! JSON report (the source of truth, re-readable with [`Store::report`]), plus
//! indexed rows per endpoint, finding and certificate for queries. The
//! database runs in WAL mode with `synchronous = FULL`, so a process killed at
//! any instant (even `kill -9` in the middle of that transaction) leaves every
//! run committed before intact and the file consistent; the interrupted run
//! is simply absent. Concurrent writers (several `mailwarden` processes)
//! queue on SQLite's lock with a generous busy timeout.
//!
//! The schema is versioned (`PRAGMA user_version`) and brought up to date by
//! ordered, append-only migrations when a store is opened ([`schema`]); a
//! store written by a newer mailwarden is refused rather than misread.
//!
//! ```no_run
//! # fn main() -> Result<(), mailwarden_store::StoreError> {
//! # let report: mailwarden_model::ScanReport = unimplemented!();
//! use mailwarden_store::{NewRun, RunKind, Store};
//! let mut store = Store::open(std::path::Path::new("history.sqlite"))?;
//! let id = store.record(&NewRun { kind: RunKind::Scan, report: &report, policy: None, exit_status: 0 })?;
//! let back = store.report(id)?;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

pub mod diff;
mod rows;
pub mod schema;

use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::Timestamp;
use mailwarden_model::{ScanReport, Severity};
use rusqlite::{Connection, OptionalExtension as _, TransactionBehavior, params};
use serde::Serialize;

pub use diff::{RunDiff, diff};
pub use schema::SCHEMA_VERSION;

/// What can go wrong with the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite refused an operation.
    #[error("{context}: {source}")]
    Sqlite {
        /// What was being done.
        context: String,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// The directory of the store could not be created.
    #[error("cannot create {path}: {source}")]
    Directory {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The store was written by a newer mailwarden.
    #[error(
        "the store has schema version {found}; this mailwarden knows up to {known}: use a newer mailwarden or another --store"
    )]
    TooNew {
        /// The store's version.
        found: i64,
        /// The newest version this build knows.
        known: i64,
    },
    /// No run has this id.
    #[error("no run {0} in the store (`mailwarden history` lists them)")]
    NoSuchRun(i64),
    /// A stored report does not parse.
    #[error("run {id}: the stored report does not parse: {source}")]
    BadReport {
        /// The run.
        id: i64,
        /// The JSON error.
        source: serde_json::Error,
    },
    /// The report could not be serialized.
    #[error("cannot serialize the report: {0}")]
    Serialize(serde_json::Error),
}

trait Context<T> {
    fn context(self, what: &str) -> Result<T, StoreError>;
}

impl<T> Context<T> for rusqlite::Result<T> {
    fn context(self, what: &str) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Sqlite {
            context: what.to_owned(),
            source,
        })
    }
}

/// What kind of command produced a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunKind {
    /// `mailwarden scan`.
    Scan,
    /// `mailwarden audit` (and each review of `mailwarden watch`).
    Audit,
}

impl RunKind {
    /// "scan" or "audit".
    pub fn as_str(self) -> &'static str {
        match self {
            RunKind::Scan => "scan",
            RunKind::Audit => "audit",
        }
    }

    fn parse(s: &str) -> RunKind {
        if s == "audit" {
            RunKind::Audit
        } else {
            RunKind::Scan
        }
    }
}

/// A run to record.
#[derive(Debug, Clone, Copy)]
pub struct NewRun<'a> {
    /// Scan or audit.
    pub kind: RunKind,
    /// The judged report, as the command rendered it.
    pub report: &'a ScanReport,
    /// The policy file of an audit.
    pub policy: Option<&'a str>,
    /// The command's exit status (0, or 1 for findings at `--fail-on`).
    pub exit_status: i32,
}

/// One stored run, as `mailwarden history` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunSummary {
    /// The run id (increasing).
    pub id: i64,
    /// Scan or audit.
    pub kind: RunKind,
    /// When the run started.
    pub started_at: Timestamp,
    /// When it finished.
    pub finished_at: Timestamp,
    /// The targets, as given.
    pub targets: Vec<String>,
    /// The policy file of an audit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// The exit status of the command.
    pub exit_status: i32,
    /// Findings per severity.
    pub findings: SeverityCounts,
    /// Wall time of the run, in milliseconds.
    pub duration_ms: u64,
}

/// Findings counted by severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SeverityCounts {
    /// Critical findings.
    pub critical: u32,
    /// High findings.
    pub high: u32,
    /// Medium findings.
    pub medium: u32,
    /// Low findings.
    pub low: u32,
    /// Informational findings.
    pub info: u32,
}

impl SeverityCounts {
    /// Counts the findings of a report.
    pub fn of(report: &ScanReport) -> SeverityCounts {
        let mut c = SeverityCounts::default();
        for f in &report.assessment.findings {
            *c.slot(f.severity) += 1;
        }
        c
    }

    /// The count of one severity.
    pub fn count(&self, severity: Severity) -> u32 {
        match severity {
            Severity::Critical => self.critical,
            Severity::High => self.high,
            Severity::Medium => self.medium,
            Severity::Low => self.low,
            Severity::Info => self.info,
        }
    }

    fn slot(&mut self, severity: Severity) -> &mut u32 {
        match severity {
            Severity::Critical => &mut self.critical,
            Severity::High => &mut self.high,
            Severity::Medium => &mut self.medium,
            Severity::Low => &mut self.low,
            Severity::Info => &mut self.info,
        }
    }
}

/// Which runs to list.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    /// Only runs whose targets include this one.
    pub target: Option<String>,
    /// Only this kind.
    pub kind: Option<RunKind>,
    /// At most this many, newest first (`None`: all).
    pub limit: Option<u32>,
}

/// An open history store.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

/// How long a writer waits for another one to finish its transaction.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// Test hook: milliseconds to sleep inside the write transaction of
/// [`Store::record`], after the run row and before the commit, so a crash
/// test can kill a writer mid-transaction deterministically. Never set in use.
pub const PAUSE_ENV: &str = "MAILWARDEN_TEST_STORE_PAUSE_MS";

impl Store {
    /// Opens (creating it and its directory if needed) the store at `path`,
    /// in WAL mode, and migrates it to [`SCHEMA_VERSION`].
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Directory {
                path: dir.to_owned(),
                source,
            })?;
        }
        let conn = Connection::open(path).context(&format!("opening {}", path.display()))?;
        let mut store = Store {
            conn,
            path: path.to_owned(),
        };
        store.configure()?;
        store.migrate()?;
        Ok(store)
    }

    /// Opens an existing store; `Ok(None)` when there is no file at `path`
    /// (commands that only read never create one).
    pub fn open_existing(path: &Path) -> Result<Option<Store>, StoreError> {
        if !path.exists() {
            return Ok(None);
        }
        Store::open(path).map(Some)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn configure(&mut self) -> Result<(), StoreError> {
        self.conn
            .busy_timeout(BUSY_TIMEOUT)
            .context("setting the busy timeout")?;
        // WAL: readers never block the writer, and a commit is one append to
        // the log; FULL: the log is synced at each commit, so a committed run
        // survives even a power loss, not only a killed process.
        let mode: String = self
            .conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .context("switching to WAL mode")?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Sqlite {
                context: format!("switching to WAL mode (SQLite kept {mode:?})"),
                source: rusqlite::Error::InvalidQuery,
            });
        }
        self.conn
            .execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
            .context("setting pragmas")
    }

    /// The store's schema version.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .context("reading the schema version")
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        // The common case needs no lock: the store is already current.
        if self.schema_version()? == SCHEMA_VERSION {
            return Ok(());
        }
        loop {
            // Each step re-reads the version inside an immediate transaction:
            // two processes opening a new store at once migrate it once.
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .context("starting a migration")?;
            let version: i64 = tx
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .context("reading the schema version")?;
            if version > SCHEMA_VERSION {
                return Err(StoreError::TooNew {
                    found: version,
                    known: SCHEMA_VERSION,
                });
            }
            let Some(sql) = usize::try_from(version)
                .ok()
                .and_then(|v| schema::MIGRATIONS.get(v))
            else {
                return Ok(());
            };
            tx.execute_batch(sql)
                .context(&format!("migrating to schema version {}", version + 1))?;
            // PRAGMA takes no parameters; the value is our own integer.
            tx.execute_batch(&format!("PRAGMA user_version = {}", version + 1))
                .context("recording the schema version")?;
            tx.commit().context("committing a migration")?;
        }
    }

    /// Stores a run in one transaction; returns its id.
    pub fn record(&mut self, run: &NewRun<'_>) -> Result<i64, StoreError> {
        let report = run.report;
        let json = serde_json::to_string(report).map_err(StoreError::Serialize)?;
        let mut targets: Vec<String> = report.targets.iter().map(|t| t.input.clone()).collect();
        if targets.is_empty() {
            targets = rows::endpoint_targets(report);
        }
        let targets_json = serde_json::to_string(&targets).map_err(StoreError::Serialize)?;
        let counts = SeverityCounts::of(report);
        let duration_ms = report
            .finished_at
            .duration_since(report.started_at)
            .as_millis()
            .max(0);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .context("starting the run's transaction")?;
        tx.execute(
            "INSERT INTO runs (kind, started_at, finished_at, target_key, targets, policy,
                exit_status, critical, high, medium, low, info, duration_ms, tool_version,
                report_schema, report)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
            params![
                run.kind.as_str(),
                report.started_at.to_string(),
                report.finished_at.to_string(),
                target_key(&targets),
                targets_json,
                run.policy,
                run.exit_status,
                counts.critical,
                counts.high,
                counts.medium,
                counts.low,
                counts.info,
                i64::try_from(duration_ms).unwrap_or(i64::MAX),
                report.tool.version,
                report.schema,
                json,
            ],
        )
        .context("storing the run")?;
        let id = tx.last_insert_rowid();
        pause_for_crash_test();
        rows::insert(&tx, id, report)?;
        tx.commit().context("committing the run")?;
        Ok(id)
    }

    /// Runs, newest first.
    pub fn runs(&self, filter: &RunFilter) -> Result<Vec<RunSummary>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {SUMMARY_COLUMNS} FROM runs ORDER BY id DESC"
            ))
            .context("listing runs")?;
        let rows = stmt.query_map([], summary_row).context("listing runs")?;
        let mut out = Vec::new();
        for row in rows {
            let run = row.context("reading a run")?;
            if filter.kind.is_some_and(|k| k != run.kind) {
                continue;
            }
            if let Some(t) = &filter.target
                && !run.targets.iter().any(|x| x.eq_ignore_ascii_case(t))
            {
                continue;
            }
            out.push(run);
            if filter.limit.is_some_and(|l| out.len() >= l as usize) {
                break;
            }
        }
        Ok(out)
    }

    /// One run's summary.
    pub fn run(&self, id: i64) -> Result<RunSummary, StoreError> {
        self.conn
            .query_row(
                &format!("SELECT {SUMMARY_COLUMNS} FROM runs WHERE id = ?1"),
                [id],
                summary_row,
            )
            .optional()
            .context("reading a run")?
            .ok_or(StoreError::NoSuchRun(id))
    }

    /// The newest run, if any.
    pub fn latest(&self) -> Result<Option<RunSummary>, StoreError> {
        Ok(self
            .runs(&RunFilter {
                limit: Some(1),
                ..RunFilter::default()
            })?
            .into_iter()
            .next())
    }

    /// The newest run before `id` of the same kind and the same targets.
    pub fn previous(&self, id: i64) -> Result<Option<RunSummary>, StoreError> {
        let (key, kind): (String, String) = self
            .conn
            .query_row(
                "SELECT target_key, kind FROM runs WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .context("reading a run")?
            .ok_or(StoreError::NoSuchRun(id))?;
        self.neighbour(
            "SELECT id FROM runs WHERE target_key = ?1 AND kind = ?2 AND id < ?3 ORDER BY id DESC LIMIT 1",
            &key,
            &kind,
            id,
        )
    }

    /// The newest run of the same kind and targets as `id` (possibly `id`).
    pub fn newest_like(&self, id: i64) -> Result<RunSummary, StoreError> {
        let (key, kind): (String, String) = self
            .conn
            .query_row(
                "SELECT target_key, kind FROM runs WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .context("reading a run")?
            .ok_or(StoreError::NoSuchRun(id))?;
        self
            .neighbour(
                "SELECT id FROM runs WHERE target_key = ?1 AND kind = ?2 AND id >= ?3 ORDER BY id DESC LIMIT 1",
                &key,
                &kind,
                id,
            )?
            .map_or_else(|| self.run(id), Ok)
    }

    fn neighbour(
        &self,
        sql: &str,
        key: &str,
        kind: &str,
        id: i64,
    ) -> Result<Option<RunSummary>, StoreError> {
        let other: Option<i64> = self
            .conn
            .query_row(sql, params![key, kind, id], |r| r.get(0))
            .optional()
            .context("finding a run of the same targets")?;
        other.map(|o| self.run(o)).transpose()
    }

    /// The full report of a run.
    pub fn report(&self, id: i64) -> Result<ScanReport, StoreError> {
        let json: String = self
            .conn
            .query_row("SELECT report FROM runs WHERE id = ?1", [id], |r| r.get(0))
            .optional()
            .context("reading a report")?
            .ok_or(StoreError::NoSuchRun(id))?;
        serde_json::from_str(&json).map_err(|source| StoreError::BadReport { id, source })
    }

    /// SQLite's `PRAGMA integrity_check`: `["ok"]` for a sound database.
    pub fn integrity_check(&self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("PRAGMA integrity_check")
            .context("checking integrity")?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .context("checking integrity")?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .context("checking integrity")
    }

    /// Rows of one indexed table for a run (for tests and tools):
    /// `endpoints`, `findings` or `certificates`.
    pub fn count_rows(&self, table: IndexedTable, run: i64) -> Result<u64, StoreError> {
        let sql = format!("SELECT count(*) FROM {} WHERE run_id = ?1", table.name());
        self.conn
            .query_row(&sql, [run], |r| r.get(0))
            .context("counting rows")
    }

    /// The leaf certificates of a run: (target, address, sha256, not_after).
    pub fn leaf_certificates(&self, run: i64) -> Result<Vec<StoredCertificate>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT target, ip, port, sha256, subject, not_after FROM certificates
                 WHERE run_id = ?1 AND position = 0 ORDER BY ip, port",
            )
            .context("reading certificates")?;
        let rows = stmt
            .query_map([run], |r| {
                Ok(StoredCertificate {
                    target: r.get(0)?,
                    ip: r.get(1)?,
                    port: r.get(2)?,
                    sha256: r.get(3)?,
                    subject: r.get(4)?,
                    not_after: r.get::<_, Option<String>>(5)?.and_then(|t| t.parse().ok()),
                })
            })
            .context("reading certificates")?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .context("reading certificates")
    }
}

/// A stored leaf certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCertificate {
    /// The target.
    pub target: String,
    /// The address.
    pub ip: String,
    /// The port.
    pub port: u16,
    /// SHA-256 fingerprint.
    pub sha256: String,
    /// Subject DN.
    pub subject: String,
    /// End of validity.
    pub not_after: Option<Timestamp>,
}

/// The indexed tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexedTable {
    /// One row per endpoint.
    Endpoints,
    /// One row per finding.
    Findings,
    /// One row per certificate of each presented chain.
    Certificates,
}

impl IndexedTable {
    fn name(self) -> &'static str {
        match self {
            IndexedTable::Endpoints => "endpoints",
            IndexedTable::Findings => "findings",
            IndexedTable::Certificates => "certificates",
        }
    }
}

const SUMMARY_COLUMNS: &str = "id, kind, started_at, finished_at, targets, policy, exit_status, \
     critical, high, medium, low, info, duration_ms";

fn summary_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RunSummary> {
    let time = |i: usize| -> rusqlite::Result<Timestamp> {
        let text: String = r.get(i)?;
        text.parse().map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
        })
    };
    let targets: String = r.get(4)?;
    Ok(RunSummary {
        id: r.get(0)?,
        kind: RunKind::parse(&r.get::<_, String>(1)?),
        started_at: time(2)?,
        finished_at: time(3)?,
        targets: serde_json::from_str(&targets).unwrap_or_else(|_| vec![targets]),
        policy: r.get(5)?,
        exit_status: r.get(6)?,
        findings: SeverityCounts {
            critical: r.get(7)?,
            high: r.get(8)?,
            medium: r.get(9)?,
            low: r.get(10)?,
            info: r.get(11)?,
        },
        duration_ms: r.get::<_, i64>(12)?.try_into().unwrap_or(0),
    })
}

/// The key runs of the same targets share: sorted, deduplicated, lower-cased.
fn target_key(targets: &[String]) -> String {
    let mut t: Vec<String> = targets.iter().map(|s| s.to_ascii_lowercase()).collect();
    t.sort();
    t.dedup();
    t.join(" ")
}

fn pause_for_crash_test() {
    if let Some(ms) = std::env::var(PAUSE_ENV)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        std::thread::sleep(Duration::from_millis(ms));
    }
}

/// Where the history lives by default: `$XDG_DATA_HOME/mailwarden/history.sqlite`,
/// else `$HOME/.local/share/mailwarden/history.sqlite` (XDG Base Directory
/// specification: a relative `XDG_DATA_HOME` is ignored). `None` without either.
pub fn default_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .map(PathBuf::from)
                .filter(|p| p.is_absolute())
                .map(|h| h.join(".local").join("share"))
        })?;
    Some(base.join("mailwarden").join("history.sqlite"))
}
