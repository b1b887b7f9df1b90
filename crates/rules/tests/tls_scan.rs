//! Rules on the TLS enumeration: versions, weak suites, DH groups and
//! features, each in the MX and client contexts. Observations are built
//! with `fixtures::modern_scan()` and one edit; no sockets.

mod common;

use common::{assess_authenticated_mx, assess_one, evidence_text, fired, has, only};
use mailwarden_model::{
    FailureKind, FallbackOutcome, HeartbleedOutcome, Protocol, Severity, SupportStatus, TlsVersion,
};
use mailwarden_rules::fixtures::*;

const LABEL: &str = "TLS enumeration (ServerHello answers to mailwarden's ClientHellos)";

#[test]
fn a_modern_server_has_no_enumeration_findings() {
    for obs in [
        smtp(25).tls_scan(modern_scan()).build(),
        smtp(587).tls_scan(modern_scan()).build(),
        imap(143).tls_scan(modern_scan()).build(),
        implicit(993, Protocol::Imap)
            .tls_scan(modern_scan())
            .build(),
    ] {
        assert_eq!(fired(obs), vec![]);
    }
}

#[test]
fn legacy_versions_by_context() {
    let cases = [
        (
            TlsVersion::SSL3,
            "MW-TLS-004",
            Severity::High,
            Severity::Medium,
        ),
        (
            TlsVersion::TLS10,
            "MW-TLS-005",
            Severity::Medium,
            Severity::Low,
        ),
        (
            TlsVersion::TLS11,
            "MW-TLS-006",
            Severity::Medium,
            Severity::Low,
        ),
    ];
    for (version, id, client, mx) in cases {
        let scan = modern_scan().accept(version, &[0x002f, 0xc013]);
        let a = assess_one(smtp(587).tls_scan(scan.clone()).build());
        let f = only(&a, id);
        assert_eq!(f.severity, client, "{version} on submission");
        assert_eq!(f.summary, format!("SMTP on port 587 accepts {version}."));
        assert_eq!(f.evidence[0].label, LABEL);
        assert_eq!(
            evidence_text(f),
            vec![format!(
                "{version}: accepted, 2 suites: TLS_RSA_WITH_AES_128_CBC_SHA, \
                 TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"
            )]
        );
        let on_mx = assess_one(smtp(25).tls_scan(scan).build());
        assert_eq!(only(&on_mx, id).severity, mx, "{version} on the MX");
    }
}

#[test]
fn sslv2_lists_its_cipher_kinds() {
    let mut scan = modern_scan().accept(TlsVersion::SSL2, &[]);
    if let Some(v) = scan
        .versions
        .iter_mut()
        .find(|v| v.version == TlsVersion::SSL2)
    {
        v.sslv2_ciphers = vec![mailwarden_model::Sslv2Cipher {
            code: 0x010080,
            name: Some("SSL_CK_RC4_128_WITH_MD5".to_owned()),
        }];
    }
    let a = assess_one(implicit(995, Protocol::Pop3).tls_scan(scan.clone()).build());
    let f = only(&a, "MW-TLS-003");
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(
        evidence_text(f),
        vec!["SSLv2: accepted, 1 cipher kind: SSL_CK_RC4_128_WITH_MD5"]
    );
    let mx = assess_one(smtp(25).tls_scan(scan).build());
    assert_eq!(only(&mx, "MW-TLS-003").severity, Severity::High);
}

#[test]
fn versions_that_were_not_determined_are_never_findings() {
    let scan = modern_scan()
        .status(TlsVersion::TLS13, SupportStatus::Throttled)
        .status(TlsVersion::TLS10, SupportStatus::Error)
        .status(TlsVersion::TLS12, SupportStatus::NotTested);
    let a = assess_one(smtp(587).tls_scan(scan).build());
    assert!(!has(&a, "MW-TLS-005"));
    assert!(!has(&a, "MW-TLS-007"));
    assert!(!has(&a, "MW-TLS-008"));
    // Nor is a failed enumeration.
    let obs = smtp(587)
        .tls_scan_failed(FailureKind::Throttled, "421 on every probe")
        .build();
    assert_eq!(fired(obs), vec![]);
}

#[test]
fn missing_tls12_and_tls13() {
    let only13 = modern_scan().refuse(TlsVersion::TLS12);
    let a = assess_one(implicit(465, Protocol::Smtp).tls_scan(only13).build());
    let f = only(&a, "MW-TLS-007");
    assert_eq!(f.severity, Severity::Medium);
    assert_eq!(
        f.summary,
        "SMTP on port 465 does not accept TLSv1.2 (only TLSv1.3)."
    );
    assert_eq!(
        evidence_text(f),
        vec!["TLSv1.2: refused (alert protocol_version)"]
    );
    let no13 = modern_scan().refuse(TlsVersion::TLS13);
    for port in [25, 587] {
        let a = assess_one(smtp(port).tls_scan(no13.clone()).build());
        assert_eq!(only(&a, "MW-TLS-008").severity, Severity::Low);
        assert!(!has(&a, "MW-TLS-007"));
    }
}

