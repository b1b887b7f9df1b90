//! The values a store takes and returns: the kind of a run, a run to
//! record, a stored run's summary with its findings per severity, the filter
//! of a listing, a stored leaf certificate and the indexed tables.

use jiff::Timestamp;
use mailwarden_model::{ScanReport, Severity};
use serde::Serialize;

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

    pub(crate) fn parse(s: &str) -> RunKind {
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
    pub(crate) fn name(self) -> &'static str {
        match self {
            IndexedTable::Endpoints => "endpoints",
            IndexedTable::Findings => "findings",
            IndexedTable::Certificates => "certificates",
        }
    }
}
