//! AUTH rules, and remediation chosen from the banner.

mod common;

use common::{assess_one, evidence_text, fired, has, only};
use mailwarden_model::{EnforcementKind, EnforcementOutcome, Severity};
use mailwarden_rules::fixtures::*;

#[test]
fn smtp_auth_before_tls_is_high_on_submission_with_only_the_auth_line_as_evidence() {
    let a = assess_one(smtp(587).auth_before_tls(&["PLAIN", "LOGIN"]).build());
    let f = only(&a, "MW-AUTH-001");
    assert_eq!(f.severity, Severity::High);
    assert_eq!(
        f.summary,
        "SMTP on port 587 offers AUTH PLAIN LOGIN before TLS, which sends the password itself."
    );
    assert_eq!(
        f.evidence[0].label,
        "reply to `EHLO mailwarden.invalid` before TLS"
    );
    assert_eq!(evidence_text(f), vec!["250-AUTH PLAIN LOGIN"]);
    assert_eq!(
        f.remediation,
        "Postfix: `smtpd_tls_auth_only = yes` in main.cf (or `-o smtpd_tls_auth_only=yes` on the service in master.cf)"
    );
    // Both the transport and the auth angle are reported.
    assert!(has(&a, "MW-TRANSPORT-003"));
}

#[test]
fn smtp_auth_before_tls_on_an_mx_is_medium() {
    let a = assess_one(smtp(25).auth_before_tls(&["PLAIN", "LOGIN"]).build());
    assert_eq!(only(&a, "MW-AUTH-001").severity, Severity::Medium);
    assert_eq!(only(&a, "MW-AUTH-001").context, "mx");
}

#[test]
fn challenge_response_mechanisms_are_reported_without_the_password_remark() {
    let a = assess_one(smtp(587).auth_before_tls(&["SCRAM-SHA-256"]).build());
    let f = only(&a, "MW-AUTH-001");
    assert!(!f.summary.contains("password itself"), "{}", f.summary);
}

#[test]
fn auth_on_a_port_without_any_tls_says_so() {
    let a = assess_one(
        smtp(587)
            .without_starttls()
            .auth_before_tls(&["PLAIN"])
            .build(),
    );
    assert!(
        only(&a, "MW-AUTH-001")
            .summary
            .ends_with("; TLS is not offered at all.")
    );
    assert_eq!(only(&a, "MW-TRANSPORT-001").severity, Severity::Critical);
}

#[test]
fn imap_without_logindisabled_offers_login() {
    let a = assess_one(imap(143).login_enabled().build());
    let f = only(&a, "MW-AUTH-001");
    assert_eq!(f.severity, Severity::High);
    assert!(f.summary.contains("LOGIN (no LOGINDISABLED)"));
    assert_eq!(
        evidence_text(f),
        vec!["* CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS"]
    );
    assert!(
        f.remediation
            .starts_with("Dovecot: `disable_plaintext_auth = yes` (2.3)")
    );
}

#[test]
fn pop3_user_before_tls_is_reported() {
    let a = assess_one(pop3(110).pop3_user().build());
    let f = only(&a, "MW-AUTH-001");
    assert!(f.summary.contains("USER/PASS"));
    assert_eq!(evidence_text(f), vec!["SASL", "USER"]);
}

#[test]
fn sieve_sasl_before_tls_is_reported() {
    let a = assess_one(sieve(4190).auth_before_tls(&["PLAIN", "LOGIN"]).build());
    let f = only(&a, "MW-AUTH-001");
    assert_eq!(f.context, "sieve");
    assert_eq!(evidence_text(f), vec!["\"SASL\" \"PLAIN LOGIN\""]);
}

#[test]
fn enforced_ports_have_no_auth_finding() {
    for obs in [
        smtp(587).build(),
        imap(143).build(),
        pop3(110).build(),
        sieve(4190).build(),
    ] {
        let a = assess_one(obs);
        assert!(!has(&a, "MW-AUTH-001"));
        assert!(!has(&a, "MW-AUTH-002"));
    }
}

#[test]
fn an_imap_login_read_in_clear_is_critical_and_the_password_is_not_repeated() {
    let a = assess_one(
        imap(143)
            .login_enabled()
            .probe(
                EnforcementKind::ImapLoginBeforeTls,
                "A3 LOGIN mailwarden-invalid not-a-password",
                &["A3 NO [AUTHENTICATIONFAILED] Authentication failed."],
                EnforcementOutcome::AcceptedWithoutTls,
            )
            .build(),
    );
    let f = only(&a, "MW-AUTH-002");
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(
        f.evidence[0].label,
        "reply to `A3 LOGIN mailwarden-invalid ***` before TLS"
    );
    assert_eq!(
        evidence_text(f),
        vec!["A3 NO [AUTHENTICATIONFAILED] Authentication failed."]
    );
}

#[test]
fn a_pop3_user_accepted_in_clear_is_critical() {
    let a = assess_one(
        pop3(110)
            .pop3_user()
            .probe(
                EnforcementKind::Pop3UserBeforeTls,
                "USER mailwarden-invalid",
                &["+OK"],
                EnforcementOutcome::AcceptedWithoutTls,
            )
            .build(),
    );
    let f = only(&a, "MW-AUTH-002");
    assert!(f.summary.contains("PASS, carries the password in clear"));
}

#[test]
fn a_login_refused_for_lack_of_tls_is_not_a_finding() {
    let obs = imap(143)
        .probe(
            EnforcementKind::ImapLoginBeforeTls,
            "A3 LOGIN mailwarden-invalid x",
            &["A3 NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure (SSL/TLS) connections."],
            EnforcementOutcome::RefusedTlsRequired,
        )
        .build();
    assert_eq!(fired(obs), vec![]);
}

#[test]
fn remediation_follows_the_banner() {
    let exim = smtp(587)
        .greeting(&["220 mail.example.test ESMTP Exim Sun, 01 Jun 2025 12:00:00 +0000"])
        .auth_before_tls(&["PLAIN"])
        .build();
    let a = assess_one(exim);
    assert!(
        only(&a, "MW-AUTH-001")
            .remediation
            .starts_with("Exim: `auth_advertise_hosts")
    );
    let unknown = smtp(587)
        .greeting(&["220 mail.example.test ESMTP ready"])
        .auth_before_tls(&["PLAIN"])
        .build();
    let a = assess_one(unknown);
    assert_eq!(
        only(&a, "MW-AUTH-001").remediation,
        "Offer authentication only after TLS is established (or only on implicit-TLS ports)."
    );
}
