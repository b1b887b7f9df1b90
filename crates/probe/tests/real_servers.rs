//! The probe against real Postfix and Dovecot: every observation the scan
//! foundation promises, checked on servers configured to show it. These tests
//! assert observations only; what they mean is the rules' business.

mod common;

use common::*;
use mailwarden_model::{
    EnforcementKind, EnforcementOutcome, PortState, Protocol, ServiceRole, TlsVersion,
};

#[test]
fn mx_offers_starttls_and_completes_a_modern_handshake() {
    let obs = probe("smtp-mx", Some(ServiceRole::Smtp));
    assert_eq!(obs.state, PortState::Open);
    assert_eq!(obs.protocol, Some(Protocol::Smtp));
    let greeting = common::lines_text(&obs.plaintext.as_ref().unwrap().greeting);
    assert!(
        greeting.starts_with("220 mail.test ESMTP Postfix"),
        "{greeting}"
    );
    let before = caps(&obs);
    assert_eq!(before.command, "EHLO mailwarden.invalid");
    assert!(before.starttls);
    assert!(before.auth_mechanisms.is_empty());
    // No MAIL FROM probe on an MX: accepting mail without TLS is its job.
    assert!(enforcement(&obs).is_empty());
    let exchange = starttls(&obs);
    assert!(exchange.accepted);
    assert!(exchange.reply[0].to_string().starts_with("220"));
    let hs = starttls_handshake(&obs);
    assert!(hs.completed, "{hs:#?}");
    assert_eq!(hs.version, Some(TlsVersion::TLS13));
    assert!(
        hs.cipher_suite
            .as_ref()
            .unwrap()
            .name
            .as_deref()
            .unwrap()
            .starts_with("TLS_AES_")
    );
    let chain = hs.certificate_chain.as_ref().unwrap();
    assert!(chain.validation.trusted, "{:?}", chain.validation);
    assert!(chain.name_check.matched);
    assert_eq!(chain.certificates.len(), 2, "leaf and intermediate");
    let after = exchange.capabilities_after_tls.value().unwrap();
    assert!(!after.starttls, "STARTTLS is not offered again inside TLS");
    assert_eq!(obs.connections, 1);
}

#[test]
fn smtp_without_starttls_is_seen_as_such() {
    let obs = probe("smtp-plain", Some(ServiceRole::Smtp));
    assert_eq!(obs.state, PortState::Open);
    assert!(!caps(&obs).starttls);
    let st = &obs.plaintext.as_ref().unwrap().starttls;
    assert!(
        matches!(st, mailwarden_model::Attempt::Skipped { reason } if reason.contains("not advertised"))
    );
}

#[test]
fn enforcing_submission_refuses_mail_before_tls_and_hides_auth() {
    let obs = probe("submission-enforced", Some(ServiceRole::Submission));
    let before = caps(&obs);
    assert!(before.starttls);
    assert!(
        before.auth_mechanisms.is_empty(),
        "{:?}",
        before.auth_mechanisms
    );
    let probes = enforcement(&obs);
    assert_eq!(probes.len(), 1);
    assert_eq!(probes[0].kind, EnforcementKind::SmtpMailBeforeTls);
    assert_eq!(probes[0].command, "MAIL FROM:<>");
    assert_eq!(probes[0].outcome, EnforcementOutcome::RefusedTlsRequired);
    assert!(common::lines_text(&probes[0].reply).starts_with("530"));
    let after = starttls(&obs).capabilities_after_tls.value().unwrap();
    assert_eq!(after.auth_mechanisms, ["PLAIN", "LOGIN"]);
}

#[test]
fn optional_submission_offers_auth_and_takes_mail_before_tls() {
    let obs = probe("submission-auth-before-tls", Some(ServiceRole::Submission));
    let before = caps(&obs);
    assert_eq!(before.auth_mechanisms, ["PLAIN", "LOGIN"]);
    let probes = enforcement(&obs);
    assert_eq!(probes[0].outcome, EnforcementOutcome::AcceptedWithoutTls);
    assert!(common::lines_text(&probes[0].reply).starts_with("250"));
    assert!(starttls_handshake(&obs).completed);
}

#[test]
fn implicit_tls_submission() {
    let obs = probe("smtps", Some(ServiceRole::Submissions));
    assert_eq!(obs.state, PortState::Open);
    assert_eq!(obs.protocol, Some(Protocol::Smtp));
    let hs = implicit_handshake(&obs);
    assert!(hs.completed);
    let session = obs.implicit_tls.as_ref().unwrap();
    assert!(common::lines_text(&session.greeting).starts_with("220 "));
    let caps = session.capabilities.value().unwrap();
    assert!(caps.auth_mechanisms.contains(&"PLAIN".to_owned()));
    // TLS worked, so no plaintext check was needed.
    assert!(obs.plaintext.is_none());
    assert_eq!(obs.connections, 1);
}

