//! Snapshot tests of the text and JSON reports for a scan that covers every
//! port state and every verdict, assessed by the real rules.

use mailwarden_model::{EnforcementKind, EnforcementOutcome, Protocol, ScanReport, TlsVersion};
use mailwarden_report::{TextOptions, render_catalogue, render_json, render_rule, render_text};
use mailwarden_rules::fixtures::*;
use mailwarden_rules::{AssessContext, assess, catalogue, rule};

/// One target with a port in each state and verdict, and one that did not resolve.
fn fixture_report() -> ScanReport {
    let endpoints = vec![
        // MX: optional STARTTLS (normal), version in the banner, self-signed (info on an MX).
        smtp(25)
            .greeting(&["220 mail.example.test ESMTP Postfix (3.7.11)"])
            .chain(|c| *c = self_signed_chain(HOST))
            .build(),
        implicit(465, Protocol::Smtp).build(),
        // Submission that lets everything through before TLS; certificate expiring.
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
        closed(995),
        filtered(4190),
        // A hostile non-mail reply: the escape sequence must never reach the terminal.
        open_not_mail(
            8080,
            &["HTTP/1.1 400 Bad Request\u{1b}[2J", "Server: nginx"],
        ),
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

fn plain() -> TextOptions {
    TextOptions {
        color: false,
        width: Some(180),
    }
}

#[test]
fn text_report() {
    insta::assert_snapshot!(render_text(&fixture_report(), &plain()));
}

#[test]
fn json_report() {
    insta::assert_snapshot!(render_json(&fixture_report()));
}

#[test]
fn json_reads_back_to_the_same_report() {
    let report = fixture_report();
    let json = render_json(&report);
    assert!(json.ends_with("}\n"));
    let back: ScanReport = serde_json::from_str(&json).expect("valid report JSON");
    assert_eq!(back, report);
}

#[test]
fn every_verdict_appears_in_the_fixture() {
    let report = fixture_report();
    for p in mailwarden_rules::ALL_POSTURES {
        assert!(
            report.assessment.endpoints.iter().any(|e| e.posture == p),
            "{} missing from the fixture",
            p.as_str()
        );
    }
}

#[test]
fn no_escape_sequence_without_colour_and_colour_when_asked() {
    let report = fixture_report();
    let plain = render_text(&report, &plain());
    assert!(!plain.contains('\u{1b}'), "raw ESC in uncoloured output");
    assert!(plain.contains("HTTP/1.1 400 Bad Request\\u{1b}[2J"));
    let coloured = render_text(
        &report,
        &TextOptions {
            color: true,
            width: Some(180),
        },
    );
    assert!(coloured.contains("\u{1b}["), "no colour in coloured output");
    // Colour comes from us, never from the server: its ESC is still escaped.
    assert!(!coloured.contains("Request\u{1b}[2J"));
}

#[test]
fn a_narrow_width_is_respected() {
    let text = render_text(
        &fixture_report(),
        &TextOptions {
            color: false,
            width: Some(100),
        },
    );
    for line in text
        .lines()
        .filter(|l| l.starts_with('┌') || l.starts_with('│'))
    {
        assert!(line.chars().count() <= 100, "{line}");
    }
}

#[test]
fn an_empty_report_renders() {
    let empty = report(Vec::new(), Vec::new());
    let text = render_text(&empty, &plain());
    assert!(text.contains("Summary: 0 critical, 0 high, 0 medium, 0 low, 0 info · 0 ports"));
}

#[test]
fn one_rule_in_full() {
    let r = rule("MW-AUTH-001").expect("rule exists");
    insta::assert_snapshot!(render_rule(r));
}

#[test]
fn the_whole_catalogue() {
    insta::assert_snapshot!(render_catalogue(catalogue()));
}

/// An MX and a submission port with TLS enumerations: the summary lines
/// under the table, and the enumeration findings.
#[test]
fn text_report_with_tls_enumeration() {
    use mailwarden_model::{FailureKind, HeartbleedOutcome, SupportStatus};
    let mx = modern_scan()
        .add_suites(TlsVersion::TLS12, &[0x009e, 0x009c, 0x0034])
        .dh_bits(0x0034, 1024);
    let submission = modern_scan()
        .accept(TlsVersion::TLS10, &[0xc013, 0x000a, 0x0005])
        .status(TlsVersion::TLS11, SupportStatus::Throttled)
        .heartbleed(HeartbleedOutcome::NotVulnerable, 0);
    let endpoints = vec![
        smtp(25).tls_scan(mx).build(),
        smtp(587).tls_scan(submission).build(),
        implicit(993, Protocol::Imap)
            .tls_scan_failed(
                FailureKind::Throttled,
                "no probe was answered: 421 4.7.0 busy",
            )
            .build(),
    ];
    let mut report = report(vec![target(HOST)], endpoints);
    report.assessment = assess(
        &report.endpoints,
        &report.targets,
        &AssessContext::new(report.started_at),
    );
    insta::assert_snapshot!(render_text(&report, &plain()));
}
