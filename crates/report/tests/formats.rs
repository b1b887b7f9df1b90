//! The report formats for people and CI: SARIF (validated against the
//! official SARIF 2.1.0 schema), JUnit XML (parsed back), Markdown and HTML
//! (hostile server text kept inert), each snapshot-tested on a fixture scan
//! that covers every verdict, assessed by the real rules.

use mailwarden_model::{
    EnforcementKind, EnforcementOutcome, Protocol, ScanReport, Severity, TlsVersion,
};
use mailwarden_report::{JunitOptions, render_html, render_junit, render_markdown, render_sarif};
use mailwarden_rules::fixtures::*;
use mailwarden_rules::{AssessContext, assess, catalogue};
use serde_json::Value;

/// What a hostile server says instead of a greeting: markup, a Markdown
/// table border, a fence, a link and a terminal escape.
const HOSTILE: &str = "220 |x| <script>alert('x')</script><img src=http://127.0.0.1:9/x> ``` [a](http://127.0.0.1:9/) \u{1b}[2J ESMTP";

/// An SMTP port whose greeting, banner and EHLO reply are [`HOSTILE`].
fn hostile(port: u16) -> mailwarden_model::EndpointObservation {
    let mut obs = smtp(port).greeting(&[HOSTILE]).without_starttls().build();
    if let Some(caps) = obs
        .plaintext
        .as_mut()
        .and_then(|p| match &mut p.capabilities {
            mailwarden_model::Attempt::Completed { value } => Some(value),
            _ => None,
        })
    {
        caps.reply.insert(
            1,
            mailwarden_model::Line::from(HOSTILE.replacen("220 ", "250-", 1).as_str()),
        );
        caps.implementation = Some(HOSTILE.trim_start_matches("220 ").to_owned());
    }
    obs
}

fn fixture_report() -> ScanReport {
    let endpoints = vec![
        smtp(25)
            .greeting(&["220 mail.example.test ESMTP Postfix (3.7.11)"])
            .chain(|c| *c = self_signed_chain(HOST))
            .build(),
        implicit(465, Protocol::Smtp).build(),
        smtp(587)
            .auth_before_tls(&["PLAIN", "LOGIN"])
            .probe(
                EnforcementKind::SmtpMailBeforeTls,
                "MAIL FROM:<>",
                &["250 2.1.0 Ok"],
                EnforcementOutcome::AcceptedWithoutTls,
            )
            .chain(|c| {
                if let Some(leaf) = c.certificates.first_mut() {
                    leaf.not_after = Some(days(20));
                }
            })
            .build(),
        hostile(2526),
        throttled(2525),
        pop3(110).without_starttls().pop3_user().build(),
        imap(143).build(),
        implicit(993, Protocol::Imap)
            .implicit_handshake(failed_handshake(Some((
                TlsVersion::TLS10,
                0x002f,
                "TLS_RSA_WITH_AES_128_CBC_SHA",
            ))))
            .build(),
        implicit(995, Protocol::Pop3)
            .chain(|c| {
                if let Some(leaf) = c.certificates.first_mut() {
                    leaf.not_after = Some(days(-3));
                }
            })
            .build(),
        filtered(4190),
        closed(24),
        open_not_mail(8080, &["HTTP/1.1 400 Bad Request", "Server: nginx"]),
    ];
    let targets = vec![target(HOST), unresolved_target("nx.example.test")];
    let mut report = report(targets, endpoints);
    report.assessment = assess(
        &report.endpoints,
        &report.targets,
        &AssessContext::new(report.started_at),
    );
    report
}

// ---- SARIF ----------------------------------------------------------------

fn sarif_validator() -> jsonschema::Validator {
    let text = include_str!("schema/sarif-schema-2.1.0.json");
    let schema: Value = serde_json::from_str(text).expect("the schema is JSON");
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the official schema compiles")
}

fn schema_errors(log: &Value) -> Vec<String> {
    sarif_validator()
        .iter_errors(log)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect()
}

/// The log with the catalogue's rules reduced to one in full and a count:
/// new rules in the catalogue do not change this snapshot (the rules are
/// checked against the catalogue one by one below).
#[test]
fn sarif_snapshot() {
    let mut log: Value = serde_json::from_str(&render_sarif(&fixture_report())).expect("JSON");
    let rules = &mut log["runs"][0]["tool"]["driver"]["rules"];
    let count = rules.as_array().map_or(0, Vec::len);
    let one = rules
        .as_array()
        .and_then(|r| r.iter().find(|r| r["id"] == "MW-AUTH-001"))
        .cloned()
        .expect("MW-AUTH-001");
    *rules = serde_json::json!({ "(rules in the catalogue)": count == catalogue().len(), "MW-AUTH-001": one });
    insta::assert_json_snapshot!(log);
}

