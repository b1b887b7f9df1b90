//! The planner against simulated servers: the enumerated sets equal the
//! configured ones, with the probe counts the plan promises.

use mailwarden_model::{
    CipherOrder, FallbackOutcome, HeartbleedOutcome, SupportStatus, TlsScan, TlsScanMode,
    TlsVersion,
};

use super::sim::SimServer;
use super::*;

/// Runs a whole scan against `server`, answering every batch of probes.
fn run(server: &SimServer, mode: TlsScanMode) -> (TlsScan, Vec<String>) {
    let mut planner = Planner::new(ScanConfig::new(mode, Some("mail.example.test")));
    let mut log = Vec::new();
    for _ in 0..10_000 {
        let batch = planner.poll();
        if batch.is_empty() && planner.is_done() {
            break;
        }
        for req in batch {
            log.push(req.purpose.clone());
            planner.answer(req.id, server.answer(&req));
        }
    }
    assert!(planner.is_done(), "the planner did not finish: {log:#?}");
    let probes = planner.probes();
    let scan = planner.finish().scan;
    assert_eq!(scan.probes, probes);
    assert_eq!(probes as usize, log.len());
    (scan, log)
}

fn status(scan: &TlsScan, v: TlsVersion) -> SupportStatus {
    scan.version(v).unwrap().status
}

fn codes(scan: &TlsScan, v: TlsVersion) -> Vec<u16> {
    scan.version(v)
        .unwrap()
        .suites
        .iter()
        .map(|s| s.id.code)
        .collect()
}

fn group_codes(scan: &TlsScan, v: TlsVersion) -> Vec<u16> {
    let groups = scan.version(v).unwrap().groups.as_ref().unwrap();
    groups.groups.iter().map(|g| g.code).collect()
}

fn sorted(mut v: Vec<u16>) -> Vec<u16> {
    v.sort_unstable();
    v
}

#[test]
fn full_scan_of_a_modern_server_finds_exactly_its_configuration() {
    let server = SimServer::modern();
    let (scan, log) = run(&server, TlsScanMode::Full);
    let tls12 = scan.version(TlsVersion::TLS12).unwrap();
    assert_eq!(tls12.status, SupportStatus::Accepted);
    assert!(tls12.suites_complete);
    // Server order: the suites come out in the server's preference order.
    assert_eq!(codes(&scan, TlsVersion::TLS12), server.suites);
    assert_eq!(tls12.server_order, Some(CipherOrder::Server));
    assert_eq!(codes(&scan, TlsVersion::TLS13), server.tls13_suites);
    assert_eq!(group_codes(&scan, TlsVersion::TLS13), server.tls13_groups);
    assert_eq!(group_codes(&scan, TlsVersion::TLS12), server.curves);
    for v in [
        TlsVersion::TLS11,
        TlsVersion::TLS10,
        TlsVersion::SSL3,
        TlsVersion::SSL2,
    ] {
        assert_eq!(status(&scan, v), SupportStatus::Refused, "{v}");
    }
    assert!(
        scan.version(TlsVersion::SSL3)
            .unwrap()
            .detail
            .as_deref()
            .unwrap()
            .starts_with("inferred")
    );
    // DH size and curve from ServerKeyExchange.
    let dhe = tls12.suites.iter().find(|s| s.id.code == 0x009f).unwrap();
    assert_eq!(dhe.dh_bits, Some(2048));
    let ecdhe = tls12.suites.iter().find(|s| s.id.code == 0xc02f).unwrap();
    assert_eq!(ecdhe.ecdh_group.as_ref().unwrap().code, 0x001d);
    // Both certificates, at both versions.
    let keys: Vec<(&str, &[TlsVersion])> = scan
        .certificate_keys
        .iter()
        .map(|k| (k.key_type.as_str(), k.versions.as_slice()))
        .collect();
    assert_eq!(
        keys,
        vec![
            ("ecdsa", &[TlsVersion::TLS12, TlsVersion::TLS13][..]),
            ("rsa", &[TlsVersion::TLS12, TlsVersion::TLS13][..])
        ]
    );
    let f = &scan.features;
    assert_eq!(f.secure_renegotiation, Some(true));
    assert_eq!(f.extended_master_secret, Some(true));
    assert_eq!(f.heartbeat, Some(false));
    assert_eq!(f.heartbleed, None);
    assert_eq!(f.compression, Some(false));
    assert_eq!(f.encrypt_then_mac, Some(true), "0xc018 is CBC");
    let fallback = f.fallback_scsv.as_ref().unwrap();
    assert_eq!(fallback.outcome, FallbackOutcome::Refused);
    assert_eq!(fallback.offered_version, TlsVersion::TLS12);

    // The probe count the plan promises:
    let (ns, ng) = (server.suites.len(), server.tls13_groups.len());
    let legacy = ns + 1 // accepted + 1, the first made by the descent
        + 1 // TLS 1.1 and below: protocol_version settles them all
        + 1 // reverse order
        // The server's own first curve shows in the suites' answers; the
        // curves task asks for the others, + 1.
        + (server.curves.len() - 1) + 1;
    let tls13 = 3 // suite and group at once
        + 1 // refused: which list is exhausted?
        // The other groups (the suites not chosen yet offered first: a group
        // chosen with a known suite says the suites ran out) + 1.
        + (ng - 3) + 1
        // ECDSA-only and RSA-only signature algorithms, the ECDSA one with
        // the suites in reverse (server order).
        + 2;
    let others = 1 /* SSLv2 */ + 1 /* fallback SCSV */;
    assert_eq!(log.len(), legacy + tls13 + others, "{log:#?}");
}

