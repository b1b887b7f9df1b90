//! `mailwarden watch` end to end on real Postfix: two reviews of a policy
//! whose submission port (a relay, see `history_support`) stops enforcing
//! TLS between them. The watcher prints one JSON line per run, POSTs the
//! run that changed something to a webhook (a real HTTP receiver on
//! loopback, in this test), and serves Prometheus metrics that the test
//! scrapes. Non-loopback metrics addresses are refused.

mod common;
mod history_support;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::testbed;
use history_support::{Relay, run};
use serde_json::Value;

/// A webhook receiver: answers 204 and hands each request's body to the test.
fn receiver() -> (SocketAddr, mpsc::Receiver<(String, String)>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
            let mut reader = BufReader::new(conn.try_clone().expect("clone"));
            let mut head = String::new();
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                head.push_str(&line);
            }
            let mut body = vec![0u8; length];
            let _ = reader.read_exact(&mut body);
            let _ = conn.write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n");
            let _ = tx.send((head, String::from_utf8_lossy(&body).into_owned()));
        }
    });
    (addr, rx)
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

fn scrape(addr: SocketAddr) -> String {
    let mut s =
        TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect to the metrics");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("send");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

fn metric(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[test]
fn watch_prints_changes_posts_them_and_serves_metrics() {
    let tb = testbed();
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("history.sqlite");
    let mut submission = Relay::to(tb.endpoint("submission-enforced"));
    let mx = tb.endpoint("smtp-mx");
    let policy = dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        format!(
            r#"
[audit]
ports = []

[[service]]
name = "submission"
hosts = ["127.0.0.1"]
port = {sub}
protocol = "smtp"
role = "submission"
tls = "starttls-required"
certificate_name = "mail.test"

[[service]]
name = "mx"
hosts = ["127.0.0.1"]
port = {mx}
protocol = "smtp"
role = "smtp"
tls = "starttls"
auth = "none"
certificate_name = "mail.test"
"#,
            sub = submission.port(),
            mx = mx.port()
        ),
    )
    .expect("policy");
    let (hook, posts) = receiver();
    let metrics: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
    let ca = tb.ca_file().display().to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mailwarden"))
        .args(["watch", "--policy"])
        .arg(&policy)
        .args([
            "--every",
            "6s",
            "--runs",
            "3",
            "--ca-file",
            &ca,
            "--tls",
            "off",
            "--timeout",
            "5",
        ])
        .args([
            "--webhook",
            &format!("http://{hook}/hook"),
            "--metrics",
            &metrics.to_string(),
        ])
        .arg("--store")
        .arg(&store)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn watch");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let next = |what: &str| -> Value {
        let line = lines
            .recv_timeout(Duration::from_secs(90))
            .unwrap_or_else(|_| panic!("no JSON line for {what}"));
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {line}"))
    };

    let first = next("the first run");
    assert_eq!(first["event"], "run", "{first}");
    assert_eq!(first["run"], 1);
    assert_eq!(first["changed"], false);
    assert!(
        first.get("previous").is_none(),
        "the first run has nothing to compare with"
    );
    let page = scrape(metrics);
    assert!(page.starts_with("HTTP/1.1 200 OK"), "{page}");
    assert_eq!(metric(&page, "mailwarden_last_run_success "), Some(1.0));
    assert_eq!(
        metric(&page, "mailwarden_findings{severity=\"high\"} "),
        Some(0.0)
    );
    let cert = format!(
        "mailwarden_certificate_expiry_days{{target=\"127.0.0.1\",address=\"127.0.0.1:{}\",",
        submission.port()
    );
    let days = metric(&page, &cert).unwrap_or_else(|| panic!("{cert} missing:\n{page}"));
    assert!((300.0..400.0).contains(&days), "{days} days");
    assert!(metric(&page, "mailwarden_last_run_timestamp_seconds ").is_some_and(|t| t > 1.7e9));

    // The change: TLS enforcement is off on the submission port.
    submission.forward_to(tb.endpoint("submission-auth-before-tls"));
    let second = next("the second run");
    assert_eq!(second["run"], 2);
    assert_eq!(second["previous"]["run"], 1);
    assert_eq!(second["changed"], true, "{second}");
    let postures = &second["changes"]["postures_changed"];
    assert_eq!(postures[0]["old"], "starttls-enforced");
    assert_eq!(postures[0]["new"], "starttls-optional");
    assert_eq!(postures.as_array().map(Vec::len), Some(1));
    assert_eq!(second["exit_status"], 0, "no --fail-on");
    // The webhook got exactly that line.
    let (head, body) = posts
        .recv_timeout(Duration::from_secs(30))
        .expect("a webhook POST");
    assert!(head.starts_with("POST /hook HTTP/1.1\r\n"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{head}"
    );
    let posted: Value = serde_json::from_str(&body).expect("JSON body");
    assert_eq!(posted, second);
    let page = scrape(metrics);
    assert!(
        metric(&page, "mailwarden_findings{severity=\"high\"} ").is_some_and(|n| n >= 2.0),
        "{page}"
    );
    assert_eq!(
        metric(&page, "mailwarden_last_run_changes "),
        Some(
            1.0 + second["changes"]["findings_new"]
                .as_array()
                .map_or(0, Vec::len) as f64
        )
    );
    assert!(page.contains(&format!(
        "mailwarden_endpoint_posture{{target=\"127.0.0.1\",address=\"127.0.0.1:{}\",posture=\"starttls-optional\"}} 1",
        submission.port()
    )));
    assert_eq!(
        metric(&page, "mailwarden_runs_total{status=\"ok\"} "),
        Some(2.0)
    );

    // Nothing changes any more: the third run is not posted.
    let third = next("the third run");
    assert_eq!(third["changed"], false);
    assert_eq!(third["previous"]["run"], 2);
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "watch did not stop after --runs 3"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success());
    assert!(posts.try_recv().is_err(), "an unchanged run was posted");
    // Every run is in the history.
    let (_, list, _) = run(&store, &["history", "--format", "json"]);
    let list: Value = serde_json::from_str(&list).expect("JSON");
    assert_eq!(list.as_array().map(Vec::len), Some(3));
}

#[test]
fn metrics_are_refused_off_loopback() {
    let dir = tempfile::tempdir().expect("tempdir");
    let policy = dir.path().join("p.toml");
    std::fs::write(&policy, "[[service]]\nname = \"x\"\nhosts = [\"127.0.0.1\"]\nport = 25\nprotocol = \"smtp\"\ntls = \"starttls\"\n")
        .expect("policy");
    let store = dir.path().join("h.sqlite");
    let policy = policy.display().to_string();
    let (code, _, stderr) = run(
        &store,
        &[
            "watch",
            "--policy",
            &policy,
            "--every",
            "1h",
            "--metrics",
            "0.0.0.0:9464",
        ],
    );
    assert_eq!(code, 2);
    assert!(
        stderr.contains("not a loopback address") && stderr.contains("--metrics-allow-remote"),
        "{stderr}"
    );
    let (code, _, stderr) = run(&store, &["watch", "--policy", &policy, "--every", "0s"]);
    assert_eq!(code, 2, "{stderr}");
    let (code, _, stderr) = run(
        &store,
        &[
            "watch",
            "--policy",
            &policy,
            "--every",
            "1h",
            "--webhook",
            "ftp://127.0.0.1/x",
        ],
    );
    assert_eq!(code, 2);
    assert!(
        stderr.contains("not an http:// or https:// URL"),
        "{stderr}"
    );
}
