//! Real Exim daemons (Debian's `exim4-daemon-light`, built with GnuTLS), one
//! per TLS/limit posture, each with its own configuration and spool and all
//! logging into one shared directory ([`Exim::log_dir`]).
//!
//! One daemon cannot vary its connection limit per port, and a GnuTLS priority
//! string that depends on the port would make the "Debian default" listener
//! depend on an expansion; so each endpoint is a daemon of its own, started
//! as `exim -bdf -oX PORT -C FILE` in a process group of its own.
//!
//! Debian's Exim cannot be installed next to Postfix (both provide
//! `mail-transport-agent`), so `scripts/setup-debian.sh` unpacks its binary
//! into [`PRIVATE_EXIM`]. Such a binary cannot re-exec itself (it would run
//! the compiled-in `/usr/sbin/exim4`), hence `queue_only`: nothing is ever
//! delivered, accepted messages stay in the test bed's spool. See TRAPS.md.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};

use crate::endpoint::{Endpoint, Server};
use crate::pki::{CertFiles, Pki};
use crate::util::{self, Greeting};

/// The address every Exim daemon binds.
pub const EXIM_IP: Ipv4Addr = Ipv4Addr::LOCALHOST;

/// Where `scripts/setup-debian.sh` unpacks Debian's Exim binary.
pub const PRIVATE_EXIM: &str = "/opt/mailwarden/exim4/usr/sbin/exim4";

/// Environment variable naming another Exim binary to run.
pub const EXIM_ENV: &str = "MAILWARDEN_EXIM";

/// The account Debian's Exim looks up when it starts (`EXIM_USER=ref:Debian-exim`)
/// and runs as once its daemon has bound its port.
pub const EXIM_USER: &str = "Debian-exim";

/// The GnuTLS priority string of `exim-weak`: GnuTLS's defaults plus TLS 1.0
/// and 1.1 (already in `NORMAL` on Debian 12), 3DES and RC4. Keep the
/// description of `exim-weak` in step.
pub const WEAK_PRIORITY: &str = "NORMAL:+VERS-TLS1.0:+VERS-TLS1.1:+3DES-CBC:+ARCFOUR-128:%COMPAT";

/// `smtp_accept_max` of `exim-limited` (Exim's default, kept elsewhere, is 20).
pub const LIMITED_ACCEPT_MAX: usize = 5;

/// `smtp_max_synprot_errors` of every daemon (Exim's default): the client is
/// dropped with a 421 after this many syntax or protocol errors.
pub const MAX_SYNPROT_ERRORS: usize = 3;

/// Running Exim daemons, stopped on drop.
#[derive(Debug)]
pub struct Exim {
    daemons: Vec<Daemon>,
    log_dir: PathBuf,
    endpoints: Vec<Endpoint>,
}

#[derive(Debug)]
struct Daemon {
    child: Option<Child>,
    stderr_file: PathBuf,
}

/// One daemon: its endpoint metadata and what sets it apart.
struct InstanceSpec {
    name: &'static str,
    description: &'static str,
    /// `tls_require_ciphers`; `None` leaves Exim's default (GnuTLS `NORMAL`).
    priority: Option<&'static str>,
    /// `smtp_accept_max`; `None` leaves Exim's default (20).
    accept_max: Option<usize>,
    /// AUTH PLAIN and LOGIN for the test account, advertised only over TLS.
    auth: bool,
}

