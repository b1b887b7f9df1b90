//! Crash safety of the history store, with the real binary and `kill -9`:
//! a run killed in the middle of its scan, a run killed inside its write
//! transaction, and many concurrent writers of which some are killed. After
//! each, SQLite's `PRAGMA integrity_check` must say "ok", every run
//! committed before must read back unchanged, and a killed run must be
//! absent (never half there).
//!
//! The killed runs are kept busy by the test bed's hostile `drip` and
//! `silent` servers (a scan that never ends by itself), or paused inside
//! the transaction by the store's test hook (`MAILWARDEN_TEST_STORE_PAUSE_MS`).

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::testbed;
use mailwarden_model::ScanReport;
use mailwarden_store::{RunFilter, Store};

fn spawn(store: &Path, args: &[&str], pause_ms: Option<u64>) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mailwarden"));
    cmd.args(args)
        .env("MAILWARDEN_STORE", store)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(ms) = pause_ms {
        cmd.env(mailwarden_store::PAUSE_ENV, ms.to_string());
    }
    cmd.spawn().expect("spawn mailwarden")
}

fn wait(mut child: Child, limit: Duration) -> i32 {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status.code().unwrap_or(-1);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("mailwarden did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// SIGKILL: `Child::kill` sends it on Unix, so nothing can be cleaned up.
fn kill9(mut child: Child) {
    child.kill().expect("kill -9");
    let _ = child.wait();
}

/// A quick scan of the MX, identified by `name` (it lands in the report's options).
fn quick_scan_args(name: &str) -> Vec<String> {
    let mx = testbed().endpoint("smtp-mx");
    vec![
        "scan".into(),
        mx.ip().to_string(),
        "--ports".into(),
        format!("{}/smtp", mx.port()),
        "--name".into(),
        name.into(),
        "--tls".into(),
        "off".into(),
        "--timeout".into(),
        "5".into(),
        "--format".into(),
        "json".into(),
        "--quiet".into(),
    ]
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn stored_names(store: &Store) -> Vec<String> {
    store
        .runs(&RunFilter::default())
        .expect("list runs")
        .iter()
        .map(|r| {
            let report: ScanReport = store.report(r.id).expect("every stored report reads back");
            report.options.name.unwrap_or_default()
        })
        .collect()
}

fn check(store_path: &Path) -> Store {
    let store = Store::open(store_path).expect("the store opens after the crash");
    assert_eq!(
        store.integrity_check().expect("integrity_check"),
        vec!["ok"]
    );
    store
}

/// Two runs committed, then a third killed while its scan waits on servers
/// that never finish: the first two are intact, the third absent.
#[test]
fn kill_9_in_the_middle_of_a_scan_loses_nothing_stored() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("history.sqlite");
    for name in ["first", "second"] {
        let code = wait(
            spawn(&path, &strs(&quick_scan_args(name)), None),
            Duration::from_secs(60),
        );
        assert_eq!(code, 0);
    }
    let before: Vec<ScanReport> = {
        let store = check(&path);
        let runs = store.runs(&RunFilter::default()).expect("runs");
        runs.iter()
            .map(|r| store.report(r.id).expect("report"))
            .collect()
    };
    assert_eq!(before.len(), 2);

    let tb = testbed();
    let (drip, silent) = (tb.endpoint("drip"), tb.endpoint("silent"));
    let ports = format!("{},{}", drip.port(), silent.port());
    let slow = spawn(
        &path,
        &[
            "scan",
            "127.0.0.1",
            "--ports",
            &ports,
            "--name",
            "killed",
            "--timeout",
            "60",
            "--format",
            "json",
        ],
        None,
    );
    std::thread::sleep(Duration::from_millis(1500));
    kill9(slow);

    let store = check(&path);
    let after: Vec<ScanReport> = store
        .runs(&RunFilter::default())
        .expect("runs")
        .iter()
        .map(|r| store.report(r.id).expect("report"))
        .collect();
    assert_eq!(
        after, before,
        "the runs stored before are intact and nothing else is there"
    );
    drop(store);
    // The store is still writable.
    let code = wait(
        spawn(&path, &strs(&quick_scan_args("third")), None),
        Duration::from_secs(60),
    );
    assert_eq!(code, 0);
    assert_eq!(
        stored_names(&check(&path)),
        vec!["third", "second", "first"]
    );
}

/// A run killed inside its write transaction (after the run row, before the
/// commit) leaves no trace; the hot WAL is recovered by the next opener.
#[test]
fn kill_9_inside_the_write_transaction_is_atomic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("history.sqlite");
    let code = wait(
        spawn(&path, &strs(&quick_scan_args("kept")), None),
        Duration::from_secs(60),
    );
    assert_eq!(code, 0);
    // The scan takes well under a second; the transaction then pauses 8 s.
    // The store's WAL file appears when the writer opens it (the first
    // writer's clean exit removed it): from then on it is a few
    // milliseconds from the pause.
    let child = spawn(&path, &strs(&quick_scan_args("torn")), Some(8000));
    let wal = path.with_extension("sqlite-wal");
    let start = Instant::now();
    while !wal.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the writer never opened the store"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(1000));
    kill9(child);
    assert!(
        path.with_extension("sqlite-wal").exists(),
        "the WAL is left behind, hot"
    );
    let store = check(&path);
    assert_eq!(stored_names(&store), vec!["kept"]);
    drop(store);
    let code = wait(
        spawn(&path, &strs(&quick_scan_args("next")), None),
        Duration::from_secs(60),
    );
    assert_eq!(code, 0);
    assert_eq!(stored_names(&check(&path)), vec!["next", "kept"]);
}

/// Eight writers at once; every other one pauses inside its transaction
/// (holding the write lock, so the others queue behind it) and is killed.
/// Exactly the runs of the writers that finished are stored.
#[test]
fn concurrent_writers_with_kills_keep_the_store_sound() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("history.sqlite");
    // Create the store first so that no writer races to migrate it... and
    // then also race them on a fresh one below.
    drop(Store::open(&path).expect("create"));
    let mut survivors = Vec::new();
    let mut victims = Vec::new();
    for i in 0..8 {
        let name = format!("writer-{i}");
        if i % 2 == 0 {
            survivors.push((
                name.clone(),
                spawn(&path, &strs(&quick_scan_args(&name)), None),
            ));
        } else {
            victims.push(spawn(&path, &strs(&quick_scan_args(&name)), Some(4000)));
        }
    }
    std::thread::sleep(Duration::from_millis(1500));
    for v in victims {
        kill9(v);
    }
    let mut expected = BTreeSet::new();
    for (name, child) in survivors {
        assert_eq!(wait(child, Duration::from_secs(120)), 0, "{name}");
        expected.insert(name);
    }
    let stored: BTreeSet<String> = stored_names(&check(&path)).into_iter().collect();
    assert_eq!(stored, expected);
}

/// Writers racing on a store that does not exist yet migrate it once.
#[test]
fn concurrent_first_opens_migrate_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("new/history.sqlite");
    let children: Vec<Child> = (0..4)
        .map(|i| spawn(&path, &strs(&quick_scan_args(&format!("racer-{i}"))), None))
        .collect();
    for c in children {
        assert_eq!(wait(c, Duration::from_secs(120)), 0);
    }
    let store = check(&path);
    assert_eq!(
        store.schema_version().expect("version"),
        mailwarden_store::SCHEMA_VERSION
    );
    assert_eq!(stored_names(&store).len(), 4);
}
