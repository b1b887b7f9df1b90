//! JUnit XML, for CI systems: one `<testsuite>` per target, one
//! `<testcase>` per rule and endpoint.
//!
//! For each endpoint of a target, every rule that applies in the endpoint's
//! context is a test case (DRIFT rules only in audits): it **fails** when the
//! rule found something at or above the threshold there (`<failure>` with the
//! summary as message, the severity as type, and the evidence and fix as
//! text), passes otherwise (a finding below the threshold is kept in
//! `<system-out>`), and is **skipped** when the endpoint was not assessed
//! (closed, filtered, throttled, not mail), since "not assessed" is never a
//! pass. Findings about a whole target (a name that did not resolve, a
//! declared service without an address) are cases of the target itself.
//!
//! Everything is escaped for XML 1.0, and characters XML 1.0 cannot carry at
//! all (control characters a hostile server may send) are written as `\u{..}`.

use std::fmt::Write as _;

use mailwarden_model::{EndpointAssessment, Finding, Posture, ScanReport, Severity};
use mailwarden_rules::{Context, Family, Rule, catalogue};

/// Rules checked once per target rather than per endpoint.
const TARGET_RULES: &[&str] = &["MW-INFO-004"];

/// How to build the JUnit report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JunitOptions {
    /// A finding at or above this severity fails its test case.
    pub threshold: Severity,
    /// The report is an audit: DRIFT rules are test cases too.
    pub audit: bool,
}

#[derive(Default)]
struct Suite {
    tests: usize,
    failures: usize,
    skipped: usize,
    body: String,
}

enum Outcome<'a> {
    Pass(Vec<&'a Finding>),
    Fail(Vec<&'a Finding>),
    Skipped(String),
}

impl Suite {
    fn case(&mut self, classname: &str, name: &str, outcome: Outcome<'_>) {
        self.tests += 1;
        let _ = write!(
            self.body,
            "    <testcase classname=\"{}\" name=\"{}\" time=\"0\"",
            xml(classname),
            xml(name)
        );
        match outcome {
            Outcome::Pass(below) if below.is_empty() => self.body.push_str("/>\n"),
            Outcome::Pass(below) => {
                let _ = writeln!(
                    self.body,
                    ">\n      <system-out>{}</system-out>\n    </testcase>",
                    xml(&findings_text(&below))
                );
            }
            Outcome::Fail(found) => {
                self.failures += 1;
                let worst = found
                    .iter()
                    .map(|f| f.severity)
                    .max()
                    .unwrap_or(Severity::Info);
                let message: Vec<&str> = found.iter().map(|f| f.summary.as_str()).collect();
                let _ = writeln!(
                    self.body,
                    ">\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>",
                    xml(&message.join(" / ")),
                    worst.as_str(),
                    xml(&findings_text(&found))
                );
            }
            Outcome::Skipped(reason) => {
                self.skipped += 1;
                let _ = writeln!(
                    self.body,
                    ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                    xml(&reason)
                );
            }
        }
    }
}

/// The report as JUnit XML.
pub fn render_junit(report: &ScanReport, opts: &JunitOptions) -> String {
    let mut suites = String::new();
    let (mut tests, mut failures, mut skipped) = (0, 0, 0);
    let timestamp = report.started_at.strftime("%Y-%m-%dT%H:%M:%S").to_string();
    for target in crate::target_names(report) {
        let suite = target_suite(report, &target, opts);
        tests += suite.tests;
        failures += suite.failures;
        skipped += suite.skipped;
        let millis: u64 = report
            .endpoints
            .iter()
            .filter(|e| e.target == target)
            .map(|e| e.duration_ms)
            .sum();
        let _ = writeln!(
            suites,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" \
             time=\"{}\" timestamp=\"{timestamp}\" hostname=\"{}\">",
            xml(&target),
            suite.tests,
            suite.failures,
            suite.skipped,
            seconds(millis),
            xml(&target),
        );
        let _ = writeln!(
            suites,
            "    <properties>\n      <property name=\"threshold\" value=\"{}\"/>\n      \
             <property name=\"tool\" value=\"{} {}\"/>\n    </properties>",
            opts.threshold.as_str(),
            xml(&report.tool.name),
            xml(&report.tool.version)
        );
        suites.push_str(&suite.body);
        suites.push_str("  </testsuite>\n");
    }
    let total_ms = report
        .finished_at
        .duration_since(report.started_at)
        .as_millis()
        .max(0);
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"mailwarden\" tests=\"{tests}\" \
         failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{}\" timestamp=\"{timestamp}\">\n\
         {suites}</testsuites>\n",
        seconds(u64::try_from(total_ms).unwrap_or(0))
    )
}