const INSTANCES: [InstanceSpec; 3] = [
    InstanceSpec {
        name: "exim-mx",
        description: "Exim SMTP: STARTTLS with Debian's default GnuTLS priorities (TLS 1.0 to 1.3), AUTH PLAIN LOGIN only after TLS",
        priority: None,
        accept_max: None,
        auth: true,
    },
    InstanceSpec {
        name: "exim-weak",
        description: "Exim SMTP: like exim-mx plus 3DES and RC4 suites in TLS 1.0 to 1.2 (GnuTLS priority NORMAL:+VERS-TLS1.0:+VERS-TLS1.1:+3DES-CBC:+ARCFOUR-128:%COMPAT)",
        priority: Some(WEAK_PRIORITY),
        accept_max: None,
        auth: false,
    },
    InstanceSpec {
        name: "exim-limited",
        description: "Exim SMTP: smtp_accept_max = 5 (then 421 Too many concurrent SMTP connections), drops after 3 syntax errors",
        priority: None,
        accept_max: Some(LIMITED_ACCEPT_MAX),
        auth: false,
    },
];

impl Exim {
    /// Writes one configuration per daemon under `dir`, starts them all, and
    /// waits until each greets. `user` and `password` are the AUTH account.
    ///
    /// Retries with new ports when another process took one in the meantime.
    pub fn start(dir: &Path, pki: &Pki, user: &str, password: &str) -> anyhow::Result<Exim> {
        let exim_bin = check_installed()?;
        let owner = util::system_user(EXIM_USER)?;
        let mut last_error = None;
        for attempt in 1..=3 {
            let instance = dir.join(format!("attempt-{attempt}"));
            let auth = (user, password);
            match Self::start_once(&exim_bin, &instance, pki, owner, auth) {
                Ok(exim) => return Ok(exim),
                Err(e) if format!("{e:#}").contains("in use") => last_error = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last_error.unwrap_or_else(|| anyhow::anyhow!("Exim did not start")))
    }

    fn start_once(
        exim_bin: &Path,
        dir: &Path,
        pki: &Pki,
        owner: (u32, u32),
        auth: (&str, &str),
    ) -> anyhow::Result<Exim> {
        let log_dir = dir.join("log");
        let tls_dir = dir.join("tls");
        for d in [dir, &log_dir, &tls_dir] {
            std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
            util::make_traversable(d)?;
        }
        // Exim writes its logs as Debian-exim.
        chown(&log_dir, owner)?;
        let tls = TlsFiles {
            ecdsa: copy_for_exim(&pki.valid, &tls_dir, "ecdsa", owner)?,
            rsa: copy_for_exim(&pki.valid_rsa, &tls_dir, "rsa", owner)?,
        };
        let ports = util::free_ports(&[EXIM_IP; INSTANCES.len()])?;
        let mut exim = Exim {
            daemons: Vec::new(),
            log_dir,
            endpoints: Vec::new(),
        };
        for (spec, port) in INSTANCES.iter().zip(ports) {
            let addr = SocketAddr::from((EXIM_IP, port));
            let instance_dir = dir.join(spec.name);
            let spool = instance_dir.join("spool");
            std::fs::create_dir_all(&spool)
                .with_context(|| format!("cannot create {}", spool.display()))?;
            util::make_traversable(&instance_dir)?;
            chown(&spool, owner)?;
            let config = instance_dir.join("exim.conf");
            let text = render(spec, port, &spool, &exim.log_dir, &tls, auth);
            write_config(&config, &text)?;
            let stderr_file = instance_dir.join("exim.stderr");
            let stderr = std::fs::File::create(&stderr_file)
                .with_context(|| format!("cannot create {}", stderr_file.display()))?;
            let child = Command::new(exim_bin)
                // -bdf: daemon in the foreground, our child; -oX: this port,
                // and no PID file (the default one is /run/exim4/exim.pid).
                .args(["-bdf", "-oX", &port.to_string(), "-C"])
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(stderr)
                // Own process group: its per-connection processes are ended with it.
                .process_group(0)
                .spawn()
                .with_context(|| format!("cannot run {}", exim_bin.display()))?;
            // Registered at once: a failure below stops what already runs (Drop).
            exim.daemons.push(Daemon {
                child: Some(child),
                stderr_file,
            });
            exim.endpoints.push(Endpoint {
                name: spec.name,
                addr,
                description: spec.description,
                server: Server::Exim,
                protocol: "smtp",
                implicit_tls: false,
            });
        }
        exim.wait_ready()?;
        Ok(exim)
    }

    fn wait_ready(&mut self) -> anyhow::Result<()> {
        let timeout = Duration::from_secs(15);
        for i in 0..self.daemons.len() {
            let endpoint = self.endpoints[i].clone();
            let daemon = &mut self.daemons[i];
            let ready = util::poll_until(timeout, || {
                if let Some(status) = daemon.exit_status() {
                    return Ok(Some(status));
                }
                util::check_greeting(endpoint.addr, Greeting::Smtp).map(|()| None)
            });
            let problem = match ready {
                Ok(None) => continue,
                Ok(Some(status)) => format!("exim exited during startup ({status})"),
                Err(e) => format!("not ready: {e}"),
            };
            return Err(anyhow::anyhow!(
                "Exim daemon `{}` ({}) {problem}; its stderr:\n{}\nlast lines of {}:\n{}\n{}",
                endpoint.name,
                endpoint.addr,
                util::log_tail(&daemon.stderr_file, 10),
                self.log_dir.join("paniclog").display(),
                util::log_tail(&self.log_dir.join("paniclog"), 10),
                util::log_tail(&self.main_log(), 10),
            ));
        }
        Ok(())
    }

    /// The daemons' endpoints: `exim-mx`, `exim-weak`, `exim-limited`.
    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    /// The directory of `mainlog`, `rejectlog` and `paniclog` (`log_file_path`),
    /// shared by every daemon; lines name the daemon's port (`I=[127.0.0.1]:PORT`).
    pub fn log_dir(&self) -> &Path {
        &self.log_dir
    }

    /// `mainlog`: connections, TLS, messages, errors.
    pub fn main_log(&self) -> PathBuf {
        self.log_dir.join("mainlog")
    }

    /// `rejectlog`: ACL refusals (created by the first one).
    pub fn reject_log(&self) -> PathBuf {
        self.log_dir.join("rejectlog")
    }

    /// PIDs of the running daemons, in endpoint order.
    pub fn pids(&self) -> Vec<u32> {
        self.daemons
            .iter()
            .filter_map(|d| d.child.as_ref().map(Child::id))
            .collect()
    }

    /// Stops every daemon and whatever is left of its process group
    /// (per-connection processes may outlive it while a client stays).
    pub fn stop(&mut self) {
        for daemon in &mut self.daemons {
            if let Some(child) = daemon.child.take() {
                util::stop_group_leader(child);
            }
        }
    }
}

impl Drop for Exim {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Daemon {
    /// The exit status once the daemon has exited (it is then reaped and forgotten).
    fn exit_status(&mut self) -> Option<std::process::ExitStatus> {
        let status = self.child.as_mut()?.try_wait().ok().flatten()?;
        self.child = None;
        Some(status)
    }
}

/// Copies of the valid certificates that Debian-exim can read.
struct TlsFiles {
    ecdsa: CertFiles,
    rsa: CertFiles,
}

/// The Exim daemon reads its key after dropping to Debian-exim: the PKI's
/// root-only keys would fail every handshake ("Error while reading file").
fn copy_for_exim(
    files: &CertFiles,
    dir: &Path,
    stem: &str,
    owner: (u32, u32),
) -> anyhow::Result<CertFiles> {
    let chain_pem = dir.join(format!("{stem}.chain.pem"));
    let key_pem = dir.join(format!("{stem}.key"));
    for (from, to) in [(&files.chain_pem, &chain_pem), (&files.key_pem, &key_pem)] {
        std::fs::copy(from, to)
            .with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))?;
        chown(to, owner)?;
    }
    std::fs::set_permissions(&key_pem, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("cannot chmod 600 {}", key_pem.display()))?;
    Ok(CertFiles {
        chain_pem,
        key_pem,
        ..files.clone()
    })
}

