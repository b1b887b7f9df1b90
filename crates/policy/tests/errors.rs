//! Every error a policy file can have, with its exact line, column and hint
//! (insta snapshots of the rendered diagnostics).

use mailwarden_policy::{KnownRules, Policy};

const RULES: [(&str, &str); 3] = [
    ("MW-AUTH-001", "auth-offered-before-tls"),
    ("MW-TRANSPORT-002", "mx-without-starttls"),
    ("MW-DRIFT-001", "undeclared-open-port"),
];

/// The rendered error of `text` (which must not parse).
fn error(text: &str) -> String {
    match Policy::parse(text, "mail.toml", KnownRules { rules: &RULES }) {
        Ok(p) => panic!("parsed: {p:?}"),
        Err(e) => e.to_string(),
    }
}

const MX: &str = "[[service]]\nname = \"mx\"\nhosts = [\"mx1.example.org\"]\nport = 25\nprotocol = \"smtp\"\ntls = \"starttls\"\n";

macro_rules! case {
    ($name:ident, $text:expr) => {
        #[test]
        fn $name() {
            insta::assert_snapshot!(error(&$text));
        }
    };
}

case!(toml_syntax, "baseline = \"rfc8314\nname = 1\n");
case!(
    unknown_top_level_key,
    format!("baseline = \"rfc8314\"\nservces = []\n{MX}")
);
case!(unknown_section, format!("{MX}\n[firewall]\nallow = []\n"));
case!(
    unknown_service_key,
    "[[service]]\nname = \"mx\"\nhots = [\"mx1\"]\nport = 25\ntls = \"starttls\"\n"
);
case!(
    unknown_tls_mode,
    "[[service]]\nname = \"mx\"\nhosts = [\"mx1\"]\nport = 25\ntls = \"startls\"\n"
);
case!(
    unknown_protocol,
    "[[service]]\nname = \"x\"\nhosts = [\"mx1\"]\nport = 25\nprotocol = \"esmtp\"\ntls = \"starttls\"\n"
);
case!(
    unknown_auth_mode,
    "[[service]]\nname = \"x\"\nhosts = [\"h\"]\nport = 587\ntls = \"starttls\"\nauth = \"after_tls\"\n"
);
case!(
    missing_tls,
    "[[service]]\nname = \"mx\"\nhosts = [\"mx1\"]\nport = 25\n"
);
case!(
    missing_hosts,
    "[[service]]\nname = \"mx\"\nport = 25\ntls = \"starttls\"\n"
);
case!(
    port_out_of_range,
    "[[service]]\nname = \"mx\"\nhosts = [\"mx1\"]\nport = 70000\ntls = \"starttls\"\n"
);
case!(
    port_zero,
    "[[service]]\nname = \"mx\"\nhosts = [\"mx1\"]\nport = 0\ntls = \"starttls\"\n"
);
case!(
    port_as_string,
    "[[service]]\nname = \"mx\"\nhosts = [\"mx1\"]\nport = \"25\"\ntls = \"starttls\"\n"
);
case!(
    port_and_ports,
    "[[service]]\nname = \"mx\"\nhosts = [\"mx1\"]\nport = 25\nports = [25]\ntls = \"starttls\"\n"
);
case!(
    no_port,
    "[[service]]\nname = \"mx\"\nhosts = [\"mx1\"]\nprotocol = \"smtp\"\ntls = \"starttls\"\n"
);
case!(
    protocol_needed,
    "[[service]]\nname = \"relay\"\nhosts = [\"mx1\"]\nport = 10025\ntls = \"starttls\"\n"
);
case!(
    host_with_port,
    "[[service]]\nname = \"mx\"\nhosts = [\"mx1.example.org:25\"]\nport = 25\ntls = \"starttls\"\n"
);
case!(
    empty_hosts,
    "[[service]]\nname = \"mx\"\nhosts = []\nport = 25\ntls = \"starttls\"\n"
);
case!(
    role_contradicts_protocol,
    "[[service]]\nname = \"x\"\nhosts = [\"h\"]\nport = 993\nprotocol = \"imap\"\nrole = \"submissions\"\ntls = \"implicit\"\n"
);
case!(
    implicit_role_without_implicit_tls,
    "[[service]]\nname = \"x\"\nhosts = [\"h\"]\nport = 465\nrole = \"submissions\"\ntls = \"starttls-required\"\n"
);
case!(
    starttls_role_with_implicit_tls,
    "[[service]]\nname = \"x\"\nhosts = [\"h\"]\nport = 2465\nrole = \"submission\"\ntls = \"implicit\"\n"
);
case!(
    imap_auth_none,
    "[[service]]\nname = \"x\"\nhosts = [\"h\"]\nport = 993\ntls = \"implicit\"\nauth = \"none\"\n"
);
case!(
    after_tls_without_tls,
    "[[service]]\nname = \"x\"\nhosts = [\"h\"]\nport = 587\ntls = \"plaintext\"\nauth = \"after-tls\"\n"
);
case!(
    bad_cidr,
    format!("{MX}allowed_sources = [\"0.0.0.0/0\", \"mx.example.org\"]\n")
);
case!(
    cidr_host_bits,
    format!("{MX}allowed_sources = [\"192.0.2.1/24\"]\n")
);
case!(
    cidr_prefix,
    format!("{MX}allowed_sources = [\"2001:db8::/129\"]\n")
);
case!(
    unknown_baseline,
    format!("baseline = \"mozilla-intermediat\"\n{MX}")
);
case!(
    unknown_baseline_revision,
    format!("baseline = \"rfc8314@9\"\n{MX}")
);
case!(
    unknown_rule,
    format!("{MX}\n[rules]\n\"MW-AUTH-01\" = \"deny\"\n")
);
case!(
    unknown_override,
    format!("{MX}\n[rules]\n\"MW-AUTH-001\" = \"deni\"\n")
);
case!(
    rule_twice,
    format!("{MX}\n[rules]\n\"MW-AUTH-001\" = \"deny\"\nauth-offered-before-tls = \"warn\"\n")
);
case!(
    forbidden_and_declared,
    format!("{MX}\n[forbid]\nports = [110, 25]\n")
);
case!(
    forbidden_protocol_declared,
    format!("{MX}\n[forbid]\nprotocols = [\"smtp\"]\n")
);
case!(
    duplicate_endpoint,
    format!(
        "{MX}\n[[service]]\nname = \"mx2\"\nhosts = [\"MX1.example.org.\"]\nport = 25\ntls = \"starttls\"\n"
    )
);
case!(
    duplicate_name,
    format!(
        "{MX}\n[[service]]\nname = \"mx\"\nhosts = [\"mx2.example.org\"]\nport = 25\ntls = \"starttls\"\n"
    )
);
case!(no_service, "baseline = \"rfc8314\"\n");
case!(bad_version, format!("version = 2\n{MX}"));
case!(
    bad_dkim_selector,
    format!("{MX}\n[dns]\ndkim_selectors = [\"s1._domainkey\", \"ok-1\", \"bad selector\"]\n")
);
case!(
    bad_mta_sts,
    format!("{MX}\n[dns]\nmta_sts = \"enforcing\"\n")
);
case!(
    unknown_dns_key,
    format!("{MX}\n[dns]\ndkim_selector = [\"s1\"]\n")
);
case!(
    several_errors_at_once,
    "[[service]]\nname = \"a\"\nhosts = [\"h:25\"]\nport = 25\ntls = \"starttls\"\nallowed_sources = [\"10.0.0.1/8\"]\n\n[rules]\n\"MW-NOPE-001\" = \"allow\"\n"
);
case!(
    unknown_threshold,
    format!("{MX}\n[logs.thresholds]\nbrute_forse = {{ count = 10 }}\n")
);
case!(
    unknown_threshold_rule_key,
    format!("{MX}\n[logs.thresholds.brute_force]\ncount = 10\nwindow = 600\n")
);
case!(
    threshold_of_the_wrong_type,
    format!("{MX}\n[logs.thresholds]\nrelay_probing = {{ count = \"three\" }}\n")
);
case!(
    threshold_out_of_range,
    format!("{MX}\n[logs.thresholds]\nipv6_prefix = 0\n")
);
