//! Accuracy on logs written by the real servers: drives attacks and one
//! legitimate user against the test bed's Postfix and Dovecot from distinct
//! loopback source addresses, reads what the servers logged during the test,
//! and asserts the analyzer flags exactly the attackers, with the right
//! detectors, and nobody else. No message is ever sent (no DATA).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use mailwarden_logs::Analyzer;
use mailwarden_logs::detect::{Detector, Thresholds};
use mailwarden_logs::event::EventKind;
use mailwarden_testbed::Testbed;

fn tb() -> &'static Testbed {
    Testbed::shared()
}

/// A line-oriented client connected from `127.0.0.<from>`.
struct Client {
    reader: BufReader<TcpStream>,
}

fn connect(from: u8, to: SocketAddr) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    let src = SocketAddr::from((Ipv4Addr::new(127, 0, 0, from), 0));
    socket.bind(&src.into()).unwrap();
    socket
        .connect_timeout(&to.into(), Duration::from_secs(10))
        .unwrap();
    let stream: TcpStream = socket.into();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    stream
}

impl Client {
    fn new(from: u8, to: SocketAddr) -> Client {
        Client {
            reader: BufReader::new(connect(from, to)),
        }
    }

    fn line(&mut self) -> String {
        let mut s = String::new();
        self.reader.read_line(&mut s).unwrap();
        s
    }

    fn send(&mut self, cmd: &str) {
        self.reader
            .get_mut()
            .write_all(format!("{cmd}\r\n").as_bytes())
            .unwrap();
    }

    /// Sends and reads until a line starting with `done` (IMAP tag) or an SMTP/POP3 final line.
    fn cmd(&mut self, cmd: &str, done: &str) -> String {
        self.send(cmd);
        self.until(done)
    }

    fn until(&mut self, done: &str) -> String {
        let mut all = String::new();
        loop {
            let l = self.line();
            all.push_str(&l);
            if l.is_empty() || (!done.is_empty() && l.starts_with(done)) {
                return all;
            }
            // SMTP: a final line has a space after the code.
            if done.is_empty() && l.len() >= 4 && l.as_bytes().get(3) == Some(&b' ') {
                return all;
            }
        }
    }

    fn smtp(&mut self, cmd: &str) -> String {
        self.cmd(cmd, "")
    }
}

fn imap_failures(from: u8, user: &str, times: usize) {
    let mut c = Client::new(from, tb().endpoint("imap-plain-allowed"));
    assert!(c.line().starts_with("* OK"));
    for i in 0..times {
        let r = c.cmd(&format!("a{i} LOGIN {user} wrong-{i}"), &format!("a{i} "));
        assert!(r.contains("NO"), "{r}");
    }
    c.cmd("z LOGOUT", "z ");
}

fn pop3_failure(from: u8, user: &str) {
    let mut c = Client::new(from, tb().endpoint("pop3-plain"));
    assert!(c.line().starts_with("+OK"));
    c.send(&format!("USER {user}"));
    c.line();
    c.send("PASS wrong");
    let r = c.line();
    assert!(r.starts_with("-ERR"), "{r}");
    c.send("QUIT");
    c.line();
}

fn smtp_auth(from: u8, user: &str, password: &str) -> String {
    let mut c = Client::new(from, tb().endpoint("submission-auth-before-tls"));
    c.until("220 ");
    c.smtp("EHLO client.test");
    let r = c.smtp(&format!(
        "AUTH PLAIN {}",
        base64(format!("\0{user}\0{password}").as_bytes())
    ));
    c.smtp("QUIT");
    r
}

/// Connects and hangs up without a word.
fn drop_connection(from: u8, name: &str) {
    let s = connect(from, tb().endpoint(name));
    std::thread::sleep(Duration::from_millis(200));
    drop(s);
}

fn scanner() {
    for name in ["smtp-plain", "imap-starttls", "pop3-plain", "sieve"] {
        drop_connection(6, name);
    }
}

fn brute_force() {
    imap_failures(8, "alice@mail.test", 3);
    pop3_failure(8, "alice@mail.test");
    pop3_failure(8, "alice@mail.test");
}

