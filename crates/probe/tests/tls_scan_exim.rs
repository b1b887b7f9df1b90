//! The TLS enumeration against real Exim (GnuTLS) and the test bed's
//! special-purpose Postfix and Dovecot listeners, with the default
//! connection policy: every enumerated set equals the configured one,
//! witnessed suite by suite by `openssl s_client` and, for the 3DES and RC4
//! suites Debian's OpenSSL 3 no longer has, by `gnutls-cli`. Exim counts a
//! failed handshake's child against `smtp_accept_max` for 0.5 s: the
//! enumeration of a default Exim must cause no 421 at all, and one of an
//! Exim with a lower limit than ours must be complete, its throttling
//! recorded, never "not supported". Needs root and the test bed's packages.

mod tls_check;

use std::collections::BTreeSet;

use mailwarden_model::{CipherOrder, Protocol, ServiceRole, SupportStatus, TlsScan, TlsVersion};
use mailwarden_probe::ConnectPolicy;
use tls_check::*;

/// exim-mx and exim-limited: Debian's GnuTLS `NORMAL`.
const EXIM_TLS10_11: [&str; 8] = [
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA",
    "TLS_DHE_RSA_WITH_AES_256_CBC_SHA",
    "TLS_DHE_RSA_WITH_AES_128_CBC_SHA",
];

const EXIM_TLS13: [&str; 4] = [
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_128_CCM_SHA256",
];

/// What `exim-weak` adds at TLS 1.0, 1.1 and 1.2, with the GnuTLS key
/// exchange and cipher that offer it alone.
const WEAK: [(&str, &str, &str); 7] = [
    ("TLS_RSA_WITH_3DES_EDE_CBC_SHA", "RSA", "3DES-CBC"),
    (
        "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
        "ECDHE-RSA",
        "3DES-CBC",
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA",
        "ECDHE-ECDSA",
        "3DES-CBC",
    ),
    ("TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA", "DHE-RSA", "3DES-CBC"),
    ("TLS_RSA_WITH_RC4_128_SHA", "RSA", "ARCFOUR-128"),
    ("TLS_ECDHE_RSA_WITH_RC4_128_SHA", "ECDHE-RSA", "ARCFOUR-128"),
    (
        "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA",
        "ECDHE-ECDSA",
        "ARCFOUR-128",
    ),
];

const LEGACY: [TlsVersion; 3] = [TlsVersion::TLS10, TlsVersion::TLS11, TlsVersion::TLS12];

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

/// The versions Debian's Exim accepts, and SSL refused.
fn assert_exim_versions(name: &str, scan: &TlsScan) {
    for v in [TlsVersion::SSL2, TlsVersion::SSL3] {
        assert_eq!(status(scan, v), SupportStatus::Refused, "{name} {v}");
    }
    for v in LEGACY.into_iter().chain([TlsVersion::TLS13]) {
        assert_eq!(status(scan, v), SupportStatus::Accepted, "{name} {v}");
        assert!(scan.version(v).unwrap().suites_complete, "{name} {v}");
    }
}

#[test]
fn a_default_exim_is_enumerated_exactly_without_a_single_421() {
    let name = "exim-mx";
    let addr = testbed().endpoint(name);
    let_exim_settle();
    let before = exim_refusals(&exim_log(), addr);
    let obs = scan_with(
        prober(ConnectPolicy::default()),
        name,
        Some(ServiceRole::Smtp),
    );
    let after = exim_refusals(&exim_log(), addr);
    assert_eq!(
        after - before,
        0,
        "Exim refused connections during the scan"
    );
    assert!(obs.throttling.is_empty(), "{:#?}", obs.throttling);
    let scan = scan_of(&obs);
    assert_eq!(scan.connections, scan.probes, "no connection was retried");
    assert_exim_versions(name, scan);
    assert_eq!(suite_names(scan, TlsVersion::TLS10), set(&EXIM_TLS10_11));
    assert_eq!(suite_names(scan, TlsVersion::TLS11), set(&EXIM_TLS10_11));
    assert_eq!(suite_names(scan, TlsVersion::TLS12).len(), 25);
    assert_eq!(suite_names(scan, TlsVersion::TLS13), set(&EXIM_TLS13));
    // No 3DES, no RC4 in GnuTLS's defaults.
    assert!(
        scan.accepted_suites()
            .all(|(_, s)| !s.id.to_string().contains("3DES") && !s.id.to_string().contains("RC4"))
    );
    // DHE with ffdhe2048, and both certificates.
    let dhe: BTreeSet<u32> = scan
        .accepted_suites()
        .filter_map(|(_, s)| s.dh_bits)
        .collect();
    assert_eq!(dhe, BTreeSet::from([2048]));
    let keys: Vec<&str> = scan
        .certificate_keys
        .iter()
        .map(|k| k.key_type.as_str())
        .collect();
    assert_eq!(keys, ["ecdsa", "rsa"]);
    // Every suite witnessed by OpenSSL, which has them all.
    for v in LEGACY.into_iter().chain([TlsVersion::TLS13]) {
        let_exim_settle();
        let others = openssl_witness(addr, Some("smtp"), v, scan);
        assert!(others.is_empty(), "{v}: {others:?}");
    }
}

