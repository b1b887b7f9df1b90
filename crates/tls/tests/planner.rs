//! The enumeration planner through its public API: every hello it emits
//! is well-formed and round-trips, and captured server flights — whole, in
//! every truncation, or garbage — never make it panic or loop.

mod common;

use common::{FIXTURES, fixture};
use mailwarden_model::{Failure, FailureKind, SupportStatus, TlsScanMode, TlsVersion};
use mailwarden_tls::scan::{Answer, Planner, ProbeRequest, ScanConfig, Send, TlsAnswer};
use mailwarden_tls::{ClientHello, ServerFlightReader, Sslv2ClientHello};

/// The answer a driver would build from `bytes` followed by a close.
fn answer_from(bytes: &[u8]) -> Answer {
    let mut reader = ServerFlightReader::new();
    let progress = reader.feed(bytes);
    let error = progress.as_ref().err().cloned();
    let complete = matches!(progress, Ok(mailwarden_tls::Progress::Complete(_)));
    Answer::Tls(Box::new(TlsAnswer {
        flight: reader.into_flight(),
        error,
        ended: (!complete).then(|| Failure::new(FailureKind::ClosedByPeer, "closed")),
        heartbeat: None,
    }))
}

fn check_hello(req: &ProbeRequest) {
    match &req.send {
        Send::Hello(bytes) | Send::Heartbleed(bytes) => {
            let hello =
                ClientHello::parse(bytes).unwrap_or_else(|e| panic!("{}: {e}", req.purpose));
            assert_eq!(hello.to_spec().encode(), *bytes, "{}", req.purpose);
            assert!(
                bytes.len() < 16 * 1024,
                "{}: {} bytes",
                req.purpose,
                bytes.len()
            );
            assert!(!hello.suites.is_empty(), "{}", req.purpose);
            assert_eq!(
                hello.server_name().as_deref(),
                Some("mx.example.org").filter(|_| { hello.record_version != 0x0300 })
            );
        }
        Send::Sslv2(bytes) => {
            Sslv2ClientHello::parse(bytes).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

/// Runs a scan in which every probe gets `answer(probe)`; returns the probes.
fn drive(mode: TlsScanMode, answer: impl Fn(&ProbeRequest) -> Answer) -> (Planner, usize) {
    let mut planner = Planner::new(ScanConfig::new(mode, Some("mx.example.org")));
    let mut probes = 0;
    for _ in 0..2000 {
        let batch = planner.poll();
        if batch.is_empty() && planner.is_done() {
            return (planner, probes);
        }
        for req in batch {
            check_hello(&req);
            probes += 1;
            let a = answer(&req);
            planner.answer(req.id, a);
        }
    }
    panic!("the planner did not finish");
}

#[test]
fn every_captured_flight_and_every_truncation_is_handled() {
    for name in FIXTURES {
        let bytes = fixture(name);
        for cut in 0..=bytes.len() {
            let part = &bytes[..cut];
            // Quick mode for every truncation, full mode for a sample (same code paths).
            let modes: &[TlsScanMode] = if cut % 16 == 0 || cut == bytes.len() {
                &[TlsScanMode::Full, TlsScanMode::Quick]
            } else {
                &[TlsScanMode::Quick]
            };
            for &mode in modes {
                let (planner, probes) = drive(mode, |_| answer_from(part));
                // The same answer to every question cannot keep an enumeration going.
                assert!(probes < 60, "{name} cut at {cut}: {probes} probes");
                let scan = planner.finish().scan;
                assert_eq!(scan.versions.len(), 6);
            }
        }
    }
}

#[test]
fn a_tls12_flight_for_every_hello_finds_tls12_and_stops() {
    let flight = fixture("tls12-ecdhe-rsa.hex");
    let (planner, _) = drive(TlsScanMode::Full, |req| match &req.send {
        Send::Hello(b) if ClientHello::parse(b).is_ok_and(|h| h.suites.contains(&0xc030)) => {
            answer_from(&flight)
        }
        _ => answer_from(&fixture("handshake-failure.hex")),
    });
    let scan = planner.finish().scan;
    let tls12 = scan.version(TlsVersion::TLS12).unwrap();
    assert_eq!(tls12.status, SupportStatus::Accepted);
    assert_eq!(tls12.suites.first().map(|s| s.id.code), Some(0xc030));
    assert_eq!(
        tls12.suites[0].ecdh_group.as_ref().map(|g| g.code),
        Some(0x001d)
    );
    assert!(scan.features.secure_renegotiation == Some(true));
}

#[test]
fn garbage_and_silence_are_not_refusals() {
    for bytes in [&b"220 mx.example.org ESMTP\r\n"[..], &[], &[0x16, 0x03]] {
        let (planner, _) = drive(TlsScanMode::Quick, |_| answer_from(bytes));
        let scan = planner.finish().scan;
        for v in &scan.versions {
            assert_ne!(
                v.status,
                SupportStatus::Accepted,
                "{:?}: {}",
                bytes,
                v.version
            );
        }
    }
    let (planner, _) = drive(TlsScanMode::Full, |_| {
        Answer::NotSent(Failure::new(FailureKind::IoTimeout, "no reply"))
    });
    for v in planner.finish().scan.versions {
        assert_eq!(v.status, SupportStatus::Error, "{}", v.version);
    }
}
