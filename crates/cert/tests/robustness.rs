//! Hostile bytes: every truncation and single-byte corruption of real certificates, random
//! bytes and random mutations (proptest). Nothing may panic; nothing corrupted may be trusted.

mod common;

use std::sync::OnceLock;

use common::*;
use mailwarden_cert::{analyze_chain, check_name, parse_certificate};
use proptest::prelude::*;
use sha2::{Digest, Sha256};

struct Fixture {
    pki: Pki,
    leaves: Vec<Vec<u8>>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let pki = Pki::new();
        let leaves = vec![
            pki.leaf(&["mx.example.org", "*.example.org", "127.0.0.1", "::1"]),
            leaf(
                &leaf_params(&["mx.example.org"]),
                &ED25519,
                &pki.intermediate,
            ),
            leaf(
                &leaf_params(&["mx.example.org"]),
                &RSA_SHA256,
                &pki.intermediate,
            ),
        ];
        Fixture { pki, leaves }
    })
}

#[test]
fn fixture_is_trusted() {
    let f = fixture();
    for leaf in &f.leaves {
        let chain = f.pki.chain(leaf.clone());
        assert!(
            analyze_chain(&chain, "mx.example.org", &f.pki.anchors, now())
                .validation
                .trusted
        );
    }
}

#[test]
fn every_truncation() {
    let f = fixture();
    for der in &f.leaves {
        for len in 0..der.len() {
            let prefix = &der[..len];
            let cert = parse_certificate(prefix);
            assert!(cert.parse_error.is_some(), "prefix of {len} bytes");
            assert_eq!(cert.sha256, hex::encode(Sha256::digest(prefix)));
            let chain = vec![prefix.to_vec(), f.pki.intermediate.der.clone()];
            let result = analyze_chain(&chain, "mx.example.org", &f.pki.anchors, now());
            assert!(!result.validation.trusted, "prefix of {len} bytes");
        }
    }
}

#[test]
fn truncated_signature_keeps_the_to_be_signed_facts() {
    let f = fixture();
    let der = &f.leaves[0];
    let full = parse_certificate(der);
    let cut = parse_certificate(&der[..der.len() - 8]);
    let error = cut.parse_error.as_deref().unwrap_or_default();
    assert!(error.contains("to-be-signed"), "{error}");
    assert_eq!(cut.subject, full.subject);
    assert_eq!(cut.issuer, full.issuer);
    assert_eq!(cut.serial, full.serial);
    assert_eq!(cut.not_after, full.not_after);
    assert_eq!(cut.dns_names, full.dns_names);
    assert_eq!(cut.ip_addresses, full.ip_addresses);
    assert_eq!(cut.public_key, full.public_key);
    assert_eq!(cut.signature_algorithm, full.signature_algorithm);
    assert!(!cut.self_signed);
}

#[test]
fn trailing_data_is_reported_with_all_facts() {
    let f = fixture();
    let mut der = f.leaves[0].clone();
    let full = parse_certificate(&der);
    der.extend_from_slice(b"\0\0\0");
    let cert = parse_certificate(&der);
    assert_eq!(
        cert.parse_error.as_deref(),
        Some("3 bytes of trailing data after the certificate")
    );
    assert_eq!(cert.subject, full.subject);
    assert_eq!(cert.dns_names, full.dns_names);
    assert_eq!(cert.public_key, full.public_key);
    assert_ne!(cert.sha256, full.sha256);
}

#[test]
fn every_single_byte_corruption() {
    let f = fixture();
    for der in &f.leaves {
        for i in 0..der.len() {
            for value in [der[i] ^ 0xff, der[i] ^ 0x01, 0x00, 0x80] {
                if value == der[i] {
                    continue;
                }
                let mut bad = der.clone();
                bad[i] = value;
                let _ = parse_certificate(&bad);
                let chain = vec![bad, f.pki.intermediate.der.clone()];
                let result = analyze_chain(&chain, "mx.example.org", &f.pki.anchors, now());
                assert!(
                    !result.validation.trusted,
                    "byte {i} set to {value:#04x} still trusted"
                );
            }
        }
    }
}

proptest! {
    #[test]
    fn random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let cert = parse_certificate(&bytes);
        prop_assert!(cert.parse_error.is_some());
        let f = fixture();
        let result = analyze_chain(&[bytes], "mx.example.org", &f.pki.anchors, now());
        prop_assert!(!result.validation.trusted);
    }

    #[test]
    fn random_der_like_bytes(tail in proptest::collection::vec(any::<u8>(), 0..600)) {
        // A plausible outer header so the parser goes deeper than the first byte.
        let mut bytes = vec![0x30, 0x82, 0x02, 0x58, 0x30, 0x82];
        bytes.extend(tail);
        let _ = parse_certificate(&bytes);
    }

    #[test]
    fn random_mutations(
        which in 0usize..3,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let f = fixture();
        let mut der = f.leaves[which].clone();
        for (index, value) in &edits {
            let i = index.index(der.len());
            der[i] = *value;
        }
        let changed = der != f.leaves[which];
        let _ = parse_certificate(&der);
        let chain = vec![der, f.pki.intermediate.der.clone()];
        let result = analyze_chain(&chain, "mx.example.org", &f.pki.anchors, now());
        prop_assert!(!(changed && result.validation.trusted));
    }

    #[test]
    fn random_chains(
        chain in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..256), 0..5),
        name in ".{0,40}",
    ) {
        let f = fixture();
        let result = analyze_chain(&chain, &name, &f.pki.anchors, now());
        prop_assert_eq!(result.certificates.len(), chain.len());
        prop_assert!(!result.validation.trusted);
    }

    #[test]
    fn name_check_on_arbitrary_sans(
        sans in proptest::collection::vec("[*a-zA-Z0-9.:-]{0,20}", 0..4),
        ips in proptest::collection::vec(".{0,20}", 0..3),
        name in "[*a-zA-Z0-9.:\\[\\]-]{0,24}",
    ) {
        let mut leaf = parse_certificate(&fixture().leaves[0]);
        leaf.dns_names = sans;
        leaf.ip_addresses = ips;
        let check = check_name(&leaf, &name);
        prop_assert_eq!(check.matched, check.matched_by.is_some());
        if let Some(by) = &check.matched_by {
            prop_assert!(leaf.dns_names.contains(by) || leaf.ip_addresses.contains(by));
        }
    }
}
