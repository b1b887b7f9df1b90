//! `analyze_chain` on chains generated with rcgen: exact facts, validation errors, name verdicts.

mod common;

use common::*;
use mailwarden_cert::{TrustAnchors, analyze_chain, parse_certificate};
use rcgen::{BasicConstraints, ExtendedKeyUsagePurpose, IsCa};

#[test]
fn valid_chain_facts() {
    let pki = Pki::new();
    let chain = pki.chain(pki.leaf(&["mx.example.org", "mail.example.org"]));
    let result = analyze_chain(&chain, "mx.example.org", &pki.anchors, now());

    assert!(result.validation.trusted, "{:?}", result.validation);
    assert_eq!(result.validation.error, None);
    assert_eq!(result.validation.anchors, ["test-root"]);
    assert_eq!(result.validation.checked_at, now());

    assert_eq!(result.certificates.len(), 2);
    let leaf = result.leaf().expect("leaf");
    assert_eq!(leaf.subject, "CN=mx.example.org,O=Mailwarden Test");
    assert_eq!(
        leaf.issuer,
        "CN=Mailwarden Test Intermediate,O=Mailwarden Test"
    );
    assert_eq!(leaf.dns_names, ["mx.example.org", "mail.example.org"]);
    assert!(leaf.ip_addresses.is_empty());
    assert_eq!(
        leaf.not_before,
        Some("2025-01-01T00:00:00Z".parse().unwrap())
    );
    assert_eq!(
        leaf.not_after,
        Some("2027-01-01T00:00:00Z".parse().unwrap())
    );
    assert_eq!(leaf.public_key.algorithm, "ecdsa");
    assert_eq!(leaf.public_key.bits, Some(256));
    assert_eq!(leaf.public_key.curve.as_deref(), Some("P-256"));
    assert_eq!(leaf.signature_algorithm, "ecdsa-with-SHA256");
    assert!(!leaf.self_signed);
    assert!(!leaf.is_ca);
    assert_eq!(leaf.parse_error, None);
    assert_eq!(leaf.sha256.len(), 64);
    assert!(!leaf.serial.is_empty());

    let intermediate = &result.certificates[1];
    assert!(intermediate.is_ca);
    assert!(!intermediate.self_signed);
    assert_eq!(
        intermediate.issuer,
        "CN=Mailwarden Test Root,O=Mailwarden Test"
    );

    assert!(result.name_check.matched);
    assert_eq!(result.name_check.name, "mx.example.org");
    assert_eq!(
        result.name_check.matched_by.as_deref(),
        Some("mx.example.org")
    );
    let other = analyze_chain(&chain, "MAIL.example.org.", &pki.anchors, now());
    assert_eq!(
        other.name_check.matched_by.as_deref(),
        Some("mail.example.org")
    );
}

#[test]
fn root_is_self_signed_ca() {
    let pki = Pki::new();
    let root = parse_certificate(&pki.root.der);
    assert!(root.self_signed);
    assert!(root.is_ca);
    assert_eq!(root.subject, root.issuer);
}

#[test]
fn expired_and_not_yet_valid() {
    let pki = Pki::new();
    let mut params = leaf_params(&["mx.example.org"]);
    params.not_before = rcgen::date_time_ymd(2024, 1, 1);
    params.not_after = rcgen::date_time_ymd(2025, 1, 1);
    let expired = analyze_chain(
        &pki.chain(leaf(&params, &P256, &pki.intermediate)),
        "mx.example.org",
        &pki.anchors,
        now(),
    );
    assert!(!expired.validation.trusted);
    assert_eq!(expired.validation.error.as_deref(), Some("expired"));
    // The name verdict does not depend on validation.
    assert!(expired.name_check.matched);

    params.not_before = rcgen::date_time_ymd(2027, 1, 1);
    params.not_after = rcgen::date_time_ymd(2028, 1, 1);
    let early = analyze_chain(
        &pki.chain(leaf(&params, &P256, &pki.intermediate)),
        "mx.example.org",
        &pki.anchors,
        now(),
    );
    assert_eq!(early.validation.error.as_deref(), Some("not-valid-yet"));

    // The same chain is valid at another instant.
    let later: jiff::Timestamp = "2027-06-01T00:00:00Z".parse().unwrap();
    let at_later = analyze_chain(
        &pki.chain(leaf(&params, &P256, &pki.intermediate)),
        "mx.example.org",
        &pki.anchors,
        later,
    );
    assert!(at_later.validation.trusted);
    assert_eq!(at_later.validation.checked_at, later);
}

