//! Start and stop: every way a test bed's owner can end leaves no daemon and
//! no file behind, and parallel test beds do not touch each other.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{Dialog, alive, eventually, refused};
use mailwarden_testbed::Testbed;

/// Generous for a loaded machine, but shorter than the 30 s that Dovecot's
/// login processes linger when only their master is stopped.
const CLEANUP: Duration = Duration::from_secs(20);

/// Endpoints whose ports must answer while a test bed runs: one per server kind.
const WATCHED: [&str; 9] = [
    "smtp-mx",
    "smtps",
    "imap-starttls",
    "pop3-plain",
    "sieve",
    "lmtp",
    "exim-mx",
    "exim-limited",
    "http",
];

/// What a test bed left running, to check that it is gone later.
#[derive(Debug)]
struct Footprint {
    dir: PathBuf,
    pids: Vec<u32>,
    addrs: Vec<SocketAddr>,
}

impl Footprint {
    fn from_json(v: &serde_json::Value) -> Footprint {
        let pid = |k: &str| {
            v["pids"][k]
                .as_u64()
                .unwrap_or_else(|| panic!("no pid {k}: {v}")) as u32
        };
        let addr = |name: &str| -> SocketAddr {
            let e = v["endpoints"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["name"] == name)
                .unwrap();
            e["addr"].as_str().unwrap().parse().unwrap()
        };
        let exim = v["pids"]["exim"]
            .as_array()
            .unwrap_or_else(|| panic!("no exim pids: {v}"))
            .iter()
            .map(|p| p.as_u64().unwrap() as u32);
        let mut pids = vec![pid("postfix"), pid("dovecot"), pid("reaper")];
        pids.extend(exim);
        assert_eq!(pids.len(), 6, "{v}");
        Footprint {
            dir: PathBuf::from(v["dir"].as_str().unwrap()),
            pids,
            addrs: WATCHED.map(addr).to_vec(),
        }
    }

    fn of(tb: &Testbed) -> Footprint {
        let mut pids = vec![
            tb.postfix_pid().unwrap(),
            tb.dovecot_pid().unwrap(),
            tb.reaper_pid(),
        ];
        pids.extend(tb.exim_pids());
        Footprint {
            dir: tb.dir().to_path_buf(),
            pids,
            addrs: WATCHED.map(|n| tb.endpoint(n)).to_vec(),
        }
    }

    fn assert_running(&self) {
        assert!(self.dir.is_dir(), "{} missing", self.dir.display());
        for pid in &self.pids {
            assert!(alive(*pid), "pid {pid} not running");
        }
        for addr in &self.addrs {
            assert!(!refused(*addr), "{addr} refuses connections");
        }
    }

