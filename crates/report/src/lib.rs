//! Renders what mailwarden found: scan reports for people (a terminal table
//! per target, then the findings with their evidence and remediation) and for
//! machines (the JSON schema of `mailwarden-model`), and the rule catalogue for
//! `mailwarden rules`.
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
mod style;
mod text;
mod tls_summary;

use mailwarden_model::ScanReport;

pub use catalogue::{render_catalogue, render_rule};
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