#[test]
fn self_signed_leaf() {
    let pki = Pki::new();
    let der = self_signed(&leaf_params(&["mx.example.org"]), &P256);
    let result = analyze_chain(&[der], "mx.example.org", &pki.anchors, now());
    assert_eq!(result.validation.error.as_deref(), Some("unknown-issuer"));
    let leaf = result.leaf().unwrap();
    assert!(leaf.self_signed);
    assert!(!leaf.is_ca);
    assert_eq!(leaf.subject, leaf.issuer);
    assert!(result.name_check.matched);
}

#[test]
fn wrong_name_is_trusted_but_unmatched() {
    let pki = Pki::new();
    let chain = pki.chain(pki.leaf(&["other.example.net"]));
    let result = analyze_chain(&chain, "mx.example.org", &pki.anchors, now());
    assert!(result.validation.trusted);
    assert!(!result.name_check.matched);
    assert_eq!(result.name_check.matched_by, None);
}

#[test]
fn cn_is_never_used() {
    // CN=mx.example.org (see leaf_params) but the only SAN is another name.
    let pki = Pki::new();
    let chain = pki.chain(pki.leaf(&["other.example.org"]));
    let result = analyze_chain(&chain, "mx.example.org", &pki.anchors, now());
    assert_eq!(
        result.leaf().unwrap().subject,
        "CN=mx.example.org,O=Mailwarden Test"
    );
    assert!(!result.name_check.matched);
}

#[test]
fn wildcard() {
    let pki = Pki::new();
    let chain = pki.chain(pki.leaf(&["*.example.org"]));
    let hit = analyze_chain(&chain, "mx.example.org", &pki.anchors, now());
    assert!(hit.validation.trusted);
    assert_eq!(hit.name_check.matched_by.as_deref(), Some("*.example.org"));
    for miss in ["a.b.example.org", "example.org"] {
        let result = analyze_chain(&chain, miss, &pki.anchors, now());
        assert!(!result.name_check.matched, "{miss}");
    }
}

#[test]
fn ip_sans() {
    let pki = Pki::new();
    let chain = pki.chain(pki.leaf(&["127.0.0.1", "::1", "localhost"]));
    let result = analyze_chain(&chain, "127.0.0.1", &pki.anchors, now());
    assert!(result.validation.trusted);
    let leaf = result.leaf().unwrap();
    assert_eq!(leaf.ip_addresses, ["127.0.0.1", "::1"]);
    assert_eq!(leaf.dns_names, ["localhost"]);
    assert_eq!(result.name_check.matched_by.as_deref(), Some("127.0.0.1"));
    for (name, by) in [("::1", "::1"), ("0:0:0::1", "::1"), ("[::1]", "::1")] {
        let result = analyze_chain(&chain, name, &pki.anchors, now());
        assert_eq!(result.name_check.matched_by.as_deref(), Some(by), "{name}");
    }
    let result = analyze_chain(&chain, "127.0.0.2", &pki.anchors, now());
    assert!(!result.name_check.matched);
}

#[test]
fn key_and_signature_algorithms() {
    // (issuer and leaf algorithm, key algorithm, bits, curve, signature algorithm)
    let cases = [
        (
            &P384,
            "ecdsa",
            Some(384),
            Some("P-384"),
            "ecdsa-with-SHA384",
        ),
        (
            &P521,
            "ecdsa",
            Some(521),
            Some("P-521"),
            "ecdsa-with-SHA512",
        ),
        (&ED25519, "ed25519", Some(256), None, "Ed25519"),
        (
            &RSA_SHA256,
            "rsa",
            Some(2048),
            None,
            "sha256WithRSAEncryption",
        ),
        (&ML_DSA_44, "ml-dsa-44", None, None, "ML-DSA-44"),
    ];
    for (alg, algorithm, bits, curve, signature) in cases {
        let pki = Pki::with(alg);
        let chain = vec![
            leaf(&leaf_params(&["mx.example.org"]), alg, &pki.intermediate),
            pki.intermediate.der.clone(),
        ];
        let result = analyze_chain(&chain, "mx.example.org", &pki.anchors, now());
        assert!(
            result.validation.trusted,
            "{algorithm}: {:?}",
            result.validation
        );
        let leaf = result.leaf().unwrap();
        assert_eq!(leaf.public_key.algorithm, algorithm);
        assert_eq!(leaf.public_key.bits, bits, "{algorithm}");
        assert_eq!(leaf.public_key.curve.as_deref(), curve, "{algorithm}");
        assert_eq!(leaf.signature_algorithm, signature);
        // The root's signature is checked with its own key, for every algorithm.
        let root = parse_certificate(&pki.root.der);
        assert!(root.self_signed, "{algorithm} root");
    }
}

