use super::*;

/// A SERVER-HELLO as the SSL 2.0 spec lays it out.
fn server_hello(cert: &[u8], specs: &[u32], connection_id: &[u8]) -> Vec<u8> {
    let specs: Vec<u8> = specs
        .iter()
        .flat_map(|c| c.to_be_bytes().into_iter().skip(1))
        .collect();
    let mut body = vec![4, 0, 1, 0, 2];
    for len in [cert.len(), specs.len(), connection_id.len()] {
        body.extend_from_slice(&(len as u16).to_be_bytes());
    }
    body.extend_from_slice(cert);
    body.extend_from_slice(&specs);
    body.extend_from_slice(connection_id);
    let mut out = (0x8000 | body.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(&body);
    out
}

#[test]
fn registry_has_the_seven_spec_kinds_and_more() {
    assert_eq!(sslv2_suites().len(), data_rows(SSLV2_CSV).count());
    let rc4 = sslv2_suite(0x010080).unwrap();
    assert_eq!(
        (rc4.name, rc4.cipher, rc4.bits),
        ("SSL_CK_RC4_128_WITH_MD5", Cipher::Rc4, 128)
    );
    assert_eq!(rc4.openssl_name, Some("RC4-MD5"));
    let exp = sslv2_suite(0x020080).unwrap();
    assert!(exp.export);
    assert_eq!(exp.bits, 40);
    assert_eq!(sslv2_suite(0x0700c0).unwrap().cipher, Cipher::TripleDes);
    assert_eq!(sslv2_suite(0x123456), None);
}

#[test]
fn client_hello_round_trips() {
    let hello = Sslv2ClientHello::sslv2([9; 16]);
    let bytes = hello.encode();
    assert_eq!(bytes[0] & 0x80, 0x80);
    assert_eq!(bytes[2], 1);
    assert_eq!(Sslv2ClientHello::parse(&bytes).unwrap(), hello);
    assert_eq!(hello.cipher_specs.len(), sslv2_suites().len());
}

#[test]
fn compatible_hello_carries_tls_suites() {
    let hello = Sslv2ClientHello::compatible(0x0301, &[0x002f, 0x000a, 0x00ff], [1; 32]);
    let parsed = Sslv2ClientHello::parse(&hello.encode()).unwrap();
    assert_eq!(parsed.version, 0x0301);
    assert_eq!(parsed.cipher_specs, vec![0x00002f, 0x00000a, 0x0000ff]);
    assert_eq!(parsed.challenge.len(), 32);
}

#[test]
fn server_hello_parses() {
    let bytes = server_hello(&[0x30, 0x03, 1, 2, 3], &[0x010080, 0x0700c0], &[7; 16]);
    let Some(Sslv2Answer::ServerHello(hello)) = parse_sslv2_answer(&bytes).unwrap() else {
        panic!()
    };
    assert_eq!(hello.version, 0x0002);
    assert_eq!(hello.certificate_type, 1);
    assert_eq!(hello.certificate, vec![0x30, 0x03, 1, 2, 3]);
    assert_eq!(hello.cipher_specs, vec![0x010080, 0x0700c0]);
    assert_eq!(hello.connection_id, vec![7; 16]);
    for n in 0..bytes.len() {
        assert_eq!(parse_sslv2_answer(&bytes[..n]), Ok(None), "prefix {n}");
    }
}

#[test]
fn error_and_tls_answers() {
    assert_eq!(
        parse_sslv2_answer(&[0x80, 3, 0, 0, 1]),
        Ok(Some(Sslv2Answer::Error(1)))
    );
    assert_eq!(
        parse_sslv2_answer(&[0x15, 3, 1, 0, 2, 2, 40]),
        Ok(Some(Sslv2Answer::TlsRecord(ContentType::ALERT)))
    );
    assert!(matches!(
        parse_sslv2_answer(b"220 mx ESMTP\r\n"),
        Err(Error::NotTls { .. })
    ));
    assert!(matches!(
        parse_sslv2_answer(&[0x80, 1, 9]),
        Err(Error::NotTls { .. })
    ));
    // A SERVER-HELLO whose inner lengths overrun the record.
    assert!(matches!(
        parse_sslv2_answer(&[0x80, 11, 4, 0, 1, 0, 2, 0xff, 0xff, 0, 0, 0, 0]),
        Err(Error::Malformed { .. })
    ));
}

#[test]
fn padding_longer_than_the_record_is_malformed() {
    assert!(matches!(
        Sslv2ClientHello::parse(&[0x00, 2, 5, 1, 0]),
        Err(Error::Malformed { .. })
    ));
}
