//! Small helpers shared by the server modules: finding programs, running
//! commands, picking ports, polling with deadlines, reading log tails, and
//! signalling processes by PID.

use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// What to tell a user whose machine lacks a mail server or tool.
pub(crate) const SETUP_HINT: &str = "run scripts/setup-debian.sh (installs postfix dovecot-imapd \
     dovecot-pop3d dovecot-managesieved dovecot-lmtpd openssl socat swaks gnutls-bin python3, \
     and unpacks Exim into /opt/mailwarden/exim4)";

/// Finds `name` in `PATH` or in the sbin directories, which a non-login
/// root shell does not always have in `PATH` (Postfix and Dovecot live there).
pub(crate) fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/bin", "/sbin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Like [`find_program`], with an error that says how to install it.
pub(crate) fn require_program(name: &str) -> anyhow::Result<PathBuf> {
    find_program(name)
        .with_context(|| format!("`{name}` not found in PATH or /usr/sbin: {SETUP_HINT}"))
}

/// Runs a command to completion and fails with its output when it exits non-zero.
pub(crate) fn run(cmd: &mut Command, what: &str) -> anyhow::Result<String> {
    let out = cmd
        .stdin(std::process::Stdio::null())
        .output()
        .with_context(|| format!("{what}: cannot run {:?}", cmd.get_program()))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if !out.status.success() {
        bail!("{what} failed ({}):\n{}", out.status, text.trim_end());
    }
    Ok(text)
}

/// Reserves one free TCP port on each address of `ips` (an address may repeat).
///
/// All listeners are held until every port is chosen, so the kernel cannot
/// hand the same port out twice; they are released on return, and the server
/// binds them a moment later. Another process could take one in between; the
/// callers retry a start that fails with "address in use".
pub(crate) fn free_ports(ips: &[Ipv4Addr]) -> anyhow::Result<Vec<u16>> {
    let mut held = Vec::with_capacity(ips.len());
    for ip in ips {
        let listener = TcpListener::bind((*ip, 0)).with_context(|| {
            format!("cannot bind a TCP port on {ip}: is the loopback interface up?")
        })?;
        held.push(listener);
    }
    held.iter()
        .map(|l| Ok(l.local_addr()?.port()))
        .collect::<std::io::Result<Vec<u16>>>()
        .context("cannot read the address of a reserved port")
}

/// Calls `probe` until it returns `Ok`, or fails with its last error at the deadline.
pub(crate) fn poll_until<T, E>(
    timeout: Duration,
    mut probe: impl FnMut() -> Result<T, E>,
) -> Result<T, E> {
    let deadline = Instant::now() + timeout;
    let mut delay = Duration::from_millis(10);
    loop {
        match probe() {
            Ok(v) => return Ok(v),
            Err(e) if Instant::now() >= deadline => return Err(e),
            Err(_) => {
                std::thread::sleep(delay);
                delay = (delay * 2).min(Duration::from_millis(200));
            }
        }
    }
}

/// What a listener says first, so readiness means "serves its protocol",
/// not merely "accepts TCP".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Greeting {
    /// `220 ` line (after any `220-` continuation lines).
    Smtp,
    /// `* OK` line that says "ready" (Dovecot first says "Waiting for
    /// authentication process" while its auth service starts).
    Imap,
    /// `+OK` line that says "ready".
    Pop3,
    /// The ManageSieve capability list ending in an `OK` line.
    Sieve,
    /// Implicit TLS: a TCP connection is all that can be checked without a TLS client.
    TcpOnly,
}

impl Greeting {
    fn is_final(self, line: &str) -> bool {
        match self {
            Greeting::Smtp => line.starts_with("220 "),
            Greeting::Imap => line.starts_with("* OK") && line.contains("ready"),
            Greeting::Pop3 => line.starts_with("+OK") && line.contains("ready"),
            Greeting::Sieve => line.starts_with("OK"),
            Greeting::TcpOnly => true,
        }
    }

