//! DRIFT rules and policy overrides, from observation fixtures (no network).

mod common;

use std::sync::Arc;

use common::{evidence_text, has, only, pairs};
use mailwarden_model::{
    Assessment, EndpointObservation, EnforcementKind, EnforcementOutcome, PortState, Protocol,
    ServiceRole, Severity, TargetResult, TlsVersion,
};
use mailwarden_rules::fixtures::*;
use mailwarden_rules::{AssessContext, assess, judge, parse_policy};

/// A policy for [`HOST`] (the fixtures' target) with extra TOML appended.
fn policy(services_and_more: &str) -> Arc<mailwarden_policy::Policy> {
    let text = format!("baseline = \"none\"\n{services_and_more}");
    match parse_policy(&text, "test.toml") {
        Ok(p) => Arc::new(p),
        Err(e) => panic!("{e}"),
    }
}

fn service(name: &str, port: u16, protocol: &str, tls: &str, extra: &str) -> String {
    format!(
        "[[service]]\nname = \"{name}\"\nhosts = [\"{HOST}\"]\nport = {port}\nprotocol = \"{protocol}\"\ntls = \"{tls}\"\n{extra}\n"
    )
}

fn audit(p: &Arc<mailwarden_policy::Policy>, endpoints: Vec<EndpointObservation>) -> Assessment {
    audit_targets(p, endpoints, vec![target(HOST)])
}

fn audit_targets(
    p: &Arc<mailwarden_policy::Policy>,
    endpoints: Vec<EndpointObservation>,
    targets: Vec<TargetResult>,
) -> Assessment {
    let ctx = AssessContext::new(scan_time()).with_policy(p.clone());
    assess(&endpoints, &targets, &ctx)
}

/// The DRIFT findings as (id, port, severity), sorted.
fn drift(a: &Assessment) -> Vec<(String, Option<u16>, Severity)> {
    let mut v: Vec<_> = a
        .findings
        .iter()
        .filter(|f| f.rule_id.starts_with("MW-DRIFT-"))
        .map(|f| (f.rule_id.clone(), f.address.map(|x| x.port()), f.severity))
        .collect();
    v.sort();
    v
}

fn d(id: &str, port: u16, sev: Severity) -> (String, Option<u16>, Severity) {
    (id.to_owned(), Some(port), sev)
}

/// A port-25 MX (STARTTLS optional, no AUTH).
fn mx() -> EndpointObservation {
    let mut obs = smtp(25).build();
    // An MX offers no AUTH, not even after TLS.
    if let Some(p) = &mut obs.plaintext
        && let mailwarden_model::Attempt::Completed { value } = &mut p.starttls
        && let mailwarden_model::Attempt::Completed { value: caps } =
            &mut value.capabilities_after_tls
    {
        caps.auth_mechanisms.clear();
        caps.reply.retain(|l| !l.text().contains("AUTH"));
    }
    obs
}

fn with_chain(b: EndpointBuilder) -> EndpointBuilder {
    b.starttls_handshake(modern_handshake(HOST))
}

#[test]
fn a_matching_architecture_has_no_drift() {
    let p = policy(&format!(
        "{}{}",
        service("mx", 25, "smtp", "starttls", ""),
        service("submission", 587, "smtp", "starttls-required", "")
    ));
    let a = audit(&p, vec![mx(), smtp(587).build(), closed(110)]);
    assert_eq!(drift(&a), vec![]);
}

#[test]
fn an_undeclared_open_port_is_reported_closed_ones_are_not() {
    let p = policy(&service("mx", 25, "smtp", "starttls", ""));
    let a = audit(
        &p,
        vec![
            mx(),
            smtp(2525).build(),
            lmtp(24).build(),
            closed(587),
            open_not_mail(8080, &["HTTP/1.1 400"]),
        ],
    );
    assert_eq!(
        drift(&a),
        vec![
            d("MW-DRIFT-001", 24, Severity::High),
            d("MW-DRIFT-001", 2525, Severity::Medium)
        ]
    );
    let f = a
        .findings
        .iter()
        .find(|f| f.rule_id == "MW-DRIFT-001" && f.address == Some(addr(2525)))
        .unwrap();
    assert!(
        f.summary.contains("no service in the policy declares it"),
        "{}",
        f.summary
    );
    assert!(
        evidence_text(f)
            .iter()
            .any(|l| l.contains("220 mail.example.test"))
    );
}