    fn assert_gone(&self) {
        for pid in &self.pids {
            eventually(&format!("pid {pid} to exit"), CLEANUP, || !alive(*pid));
        }
        eventually(
            &format!("{} to be removed", self.dir.display()),
            CLEANUP,
            || !self.dir.exists(),
        );
        // No process of ours may survive, whatever its PID: Dovecot's and
        // Python's command lines name the test bed directory, Postfix's
        // daemons work in its queue directory. (Whether the ports refuse
        // connections proves nothing: another test bed running on the
        // machine may bind a released port at once.)
        let dir = self.dir.to_str().unwrap().to_string();
        let start = std::time::Instant::now();
        let survivors = loop {
            let found = processes_inside(&dir);
            if found.is_empty() || start.elapsed() > CLEANUP {
                break found;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(survivors.is_empty(), "processes survived: {survivors:?}");
    }
}

/// Live processes whose command line mentions `dir` or whose working
/// directory is inside it, as "PID command line".
fn processes_inside(dir: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(pid) = name.parse::<u32>() else {
            continue;
        };
        if !alive(pid) {
            continue;
        }
        let cmdline = std::fs::read(entry.path().join("cmdline"))
            .map(|raw| String::from_utf8_lossy(&raw).replace('\0', " "))
            .unwrap_or_default();
        let cwd = std::fs::read_link(entry.path().join("cwd")).unwrap_or_default();
        if cmdline.contains(dir) || cwd.starts_with(dir) {
            found.push(format!("{pid} {cmdline}"));
        }
    }
    found
}

/// Starts `mailwarden-testbed up --json` and reads its first line.
fn start_binary(extra: &[&str]) -> (Child, Footprint) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mailwarden-testbed"))
        .arg("up")
        .arg("--json")
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = match rx.recv_timeout(Duration::from_secs(120)) {
        Ok(line) if !line.is_empty() => line,
        other => {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "no JSON from the binary ({other:?}): {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    };
    let json: serde_json::Value = serde_json::from_str(&line).unwrap();
    let footprint = Footprint::from_json(&json);
    footprint.assert_running();
    (child, footprint)
}

fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let mut status = None;
    eventually("the binary to exit", CLEANUP, || {
        status = child.try_wait().unwrap();
        status.is_some()
    });
    status.unwrap()
}

#[test]
fn binary_stops_everything_when_stdin_closes() {
    let (mut child, footprint) = start_binary(&[]);
    drop(child.stdin.take());
    assert!(wait_exit(&mut child).success());
    footprint.assert_gone();
}

#[test]
fn binary_stops_everything_on_sigterm() {
    let (mut child, footprint) = start_binary(&["--no-stdin"]);
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    assert!(wait_exit(&mut child).success());
    footprint.assert_gone();
}

#[test]
fn watchdog_cleans_up_after_a_sigkill() {
    // SIGKILL runs no destructor: only the watchdog can clean up.
    let (mut child, footprint) = start_binary(&[]);
    child.kill().unwrap();
    child.wait().unwrap();
    footprint.assert_gone();
}

#[test]
fn watchdog_cleans_up_while_clients_hold_connections() {
    // Open client connections keep Dovecot's login processes (and Exim's
    // per-connection processes) alive after their master is gone; the
    // watchdog must end them too. Every watched endpoint but `http`.
    let (mut child, footprint) = start_binary(&[]);
    let held: Vec<Dialog> = footprint.addrs[..WATCHED.len() - 1]
        .iter()
        .map(|a| Dialog::connect(*a))
        .collect();
    child.kill().unwrap();
    child.wait().unwrap();
    footprint.assert_gone();
    drop(held);
}

#[test]
fn drop_ends_dovecot_and_exim_processes_serving_clients() {
    let tb = Testbed::start().unwrap();
    let mut imap = Dialog::connect(tb.endpoint("imap-starttls"));
    imap.read_until(|l| l.starts_with("* OK"));
    let mut pop3 = Dialog::connect(tb.endpoint("pop3-plain"));
    pop3.read_until(|l| l.starts_with("+OK"));
    let mut exim = Dialog::connect(tb.endpoint("exim-mx"));
    exim.smtp_reply();
    let fp = Footprint::of(&tb);
    drop(tb);
    fp.assert_gone();
}

const CHILD_ENV: &str = "MAILWARDEN_TESTBED_LIFECYCLE_CHILD";

/// Not a test on its own: the body of the child process of
/// `shared_testbed_is_cleaned_up_when_the_process_exits`.
#[test]
fn child_process_uses_the_shared_testbed() {
    let Some(out) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let tb = Testbed::shared();
    let mut d = Dialog::connect(tb.endpoint("smtp-mx"));
    assert!(d.smtp_reply()[0].starts_with("220 "));
    let fp = Footprint::of(tb);
    let json = serde_json::json!({
        "dir": fp.dir, "pids": fp.pids, "addrs": fp.addrs.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
    });
    std::fs::write(out, json.to_string()).unwrap();
    // Returning ends the process; the static test bed is never dropped.
}

#[test]
fn shared_testbed_is_cleaned_up_when_the_process_exits() {
    let scratch = tempfile::tempdir().unwrap();
    let info = scratch.path().join("footprint.json");
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_process_uses_the_shared_testbed",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &info)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "child failed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&info).unwrap()).unwrap();
    let footprint = Footprint {
        dir: PathBuf::from(v["dir"].as_str().unwrap()),
        pids: v["pids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_u64().unwrap() as u32)
            .collect(),
        addrs: v["addrs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().parse().unwrap())
            .collect(),
    };
    footprint.assert_gone();
}

#[test]
fn parallel_testbeds_are_independent_and_drop_stops_only_its_own() {
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(Testbed::start);
        let b = s.spawn(Testbed::start);
        (a.join().unwrap().unwrap(), b.join().unwrap().unwrap())
    });
    assert_ne!(a.dir(), b.dir());
    assert_ne!(a.password(), b.password());
    for e in a.endpoints() {
        let other = b.find(e.name).unwrap();
        assert_ne!(e.addr, other.addr, "{} shared between test beds", e.name);
    }
    let (fa, fb) = (Footprint::of(&a), Footprint::of(&b));
    fa.assert_running();
    fb.assert_running();
    assert_ne!(fa.pids, fb.pids);

    drop(a);
    // Dropping cleans up synchronously: nothing to wait for.
    for pid in &fa.pids {
        assert!(!alive(*pid), "pid {pid} survived the drop");
    }
    assert!(!fa.dir.exists());
    fa.assert_gone();
    fb.assert_running();
    let mut d = Dialog::connect(b.endpoint("imap-starttls"));
    assert!(d.read_until(|l| l.starts_with("* OK"))[0].contains("LOGINDISABLED"));
    drop(b);
    fb.assert_gone();
}

#[test]
fn logs_are_inside_the_testbed_directory() {
    let tb = Testbed::start().unwrap();
    let exim_log = tb.exim_log();
    for log in [tb.postfix_log(), tb.dovecot_log(), exim_log.as_path()] {
        assert!(log.starts_with(tb.dir()), "{}", log.display());
        eventually(&format!("{} to be written", log.display()), CLEANUP, || {
            std::fs::metadata(log).map(|m| m.len() > 0).unwrap_or(false)
        });
    }
    let dir: &Path = tb.dir();
    assert!(
        dir.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("mailwarden-testbed-")
    );
}

#[tokio::test]
async fn starts_and_drops_inside_an_async_test() {
    // Blocking start and drop from a runtime thread: neither may panic
    // ("cannot drop a runtime in an async context") nor deadlock.
    let tb = Testbed::start().unwrap();
    let mut s = tokio::net::TcpStream::connect(tb.endpoint("drip"))
        .await
        .unwrap();
    let mut buf = [0u8; 4];
    tokio::io::AsyncReadExt::read_exact(&mut s, &mut buf)
        .await
        .unwrap();
    assert_eq!(&buf, b"220 ");
    let fp = Footprint::of(&tb);
    drop(tb);
    fp.assert_gone();
}

#[test]
fn binary_rejects_unknown_arguments() {
    let out = Command::new(env!("CARGO_BIN_EXE_mailwarden-testbed"))
        .args(["up", "--frobnicate"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown option \"--frobnicate\"") && err.contains("usage:"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}
