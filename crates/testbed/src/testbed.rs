//! The whole test bed in one value: PKI, Dovecot, Postfix, Exim, hostile servers,
//! and the watchdog that cleans up if the process dies without dropping it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::dovecot::{self, Dovecot};
use crate::endpoint::{Endpoint, Server};
use crate::exim::{self, Exim};
use crate::hostile::{self, Behaviour, HostileServer};
use crate::pki::Pki;
use crate::postfix::{self, Postfix};
use crate::reaper::Reaper;
use crate::util;

/// Real Postfix, Dovecot and Exim on loopback plus hostile fake servers, all
/// started by [`Testbed::start`] and stopped (exactly those processes) on drop.
///
/// Endpoints are looked up by name; see [`Testbed::endpoints`] or the crate
/// documentation for the table.
#[derive(Debug)]
pub struct Testbed {
    // Field order is drop order: the watchdog is disarmed in Drop before anything.
    reaper: Reaper,
    hostile: Vec<HostileServer>,
    runtime: Option<tokio::runtime::Runtime>,
    postfix: Postfix,
    dovecot: Dovecot,
    exim: Exim,
    endpoints: Vec<Endpoint>,
    pki: Pki,
    dir: tempfile::TempDir,
}

static SHARED: OnceLock<Result<Testbed, String>> = OnceLock::new();

impl Testbed {
    /// Starts everything and returns once every listener serves its protocol.
    ///
    /// Blocking; callable from sync tests and from async ones (it builds its
    /// own small runtime for the hostile servers). Needs root and the Debian
    /// packages listed in `scripts/setup-debian.sh`.
    pub fn start() -> anyhow::Result<Testbed> {
        // SAFETY: geteuid(2) has no preconditions and cannot fail.
        if unsafe { libc::geteuid() } != 0 {
            bail!(
                "the test bed must run as root: Postfix, Dovecot and Exim start as root and drop privileges"
            );
        }
        postfix::check_installed()?;
        dovecot::check_installed()?;
        exim::check_installed()?;
        util::require_program("openssl")?;
        let postfix_bin = util::require_program("postfix")?;

        let dir = tempfile::Builder::new()
            .prefix("mailwarden-testbed-")
            .tempdir()
            .context("cannot create the test bed's temporary directory (check TMPDIR)")?;
        util::make_traversable(dir.path())?;
        let mut reaper = Reaper::spawn(dir.path(), &postfix_bin)?;

        let timing = Timing::from_env();
        let pki = Pki::generate(dir.path().join("pki")).context("generating the test PKI")?;
        timing.mark("PKI");
        let password = util::random_token(20)?;
        // Exim needs nothing from the others: it starts alongside Dovecot and
        // Postfix (which waits for Dovecot's auth socket).
        let (exim, rest) = std::thread::scope(|scope| {
            let exim = scope.spawn(|| {
                let exim = Exim::start(&dir.path().join("exim"), &pki, dovecot::USER, &password);
                timing.mark("Exim (in parallel)");
                exim
            });
            let rest = start_dovecot_postfix(dir.path(), &pki, &password, &mut reaper, &timing);
            let exim = exim
                .join()
                .unwrap_or_else(|_| Err(anyhow::anyhow!("the thread starting Exim panicked")));
            (exim, rest)
        });
        let (dovecot, postfix) = rest?;
        let exim = exim?;
        for pid in exim.pids() {
            reaper.watch_pid(pid)?;
            // Each daemon leads a process group of its own whose ID is its PID.
            reaper.watch_group(pid)?;
        }

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("mailwarden-testbed-hostile")
            .enable_all()
            .build()
            .context("cannot start the runtime of the hostile servers")?;
        let (hostile, hostile_endpoints) = start_hostile(&runtime, dir.path())?;
        timing.mark("hostile servers");

        let mut endpoints = Vec::new();
        endpoints.extend_from_slice(postfix.endpoints());
        endpoints.extend_from_slice(dovecot.endpoints());
        endpoints.extend_from_slice(exim.endpoints());
        endpoints.extend(hostile_endpoints);
        Ok(Testbed {
            reaper,
            hostile,
            runtime: Some(runtime),
            postfix,
            dovecot,
            exim,
            endpoints,
            pki,
            dir,
        })
    }

