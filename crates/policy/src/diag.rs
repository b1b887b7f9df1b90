//! Diagnostics about a policy file: what is wrong, where (line and column),
//! and how to fix it, rendered like a compiler message:
//!
//! ```text
//! mail.toml:7:7: error: unknown TLS mode `startls`
//!   |
//! 7 | tls = "startls"
//!   |       ^^^^^^^^^
//!   = hint: did you mean `starttls`? (one of: plaintext, starttls, starttls-required, implicit)
//! ```

use std::fmt::Write as _;
use std::ops::Range;

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    /// The file is usable; the point deserves attention.
    Warning,
    /// The file cannot be used.
    Error,
}

impl Level {
    /// `warning` or `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

/// One problem found in a policy file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub level: Level,
    /// What is wrong, one sentence without a final period.
    pub message: String,
    /// The bytes of the source the problem is about, when known.
    pub span: Option<Range<usize>>,
    /// How to fix it.
    pub hint: Option<String>,
}

impl Diagnostic {
    /// An error at `span`.
    pub fn error(message: impl Into<String>, span: Option<Range<usize>>) -> Self {
        Diagnostic {
            level: Level::Error,
            message: message.into(),
            span,
            hint: None,
        }
    }

    /// A warning at `span`.
    pub fn warning(message: impl Into<String>, span: Option<Range<usize>>) -> Self {
        Diagnostic {
            level: Level::Warning,
            message: message.into(),
            span,
            hint: None,
        }
    }

    /// Adds a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The 1-based line and column (in characters) where the span starts.
    pub fn line_col(&self, source: &str) -> Option<(usize, usize)> {
        let start = self.span.as_ref()?.start.min(source.len());
        Some(line_col(source, start))
    }

    /// Renders the diagnostic: `origin:line:col: level: message`, the
    /// offending line with a caret under the span, and the hint.
    pub fn render(&self, origin: &str, source: &str) -> String {
        let mut out = String::new();
        let Some(span) = &self.span else {
            let _ = writeln!(out, "{origin}: {}: {}", self.level.as_str(), self.message);
            if let Some(hint) = &self.hint {
                let _ = writeln!(out, "  = hint: {hint}");
            }
            return out;
        };
        let start = floor_char_boundary(source, span.start.min(source.len()));
        let (line, col) = line_col(source, start);
        let _ = writeln!(
            out,
            "{origin}:{line}:{col}: {}: {}",
            self.level.as_str(),
            self.message
        );
        let line_start = source
            .get(..start)
            .map_or(0, |s| s.rfind('\n').map_or(0, |i| i + 1));
        let line_end = source
            .get(start..)
            .and_then(|s| s.find('\n'))
            .map_or(source.len(), |i| start + i);
        let text = source
            .get(line_start..line_end)
            .unwrap_or("")
            .trim_end_matches('\r');
        let width = line.to_string().len();
        let pad = " ".repeat(width);
        let _ = writeln!(out, "{pad} |");
        let _ = writeln!(out, "{line} | {text}");
        // The caret covers the span on this line only (at least one column).
        let end = floor_char_boundary(source, span.end.clamp(start, line_end.max(start)));
        let carets = source
            .get(start..end)
            .map_or(0, |s| s.chars().count())
            .max(1);
        let _ = writeln!(
            out,
            "{pad} | {}{}",
            " ".repeat(col.saturating_sub(1)),
            "^".repeat(carets)
        );
        if let Some(hint) = &self.hint {
            let _ = writeln!(out, "{pad} = hint: {hint}");
        }
        out
    }
}

/// 1-based line and character column of byte `offset`.
fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let before = source.get(..offset).unwrap_or(source);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// A policy file that could not be used: every diagnostic found, errors first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    /// The file name (or other origin) used in messages.
    pub origin: String,
    /// The file's text, for rendering.
    pub source: String,
    /// Errors and warnings, in file order.
    pub diagnostics: Vec<Diagnostic>,
}

impl PolicyError {
    /// The errors (not the warnings).
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.level == Level::Error)
    }
}

impl std::fmt::Display for PolicyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut first = true;
        for d in &self.diagnostics {
            if !first {
                f.write_str("\n")?;
            }
            first = false;
            f.write_str(&d.render(&self.origin, &self.source))?;
        }
        let errors = self.errors().count();
        write!(
            f,
            "{}: {} error{} in the policy file",
            self.origin,
            errors,
            if errors == 1 { "" } else { "s" }
        )
    }
}

impl std::error::Error for PolicyError {}

/// The candidate closest to `input` when it is close enough to be a typo.
pub fn closest<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = input.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&lower, &c.to_ascii_lowercase()), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// "did you mean `x`? (one of: a, b, c)", or just the list.
pub fn suggestion(input: &str, candidates: &[&str]) -> String {
    let list = candidates.join(", ");
    match closest(input, candidates.iter().copied()) {
        Some(best) => format!("did you mean `{best}`? (one of: {list})"),
        None => format!("use one of: {list}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_line_column_and_caret() {
        let src = "a = 1\ntls = \"startls\"\n";
        let d = Diagnostic::error("unknown TLS mode `startls`", Some(12..21))
            .with_hint("did you mean `starttls`?");
        assert_eq!(d.line_col(src), Some((2, 7)));
        assert_eq!(
            d.render("p.toml", src),
            "p.toml:2:7: error: unknown TLS mode `startls`\n  |\n2 | tls = \"startls\"\n  |       ^^^^^^^^^\n  = hint: did you mean `starttls`?\n"
        );
    }

    #[test]
    fn spans_past_the_end_and_inside_characters_do_not_panic() {
        let src = "é = 1";
        #[allow(clippy::reversed_empty_ranges)]
        let spans = [0..100, 1..2, 100..200, 3..1];
        for span in spans {
            let d = Diagnostic::error("x", Some(span));
            let _ = d.render("p", src);
            let _ = d.line_col(src);
        }
    }

    #[test]
    fn suggestions_only_when_close() {
        assert_eq!(closest("hots", ["hosts", "ports", "name"]), Some("hosts"));
        assert_eq!(closest("zzz", ["hosts", "ports"]), None);
    }
}