fn seconds(millis: u64) -> String {
    format!("{}.{:03}", millis / 1000, millis % 1000)
}

/// Whether `rule` is a test case of every endpoint in `context`: the
/// families checked per endpoint (DRIFT only in audits); rules about whole
/// targets or domains are cases only where they found something.
fn applies(rule: &Rule, context: Option<Context>, audit: bool) -> bool {
    let per_endpoint = match rule.family {
        Family::Transport | Family::Auth | Family::Cert | Family::Tls | Family::Info => true,
        Family::Drift => audit,
        #[allow(unreachable_patterns)]
        _ => false,
    };
    if !per_endpoint || TARGET_RULES.contains(&rule.id) {
        return false;
    }
    match context {
        Some(c) => rule.severities.for_context(c, false).is_some(),
        None => true,
    }
}

fn target_suite(report: &ScanReport, target: &str, opts: &JunitOptions) -> Suite {
    let mut suite = Suite::default();
    let findings: Vec<&Finding> = report
        .assessment
        .findings
        .iter()
        .filter(|f| f.target == target)
        .collect();
    let endpoints: Vec<&EndpointAssessment> = report
        .assessment
        .endpoints
        .iter()
        .filter(|e| e.target == target)
        .collect();
    let mut covered: Vec<*const Finding> = Vec::new();
    for ep in &endpoints {
        let context = Context::ALL.into_iter().find(|c| c.as_str() == ep.context);
        let state = report
            .endpoints
            .iter()
            .find(|o| o.address == ep.address && o.target == ep.target)
            .map_or("not scanned", |o| o.state.as_str());
        let classname = format!("{target} {}", ep.address);
        for rule in catalogue() {
            let here: Vec<&Finding> = findings
                .iter()
                .copied()
                .filter(|f| f.rule_id == rule.id && f.address == Some(ep.address))
                .collect();
            if here.is_empty() && !applies(rule, context, opts.audit) {
                continue;
            }
            covered.extend(here.iter().map(|f| *f as *const Finding));
            let outcome = outcome(here, opts.threshold, || {
                (ep.posture == Posture::NotAssessed).then(|| format!("not assessed: {state}"))
            });
            suite.case(&classname, &format!("{} {}", rule.id, rule.name), outcome);
        }
    }
    // Target-level rules, and any finding not placed on an endpoint above.
    for rule in catalogue() {
        let here: Vec<&Finding> = findings
            .iter()
            .copied()
            .filter(|f| f.rule_id == rule.id)
            .filter(|f| !covered.contains(&(*f as *const Finding)))
            .collect();
        if here.is_empty() && !TARGET_RULES.contains(&rule.id) {
            continue;
        }
        let where_ = here
            .first()
            .and_then(|f| f.address)
            .map_or_else(|| target.to_owned(), |a| format!("{target} {a}"));
        let outcome = outcome(here, opts.threshold, || None);
        suite.case(&where_, &format!("{} {}", rule.id, rule.name), outcome);
    }
    suite
}

fn outcome<'a>(
    here: Vec<&'a Finding>,
    threshold: Severity,
    skipped: impl FnOnce() -> Option<String>,
) -> Outcome<'a> {
    if here.iter().any(|f| f.severity >= threshold) {
        return Outcome::Fail(here);
    }
    if here.is_empty()
        && let Some(reason) = skipped()
    {
        return Outcome::Skipped(reason);
    }
    Outcome::Pass(here)
}

/// Findings as plain text: severity, summary, evidence, fix.
fn findings_text(found: &[&Finding]) -> String {
    let mut out = String::new();
    for f in found {
        let _ = writeln!(
            out,
            "[{}] {}",
            f.severity.as_str().to_ascii_uppercase(),
            f.summary
        );
        for ev in &f.evidence {
            let _ = writeln!(out, "{}:", ev.label);
            for line in &ev.lines {
                let _ = writeln!(out, "  {}", line.text());
            }
        }
        let _ = writeln!(out, "fix: {}", f.remediation);
    }
    out
}

/// Text escaped for an XML 1.0 attribute or element: markup characters as
/// entities, characters XML 1.0 forbids (C0 controls but tab, LF, CR; U+FFFE,
/// U+FFFF) as the visible escape `\u{..}`.
pub(crate) fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c < '\u{20}' || c == '\u{fffe}' || c == '\u{ffff}' => {
                let _ = write!(out, "{}", c.escape_unicode());
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
    fn xml_escapes_markup_and_forbidden_characters() {
        assert_eq!(
            xml("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&apos;"
        );
        assert_eq!(xml("a\u{1b}[2J\u{0}b"), "a\\u{1b}[2J\\u{0}b");
        assert_eq!(xml("tab\there\r\n"), "tab\there\r\n");
    }
}