fn chown(path: &Path, (uid, gid): (u32, u32)) -> anyhow::Result<()> {
    std::os::unix::fs::chown(path, Some(uid), Some(gid))
        .with_context(|| format!("cannot chown {} to {EXIM_USER}", path.display()))
}

/// Exim refuses a configuration that is not owned by root (its compiled-in
/// CONFIGURE_OWNER) or that others may write: 0644, whatever the umask.
fn write_config(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644))
        .with_context(|| format!("cannot chmod 644 {}", path.display()))
}

/// PLAIN and LOGIN for one account, offered only once TLS is up.
const AUTHENTICATORS: &str = "
begin authenticators
plain:
  driver = plaintext
  public_name = PLAIN
  server_prompts = :
  server_condition = ${if and{{eq{$auth2}{@USER@}}{eq{$auth3}{@PASSWORD@}}}}
  server_set_id = $auth2
  server_advertise_condition = ${if def:tls_in_cipher}
login:
  driver = plaintext
  public_name = LOGIN
  server_prompts = Username:: : Password::
  server_condition = ${if and{{eq{$auth1}{@USER@}}{eq{$auth2}{@PASSWORD@}}}}
  server_set_id = $auth1
  server_advertise_condition = ${if def:tls_in_cipher}
";

fn render(
    spec: &InstanceSpec,
    port: u16,
    spool: &Path,
    log_dir: &Path,
    tls: &TlsFiles,
    (user, password): (&str, &str),
) -> String {
    let d = |p: &Path| p.display().to_string();
    let mut out = format!(
        "# Generated by mailwarden-testbed: the throwaway Exim daemon `{name}`.
# Nothing is ever delivered: accepted messages stay queued in this spool.
primary_hostname = mail.test
qualify_domain = mail.test
domainlist local_domains = mail.test : localhost
local_interfaces = {ip}
daemon_smtp_ports = {port}
# Fail at once when the port is taken (the default retries for minutes).
daemon_startup_retries = 0
spool_directory = {spool}
log_file_path = {log_dir}/%slog
log_selector = +pid +incoming_interface +incoming_port +smtp_connection \\
  +smtp_no_mail +smtp_protocol_error +smtp_syntax_error +tls_peerdn +tls_sni
keep_environment =
# Delivery would re-exec the compiled-in /usr/sbin/exim4, which is not there.
queue_only
# Loopback needs no DNS: no reverse lookups, no ident queries.
host_lookup =
rfc1413_hosts =
tls_advertise_hosts = *
tls_certificate = {ecdsa_chain} : {rsa_chain}
tls_privatekey = {ecdsa_key} : {rsa_key}
smtp_max_synprot_errors = {synprot}
acl_smtp_rcpt = acl_check_rcpt
",
        name = spec.name,
        ip = EXIM_IP,
        spool = d(spool),
        log_dir = d(log_dir),
        ecdsa_chain = d(&tls.ecdsa.chain_pem),
        rsa_chain = d(&tls.rsa.chain_pem),
        ecdsa_key = d(&tls.ecdsa.key_pem),
        rsa_key = d(&tls.rsa.key_pem),
        synprot = MAX_SYNPROT_ERRORS,
    );
    if let Some(priority) = spec.priority {
        let _ = writeln!(out, "tls_require_ciphers = {priority}");
    }
    if let Some(max) = spec.accept_max {
        let _ = writeln!(out, "smtp_accept_max = {max}");
    }
    out.push_str(
        "
begin acl
acl_check_rcpt:
  accept domains = +local_domains
  deny message = relay not permitted

begin routers
# Belt and braces next to queue_only: whatever were routed would vanish.
blackhole:
  driver = redirect
  data = :blackhole:
",
    );
    if spec.auth {
        // The values are alphanumeric plus '@' and '.': nothing Exim expands.
        out.push_str(
            &AUTHENTICATORS
                .replace("@USER@", user)
                .replace("@PASSWORD@", password),
        );
    }
    out
}

