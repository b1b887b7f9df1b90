//! The embedded baselines load, are self-consistent, and match their changelog.

use mailwarden_model::{SuiteFlag, TlsVersion};
use mailwarden_policy::{BASELINE_CHANGELOG, Baseline};

#[test]
fn every_file_loads_and_is_named_after_its_id_and_revision() {
    assert_eq!(Baseline::all().len(), Baseline::files().len());
    for ((file, _), b) in Baseline::files().iter().zip(Baseline::all()) {
        assert_eq!(*file, format!("{}.v{}.toml", b.id, b.revision));
    }
    assert_eq!(
        Baseline::ids(),
        [
            "rfc8314",
            "mozilla-intermediate",
            "bsi-tr-03108",
            "nist-800-177"
        ]
    );
}

#[test]
fn the_changelog_has_one_entry_per_revision() {
    let entries: Vec<&str> = BASELINE_CHANGELOG
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .collect();
    let labels: Vec<String> = Baseline::all().iter().map(Baseline::label).collect();
    assert_eq!(entries, labels);
}

#[test]
fn lookups_by_id_and_pinned_revision() {
    assert_eq!(Baseline::find("rfc8314").unwrap().label(), "rfc8314@1");
    assert_eq!(Baseline::find("rfc8314@1").unwrap().label(), "rfc8314@1");
    assert!(Baseline::find("rfc8314@2").is_none());
    assert!(Baseline::find("rfc8314@x").is_none());
    assert!(Baseline::find("tls-anything").is_none());
}

#[test]
fn versions_are_consistent() {
    for b in Baseline::all() {
        assert!(
            b.versions.min >= TlsVersion::TLS12,
            "{}: every guideline here starts at TLS 1.2",
            b.id
        );
        for v in &b.versions.required {
            assert!(
                *v >= b.versions.min,
                "{}: requires {v} below its minimum",
                b.id
            );
        }
        assert!(b.versions.required.contains(&TlsVersion::TLS12), "{}", b.id);
    }
}

#[test]
fn allowed_suites_exist_and_pass_the_class_rules() {
    for b in Baseline::all() {
        for (list, tls13) in [
            (&b.suites.allowed_tls12, false),
            (&b.suites.allowed_tls13, true),
        ] {
            for name in list {
                let info = mailwarden_tls::suite_by_name(name)
                    .unwrap_or_else(|| panic!("{}: {name} is not in the IANA registry", b.id));
                assert_eq!(info.name, name, "{}: use the IANA spelling", b.id);
                let flags: Vec<&str> = info.flags.names().collect();
                assert_eq!(
                    flags.contains(&"tls13"),
                    tls13,
                    "{}: {name} in the wrong list",
                    b.id
                );
                for forbidden in &b.suites.forbidden_classes {
                    assert!(
                        !flags.contains(&forbidden.as_str()),
                        "{}: {name} is {}",
                        b.id,
                        forbidden.as_str()
                    );
                }
                for required in &b.suites.required_classes {
                    assert!(
                        tls13 || flags.contains(&required.as_str()),
                        "{}: {name} lacks {}",
                        b.id,
                        required.as_str()
                    );
                }
            }
        }
    }
}

#[test]
fn classes_never_contradict_each_other() {
    for b in Baseline::all() {
        for c in &b.suites.required_classes {
            assert!(
                !b.suites.forbidden_classes.contains(c),
                "{}: {c:?} required and forbidden",
                b.id
            );
        }
        for f in &b.features.required {
            assert!(
                !b.features.forbidden.contains(f),
                "{}: {f:?} required and forbidden",
                b.id
            );
        }
        // The weak classes every guideline forbids.
        for weak in [
            SuiteFlag::Null,
            SuiteFlag::Anonymous,
            SuiteFlag::Export,
            SuiteFlag::Rc4,
        ] {
            assert!(
                b.suites.forbidden_classes.contains(&weak),
                "{}: allows {weak:?}",
                b.id
            );
        }
    }
}

#[test]
fn key_sizes_and_groups_are_sane() {
    for b in Baseline::all() {
        assert!((2048..=4096).contains(&b.keys.min_rsa_bits), "{}", b.id);
        assert!((2048..=4096).contains(&b.keys.min_dh_bits), "{}", b.id);
        assert!((224..=521).contains(&b.keys.min_ec_bits), "{}", b.id);
        for g in &b.keys.groups {
            assert!(
                mailwarden_tls::groups()
                    .iter()
                    .any(|r| r.name.eq_ignore_ascii_case(g)),
                "{}: group {g} is not in the IANA registry",
                b.id
            );
        }
        for t in &b.keys.certificate_types {
            assert!(
                ["rsa", "ecdsa", "ed25519", "ed448"].contains(&t.as_str()),
                "{}: {t}",
                b.id
            );
        }
        assert!(!b.sources.is_empty(), "{}: cite the guideline", b.id);
    }
}