#[test]
fn undeclared_hosts_are_not_judged_against_the_policy() {
    let p = policy(&service("mx", 25, "smtp", "starttls", ""));
    let mut other = smtp(2525).build();
    other.target = "elsewhere.example.test".to_owned();
    let a = audit(&p, vec![mx(), other]);
    assert_eq!(drift(&a), vec![]);
}

#[test]
fn a_declared_service_that_is_down() {
    let p = policy(&format!(
        "{}{}",
        service("mx", 25, "smtp", "starttls", ""),
        service("imaps", 993, "imap", "implicit", "")
    ));
    let a = audit(&p, vec![closed(25), filtered(993)]);
    assert_eq!(
        drift(&a),
        vec![
            d("MW-DRIFT-002", 25, Severity::Medium),
            d("MW-DRIFT-002", 993, Severity::Medium)
        ]
    );
    // An unresolvable declared host: one finding per declared port, no address.
    let a = audit_targets(&p, vec![], vec![unresolved_target(HOST)]);
    let down: Vec<_> = a
        .findings
        .iter()
        .filter(|f| f.rule_id == "MW-DRIFT-002")
        .collect();
    assert_eq!(down.len(), 2);
    assert!(
        down.iter()
            .all(|f| f.address.is_none() && f.summary.contains("did not resolve"))
    );
    let mut contexts: Vec<&str> = down.iter().map(|f| f.context.as_str()).collect();
    contexts.sort_unstable();
    assert_eq!(contexts, ["mail-access", "mx"]);
}

#[test]
fn tls_enforcement_turned_off_is_weaker_than_declared() {
    let p = policy(&service("submission", 587, "smtp", "starttls-required", ""));
    let optional = smtp(587).auth_before_tls(&["PLAIN", "LOGIN"]).build();
    let a = audit(&p, vec![optional]);
    assert!(drift(&a).contains(&d("MW-DRIFT-003", 587, Severity::High)));
    let f = only(&a, "MW-DRIFT-003");
    assert!(
        f.summary
            .contains("starttls-optional, weaker than the declared tls = \"starttls-required\""),
        "{}",
        f.summary
    );
    let ev = evidence_text(f);
    assert!(
        ev.iter()
            .any(|l| l.contains("declared: tls = \"starttls-required\"")),
        "{ev:?}"
    );
    assert!(ev.iter().any(|l| l.contains("AUTH PLAIN LOGIN")), "{ev:?}");
}

#[test]
fn modes_weaker_and_merely_different() {
    // Declared implicit, observed STARTTLS required: a different mode, not weaker.
    let p = policy(&service(
        "submission",
        587,
        "smtp",
        "implicit",
        "role = \"submissions\"",
    ));
    let a = audit(&p, vec![smtp(587).build()]);
    assert_eq!(drift(&a), vec![d("MW-DRIFT-004", 587, Severity::Low)]);
    // Declared STARTTLS, observed plaintext: weaker.
    let p = policy(&service("mx", 25, "smtp", "starttls", ""));
    let a = audit(&p, vec![smtp(25).without_starttls().build()]);
    assert!(
        drift(&a).contains(&d("MW-DRIFT-003", 25, Severity::Medium)),
        "{:?}",
        drift(&a)
    );
    // Declared STARTTLS, observed required: fine (stricter).
    let p = policy(&service("submission", 587, "smtp", "starttls", ""));
    assert_eq!(drift(&audit(&p, vec![smtp(587).build()])), vec![]);
    // Declared plaintext, observed STARTTLS: different.
    let p = policy(&service(
        "legacy",
        587,
        "smtp",
        "plaintext",
        "auth = \"optional\"",
    ));
    assert_eq!(
        drift(&audit(&p, vec![smtp(587).build()])),
        vec![d("MW-DRIFT-004", 587, Severity::Low)]
    );
    // Broken TLS where TLS was declared: weaker.
    let p = policy(&service("imaps", 993, "imap", "implicit", ""));
    let broken = implicit(993, Protocol::Imap)
        .implicit_handshake(failed_handshake(None))
        .build();
    assert!(drift(&audit(&p, vec![broken])).contains(&d("MW-DRIFT-003", 993, Severity::High)));
}

