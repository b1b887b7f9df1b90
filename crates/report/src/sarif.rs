//! SARIF 2.1.0 (OASIS), for code-scanning dashboards.
//!
//! * `tool.driver.rules` is the whole catalogue (id, kebab-case name, title as
//!   short description, rationale as full description, remediation per
//!   server as help, the first reference as `helpUri`, and `properties` with
//!   the references, the default and per-context severities and GitHub's
//!   `security-severity`), so a dashboard can explain any rule.
//! * Each finding is a result with `ruleId`/`ruleIndex`, a `level`
//!   (critical/high: error, medium: warning, low/info: note), the summary as
//!   message, and **one location per endpoint**: a `physicalLocation` whose
//!   `artifactLocation.uri` is the endpoint as a URI (`smtp://127.0.0.1:587`,
//!   `imap://…`, `pop://…`, `sieve://…`; `dns:NAME` for findings about a whole
//!   target), plus a `logicalLocation` naming target and address. Why a
//!   physical location although no file is involved: GitHub code scanning
//!   rejects or hides results without a non-empty
//!   `physicalLocation.artifactLocation.uri`, while logical locations alone
//!   are ignored by it; the URI is stable from run to run, which is what its
//!   alert tracking needs, together with `partialFingerprints`
//!   (`mailwarden/v1` = rule, target and endpoint).
//! * Evidence, context, target and remediation ride in the result's
//!   `properties`; nothing a server sent is interpreted.

use mailwarden_model::{Finding, Protocol, ScanReport, Severity};
use mailwarden_rules::{Rule, catalogue};
use serde_json::{Value, json};

/// The `$schema` written into the log.
pub const SARIF_SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// The report as a SARIF 2.1.0 log (pretty-printed, ending with a newline).
pub fn render_sarif(report: &ScanReport) -> String {
    let rules: Vec<Value> = catalogue().iter().map(rule).collect();
    let results: Vec<Value> = report
        .assessment
        .findings
        .iter()
        .map(|f| result(report, f))
        .collect();
    let log = json!({
        "$schema": SARIF_SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": report.tool.name,
                    "version": report.tool.version,
                    "semanticVersion": report.tool.version,
                    "rules": rules,
                }
            },
            "invocations": [{
                "executionSuccessful": true,
                "startTimeUtc": report.started_at.to_string(),
                "endTimeUtc": report.finished_at.to_string(),
            }],
            "automationDetails": { "id": automation_id(report) },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    });
    let mut text = serde_json::to_string_pretty(&log).unwrap_or_else(|_| "{}".to_owned());
    text.push('\n');
    text
}

/// "mailwarden/mx1.example.org,mx2.example.org/": one category per target
/// set, so dashboards keep separate alert sets per scanned estate.
fn automation_id(report: &ScanReport) -> String {
    let mut targets: Vec<&str> = report.targets.iter().map(|t| t.input.as_str()).collect();
    targets.sort_unstable();
    targets.dedup();
    format!("mailwarden/{}/", targets.join(","))
}

/// SARIF `level` of a severity.
fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// GitHub's `security-severity` (0.0–10.0; ≥ 9 critical, ≥ 7 high, ≥ 4 medium).
fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

