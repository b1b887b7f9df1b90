//! The Postfix listeners with restricted TLS (`smtp-tls13-only`,
//! `smtp-cbc-only`, `smtp-dhe-1024`) accept exactly what they claim,
//! checked per version and suite with `openssl s_client` and `gnutls-cli`.

mod common;

use common::{GnutlsProbe, TlsProbe};
use mailwarden_testbed::Testbed;

fn tb() -> &'static Testbed {
    Testbed::shared()
}

/// `openssl s_client -starttls smtp` to `name` with `extra` options.
fn openssl(name: &str, extra: &[&str]) -> TlsProbe {
    let ca = tb().ca_file().to_str().unwrap().to_string();
    let mut args = vec![
        "-starttls",
        "smtp",
        "-CAfile",
        ca.as_str(),
        "-servername",
        "mail.test",
    ];
    args.extend_from_slice(extra);
    TlsProbe::run(tb().endpoint(name), &args, "")
}

fn assert_refused(probe: &TlsProbe, what: &str) {
    assert!(
        !probe.handshake_completed(),
        "{what}: {}",
        probe.output.all()
    );
}

#[test]
fn tls13_only_accepts_tls_1_3_and_nothing_older() {
    let tls13 = openssl("smtp-tls13-only", &[]);
    assert_eq!(
        tls13.protocol().as_deref(),
        Some("TLSv1.3"),
        "{}",
        tls13.output.all()
    );
    assert_eq!(tls13.verify_result().as_deref(), Some("0 (ok)"));
    let tls12 = openssl("smtp-tls13-only", &["-tls1_2"]);
    assert_refused(&tls12, "TLS 1.2");
    assert!(
        tls12.output.all().contains("alert protocol version"),
        "{}",
        tls12.output.all()
    );
    for version in ["TLS1.0", "TLS1.1", "TLS1.2"] {
        let probe = GnutlsProbe::starttls(
            tb().endpoint("smtp-tls13-only"),
            "smtp",
            &format!("NORMAL:-VERS-ALL:+VERS-{version}:%COMPAT"),
            tb().ca_file(),
        );
        assert_eq!(
            probe.description(),
            None,
            "{version}: {}",
            probe.output.all()
        );
    }
}

#[test]
fn cbc_only_accepts_exactly_its_two_cbc_suites_over_tls_1_2() {
    // The server's preference when the client offers everything.
    let default = openssl("smtp-cbc-only", &[]);
    assert_eq!(
        default.protocol().as_deref(),
        Some("TLSv1.2"),
        "{}",
        default.output.all()
    );
    assert_eq!(default.cipher().as_deref(), Some("ECDHE-RSA-AES128-SHA"));
    assert_eq!(default.verify_result().as_deref(), Some("0 (ok)"));
    let rsa_kx = openssl("smtp-cbc-only", &["-cipher", "AES128-SHA"]);
    assert_eq!(
        rsa_kx.protocol().as_deref(),
        Some("TLSv1.2"),
        "{}",
        rsa_kx.output.all()
    );
    assert_eq!(rsa_kx.cipher().as_deref(), Some("AES128-SHA"));
    for refused in [
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES128-SHA",
        "ECDHE-RSA-AES256-SHA",
        "AES256-SHA",
        "AES128-SHA256",
        "DHE-RSA-AES128-SHA",
    ] {
        let probe = openssl("smtp-cbc-only", &["-tls1_2", "-cipher", refused]);
        assert_refused(&probe, refused);
    }
    assert_refused(&openssl("smtp-cbc-only", &["-tls1_3"]), "TLS 1.3");
    let tls10 = openssl(
        "smtp-cbc-only",
        &["-tls1", "-cipher", "DEFAULT:@SECLEVEL=0"],
    );
    assert_refused(&tls10, "TLS 1.0");
}

#[test]
fn dhe_1024_uses_a_1024_bit_group_that_openssl_clients_refuse_by_default() {
    let weak_client = openssl("smtp-dhe-1024", &["-cipher", "DEFAULT:@SECLEVEL=1"]);
    assert_eq!(
        weak_client.protocol().as_deref(),
        Some("TLSv1.2"),
        "{}",
        weak_client.output.all()
    );
    assert_eq!(weak_client.temp_key().as_deref(), Some("DH, 1024 bits"));
    assert_eq!(
        weak_client.cipher().as_deref(),
        Some("DHE-RSA-AES256-GCM-SHA384")
    );
    // Debian's OpenSSL (security level 2) refuses a DH group under 2048 bits.
    let default_client = openssl("smtp-dhe-1024", &[]);
    assert_refused(&default_client, "default OpenSSL client");
    assert!(
        default_client.output.all().contains("dh key too small"),
        "{}",
        default_client.output.all()
    );
    let gnutls = GnutlsProbe::starttls(
        tb().endpoint("smtp-dhe-1024"),
        "smtp",
        "NORMAL",
        tb().ca_file(),
    );
    assert_eq!(
        gnutls.description(),
        Some("(TLS1.2-X.509)-(DHE-CUSTOM1024)-(RSA-SHA256)-(AES-256-GCM)"),
        "{}",
        gnutls.output.all()
    );
    // Only DHE: no ECDHE, no RSA key exchange, no TLS 1.3.
    for refused in ["ECDHE-RSA-AES128-GCM-SHA256", "AES128-GCM-SHA256"] {
        let probe = openssl(
            "smtp-dhe-1024",
            &["-tls1_2", "-cipher", &format!("{refused}:@SECLEVEL=1")],
        );
        assert_refused(&probe, refused);
    }
    assert_refused(&openssl("smtp-dhe-1024", &["-tls1_3"]), "TLS 1.3");
}
