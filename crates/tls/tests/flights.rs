//! The server-flight reader against captured OpenSSL flights, their
//! truncations and chunkings, and hostile input.

mod common;

use common::{FIXTURES, fixture};
use mailwarden_model::TlsVersion;
use mailwarden_tls::{
    AlertDescription, AlertLevel, Error, FlightEnd, NamedGroup, Progress, ServerFlight,
    ServerFlightReader,
};

fn read_all(bytes: &[u8]) -> (Result<Progress, Error>, ServerFlight) {
    let mut reader = ServerFlightReader::new();
    let progress = reader.feed(bytes);
    (progress, reader.into_flight())
}

fn complete(name: &str) -> (FlightEnd, ServerFlight) {
    match read_all(&fixture(name)) {
        (Ok(Progress::Complete(end)), flight) => (end, flight),
        (other, _) => panic!("{name}: {other:?}"),
    }
}

#[test]
fn tls12_ecdhe_rsa_flight() {
    let (end, flight) = complete("tls12-ecdhe-rsa.hex");
    assert_eq!(end, FlightEnd::HelloDone);
    assert!(flight.hello_done);
    let hello = flight.server_hello.as_ref().unwrap();
    assert_eq!(hello.version, TlsVersion::TLS12);
    assert_eq!(hello.cipher_suite, 0xc030);
    assert_eq!(
        hello.suite_id().name.as_deref(),
        Some("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384")
    );
    assert_eq!(hello.compression_method, 0);
    assert_eq!(hello.parsed.renegotiation_info, Some(vec![]));
    assert!(hello.parsed.extended_master_secret);
    assert!(hello.parsed.session_ticket);
    // OpenSSL supports TLS 1.3 and says so to a client that offered only 1.2.
    assert_eq!(hello.downgrade_sentinel(), Some(TlsVersion::TLS12));
    let certs = flight.certificates.as_ref().unwrap();
    assert_eq!(certs.len(), 1);
    assert_eq!(certs[0].first(), Some(&0x30), "DER SEQUENCE");
    let ske = flight.server_key_exchange.as_ref().unwrap();
    assert_eq!(ske.ecdhe_group(), Some(NamedGroup::X25519));
    assert_eq!(flight.alert, None);
    let legacy = flight.legacy_hello();
    assert_eq!(legacy.version, Some(TlsVersion::TLS12));
    assert_eq!(legacy.cipher_suite.unwrap().code, 0xc030);
}

#[test]
fn tls10_flight() {
    let (end, flight) = complete("tls10.hex");
    assert_eq!(end, FlightEnd::HelloDone);
    let hello = flight.server_hello.unwrap();
    assert_eq!(hello.version, TlsVersion::TLS10);
    assert_eq!(hello.cipher_suite, 0xc014);
    // The server's best version is 1.0 (-tls1): no downgrade sentinel.
    assert_eq!(hello.downgrade_sentinel(), None);
    assert_eq!(flight.certificates.unwrap().len(), 1);
}

#[test]
fn tls11_dhe_flight_carries_the_prime() {
    let (_, flight) = complete("tls11-dhe.hex");
    let hello = flight.server_hello.unwrap();
    assert_eq!(hello.version, TlsVersion::TLS11);
    assert_eq!(hello.cipher_suite, 0x0033);
    let bits = flight
        .server_key_exchange
        .unwrap()
        .dhe_prime_bits()
        .unwrap();
    assert!(bits >= 2048, "{bits}-bit DH prime");
}

#[test]
fn tls13_server_hello_ends_the_flight() {
    let (end, flight) = complete("tls13-server-hello.hex");
    assert_eq!(end, FlightEnd::Tls13ServerHello);
    let hello = flight.server_hello.unwrap();
    assert_eq!(hello.version, TlsVersion::TLS13);
    assert_eq!(hello.legacy_version, TlsVersion::TLS12);
    assert_eq!(
        hello.suite_id().name.as_deref(),
        Some("TLS_AES_128_GCM_SHA256")
    );
    assert_eq!(hello.parsed.key_share_group, Some(NamedGroup::X25519));
    assert_eq!(hello.parsed.key_share.as_ref().map(Vec::len), Some(32));
    assert_eq!(flight.certificates, None, "encrypted in TLS 1.3");
}

#[test]
fn hello_retry_request() {
    let (end, flight) = complete("hello-retry-request.hex");
    assert_eq!(end, FlightEnd::HelloRetryRequest);
    assert!(flight.hello_retry_request);
    let hello = flight.server_hello.unwrap();
    assert!(hello.is_hello_retry_request());
    assert_eq!(hello.parsed.key_share_group, Some(NamedGroup::SECP256R1));
    assert_eq!(hello.parsed.key_share, Some(vec![]));
}

