//! The history store on disk (runs, indexed rows, migrations, WAL) and the
//! diff between two reports, from observation fixtures.

use mailwarden_model::{
    EnforcementKind, EnforcementOutcome, ScanReport, SupportStatus, TlsVersion,
};
use mailwarden_rules::fixtures::*;
use mailwarden_rules::{AssessContext, assess};
use mailwarden_store::{
    IndexedTable, NewRun, RunFilter, RunKind, SCHEMA_VERSION, Store, StoreError, diff,
};

fn judged(mut report: ScanReport) -> ScanReport {
    report.assessment = assess(
        &report.endpoints,
        &report.targets,
        &AssessContext::new(report.started_at),
    );
    report
}

/// A small estate: an MX, an enforced submission port, IMAPS, a closed POP3 port.
fn before() -> ScanReport {
    judged(report(
        vec![target(HOST)],
        vec![
            smtp(25).build(),
            smtp(587).build(),
            implicit(993, mailwarden_model::Protocol::Imap).build(),
            closed(110),
        ],
    ))
}

/// The same estate later: submission no longer enforces TLS, the MX
/// certificate was renewed, IMAPS got another CA's certificate, POP3 opened.
fn after() -> ScanReport {
    judged(report(
        vec![target(HOST)],
        vec![
            smtp(25)
                .chain(|c| {
                    if let Some(leaf) = c.certificates.first_mut() {
                        leaf.sha256 = "aa".repeat(32);
                        leaf.not_after = Some(days(150));
                    }
                })
                .build(),
            smtp(587)
                .auth_before_tls(&["PLAIN", "LOGIN"])
                .probe(
                    EnforcementKind::SmtpMailBeforeTls,
                    "MAIL FROM:<>",
                    &["250 2.1.0 Ok"],
                    EnforcementOutcome::AcceptedWithoutTls,
                )
                .build(),
            implicit(993, mailwarden_model::Protocol::Imap)
                .chain(|c| *c = self_signed_chain("other.example.test"))
                .build(),
            pop3(110).without_starttls().pop3_user().build(),
        ],
    ))
}

fn record(store: &mut Store, kind: RunKind, report: &ScanReport) -> i64 {
    store
        .record(&NewRun {
            kind,
            report,
            policy: None,
            exit_status: 0,
        })
        .expect("record")
}

#[test]
fn runs_are_stored_whole_with_indexed_rows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("nested/dir/history.sqlite");
    let mut store = Store::open(&path).expect("open creates the directories");
    assert_eq!(store.schema_version().expect("version"), SCHEMA_VERSION);
    let report = after();
    let id = record(&mut store, RunKind::Scan, &report);
    assert_eq!(
        store.report(id).expect("report"),
        report,
        "the JSON report round-trips"
    );
    assert_eq!(
        store.count_rows(IndexedTable::Endpoints, id).expect("rows"),
        4
    );
    assert_eq!(
        store.count_rows(IndexedTable::Findings, id).expect("rows"),
        report.assessment.findings.len() as u64
    );
    // A chain of leaf + intermediate on 25 and 587, a self-signed leaf on 993.
    assert_eq!(
        store
            .count_rows(IndexedTable::Certificates, id)
            .expect("rows"),
        5
    );
    let run = store.run(id).expect("summary");
    assert_eq!(run.kind, RunKind::Scan);
    assert_eq!(run.targets, vec![HOST.to_owned()]);
    assert_eq!(run.findings.critical + run.findings.high, 5, "{run:?}");
    assert_eq!(store.integrity_check().expect("check"), vec!["ok"]);
    let mode: String = rusqlite_mode(&path);
    assert_eq!(mode, "wal");
}

fn rusqlite_mode(path: &std::path::Path) -> String {
    // WAL is persistent: a fresh connection reports it.
    rusqlite_connection(path)
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("journal mode")
}

#[test]
fn reopening_migrates_once_and_a_newer_store_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("h.sqlite");
    let mut store = Store::open(&path).expect("open");
    let id = record(&mut store, RunKind::Audit, &before());
    drop(store);
    let store = Store::open(&path).expect("reopen");
    assert_eq!(store.schema_version().expect("version"), SCHEMA_VERSION);
    assert_eq!(store.runs(&RunFilter::default()).expect("runs").len(), 1);
    assert_eq!(store.run(id).expect("run").kind, RunKind::Audit);
    drop(store);
    // A store from the future.
    {
        let conn = rusqlite_connection(&path);
        conn.execute_batch("PRAGMA user_version = 99")
            .expect("bump");
    }
    match Store::open(&path) {
        Err(StoreError::TooNew { found: 99, known }) => assert_eq!(known, SCHEMA_VERSION),
        other => panic!("a newer store was opened: {other:?}"),
    }
}

