use super::*;
use crate::legacy_client_hello;
use mailwarden_model::TlsVersion;

fn round_trip(spec: &ClientHelloSpec) -> ClientHello {
    let bytes = spec.encode();
    let hello = ClientHello::parse(&bytes).unwrap();
    assert_eq!(hello.to_spec().encode(), bytes, "re-encoding differs");
    hello
}

#[test]
fn legacy_hello_round_trips() {
    let bytes = legacy_client_hello(Some("mx.example.org"));
    let hello = ClientHello::parse(&bytes).unwrap();
    assert_eq!(hello.record_version, TlsVersion::TLS10.0);
    assert_eq!(hello.client_version, TlsVersion::TLS12.0);
    assert_eq!(hello.server_name().as_deref(), Some("mx.example.org"));
    assert_eq!(hello.suites, crate::LEGACY_SUITES);
    assert_eq!(hello.compression_methods, vec![0]);
    assert_eq!(hello.groups().unwrap(), crate::LEGACY_GROUPS);
    assert_eq!(
        hello.signature_algorithms().unwrap(),
        crate::LEGACY_SIGNATURE_ALGORITHMS
    );
    assert_eq!(hello.supported_versions(), None);
    assert_eq!(hello.extension(ExtensionType::KEY_SHARE), None);
    assert_eq!(
        hello.extension(ExtensionType::RENEGOTIATION_INFO),
        Some(&[0u8][..])
    );
    assert_eq!(
        hello.extension(ExtensionType::EXTENDED_MASTER_SECRET),
        Some(&[][..])
    );
    assert_eq!(
        hello.extension(ExtensionType::SESSION_TICKET),
        Some(&[][..])
    );
    assert_eq!(
        hello.extension(ExtensionType::EC_POINT_FORMATS),
        Some(&[1u8, 0][..])
    );
    assert_eq!(hello.to_spec().encode(), bytes);
}

#[test]
fn ip_literals_get_no_server_name() {
    for host in ["127.0.0.1", "::1", "[::1]"] {
        let hello = ClientHello::parse(&legacy_client_hello(Some(host))).unwrap();
        assert_eq!(hello.server_name(), None, "{host}");
        assert_eq!(hello.extension(ExtensionType::SERVER_NAME), None);
    }
    let hello = ClientHello::parse(&legacy_client_hello(None)).unwrap();
    assert_eq!(hello.server_name(), None);
}

#[test]
fn caller_random_is_used() {
    let bytes = crate::legacy_client_hello_with_random(None, [7; 32]);
    assert_eq!(ClientHello::parse(&bytes).unwrap().random, [7; 32]);
}

#[test]
fn every_spec_field_round_trips() {
    let mut spec = ClientHelloSpec::tls13(Some("imap.example.net"));
    spec.supported_versions = Some(vec![0x0304, 0x0303]);
    spec.key_shares = vec![
        KeyShareEntry::x25519([0x42; 32]),
        KeyShareEntry::secp256r1(),
        KeyShareEntry::secp384r1(),
    ];
    spec.alpn = vec![b"smtp".to_vec(), b"imap".to_vec()];
    spec.encrypt_then_mac = true;
    spec.status_request = true;
    spec.heartbeat = Some(1);
    spec.fallback_scsv = true;
    spec.renegotiation_scsv = true;
    spec.compression_methods = vec![1, 0];
    let hello = round_trip(&spec);
    assert_eq!(hello.key_shares().unwrap(), spec.key_shares);
    assert_eq!(hello.alpn().unwrap(), spec.alpn);
    assert_eq!(hello.supported_versions(), spec.supported_versions);
    assert_eq!(hello.suites, vec![0x1301, 0x1302, 0x1303, 0x00ff, 0x5600]);
    assert_eq!(hello.session_id.len(), 32);
    assert_eq!(hello.extension(ExtensionType::HEARTBEAT), Some(&[1u8][..]));
    let back = hello.to_spec();
    assert_eq!(back.extra_extensions, spec.extra_extensions);
    assert!(back.fallback_scsv && back.encrypt_then_mac && back.status_request);
}

#[test]
fn a_bare_sslv3_style_hello_round_trips() {
    let mut spec = ClientHelloSpec::legacy(None);
    spec.record_version = 0x0300;
    spec.client_version = 0x0300;
    spec.groups.clear();
    spec.signature_algorithms.clear();
    spec.ec_point_formats = false;
    spec.renegotiation_info = false;
    spec.extended_master_secret = false;
    spec.session_ticket = false;
    spec.suites = vec![0x000a, 0x0005];
    let hello = round_trip(&spec);
    assert!(hello.extensions.is_empty());
    // No extension block at all, as SSL 3.0 servers expect.
    assert_eq!(spec.handshake_message().len(), 4 + 2 + 32 + 1 + 2 + 4 + 2);
}

#[test]
fn huge_suite_lists_span_records() {
    let mut spec = ClientHelloSpec::legacy(None);
    spec.suites = (0..10_000).collect();
    let bytes = spec.encode();
    assert!(crate::split_records(&bytes).unwrap().len() > 1);
    assert_eq!(ClientHello::parse(&bytes).unwrap().suites.len(), 10_000);
}

#[test]
fn truncations_are_errors() {
    let bytes = legacy_client_hello(Some("mx.example.org"));
    for n in 0..bytes.len() {
        assert!(ClientHello::parse(&bytes[..n]).is_err(), "prefix {n}");
    }
}
