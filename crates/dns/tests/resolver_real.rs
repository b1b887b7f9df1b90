//! The resolver against real DNS servers: Knot serving zones signed at test
//! time, and a validating Unbound (mailwarden-dnsbed). Every outcome and
//! DNSSEC status is checked in both modes: hickory validating from the test
//! anchor, and trusting the upstream's AD bit.

use std::sync::OnceLock;
use std::time::Duration;

use mailwarden_dns::{RecordType, Resolver, ResolverSettings};
use mailwarden_dnsbed::{DnsBed, MailServers};
use mailwarden_model::{DnsOutcome, DnssecMode, DnssecStatus};

fn bed() -> &'static DnsBed {
    static PKI: OnceLock<mailwarden_testbed::Pki> = OnceLock::new();
    let pki = PKI.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        mailwarden_testbed::Pki::generate(dir).unwrap()
    });
    DnsBed::shared(&MailServers {
        mx_leaf_pems: vec![pki.valid.cert_pem.clone(), pki.valid_rsa.cert_pem.clone()],
        mx_ca_pem: pki.intermediate.cert_pem.clone(),
        submission: "127.0.0.1:10587".parse().unwrap(),
        submissions: "127.0.0.1:10465".parse().unwrap(),
        imaps: "127.0.0.2:10993".parse().unwrap(),
    })
}

fn resolver(mode: DnssecMode, server: std::net::SocketAddr) -> Resolver {
    Resolver::new(&ResolverSettings {
        server: Some(server),
        trust_anchor: Some(bed().trust_anchor.clone()),
        mode,
        timeout: Duration::from_secs(2),
    })
    .unwrap()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// (name, type, outcome, dnssec) seen through unbound, in each mode.
const CASES: [(&str, RecordType, DnsOutcome, DnssecStatus); 9] = [
    (
        "mail.test",
        RecordType::MX,
        DnsOutcome::Answer,
        DnssecStatus::Secure,
    ),
    (
        "_25._tcp.mx.mail.test",
        RecordType::TLSA,
        DnsOutcome::Answer,
        DnssecStatus::Secure,
    ),
    (
        "nope.mail.test",
        RecordType::A,
        DnsOutcome::Nxdomain,
        DnssecStatus::Secure,
    ),
    (
        "mail.test",
        RecordType::AAAA,
        DnsOutcome::Nodata,
        DnssecStatus::Secure,
    ),
    (
        "plain.test",
        RecordType::MX,
        DnsOutcome::Answer,
        DnssecStatus::Insecure,
    ),
    (
        "nope.plain.test",
        RecordType::A,
        DnsOutcome::Nxdomain,
        DnssecStatus::Insecure,
    ),
    (
        "_25._tcp.mx.plain.test",
        RecordType::TLSA,
        DnsOutcome::Answer,
        DnssecStatus::Insecure,
    ),
    (
        "bogus.test",
        RecordType::MX,
        DnsOutcome::Servfail,
        DnssecStatus::Bogus,
    ),
    (
        "lame.example",
        RecordType::MX,
        DnsOutcome::Servfail,
        DnssecStatus::Indeterminate,
    ),
];

fn check(mode: DnssecMode) {
    let bed = bed();
    let r = resolver(mode, bed.resolver);
    let rt = rt();
    let mut wrong = Vec::new();
    for (name, rtype, outcome, dnssec) in CASES {
        let a = rt.block_on(r.lookup(name, rtype));
        if a.lookup.outcome != outcome || a.lookup.dnssec != dnssec {
            wrong.push(format!(
                "{name} {rtype}: want {outcome:?}/{dnssec:?}, got {:?}",
                a.lookup
            ));
        }
    }
    assert!(wrong.is_empty(), "{mode:?}:\n{}", wrong.join("\n"));
}

#[test]
fn through_unbound_trusting_its_ad_bit() {
    check(DnssecMode::UpstreamAd);
}

#[test]
fn through_unbound_validating_ourselves() {
    check(DnssecMode::Validate);
}

#[test]
fn a_silent_server_is_a_timeout_never_no_record() {
    let r = resolver(DnssecMode::UpstreamAd, bed().blackhole);
    let a = rt().block_on(r.lookup("mail.test", RecordType::TXT));
    assert_eq!(a.lookup.outcome, DnsOutcome::Timeout, "{:?}", a.lookup);
    assert!(a.lookup.usable().is_empty());
}

#[test]
fn bogus_data_is_kept_as_evidence_but_never_used() {
    let r = resolver(DnssecMode::UpstreamAd, bed().resolver);
    let a = rt().block_on(r.lookup("bogus.test", RecordType::TXT));
    assert_eq!(a.lookup.dnssec, DnssecStatus::Bogus, "{:?}", a.lookup);
    assert_eq!(a.lookup.records, ["v=spf1 mx -all"]);
    assert!(a.lookup.usable().is_empty());
    assert!(a.data.is_empty());
}
