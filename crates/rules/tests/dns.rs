//! Domain rules from observation fixtures: no DNS, no sockets.

use mailwarden_model::{
    Attempt, DaneObservation, DmarcObservation, DnsLookup, DnsOutcome, DnssecMode, DnssecStatus,
    DomainObservation, MtaStsObservation, MxHost, MxObservation, ResolverInfo, Severity,
    SpfObservation, TlsRptObservation, TlsaRecord,
};
use mailwarden_rules::{AssessContext, assess, fixtures, mx_authenticated, mx_pattern_matches};

fn lookup(name: &str, rtype: &str, outcome: DnsOutcome, records: &[&str]) -> DnsLookup {
    DnsLookup {
        name: name.to_owned(),
        rtype: rtype.to_owned(),
        outcome,
        dnssec: DnssecStatus::Secure,
        records: records.iter().map(|r| r.to_string()).collect(),
        detail: None,
    }
}

/// A signed domain with one MX and nothing else published.
fn bare(domain: &str) -> DomainObservation {
    let nx = |name: &str, t: &str| lookup(name, t, DnsOutcome::Nxdomain, &[]);
    DomainObservation {
        domain: domain.to_owned(),
        resolver: ResolverInfo {
            servers: vec!["127.0.0.1:53".into()],
            system: false,
            dnssec_mode: DnssecMode::Validate,
            trust_anchor: None,
        },
        mx: MxObservation {
            lookup: lookup(domain, "MX", DnsOutcome::Answer, &["10 mx.example."]),
            null_mx: false,
            hosts: vec![MxHost {
                preference: 10,
                name: format!("mx.{domain}"),
                lookups: vec![lookup(
                    &format!("mx.{domain}"),
                    "A",
                    DnsOutcome::Answer,
                    &["192.0.2.1"],
                )],
                addresses: vec!["192.0.2.1".parse().unwrap()],
            }],
            implicit: Vec::new(),
        },
        srv: Vec::new(),
        spf: SpfObservation {
            lookup: nx(domain, "TXT"),
            records: Vec::new(),
            errors: Vec::new(),
            terms: Vec::new(),
            expansion: None,
            checks: Vec::new(),
        },
        dmarc: DmarcObservation {
            lookup: nx(&format!("_dmarc.{domain}"), "TXT"),
            organizational_domain: domain.to_owned(),
            org_lookup: None,
            records: Vec::new(),
            found_at: None,
            policy: None,
            errors: Vec::new(),
            external_destinations: Vec::new(),
        },
        dkim: Vec::new(),
        mta_sts: MtaStsObservation {
            lookup: nx(&format!("_mta-sts.{domain}"), "TXT"),
            records: Vec::new(),
            id: None,
            errors: Vec::new(),
            policy: Attempt::skipped("no MTA-STS record"),
        },
        tls_rpt: TlsRptObservation {
            lookup: nx(&format!("_smtp._tls.{domain}"), "TXT"),
            records: Vec::new(),
            rua: Vec::new(),
            errors: Vec::new(),
        },
        dane: Vec::new(),
        fcrdns: Vec::new(),
        mx_tls: Vec::new(),
    }
}

fn fired(d: DomainObservation) -> Vec<(String, Severity)> {
    let ctx = AssessContext::new(fixtures::scan_time()).with_domains(vec![d]);
    let mut v: Vec<(String, Severity)> = assess(&[], &[], &ctx)
        .findings
        .into_iter()
        .map(|f| (f.rule, f.severity))
        .collect();
    v.sort();
    v
}

#[test]
fn a_bare_domain_misses_spf_dmarc_and_mta_sts() {
    let names: Vec<String> = fired(bare("example.org"))
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(
        names,
        [
            "dkim-no-key-found",
            "dmarc-missing",
            "mta-sts-missing",
            "spf-missing"
        ]
    );
}

#[test]
fn failed_lookups_are_never_missing_records() {
    let mut d = bare("example.org");
    for l in [
        &mut d.spf.lookup,
        &mut d.dmarc.lookup,
        &mut d.mta_sts.lookup,
        &mut d.tls_rpt.lookup,
    ] {
        l.outcome = DnsOutcome::Timeout;
        l.dnssec = DnssecStatus::Indeterminate;
    }
    d.mx.lookup.outcome = DnsOutcome::Servfail;
    d.mx.hosts.clear();
    let f = fired(d);
    assert!(
        f.iter()
            .all(|(n, _)| n == "dns-lookup-failed" || n == "dkim-no-key-found"),
        "{f:?}"
    );
    assert_eq!(
        f.iter().filter(|(n, _)| n == "dns-lookup-failed").count(),
        5
    );
}

#[test]
fn spf_strength_and_syntax() {
    let mut d = bare("example.org");
    d.spf.lookup = lookup(
        "example.org",
        "TXT",
        DnsOutcome::Answer,
        &["v=spf1 ip4:300.1.1.1 +all"],
    );
    d.spf.records = vec!["v=spf1 ip4:300.1.1.1 +all".into()];
    let parsed_terms = serde_json::json!([
        {"text": "ip4:300.1.1.1", "position": 7, "kind": "ip4", "qualifier": "+"},
        {"text": "+all", "position": 21, "kind": "all", "qualifier": "+"}
    ]);
    d.spf.terms = serde_json::from_value(parsed_terms).unwrap();
    d.spf.expansion = Some(
        serde_json::from_value(serde_json::json!({
            "dns_lookups": 0, "void_lookups": 0, "ptr_terms": 0,
            "nodes": [{"domain": "example.org", "depth": 0, "via": "record",
                       "lookup": d.spf.lookup, "record": "v=spf1 ip4:300.1.1.1 +all", "record_count": 1,
                       "errors": [{"position": 11, "message": "\"300.1.1.1\" is not an IPv4 address"}]}]
        }))
        .unwrap(),
    );
    let f = fired(d);
    assert!(
        f.contains(&("spf-pass-all".into(), Severity::High)),
        "{f:?}"
    );
    assert!(
        f.contains(&("spf-syntax-error".into(), Severity::High)),
        "{f:?}"
    );
}

#[test]
fn only_dane_ta_or_enforced_mta_sts_authenticates_the_mx_identity() {
    let mut d = bare("example.org");
    let tlsa = |usage| TlsaRecord {
        usage,
        selector: 1,
        matching_type: 1,
        data: "00".repeat(32),
    };
    d.dane.push(DaneObservation {
        host: "mx.example.org".into(),
        port: 25,
        lookup: lookup("_25._tcp.mx.example.org", "TLSA", DnsOutcome::Answer, &[]),
        host_dnssec: DnssecStatus::Secure,
        records: vec![tlsa(3)],
        matches: Vec::new(),
    });
    assert!(
        !mx_authenticated(&d, "mx.example.org"),
        "DANE-EE ignores names"
    );
    d.dane[0].records.push(tlsa(2));
    assert!(mx_authenticated(&d, "mx.example.org"));
    d.dane[0].lookup.dnssec = DnssecStatus::Insecure;
    assert!(
        !mx_authenticated(&d, "mx.example.org"),
        "insecure TLSA is ignored"
    );
    assert!(mx_pattern_matches("*.example.org", "mx.example.org"));
    assert!(!mx_pattern_matches("*.example.org", "a.mx.example.org"));
}
