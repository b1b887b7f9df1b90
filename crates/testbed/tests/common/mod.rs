//! Independent clients for checking the test bed: raw TCP dialogs and the
//! `openssl`, `swaks` command-line tools, all with deadlines.
#![allow(dead_code)] // Each test binary uses a different subset.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Per-step deadline of the raw dialogs; generous for a loaded CI machine.
pub const STEP: Duration = Duration::from_secs(15);

/// A raw line-oriented TCP conversation.
pub struct Dialog {
    stream: TcpStream,
    buffer: Vec<u8>,
    pub addr: SocketAddr,
}

impl Dialog {
    pub fn connect(addr: SocketAddr) -> Dialog {
        let stream = TcpStream::connect_timeout(&addr, STEP)
            .unwrap_or_else(|e| panic!("connect to {addr}: {e}"));
        stream
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        Dialog {
            stream,
            buffer: Vec::new(),
            addr,
        }
    }

    pub fn send(&mut self, line: &str) {
        self.stream
            .write_all(format!("{line}\r\n").as_bytes())
            .unwrap_or_else(|e| panic!("send {line:?} to {}: {e}", self.addr));
    }

    /// Reads lines until `done` accepts one; returns all lines read.
    pub fn read_until(&mut self, done: impl Fn(&str) -> bool) -> Vec<String> {
        let deadline = Instant::now() + STEP;
        let mut lines = Vec::new();
        loop {
            while let Some(pos) = self.buffer.iter().position(|&b| b == b'\n') {
                let raw: Vec<u8> = self.buffer.drain(..=pos).collect();
                let line = String::from_utf8_lossy(&raw).trim_end().to_string();
                let finished = done(&line);
                lines.push(line);
                if finished {
                    return lines;
                }
            }
            assert!(
                Instant::now() < deadline,
                "{}: no expected line within {STEP:?}; got {lines:?} and {:?}",
                self.addr,
                String::from_utf8_lossy(&self.buffer)
            );
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => panic!("{}: connection closed; got {lines:?}", self.addr),
                Ok(n) => self.buffer.extend_from_slice(&chunk[..n]),
                Err(e) if is_timeout(&e) => {}
                Err(e) => panic!("{}: read error {e}; got {lines:?}", self.addr),
            }
        }
    }

    /// True when the server closes the connection (EOF or reset) within
    /// [`STEP`]; anything it sends first is kept for later reads.
    pub fn closed_by_peer(&mut self) -> bool {
        let deadline = Instant::now() + STEP;
        loop {
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => return true,
                Ok(n) => self.buffer.extend_from_slice(&chunk[..n]),
                Err(e) if is_timeout(&e) => {
                    if Instant::now() >= deadline {
                        return false;
                    }
                }
                Err(_) => return true,
            }
        }
    }

    /// One SMTP reply (all lines up to the one with a space after the code).
    pub fn smtp_reply(&mut self) -> Vec<String> {
        self.read_until(|l| l.len() >= 4 && l.as_bytes()[3] == b' ')
    }

    pub fn smtp(&mut self, command: &str) -> Vec<String> {
        self.send(command);
        self.smtp_reply()
    }

    /// Lines up to the tagged IMAP response for `tag`.
    pub fn imap(&mut self, tag: &str, command: &str) -> Vec<String> {
        self.send(&format!("{tag} {command}"));
        let prefix = format!("{tag} ");
        self.read_until(move |l| l.starts_with(&prefix))
    }

    /// One POP3 status line.
    pub fn pop3(&mut self, command: &str) -> String {
        self.send(command);
        self.read_until(|l| l.starts_with("+OK") || l.starts_with("-ERR"))
            .pop()
            .unwrap()
    }
}

pub fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

