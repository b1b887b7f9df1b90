//! `mailwarden audit` with a policy declaring `[dns] domains`: the domains
//! are observed through the DNS test bed and judged with the domain rules,
//! the policy's DKIM selectors are looked up, and `audit --from` re-judges a
//! stored report's domains without the network.

mod dns_harness;

use dns_harness::*;
use mailwarden_model::ScanReport;

#[test]
fn declared_domains_are_audited_and_re_judged_from_a_stored_report() {
    let mx = testbed().endpoint("smtp-mx");
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        format!(
            "[audit]\nports = [{port}]\n\n[[service]]\nname = \"mx\"\nhosts = [\"127.0.0.1\"]\n\
             port = {port}\nprotocol = \"smtp\"\ntls = \"starttls\"\n\n[dns]\ndomains = [\"weak.test\"]\n\
             dkim_selectors = [\"weak\"]\n",
            port = mx.port()
        ),
    )
    .unwrap();
    let stored = dir.path().join("audit.json");
    let mut args: Vec<String> = vec![
        "audit".into(),
        "--policy".into(),
        policy.display().to_string(),
    ];
    args.extend([
        "--tls".into(),
        "off".into(),
        "--format".into(),
        "json".into(),
    ]);
    args.extend([
        "--output".into(),
        stored.display().to_string(),
        "--no-store".into(),
    ]);
    args.extend(dns_args());
    let (code, _, err) = mailwarden(&args);
    assert!(code == 0 || code == 1, "{err}");
    let report: ScanReport =
        serde_json::from_str(&std::fs::read_to_string(&stored).unwrap()).unwrap();
    assert_eq!(report.domains.len(), 1);
    let fired = rules(&report);
    for rule in ["spf-pass-all", "dkim-key-short", "dmarc-policy-none"] {
        assert!(fired.contains(&rule.to_owned()), "{rule} not in {fired:?}");
    }
    // Re-judged from the file: the same domain findings, no DNS asked.
    let again: Vec<String> = vec![
        "audit".into(),
        "--policy".into(),
        policy.display().to_string(),
        "--from".into(),
        stored.display().to_string(),
        "--format".into(),
        "json".into(),
        "--no-store".into(),
        "--resolver".into(),
        bed().blackhole.to_string(),
    ];
    let (code, out, err) = mailwarden(&again);
    assert!(code == 0 || code == 1, "{err}");
    let rejudged: ScanReport = serde_json::from_str(&out).unwrap();
    assert_eq!(rules(&rejudged), fired);
}
