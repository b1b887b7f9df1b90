//! The Exim daemons are what their names claim, checked with raw SMTP
//! dialogs, `swaks`, `openssl s_client` and `gnutls-cli` (the only client
//! here that still speaks 3DES and RC4). Connection limits: `limits.rs`.

mod common;

use std::time::Duration;

use common::{Dialog, GnutlsProbe, TlsProbe, eventually, read_log, run_tool};
use mailwarden_testbed::{Server, Testbed};

fn tb() -> &'static Testbed {
    Testbed::shared()
}

/// `priority` over STARTTLS to `name`, verified against the test CA.
fn gnutls(name: &str, priority: &str) -> GnutlsProbe {
    GnutlsProbe::starttls(tb().endpoint(name), "smtp", priority, tb().ca_file())
}

/// GnuTLS priority offering exactly one protocol version and one cipher.
fn only(version: &str, cipher: &str) -> String {
    format!("NORMAL:-VERS-ALL:+VERS-{version}:-CIPHER-ALL:+{cipher}")
}

fn ehlo(name: &str) -> Vec<String> {
    let mut d = Dialog::connect(tb().endpoint(name));
    let greeting = d.smtp_reply();
    assert!(
        greeting[0].starts_with("220 mail.test ESMTP Exim 4.96 "),
        "{name}: {greeting:?}"
    );
    let reply = d.smtp("EHLO client.test");
    assert!(reply.last().unwrap().starts_with("250 "), "{reply:?}");
    d.smtp("QUIT");
    reply
}

fn swaks(args: &[&str]) -> common::ToolOutput {
    run_tool("swaks", args, b"", Duration::from_secs(60))
}

#[test]
fn every_exim_daemon_offers_starttls_and_no_auth_before_it() {
    let exims: Vec<_> = tb()
        .endpoints()
        .iter()
        .filter(|e| e.server == Server::Exim)
        .collect();
    let names: Vec<&str> = exims.iter().map(|e| e.name).collect();
    assert_eq!(names, ["exim-mx", "exim-weak", "exim-limited"]);
    for e in exims {
        assert!(e.addr.ip().is_loopback() && !e.implicit_tls, "{e:?}");
        let reply = ehlo(e.name);
        assert!(reply.iter().any(|l| l == "250-STARTTLS"), "{reply:?}");
        assert!(!reply.iter().any(|l| l.contains("AUTH")), "{reply:?}");
        // Every daemon logs into the one mainlog, naming its own port.
        let started = format!("listening for SMTP on [127.0.0.1]:{}", e.addr.port());
        assert!(read_log(&tb().exim_log()).contains(&started), "{started}");
    }
}

#[test]
fn exim_mx_speaks_tls_1_0_to_1_3_with_debians_default_priorities() {
    let tls = TlsProbe::starttls(tb().endpoint("exim-mx"), "smtp", tb().ca_file());
    assert_eq!(
        tls.protocol().as_deref(),
        Some("TLSv1.3"),
        "{}",
        tls.output.all()
    );
    assert_eq!(tls.verify_result().as_deref(), Some("0 (ok)"));
    for (version, expected) in [
        (
            "TLS1.0",
            "(TLS1.0-X.509)-(ECDHE-SECP256R1)-(AES-256-CBC)-(SHA1)",
        ),
        (
            "TLS1.1",
            "(TLS1.1-X.509)-(ECDHE-SECP256R1)-(AES-256-CBC)-(SHA1)",
        ),
    ] {
        let probe = gnutls("exim-mx", &format!("NORMAL:-VERS-ALL:+VERS-{version}"));
        assert_eq!(
            probe.description(),
            Some(expected),
            "{}",
            probe.output.all()
        );
        assert!(probe.trusted(), "{}", probe.output.all());
    }
    // An independent second witness for TLS 1.0: OpenSSL at security level 0.
    let tls10 = TlsProbe::run(
        tb().endpoint("exim-mx"),
        &[
            "-starttls",
            "smtp",
            "-tls1",
            "-cipher",
            "DEFAULT:@SECLEVEL=0",
        ],
        "",
    );
    assert_eq!(
        tls10.protocol().as_deref(),
        Some("TLSv1"),
        "{}",
        tls10.output.all()
    );
}

#[test]
fn exim_mx_refuses_3des_and_rc4() {
    for cipher in ["3DES-CBC", "ARCFOUR-128"] {
        for version in ["TLS1.0", "TLS1.2"] {
            let probe = gnutls("exim-mx", &only(version, cipher));
            assert_eq!(probe.description(), None, "{}", probe.output.all());
            assert!(
                probe.output.all().contains("Handshake failed"),
                "{}",
                probe.output.all()
            );
        }
    }
}