#[test]
fn a_client_order_server_is_seen_as_such() {
    let server = SimServer {
        server_order: false,
        ..SimServer::modern()
    };
    let (scan, log) = run(&server, TlsScanMode::Full);
    let tls12 = scan.version(TlsVersion::TLS12).unwrap();
    assert_eq!(tls12.server_order, Some(CipherOrder::Client));
    // The suite probes showed the curves (seven ECDHE suites for five
    // curves, lanes asking at once): the curves task had at most one left
    // to find before hearing that nothing else is accepted.
    assert_eq!(
        sorted(group_codes(&scan, TlsVersion::TLS12)),
        sorted(server.curves.clone())
    );
    assert!(tls12.groups.as_ref().unwrap().complete);
    let curve_probes: Vec<&String> = log.iter().filter(|p| p.contains("ECDHE curves")).collect();
    assert!(curve_probes.len() <= 2, "{curve_probes:#?}");
    // The order came with the first suites probe (the descent's suite
    // offered last, passed over), not from a probe of its own.
    assert!(
        !log.iter().any(|p| p.starts_with("TLSv1.2 server order")),
        "{log:#?}"
    );
    assert_eq!(
        sorted(codes(&scan, TlsVersion::TLS12)),
        sorted(server.suites.clone())
    );
    assert_eq!(
        scan.version(TlsVersion::TLS13).unwrap().server_order,
        Some(CipherOrder::Client)
    );
    assert_eq!(
        sorted(group_codes(&scan, TlsVersion::TLS13)),
        sorted(server.tls13_groups)
    );
}

#[test]
fn a_tls10_only_server() {
    let server = SimServer {
        legacy_versions: vec![TlsVersion::TLS10],
        suites: vec![0xc014, 0xc013, 0x0039, 0x0035, 0x002f, 0x000a],
        tls13_suites: Vec::new(),
        fallback_scsv: true,
        ..SimServer::modern()
    };
    let (scan, log) = run(&server, TlsScanMode::Full);
    assert_eq!(status(&scan, TlsVersion::TLS10), SupportStatus::Accepted);
    assert_eq!(codes(&scan, TlsVersion::TLS10), server.suites);
    let tls12 = scan.version(TlsVersion::TLS12).unwrap();
    assert_eq!(tls12.status, SupportStatus::Refused);
    assert_eq!(
        tls12.detail.as_deref(),
        Some("answered TLSv1.0 to a hello offering up to TLSv1.2")
    );
    assert_eq!(status(&scan, TlsVersion::TLS11), SupportStatus::Refused);
    assert_eq!(status(&scan, TlsVersion::SSL3), SupportStatus::Refused);
    assert_eq!(status(&scan, TlsVersion::TLS13), SupportStatus::Refused);
    // One version: no fallback to test.
    assert_eq!(scan.features.fallback_scsv, None);
    let dhe = scan
        .version(TlsVersion::TLS10)
        .unwrap()
        .suites
        .iter()
        .find(|s| s.id.code == 0x0039)
        .unwrap();
    assert_eq!(dhe.dh_bits, Some(2048));
    assert!(
        log.len() <= server.suites.len() + 1 + 1 + 1 + 6 + 1 + 2,
        "{log:#?}"
    );
}

