//! Detector behaviour on hand-built logs: thresholds, deduplication of
//! attempts logged twice, IPv6 grouping, sending spikes, bounded memory,
//! ban lists.

use std::fmt::Write as _;

use mailwarden_logs::detect::{Detector, Severity, Thresholds};
use mailwarden_logs::event::EventKind;
use mailwarden_logs::output::{self, BanFormat};
use mailwarden_logs::{Analyzer, Report};

fn run(log: &str) -> Report {
    Analyzer::new(Thresholds::default()).read_all(
        log.as_bytes(),
        "t.log",
        "2026-11-28T23:00:00Z".parse().unwrap(),
    )
}

fn detectors(r: &Report, source: &str) -> Vec<Detector> {
    r.alerts
        .iter()
        .filter(|a| a.source.to_string() == source)
        .map(|a| a.alert)
        .collect()
}

fn counted(r: &Report) -> u32 {
    r.events
        .iter()
        .map(|e| match e.kind {
            EventKind::AuthFailed { counted, .. } => counted,
            _ => 0,
        })
        .sum()
}

#[test]
fn postfix_sasl_failure_and_dovecot_auth_line_count_once() {
    // Postfix SASL through Dovecot with auth_verbose: two lines, one attempt.
    let log = "Nov 28 10:00:01 mx dovecot: auth: passwd-file(bob,192.0.2.7): Password mismatch
Nov 28 10:00:03 mx postfix/submission/smtpd[7]: warning: unknown[192.0.2.7]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username=bob
Nov 28 10:00:03 mx postfix/submission/smtpd[7]: 4ABC: client=unknown[192.0.2.7], sasl_method=LOGIN, sasl_username=bob";
    let r = run(log);
    assert_eq!(counted(&r), 1);
    assert!(
        r.alerts.is_empty(),
        "a user who mistypes once is never listed: {:?}",
        r.alerts
    );
    assert!(r.summary.is_empty());
    // Same pair, the other order.
    let log = "Nov 28 10:00:03 mx postfix/smtpd[7]: warning: unknown[192.0.2.7]: SASL PLAIN authentication failed: x
Nov 28 10:00:04 mx dovecot: auth: passwd-file(bob@example.org,192.0.2.7): unknown user";
    assert_eq!(counted(&run(log)), 1);
}

#[test]
fn auth_worker_lines_and_the_login_summary_count_once() {
    let log = "Nov 28 10:00:01 mx dovecot: auth-worker(9): pam(bob,192.0.2.8,<S1>): pam_authenticate() failed: Authentication failure (password mismatch?)
Nov 28 10:00:05 mx dovecot: auth-worker(9): pam(bob,192.0.2.8,<S1>): pam_authenticate() failed: Authentication failure (password mismatch?)
Nov 28 10:00:09 mx dovecot: imap-login: Disconnected (auth failed, 3 attempts in 12 secs): user=<bob>, method=PLAIN, rip=192.0.2.8, lip=192.0.2.1, TLS, session=<S1>";
    let r = run(log);
    assert_eq!(
        counted(&r),
        3,
        "2 backend lines + 1 more from the summary of 3"
    );
    assert!(r.alerts.is_empty());
}

fn imap_failures(ip: &str, users: &[&str], start_min: u32) -> String {
    let mut log = String::new();
    for (i, user) in users.iter().enumerate() {
        let _ = writeln!(
            log,
            "Nov 28 10:{:02}:{:02} mx dovecot: imap-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<{user}>, method=PLAIN, rip={ip}, lip=192.0.2.1, TLS, session=<{ip}-{i}>",
            start_min + i as u32 / 60,
            i % 60
        );
    }
    log
}

#[test]
fn brute_force_needs_five_failures_on_one_account() {
    let r = run(&imap_failures("198.51.100.1", &["alice"; 4], 0));
    assert!(r.alerts.is_empty());
    let r = run(&imap_failures("198.51.100.1", &["alice"; 5], 0));
    assert_eq!(detectors(&r, "198.51.100.1"), vec![Detector::BruteForce]);
    assert_eq!(r.alerts[0].evidence.len(), 5);
    // Spread over more than the 10-minute window: no alert.
    let mut log = String::new();
    for i in 0..5 {
        let _ = writeln!(
            log,
            "Nov 28 1{i}:00:00 mx dovecot: imap-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<alice>, method=PLAIN, rip=198.51.100.1, lip=192.0.2.1, session=<x{i}>"
        );
    }
    assert!(run(&log).alerts.is_empty());
}

#[test]
fn spraying_counts_accounts_across_servers_and_ports() {
    let mut log = imap_failures("198.51.100.2", &["a", "b", "c"], 0);
    log.push_str("Nov 28 10:01:00 mx postfix/submission/smtpd[7]: warning: unknown[198.51.100.2]: SASL LOGIN authentication failed: x, sasl_username=d\n");
    log.push_str("2026-11-28 10:02:00 dovecot_login authenticator failed for (x) [198.51.100.2]:1 I=[192.0.2.1]:465: 535 Incorrect authentication data (set_id=e)\n");
    let r = run(&log);
    assert_eq!(
        detectors(&r, "198.51.100.2"),
        vec![Detector::PasswordSpraying]
    );
    let s = &r.summary[0];
    assert_eq!(s.users_tried, 5);
    assert!(
        s.services.iter().any(|x| &**x == "submission/587")
            && s.services.iter().any(|x| &**x == "imap"),
        "{:?}",
        s.services
    );
}