    /// One test bed per test process, started on first use and shared by all
    /// tests of the binary. It is never dropped (statics are not); the
    /// watchdog stops its daemons and removes its files when the process exits.
    ///
    /// # Panics
    ///
    /// When the test bed cannot start (the message says why and how to fix
    /// it); every later call panics with the same message.
    pub fn shared() -> &'static Testbed {
        match Self::try_shared() {
            Ok(tb) => tb,
            Err(e) => panic!("{e:#}"),
        }
    }

    /// [`Testbed::shared`] without the panic.
    pub fn try_shared() -> anyhow::Result<&'static Testbed> {
        SHARED
            .get_or_init(|| Testbed::start().map_err(|e| format!("{e:#}")))
            .as_ref()
            .map_err(|e| anyhow::anyhow!("cannot start the shared test bed: {e}"))
    }

    /// The address of the endpoint called `name`.
    ///
    /// # Panics
    ///
    /// When no endpoint has that name (a typo in a test); the message lists the names.
    pub fn endpoint(&self, name: &str) -> SocketAddr {
        match self.find(name) {
            Some(endpoint) => endpoint.addr,
            None => {
                let names: Vec<&str> = self.endpoints.iter().map(|e| e.name).collect();
                panic!(
                    "no test bed endpoint named {name:?}; known: {}",
                    names.join(", ")
                )
            }
        }
    }

    /// The endpoint called `name`, if any.
    pub fn find(&self, name: &str) -> Option<&Endpoint> {
        self.endpoints.iter().find(|e| e.name == name)
    }

    /// Every endpoint: Postfix, then Dovecot, then Exim, then the hostile servers.
    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    /// The certificates the servers use.
    pub fn pki(&self) -> &Pki {
        &self.pki
    }

    /// The root CA file to trust (`--ca-file`).
    pub fn ca_file(&self) -> &Path {
        self.pki.ca_file()
    }

    /// Postfix's log file.
    pub fn postfix_log(&self) -> &Path {
        self.postfix.log_file()
    }

    /// Dovecot's log file.
    pub fn dovecot_log(&self) -> &Path {
        self.dovecot.log_file()
    }

    /// Exim's `mainlog` (all Exim daemons log here; a line's `I=[127.0.0.1]:PORT`
    /// names the daemon).
    pub fn exim_log(&self) -> PathBuf {
        self.exim.main_log()
    }

    /// Exim's `rejectlog` (ACL refusals; it exists once the first one happened).
    pub fn exim_reject_log(&self) -> PathBuf {
        self.exim.reject_log()
    }

    /// The directory of Exim's `mainlog`, `rejectlog` and `paniclog`.
    pub fn exim_log_dir(&self) -> &Path {
        self.exim.log_dir()
    }

    /// The test account, valid for IMAP, POP3, ManageSieve and SMTP AUTH
    /// (Postfix before or after TLS by listener, `exim-mx` after TLS).
    pub fn user(&self) -> &str {
        dovecot::USER
    }

    /// The password of [`Testbed::user`], random per test bed.
    pub fn password(&self) -> &str {
        self.dovecot.password()
    }

    /// The test bed's directory (configuration, logs, queues, certificates).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// PID of the Postfix master process.
    pub fn postfix_pid(&self) -> Option<u32> {
        self.postfix.master_pid()
    }

    /// PID of the Dovecot master process.
    pub fn dovecot_pid(&self) -> Option<u32> {
        self.dovecot.pid()
    }

    /// PIDs of the Exim daemons, in endpoint order.
    pub fn exim_pids(&self) -> Vec<u32> {
        self.exim.pids()
    }

    /// PID of the cleanup watchdog (see [`Testbed::shared`]).
    pub fn reaper_pid(&self) -> u32 {
        self.reaper.pid()
    }
}

impl Drop for Testbed {
    fn drop(&mut self) {
        // We clean up ourselves; a watchdog acting at the same time could
        // signal a PID that was already recycled.
        self.reaper.disarm();
        self.hostile.clear();
        if let Some(runtime) = self.runtime.take() {
            // Allowed inside an async context, unlike a plain drop.
            runtime.shutdown_background();
        }
        // Postfix first: its SASL depends on Dovecot.
        let _ = self.postfix.stop();
        self.dovecot.stop();
        self.exim.stop();
    }
}

/// Dovecot, then Postfix (whose SASL needs Dovecot's auth socket), each
/// handed to the watchdog as soon as it runs.
fn start_dovecot_postfix(
    dir: &Path,
    pki: &Pki,
    password: &str,
    reaper: &mut Reaper,
    timing: &Timing,
) -> anyhow::Result<(Dovecot, Postfix)> {
    let dovecot = Dovecot::start_with_password(&dir.join("dovecot"), pki, password)?;
    timing.mark("Dovecot");
    if let Some(pid) = dovecot.pid() {
        reaper.watch_pid(pid)?;
        // Dovecot runs in a process group of its own whose ID is its PID.
        reaper.watch_group(pid)?;
    }
    let postfix = Postfix::start(&dir.join("postfix"), pki, dovecot.auth_socket())?;
    reaper.watch_postfix(postfix.conf_dir())?;
    timing.mark("Postfix");
    Ok((dovecot, postfix))
}