fn rusqlite_connection(path: &std::path::Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).expect("sqlite")
}

#[test]
fn previous_and_newest_runs_of_the_same_targets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = Store::open(&dir.path().join("h.sqlite")).expect("open");
    let a = record(&mut store, RunKind::Scan, &before());
    let other = {
        let mut r = before();
        r.targets = vec![target("mx.other.test")];
        record(&mut store, RunKind::Scan, &r)
    };
    let audit = record(&mut store, RunKind::Audit, &before());
    let b = record(&mut store, RunKind::Scan, &after());
    assert_eq!(store.previous(b).expect("previous").map(|r| r.id), Some(a));
    assert_eq!(store.previous(a).expect("previous"), None);
    assert_eq!(
        store.previous(audit).expect("previous"),
        None,
        "kinds are not mixed"
    );
    assert_eq!(store.newest_like(a).expect("newest").id, b);
    assert_eq!(store.latest().expect("latest").map(|r| r.id), Some(b));
    let only_other = store
        .runs(&RunFilter {
            target: Some("MX.other.test".to_owned()),
            ..RunFilter::default()
        })
        .expect("runs");
    assert_eq!(
        only_other.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![other]
    );
    let limited = store
        .runs(&RunFilter {
            limit: Some(2),
            ..RunFilter::default()
        })
        .expect("runs");
    assert_eq!(
        limited.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![b, audit]
    );
    assert!(matches!(store.report(999), Err(StoreError::NoSuchRun(999))));
}

#[test]
fn diff_names_exactly_what_changed() {
    let d = diff(&before(), &after());
    let at = |port: u16| addr(port);
    assert_eq!(d.ports_opened.len(), 1);
    assert_eq!(d.ports_opened[0].place.address, at(110));
    assert_eq!(d.ports_opened[0].old_state.as_deref(), Some("closed"));
    assert!(d.ports_closed.is_empty());
    let postures: Vec<(u16, &str, &str)> = d
        .postures_changed
        .iter()
        .map(|c| (c.place.address.port(), c.old.as_str(), c.new.as_str()))
        .collect();
    assert_eq!(
        postures,
        vec![(587, "starttls-enforced", "starttls-optional")]
    );
    let certs: Vec<(u16, mailwarden_store::diff::CertificateChangeKind)> = d
        .certificates
        .iter()
        .map(|c| (c.place.address.port(), c.change))
        .collect();
    use mailwarden_store::diff::CertificateChangeKind::*;
    assert_eq!(certs, vec![(25, Renewed), (993, Replaced)]);
    let renewed = &d.certificates[0];
    assert_eq!(
        renewed.new.as_ref().and_then(|c| c.not_after),
        Some(days(150))
    );
    assert!(d.findings_fixed.is_empty(), "{:?}", d.findings_fixed);
    let new: Vec<(u16, &str)> = d
        .findings_new
        .iter()
        .filter_map(|f| Some((f.address?.port(), f.rule_id.as_str())))
        .collect();
    assert!(new.contains(&(587, "MW-AUTH-001")), "{new:?}");
    assert!(
        new.contains(&(993, "MW-CERT-006")) || new.iter().any(|(p, _)| *p == 993),
        "{new:?}"
    );
    assert!(new.contains(&(110, "MW-AUTH-001")), "{new:?}");
    // Backwards, everything turns around.
    let back = diff(&after(), &before());
    assert_eq!(back.ports_closed.len(), 1);
    assert_eq!(back.findings_fixed.len(), d.findings_new.len());
    assert!(diff(&after(), &after()).is_empty());
}

#[test]
fn diff_of_tls_enumerations() {
    let old = judged(report(
        vec![target(HOST)],
        vec![smtp(25).tls_scan(modern_scan()).build()],
    ));
    let new = judged(report(
        vec![target(HOST)],
        vec![
            smtp(25)
                .tls_scan(
                    modern_scan()
                        .accept(TlsVersion::TLS10, &[0xc013])
                        .status(TlsVersion::TLS13, SupportStatus::Refused),
                )
                .build(),
        ],
    ));
    let d = diff(&old, &new);
    assert_eq!(d.tls_scan.len(), 1, "{d:?}");
    let c = &d.tls_scan[0];
    assert_eq!(c.versions_added, vec!["TLSv1.0"]);
    assert_eq!(c.versions_removed, vec!["TLSv1.3"]);
    assert!(
        c.suites_added.iter().any(|s| s.starts_with("TLSv1.0 ")),
        "{c:?}"
    );
}

#[test]
fn diff_as_text_and_json() {
    let d = diff(&before(), &after());
    insta::assert_snapshot!(mailwarden_store::diff::render_text(
        &d,
        "Changes from run 1 to run 2"
    ));
    insta::assert_json_snapshot!(d);
}
