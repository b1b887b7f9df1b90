//! End to end: `mailwarden scan` against real Postfix and Dovecot produces every
//! verdict and finding of the scan foundation, in the right context.

mod common;

use std::sync::OnceLock;

use common::*;
use mailwarden_model::{Posture, ScanReport, Severity};

/// One scan of every real-server endpoint on 127.0.0.1 (Postfix), in the role
/// that makes each one meaningful.
fn postfix_scan() -> &'static ScanReport {
    static REPORT: OnceLock<ScanReport> = OnceLock::new();
    REPORT.get_or_init(|| {
        scan_json(
            &[
                ("smtp-mx", "smtp"),
                ("smtp-plain", "smtp"),
                ("submission-enforced", "submission"),
                ("submission-auth-before-tls", "submission"),
                ("smtps", "submissions"),
                ("smtp-tls10", "submission"),
                ("smtp-expired", "submission"),
                ("smtp-not-yet-valid", "submission"),
                ("smtp-expiring", "submission"),
                ("smtp-self-signed", "submission"),
                ("smtp-wrong-name", "submission"),
                ("smtp-rsa1024", "submission"),
                ("smtp-sha1", "submission"),
                ("smtp-banner-version", "smtp"),
            ],
            &[],
        )
    })
}

fn severity_of(report: &ScanReport, name: &str, rule: &str) -> Severity {
    findings_at(report, name)
        .into_iter()
        .find(|f| f.rule == rule)
        .unwrap_or_else(|| panic!("{rule} not found on {name}: {:?}", rules_at(report, name)))
        .severity
}

#[test]
fn mx_with_starttls_is_optional_by_design_and_clean() {
    let r = postfix_scan();
    assert_eq!(posture_at(r, "smtp-mx"), Posture::StarttlsOptional);
    assert_eq!(rules_at(r, "smtp-mx"), Vec::<String>::new());
}

#[test]
fn mx_without_starttls_is_high() {
    let r = postfix_scan();
    assert_eq!(posture_at(r, "smtp-plain"), Posture::PlaintextOnly);
    assert_eq!(
        severity_of(r, "smtp-plain", "mx-without-starttls"),
        Severity::High
    );
}

#[test]
fn enforced_submission_has_no_transport_or_auth_finding() {
    let r = postfix_scan();
    assert_eq!(
        posture_at(r, "submission-enforced"),
        Posture::StarttlsEnforced
    );
    assert_eq!(rules_at(r, "submission-enforced"), Vec::<String>::new());
}

#[test]
fn submission_with_auth_before_tls() {
    let r = postfix_scan();
    assert_eq!(
        posture_at(r, "submission-auth-before-tls"),
        Posture::StarttlsOptional
    );
    assert_eq!(
        rules_at(r, "submission-auth-before-tls"),
        ["auth-offered-before-tls", "starttls-optional-client-port"]
    );
    let auth = findings_at(r, "submission-auth-before-tls")
        .into_iter()
        .find(|f| f.rule == "auth-offered-before-tls")
        .unwrap();
    assert_eq!(auth.severity, Severity::High);
    let evidence: Vec<String> = auth
        .evidence
        .iter()
        .flat_map(|e| e.lines.iter().map(|l| l.to_string()))
        .collect();
    assert!(
        evidence.iter().any(|l| l.contains("AUTH PLAIN LOGIN")),
        "{evidence:?}"
    );
    assert!(
        auth.remediation.contains("smtpd_tls_auth_only"),
        "{}",
        auth.remediation
    );
}

#[test]
fn implicit_tls_submission_is_clean() {
    let r = postfix_scan();
    assert_eq!(posture_at(r, "smtps"), Posture::ImplicitTls);
    assert_eq!(rules_at(r, "smtps"), Vec::<String>::new());
}

#[test]
fn tls10_only_is_broken_for_modern_clients_and_legacy() {
    let r = postfix_scan();
    assert_eq!(posture_at(r, "smtp-tls10"), Posture::TlsBroken);
    assert_eq!(
        severity_of(r, "smtp-tls10", "legacy-tls-version"),
        Severity::High
    );
    assert_eq!(
        severity_of(r, "smtp-tls10", "tls-handshake-fails"),
        Severity::High
    );
}

#[test]
fn certificate_findings_on_a_submission_port() {
    let r = postfix_scan();
    assert_eq!(
        severity_of(r, "smtp-expired", "certificate-expired"),
        Severity::High
    );
    assert_eq!(
        severity_of(r, "smtp-not-yet-valid", "certificate-not-yet-valid"),
        Severity::High
    );
    assert_eq!(
        severity_of(r, "smtp-expiring", "certificate-expires-within-30-days"),
        Severity::Medium
    );
    assert_eq!(
        severity_of(r, "smtp-self-signed", "certificate-self-signed"),
        Severity::High
    );
    assert_eq!(
        severity_of(r, "smtp-wrong-name", "certificate-name-mismatch"),
        Severity::High
    );
    assert_eq!(
        severity_of(r, "smtp-rsa1024", "weak-rsa-key"),
        Severity::Medium
    );
    assert_eq!(
        severity_of(r, "smtp-sha1", "weak-certificate-signature"),
        Severity::Medium
    );
    // A valid chain has none of them.
    assert!(
        !rules_at(r, "smtps")
            .iter()
            .any(|n| n.starts_with("certificate-"))
    );
}

