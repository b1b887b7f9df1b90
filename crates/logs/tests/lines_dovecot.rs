//! Table tests for Dovecot: line variants per version, each with the event it
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

use mailwarden_logs::event::{EventKind, Server};

mod table;

use table::{check, events};

use Server::Dovecot;

#[test]
fn dovecot_lines() {
    check(&[
        // real (2.3.19, log_path)
        (
            "Nov 28 01:34:13 imap-login: Info: Disconnected: Aborted login by logging out (auth failed, 1 attempts in 2 secs): user=<bob>, method=PLAIN, rip=127.0.0.8, lip=127.0.0.3, session=<Y7RvLExhh7N/AAAI>",
            Dovecot,
            "auth_failed",
            Some("127.0.0.8"),
            Some("bob"),
        ),
        (
            "Nov 28 01:34:09 imap-login: Info: Disconnected: Connection closed: read(size=1026) failed: Connection reset by peer (no auth attempts in 0 secs): user=<>, rip=127.0.0.6, lip=127.0.0.2, session=<awxULExhOcB/AAAG>",
            Dovecot,
            "disconnect",
            Some("127.0.0.6"),
            None,
        ),
        (
            "Nov 28 01:34:15 imap-login: Info: Disconnected: Connection closed: SSL_accept() failed: error:0A0000F4:SSL routines::unexpected message (no auth attempts in 0 secs): user=<>, rip=127.0.0.10, lip=127.0.0.2, TLS handshaking: SSL_accept() failed: error:0A0000F4:SSL routines::unexpected message, session=<6/esLExhS7F/AAAK>",
            Dovecot,
            "tls_failed",
            Some("127.0.0.10"),
            None,
        ),
        (
            "Nov 28 01:34:16 imap-login: Info: Disconnected: Connection closed: read(size=1009) failed: Connection reset by peer (auth failed, 1 attempts in 0 secs): user=<alice>, rip=127.0.0.11, lip=127.0.0.2, session=<yhS8LExhd8x/AAAL>",
            Dovecot,
            "plaintext_refused",
            Some("127.0.0.11"),
            Some("alice"),
        ),
        // f2b (2.0–2.3, syslog)
        (
            "Dec 12 11:19:11 dunnart dovecot: pop3-login: Aborted login (tried to use disallowed plaintext auth): rip=190.210.136.21, lip=113.212.99.193, session=<LgDINsQCkttVIMPg>",
            Dovecot,
            "plaintext_refused",
            Some("190.210.136.21"),
            None,
        ),
        (
            "Jun 13 16:30:54 platypus dovecot: imap-login: Disconnected (auth failed, 2 attempts): user=<username.bob>, method=PLAIN, rip=49.176.98.87, lip=113.212.99.194, TLS",
            Dovecot,
            "auth_failed",
            Some("49.176.98.87"),
            Some("username.bob"),
        ),
        (
            "Jun 23 00:52:43 vhost1-ua dovecot: pop3-login: Disconnected: Inactivity (auth failed, 1 attempts): user=<info>, method=PLAIN, rip=193.95.245.163, lip=176.214.13.210",
            Dovecot,
            "auth_failed",
            Some("193.95.245.163"),
            Some("info"),
        ),
        (
            "Jul 02 13:49:31 hostname dovecot[442]: pop3-login: Aborted login (auth failed, 1 attempts in 17 secs): user=<test>, method=PLAIN, rip=192.51.100.13, lip=203.0.113.17, session=<YADINsQCDs5BH8Pg>",
            Dovecot,
            "auth_failed",
            Some("192.51.100.13"),
            Some("test"),
        ),
        (
            "Jan 29 05:32:50 mail dovecot: auth-worker(304): pam(username,1.2.3.4): pam_authenticate() failed: Authentication failure (password mismatch?)",
            Dovecot,
            "auth_failed",
            Some("1.2.3.4"),
            Some("username"),
        ),
        (
            "Jan 29 05:13:50 mail dovecot: auth: passwd-file(username,1.2.3.4): unknown user",
            Dovecot,
            "auth_failed",
            Some("1.2.3.4"),
            Some("username"),
        ),
        (
            "Jan 29 13:54:06 auth-worker(22401): Info: sql(admin@example.de,192.0.2.5,<n4JLdHNVngZGpV2j>): unknown user",
            Dovecot,
            "auth_failed",
            Some("192.0.2.5"),
            Some("admin@example.de"),
        ),
        (
            "Jun 11 13:57:17 main dovecot: auth: ldap(user@server.org,192.168.178.25,<LZmGp6mZaMrAqLIZ>): Password mismatch (for LDAP bind) (SHA1 of given password: f638ff)",
            Dovecot,
            "auth_failed",
            Some("192.168.178.25"),
            Some("user@server.org"),
        ),
        (
            "Jun 12 23:06:05 auth-worker(57065): Info: conn unix:auth-worker (uid=143): auth-worker<225622>: sql(user@domain.com,192.0.2.7,<Yx7+W8+Io>): Password mismatch",
            Dovecot,
            "auth_failed",
            Some("192.0.2.7"),
            Some("user@domain.com"),
        ),
        (
            "Jul 02 13:49:32 hostname dovecot[442]: dovecot: auth(default): pam(account@MYSERVERNAME.com,200.76.17.206): pam_authenticate() failed: User not known to the underlying authentication module: 2 Time(s)",
            Dovecot,
            "auth_failed",
            Some("200.76.17.206"),
            Some("account@MYSERVERNAME.com"),
        ),
        (
            "@400000004c91b044077a9e94 dovecot-auth: pam_unix(dovecot:auth): authentication failure; logname= uid=0 euid=0 tty=dovecot ruser=root rhost=176.61.140.225  user=root",
            Dovecot,
            "auth_failed",
            Some("176.61.140.225"),
            Some("root"),
        ),
        (
            "2013-08-11 03:56:40 auth-worker(default): Info: pam(username,1.2.3.4): pam_authenticate() failed: Authentication failure (password mismatch?)",
            Dovecot,
            "auth_failed",
            Some("1.2.3.4"),
            Some("username"),
        ),
        (
            "Jan 29 09:38:46 pop3-login: Info: Disconnected (no auth attempts in 10 secs): user=<>, rip=176.61.137.100, TLS handshaking: SSL_accept() failed: error:140760FC:SSL routines:SSL23_GET_CLIENT_HELLO:unknown protocol",
            Dovecot,
            "tls_failed",
            Some("176.61.137.100"),
            None,
        ),
        (
            "Aug 29 01:49:33 server dovecot[472]: imap-login: Disconnected: Connection closed: SSL_accept() failed: error:14209102:SSL routines:tls_early_post_process_client_hello:unsupported protocol (no auth attempts in 0 secs): user=<>, rip=192.0.2.5, lip=127.0.0.1, TLS handshaking: SSL_accept() failed: error:14209102:SSL routines:tls_early_post_process_client_hello:unsupported protocol",
            Dovecot,
            "tls_failed",
            Some("192.0.2.5"),
            None,
        ),
        (
            "Aug 29 01:49:33 server dovecot[459]: managesieve-login: Disconnected: Too many invalid commands. (no auth attempts in 0 secs): user=<>, rip=192.0.2.5, lip=127.0.0.1",
            Dovecot,
            "protocol_error",
            Some("192.0.2.5"),
            None,
        ),
        (
            "Aug 29 03:17:18 server dovecot: submission-login: Client has quit the connection (auth failed, 1 attempts in 2 secs): user=<user1>, method=LOGIN, rip=192.0.2.133, lip=0.0.0.0",
            Dovecot,
            "auth_failed",
            Some("192.0.2.133"),
            Some("user1"),
        ),
        (
            "Jul 17 09:21:22 mailproxy dovecot: imap-login: Disconnected (proxy dest auth failed): user=<rtomes@acenet.com.au>, method=PLAIN, rip=192.0.2.4, lip=192.168.1.2, session=<NTI4FiZxcQCSud4G>",
            Dovecot,
            "auth_failed",
            Some("192.0.2.4"),
            Some("rtomes@acenet.com.au"),
        ),
        // doc: 2.3 success lines, 2.4 forms
        (
            "Nov 28 10:00:00 mx dovecot: imap-login: Login: user=<alice>, method=PLAIN, rip=192.0.2.20, lip=192.0.2.1, mpid=4242, TLS, session=<abc>",
            Dovecot,
            "auth_succeeded",
            Some("192.0.2.20"),
            Some("alice"),
        ),
        (
            "Nov 28 10:00:00 mx dovecot: pop3-login: Login: user=<alice>, method=PLAIN, rip=192.0.2.21, lip=192.0.2.1, mpid=4243, session=<abd>",
            Dovecot,
            "plaintext_allowed",
            Some("192.0.2.21"),
            Some("alice"),
        ),
        (
            "Nov 28 10:00:00 mx dovecot: imap-login: Login aborted: Logged out (auth failed, 3 attempts in 14 secs) (auth_failed): user=<bob>, method=PLAIN, rip=2001:db8::5, lip=2001:db8::1, TLS, session=<x1>",
            Dovecot,
            "auth_failed",
            Some("2001:db8::5"),
            Some("bob"),
        ),
        (
            "Nov 28 10:00:00 mx dovecot: auth: passwd-file(bob,192.0.2.22,sasl:plain,<x2>): Password mismatch",
            Dovecot,
            "auth_failed",
            Some("192.0.2.22"),
            Some("bob"),
        ),
        (
            "Nov 28 10:00:00 mx dovecot: imap-login: Maximum number of connections from user+IP exceeded (mail_max_userip_connections=10): user=<carol>, method=PLAIN, rip=192.0.2.23, lip=192.0.2.1, TLS, session=<x3>",
            Dovecot,
            "rate_limited",
            Some("192.0.2.23"),
            Some("carol"),
        ),
    ]);
}

#[test]
fn dovecot_attempt_counts_and_sessions() {
    let e = events(
        "Jun 13 16:30:54 p dovecot: imap-login: Disconnected (auth failed, 2 attempts): user=<b>, method=PLAIN, rip=49.176.98.87, lip=113.212.99.194, TLS",
    );
    assert!(matches!(
        e[0].kind,
        EventKind::AuthFailed {
            attempts: 2,
            counted: 2,
            ..
        }
    ));
}
