//! Witnesses for the TLS enumeration tests: a prober with the default
//! connection policy, and `openssl s_client` and `gnutls-cli` runs that
//! confirm, suite by suite, what the enumeration found.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::io::Write as _;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use mailwarden_model::{
    Attempt, EndpointObservation, ServiceRole, SupportStatus, TlsScan, TlsScanMode, TlsVersion,
};
use mailwarden_probe::{ConnectPolicy, EndpointSpec, ProbeConfig, Prober, TlsSettings};
use mailwarden_testbed::Testbed;

pub fn testbed() -> &'static Testbed {
    Testbed::shared()
}

/// A prober as `mailwarden scan` makes it: the default connection policy
/// (per-host cap, burst and rate, throttling retries) unless `connect` says
/// otherwise.
pub fn prober(connect: ConnectPolicy) -> Arc<Prober> {
    let anchors = mailwarden_cert::TrustAnchors::mozilla()
        .with_ca_file(testbed().ca_file())
        .expect("test CA loads");
    let config = ProbeConfig {
        tls_scan: Some(TlsScanMode::Full),
        connect,
        ..ProbeConfig::default()
    };
    Arc::new(Prober::new(config, TlsSettings::new(anchors)))
}

/// Probes the endpoint `name` (enumeration included) with `prober`.
pub fn scan_with(
    prober: Arc<Prober>,
    name: &str,
    role: Option<ServiceRole>,
) -> EndpointObservation {
    let spec = EndpointSpec {
        target: name.to_owned(),
        address: testbed().endpoint(name),
        role,
        check_name: "mail.test".to_owned(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move { prober.probe(&spec).await })
}

/// The enumeration of an observation, which must have completed.
pub fn scan_of(obs: &EndpointObservation) -> &TlsScan {
    match &obs.tls_scan {
        Some(Attempt::Completed { value }) => value,
        other => panic!("{}: no TLS scan: {other:?}", obs.address),
    }
}

pub fn status(scan: &TlsScan, v: TlsVersion) -> SupportStatus {
    scan.version(v)
        .map_or(SupportStatus::NotTested, |v| v.status)
}

/// The accepted suites of `v`, by IANA name.
pub fn suite_names(scan: &TlsScan, v: TlsVersion) -> BTreeSet<String> {
    scan.version(v)
        .map(|v| v.suites.iter().map(|s| s.id.to_string()).collect())
        .unwrap_or_default()
}

/// How a client reaches TLS on an endpoint: `-starttls` protocol, or none.
pub type Start = Option<&'static str>;

/// Runs `openssl s_client` offering `version_flag` and `what` (`-cipher
/// LIST` or `-ciphersuites LIST`); the suite negotiated (OpenSSL name), or
/// `None` when the handshake failed.
pub fn openssl(
    addr: SocketAddr,
    start: Start,
    version_flag: &str,
    what: &[&str],
) -> Option<String> {
    let mut cmd = Command::new("timeout");
    cmd.args(["20", "openssl", "s_client", "-brief", "-connect"])
        .arg(addr.to_string())
        .args(["-servername", "mail.test", version_flag])
        .args(what);
    if let Some(proto) = start {
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

/// The TLS 1.3 suites OpenSSL 3 can offer.
pub const OPENSSL_TLS13: [&str; 5] = [
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_AES_128_CCM_SHA256",
    "TLS_AES_128_CCM_8_SHA256",
];

/// Every TLS 1.2-or-older suite OpenSSL can offer, by OpenSSL name.
pub fn openssl_legacy_suites() -> Vec<String> {
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

fn version_flag(v: TlsVersion) -> &'static str {
    match v {
        TlsVersion::TLS13 => "-tls1_3",
        TlsVersion::TLS12 => "-tls1_2",
        TlsVersion::TLS11 => "-tls1_1",
        _ => "-tls1",
    }
}

/// OpenSSL witnesses the enumeration of `version` with one connection per
/// suite found (offering that suite alone must negotiate it) and one more
/// for all the rest (offering every other suite OpenSSL has must fail):
/// the found set, restricted to what OpenSSL can offer, is exactly what
/// the server accepts. Cheaper than one connection per OpenSSL suite, and
/// kind to servers that hold every failed handshake (Exim: 0.5 s).
/// Returns the found suites OpenSSL cannot offer (for other witnesses).
pub fn openssl_witness(
    addr: SocketAddr,
    start: Start,
    version: TlsVersion,
    scan: &TlsScan,
) -> BTreeSet<String> {
    let found = suite_names(scan, version);
    let tls13 = version == TlsVersion::TLS13;
    // OpenSSL name -> IANA name, for every suite OpenSSL has at this version.
    let known: Vec<(String, String)> = if tls13 {
        OPENSSL_TLS13
            .iter()
            .map(|s| ((*s).to_owned(), (*s).to_owned()))
            .collect()
    } else {
        openssl_legacy_suites()
            .into_iter()
            .filter_map(|o| mailwarden_tls::suite_by_name(&o).map(|s| (o, s.name.to_owned())))
            .collect()
    };
    let offer = |names: &[&str]| -> Option<String> {
        let list = names.join(":");
        if tls13 {
            openssl(addr, start, "-tls1_3", &["-ciphersuites", &list])
        } else {
            let list = format!("{list}:@SECLEVEL=0");
            openssl(addr, start, version_flag(version), &["-cipher", &list])
        }
    };
    let mut not_openssl = found.clone();
    for (ossl, iana) in &known {
        if !found.contains(iana) {
            continue;
        }
        not_openssl.remove(iana);
        assert_eq!(
            offer(&[ossl.as_str()]).as_deref(),
            Some(ossl.as_str()),
            "{addr} {version}: the enumeration found {iana}, OpenSSL offering it alone did not get it"
        );
    }
    let rest: Vec<&str> = known
        .iter()
        .filter(|(_, iana)| !found.contains(iana))
        .map(|(o, _)| o.as_str())
        .collect();
    if !rest.is_empty() {
        let got = offer(&rest);
        assert_eq!(
            got, None,
            "{addr} {version}: OpenSSL offering every suite the enumeration did not find got one"
        );
    }
    not_openssl
}

/// `gnutls-cli` over STARTTLS `proto` with a priority string: the session
/// description, e.g. `(TLS1.2-X.509)-(RSA)-(ARCFOUR-128)-(SHA1)`, or `None`
/// when no handshake completed.
pub fn gnutls(addr: SocketAddr, proto: &str, priority: &str) -> Option<String> {
    let mut child = Command::new("timeout")
        .args(["30", "gnutls-cli", "--x509cafile"])
        .arg(testbed().ca_file())
        .args(["--verify-hostname", "mail.test", "--starttls-proto", proto])
        .args(["--priority", priority, "-p"])
        .arg(addr.port().to_string())
        .arg(addr.ip().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the gnutls-cli command is needed for this test");
    // gnutls-cli waits 2 s for a close after stdin's EOF; Exim closes on QUIT.
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(b"QUIT\r\n");
    }
    let out = child.wait_with_output().expect("gnutls-cli runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.trim().strip_prefix("- Description: ").map(str::to_owned))
}

/// Load refusals Exim logged for the daemon on `addr` in `log` (its mainlog).
pub fn exim_refusals(log: &str, addr: SocketAddr) -> usize {
    let daemon = format!("I=[{}]:{}", addr.ip(), addr.port());
    log.lines()
        .filter(|l| l.contains(&daemon) && l.contains("refused: too many connections"))
        .count()
}

/// Exim's mainlog as it is now.
pub fn exim_log() -> String {
    std::fs::read(testbed().exim_log())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

/// Waits until Exim's children of earlier sessions are gone (it counts a
/// failed handshake's child for 0.5 s).
pub fn let_exim_settle() {
    std::thread::sleep(Duration::from_millis(1500));
}