#[test]
fn sarif_is_valid_against_the_official_schema() {
    let log: Value = serde_json::from_str(&render_sarif(&fixture_report())).expect("SARIF is JSON");
    let errors = schema_errors(&log);
    assert!(
        errors.is_empty(),
        "schema violations:\n{}",
        errors.join("\n")
    );
    // An empty scan too.
    let empty: Value =
        serde_json::from_str(&render_sarif(&report(Vec::new(), Vec::new()))).expect("JSON");
    assert_eq!(schema_errors(&empty), Vec::<String>::new());
}

/// The validation is live: logs broken in ways a hand-written serializer
/// could break them are refused.
#[test]
fn sarif_schema_validation_can_fail() {
    let good: Value = serde_json::from_str(&render_sarif(&fixture_report())).expect("JSON");
    type Breakage = (&'static str, fn(&mut Value));
    let breakages: [Breakage; 5] = [
        ("wrong version", |v| v["version"] = Value::from("2.0.0")),
        ("no runs", |v| {
            v.as_object_mut().map(|o| o.remove("runs"));
        }),
        ("unknown level", |v| {
            v["runs"][0]["results"][0]["level"] = Value::from("fatal")
        }),
        ("uri not a string", |v| {
            v["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] =
                Value::from(587)
        }),
        ("unknown property", |v| {
            v["runs"][0]["tool"]["driver"]["colour"] = Value::from("red")
        }),
    ];
    for (what, breaking) in breakages {
        let mut bad = good.clone();
        breaking(&mut bad);
        assert!(
            !schema_errors(&bad).is_empty(),
            "{what}: accepted by the schema"
        );
    }
}

#[test]
fn sarif_rules_and_results_agree() {
    let report = fixture_report();
    let log: Value = serde_json::from_str(&render_sarif(&report)).expect("JSON");
    let run = &log["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    assert_eq!(rules.len(), catalogue().len());
    for (rule, declared) in rules.iter().zip(catalogue()) {
        assert_eq!(rule["id"], declared.id);
        assert_eq!(rule["name"], declared.name);
        assert_eq!(rule["shortDescription"]["text"], declared.title);
        assert!(
            rule["help"]["text"]
                .as_str()
                .is_some_and(|t| t.contains(declared.remediation.postfix))
        );
        assert!(
            !rule["properties"]["references"]
                .as_array()
                .expect("references")
                .is_empty()
        );
    }
    let results = run["results"].as_array().expect("results");
    assert_eq!(results.len(), report.assessment.findings.len());
    for (result, finding) in results.iter().zip(&report.assessment.findings) {
        let index = result["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(rules[index]["id"], result["ruleId"]);
        assert_eq!(result["ruleId"], finding.rule_id.as_str());
        let uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .expect("uri");
        match finding.address {
            Some(a) => assert!(uri.ends_with(&format!("://{a}")), "{uri}"),
            None => assert_eq!(uri, format!("dns:{}", finding.target)),
        }
    }
    let uris: Vec<&str> = results
        .iter()
        .filter_map(|r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str())
        .collect();
    for scheme in ["smtp://", "pop://", "imap://", "dns:"] {
        assert!(
            uris.iter().any(|u| u.starts_with(scheme)),
            "no {scheme} location in {uris:?}"
        );
    }
}

// ---- JUnit ----------------------------------------------------------------

fn junit(threshold: Severity) -> String {
    render_junit(
        &fixture_report(),
        &JunitOptions {
            threshold,
            audit: false,
        },
    )
}

#[test]
fn junit_snapshot() {
    insta::assert_snapshot!(junit(Severity::Low));
}

#[test]
fn junit_parses_and_counts_agree() {
    for threshold in Severity::ALL {
        let xml = junit(threshold);
        let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "testsuites");
        let cases: Vec<_> = doc
            .descendants()
            .filter(|n| n.has_tag_name("testcase"))
            .collect();
        let failures = doc
            .descendants()
            .filter(|n| n.has_tag_name("failure"))
            .count();
        let skipped = doc
            .descendants()
            .filter(|n| n.has_tag_name("skipped"))
            .count();
        assert_eq!(
            root.attribute("tests"),
            Some(cases.len().to_string().as_str())
        );
        assert_eq!(
            root.attribute("failures"),
            Some(failures.to_string().as_str())
        );
        assert_eq!(
            root.attribute("skipped"),
            Some(skipped.to_string().as_str())
        );
        // Every finding at or above the threshold is a failure of its case.
        let report = fixture_report();
        let expected: std::collections::BTreeSet<(String, String)> = report
            .assessment
            .findings
            .iter()
            .filter(|f| f.severity >= threshold)
            .map(|f| {
                let class = f
                    .address
                    .map_or_else(|| f.target.clone(), |a| format!("{} {a}", f.target));
                (class, f.rule_id.clone())
            })
            .collect();
        let failed: std::collections::BTreeSet<(String, String)> = cases
            .iter()
            .filter(|c| c.children().any(|n| n.has_tag_name("failure")))
            .map(|c| {
                let name = c.attribute("name").unwrap_or("");
                (
                    c.attribute("classname").unwrap_or("").to_owned(),
                    name.split(' ').next().unwrap_or("").to_owned(),
                )
            })
            .collect();
        assert_eq!(failed, expected, "threshold {threshold}");
        // One suite per target.
        let suites = doc
            .descendants()
            .filter(|n| n.has_tag_name("testsuite"))
            .count();
        assert_eq!(suites, 2);
    }
}

#[test]
fn junit_skips_what_was_not_assessed_and_keeps_hostile_text_escaped() {
    let xml = junit(Severity::High);
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let closed_port = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .filter(|n| n.attribute("classname") == Some("mail.example.test 127.0.0.1:24"))
        .collect::<Vec<_>>();
    assert!(!closed_port.is_empty());
    assert!(
        closed_port
            .iter()
            .all(|c| c.children().any(|n| n.has_tag_name("skipped")))
    );
    assert!(!xml.contains('\u{1b}'), "raw ESC in XML");
    assert!(!xml.contains("<script>"));
}

// ---- Markdown -------------------------------------------------------------

#[test]
fn markdown_snapshot() {
    insta::assert_snapshot!(render_markdown(&fixture_report()));
}

#[test]
fn markdown_keeps_hostile_text_inert() {
    let md = render_markdown(&fixture_report());
    // Outside code blocks (where text is shown verbatim), no markup and no link.
    let mut prose = String::new();
    let mut fence: Option<String> = None;
    for line in md.lines() {
        let ticks: String = line.chars().take_while(|c| *c == '`').collect();
        match &fence {
            None if ticks.len() >= 3 => fence = Some(ticks),
            Some(open) if line.trim_end() == open.as_str() => fence = None,
            Some(_) => {}
            None => {
                prose.push_str(line);
                prose.push('\n');
            }
        }
    }
    assert!(fence.is_none(), "an unclosed fence");
    assert!(!prose.contains("<script>"), "raw markup in Markdown");
    assert!(!prose.contains("<img"), "raw markup in Markdown");
    assert!(!prose.contains("](http"), "a server-made link");
    assert!(!md.contains('\u{1b}'));
    // The hostile row keeps its 9 cell borders: its `|` is escaped.
    let row = md
        .lines()
        .find(|l| l.starts_with("| 127.0.0.1:2526 "))
        .expect("row");
    let borders = row.len() - row.replace('|', "").len() - row.matches("\\|").count();
    assert_eq!(borders, 9, "{row}");
    // Its evidence block is fenced with more backticks than it contains.
    assert!(
        md.contains("````text\n250-mail.example.test\n250-|x| <script>"),
        "{md}"
    );
}

// ---- HTML -----------------------------------------------------------------

#[test]
fn html_snapshot() {
    insta::assert_snapshot!(render_html(&fixture_report()));
}

#[test]
fn html_is_self_contained_and_escapes_servers() {
    let html = render_html(&fixture_report());
    assert_eq!(html.matches("<script").count(), 1, "only our own script");
    assert!(
        html.contains("&lt;script&gt;alert("),
        "the banner is shown, escaped"
    );
    assert!(!html.contains("<img"));
    assert!(!html.contains('\u{1b}'));
    for attribute in ["src=\"", "href=", "url(", "@import", "<link", "<iframe"] {
        assert!(!html.contains(attribute), "{attribute} in the page");
    }
    assert!(html.contains("default-src 'none'"), "CSP");
    assert!(html.contains("<svg id=\"timeline\""));
    // The expired POP3S certificate and the one expiring in 20 days are on the timeline.
    assert!(html.contains("expired 3 days ago"));
    assert!(html.contains("20 days left"));
}
