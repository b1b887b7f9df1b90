//! End to end: `mailwarden scan --tls full|quick|off` on real Postfix and
//! Dovecot: the enumeration lands in the JSON, its findings carry the
//! severity of their context (Postfix's anonymous suites: info on the MX,
//! high on submission), and the text report summarizes it.

mod common;

use std::sync::OnceLock;

use common::*;
use mailwarden_model::{
    Attempt, ScanReport, Severity, SupportStatus, TlsScan, TlsScanMode, TlsVersion,
};

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
    findings_at(report, name)
        .into_iter()
        .find(|f| f.rule == rule)
        .map(|f| f.severity)
}

#[test]
fn anonymous_suites_are_info_on_the_mx_and_high_on_submission() {
    let r = postfix_full();
    assert_eq!(
        severity(r, "smtp-mx", "anonymous-suites-accepted"),
        Some(Severity::Info)
    );
    assert_eq!(
        severity(r, "submission-enforced", "anonymous-suites-accepted"),
        Some(Severity::High)
    );
    assert_eq!(
        severity(r, "smtps", "anonymous-suites-accepted"),
        Some(Severity::High)
    );
    // OpenSSL gives anonymous DHE a 1024-bit group: low on the MX.
    assert_eq!(severity(r, "smtp-mx", "weak-dh-group"), Some(Severity::Low));
    assert_eq!(
        severity(r, "smtp-mx", "suites-without-forward-secrecy"),
        Some(Severity::Info)
    );
    // Nothing above info/low on the MX from the enumeration.
    for f in findings_at(r, "smtp-mx") {
        assert!(f.severity <= Severity::Low, "{}: {:?}", f.rule, f.severity);
    }
}

#[test]
fn a_tls10_only_submission_port() {
    let r = postfix_full();
    assert_eq!(
        severity(r, "smtp-tls10", "tls10-accepted"),
        Some(Severity::Medium)
    );
    assert_eq!(
        severity(r, "smtp-tls10", "tls12-not-supported"),
        Some(Severity::Medium)
    );
    assert_eq!(
        severity(r, "smtp-tls10", "tls13-not-supported"),
        Some(Severity::Low)
    );
    assert_eq!(severity(r, "smtp-tls10", "tls11-accepted"), None);
    let scan = tls_scan(r, "smtp-tls10");
    assert_eq!(
        scan.version(TlsVersion::TLS10).unwrap().status,
        SupportStatus::Accepted
    );
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
            [
                TlsVersion::SSL2,
                TlsVersion::SSL3,
                TlsVersion::TLS10,
                TlsVersion::TLS11,
                TlsVersion::TLS12,
                TlsVersion::TLS13
            ]
        );
        assert_eq!(scan.connections, scan.probes, "{name}: no throttling");
        let obs = r
            .endpoints
            .iter()
            .find(|e| e.address == testbed().endpoint(name))
            .unwrap();
        assert!(
            obs.connections > scan.connections,
            "{name}: the endpoint total includes the enumeration"
        );
    }
    let mx = tls_scan(r, "smtp-mx");
    let tls12 = mx.version(TlsVersion::TLS12).unwrap();
    assert!(tls12.suites_complete);
    assert!(
        tls12.suites.iter().all(|s| s.id.name.is_some()),
        "IANA names"
    );
}

