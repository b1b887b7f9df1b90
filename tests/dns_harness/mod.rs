//! Shared by the `tests/dns_*.rs` end-to-end tests: the real mail test bed
//! (Postfix, Dovecot) plus the DNS test bed (Knot with zones signed at test
//! time, a validating Unbound, an HTTPS policy server), and `mailwarden`
//! run against them. Everything listens on 127.0.0.0/8.

#![allow(dead_code)]

use std::process::Command;

use mailwarden_dnsbed::{DnsBed, MailServers};
use mailwarden_model::{DomainObservation, Finding, ScanReport};
use mailwarden_testbed::Testbed;

pub fn testbed() -> &'static Testbed {
    Testbed::shared()
}

pub fn bed() -> &'static DnsBed {
    let tb = testbed();
    let pki = tb.pki();
    DnsBed::shared(&MailServers {
        mx_leaf_pems: vec![pki.valid.cert_pem.clone(), pki.valid_rsa.cert_pem.clone()],
        mx_ca_pem: pki.intermediate.cert_pem.clone(),
        submission: tb.endpoint("submission-enforced"),
        submissions: tb.endpoint("smtps"),
        imaps: tb.endpoint("imaps"),
    })
}

/// `--resolver`, `--trust-anchor`, `--port-map` (25 to the real Postfix MX,
/// 443 to the policy server) and `--ca-file` (both test CAs).
pub fn dns_args() -> Vec<String> {
    let b = bed();
    let mx = testbed().endpoint("smtp-mx");
    let ca = b.ca_file_with(testbed().ca_file()).expect("CA file");
    vec![
        "--resolver".into(),
        b.resolver.to_string(),
        "--trust-anchor".into(),
        b.trust_anchor.display().to_string(),
        "--port-map".into(),
        format!("25={},443={}", mx.port(), b.policies.address.port()),
        "--ca-file".into(),
        ca.display().to_string(),
    ]
}

/// Runs `mailwarden`; returns (exit code, stdout, stderr).
pub fn mailwarden(args: &[String]) -> (i32, String, String) {
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

/// `mailwarden <command> <domain> --format json` with the bed's DNS options
/// and `extra`, parsed.
pub fn json(command: &str, domain: &str, extra: &[&str]) -> ScanReport {
    let mut args: Vec<String> = vec![
        command.into(),
        domain.into(),
        "--format".into(),
        "json".into(),
    ];
    args.extend(dns_args());
    args.extend(extra.iter().map(|s| s.to_string()));
    let (code, out, err) = mailwarden(&args);
    assert!(code == 0 || code == 1, "exit {code}: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"))
}

pub fn domain<'a>(r: &'a ScanReport, name: &str) -> &'a DomainObservation {
    r.domains
        .iter()
        .find(|d| d.domain == name)
        .unwrap_or_else(|| panic!("no domain {name} in the report"))
}

/// Rule names that fired, sorted, deduplicated.
pub fn rules(r: &ScanReport) -> Vec<String> {
    let mut v: Vec<String> = r
        .assessment
        .findings
        .iter()
        .map(|f| f.rule.clone())
        .collect();
    v.sort();
    v.dedup();
    v
}

pub fn finding<'a>(r: &'a ScanReport, rule: &str) -> &'a Finding {
    r.assessment
        .findings
        .iter()
        .find(|f| f.rule == rule)
        .unwrap_or_else(|| panic!("{rule} did not fire: {:?}", rules(r)))
}