#[test]
fn anonymous_suites_are_expected_on_an_mx_and_high_on_client_ports() {
    let scan = modern_scan().add_suites(TlsVersion::TLS12, &[0x0034, 0xc018]);
    let mx = assess_one(smtp(25).tls_scan(scan.clone()).build());
    let f = only(&mx, "MW-TLS-010");
    assert_eq!(f.severity, Severity::Info);
    assert_eq!(
        f.summary,
        "SMTP on port 25 accepts 2 anonymous suites (TLSv1.2)."
    );
    assert_eq!(
        evidence_text(f),
        vec![
            "TLSv1.2 TLS_DH_anon_WITH_AES_128_CBC_SHA (0x0034)",
            "TLSv1.2 TLS_ECDH_anon_WITH_AES_128_CBC_SHA (0xc018)",
        ]
    );
    assert_eq!(
        only(
            &assess_authenticated_mx(smtp(25).tls_scan(scan.clone()).build()),
            "MW-TLS-010"
        )
        .severity,
        Severity::Low
    );
    for obs in [
        smtp(587).tls_scan(scan.clone()).build(),
        imap(143).tls_scan(scan.clone()).build(),
        sieve(4190).tls_scan(scan.clone()).build(),
    ] {
        assert_eq!(
            only(&assess_one(obs), "MW-TLS-010").severity,
            Severity::High
        );
    }
    // Anonymous suites have their own rule, not the forward-secrecy one.
    assert!(!has(&mx, "MW-TLS-015"));
}

#[test]
fn weak_suite_classes() {
    let cases = [
        (0x0002, "MW-TLS-009", Severity::Critical, Severity::High),
        (0x0003, "MW-TLS-011", Severity::High, Severity::Medium),
        (0x0005, "MW-TLS-012", Severity::High, Severity::Low),
        (0x0009, "MW-TLS-013", Severity::High, Severity::Medium),
        (0x000a, "MW-TLS-014", Severity::Medium, Severity::Low),
    ];
    for (code, id, client, mx) in cases {
        let scan = modern_scan().add_suites(TlsVersion::TLS12, &[code]);
        let a = assess_one(implicit(993, Protocol::Imap).tls_scan(scan.clone()).build());
        let f = only(&a, id);
        assert_eq!(f.severity, client, "{id}");
        assert!(
            f.summary.starts_with("IMAP on port 993 accepts 1 "),
            "{}",
            f.summary
        );
        assert!(f.summary.ends_with(" suite (TLSv1.2)."), "{}", f.summary);
        assert!(evidence_text(f)[0].ends_with(&format!("(0x{code:04x})")));
        let on_mx = assess_one(smtp(25).tls_scan(scan).build());
        assert_eq!(only(&on_mx, id).severity, mx, "{id} on the MX");
    }
}

#[test]
fn static_key_exchange_lacks_forward_secrecy() {
    let scan = modern_scan().add_suites(TlsVersion::TLS12, &[0x009c, 0x002f]);
    let a = assess_one(pop3(110).tls_scan(scan.clone()).build());
    let f = only(&a, "MW-TLS-015");
    assert_eq!(f.severity, Severity::Low);
    assert_eq!(
        f.summary,
        "POP3 on port 110 accepts 2 suites without forward secrecy (TLSv1.2)."
    );
    assert_eq!(
        evidence_text(f),
        vec![
            "TLSv1.2 TLS_RSA_WITH_AES_128_GCM_SHA256 (0x009c) key exchange RSA",
            "TLSv1.2 TLS_RSA_WITH_AES_128_CBC_SHA (0x002f) key exchange RSA",
        ]
    );
    let mx = assess_one(smtp(25).tls_scan(scan).build());
    assert_eq!(only(&mx, "MW-TLS-015").severity, Severity::Info);
}

#[test]
fn small_dh_groups() {
    let scan = modern_scan()
        .add_suites(TlsVersion::TLS12, &[0x009e, 0x0034])
        .dh_bits(0x0034, 1024);
    let mx = assess_one(smtp(25).tls_scan(scan.clone()).build());
    let f = only(&mx, "MW-TLS-016");
    assert_eq!(f.severity, Severity::Low);
    assert_eq!(
        f.summary,
        "SMTP on port 25 uses a 1024-bit DH group for 1 DHE suite, anonymous suites only."
    );
    assert_eq!(
        evidence_text(f),
        vec!["TLSv1.2 TLS_DH_anon_WITH_AES_128_CBC_SHA (0x0034): 1024-bit DH group"]
    );
    let client = assess_one(smtp(587).tls_scan(scan.dh_bits(0x009e, 1024)).build());
    let f = only(&client, "MW-TLS-016");
    assert_eq!(f.severity, Severity::Medium);
    assert_eq!(
        f.summary,
        "SMTP on port 587 uses a 1024-bit DH group for 2 DHE suites."
    );
    // 2048 bits is fine.
    let fine = modern_scan().add_suites(TlsVersion::TLS12, &[0x009e]);
    assert!(!has(
        &assess_one(smtp(587).tls_scan(fine).build()),
        "MW-TLS-016"
    ));
}