/// What a command-line tool did.
pub struct ToolOutput {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

impl ToolOutput {
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// Runs `program` with `stdin` as input, killing it after `timeout`.
pub fn run_tool(program: &str, args: &[&str], stdin: &[u8], timeout: Duration) -> ToolOutput {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program} (run scripts/setup-debian.sh): {e}"));
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{program} {args:?} did not finish within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let _ = writer.join();
    ToolOutput {
        success: status.success(),
        stdout: String::from_utf8_lossy(&out_reader.join().unwrap()).into_owned(),
        stderr: String::from_utf8_lossy(&err_reader.join().unwrap()).into_owned(),
    }
}

/// A TLS session made by `openssl s_client`.
pub struct TlsProbe {
    pub output: ToolOutput,
}

impl TlsProbe {
    /// `openssl s_client -connect addr [extra...]`, stdin = `input`, then EOF.
    pub fn run(addr: SocketAddr, extra: &[&str], input: &str) -> TlsProbe {
        let connect = addr.to_string();
        let mut args = vec!["s_client", "-connect", connect.as_str()];
        args.extend_from_slice(extra);
        let output = run_tool("openssl", &args, input.as_bytes(), Duration::from_secs(30));
        TlsProbe { output }
    }

    /// STARTTLS (`proto` = smtp, imap, pop3, sieve), verifying against `ca`.
    pub fn starttls(addr: SocketAddr, proto: &str, ca: &Path) -> TlsProbe {
        let ca = ca.to_str().unwrap();
        TlsProbe::run(
            addr,
            &[
                "-starttls",
                proto,
                "-CAfile",
                ca,
                "-servername",
                "mail.test",
            ],
            "",
        )
    }

    /// Implicit TLS, verifying against `ca`.
    pub fn implicit(addr: SocketAddr, ca: &Path) -> TlsProbe {
        let ca = ca.to_str().unwrap();
        TlsProbe::run(addr, &["-CAfile", ca, "-servername", "mail.test"], "")
    }

    /// True when a cipher was negotiated (handshake completed).
    pub fn handshake_completed(&self) -> bool {
        self.output
            .stdout
            .lines()
            .any(|l| l.starts_with("New, ") && !l.contains("(NONE)"))
    }

    /// The negotiated protocol from the session summary, e.g. "TLSv1.3"
    /// (`None` when the handshake failed: s_client then prints the attempted one).
    pub fn protocol(&self) -> Option<String> {
        if !self.handshake_completed() {
            return None;
        }
        let session = self.output.stdout.lines().find_map(|l| {
            let rest = l
                .trim()
                .strip_prefix("Protocol")?
                .trim_start()
                .strip_prefix(':')?;
            Some(rest.trim().to_string())
        });
        // A TLS 1.3 session block comes with the server's ticket, which may
        // not arrive before s_client quits; a TLS 1.3 suite names its version.
        session.or_else(|| {
            self.output
                .stdout
                .lines()
                .any(|l| l.starts_with("New, TLSv1.3, "))
                .then(|| "TLSv1.3".to_string())
        })
    }

    /// The negotiated suite (OpenSSL's name) from `New, ..., Cipher is X`.
    /// That line's version is the one that introduced the suite (TLSv1.0 for
    /// ECDHE-RSA-AES128-SHA, SSLv3 for AES128-SHA), not the negotiated one:
    /// see [`TlsProbe::protocol`].
    pub fn cipher(&self) -> Option<String> {
        if !self.handshake_completed() {
            return None;
        }
        self.output.stdout.lines().find_map(|l| {
            Some(
                l.strip_prefix("New, ")?
                    .split("Cipher is ")
                    .nth(1)?
                    .trim()
                    .to_string(),
            )
        })
    }

    /// "DH, 1024 bits" from `Server Temp Key: DH, 1024 bits`.
    pub fn temp_key(&self) -> Option<String> {
        self.output
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix("Server Temp Key: ").map(str::to_string))
    }

    /// "Verify return code: N (text)".
    pub fn verify_result(&self) -> Option<String> {
        self.output.stdout.lines().rev().find_map(|l| {
            l.trim()
                .strip_prefix("Verify return code: ")
                .map(str::to_string)
        })
    }

