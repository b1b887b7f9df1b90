//! Renders what mailwarden found: scan reports for people (a terminal table
//! per target, then the findings with their evidence and remediation; a
//! Markdown ticket; one self-contained HTML page) and for machines (the JSON
//! schema of `mailwarden-model`; SARIF 2.1.0 for code-scanning dashboards;
//! JUnit XML for CI), and the rule catalogue for `mailwarden rules`.
//!
//! One module per format: `text`, `markdown`, `html`, `sarif`, `junit` (JSON
//! is [`render_json`]). Each documents its layout and how it escapes what
//! servers sent.
//!
//! Rendering never decides anything: verdicts and findings come from
//! `mailwarden-rules` through [`ScanReport::assessment`]. Text output is
//! deterministic for a given report and [`TextOptions`], so it can be
//! snapshot-tested: colour only when asked, and a fixed table width when given.
//! Everything a server sent is printed through [`mailwarden_model::Line`]'s
//! `Display`, which escapes control characters, so a hostile banner cannot
//! drive the terminal.
#![deny(missing_docs)]

mod catalogue;
mod cells;
mod findings;
mod html;
mod junit;
mod markdown;
mod sarif;
mod style;
mod text;
mod tls_summary;

use mailwarden_model::{EndpointObservation, Posture, ScanReport};

pub use catalogue::{render_catalogue, render_rule};
pub use html::render_html;
pub use junit::{JunitOptions, render_junit};
pub use markdown::render_markdown;
pub use sarif::{SARIF_SCHEMA_URI, render_sarif};
pub use text::render_text;

/// How to render text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TextOptions {
    /// Colour severities and verdicts with ANSI codes. The caller decides
    /// (a terminal, and `NO_COLOR` unset); when false the output has no
    /// escape sequence at all.
    pub color: bool,
    /// Total width of the endpoint tables, in columns; `None` lets the table
    /// take its natural width (or the terminal's, when stdout is one).
    pub width: Option<u16>,
}

/// The report as pretty-printed JSON, keys in struct order, ending with a
/// newline. This is the documented `--format json` schema.
pub fn render_json(report: &ScanReport) -> String {
    match serde_json::to_string_pretty(report) {
        Ok(mut json) => {
            json.push('\n');
            json
        }
        // The model's types serialize infallibly (no maps with non-string
        // keys, lines fall back to base64); keep the output valid JSON anyway.
        Err(e) => format!(
            "{{\"error\": {}}}\n",
            serde_json::Value::String(format!("cannot serialize the report: {e}"))
        ),
    }
}

/// Target names in report order: declared targets first, then any endpoint's
/// or finding's target that was not declared.
pub(crate) fn target_names(report: &ScanReport) -> Vec<String> {
    let mut names: Vec<String> = report.targets.iter().map(|t| t.input.clone()).collect();
    let more = report
        .endpoints
        .iter()
        .map(|e| &e.target)
        .chain(report.assessment.findings.iter().map(|f| &f.target));
    for t in more {
        if !names.contains(t) {
            names.push(t.clone());
        }
    }
    names
}

/// The verdict and context of one endpoint (not assessed, "—" when the
/// report has none).
pub(crate) fn verdict<'a>(report: &'a ScanReport, obs: &EndpointObservation) -> (Posture, &'a str) {
    report
        .assessment
        .endpoints
        .iter()
        .find(|a| a.address == obs.address && a.target == obs.target)
        .map_or((Posture::NotAssessed, cells::NONE), |a| {
            (a.posture, a.context.as_str())
        })
}
