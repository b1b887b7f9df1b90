//! TLS rules: handshakes that fail, and legacy protocol versions.

mod common;

use common::{assess_one, evidence_text, fired, has, only};
use mailwarden_model::{Protocol, Severity, TlsVersion};
use mailwarden_rules::fixtures::*;

#[test]
fn a_failing_starttls_handshake_is_high_on_clients_and_on_the_mx() {
    for port in [25, 587] {
        let a = assess_one(
            smtp(port)
                .starttls_handshake(failed_handshake(None))
                .build(),
        );
        let f = only(&a, "MW-TLS-001");
        assert_eq!(f.severity, Severity::High, "port {port}");
        assert_eq!(
            f.summary,
            format!(
                "SMTP on port {port} accepts STARTTLS, but the TLS handshake does not complete."
            )
        );
        assert_eq!(
            evidence_text(f),
            vec![
                "220 2.0.0 Ready to start TLS",
                "handshake failed: handshake-error: received fatal alert: HandshakeFailure",
                "alert received: 40",
                "legacy ClientHello: alert 40",
            ]
        );
    }
}

#[test]
fn a_refused_starttls_is_reported_with_the_refusal() {
    let a = assess_one(
        imap(143)
            .starttls_refused(&["A2 NO [UNAVAILABLE] TLS support isn't enabled."])
            .build(),
    );
    let f = only(&a, "MW-TLS-001");
    assert_eq!(
        f.summary,
        "IMAP on port 143 advertises STARTTLS but refuses the command."
    );
    assert_eq!(
        evidence_text(f),
        vec!["A2 NO [UNAVAILABLE] TLS support isn't enabled."]
    );
}

#[test]
fn a_failing_implicit_handshake_is_reported() {
    let a = assess_one(
        implicit(995, Protocol::Pop3)
            .implicit_handshake(failed_handshake(None))
            .build(),
    );
    let f = only(&a, "MW-TLS-001");
    assert_eq!(f.evidence[0].label, "implicit TLS handshake");
    assert!(f.summary.contains("expects implicit TLS"));
}

#[test]
fn a_server_that_only_speaks_tls10_is_broken_and_legacy() {
    let hs = failed_handshake(Some((
        TlsVersion::TLS10,
        0x002f,
        "TLS_RSA_WITH_AES_128_CBC_SHA",
    )));
    let a = assess_one(smtp(587).starttls_handshake(hs.clone()).build());
    assert!(
        only(&a, "MW-TLS-001")
            .summary
            .contains("(a legacy client is offered TLSv1.0)")
    );
    let f = only(&a, "MW-TLS-002");
    assert_eq!(f.severity, Severity::High);
    assert_eq!(
        evidence_text(f),
        vec!["only offers a legacy client: TLSv1.0 TLS_RSA_WITH_AES_128_CBC_SHA"]
    );

    let mx = assess_one(smtp(25).starttls_handshake(hs).build());
    assert_eq!(only(&mx, "MW-TLS-002").severity, Severity::Medium);
}

#[test]
fn a_legacy_client_getting_tls12_is_not_a_legacy_version() {
    let hs = failed_handshake(Some((
        TlsVersion::TLS12,
        0x009c,
        "TLS_RSA_WITH_AES_128_GCM_SHA256",
    )));
    let a = assess_one(smtp(587).starttls_handshake(hs).build());
    assert!(has(&a, "MW-TLS-001"));
    assert!(!has(&a, "MW-TLS-002"));
}

#[test]
fn a_completed_tls11_handshake_is_legacy() {
    let obs = implicit(993, Protocol::Imap)
        .tls_version(
            TlsVersion::TLS11,
            (0xc013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"),
        )
        .build();
    assert_eq!(fired(obs), vec![("MW-TLS-002".to_owned(), Severity::High)]);
}

#[test]
fn tls12_and_13_are_fine() {
    let obs = smtp(587)
        .tls_version(
            TlsVersion::TLS12,
            (0xc02f, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
        )
        .build();
    assert_eq!(fired(obs), vec![]);
}
