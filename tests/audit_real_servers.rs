//! End-to-end: `mailwarden audit` and `mailwarden policy init|check` against
//! the real Postfix and Dovecot of the test bed.
//!
//! The test bed's listeners are fixed, so change is modelled by what the
//! policy declares: a policy that matches passes; then the architecture
//! "changes" (a forgotten relay listener answers, TLS enforcement is off on
//! the submission port, one MX port carries a certificate about to expire)
//! and `audit` must report exactly that. Ports are the test bed's, written
//! into the policy at test time; `[audit] ports` replaces the default nine
//! mail ports so that whatever else runs on this machine stays out.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::{mailwarden, testbed};
use mailwarden_model::ScanReport;

/// A listener's port.
fn port(name: &str) -> u16 {
    testbed().endpoint(name).port()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write the policy");
    path
}

/// Runs `audit` (JSON, no TLS enumeration: the handshake is enough here) and
/// returns the exit code and the report.
fn audit(policy: &Path, extra: &[&str]) -> (i32, ScanReport) {
    let ca = testbed().ca_file().display().to_string();
    let policy = policy.display().to_string();
    let mut args = vec![
        "audit",
        "--policy",
        &policy,
        "--ca-file",
        &ca,
        "--timeout",
        "5",
        "--format",
        "json",
        "--quiet",
    ];
    if !extra.contains(&"--tls") {
        args.extend(["--tls", "off"]);
    }
    args.extend(extra);
    let (code, stdout, stderr) = mailwarden(&args);
    assert!(code == 0 || code == 1, "exit {code}: {stderr}");
    let report = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("bad JSON ({e}): {stdout}\n{stderr}"));
    (code, report)
}

/// (rule id, test bed listener name) of every finding.
fn findings(report: &ScanReport) -> BTreeSet<(String, String)> {
    let tb = testbed();
    report
        .assessment
        .findings
        .iter()
        .map(|f| {
            let name = f
                .address
                .and_then(|a| tb.endpoints().iter().find(|e| e.addr == a))
                .map_or_else(|| format!("{:?}", f.address), |e| e.name.to_owned());
            (f.rule_id.clone(), name)
        })
        .collect()
}

