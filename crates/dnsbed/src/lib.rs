//! The DNS test bed of mailwarden: real DNS servers on loopback high ports
//! for the domain-posture tests, with everything generated at test time.
//!
//! [`DnsBed::start`] writes test zones (under the private TLD `test.`),
//! signs them with `ldns-signzone` using ECDSA P-256 keys made by
//! `ldns-keygen` a moment earlier, serves them with Knot (`knotd`), and
//! starts Unbound (`unbound -d`) as a validating resolver with a stub zone
//! pointing at Knot and the `test.` key as its only trust anchor. It also
//! serves MTA-STS policies over HTTPS (an in-process tokio+rustls fixture
//! with a test CA) and keeps a UDP socket that never answers (timeouts).
//!
//! | zone | signed | what it holds |
//! |---|---|---|
//! | `test.` | yes (the anchor) | delegations with DS for the signed children, none for `plain.test` |
//! | `mail.test` | yes | MX `mx.mail.test` (127.0.0.1), SRV records to the test bed's ports, valid SPF with an include, DMARC `p=reject` with an authorized external `rua`, DKIM RSA-2048 and Ed25519, MTA-STS enforce matching the MX, TLS-RPT, TLSA 3 1 1 / 2 0 1 matching the Postfix chain |
//! | `weak.test` | yes | MX `mx.weak.test` (127.0.0.1), SPF over 10 lookups with void lookups, a loop, `ptr` and `+all`, DMARC `p=none pct=50` with an unauthorized external `rua`, DKIM RSA-1024 `t=y`, RSA-768 and a revoked key, MTA-STS enforce naming another MX, TLSA that matches nothing, no TLS-RPT |
//! | `plain.test` | no | MX `mx.plain.test` (127.0.0.3, no PTR), two SPF records, TLSA in an unsigned zone, no DMARC |
//! | `bogus.test` | expired signatures | MX and SPF that a validator must refuse |
//! | `nomail.test` | yes | null MX, `v=spf1 -all`, DMARC reject |
//! | `multi.test` | yes | MX `mx.multi.test` on 127.0.0.1 (Postfix) and 127.0.0.9 (nothing) |
//! | `lame.example` | — | outside the anchor; Unbound is told Knot serves it, Knot refuses: SERVFAIL |
//! | `127.in-addr.arpa` | no | PTR 127.0.0.1 → `mx.mail.test` |
//!
//! Processes are children of a `sh` that waits on a pipe from this process:
//! when the test process exits, for any reason, the pipe closes and the `sh`
//! kills exactly its own child by PID and removes the directory.
#![deny(missing_docs)]

mod https;
mod process;
mod zones;

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

pub use https::PolicyServer;

/// What the zones point at: the real mail servers of the test bed.
#[derive(Debug, Clone)]
pub struct MailServers {
    /// PEM files of the certificates the MX presents (DANE-EE records are
    /// made for each leaf's public key).
    pub mx_leaf_pems: Vec<PathBuf>,
    /// PEM of the MX's issuing CA (a DANE-TA record is made for it).
    pub mx_ca_pem: PathBuf,
    /// The submission (STARTTLS) endpoint, on 127.0.0.1.
    pub submission: SocketAddr,
    /// The submissions (implicit TLS) endpoint, on 127.0.0.1.
    pub submissions: SocketAddr,
    /// The IMAPS endpoint (any loopback address).
    pub imaps: SocketAddr,
}

/// The running DNS test bed.
pub struct DnsBed {
    /// Knot, authoritative for every test zone.
    pub authoritative: SocketAddr,
    /// Unbound, validating from the `test.` anchor.
    pub resolver: SocketAddr,
    /// A UDP port that swallows queries and never answers.
    pub blackhole: SocketAddr,
    /// The `test.` DNSKEY (KSK) in zone-file format.
    pub trust_anchor: PathBuf,
    /// The MTA-STS policy server (HTTPS).
    pub policies: PolicyServer,
    /// The CA that signed the policy server's certificate, PEM.
    pub policy_ca: PathBuf,
    dir: PathBuf,
    _blackhole: UdpSocket,
    _guards: Vec<process::Guard>,
}

static SHARED: OnceLock<Result<DnsBed, String>> = OnceLock::new();

