//! CERT rules: validity computed from the certificates at scan time, identity
//! problems graded by context (opportunistic TLS on an MX).

mod common;

use common::{assess_authenticated_mx, assess_one, evidence_text, fired, has, only};
use mailwarden_model::{Protocol, Severity};
use mailwarden_rules::fixtures::*;

fn leaf_expiring(days_from_scan: i64) -> impl Fn(&mut mailwarden_model::CertificateChain) {
    move |c| {
        if let Some(leaf) = c.certificates.first_mut() {
            leaf.not_after = Some(days(days_from_scan));
        }
    }
}

#[test]
fn an_expired_leaf_is_high_for_clients_low_on_an_mx_high_on_an_authenticated_mx() {
    let a = assess_one(smtp(587).chain(leaf_expiring(-3)).build());
    let f = only(&a, "MW-CERT-001");
    assert_eq!(f.severity, Severity::High);
    assert_eq!(
        f.summary,
        "The leaf certificate (CN=mail.example.test) expired on 2025-05-29T12:00:00Z (3 days before the scan)."
    );
    assert_eq!(f.evidence[0].label, "leaf certificate (STARTTLS)");
    assert!(evidence_text(f).contains(&"notAfter: 2025-05-29T12:00:00Z".to_owned()));
    assert!(!has(&a, "MW-CERT-003"));
    assert!(!has(&a, "MW-CERT-004"));

    let mx = smtp(25).chain(leaf_expiring(-3)).build();
    assert_eq!(
        only(&assess_one(mx.clone()), "MW-CERT-001").severity,
        Severity::Low
    );
    assert_eq!(
        only(&assess_authenticated_mx(mx), "MW-CERT-001").severity,
        Severity::High
    );
}

#[test]
fn an_expired_intermediate_is_named_as_such() {
    let obs = implicit(993, Protocol::Imap)
        .chain(|c| {
            if let Some(i) = c.certificates.get_mut(1) {
                i.not_after = Some(days(-1));
            }
        })
        .build();
    let a = assess_one(obs);
    let f = only(&a, "MW-CERT-001");
    assert!(
        f.summary
            .starts_with("An intermediate certificate (CN=Example Issuing CA")
    );
    assert_eq!(f.evidence[0].label, "certificate 2 of 2 (implicit TLS)");
}

#[test]
fn an_expired_self_signed_root_sent_along_is_ignored() {
    let obs = smtp(587)
        .chain(|c| {
            let mut root = certificate(
                "Example Root CA",
                "CN=Example Root CA",
                days(-4000),
                days(-1),
            );
            root.self_signed = true;
            root.is_ca = true;
            c.certificates.push(root);
        })
        .build();
    assert_eq!(fired(obs), vec![]);
}

#[test]
fn a_certificate_from_the_future_is_not_yet_valid() {
    let obs = smtp(587)
        .chain(|c| {
            if let Some(leaf) = c.certificates.first_mut() {
                leaf.not_before = Some(days(2));
            }
        })
        .build();
    assert_eq!(
        only(&assess_one(obs), "MW-CERT-002").severity,
        Severity::High
    );
}

#[test]
fn expiry_windows_are_exclusive() {
    let soon = assess_one(smtp(587).chain(leaf_expiring(5)).build());
    assert_eq!(only(&soon, "MW-CERT-003").severity, Severity::High);
    assert!(
        only(&soon, "MW-CERT-003")
            .summary
            .contains("(5 days after the scan)")
    );
    assert!(!has(&soon, "MW-CERT-004"));

    let month = assess_one(smtp(587).chain(leaf_expiring(20)).build());
    assert_eq!(only(&month, "MW-CERT-004").severity, Severity::Medium);
    assert!(!has(&month, "MW-CERT-003"));

    assert_eq!(fired(smtp(587).chain(leaf_expiring(45)).build()), vec![]);
    assert_eq!(
        only(
            &assess_one(smtp(25).chain(leaf_expiring(20)).build()),
            "MW-CERT-004"
        )
        .severity,
        Severity::Info
    );
}

#[test]
fn untrusted_chain_is_info_on_an_mx_and_high_on_clients() {
    let untrusted = |c: &mut mailwarden_model::CertificateChain| {
        c.validation.trusted = false;
        c.validation.error = Some("unknown-issuer".to_owned());
        c.certificates.truncate(1);
    };
    let a = assess_one(smtp(587).chain(untrusted).build());
    let f = only(&a, "MW-CERT-005");
    assert_eq!(f.severity, Severity::High);
    assert!(f.summary.ends_with("is not trusted: unknown-issuer."));
    assert!(evidence_text(f).contains(&"certificates sent: 1".to_owned()));

    let mx = smtp(25).chain(untrusted).build();
    assert_eq!(
        only(&assess_one(mx.clone()), "MW-CERT-005").severity,
        Severity::Info
    );
    assert_eq!(
        only(&assess_authenticated_mx(mx), "MW-CERT-005").severity,
        Severity::High
    );
}