/// With `MAILWARDEN_TESTBED_TIMING` set, prints to stderr when each part of
/// the start is ready, counted from the start (to keep the start fast).
struct Timing(Option<std::time::Instant>);

impl Timing {
    fn from_env() -> Timing {
        Timing(std::env::var_os("MAILWARDEN_TESTBED_TIMING").map(|_| std::time::Instant::now()))
    }

    fn mark(&self, what: &str) {
        if let Some(start) = self.0 {
            eprintln!(
                "mailwarden-testbed: {what} ready after {} ms",
                start.elapsed().as_millis()
            );
        }
    }
}

struct HostileSpec {
    name: &'static str,
    description: &'static str,
    behaviour: Behaviour,
    protocol: &'static str,
    implicit_tls: bool,
}

const HOSTILE: [HostileSpec; 8] = [
    HostileSpec {
        name: "drip",
        description: "sends \"220 \" then one byte per second, forever",
        behaviour: Behaviour::Drip,
        protocol: "smtp",
        implicit_tls: false,
    },
    HostileSpec {
        name: "flood",
        description: "greets, then answers the first command with an endless 250- reply",
        behaviour: Behaviour::Flood,
        protocol: "smtp",
        implicit_tls: false,
    },
    HostileSpec {
        name: "garbage",
        description: "sends 4 KiB of random bytes and closes",
        behaviour: Behaviour::Garbage,
        protocol: "",
        implicit_tls: false,
    },
    HostileSpec {
        name: "fake-starttls",
        description: "advertises STARTTLS, says go ahead, then keeps talking plaintext",
        behaviour: Behaviour::FakeStarttls,
        protocol: "smtp",
        implicit_tls: false,
    },
    HostileSpec {
        name: "silent",
        description: "accepts and never sends a byte",
        behaviour: Behaviour::Silent,
        protocol: "",
        implicit_tls: false,
    },
    HostileSpec {
        name: "tls-bogus-length",
        description: "answers a ClientHello with a TLS record header claiming 65535 bytes",
        behaviour: Behaviour::TlsBogusLength,
        protocol: "",
        implicit_tls: true,
    },
    HostileSpec {
        name: "tls-bad-inner-length",
        description: "answers a ClientHello with a ServerHello longer than its record",
        behaviour: Behaviour::TlsBadInnerLength,
        protocol: "",
        implicit_tls: true,
    },
    HostileSpec {
        name: "accept-then-close",
        description: "accepts and closes at once",
        behaviour: Behaviour::AcceptThenClose,
        protocol: "",
        implicit_tls: false,
    },
];

fn start_hostile(
    runtime: &tokio::runtime::Runtime,
    dir: &Path,
) -> anyhow::Result<(Vec<HostileServer>, Vec<Endpoint>)> {
    let mut servers = Vec::new();
    let mut endpoints = Vec::new();
    for spec in HOSTILE.iter() {
        let server = hostile::spawn_on(runtime.handle(), spec.behaviour, hostile::bind_std());
        endpoints.push(Endpoint {
            name: spec.name,
            addr: server.addr,
            description: spec.description,
            server: Server::Hostile,
            protocol: spec.protocol,
            implicit_tls: spec.implicit_tls,
        });
        servers.push(server);
    }

    let www = dir.join("www");
    std::fs::create_dir_all(&www).with_context(|| format!("cannot create {}", www.display()))?;
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = hostile::start_http_on(runtime.handle(), Some(www), move |addr| {
        let _ = tx.send(addr);
    });
    // A std channel: this may run inside a caller's async context, where
    // blocking on a tokio primitive would panic.
    let addr = rx
        .recv_timeout(Duration::from_secs(30))
        .context("the HTTP server (python3 -m http.server) did not start within 30 s")?;
    servers.push(HostileServer { addr, handle });
    endpoints.push(Endpoint {
        name: "http",
        addr,
        description: "an HTTP server (python3 -m http.server) where mail was expected",
        server: Server::Hostile,
        protocol: "http",
        implicit_tls: false,
    });
    endpoints.push(Endpoint {
        name: "closed",
        addr: hostile::closed_port(),
        description: "nothing listens here: connections are refused",
        server: Server::Nothing,
        protocol: "",
        implicit_tls: false,
    });
    Ok((servers, endpoints))
}
