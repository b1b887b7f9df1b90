//! The hostile fake servers misbehave exactly as documented.

mod common;

use std::time::Duration;

use mailwarden_testbed::hostile;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout};

/// Reads whatever arrives until `limit` bytes, EOF, or `window` elapses.
async fn read_for(stream: &mut TcpStream, window: Duration, limit: usize) -> (Vec<u8>, bool) {
    let deadline = Instant::now() + window;
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    while got.len() < limit {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (got, true),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => break,
        }
    }
    (got, false)
}

async fn read_line(stream: &mut TcpStream) -> String {
    let (got, _) = read_until(stream, b"\n").await;
    String::from_utf8_lossy(&got).into_owned()
}

async fn read_until(stream: &mut TcpStream, needle: &[u8]) -> (Vec<u8>, bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.windows(needle.len()).any(|w| w == needle) {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (got, true),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => panic!(
                "no {needle:?} within 10 s; got {:?}",
                String::from_utf8_lossy(&got)
            ),
        }
    }
    (got, false)
}

#[tokio::test]
async fn drip_sends_220_then_a_byte_per_second() {
    let server = hostile::spawn_drip().await;
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    let (got, closed) = read_for(&mut s, Duration::from_millis(3500), 1024).await;
    assert!(!closed);
    assert!(got.starts_with(b"220 "), "{got:?}");
    // Three or four more bytes in 3.5 s, never a line end.
    let extra = got.len() - 4;
    assert!(
        (2..=4).contains(&extra),
        "{} bytes after 220: {got:?}",
        extra
    );
    assert!(!got.contains(&b'\n'));
}

#[tokio::test]
async fn flood_answers_with_an_endless_multiline_reply() {
    let server = hostile::spawn_flood().await;
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    assert_eq!(read_line(&mut s).await, "220 flood.mail.test ESMTP\r\n");
    s.write_all(b"EHLO client.test\r\n").await.unwrap();
    let (got, closed) = read_for(&mut s, Duration::from_secs(20), 1 << 20).await;
    assert!(!closed && got.len() >= 1 << 20, "only {} bytes", got.len());
    let text = String::from_utf8(got).unwrap();
    assert!(
        text.lines().take(1000).all(|l| l.starts_with("250-")),
        "{}",
        &text[..200]
    );
}

#[tokio::test]
async fn garbage_sends_random_bytes_and_closes() {
    let server = hostile::spawn_garbage().await;
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    let (got, closed) = read_for(&mut s, Duration::from_secs(10), 1 << 20).await;
    assert!(closed);
    assert_eq!(got.len(), 4096);
    assert_eq!(got[0], 0xff);
    // Random, not a repeated byte.
    assert!(got.iter().filter(|&&b| b == got[1]).count() < 200);
}

#[tokio::test]
async fn fake_starttls_keeps_talking_plaintext() {
    let server = hostile::spawn_fake_starttls().await;
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    assert!(read_line(&mut s).await.starts_with("220 "));
    s.write_all(b"EHLO client.test\r\n").await.unwrap();
    let (ehlo, _) = read_until(&mut s, b"250 8BITMIME\r\n").await;
    assert!(String::from_utf8_lossy(&ehlo).contains("250-STARTTLS"));
    s.write_all(b"STARTTLS\r\n").await.unwrap();
    assert!(read_line(&mut s).await.starts_with("220 2.0.0"));
    // A ClientHello-looking record gets a plaintext SMTP error back.
    s.write_all(&[0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00])
        .await
        .unwrap();
    assert_eq!(
        read_line(&mut s).await,
        "500 5.5.2 Error: command not recognized\r\n"
    );

    // A real TLS client fails against it.
    let addr = server.addr;
    let out = tokio::task::spawn_blocking(move || {
        common::TlsProbe::run(addr, &["-starttls", "smtp"], "")
    })
    .await
    .unwrap();
    assert!(!out.handshake_completed(), "{}", out.output.all());
}

#[tokio::test]
async fn silent_never_speaks_nor_closes() {
    let server = hostile::spawn_silent().await;
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    let (got, closed) = read_for(&mut s, Duration::from_millis(1500), 1024).await;
    assert!(got.is_empty() && !closed);
    s.write_all(b"EHLO client.test\r\n").await.unwrap();
    let (got, closed) = read_for(&mut s, Duration::from_millis(500), 1024).await;
    assert!(got.is_empty() && !closed);
}

