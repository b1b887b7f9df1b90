//! The Postfix listeners are what their names claim, checked with raw SMTP
//! dialogs, `swaks` and `openssl s_client`.

mod common;

use std::time::Duration;

use common::{Dialog, TlsProbe, eventually, run_tool};
use mailwarden_testbed::{Server, Testbed};

fn tb() -> &'static Testbed {
    Testbed::shared()
}

fn ehlo(name: &str) -> Vec<String> {
    let mut d = Dialog::connect(tb().endpoint(name));
    let greeting = d.smtp_reply();
    assert!(
        greeting[0].starts_with("220 mail.test ESMTP"),
        "{name}: {greeting:?}"
    );
    let reply = d.smtp("EHLO client.test");
    assert!(
        reply.last().unwrap().starts_with("250 "),
        "{name}: {reply:?}"
    );
    reply
}

fn has_keyword(reply: &[String], keyword: &str) -> bool {
    reply
        .iter()
        .any(|l| l[4..].split(' ').next() == Some(keyword))
}

fn auth_line(reply: &[String]) -> Option<&String> {
    reply.iter().find(|l| l[4..].starts_with("AUTH "))
}

fn swaks(args: &[&str]) -> common::ToolOutput {
    run_tool("swaks", args, b"", Duration::from_secs(60))
}

#[test]
fn every_plaintext_postfix_listener_greets_as_smtp() {
    for e in tb()
        .endpoints()
        .iter()
        .filter(|e| e.server == Server::Postfix && !e.implicit_tls)
    {
        let mut d = Dialog::connect(e.addr);
        let greeting = d.smtp_reply();
        assert_eq!(greeting.len(), 1, "{}: {greeting:?}", e.name);
        assert!(
            greeting[0].starts_with("220 mail.test ESMTP Postfix"),
            "{}: {greeting:?}",
            e.name
        );
        assert_eq!(d.smtp("QUIT")[0], "221 2.0.0 Bye", "{}", e.name);
    }
}

#[test]
fn smtp_mx_offers_starttls_without_auth() {
    let reply = ehlo("smtp-mx");
    assert!(has_keyword(&reply, "STARTTLS"), "{reply:?}");
    assert_eq!(auth_line(&reply), None, "{reply:?}");
    let tls = TlsProbe::starttls(tb().endpoint("smtp-mx"), "smtp", tb().ca_file());
    assert!(tls.handshake_completed(), "{}", tls.output.all());
    assert_eq!(tls.verify_result().as_deref(), Some("0 (ok)"));
}

#[test]
fn smtp_mx_discards_what_it_accepts() {
    let addr = tb().endpoint("smtp-mx").to_string();
    let out = swaks(&[
        "--server",
        &addr,
        "--from",
        "bob@example.test",
        "--to",
        "carol@example.org",
    ]);
    assert!(out.success, "{}", out.all());
    let queue_id = out
        .stdout
        .lines()
        .find_map(|l| l.split("queued as ").nth(1))
        .unwrap_or_else(|| panic!("no queue id in {}", out.all()))
        .trim()
        .to_string();
    let log = tb().postfix_log();
    let wanted = "postfix/discard[";
    eventually(
        "the discard service to take the message",
        Duration::from_secs(20),
        || {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            text.lines()
                .any(|l| l.contains(wanted) && l.contains(&queue_id) && l.contains("status=sent"))
        },
    );
}

#[test]
fn smtp_plain_has_no_starttls() {
    let reply = ehlo("smtp-plain");
    assert!(!has_keyword(&reply, "STARTTLS"), "{reply:?}");
    let mut d = Dialog::connect(tb().endpoint("smtp-plain"));
    d.smtp_reply();
    d.smtp("EHLO client.test");
    let reply = d.smtp("STARTTLS");
    assert!(reply[0].starts_with("502 "), "{reply:?}");
}

#[test]
fn submission_enforced_refuses_mail_before_starttls() {
    let reply = ehlo("submission-enforced");
    assert!(has_keyword(&reply, "STARTTLS"), "{reply:?}");
    assert_eq!(
        auth_line(&reply),
        None,
        "AUTH must not be offered before TLS: {reply:?}"
    );
    let mut d = Dialog::connect(tb().endpoint("submission-enforced"));
    d.smtp_reply();
    d.smtp("EHLO client.test");
    let reply = d.smtp("MAIL FROM:<bob@example.test>");
    assert!(reply[0].starts_with("530 "), "{reply:?}");
    let reply = d.smtp("AUTH PLAIN AGFsaWNlAHg=");
    assert!(reply[0].starts_with('5'), "{reply:?}");
}