#[test]
fn exim_weak_3des_and_rc4_are_found_and_witnessed_by_gnutls() {
    let name = "exim-weak";
    let addr = testbed().endpoint(name);
    let obs = scan_with(
        prober(ConnectPolicy::default()),
        name,
        Some(ServiceRole::Smtp),
    );
    assert!(obs.throttling.is_empty(), "{:#?}", obs.throttling);
    let scan = scan_of(&obs);
    assert_exim_versions(name, scan);
    let weak = set(&WEAK.map(|(iana, _, _)| iana));
    for v in LEGACY {
        let found = suite_names(scan, v);
        assert_eq!(
            found.intersection(&weak).cloned().collect::<BTreeSet<_>>(),
            weak,
            "{v}"
        );
        let expected = if v == TlsVersion::TLS12 { 32 } else { 15 };
        assert_eq!(found.len(), expected, "{v}: {found:?}");
        // OpenSSL witnesses everything it has; what it lacks is exactly the
        // 3DES and RC4 suites, each witnessed by GnuTLS.
        let_exim_settle();
        let others = openssl_witness(addr, Some("smtp"), v, scan);
        assert_eq!(others, weak, "{v}");
        let gnutls_version = match v {
            TlsVersion::TLS10 => "TLS1.0",
            TlsVersion::TLS11 => "TLS1.1",
            _ => "TLS1.2",
        };
        for (iana, kx, cipher) in WEAK {
            let priority = format!(
                "NORMAL:-VERS-ALL:+VERS-{gnutls_version}:-CIPHER-ALL:+{cipher}:-KX-ALL:+{kx}"
            );
            let session = gnutls(addr, "smtp", &priority)
                .unwrap_or_else(|| panic!("{v} {iana}: GnuTLS could not negotiate it"));
            // e.g. (TLS1.0-X.509)-(ECDHE-SECP256R1)-(3DES-CBC)-(SHA1)
            let family = kx.split('-').next().unwrap_or(kx);
            assert!(
                session.starts_with(&format!("({gnutls_version}-X.509)-({family}"))
                    && session.contains(&format!("({cipher})-(SHA1)")),
                "{v} {iana}: {session}"
            );
        }
    }
    assert_eq!(suite_names(scan, TlsVersion::TLS13), set(&EXIM_TLS13));
}

#[test]
fn an_exim_with_a_lower_limit_than_ours_is_throttled_yet_enumerated_in_full() {
    // exim-limited answers 421 to a sixth concurrent client; we allow 8.
    let policy = ConnectPolicy {
        per_host_concurrency: 8,
        ..ConnectPolicy::default()
    };
    let name = "exim-limited";
    let obs = scan_with(prober(policy), name, Some(ServiceRole::Smtp));
    assert!(
        !obs.throttling.is_empty(),
        "8 at once against 5 must meet a 421"
    );
    for event in &obs.throttling {
        let said = event.evidence[0].to_string();
        assert!(
            said.contains("421 Too many concurrent SMTP connections"),
            "{said}"
        );
    }
    let scan = scan_of(&obs);
    assert!(
        scan.connections > scan.probes,
        "the refused connections are counted"
    );
    for v in &scan.versions {
        assert!(
            matches!(v.status, SupportStatus::Accepted | SupportStatus::Refused),
            "{}: {:?} {:?}",
            v.version,
            v.status,
            v.detail
        );
    }
    assert_exim_versions(name, scan);
    assert_eq!(suite_names(scan, TlsVersion::TLS10), set(&EXIM_TLS10_11));
    assert_eq!(suite_names(scan, TlsVersion::TLS11), set(&EXIM_TLS10_11));
    assert_eq!(suite_names(scan, TlsVersion::TLS12).len(), 25);
    assert_eq!(suite_names(scan, TlsVersion::TLS13), set(&EXIM_TLS13));
}

