//! `mailwarden scan DOMAIN` end to end: MX and SRV hosts discovered in real
//! DNS (Knot + Unbound), scanned on the real Postfix and Dovecot of the test
//! bed (MX port 25 mapped to Postfix's `smtp-mx` with `--port-map`), and the
//! DANE and MTA-STS checks made against the chain Postfix really presented.

mod dns_harness;

use std::sync::OnceLock;

use dns_harness::*;
use mailwarden_model::{ScanReport, ServiceRole, Severity};

fn scan(domain: &str) -> ScanReport {
    json(
        "scan",
        domain,
        &["--tls", "off", "--dkim-selector", "strong"],
    )
}

fn mail_test() -> &'static ScanReport {
    static R: OnceLock<ScanReport> = OnceLock::new();
    R.get_or_init(|| scan("mail.test"))
}

fn weak_test() -> &'static ScanReport {
    static R: OnceLock<ScanReport> = OnceLock::new();
    R.get_or_init(|| scan("weak.test"))
}

#[test]
fn every_mx_and_srv_host_is_scanned_at_every_address() {
    let r = mail_test();
    let tb = testbed();
    let mx = tb.endpoint("smtp-mx");
    let found: Vec<(String, u16, Option<ServiceRole>)> = r
        .endpoints
        .iter()
        .map(|e| (e.target.clone(), e.address.port(), e.role))
        .collect();
    for want in [
        (
            "mx.mail.test".to_owned(),
            mx.port(),
            Some(ServiceRole::Smtp),
        ),
        (
            "mail.test".to_owned(),
            tb.endpoint("submission-enforced").port(),
            Some(ServiceRole::Submission),
        ),
        (
            "mail.test".to_owned(),
            tb.endpoint("smtps").port(),
            Some(ServiceRole::Submissions),
        ),
        (
            "imap.mail.test".to_owned(),
            tb.endpoint("imaps").port(),
            Some(ServiceRole::Imaps),
        ),
    ] {
        assert!(found.contains(&want), "{want:?} not in {found:?}");
    }
    let mx_ep = r
        .endpoints
        .iter()
        .find(|e| e.target == "mx.mail.test")
        .unwrap();
    assert_eq!(mx_ep.address, mx);
    assert!(
        r.targets
            .iter()
            .any(|t| t.input == "mx.mail.test" && t.check_name == "mx.mail.test")
    );
    let posture = r
        .assessment
        .endpoints
        .iter()
        .find(|a| a.target == "mx.mail.test")
        .unwrap();
    assert_eq!(posture.context, "mx");
}

#[test]
fn dane_matches_the_chain_postfix_presents() {
    let r = mail_test();
    let d = domain(r, "mail.test");
    let dane = d.dane.iter().find(|t| t.port == 25).unwrap();
    assert_eq!(dane.matches.len(), 1, "{dane:?}");
    let m = &dane.matches[0];
    assert!(m.chain_presented);
    assert!(!m.matched.is_empty(), "{}", m.detail);
    // The submissions SRV target publishes TLSA at its own port.
    let smtps = testbed().endpoint("smtps").port();
    let sub = d
        .dane
        .iter()
        .find(|t| t.host == "mail.test" && t.port == smtps)
        .unwrap();
    assert_eq!(sub.matches.len(), 1, "{sub:?}");
    assert!(
        !sub.matches[0].matched.is_empty(),
        "{}",
        sub.matches[0].detail
    );
    assert_eq!(d.mx_tls.len(), 1);
    assert!(d.mx_tls[0].tls && d.mx_tls[0].trusted, "{:?}", d.mx_tls);
    let fired = rules(r);
    for absent in [
        "dane-no-match",
        "mta-sts-mx-certificate-invalid",
        "mta-sts-mx-not-covered",
    ] {
        assert!(!fired.contains(&absent.to_owned()), "{absent} in {fired:?}");
    }
}