#[tokio::test]
async fn tls_bogus_length_claims_a_huge_record() {
    let server = hostile::spawn_tls_bogus_length().await;
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    // Nothing before the client speaks.
    let (got, _) = read_for(&mut s, Duration::from_millis(300), 16).await;
    assert!(got.is_empty());
    s.write_all(&[0x16, 0x03, 0x01, 0x00, 0x01, 0x01])
        .await
        .unwrap();
    let (got, closed) = read_for(&mut s, Duration::from_secs(2), 1024).await;
    assert!(!closed, "it must hang, not close");
    assert_eq!(&got[..5], &[0x16, 0x03, 0x03, 0xff, 0xff]);
    assert!(got.len() < 0xffff);
}

#[tokio::test]
async fn tls_bad_inner_length_sends_an_inconsistent_server_hello() {
    let server = hostile::spawn_tls_bad_inner_length().await;
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    s.write_all(&[0x16, 0x03, 0x01, 0x00, 0x01, 0x01])
        .await
        .unwrap();
    let (got, closed) = read_for(&mut s, Duration::from_secs(2), 1024).await;
    assert!(!closed);
    let record_len = usize::from(u16::from_be_bytes([got[3], got[4]]));
    assert_eq!(got.len(), 5 + record_len, "the record itself is complete");
    assert_eq!(got[5], 0x02, "ServerHello");
    let inner = usize::from(got[6]) << 16 | usize::from(got[7]) << 8 | usize::from(got[8]);
    assert!(
        inner > record_len - 4,
        "inner length {inner} fits the record"
    );
}

#[tokio::test]
async fn accept_then_close_closes_at_once() {
    let server = hostile::spawn_accept_then_close().await;
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    let (got, closed) = read_for(&mut s, Duration::from_secs(5), 1024).await;
    assert!(got.is_empty() && closed);
}

#[tokio::test]
async fn http_answers_smtp_with_an_http_error() {
    let server = hostile::spawn_http().await;
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    // No greeting: HTTP servers wait for the client.
    let (got, _) = read_for(&mut s, Duration::from_millis(500), 16).await;
    assert!(got.is_empty());
    s.write_all(b"EHLO client.test\r\n").await.unwrap();
    let (got, closed) = read_for(&mut s, Duration::from_secs(10), 1 << 16).await;
    assert!(closed);
    let text = String::from_utf8_lossy(&got);
    assert!(text.contains("400"), "{text}");

    let mut s = TcpStream::connect(server.addr).await.unwrap();
    s.write_all(b"GET / HTTP/1.0\r\n\r\n").await.unwrap();
    let (got, _) = read_for(&mut s, Duration::from_secs(10), 1 << 16).await;
    assert!(
        got.starts_with(b"HTTP/1."),
        "{}",
        String::from_utf8_lossy(&got)
    );
}

#[tokio::test]
async fn http_is_python_when_installed() {
    if !std::path::Path::new("/usr/bin/python3").exists() {
        return;
    }
    let server = hostile::spawn_http().await;
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    s.write_all(b"GET / HTTP/1.0\r\n\r\n").await.unwrap();
    let (got, _) = read_for(&mut s, Duration::from_secs(10), 1 << 16).await;
    assert!(String::from_utf8_lossy(&got).contains("Server: SimpleHTTP"));
}

#[tokio::test]
async fn closed_port_refuses() {
    let addr = hostile::closed_port();
    let err = TcpStream::connect(addr).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
}

#[tokio::test]
async fn dropping_a_server_ends_it_and_its_connections() {
    let server = hostile::spawn_drip().await;
    let addr = server.addr;
    let mut s = TcpStream::connect(addr).await.unwrap();
    let (got, _) = read_for(&mut s, Duration::from_millis(200), 4).await;
    assert_eq!(got, b"220 ");
    drop(server);
    // The open connection ends (EOF or reset) and the port refuses new ones.
    let ended = timeout(Duration::from_secs(5), async {
        let mut buf = [0u8; 64];
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the drip connection outlived its server");
    let deadline = Instant::now() + Duration::from_secs(5);
    while TcpStream::connect(addr).await.is_ok() {
        assert!(Instant::now() < deadline, "{addr} still accepts");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn dropping_the_http_server_kills_python() {
    let server = hostile::spawn_http().await;
    let addr = server.addr;
    drop(server);
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(addr).await.is_ok() {
        assert!(Instant::now() < deadline, "{addr} still accepts after drop");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
