//! End to end: the CLI conventions of `mailwarden scan` — formats, output file,
//! exit status with `--fail-on`, colour rules — on real servers.

mod common;

use common::*;

fn args_for(entries: &[(&str, &str)]) -> (String, String, String) {
    let (ip, ports) = ports(entries);
    (ip, ports, testbed().ca_file().display().to_string())
}

#[test]
fn fail_on_sets_the_exit_status() {
    let (ip, ports, ca) = args_for(&[("pop3-plain", "pop3")]);
    let base = [
        "scan",
        &ip,
        "--ports",
        &ports,
        "--ca-file",
        &ca,
        "--name",
        "mail.test",
    ];
    let (code, _, _) = mailwarden(&[&base[..], &["--fail-on", "critical"]].concat());
    assert_eq!(code, 1, "plaintext POP3 is critical");
    let (code, _, _) = mailwarden(&base);
    assert_eq!(code, 0, "without --fail-on findings do not fail the run");

    let (ip, ports, ca) = args_for(&[("submission-enforced", "submission")]);
    // Clean as far as the foundation goes (its TLS enumeration shows Postfix's aNULL suites).
    let (code, out, _) = mailwarden(&[
        "scan",
        &ip,
        "--ports",
        &ports,
        "--ca-file",
        &ca,
        "--name",
        "mail.test",
        "--tls",
        "off",
        "--fail-on",
        "info",
    ]);
    assert_eq!(
        code, 0,
        "a clean endpoint passes even --fail-on info: {out}"
    );
}

#[test]
fn text_report_has_the_table_and_findings_and_no_colour_off_terminal() {
    let (ip, ports, ca) = args_for(&[
        ("submission-auth-before-tls", "submission"),
        ("smtps", "submissions"),
    ]);
    let (code, out, _) = mailwarden(&[
        "scan",
        &ip,
        "--ports",
        &ports,
        "--ca-file",
        &ca,
        "--name",
        "mail.test",
    ]);
    assert_eq!(code, 0);
    assert!(
        !out.contains('\x1b'),
        "no escape codes when stdout is not a terminal"
    );
    assert!(out.contains("starttls-optional"), "{out}");
    assert!(out.contains("implicit-tls"), "{out}");
    assert!(out.contains("MW-AUTH-001"), "{out}");
    assert!(
        out.contains("250-AUTH PLAIN LOGIN"),
        "evidence lines are shown: {out}"
    );
    // Colour on request, and never under NO_COLOR with auto.
    let (_, coloured, _) = mailwarden(&[
        "scan",
        &ip,
        "--ports",
        &ports,
        "--ca-file",
        &ca,
        "--name",
        "mail.test",
        "--color",
        "always",
    ]);
    assert!(coloured.contains('\x1b'));
}

#[test]
fn output_file_gets_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scan.json");
    let (ip, ports, ca) = args_for(&[("smtp-mx", "smtp")]);
    let (code, out, _) = mailwarden(&[
        "scan",
        &ip,
        "--ports",
        &ports,
        "--ca-file",
        &ca,
        "--name",
        "mail.test",
        "--format",
        "json",
        "--output",
        path.to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    assert!(out.is_empty(), "nothing on stdout with --output");
    let report: mailwarden_model::ScanReport =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(report.schema, mailwarden_model::SCHEMA_ID);
    assert_eq!(report.endpoints.len(), 1);
    assert_eq!(report.options.name.as_deref(), Some("mail.test"));
}

#[test]
fn rules_command_lists_and_explains() {
    let (code, out, _) = mailwarden(&["rules"]);
    assert_eq!(code, 0);
    assert!(out.contains("MW-TRANSPORT-001"));
    assert!(out.contains("MW-CERT-006"));
    let (code, out, _) = mailwarden(&["rules", "auth-offered-before-tls"]);
    assert_eq!(code, 0);
    assert!(out.contains("MW-AUTH-001"));
    assert!(out.contains("Postfix"));
    assert!(out.contains("RFC"));
    let (code, md, _) = mailwarden(&["rules", "--markdown"]);
    assert_eq!(code, 0);
    assert_eq!(
        md,
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/rules.md")).unwrap()
    );
}
