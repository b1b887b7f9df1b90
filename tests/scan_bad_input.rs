//! End to end: hostile servers and bad input get a clear per-port state and
//! exit status, never a panic or a hang. Each run is bounded by a watchdog that
//! fails the test if the process does not finish (a hang guard, not a timing test).

mod common;

use std::io::Read as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use mailwarden_model::{FailureKind, PortState, ScanReport};

/// Runs mailwarden, killing it (and failing) if it outlives `limit`.
fn run_bounded(args: &[&str], limit: Duration) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mailwarden"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("mailwarden {args:?} did not finish within {limit:?}: a hang");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stderr = err_reader.join().unwrap();
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    (
        status.code().unwrap_or(-1),
        out_reader.join().unwrap(),
        stderr,
    )
}

fn hostile_scan() -> ScanReport {
    let (ip, ports) = ports(&[
        ("drip", "submission"),
        ("flood", "submission"),
        ("garbage", "submission"),
        ("fake-starttls", "submission"),
        ("silent", "submission"),
        ("tls-bogus-length", "submissions"),
        ("tls-bad-inner-length", "submissions"),
        ("accept-then-close", "submission"),
        ("http", "smtp"),
        ("closed", "smtp"),
    ]);
    let (code, stdout, stderr) = run_bounded(
        &[
            "scan",
            &ip,
            "--ports",
            &ports,
            "--format",
            "json",
            "--timeout",
            "2",
        ],
        Duration::from_secs(60),
    );
    assert!(code == 0, "exit {code}: {stderr}");
    serde_json::from_str(&stdout).expect("valid JSON despite hostile servers")
}

fn endpoint<'a>(r: &'a ScanReport, name: &str) -> &'a mailwarden_model::EndpointObservation {
    let addr = testbed().endpoint(name);
    r.endpoints.iter().find(|e| e.address == addr).unwrap()
}

#[test]
fn hostile_servers_get_a_clear_state_each() {
    let r = hostile_scan();
    let drip = endpoint(&r, "drip");
    assert_eq!(drip.state, PortState::Error);
    assert_eq!(
        drip.state_detail.as_ref().unwrap().kind,
        FailureKind::IoTimeout
    );

    let flood = endpoint(&r, "flood");
    assert_eq!(flood.state, PortState::Error);
    assert_eq!(
        flood.state_detail.as_ref().unwrap().kind,
        FailureKind::ReplyTooLarge
    );

    let garbage = endpoint(&r, "garbage");
    assert_eq!(garbage.state, PortState::OpenNotMail);
    assert!(
        !garbage.non_mail_reply.is_empty(),
        "garbage is kept as evidence"
    );

    let fake = endpoint(&r, "fake-starttls");
    let hs = fake
        .plaintext
        .as_ref()
        .unwrap()
        .starttls
        .value()
        .unwrap()
        .handshake
        .value()
        .unwrap();
    assert!(!hs.completed);
    assert!(
        r.assessment
            .findings
            .iter()
            .any(|f| f.address == Some(fake.address) && f.rule == "tls-handshake-fails")
    );

    let silent = endpoint(&r, "silent");
    assert_eq!(silent.state, PortState::OpenNotMail);

    for name in ["tls-bogus-length", "tls-bad-inner-length"] {
        let e = endpoint(&r, name);
        let hs = e.implicit_tls.as_ref().unwrap().handshake.value().unwrap();
        assert!(!hs.completed, "{name}");
        assert_ne!(e.state, PortState::Open, "{name}");
    }

    // Dropped connections are throttling, never "closed".
    let dropper = endpoint(&r, "accept-then-close");
    assert_eq!(dropper.state, PortState::Throttled);
    assert!(!dropper.throttling.is_empty());

    let http = endpoint(&r, "http");
    assert_eq!(http.state, PortState::OpenNotMail);
    let said: String = http.non_mail_reply.iter().map(|l| l.to_string()).collect();
    assert!(said.contains("HTML") || said.contains("HTTP"), "{said}");

    assert_eq!(endpoint(&r, "closed").state, PortState::Closed);
}

