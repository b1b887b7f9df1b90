//! The rule catalogue as text, for `mailwarden rules` and `mailwarden rules ID`.

use std::fmt::Write as _;

use mailwarden_model::Severity;
use mailwarden_rules::{Context, Rule};

/// Width rationale paragraphs are wrapped to.
const WRAP: usize = 78;

/// Context columns of a rule's severity table: label, context, whether the
/// MX's senders authenticate it (DANE or MTA-STS).
const COLUMNS: [(&str, Context, bool); 7] = [
    ("mx", Context::Mx, false),
    ("mx + DANE/MTA-STS", Context::Mx, true),
    ("submission", Context::Submission, false),
    ("mail-access", Context::MailAccess, false),
    ("sieve", Context::Sieve, false),
    ("lmtp", Context::Lmtp, false),
    ("other", Context::Other, false),
];

/// One rule in full: id, name, title, rationale, severity per context,
/// remediation per server, references.
pub fn render_rule(rule: &Rule) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}  {}", rule.id, rule.name);
    let _ = writeln!(out, "{}\n", rule.title);
    for line in wrap(rule.rationale, WRAP) {
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(out, "\nSeverity (default {}):", rule.severities.default);
    for (label, context, authenticated) in COLUMNS {
        let sev = rule
            .severities
            .for_context(context, authenticated)
            .map_or("does not apply", Severity::as_str);
        let _ = writeln!(out, "  {label:<18} {sev}");
    }
    let r = &rule.remediation;
    let _ = writeln!(out, "\nRemediation:");
    let _ = writeln!(out, "  Postfix:    {}", r.postfix);
    let _ = writeln!(out, "  Dovecot:    {}", r.dovecot);
    let _ = writeln!(out, "  Exim:       {}", r.exim);
    let _ = writeln!(out, "  Any server: {}", r.generic);
    let _ = writeln!(out, "\nReferences:");
    for reference in rule.references {
        let _ = write!(out, "  {reference}");
        if let Some(url) = reference.url() {
            let _ = write!(out, " <{url}>");
        }
        out.push('\n');
    }
    out
}

/// Every rule on one line: id, name, the range of its severities across
/// contexts, title.
pub fn render_catalogue(rules: &[Rule]) -> String {
    let id_width = rules.iter().map(|r| r.id.len()).max().unwrap_or(0);
    let name_width = rules.iter().map(|r| r.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for rule in rules {
        let _ = writeln!(
            out,
            "{:<id_width$}  {:<name_width$}  {:<16}  {}",
            rule.id,
            rule.name,
            severity_range(rule),
            rule.title
        );
    }
    let _ = writeln!(
        out,
        "\n{} rules. `mailwarden rules ID` shows one in full (severity per context, \
         remediation, references).",
        rules.len()
    );
    out
}

/// "medium..high", or "info" when every context agrees.
fn severity_range(rule: &Rule) -> String {
    let all: Vec<Severity> = COLUMNS
        .iter()
        .filter_map(|(_, c, a)| rule.severities.for_context(*c, *a))
        .collect();
    match (all.iter().min(), all.iter().max()) {
        (Some(lo), Some(hi)) if lo == hi => lo.to_string(),
        (Some(lo), Some(hi)) => format!("{lo}..{hi}"),
        _ => "-".to_owned(),
    }
}

/// Greedy word wrap.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        if !current.is_empty() && current.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_keeps_words_whole() {
        assert_eq!(wrap("aa bb cc", 5), vec!["aa bb", "cc"]);
        assert_eq!(wrap("", 5), Vec::<String>::new());
        assert_eq!(
            wrap("averyveryverylongword x", 5),
            vec!["averyveryverylongword", "x"]
        );
    }
}
