//! End to end, issue 4's proof on the real Postfix of the test bed: a first
//! audit is stored; then the estate changes — an undeclared port opens, the
//! submission port stops enforcing TLS, the MX gets a certificate that
//! expires within days — and a second audit is stored; `diff` reports
//! exactly those changes, and `history` lists both runs.
//!
//! The declared ports are relays (see `history_support`): the same port
//! leads to `submission-enforced` in run 1 and to
//! `submission-auth-before-tls` in run 2, to `smtp-mx` then `smtp-expiring`,
//! and the undeclared one is closed, then leads to `smtp-mx`. Implicit-TLS
//! submission (`smtps`) is probed directly in both runs as the control that
//! must not change.

mod common;
mod history_support;

use std::collections::BTreeSet;
use std::path::Path;

use common::testbed;
use history_support::{Relay, run};
use mailwarden_model::ScanReport;
use serde_json::Value;

struct Estate {
    submission: Relay,
    mx: Relay,
    stray: Relay,
    smtps: u16,
}

impl Estate {
    fn before() -> Estate {
        let tb = testbed();
        Estate {
            submission: Relay::to(tb.endpoint("submission-enforced")),
            mx: Relay::to(tb.endpoint("smtp-mx")),
            stray: Relay::closed(),
            smtps: tb.endpoint("smtps").port(),
        }
    }

    fn change(&mut self) {
        let tb = testbed();
        self.submission
            .forward_to(tb.endpoint("submission-auth-before-tls"));
        self.mx.forward_to(tb.endpoint("smtp-expiring"));
        self.stray.forward_to(tb.endpoint("smtp-mx"));
    }

    fn policy(&self) -> String {
        format!(
            r#"
name = "test bed behind relays"

[audit]
# Probed in every run although no service declares it.
ports = [{stray}]

[[service]]
name = "inbound-mx"
hosts = ["127.0.0.1"]
port = {mx}
protocol = "smtp"
role = "smtp"
tls = "starttls"
auth = "none"
certificate_name = "mail.test"

[[service]]
name = "submission"
hosts = ["127.0.0.1"]
port = {submission}
protocol = "smtp"
role = "submission"
tls = "starttls-required"
certificate_name = "mail.test"

[[service]]
name = "submissions"
hosts = ["127.0.0.1"]
port = {smtps}
protocol = "smtp"
tls = "implicit"
certificate_name = "mail.test"
"#,
            stray = self.stray.port(),
            mx = self.mx.port(),
            submission = self.submission.port(),
            smtps = self.smtps,
        )
    }
}

fn audit(store: &Path, policy: &Path) -> (i32, ScanReport) {
    let ca = testbed().ca_file().display().to_string();
    let policy = policy.display().to_string();
    let (code, stdout, stderr) = run(
        store,
        &[
            "audit",
            "--policy",
            &policy,
            "--ca-file",
            &ca,
            "--timeout",
            "5",
            "--tls",
            "off",
            "--format",
            "json",
            "--quiet",
            "--fail-on",
            "medium",
        ],
    );
    assert!(code == 0 || code == 1, "exit {code}: {stderr}");
    let report = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("bad JSON ({e}): {stdout}\n{stderr}"));
    (code, report)
}

/// (rule id, port) of every finding.
fn findings(report: &ScanReport) -> BTreeSet<(String, u16)> {
    report
        .assessment
        .findings
        .iter()
        .map(|f| (f.rule_id.clone(), f.address.map_or(0, |a| a.port())))
        .collect()
}