    /// The server's leaf certificate in PEM.
    pub fn leaf_pem(&self) -> String {
        let text = &self.output.stdout;
        let begin = text
            .find("-----BEGIN CERTIFICATE-----")
            .unwrap_or_else(|| panic!("no certificate in s_client output:\n{}", self.output.all()));
        let end_marker = "-----END CERTIFICATE-----";
        let end = text[begin..].find(end_marker).unwrap() + begin + end_marker.len();
        format!("{}\n", &text[begin..end])
    }
}

/// `openssl x509 <args>` on a PEM certificate given as text.
pub fn x509(pem: &str, args: &[&str]) -> ToolOutput {
    let mut all = vec!["x509", "-noout"];
    all.extend_from_slice(args);
    run_tool("openssl", &all, pem.as_bytes(), Duration::from_secs(10))
}

/// SHA-256 fingerprint of a PEM certificate.
pub fn fingerprint(pem: &str) -> String {
    let out = x509(pem, &["-fingerprint", "-sha256"]);
    assert!(out.success, "x509 -fingerprint failed: {}", out.all());
    out.stdout.trim().to_string()
}

/// SHA-256 fingerprint of a PEM certificate file.
pub fn file_fingerprint(path: &Path) -> String {
    fingerprint(&std::fs::read_to_string(path).unwrap())
}

/// Polls `probe` until it holds, failing with `what` at the deadline.
pub fn eventually(what: &str, timeout: Duration, mut probe: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !probe() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for: {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// True while `pid` is a live (non-zombie) process.
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat
                .rfind(')')
                .and_then(|i| stat[i + 1..].trim_start().chars().next());
            !matches!(state, Some('Z' | 'X'))
        }
        Err(_) => false,
    }
}

/// True when a TCP connection to `addr` is refused.
pub fn refused(addr: SocketAddr) -> bool {
    matches!(
        TcpStream::connect_timeout(&addr, Duration::from_secs(2)),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused
    )
}

/// A TLS session made by GnuTLS's `gnutls-cli`, which still speaks what
/// Debian's OpenSSL 3 cannot (3DES, RC4) and names suites GnuTLS's way.
pub struct GnutlsProbe {
    pub output: ToolOutput,
}

impl GnutlsProbe {
    /// STARTTLS (`proto` = smtp, lmtp, imap, pop3, sieve) with the GnuTLS
    /// `priority` string, verifying the chain against `ca` and the name mail.test.
    pub fn starttls(addr: SocketAddr, proto: &str, priority: &str, ca: &Path) -> GnutlsProbe {
        let port = addr.port().to_string();
        let host = addr.ip().to_string();
        let args = [
            "--x509cafile",
            ca.to_str().unwrap(),
            "--verify-hostname",
            "mail.test",
            "--starttls-proto",
            proto,
            "--priority",
            priority,
            "-p",
            &port,
            &host,
        ];
        // After stdin's EOF gnutls-cli waits 2 s for the server to close,
        // which Exim does not do on close_notify: QUIT makes it close at once.
        let quit: &[u8] = if proto == "sieve" {
            b"LOGOUT\r\n"
        } else {
            b"QUIT\r\n"
        };
        let output = run_tool("gnutls-cli", &args, quit, Duration::from_secs(30));
        GnutlsProbe { output }
    }

    /// The session, e.g. `(TLS1.2-X.509)-(RSA)-(ARCFOUR-128)-(SHA1)`, once a
    /// handshake completed.
    pub fn description(&self) -> Option<&str> {
        self.output
            .stdout
            .lines()
            .find_map(|l| l.trim().strip_prefix("- Description: "))
    }

    /// True when GnuTLS verified the chain and the name.
    pub fn trusted(&self) -> bool {
        self.output
            .stdout
            .contains("- Status: The certificate is trusted.")
    }
}

/// Reads the whole file, or "" while it does not exist yet.
pub fn read_log(path: &Path) -> String {
    std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}
