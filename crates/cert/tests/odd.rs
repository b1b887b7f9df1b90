//! Odd but parsable certificates: malformed or duplicate SANs, self-signed CA leaves.

mod common;

use common::*;
use mailwarden_cert::{analyze_chain, parse_certificate};
use rcgen::{BasicConstraints, CustomExtension, IsCa};

const SAN_OID: &[u64] = &[2, 5, 29, 17];

fn leaf_with_extension(sans: &[&str], content: Vec<u8>) -> Vec<u8> {
    let pki = Pki::new();
    let mut params = leaf_params(sans);
    params
        .custom_extensions
        .push(CustomExtension::from_oid_content(SAN_OID, content));
    leaf(&params, &P256, &pki.intermediate)
}

#[test]
fn ip_san_of_wrong_length() {
    // SEQUENCE { [7] 01 02 03 04 05 , [2] "mx.example.org" }
    let mut content = vec![0x30, 0x17, 0x87, 0x05, 1, 2, 3, 4, 5, 0x82, 0x0e];
    content.extend_from_slice(b"mx.example.org");
    let cert = parse_certificate(&leaf_with_extension(&[], content));
    assert_eq!(
        cert.parse_error.as_deref(),
        Some("subjectAltName iPAddress of 5 bytes: 0102030405")
    );
    assert!(cert.ip_addresses.is_empty());
    assert_eq!(cert.dns_names, ["mx.example.org"]);
}

#[test]
fn dns_san_that_is_not_text() {
    let cert = parse_certificate(&leaf_with_extension(
        &[],
        vec![0x30, 0x04, 0x82, 0x02, 0xff, 0xfe],
    ));
    assert_eq!(
        cert.parse_error.as_deref(),
        Some("subjectAltName dNSName is not text: fffe")
    );
    assert!(cert.dns_names.is_empty());
}

#[test]
fn malformed_san_extension() {
    let der = leaf_with_extension(&[], vec![0x30, 0x05, 0x82, 0x01]);
    let pki = Pki::new();
    let result = analyze_chain(
        std::slice::from_ref(&der),
        "mx.example.org",
        &pki.anchors,
        now(),
    );
    assert_eq!(result.validation.error.as_deref(), Some("bad-der"));
    let cert = parse_certificate(&der);
    let error = cert.parse_error.as_deref().unwrap_or_default();
    assert!(error.starts_with("malformed subjectAltName"), "{error}");
    assert!(cert.dns_names.is_empty());
    // Everything else is still there.
    assert_eq!(cert.subject, "CN=mx.example.org,O=Mailwarden Test");
    assert_eq!(cert.public_key.curve.as_deref(), Some("P-256"));
}

#[test]
fn duplicate_san_extensions() {
    let mut content = vec![0x30, 0x10, 0x82, 0x0e];
    content.extend_from_slice(b"mx.example.org");
    let pki = Pki::new();
    let mut params = leaf_params(&["other.example.org"]);
    params
        .custom_extensions
        .push(CustomExtension::from_oid_content(SAN_OID, content));
    let der = leaf(&params, &P256, &pki.intermediate);
    let result = analyze_chain(&pki.chain(der), "mx.example.org", &pki.anchors, now());
    let leaf = result.leaf().unwrap();
    assert_eq!(
        leaf.parse_error.as_deref(),
        Some("2 subjectAltName extensions")
    );
    assert_eq!(leaf.dns_names, ["other.example.org", "mx.example.org"]);
    // webpki refuses duplicate extensions.
    assert_eq!(
        result.validation.error.as_deref(),
        Some("invalid-extension-value")
    );
}

#[test]
fn self_signed_ca_as_server_certificate() {
    // What `openssl req -x509` makes with a default configuration: CA:TRUE.
    let mut params = leaf_params(&["mx.example.org"]);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let der = self_signed(&params, &P256);
    let pki = Pki::new();
    let result = analyze_chain(&[der], "mx.example.org", &pki.anchors, now());
    // webpki judges the leaf before looking for its issuer.
    assert_eq!(
        result.validation.error.as_deref(),
        Some("ca-used-as-end-entity")
    );
    let leaf = result.leaf().unwrap();
    assert!(leaf.self_signed);
    assert!(leaf.is_ca);
    assert!(result.name_check.matched);
}

#[test]
fn self_issued_but_signed_by_another_key_is_not_self_signed() {
    // Same name as its issuer, but signed by the intermediate's key.
    let pki = Pki::new();
    let mut params = leaf_params(&["mx.example.org"]);
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "Mailwarden Test");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Mailwarden Test Intermediate");
    let cert = parse_certificate(&leaf(&params, &P256, &pki.intermediate));
    assert_eq!(cert.subject, cert.issuer);
    assert!(!cert.self_signed);
}
