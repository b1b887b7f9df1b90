//! Reading a store: listing runs, finding a run's predecessor or newest
//! sibling of the same targets, reading a stored report back, and the
//! integrity check and row counts used by tests and tools.

use jiff::Timestamp;
use mailwarden_model::ScanReport;
use rusqlite::{OptionalExtension as _, params};

use crate::{
    Context as _, IndexedTable, RunFilter, RunKind, RunSummary, SeverityCounts, Store, StoreError,
    StoredCertificate,
};

impl Store {
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