fn ports_of(list: &Value) -> Vec<u64> {
    list.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| c["address"].as_str()?.rsplit(':').next()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn diff_reports_exactly_the_changes_between_two_stored_audits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("history.sqlite");
    let mut estate = Estate::before();
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, estate.policy()).expect("write the policy");

    let (code1, first) = audit(&store, &policy);
    assert_eq!(
        code1,
        0,
        "the matching estate passes: {:?}",
        findings(&first)
    );
    estate.change();
    let (code2, second) = audit(&store, &policy);
    assert_eq!(code2, 1, "the changed estate fails --fail-on medium");

    // history lists both runs, newest first, with their exit statuses.
    let (code, stdout, stderr) = run(&store, &["history", "--format", "json"]);
    assert_eq!(code, 0, "{stderr}");
    let runs: Value = serde_json::from_str(&stdout).expect("history JSON");
    let runs = runs.as_array().expect("a list");
    assert_eq!(runs.len(), 2);
    assert_eq!(
        (runs[0]["id"].as_i64(), runs[1]["id"].as_i64()),
        (Some(2), Some(1))
    );
    assert_eq!(runs[0]["kind"], "audit");
    assert_eq!(
        (
            runs[0]["exit_status"].as_i64(),
            runs[1]["exit_status"].as_i64()
        ),
        (Some(1), Some(0))
    );
    assert!(
        runs[0]["policy"]
            .as_str()
            .is_some_and(|p| p.ends_with("policy.toml"))
    );
    let (_, text, _) = run(&store, &["history"]);
    assert!(
        text.contains("audit") && text.contains("127.0.0.1"),
        "{text}"
    );

    // The stored report of run 1 is the report audit printed.
    let (code, stdout, _) = run(&store, &["history", "1", "--format", "json"]);
    assert_eq!(code, 0);
    let stored: ScanReport = serde_json::from_str(&stdout).expect("stored report");
    assert_eq!(stored, first);

    // diff with the defaults: the last two runs of the same targets.
    let (code, stdout, stderr) = run(&store, &["diff", "--format", "json"]);
    assert_eq!(code, 0, "{stderr}");
    let diff: Value = serde_json::from_str(&stdout).expect("diff JSON");
    assert_eq!(
        (diff["old"]["run"].as_i64(), diff["new"]["run"].as_i64()),
        (Some(1), Some(2))
    );
    assert_eq!(diff["changed"], true);
    let changes = &diff["changes"];
    let kinds: BTreeSet<&str> = changes
        .as_object()
        .expect("changes")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        kinds,
        BTreeSet::from([
            "ports_opened",
            "postures_changed",
            "certificates",
            "findings_new"
        ]),
        "{changes:#}"
    );
    // An undeclared port opened.
    let stray = u64::from(estate.stray.port());
    assert_eq!(ports_of(&changes["ports_opened"]), vec![stray]);
    assert_eq!(changes["ports_opened"][0]["old_state"], "closed");
    assert_eq!(changes["ports_opened"][0]["new_state"], "open");
    // TLS enforcement was turned off on the submission port.
    let submission = u64::from(estate.submission.port());
    assert_eq!(ports_of(&changes["postures_changed"]), vec![submission]);
    assert_eq!(changes["postures_changed"][0]["old"], "starttls-enforced");
    assert_eq!(changes["postures_changed"][0]["new"], "starttls-optional");
    // The MX certificate was swapped for one that expires within days.
    let mx = u64::from(estate.mx.port());
    assert_eq!(ports_of(&changes["certificates"]), vec![mx]);
    let cert = &changes["certificates"][0];
    assert_eq!(cert["change"], "replaced");
    assert_ne!(cert["old"]["sha256"], cert["new"]["sha256"]);
    let expires: jiff::Timestamp = cert["new"]["not_after"]
        .as_str()
        .expect("not_after")
        .parse()
        .expect("time");
    let left = expires.as_second() - second.started_at.as_second();
    assert!((0..11 * 86_400).contains(&left), "expires in {left} s");
    // The new findings are exactly those of run 2 that run 1 did not have,
    // all on the three changed ports, and none was fixed.
    let expected: BTreeSet<(String, u16)> = findings(&second)
        .difference(&findings(&first))
        .cloned()
        .collect();
    let new: BTreeSet<(String, u16)> = changes["findings_new"]
        .as_array()
        .expect("findings_new")
        .iter()
        .map(|f| {
            let port = f["address"]
                .as_str()
                .and_then(|a| a.rsplit(':').next()?.parse().ok())
                .unwrap_or(0);
            (f["rule_id"].as_str().unwrap_or("").to_owned(), port)
        })
        .collect();
    assert_eq!(new, expected);
    let changed_ports = [
        estate.stray.port(),
        estate.submission.port(),
        estate.mx.port(),
    ];
    assert!(
        new.iter().all(|(_, p)| changed_ports.contains(p)),
        "{new:?}"
    );
    for must in [
        ("MW-AUTH-001", estate.submission.port()),
        ("MW-TRANSPORT-003", estate.submission.port()),
    ] {
        assert!(
            new.contains(&(must.0.to_owned(), must.1)),
            "{must:?} missing from {new:?}"
        );
    }
    assert!(
        new.iter()
            .any(|(r, p)| r.starts_with("MW-DRIFT-") && *p == estate.stray.port()),
        "{new:?}"
    );
    assert!(
        new.iter()
            .any(|(r, p)| r.starts_with("MW-CERT-") && *p == estate.mx.port()),
        "{new:?}"
    );
    assert!(
        new.iter()
            .any(|(r, p)| r.starts_with("MW-DRIFT-") && *p == estate.submission.port()),
        "{new:?}"
    );

    // The same with explicit ids, and as text.
    let (_, explicit, _) = run(&store, &["diff", "1", "2", "--format", "json"]);
    let explicit: Value = serde_json::from_str(&explicit).expect("diff JSON");
    assert_eq!(explicit["changes"], diff["changes"]);
    let (code, text, _) = run(&store, &["diff", "1", "--exit-code"]);
    assert_eq!(code, 1, "--exit-code with changes");
    for line in [
        "Ports opened (1):",
        "Postures changed (1):",
        "starttls-enforced -> starttls-optional",
        "replaced:",
    ] {
        assert!(text.contains(line), "{line:?} missing from\n{text}");
    }
    // Nothing changed between a run and itself.
    let (code, text, _) = run(&store, &["diff", "2", "2", "--exit-code"]);
    assert_eq!(code, 0);
    assert!(text.contains("No changes."), "{text}");
}

