//! Table tests: line variants per server and version, each with the event it
//! must yield.
//!
//! Sources of the lines, marked per table:
//! - `real`: written by the test bed's Postfix 3.7.11 and Dovecot 2.3.19
//!   (copied from their logs while writing `real_servers.rs`);
//! - `f2b`: the sample corpus Debian's fail2ban ships for its own filter tests
//!   (`fail2ban/tests/files/logs/{postfix,dovecot,exim}`), i.e. lines
//!   collected from production servers;
//! - `doc`: written from the servers' documentation and source (Dovecot 2.4,
//!   OpenSMTPD 6/7, Exim forms not in the corpus): representative, not captured.

use mailwarden_logs::Analyzer;
use mailwarden_logs::detect::Thresholds;
use mailwarden_logs::event::Server;

mod table;

use table::{check, events};

use Server::{Dovecot, Exim, Opensmtpd, Postfix};

#[test]
fn postfix_lines() {
    check(&[
        // real
        (
            "Nov 28 01:34:08 mail postfix/smtp-mx/smtpd[20279]: connect from unknown[127.0.0.5]",
            Postfix,
            "connect",
            Some("127.0.0.5"),
            None,
        ),
        (
            "Nov 28 01:34:09 mail postfix/smtp-plain/smtpd[20282]: lost connection after CONNECT from unknown[127.0.0.6]",
            Postfix,
            "lost_connection",
            Some("127.0.0.6"),
            None,
        ),
        (
            "Nov 28 01:34:09 mail postfix/smtp-plain/smtpd[20282]: disconnect from unknown[127.0.0.6] commands=0/0",
            Postfix,
            "disconnect",
            Some("127.0.0.6"),
            None,
        ),
        (
            "Nov 28 01:34:11 mail postfix/submission/smtpd[20292]: warning: unknown[127.0.0.7]: SASL PLAIN authentication failed: (reason unavailable), sasl_username=bob",
            Postfix,
            "auth_failed",
            Some("127.0.0.7"),
            Some("bob"),
        ),
        (
            "Nov 28 01:34:15 mail postfix/smtps/smtpd[20295]: SSL_accept error from unknown[127.0.0.10]: -1",
            Postfix,
            "tls_failed",
            Some("127.0.0.10"),
            None,
        ),
        // f2b
        (
            "Jul 12 07:47:48 saturn postfix/smtpd[8738]: NOQUEUE: reject: RCPT from 1-2-3-4-example.com[1.2.3.4]: 554 5.7.1 <smtp@example.com>: Relay access denied; from=<john@example.com> to=<smtp@example.org> proto=SMTP helo=<198.51.100.17>",
            Postfix,
            "relay_denied",
            Some("1.2.3.4"),
            None,
        ),
        (
            "Aug 13 15:45:46 server postfix/smtpd[13844]: 00ADB3C0899: reject: RCPT from example.com[192.0.2.1]: 550 5.1.1 <sales@server.com>: Recipient address rejected: User unknown in local recipient table; from=<x@example.com> to=<sales@server.com> proto=ESMTP helo=<x>",
            Postfix,
            "rejected",
            Some("192.0.2.1"),
            None,
        ),
        (
            "Dec 25 02:35:54 platypus postfix/smtpd[9144]: improper command pipelining after RSET from 173-10-140-217-BusName-washingtonDC.hfc.comcastbusiness.net[173.10.140.217]",
            Postfix,
            "protocol_error",
            Some("173.10.140.217"),
            None,
        ),
        (
            "Jun  3 06:25:43 srv postfix/smtpd[29306]: too many errors after RCPT from example.com[192.0.2.11]",
            Postfix,
            "protocol_error",
            Some("192.0.2.11"),
            None,
        ),
        (
            "Dec  2 22:24:22 hel postfix/smtpd[7676]: warning: 114-44-142-233.dynamic.hinet.net[114.44.142.233]: SASL CRAM-MD5 authentication failed: PDc3OTEwNTkyNTEyMzA2NDIuMTIyODI1MzA2MUBoZWw+",
            Postfix,
            "auth_failed",
            Some("114.44.142.233"),
            None,
        ),
        (
            "Sep  6 00:44:56 trianon postfix/submission/smtpd[11538]: warning: unknown[82.221.106.233]: SASL LOGIN authentication failed: UGFzc3dvcmQ6",
            Postfix,
            "auth_failed",
            Some("82.221.106.233"),
            None,
        ),
        (
            "Aug 4 16:47:52 mail3 postfix/smtpd[31152]: warning: unknown[192.0.2.237]:55729: SASL LOGIN authentication failed: authentication failure",
            Postfix,
            "auth_failed",
            Some("192.0.2.237"),
            None,
        ),
        (
            "Jan 14 16:18:16 xxx postfix/smtpd[14933]: warning: host[192.0.2.5]: SASL CRAM-MD5 authentication failed: Invalid authentication mechanism",
            Postfix,
            "protocol_error",
            Some("192.0.2.5"),
            None,
        ),
        (
            "Feb 10 13:26:34 srv postfix/smtpd[123]: disconnect from unknown[192.0.2.2] ehlo=1 auth=0/1 rset=1 quit=1 commands=3/4",
            Postfix,
            "disconnect",
            Some("192.0.2.2"),
            None,
        ),
        (
            "Dec 23 19:39:13 xxx postfix/postscreen[21057]: PREGREET 14 after 0.08 from [192.0.2.2]:59415: EHLO ylmf-pc\\r\\n",
            Postfix,
            "protocol_error",
            Some("192.0.2.2"),
            None,
        ),
        (
            "Dec 24 00:54:36 xxx postfix/postscreen[22515]: HANGUP after 16 from [192.0.2.3]:48119 in tests after SMTP handshake",
            Postfix,
            "lost_connection",
            Some("192.0.2.3"),
            None,
        ),
        (
            "May  5 15:51:11 xxx postfix/postscreen[1148]: NOQUEUE: reject: RCPT from [216.245.194.173]:60591: 550 5.7.1 Service unavailable; client [216.245.194.173] blocked using rbl.example.com; from=<s@example.com>, to=<g@example.com>, proto=ESMTP, helo=<b>",
            Postfix,
            "rejected",
            Some("216.245.194.173"),
            None,
        ),
        (
            "Mar 11 23:27:54 server postfix-smo/submission/smtpd[22427]: 44JCRG5tYPzCqt2: reject: BDAT from m.example.com[192.0.2.109]: 550 5.5.3 <DATA>: Data command rejected: Multi-recipient bounce; from=<> to=<some@example.com> proto=ESMTP helo=<domain.tld>",
            Postfix,
            "rejected",
            Some("192.0.2.109"),
            None,
        ),
        // doc: postscreen, anvil-enforced limits, IPv6, TLS established
        (
            "Nov 28 10:00:00 mx postfix/postscreen[1]: CONNECT from [2001:db8::7]:4321 to [2001:db8::1]:25",
            Postfix,
            "connect",
            Some("2001:db8::7"),
            None,
        ),
        (
            "Nov 28 10:00:00 mx postfix/postscreen[1]: NON-SMTP COMMAND from [192.0.2.8]:4321 after CONNECT: GET / HTTP/1.1",
            Postfix,
            "protocol_error",
            Some("192.0.2.8"),
            None,
        ),
        (
            "Nov 28 10:00:00 mx postfix/smtpd[2]: warning: Connection rate limit exceeded: 61 from unknown[192.0.2.9] for service smtp",
            Postfix,
            "rate_limited",
            Some("192.0.2.9"),
            None,
        ),
        (
            "Nov 28 10:00:00 mx postfix/smtpd[2]: non-SMTP command from unknown[192.0.2.10]: GET / HTTP/1.0",
            Postfix,
            "protocol_error",
            Some("192.0.2.10"),
            None,
        ),
        (
            "Nov 28 10:00:00 mx postfix/submission/smtpd[3]: Anonymous TLS connection established from unknown[192.0.2.11]: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)",
            Postfix,
            "tls_established",
            Some("192.0.2.11"),
            None,
        ),
        (
            "Nov 28 10:00:00 mx postfix/submission/smtpd[3]: 4ABC: client=unknown[192.0.2.11], sasl_method=PLAIN, sasl_username=alice@example.org",
            Postfix,
            "auth_succeeded",
            Some("192.0.2.11"),
            Some("alice@example.org"),
        ),
    ]);
}