#[test]
fn unresolvable_name_is_reported_not_fatal() {
    let (code, stdout, _) = run_bounded(
        &[
            "scan",
            "no-such-host.invalid",
            "--ports",
            "25",
            "--format",
            "json",
            "--timeout",
            "5",
        ],
        Duration::from_secs(60),
    );
    assert_eq!(code, 0);
    let r: ScanReport = serde_json::from_str(&stdout).unwrap();
    assert!(r.endpoints.is_empty());
    let failure = r.targets[0]
        .resolution
        .failure()
        .expect("resolution failed");
    assert!(
        matches!(
            failure.kind,
            FailureKind::Unresolvable | FailureKind::IoTimeout
        ),
        "{failure:?}"
    );
    assert!(
        r.assessment
            .findings
            .iter()
            .any(|f| f.rule == "target-not-resolved")
    );
}

#[test]
fn ipv6_literal_and_a_refused_port() {
    let port = {
        let l = std::net::TcpListener::bind("[::1]:0").expect("IPv6 loopback");
        l.local_addr().unwrap().port()
    };
    for target in ["::1", "[::1]"] {
        let (code, stdout, _) = run_bounded(
            &[
                "scan",
                target,
                "--ports",
                &port.to_string(),
                "--format",
                "json",
            ],
            Duration::from_secs(30),
        );
        assert_eq!(code, 0);
        let r: ScanReport = serde_json::from_str(&stdout).unwrap();
        assert_eq!(r.endpoints[0].address.to_string(), format!("[::1]:{port}"));
        assert_eq!(r.endpoints[0].state, PortState::Closed);
    }
}

/// A listener whose accept queue is full and never accepts: further SYNs are
/// dropped, as by a firewall. The port is "filtered", not "closed".
#[test]
fn a_port_that_never_answers_is_filtered() {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    socket
        .bind(
            &"127.0.0.1:0"
                .parse::<std::net::SocketAddr>()
                .unwrap()
                .into(),
        )
        .unwrap();
    socket.listen(0).unwrap();
    let addr = socket.local_addr().unwrap().as_socket().unwrap();
    // Fill the queue (backlog 0 holds one pending connection).
    let mut fillers = Vec::new();
    for _ in 0..4 {
        let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        s.set_nonblocking(true).unwrap();
        let _ = s.connect(&addr.into());
        fillers.push(s);
    }
    std::thread::sleep(Duration::from_millis(200));
    let (code, stdout, _) = run_bounded(
        &[
            "scan",
            "127.0.0.1",
            "--ports",
            &addr.port().to_string(),
            "--format",
            "json",
            "--timeout",
            "2",
        ],
        Duration::from_secs(30),
    );
    assert_eq!(code, 0);
    let r: ScanReport = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        r.endpoints[0].state,
        PortState::Filtered,
        "{:?}",
        r.endpoints[0]
    );
    drop(fillers);
}

#[test]
fn usage_errors_exit_2_with_a_clear_message() {
    for (args, needle) in [
        (vec!["scan"], "TARGET"),
        (
            vec!["scan", "127.0.0.1", "--ports", "0"],
            "not a port number",
        ),
        (
            vec!["scan", "127.0.0.1", "--ports", "25/http"],
            "unknown role",
        ),
        (
            vec!["scan", "127.0.0.1", "--fail-on", "severe"],
            "unknown severity",
        ),
        (
            vec!["scan", "127.0.0.1", "--ca-file", "/nonexistent/ca.pem"],
            "/nonexistent/ca.pem",
        ),
        (vec!["rules", "MW-NOPE-999"], "no rule"),
    ] {
        let (code, _, stderr) = run_bounded(&args, Duration::from_secs(30));
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
}