#[test]
fn authentication_against_the_declaration() {
    // An MX declared without AUTH that offers it after TLS.
    let p = policy(&service("mx", 25, "smtp", "starttls", "auth = \"none\""));
    let a = audit(&p, vec![smtp(25).build()]);
    assert_eq!(drift(&a), vec![d("MW-DRIFT-005", 25, Severity::Medium)]);
    assert!(
        only(&a, "MW-DRIFT-005")
            .summary
            .contains("offers authentication")
    );
    // after-tls (the default for submission): AUTH before TLS is drift.
    let p = policy(&service("submission", 587, "smtp", "starttls", ""));
    let a = audit(&p, vec![smtp(587).auth_before_tls(&["PLAIN"]).build()]);
    assert!(only(&a, "MW-DRIFT-005").summary.contains("before TLS"));
    // required: no AUTH anywhere is drift.
    let p = policy(&service(
        "submission",
        587,
        "smtp",
        "starttls",
        "auth = \"required\"",
    ));
    let a = audit(&p, vec![mx_like(587)]);
    assert!(
        only(&a, "MW-DRIFT-005")
            .summary
            .contains("offers no authentication")
    );
    // optional: never checked.
    let p = policy(&service(
        "submission",
        587,
        "smtp",
        "starttls",
        "auth = \"optional\"",
    ));
    assert_eq!(drift(&audit(&p, vec![mx_like(587)])), vec![]);
}

/// SMTP without AUTH on `port`.
fn mx_like(port: u16) -> EndpointObservation {
    let mut obs = mx();
    obs.address = addr(port);
    obs
}

#[test]
fn the_wrong_protocol_on_a_declared_port() {
    let p = policy(&service("submission", 587, "smtp", "starttls-required", ""));
    let mut imap_there = imap(143).build();
    imap_there.address = addr(587);
    let a = audit(&p, vec![imap_there]);
    assert!(drift(&a).contains(&d("MW-DRIFT-006", 587, Severity::Medium)));
    let a = audit(&p, vec![open_not_mail(587, &["SSH-2.0-OpenSSH_9.2"])]);
    assert_eq!(drift(&a), vec![d("MW-DRIFT-006", 587, Severity::Medium)]);
    assert!(
        evidence_text(only(&a, "MW-DRIFT-006"))
            .iter()
            .any(|l| l.contains("SSH-2.0"))
    );
}

#[test]
fn forbidden_ports_and_protocols_that_answer() {
    let p = policy(&format!(
        "{}\n[forbid]\nports = [110, 143]\nprotocols = [\"lmtp\"]\n",
        service("mx", 25, "smtp", "starttls", "")
    ));
    let a = audit(
        &p,
        vec![
            mx(),
            pop3(110).build(),
            closed(143),
            lmtp(10024).build(),
            dialog_error(143),
        ],
    );
    let got = drift(&a);
    assert!(
        got.contains(&d("MW-DRIFT-007", 110, Severity::High)),
        "{got:?}"
    );
    assert!(
        got.contains(&d("MW-DRIFT-007", 10024, Severity::High)),
        "{got:?}"
    );
    // Port 143: one closed observation, one that answered and failed.
    assert_eq!(
        got.iter()
            .filter(|x| x.0 == "MW-DRIFT-007" && x.1 == Some(143))
            .count(),
        1
    );
    // Forbidden ones are not also "undeclared".
    assert!(!got.iter().any(|x| x.0 == "MW-DRIFT-001"), "{got:?}");
}

#[test]
fn declared_roles_decide_the_context_even_for_a_stored_scan() {
    // SMTP on 10025 is a submission port unless the policy says it is an MX.
    let p = policy(&service(
        "relay",
        10025,
        "smtp",
        "starttls",
        "role = \"smtp\"",
    ));
    let obs = smtp(10025).build();
    assert_eq!(obs.role, None);
    let a = audit(&p, vec![obs]);
    assert_eq!(a.endpoints[0].context, "mx");
}

