//! End to end: `mailwarden scan --tls full|quick|off` on real Postfix and
//! Dovecot: the enumeration lands in the JSON, its findings carry the
//! severity of their context (Postfix's anonymous suites: info on the MX,
//! high on submission), and the text report summarizes it.

mod common;

use std::sync::OnceLock;

use common::*;
use mailwarden_model::{Attempt, ScanReport, Severity, SupportStatus, TlsScan, TlsScanMode, TlsVersion};

fn postfix_full() -> &'static ScanReport {
    static REPORT: OnceLock<ScanReport> = OnceLock::new();
    REPORT.get_or_init(|| {
        scan_json(
            &[
                ("smtp-mx", "smtp"),
                ("submission-enforced", "submission"),
                ("smtps", "submissions"),
                ("smtp-tls10", "submission"),
            ],
            &["--tls", "full"],
        )
    })
}

fn tls_scan<'a>(report: &'a ScanReport, name: &str) -> &'a TlsScan {
    let addr = testbed().endpoint(name);
    let obs = report.endpoints.iter().find(|e| e.address == addr).unwrap();
    match &obs.tls_scan {
        Some(Attempt::Completed { value }) => value,
        other => panic!("{name}: {other:?}"),
    }
}

fn severity(report: &ScanReport, name: &str, rule: &str) -> Option<Severity> {
    findings_at(report, name).into_iter().find(|f| f.rule == rule).map(|f| f.severity)
}

#[test]
fn anonymous_suites_are_info_on_the_mx_and_high_on_submission() {
    let r = postfix_full();
    assert_eq!(severity(r, "smtp-mx", "anonymous-suites-accepted"), Some(Severity::Info));
    assert_eq!(severity(r, "submission-enforced", "anonymous-suites-accepted"), Some(Severity::High));
    assert_eq!(severity(r, "smtps", "anonymous-suites-accepted"), Some(Severity::High));
    // OpenSSL gives anonymous DHE a 1024-bit group: low on the MX.
    assert_eq!(severity(r, "smtp-mx", "weak-dh-group"), Some(Severity::Low));
    assert_eq!(severity(r, "smtp-mx", "suites-without-forward-secrecy"), Some(Severity::Info));
    // Nothing above info/low on the MX from the enumeration.
    for f in findings_at(r, "smtp-mx") {
        assert!(f.severity <= Severity::Low, "{}: {:?}", f.rule, f.severity);
    }
}

#[test]
fn a_tls10_only_submission_port() {
    let r = postfix_full();
    assert_eq!(severity(r, "smtp-tls10", "tls10-accepted"), Some(Severity::Medium));
    assert_eq!(severity(r, "smtp-tls10", "tls12-not-supported"), Some(Severity::Medium));
    assert_eq!(severity(r, "smtp-tls10", "tls13-not-supported"), Some(Severity::Low));
    assert_eq!(severity(r, "smtp-tls10", "tls11-accepted"), None);
    let scan = tls_scan(r, "smtp-tls10");
    assert_eq!(scan.version(TlsVersion::TLS10).unwrap().status, SupportStatus::Accepted);
}

#[test]
fn the_enumeration_is_in_the_json_with_its_connections() {
    let r = postfix_full();
    for name in ["smtp-mx", "submission-enforced", "smtps", "smtp-tls10"] {
        let scan = tls_scan(r, name);
        assert_eq!(scan.mode, TlsScanMode::Full);
        let versions: Vec<TlsVersion> = scan.versions.iter().map(|v| v.version).collect();
        assert_eq!(
            versions,
            [TlsVersion::SSL2, TlsVersion::SSL3, TlsVersion::TLS10, TlsVersion::TLS11, TlsVersion::TLS12, TlsVersion::TLS13]
        );
        assert_eq!(scan.connections, scan.probes, "{name}: no throttling");
        let obs = r.endpoints.iter().find(|e| e.address == testbed().endpoint(name)).unwrap();
        assert!(obs.connections > scan.connections, "{name}: the endpoint total includes the enumeration");
    }
    let mx = tls_scan(r, "smtp-mx");
    let tls12 = mx.version(TlsVersion::TLS12).unwrap();
    assert!(tls12.suites_complete);
    assert!(tls12.suites.iter().all(|s| s.id.name.is_some()), "IANA names");
}

#[test]
fn quick_mode_on_dovecot_answers_with_a_handful_of_probes() {
    let r = scan_json(
        &[("imaps", "imaps"), ("pop3-starttls", "pop3"), ("sieve", "sieve"), ("imap-starttls", "imap")],
        &["--tls", "quick"],
    );
    for name in ["imaps", "pop3-starttls", "sieve", "imap-starttls"] {
        let scan = tls_scan(&r, name);
        assert_eq!(scan.mode, TlsScanMode::Quick);
        assert!(scan.probes <= 12, "{name}: {} probes", scan.probes);
        assert_eq!(scan.version(TlsVersion::TLS12).unwrap().status, SupportStatus::Accepted);
        assert_eq!(scan.version(TlsVersion::TLS13).unwrap().status, SupportStatus::Accepted);
        assert_eq!(scan.version(TlsVersion::TLS11).unwrap().status, SupportStatus::Refused);
        // Debian's Dovecot defaults: nothing for the enumeration rules to say.
        let enumeration: Vec<String> = findings_at(&r, name)
            .iter()
            .filter(|f| f.rule_id.as_str() >= "MW-TLS-003" && f.rule_id.starts_with("MW-TLS-"))
            .map(|f| f.rule.clone())
            .collect();
        assert_eq!(enumeration, Vec::<String>::new(), "{name}");
    }
}

#[test]
fn tls_off_leaves_the_enumeration_out_and_text_shows_a_summary() {
    let off = scan_json(&[("smtp-mx", "smtp")], &["--tls", "off"]);
    assert!(off.endpoints[0].tls_scan.is_none());
    let (ip, ports) = ports(&[("smtp-mx", "smtp")]);
    let ca = testbed().ca_file().display().to_string();
    let (code, out, err) =
        mailwarden(&["scan", &ip, "--ports", &ports, "--ca-file", &ca, "--name", "mail.test", "--tls", "quick"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("TLS enumeration (quick; accepted means the server chose it in a ServerHello):"), "{out}");
    let port = format!("port {}", testbed().endpoint("smtp-mx").port());
    assert!(out.contains(&port), "{out}");
    assert!(out.contains("MW-TLS-010"), "{out}");
}
