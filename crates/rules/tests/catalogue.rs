//! The catalogue itself: stable ids, complete declarations, generated docs.

use std::fmt::Write as _;
use std::path::PathBuf;

use mailwarden_rules::{Context, Family, catalogue, catalogue_markdown, rule};

/// Every id, name and severity per context. A change here is a change to the
/// public contract (ids are referenced by users' suppressions and by stored
/// reports): review the snapshot diff, never just accept it.
#[test]
fn rule_ids_names_and_severities() {
    let mut text = String::new();
    for r in catalogue() {
        let _ = write!(
            text,
            "{:<17} {:<35} default={}",
            r.id, r.name, r.severities.default
        );
        for c in Context::ALL {
            let sev = r
                .severities
                .for_context(c, false)
                .map_or("-", |s| s.as_str());
            let _ = write!(text, " {}={sev}", c.as_str());
        }
        let auth = r
            .severities
            .for_context(Context::Mx, true)
            .map_or("-", |s| s.as_str());
        let _ = writeln!(text, " mx+dane/mta-sts={auth}");
    }
    insta::assert_snapshot!(text);
}

#[test]
fn ids_follow_the_scheme_and_are_numbered_in_order() {
    let mut last: Option<(usize, u32)> = None;
    for r in catalogue() {
        let prefix = format!("MW-{}-", r.family.as_str());
        let number =
            r.id.strip_prefix(&prefix)
                .unwrap_or_else(|| panic!("{} does not start with {prefix}", r.id));
        assert_eq!(number.len(), 3, "{}", r.id);
        let n: u32 = number.parse().unwrap_or_else(|_| panic!("{}", r.id));
        let family = Family::ALL.iter().position(|f| *f == r.family).unwrap();
        let expected = match last {
            Some((f, prev)) if f == family => prev + 1,
            Some((f, _)) => {
                assert!(family > f, "{} is out of family order", r.id);
                1
            }
            None => 1,
        };
        assert_eq!(n, expected, "{} is out of order", r.id);
        last = Some((family, n));
    }
}

#[test]
fn names_are_unique_kebab_case() {
    let mut names: Vec<&str> = catalogue().iter().map(|r| r.name).collect();
    for n in &names {
        assert!(
            n.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "{n}"
        );
        assert!(
            !n.starts_with('-') && !n.ends_with('-') && !n.contains("--"),
            "{n}"
        );
    }
    let count = names.len();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), count, "duplicate rule names");
}

#[test]
fn every_rule_has_remediation_for_each_server_and_a_reference() {
    for r in catalogue() {
        let rem = &r.remediation;
        for (server, text) in [
            ("generic", rem.generic),
            ("Postfix", rem.postfix),
            ("Dovecot", rem.dovecot),
            ("Exim", rem.exim),
        ] {
            assert!(
                !text.trim().is_empty(),
                "{} has no {server} remediation",
                r.id
            );
            assert!(
                !text.contains('\n') && !text.contains("  "),
                "{} {server}: {text:?}",
                r.id
            );
        }
        assert!(!r.references.is_empty(), "{} has no reference", r.id);
        for reference in r.references {
            assert!(!reference.note.is_empty(), "{}: {reference:?}", r.id);
        }
        assert!(
            !r.title.is_empty() && !r.rationale.contains("  "),
            "{}",
            r.id
        );
        assert!(r.severities.max().is_some(), "{} applies nowhere", r.id);
    }
}

#[test]
fn rules_are_found_by_id_in_any_case_or_by_name() {
    let by_id = rule("MW-AUTH-001").map(|r| r.name);
    assert_eq!(by_id, Some("auth-offered-before-tls"));
    assert_eq!(rule("mw-auth-001").map(|r| r.id), Some("MW-AUTH-001"));
    assert_eq!(
        rule("auth-offered-before-tls").map(|r| r.id),
        Some("MW-AUTH-001")
    );
    assert!(rule("MW-AUTH-999").is_none());
}

#[test]
fn reference_links() {
    let r = rule("plaintext-only-client-port").unwrap();
    let urls: Vec<Option<String>> = r.references.iter().map(|r| r.url()).collect();
    assert_eq!(
        urls[0].as_deref(),
        Some("https://www.rfc-editor.org/rfc/rfc8314#section-4.1")
    );
    let info = rule("software-version-disclosed").unwrap();
    assert_eq!(
        info.references[0].url().as_deref(),
        Some("https://cwe.mitre.org/data/definitions/200.html")
    );
}

/// `docs/rules.md` is generated; this fails when it is stale.
#[test]
fn docs_rules_md_matches_the_catalogue() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/rules.md");
    let generated = catalogue_markdown();
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, &generated).expect("write docs/rules.md");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        let first_difference = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .map_or_else(
                || "length differs".to_owned(),
                |n| format!("first difference at line {}", n + 1),
            );
        panic!(
            "docs/rules.md is out of date with the rule catalogue ({first_difference}).\n\
             Regenerate it with: UPDATE_DOCS=1 cargo test -p mailwarden-rules --test catalogue"
        );
    }
}