#[test]
fn postfix_service_and_port_come_from_the_syslog_name() {
    let e =
        events("Sep  6 00:44:56 t postfix/submission/smtpd[1]: connect from unknown[192.0.2.1]");
    assert_eq!(
        (e[0].service.as_deref(), e[0].port),
        (Some("submission"), Some(587))
    );
    let e = events("Sep  6 00:44:56 t postfix/smtpd[1]: connect from unknown[192.0.2.1]");
    assert_eq!(
        (e[0].service.as_deref(), e[0].port),
        (Some("smtp"), Some(25))
    );
    let e = events("Sep  6 00:44:56 t postfix/smtps/smtpd[1]: connect from unknown[192.0.2.1]");
    assert_eq!(
        (e[0].service.as_deref(), e[0].port),
        (Some("smtps"), Some(465))
    );
}

#[test]
fn postfix_tls_failure_takes_its_reason_from_the_next_line() {
    let log = "Nov 28 01:34:15 mail postfix/smtps/smtpd[20295]: connect from unknown[127.0.0.13]
Nov 28 01:34:15 mail postfix/smtps/smtpd[20295]: SSL_accept error from unknown[127.0.0.13]: -1
Nov 28 01:34:15 mail postfix/smtps/smtpd[20295]: warning: TLS library problem: error:0A000102:SSL routines::unsupported protocol:../ssl/statem/statem_srvr.c:1657:
Nov 28 01:34:15 mail postfix/smtps/smtpd[20295]: lost connection after CONNECT from unknown[127.0.0.13]";
    let e = events(log);
    let tls = e.iter().find(|e| e.kind.name() == "tls_failed").unwrap();
    let json = serde_json::to_value(tls).unwrap();
    assert_eq!(json["reason"], "protocol-version", "{json}");
    assert_eq!(json["line"], 2);
}

