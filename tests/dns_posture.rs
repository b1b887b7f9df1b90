//! `mailwarden dns` end to end against real DNS servers (Knot serving zones
//! signed at test time, a validating Unbound) and an HTTPS policy server:
//! the good domain, the weak one, unsigned, bogus, SERVFAIL and timeout.

mod dns_harness;

use dns_harness::*;
use mailwarden_model::{Attempt, DnsOutcome, DnssecStatus, SpfResult};

#[test]
fn a_well_configured_domain_reads_as_such() {
    let r = json(
        "dns",
        "mail.test",
        &["--dkim-selector", "strong", "--outbound", "192.0.2.25"],
    );
    let d = domain(&r, "mail.test");
    assert_eq!(d.mx.hosts.len(), 1);
    assert_eq!(d.mx.hosts[0].name, "mx.mail.test");
    assert_eq!(d.mx.lookup.dnssec, DnssecStatus::Secure);
    assert_eq!(
        d.mx.hosts[0].addresses,
        ["127.0.0.1".parse::<std::net::IpAddr>().unwrap()]
    );
    let srv: Vec<(&str, u16)> = d
        .srv
        .iter()
        .flat_map(|s| s.targets.iter().map(move |t| (s.service.as_str(), t.port)))
        .collect();
    assert!(
        srv.contains(&("_submissions._tcp", testbed().endpoint("smtps").port())),
        "{srv:?}"
    );
    assert!(srv.contains(&("_pop3._tcp", 0)), "{srv:?}");
    // SPF: the MX via `mx`, the declared sender via the include.
    let results: Vec<(&str, SpfResult)> = d
        .spf
        .checks
        .iter()
        .map(|c| (c.purpose.as_str(), c.result))
        .collect();
    assert_eq!(
        results,
        [("mx", SpfResult::Pass), ("outbound", SpfResult::Pass)]
    );
    assert_eq!(d.spf.expansion.as_ref().unwrap().dns_lookups, 2);
    assert_eq!(
        d.dmarc.policy.as_ref().unwrap().p.as_deref(),
        Some("reject")
    );
    assert!(d.dmarc.external_destinations.iter().all(|x| x.authorized));
    let strong = d.dkim.iter().find(|k| k.selector == "strong").unwrap();
    assert_eq!(strong.key.as_ref().unwrap().bits, Some(2048));
    let Attempt::Completed { value: fetch } = &d.mta_sts.policy else {
        panic!("{:?}", d.mta_sts.policy)
    };
    assert_eq!(fetch.status, 200);
    assert_eq!(
        fetch.policy.as_ref().unwrap().mode.as_deref(),
        Some("enforce")
    );
    assert!(
        fetch
            .tls
            .certificate_chain
            .as_ref()
            .unwrap()
            .validation
            .trusted
    );
    assert_eq!(d.tls_rpt.records.len(), 1);
    let dane = d.dane.iter().find(|t| t.port == 25).unwrap();
    assert_eq!(dane.records.len(), 3);
    assert_eq!(dane.lookup.dnssec, DnssecStatus::Secure);
    assert_eq!(d.fcrdns[0].confirmed, ["mx.mail.test"]);
    assert_eq!(
        rules(&r),
        Vec::<String>::new(),
        "{:#?}",
        r.assessment.findings
    );
}