#[test]
fn quick_mode_on_dovecot_answers_with_a_handful_of_probes() {
    let r = scan_json(
        &[
            ("imaps", "imaps"),
            ("pop3-starttls", "pop3"),
            ("sieve", "sieve"),
            ("imap-starttls", "imap"),
        ],
        &["--tls", "quick"],
    );
    for name in ["imaps", "pop3-starttls", "sieve", "imap-starttls"] {
        let scan = tls_scan(&r, name);
        assert_eq!(scan.mode, TlsScanMode::Quick);
        assert!(scan.probes <= 12, "{name}: {} probes", scan.probes);
        assert_eq!(
            scan.version(TlsVersion::TLS12).unwrap().status,
            SupportStatus::Accepted
        );
        assert_eq!(
            scan.version(TlsVersion::TLS13).unwrap().status,
            SupportStatus::Accepted
        );
        assert_eq!(
            scan.version(TlsVersion::TLS11).unwrap().status,
            SupportStatus::Refused
        );
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
    let (code, out, err) = mailwarden(&[
        "scan",
        &ip,
        "--ports",
        &ports,
        "--ca-file",
        &ca,
        "--name",
        "mail.test",
        "--tls",
        "quick",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(
            "TLS enumeration (quick; accepted means the server chose it in a ServerHello):"
        ),
        "{out}"
    );
    let port = format!("port {}", testbed().endpoint("smtp-mx").port());
    assert!(out.contains(&port), "{out}");
    assert!(out.contains("MW-TLS-010"), "{out}");
}

#[test]
fn exim_weak_rc4_and_3des_carry_the_severity_of_their_context() {
    // The same Exim, judged as an MX (RFC 7435: anything beats plaintext) and as submission.
    let mx = scan_json(&[("exim-weak", "smtp")], &["--tls", "full"]);
    assert_eq!(
        severity(&mx, "exim-weak", "rc4-suites-accepted"),
        Some(Severity::Low)
    );
    assert_eq!(
        severity(&mx, "exim-weak", "3des-suites-accepted"),
        Some(Severity::Low)
    );
    assert_eq!(
        severity(&mx, "exim-weak", "tls10-accepted"),
        Some(Severity::Low)
    );
    assert_eq!(
        severity(&mx, "exim-weak", "tls11-accepted"),
        Some(Severity::Low)
    );
    let scan = tls_scan(&mx, "exim-weak");
    let tls12: Vec<String> = scan
        .version(TlsVersion::TLS12)
        .unwrap()
        .suites
        .iter()
        .map(|s| s.id.to_string())
        .collect();
    assert!(
        tls12.iter().any(|s| s == "TLS_RSA_WITH_RC4_128_SHA"),
        "{tls12:?}"
    );
    assert!(
        tls12
            .iter()
            .any(|s| s == "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA"),
        "{tls12:?}"
    );
    let submission = scan_json(&[("exim-weak", "submission")], &["--tls", "quick"]);
    assert_eq!(
        severity(&submission, "exim-weak", "rc4-suites-accepted"),
        Some(Severity::High)
    );
    assert_eq!(
        severity(&submission, "exim-weak", "3des-suites-accepted"),
        Some(Severity::Medium)
    );
    assert_eq!(
        severity(&submission, "exim-weak", "tls10-accepted"),
        Some(Severity::Medium)
    );
    // Nothing of the sort on a default Exim.
    let default = scan_json(&[("exim-mx", "submission")], &["--tls", "quick"]);
    assert_eq!(severity(&default, "exim-mx", "rc4-suites-accepted"), None);
    assert_eq!(severity(&default, "exim-mx", "3des-suites-accepted"), None);
}

#[test]
fn a_default_exim_is_scanned_in_full_without_421() {
    let r = scan_json(&[("exim-mx", "smtp")], &["--tls", "full"]);
    let obs = r
        .endpoints
        .iter()
        .find(|e| e.address == testbed().endpoint("exim-mx"))
        .unwrap();
    assert!(obs.throttling.is_empty(), "{:#?}", obs.throttling);
    let scan = tls_scan(&r, "exim-mx");
    assert_eq!(
        scan.connections, scan.probes,
        "no connection refused and retried"
    );
    for (v, n) in [
        (TlsVersion::TLS10, 8),
        (TlsVersion::TLS11, 8),
        (TlsVersion::TLS12, 25),
        (TlsVersion::TLS13, 4),
    ] {
        let version = scan.version(v).unwrap();
        assert_eq!(version.status, SupportStatus::Accepted, "{v}");
        assert_eq!(version.suites.len(), n, "{v}");
    }
}

#[test]
fn tls13_only_cbc_only_and_dhe_1024_submission_ports() {
    let r = scan_json(
        &[
            ("smtp-tls13-only", "submission"),
            ("smtp-cbc-only", "submission"),
            ("smtp-dhe-1024", "submission"),
        ],
        &["--tls", "full"],
    );
    // TLS 1.3 only: no TLS 1.2 is a finding (RFC 9325 requires 1.2), nothing older is.
    assert_eq!(
        severity(&r, "smtp-tls13-only", "tls12-not-supported"),
        Some(Severity::Medium)
    );
    let f = findings_at(&r, "smtp-tls13-only")
        .into_iter()
        .find(|f| f.rule == "tls12-not-supported")
        .unwrap();
    assert!(f.summary.contains("only TLSv1.3"), "{}", f.summary);
    for rule in [
        "tls13-not-supported",
        "tls10-accepted",
        "tls11-accepted",
        "suites-without-forward-secrecy",
    ] {
        assert_eq!(severity(&r, "smtp-tls13-only", rule), None, "{rule}");
    }
    // CBC only, with static RSA: no forward secrecy on a client port; no TLS 1.3.
    assert_eq!(
        severity(&r, "smtp-cbc-only", "suites-without-forward-secrecy"),
        Some(Severity::Low)
    );
    assert_eq!(
        severity(&r, "smtp-cbc-only", "tls13-not-supported"),
        Some(Severity::Low)
    );
    assert_eq!(severity(&r, "smtp-cbc-only", "tls12-not-supported"), None);
    // DHE with a 1024-bit group.
    assert_eq!(
        severity(&r, "smtp-dhe-1024", "weak-dh-group"),
        Some(Severity::Medium)
    );
    let scan = tls_scan(&r, "smtp-dhe-1024");
    assert!(
        scan.version(TlsVersion::TLS12)
            .unwrap()
            .suites
            .iter()
            .all(|s| s.dh_bits == Some(1024))
    );
}