#[test]
fn submission_enforced_authenticates_after_starttls() {
    let addr = tb().endpoint("submission-enforced").to_string();
    let base = ["--server", &addr, "--quit-after", "AUTH", "--auth", "PLAIN"];
    let user = [
        "--auth-user",
        tb().user(),
        "--auth-password",
        tb().password(),
    ];
    let out = swaks(&[&base[..], &user[..], &["--tls"]].concat());
    assert!(out.success, "{}", out.all());
    assert!(
        out.stdout.contains("250-AUTH PLAIN LOGIN"),
        "AUTH offered after TLS: {}",
        out.all()
    );
    assert!(
        out.stdout.contains("235 2.7.0 Authentication successful"),
        "{}",
        out.all()
    );
}

#[test]
fn submission_auth_before_tls_offers_auth_and_accepts_mail_in_plaintext() {
    let reply = ehlo("submission-auth-before-tls");
    assert!(has_keyword(&reply, "STARTTLS"), "{reply:?}");
    let auth = auth_line(&reply).unwrap_or_else(|| panic!("no AUTH before TLS: {reply:?}"));
    assert!(auth.contains("PLAIN") && auth.contains("LOGIN"), "{auth}");

    let mut d = Dialog::connect(tb().endpoint("submission-auth-before-tls"));
    d.smtp_reply();
    d.smtp("EHLO client.test");
    let reply = d.smtp("MAIL FROM:<bob@example.test>");
    assert!(reply[0].starts_with("250 "), "{reply:?}");

    // The password really goes through Dovecot's auth service in plaintext.
    let addr = tb().endpoint("submission-auth-before-tls").to_string();
    let good = swaks(&[
        "--server",
        &addr,
        "--quit-after",
        "AUTH",
        "--auth",
        "LOGIN",
        "--auth-user",
        tb().user(),
        "--auth-password",
        tb().password(),
    ]);
    assert!(
        good.success && good.stdout.contains("235 "),
        "{}",
        good.all()
    );
    let bad = swaks(&[
        "--server",
        &addr,
        "--quit-after",
        "AUTH",
        "--auth",
        "PLAIN",
        "--auth-user",
        tb().user(),
        "--auth-password",
        "wrong-password",
    ]);
    assert!(!bad.success && bad.stdout.contains("535 "), "{}", bad.all());
}

#[test]
fn smtps_speaks_tls_at_connect() {
    let addr = tb().endpoint("smtps");
    let tls = TlsProbe::run(
        addr,
        &[
            "-CAfile",
            tb().ca_file().to_str().unwrap(),
            "-ign_eof",
            "-crlf",
        ],
        "EHLO client.test\nQUIT\n",
    );
    assert!(tls.handshake_completed(), "{}", tls.output.all());
    assert_eq!(tls.verify_result().as_deref(), Some("0 (ok)"));
    assert!(
        tls.output.stdout.contains("220 mail.test ESMTP"),
        "{}",
        tls.output.all()
    );
    assert!(
        tls.output.stdout.contains("250-AUTH PLAIN LOGIN"),
        "{}",
        tls.output.all()
    );

    // And a plaintext client gets no greeting: the server waits for a ClientHello.
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(1500)))
        .unwrap();
    let mut buf = [0u8; 64];
    let read = std::io::Read::read(&mut stream, &mut buf);
    assert!(matches!(&read, Err(e) if common::is_timeout(e)), "{read:?}");

    let s = addr.to_string();
    let out = swaks(&[
        "--server",
        &s,
        "--tlsc",
        "--quit-after",
        "AUTH",
        "--auth",
        "PLAIN",
        "--auth-user",
        tb().user(),
        "--auth-password",
        tb().password(),
    ]);
    assert!(out.success && out.stdout.contains("235 "), "{}", out.all());
}

