//! One real Postfix instance with its own configuration, queue and data
//! directories, and one `smtpd` listener per TLS/auth posture under test.
//!
//! Nothing is ever delivered: every transport is `discard`. SASL goes to the
//! Dovecot auth socket, so start Dovecot first (Postfix advertises AUTH only
//! when it can reach that socket).

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::dhparam;
use crate::endpoint::{Endpoint, Server};
use crate::pki::{CertFiles, Pki};
use crate::util::{self, Greeting};

/// The address every Postfix listener binds.
pub const POSTFIX_IP: Ipv4Addr = Ipv4Addr::LOCALHOST;

/// A running Postfix instance, stopped on drop.
#[derive(Debug)]
pub struct Postfix {
    postfix_bin: PathBuf,
    conf_dir: PathBuf,
    queue_dir: PathBuf,
    log_file: PathBuf,
    endpoints: Vec<Endpoint>,
    running: bool,
}

/// One `smtpd` listener: its endpoint metadata and its `-o` overrides.
struct ListenerSpec {
    name: &'static str,
    description: &'static str,
    implicit_tls: bool,
    overrides: Vec<(&'static str, String)>,
}

impl Postfix {
    /// Writes the configuration under `dir` and starts Postfix, then waits
    /// until every listener greets. `sasl_socket` is Dovecot's auth socket.
    ///
    /// Retries with new ports when another process took one in the meantime.
    pub fn start(dir: &Path, pki: &Pki, sasl_socket: &Path) -> anyhow::Result<Postfix> {
        let postfix_bin = util::require_program("postfix")?;
        let (uid, gid) = util::system_user("postfix")?;
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let dh1024 = dir.join("dh1024.pem");
        dhparam::generate_1024(&dh1024)?;
        let mut last_error = None;
        for attempt in 1..=3 {
            let instance = dir.join(format!("attempt-{attempt}"));
            let owner = (uid, gid);
            match Self::start_once(&postfix_bin, &instance, pki, sasl_socket, owner, &dh1024) {
                Ok(postfix) => return Ok(postfix),
                Err(e) if format!("{e:#}").contains("in use") => last_error = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last_error.unwrap_or_else(|| anyhow::anyhow!("Postfix did not start")))
    }

    fn start_once(
        postfix_bin: &Path,
        dir: &Path,
        pki: &Pki,
        sasl_socket: &Path,
        owner: (u32, u32),
        dh1024: &Path,
    ) -> anyhow::Result<Postfix> {
        let conf_dir = dir.join("conf");
        let queue_dir = dir.join("queue");
        let data_dir = dir.join("data");
        for d in [dir, &conf_dir, &queue_dir, &data_dir] {
            std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
            util::make_traversable(d)?;
        }
        // master and its lock file live in data_directory, which Postfix wants owned by `postfix`.
        std::os::unix::fs::chown(&data_dir, Some(owner.0), Some(owner.1))
            .with_context(|| format!("cannot chown {} to postfix", data_dir.display()))?;

        let specs = listener_specs(pki, dh1024);
        let ports = util::free_ports(&vec![POSTFIX_IP; specs.len()])?;
        let log_file = dir.join("postfix.log");
        std::fs::write(
            conf_dir.join("main.cf"),
            main_cf(dir, &queue_dir, &data_dir, &log_file, pki, sasl_socket),
        )?;
        std::fs::write(conf_dir.join("master.cf"), master_cf(&specs, &ports))?;
        // Postfix re-reads a configuration file modified within the last
        // second every 300 ms until it is older ("still being written"):
        // ~2 s lost by every postfix/postconf run right after writing it.
        for file in ["main.cf", "master.cf"] {
            backdate(&conf_dir.join(file))?;
        }

        let mut postfix = Postfix {
            postfix_bin: postfix_bin.to_path_buf(),
            conf_dir,
            queue_dir,
            log_file,
            endpoints: specs
                .iter()
                .zip(&ports)
                .map(|(spec, port)| Endpoint {
                    name: spec.name,
                    addr: SocketAddr::from((POSTFIX_IP, *port)),
                    description: spec.description,
                    server: Server::Postfix,
                    protocol: "smtp",
                    implicit_tls: spec.implicit_tls,
                })
                .collect(),
            running: false,
        };
        // `postfix start` runs the checks of `postfix check` itself (creating
        // the queue tree, ~2 s on a fresh instance): running both doubled that.
        // From here on a failure may leave a master behind: Drop stops it.
        postfix.running = true;
        postfix.command("start").map_err(|e| postfix.with_log(e))?;
        for endpoint in &postfix.endpoints {
            let greeting = if endpoint.implicit_tls {
                Greeting::TcpOnly
            } else {
                Greeting::Smtp
            };
            util::poll_until(Duration::from_secs(15), || {
                util::check_greeting(endpoint.addr, greeting)
            })
            .map_err(|e| {
                postfix.with_log(anyhow::anyhow!(
                    "Postfix listener `{}` ({}) is not ready: {e}",
                    endpoint.name,
                    endpoint.addr
                ))
            })?;
        }
        Ok(postfix)
    }

    /// The listeners, in configuration order.
    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    /// Postfix's log (`maillog_file`, written by the `postlogd` service).
    pub fn log_file(&self) -> &Path {
        &self.log_file
    }

    /// The configuration directory (`postfix -c DIR ...`).
    pub fn conf_dir(&self) -> &Path {
        &self.conf_dir
    }

    /// The PID of the `master` process, from its PID file.
    pub fn master_pid(&self) -> Option<u32> {
        let text = std::fs::read_to_string(self.queue_dir.join("pid/master.pid")).ok()?;
        text.trim().parse().ok()
    }

    /// Stops this instance (`postfix -c DIR stop`) and waits until its master is gone.
    pub fn stop(&mut self) -> anyhow::Result<()> {
        if !self.running {
            return Ok(());
        }
        let pid = self.master_pid();
        let result = self.command("stop");
        if let Some(pid) = pid
            && !util::wait_gone(pid, Duration::from_secs(10))
        {
            // `postfix stop` gave up: end exactly this master, whose children follow it.
            util::signal(pid, libc::SIGKILL);
            util::wait_gone(pid, Duration::from_secs(5));
        }
        self.running = false;
        // "not running" is success for a stop.
        match result {
            Err(e) if pid.is_some_and(util::process_alive) => Err(e),
            _ => Ok(()),
        }
    }

    fn command(&self, verb: &str) -> anyhow::Result<String> {
        util::run(
            Command::new(&self.postfix_bin)
                .arg("-c")
                .arg(&self.conf_dir)
                .arg(verb),
            &format!("postfix -c {} {verb}", self.conf_dir.display()),
        )
    }

    fn with_log(&self, e: anyhow::Error) -> anyhow::Error {
        e.context(format!(
            "Postfix failed to start; last lines of {}:\n{}",
            self.log_file.display(),
            util::log_tail(&self.log_file, 15)
        ))
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        // Nothing useful can be done with an error while dropping; stop() already escalated.
        let _ = self.stop();
    }
}

fn listener_specs(pki: &Pki, dh1024: &Path) -> Vec<ListenerSpec> {
    let cert = |c: &CertFiles| format!("{}, {}", c.key_pem.display(), c.chain_pem.display());
    let with_cert = |name, description, c: &CertFiles| ListenerSpec {
        name,
        description,
        implicit_tls: false,
        overrides: vec![("smtpd_tls_chain_files", cert(c))],
    };
    let plain = |name, description, overrides| ListenerSpec {
        name,
        description,
        implicit_tls: false,
        overrides,
    };
    let sasl = |level: &str, auth_only: &str| {
        vec![
            ("smtpd_tls_security_level", level.to_string()),
            ("smtpd_sasl_auth_enable", "yes".to_string()),
            ("smtpd_tls_auth_only", auth_only.to_string()),
        ]
    };
    // TLS 1.0 only. OpenSSL 3 negotiates TLS 1.0/1.1 only at security level 0.
    let tls10 = vec![
        ("smtpd_tls_protocols", ">=TLSv1, <=TLSv1".to_string()),
        (
            "smtpd_tls_mandatory_protocols",
            ">=TLSv1, <=TLSv1".to_string(),
        ),
        ("tls_medium_cipherlist", "DEFAULT:@SECLEVEL=0".to_string()),
        ("tls_high_cipherlist", "DEFAULT:@SECLEVEL=0".to_string()),
    ];
    vec![
        plain(
            "smtp-mx",
            "SMTP (MX style): STARTTLS offered, no AUTH, valid certificate",
            vec![],
        ),
        plain(
            "smtp-plain",
            "SMTP without STARTTLS",
            vec![("smtpd_tls_security_level", "none".to_string())],
        ),
        plain(
            "submission-enforced",
            "submission: STARTTLS required (530 before it), AUTH only after TLS",
            sasl("encrypt", "yes"),
        ),
        plain(
            "submission-auth-before-tls",
            "submission: STARTTLS optional, AUTH PLAIN LOGIN offered and MAIL accepted before TLS",
            sasl("may", "no"),
        ),
        ListenerSpec {
            name: "smtps",
            description: "submissions: implicit TLS, AUTH",
            implicit_tls: true,
            overrides: {
                let mut o = sasl("encrypt", "yes");
                o.push(("smtpd_tls_wrappermode", "yes".to_string()));
                o
            },
        },
        plain(
            "smtp-tls10",
            "SMTP with STARTTLS that negotiates TLS 1.0 only",
            tls10,
        ),
        with_cert(
            "smtp-expired",
            "SMTP STARTTLS with an expired certificate",
            &pki.expired,
        ),
        with_cert(
            "smtp-not-yet-valid",
            "SMTP STARTTLS with a certificate valid only from 30 days on",
            &pki.not_yet_valid,
        ),
        with_cert(
            "smtp-expiring",
            "SMTP STARTTLS with a certificate expiring in 10 days",
            &pki.expiring_soon,
        ),
        with_cert(
            "smtp-self-signed",
            "SMTP STARTTLS with a self-signed certificate",
            &pki.self_signed,
        ),
        with_cert(
            "smtp-wrong-name",
            "SMTP STARTTLS with a CA-signed certificate for other.test only",
            &pki.wrong_name,
        ),
        with_cert(
            "smtp-rsa1024",
            "SMTP STARTTLS with a CA-signed RSA-1024 certificate",
            &pki.rsa1024,
        ),
        with_cert(
            "smtp-sha1",
            "SMTP STARTTLS with a CA-signed SHA-1 certificate",
            &pki.sha1,
        ),
        plain(
            "smtp-no-relay",
            "SMTP that relays for nobody, not even loopback (RCPT to another domain: 554 Relay access denied)",
            vec![(
                "smtpd_relay_restrictions",
                "reject_unauth_destination".to_string(),
            )],
        ),
        plain(
            "smtp-banner-version",
            "SMTP whose banner discloses software and version",
            vec![(
                "smtpd_banner",
                "$myhostname ESMTP $mail_name $mail_version (Debian)".to_string(),
            )],
        ),
        plain(
            "smtp-tls13-only",
            "SMTP STARTTLS that accepts TLS 1.3 only (TLS 1.2 and older refused)",
            protocols(">=TLSv1.3"),
        ),
        plain(
            "smtp-cbc-only",
            "SMTP STARTTLS, TLS 1.2 only, CBC suites only: ECDHE-RSA-AES128-SHA, AES128-SHA (RSA certificate)",
            tls12_with_ciphers(CBC_ONLY_CIPHERS),
        ),
        plain(
            "smtp-dhe-1024",
            "SMTP STARTTLS, TLS 1.2 only, DHE-RSA suites only with a 1024-bit DH group",
            {
                let mut o = tls12_with_ciphers(DHE_1024_CIPHERS);
                o.push(("smtpd_tls_dh1024_param_file", dh1024.display().to_string()));
                o
            },
        ),
        plain(
            "smtp-throttled",
            "SMTP allowing one connection per client at a time, loopback included (the second gets 421 4.7.0)",
            vec![
                ("smtpd_client_connection_count_limit", "1".to_string()),
                // Empty: by default $mynetworks (here 127.0.0.0/8) is exempt.
                ("smtpd_client_event_limit_exceptions", String::new()),
            ],
        ),
    ]
}

/// The OpenSSL cipher list of `smtp-cbc-only`: CBC suites with SHA-1 MACs,
/// one with forward secrecy and one without. Both need the RSA certificate.
pub const CBC_ONLY_CIPHERS: &str = "ECDHE-RSA-AES128-SHA:AES128-SHA";

/// The OpenSSL cipher list of `smtp-dhe-1024`: DHE with the RSA certificate.
/// Postfix does not apply Debian's system-wide `@SECLEVEL=2` (which refuses DH
/// under 2048 bits; a 1024-bit group was served without it), so the explicit
/// level 1 (1024 bits allowed) only keeps this listener working should it ever.
pub const DHE_1024_CIPHERS: &str =
    "DHE-RSA-AES256-GCM-SHA384:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES128-SHA:@SECLEVEL=1";

/// `smtpd_tls_protocols` and `smtpd_tls_mandatory_protocols` set to `range`.
fn protocols(range: &str) -> Vec<(&'static str, String)> {
    vec![
        ("smtpd_tls_protocols", range.to_string()),
        ("smtpd_tls_mandatory_protocols", range.to_string()),
    ]
}

/// TLS 1.2 only (TLS 1.3 suites are not governed by cipher lists) with
/// exactly `ciphers`, opportunistic and mandatory alike.
fn tls12_with_ciphers(ciphers: &str) -> Vec<(&'static str, String)> {
    let mut o = protocols(">=TLSv1.2, <=TLSv1.2");
    o.extend([
        ("smtpd_tls_ciphers", "high".to_string()),
        ("smtpd_tls_mandatory_ciphers", "high".to_string()),
        ("tls_high_cipherlist", ciphers.to_string()),
    ]);
    o
}

fn main_cf(
    dir: &Path,
    queue_dir: &Path,
    data_dir: &Path,
    log_file: &Path,
    pki: &Pki,
    sasl_socket: &Path,
) -> String {
    let d = |p: &Path| p.display().to_string();
    format!(
        "# Generated by mailwarden-testbed. One throwaway instance; nothing is ever delivered.
compatibility_level = 3.6
queue_directory = {queue}
data_directory = {data}
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop

# maillog_file needs the postlog service in master.cf, and its directory must be
# listed here: Postfix refuses (silently, before logging works) any other prefix.
maillog_file = {log}
maillog_file_prefixes = {dir}
syslog_name = postfix

myhostname = mail.test
mydomain = mail.test
myorigin = mail.test
mydestination = mail.test, localhost
mynetworks = 127.0.0.0/8
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
biff = no
append_dot_mydomain = no
readme_directory = no

# Accept any local recipient and discard everything.
alias_maps =
alias_database =
local_recipient_maps =
default_transport = discard
local_transport = discard
relay_transport = discard
virtual_transport = discard

smtpd_tls_chain_files = {valid_key}, {valid_chain}, {rsa_key}, {rsa_chain}
smtpd_tls_security_level = may
# Postfix itself would accept TLS 1.0 and 1.1 from any client offering them
# (observed with Debian's OpenSSL 3); only smtp-tls10 is meant to.
smtpd_tls_protocols = >=TLSv1.2
smtpd_tls_mandatory_protocols = >=TLSv1.2
smtpd_tls_loglevel = 1
smtpd_sasl_type = dovecot
smtpd_sasl_path = {sasl}
smtpd_sasl_auth_enable = no
",
        queue = d(queue_dir),
        data = d(data_dir),
        log = d(log_file),
        dir = d(dir),
        valid_key = d(&pki.valid.key_pem),
        valid_chain = d(&pki.valid.chain_pem),
        rsa_key = d(&pki.valid_rsa.key_pem),
        rsa_chain = d(&pki.valid_rsa.chain_pem),
        sasl = d(sasl_socket),
    )
}

fn master_cf(specs: &[ListenerSpec], ports: &[u16]) -> String {
    let mut out = String::from(
        "# Generated by mailwarden-testbed. No chroot: smtpd must reach the Dovecot\n\
         # auth socket and the certificates by absolute path.\n",
    );
    for (spec, port) in specs.iter().zip(ports) {
        // The infallible String writer: fmt::Write for String never fails.
        let _ = writeln!(out, "{POSTFIX_IP}:{port} inet n - n - - smtpd");
        let _ = writeln!(out, "  -o syslog_name=postfix/{}", spec.name);
        for (key, value) in &spec.overrides {
            // `-o { k = v }` (Postfix >= 3.0) allows spaces and commas in values.
            let _ = writeln!(out, "  -o {{ {key} = {value} }}");
        }
    }
    out.push_str(
        "pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
",
    );
    out
}

/// Sets the modification time of `path` a minute into the past.
fn backdate(path: &Path) -> anyhow::Result<()> {
    let past = std::time::SystemTime::now() - Duration::from_secs(60);
    std::fs::File::options()
        .write(true)
        .open(path)
        .and_then(|f| f.set_modified(past))
        .with_context(|| format!("cannot set the modification time of {}", path.display()))
}

/// Fails early with an install hint when the Postfix daemons are missing.
pub(crate) fn check_installed() -> anyhow::Result<()> {
    util::require_program("postfix")?;
    if !Path::new("/usr/lib/postfix/sbin/smtpd").is_file() {
        bail!(
            "Postfix's smtpd is missing from /usr/lib/postfix/sbin: {}",
            util::SETUP_HINT
        );
    }
    Ok(())
}
