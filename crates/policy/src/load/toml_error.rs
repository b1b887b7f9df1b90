//! The deserializer's one error (TOML syntax, unknown key or value, missing
//! key, wrong type) turned into a [`Diagnostic`] with a hint.

use std::ops::Range;

use crate::Diagnostic;
use crate::diag::suggestion;
use crate::schema::{TOP_LEVEL_KEYS, missing_key_hint};

/// Turns the deserializer's error into a diagnostic with a hint.
pub(super) fn from_toml_error(e: &toml::de::Error, source: &str) -> Diagnostic {
    let message = e.message().trim().to_owned();
    let span = e.span();
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (key, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let mut candidates: Vec<&str> = backticked(expected);
        if candidates.is_empty() && expected.contains("no fields") {
            candidates = Vec::new();
        }
        if candidates.is_empty() && at_top_level(source, span.as_ref()) {
            candidates = TOP_LEVEL_KEYS.to_vec();
        }
        let hint = if candidates.is_empty() {
            "remove it: this table takes no such key".to_owned()
        } else {
            suggestion(key, &candidates)
        };
        let section = span
            .as_ref()
            .and_then(|s| source.get(..s.start))
            .is_some_and(|before| before.trim_end_matches(' ').ends_with('['));
        let what = if section { "section" } else { "key" };
        return Diagnostic::error(format!("unknown {what} `{key}`"), span).with_hint(hint);
    }
    if let Some(rest) = message.strip_prefix("unknown variant `") {
        let (value, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let candidates = backticked(expected);
        return Diagnostic::error(format!("unknown value `{value}`"), span)
            .with_hint(suggestion(value, &candidates));
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let key = rest.split('`').next().unwrap_or(rest);
        let d = Diagnostic::error(format!("missing key `{key}`"), span);
        return match missing_key_hint(key) {
            Some(h) => d.with_hint(h),
            None => d,
        };
    }
    if message.contains("expected u16") {
        return Diagnostic::error(message, span)
            .with_hint("ports are whole numbers from 1 to 65535");
    }
    let d = Diagnostic::error(
        message.lines().next().unwrap_or("invalid TOML").to_owned(),
        span,
    );
    let rest: Vec<&str> = message
        .lines()
        .skip(1)
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if rest.is_empty() {
        d
    } else {
        d.with_hint(rest.join("; "))
    }
}

/// The words between backticks in "expected one of `a`, `b`".
fn backticked(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

/// True when the span is in the part of the file before any table header.
fn at_top_level(source: &str, span: Option<&Range<usize>>) -> bool {
    let Some(span) = span else { return false };
    let before = source.get(..span.start).unwrap_or("");
    !before.lines().any(|l| l.trim_start().starts_with('['))
}
