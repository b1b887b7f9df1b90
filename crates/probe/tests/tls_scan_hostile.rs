//! The TLS enumeration against servers that misbehave on purpose: a proxy
//! in front of the real Postfix MX that answers every fourth connection
//! with `421` (the scan must retry, not conclude "not supported"), and a
//! fake server whose heartbeat handling leaks memory (the scan must say so
//! and never keep the bytes).

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{runtime, testbed};
use mailwarden_model::{
    Attempt, EndpointObservation, HeartbleedOutcome, ServiceRole, SupportStatus, TlsScan,
    TlsScanMode, TlsVersion,
};
use mailwarden_probe::{ConnectPolicy, EndpointSpec, ProbeConfig, Prober, TlsSettings};

fn probe(address: SocketAddr, role: ServiceRole, mode: TlsScanMode) -> EndpointObservation {
    let anchors = mailwarden_cert::TrustAnchors::mozilla()
        .with_ca_file(testbed().ca_file())
        .expect("test CA loads");
    let config = ProbeConfig {
        timeout: Duration::from_secs(5),
        throttle_retries: 4,
        throttle_backoff: Duration::from_millis(20),
        tls_scan: Some(mode),
        legacy_hello: true,
        connect: ConnectPolicy {
            per_host_interval: Duration::from_millis(2),
            ..ConnectPolicy::default()
        },
        ..ProbeConfig::default()
    };
    let prober = Arc::new(Prober::new(config, TlsSettings::new(anchors)));
    let spec = EndpointSpec {
        target: address.to_string(),
        address,
        role: Some(role),
        check_name: "mail.test".to_owned(),
    };
    runtime().block_on(async move { prober.probe(&spec).await })
}

fn completed(obs: &EndpointObservation) -> &TlsScan {
    match &obs.tls_scan {
        Some(Attempt::Completed { value }) => value,
        other => panic!("no TLS scan: {other:?}"),
    }
}

/// Accepts connections on 127.0.0.1:0 and hands each to `serve` on its own thread.
fn serve(serve: impl Fn(TcpStream, usize) + Send + Sync + 'static) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let serve = Arc::new(serve);
    let count = Arc::new(AtomicUsize::new(0));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let n = count.fetch_add(1, Ordering::SeqCst);
            let serve = serve.clone();
            std::thread::spawn(move || serve(stream, n));
        }
    });
    addr
}

/// Copies bytes one way until either side closes.
fn pump(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = [0u8; 16 * 1024];
    while let Ok(n) = from.read(&mut buf) {
        if n == 0 || to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Both);
}

#[test]
fn a_server_that_throttles_every_fourth_connection_is_retried_not_misjudged() {
    let upstream = testbed().endpoint("smtp-mx");
    let proxy = serve(move |mut client, n| {
        if n % 4 == 3 {
            let _ = client.write_all(b"421 4.7.0 mail.test Too many connections, try later\r\n");
            return;
        }
        let Ok(server) = TcpStream::connect(upstream) else {
            return;
        };
        let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
        std::thread::spawn(move || pump(c2, server));
        pump(s2, client);
    });
    let direct = probe(upstream, ServiceRole::Smtp, TlsScanMode::Quick);
    let throttled = probe(proxy, ServiceRole::Smtp, TlsScanMode::Quick);
    let (a, b) = (completed(&direct), completed(&throttled));
    for v in &a.versions {
        let other = b.version(v.version).unwrap();
        assert_eq!(other.status, v.status, "{}", v.version);
        assert_ne!(other.status, SupportStatus::Throttled);
    }
    assert!(!throttled.throttling.is_empty(), "the 421s are recorded");
    assert!(
        b.connections > b.probes,
        "retries cost connections: {} vs {}",
        b.connections,
        b.probes
    );
    assert_eq!(a.connections, a.probes);
}

/// A ServerHello (TLS 1.2, ECDHE-RSA-AES128-GCM-SHA256, heartbeat and
/// renegotiation_info acknowledged) and ServerHelloDone, in one record.
fn fake_flight() -> Vec<u8> {
    let mut body = vec![3, 3];
    body.extend_from_slice(&[0x42; 32]);
    body.extend_from_slice(&[0, 0xc0, 0x2f, 0]);
    let exts = [0x00, 0x0f, 0x00, 0x01, 0x01, 0xff, 0x01, 0x00, 0x01, 0x00];
    body.extend_from_slice(&(exts.len() as u16).to_be_bytes());
    body.extend_from_slice(&exts);
    let mut handshake = vec![2, 0, 0, body.len() as u8];
    handshake.extend_from_slice(&body);
    handshake.extend_from_slice(&[14, 0, 0, 0]);
    let mut record = vec![22, 3, 3];
    record.extend_from_slice(&(handshake.len() as u16).to_be_bytes());
    record.extend_from_slice(&handshake);
    record
}

/// What a vulnerable OpenSSL returns for a heartbeat claiming 16 KiB:
/// 16 KiB of "memory" (here: the letter L) and padding, in two records.
fn leak() -> Vec<u8> {
    let mut message = vec![2, 0x40, 0x00];
    message.extend(std::iter::repeat_n(b'L', 0x4000));
    message.extend([0u8; 16]);
    let mut out = Vec::new();
    for chunk in message.chunks(0x4000) {
        out.extend_from_slice(&[24, 3, 3]);
        out.extend_from_slice(&(chunk.len() as u16).to_be_bytes());
        out.extend_from_slice(chunk);
    }
    out
}

#[test]
fn a_heartbleed_server_is_reported_and_its_memory_never_kept() {
    let addr = serve(|mut stream, _| {
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let mut buf = [0u8; 4096];
        match stream.read(&mut buf) {
            Ok(n) if n > 0 && buf[0] == 22 => {}
            _ => return,
        }
        if stream.write_all(&fake_flight()).is_err() {
            return;
        }
        if let Ok(n) = stream.read(&mut buf)
            && n > 0
            && buf[0] == 24
        {
            let _ = stream.write_all(&leak());
        }
    });
    let obs = probe(addr, ServiceRole::Submissions, TlsScanMode::Quick);
    let scan = completed(&obs);
    assert_eq!(
        scan.version(TlsVersion::TLS12).unwrap().status,
        SupportStatus::Accepted
    );
    assert_eq!(scan.features.heartbeat, Some(true));
    let check = scan.features.heartbleed.as_ref().unwrap();
    assert_eq!(check.outcome, HeartbleedOutcome::Vulnerable, "{check:?}");
    assert_eq!(check.echoed_bytes, 0x4000);
    let json = serde_json::to_string(&obs).unwrap();
    assert!(
        !json.contains("LLLLLLLL"),
        "leaked bytes in the observation"
    );
}