    fn goodbye(self) -> &'static [u8] {
        match self {
            Greeting::Smtp | Greeting::Pop3 => b"QUIT\r\n",
            Greeting::Imap => b"a LOGOUT\r\n",
            Greeting::Sieve => b"LOGOUT\r\n",
            Greeting::TcpOnly => b"",
        }
    }
}

/// One attempt: connect, read the greeting, say goodbye.
pub(crate) fn check_greeting(addr: SocketAddr, greeting: Greeting) -> Result<(), String> {
    let io_timeout = Duration::from_secs(2);
    let stream = TcpStream::connect_timeout(&addr, io_timeout)
        .map_err(|e| format!("connect to {addr}: {e}"))?;
    if greeting == Greeting::TcpOnly {
        return Ok(());
    }
    stream
        .set_read_timeout(Some(io_timeout))
        .map_err(|e| e.to_string())?;
    let mut reader = BufReader::new(&stream);
    let mut seen = String::new();
    // A greeting is a few lines; more means something else answers here.
    for _ in 0..20 {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) => return Err(format!("{addr} closed the connection after {seen:?}")),
            Ok(_) => {}
            Err(e) => {
                return Err(format!(
                    "reading the greeting of {addr}: {e} (got {seen:?})"
                ));
            }
        }
        seen.push_str(&line);
        if greeting.is_final(&line) {
            // Best effort: a polite goodbye keeps "lost connection" noise out of the logs.
            let _ = (&stream).write_all(greeting.goodbye());
            return Ok(());
        }
    }
    Err(format!("{addr} sent no {greeting:?} greeting: {seen:?}"))
}

/// The last `lines` lines of a log file, or a note that it cannot be read.
pub(crate) fn log_tail(path: &Path, lines: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let all: Vec<&str> = text.lines().collect();
            let start = all.len().saturating_sub(lines);
            all[start..].join("\n")
        }
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}

/// True while `pid` names a live process (a zombie counts as dead: PID 1 of a
/// container may reap orphans late).
pub(crate) fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name, which may contain spaces.
        Ok(stat) => match stat.rfind(')') {
            Some(i) => !matches!(stat[i + 1..].trim_start().chars().next(), Some('Z' | 'X')),
            None => true,
        },
        Err(_) => false,
    }
}

/// Live (non-zombie) processes whose process group is `pgid`.
pub(crate) fn group_members(pgid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            // After the parenthesised command name: state, ppid, pgrp, ...
            let mut fields = stat.get(stat.rfind(')')? + 1..)?.split_whitespace();
            let state = fields.next()?;
            let pgrp: u32 = fields.nth(1)?.parse().ok()?;
            (pgrp == pgid && !matches!(state, "Z" | "X")).then_some(pid)
        })
        .collect()
}

/// Sends `signal` to exactly `pid`. Errors (already gone) are ignored on purpose:
/// callers check with [`process_alive`].
pub(crate) fn signal(pid: u32, signal: libc::c_int) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    if pid <= 0 {
        // 0 and negatives address process groups: never what we mean.
        return;
    }
    // SAFETY: kill(2) with a positive PID has no memory-safety preconditions.
    unsafe {
        libc::kill(pid, signal);
    }
}

/// Waits until `pid` is gone, up to `timeout`.
pub(crate) fn wait_gone(pid: u32, timeout: Duration) -> bool {
    poll_until(
        timeout,
        || if process_alive(pid) { Err(()) } else { Ok(()) },
    )
    .is_ok()
}

