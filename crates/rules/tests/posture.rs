//! The posture verdict of each kind of endpoint, and its context.

mod common;

use common::{context, posture};
use mailwarden_model::{
    Attempt, EnforcementKind, EnforcementOutcome, FailureKind, Posture, Protocol, ServiceRole,
    StartTlsExchange,
};
use mailwarden_rules::fixtures::*;

#[test]
fn ports_that_were_not_talked_to_are_not_assessed() {
    assert_eq!(posture(closed(587)), Posture::NotAssessed);
    assert_eq!(posture(filtered(587)), Posture::NotAssessed);
    assert_eq!(posture(throttled(25)), Posture::NotAssessed);
    assert_eq!(
        posture(open_not_mail(110, &["HTTP/1.1 400 Bad Request"])),
        Posture::NotAssessed
    );
    assert_eq!(posture(dialog_error(143)), Posture::NotAssessed);
}

#[test]
fn closed_ports_keep_the_context_of_their_registration() {
    assert_eq!(context(closed(25)), "mx");
    assert_eq!(context(closed(465)), "submission");
    assert_eq!(context(closed(993)), "mail-access");
    assert_eq!(context(closed(4190)), "sieve");
    assert_eq!(context(closed(8025)), "other");
}

#[test]
fn an_mx_offering_starttls_is_optional_and_that_is_its_normal_state() {
    assert_eq!(context(smtp(25).build()), "mx");
    assert_eq!(posture(smtp(25).build()), Posture::StarttlsOptional);
}

#[test]
fn an_mx_refusing_mail_before_tls_is_enforced() {
    let obs = smtp(25)
        .probe(
            EnforcementKind::SmtpMailBeforeTls,
            "MAIL FROM:<>",
            &["530 5.7.0 Must issue a STARTTLS command first"],
            EnforcementOutcome::RefusedTlsRequired,
        )
        .build();
    assert_eq!(posture(obs), Posture::StarttlsEnforced);
}

#[test]
fn submission_without_auth_or_mail_before_tls_is_enforced() {
    assert_eq!(context(smtp(587).build()), "submission");
    assert_eq!(posture(smtp(587).build()), Posture::StarttlsEnforced);
    let refused = smtp(587)
        .probe(
            EnforcementKind::SmtpMailBeforeTls,
            "MAIL FROM:<>",
            &["530 5.7.0 Must issue a STARTTLS command first"],
            EnforcementOutcome::RefusedTlsRequired,
        )
        .build();
    assert_eq!(posture(refused), Posture::StarttlsEnforced);
}

#[test]
fn submission_with_auth_before_tls_is_optional() {
    let obs = smtp(587).auth_before_tls(&["PLAIN", "LOGIN"]).build();
    assert_eq!(posture(obs), Posture::StarttlsOptional);
}

#[test]
fn submission_accepting_mail_before_tls_is_optional() {
    let obs = smtp(2525)
        .probe(
            EnforcementKind::SmtpMailBeforeTls,
            "MAIL FROM:<>",
            &["250 2.1.0 Ok"],
            EnforcementOutcome::AcceptedWithoutTls,
        )
        .build();
    assert_eq!(context(obs.clone()), "submission");
    assert_eq!(posture(obs), Posture::StarttlsOptional);
}

#[test]
fn no_starttls_is_plaintext_only_in_every_context() {
    assert_eq!(
        posture(smtp(25).without_starttls().build()),
        Posture::PlaintextOnly
    );
    assert_eq!(
        posture(smtp(587).without_starttls().build()),
        Posture::PlaintextOnly
    );
    assert_eq!(
        posture(imap(143).without_starttls().build()),
        Posture::PlaintextOnly
    );
    assert_eq!(
        posture(pop3(110).without_starttls().build()),
        Posture::PlaintextOnly
    );
    assert_eq!(
        posture(sieve(4190).without_starttls().build()),
        Posture::PlaintextOnly
    );
}

#[test]
fn starttls_tried_anyway_and_refused_is_plaintext_only() {
    let mut obs = smtp(587).without_starttls().build();
    if let Some(p) = &mut obs.plaintext {
        p.starttls = Attempt::completed(StartTlsExchange {
            command: "STARTTLS".to_owned(),
            reply: lines(&["502 5.5.1 Error: command not implemented"]),
            accepted: false,
            handshake: Attempt::skipped("refused"),
            capabilities_after_tls: Attempt::skipped("refused"),
        });
    }
    assert_eq!(posture(obs), Posture::PlaintextOnly);
}

#[test]
fn starttls_advertised_but_refused_is_broken() {
    let obs = smtp(587)
        .starttls_refused(&["454 4.7.0 TLS not available due to local problem"])
        .build();
    assert_eq!(posture(obs), Posture::TlsBroken);
}

#[test]
fn starttls_accepted_but_handshake_failing_is_broken() {
    let obs = smtp(25).starttls_handshake(failed_handshake(None)).build();
    assert_eq!(posture(obs), Posture::TlsBroken);
}

