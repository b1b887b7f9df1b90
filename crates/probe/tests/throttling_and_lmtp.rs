//! Throttling by a real server is recorded as a status, never as "closed";
//! LMTP is recognized from what the server says, whatever the port.

mod common;

use std::io::{BufRead as _, BufReader};
use std::net::TcpStream;
use std::time::Duration;

use common::*;
use mailwarden_model::{FailureKind, PortState, Protocol, ServiceRole};

/// Opens an SMTP session and waits for its greeting, so Postfix's anvil counts it.
fn hold_connection(name: &str) -> TcpStream {
    let stream = TcpStream::connect(testbed().endpoint(name)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut greeting = String::new();
    BufReader::new(&stream)
        .read_line(&mut greeting)
        .expect("greeting");
    assert!(greeting.starts_with("220"), "{greeting}");
    stream
}

#[test]
fn a_real_421_is_throttling_and_the_port_is_never_called_closed() {
    // Postfix allows one connection per client on this listener (anvil).
    let held = hold_connection("smtp-throttled");
    let obs = probe_with(
        "smtp-throttled",
        Some(ServiceRole::Submission),
        Duration::from_secs(5),
    );
    assert_eq!(obs.state, PortState::Throttled, "{obs:#?}");
    assert_eq!(
        obs.state_detail.as_ref().unwrap().kind,
        FailureKind::Throttled
    );
    // Every attempt was refused with Postfix's own 421, and we backed off between them.
    assert_eq!(obs.throttling.len(), 3, "{:#?}", obs.throttling);
    for event in &obs.throttling {
        let said = event.evidence[0].to_string();
        assert!(
            said.starts_with("421") && said.contains("too many connections"),
            "{said}"
        );
    }
    assert!(obs.throttling[0].backoff_ms > 0);
    drop(held);

    // With the slot free again, the same port is assessed normally.
    let mut state = PortState::Throttled;
    for _ in 0..20 {
        let obs = probe_with(
            "smtp-throttled",
            Some(ServiceRole::Submission),
            Duration::from_secs(5),
        );
        state = obs.state;
        if state == PortState::Open {
            assert_eq!(obs.protocol, Some(Protocol::Smtp));
            break;
        }
        // anvil may still count the closed connection for a moment.
        std::thread::sleep(Duration::from_millis(250));
    }
    assert_eq!(state, PortState::Open);
}

#[test]
fn lmtp_is_recognized_on_any_port() {
    for role in [None, Some(ServiceRole::Submission)] {
        let obs = probe("lmtp", role);
        assert_eq!(obs.state, PortState::Open, "{obs:#?}");
        assert_eq!(obs.protocol, Some(Protocol::Lmtp), "{role:?}");
        let caps = caps(&obs);
        assert!(caps.command.starts_with("LHLO "), "{}", caps.command);
        assert!(caps.starttls);
        assert!(starttls_handshake(&obs).completed);
    }
}
