//! INFO rules, coverage, and the order of findings.

mod common;

use common::{assess_one, evidence_text, fired, has, only, pairs};
use mailwarden_model::{Attempt, Posture, Severity};
use mailwarden_rules::{AssessContext, assess, fixtures::*};

#[test]
fn a_version_in_the_banner_is_low_and_a_name_alone_is_nothing() {
    let a = assess_one(
        smtp(25)
            .greeting(&["220 mail.example.test ESMTP Postfix (3.7.11)"])
            .build(),
    );
    let f = only(&a, "MW-INFO-001");
    assert_eq!(f.severity, Severity::Low);
    assert_eq!(f.summary, "SMTP on port 25 announces Postfix 3.7.11.");
    assert_eq!(
        evidence_text(f),
        vec!["220 mail.example.test ESMTP Postfix (3.7.11)"]
    );
    assert_eq!(
        f.remediation,
        "Postfix: `smtpd_banner = $myhostname ESMTP` (without `$mail_version`)"
    );

    assert_eq!(fired(smtp(25).build()), vec![]);
}

#[test]
fn an_exim_version_gets_exim_advice() {
    let a = assess_one(
        smtp(25)
            .greeting(&["220 mail.example.test ESMTP Exim 4.96 Sun, 01 Jun 2025 12:00:00 +0000"])
            .build(),
    );
    assert!(
        only(&a, "MW-INFO-001")
            .remediation
            .starts_with("Exim: `smtp_banner")
    );
}

#[test]
fn closed_and_filtered_ports_are_silent() {
    assert_eq!(fired(closed(110)), vec![]);
    assert_eq!(fired(filtered(995)), vec![]);
}

#[test]
fn a_port_that_is_not_mail_is_info_with_what_it_said() {
    let a = assess_one(open_not_mail(587, &["SSH-2.0-OpenSSH_9.2p1 Debian-2"]));
    let f = only(&a, "MW-INFO-002");
    assert_eq!(f.severity, Severity::Info);
    assert_eq!(
        f.summary,
        "Port 587 (role: submission) is open but does not speak a mail protocol."
    );
    assert_eq!(evidence_text(f)[0], "SSH-2.0-OpenSSH_9.2p1 Debian-2");
}

#[test]
fn throttling_is_not_assessed_never_a_pass() {
    let a = assess_one(throttled(25));
    assert_eq!(a.endpoints[0].posture, Posture::NotAssessed);
    let f = only(&a, "MW-INFO-003");
    assert_eq!(f.severity, Severity::Info);
    assert!(f.summary.contains("throttled the scanner"));
    assert_eq!(f.evidence[1].label, "throttled (attempt 1, waited 2000 ms)");
    assert!(evidence_text(f).iter().any(|l| l.starts_with("421 4.7.0")));
}

#[test]
fn a_failed_dialog_is_not_assessed() {
    let a = assess_one(dialog_error(143));
    assert_eq!(
        evidence_text(only(&a, "MW-INFO-003")),
        vec!["io-timeout: no reply to EHLO in 5s"]
    );
}

#[test]
fn an_open_port_missing_a_step_says_which() {
    let mut obs = smtp(587).build();
    if let Some(p) = &mut obs.plaintext {
        p.starttls = Attempt::skipped("scan stopped");
    }
    let a = assess_one(obs);
    assert_eq!(
        evidence_text(only(&a, "MW-INFO-003")),
        vec!["STARTTLS: skipped (scan stopped)"]
    );
}

#[test]
fn an_unresolved_target_is_a_target_finding() {
    let ctx = AssessContext::new(scan_time());
    let a = assess(
        &[],
        &[
            target("ok.example.test"),
            unresolved_target("nx.example.test"),
        ],
        &ctx,
    );
    assert_eq!(a.findings.len(), 1);
    let f = &a.findings[0];
    assert_eq!(f.rule_id, "MW-INFO-004");
    assert_eq!(f.address, None);
    assert_eq!(f.target, "nx.example.test");
    assert_eq!(
        f.summary,
        "Target nx.example.test was not scanned: unresolvable: NXDOMAIN."
    );
}

#[test]
fn findings_are_sorted_by_severity_then_rule_id_then_address() {
    let endpoints = vec![
        throttled(2525),
        smtp(587).auth_before_tls(&["PLAIN"]).build(),
        smtp(25)
            .greeting(&["220 mail.example.test ESMTP Postfix 3.7.11"])
            .build(),
        imap(143).without_starttls().build(),
        smtp(465).without_starttls().build(),
    ];
    let a = assess(&endpoints, &[], &AssessContext::new(scan_time()));
    let got: Vec<(String, Severity, u16)> = a
        .findings
        .iter()
        .map(|f| {
            (
                f.rule_id.clone(),
                f.severity,
                f.address.map_or(0, |a| a.port()),
            )
        })
        .collect();
    let want = [
        ("MW-TRANSPORT-001", Severity::Critical, 143),
        ("MW-TRANSPORT-001", Severity::Critical, 465),
        ("MW-AUTH-001", Severity::High, 587),
        ("MW-TRANSPORT-003", Severity::High, 587),
        ("MW-TRANSPORT-004", Severity::High, 465),
        ("MW-INFO-001", Severity::Low, 25),
        ("MW-INFO-003", Severity::Info, 2525),
    ];
    let want: Vec<(String, Severity, u16)> = want
        .iter()
        .map(|(id, s, p)| ((*id).to_owned(), *s, *p))
        .collect();
    assert_eq!(got, want);
    // Postures stay in endpoint order.
    let ports: Vec<u16> = a.endpoints.iter().map(|e| e.address.port()).collect();
    assert_eq!(ports, vec![2525, 587, 25, 143, 465]);
    assert!(!pairs(&a).is_empty() && !has(&a, "MW-TLS-001"));
}
