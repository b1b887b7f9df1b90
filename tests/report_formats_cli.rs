//! Every `--format` of `scan` and `audit` on real Postfix and Dovecot: SARIF
//! validated against the official SARIF 2.1.0 schema, JUnit XML parsed with
//! failures matching the findings at `--fail-on`, Markdown and HTML carrying
//! the posture and the findings; and a stored run re-printed by `history RUN`
//! in another format gives the same document.

mod common;
mod history_support;

use std::collections::BTreeSet;

use common::{ports, testbed};
use history_support::run;
use mailwarden_model::ScanReport;
use serde_json::Value;

const ENDPOINTS: &[(&str, &str)] = &[
    ("smtp-mx", "smtp"),
    ("submission-auth-before-tls", "submission"),
    ("smtp-expiring", "smtp"),
    ("smtps", "submissions"),
    ("closed", "submission"),
];

fn scan(store: &std::path::Path, format: &str, extra: &[&str]) -> (i32, String) {
    let (ip, list) = ports(ENDPOINTS);
    let ca = testbed().ca_file().display().to_string();
    let mut args = vec![
        "scan",
        &ip,
        "--ports",
        &list,
        "--name",
        "mail.test",
        "--ca-file",
        &ca,
        "--tls",
        "off",
        "--timeout",
        "5",
        "--format",
        format,
    ];
    args.extend(extra);
    let (code, stdout, stderr) = run(store, &args);
    assert!(code == 0 || code == 1, "exit {code}: {stderr}");
    (code, stdout)
}

fn sarif_errors(log: &Value) -> Vec<String> {
    let schema: Value = serde_json::from_str(include_str!(
        "../crates/report/tests/schema/sarif-schema-2.1.0.json"
    ))
    .expect("schema");
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the schema compiles");
    validator
        .iter_errors(log)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect()
}

#[test]
fn every_format_of_a_real_scan() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("h.sqlite");
    let (_, json) = scan(&store, "json", &["--no-store"]);
    let report: ScanReport = serde_json::from_str(&json).expect("JSON report");
    let findings: BTreeSet<(String, u16)> = report
        .assessment
        .findings
        .iter()
        .map(|f| (f.rule_id.clone(), f.address.map_or(0, |a| a.port())))
        .collect();
    assert!(
        findings.iter().any(|(r, _)| r == "MW-AUTH-001"),
        "{findings:?}"
    );

    // SARIF: schema-valid, one result per finding, endpoint URIs.
    let (_, sarif) = scan(&store, "sarif", &["--no-store"]);
    let log: Value = serde_json::from_str(&sarif).expect("SARIF is JSON");
    let errors = sarif_errors(&log);
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    let results = log["runs"][0]["results"].as_array().expect("results");
    let got: BTreeSet<(String, u16)> = results
        .iter()
        .map(|r| {
            let uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap_or("");
            assert!(uri.starts_with("smtp://127.0.0.1:"), "{uri}");
            let port = uri
                .rsplit(':')
                .next()
                .and_then(|p| p.parse().ok())
                .unwrap_or(0);
            (r["ruleId"].as_str().unwrap_or("").to_owned(), port)
        })
        .collect();
    assert_eq!(got, findings);

    // JUnit: a failure per (rule, endpoint) at or above --fail-on high.
    let (code, junit) = scan(&store, "junit", &["--no-store", "--fail-on", "high"]);
    assert_eq!(code, 1);
    let doc = roxmltree::Document::parse(&junit).expect("well-formed XML");
    let failed: BTreeSet<(String, u16)> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase") && n.children().any(|c| c.has_tag_name("failure")))
        .map(|n| {
            let port = n
                .attribute("classname")
                .and_then(|c| c.rsplit(':').next()?.parse().ok())
                .unwrap_or(0);
            let rule = n
                .attribute("name")
                .and_then(|s| s.split(' ').next())
                .unwrap_or("");
            (rule.to_owned(), port)
        })
        .collect();
    let high: BTreeSet<(String, u16)> = report
        .assessment
        .findings
        .iter()
        .filter(|f| f.severity >= mailwarden_model::Severity::High)
        .map(|f| (f.rule_id.clone(), f.address.map_or(0, |a| a.port())))
        .collect();
    assert_eq!(failed, high);
    let closed = testbed().endpoint("closed").port();
    assert!(doc.descendants().any(|n| {
        n.has_tag_name("testcase")
            && n.attribute("classname")
                .is_some_and(|c| c.ends_with(&format!(":{closed}")))
            && n.children().any(|c| c.has_tag_name("skipped"))
    }));

    // Markdown and HTML carry the posture and every finding.
    let (_, md) = scan(&store, "markdown", &["--no-store"]);
    assert!(md.contains("| Address | State | Protocol | Verdict |"));
    assert!(md.contains("**starttls-optional**"));
    let (_, html) = scan(&store, "html", &[]);
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("id=\"matrix\""));
    for (rule, _) in &findings {
        assert!(
            md.contains(rule.as_str()) && html.contains(rule.as_str()),
            "{rule}"
        );
    }

    // The HTML scan was stored: re-printed from the history as SARIF, it
    // validates too.
    let (code, stored_sarif, stderr) = run(&store, &["history", "1", "--format", "sarif"]);
    assert_eq!(code, 0, "{stderr}");
    let stored: Value = serde_json::from_str(&stored_sarif).expect("JSON");
    assert!(sarif_errors(&stored).is_empty());
    assert_eq!(
        stored["runs"][0]["results"].as_array().map(Vec::len),
        Some(results.len())
    );
}

#[test]
fn audit_junit_has_drift_cases() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("h.sqlite");
    let tb = testbed();
    let policy = dir.path().join("p.toml");
    std::fs::write(
        &policy,
        format!(
            "[audit]\nports = []\n\n[[service]]\nname = \"submission\"\nhosts = [\"127.0.0.1\"]\nport = {}\n\
             protocol = \"smtp\"\nrole = \"submission\"\ntls = \"starttls-required\"\ncertificate_name = \"mail.test\"\n",
            tb.endpoint("submission-auth-before-tls").port()
        ),
    )
    .expect("policy");
    let ca = tb.ca_file().display().to_string();
    let policy = policy.display().to_string();
    let (code, xml, stderr) = run(
        &store,
        &[
            "audit",
            "--policy",
            &policy,
            "--ca-file",
            &ca,
            "--tls",
            "off",
            "--timeout",
            "5",
            "--format",
            "junit",
        ],
    );
    assert!(code == 0 || code == 1, "{stderr}");
    let doc = roxmltree::Document::parse(&xml).expect("XML");
    let drift_failures = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .filter(|n| {
            n.attribute("name")
                .is_some_and(|s| s.starts_with("MW-DRIFT-"))
        })
        .filter(|n| n.children().any(|c| c.has_tag_name("failure")))
        .count();
    assert!(drift_failures >= 1, "{xml}");
    let (_, list, _) = run(&store, &["history", "--kind", "audit", "--format", "json"]);
    let list: Value = serde_json::from_str(&list).expect("JSON");
    assert_eq!(list.as_array().map(Vec::len), Some(1));
}
