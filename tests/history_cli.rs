//! The history commands' locations, messages and failure modes, without
//! servers: scans of a closed loopback port are enough to create runs.

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// A loopback port nothing listens on.
fn closed_port() -> String {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port().to_string()
}

/// Runs mailwarden with exactly these environment variables changed.
fn run_env(args: &[&str], env: &[(&str, &Path)], remove: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mailwarden"));
    cmd.args(args).env_remove("MAILWARDEN_STORE");
    for key in remove {
        cmd.env_remove(key);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run mailwarden");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_default_store_follows_xdg_then_home() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = closed_port();
    let scan = [
        "scan",
        "127.0.0.1",
        "--ports",
        &port,
        "--tls",
        "off",
        "--timeout",
        "2",
        "--format",
        "json",
    ];
    let xdg = dir.path().join("xdg");
    let (code, _, stderr) = run_env(&scan, &[("XDG_DATA_HOME", &xdg)], &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(xdg.join("mailwarden/history.sqlite").is_file());
    let home = dir.path().join("home");
    let (code, _, stderr) = run_env(&scan, &[("HOME", &home)], &["XDG_DATA_HOME"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        home.join(".local/share/mailwarden/history.sqlite")
            .is_file()
    );
    // A relative XDG_DATA_HOME is ignored (XDG Base Directory specification).
    let (code, _, _) = run_env(
        &scan,
        &[("HOME", &home), ("XDG_DATA_HOME", Path::new("relative"))],
        &[],
    );
    assert_eq!(code, 0);
    assert!(!Path::new("relative").exists());
    let (_, list, _) = run_env(
        &["history", "--format", "json"],
        &[("HOME", &home)],
        &["XDG_DATA_HOME"],
    );
    let list: Value = serde_json::from_str(&list).expect("JSON");
    assert_eq!(list.as_array().map(Vec::len), Some(2));
}

#[test]
fn failures_to_record_and_empty_histories() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = closed_port();
    // A file where the store's directory should be: recording fails.
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "not a directory").expect("write");
    let bad_store = blocker.join("history.sqlite");
    let scan = [
        "scan",
        "127.0.0.1",
        "--ports",
        &port,
        "--tls",
        "off",
        "--timeout",
        "2",
        "--format",
        "json",
    ];
    // Explicit --store: the report is still printed, then exit 2.
    let mut args = scan.to_vec();
    let bad = bad_store.display().to_string();
    args.extend(["--store", &bad]);
    let (code, stdout, stderr) = run_env(&args, &[], &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stdout.contains("\"schema\""), "the report comes first");
    assert!(stderr.contains("history store"), "{stderr}");
    // The default location: a warning, and the scan's own exit status.
    let (code, stdout, stderr) = run_env(&scan, &[("XDG_DATA_HOME", &blocker)], &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("\"schema\""));
    assert!(
        stderr.contains("warning") && stderr.contains("--no-store"),
        "{stderr}"
    );

    let store = dir.path().join("h.sqlite");
    let s = store.display().to_string();
    let (code, _, stderr) = run_env(&["history", "--store", &s], &[], &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no history at"), "{stderr}");
    assert!(!store.exists(), "reading never creates a store");
    let mut args = scan.to_vec();
    args.extend(["--store", &s]);
    assert_eq!(run_env(&args, &[], &[]).0, 0);
    let (code, _, stderr) = run_env(&["diff", "--store", &s], &[], &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("nothing to compare"), "{stderr}");
    let (code, _, stderr) = run_env(&["history", "--store", &s, "--format", "sarif"], &[], &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("give a RUN id"), "{stderr}");
    let (code, out, _) = run_env(
        &["history", "1", "--store", &s, "--format", "markdown"],
        &[],
        &[],
    );
    assert_eq!(code, 0);
    assert!(out.starts_with("# mailwarden report"));
    let (code, _, stderr) = run_env(&["history", "7", "--store", &s], &[], &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no run 7"), "{stderr}");
}
