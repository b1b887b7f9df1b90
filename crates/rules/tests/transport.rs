//! TRANSPORT rules: firing where they should, silent where they should not.

mod common;

use common::{assess_one, evidence_text, fired, has, only};
use mailwarden_model::{EnforcementKind, EnforcementOutcome, Protocol, Severity};
use mailwarden_rules::fixtures::*;

#[test]
fn healthy_endpoints_have_no_findings() {
    for obs in [
        smtp(25).build(),
        smtp(587).build(),
        imap(143).build(),
        pop3(110).build(),
        sieve(4190).build(),
        implicit(465, Protocol::Smtp).build(),
        implicit(993, Protocol::Imap).build(),
        implicit(995, Protocol::Pop3).build(),
    ] {
        let port = obs.address.port();
        assert_eq!(fired(obs), vec![], "port {port}");
    }
}

#[test]
fn plaintext_only_client_ports_are_critical() {
    for obs in [
        smtp(587).without_starttls().build(),
        imap(143).without_starttls().build(),
        pop3(110).without_starttls().build(),
        sieve(4190).without_starttls().build(),
    ] {
        let a = assess_one(obs);
        let f = only(&a, "MW-TRANSPORT-001");
        assert_eq!(f.severity, Severity::Critical);
        assert!(!has(&a, "MW-TRANSPORT-002"));
    }
}

#[test]
fn plaintext_only_evidence_is_the_capability_listing_without_starttls() {
    let a = assess_one(smtp(587).without_starttls().build());
    let f = only(&a, "MW-TRANSPORT-001");
    assert_eq!(f.rule, "plaintext-only-client-port");
    assert_eq!(f.context, "submission");
    assert_eq!(
        f.evidence[0].label,
        "reply to `EHLO mailwarden.invalid` (no STARTTLS listed)"
    );
    assert!(evidence_text(f).contains(&"250 8BITMIME".to_owned()));
    assert!(!evidence_text(f).iter().any(|l| l.contains("STARTTLS")));
}

#[test]
fn an_mx_without_starttls_has_its_own_rule_at_high() {
    let a = assess_one(smtp(25).without_starttls().build());
    assert_eq!(only(&a, "MW-TRANSPORT-002").severity, Severity::High);
    assert!(!has(&a, "MW-TRANSPORT-001"));
}

#[test]
fn optional_starttls_on_an_mx_is_not_a_finding() {
    let a = assess_one(smtp(25).build());
    assert!(!has(&a, "MW-TRANSPORT-003"));
}

#[test]
fn optional_starttls_on_submission_is_high_with_the_proof() {
    let a = assess_one(
        smtp(587)
            .probe(
                EnforcementKind::SmtpMailBeforeTls,
                "MAIL FROM:<>",
                &["250 2.1.0 Ok"],
                EnforcementOutcome::AcceptedWithoutTls,
            )
            .build(),
    );
    let f = only(&a, "MW-TRANSPORT-003");
    assert_eq!(f.severity, Severity::High);
    assert!(
        f.summary.contains("accepted `MAIL FROM` without TLS"),
        "{}",
        f.summary
    );
    assert_eq!(f.evidence[0].label, "reply to `MAIL FROM:<>` before TLS");
    assert_eq!(evidence_text(f), vec!["250 2.1.0 Ok"]);
    assert!(f.remediation.starts_with("Postfix: "), "{}", f.remediation);
    assert!(f.remediation.contains("smtpd_tls_security_level=encrypt"));
    // Mail accepted before TLS is not a login: no AUTH-002.
    assert!(!has(&a, "MW-AUTH-002"));
}

#[test]
fn enforced_client_ports_have_no_transport_or_auth_finding() {
    let refused = smtp(587)
        .probe(
            EnforcementKind::SmtpMailBeforeTls,
            "MAIL FROM:<>",
            &["530 5.7.0 Must issue a STARTTLS command first"],
            EnforcementOutcome::RefusedTlsRequired,
        )
        .build();
    assert_eq!(fired(refused), vec![]);
}

#[test]
fn an_implicit_port_speaking_plaintext_is_high() {
    let obs = implicit(465, Protocol::Smtp)
        .implicit_handshake(failed_handshake(None))
        .plaintext_like(smtp(465))
        .build();
    let a = assess_one(obs);
    let f = only(&a, "MW-TRANSPORT-004");
    assert_eq!(f.severity, Severity::High);
    assert_eq!(
        evidence_text(f),
        vec!["220 mail.example.test ESMTP Postfix"]
    );
    assert!(f.summary.contains("speaks plaintext"));
}

#[test]
fn an_implicit_port_that_also_answers_plaintext_is_reported() {
    let obs = implicit(993, Protocol::Imap)
        .plaintext_like(imap(993))
        .build();
    let a = assess_one(obs);
    assert!(
        only(&a, "MW-TRANSPORT-004")
            .summary
            .contains("also answers")
    );
}

#[test]
fn starttls_inside_tls_is_low_for_smtp_and_info_for_imap() {
    let a = assess_one(implicit(465, Protocol::Smtp).starttls_inside_tls().build());
    let f = only(&a, "MW-TRANSPORT-005");
    assert_eq!(f.severity, Severity::Low);
    assert_eq!(evidence_text(f), vec!["250-STARTTLS"]);
    let a = assess_one(smtp(587).starttls_inside_tls().build());
    assert!(
        only(&a, "MW-TRANSPORT-005")
            .summary
            .contains("after STARTTLS completed")
    );
    let a = assess_one(implicit(993, Protocol::Imap).starttls_inside_tls().build());
    assert_eq!(only(&a, "MW-TRANSPORT-005").severity, Severity::Info);
}

#[test]
fn exposed_lmtp_is_high_and_not_judged_as_a_client_port() {
    let a = assess_one(lmtp(24).build());
    let f = only(&a, "MW-TRANSPORT-006");
    assert_eq!(f.severity, Severity::High);
    assert_eq!(f.context, "lmtp");
    assert!(!has(&a, "MW-TRANSPORT-001"));
    assert!(!has(&a, "MW-TRANSPORT-002"));
    assert!(f.remediation.starts_with("Dovecot: "), "{}", f.remediation);
}