#[test]
fn legacy_versions_each_get_their_suites_and_a_fallback_probe() {
    let server = SimServer {
        legacy_versions: vec![TlsVersion::TLS10, TlsVersion::TLS11, TlsVersion::TLS12],
        fallback_scsv: false,
        ..SimServer::modern()
    };
    let (scan, _) = run(&server, TlsScanMode::Full);
    // GCM and ChaCha20 suites need TLS 1.2.
    let cbc: Vec<u16> = vec![0xc018, 0x0034];
    assert_eq!(codes(&scan, TlsVersion::TLS11), cbc);
    assert_eq!(codes(&scan, TlsVersion::TLS10), cbc);
    assert_eq!(codes(&scan, TlsVersion::TLS12), server.suites);
    assert_eq!(status(&scan, TlsVersion::SSL3), SupportStatus::Refused);
    let fallback = scan.features.fallback_scsv.unwrap();
    assert_eq!(fallback.outcome, FallbackOutcome::Accepted);
    assert_eq!(fallback.offered_version, TlsVersion::TLS12);
}

#[test]
fn quick_mode_answers_the_weak_class_questions_in_a_handful_of_probes() {
    let server = SimServer {
        legacy_versions: vec![TlsVersion::TLS10, TlsVersion::TLS12],
        suites: vec![0xc02f, 0x009e, 0x002f, 0x000a, 0x0005, 0x0034, 0xc02b],
        heartbeat: true,
        ..SimServer::modern()
    };
    let (scan, log) = run(&server, TlsScanMode::Quick);
    let found: Vec<u16> = scan.accepted_suites().map(|(_, s)| s.id.code).collect();
    for weak in [0x002f_u16, 0x000a, 0x0005, 0x0034] {
        // Each weak class is answered by some suite of that class.
        let classes = WeakClass::of(weak);
        assert!(
            classes
                .iter()
                .all(|c| found.iter().any(|&f| WeakClass::of(f).contains(c))),
            "{weak:04x}: {found:04x?}"
        );
    }
    assert!(!scan.version(TlsVersion::TLS12).unwrap().suites_complete);
    assert_eq!(status(&scan, TlsVersion::TLS11), SupportStatus::Refused);
    assert_eq!(status(&scan, TlsVersion::TLS10), SupportStatus::Accepted);
    assert_eq!(status(&scan, TlsVersion::TLS13), SupportStatus::Accepted);
    let dh = scan.accepted_suites().find_map(|(_, s)| s.dh_bits);
    assert_eq!(dh, Some(2048));
    assert_eq!(
        scan.features.heartbleed.as_ref().unwrap().outcome,
        HeartbleedOutcome::NotVulnerable
    );
    assert!(log.len() <= 14, "{} probes: {log:#?}", log.len());
}

#[test]
fn heartbleed_is_found_and_only_counted() {
    let server = SimServer {
        heartbeat: true,
        heartbleed: true,
        ..SimServer::modern()
    };
    let (scan, _) = run(&server, TlsScanMode::Quick);
    let hb = scan.features.heartbleed.unwrap();
    assert_eq!(hb.outcome, HeartbleedOutcome::Vulnerable);
    assert_eq!(hb.echoed_bytes, 0x4000);
    assert_eq!(hb.requested_length, 0x4000);
    assert_eq!(scan.features.heartbeat, Some(true));
}