impl DnsBed {
    /// One bed per test process, started on first use.
    pub fn shared(servers: &MailServers) -> &'static DnsBed {
        match SHARED.get_or_init(|| DnsBed::start(servers).map_err(|e| format!("{e:#}"))) {
            Ok(bed) => bed,
            Err(e) => panic!("cannot start the DNS test bed: {e}"),
        }
    }

    /// Generates keys and zones, signs them, starts Knot, Unbound and the
    /// policy server, and waits until Unbound answers for `mail.test`.
    pub fn start(servers: &MailServers) -> anyhow::Result<DnsBed> {
        for tool in [
            "knotd",
            "unbound",
            "ldns-keygen",
            "ldns-signzone",
            "openssl",
        ] {
            if !which(tool) {
                bail!(
                    "{tool} is missing: run scripts/setup-debian.sh (knot, unbound, ldnsutils, openssl)"
                );
            }
        }
        let dir = tempfile::Builder::new()
            .prefix("mailwarden-dnsbed-")
            .tempdir()?
            .keep();
        let policies = PolicyServer::start(&dir)?;
        let auth_port = free_port()?;
        let resolver_port = free_port()?;
        let authoritative = SocketAddr::from(([127, 0, 0, 1], auth_port));
        let resolver = SocketAddr::from(([127, 0, 0, 1], resolver_port));
        let trust_anchor = zones::build(&dir, servers)?;
        let mut guards = Vec::new();
        std::fs::create_dir_all(dir.join("knot-run"))?;
        std::fs::create_dir_all(dir.join("knot-db"))?;
        std::fs::write(dir.join("knot.conf"), knot_conf(&dir, authoritative))?;
        guards.push(process::Guard::spawn(
            &dir,
            "knotd",
            &["-c", &dir.join("knot.conf").display().to_string()],
            false,
        )?);
        wait_tcp(authoritative, "knotd", &dir)?;
        std::fs::write(
            dir.join("unbound.conf"),
            unbound_conf(&dir, resolver, authoritative, &trust_anchor),
        )?;
        guards.push(process::Guard::spawn(
            &dir,
            "unbound",
            &["-d", "-c", &dir.join("unbound.conf").display().to_string()],
            // Unbound stops last: its shell removes the bed's directory.
            true,
        )?);
        wait_tcp(resolver, "unbound", &dir)?;
        let blackhole_socket = UdpSocket::bind("127.0.0.1:0")?;
        Ok(DnsBed {
            authoritative,
            resolver,
            blackhole: blackhole_socket.local_addr()?,
            trust_anchor,
            policy_ca: policies.ca_file.clone(),
            policies,
            dir,
            _blackhole: blackhole_socket,
            _guards: guards,
        })
    }

    /// The bed's directory (zones, keys, logs).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A CA file with the policy server's CA and `extra` (e.g. the mail test
    /// bed's CA), for `--ca-file`.
    pub fn ca_file_with(&self, extra: &Path) -> anyhow::Result<PathBuf> {
        let path = self.dir.join("all-cas.pem");
        let mut pem = std::fs::read_to_string(&self.policy_ca)?;
        pem.push_str(&std::fs::read_to_string(extra).with_context(|| extra.display().to_string())?);
        // Written aside and renamed: parallel tests read it while others write it.
        let tmp = tempfile::NamedTempFile::new_in(&self.dir)?;
        std::fs::write(tmp.path(), pem)?;
        tmp.persist(&path)?;
        Ok(path)
    }
}

fn which(tool: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths)
            .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
            .any(|p| p.join(tool).is_file())
    })
}

fn free_port() -> anyhow::Result<u16> {
    // Both TCP and UDP must be free on the port.
    for _ in 0..20 {
        let tcp = std::net::TcpListener::bind("127.0.0.1:0")?;
        let port = tcp.local_addr()?.port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    bail!("no free port on 127.0.0.1")
}

fn wait_tcp(addr: SocketAddr, what: &str, dir: &Path) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        let log = std::fs::read_to_string(dir.join(format!("{what}.log"))).unwrap_or_default();
        if log.contains("critical:") || log.contains("fatal error") {
            bail!("{what} failed to start; its log:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = std::fs::read_to_string(dir.join(format!("{what}.log"))).unwrap_or_default();
    bail!("{what} did not listen on {addr} within 20 s; its log:\n{log}")
}

fn knot_conf(dir: &Path, listen: SocketAddr) -> String {
    let d = dir.display();
    let mut zones = String::new();
    for (zone, file) in zones::SERVED {
        zones.push_str(&format!(
            "  - domain: {zone}\n    file: \"{d}/zones/{file}\"\n"
        ));
    }
    format!(
        "server:\n  listen: {}@{}\n  rundir: \"{d}/knot-run\"\n\
         log:\n  - target: stderr\n    any: warning\n\
         database:\n  storage: \"{d}/knot-db\"\n\
         template:\n  - id: default\n    zonefile-sync: -1\n    zonefile-load: whole\n    \
         journal-content: none\n    semantic-checks: off\n\
         zone:\n{zones}",
        listen.ip(),
        listen.port()
    )
}

fn unbound_conf(dir: &Path, listen: SocketAddr, auth: SocketAddr, anchor: &Path) -> String {
    let d = dir.display();
    let a = format!("{}@{}", auth.ip(), auth.port());
    // A stub per zone: the delegations name ns.test, whose port 53 is not
    // ours, so Unbound must never follow them.
    let stubs: String = zones::SERVED
        .iter()
        .map(|(zone, _)| *zone)
        .chain(["lame.example."])
        .map(|zone| format!("stub-zone:\n  name: \"{zone}\"\n  stub-addr: {a}\n"))
        .collect();
    format!(
        "server:\n  interface: {ip}@{port}\n  port: {port}\n  do-ip6: no\n  chroot: \"\"\n  \
         username: \"\"\n  directory: \"{d}\"\n  pidfile: \"\"\n  use-syslog: no\n  \
         logfile: \"\"\n  verbosity: 1\n  num-threads: 1\n  do-not-query-localhost: no\n  \
         trust-anchor-file: \"{anchor}\"\n  local-zone: \"test.\" nodefault\n  \
         local-zone: \"127.in-addr.arpa.\" nodefault\n  domain-insecure: \"127.in-addr.arpa.\"\n  \
         ede: yes\n  val-log-level: 2\n  qname-minimisation: no\n  aggressive-nsec: no\n  \
         harden-referral-path: no\n  access-control: 127.0.0.0/8 allow\n  \
         module-config: \"validator iterator\"\n  infra-host-ttl: 1\n\
         remote-control:\n  control-enable: no\n\
         {stubs}",
        ip = listen.ip(),
        port = listen.port(),
        anchor = anchor.display(),
    )
}

/// The address every test-zone host name resolves to, for reference.
pub const MX_IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