#[test]
fn exim_lines() {
    check(&[
        // f2b
        (
            "2013-01-04 17:03:46 login authenticator failed for rrcs-24-106-174-74.se.biz.rr.com ([192.168.2.33]) [24.106.174.74]: 535 Incorrect authentication data (set_id=brian)",
            Exim,
            "auth_failed",
            Some("24.106.174.74"),
            Some("brian"),
        ),
        (
            "2013-06-12 03:57:58 login authenticator failed for (ylmf-pc) [120.196.140.45]: 535 Incorrect authentication data: 1 Time(s)",
            Exim,
            "auth_failed",
            Some("120.196.140.45"),
            None,
        ),
        (
            "2013-06-10 18:33:32 [10099] H=(yakult.com.tw) [202.132.70.178]:3755 I=[1.2.3.4]:25 F=menacedsj04@listserv.eurasia.org rejected RCPT dir@ml3.ru: relay not permitted",
            Exim,
            "relay_denied",
            Some("202.132.70.178"),
            None,
        ),
        (
            "2013-06-02 06:54:20 [13314] SMTP protocol synchronization error (input sent without waiting for greeting): rejected connection from H=[211.148.195.192]:25936 I=[1.2.3.4]:25 input=\"GET / HTTP/1.1\\r\\n\\r\\n\"",
            Exim,
            "protocol_error",
            Some("211.148.195.192"),
            None,
        ),
        (
            "2013-06-02 09:05:48 [18505] SMTP protocol synchronization error (next input sent too soon: pipelining was not advertised): rejected \"RSET\" H=ba77.mx83.fr [82.96.160.77]:58302 I=[1.2.3.4]:25 next input=\"QUIT\\r\\n\"",
            Exim,
            "protocol_error",
            Some("82.96.160.77"),
            None,
        ),
        (
            "2013-06-02 09:22:05 [19591] SMTP call from pc012-6201.spo.scu.edu.tw [163.14.21.161]:3767 I=[1.2.3.4]:25 dropped: too many nonmail commands (last was \"RSET\")",
            Exim,
            "protocol_error",
            Some("163.14.21.161"),
            None,
        ),
        (
            "2014-12-02 03:00:23 auth_plain authenticator failed for (rom182) [193.254.202.35]:41556 I=[10.0.0.1]:25: 535 Incorrect authentication data (set_id=webmaster)",
            Exim,
            "auth_failed",
            Some("193.254.202.35"),
            Some("webmaster"),
        ),
        (
            "2019-10-22 03:39:17 mx1 exim[29786]: dovecot_login authenticator failed for (User) [192.0.2.37]: 535 Incorrect authentication data (set_id=test@domain.com)",
            Exim,
            "auth_failed",
            Some("192.0.2.37"),
            Some("test@domain.com"),
        ),
        (
            "2016-03-18 00:34:06 [7513] SMTP protocol error in \"AUTH LOGIN\" H=(ylmf-pc) [45.32.34.167]:60723 I=[172.89.0.6]:587 AUTH command used when not advertised",
            Exim,
            "protocol_error",
            Some("45.32.34.167"),
            None,
        ),
        (
            "2016-03-21 06:57:36 [5908] no MAIL in SMTP connection from [122.165.71.116]:2056 I=[172.89.0.6]:25 D=0s",
            Exim,
            "disconnect",
            Some("122.165.71.116"),
            None,
        ),
        (
            "2013-06-15 16:36:49 H=altmx.marsukov.com [203.0.113.116] F=<k@mail.ru> rejected RCPT <oksana@birzhatm.ua>: Unknown user",
            Exim,
            "rejected",
            Some("203.0.113.116"),
            None,
        ),
        // doc
        (
            "2026-11-28 10:00:00 SMTP connection from [192.0.2.30]:50000 I=[192.0.2.1]:587 (TCP/IP connection count = 1)",
            Exim,
            "connect",
            Some("192.0.2.30"),
            None,
        ),
        (
            "2026-11-28 10:00:00 TLS error on connection from (x) [192.0.2.31]:50001 I=[192.0.2.1]:465 (SSL_accept): error:0A000102:SSL routines::unsupported protocol",
            Exim,
            "tls_failed",
            Some("192.0.2.31"),
            None,
        ),
        (
            "2026-11-28 10:00:00 1tAbCd-000Xyz-AB <= alice@example.org H=(laptop) [192.0.2.32]:50002 I=[192.0.2.1]:587 P=esmtpsa X=TLS1.3:TLS_AES_256_GCM_SHA384:256 CV=no A=dovecot_plain:alice S=1234 id=x@y for a@example.net b@example.com",
            Exim,
            "auth_succeeded",
            Some("192.0.2.32"),
            Some("alice"),
        ),
    ]);
    let e = events(
        "2014-12-02 03:00:23 auth_plain authenticator failed for (rom182) [193.254.202.35]:41556 I=[10.0.0.1]:25: 535 Incorrect authentication data (set_id=webmaster)",
    );
    assert_eq!(e[0].port, Some(25));
}