fn sprayer() {
    // SMTP AUTH first: later, Dovecot's per-address penalty may outlast
    // Postfix's patience with the auth server (454 "Connection lost").
    let r = smtp_auth(9, "frank", "wrong");
    assert!(r.starts_with("535") || r.starts_with("454"), "{r}");
    imap_failures(9, "bob", 1);
    imap_failures(9, "carol", 1);
    pop3_failure(9, "erin");
    pop3_failure(9, "grace");
}

fn relay_prober() {
    let mut c = Client::new(12, tb().endpoint("smtp-no-relay"));
    c.until("220 ");
    c.smtp("EHLO prober.test");
    c.smtp("MAIL FROM:<probe@prober.test>");
    for rcpt in ["victim@example.net", "other@example.org", "x@example.com"] {
        let r = c.smtp(&format!("RCPT TO:<{rcpt}>"));
        assert!(
            r.starts_with("554") && r.contains("Relay access denied"),
            "{r}"
        );
    }
    c.smtp("QUIT");
}

/// A TLS 1.0-only ClientHello (no extensions): servers requiring TLS 1.2 refuse it.
fn tls10_hello() -> Vec<u8> {
    let mut body = vec![0x03, 0x01];
    body.extend([7u8; 32]);
    body.push(0);
    body.extend([0x00, 0x04, 0xc0, 0x14, 0x00, 0x2f, 0x01, 0x00]);
    let mut hs = vec![0x01, 0x00];
    hs.extend((body.len() as u16).to_be_bytes());
    hs.extend(body);
    let mut rec = vec![0x16, 0x03, 0x01];
    rec.extend((hs.len() as u16).to_be_bytes());
    rec.extend(hs);
    rec
}

fn tls_downgrader() {
    for name in ["smtps", "imaps", "pop3s"] {
        let mut s = connect(13, tb().endpoint(name));
        s.write_all(&tls10_hello()).unwrap();
        let mut buf = [0u8; 64];
        let _ = s.read(&mut buf);
    }
}

fn protocol_violator() {
    // HTTP at an SMTP port, twice. Postfix logs a non-SMTP command each
    // time, and "improper command pipelining" too when the request beat
    // its greeting — a race, so the test counts on neither: two non-SMTP
    // commands and the error limit below make the three violations the
    // default threshold asks for.
    for _ in 0..2 {
        let mut s = connect(14, tb().endpoint("smtp-plain"));
        s.write_all(b"GET / HTTP/1.0\r\nHost: mail.test\r\n\r\n")
            .unwrap();
        let mut sink = Vec::new();
        let _ = s.read_to_end(&mut sink);
    }
    // Garbage commands until Postfix gives up.
    let mut c = Client::new(14, tb().endpoint("smtp-mx"));
    c.until("220 ");
    for _ in 0..25 {
        let r = c.smtp("XYZZY");
        if r.is_empty() || r.starts_with("421") {
            break;
        }
    }
}

fn compromise() {
    imap_failures(15, "alice@mail.test", 3);
    imap_failures(15, "alice@mail.test", 2);
    let mut c = Client::new(15, tb().endpoint("imap-plain-allowed"));
    c.line();
    let r = c.cmd(
        &format!("a LOGIN {} {}", tb().user(), tb().password()),
        "a ",
    );
    assert!(r.contains("a OK"), "{r}");
    c.cmd("z LOGOUT", "z ");
}

fn legitimate_user() {
    imap_failures(20, tb().user(), 1);
    let mut c = Client::new(20, tb().endpoint("imap-plain-allowed"));
    c.line();
    let r = c.cmd(
        &format!("a LOGIN {} {}", tb().user(), tb().password()),
        "a ",
    );
    assert!(r.contains("a OK"), "{r}");
    c.cmd("z LOGOUT", "z ");
    let r = smtp_auth(20, tb().user(), tb().password());
    assert!(r.starts_with("235"), "{r}");
}

fn distributed(from: u8) {
    pop3_failure(from, "dave");
}

fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// Waits until both logs stop growing, then returns what was appended since the offsets.
fn settle_and_read(offsets: &[(&Path, u64)]) -> Vec<(String, Vec<u8>)> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last: Vec<u64> = Vec::new();
    loop {
        std::thread::sleep(Duration::from_millis(1500));
        let now: Vec<u64> = offsets.iter().map(|(p, _)| size(p)).collect();
        if now == last || Instant::now() > deadline {
            break;
        }
        last = now;
    }
    offsets
        .iter()
        .map(|(path, from)| {
            let all = std::fs::read(path).unwrap();
            let tail = all.get(*from as usize..).unwrap_or_default().to_vec();
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                tail,
            )
        })
        .collect()
}

