//! Opening a store: creating its file and directory, configuring SQLite
//! (busy timeout, WAL, `synchronous = FULL`, foreign keys) and migrating the
//! schema to [`SCHEMA_VERSION`].

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};

use crate::{Context as _, SCHEMA_VERSION, Store, StoreError, schema};

/// How long a writer waits for another one to finish its transaction.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

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
}