#[test]
fn a_time_error_from_the_validator_is_left_to_the_validity_rules() {
    let obs = smtp(587)
        .chain(|c| {
            c.validation.trusted = false;
            c.validation.error = Some("expired".to_owned());
            if let Some(leaf) = c.certificates.first_mut() {
                leaf.not_after = Some(days(-1));
            }
        })
        .build();
    let a = assess_one(obs);
    assert!(has(&a, "MW-CERT-001"));
    assert!(!has(&a, "MW-CERT-005"));
}

#[test]
fn self_signed_is_its_own_finding_graded_by_context() {
    let client = assess_one(imap(143).chain(|c| *c = self_signed_chain(HOST)).build());
    assert_eq!(only(&client, "MW-CERT-006").severity, Severity::High);
    assert!(
        !has(&client, "MW-CERT-005"),
        "self-signed is not also reported as untrusted"
    );

    let mx = smtp(25).chain(|c| *c = self_signed_chain(HOST)).build();
    assert_eq!(
        fired(mx.clone()),
        vec![("MW-CERT-006".to_owned(), Severity::Info)]
    );
    assert_eq!(
        only(&assess_authenticated_mx(mx), "MW-CERT-006").severity,
        Severity::High
    );
}

#[test]
fn a_self_signed_certificate_given_as_trust_anchor_is_fine() {
    let obs = smtp(587)
        .chain(|c| {
            *c = self_signed_chain(HOST);
            c.validation.trusted = true;
            c.validation.error = None;
            c.validation.anchors = vec!["ca-file:/etc/mailwarden/ca.pem".to_owned()];
        })
        .build();
    assert_eq!(fired(obs), vec![]);
}

#[test]
fn name_mismatch_lists_what_the_certificate_names() {
    let mismatch = |c: &mut mailwarden_model::CertificateChain| {
        c.name_check.matched = false;
        c.name_check.matched_by = None;
        if let Some(leaf) = c.certificates.first_mut() {
            leaf.dns_names = vec!["other.example.test".to_owned(), "*.example.net".to_owned()];
        }
    };
    let a = assess_one(pop3(110).chain(mismatch).build());
    let f = only(&a, "MW-CERT-007");
    assert_eq!(f.severity, Severity::High);
    assert_eq!(
        f.summary,
        "The certificate is not valid for mail.example.test: it names other.example.test, *.example.net."
    );
    assert_eq!(evidence_text(f)[0], "name checked: mail.example.test");
    assert_eq!(
        only(&assess_one(smtp(25).chain(mismatch).build()), "MW-CERT-007").severity,
        Severity::Info
    );
}

#[test]
fn short_rsa_keys_are_reported_and_ecdsa_is_not() {
    let rsa1024 = smtp(587)
        .chain(|c| {
            if let Some(leaf) = c.certificates.first_mut() {
                leaf.public_key.bits = Some(1024);
            }
        })
        .build();
    let a = assess_one(rsa1024);
    assert_eq!(only(&a, "MW-CERT-008").severity, Severity::Medium);
    assert!(
        evidence_text(only(&a, "MW-CERT-008")).contains(&"public key: RSA 1024 bits".to_owned())
    );

    let ecdsa = smtp(587)
        .chain(|c| {
            if let Some(leaf) = c.certificates.first_mut() {
                leaf.public_key.algorithm = "ecdsa".to_owned();
                leaf.public_key.bits = Some(256);
                leaf.public_key.curve = Some("P-256".to_owned());
            }
        })
        .build();
    assert_eq!(fired(ecdsa), vec![]);
}

#[test]
fn sha1_signatures_count_except_on_self_signed_certificates() {
    let sha1_leaf = smtp(587)
        .chain(|c| {
            if let Some(leaf) = c.certificates.first_mut() {
                leaf.signature_algorithm = "sha1WithRSAEncryption".to_owned();
            }
        })
        .build();
    assert_eq!(
        only(&assess_one(sha1_leaf), "MW-CERT-009").severity,
        Severity::Medium
    );

    let sha1_root = smtp(587)
        .chain(|c| {
            let mut root = certificate(
                "Example Root CA",
                "CN=Example Root CA",
                days(-4000),
                days(4000),
            );
            root.self_signed = true;
            root.signature_algorithm = "sha1WithRSAEncryption".to_owned();
            c.certificates.push(root);
        })
        .build();
    assert_eq!(fired(sha1_root), vec![]);
}

#[test]
fn a_chain_seen_in_a_failed_handshake_is_still_judged() {
    let mut hs = failed_handshake(None);
    let mut chain = good_chain(HOST);
    if let Some(leaf) = chain.certificates.first_mut() {
        leaf.not_after = Some(days(-10));
    }
    hs.certificate_chain = Some(chain);
    let a = assess_one(smtp(587).starttls_handshake(hs).build());
    assert_eq!(
        only(&a, "MW-CERT-001").evidence[0].label,
        "leaf certificate (STARTTLS, handshake did not complete)"
    );
    assert!(has(&a, "MW-TLS-001"));
}