#[test]
fn a_server_that_chokes_on_long_hellos_is_asked_in_bundles() {
    let server = SimServer {
        max_suites: Some(130),
        ..SimServer::modern()
    };
    let (scan, _) = run(&server, TlsScanMode::Full);
    // Split by family after the decode_error: the order is the server's
    // within each family only.
    assert_eq!(
        sorted(codes(&scan, TlsVersion::TLS12)),
        sorted(server.suites.clone())
    );
    assert!(scan.version(TlsVersion::TLS12).unwrap().suites_complete);
    assert_eq!(status(&scan, TlsVersion::TLS11), SupportStatus::Refused);
}

#[test]
fn a_broken_dhe_family_does_not_hide_the_other_suites() {
    // Dovecot without ssl_dh: prefers DHE, fails when it chooses it, and
    // closes instead of sending alerts.
    let server = SimServer {
        suites: vec![0xc02c, 0x009f, 0xc030, 0x009e, 0xc02b, 0xc02f, 0xc013],
        broken_dhe: true,
        closes: true,
        ..SimServer::modern()
    };
    let (scan, log) = run(&server, TlsScanMode::Full);
    let tls12 = scan.version(TlsVersion::TLS12).unwrap();
    assert_eq!(
        sorted(codes(&scan, TlsVersion::TLS12)),
        sorted(vec![0xc02c, 0xc030, 0xc02b, 0xc02f, 0xc013])
    );
    assert!(tls12.suites_complete);
    // Fallback refused by a close is still a refusal.
    assert_eq!(
        scan.features.fallback_scsv.unwrap().outcome,
        FallbackOutcome::Refused
    );
    assert!(log.len() < 60, "{log:#?}");
}

#[test]
fn a_broken_dhe_preference_does_not_hide_an_older_version() {
    let server = SimServer {
        legacy_versions: vec![TlsVersion::TLS10, TlsVersion::TLS11, TlsVersion::TLS12],
        suites: vec![0xc030, 0x0039, 0xc013],
        broken_dhe: true,
        closes: true,
        ..SimServer::modern()
    };
    let (scan, _) = run(&server, TlsScanMode::Quick);
    assert_eq!(status(&scan, TlsVersion::TLS11), SupportStatus::Accepted);
    assert_eq!(status(&scan, TlsVersion::TLS10), SupportStatus::Accepted);
    assert_eq!(codes(&scan, TlsVersion::TLS11)[0], 0xc013);
    assert_eq!(
        scan.version(TlsVersion::SSL3).unwrap().detail.as_deref(),
        Some("connection closed after the ClientHello, also without DHE suites")
    );
}

#[test]
fn sslv2_is_one_probe() {
    let server = SimServer {
        sslv2: Some(vec![0x010080, 0x0700c0]),
        ..SimServer::modern()
    };
    let (scan, _) = run(&server, TlsScanMode::Quick);
    let v2 = scan.version(TlsVersion::SSL2).unwrap();
    assert_eq!(v2.status, SupportStatus::Accepted);
    let kinds: Vec<u32> = v2.sslv2_ciphers.iter().map(|c| c.code).collect();
    assert_eq!(kinds, vec![0x010080, 0x0700c0]);
    assert_eq!(
        v2.sslv2_ciphers[0].name.as_deref(),
        Some("SSL_CK_RC4_128_WITH_MD5")
    );
}

#[test]
fn throttling_is_never_a_refusal() {
    let server = SimServer {
        throttled: true,
        ..SimServer::modern()
    };
    let (scan, log) = run(&server, TlsScanMode::Full);
    for v in &scan.versions {
        assert_eq!(v.status, SupportStatus::Throttled, "{}", v.version);
    }
    // The descent and TLS 1.3 each repeat a throttled probe twice; SSLv2 once.
    assert!(log.len() <= 7, "{log:#?}");
}

#[test]
fn an_enumeration_resumes_where_throttling_stopped_it() {
    let server = SimServer {
        throttle_every: Some(4),
        ..SimServer::modern()
    };
    let (scan, _) = run(&server, TlsScanMode::Full);
    let reference = run(&SimServer::modern(), TlsScanMode::Full).0;
    for v in &reference.versions {
        let got = scan.version(v.version).unwrap();
        assert_eq!(got.status, v.status, "{}", v.version);
        assert_eq!(
            codes(&scan, v.version),
            codes(&reference, v.version),
            "{}",
            v.version
        );
    }
    assert!(scan.version(TlsVersion::TLS12).unwrap().suites_complete);
}

