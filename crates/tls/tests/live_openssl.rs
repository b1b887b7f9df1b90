//! `legacy_client_hello` against a real `openssl s_server` on 127.0.0.1:
//! the parsed answer must match what the server was configured to do.
//! Needs the `openssl` command (Debian's OpenSSL 3.0).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use mailwarden_model::TlsVersion;
use mailwarden_tls::{
    AlertDescription, ClientHelloSpec, FlightEnd, Progress, ServerFlight, ServerFlightReader,
    legacy_client_hello,
};

/// An `openssl s_server` on 127.0.0.1 with a fresh self-signed certificate;
/// killed and its directory removed on drop.
struct Server {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Server {
    fn start(name: &str, options: &[&str]) -> Server {
        let dir =
            std::env::temp_dir().join(format!("mailwarden-tls-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let status = Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            ])
            .args([
                "-subj",
                "/CN=localhost",
                "-keyout",
                "key.pem",
                "-out",
                "cert.pem",
            ])
            .current_dir(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("the openssl command is needed for this test (apt-get install openssl)");
        assert!(status.success(), "openssl req failed");
        let mut child = Command::new("openssl")
            .args(["s_server", "-accept", "127.0.0.1:0", "-naccept", "1"])
            .args(["-cert", "cert.pem", "-key", "key.pem"])
            .args(options)
            .current_dir(&dir)
            // s_server drops the connection when its stdin ends: keep it open.
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl s_server");
        // s_server prints "ACCEPT 127.0.0.1:PORT" once it listens.
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let port = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|l| {
                l.strip_prefix("ACCEPT 127.0.0.1:")
                    .and_then(|p| p.trim().parse().ok())
            })
            .expect("s_server did not report its port");
        // Keep draining its output so it never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Server { child, port, dir }
    }

    /// Sends `hello` and reads the flight until complete, an error or EOF.
    fn exchange(&self, hello: &[u8]) -> (Result<Progress, mailwarden_tls::Error>, ServerFlight) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream.write_all(hello).unwrap();
        let mut reader = ServerFlightReader::new();
        let mut buf = [0u8; 4096];
        let mut last = Ok(Progress::NeedMore);
        while let Ok(Progress::NeedMore) = last {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => last = reader.feed(&buf[..n]),
            }
        }
        (last, reader.into_flight())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn default_server_chooses_tls12() {
    let server = Server::start("default", &[]);
    let (progress, flight) = server.exchange(&legacy_client_hello(Some("localhost")));
    assert_eq!(progress, Ok(Progress::Complete(FlightEnd::HelloDone)));
    let hello = flight.server_hello.unwrap();
    assert_eq!(hello.version, TlsVersion::TLS12);
    let suite = mailwarden_tls::suite(hello.cipher_suite).unwrap();
    assert_eq!(
        suite.kx,
        mailwarden_tls::KeyExchange::Ecdhe,
        "{}",
        suite.name
    );
    assert!(suite.flags.contains(mailwarden_tls::SuiteFlags::AEAD));
    assert_eq!(flight.certificates.unwrap().len(), 1);
}

#[test]
fn tls1_only_server_chooses_tls10() {
    let server = Server::start("tls1", &["-tls1", "-cipher", "DEFAULT:@SECLEVEL=0"]);
    let (progress, flight) = server.exchange(&legacy_client_hello(None));
    assert_eq!(progress, Ok(Progress::Complete(FlightEnd::HelloDone)));
    let hello = flight.server_hello.unwrap();
    assert_eq!(hello.version, TlsVersion::TLS10);
    assert!(mailwarden_tls::suite(hello.cipher_suite).is_some());
    assert_eq!(flight.certificates.unwrap().len(), 1);
}

#[test]
fn tls13_only_server_refuses_with_protocol_version() {
    let server = Server::start("tls13only", &["-tls1_3"]);
    let (progress, flight) = server.exchange(&legacy_client_hello(Some("localhost")));
    assert_eq!(progress, Ok(Progress::Complete(FlightEnd::Alert)));
    assert_eq!(
        flight.alert.unwrap().description,
        AlertDescription::PROTOCOL_VERSION
    );
}

#[test]
fn tls13_hello_gets_a_tls13_server_hello() {
    let server = Server::start("tls13", &[]);
    let (progress, flight) = server.exchange(&ClientHelloSpec::tls13(Some("localhost")).encode());
    assert_eq!(
        progress,
        Ok(Progress::Complete(FlightEnd::Tls13ServerHello))
    );
    let hello = flight.server_hello.unwrap();
    assert_eq!(hello.version, TlsVersion::TLS13);
    assert_eq!(hello.parsed.key_share.map(|k| k.len()), Some(32));
}

#[test]
fn p256_key_share_with_the_generator_point_is_accepted() {
    let server = Server::start("p256", &["-groups", "P-256"]);
    let mut spec = ClientHelloSpec::tls13(Some("localhost"));
    spec.key_shares = vec![mailwarden_tls::KeyShareEntry::secp256r1()];
    let (progress, flight) = server.exchange(&spec.encode());
    assert_eq!(
        progress,
        Ok(Progress::Complete(FlightEnd::Tls13ServerHello))
    );
    let hello = flight.server_hello.unwrap();
    assert_eq!(
        hello.parsed.key_share_group,
        Some(mailwarden_tls::NamedGroup::SECP256R1)
    );
}

impl Server {
    /// Sends `hello` and collects the answer until `done` says so, EOF or a
    /// 10-second silence.
    fn exchange_raw(&self, hello: &[u8], done: impl Fn(&[u8]) -> bool) -> Vec<u8> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream.write_all(hello).unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while !done(&got) && got.len() < 1 << 20 {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        got
    }
}

#[test]
fn sslv2_compatible_hello_gets_a_tls10_server_hello() {
    use mailwarden_tls::{Sslv2Answer, Sslv2ClientHello, parse_sslv2_answer};
    let server = Server::start("v2compat", &["-tls1", "-cipher", "DEFAULT:@SECLEVEL=0"]);
    let hello = Sslv2ClientHello::compatible(0x0301, &[0xc014, 0x0035, 0x002f, 0x00ff], [3; 32]);
    let answer = server.exchange_raw(&hello.encode(), |b| {
        let mut r = ServerFlightReader::new();
        !matches!(r.feed(b), Ok(Progress::NeedMore))
    });
    assert!(matches!(
        parse_sslv2_answer(&answer),
        Ok(Some(Sslv2Answer::TlsRecord(_)))
    ));
    let mut reader = ServerFlightReader::new();
    assert_eq!(
        reader.feed(&answer),
        Ok(Progress::Complete(FlightEnd::HelloDone))
    );
    let hello = reader.flight().server_hello.as_ref().unwrap();
    assert_eq!(hello.version, TlsVersion::TLS10);
}

#[test]
fn openssl3_does_not_speak_sslv2() {
    use mailwarden_tls::{Sslv2Answer, Sslv2ClientHello, parse_sslv2_answer};
    let server = Server::start("v2", &["-cipher", "ALL:@SECLEVEL=0"]);
    let answer = server.exchange_raw(&Sslv2ClientHello::sslv2([5; 16]).encode(), |b| {
        !matches!(parse_sslv2_answer(b), Ok(None))
    });
    // OpenSSL 3 either closes or answers with a TLS alert: never SERVER-HELLO.
    match parse_sslv2_answer(&answer) {
        Ok(None) | Ok(Some(Sslv2Answer::TlsRecord(_))) => {}
        other => panic!("{other:?} from {answer:02x?}"),
    }
}

/// Every suite the local OpenSSL knows is in the registry under the same
/// OpenSSL name.
#[test]
fn registry_agrees_with_openssl_ciphers() {
    let out = Command::new("openssl")
        .args(["ciphers", "-V", "ALL:COMPLEMENTOFALL:@SECLEVEL=0"])
        .output()
        .expect("openssl ciphers");
    let text = String::from_utf8(out.stdout).unwrap();
    let mut checked = 0;
    for line in text.lines() {
        // "          0x13,0x02 - TLS_AES_256_GCM_SHA384  TLSv1.3 Kx=any ..."
        let mut words = line.split_whitespace();
        let (Some(code), Some("-"), Some(name)) = (words.next(), words.next(), words.next()) else {
            continue;
        };
        let hex: String = code
            .split(',')
            .map(|b| b.trim_start_matches("0x"))
            .collect();
        let code = u16::from_str_radix(&hex, 16).unwrap();
        let suite = mailwarden_tls::suite(code).unwrap_or_else(|| panic!("0x{code:04x} {name}"));
        assert_eq!(suite.openssl_name, Some(name), "0x{code:04x}");
        checked += 1;
    }
    assert!(checked > 100, "only {checked} suites from openssl ciphers");
}