#[test]
fn chain_order_and_completeness() {
    let pki = Pki::new();
    let leaf = pki.leaf(&["mx.example.org"]);
    let root = pki.root.der.clone();
    let intermediate = pki.intermediate.der.clone();
    let trusted = [
        vec![leaf.clone(), intermediate.clone()],
        vec![leaf.clone(), intermediate.clone(), root.clone()],
        vec![leaf.clone(), root.clone(), intermediate.clone()],
        vec![leaf.clone(), b"junk".to_vec(), intermediate.clone()],
    ];
    for chain in &trusted {
        let result = analyze_chain(chain, "mx.example.org", &pki.anchors, now());
        assert!(result.validation.trusted, "{} certificates", chain.len());
        assert_eq!(result.certificates.len(), chain.len());
    }
    for chain in [vec![leaf.clone()], vec![leaf.clone(), root.clone()]] {
        let result = analyze_chain(&chain, "mx.example.org", &pki.anchors, now());
        assert_eq!(result.validation.error.as_deref(), Some("unknown-issuer"));
        assert!(result.name_check.matched);
    }
    // The leaf must come first: a chain starting with the intermediate is about the
    // intermediate.
    let swapped = analyze_chain(&[intermediate, leaf], "mx.example.org", &pki.anchors, now());
    assert_eq!(
        swapped.validation.error.as_deref(),
        Some("ca-used-as-end-entity")
    );
    assert!(!swapped.name_check.matched);
}

#[test]
fn anchors_decide_trust() {
    let pki = Pki::new();
    let chain = pki.chain(pki.leaf(&["mx.example.org"]));
    let mozilla = analyze_chain(&chain, "mx.example.org", &TrustAnchors::mozilla(), now());
    assert_eq!(mozilla.validation.error.as_deref(), Some("unknown-issuer"));
    assert_eq!(mozilla.validation.anchors, ["mozilla"]);

    let none = analyze_chain(&chain, "mx.example.org", &TrustAnchors::empty(), now());
    assert_eq!(none.validation.error.as_deref(), Some("unknown-issuer"));
    assert!(none.validation.anchors.is_empty());

    // Anchoring at the intermediate is enough.
    let at_intermediate = TrustAnchors::mozilla()
        .with_ca_pem(pki.intermediate.pem.as_bytes(), "intermediate")
        .unwrap();
    let result = analyze_chain(&chain[..1], "mx.example.org", &at_intermediate, now());
    assert!(result.validation.trusted);
    assert_eq!(result.validation.anchors, ["mozilla", "intermediate"]);
}

#[test]
fn impostor_of_a_mozilla_root_has_a_bad_signature() {
    // Same name as a real Mozilla root, another key: path building finds the Mozilla anchor by
    // name and the signature fails. Proves the Mozilla set is consulted.
    let mut params = rcgen::CertificateParams::default();
    // Byte for byte the subject of ISRG Root X1 (PrintableStrings): webpki compares raw names.
    let mut dn = rcgen::DistinguishedName::new();
    for (ty, value) in [
        (rcgen::DnType::CountryName, "US"),
        (
            rcgen::DnType::OrganizationName,
            "Internet Security Research Group",
        ),
        (rcgen::DnType::CommonName, "ISRG Root X1"),
    ] {
        let value = rcgen::DnValue::PrintableString(value.try_into().unwrap());
        dn.push(ty, value);
    }
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(2040, 1, 1);
    let key = rcgen::KeyPair::generate_for(&RSA_SHA256).unwrap();
    let impostor = rcgen::Issuer::new(params, key);
    let leaf_key = rcgen::KeyPair::generate_for(&P256).unwrap();
    let leaf = leaf_params(&["mx.example.org"])
        .signed_by(&leaf_key, &impostor)
        .unwrap()
        .der()
        .to_vec();
    let result = analyze_chain(&[leaf], "mx.example.org", &TrustAnchors::mozilla(), now());
    assert_eq!(result.validation.error.as_deref(), Some("bad-signature"));
    assert_eq!(
        result.leaf().unwrap().issuer,
        "CN=ISRG Root X1,O=Internet Security Research Group,C=US"
    );
}