#[test]
fn a_certificate_seen_in_a_failed_handshake_is_not_a_working_tls() {
    let mut hs = failed_handshake(None);
    hs.certificate_chain = Some(good_chain(HOST));
    let obs = imap(143).starttls_handshake(hs).build();
    assert_eq!(posture(obs), Posture::TlsBroken);
}

#[test]
fn a_throttled_handshake_is_not_assessed_rather_than_broken() {
    let mut obs = smtp(587).build();
    if let Some(p) = &mut obs.plaintext
        && let Attempt::Completed { value } = &mut p.starttls
    {
        value.handshake = Attempt::failed(FailureKind::Throttled, "421 after STARTTLS");
    }
    assert_eq!(posture(obs), Posture::NotAssessed);
}

#[test]
fn unread_capabilities_leave_the_port_not_assessed() {
    let mut obs = smtp(587).build();
    if let Some(p) = &mut obs.plaintext {
        p.capabilities = Attempt::failed(FailureKind::IoTimeout, "no reply to EHLO");
        p.starttls = Attempt::skipped("no capabilities");
    }
    assert_eq!(posture(obs), Posture::NotAssessed);
}

#[test]
fn imap_posture_follows_logindisabled_and_the_login_probe() {
    assert_eq!(context(imap(143).build()), "mail-access");
    assert_eq!(posture(imap(143).build()), Posture::StarttlsEnforced);
    assert_eq!(
        posture(imap(143).login_enabled().build()),
        Posture::StarttlsOptional
    );
    let accepted = imap(143)
        .probe(
            EnforcementKind::ImapLoginBeforeTls,
            "A3 LOGIN mailwarden-invalid x",
            &["A3 NO [AUTHENTICATIONFAILED] Authentication failed."],
            EnforcementOutcome::AcceptedWithoutTls,
        )
        .build();
    assert_eq!(posture(accepted), Posture::StarttlsOptional);
}

#[test]
fn pop3_posture_follows_user_before_tls() {
    assert_eq!(posture(pop3(110).build()), Posture::StarttlsEnforced);
    assert_eq!(
        posture(pop3(110).pop3_user().build()),
        Posture::StarttlsOptional
    );
}

#[test]
fn sieve_posture_follows_sasl_before_tls() {
    assert_eq!(context(sieve(4190).build()), "sieve");
    assert_eq!(posture(sieve(4190).build()), Posture::StarttlsEnforced);
    assert_eq!(
        posture(sieve(4190).auth_before_tls(&["PLAIN"]).build()),
        Posture::StarttlsOptional
    );
}

#[test]
fn implicit_tls_ports() {
    assert_eq!(
        posture(implicit(993, Protocol::Imap).build()),
        Posture::ImplicitTls
    );
    assert_eq!(
        posture(implicit(995, Protocol::Pop3).build()),
        Posture::ImplicitTls
    );
    assert_eq!(context(implicit(465, Protocol::Smtp).build()), "submission");
    assert_eq!(
        posture(implicit(465, Protocol::Smtp).build()),
        Posture::ImplicitTls
    );
}

#[test]
fn an_implicit_port_whose_handshake_fails_is_broken() {
    let obs = implicit(993, Protocol::Imap)
        .implicit_handshake(failed_handshake(None))
        .build();
    assert_eq!(posture(obs), Posture::TlsBroken);
}

#[test]
fn an_implicit_port_whose_connection_was_refused_is_not_assessed() {
    let mut obs = implicit(993, Protocol::Imap).build();
    if let Some(i) = &mut obs.implicit_tls {
        i.handshake = Attempt::failed(FailureKind::ConnectionRefused, "refused");
    }
    assert_eq!(posture(obs), Posture::NotAssessed);
}

#[test]
fn an_implicit_port_speaking_plaintext_is_judged_as_a_plaintext_port() {
    let plain = implicit(465, Protocol::Smtp)
        .implicit_handshake(failed_handshake(None))
        .plaintext_like(smtp(465).without_starttls())
        .build();
    assert_eq!(posture(plain), Posture::PlaintextOnly);
    let starttls = implicit(465, Protocol::Smtp)
        .implicit_handshake(failed_handshake(None))
        .plaintext_like(smtp(465))
        .build();
    assert_eq!(posture(starttls), Posture::StarttlsEnforced);
}

#[test]
fn lmtp_is_its_own_context() {
    assert_eq!(context(lmtp(24).build()), "lmtp");
    assert_eq!(context(lmtp(2003).build()), "lmtp");
    assert_eq!(posture(lmtp(24).build()), Posture::PlaintextOnly);
}

#[test]
fn a_declared_mx_role_makes_a_high_port_an_mx() {
    let obs = smtp(10025).role(ServiceRole::Smtp).build();
    assert_eq!(context(obs.clone()), "mx");
    assert_eq!(posture(obs), Posture::StarttlsOptional);
    assert_eq!(context(smtp(10025).build()), "submission");
}