#[test]
fn tls10_only_server_fails_the_modern_handshake_and_shows_its_version() {
    let obs = probe("smtp-tls10", Some(ServiceRole::Smtp));
    let hs = starttls_handshake(&obs);
    assert!(!hs.completed);
    assert!(hs.failure.is_some());
    let legacy = hs
        .legacy_hello
        .as_ref()
        .expect("legacy hello after failure");
    assert_eq!(legacy.version, Some(TlsVersion::TLS10), "{legacy:?}");
    assert!(legacy.cipher_suite.is_some());
    // TLS 1.0 sends the certificate in clear: the chain is known anyway.
    let chain = hs
        .certificate_chain
        .as_ref()
        .expect("chain from the legacy flight");
    assert_eq!(chain.leaf().unwrap().dns_names[0], "mail.test");
    assert_eq!(obs.connections, 2, "one dialog plus one legacy hello");
}

fn leaf_chain(name: &str) -> mailwarden_model::CertificateChain {
    let obs = probe(name, Some(ServiceRole::Smtp));
    let hs = starttls_handshake(&obs);
    assert!(
        hs.completed,
        "{name}: a bad certificate must not break the handshake: {hs:#?}"
    );
    hs.certificate_chain.clone().unwrap()
}

#[test]
fn certificate_facts_of_bad_certificates() {
    let now = jiff::Timestamp::now();
    let expired = leaf_chain("smtp-expired");
    assert!(!expired.validation.trusted);
    assert_eq!(expired.validation.error.as_deref(), Some("expired"));
    assert!(expired.leaf().unwrap().not_after.unwrap() < now);

    let future = leaf_chain("smtp-not-yet-valid");
    assert_eq!(future.validation.error.as_deref(), Some("not-valid-yet"));
    assert!(future.leaf().unwrap().not_before.unwrap() > now);

    let expiring = leaf_chain("smtp-expiring");
    assert!(expiring.validation.trusted);
    let left = expiring
        .leaf()
        .unwrap()
        .not_after
        .unwrap()
        .duration_since(now);
    assert!(
        left.as_secs() < 11 * 86400 && left.as_secs() > 8 * 86400,
        "{left:?}"
    );

    let selfsigned = leaf_chain("smtp-self-signed");
    assert!(selfsigned.leaf().unwrap().self_signed);
    assert!(!selfsigned.validation.trusted);

    let wrong = leaf_chain("smtp-wrong-name");
    assert!(
        wrong.validation.trusted,
        "path validation is separate from the name"
    );
    assert!(!wrong.name_check.matched);
    assert_eq!(wrong.leaf().unwrap().dns_names, ["other.test"]);

    let small = leaf_chain("smtp-rsa1024");
    assert_eq!(small.leaf().unwrap().public_key.algorithm, "rsa");
    assert_eq!(small.leaf().unwrap().public_key.bits, Some(1024));

    let sha1 = leaf_chain("smtp-sha1");
    assert!(
        sha1.leaf().unwrap().signature_algorithm.contains("sha1"),
        "{}",
        sha1.leaf().unwrap().signature_algorithm
    );
}

#[test]
fn rsa1024_handshake_signature_is_recorded_not_fatal() {
    let obs = probe("smtp-rsa1024", Some(ServiceRole::Smtp));
    let hs = starttls_handshake(&obs);
    assert!(hs.completed);
    assert_eq!(hs.server_signature_valid, Some(false));
}

#[test]
fn banner_with_version_is_kept_raw() {
    let obs = probe("smtp-banner-version", Some(ServiceRole::Smtp));
    assert_eq!(
        caps(&obs).implementation.as_deref(),
        Some("mail.test ESMTP Postfix 3.7.11 (Debian)")
    );
}

#[test]
fn imap_with_logindisabled_refuses_login_before_tls() {
    let obs = probe("imap-starttls", Some(ServiceRole::Imap));
    assert_eq!(obs.protocol, Some(Protocol::Imap));
    let before = caps(&obs);
    assert!(before.login_disabled);
    assert!(before.starttls);
    let login = &enforcement(&obs)[0];
    assert_eq!(login.kind, EnforcementKind::ImapLoginBeforeTls);
    assert!(login.command.contains("mailwarden-probe@invalid"));
    assert_eq!(login.outcome, EnforcementOutcome::RefusedTlsRequired);
    assert!(common::lines_text(&login.reply).contains("PRIVACYREQUIRED"));
    assert!(starttls_handshake(&obs).completed);
    let after = starttls(&obs).capabilities_after_tls.value().unwrap();
    assert!(!after.login_disabled);
    assert!(after.auth_mechanisms.contains(&"PLAIN".to_owned()));
}