#[test]
fn postfix_tls13_only_cbc_only_and_dhe_1024_listeners() {
    let prober = prober(ConnectPolicy::default());
    let smtp = Some("smtp");

    let obs = scan_with(
        prober.clone(),
        "smtp-tls13-only",
        Some(ServiceRole::Submission),
    );
    let scan = scan_of(&obs);
    assert_eq!(status(scan, TlsVersion::TLS13), SupportStatus::Accepted);
    for v in [
        TlsVersion::SSL2,
        TlsVersion::SSL3,
        TlsVersion::TLS10,
        TlsVersion::TLS11,
        TlsVersion::TLS12,
    ] {
        assert_eq!(status(scan, v), SupportStatus::Refused, "{v}");
    }
    assert_eq!(
        suite_names(scan, TlsVersion::TLS13),
        set(&[
            "TLS_AES_256_GCM_SHA384",
            "TLS_CHACHA20_POLY1305_SHA256",
            "TLS_AES_128_GCM_SHA256"
        ])
    );
    let addr = testbed().endpoint("smtp-tls13-only");
    openssl_witness(addr, smtp, TlsVersion::TLS13, scan);
    openssl_witness(addr, smtp, TlsVersion::TLS12, scan);

    let obs = scan_with(
        prober.clone(),
        "smtp-cbc-only",
        Some(ServiceRole::Submission),
    );
    let scan = scan_of(&obs);
    for v in [TlsVersion::TLS13, TlsVersion::TLS11, TlsVersion::TLS10] {
        assert_eq!(status(scan, v), SupportStatus::Refused, "{v}");
    }
    let tls12 = scan.version(TlsVersion::TLS12).unwrap();
    assert_eq!(
        suite_names(scan, TlsVersion::TLS12),
        set(&[
            "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
            "TLS_RSA_WITH_AES_128_CBC_SHA"
        ])
    );
    assert_eq!(tls12.server_order, Some(CipherOrder::Client));
    let addr = testbed().endpoint("smtp-cbc-only");
    openssl_witness(addr, smtp, TlsVersion::TLS12, scan);

    let obs = scan_with(prober, "smtp-dhe-1024", Some(ServiceRole::Submission));
    let scan = scan_of(&obs);
    assert_eq!(status(scan, TlsVersion::TLS13), SupportStatus::Refused);
    assert_eq!(
        suite_names(scan, TlsVersion::TLS12),
        set(&[
            "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
            "TLS_DHE_RSA_WITH_AES_128_CBC_SHA"
        ])
    );
    let sizes: Vec<Option<u32>> = scan
        .version(TlsVersion::TLS12)
        .unwrap()
        .suites
        .iter()
        .map(|s| s.dh_bits)
        .collect();
    assert_eq!(sizes, [Some(1024); 3]);
    let addr = testbed().endpoint("smtp-dhe-1024");
    openssl_witness(addr, smtp, TlsVersion::TLS12, scan);
}

#[test]
fn dovecot_lmtp_is_enumerated_over_lhlo_and_starttls() {
    let obs = scan_with(prober(ConnectPolicy::default()), "lmtp", None);
    assert_eq!(obs.protocol, Some(Protocol::Lmtp));
    let scan = scan_of(&obs);
    assert_eq!(status(scan, TlsVersion::TLS12), SupportStatus::Accepted);
    assert_eq!(status(scan, TlsVersion::TLS13), SupportStatus::Accepted);
    assert_eq!(status(scan, TlsVersion::TLS11), SupportStatus::Refused);
    // Every probe went through the LMTP dialog: none failed before TLS.
    for v in &scan.versions {
        let detail = v.detail.as_deref().unwrap_or_default();
        assert!(
            !detail.contains("STARTTLS refused"),
            "{}: {detail}",
            v.version
        );
        assert!(v.status != SupportStatus::Error, "{}: {detail}", v.version);
    }
    assert_eq!(suite_names(scan, TlsVersion::TLS12).len(), 26);
    assert_eq!(suite_names(scan, TlsVersion::TLS13).len(), 3);
    let addr = testbed().endpoint("lmtp");
    for v in [TlsVersion::TLS12, TlsVersion::TLS13] {
        openssl_witness(addr, Some("lmtp"), v, scan);
    }
}