#[test]
fn baseline_versions_suites_keys_and_features() {
    let text = format!(
        "baseline = \"mozilla-intermediate\"\n{}",
        service("submission", 587, "smtp", "starttls-required", "")
    );
    let p = Arc::new(parse_policy(&text, "t.toml").unwrap());
    let scan = modern_scan()
        .accept(TlsVersion::TLS10, &[0xc013])
        .add_suites(TlsVersion::TLS12, &[0x009c, 0x0034, 0x009e])
        .dh_bits(0x009e, 1024)
        .features(|f| {
            f.secure_renegotiation = Some(false);
            f.compression = Some(true);
        });
    let obs = with_chain(smtp(587)).chain(|c| {
        if let Some(leaf) = c.certificates.first_mut() {
            leaf.public_key.bits = Some(1024);
        }
    });
    let a = audit(&p, vec![obs.tls_scan(scan).build()]);
    let got = drift(&a);
    for id in ["MW-DRIFT-008", "MW-DRIFT-009", "MW-DRIFT-010"] {
        assert!(got.iter().any(|x| x.0 == id), "{id} missing: {got:?}");
    }
    // Mozilla's data names no required feature: secure renegotiation is not asked.
    assert!(!got.iter().any(|x| x.0 == "MW-DRIFT-011"), "{got:?}");
    let versions = evidence_text(only(&a, "MW-DRIFT-008"));
    assert!(
        versions.iter().any(|l| l.starts_with("TLSv1.0 accepted")),
        "{versions:?}"
    );
    let suites = evidence_text(only(&a, "MW-DRIFT-009"));
    assert!(
        suites
            .iter()
            .any(|l| l.contains("TLS_RSA_WITH_AES_128_GCM_SHA256: no forward-secrecy")),
        "{suites:?}"
    );
    assert!(
        suites
            .iter()
            .any(|l| l.contains("TLS_DH_anon_WITH_AES_128_CBC_SHA: anonymous")),
        "{suites:?}"
    );
    assert!(
        suites
            .iter()
            .any(|l| l.contains("TLS_DHE_RSA_WITH_AES_128_GCM_SHA256: not in the baseline's list")),
        "{suites:?}"
    );
    let keys = evidence_text(only(&a, "MW-DRIFT-010"));
    assert!(
        keys.iter()
            .any(|l| l.contains("RSA 1024 bits; minimum 2048")),
        "{keys:?}"
    );
    assert!(
        keys.iter()
            .any(|l| l.contains("DH 1024 bits; minimum 2048")),
        "{keys:?}"
    );

    // rfc8314 requires secure renegotiation and forbids compression.
    let p = policy(&service(
        "submission",
        587,
        "smtp",
        "starttls-required",
        "baseline = \"rfc8314\"",
    ));
    let scan = modern_scan().features(|f| {
        f.secure_renegotiation = Some(false);
        f.compression = Some(true);
    });
    let a = audit(&p, vec![with_chain(smtp(587)).tls_scan(scan).build()]);
    let features = evidence_text(only(&a, "MW-DRIFT-011"));
    assert_eq!(
        features,
        [
            "secure-renegotiation: absent; the baseline requires it",
            "compression: present; the baseline forbids it"
        ]
    );
    // A clean modern server meets every baseline.
    for b in [
        "rfc8314",
        "mozilla-intermediate",
        "bsi-tr-03108",
        "nist-800-177",
    ] {
        let p = Arc::new(
            parse_policy(
                &format!(
                    "baseline = \"{b}\"\n{}",
                    service("s", 587, "smtp", "starttls-required", "")
                ),
                "t",
            )
            .unwrap(),
        );
        let obs = with_chain(smtp(587)).chain(|c| {
            if let Some(leaf) = c.certificates.first_mut() {
                leaf.public_key = mailwarden_model::PublicKeyInfo {
                    algorithm: "ecdsa".into(),
                    bits: Some(256),
                    curve: Some("P-256".into()),
                };
            }
        });
        let a = audit(&p, vec![obs.tls_scan(modern_scan()).build()]);
        assert_eq!(drift(&a), vec![], "{b}");
    }
}

#[test]
fn the_handshake_alone_is_judged_when_there_is_no_enumeration() {
    let p = policy(&service(
        "submission",
        587,
        "smtp",
        "starttls-required",
        "baseline = \"rfc8314\"",
    ));
    let legacy = smtp(587).starttls_handshake(failed_handshake(Some((
        TlsVersion::TLS10,
        0x002f,
        "TLS_RSA_WITH_AES_128_CBC_SHA",
    ))));
    let a = audit(&p, vec![legacy.build()]);
    let versions = evidence_text(only(&a, "MW-DRIFT-008"));
    assert_eq!(
        versions,
        ["TLSv1.0 accepted (legacy ClientHello); minimum TLSv1.2"]
    );
}

