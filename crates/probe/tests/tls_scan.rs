//! The TLS enumeration against real Postfix and Dovecot (the shared test
//! bed), each result cross-checked with `openssl s_client`: every suite we
//! found accepted must complete a handshake with OpenSSL offering only that
//! suite, and every suite OpenSSL knows that we found refused must fail.
//! Needs root, Postfix, Dovecot and the `openssl` command (Debian's 3.0).

mod common;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use common::{runtime, testbed};
use mailwarden_model::{
    Attempt, CipherOrder, EndpointObservation, FallbackOutcome, ServiceRole, SupportStatus,
    TlsScan, TlsScanMode, TlsVersion,
};
use mailwarden_probe::{ConnectPolicy, EndpointSpec, ProbeConfig, Prober, TlsSettings};

fn prober(mode: TlsScanMode) -> Arc<Prober> {
    let anchors = mailwarden_cert::TrustAnchors::mozilla()
        .with_ca_file(testbed().ca_file())
        .expect("test CA loads");
    let config = ProbeConfig {
        timeout: Duration::from_secs(10),
        throttle_retries: 3,
        throttle_backoff: Duration::from_millis(50),
        tls_scan: Some(mode),
        connect: ConnectPolicy {
            per_host_interval: Duration::from_millis(2),
            ..ConnectPolicy::default()
        },
        ..ProbeConfig::default()
    };
    Arc::new(Prober::new(config, TlsSettings::new(anchors)))
}

fn scan_at(address: SocketAddr, role: ServiceRole, mode: TlsScanMode) -> EndpointObservation {
    let spec = EndpointSpec {
        target: address.to_string(),
        address,
        role: Some(role),
        check_name: "mail.test".to_owned(),
    };
    let prober = prober(mode);
    runtime().block_on(async move { prober.probe(&spec).await })
}

fn scan_of(name: &str, role: ServiceRole, mode: TlsScanMode) -> (EndpointObservation, TlsScan) {
    let obs = scan_at(testbed().endpoint(name), role, mode);
    let scan = match &obs.tls_scan {
        Some(Attempt::Completed { value }) => value.clone(),
        other => panic!("{name}: no TLS scan: {other:?}"),
    };
    (obs, scan)
}

fn status(scan: &TlsScan, v: TlsVersion) -> SupportStatus {
    scan.version(v)
        .map_or(SupportStatus::NotTested, |v| v.status)
}

fn suite_names(scan: &TlsScan, v: TlsVersion) -> BTreeSet<String> {
    scan.version(v)
        .map(|v| v.suites.iter().map(|s| s.id.to_string()).collect())
        .unwrap_or_default()
}

