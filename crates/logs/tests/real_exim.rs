//! Accuracy on logs written by the test bed's real Exim: a scanner, a relay
//! prober, a client that sends garbage until dropped, a password guesser
//! over STARTTLS, and a legitimate user who mistypes once; the mainlog and
//! the rejectlog (which repeats rejections) are both read. No message is sent.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mailwarden_logs::detect::{Detector, Thresholds};
use mailwarden_logs::event::EventKind;
use mailwarden_logs::{Analyzer, Collect};
use mailwarden_testbed::Testbed;

fn tb() -> &'static Testbed {
    Testbed::shared()
}

fn connect(from: u8, to: SocketAddr) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket
        .bind(&SocketAddr::from((Ipv4Addr::new(127, 0, 0, from), 0)).into())
        .unwrap();
    socket
        .connect_timeout(&to.into(), Duration::from_secs(10))
        .unwrap();
    let stream: TcpStream = socket.into();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream
}

/// Sends an SMTP command and reads the reply (all its lines).
fn smtp(r: &mut BufReader<TcpStream>, cmd: Option<&str>) -> String {
    if let Some(cmd) = cmd {
        r.get_mut()
            .write_all(format!("{cmd}\r\n").as_bytes())
            .unwrap();
    }
    let mut all = String::new();
    loop {
        let mut l = String::new();
        if r.read_line(&mut l).unwrap_or(0) == 0 {
            return all;
        }
        all.push_str(&l);
        if l.as_bytes().get(3) != Some(&b'-') {
            return all;
        }
    }
}

fn scanner() {
    for name in ["exim-mx", "exim-weak", "exim-limited"] {
        let s = connect(61, tb().endpoint(name));
        std::thread::sleep(Duration::from_millis(200));
        drop(s);
    }
}

fn relay_prober() {
    let mut r = BufReader::new(connect(60, tb().endpoint("exim-mx")));
    smtp(&mut r, None);
    smtp(&mut r, Some("EHLO prober.test"));
    smtp(&mut r, Some("MAIL FROM:<probe@prober.test>"));
    for i in 0..3 {
        let reply = smtp(&mut r, Some(&format!("RCPT TO:<v{i}@example.net>")));
        assert!(reply.starts_with("550"), "{reply}");
    }
    smtp(&mut r, Some("QUIT"));
}

fn garbage() {
    let mut r = BufReader::new(connect(62, tb().endpoint("exim-limited")));
    smtp(&mut r, None);
    for _ in 0..10 {
        let reply = smtp(&mut r, Some("XYZZY"));
        if reply.is_empty() || !reply.starts_with("500 unrecognized") {
            break;
        }
    }
    let mut rest = Vec::new();
    let _ = r.read_to_end(&mut rest);
}

/// AUTH PLAIN attempts over STARTTLS (Exim offers AUTH only after TLS), from
/// `127.0.0.<from>`: `openssl s_client` does the TLS.
fn auth_over_tls(from: u8, passwords: &[&str]) -> String {
    let addr = tb().endpoint("exim-mx");
    let mut child = Command::new("openssl")
        .args([
            "s_client",
            "-quiet",
            "-crlf",
            "-ign_eof",
            "-starttls",
            "smtp",
        ])
        .args(["-bind", &format!("127.0.0.{from}:0")])
        .args(["-connect", &addr.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut say = |line: String| {
        std::thread::sleep(Duration::from_millis(600));
        stdin.write_all(format!("{line}\n").as_bytes()).unwrap();
        stdin.flush().unwrap();
    };
    say("EHLO client.test".into());
    for p in passwords {
        say(format!(
            "AUTH PLAIN {}",
            base64(format!("\0{}\0{p}", tb().user()).as_bytes())
        ));
    }
    say("QUIT".into());
    std::thread::sleep(Duration::from_millis(600));
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
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
            out.push(if i <= chunk.len() {
                T[((n >> (18 - 6 * i)) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

#[test]
fn finds_exactly_the_attackers_in_real_exim_logs() {
    let tb = tb();
    let (main, reject) = (tb.exim_log(), tb.exim_reject_log());
    let offsets = [(main.clone(), size(&main)), (reject.clone(), size(&reject))];

    let guesser = std::thread::spawn(|| {
        auth_over_tls(63, &["wrong1", "wrong2", "wrong3", "wrong4", "wrong5"])
    });
    let legit = std::thread::spawn(|| auth_over_tls(64, &["typo", Testbed::shared().password()]));
    let others: Vec<std::thread::JoinHandle<()>> = vec![
        std::thread::spawn(scanner),
        std::thread::spawn(relay_prober),
        std::thread::spawn(garbage),
    ];
    for t in others {
        t.join().unwrap();
    }
    let guesses = guesser.join().unwrap();
    assert_eq!(guesses.matches("535 ").count(), 5, "{guesses}");
    let legit = legit.join().unwrap();
    assert!(legit.contains("235 "), "{legit}");

    // Let the daemons finish writing.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut last = 0;
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1000));
        let now = size(&main) + size(&reject);
        if now == last {
            break;
        }
        last = now;
    }
    let mut analyzer = Analyzer::new(Thresholds::default());
    let mut all = Collect::default();
    let mut dump = String::new();
    for (path, from) in &offsets {
        let data = std::fs::read(path).unwrap();
        let tail = data.get(*from as usize..).unwrap_or_default();
        dump.push_str(&format!(
            "== {}\n{}",
            path.display(),
            String::from_utf8_lossy(tail)
        ));
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let r = analyzer.read_all(tail, &name, mailwarden_logs::clock_now());
        all.events.extend(r.events);
        all.alerts.extend(r.alerts);
    }

    let mut found: BTreeMap<String, BTreeSet<Detector>> = BTreeMap::new();
    for a in &all.alerts {
        found
            .entry(a.source.to_string())
            .or_default()
            .insert(a.alert);
    }
    let expected: BTreeMap<String, BTreeSet<Detector>> = [
        ("127.0.0.60", Detector::RelayProbing),
        ("127.0.0.61", Detector::Scanning),
        ("127.0.0.62", Detector::ProtocolViolations),
        ("127.0.0.63", Detector::BruteForce),
    ]
    .into_iter()
    .map(|(s, d)| (s.to_string(), BTreeSet::from([d])))
    .collect();
    assert_eq!(found, expected, "\n{dump}");

    let from = |ip: &'static str| {
        all.events
            .iter()
            .filter(move |e| e.source.map(|s| s.to_string()).as_deref() == Some(ip))
    };
    // The rejectlog repeats the three refusals: counted once.
    assert_eq!(
        from("127.0.0.60")
            .filter(|e| e.kind.name() == "relay_denied")
            .count(),
        3,
        "\n{dump}"
    );
    // The legitimate user's typo is one counted failure, and the local port is known.
    let typo: Vec<_> = from("127.0.0.64")
        .filter(|e| matches!(e.kind, EventKind::AuthFailed { .. }))
        .collect();
    assert_eq!(typo.len(), 1, "\n{dump}");
    assert_eq!(typo[0].port, Some(tb.endpoint("exim-mx").port()));
    assert_eq!(typo[0].user.as_deref(), Some(tb.user()));
}