#[test]
fn signature_by_another_key_with_the_issuer_name() {
    let pki = Pki::new();
    let twin = intermediate("Mailwarden Test Intermediate", &P256, &pki.root);
    let forged = leaf(&leaf_params(&["mx.example.org"]), &P256, &twin);
    let result = analyze_chain(
        &[forged, pki.intermediate.der.clone()],
        "mx.example.org",
        &pki.anchors,
        now(),
    );
    assert_eq!(result.validation.error.as_deref(), Some("bad-signature"));
}

#[test]
fn ca_as_leaf_non_ca_as_issuer_and_wrong_eku() {
    let pki = Pki::new();

    let mut ca_leaf = leaf_params(&["mx.example.org"]);
    ca_leaf.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let result = analyze_chain(
        &pki.chain(leaf(&ca_leaf, &P256, &pki.intermediate)),
        "mx.example.org",
        &pki.anchors,
        now(),
    );
    assert_eq!(
        result.validation.error.as_deref(),
        Some("ca-used-as-end-entity")
    );
    assert!(result.leaf().unwrap().is_ca);

    let mut not_ca = leaf_params(&["issuer.example.org"]);
    not_ca.distinguished_name = rcgen::DistinguishedName::new();
    not_ca
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Not A CA");
    not_ca.is_ca = IsCa::ExplicitNoCa;
    let fake_ca = ca_signed_by(not_ca, &P256, &pki.intermediate);
    let result = analyze_chain(
        &[
            leaf(&leaf_params(&["mx.example.org"]), &P256, &fake_ca),
            fake_ca.der.clone(),
            pki.intermediate.der.clone(),
        ],
        "mx.example.org",
        &pki.anchors,
        now(),
    );
    assert_eq!(
        result.validation.error.as_deref(),
        Some("end-entity-used-as-ca")
    );

    let mut client_only = leaf_params(&["mx.example.org"]);
    client_only.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let result = analyze_chain(
        &pki.chain(leaf(&client_only, &P256, &pki.intermediate)),
        "mx.example.org",
        &pki.anchors,
        now(),
    );
    assert_eq!(
        result.validation.error.as_deref(),
        Some("required-eku-not-found")
    );

    // No extendedKeyUsage extension at all is acceptable.
    let mut no_eku = leaf_params(&["mx.example.org"]);
    no_eku.extended_key_usages = Vec::new();
    let result = analyze_chain(
        &pki.chain(leaf(&no_eku, &P256, &pki.intermediate)),
        "mx.example.org",
        &pki.anchors,
        now(),
    );
    assert!(result.validation.trusted);
}

#[test]
fn empty_chain() {
    let pki = Pki::new();
    let none: [Vec<u8>; 0] = [];
    let result = analyze_chain(&none, "mx.example.org", &pki.anchors, now());
    assert!(result.certificates.is_empty());
    assert!(result.leaf().is_none());
    assert!(!result.validation.trusted);
    assert_eq!(result.validation.error.as_deref(), Some("no-certificate"));
    assert!(!result.name_check.matched);
    assert_eq!(result.name_check.name, "mx.example.org");
}

#[test]
fn garbage_leaf() {
    let pki = Pki::new();
    let result = analyze_chain(
        &[b"\x30\x03\x02\x01\x01".to_vec()],
        "mx.example.org",
        &pki.anchors,
        now(),
    );
    assert_eq!(result.validation.error.as_deref(), Some("bad-der"));
    let leaf = result.leaf().unwrap();
    assert!(leaf.parse_error.is_some());
    assert_eq!(leaf.der_base64, "MAMCAQE=");
    assert!(!result.name_check.matched);
}

#[test]
fn accepts_certificate_der_slices() {
    let pki = Pki::new();
    let chain: Vec<rustls_pki_types::CertificateDer<'static>> = pki
        .chain(pki.leaf(&["mx.example.org"]))
        .into_iter()
        .map(Into::into)
        .collect();
    let result = analyze_chain(&chain, "mx.example.org", &pki.anchors, now());
    assert!(result.validation.trusted);
}
