//! `mailwarden logs` end to end: files, gzip (also truncated), standard
//! input, `--events`, JSON, ban lists, `--fail-on`, thresholds from the
//! architecture file (`--policy`), `--follow` through rotation and
//! truncation, and its summary on Ctrl-C (SIGINT, SIGTERM, sent to a child).

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn mailwarden() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mailwarden"))
}

fn failures(ip: &str, user: &str, n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "Nov 28 10:00:{i:02} mx dovecot: imap-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<{user}>, method=PLAIN, rip={ip}, lip=192.0.2.1, TLS, session=<{ip}-{i}>\n"
            )
        })
        .collect()
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

#[test]
fn text_report_with_summary_and_counts() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("mail.log");
    write(
        &log,
        &format!(
            "{}garbage line\n{}",
            failures("192.0.2.10", "alice", 5),
            failures("192.0.2.11", "bob", 1)
        ),
    );
    let out = mailwarden().arg("logs").arg(&log).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("ALERT high     brute-force"), "{text}");
    assert!(text.contains("192.0.2.10  attacker (high)"), "{text}");
    assert!(
        !text.contains("192.0.2.11"),
        "one mistyped password is never listed:\n{text}"
    );
    assert!(
        text.contains("7 lines: 6 recognized") && text.contains("1 unrecognized"),
        "{text}"
    );
}

#[test]
fn gzip_stdin_events_and_fail_on() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("mail.log");
    write(&log, &failures("192.0.2.20", "alice", 5));
    let gz = Command::new("gzip").arg("-k").arg(&log).status().unwrap();
    assert!(gz.success());
    let gz = dir.path().join("mail.log.gz");
    let out = mailwarden()
        .args(["logs", "--events", "--fail-on", "high"])
        .arg(&gz)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines.iter().filter(|v| v["kind"] == "auth_failed").count(),
        5
    );
    let alert = lines.iter().find(|v| v["alert"] == "brute-force").unwrap();
    assert_eq!(alert["evidence"].as_array().unwrap().len(), 5);
    assert!(
        alert["evidence"][0]["file"]
            .as_str()
            .unwrap()
            .ends_with("mail.log.gz")
    );

    // A gzip cut in the middle: what was readable is analyzed, the cut is counted.
    let bytes = std::fs::read(&gz).unwrap();
    let cut = dir.path().join("cut.gz");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let out = mailwarden()
        .args(["logs", "--format", "json"])
        .arg(&cut)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap();
    assert_eq!(last["stats"]["truncated_inputs"], 1, "{last}");

    // Standard input.
    let mut child = mailwarden()
        .args(["logs", "-", "--format", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(failures("192.0.2.21", "carol", 5).as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("\"source\":\"192.0.2.21\""), "{text}");
}

#[test]
fn ban_lists_go_to_stdout_alone() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("mail.log");
    write(
        &log,
        &format!(
            "{}{}",
            failures("192.0.2.30", "alice", 5),
            failures("2001:db8:5:6::9", "bob", 5)
        ),
    );
    let out = mailwarden()
        .args(["logs", "--ban-list", "plain"])
        .arg(&log)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "192.0.2.30\n2001:db8:5:6::/64\n"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("brute-force"));
    let out = mailwarden()
        .args(["logs", "--ban-list", "nft", "--quiet"])
        .arg(&log)
        .output()
        .unwrap();
    let nft = String::from_utf8_lossy(&out.stdout);
    assert!(
        nft.starts_with("# mailwarden logs: 2 source(s)")
            && nft.contains("elements = { 192.0.2.30 }"),
        "{nft}"
    );
    let out = mailwarden()
        .args(["logs", "--ban-list", "plain", "--allow", "192.0.2.0/24"])
        .arg(&log)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "2001:db8:5:6::/64\n");
}

