//! Loading trust anchors: the Mozilla set, CA files and their errors.

mod common;

use common::*;
use mailwarden_cert::{CertError, TrustAnchors, analyze_chain};

#[test]
fn mozilla_set() {
    let anchors = TrustAnchors::mozilla();
    assert_eq!(anchors.labels(), ["mozilla"]);
    assert!(anchors.len() > 100, "{} anchors", anchors.len());
    assert!(TrustAnchors::empty().is_empty());
    assert!(TrustAnchors::empty().labels().is_empty());
}

#[test]
fn ca_file_with_text_and_several_certificates() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bundle.pem");
    let other = root("Other Root", &P256);
    let bundle = format!(
        "Some text a tool printed\n{}\n# comment\n{}-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        pki.root.pem, other.pem
    );
    std::fs::write(&path, bundle).unwrap();
    let anchors = TrustAnchors::mozilla().with_ca_file(&path).unwrap();
    let label = format!("ca-file:{}", path.display());
    assert_eq!(anchors.labels(), ["mozilla".to_owned(), label.clone()]);
    assert_eq!(anchors.len(), TrustAnchors::mozilla().len() + 2);

    let chain = pki.chain(pki.leaf(&["mx.example.org"]));
    let result = analyze_chain(&chain, "mx.example.org", &anchors, now());
    assert!(result.validation.trusted);
    assert_eq!(result.validation.anchors, ["mozilla".to_owned(), label]);
}

#[test]
fn missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.pem");
    let error = TrustAnchors::mozilla().with_ca_file(&path).unwrap_err();
    assert!(matches!(error, CertError::Unreadable { .. }), "{error:?}");
    let message = error.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.starts_with("cannot read CA file"), "{message}");
}

#[test]
fn directory_is_unreadable() {
    let dir = tempfile::tempdir().unwrap();
    let error = TrustAnchors::mozilla()
        .with_ca_file(dir.path())
        .unwrap_err();
    assert!(matches!(error, CertError::Unreadable { .. }), "{error:?}");
}

#[test]
fn file_without_certificates() {
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in [
        ("empty.pem", ""),
        ("text.pem", "just text\n"),
        (
            "key.pem",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        ),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        let error = TrustAnchors::mozilla().with_ca_file(&path).unwrap_err();
        assert!(
            matches!(error, CertError::NoCertificates { .. }),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(
            message.contains(&format!("ca-file:{}", path.display())),
            "{message}"
        );
        assert!(message.contains("no PEM certificate found"), "{message}");
    }
}

#[test]
fn bad_pem() {
    let unterminated = "-----BEGIN CERTIFICATE-----\nMIIB\n";
    let error = TrustAnchors::empty()
        .with_ca_pem(unterminated.as_bytes(), "bundle")
        .unwrap_err();
    assert!(matches!(error, CertError::BadPem { .. }), "{error:?}");
    assert!(error.to_string().starts_with("bundle: bad PEM"), "{error}");

    let bad_base64 = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
    let error = TrustAnchors::empty()
        .with_ca_pem(bad_base64.as_bytes(), "bundle")
        .unwrap_err();
    assert!(matches!(error, CertError::BadPem { .. }), "{error:?}");
}

#[test]
fn certificate_that_is_not_a_certificate() {
    let pki = Pki::new();
    // "garbage" in base64, as the second certificate of the bundle.
    let bundle = format!(
        "{}-----BEGIN CERTIFICATE-----\nZ2FyYmFnZQ==\n-----END CERTIFICATE-----\n",
        pki.root.pem
    );
    let error = TrustAnchors::empty()
        .with_ca_pem(bundle.as_bytes(), "bundle")
        .unwrap_err();
    match &error {
        CertError::BadCertificate {
            label,
            position,
            detail,
        } => {
            assert_eq!(label, "bundle");
            assert_eq!(*position, 2);
            assert_eq!(detail, "bad-der");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        error.to_string(),
        "bundle: certificate 2 cannot be used as a trust anchor: bad-der"
    );
}

#[test]
fn oversized_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.pem");
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(16 * 1024 * 1024 + 1).unwrap();
    let error = TrustAnchors::mozilla().with_ca_file(&path).unwrap_err();
    assert!(matches!(error, CertError::TooLarge { .. }), "{error:?}");
}