#[test]
fn a_tls13_only_server() {
    let server = SimServer {
        legacy_versions: Vec::new(),
        ..SimServer::modern()
    };
    let (scan, _) = run(&server, TlsScanMode::Full);
    assert_eq!(status(&scan, TlsVersion::TLS13), SupportStatus::Accepted);
    for v in [
        TlsVersion::TLS12,
        TlsVersion::TLS11,
        TlsVersion::TLS10,
        TlsVersion::SSL3,
    ] {
        assert_eq!(status(&scan, v), SupportStatus::Refused);
    }
    assert_eq!(scan.features.secure_renegotiation, None);
    assert_eq!(scan.features.fallback_scsv, None);
}

#[test]
fn nonsense_answers_end_every_task() {
    use crate::server_flight::ServerFlight;
    let answers = [
        Answer::flight(ServerFlight::default()),
        Answer::NotSent(mailwarden_model::Failure::new(
            mailwarden_model::FailureKind::IoTimeout,
            "slow",
        )),
        Answer::Sslv2 {
            answer: None,
            ended: None,
        },
    ];
    for (i, answer) in answers.iter().enumerate() {
        for mode in [TlsScanMode::Full, TlsScanMode::Quick] {
            let mut planner = Planner::new(ScanConfig::new(mode, None));
            for _ in 0..100 {
                let batch = planner.poll();
                if batch.is_empty() && planner.is_done() {
                    break;
                }
                for req in batch {
                    planner.answer(req.id, answer.clone());
                }
            }
            assert!(planner.is_done(), "answer {i}");
            assert!(
                planner.probes() <= 8,
                "answer {i}: {} probes",
                planner.probes()
            );
        }
    }
}

/// Runs a scan answering each batch of probes together, as a driver with
/// enough connections would: the number of rounds is the longest chain of
/// probes that wait for each other.
fn rounds(server: &SimServer, lanes: bool) -> (TlsScan, usize) {
    let mut config = ScanConfig::new(TlsScanMode::Full, Some("mail.example.test"));
    config.lanes = lanes;
    let mut planner = Planner::new(config);
    let mut rounds = 0;
    while !planner.is_done() {
        let batch = planner.poll();
        if batch.is_empty() {
            continue;
        }
        rounds += 1;
        for req in batch {
            planner.answer(req.id, server.answer(&req));
        }
        assert!(rounds < 1000);
    }
    (planner.finish().scan, rounds)
}

#[test]
fn a_client_order_server_is_asked_in_parallel_lanes() {
    let server = SimServer {
        server_order: false,
        suites: vec![
            0xc02c, 0xc030, 0xc02b, 0xc02f, 0xcca9, 0xcca8, 0xc024, 0xc028, 0xc023, 0xc027, 0xc00a,
            0xc014, 0xc009, 0xc013, 0x009f, 0x009e, 0xccaa, 0x006b, 0x0067, 0x0039, 0x0033, 0x009d,
            0x009c, 0x003d, 0x003c, 0x0035, 0x002f,
        ],
        ..SimServer::modern()
    };
    let (serial, serial_rounds) = rounds(&server, false);
    let (parallel, parallel_rounds) = rounds(&server, true);
    let tls12 = TlsVersion::TLS12;
    assert_eq!(
        codes(&parallel, tls12),
        codes(&serial, tls12),
        "same list, same order"
    );
    assert_eq!(
        sorted(codes(&parallel, tls12)),
        sorted(server.suites.clone())
    );
    assert!(parallel.version(tls12).unwrap().suites_complete);
    assert_eq!(
        parallel.version(tls12).unwrap().server_order,
        Some(CipherOrder::Client)
    );
    // The curves and the rest still come once the lanes are all done.
    assert_eq!(
        sorted(group_codes(&parallel, tls12)),
        sorted(server.curves.clone())
    );
    // Five legacy lanes (ECDHE-ECDSA, ECDHE-RSA, DHE, RSA, the rest) end
    // with four more refusals; TLS 1.3 is one chain either way.
    assert!(
        parallel.probes <= serial.probes + 4,
        "{} probes in lanes, {} in one chain",
        parallel.probes,
        serial.probes
    );
    assert!(
        parallel_rounds * 2 < serial_rounds,
        "{parallel_rounds} rounds in lanes, {serial_rounds} in one chain"
    );
}