#[test]
fn usage_errors_exit_2() {
    let out = mailwarden()
        .args(["logs", "/nonexistent/mail.log"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot open /nonexistent/mail.log"));
    let out = mailwarden()
        .args(["logs", "--allow", "300.1.1.1", "-"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

const POLICY_HEAD: &str = "[[service]]\nname = \"imap\"\nhosts = [\"imap.example.org\"]\nport = 143\ntls = \"starttls-required\"\n";

#[test]
fn thresholds_from_the_policy_file() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("mail.log");
    // Three failures on one account: below the default brute-force threshold (5).
    write(&log, &failures("192.0.2.60", "alice", 3));
    let run = |extra: &[&std::ffi::OsStr]| {
        mailwarden()
            .args(["logs", "--format", "json"])
            .args(extra)
            .arg(&log)
            .output()
            .unwrap()
    };
    let alerts = |out: &std::process::Output| -> Vec<serde_json::Value> {
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|v| v.get("alert").is_some())
            .collect()
    };
    let default = run(&[]);
    assert_eq!(default.status.code(), Some(0));
    assert!(
        alerts(&default).is_empty(),
        "three failures alert by default"
    );

    let policy = dir.path().join("policy.toml");
    write(
        &policy,
        &format!("{POLICY_HEAD}\n[logs.thresholds]\nbrute_force = {{ count = 3 }}\n"),
    );
    let lowered = run(&["--policy".as_ref(), policy.as_os_str()]);
    let stderr = String::from_utf8_lossy(&lowered.stderr);
    assert_eq!(lowered.status.code(), Some(0), "{stderr}");
    let got = alerts(&lowered);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["alert"], "brute-force");
    assert_eq!(got[0]["source"], "192.0.2.60");
    assert_eq!(got[0]["count"], 3);
    assert_eq!(
        got[0]["window_secs"], 600,
        "the window the file left out keeps its default"
    );

    // Thresholds from two places would shadow each other: refused.
    let json = dir.path().join("thresholds.json");
    write(&json, "{}");
    let both = run(&[
        "--policy".as_ref(),
        policy.as_os_str(),
        "--thresholds".as_ref(),
        json.as_os_str(),
    ]);
    assert_eq!(both.status.code(), Some(2));

    // A misspelled key: exit 2, and the error points at it (line and column).
    let text = format!(
        "{POLICY_HEAD}\n[logs.thresholds]\nbrute_force = {{ count = 3 }}\n  spraing = {{ count = 2 }}\n"
    );
    write(&policy, &text);
    let line = text.lines().position(|l| l.contains("spraing")).unwrap() + 1;
    let broken = run(&["--policy".as_ref(), policy.as_os_str()]);
    let stderr = String::from_utf8_lossy(&broken.stderr);
    assert_eq!(broken.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{}:{line}:3: error: unknown key `spraing`",
            policy.display()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("did you mean `spraying`?"), "{stderr}");
    assert!(
        broken.stdout.is_empty(),
        "nothing is analyzed with a broken policy"
    );

    // A value of the wrong type names its key.
    let text = format!("{POLICY_HEAD}\n[logs.thresholds.scanning_ports]\nwindow_secs = \"10m\"\n");
    write(&policy, &text);
    let line = text.lines().position(|l| l.contains("10m")).unwrap() + 1;
    let broken = run(&["--policy".as_ref(), policy.as_os_str()]);
    let stderr = String::from_utf8_lossy(&broken.stderr);
    assert_eq!(broken.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{}:{line}:15: error: `scanning_ports.window_secs` must be a whole number",
            policy.display()
        )),
        "{stderr}"
    );
}

/// Reads stdout lines until one contains `needle` (or the deadline passes).
fn wait_for(lines: &std::sync::mpsc::Receiver<String>, needle: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(line) = lines.recv_timeout(Duration::from_millis(200))
            && line.contains(needle)
        {
            return true;
        }
    }
    false
}