#[test]
fn imap_that_reads_plaintext_passwords() {
    let obs = probe("imap-plain-allowed", Some(ServiceRole::Imap));
    let before = caps(&obs);
    assert!(!before.login_disabled);
    assert!(before.auth_mechanisms.contains(&"PLAIN".to_owned()));
    let login = &enforcement(&obs)[0];
    assert_eq!(
        login.outcome,
        EnforcementOutcome::AcceptedWithoutTls,
        "{login:?}"
    );
    assert!(common::lines_text(&login.reply).contains("AUTHENTICATIONFAILED"));
}

#[test]
fn implicit_imap_and_pop3() {
    for (name, role, protocol) in [
        ("imaps", ServiceRole::Imaps, Protocol::Imap),
        ("pop3s", ServiceRole::Pop3s, Protocol::Pop3),
    ] {
        let obs = probe(name, Some(role));
        assert_eq!(obs.protocol, Some(protocol), "{name}");
        assert!(implicit_handshake(&obs).completed, "{name}");
        assert!(
            obs.implicit_tls
                .as_ref()
                .unwrap()
                .capabilities
                .value()
                .is_some(),
            "{name}"
        );
    }
}

#[test]
fn pop3_without_tls_takes_user_in_plaintext() {
    let obs = probe("pop3-plain", Some(ServiceRole::Pop3));
    assert_eq!(obs.protocol, Some(Protocol::Pop3));
    let before = caps(&obs);
    assert!(!before.starttls);
    let user = &enforcement(&obs)[0];
    assert_eq!(user.kind, EnforcementKind::Pop3UserBeforeTls);
    assert_eq!(user.outcome, EnforcementOutcome::AcceptedWithoutTls);
}

#[test]
fn pop3_with_stls_refuses_user_before_tls() {
    let obs = probe("pop3-starttls", Some(ServiceRole::Pop3));
    let user = &enforcement(&obs)[0];
    assert_eq!(
        user.outcome,
        EnforcementOutcome::RefusedTlsRequired,
        "{user:?}"
    );
    assert_eq!(starttls(&obs).command, "STLS");
    assert!(starttls_handshake(&obs).completed);
    let after = starttls(&obs).capabilities_after_tls.value().unwrap();
    assert!(after.auth_mechanisms.contains(&"PLAIN".to_owned()));
}

#[test]
fn managesieve_lists_sasl_only_after_tls() {
    let obs = probe("sieve", Some(ServiceRole::Sieve));
    assert_eq!(obs.protocol, Some(Protocol::ManageSieve));
    let before = caps(&obs);
    assert!(before.starttls);
    assert!(before.auth_mechanisms.is_empty());
    assert!(
        before
            .implementation
            .as_deref()
            .unwrap()
            .contains("Pigeonhole")
    );
    assert!(starttls_handshake(&obs).completed);
    let after = starttls(&obs).capabilities_after_tls.value().unwrap();
    assert!(after.auth_mechanisms.contains(&"PLAIN".to_owned()));
}

#[test]
fn protocol_is_recognized_whatever_the_port() {
    // No role: nothing is assumed from the port number.
    for (name, protocol) in [
        ("smtp-mx", Protocol::Smtp),
        ("imap-starttls", Protocol::Imap),
        ("pop3-plain", Protocol::Pop3),
        ("sieve", Protocol::ManageSieve),
    ] {
        let obs = probe(name, None);
        assert_eq!(obs.state, PortState::Open, "{name}");
        assert_eq!(obs.protocol, Some(protocol), "{name}");
    }
    // An implicit-TLS service on a port with no role is found after a silent greeting.
    let obs = probe("imaps", None);
    assert_eq!(obs.protocol, Some(Protocol::Imap));
    assert!(implicit_handshake(&obs).completed);
}

#[test]
fn smtp_on_a_submission_role_gets_the_mail_probe_but_an_mx_role_does_not() {
    let as_submission = probe("smtp-mx", Some(ServiceRole::Submission));
    assert_eq!(enforcement(&as_submission).len(), 1);
    assert_eq!(
        enforcement(&as_submission)[0].outcome,
        EnforcementOutcome::AcceptedWithoutTls
    );
    let as_mx = probe("smtp-mx", Some(ServiceRole::Smtp));
    assert!(enforcement(&as_mx).is_empty());
}

#[test]
fn plaintext_service_on_an_implicit_tls_port_is_noticed() {
    // An SMTP server with no TLS where implicit TLS (465) is expected.
    let obs = probe("smtp-plain", Some(ServiceRole::Submissions));
    let hs = implicit_handshake(&obs);
    assert!(!hs.completed);
    let plain = obs
        .plaintext
        .as_ref()
        .expect("plaintext check after the failed handshake");
    assert!(common::lines_text(&plain.greeting).starts_with("220"));
    assert_eq!(obs.protocol, Some(Protocol::Smtp));
}
