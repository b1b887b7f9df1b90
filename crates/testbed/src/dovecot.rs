//! One real Dovecot instance (IMAP, POP3, ManageSieve, LMTP, and the auth
//! socket Postfix uses for SASL), run in the foreground as our child process.
//!
//! Dovecot treats a client whose address equals the listening address as
//! secured, so `disable_plaintext_auth` would never apply to 127.0.0.1 ->
//! 127.0.0.1. The listeners therefore bind 127.0.0.2 (strict), 127.0.0.3
//! (plaintext auth allowed) and 127.0.0.4 (no TLS at all); clients connect
//! from 127.0.0.1, the kernel's source address for the whole loopback range.
//! The relaxed postures are `local` blocks keyed on those addresses.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};

use crate::endpoint::{Endpoint, Server};
use crate::pki::Pki;
use crate::util::{self, Greeting};

/// Listeners that enforce TLS before plaintext authentication.
pub const STRICT_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
/// The IMAP listener that allows plaintext LOGIN without TLS.
pub const PLAINTEXT_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 3);
/// The POP3 listener with no TLS at all.
pub const NO_TLS_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 4);

/// The test account's user name.
pub const USER: &str = "alice@mail.test";

/// A running Dovecot, stopped on drop.
#[derive(Debug)]
pub struct Dovecot {
    child: Option<Child>,
    config: PathBuf,
    log_file: PathBuf,
    stderr_file: PathBuf,
    auth_socket: PathBuf,
    password: String,
    endpoints: Vec<Endpoint>,
}

struct ListenerSpec {
    name: &'static str,
    description: &'static str,
    /// Dovecot service that owns the listener.
    service: &'static str,
    protocol: &'static str,
    ip: Ipv4Addr,
    implicit_tls: bool,
}

const LISTENERS: [ListenerSpec; 8] = [
    ListenerSpec {
        name: "imap-starttls",
        description: "IMAP: STARTTLS offered, plaintext LOGIN refused before TLS (LOGINDISABLED)",
        service: "imap-login",
        protocol: "imap",
        ip: STRICT_IP,
        implicit_tls: false,
    },
    ListenerSpec {
        name: "imap-plain-allowed",
        description: "IMAP: STARTTLS offered but optional, plaintext LOGIN accepted without TLS",
        service: "imap-login",
        protocol: "imap",
        ip: PLAINTEXT_IP,
        implicit_tls: false,
    },
    ListenerSpec {
        name: "imaps",
        description: "IMAP over implicit TLS",
        service: "imap-login",
        protocol: "imap",
        ip: STRICT_IP,
        implicit_tls: true,
    },
    ListenerSpec {
        name: "pop3-plain",
        description: "POP3 without any TLS (no STLS), plaintext USER/PASS accepted",
        service: "pop3-login",
        protocol: "pop3",
        ip: NO_TLS_IP,
        implicit_tls: false,
    },
    ListenerSpec {
        name: "pop3s",
        description: "POP3 over implicit TLS",
        service: "pop3-login",
        protocol: "pop3",
        ip: STRICT_IP,
        implicit_tls: true,
    },
    ListenerSpec {
        name: "pop3-starttls",
        description: "POP3: STLS offered, plaintext USER/PASS refused before TLS",
        service: "pop3-login",
        protocol: "pop3",
        ip: STRICT_IP,
        implicit_tls: false,
    },
    ListenerSpec {
        name: "sieve",
        description: "ManageSieve: STARTTLS offered, no SASL mechanism before TLS",
        service: "managesieve-login",
        protocol: "sieve",
        ip: STRICT_IP,
        implicit_tls: false,
    },
    ListenerSpec {
        name: "lmtp",
        description: "LMTP (LHLO) on a loopback high port, STARTTLS offered; delivers only into the test bed's directory",
        service: "lmtp",
        protocol: "lmtp",
        ip: STRICT_IP,
        implicit_tls: false,
    },
];