#[test]
fn finds_exactly_the_attackers_in_real_postfix_and_dovecot_logs() {
    let tb = tb();
    let offsets = [
        (tb.postfix_log(), size(tb.postfix_log())),
        (tb.dovecot_log(), size(tb.dovecot_log())),
    ];

    let mut threads: Vec<std::thread::JoinHandle<()>> = vec![
        std::thread::spawn(scanner),
        std::thread::spawn(brute_force),
        std::thread::spawn(sprayer),
        std::thread::spawn(relay_prober),
        std::thread::spawn(tls_downgrader),
        std::thread::spawn(protocol_violator),
        std::thread::spawn(compromise),
        std::thread::spawn(legitimate_user),
    ];
    for from in 30..40 {
        threads.push(std::thread::spawn(move || distributed(from)));
    }
    for t in threads {
        t.join().unwrap();
    }

    let logs = settle_and_read(&offsets);
    let mut analyzer = Analyzer::new(Thresholds::default());
    let mut sink = mailwarden_logs::Collect::default();
    for (name, data) in &logs {
        let report = analyzer.read_all(data, name, mailwarden_logs::clock_now());
        sink.events.extend(report.events);
        sink.alerts.extend(report.alerts);
    }
    let dump = || {
        logs.iter()
            .map(|(n, d)| format!("== {n}\n{}", String::from_utf8_lossy(d)))
            .collect::<String>()
    };

    let mut found: BTreeMap<String, BTreeSet<Detector>> = BTreeMap::new();
    for a in &sink.alerts {
        found
            .entry(a.source.to_string())
            .or_default()
            .insert(a.alert);
        assert!(!a.evidence.is_empty(), "alert without evidence: {a:?}");
    }
    let mut expected: BTreeMap<String, BTreeSet<Detector>> = BTreeMap::new();
    let mut expect = |last: u8, detectors: &[Detector]| {
        expected.insert(
            format!("127.0.0.{last}"),
            detectors.iter().copied().collect(),
        );
    };
    use Detector::*;
    expect(6, &[Scanning]);
    expect(8, &[BruteForce]);
    expect(9, &[PasswordSpraying]);
    expect(12, &[RelayProbing]);
    expect(13, &[TlsFailures, TlsDowngrade]);
    expect(14, &[ProtocolViolations]);
    expect(15, &[BruteForce, SuccessAfterFailures]);
    for d in 30..40 {
        expect(d, &[DistributedAttack]);
    }
    assert_eq!(
        found,
        expected,
        "alerts differ from the attacks driven\n{}",
        dump()
    );

    // The legitimate user mistyped once: counted, never listed.
    let legit: Vec<_> = sink
        .events
        .iter()
        .filter(|e| e.source.map(|s| s.to_string()) == Some("127.0.0.20".into()))
        .collect();
    assert!(
        legit
            .iter()
            .any(|e| matches!(e.kind, EventKind::AuthFailed { counted: 1, .. })),
        "{legit:#?}"
    );
    assert!(legit.iter().any(|e| matches!(
        e.kind,
        EventKind::AuthSucceeded {
            tls: Some(false),
            ..
        }
    )));
    assert!(
        legit
            .iter()
            .any(|e| matches!(e.kind, EventKind::PlaintextAllowed { .. }))
    );

    // Every failed attempt driven was counted exactly once.
    let counted = |last: u8| -> u32 {
        let ip = format!("127.0.0.{last}");
        sink.events
            .iter()
            .filter(|e| e.source.map(|s| s.to_string()).as_deref() == Some(ip.as_str()))
            .map(|e| match e.kind {
                EventKind::AuthFailed { counted, .. } => counted,
                _ => 0,
            })
            .sum()
    };
    assert_eq!(
        (
            counted(8),
            counted(9),
            counted(15),
            counted(20),
            counted(31)
        ),
        (5, 5, 5, 1, 1),
        "{}",
        dump()
    );
    // The summary lists the same sources.
    let summary: BTreeSet<String> = analyzer
        .engine()
        .summary()
        .iter()
        .map(|s| s.source.to_string())
        .collect();
    assert_eq!(summary, expected.keys().cloned().collect());
}