/// Finds the Exim binary: `$MAILWARDEN_EXIM`, then [`PRIVATE_EXIM`], then
/// `exim4` or `exim` in `PATH`, and checks that the `Debian-exim` account exists.
pub(crate) fn check_installed() -> anyhow::Result<PathBuf> {
    let hint = "run scripts/setup-debian.sh: it unpacks Debian's exim4-daemon-light into \
                /opt/mailwarden/exim4 (it cannot be installed next to Postfix) and creates \
                the Debian-exim account";
    let binary = if let Some(path) = std::env::var_os(EXIM_ENV) {
        let path = PathBuf::from(path);
        if !path.is_file() {
            bail!("{EXIM_ENV}={} is not a file", path.display());
        }
        path
    } else if Path::new(PRIVATE_EXIM).is_file() {
        PathBuf::from(PRIVATE_EXIM)
    } else {
        util::find_program("exim4")
            .or_else(|| util::find_program("exim"))
            .with_context(|| format!("Exim is missing ({PRIVATE_EXIM} does not exist): {hint}"))?
    };
    util::system_user(EXIM_USER).with_context(|| {
        format!("Debian's Exim refuses to start without the {EXIM_USER} account: {hint}")
    })?;
    Ok(binary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(stem: &str) -> CertFiles {
        let now = std::time::SystemTime::now();
        CertFiles {
            chain_pem: PathBuf::from(format!("/tb/tls/{stem}.chain.pem")),
            key_pem: PathBuf::from(format!("/tb/tls/{stem}.key")),
            cert_pem: PathBuf::from(format!("/tb/tls/{stem}.pem")),
            not_before: now,
            not_after: now,
        }
    }

    fn rendered(name: &str) -> String {
        let spec = INSTANCES.iter().find(|s| s.name == name).unwrap();
        let tls = TlsFiles {
            ecdsa: files("ecdsa"),
            rsa: files("rsa"),
        };
        let auth = ("alice@mail.test", "s3cret");
        render(
            spec,
            2525,
            Path::new("/tb/spool"),
            Path::new("/tb/log"),
            &tls,
            auth,
        )
    }

    #[test]
    fn only_exim_weak_sets_a_priority_string_and_only_exim_limited_a_limit() {
        let mx = rendered("exim-mx");
        assert!(!mx.contains("tls_require_ciphers"), "{mx}");
        assert!(!mx.contains("smtp_accept_max ="), "{mx}");
        let weak = rendered("exim-weak");
        assert!(
            weak.contains(&format!("\ntls_require_ciphers = {WEAK_PRIORITY}\n")),
            "{weak}"
        );
        let limited = rendered("exim-limited");
        assert!(limited.contains("\nsmtp_accept_max = 5\n"), "{limited}");
        for text in [&mx, &weak, &limited] {
            assert!(text.contains("\nqueue_only\n"), "{text}");
            assert!(text.contains("\ndaemon_smtp_ports = 2525\n"), "{text}");
            assert!(
                text.contains("tls_certificate = /tb/tls/ecdsa.chain.pem : /tb/tls/rsa.chain.pem"),
                "{text}"
            );
        }
    }

    #[test]
    fn auth_is_offered_by_exim_mx_only_and_only_over_tls() {
        let mx = rendered("exim-mx");
        assert!(
            mx.contains(
                "server_condition = ${if and{{eq{$auth2}{alice@mail.test}}{eq{$auth3}{s3cret}}}}"
            ),
            "{mx}"
        );
        assert_eq!(
            mx.matches("server_advertise_condition = ${if def:tls_in_cipher}")
                .count(),
            2
        );
        // Main options must come before the first `begin`, or Exim rejects them.
        let main = mx.split("\nbegin ").next().unwrap();
        assert!(main.contains("acl_smtp_rcpt = acl_check_rcpt"), "{main}");
        assert!(!rendered("exim-weak").contains("begin authenticators"));
    }
}
