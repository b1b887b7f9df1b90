use super::*;

#[test]
fn every_row_parses() {
    let rows = data_rows(SUITES_CSV).count();
    assert_eq!(
        suites().len(),
        rows,
        "a row failed to parse or a code is duplicated"
    );
    assert!(rows >= 370, "{rows} suites");
}

#[test]
fn no_duplicate_codes_or_names() {
    let mut codes: Vec<u16> = data_rows(SUITES_CSV)
        .filter_map(|r| r.first().and_then(|c| parse_hex_u16(c)))
        .collect();
    let n = codes.len();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), n);
    let mut names: Vec<&str> = suites().iter().map(|s| s.name).collect();
    names.sort_unstable();
    names.dedup();
    // SSL_RSA_FIPS_* exist under two code points each (0xFEFE/0xFFE1, 0xFEFF/0xFFE0).
    assert_eq!(names.len() + 2, n);
}

#[test]
fn tls13_aes_gcm() {
    let s = suite(0x1301).unwrap();
    assert_eq!(s.name, "TLS_AES_128_GCM_SHA256");
    assert_eq!(
        (s.kx, s.cipher, s.mac),
        (KeyExchange::Tls13, Cipher::AesGcm, Mac::Aead)
    );
    assert!(s.flags.contains(SuiteFlags::AEAD) && s.flags.contains(SuiteFlags::TLS13));
    assert_eq!(s.min_version, TlsVersion::TLS13);
    assert!(s.iana);
}

#[test]
fn rsa_3des_has_no_forward_secrecy() {
    let s = suite(0x000a).unwrap();
    assert_eq!(s.name, "TLS_RSA_WITH_3DES_EDE_CBC_SHA");
    assert_eq!(s.openssl_name, Some("DES-CBC3-SHA"));
    assert_eq!(
        (s.kx, s.cipher, s.cipher_bits),
        (KeyExchange::Rsa, Cipher::TripleDes, 168)
    );
    for f in [
        SuiteFlags::TRIPLE_DES,
        SuiteFlags::CBC,
        SuiteFlags::SHA1_MAC,
    ] {
        assert!(s.flags.contains(f));
    }
    assert!(!s.flags.contains(SuiteFlags::FORWARD_SECRECY));
}

#[test]
fn rc4_and_anonymous_and_export() {
    let rc4 = suite(0x0005).unwrap();
    assert_eq!(rc4.name, "TLS_RSA_WITH_RC4_128_SHA");
    assert!(rc4.flags.contains(SuiteFlags::RC4));
    // 0x0018 is anonymous RC4 but 128-bit, not export; 0x0017 is the export one.
    let adh = suite(0x0018).unwrap();
    assert_eq!(adh.name, "TLS_DH_anon_WITH_RC4_128_MD5");
    assert!(adh.flags.contains(SuiteFlags::ANONYMOUS) && adh.flags.contains(SuiteFlags::RC4));
    assert!(!adh.flags.contains(SuiteFlags::EXPORT));
    let exp = suite(0x0017).unwrap();
    assert_eq!(exp.name, "TLS_DH_anon_EXPORT_WITH_RC4_40_MD5");
    assert!(exp.flags.contains(SuiteFlags::EXPORT) && exp.flags.contains(SuiteFlags::ANONYMOUS));
    assert_eq!((exp.cipher_bits, exp.max_version), (40, TlsVersion::TLS10));
}

#[test]
fn ecdhe_gcm_and_chacha() {
    let s = suite(0xc02f).unwrap();
    assert_eq!(s.openssl_name, Some("ECDHE-RSA-AES128-GCM-SHA256"));
    assert_eq!((s.kx, s.auth), (KeyExchange::Ecdhe, Authentication::Rsa));
    assert!(s.flags.contains(SuiteFlags::FORWARD_SECRECY) && s.flags.contains(SuiteFlags::AEAD));
    assert_eq!(suite(0xcca9).unwrap().cipher, Cipher::Chacha20Poly1305);
}

#[test]
fn null_and_scsv() {
    assert!(suite(0x0000).unwrap().flags.contains(SuiteFlags::NULL));
    assert!(suite(0x0002).unwrap().flags.contains(SuiteFlags::NULL));
    assert!(suite(0x00ff).unwrap().flags.contains(SuiteFlags::SCSV));
    assert_eq!(suite_name(0x5600), Some("TLS_FALLBACK_SCSV"));
}

#[test]
fn pre_standard_suites_are_marked() {
    let old = suite(0xcc13).unwrap();
    assert!(!old.iana);
    assert_eq!(old.openssl_name, Some("ECDHE-RSA-CHACHA20-POLY1305-OLD"));
    let fortezza = suite(0x001d).unwrap();
    assert_eq!(fortezza.kx, KeyExchange::Fortezza);
    assert_eq!(fortezza.max_version, TlsVersion::SSL3);
}

#[test]
fn lookups() {
    assert_eq!(suite_name(0x1234), None);
    assert_eq!(
        suite_id(0x1302).name.as_deref(),
        Some("TLS_AES_256_GCM_SHA384")
    );
    assert_eq!(suite_id(0x1234).to_string(), "0x1234");
    assert_eq!(
        suite_by_name("ecdhe-rsa-aes256-gcm-sha384").unwrap().code,
        0xc030
    );
    assert_eq!(
        suite_by_name("TLS_RSA_WITH_AES_128_CBC_SHA").unwrap().code,
        0x002f
    );
}

#[test]
fn flags_round_trip_through_their_names() {
    for s in suites() {
        let text: Vec<&str> = s.flags.names().collect();
        assert_eq!(SuiteFlags::parse(&text.join("|")), Some(s.flags));
    }
}

#[test]
fn legacy_suites_are_all_known() {
    for &code in crate::LEGACY_SUITES {
        assert!(suite(code).is_some(), "0x{code:04x}");
    }
}
