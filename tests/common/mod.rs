//! Helpers for the end-to-end tests: run the real `mailwarden` binary against
//! the shared test bed (real Postfix and Dovecot on loopback).

#![allow(dead_code)]

use std::process::Command;

use mailwarden_model::{Finding, ScanReport};
use mailwarden_testbed::Testbed;

pub fn testbed() -> &'static Testbed {
    Testbed::shared()
}

/// `--ports` entries for named test bed endpoints, each with its role.
/// All named endpoints must share one IP address.
pub fn ports(entries: &[(&str, &str)]) -> (String, String) {
    let tb = testbed();
    let mut ip = None;
    let mut list = Vec::new();
    for (name, role) in entries {
        let addr = tb.endpoint(name);
        match ip {
            None => ip = Some(addr.ip()),
            Some(i) => assert_eq!(i, addr.ip(), "{name} is on another address"),
        }
        list.push(if role.is_empty() {
            addr.port().to_string()
        } else {
            format!("{}/{role}", addr.port())
        });
    }
    (ip.unwrap().to_string(), list.join(","))
}

/// Runs `mailwarden` with arguments; returns (exit code, stdout, stderr).
pub fn mailwarden(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mailwarden"))
        .args(args)
        .env_remove("NO_COLOR")
        .output()
        .expect("run mailwarden");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Scans test bed endpoints (trusting the test CA, names checked for mail.test)
/// and parses the JSON report. Without `--tls` in `extra`, the TLS
/// enumeration is off.
pub fn scan_json(entries: &[(&str, &str)], extra: &[&str]) -> ScanReport {
    let (ip, ports) = ports(entries);
    let ca = testbed().ca_file().display().to_string();
    let mut args = vec![
        "scan",
        &ip,
        "--ports",
        &ports,
        "--name",
        "mail.test",
        "--format",
        "json",
        "--timeout",
        "5",
    ];
    if !extra.contains(&"--no-ca") {
        args.extend(["--ca-file", &ca]);
    }
    // The foundation's tests do not need the TLS enumeration (tests/scan_tls.rs has its own).
    if !extra.contains(&"--tls") {
        args.extend(["--tls", "off"]);
    }
    args.extend(extra.iter().filter(|a| **a != "--no-ca"));
    let (code, stdout, stderr) = mailwarden(&args);
    assert!(code == 0 || code == 1, "exit {code}: {stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("bad JSON ({e}): {stdout}"))
}

/// The findings on one test bed endpoint.
pub fn findings_at<'a>(report: &'a ScanReport, name: &str) -> Vec<&'a Finding> {
    let addr = testbed().endpoint(name);
    report
        .assessment
        .findings
        .iter()
        .filter(|f| f.address == Some(addr))
        .collect()
}

/// The rule names fired on one endpoint, sorted.
pub fn rules_at(report: &ScanReport, name: &str) -> Vec<String> {
    let mut v: Vec<String> = findings_at(report, name)
        .iter()
        .map(|f| f.rule.clone())
        .collect();
    v.sort();
    v
}

pub fn posture_at(report: &ScanReport, name: &str) -> mailwarden_model::Posture {
    let addr = testbed().endpoint(name);
    report
        .assessment
        .endpoints
        .iter()
        .find(|e| e.address == addr)
        .unwrap_or_else(|| panic!("{name} not assessed"))
        .posture
}
