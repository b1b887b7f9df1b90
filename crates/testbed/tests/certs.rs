//! Each listener serves the certificate it claims, and each certificate of
//! the test PKI has the one defect it is named after — checked with `openssl`.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{TlsProbe, file_fingerprint, fingerprint, run_tool, x509};
use mailwarden_testbed::{CertFiles, Pki, Testbed};

fn tb() -> &'static Testbed {
    Testbed::shared()
}

fn text(cert: &CertFiles) -> String {
    let out = run_tool(
        "openssl",
        &[
            "x509",
            "-noout",
            "-text",
            "-in",
            cert.cert_pem.to_str().unwrap(),
        ],
        b"",
        Duration::from_secs(10),
    );
    assert!(out.success, "{}", out.all());
    out.stdout
}

/// `openssl verify` of a leaf against the root with the intermediate as untrusted.
fn verify(pki: &Pki, cert: &CertFiles, extra: &[&str]) -> common::ToolOutput {
    let mut args = vec![
        "verify",
        "-CAfile",
        pki.ca_file().to_str().unwrap(),
        "-untrusted",
        pki.intermediate.cert_pem.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    args.push(cert.cert_pem.to_str().unwrap());
    run_tool("openssl", &args, b"", Duration::from_secs(10))
}

/// `-checkend N` succeeds when the certificate is still valid N seconds from now.
fn valid_in(cert: &CertFiles, seconds: i64) -> bool {
    let pem = std::fs::read_to_string(&cert.cert_pem).unwrap();
    x509(&pem, &["-checkend", &seconds.to_string()]).success
}

#[test]
fn generated_pki_has_the_advertised_defects() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::generate(dir.path()).unwrap();

    assert_eq!(pki.ca_file(), pki.root.cert_pem);
    let root = text(&pki.root);
    assert!(
        root.contains("Subject: O = mailwarden test bed, CN = mailwarden Test Root CA"),
        "{root}"
    );
    assert!(root.contains("CA:TRUE"), "{root}");
    let inter = text(&pki.intermediate);
    assert!(
        inter.contains("Issuer: O = mailwarden test bed, CN = mailwarden Test Root CA"),
        "{inter}"
    );

    // Chains verify (with hostname check) for the good ones.
    for (name, cert) in [("valid", &pki.valid), ("valid_rsa", &pki.valid_rsa)] {
        let out = verify(&pki, cert, &["-verify_hostname", "mail.test"]);
        assert!(out.success, "{name}: {}", out.all());
        let out = verify(&pki, cert, &["-verify_hostname", "mx.mail.test"]);
        assert!(out.success, "{name}: {}", out.all());
        let t = text(cert);
        assert!(
            t.contains("Issuer: O = mailwarden test bed, CN = mailwarden Test Intermediate CA")
        );
        assert!(t.contains("DNS:mail.test, DNS:mx.mail.test"), "{t}");
        // Valid now and for most of a year.
        assert!(valid_in(cert, 0) && valid_in(cert, 300 * 86_400) && !valid_in(cert, 400 * 86_400));
    }
    assert!(text(&pki.valid).contains("id-ecPublicKey") && text(&pki.valid).contains("P-256"));
    assert!(text(&pki.valid_rsa).contains("Public-Key: (2048 bit)"));

    // The chain file is leaf then intermediate.
    let chain = std::fs::read_to_string(&pki.valid.chain_pem).unwrap();
    assert_eq!(chain.matches("BEGIN CERTIFICATE").count(), 2);
    assert!(chain.starts_with(&std::fs::read_to_string(&pki.valid.cert_pem).unwrap()));
    assert!(chain.ends_with(&std::fs::read_to_string(&pki.intermediate.cert_pem).unwrap()));

    // Expired: not valid now, the verifier says so.
    assert!(!valid_in(&pki.expired, 0));
    assert!(
        verify(&pki, &pki.expired, &[])
            .all()
            .contains("certificate has expired")
    );
    // Not yet valid.
    assert!(
        verify(&pki, &pki.not_yet_valid, &[])
            .all()
            .contains("certificate is not yet valid")
    );
    // Expiring in 10 days: valid in 9, not in 11.
    assert!(valid_in(&pki.expiring_soon, 9 * 86_400) && !valid_in(&pki.expiring_soon, 11 * 86_400));
    assert!(verify(&pki, &pki.expiring_soon, &[]).success);
    // Self-signed for mail.test.
    let ss = text(&pki.self_signed);
    assert!(
        ss.contains("Issuer: O = mailwarden test bed, CN = mail.test"),
        "{ss}"
    );
    assert!(
        verify(&pki, &pki.self_signed, &[])
            .all()
            .contains("self-signed certificate")
    );
    // Wrong name: CA-signed, other.test only.
    assert!(verify(&pki, &pki.wrong_name, &[]).success);
    assert!(!verify(&pki, &pki.wrong_name, &["-verify_hostname", "mail.test"]).success);
    assert!(text(&pki.wrong_name).contains("DNS:other.test"));
    // RSA-1024, CA-signed (at security level 0: level 1+ rejects the key).
    assert!(text(&pki.rsa1024).contains("Public-Key: (1024 bit)"));
    assert!(verify(&pki, &pki.rsa1024, &["-auth_level", "0"]).success);
    // SHA-1 signature, CA-signed.
    assert!(text(&pki.sha1).contains("Signature Algorithm: sha1WithRSAEncryption"));
    assert!(verify(&pki, &pki.sha1, &["-auth_level", "0"]).success);

    // Keys are private.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&pki.valid.key_pem)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "key mode {mode:o}");
    // The recorded dates match the certificate.
    let not_after = pki
        .expiring_soon
        .not_after
        .duration_since(std::time::SystemTime::now())
        .unwrap();
    assert!(
        not_after > Duration::from_secs(9 * 86_400)
            && not_after < Duration::from_secs(10 * 86_400 + 60)
    );
}