#[test]
fn ipv6_sources_group_by_64() {
    let mut log = String::new();
    for i in 1..=5 {
        log.push_str(&imap_failures(&format!("2001:db8:1:2::{i}"), &["alice"], i));
    }
    let r = run(&log);
    assert_eq!(
        detectors(&r, "2001:db8:1:2::/64"),
        vec![Detector::BruteForce]
    );
}

#[test]
fn distributed_attack_lists_every_source_but_not_the_owner_who_logs_in() {
    let mut log = String::new();
    for i in 1..=10 {
        log.push_str(&imap_failures(&format!("203.0.113.{i}"), &["ceo"], i));
    }
    // The owner mistypes once, then logs in, while the attack runs.
    log.push_str("Nov 28 10:30:00 mx dovecot: imap-login: Login: user=<ceo>, method=PLAIN, rip=203.0.113.5, lip=192.0.2.1, mpid=1, TLS, session=<ok>\n");
    let r = run(&log);
    let listed: Vec<String> = r.summary.iter().map(|s| s.source.to_string()).collect();
    assert_eq!(listed.len(), 10, "{listed:?}");
    assert!(
        r.alerts
            .iter()
            .all(|a| a.alert == Detector::DistributedAttack)
    );
}

#[test]
fn success_after_a_run_of_failures_is_critical() {
    let mut log = imap_failures("198.51.100.3", &["alice"; 5], 0);
    log.push_str("Nov 28 10:20:00 mx dovecot: imap-login: Login: user=<alice>, method=PLAIN, rip=198.51.100.3, lip=192.0.2.1, mpid=1, TLS, session=<ok>\n");
    let r = run(&log);
    assert_eq!(
        detectors(&r, "198.51.100.3"),
        vec![Detector::BruteForce, Detector::SuccessAfterFailures]
    );
    assert_eq!(r.summary[0].severity, Severity::Critical);
    assert_eq!(r.summary[0].verdict, "compromise-suspected");
}

#[test]
fn scanning_is_idle_sessions_on_several_ports() {
    let log = "Nov 28 10:00:00 mx postfix/smtpd[1]: connect from unknown[192.0.2.50]
Nov 28 10:00:00 mx postfix/smtpd[1]: lost connection after CONNECT from unknown[192.0.2.50]
Nov 28 10:00:00 mx postfix/smtpd[1]: disconnect from unknown[192.0.2.50] commands=0/0
Nov 28 10:00:01 mx postfix/submission/smtpd[2]: disconnect from unknown[192.0.2.50] ehlo=1 quit=1 commands=2
Nov 28 10:00:02 mx dovecot: imap-login: Disconnected (no auth attempts in 0 secs): user=<>, rip=192.0.2.50, lip=192.0.2.1, session=<a>";
    let r = run(log);
    assert_eq!(detectors(&r, "192.0.2.50"), vec![Detector::Scanning]);
    // A client that logs in is not a scanner, however many ports it checks.
    let legit = format!(
        "{log}\nNov 28 09:59:59 mx dovecot: imap-login: Login: user=<u>, method=PLAIN, rip=192.0.2.50, lip=192.0.2.1, mpid=1, TLS, session=<b>"
    );
    let legit: String = legit.lines().rev().collect::<Vec<_>>().join("\n");
    assert!(run(&legit).alerts.is_empty());
}

#[test]
fn relay_tls_and_protocol_bursts() {
    let mut log = String::new();
    for i in 0..3 {
        let _ = writeln!(
            log,
            "Nov 28 10:00:0{i} mx postfix/smtpd[1]: NOQUEUE: reject: RCPT from unknown[192.0.2.60]: 554 5.7.1 <v{i}@example.net>: Relay access denied; from=<a@b> to=<v{i}@example.net> proto=ESMTP helo=<x>"
        );
        let _ = writeln!(
            log,
            "Nov 28 10:00:0{i} mx dovecot: imap-login: Disconnected (no auth attempts in 0 secs): user=<>, rip=192.0.2.61, lip=192.0.2.1, TLS handshaking: SSL_accept() failed: error:0A000102:SSL routines::unsupported protocol, session=<t{i}>"
        );
        let _ = writeln!(
            log,
            "Nov 28 10:00:0{i} mx postfix/smtpd[1]: improper command pipelining after CONNECT from unknown[192.0.2.62]: EHLO x"
        );
    }
    let r = run(&log);
    assert_eq!(detectors(&r, "192.0.2.60"), vec![Detector::RelayProbing]);
    assert_eq!(
        detectors(&r, "192.0.2.61"),
        vec![Detector::TlsDowngrade, Detector::TlsFailures]
    );
    assert_eq!(
        detectors(&r, "192.0.2.62"),
        vec![Detector::ProtocolViolations]
    );
}