#[test]
fn follow_survives_rotation_and_truncation() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("mail.log");
    write(&log, &failures("192.0.2.40", "alice", 2));
    let mut child = mailwarden()
        .args(["logs", "--follow", "--format", "json"])
        .arg(&log)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let append = |text: &str| {
        let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        f.write_all(text.as_bytes()).unwrap();
    };
    // Growth, including a line written in two pieces.
    std::thread::sleep(Duration::from_millis(700));
    let more = failures("192.0.2.40", "alice", 5);
    let (a, b) = more.split_at(more.len() - 40);
    append(a);
    std::thread::sleep(Duration::from_millis(700));
    append(b);
    let first = wait_for(&rx, "\"source\":\"192.0.2.40\"");
    // Rotation: the file is renamed and a new one created.
    std::fs::rename(&log, dir.path().join("mail.log.1")).unwrap();
    write(&log, &failures("192.0.2.41", "bob", 5));
    let rotated = wait_for(&rx, "\"source\":\"192.0.2.41\"");
    // Truncation in place (copytruncate), then new lines.
    std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&log)
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    append(&failures("192.0.2.42", "carol", 5));
    let truncated = wait_for(&rx, "\"source\":\"192.0.2.42\"");
    // We started this process: stop exactly it.
    let _ = child.kill();
    let _ = child.wait();
    assert!(first, "no alert while following growth");
    assert!(rotated, "no alert after rotation");
    assert!(truncated, "no alert after truncation");
}

/// Sends `signal` (`INT`, `TERM`) to a child we started, by its id.
fn signal(child: &std::process::Child, signal: &str) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

/// Waits for a child to exit (or kills it after the deadline and fails).
fn exit_code(child: &mut std::process::Child) -> Option<i32> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("still running 20 s after the signal");
}

/// Collects a child's stdout lines on a thread: (receiver of lines, the join
/// handle that returns all of them once the pipe closes).
fn lines_of(
    child: &mut std::process::Child,
) -> (
    std::sync::mpsc::Receiver<String>,
    std::thread::JoinHandle<Vec<String>>,
) {
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let all = std::thread::spawn(move || {
        let mut all = Vec::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line.clone());
            all.push(line);
        }
        all
    });
    (rx, all)
}

#[test]
fn follow_prints_the_summary_on_ctrl_c_and_sigterm() {
    for (sig, format) in [("INT", "text"), ("TERM", "json")] {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("mail.log");
        write(&log, &failures("192.0.2.50", "alice", 5));
        let mut child = mailwarden()
            .args(["logs", "--follow", "--format", format])
            .arg(&log)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let (rx, all) = lines_of(&mut child);
        assert!(
            wait_for(&rx, "brute-force"),
            "no alert while following ({sig})"
        );
        signal(&child, sig);
        assert_eq!(exit_code(&mut child), Some(0), "SIG{sig}");
        let out = all.join().unwrap().join("\n");
        let summary = out
            .split_once("brute-force")
            .map(|(_, after)| after)
            .unwrap();
        if format == "text" {
            assert!(summary.contains("192.0.2.50  attacker (high)"), "{out}");
            assert!(summary.contains("5 lines: 5 recognized"), "{out}");
        } else {
            let last: serde_json::Value =
                serde_json::from_str(out.lines().last().unwrap()).unwrap();
            assert_eq!(last["summary"][0]["source"], "192.0.2.50", "{out}");
            assert_eq!(last["stats"]["lines"], 5, "{out}");
        }
    }
}

#[test]
fn follow_of_standard_input_stops_on_ctrl_c_with_the_pipe_still_open() {
    let mut child = mailwarden()
        .args(["logs", "--follow", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let (rx, all) = lines_of(&mut child);
    stdin
        .write_all(failures("192.0.2.51", "bob", 5).as_bytes())
        .unwrap();
    stdin.flush().unwrap();
    // The lines arrive while the writer keeps the pipe open: the alert
    // comes without waiting for more input or for the end of it.
    assert!(wait_for(&rx, "brute-force"), "no alert from the open pipe");
    signal(&child, "INT");
    assert_eq!(exit_code(&mut child), Some(0));
    let out = all.join().unwrap().join("\n");
    assert!(out.contains("192.0.2.51  attacker (high)"), "{out}");
    drop(stdin);
}