fn set(items: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    items
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

/// The architecture the test bed matches: an MX, a submission port with
/// STARTTLS required, implicit-TLS submission.
fn matching_policy() -> String {
    format!(
        r#"
name = "test bed"
baseline = "rfc8314"

[audit]
ports = []

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
port = {enforced}
protocol = "smtp"
tls = "starttls-required"
certificate_name = "mail.test"

[[service]]
name = "submissions"
hosts = ["127.0.0.1"]
port = {smtps}
protocol = "smtp"
tls = "implicit"
certificate_name = "mail.test"

[forbid]
ports = [110, 143]
"#,
        mx = port("smtp-mx"),
        enforced = port("submission-enforced"),
        smtps = port("smtps"),
    )
}

/// The same architecture after the changes of issue 4.
fn changed_policy() -> String {
    format!(
        r#"
name = "test bed, later"
baseline = "rfc8314"

[audit]
# A relay listener nobody declared now answers among the probed ports.
ports = [{relay}]

[[service]]
name = "inbound-mx"
hosts = ["127.0.0.1"]
# The second MX port carries the certificate that expires in 10 days.
ports = [{mx}, {expiring}]
protocol = "smtp"
role = "smtp"
tls = "starttls"
auth = "none"
certificate_name = "mail.test"

[[service]]
name = "submission"
hosts = ["127.0.0.1"]
# Enforcement was switched off on the submission port.
port = {optional}
protocol = "smtp"
tls = "starttls-required"
certificate_name = "mail.test"

[[service]]
name = "submissions"
hosts = ["127.0.0.1"]
port = {smtps}
protocol = "smtp"
tls = "implicit"
certificate_name = "mail.test"

[forbid]
ports = [110, 143]
"#,
        relay = port("smtp-no-relay"),
        mx = port("smtp-mx"),
        expiring = port("smtp-expiring"),
        optional = port("submission-auth-before-tls"),
        smtps = port("smtps"),
    )
}

#[test]
fn a_matching_policy_passes_and_each_change_is_reported_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let matching = write(dir.path(), "matching.toml", &matching_policy());
    let (code, report) = audit(&matching, &["--fail-on", "info"]);
    assert_eq!(
        findings(&report),
        set(&[]),
        "{:#?}",
        report.assessment.findings
    );
    assert_eq!(code, 0);
    // Declared roles decide the contexts (SMTP on a high port would be submission).
    let context = |name: &str| {
        let addr = testbed().endpoint(name);
        report
            .assessment
            .endpoints
            .iter()
            .find(|e| e.address == addr)
            .map(|e| e.context.clone())
    };
    assert_eq!(context("smtp-mx").as_deref(), Some("mx"));
    assert_eq!(
        context("submission-enforced").as_deref(),
        Some("submission")
    );
    assert_eq!(context("smtps").as_deref(), Some("submission"));

    let changed = write(dir.path(), "changed.toml", &changed_policy());
    let (code, report) = audit(&changed, &["--fail-on", "high"]);
    assert_eq!(
        findings(&report),
        set(&[
            // The undeclared relay listener (judged as submission: no role is declared for it).
            ("MW-DRIFT-001", "smtp-no-relay"),
            ("MW-TRANSPORT-003", "smtp-no-relay"),
            // TLS enforcement turned off where the policy requires it.
            ("MW-DRIFT-003", "submission-auth-before-tls"),
            ("MW-DRIFT-005", "submission-auth-before-tls"),
            ("MW-AUTH-001", "submission-auth-before-tls"),
            ("MW-TRANSPORT-003", "submission-auth-before-tls"),
            // The expiring certificate, unlike the MX's other port.
            ("MW-CERT-004", "smtp-expiring"),
            ("MW-DRIFT-012", "smtp-expiring"),
        ]),
        "{:#?}",
        report.assessment.findings
    );
    assert_eq!(code, 1, "high findings fail --fail-on high");
    let by_id = |id: &str| {
        report
            .assessment
            .findings
            .iter()
            .find(|f| f.rule_id == id)
            .unwrap()
    };
    assert!(
        by_id("MW-DRIFT-003")
            .summary
            .contains("weaker than the declared tls = \"starttls-required\"")
    );
    assert!(
        by_id("MW-DRIFT-012").summary.contains("expires"),
        "{}",
        by_id("MW-DRIFT-012").summary
    );
    assert_eq!(by_id("MW-DRIFT-012").context, "mx");

    // The stored report re-judged offline gives the same findings; under the
    // matching policy the same observations show what changed.
    let stored = write(
        dir.path(),
        "changed.json",
        &serde_json::to_string(&report).unwrap(),
    );
    let (_, again) = audit(&changed, &["--from", &stored.display().to_string()]);
    assert_eq!(findings(&again), findings(&report));
    assert_eq!(again.endpoints, report.endpoints, "--from must not scan");
}

#[test]
fn overrides_from_the_policy_apply_to_real_findings() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{}\n[rules]\n\"MW-DRIFT-001\" = \"allow\"\n\"MW-TRANSPORT-003\" = \"warn\"\ncertificates-inconsistent = \"deny\"\n",
        changed_policy()
    );
    let policy = write(dir.path(), "overrides.toml", &text);
    let (_, report) = audit(&policy, &[]);
    let got = findings(&report);
    assert!(!got.iter().any(|(id, _)| id == "MW-DRIFT-001"), "{got:?}");
    for f in &report.assessment.findings {
        match f.rule_id.as_str() {
            "MW-TRANSPORT-003" => assert_eq!(f.severity, mailwarden_model::Severity::Medium),
            "MW-DRIFT-012" => assert_eq!(f.severity, mailwarden_model::Severity::High),
            _ => {}
        }
    }
    // The text report says what was suppressed.
    let ca = testbed().ca_file().display().to_string();
    let p = policy.display().to_string();
    let (_, text, _) = mailwarden(&[
        "audit",
        "--policy",
        &p,
        "--ca-file",
        &ca,
        "--tls",
        "off",
        "--timeout",
        "5",
        "--color",
        "never",
    ]);
    assert!(
        text.contains("1 finding suppressed by `allow` overrides (MW-DRIFT-001)"),
        "{text}"
    );
}