#[test]
fn a_server_with_its_own_order_is_asked_in_one_chain() {
    let server = SimServer::modern();
    let (with, _) = rounds(&server, true);
    let (without, _) = rounds(&server, false);
    assert_eq!(with.probes, without.probes);
    assert_eq!(codes(&with, TlsVersion::TLS12), server.suites);
}

#[test]
fn a_client_order_server_that_closes_costs_one_probe_per_older_version() {
    // Dovecot without DH parameters: every refusal a bare close, DHE chosen
    // then dropped. Below TLS 1.2, DHE goes last; once the server is seen to
    // follow the client's order, a close needs no retry without DHE.
    let server = SimServer {
        server_order: false,
        suites: vec![0xc02f, 0xc030, 0x009e, 0x0039, 0xc013],
        broken_dhe: true,
        closes: true,
        ..SimServer::modern()
    };
    let (scan, log) = run(&server, TlsScanMode::Full);
    for v in ["TLSv1.1", "TLSv1.0", "SSLv3"] {
        let asked = log
            .iter()
            .filter(|p| p.starts_with(&format!("versions up to {v}:")))
            .count();
        assert_eq!(asked, 1, "{v}: {log:#?}");
    }
    for v in [TlsVersion::TLS11, TlsVersion::TLS10, TlsVersion::SSL3] {
        assert_eq!(status(&scan, v), SupportStatus::Refused, "{v}");
        let detail = scan.version(v).unwrap().detail.clone().unwrap();
        assert!(detail.contains("offered last"), "{v}: {detail}");
    }
    // The same server with TLS 1.1 too: found, with a suite other than DHE.
    let older = SimServer {
        legacy_versions: vec![TlsVersion::TLS11, TlsVersion::TLS12],
        ..server
    };
    let (scan, _) = run(&older, TlsScanMode::Full);
    assert_eq!(status(&scan, TlsVersion::TLS11), SupportStatus::Accepted);
    assert_eq!(status(&scan, TlsVersion::TLS10), SupportStatus::Refused);
}

#[test]
fn tls13_suites_outlast_a_single_group() {
    // One group, three suites: the second hello of both lists is refused
    // for want of a group; the suites are still all found.
    for server_order in [true, false] {
        let server = SimServer {
            server_order,
            tls13_groups: vec![0x001d],
            ..SimServer::modern()
        };
        let (scan, log) = run(&server, TlsScanMode::Full);
        assert_eq!(
            sorted(codes(&scan, TlsVersion::TLS13)),
            sorted(server.tls13_suites.clone()),
            "{log:#?}"
        );
        assert_eq!(group_codes(&scan, TlsVersion::TLS13), vec![0x001d]);
        let tls13 = scan.version(TlsVersion::TLS13).unwrap();
        assert!(tls13.suites_complete);
        assert!(tls13.groups.as_ref().unwrap().complete);
    }
}

#[test]
fn the_tls13_order_rides_with_a_key_type_probe() {
    // RSA only: the RSA probe carries the order (the legacy suites showed
    // no ECDSA key); the ECDSA probe is refused and asks nothing more.
    for server_order in [true, false] {
        let server = SimServer {
            server_order,
            ecdsa: false,
            suites: vec![0xc030, 0xc02f, 0x009f, 0x009e, 0x002f],
            ..SimServer::modern()
        };
        let (scan, log) = run(&server, TlsScanMode::Full);
        let expected = if server_order {
            CipherOrder::Server
        } else {
            CipherOrder::Client
        };
        let tls13 = scan.version(TlsVersion::TLS13).unwrap();
        assert_eq!(tls13.server_order, Some(expected), "{log:#?}");
        assert!(
            !log.iter()
                .any(|p| p == "TLSv1.3 server order: suites in reverse"),
            "{log:#?}"
        );
        let keys: Vec<&str> = scan
            .certificate_keys
            .iter()
            .map(|k| k.key_type.as_str())
            .collect();
        assert_eq!(keys, vec!["rsa"]);
    }
}