#[test]
fn a_sending_spike_of_an_authenticated_account() {
    let mut log = String::new();
    let _ = writeln!(
        log,
        "Nov 28 10:00:00 mx postfix/submission/smtpd[7]: 4ABC: client=unknown[192.0.2.70], sasl_method=PLAIN, sasl_username=bob"
    );
    let _ = writeln!(
        log,
        "Nov 28 10:00:01 mx postfix/qmgr[8]: 4ABC: from=<bob@example.org>, size=900, nrcpt=250 (queue active)"
    );
    for i in 0..60 {
        let _ = writeln!(
            log,
            "Nov 28 10:00:02 mx postfix/smtp[9]: 4ABC: to=<x@d{i}.example>, relay=mx.d{i}.example[192.0.2.1]:25, delay=1, status=sent (250 ok)"
        );
    }
    let _ = writeln!(log, "Nov 28 10:00:03 mx postfix/qmgr[8]: 4ABC: removed");
    let r = run(&log);
    assert_eq!(detectors(&r, "192.0.2.70"), vec![Detector::SendingSpike]);
    assert_eq!(r.alerts[0].users, vec![Box::from("bob")]);
    let e = r
        .events
        .iter()
        .find(|e| e.kind.name() == "message_submitted")
        .unwrap();
    assert!(
        matches!(&e.kind, EventKind::MessageSubmitted { recipients: 250, domains } if domains.len() == 60)
    );
}

#[test]
fn memory_is_bounded_by_active_sources_not_input_size() {
    // 50,000 sources, one idle session each, spread over 14 hours.
    let mut analyzer = Analyzer::new(Thresholds::default());
    let mut log = String::new();
    for i in 0..50_000u32 {
        let secs = i; // one per second
        let _ = writeln!(
            log,
            "Nov 28 {:02}:{:02}:{:02} mx postfix/smtpd[1]: connect from unknown[10.{}.{}.{}]",
            secs / 3600,
            secs / 60 % 60,
            secs % 60,
            i >> 16,
            (i >> 8) & 255,
            i & 255
        );
    }
    let r = analyzer.read_all(
        log.as_bytes(),
        "big.log",
        "2026-11-28T23:00:00Z".parse().unwrap(),
    );
    assert_eq!(r.events.len(), 50_000);
    assert!(
        analyzer.engine().tracked_sources() < 12_000,
        "{}",
        analyzer.engine().tracked_sources()
    );
}

#[test]
fn ban_lists() {
    let mut log = imap_failures("198.51.100.9", &["alice"; 5], 0);
    for i in 1..=5 {
        log.push_str(&imap_failures(
            &format!("2001:db8:9::{i}"),
            &["bob"],
            10 + i,
        ));
    }
    let r = run(&log);
    let sources = output::ban_sources(&r.summary, Severity::Medium);
    assert_eq!(
        output::ban_list(BanFormat::Plain, &sources),
        "198.51.100.9\n2001:db8:9::/64\n"
    );
    let nft = output::ban_list(BanFormat::Nft, &sources);
    assert!(nft.contains("table inet mailwarden"), "{nft}");
    assert!(nft.contains("elements = { 198.51.100.9 }"), "{nft}");
    assert!(nft.contains("elements = { 2001:db8:9::/64 }"), "{nft}");
    assert!(
        nft.contains("tcp dport { 25, 465, 587, 110, 995, 143, 993, 4190 } drop"),
        "{nft}"
    );
    let ipset = output::ban_list(BanFormat::Ipset, &sources);
    assert!(
        ipset.contains("add mailwarden4 198.51.100.9 -exist\n")
            && ipset.contains("add mailwarden6 2001:db8:9::/64 -exist\n"),
        "{ipset}"
    );
    assert!(output::ban_sources(&r.summary, Severity::Critical).is_empty());
}

#[test]
fn alert_json_shape() {
    let r = run(&imap_failures("198.51.100.1", &["alice"; 5], 0));
    let v: serde_json::Value = serde_json::from_str(&output::alert_json(&r.alerts[0])).unwrap();
    for key in [
        "alert",
        "severity",
        "source",
        "time",
        "first_seen",
        "count",
        "window_secs",
        "users",
        "services",
        "message",
        "evidence",
    ] {
        assert!(v.get(key).is_some(), "{key} missing in {v}");
    }
    assert_eq!(v["alert"], "brute-force");
    assert_eq!(
        v["evidence"][0],
        serde_json::json!({"file": "t.log", "line": 1})
    );
}

#[test]
fn thresholds_deserialize_from_a_partial_object() {
    let t: Thresholds =
        serde_json::from_str(r#"{"brute_force": {"count": 3, "window_secs": 60}}"#).unwrap();
    assert_eq!(t.brute_force.count, 3);
    assert_eq!(t.spraying, Thresholds::default().spraying);
}