impl Dovecot {
    /// Writes the configuration under `dir`, starts `dovecot -F` and waits
    /// until the auth socket exists and every listener greets.
    pub fn start(dir: &Path, pki: &Pki) -> anyhow::Result<Dovecot> {
        Self::start_with_password(dir, pki, &util::random_token(20)?)
    }

    /// [`Dovecot::start`] with a chosen password for [`USER`] (alphanumeric:
    /// it is written into configuration files unquoted).
    pub fn start_with_password(dir: &Path, pki: &Pki, password: &str) -> anyhow::Result<Dovecot> {
        check_installed()?;
        if password.is_empty() || !password.chars().all(|c| c.is_ascii_alphanumeric()) {
            bail!("the test account's password must be alphanumeric and not empty");
        }
        let mut last_error = None;
        for attempt in 1..=3 {
            let instance = dir.join(format!("attempt-{attempt}"));
            match Self::start_once(&instance, pki, password) {
                Ok(dovecot) => return Ok(dovecot),
                Err(e) if format!("{e:#}").contains("in use") => last_error = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last_error.unwrap_or_else(|| anyhow::anyhow!("Dovecot did not start")))
    }

    fn start_once(dir: &Path, pki: &Pki, password: &str) -> anyhow::Result<Dovecot> {
        let dovecot_bin = util::require_program("dovecot")?;
        let (mail_uid, mail_gid) = util::system_user("nobody")?;
        let run_dir = dir.join("run");
        let state_dir = dir.join("state");
        let home = dir.join("home/alice");
        for d in [dir, &state_dir, &home] {
            std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
            util::make_traversable(d)?;
        }
        // The mail processes run as `nobody` and create the Maildir under its home.
        std::os::unix::fs::chown(&home, Some(mail_uid), Some(mail_gid))
            .with_context(|| format!("cannot chown {} to nobody", home.display()))?;
        let users = dir.join("users");
        std::fs::write(
            &users,
            format!(
                "{USER}:{{PLAIN}}{password}:{mail_uid}:{mail_gid}::{}::\n",
                home.display()
            ),
        )?;

        let ips: Vec<Ipv4Addr> = LISTENERS.iter().map(|spec| spec.ip).collect();
        let ports = util::free_ports(&ips)?;
        let endpoints: Vec<Endpoint> = LISTENERS
            .iter()
            .zip(&ports)
            .map(|(spec, port)| Endpoint {
                name: spec.name,
                addr: SocketAddr::from((spec.ip, *port)),
                description: spec.description,
                server: Server::Dovecot,
                protocol: spec.protocol,
                implicit_tls: spec.implicit_tls,
            })
            .collect();

        let config = dir.join("dovecot.conf");
        let log_file = dir.join("dovecot.log");
        let stderr_file = dir.join("dovecot.stderr");
        let auth_socket = run_dir.join("auth-postfix");
        // sun_path holds 108 bytes; a long TMPDIR would make the socket unbindable.
        if auth_socket.as_os_str().len() > 100 {
            bail!(
                "the Dovecot auth socket path {} is too long for a unix socket: set TMPDIR to a short directory",
                auth_socket.display()
            );
        }
        // Unique per instance: it names the processes (`dovecot-<name>/auth`)
        // and keeps parallel test beds apart in `ps`.
        let instance_name = format!("mailwarden-{}", util::random_token(8)?);
        let conf = Conf {
            run_dir: &run_dir,
            state_dir: &state_dir,
            log_file: &log_file,
        };
        std::fs::write(
            &config,
            conf.render(&instance_name, pki, &users, mail_uid, &endpoints),
        )?;

        let stderr = std::fs::File::create(&stderr_file)?;
        let child = Command::new(&dovecot_bin)
            .arg("-F")
            .arg("-c")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            // Own process group: a Ctrl-C meant for the test run must not kill
            // Dovecot before Postfix (whose SASL depends on it) is stopped.
            .process_group(0)
            .spawn()
            .with_context(|| format!("cannot run {}", dovecot_bin.display()))?;
        let mut dovecot = Dovecot {
            child: Some(child),
            config,
            log_file,
            stderr_file,
            auth_socket,
            password: password.to_string(),
            endpoints,
        };
        dovecot.wait_ready()?;
        Ok(dovecot)
    }

    fn wait_ready(&mut self) -> anyhow::Result<()> {
        let timeout = Duration::from_secs(20);
        let socket = self.auth_socket.clone();
        let socket_ready = util::poll_until(timeout, || match self.exit_status() {
            Some(status) => Ok(Some(status)),
            None if socket.exists() => Ok(None),
            None => Err(format!("{} does not exist", socket.display())),
        });
        match socket_ready {
            Ok(None) => {}
            Ok(Some(status)) => {
                return Err(
                    self.with_log(anyhow::anyhow!("dovecot exited during startup ({status})"))
                );
            }
            Err(e) => {
                return Err(
                    self.with_log(anyhow::anyhow!("Dovecot's auth socket is not ready: {e}"))
                );
            }
        }
        for endpoint in &self.endpoints {
            let greeting = match (endpoint.implicit_tls, endpoint.protocol) {
                (true, _) => Greeting::TcpOnly,
                (false, "imap") => Greeting::Imap,
                (false, "pop3") => Greeting::Pop3,
                (false, "lmtp") => Greeting::Smtp,
                _ => Greeting::Sieve,
            };
            if let Err(e) =
                util::poll_until(timeout, || util::check_greeting(endpoint.addr, greeting))
            {
                return Err(self.with_log(anyhow::anyhow!(
                    "Dovecot listener `{}` ({}) is not ready: {e}",
                    endpoint.name,
                    endpoint.addr
                )));
            }
        }
        Ok(())
    }

    /// The exit status once the child has exited (it is then reaped and forgotten).
    fn exit_status(&mut self) -> Option<std::process::ExitStatus> {
        let status = self.child.as_mut()?.try_wait().ok().flatten()?;
        self.child = None;
        Some(status)
    }

    fn with_log(&self, e: anyhow::Error) -> anyhow::Error {
        e.context(format!(
            "Dovecot failed to start; its stderr:\n{}\nlast lines of {}:\n{}",
            util::log_tail(&self.stderr_file, 10),
            self.log_file.display(),
            util::log_tail(&self.log_file, 15)
        ))
    }

    /// The listeners, in configuration order.
    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    /// Dovecot's log (`log_path`).
    pub fn log_file(&self) -> &Path {
        &self.log_file
    }

    /// The configuration file (`dovecot -c FILE`).
    pub fn config(&self) -> &Path {
        &self.config
    }

    /// The auth socket (mode 0666) that Postfix's `smtpd_sasl_path` points at.
    pub fn auth_socket(&self) -> &Path {
        &self.auth_socket
    }

    /// The password of [`USER`], random per instance.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// The PID of the Dovecot master, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Stops exactly this Dovecot: SIGTERM to its master (SIGKILL after 10
    /// seconds), then the rest of its process group.
    ///
    /// The group matters: when a client still holds a connection, Dovecot's
    /// master exits while that login process and the helpers it talks to
    /// (auth, anvil, log, config, stats) stay up to 30 seconds, still bound to
    /// the listening ports. The group is the one created for Dovecot at
    /// spawn; its ID is the master's PID, which cannot be reused before we
    /// reap the master, so the master is reaped last.
    pub fn stop(&mut self) {
        if let Some(child) = self.child.take() {
            util::stop_group_leader(child);
        }
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        self.stop();
    }
}

struct Conf<'a> {
    run_dir: &'a Path,
    state_dir: &'a Path,
    log_file: &'a Path,
}