#[test]
fn a_weak_domain_gets_every_finding() {
    let r = json(
        "dns",
        "weak.test",
        &[
            "--dkim-selector",
            "weak",
            "--dkim-selector",
            "tiny",
            "--dkim-selector",
            "revoked",
            "--dkim-selector",
            "gone",
        ],
    );
    let d = domain(&r, "weak.test");
    let exp = d.spf.expansion.as_ref().unwrap();
    assert!(exp.dns_lookups > 10, "{}", exp.dns_lookups);
    assert!(exp.void_lookups > 2, "{}", exp.void_lookups);
    assert_eq!(exp.loops, ["weak.test"]);
    assert_eq!(d.spf.checks[0].result, SpfResult::Permerror);
    assert_eq!(
        rules(&r),
        [
            "dane-rollover-unsafe",
            "dkim-key-revoked",
            "dkim-key-short",
            "dkim-key-too-weak",
            "dkim-selector-not-found",
            "dkim-testing-mode",
            "dmarc-external-destination-unauthorized",
            "dmarc-partial-pct",
            "dmarc-policy-none",
            "mta-sts-max-age-short",
            "mta-sts-mx-not-covered",
            "spf-include-loop",
            "spf-mx-not-authorized",
            "spf-pass-all",
            "spf-ptr-mechanism",
            "spf-too-many-lookups",
            "spf-too-many-void-lookups",
            "tls-rpt-missing",
        ]
    );
    let too_weak = finding(&r, "dkim-key-too-weak");
    assert!(too_weak.summary.contains("RSA-768"), "{}", too_weak.summary);
}

#[test]
fn an_unsigned_zone_makes_tlsa_useless_and_a_redirect_is_not_a_policy() {
    let r = json("dns", "plain.test", &[]);
    let d = domain(&r, "plain.test");
    assert_eq!(d.mx.lookup.dnssec, DnssecStatus::Insecure);
    assert_eq!(d.spf.records.len(), 2);
    let Attempt::Completed { value: fetch } = &d.mta_sts.policy else {
        panic!("{:?}", d.mta_sts.policy)
    };
    assert_eq!(fetch.status, 301);
    assert!(fetch.policy.is_none(), "a redirect is never followed");
    for rule in [
        "domain-not-signed",
        "dane-tlsa-insecure",
        "spf-multiple-records",
        "dmarc-missing",
        "mta-sts-policy-unavailable",
        "mx-fcrdns-missing",
    ] {
        finding(&r, rule);
    }
}

#[test]
fn bogus_answers_are_neither_used_nor_called_missing() {
    for mode in ["validate", "upstream"] {
        let r = json("dns", "bogus.test", &["--dnssec", mode]);
        let d = domain(&r, "bogus.test");
        assert_eq!(
            d.mx.lookup.dnssec,
            DnssecStatus::Bogus,
            "{mode}: {:?}",
            d.mx.lookup
        );
        assert!(d.mx.hosts.is_empty());
        assert_eq!(d.spf.lookup.dnssec, DnssecStatus::Bogus);
        assert_eq!(d.spf.lookup.records, ["v=spf1 mx -all"], "kept as evidence");
        let fired = rules(&r);
        assert!(
            fired.contains(&"dnssec-bogus".to_owned()),
            "{mode}: {fired:?}"
        );
        for absent in ["no-mx-record", "spf-missing", "dmarc-missing"] {
            assert!(
                !fired.contains(&absent.to_owned()),
                "{mode}: {absent} in {fired:?}"
            );
        }
    }
}

#[test]
fn servfail_is_not_nxdomain() {
    let r = json("dns", "lame.example", &["--dnssec", "upstream"]);
    let d = domain(&r, "lame.example");
    assert_eq!(d.mx.lookup.outcome, DnsOutcome::Servfail);
    assert_ne!(d.mx.lookup.dnssec, DnssecStatus::Bogus);
    let fired = rules(&r);
    assert!(fired.contains(&"dns-lookup-failed".to_owned()), "{fired:?}");
    for absent in [
        "no-mx-record",
        "spf-missing",
        "dmarc-missing",
        "mta-sts-missing",
    ] {
        assert!(!fired.contains(&absent.to_owned()), "{absent} in {fired:?}");
    }
    // A name that does not exist is NXDOMAIN: that one has no records.
    let r = json("dns", "nope.mail.test", &[]);
    let d = domain(&r, "nope.mail.test");
    assert_eq!(d.mx.lookup.outcome, DnsOutcome::Nxdomain);
    assert_eq!(d.mx.lookup.dnssec, DnssecStatus::Secure);
    let fired = rules(&r);
    assert!(fired.contains(&"no-mx-record".to_owned()), "{fired:?}");
    assert!(fired.contains(&"spf-missing".to_owned()), "{fired:?}");
    // DMARC falls back to the organizational domain (public suffix list).
    assert_eq!(d.dmarc.organizational_domain, "mail.test");
    assert_eq!(d.dmarc.found_at.as_deref(), Some("mail.test"));
    assert!(!fired.contains(&"dmarc-missing".to_owned()), "{fired:?}");
}