fn rule(r: &Rule) -> Value {
    let m = &r.remediation;
    let help_text = format!(
        "{}\n\nPostfix: {}\nDovecot: {}\nExim: {}",
        m.generic, m.postfix, m.dovecot, m.exim
    );
    let help_markdown = format!(
        "{}\n\n* **Postfix:** {}\n* **Dovecot:** {}\n* **Exim:** {}\n\n**References**\n\n{}",
        m.generic,
        m.postfix,
        m.dovecot,
        m.exim,
        r.references
            .iter()
            .map(|reference| match reference.url() {
                Some(url) => format!("* [{reference}]({url})"),
                None => format!("* {reference}"),
            })
            .collect::<Vec<_>>()
            .join("\n")
    );
    let references: Vec<Value> = r
        .references
        .iter()
        .map(|reference| {
            json!({
                "document": reference.document,
                "section": reference.section,
                "note": reference.note,
                "url": reference.url(),
            })
        })
        .collect();
    let severities: serde_json::Map<String, Value> = mailwarden_rules::Context::ALL
        .into_iter()
        .filter_map(|c| {
            r.severities
                .for_context(c, false)
                .map(|s| (c.as_str().to_owned(), Value::from(s.as_str())))
        })
        .collect();
    let mut out = json!({
        "id": r.id,
        "name": r.name,
        "shortDescription": { "text": r.title },
        "fullDescription": { "text": r.rationale },
        "help": { "text": help_text, "markdown": help_markdown },
        "defaultConfiguration": { "level": level(r.severities.default) },
        "properties": {
            "tags": ["security", "mail", r.family.as_str().to_ascii_lowercase()],
            "precision": "high",
            "security-severity": security_severity(r.severities.max().unwrap_or(r.severities.default)),
            "severity": r.severities.default.as_str(),
            "severities": severities,
            "references": references,
        }
    });
    if let Some(url) = r.references.iter().find_map(|reference| reference.url())
        && let Some(obj) = out.as_object_mut()
    {
        obj.insert("helpUri".to_owned(), Value::from(url));
    }
    out
}

/// The URI of the endpoint a finding is about: the scheme of the protocol
/// recognized there (`smtp`, `lmtp`, `imap`, `pop`, `sieve`; `tcp` when none
/// was), or `dns:TARGET` for findings about a whole target.
pub(crate) fn location_uri(report: &ScanReport, f: &Finding) -> String {
    let Some(addr) = f.address else {
        return format!("dns:{}", uri_safe(&f.target));
    };
    let protocol = report
        .assessment
        .endpoints
        .iter()
        .find(|e| e.address == addr && e.target == f.target)
        .and_then(|e| e.protocol);
    let scheme = match protocol {
        Some(Protocol::Smtp) => "smtp",
        Some(Protocol::Lmtp) => "lmtp",
        Some(Protocol::Imap) => "imap",
        Some(Protocol::Pop3) => "pop",
        Some(Protocol::ManageSieve) => "sieve",
        None => match f.context.as_str() {
            "mx" | "submission" => "smtp",
            "sieve" => "sieve",
            "lmtp" => "lmtp",
            _ => "tcp",
        },
    };
    format!("{scheme}://{addr}")
}

/// A target name as URI characters: anything outside unreserved characters
/// percent-encoded (targets come from the command line or a policy, but a
/// stored report may be anyone's).
fn uri_safe(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b':' | b'[' | b']')
        {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn result(report: &ScanReport, f: &Finding) -> Value {
    let index = catalogue().iter().position(|r| r.id == f.rule_id);
    let endpoint = f
        .address
        .map_or_else(|| f.target.clone(), |a| a.to_string());
    let evidence: Vec<Value> = f
        .evidence
        .iter()
        .map(|ev| {
            json!({
                "label": ev.label,
                "lines": ev.lines.iter().map(|l| l.text().into_owned()).collect::<Vec<_>>(),
            })
        })
        .collect();
    let mut out = json!({
        "ruleId": f.rule_id,
        "level": level(f.severity),
        "message": { "text": f.summary },
        "locations": [{
            "physicalLocation": {
                "artifactLocation": { "uri": location_uri(report, f) }
            },
            "logicalLocations": [{
                "name": endpoint,
                "fullyQualifiedName": format!("{}/{endpoint}", f.target),
                "kind": "resource",
            }]
        }],
        "partialFingerprints": {
            "mailwarden/v1": format!("{}|{}|{endpoint}", f.rule_id, f.target),
        },
        "properties": {
            "severity": f.severity.as_str(),
            "security-severity": security_severity(f.severity),
            "context": f.context,
            "target": f.target,
            "rule": f.rule,
            "remediation": f.remediation,
            "evidence": evidence,
        }
    });
    if let (Some(i), Some(obj)) = (index, out.as_object_mut()) {
        obj.insert("ruleIndex".to_owned(), Value::from(i));
    }
    out
}