#[test]
fn alerts() {
    for (name, description) in [
        ("handshake-failure.hex", AlertDescription::HANDSHAKE_FAILURE),
        ("protocol-version.hex", AlertDescription::PROTOCOL_VERSION),
    ] {
        let (end, flight) = complete(name);
        assert_eq!(end, FlightEnd::Alert);
        let alert = flight.alert.unwrap();
        assert_eq!(
            (alert.level, alert.description),
            (AlertLevel::FATAL, description)
        );
        assert_eq!(flight.legacy_hello().alert, Some(description.0));
        assert_eq!(flight.server_hello, None);
    }
}

/// Every prefix of every capture: NeedMore or a clean error, never a panic,
/// and never "complete" before the whole flight was seen.
#[test]
fn every_truncation_needs_more() {
    for name in FIXTURES {
        let bytes = fixture(name);
        let mut full = ServerFlightReader::new();
        let Ok(Progress::Complete(_)) = full.feed(&bytes) else {
            panic!("{name} incomplete")
        };
        let needed = full.bytes_consumed();
        for n in 0..needed {
            let (progress, _) = read_all(&bytes[..n]);
            assert_eq!(progress, Ok(Progress::NeedMore), "{name} cut at {n}");
        }
    }
}

/// Byte-by-byte and odd chunkings give the same flight as one feed.
#[test]
fn chunking_does_not_matter() {
    for name in FIXTURES {
        let bytes = fixture(name);
        let (_, whole) = read_all(&bytes);
        for chunk in [1, 2, 3, 5, 7, 64, 1000] {
            let mut reader = ServerFlightReader::new();
            let mut last = Ok(Progress::NeedMore);
            for piece in bytes.chunks(chunk) {
                last = reader.feed(piece);
            }
            assert!(matches!(last, Ok(Progress::Complete(_))), "{name}/{chunk}");
            assert_eq!(reader.flight(), &whole, "{name}/{chunk}");
        }
    }
}

#[test]
fn plain_text_servers_are_not_tls() {
    for text in [
        &b"HTTP/1.1 400 Bad Request\r\n\r\n"[..],
        b"220 mx.example.org ESMTP Postfix\r\n",
        b"* OK [CAPABILITY IMAP4rev1] Dovecot ready.\r\n",
        b"+OK Dovecot ready.\r\n",
        b"\"IMPLEMENTATION\" \"Dovecot Pigeonhole\"\r\n",
    ] {
        let (progress, _) = read_all(text);
        let Err(Error::NotTls { first_bytes }) = progress else {
            panic!("{progress:?}")
        };
        assert_eq!(first_bytes, text[..text.len().min(64)].to_vec());
    }
    // One byte is enough to tell.
    assert!(matches!(read_all(b"2").0, Err(Error::NotTls { .. })));
}

#[test]
fn a_tls_looking_first_byte_with_a_bad_version_is_not_tls() {
    assert!(matches!(
        read_all(&[0x16, 0x48, 0x54, 0, 1]).0,
        Err(Error::NotTls { .. })
    ));
}

#[test]
fn bogus_lengths_are_too_large() {
    // A record claiming 0xffff bytes.
    assert!(matches!(
        read_all(&[0x16, 3, 3, 0xff, 0xff]).0,
        Err(Error::TooLarge { what: "record", .. })
    ));
    // A Certificate message claiming 16 MiB, after a valid ServerHello.
    let mut bytes = fixture("tls12-ecdhe-rsa.hex");
    let hello_record = 5 + usize::from(u16::from_be_bytes([bytes[3], bytes[4]]));
    bytes.truncate(hello_record);
    bytes.extend_from_slice(&[0x16, 3, 3, 0, 4, 11, 0xff, 0xff, 0xff]);
    assert!(matches!(
        read_all(&bytes).0,
        Err(Error::TooLarge {
            what: "handshake message",
            ..
        })
    ));
}

#[test]
fn endless_small_records_hit_the_flight_cap() {
    let mut reader = ServerFlightReader::new();
    let mut result = Ok(Progress::NeedMore);
    for _ in 0..100_000 {
        // Empty handshake records: legal framing, no progress.
        result = reader.feed(&[0x16, 3, 3, 0, 0]);
        if result.is_err() {
            break;
        }
    }
    assert!(
        matches!(
            result,
            Err(Error::TooLarge {
                what: "server flight",
                ..
            })
        ),
        "{result:?}"
    );
}