#[test]
fn exim_rejectlog_header_lines_are_continuations() {
    let mut a = Analyzer::new(Thresholds::default());
    let log = "2013-06-15 16:36:49 H=altmx.marsukov.com [203.0.113.116] F=<k@mail.ru> rejected RCPT <oksana@birzhatm.ua>: Unknown user
Envelope-from: <k@mail.ru>
Envelope-to: <oksana@birzhatm.ua>
P Received: from [203.0.113.116] by x
  Subject: hello
";
    let r = a.read_all(
        log.as_bytes(),
        "rejectlog",
        "2026-11-28T12:00:00Z".parse().unwrap(),
    );
    assert_eq!(
        (r.stats.recognized, r.stats.skipped, r.stats.unrecognized),
        (1, 4, 0)
    );
}

#[test]
fn opensmtpd_lines() {
    let log = "Nov 28 10:00:00 mx smtpd[123]: 7c2b9e5f3a1d4e6b smtp connected address=203.0.113.9 host=unknown
Nov 28 10:00:00 mx smtpd[123]: 7c2b9e5f3a1d4e6b smtp authentication user=bob result=permfail
Nov 28 10:00:01 mx smtpd[123]: 7c2b9e5f3a1d4e6b smtp failed-command command=\"RCPT TO:<x@example.net>\" result=\"550 Invalid recipient: <x@example.net>\"
Nov 28 10:00:01 mx smtpd[123]: 7c2b9e5f3a1d4e6b smtp failed-command command=\"\" result=\"500 5.5.1 Invalid command: Command unrecognized\"
Nov 28 10:00:02 mx smtpd[123]: 7c2b9e5f3a1d4e6b smtp disconnected reason=quit
Nov 28 10:00:03 mx smtpd[123]: f7a2e6aa567530c9 smtp connected address=[::1] host=localhost
Nov 28 10:00:03 mx smtpd[123]: f7a2e6aa567530c9 smtp tls ciphers=TLSv1.3:TLS_AES_256_GCM_SHA384:256
Nov 28 10:00:03 mx smtpd[123]: f7a2e6aa567530c9 smtp authentication user=bar result=ok
Nov 28 10:00:04 mx smtpd[123]: 0000000000000001 smtp connected address=203.0.113.10 host=x
Nov 28 10:00:04 mx smtpd[123]: 0000000000000001 smtp disconnected reason=io-error: handshake failed: error:0A000102:SSL routines::unsupported protocol
Nov 28 10:00:05 mx smtpd[9]: smtp-in: New session 0123abcd from host x [203.0.113.11]
Nov 28 10:00:05 mx smtpd[9]: smtp-in: Authentication failed for user carol on session 0123abcd";
    let e = events(log);
    let kinds: Vec<(&str, Option<String>, Option<&str>)> = e
        .iter()
        .map(|e| {
            (
                e.kind.name(),
                e.source.map(|s| s.to_string()),
                e.user.as_deref(),
            )
        })
        .collect();
    let ip = |s: &str| Some(s.to_string());
    assert_eq!(
        kinds,
        vec![
            ("connect", ip("203.0.113.9"), None),
            ("auth_failed", ip("203.0.113.9"), Some("bob")),
            ("relay_denied", ip("203.0.113.9"), None),
            ("protocol_error", ip("203.0.113.9"), None),
            ("disconnect", ip("203.0.113.9"), None),
            ("connect", ip("::1"), None),
            ("tls_established", ip("::1"), None),
            ("auth_succeeded", ip("::1"), Some("bar")),
            ("connect", ip("203.0.113.10"), None),
            ("tls_failed", ip("203.0.113.10"), None),
            ("connect", ip("203.0.113.11"), None),
            ("auth_failed", ip("203.0.113.11"), Some("carol")),
        ]
    );
    assert!(e.iter().all(|e| e.server == Opensmtpd));
}