/// Stops `child`, which leads a process group of its own (spawned with
/// `process_group(0)`): SIGTERM (SIGKILL after 10 seconds), then whatever is
/// left of its group (TERM, then KILL), and reaps it last.
///
/// The group matters because daemons leave work to children that may outlive
/// them (Dovecot's login processes and helpers, Exim's per-connection
/// processes), still bound to listening ports or holding clients. Its ID is
/// the leader's PID, which cannot be reused before we reap the leader, so
/// signalling the group's members before that can never hit a stranger.
pub(crate) fn stop_group_leader(mut child: std::process::Child) {
    let pid = child.id();
    if process_alive(pid) {
        signal(pid, libc::SIGTERM);
        if !wait_gone(pid, Duration::from_secs(10)) {
            signal(pid, libc::SIGKILL);
            wait_gone(pid, Duration::from_secs(5));
        }
    }
    // Stragglers get a moment to notice the leader is gone, then a TERM, then a KILL.
    let members_gone = |timeout| {
        poll_until(timeout, || {
            let members = group_members(pid);
            if members.is_empty() {
                Ok(())
            } else {
                Err(members)
            }
        })
    };
    if let Err(members) = members_gone(Duration::from_millis(300)) {
        members.iter().for_each(|&m| signal(m, libc::SIGTERM));
        if let Err(members) = members_gone(Duration::from_secs(3)) {
            members.iter().for_each(|&m| signal(m, libc::SIGKILL));
            let _ = members_gone(Duration::from_secs(3));
        }
    }
    let _ = child.wait();
}

/// The UID and GID of a system account, from `/etc/passwd`.
pub(crate) fn system_user(name: &str) -> anyhow::Result<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").context("cannot read /etc/passwd")?;
    for line in passwd.lines() {
        let fields: Vec<&str> = line.split(':').collect();
        if let [user, _, uid, gid, ..] = fields.as_slice()
            && *user == name
        {
            let uid = uid.parse().with_context(|| format!("bad UID for {name}"))?;
            let gid = gid.parse().with_context(|| format!("bad GID for {name}"))?;
            return Ok((uid, gid));
        }
    }
    bail!("system account `{name}` does not exist: {SETUP_HINT}")
}

/// Random bytes from the kernel (passwords, serial numbers).
pub(crate) fn random_bytes<const N: usize>() -> anyhow::Result<[u8; N]> {
    use std::io::Read;
    let mut buf = [0u8; N];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .context("cannot read /dev/urandom")?;
    Ok(buf)
}

/// A random alphanumeric string (no characters that need quoting anywhere).
pub(crate) fn random_token(len: usize) -> anyhow::Result<String> {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut out = String::with_capacity(len);
    while out.len() < len {
        for b in random_bytes::<32>()? {
            // Rejection sampling keeps the distribution uniform.
            let idx = usize::from(b);
            if idx < 256 - 256 % ALPHABET.len() && out.len() < len {
                out.push(char::from(ALPHABET[idx % ALPHABET.len()]));
            }
        }
    }
    Ok(out)
}

/// Makes `path` world-traversable: the unprivileged `postfix`, `dovecot`,
/// `dovenull` and mail users must reach sockets and mail directories below it.
pub(crate) fn make_traversable(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("cannot chmod 755 {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_programs_point_at_the_setup_script() {
        let e = require_program("mailwarden-no-such-program").unwrap_err();
        assert!(format!("{e}").contains("scripts/setup-debian.sh"), "{e}");
    }

    #[test]
    fn tokens_are_alphanumeric_and_distinct() {
        let a = random_token(20).unwrap();
        let b = random_token(20).unwrap();
        assert_eq!(a.len(), 20);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()), "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn free_ports_are_distinct_per_address() {
        let ports = free_ports(&[Ipv4Addr::LOCALHOST; 8]).unwrap();
        let mut unique = ports.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), 8, "{ports:?}");
    }

    #[test]
    fn a_reaped_child_is_not_alive() {
        let mut child = Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(!process_alive(pid));
        assert!(process_alive(std::process::id()));
    }

    #[test]
    fn greeting_check_reads_multiline_smtp() {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            s.write_all(b"220-first\r\n220 mail.test ESMTP\r\n")
                .unwrap();
            let mut buf = [0u8; 16];
            let _ = std::io::Read::read(&mut s, &mut buf);
        });
        check_greeting(addr, Greeting::Smtp).unwrap();
        server.join().unwrap();
    }

    #[test]
    fn greeting_check_rejects_the_wrong_protocol() {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            s.write_all(b"+OK Dovecot ready.\r\n").unwrap();
        });
        let e = check_greeting(addr, Greeting::Smtp).unwrap_err();
        assert!(
            e.contains("closed") || e.contains("no Smtp greeting"),
            "{e}"
        );
        server.join().unwrap();
    }
}