impl Conf<'_> {
    fn render(
        &self,
        instance_name: &str,
        pki: &Pki,
        users: &Path,
        mail_uid: u32,
        endpoints: &[Endpoint],
    ) -> String {
        let d = |p: &Path| p.display().to_string();
        let mut out = format!(
            "# Generated by mailwarden-testbed. One throwaway instance.
instance_name = {instance_name}
base_dir = {run}
state_dir = {state}
log_path = {log}
protocols = imap pop3 sieve lmtp
listen = {strict}
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
ssl_alt_cert = <{rsa_cert}
ssl_alt_key = <{rsa_key}
disable_plaintext_auth = yes
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
first_valid_uid = {mail_uid}
passdb {{
  driver = passwd-file
  args = {users}
}}
userdb {{
  driver = passwd-file
  args = {users}
}}
plugin {{
  sieve = file:~/sieve;active=~/.dovecot.sieve
}}
service auth {{
  unix_listener auth-postfix {{
    mode = 0666
  }}
}}
# Relaxed postures, selected by the address the client connected to.
local {plain} {{
  disable_plaintext_auth = no
}}
local {no_tls} {{
  disable_plaintext_auth = no
  ssl = no
}}
# LMTP greets with this name (the machine's host name otherwise). Whatever it
# is sent lands in the Maildir of the test account, inside the test bed.
protocol lmtp {{
  hostname = mail.test
}}
",
            run = d(self.run_dir),
            state = d(self.state_dir),
            log = d(self.log_file),
            strict = STRICT_IP,
            cert = d(&pki.valid.chain_pem),
            key = d(&pki.valid.key_pem),
            rsa_cert = d(&pki.valid_rsa.chain_pem),
            rsa_key = d(&pki.valid_rsa.key_pem),
            users = d(users),
            plain = PLAINTEXT_IP,
            no_tls = NO_TLS_IP,
        );
        // Dovecot's built-in listeners (imap 143, imaps 993, pop3 110, pop3s
        // 995, sieve 4190) stay active unless redefined: port 0 disables them,
        // or parallel test beds would fight over those fixed ports.
        // LMTP has no built-in inet listener (only a unix socket in base_dir).
        let services: [(&str, &[&str]); 4] = [
            ("imap-login", &["imap", "imaps"]),
            ("pop3-login", &["pop3", "pop3s"]),
            ("managesieve-login", &["sieve", "sieve_deprecated"]),
            ("lmtp", &[]),
        ];
        for (service, builtin) in services {
            let _ = writeln!(out, "service {service} {{");
            for name in builtin {
                let _ = writeln!(out, "  inet_listener {name} {{\n    port = 0\n  }}");
            }
            for (spec, endpoint) in LISTENERS.iter().zip(endpoints) {
                if spec.service != service {
                    continue;
                }
                let _ = writeln!(
                    out,
                    "  inet_listener mailwarden-{} {{\n    address = {}\n    port = {}\n    ssl = {}\n  }}",
                    spec.name,
                    endpoint.addr.ip(),
                    endpoint.addr.port(),
                    if spec.implicit_tls { "yes" } else { "no" }
                );
            }
            let _ = writeln!(out, "}}");
        }
        out
    }
}

/// Fails early with an install hint when Dovecot or one of its protocol packages is missing.
pub(crate) fn check_installed() -> anyhow::Result<()> {
    util::require_program("dovecot")?;
    for (binary, package) in [
        ("imap-login", "dovecot-imapd"),
        ("pop3-login", "dovecot-pop3d"),
        ("managesieve-login", "dovecot-managesieved"),
        ("lmtp", "dovecot-lmtpd"),
    ] {
        if !Path::new("/usr/lib/dovecot").join(binary).is_file() {
            bail!(
                "/usr/lib/dovecot/{binary} is missing (package {package}): {}",
                util::SETUP_HINT
            );
        }
    }
    Ok(())
}