#[test]
fn journald_rfc5424_and_rfc3339_envelopes_reach_the_parsers() {
    let log = r#"{"__REALTIME_TIMESTAMP":"1795829651000000","_HOSTNAME":"mx","SYSLOG_IDENTIFIER":"postfix/submission/smtpd","_PID":"42","MESSAGE":"warning: unknown[192.0.2.1]: SASL LOGIN authentication failed: UGFzc3dvcmQ6"}
<38>1 2026-11-28T10:00:00.123Z mx dovecot 77 - - imap-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<b>, method=PLAIN, rip=192.0.2.2, lip=192.0.2.9, TLS, session=<s>
2026-11-28T10:00:00.123456+01:00 mx exim[5]: dovecot_login authenticator failed for (User) [192.0.2.3]: 535 Incorrect authentication data (set_id=c)"#;
    let e = events(log);
    let got: Vec<(Server, String)> = e
        .iter()
        .map(|e| (e.server, e.source.unwrap().to_string()))
        .collect();
    assert_eq!(
        got,
        vec![
            (Postfix, "192.0.2.1".into()),
            (Dovecot, "192.0.2.2".into()),
            (Exim, "192.0.2.3".into())
        ]
    );
    assert_eq!(
        e[2].time.unwrap().to_string(),
        "2026-11-28T09:00:00.123456Z"
    );
}