#[test]
fn malformed_messages_are_malformed() {
    // A ServerHello whose session id claims 33 bytes.
    let mut long_session = vec![3, 3];
    long_session.extend_from_slice(&[0; 32]);
    long_session.push(33);
    long_session.extend_from_slice(&[0; 36]);
    let cases: Vec<Vec<u8>> = vec![
        // Certificate before ServerHello.
        vec![0x16, 3, 3, 0, 7, 11, 0, 0, 3, 0, 0, 0],
        handshake_record(2, &long_session),
        // A ServerHello cut inside its random.
        handshake_record(2, &[3, 3, 1, 2, 3]),
        // Application data first.
        vec![0x17, 3, 3, 0, 1, 0],
        // An unknown content type after a first record.
        vec![0x15, 3, 3, 0, 1, 2, 0x30, 3, 3, 0, 0],
    ];
    for case in &cases {
        let (progress, _) = read_all(case);
        assert!(
            matches!(progress, Err(Error::Malformed { .. })),
            "{case:?}: {progress:?}"
        );
    }
}

fn handshake_record(typ: u8, body: &[u8]) -> Vec<u8> {
    let mut msg = vec![typ];
    msg.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    msg.extend_from_slice(body);
    let mut bytes = vec![0x16, 3, 3];
    bytes.extend_from_slice(&(msg.len() as u16).to_be_bytes());
    bytes.extend_from_slice(&msg);
    bytes
}

#[test]
fn bytes_after_completion_are_ignored() {
    let mut bytes = fixture("protocol-version.hex");
    bytes.extend_from_slice(b"garbage that follows");
    let (progress, flight) = read_all(&bytes);
    assert_eq!(progress, Ok(Progress::Complete(FlightEnd::Alert)));
    assert!(flight.alert.is_some());
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    fn feed_chunks(bytes: &[u8], cuts: &[usize]) -> Result<Progress, Error> {
        let mut reader = ServerFlightReader::new();
        let mut rest = bytes;
        let mut last = Ok(Progress::NeedMore);
        for &cut in cuts {
            let (head, tail) = rest.split_at(cut.min(rest.len()));
            last = reader.feed(head);
            rest = tail;
        }
        if !rest.is_empty() {
            last = reader.feed(rest);
        }
        last
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048),
                                    cuts in proptest::collection::vec(0usize..300, 0..20)) {
            let _ = feed_chunks(&bytes, &cuts);
        }

        /// Random bytes behind a plausible record header reach the parsers.
        #[test]
        fn random_handshake_payloads_never_panic(
            typ in prop_oneof![Just(2u8), Just(11), Just(12), Just(14), Just(22), any::<u8>()],
            body in proptest::collection::vec(any::<u8>(), 0..600),
            cuts in proptest::collection::vec(0usize..100, 0..10)) {
            let _ = feed_chunks(&handshake_record(typ, &body), &cuts);
        }

        /// The other parsers of peer input never panic either.
        #[test]
        fn other_parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
            let _ = mailwarden_tls::ClientHello::parse(&bytes);
            let _ = mailwarden_tls::ClientHello::parse_body(&bytes);
            let _ = mailwarden_tls::ServerHello::parse(&bytes);
            let _ = mailwarden_tls::parse_sslv2_answer(&bytes);
            let _ = mailwarden_tls::Sslv2ClientHello::parse(&bytes);
        }

        /// Any spec the builder accepts parses back to the same bytes.
        #[test]
        fn built_hellos_round_trip(suites in proptest::collection::vec(any::<u16>(), 0..200),
                                   groups in proptest::collection::vec(any::<u16>(), 0..40),
                                   versions in proptest::option::of(proptest::collection::vec(any::<u16>(), 0..8)),
                                   ems: bool, etm: bool, ticket: bool, pad: bool,
                                   random: [u8; 32]) {
            let mut spec = mailwarden_tls::ClientHelloSpec::legacy(Some("mx.example.org"));
            spec.suites = suites;
            spec.groups = groups.into_iter().map(NamedGroup).collect();
            spec.supported_versions = versions;
            spec.extended_master_secret = ems;
            spec.encrypt_then_mac = etm;
            spec.session_ticket = ticket;
            spec.pad_to_512 = pad;
            spec.random = random;
            let bytes = spec.encode();
            let hello = mailwarden_tls::ClientHello::parse(&bytes).unwrap();
            prop_assert_eq!(hello.to_spec().encode(), bytes);
            prop_assert_eq!(hello.random, random);
        }

        /// Flipping bytes of a real flight never panics.
        #[test]
        fn mutated_captures_never_panic(which in 0..FIXTURES.len(),
                                        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
                                        cuts in proptest::collection::vec(0usize..400, 0..8)) {
            let mut bytes = fixture(FIXTURES[which]);
            for (at, value) in flips {
                let i = at % bytes.len();
                bytes[i] = value;
            }
            let _ = feed_chunks(&bytes, &cuts);
        }
    }
}
