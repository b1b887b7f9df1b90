//! The history of mailwarden: every `scan` and `audit` run stored in an
//! embedded SQLite database, and the [`diff()`] between two runs.
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
mod open;
mod query;
mod record;
mod rows;
mod run;
pub mod schema;

use std::path::PathBuf;

use rusqlite::Connection;

pub use diff::{RunDiff, diff};
pub use record::PAUSE_ENV;
pub use run::{
    IndexedTable, NewRun, RunFilter, RunKind, RunSummary, SeverityCounts, StoredCertificate,
};
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

/// An open history store.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
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