#[test]
fn a_timeout_is_never_no_record() {
    let mut args: Vec<String> = vec![
        "dns".into(),
        "mail.test".into(),
        "--format".into(),
        "json".into(),
    ];
    args.extend([
        "--resolver".into(),
        bed().blackhole.to_string(),
        "--timeout".into(),
        "1".into(),
    ]);
    let (_, out, err) = mailwarden(&args);
    let r: mailwarden_model::ScanReport =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {err}"));
    let d = domain(&r, "mail.test");
    assert_eq!(d.mx.lookup.outcome, DnsOutcome::Timeout);
    assert_eq!(d.spf.lookup.outcome, DnsOutcome::Timeout);
    assert_eq!(rules(&r), ["dns-lookup-failed"]);
}

#[test]
fn a_null_mx_domain_accepts_no_mail() {
    let r = json("dns", "nomail.test", &[]);
    let d = domain(&r, "nomail.test");
    assert!(d.mx.null_mx);
    assert!(d.mx.hosts.is_empty());
    // Nothing about MX, MTA-STS or DKIM for a domain without mail; its DMARC
    // record asks for no reports, which is still worth knowing.
    assert_eq!(
        rules(&r),
        ["dmarc-no-aggregate-reports"],
        "{:#?}",
        r.assessment.findings
    );
}

#[test]
fn both_dnssec_modes_agree_on_the_good_domain() {
    let validated = json("dns", "mail.test", &["--dkim-selector", "strong"]);
    let upstream = json(
        "dns",
        "mail.test",
        &["--dkim-selector", "strong", "--dnssec", "upstream"],
    );
    let (a, b) = (
        domain(&validated, "mail.test"),
        domain(&upstream, "mail.test"),
    );
    assert_eq!(a.mx.lookup.dnssec, b.mx.lookup.dnssec);
    assert_eq!(a.dane[0].lookup.dnssec, b.dane[0].lookup.dnssec);
    assert_eq!(rules(&validated), rules(&upstream));
}

#[test]
fn text_report_has_the_dns_section() {
    let mut args: Vec<String> = vec![
        "dns".into(),
        "weak.test".into(),
        "--color".into(),
        "never".into(),
    ];
    args.extend(dns_args());
    let (code, out, err) = mailwarden(&args);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Domain weak.test"), "{out}");
    assert!(out.contains("16 DNS lookups"), "{out}");
    assert!(out.contains("MW-SPF-008 spf-pass-all"), "{out}");
}

#[test]
fn spf_command_evaluates_one_case() {
    let run = |ip: &str, sender: &str| {
        let mut args: Vec<String> = vec![
            "spf".into(),
            "--ip".into(),
            ip.into(),
            "--sender".into(),
            sender.into(),
        ];
        args.extend(["--resolver".into(), bed().resolver.to_string()]);
        args.extend([
            "--trust-anchor".into(),
            bed().trust_anchor.display().to_string(),
        ]);
        mailwarden(&args)
    };
    let (code, out, _) = run("192.0.2.10", "someone@mail.test");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("= pass"), "{out}");
    assert!(out.contains("include:_spf.mail.test"), "{out}");
    let (code, out, _) = run("203.0.113.9", "someone@mail.test");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("= fail"), "{out}");
    let (code, out, _) = run("127.0.0.1", "weak.test");
    assert_eq!(code, 1);
    assert!(
        out.contains("= permerror") && out.contains("void lookups"),
        "{out}"
    );
}
