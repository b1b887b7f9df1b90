//! The scan report: observations plus assessment, as written by `--format json`.

use std::net::IpAddr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::{Attempt, DomainObservation, EndpointAssessment, EndpointObservation, Finding};

/// Identifier of this schema version; bumped on any incompatible change.
pub const SCHEMA_ID: &str = "mailwarden/scan/v1";

/// A complete scan: what was asked, what was seen, what it means.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanReport {
    /// Always [`SCHEMA_ID`].
    pub schema: String,
    /// The tool that wrote the report.
    pub tool: ToolInfo,
    /// When the scan started.
    pub started_at: Timestamp,
    /// When the scan finished.
    pub finished_at: Timestamp,
    /// The options that shaped the scan.
    pub options: ScanOptions,
    /// Each target and how it resolved.
    pub targets: Vec<TargetResult>,
    /// One observation per address and port.
    pub endpoints: Vec<EndpointObservation>,
    /// Mail domains and their DNS posture (`scan DOMAIN`, `dns DOMAIN`);
    /// absent when only hosts were scanned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub domains: Vec<DomainObservation>,
    /// The rules' verdicts; recomputable from the rest.
    pub assessment: Assessment,
}

/// Name and version of the tool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolInfo {
    /// "mailwarden".
    pub name: String,
    /// Semantic version.
    pub version: String,
}

/// The scan options that influence observations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanOptions {
    /// Ports probed.
    pub ports: Vec<u16>,
    /// Per-step network timeout, in milliseconds.
    pub timeout_ms: u64,
    /// Maximum concurrent connections in total.
    pub concurrency: usize,
    /// Maximum concurrent connections per host.
    pub per_host_concurrency: usize,
    /// Extra trust anchors file, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    /// Name used for certificate checks instead of the target, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// One target and its resolution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetResult {
    /// The target as given.
    pub input: String,
    /// The name certificates are checked against.
    pub check_name: String,
    /// The addresses it resolved to.
    pub resolution: Attempt<Vec<IpAddr>>,
}

/// Verdicts for a whole scan.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    /// Posture per endpoint, in endpoint order.
    pub endpoints: Vec<EndpointAssessment>,
    /// Findings, most severe first.
    pub findings: Vec<Finding>,
}