#[test]
fn the_baseline_judges_the_enumeration_of_real_postfix() {
    // Postfix's default cipher list accepts anonymous and static-RSA suites:
    // outside every baseline once the enumeration runs.
    let dir = tempfile::tempdir().unwrap();
    let text = matching_policy().replace(
        "baseline = \"rfc8314\"",
        "baseline = \"mozilla-intermediate\"",
    );
    let policy = write(dir.path(), "mozilla.toml", &text);
    let (_, report) = audit(&policy, &["--tls", "quick"]);
    let suites = report
        .assessment
        .findings
        .iter()
        .find(|f| {
            f.rule_id == "MW-DRIFT-009"
                && f.address == Some(testbed().endpoint("submission-enforced"))
        })
        .unwrap_or_else(|| panic!("{:#?}", report.assessment.findings));
    assert!(
        suites
            .summary
            .contains("outside baseline mozilla-intermediate@1"),
        "{}",
        suites.summary
    );
    let lines: Vec<String> = suites
        .evidence
        .iter()
        .flat_map(|e| e.lines.iter().map(ToString::to_string))
        .collect();
    assert!(lines.iter().any(|l| l.contains("anonymous")), "{lines:?}");
}

/// `policy init` for one host of the test bed with `PORT/ROLE` entries;
/// returns the file, its text and the `--ports` argument.
fn init(dir: &Path, host: &str, roles: &[(&str, &str)]) -> (PathBuf, String, String) {
    let ports: Vec<String> = roles
        .iter()
        .map(|(n, r)| format!("{}/{r}", port(n)))
        .collect();
    let ports = ports.join(",");
    let ca = testbed().ca_file().display().to_string();
    let out = dir.join(format!("init-{host}.toml"));
    let out_s = out.display().to_string();
    let (code, _, stderr) = mailwarden(&[
        "policy",
        "init",
        host,
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
        "--quiet",
        "-o",
        &out_s,
    ]);
    assert_eq!(code, 0, "{stderr}");
    let text = std::fs::read_to_string(&out).unwrap();
    (out, text, ports)
}

