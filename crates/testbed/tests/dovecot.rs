//! The Dovecot listeners enforce (or not) TLS before plaintext authentication
//! as their names claim — checked from 127.0.0.1, so Dovecot does not treat
//! the client as local and secured.

mod common;

use std::time::Duration;

use common::{Dialog, TlsProbe, eventually};
use mailwarden_testbed::Testbed;

fn tb() -> &'static Testbed {
    Testbed::shared()
}

fn imap_greeting(name: &str) -> (Dialog, String) {
    let mut d = Dialog::connect(tb().endpoint(name));
    let greeting = d.read_until(|l| l.starts_with("* OK")).pop().unwrap();
    (d, greeting)
}

fn login(d: &mut Dialog) -> String {
    let command = format!("LOGIN {} {}", tb().user(), tb().password());
    d.imap("a", &command).pop().unwrap()
}

#[test]
fn dovecot_sees_clients_from_another_address() {
    let (mut d, _) = imap_greeting("imap-starttls");
    d.imap("z", "LOGOUT");
    eventually(
        "a log line with rip=127.0.0.1, lip=127.0.0.2",
        Duration::from_secs(20),
        || {
            std::fs::read_to_string(tb().dovecot_log())
                .unwrap_or_default()
                .contains("rip=127.0.0.1, lip=127.0.0.2")
        },
    );
}

#[test]
fn imap_starttls_refuses_plaintext_login() {
    let (mut d, greeting) = imap_greeting("imap-starttls");
    assert!(
        greeting.contains("STARTTLS") && greeting.contains("LOGINDISABLED"),
        "{greeting}"
    );
    let caps = d.imap("c", "CAPABILITY");
    assert!(
        caps[0].contains(" STARTTLS") && caps[0].contains(" LOGINDISABLED"),
        "{caps:?}"
    );
    assert!(!caps[0].contains("AUTH=PLAIN"), "{caps:?}");
    let reply = login(&mut d);
    assert!(reply.starts_with("a NO [PRIVACYREQUIRED]"), "{reply}");
    let reply = d.imap("b", "AUTHENTICATE PLAIN AGFsaWNlQG1haWwudGVzdAB4");
    assert!(reply.last().unwrap().starts_with("b NO"), "{reply:?}");
}

#[test]
fn imap_starttls_accepts_login_after_tls() {
    let command = format!("a LOGIN {} {}\nb LOGOUT\n", tb().user(), tb().password());
    let ca = tb().ca_file().to_str().unwrap();
    let probe = TlsProbe::run(
        tb().endpoint("imap-starttls"),
        &["-starttls", "imap", "-CAfile", ca, "-crlf", "-ign_eof"],
        &command,
    );
    assert!(probe.handshake_completed(), "{}", probe.output.all());
    assert!(
        probe.output.stdout.contains("a OK"),
        "{}",
        probe.output.all()
    );
}

#[test]
fn imap_plain_allowed_accepts_plaintext_login() {
    let (mut d, greeting) = imap_greeting("imap-plain-allowed");
    assert!(greeting.contains("STARTTLS"), "{greeting}");
    assert!(!greeting.contains("LOGINDISABLED"), "{greeting}");
    assert!(greeting.contains("AUTH=PLAIN"), "{greeting}");
    let reply = login(&mut d);
    assert!(reply.starts_with("a OK"), "{reply}");
    d.imap("b", "LOGOUT");
    // STARTTLS is optional, but it works.
    let tls = TlsProbe::starttls(tb().endpoint("imap-plain-allowed"), "imap", tb().ca_file());
    assert!(tls.handshake_completed(), "{}", tls.output.all());
}

#[test]
fn imaps_speaks_tls_at_connect() {
    let probe = TlsProbe::run(
        tb().endpoint("imaps"),
        &[
            "-CAfile",
            tb().ca_file().to_str().unwrap(),
            "-crlf",
            "-ign_eof",
        ],
        "z LOGOUT\n",
    );
    assert!(probe.handshake_completed(), "{}", probe.output.all());
    assert_eq!(probe.verify_result().as_deref(), Some("0 (ok)"));
    assert!(
        probe.output.stdout.contains("* OK [CAPABILITY"),
        "{}",
        probe.output.all()
    );
    // Over TLS, plaintext mechanisms are on offer.
    assert!(
        probe.output.stdout.contains("AUTH=PLAIN"),
        "{}",
        probe.output.all()
    );
}

