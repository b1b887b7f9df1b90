//! Certificates rcgen cannot make (RSA-1024, SHA-1, v1, DSA, Ed448, brainpool, RSA-PSS), made
//! with the `openssl` CLI in a temporary directory, and cross-checks of our subject, serial and
//! fingerprint against what `openssl x509` prints.

use std::path::{Path, PathBuf};
use std::process::Command;

use jiff::Timestamp;
use mailwarden_cert::{TrustAnchors, analyze_chain, parse_certificate};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

const CONFIG: &str = "\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = placeholder
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[v3_leaf]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:mx.example.org
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
";

struct Workdir {
    dir: tempfile::TempDir,
}

impl Workdir {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("openssl.cnf"), CONFIG).expect("config");
        Self { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs `openssl ARGS` in the work directory; stdout.
    fn openssl(&self, args: &[&str]) -> String {
        let output = Command::new("openssl")
            .args(args)
            .current_dir(self.dir.path())
            .env("OPENSSL_CONF", self.path("openssl.cnf"))
            .output()
            .expect("the openssl CLI must be installed (Debian package `openssl`)");
        assert!(
            output.status.success(),
            "openssl {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// A self-signed CA certificate `NAME.pem` with key `NAME.key`.
    fn ca(&self, name: &str, newkey: &str, digest: &str, subject: &str) {
        let (key, pem) = (format!("{name}.key"), format!("{name}.pem"));
        self.openssl(&[
            "req",
            "-x509",
            "-config",
            "openssl.cnf",
            "-extensions",
            "v3_ca",
            "-newkey",
            newkey,
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &pem,
            "-subj",
            subject,
            "-days",
            "30",
            digest,
        ]);
    }

    /// A leaf `NAME.pem` signed by CA `ca`; `extensions` false makes a v1 certificate.
    fn leaf(&self, name: &str, newkey: &str, digest: &str, ca: &str, extensions: bool) {
        let section = if extensions { Some("v3_leaf") } else { None };
        self.signed(name, newkey, digest, ca, section, "/CN=mx.example.org");
    }

    /// A certificate `NAME.pem` signed by CA `ca`, with the extensions of `section`.
    fn signed(
        &self,
        name: &str,
        newkey: &str,
        digest: &str,
        ca: &str,
        section: Option<&str>,
        subject: &str,
    ) {
        let (key, csr, pem) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.pem"),
        );
        self.openssl(&[
            "req",
            "-new",
            "-config",
            "openssl.cnf",
            "-newkey",
            newkey,
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &csr,
            "-subj",
            subject,
        ]);
        let (ca_pem, ca_key) = (format!("{ca}.pem"), format!("{ca}.key"));
        let mut args = vec![
            "x509", "-req", "-in", &csr, "-CA", &ca_pem, "-CAkey", &ca_key, "-out", &pem, "-days",
            "10", digest,
        ];
        if let Some(section) = section {
            args.extend(["-extfile", "openssl.cnf", "-extensions", section]);
        }
        self.openssl(&args);
    }

    fn der(&self, name: &str) -> Vec<u8> {
        read_der(&self.path(&format!("{name}.pem")))
    }

    fn anchors(&self, ca: &str) -> TrustAnchors {
        TrustAnchors::empty()
            .with_ca_file(&self.path(&format!("{ca}.pem")))
            .expect("CA file")
    }
}

fn read_der(path: &Path) -> Vec<u8> {
    CertificateDer::from_pem_file(path)
        .expect("PEM certificate")
        .to_vec()
}

#[test]
fn rsa_1024_leaf_is_reported_and_still_validates() {
    let work = Workdir::new();
    work.ca("root", "rsa:2048", "-sha256", "/CN=OpenSSL Test Root");
    work.leaf("leaf", "rsa:1024", "-sha256", "root", true);
    let anchors = work.anchors("root");
    let result = analyze_chain(
        &[work.der("leaf")],
        "mx.example.org",
        &anchors,
        Timestamp::now(),
    );
    // webpki checks the signatures on the path, not the size of the leaf's own key.
    assert!(result.validation.trusted, "{:?}", result.validation);
    let leaf = result.leaf().unwrap();
    assert_eq!(leaf.public_key.algorithm, "rsa");
    assert_eq!(leaf.public_key.bits, Some(1024));
    assert_eq!(leaf.public_key.curve, None);
    assert_eq!(leaf.signature_algorithm, "sha256WithRSAEncryption");
    assert!(result.name_check.matched);
    assert_eq!(
        result.validation.anchors,
        [format!("ca-file:{}", work.path("root.pem").display())]
    );
}

#[test]
fn sha1_signature_is_unsupported() {
    let work = Workdir::new();
    work.ca("root", "rsa:2048", "-sha256", "/CN=OpenSSL Test Root");
    work.leaf("leaf", "rsa:2048", "-sha1", "root", true);
    let result = analyze_chain(
        &[work.der("leaf")],
        "mx.example.org",
        &work.anchors("root"),
        Timestamp::now(),
    );
    assert_eq!(
        result.validation.error.as_deref(),
        Some("unsupported-signature-algorithm")
    );
    let leaf = result.leaf().unwrap();
    assert_eq!(leaf.signature_algorithm, "sha1WithRSAEncryption");
    assert_eq!(leaf.public_key.bits, Some(2048));
    assert!(result.name_check.matched);
}

#[test]
fn rsa_1024_issuer_key_is_rejected() {
    let work = Workdir::new();
    work.ca("root", "rsa:1024", "-sha256", "/CN=OpenSSL Weak Root");
    work.leaf("leaf", "rsa:2048", "-sha256", "root", true);
    let result = analyze_chain(
        &[work.der("leaf")],
        "mx.example.org",
        &work.anchors("root"),
        Timestamp::now(),
    );
    assert_eq!(
        result.validation.error.as_deref(),
        Some("issuer-key-too-small")
    );
}

#[test]
fn rsa_1024_intermediate_key_is_rejected() {
    let work = Workdir::new();
    work.ca("root", "rsa:2048", "-sha256", "/CN=OpenSSL Test Root");
    work.openssl(&["ecparam", "-name", "prime256v1", "-out", "p256.param"]);
    let subject = "/CN=OpenSSL Weak Intermediate";
    work.signed(
        "inter",
        "rsa:1024",
        "-sha256",
        "root",
        Some("v3_ca"),
        subject,
    );
    work.leaf("leaf", "ec:p256.param", "-sha256", "inter", true);
    let anchors = work.anchors("root");
    let chain = [work.der("leaf"), work.der("inter")];
    let result = analyze_chain(&chain, "mx.example.org", &anchors, Timestamp::now());
    assert_eq!(
        result.validation.error.as_deref(),
        Some("issuer-key-too-small")
    );
    assert_eq!(result.certificates[1].public_key.bits, Some(1024));
    assert!(result.certificates[1].is_ca);
}

#[test]
fn self_signed_rsa_1024_sha1_is_recognised() {
    let work = Workdir::new();
    work.ca("old", "rsa:1024", "-sha1", "/CN=old.example.org");
    let cert = parse_certificate(&work.der("old"));
    assert_eq!(cert.parse_error, None);
    assert!(cert.self_signed, "legacy signature checked with aws-lc-rs");
    assert!(cert.is_ca);
    assert_eq!(cert.public_key.bits, Some(1024));
    assert_eq!(cert.signature_algorithm, "sha1WithRSAEncryption");
}

#[test]
fn v1_leaf_is_unsupported_version() {
    let work = Workdir::new();
    work.ca("root", "rsa:2048", "-sha256", "/CN=OpenSSL Test Root");
    work.leaf("v1", "rsa:2048", "-sha256", "root", false);
    let result = analyze_chain(
        &[work.der("v1")],
        "mx.example.org",
        &work.anchors("root"),
        Timestamp::now(),
    );
    assert_eq!(
        result.validation.error.as_deref(),
        Some("unsupported-cert-version")
    );
    let leaf = result.leaf().unwrap();
    assert_eq!(leaf.parse_error, None);
    assert_eq!(leaf.subject, "CN=mx.example.org");
    assert!(leaf.dns_names.is_empty());
    // No SAN: the CN is not used.
    assert!(!result.name_check.matched);
}

#[test]
fn other_key_types() {
    let work = Workdir::new();
    work.openssl(&[
        "genpkey",
        "-genparam",
        "-algorithm",
        "DSA",
        "-pkeyopt",
        "dsa_paramgen_bits:2048",
        "-out",
        "dsa.param",
    ]);
    // (newkey, digest, algorithm, bits, curve, signature algorithm)
    let cases = [
        (
            "dsa:dsa.param",
            "-sha256",
            "dsa",
            Some(2048),
            None,
            "dsa_with_SHA256",
        ),
        ("ed448", "", "ed448", Some(456), None, "Ed448"),
        ("ed25519", "", "ed25519", Some(256), None, "Ed25519"),
        (
            "ec:brainpool.param",
            "-sha256",
            "ecdsa",
            Some(256),
            Some("brainpoolP256r1"),
            "ecdsa-with-SHA256",
        ),
        (
            "ec:p384.param",
            "-sha384",
            "ecdsa",
            Some(384),
            Some("P-384"),
            "ecdsa-with-SHA384",
        ),
        (
            "rsa-pss",
            "-sha256",
            "rsa-pss",
            Some(2048),
            None,
            "rsassaPss-sha256",
        ),
    ];
    work.openssl(&[
        "ecparam",
        "-name",
        "brainpoolP256r1",
        "-out",
        "brainpool.param",
    ]);
    work.openssl(&["ecparam", "-name", "secp384r1", "-out", "p384.param"]);
    for (i, (newkey, digest, algorithm, bits, curve, signature)) in cases.into_iter().enumerate() {
        let name = format!("ss{i}");
        let (key, pem) = (format!("{name}.key"), format!("{name}.pem"));
        let mut args = vec![
            "req",
            "-x509",
            "-config",
            "openssl.cnf",
            "-extensions",
            "v3_ca",
            "-newkey",
            newkey,
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &pem,
            "-subj",
            "/CN=key test",
            "-days",
            "30",
        ];
        if !digest.is_empty() {
            args.push(digest);
        }
        work.openssl(&args);
        let cert = parse_certificate(&work.der(&name));
        assert_eq!(cert.parse_error, None, "{newkey}");
        assert_eq!(cert.public_key.algorithm, algorithm, "{newkey}");
        assert_eq!(cert.public_key.bits, bits, "{newkey}");
        assert_eq!(cert.public_key.curve.as_deref(), curve, "{newkey}");
        assert_eq!(cert.signature_algorithm, signature, "{newkey}");
        // DSA, Ed448 and brainpool have no aws-lc-rs verifier: the key identifiers decide.
        assert!(cert.self_signed, "{newkey}");
    }
}

#[test]
fn pss_signature_with_rsa_key_validates() {
    let work = Workdir::new();
    let args = [
        "req",
        "-x509",
        "-config",
        "openssl.cnf",
        "-extensions",
        "v3_ca",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "root.key",
        "-out",
        "root.pem",
        "-subj",
        "/CN=PSS Root",
        "-days",
        "30",
        "-sha256",
        "-sigopt",
        "rsa_padding_mode:pss",
        "-sigopt",
        "rsa_pss_saltlen:32",
    ];
    work.openssl(&args);
    let root = parse_certificate(&work.der("root"));
    assert_eq!(root.public_key.algorithm, "rsa");
    assert_eq!(root.signature_algorithm, "rsassaPss-sha256");
    assert!(root.self_signed);
}

#[test]
fn subject_serial_and_fingerprint_agree_with_openssl() {
    let work = Workdir::new();
    let subjects = [
        "/C=DE/O=Acme, Inc./OU=Mail\\+Ops/CN=mx.example.org",
        "/DC=org/DC=example/CN=mx.example.org+UID=42",
        "/CN=#hash;semi<less>greater\"quote/emailAddress=postmaster@example.org",
        "/serialNumber=1234/businessCategory=Private Organization/jurisdictionC=DE/CN=x",
        "/CN=trailing space /O= leading space",
    ];
    work.openssl(&["ecparam", "-name", "prime256v1", "-out", "p256.param"]);
    for (i, subject) in subjects.into_iter().enumerate() {
        let name = format!("dn{i}");
        work.ca(&name, "ec:p256.param", "-sha256", subject);
        let cert = parse_certificate(&work.der(&name));
        let pem = work.path(&format!("{name}.pem"));
        let pem = pem.to_str().unwrap();
        let expected = work.openssl(&[
            "x509", "-in", pem, "-noout", "-subject", "-nameopt", "RFC2253",
        ]);
        assert_eq!(
            format!("subject={}", cert.subject),
            expected.trim_end_matches('\n'),
            "{subject}"
        );
        assert_eq!(cert.issuer, cert.subject);

        let serial = work.openssl(&["x509", "-in", pem, "-noout", "-serial"]);
        let serial = serial
            .trim_end()
            .trim_start_matches("serial=")
            .trim_start_matches('0');
        assert_eq!(cert.serial.to_uppercase().trim_start_matches('0'), serial);

        let fingerprint = work.openssl(&["x509", "-in", pem, "-noout", "-fingerprint", "-sha256"]);
        let fingerprint = fingerprint
            .trim_end()
            .split_once('=')
            .map(|(_, hex)| hex.replace(':', "").to_lowercase())
            .unwrap();
        assert_eq!(cert.sha256, fingerprint);
    }
}

#[test]
fn utf8_subject_is_kept_as_utf8() {
    let work = Workdir::new();
    work.openssl(&["ecparam", "-name", "prime256v1", "-out", "p256.param"]);
    let args = [
        "req",
        "-x509",
        "-config",
        "openssl.cnf",
        "-utf8",
        "-newkey",
        "ec:p256.param",
        "-nodes",
        "-keyout",
        "u.key",
        "-out",
        "u.pem",
        "-subj",
        "/O=Müller Straße/CN=mx.example.org",
        "-days",
        "30",
    ];
    work.openssl(&args);
    let cert = parse_certificate(&work.der("u"));
    assert_eq!(cert.subject, "CN=mx.example.org,O=Müller Straße");
}