#[test]
fn smtp_tls10_negotiates_only_tls_1_0() {
    let addr = tb().endpoint("smtp-tls10");
    let weak = "DEFAULT:@SECLEVEL=0";
    let v1 = TlsProbe::run(addr, &["-starttls", "smtp", "-tls1", "-cipher", weak], "");
    assert!(v1.handshake_completed(), "{}", v1.output.all());
    assert_eq!(v1.protocol().as_deref(), Some("TLSv1"));
    // A client allowing everything still ends up with TLS 1.0.
    let any = TlsProbe::run(addr, &["-starttls", "smtp", "-cipher", weak], "");
    assert_eq!(
        any.protocol().as_deref(),
        Some("TLSv1"),
        "{}",
        any.output.all()
    );
    for modern in ["-tls1_1", "-tls1_2", "-tls1_3"] {
        let probe = TlsProbe::run(addr, &["-starttls", "smtp", modern, "-cipher", weak], "");
        assert!(
            !probe.handshake_completed(),
            "{modern} must fail: {}",
            probe.output.all()
        );
    }
}

#[test]
fn other_postfix_listeners_refuse_tls_1_0_and_1_1() {
    for name in ["smtp-mx", "submission-enforced", "smtp-expired"] {
        for old in ["-tls1", "-tls1_1"] {
            let args = ["-starttls", "smtp", old, "-cipher", "DEFAULT:@SECLEVEL=0"];
            let probe = TlsProbe::run(tb().endpoint(name), &args, "");
            assert!(
                !probe.handshake_completed(),
                "{name} {old}: {}",
                probe.output.all()
            );
        }
        let modern = TlsProbe::run(tb().endpoint(name), &["-starttls", "smtp", "-tls1_2"], "");
        assert_eq!(
            modern.protocol().as_deref(),
            Some("TLSv1.2"),
            "{name}: {}",
            modern.output.all()
        );
    }
}

#[test]
fn postfix_offers_anonymous_suites_as_by_default() {
    // Postfix's opportunistic and mandatory "medium" cipher lists include aNULL:
    // normal for an MX, a finding on submission. The test bed keeps the default.
    for (name, starttls) in [
        ("smtp-mx", true),
        ("submission-enforced", true),
        ("smtps", false),
    ] {
        let mut args = vec!["-tls1_2", "-cipher", "aNULL:@SECLEVEL=0"];
        if starttls {
            args.extend(["-starttls", "smtp"]);
        }
        let probe = TlsProbe::run(tb().endpoint(name), &args, "");
        assert!(
            probe.handshake_completed(),
            "{name}: {}",
            probe.output.all()
        );
        assert!(
            probe.output.stdout.contains("Cipher is ADH-"),
            "{name}: {}",
            probe.output.all()
        );
    }
}

#[test]
fn banners_disclose_the_version_only_where_intended() {
    let mut d = Dialog::connect(tb().endpoint("smtp-banner-version"));
    let banner = d.smtp_reply().remove(0);
    let version = run_tool(
        "postconf",
        &["-dh", "mail_version"],
        b"",
        Duration::from_secs(10),
    );
    let expected = format!(
        "220 mail.test ESMTP Postfix {} (Debian)",
        version.stdout.trim()
    );
    assert_eq!(banner, expected);

    let mut d = Dialog::connect(tb().endpoint("smtp-mx"));
    assert_eq!(d.smtp_reply(), ["220 mail.test ESMTP Postfix"]);
}

#[test]
fn postfix_logs_to_its_own_file_per_listener() {
    let mut d = Dialog::connect(tb().endpoint("smtp-wrong-name"));
    d.smtp_reply();
    d.smtp("QUIT");
    eventually(
        "a smtp-wrong-name line in the Postfix log",
        Duration::from_secs(20),
        || {
            std::fs::read_to_string(tb().postfix_log())
                .unwrap_or_default()
                .contains("postfix/smtp-wrong-name/smtpd[")
        },
    );
}

#[test]
fn relay_is_open_to_loopback_except_on_smtp_no_relay() {
    let rcpt = |name: &str, to: &str| {
        let mut d = Dialog::connect(tb().endpoint(name));
        d.smtp_reply();
        d.smtp("EHLO client.test");
        assert!(d.smtp("MAIL FROM:<bob@example.test>")[0].starts_with("250 "));
        let reply = d.smtp(&format!("RCPT TO:<{to}>")).remove(0);
        d.smtp("QUIT");
        reply
    };
    // mynetworks is 127.0.0.0/8: loopback clients may relay (nothing leaves: discard).
    assert!(rcpt("smtp-mx", "carol@example.org").starts_with("250 "));
    let denied = rcpt("smtp-no-relay", "carol@example.org");
    assert!(
        denied.starts_with("554 5.7.1") && denied.contains("Relay access denied"),
        "{denied}"
    );
    assert!(rcpt("smtp-no-relay", "alice@mail.test").starts_with("250 "));
}