/// How `openssl s_client` reaches TLS on an endpoint.
#[derive(Clone, Copy)]
enum Start {
    Implicit,
    Starttls(&'static str),
}

/// The suite OpenSSL negotiated offering only `what`, or `None` when the
/// handshake failed. `what` is `-cipher NAME` for TLS 1.2 and older,
/// `-ciphersuites NAME` for TLS 1.3.
fn openssl(addr: SocketAddr, start: Start, version_flag: &str, what: &[&str]) -> Option<String> {
    let mut cmd = Command::new("timeout");
    cmd.args(["20", "openssl", "s_client", "-brief", "-connect"])
        .arg(addr.to_string())
        .args(["-servername", "mail.test", version_flag])
        .args(what);
    if let Start::Starttls(proto) = start {
        cmd.args(["-starttls", proto]);
    }
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .expect("the openssl command is needed for this test");
    let text =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    if !text.contains("CONNECTION ESTABLISHED") {
        return None;
    }
    text.lines()
        .find_map(|l| l.strip_prefix("Ciphersuite: "))
        .map(|s| s.trim().to_owned())
}

/// Runs `check` over `items` on a few threads.
fn parallel<T: Sync, R: Send>(items: &[T], check: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let check = &check;
    std::thread::scope(|s| {
        items
            .chunks(items.len().div_ceil(6).max(1))
            .map(|chunk| s.spawn(move || chunk.iter().map(check).collect::<Vec<R>>()))
            .collect::<Vec<_>>()
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    })
}

/// Every TLS 1.2-or-older suite OpenSSL can offer, by OpenSSL name.
fn openssl_legacy_suites() -> Vec<String> {
    let out = Command::new("openssl")
        .args(["ciphers", "-tls1_2", "ALL:COMPLEMENTOFALL:@SECLEVEL=0"])
        .output()
        .expect("openssl ciphers");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .split(':')
        .map(str::to_owned)
        .collect()
}

/// OpenSSL's verdict on every suite it knows at `version`, as IANA names
/// (our naming), compared with what the enumeration found.
fn cross_check(name: &str, start: Start, version: TlsVersion, scan: &TlsScan) {
    let addr = testbed().endpoint(name);
    let found = suite_names(scan, version);
    let (flag, list): (&str, Vec<String>) = if version == TlsVersion::TLS13 {
        let tls13 = [
            "TLS_AES_128_GCM_SHA256",
            "TLS_AES_256_GCM_SHA384",
            "TLS_CHACHA20_POLY1305_SHA256",
            "TLS_AES_128_CCM_SHA256",
            "TLS_AES_128_CCM_8_SHA256",
        ];
        ("-tls1_3", tls13.iter().map(|s| (*s).to_owned()).collect())
    } else {
        let flag = match version {
            TlsVersion::TLS12 => "-tls1_2",
            TlsVersion::TLS11 => "-tls1_1",
            _ => "-tls1",
        };
        (flag, openssl_legacy_suites())
    };
    let verdicts = parallel(&list, |ossl| {
        let args: Vec<String> = if version == TlsVersion::TLS13 {
            vec!["-ciphersuites".into(), ossl.clone()]
        } else {
            vec!["-cipher".into(), format!("{ossl}:@SECLEVEL=0")]
        };
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let negotiated = openssl(addr, start, flag, &args);
        (ossl.clone(), negotiated)
    });
    let mut confirmed = BTreeSet::new();
    for (ossl, negotiated) in verdicts {
        let iana = mailwarden_tls::suite_by_name(&ossl)
            .map(|s| s.name.to_owned())
            .unwrap_or_else(|| panic!("{ossl} is not in the registry"));
        if let Some(n) = negotiated {
            assert_eq!(n, ossl, "{name}: offered only {ossl}, OpenSSL got {n}");
            confirmed.insert(iana);
        }
    }
    // Suites OpenSSL cannot offer (ARIA-CCM, GOST, ...) are not checked.
    let known: BTreeSet<String> = list
        .iter()
        .filter_map(|o| mailwarden_tls::suite_by_name(o).map(|s| s.name.to_owned()))
        .collect();
    let found_known: BTreeSet<String> = found.intersection(&known).cloned().collect();
    assert_eq!(
        found_known, confirmed,
        "{name} {version}: enumeration and openssl s_client disagree"
    );
    assert!(!confirmed.is_empty() || found.is_empty());
}

#[test]
fn postfix_mx_full_enumeration_equals_what_openssl_confirms() {
    let (obs, scan) = scan_of("smtp-mx", ServiceRole::Smtp, TlsScanMode::Full);
    assert_eq!(status(&scan, TlsVersion::TLS12), SupportStatus::Accepted);
    assert_eq!(status(&scan, TlsVersion::TLS13), SupportStatus::Accepted);
    for v in [
        TlsVersion::SSL2,
        TlsVersion::SSL3,
        TlsVersion::TLS10,
        TlsVersion::TLS11,
    ] {
        assert_eq!(status(&scan, v), SupportStatus::Refused, "{v}");
    }
    let tls12 = scan.version(TlsVersion::TLS12).unwrap();
    assert!(tls12.suites_complete);
    // Postfix follows the client's order unless tls_preempt_cipherlist = yes.
    assert_eq!(tls12.server_order, Some(CipherOrder::Client));
    // Postfix's opportunistic TLS: anonymous suites on port 25.
    assert!(
        tls12.suites.iter().any(|s| s.auth == "NULL"),
        "no aNULL suite"
    );
    cross_check("smtp-mx", Start::Starttls("smtp"), TlsVersion::TLS12, &scan);
    cross_check("smtp-mx", Start::Starttls("smtp"), TlsVersion::TLS13, &scan);
    // Both certificates (ECDSA P-256 and RSA 2048), at both versions.
    let keys: Vec<&str> = scan
        .certificate_keys
        .iter()
        .map(|k| k.key_type.as_str())
        .collect();
    assert_eq!(keys, ["ecdsa", "rsa"]);
    assert!(
        scan.certificate_keys
            .iter()
            .all(|k| k.versions.contains(&TlsVersion::TLS13))
    );
    let f = &scan.features;
    assert_eq!(f.secure_renegotiation, Some(true));
    assert_eq!(f.compression, Some(false));
    assert_eq!(f.heartbeat, Some(false));
    assert_eq!(
        f.fallback_scsv.as_ref().unwrap().outcome,
        FallbackOutcome::Refused
    );
    // The modern handshake's version is marked as proven by a handshake.
    let proven = scan
        .versions
        .iter()
        .filter(|v| v.proof == Some(mailwarden_model::Proof::Handshake));
    assert_eq!(proven.count(), 1);
    // Every connection was a probe (no throttling), and the endpoint's
    // total includes them.
    assert_eq!(scan.connections, scan.probes);
    assert!(obs.connections > scan.connections);
    let accepted: usize = scan.versions.iter().map(|v| v.suites.len()).sum();
    let groups: usize = scan
        .versions
        .iter()
        .filter_map(|v| v.groups.as_ref())
        .map(|g| g.groups.len())
        .sum();
    // accepted + 1 per version, groups + 1 per group list, and a handful
    // more; Postfix follows the client's order, so the parallel lanes add
    // one refusal each: 5 legacy lanes (4 more) and 3 lanes of TLS 1.3
    // groups (2).
    assert!(
        (scan.probes as usize) <= accepted + groups + 12 + 4 + 2,
        "{} probes for {accepted} suites and {groups} groups",
        scan.probes
    );
}

#[test]
fn tls13_groups_agree_with_openssl() {
    let (_, scan) = scan_of("imaps", ServiceRole::Imaps, TlsScanMode::Full);
    let found: BTreeSet<String> = scan
        .version(TlsVersion::TLS13)
        .and_then(|v| v.groups.as_ref())
        .map(|g| g.groups.iter().filter_map(|g| g.name.clone()).collect())
        .unwrap_or_default();
    let addr = testbed().endpoint("imaps");
    let candidates = [
        ("x25519", "x25519"),
        ("x448", "x448"),
        ("secp256r1", "P-256"),
        ("secp384r1", "P-384"),
        ("secp521r1", "P-521"),
        ("ffdhe2048", "ffdhe2048"),
        ("ffdhe3072", "ffdhe3072"),
        ("ffdhe4096", "ffdhe4096"),
        ("ffdhe6144", "ffdhe6144"),
        ("ffdhe8192", "ffdhe8192"),
    ];
    let confirmed: BTreeSet<String> = parallel(&candidates, |(iana, ossl)| {
        openssl(addr, Start::Implicit, "-tls1_3", &["-groups", ossl]).map(|_| (*iana).to_owned())
    })
    .into_iter()
    .flatten()
    .collect();
    let found_known: BTreeSet<String> = found
        .iter()
        .filter(|g| candidates.iter().any(|(i, _)| i == g))
        .cloned()
        .collect();
    assert_eq!(found_known, confirmed);
    assert!(confirmed.contains("x25519"));
}

/// The ECDHE curves of TLS 1.2 (found mostly by the suite probes, which
/// put the curves not seen yet first) are those OpenSSL can agree on.
#[test]
fn tls12_curves_agree_with_openssl() {
    for (name, role, start) in [
        ("smtp-mx", ServiceRole::Smtp, Start::Starttls("smtp")),
        ("imaps", ServiceRole::Imaps, Start::Implicit),
    ] {
        let (_, scan) = scan_of(name, role, TlsScanMode::Full);
        let tls12 = scan.version(TlsVersion::TLS12).unwrap();
        let groups = tls12.groups.as_ref().expect("TLS 1.2 curves");
        assert!(groups.complete, "{name}");
        let found: BTreeSet<String> = groups
            .groups
            .iter()
            .filter_map(|g| g.name.clone())
            .collect();
        let addr = testbed().endpoint(name);
        let candidates = [
            ("x25519", "x25519"),
            ("x448", "x448"),
            ("secp256r1", "P-256"),
            ("secp384r1", "P-384"),
            ("secp521r1", "P-521"),
            ("brainpoolP256r1", "brainpoolP256r1"),
        ];
        let confirmed: BTreeSet<String> = parallel(&candidates, |(iana, ossl)| {
            openssl(
                addr,
                start,
                "-tls1_2",
                &["-curves", ossl, "-cipher", "ECDHE"],
            )
            .map(|_| (*iana).to_owned())
        })
        .into_iter()
        .flatten()
        .collect();
        assert_eq!(found, confirmed, "{name}");
        assert!(confirmed.len() >= 3, "{name}: {confirmed:?}");
    }
}

#[test]
fn tls10_only_postfix() {
    let (_, scan) = scan_of("smtp-tls10", ServiceRole::Submission, TlsScanMode::Full);
    assert_eq!(status(&scan, TlsVersion::TLS10), SupportStatus::Accepted);
    for v in [
        TlsVersion::TLS11,
        TlsVersion::TLS12,
        TlsVersion::TLS13,
        TlsVersion::SSL3,
    ] {
        assert_eq!(status(&scan, v), SupportStatus::Refused, "{v}");
    }
    assert!(scan.version(TlsVersion::TLS10).unwrap().suites_complete);
    cross_check(
        "smtp-tls10",
        Start::Starttls("smtp"),
        TlsVersion::TLS10,
        &scan,
    );
    // A single version: nothing to fall back from.
    assert_eq!(scan.features.fallback_scsv, None);
}

#[test]
fn dovecot_implicit_and_starttls_ports() {
    for (name, role, start) in [
        ("imaps", ServiceRole::Imaps, Start::Implicit),
        ("pop3-starttls", ServiceRole::Pop3, Start::Starttls("pop3")),
        ("sieve", ServiceRole::Sieve, Start::Starttls("sieve")),
    ] {
        let (_, scan) = scan_of(name, role, TlsScanMode::Full);
        assert_eq!(
            status(&scan, TlsVersion::TLS12),
            SupportStatus::Accepted,
            "{name}"
        );
        assert_eq!(
            status(&scan, TlsVersion::TLS13),
            SupportStatus::Accepted,
            "{name}"
        );
        assert_eq!(
            status(&scan, TlsVersion::TLS11),
            SupportStatus::Refused,
            "{name}"
        );
        cross_check(name, start, TlsVersion::TLS12, &scan);
        // Dovecot closes without an alert: still recognized as a refusal.
        let fallback = scan.features.fallback_scsv.as_ref().unwrap();
        assert_eq!(
            fallback.outcome,
            FallbackOutcome::Refused,
            "{name}: {fallback:?}"
        );
    }
}

#[test]
fn imap_starttls_and_quick_mode_answer_the_same_questions() {
    let (_, full) = scan_of("imap-starttls", ServiceRole::Imap, TlsScanMode::Full);
    let (_, quick) = scan_of("imap-starttls", ServiceRole::Imap, TlsScanMode::Quick);
    for v in &full.versions {
        assert_eq!(status(&quick, v.version), v.status, "{}", v.version);
    }
    assert!(quick.probes <= 12, "{} probes", quick.probes);
    assert!(
        quick.probes * 3 < full.probes,
        "{} vs {}",
        quick.probes,
        full.probes
    );
    // Every suite quick mode saw is in the full list.
    let all = suite_names(&full, TlsVersion::TLS12);
    assert!(suite_names(&quick, TlsVersion::TLS12).is_subset(&all));
    assert!(!quick.version(TlsVersion::TLS12).unwrap().suites_complete);
}

#[test]
fn postfix_mx_quick_mode_finds_the_weak_classes() {
    let (_, scan) = scan_of("smtp-mx", ServiceRole::Smtp, TlsScanMode::Quick);
    let suites: Vec<_> = scan.accepted_suites().map(|(_, s)| s.clone()).collect();
    assert!(suites.iter().any(|s| s.auth == "NULL"), "anonymous found");
    assert!(suites.iter().any(|s| s.kx == "RSA"), "static RSA found");
    // The DH size of the anonymous suites (OpenSSL gives them 1024 bits) and of DHE.
    let dh: BTreeSet<u32> = suites.iter().filter_map(|s| s.dh_bits).collect();
    assert!(dh.iter().any(|&b| b < 2048), "{dh:?}");
    assert!(scan.probes <= 12, "{} probes", scan.probes);
}
