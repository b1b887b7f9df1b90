//! Colours, by severity only, applied only when the caller asked for colour.

use comfy_table::Color;
use mailwarden_model::Severity;
use owo_colors::{OwoColorize, Style};

/// The terminal style of a severity.
fn style(severity: Severity) -> Style {
    match severity {
        Severity::Critical => Style::new().bright_red().bold(),
        Severity::High => Style::new().red().bold(),
        Severity::Medium => Style::new().yellow(),
        Severity::Low => Style::new().cyan(),
        Severity::Info => Style::new().dimmed(),
    }
}

/// `text` in the colour of `severity`, or as is when `color` is false.
pub(crate) fn paint(text: &str, severity: Option<Severity>, color: bool) -> String {
    match severity {
        Some(s) if color => text.style(style(s)).to_string(),
        _ => text.to_owned(),
    }
}

/// The table cell colour of a severity.
pub(crate) fn cell_color(severity: Severity) -> Color {
    match severity {
        Severity::Critical | Severity::High => Color::Red,
        Severity::Medium => Color::Yellow,
        Severity::Low => Color::Cyan,
        Severity::Info => Color::Grey,
    }
}

/// "[HIGH]", "[CRITICAL]".
pub(crate) fn tag(severity: Severity) -> String {
    format!("[{}]", severity.as_str().to_ascii_uppercase())
}