#[test]
fn exim_weak_negotiates_3des_and_rc4_from_tls_1_0_to_1_2() {
    for version in ["TLS1.0", "TLS1.1", "TLS1.2"] {
        for (kx, cipher) in [
            ("RSA", "3DES-CBC"),
            ("ECDHE-RSA", "3DES-CBC"),
            ("ECDHE-ECDSA", "3DES-CBC"),
            ("DHE-RSA", "3DES-CBC"),
            ("RSA", "ARCFOUR-128"),
            ("ECDHE-RSA", "ARCFOUR-128"),
            ("ECDHE-ECDSA", "ARCFOUR-128"),
        ] {
            let priority = format!("{}:-KX-ALL:+{kx}", only(version, cipher));
            let probe = gnutls("exim-weak", &priority);
            let description = probe
                .description()
                .unwrap_or_else(|| panic!("{version} {kx} {cipher}: {}", probe.output.all()));
            assert!(
                description.starts_with(&format!("({version}-X.509)"))
                    && description.contains(&format!("({cipher})-(SHA1)")),
                "{version} {kx} {cipher}: {description}"
            );
            assert!(probe.trusted(), "{}", probe.output.all());
        }
    }
    // Debian's OpenSSL 3 has neither: only GnuTLS can witness these suites.
    let openssl = TlsProbe::run(
        tb().endpoint("exim-weak"),
        &[
            "-starttls",
            "smtp",
            "-cipher",
            "DES-CBC3-SHA:RC4-SHA:@SECLEVEL=0",
        ],
        "",
    );
    assert!(
        openssl.output.all().contains("no cipher match"),
        "{}",
        openssl.output.all()
    );
}

#[test]
fn exim_weak_still_prefers_modern_tls() {
    let probe = gnutls("exim-weak", "NORMAL");
    assert_eq!(
        probe.description(),
        Some("(TLS1.3-X.509)-(ECDHE-SECP256R1)-(ECDSA-SECP256R1-SHA256)-(AES-256-GCM)"),
        "{}",
        probe.output.all()
    );
}

#[test]
fn exim_mx_offers_auth_only_over_tls_and_logs_failures() {
    let addr = tb().endpoint("exim-mx").to_string();
    let ok = swaks(&[
        "--server",
        &addr,
        "--tls",
        "--auth",
        "PLAIN",
        "--auth-user",
        tb().user(),
        "--auth-password",
        tb().password(),
        "--quit-after",
        "AUTH",
    ]);
    assert!(ok.success, "{}", ok.all());
    assert!(ok.stdout.contains("250-AUTH PLAIN LOGIN"), "{}", ok.all());
    assert!(
        ok.stdout.contains("235 Authentication succeeded"),
        "{}",
        ok.all()
    );

    let bad = swaks(&[
        "--server",
        &addr,
        "--tls",
        "--auth",
        "LOGIN",
        "--auth-user",
        "mallory@mail.test",
        "--auth-password",
        "wrong",
        "--quit-after",
        "AUTH",
    ]);
    assert!(
        bad.stdout.contains("535 Incorrect authentication data"),
        "{}",
        bad.all()
    );
    eventually(
        "Exim's mainlog to record the failed login",
        Duration::from_secs(20),
        || {
            read_log(&tb().exim_log()).lines().any(|l| {
                l.contains("login authenticator failed for ")
                    && l.contains("535 Incorrect authentication data (set_id=mallory@mail.test)")
            })
        },
    );
}

#[test]
fn exim_queues_local_mail_without_delivering_and_refuses_relay() {
    let addr = tb().endpoint("exim-mx").to_string();
    let out = swaks(&[
        "--server",
        &addr,
        "--from",
        "bob@example.test",
        "--to",
        tb().user(),
    ]);
    assert!(out.success, "{}", out.all());
    let id = out
        .stdout
        .lines()
        .find_map(|l| l.split("250 OK id=").nth(1))
        .unwrap_or_else(|| panic!("no message id in {}", out.all()))
        .trim()
        .to_string();
    eventually(
        "the <= line of the message",
        Duration::from_secs(20),
        || read_log(&tb().exim_log()).contains(&format!("{id} <= bob@example.test ")),
    );
    // queue_only: no delivery attempt, ever.
    let log = read_log(&tb().exim_log());
    let delivered = log
        .lines()
        .filter(|l| l.contains(&id))
        .find(|l| l.contains(" => ") || l.contains(" Completed") || l.contains("re-exec"));
    assert_eq!(delivered, None);

    let relay = swaks(&[
        "--server",
        &addr,
        "--from",
        "bob@example.test",
        "--to",
        "carol@example.org",
    ]);
    assert!(
        relay.stdout.contains("550 relay not permitted"),
        "{}",
        relay.all()
    );
    eventually(
        "rejectlog to record the relay attempt",
        Duration::from_secs(20),
        || {
            read_log(&tb().exim_reject_log())
                .contains("rejected RCPT <carol@example.org>: relay not permitted")
        },
    );
}