#[test]
fn long_suite_lists_are_cut_in_evidence() {
    let many: Vec<u16> = (0xc100..0xc110).collect();
    let mut scan = modern_scan().add_suites(TlsVersion::TLS12, &many);
    for v in &mut scan.versions {
        for s in &mut v.suites {
            if s.id.code >= 0xc100 {
                s.flags = vec![mailwarden_model::SuiteFlag::Rc4];
            }
        }
    }
    let a = assess_one(smtp(587).tls_scan(scan).build());
    let lines = evidence_text(only(&a, "MW-TLS-012"));
    assert_eq!(lines.len(), 13);
    assert_eq!(lines[12], "... and 4 more");
}

#[test]
fn renegotiation_and_compression() {
    let scan = modern_scan().features(|f| {
        f.secure_renegotiation = Some(false);
        f.compression = Some(true);
    });
    let a = assess_one(imap(143).tls_scan(scan.clone()).build());
    assert_eq!(only(&a, "MW-TLS-017").severity, Severity::Medium);
    assert_eq!(
        only(&a, "MW-TLS-017").summary,
        "IMAP on port 143 does not support secure renegotiation."
    );
    assert_eq!(only(&a, "MW-TLS-018").severity, Severity::Medium);
    let mx = assess_one(smtp(25).tls_scan(scan).build());
    assert_eq!(only(&mx, "MW-TLS-017").severity, Severity::Low);
    assert_eq!(only(&mx, "MW-TLS-018").severity, Severity::Low);
    // Unknown is not false.
    let unknown = modern_scan().features(|f| {
        f.secure_renegotiation = None;
        f.compression = None;
    });
    assert_eq!(fired(imap(143).tls_scan(unknown).build()), vec![]);
}

#[test]
fn heartbleed_is_critical_everywhere_and_only_when_seen() {
    for obs in [
        smtp(25)
            .tls_scan(modern_scan().heartbleed(HeartbleedOutcome::Vulnerable, 16384))
            .build(),
        implicit(995, Protocol::Pop3)
            .tls_scan(modern_scan().heartbleed(HeartbleedOutcome::Vulnerable, 16384))
            .build(),
    ] {
        let a = assess_one(obs);
        let f = only(&a, "MW-TLS-019");
        assert_eq!(f.severity, Severity::Critical);
        assert!(
            f.summary.contains("returned 16384 bytes of its memory"),
            "{}",
            f.summary
        );
        assert_eq!(
            evidence_text(f),
            vec![
                "heartbeat request claiming 16384 bytes, carrying 0: 16384 bytes came back (not kept)"
            ]
        );
    }
    for outcome in [
        HeartbleedOutcome::NotVulnerable,
        HeartbleedOutcome::Inconclusive,
    ] {
        let obs = smtp(587)
            .tls_scan(modern_scan().heartbleed(outcome, 0))
            .build();
        assert!(!has(&assess_one(obs), "MW-TLS-019"));
    }
}

#[test]
fn fallback_scsv_ignored() {
    let scan = modern_scan()
        .accept(TlsVersion::TLS11, &[0xc013])
        .features(|f| {
            if let Some(fb) = f.fallback_scsv.as_mut() {
                fb.outcome = FallbackOutcome::Accepted;
                fb.offered_version = TlsVersion::TLS11;
                fb.alert = None;
                fb.detail = "ServerHello TLSv1.1 despite the SCSV".to_owned();
            }
        });
    let a = assess_one(smtp(587).tls_scan(scan.clone()).build());
    let f = only(&a, "MW-TLS-020");
    assert_eq!(f.severity, Severity::Low);
    assert_eq!(
        f.summary,
        "SMTP on port 587 accepts a TLSv1.1 hello carrying TLS_FALLBACK_SCSV although it \
         supports a higher version."
    );
    assert_eq!(
        evidence_text(f),
        vec!["ServerHello TLSv1.1 despite the SCSV"]
    );
    let mx = assess_one(smtp(25).tls_scan(scan).build());
    assert_eq!(only(&mx, "MW-TLS-020").severity, Severity::Info);
    let inconclusive = modern_scan().features(|f| {
        if let Some(fb) = f.fallback_scsv.as_mut() {
            fb.outcome = FallbackOutcome::Inconclusive;
        }
    });
    assert!(!has(
        &assess_one(smtp(587).tls_scan(inconclusive).build()),
        "MW-TLS-020"
    ));
}

#[test]
fn a_postfix_mx_with_default_suites_gets_only_mx_grade_findings() {
    // What Debian's Postfix offers on port 25: anonymous suites with
    // 1024-bit DH, static RSA, everything else modern.
    let scan = modern_scan()
        .add_suites(TlsVersion::TLS12, &[0x009e, 0x009c, 0x0034, 0xc018])
        .dh_bits(0x0034, 1024);
    let ids: Vec<(String, Severity)> = fired(smtp(25).tls_scan(scan).build());
    assert_eq!(
        ids,
        vec![
            ("MW-TLS-016".to_owned(), Severity::Low),
            ("MW-TLS-010".to_owned(), Severity::Info),
            ("MW-TLS-015".to_owned(), Severity::Info),
        ]
    );
}
