//! Recording a run: the `runs` row and the indexed rows, written in one
//! transaction (with the crash-test pause inside it).

use std::time::Duration;

use rusqlite::{TransactionBehavior, params};

use crate::{Context as _, NewRun, SeverityCounts, Store, StoreError, rows};

/// Test hook: milliseconds to sleep inside the write transaction of
/// [`Store::record`], after the run row and before the commit, so a crash
/// test can kill a writer mid-transaction deterministically. Never set in use.
pub const PAUSE_ENV: &str = "MAILWARDEN_TEST_STORE_PAUSE_MS";

impl Store {
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