#[test]
fn certificates_that_differ_within_a_service() {
    let p = policy(&format!(
        "[[service]]\nname = \"mx\"\nhosts = [\"{HOST}\", \"mx2.example.test\"]\nports = [25, 2525]\nprotocol = \"smtp\"\nrole = \"smtp\"\ntls = \"starttls\"\nauth = \"optional\"\n"
    ));
    let good = |port: u16, host: &str| {
        let mut o = with_chain(smtp(port)).build();
        o.target = host.to_owned();
        o
    };
    let mut expiring = with_chain(smtp(2525))
        .chain(|c| {
            if let Some(leaf) = c.certificates.first_mut() {
                leaf.not_after = Some(days(10));
                leaf.sha256 = "ab".repeat(32);
            }
        })
        .build();
    expiring.target = HOST.to_owned();
    let endpoints = vec![
        good(25, HOST),
        expiring,
        good(25, "mx2.example.test"),
        good(2525, "mx2.example.test"),
    ];
    let a = audit_targets(
        &p,
        endpoints,
        vec![target(HOST), target("mx2.example.test")],
    );
    let inconsistent: Vec<_> = a
        .findings
        .iter()
        .filter(|f| f.rule_id == "MW-DRIFT-012")
        .collect();
    assert_eq!(inconsistent.len(), 1, "{inconsistent:#?}");
    let f = inconsistent[0];
    assert_eq!((f.target.as_str(), f.address), (HOST, Some(addr(2525))));
    assert!(
        f.summary
            .contains("expires 2025-06-11T12:00:00Z instead of 2025-07-31T12:00:00Z"),
        "{}",
        f.summary
    );
    assert!(
        evidence_text(f)
            .iter()
            .any(|l| l == &format!("sha256: {}", "ab".repeat(32)))
    );
    // All the same: nothing.
    let same = vec![good(25, HOST), good(2525, HOST)];
    assert_eq!(drift(&audit(&p, same)), vec![]);
    // The same leaf without its intermediate on one of three endpoints.
    let short_chain = with_chain(smtp(2525))
        .chain(|c| c.certificates.truncate(1))
        .build();
    let a = audit(
        &p,
        vec![good(25, HOST), short_chain, good(25, "mx2.example.test")],
    );
    let f = only(&a, "MW-DRIFT-012");
    assert_eq!(f.address, Some(addr(2525)));
    assert!(
        f.summary
            .contains("the same leaf with another chain (1 instead of 2 certificates)"),
        "{}",
        f.summary
    );
}

#[test]
fn overrides_raise_cap_set_and_suppress() {
    let base = service("submission", 587, "smtp", "starttls-required", "");
    let optional = || {
        smtp(587)
            .auth_before_tls(&["PLAIN"])
            .probe(
                EnforcementKind::SmtpMailBeforeTls,
                "MAIL FROM:<>",
                &["250 2.1.0 Ok"],
                EnforcementOutcome::AcceptedWithoutTls,
            )
            .build()
    };
    let before = audit(&policy(&base), vec![optional()]);
    assert_eq!(only(&before, "MW-AUTH-001").severity, Severity::High);
    assert_eq!(only(&before, "MW-DRIFT-003").severity, Severity::High);

    let p = policy(&format!(
        "{base}\n[rules]\n\"MW-AUTH-001\" = \"warn\"\ntls-weaker-than-declared = \"allow\"\n\"MW-DRIFT-005\" = \"deny\"\n"
    ));
    let ctx = AssessContext::new(scan_time()).with_policy(p.clone());
    let j = judge(&[optional()], &[target(HOST)], &ctx);
    let a = &j.assessment;
    let auth = only(a, "MW-AUTH-001");
    assert_eq!(auth.severity, Severity::Medium);
    assert_eq!(
        evidence_text(auth).last().map(String::as_str),
        Some("\"MW-AUTH-001\" = \"warn\": high -> medium")
    );
    assert_eq!(only(a, "MW-DRIFT-005").severity, Severity::High);
    assert!(!has(a, "MW-DRIFT-003"));
    assert_eq!(
        j.suppressed
            .iter()
            .map(|f| f.rule_id.as_str())
            .collect::<Vec<_>>(),
        ["MW-DRIFT-003"]
    );

    // A service's own override wins over [rules].
    let p = policy(&format!(
        "{}\nrules = {{ \"MW-AUTH-001\" = \"info\" }}\n\n[rules]\n\"MW-AUTH-001\" = \"critical\"\n",
        base.trim_end()
    ));
    let a = audit(&p, vec![optional()]);
    assert_eq!(only(&a, "MW-AUTH-001").severity, Severity::Info);
    // Findings on other hosts get only [rules].
    let mut elsewhere = optional();
    elsewhere.target = "other.example.test".to_owned();
    let a = audit(&p, vec![elsewhere]);
    assert_eq!(only(&a, "MW-AUTH-001").severity, Severity::Critical);
}

#[test]
fn without_a_policy_nothing_changes() {
    let obs = smtp(2525).build();
    let plain = assess(
        std::slice::from_ref(&obs),
        &[],
        &AssessContext::new(scan_time()),
    );
    assert!(
        !plain
            .findings
            .iter()
            .any(|f| f.rule_id.starts_with("MW-DRIFT-"))
    );
    assert_eq!(
        pairs(&plain),
        pairs(&assess(&[obs], &[], &AssessContext::new(scan_time())))
    );
    let _ = (PortState::Open, ServiceRole::Smtp);
}