/// Fingerprint of the leaf served on `name` (STARTTLS or implicit, as the endpoint says).
fn served(name: &str, proto: &str) -> (TlsProbe, String) {
    let e = tb().find(name).unwrap();
    let probe = if e.implicit_tls {
        TlsProbe::implicit(e.addr, tb().ca_file())
    } else {
        TlsProbe::starttls(e.addr, proto, tb().ca_file())
    };
    let fp = fingerprint(&probe.leaf_pem());
    (probe, fp)
}

#[test]
fn each_smtp_listener_serves_its_certificate() {
    let pki = tb().pki();
    let cases: [(&str, &CertFiles, &str); 7] = [
        ("smtp-expired", &pki.expired, "certificate has expired"),
        (
            "smtp-not-yet-valid",
            &pki.not_yet_valid,
            "certificate is not yet valid",
        ),
        ("smtp-expiring", &pki.expiring_soon, "0 (ok)"),
        (
            "smtp-self-signed",
            &pki.self_signed,
            "self-signed certificate",
        ),
        ("smtp-wrong-name", &pki.wrong_name, "0 (ok)"),
        ("smtp-rsa1024", &pki.rsa1024, "key too weak"),
        ("smtp-sha1", &pki.sha1, "digest algorithm too weak"),
    ];
    for (name, cert, verdict) in cases {
        let (probe, fp) = served(name, "smtp");
        assert_eq!(
            fp,
            file_fingerprint(&cert.cert_pem),
            "{name} serves another certificate"
        );
        let result = probe.verify_result().unwrap_or_default();
        assert!(
            result.contains(verdict),
            "{name}: verify {result:?}, expected {verdict:?}"
        );
    }
    // The served dates, read back from the wire.
    let (probe, _) = served("smtp-expired", "smtp");
    assert!(!x509(&probe.leaf_pem(), &["-checkend", "0"]).success);
    let (probe, _) = served("smtp-expiring", "smtp");
    let leaf = probe.leaf_pem();
    assert!(x509(&leaf, &["-checkend", &(9 * 86_400).to_string()]).success);
    assert!(!x509(&leaf, &["-checkend", &(11 * 86_400).to_string()]).success);
    let subject = x509(&probe.leaf_pem(), &["-subject"]).stdout;
    assert!(subject.contains("CN = mail.test"), "{subject}");
    let (probe, _) = served("smtp-wrong-name", "smtp");
    assert!(
        x509(&probe.leaf_pem(), &["-subject"])
            .stdout
            .contains("CN = other.test")
    );
}

#[test]
fn good_listeners_serve_a_valid_chain_for_mail_test() {
    let pki = tb().pki();
    let good = [
        file_fingerprint(&pki.valid.cert_pem),
        file_fingerprint(&pki.valid_rsa.cert_pem),
    ];
    for (name, proto) in [
        ("smtp-mx", "smtp"),
        ("submission-enforced", "smtp"),
        ("submission-auth-before-tls", "smtp"),
        ("smtps", ""),
        ("imap-starttls", "imap"),
        ("imap-plain-allowed", "imap"),
        ("imaps", ""),
        ("pop3s", ""),
        ("pop3-starttls", "pop3"),
        ("sieve", "sieve"),
    ] {
        let (probe, fp) = served(name, proto);
        assert!(
            good.contains(&fp),
            "{name} serves an unexpected certificate"
        );
        assert_eq!(
            probe.verify_result().as_deref(),
            Some("0 (ok)"),
            "{name}: {}",
            probe.output.all()
        );
        // The intermediate comes along: the chain verified with only the root trusted.
        assert!(
            probe
                .output
                .stdout
                .contains("mailwarden Test Intermediate CA"),
            "{name}"
        );
    }
}

#[test]
fn both_key_types_are_served_where_the_valid_pair_is_configured() {
    let pki = tb().pki();
    let ca = tb().ca_file().to_str().unwrap();
    for (name, starttls) in [("smtp-mx", Some("smtp")), ("imaps", None)] {
        let addr = tb().endpoint(name);
        for (sigalgs, cert) in [
            ("ECDSA+SHA256", &pki.valid),
            ("RSA-PSS+SHA256:RSA+SHA256", &pki.valid_rsa),
        ] {
            let mut args = vec!["-CAfile", ca, "-tls1_2", "-sigalgs", sigalgs];
            if let Some(p) = starttls {
                args.extend(["-starttls", p]);
            }
            let probe = TlsProbe::run(addr, &args, "");
            let fp = fingerprint(&probe.leaf_pem());
            assert_eq!(
                fp,
                file_fingerprint(&cert.cert_pem),
                "{name} with {sigalgs}"
            );
        }
    }
}

#[test]
fn ca_file_is_the_root_only() {
    let pem = std::fs::read_to_string(tb().ca_file()).unwrap();
    assert_eq!(pem.matches("BEGIN CERTIFICATE").count(), 1);
    assert!(
        x509(&pem, &["-subject"])
            .stdout
            .contains("mailwarden Test Root CA")
    );
    assert!(Path::new(tb().ca_file()).starts_with(tb().dir()));
}