#[test]
fn banner_with_version_is_disclosed() {
    let r = postfix_scan();
    assert_eq!(
        severity_of(r, "smtp-banner-version", "software-version-disclosed"),
        Severity::Low
    );
    assert!(!rules_at(r, "smtp-mx").contains(&"software-version-disclosed".to_owned()));
}

#[test]
fn an_mx_judges_certificates_opportunistically() {
    // The same self-signed certificate: informational on an MX (RFC 7435), high on submission.
    let r = scan_json(
        &[("smtp-self-signed", "smtp"), ("smtp-wrong-name", "smtp")],
        &[],
    );
    assert_eq!(
        severity_of(&r, "smtp-self-signed", "certificate-self-signed"),
        Severity::Info
    );
    assert_eq!(
        severity_of(&r, "smtp-wrong-name", "certificate-name-mismatch"),
        Severity::Info
    );
}

#[test]
fn an_unknown_ca_is_untrusted() {
    // Without --ca-file the test CA is unknown.
    let r = scan_json(&[("smtps", "submissions")], &["--no-ca"]);
    assert_eq!(
        severity_of(&r, "smtps", "certificate-untrusted"),
        Severity::High
    );
}

#[test]
fn an_implicit_tls_port_speaking_plaintext() {
    let r = scan_json(&[("smtp-plain", "submissions")], &[]);
    assert_eq!(
        severity_of(&r, "smtp-plain", "implicit-tls-port-speaks-plaintext"),
        Severity::High
    );
}

/// Dovecot listens on several loopback addresses; one scan per address.
#[test]
fn dovecot_access_ports() {
    let r = scan_json(
        &[
            ("imap-starttls", "imap"),
            ("imaps", "imaps"),
            ("pop3s", "pop3s"),
            ("pop3-starttls", "pop3"),
            ("sieve", "sieve"),
        ],
        &[],
    );
    assert_eq!(posture_at(&r, "imap-starttls"), Posture::StarttlsEnforced);
    assert_eq!(posture_at(&r, "imaps"), Posture::ImplicitTls);
    assert_eq!(posture_at(&r, "pop3s"), Posture::ImplicitTls);
    assert_eq!(posture_at(&r, "pop3-starttls"), Posture::StarttlsEnforced);
    assert_eq!(posture_at(&r, "sieve"), Posture::StarttlsEnforced);
    for name in ["imap-starttls", "imaps", "pop3s", "pop3-starttls", "sieve"] {
        assert_eq!(rules_at(&r, name), Vec::<String>::new(), "{name}");
    }

    let r = scan_json(&[("imap-plain-allowed", "imap")], &[]);
    assert_eq!(
        posture_at(&r, "imap-plain-allowed"),
        Posture::StarttlsOptional
    );
    assert_eq!(
        severity_of(&r, "imap-plain-allowed", "plaintext-login-accepted"),
        Severity::Critical
    );
    assert_eq!(
        severity_of(&r, "imap-plain-allowed", "starttls-optional-client-port"),
        Severity::High
    );
    assert_eq!(
        severity_of(&r, "imap-plain-allowed", "auth-offered-before-tls"),
        Severity::High
    );

    let r = scan_json(&[("pop3-plain", "pop3")], &[]);
    assert_eq!(posture_at(&r, "pop3-plain"), Posture::PlaintextOnly);
    assert_eq!(
        severity_of(&r, "pop3-plain", "plaintext-only-client-port"),
        Severity::Critical
    );
    assert_eq!(
        severity_of(&r, "pop3-plain", "plaintext-login-accepted"),
        Severity::Critical
    );
}

#[test]
fn findings_are_sorted_most_severe_first() {
    let r = postfix_scan();
    let severities: Vec<Severity> = r.assessment.findings.iter().map(|f| f.severity).collect();
    let mut sorted = severities.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(severities, sorted);
}

#[test]
fn json_report_round_trips_and_rejudges_identically() {
    let r = postfix_scan();
    let text = serde_json::to_string(r).unwrap();
    let back: ScanReport = serde_json::from_str(&text).unwrap();
    assert_eq!(&back, r);
    let again = mailwarden_rules::assess(
        &back.endpoints,
        &back.targets,
        &mailwarden_rules::AssessContext::new(back.started_at),
    );
    assert_eq!(
        again, r.assessment,
        "rules are a pure function of the stored observations"
    );
}

#[test]
fn exposed_lmtp_is_found_whatever_the_port() {
    // No role: the port number says nothing, the server's words say LMTP.
    let r = scan_json(&[("lmtp", "")], &[]);
    let lmtp = r
        .endpoints
        .iter()
        .find(|e| e.address == testbed().endpoint("lmtp"))
        .unwrap();
    assert_eq!(lmtp.protocol, Some(mailwarden_model::Protocol::Lmtp));
    assert_eq!(severity_of(&r, "lmtp", "lmtp-exposed"), Severity::High);
}

#[test]
fn a_throttling_server_is_not_assessed_never_closed() {
    use std::io::{BufRead as _, BufReader};
    let held = std::net::TcpStream::connect(testbed().endpoint("smtp-throttled")).unwrap();
    let mut greeting = String::new();
    BufReader::new(&held).read_line(&mut greeting).unwrap();
    let r = scan_json(&[("smtp-throttled", "submission")], &[]);
    drop(held);
    let e = &r.endpoints[0];
    assert_eq!(e.state, mailwarden_model::PortState::Throttled);
    assert_eq!(posture_at(&r, "smtp-throttled"), Posture::NotAssessed);
    assert!(rules_at(&r, "smtp-throttled").contains(&"endpoint-not-assessed".to_owned()));
}