/// The audit of an init file finds no drift but `expected_drift`, and every
/// other finding is one `scan` reports for the same ports.
fn audits_like_scan(file: &Path, host: &str, ports: &str, expected_drift: &[(&str, &str)]) {
    let (code, stdout, stderr) = mailwarden(&["policy", "check", &file.display().to_string()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains(": ok: "), "{stdout}");
    let (_, report) = audit(file, &[]);
    let (drift, others): (BTreeSet<_>, BTreeSet<_>) = findings(&report)
        .into_iter()
        .partition(|(id, _)| id.starts_with("MW-DRIFT-"));
    assert_eq!(drift, set(expected_drift));
    let ca = testbed().ca_file().display().to_string();
    let (code, stdout, stderr) = mailwarden(&[
        "scan",
        host,
        "--ports",
        ports,
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
    ]);
    assert!(code == 0 || code == 1, "{stderr}");
    assert_eq!(others, findings(&serde_json::from_str(&stdout).unwrap()));
}

#[test]
fn policy_init_writes_files_that_check_and_audit_clean_but_for_real_findings() {
    let dir = tempfile::tempdir().unwrap();
    let (file, text, ports) = init(
        dir.path(),
        "127.0.0.1",
        &[
            ("smtp-mx", "smtp"),
            ("submission-enforced", "submission"),
            ("submission-auth-before-tls", "submission"),
            ("smtps", "submissions"),
            ("smtp-plain", "submission"),
        ],
    );
    // One service per open mail port, with the observed modes.
    for (name, expect) in [
        (
            "smtp-mx",
            "protocol = \"smtp\"\nrole = \"smtp\"\ntls = \"starttls\"\nauth = \"none\"",
        ),
        (
            "submission-enforced",
            "protocol = \"smtp\"\ntls = \"starttls-required\"\nauth = \"after-tls\"",
        ),
        (
            "submission-auth-before-tls",
            "protocol = \"smtp\"\ntls = \"starttls\"\nauth = \"required\"",
        ),
        (
            "smtps",
            "protocol = \"smtp\"\ntls = \"implicit\"\nauth = \"after-tls\"",
        ),
    ] {
        assert!(
            text.contains(&format!("port = {}\n{expect}", port(name))),
            "{name}:\n{text}"
        );
    }
    // The plaintext submission port is legacy: forbidden, with a comment.
    assert!(
        text.contains(&format!(
            "# LEGACY: 127.0.0.1 port {} speaks SMTP without TLS",
            port("smtp-plain")
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("ports = [{}]\n", port("smtp-plain"))),
        "{text}"
    );
    audits_like_scan(
        &file,
        "127.0.0.1",
        &ports,
        &[("MW-DRIFT-007", "smtp-plain")],
    );

    let (file, text, ports) = init(
        dir.path(),
        "127.0.0.2",
        &[
            ("imap-starttls", "imap"),
            ("imaps", "imaps"),
            ("pop3s", "pop3s"),
            ("pop3-starttls", "pop3"),
            ("sieve", "sieve"),
        ],
    );
    assert!(
        text.contains(&format!(
            "port = {}\nprotocol = \"imap\"\ntls = \"implicit\"",
            port("imaps")
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "port = {}\nprotocol = \"imap\"\ntls = \"starttls-required\"",
            port("imap-starttls")
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "port = {}\nprotocol = \"managesieve\"",
            port("sieve")
        )),
        "{text}"
    );
    audits_like_scan(&file, "127.0.0.2", &ports, &[]);
}

#[test]
fn all_ports_finds_what_listens_beside_the_declared_port() {
    let tb = testbed();
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "[audit]\nports = []\n\n[[service]]\nname = \"imaps\"\nhosts = [\"127.0.0.2\"]\nport = {}\nprotocol = \"imap\"\ntls = \"implicit\"\ncertificate_name = \"mail.test\"\n",
        port("imaps")
    );
    let policy = write(dir.path(), "sweep.toml", &text);
    let (_, report) = audit(&policy, &["--all-ports", "--sweep-concurrency", "128"]);
    let undeclared: BTreeSet<u16> = report
        .assessment
        .findings
        .iter()
        .filter(|f| f.rule_id == "MW-DRIFT-001")
        .filter_map(|f| f.address.map(|a| a.port()))
        .collect();
    // Other test beds may run on this machine too: ours must be among what is found.
    for name in ["imap-starttls", "pop3s", "pop3-starttls", "sieve"] {
        assert!(
            undeclared.contains(&port(name)),
            "{name} not found: {undeclared:?}"
        );
        let e = report
            .assessment
            .endpoints
            .iter()
            .find(|e| e.address == tb.endpoint(name))
            .unwrap();
        assert!(e.protocol.is_some(), "{name} fingerprinted");
    }
    assert!(!undeclared.contains(&port("imaps")));
}

#[test]
fn policy_check_reports_errors_with_line_column_and_hint() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(
        dir.path(),
        "bad.toml",
        "[[service]]\nname = \"mx\"\nhosts = [\"mx1\"]\nport = 25\ntls = \"startls\"\n",
    );
    let p = bad.display().to_string();
    let (code, stdout, stderr) = mailwarden(&["policy", "check", &p]);
    assert_eq!(code, 2);
    assert!(stdout.is_empty());
    assert!(
        stderr.contains(&format!("{p}:5:7: error: unknown value `startls`")),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: did you mean `starttls`?"),
        "{stderr}"
    );
    // audit refuses it the same way.
    let (code, _, stderr) = mailwarden(&["audit", "--policy", &p]);
    assert_eq!(code, 2);
    assert!(stderr.contains(":5:7: error:"), "{stderr}");
    let (code, _, stderr) = mailwarden(&["audit", "--policy", "/nonexistent/policy.toml"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("reading the policy file /nonexistent/policy.toml"),
        "{stderr}"
    );
}