#[test]
fn dane_mismatch_against_the_live_chain_is_high() {
    let r = weak_test();
    let f = finding(r, "dane-no-match");
    assert_eq!(f.severity, Severity::High);
    assert_eq!(f.address, Some(testbed().endpoint("smtp-mx")));
    assert_eq!(f.target, "mx.weak.test");
    let d = domain(r, "weak.test");
    assert!(d.dane[0].matches[0].matched.is_empty());
}

#[test]
fn mta_sts_enforce_against_the_real_mx_set_and_certificates() {
    // weak.test's policy names mx.other.test: its real MX is not covered.
    let before = weak_test(); // scanned before the policy changes below
    let f = finding(before, "mta-sts-mx-not-covered");
    assert_eq!(f.target, "mx.weak.test");
    // Its TLSA set is DANE-EE only, which ignores names: the certificate for
    // mail.test on mx.weak.test stays informational.
    assert_eq!(name_mismatch(before).severity, Severity::Info);
    // Once an enforced policy covers the host, senders check the name:
    // the certificate (for mail.test, mx.mail.test) fails, and it is high.
    let bed = bed();
    bed.policies.set(
        "mta-sts.weak.test",
        mailwarden_dnsbed::PolicyServer::response(
            "version: STSv1\r\nmode: enforce\r\nmx: mx.weak.test\r\nmax_age: 604800\r\n",
        ),
    );
    let r = scan("weak.test");
    bed.policies.reset("mta-sts.weak.test");
    let f = finding(&r, "mta-sts-mx-certificate-invalid");
    assert_eq!(f.address, Some(testbed().endpoint("smtp-mx")));
    assert!(f.summary.contains("mx.mail.test"), "{}", f.summary);
    assert!(!rules(&r).contains(&"mta-sts-mx-not-covered".to_owned()));
    assert_eq!(name_mismatch(&r).severity, Severity::High);
}

fn name_mismatch(r: &ScanReport) -> &mailwarden_model::Finding {
    r.assessment
        .findings
        .iter()
        .find(|f| f.rule == "certificate-name-mismatch" && f.target == "mx.weak.test")
        .unwrap_or_else(|| panic!("{:?}", rules(r)))
}

#[test]
fn hosts_and_ips_are_scanned_as_before() {
    // A name that resolves as a host is a host, even with --resolver given.
    let mut args: Vec<String> = vec!["scan".into(), "127.0.0.1".into(), "--ports".into()];
    args.push(format!("{}/smtp", testbed().endpoint("smtp-mx").port()));
    args.extend([
        "--tls".into(),
        "off".into(),
        "--format".into(),
        "json".into(),
    ]);
    args.extend(dns_args());
    let (code, out, err) = mailwarden(&args);
    assert!(code == 0 || code == 1, "{err}");
    let r: ScanReport = serde_json::from_str(&out).unwrap();
    assert!(r.domains.is_empty());
    assert_eq!(r.endpoints.len(), 1);
    assert!(
        !out.contains("\"domains\""),
        "no domains key for host scans"
    );
}

#[test]
fn the_addresses_of_one_mx_are_compared() {
    // mx.multi.test is 127.0.0.1 (the real Postfix) and 127.0.0.9 (nothing).
    let r = scan("multi.test");
    let d = domain(&r, "multi.test");
    assert_eq!(d.mx.hosts[0].addresses.len(), 2);
    let scanned: Vec<_> = r
        .endpoints
        .iter()
        .filter(|e| e.target == "mx.multi.test")
        .collect();
    assert_eq!(scanned.len(), 2, "every address is scanned");
    assert_eq!(d.mx_tls.len(), 2);
    let f = finding(&r, "mx-addresses-inconsistent");
    assert_eq!(f.target, "mx.multi.test");
    assert_eq!(f.severity, Severity::Medium);
    assert!(
        f.evidence[0]
            .lines
            .iter()
            .any(|l| l.text().contains("127.0.0.9")),
        "{f:?}"
    );
}