#[test]
fn scan_records_runs_and_diff_compares_json_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("h.sqlite");
    let tb = testbed();
    let mut relay = Relay::to(tb.endpoint("submission-enforced"));
    let ca = tb.ca_file().display().to_string();
    let ports = format!("{}/submission", relay.port());
    let scan = |out: &Path| {
        let out = out.display().to_string();
        let (code, _, stderr) = run(
            &store,
            &[
                "scan",
                "127.0.0.1",
                "--ports",
                &ports,
                "--name",
                "mail.test",
                "--ca-file",
                &ca,
                "--tls",
                "off",
                "--timeout",
                "5",
                "--format",
                "json",
                "-o",
                &out,
            ],
        );
        assert_eq!(code, 0, "{stderr}");
    };
    let (a, b) = (dir.path().join("a.json"), dir.path().join("b.json"));
    scan(&a);
    relay.forward_to(tb.endpoint("submission-auth-before-tls"));
    scan(&b);
    let (code, stdout, _) = run(
        &store,
        &[
            "diff",
            &a.display().to_string(),
            &b.display().to_string(),
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0);
    let files: Value = serde_json::from_str(&stdout).expect("JSON");
    let (_, stdout, _) = run(&store, &["diff", "--format", "json"]);
    let stored: Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(
        files["changes"], stored["changes"],
        "files and stored runs give the same diff"
    );
    assert_eq!(
        stored["changes"]["postures_changed"][0]["new"],
        "starttls-optional"
    );
    // --no-store leaves the history alone.
    let (code, _, _) = run(
        &store,
        &[
            "scan",
            "127.0.0.1",
            "--ports",
            &ports,
            "--tls",
            "off",
            "--no-store",
            "--format",
            "json",
        ],
    );
    assert!(code == 0 || code == 1);
    let (_, list, _) = run(&store, &["history", "--format", "json"]);
    let list: Value = serde_json::from_str(&list).expect("JSON");
    assert_eq!(list.as_array().map(Vec::len), Some(2));
    assert_eq!(list[0]["kind"], "scan");
}

/// With the TLS enumeration on, `diff` names the versions and suites that
/// changed: the relay leads to the MX (TLS 1.2 and 1.3), then to the
/// listener that only speaks TLS 1.0.
#[test]
fn diff_reports_tls_versions_and_suites_from_the_enumeration() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("h.sqlite");
    let tb = testbed();
    let mut relay = Relay::to(tb.endpoint("smtp-mx"));
    let ca = tb.ca_file().display().to_string();
    let ports = format!("{}/smtp", relay.port());
    let scan = || {
        let (code, _, stderr) = run(
            &store,
            &[
                "scan",
                "127.0.0.1",
                "--ports",
                &ports,
                "--name",
                "mail.test",
                "--ca-file",
                &ca,
                "--tls",
                "quick",
                "--timeout",
                "5",
                "--format",
                "json",
            ],
        );
        assert!(code == 0 || code == 1, "{stderr}");
    };
    scan();
    relay.forward_to(tb.endpoint("smtp-tls10"));
    scan();
    let (code, stdout, stderr) = run(&store, &["diff", "--format", "json"]);
    assert_eq!(code, 0, "{stderr}");
    let diff: Value = serde_json::from_str(&stdout).expect("JSON");
    let changes = &diff["changes"];
    let scan_change = &changes["tls_scan"][0];
    assert_eq!(
        scan_change["versions_added"],
        serde_json::json!(["TLSv1.0"]),
        "{changes:#}"
    );
    assert_eq!(
        scan_change["versions_removed"],
        serde_json::json!(["TLSv1.2", "TLSv1.3"]),
        "{changes:#}"
    );
    assert!(
        scan_change["suites_added"].as_array().is_some_and(|s| s
            .iter()
            .all(|x| x.as_str().is_some_and(|x| x.starts_with("TLSv1.0 ")))),
        "{changes:#}"
    );
    // The modern handshake no longer completes.
    assert_eq!(changes["tls_changed"][0]["new"], "none");
    assert!(
        changes["tls_changed"][0]["old"]
            .as_str()
            .is_some_and(|t| t.starts_with("TLSv1."))
    );
    let (_, text, _) = run(&store, &["diff"]);
    assert!(
        text.contains("versions + TLSv1.0; versions - TLSv1.2, TLSv1.3"),
        "{text}"
    );
}
