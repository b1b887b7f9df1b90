//! Markdown, for a ticket: a summary line, per target a posture table, then
//! the findings, each with its evidence in a code block and its fix.
//!
//! Server-sent text is hostile: in table cells and prose it is escaped so it
//! can neither end a cell nor become HTML or a link (`\|`, `&lt;`, `\[`, and
//! the other Markdown punctuation backslash-escaped); in code blocks it is
//! fenced with more backticks than any run inside it, so it cannot close the
//! fence. Control characters are escaped everywhere, as in the text report.

use std::fmt::Write as _;

use mailwarden_model::{EndpointObservation, Finding, Line, ScanReport, Severity};

use crate::cells;

/// The report as GitHub-flavoured Markdown.
pub fn render_markdown(report: &ScanReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# mailwarden report\n");
    let _ = writeln!(
        out,
        "Scan started {} · {} {} · {}\n",
        report.started_at,
        escape(&report.tool.name),
        escape(&report.tool.version),
        counts(report)
    );
    for target in crate::target_names(report) {
        render_target(&mut out, report, &target);
    }
    out
}

fn counts(report: &ScanReport) -> String {
    Severity::ALL
        .iter()
        .rev()
        .map(|&s| {
            let n = report
                .assessment
                .findings
                .iter()
                .filter(|f| f.severity == s)
                .count();
            format!("{n} {s}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn render_target(out: &mut String, report: &ScanReport, target: &str) {
    let _ = writeln!(out, "## {}\n", escape(target));
    let rows: Vec<&EndpointObservation> = report
        .endpoints
        .iter()
        .filter(|e| e.target == target)
        .collect();
    if rows.is_empty() {
        let _ = writeln!(out, "No address scanned.\n");
    } else {
        let _ = writeln!(
            out,
            "| Address | State | Protocol | Verdict | TLS | Certificate | AUTH before / over TLS | Banner |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|---|---|");
        for obs in rows {
            let (posture, context) = crate::verdict(report, obs);
            let _ = writeln!(
                out,
                "| {} | {} | {} ({}) | **{}** | {} | {} | {} | {} |",
                obs.address,
                obs.state.as_str(),
                cells::protocol(obs),
                escape(context),
                posture.as_str(),
                cell(&cells::tls(obs)),
                cell(&cells::certificate(obs, report.started_at)),
                cell(&cells::auth(obs)),
                cell(&cells::banner(obs)),
            );
        }
        out.push('\n');
    }
    let findings: Vec<&Finding> = report
        .assessment
        .findings
        .iter()
        .filter(|f| f.target == target)
        .collect();
    if findings.is_empty() {
        let _ = writeln!(out, "No findings.\n");
        return;
    }
    let _ = writeln!(out, "### Findings ({})\n", findings.len());
    for f in findings {
        finding(out, f);
    }
}

fn finding(out: &mut String, f: &Finding) {
    let where_ = f
        .address
        .map_or_else(|| escape(&f.target), |a| a.to_string());
    let _ = writeln!(
        out,
        "#### {} {} `{}` — {where_}\n",
        f.severity.as_str().to_ascii_uppercase(),
        escape(&f.rule_id),
        f.rule.replace('`', "'"),
    );
    let _ = writeln!(out, "{}\n", escape(&f.summary));
    for ev in &f.evidence {
        let _ = writeln!(out, "{}:\n", escape(&ev.label));
        let lines: Vec<String> = ev.lines.iter().map(Line::to_string).collect();
        let body = lines.join("\n");
        let fence = "`".repeat(longest_backtick_run(&body).max(2) + 1);
        let _ = writeln!(out, "{fence}text\n{body}\n{fence}\n");
    }
    let _ = writeln!(out, "**Fix:** {}\n", escape(&f.remediation));
}

fn longest_backtick_run(text: &str) -> usize {
    let (mut best, mut run) = (0, 0);
    for c in text.chars() {
        if c == '`' {
            run += 1;
            best = best.max(run);
        } else {
            run = 0;
        }
    }
    best
}

/// A table cell: escaped, and never more than one line.
fn cell(text: &str) -> String {
    escape(text).replace(['\n', '\r'], " ")
}

/// Prose from anywhere: control characters escaped (as `Line` displays
/// them), HTML's `<`, `>` and `&` as entities, Markdown punctuation
/// backslash-escaped, so nothing becomes markup, a link or a cell border.
pub(crate) fn escape(text: &str) -> String {
    let shown = Line::from(text).to_string();
    let mut out = String::with_capacity(shown.len());
    for c in shown.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '!' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_neutralizes_markup() {
        assert_eq!(escape("a|b <script>"), "a\\|b &lt;script&gt;");
        assert_eq!(escape("[x](http://e)"), "\\[x\\](http://e)");
        assert_eq!(escape("\u{1b}[2J"), "\\\\u{1b}\\[2J");
    }

    #[test]
    fn fences_outgrow_backticks_inside() {
        assert_eq!(longest_backtick_run("a ``` b ` c"), 3);
    }
}
