//! Valid files: the full example of docs/policy.md, derived roles and modes,
//! lookups, and `policy init` output that parses.

use mailwarden_model::{Protocol, ServiceRole, Severity};
use mailwarden_policy::init::{Found, InitOptions, render};
use mailwarden_policy::{AuthMode, KnownRules, Override, Policy, TlsMode};

/// The first ```toml block of docs/policy.md.
fn documented_example() -> String {
    let doc = include_str!("../../../docs/policy.md");
    let start = doc.find("```toml\n").expect("a toml block") + "```toml\n".len();
    let len = doc[start..].find("```").expect("closed");
    doc[start..start + len].to_owned()
}

fn parse(text: &str) -> Policy {
    match Policy::parse(text, "t.toml", KnownRules::default()) {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn the_documented_example_parses_to_what_it_says() {
    let p = parse(&documented_example());
    assert_eq!(p.name.as_deref(), Some("example.org mail"));
    assert_eq!(p.baseline.map(|b| b.label()), Some("rfc8314@1".to_owned()));
    assert_eq!(p.services.len(), 5);
    assert_eq!(
        p.hosts(),
        [
            "mx1.example.org",
            "mx2.example.org",
            "smtp.example.org",
            "imap.example.org",
            "relay.example.org"
        ]
    );

    let mx = p.service_at("mx2.example.org", 25).unwrap();
    assert_eq!(
        (mx.tls, mx.auth, mx.protocol),
        (TlsMode::Starttls, AuthMode::None, Protocol::Smtp)
    );
    assert_eq!(
        mx.allowed_sources
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["0.0.0.0/0", "::/0"]
    );
    assert_eq!(p.role_at("mx1.example.org", 25), Some(ServiceRole::Smtp));

    let sub = p.service_at("smtp.example.org", 2525).unwrap();
    assert_eq!(sub.name, "submission");
    assert_eq!(sub.auth, AuthMode::AfterTls, "the default for client roles");
    assert_eq!(
        p.role_at("smtp.example.org", 587),
        Some(ServiceRole::Submission)
    );
    assert_eq!(
        p.role_at("smtp.example.org", 465),
        Some(ServiceRole::Submissions)
    );
    assert_eq!(p.role_at("imap.example.org", 993), Some(ServiceRole::Imaps));
    assert_eq!(
        p.role_at("relay.example.org", 10025),
        Some(ServiceRole::Smtp)
    );
    assert_eq!(p.role_at("relay.example.org", 25), None);

    assert_eq!(
        p.baseline_at("imap.example.org", 993)
            .map(|b| b.id.as_str()),
        Some("mozilla-intermediate")
    );
    assert_eq!(
        p.baseline_at("imap.example.org", 143)
            .map(|b| b.id.as_str()),
        Some("rfc8314")
    );
    assert_eq!(
        p.override_for("MW-INFO-001", "imap.example.org", Some(993)),
        Some(Override::Allow)
    );
    assert_eq!(
        p.override_for("MW-INFO-001", "imap.example.org", Some(143)),
        None
    );
    assert_eq!(
        p.override_for("mw-drift-001", "anything", None),
        Some(Override::Deny)
    );
    // Without a catalogue, names are kept as written.
    assert_eq!(
        p.override_for("auth-offered-before-tls", "x", None),
        Some(Override::Set(Severity::Critical))
    );

    assert_eq!(p.forbid.ports, [110, 143]);
    assert!(p.forbids_protocol(Protocol::Lmtp));
    let scan = p.scan_ports();
    assert_eq!(
        &scan[..11],
        [25, 465, 587, 110, 995, 143, 993, 4190, 2525, 24, 10025]
    );
    assert_eq!(
        scan.len(),
        11,
        "declared and forbidden ports are already listed"
    );
    assert_eq!(p.dns.dkim_selectors, ["2024a", "2024b"]);
    assert!(p.dns.mx_authenticated());
    let thresholds = p.logs.thresholds.as_ref().unwrap();
    let defaults = mailwarden_logs::detect::Thresholds::default();
    assert_eq!(thresholds.brute_force.count, 10);
    assert_eq!(
        thresholds.brute_force.window_secs, defaults.brute_force.window_secs,
        "a partial rule keeps the detector's default window"
    );
    assert_eq!(
        (
            thresholds.scanning_ports.count,
            thresholds.scanning_ports.window_secs
        ),
        (2, 900)
    );
    assert_eq!(thresholds.spraying, defaults.spraying);
    assert!(p.warnings.is_empty(), "{}", p.render_warnings());
}

#[test]
fn defaults_of_a_minimal_file() {
    let p = parse(
        "[[service]]\nname = \"imap\"\nhosts = [\"h\"]\nport = 143\ntls = \"starttls-required\"\n",
    );
    assert_eq!(p.baseline.map(|b| b.id.as_str()), Some("rfc8314"));
    let s = &p.services[0];
    assert_eq!((s.protocol, s.auth), (Protocol::Imap, AuthMode::AfterTls));
    assert_eq!(
        p.scan_ports(),
        [25, 465, 587, 110, 995, 143, 993, 4190, 2525]
    );
    let p = parse(
        "baseline = \"none\"\n[audit]\nports = []\n[[service]]\nname = \"x\"\nhosts = [\"h\"]\nport = 2525\nprotocol = \"smtp\"\ntls = \"plaintext\"\n",
    );
    assert_eq!(p.baseline, None);
    assert_eq!(p.scan_ports(), [2525]);
    assert_eq!(p.services[0].auth, AuthMode::Required);
    // A client port without TLS is usable, with a warning.
    assert_eq!(p.warnings.len(), 1);
    assert!(
        p.render_warnings()
            .starts_with("t.toml:9:7: warning: service `x` declares a client port without TLS")
    );
}

#[test]
fn known_rules_normalize_names_to_ids() {
    let rules = [("MW-AUTH-001", "auth-offered-before-tls")];
    let p = Policy::parse(
        "[[service]]\nname = \"mx\"\nhosts = [\"h\"]\nport = 25\ntls = \"starttls\"\n[rules]\nauth-offered-before-tls = \"warn\"\n\"mw-auth-001 \" = \"deny\"\n",
        "t",
        KnownRules { rules: &rules },
    );
    // Both keys name the same rule.
    assert!(
        p.unwrap_err()
            .to_string()
            .contains("rule MW-AUTH-001 is overridden twice")
    );
}

fn found(
    host: &str,
    port: u16,
    protocol: Protocol,
    role: Option<ServiceRole>,
    tls: Option<TlsMode>,
) -> Found {
    Found {
        host: host.into(),
        port,
        protocol,
        role,
        tls,
        note: None,
        auth_before_tls: false,
        auth_inside_tls: true,
    }
}

#[test]
fn init_output_parses_and_groups_hosts() {
    let seen = vec![
        Found {
            auth_inside_tls: false,
            ..found(
                "mx1",
                25,
                Protocol::Smtp,
                Some(ServiceRole::Smtp),
                Some(TlsMode::Starttls),
            )
        },
        Found {
            auth_inside_tls: false,
            ..found(
                "mx2",
                25,
                Protocol::Smtp,
                Some(ServiceRole::Smtp),
                Some(TlsMode::Starttls),
            )
        },
        found(
            "mx1",
            587,
            Protocol::Smtp,
            Some(ServiceRole::Submission),
            Some(TlsMode::StarttlsRequired),
        ),
        found(
            "mx1",
            993,
            Protocol::Imap,
            Some(ServiceRole::Imaps),
            Some(TlsMode::Implicit),
        ),
        Found {
            auth_before_tls: true,
            ..found(
                "mx1",
                110,
                Protocol::Pop3,
                Some(ServiceRole::Pop3),
                Some(TlsMode::Plaintext),
            )
        },
        // 465 answering STARTTLS: the role follows what the server does.
        found(
            "mx2",
            465,
            Protocol::Smtp,
            Some(ServiceRole::Submissions),
            Some(TlsMode::StarttlsRequired),
        ),
        Found {
            note: Some("tls-broken".into()),
            ..found("mx2", 995, Protocol::Pop3, Some(ServiceRole::Pop3s), None)
        },
        found(
            "mx2",
            24,
            Protocol::Lmtp,
            Some(ServiceRole::Lmtp),
            Some(TlsMode::Plaintext),
        ),
    ];
    let text = render(
        &seen,
        &InitOptions {
            baseline: "rfc8314".into(),
            audit_ports: None,
            certificate_name: Some("mail.example.org".into()),
            header: "test".into(),
        },
    );
    let p = parse(&text);
    let mx = p.service_at("mx2", 25).unwrap();
    assert_eq!(
        (mx.name.as_str(), mx.hosts.len(), mx.auth),
        ("inbound-mx", 2, AuthMode::None)
    );
    assert_eq!(p.service_at("mx1", 587).unwrap().auth, AuthMode::AfterTls);
    assert_eq!(p.role_at("mx2", 465), Some(ServiceRole::Submission));
    assert_eq!(p.service_at("mx2", 995).unwrap().tls, TlsMode::Implicit);
    assert!(text.contains("# CHECK: observed tls-broken"), "{text}");
    assert_eq!(p.forbid.ports, [110]);
    assert!(
        text.contains("# LEGACY: mx1 port 110 speaks POP3 without TLS"),
        "{text}"
    );
    assert!(
        text.contains("# LEGACY: mx2 port 24 answers LMTP"),
        "{text}"
    );
    assert!(p.service_at("mx2", 24).is_none());
    assert_eq!(
        p.services
            .iter()
            .filter(|s| s.certificate_name.as_deref() == Some("mail.example.org"))
            .count(),
        p.services.len()
    );
}
