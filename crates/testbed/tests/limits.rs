//! Servers that throttle busy clients: Postfix's `smtp-throttled` (one
//! connection per client, loopback included) and Exim's `exim-limited`
//! (`smtp_accept_max = 5`, dropped after too many syntax errors).
//!
//! A test binary of its own: other tests connecting to these endpoints at the
//! same time would be refused, or make the limit come early.

mod common;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{Dialog, eventually, read_log};
use mailwarden_testbed::{Testbed, exim};

fn tb() -> &'static Testbed {
    Testbed::shared()
}

/// The tests on `exim-limited` take turns: each counts its connections.
static EXIM_LIMITED: Mutex<()> = Mutex::new(());

/// Opens connections to `name` until one is refused or `max` greeted;
/// returns the greetings (first lines) in order, connections held until drop.
fn fill(name: &str, max: usize) -> (Vec<String>, Vec<Dialog>) {
    let mut greetings = Vec::new();
    let mut held = Vec::new();
    while greetings.len() < max {
        let mut d = Dialog::connect(tb().endpoint(name));
        let first = d.smtp_reply().remove(0);
        let refused = first.starts_with("421");
        greetings.push(first);
        held.push(d);
        if refused {
            break;
        }
    }
    (greetings, held)
}

/// Retries `fill` until exactly `limit` clients greet and the next gets a 421:
/// a connection closed just before (a readiness probe, another test) may
/// still count for a moment.
fn refused_after(name: &str, limit: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (greetings, held) = fill(name, limit + 1);
        let greeted = greetings.iter().filter(|g| g.starts_with("220 ")).count();
        if greeted == limit && greetings.len() == limit + 1 {
            return greetings;
        }
        drop(held);
        assert!(
            Instant::now() < deadline,
            "{name}: expected {limit} greetings then a 421, got {greetings:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn smtp_throttled_refuses_a_second_connection_from_loopback() {
    let greetings = refused_after("smtp-throttled", 1);
    assert!(
        greetings[0].starts_with("220 mail.test ESMTP Postfix"),
        "{greetings:?}"
    );
    assert_eq!(
        greetings[1], "421 4.7.0 mail.test Error: too many connections from 127.0.0.1",
        "{greetings:?}"
    );
    eventually(
        "Postfix to log the refusal",
        Duration::from_secs(20),
        || {
            read_log(tb().postfix_log()).lines().any(|l| {
                l.contains("postfix/smtp-throttled/smtpd[")
                    && l.contains(
                        "Connection concurrency limit exceeded: 2 from localhost[127.0.0.1]",
                    )
            })
        },
    );
}

#[test]
fn smtp_throttled_serves_one_client_after_another() {
    for _ in 0..3 {
        let greetings = eventually_greeted("smtp-throttled");
        assert!(greetings.starts_with("220 "), "{greetings}");
    }
}

/// One connection at a time must always be served (after the previous one
/// has been counted out by anvil).
fn eventually_greeted(name: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut d = Dialog::connect(tb().endpoint(name));
        let first = d.smtp_reply().remove(0);
        if first.starts_with("220 ") || Instant::now() > deadline {
            d.smtp("QUIT");
            return first;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn exim_limited_refuses_connections_past_smtp_accept_max() {
    let _turn = EXIM_LIMITED.lock().unwrap_or_else(|e| e.into_inner());
    let greetings = refused_after("exim-limited", exim::LIMITED_ACCEPT_MAX);
    assert!(
        greetings[0].starts_with("220 mail.test ESMTP Exim 4.96"),
        "{greetings:?}"
    );
    assert_eq!(
        greetings[exim::LIMITED_ACCEPT_MAX],
        "421 Too many concurrent SMTP connections; please try again later."
    );
    let port = tb().endpoint("exim-limited").port();
    let logged = format!("I=[127.0.0.1]:{port} refused: too many connections");
    eventually("Exim to log the refusal", Duration::from_secs(20), || {
        read_log(&tb().exim_log()).contains(&logged)
    });
}

#[test]
fn exim_limited_drops_a_client_after_too_many_syntax_errors() {
    let _turn = EXIM_LIMITED.lock().unwrap_or_else(|e| e.into_inner());
    // The previous test may have just filled every slot: they free up as
    // Exim reaps its children.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut d = loop {
        let mut d = Dialog::connect(tb().endpoint("exim-limited"));
        let greeting = d.smtp_reply().remove(0);
        if greeting.starts_with("220 ") {
            break d;
        }
        assert!(
            Instant::now() < deadline,
            "exim-limited stays full: {greeting}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    d.smtp("EHLO client.test");
    for _ in 0..exim::MAX_SYNPROT_ERRORS {
        let reply = d.smtp("MAIL FROM:<no-domain");
        assert!(reply[0].starts_with("501 <no-domain: "), "{reply:?}");
    }
    let last = d.smtp("MAIL FROM:<no-domain");
    assert_eq!(
        last.last().map(String::as_str),
        Some("501 Too many syntax or protocol errors"),
        "{last:?}"
    );
    assert!(d.closed_by_peer(), "Exim kept the connection open");
    eventually("Exim to log the drop", Duration::from_secs(20), || {
        read_log(&tb().exim_log())
            .contains("dropped: too many syntax or protocol errors (last command was \"MAIL FROM:<no-domain\"")
    });
}