#[test]
fn pop3_plain_has_no_tls_and_accepts_user_pass() {
    let mut d = Dialog::connect(tb().endpoint("pop3-plain"));
    assert!(
        d.read_until(|l| l.starts_with("+OK"))
            .pop()
            .unwrap()
            .contains("ready")
    );
    d.send("CAPA");
    let capa = d.read_until(|l| l == ".");
    assert!(capa.iter().any(|l| l == "USER"), "{capa:?}");
    assert!(!capa.iter().any(|l| l == "STLS"), "{capa:?}");
    assert!(d.pop3("STLS").starts_with("-ERR"));
    assert!(d.pop3(&format!("USER {}", tb().user())).starts_with("+OK"));
    let reply = d.pop3(&format!("PASS {}", tb().password()));
    assert!(reply.starts_with("+OK"), "{reply}");
    d.pop3("QUIT");
}

#[test]
fn pop3_starttls_refuses_user_before_tls() {
    let mut d = Dialog::connect(tb().endpoint("pop3-starttls"));
    d.read_until(|l| l.starts_with("+OK"));
    d.send("CAPA");
    let capa = d.read_until(|l| l == ".");
    assert!(capa.iter().any(|l| l == "STLS"), "{capa:?}");
    assert!(!capa.iter().any(|l| l == "USER"), "{capa:?}");
    let reply = d.pop3(&format!("USER {}", tb().user()));
    assert!(
        reply.starts_with("-ERR [AUTH] Plaintext authentication disallowed"),
        "{reply}"
    );

    let command = format!("USER {}\nPASS {}\nQUIT\n", tb().user(), tb().password());
    let ca = tb().ca_file().to_str().unwrap();
    let probe = TlsProbe::run(
        tb().endpoint("pop3-starttls"),
        &["-starttls", "pop3", "-CAfile", ca, "-crlf", "-ign_eof"],
        &command,
    );
    assert!(
        probe.output.stdout.contains("+OK Logged in"),
        "{}",
        probe.output.all()
    );
}

#[test]
fn pop3s_speaks_tls_at_connect() {
    let probe = TlsProbe::run(
        tb().endpoint("pop3s"),
        &[
            "-CAfile",
            tb().ca_file().to_str().unwrap(),
            "-crlf",
            "-ign_eof",
        ],
        "QUIT\n",
    );
    assert!(probe.handshake_completed(), "{}", probe.output.all());
    assert!(
        probe.output.stdout.contains("+OK"),
        "{}",
        probe.output.all()
    );
}

#[test]
fn sieve_offers_starttls_and_no_mechanism_before_it() {
    let mut d = Dialog::connect(tb().endpoint("sieve"));
    let greeting = d.read_until(|l| l.starts_with("OK"));
    assert!(greeting.iter().any(|l| l == "\"STARTTLS\""), "{greeting:?}");
    assert!(
        greeting.iter().any(|l| l == "\"SASL\" \"\""),
        "{greeting:?}"
    );
    assert!(
        greeting
            .iter()
            .any(|l| l.starts_with("\"IMPLEMENTATION\" \"Dovecot")),
        "{greeting:?}"
    );
    d.send("LOGOUT");
    let tls = TlsProbe::starttls(tb().endpoint("sieve"), "sieve", tb().ca_file());
    assert!(tls.handshake_completed(), "{}", tls.output.all());
}

#[test]
fn dovecot_refuses_tls_1_0() {
    let probe = TlsProbe::run(
        tb().endpoint("imaps"),
        &["-tls1", "-cipher", "DEFAULT:@SECLEVEL=0"],
        "",
    );
    assert!(!probe.handshake_completed(), "{}", probe.output.all());
}

#[test]
fn lmtp_answers_lhlo_on_a_high_port_and_offers_starttls() {
    let e = tb().find("lmtp").unwrap();
    assert_eq!((e.protocol, e.implicit_tls), ("lmtp", false));
    assert_eq!(e.addr.ip().to_string(), "127.0.0.2");
    assert!(e.addr.port() > 1024, "{e:?}");
    let mut d = Dialog::connect(e.addr);
    assert_eq!(d.smtp_reply(), ["220 mail.test Dovecot (Debian) ready."]);
    // LMTP has no EHLO: only LHLO (RFC 2033).
    let ehlo = d.smtp("EHLO client.test");
    assert!(ehlo[0].starts_with("500 "), "{ehlo:?}");
    let lhlo = d.smtp("LHLO client.test");
    assert_eq!(lhlo[0], "250-mail.test", "{lhlo:?}");
    assert!(
        lhlo.iter()
            .any(|l| l == "250 STARTTLS" || l == "250-STARTTLS"),
        "{lhlo:?}"
    );
    assert_eq!(d.smtp("QUIT"), ["221 2.0.0 Bye"]);

    let tls = TlsProbe::starttls(e.addr, "lmtp", tb().ca_file());
    assert!(tls.handshake_completed(), "{}", tls.output.all());
    assert_eq!(tls.verify_result().as_deref(), Some("0 (ok)"));
}
