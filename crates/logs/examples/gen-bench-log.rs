//! Writes a realistic mixed mail log (Postfix and Dovecot through syslog, as
//! in Debian's `/var/log/mail.log`) for `scripts/bench-logs.sh`: a fixed seed,
//! one day of traffic, legitimate users (some of whom mistype a password
//! once), background noise, and known attackers.
//!
//! `cargo run --release -p mailwarden-logs --example gen-bench-log -- OUT.log [LINES] [TRUTH.json]`
//!
//! The truth file lists each attacker: address (or /64), what it does, and
//! the detector expected to catch it.

use std::fmt::Write as _;
use std::io::{BufWriter, Write};

/// xorshift64*: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const MONTH: &str = "Nov";
const DAY: u32 = 27;

struct Gen {
    rng: Rng,
    out: String,
    lines: u64,
    pid: u32,
    session: u64,
}

impl Gen {
    fn stamp(&self, t: u32) -> String {
        format!(
            "{MONTH} {DAY} {:02}:{:02}:{:02} mail",
            t / 3600 % 24,
            t / 60 % 60,
            t % 60
        )
    }

    fn line(&mut self, t: u32, prog: &str, msg: &str) {
        let stamp = self.stamp(t);
        let _ = writeln!(self.out, "{stamp} {prog}: {msg}");
        self.lines += 1;
    }

    fn pid(&mut self) -> u32 {
        self.pid = 1000 + (self.pid + 7) % 30000;
        self.pid
    }

    fn session(&mut self) -> String {
        self.session = self
            .session
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        format!("{:016x}", self.session)[..16].to_string()
    }

    fn smtpd(&mut self, t: u32, service: &str, pid: u32, msg: &str) {
        let prog = if service == "smtp" {
            format!("postfix/smtpd[{pid}]")
        } else {
            format!("postfix/{service}/smtpd[{pid}]")
        };
        self.line(t, &prog, msg);
    }

    /// An inbound message from another MTA: the bulk of a real log.
    fn inbound(&mut self, t: u32, ip: &str) {
        let pid = self.pid();
        let qid = format!("{:X}", self.rng.next() & 0x00FF_FFFF_FFFF);
        let mx = self.rng.below(50);
        let host = format!("mx{mx}.example.net[{ip}]");
        self.smtpd(t, "smtp", pid, &format!("connect from {host}"));
        self.smtpd(t, "smtp", pid, &format!("Anonymous TLS connection established from {host}: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)"));
        self.smtpd(t, "smtp", pid, &format!("{qid}: client={host}"));
        let id = self.rng.next();
        self.line(
            t,
            &format!("postfix/cleanup[{}]", pid + 1),
            &format!("{qid}: message-id=<{id}@example.net>"),
        );
        let n = 1 + self.rng.below(3);
        let size = 2000 + self.rng.below(90000);
        self.line(
            t,
            "postfix/qmgr[900]",
            &format!("{qid}: from=<news@example.net>, size={size}, nrcpt={n} (queue active)"),
        );
        for i in 0..n {
            let u = self.rng.below(2000);
            self.line(t + 1, &format!("postfix/lmtp[{}]", pid + 2), &format!("{qid}: to=<user{u}@example.org>, relay=mail.example.org[private/dovecot-lmtp], delay=0.2, delays=0.1/0/0/0.1, dsn=2.0.0, status=sent (250 2.0.0 <user{i}@example.org> Saved)"));
        }
        self.line(t + 1, "postfix/qmgr[900]", &format!("{qid}: removed"));
        self.smtpd(t + 1, "smtp", pid, &format!("disconnect from {host} ehlo=2 starttls=1 mail=1 rcpt={n} data=1 quit=1 commands={}", 6 + n));
    }

    fn imap_login(&mut self, t: u32, user: &str, ip: &str) {
        let s = self.session();
        let mpid = self.pid();
        self.line(t, "dovecot", &format!("imap-login: Login: user=<{user}>, method=PLAIN, rip={ip}, lip=192.0.2.1, mpid={mpid}, TLS, session=<{s}>"));
        self.line(t + 600, "dovecot", &format!("imap({user})<{mpid}><{s}>: Logged out in=1234 out=56789 deleted=0 expunged=0 trashed=0 hdr_count=0 hdr_bytes=0 body_count=0 body_bytes=0"));
    }

    fn imap_fail(&mut self, t: u32, user: &str, ip: &str) {
        let s = self.session();
        self.line(t, "dovecot", &format!("imap-login: Disconnected: Aborted login by logging out (auth failed, 1 attempts in 2 secs): user=<{user}>, method=PLAIN, rip={ip}, lip=192.0.2.1, TLS, session=<{s}>"));
    }

    fn pop3_fail(&mut self, t: u32, user: &str, ip: &str) {
        let s = self.session();
        self.line(t, "dovecot", &format!("pop3-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<{user}>, method=PLAIN, rip={ip}, lip=192.0.2.1, TLS, session=<{s}>"));
    }

    fn sasl_fail(&mut self, t: u32, user: &str, ip: &str) {
        let pid = self.pid();
        let host = format!("unknown[{ip}]");
        self.smtpd(t, "submission", pid, &format!("connect from {host}"));
        self.smtpd(t + 2, "submission", pid, &format!("warning: {host}: SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username={user}"));
        self.smtpd(
            t + 2,
            "submission",
            pid,
            &format!("disconnect from {host} ehlo=1 auth=0/1 quit=1 commands=2/3"),
        );
    }

    fn submit(&mut self, t: u32, user: &str, ip: &str, recipients: u32) {
        let pid = self.pid();
        let host = format!("unknown[{ip}]");
        let qid = format!("{:X}", self.rng.next() & 0x00FF_FFFF_FFFF);
        self.smtpd(t, "submission", pid, &format!("connect from {host}"));
        self.smtpd(t, "submission", pid, &format!("Anonymous TLS connection established from {host}: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)"));
        self.smtpd(
            t,
            "submission",
            pid,
            &format!("{qid}: client={host}, sasl_method=PLAIN, sasl_username={user}"),
        );
        self.line(
            t,
            "postfix/qmgr[900]",
            &format!("{qid}: from=<{user}>, size=4000, nrcpt={recipients} (queue active)"),
        );
        for i in 0..recipients {
            let d = self.rng.below(5000);
            self.line(t + 1, &format!("postfix/smtp[{}]", pid + 3), &format!("{qid}: to=<r{i}@d{d}.example>, relay=mx.d{d}.example[192.0.2.200]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 ok)"));
        }
        self.line(t + 1, "postfix/qmgr[900]", &format!("{qid}: removed"));
        self.smtpd(t + 1, "submission", pid, &format!("disconnect from {host} ehlo=2 starttls=1 auth=1 mail=1 rcpt={recipients} data=1 quit=1 commands={}", 7 + recipients));
    }

    fn noise_reject(&mut self, t: u32, ip: &str) {
        let pid = self.pid();
        let host = format!("unknown[{ip}]");
        self.smtpd(t, "smtp", pid, &format!("connect from {host}"));
        let n = self.rng.below(100);
        self.smtpd(t, "smtp", pid, &format!("NOQUEUE: reject: RCPT from {host}: 550 5.1.1 <nobody{n}@example.org>: Recipient address rejected: User unknown in virtual mailbox table; from=<x@spam.example> to=<nobody@example.org> proto=ESMTP helo=<spam.example>"));
        self.smtpd(
            t,
            "smtp",
            pid,
            &format!("disconnect from {host} ehlo=1 mail=1 rcpt=0/1 quit=1 commands=3/4"),
        );
    }

    fn idle(&mut self, t: u32, service: &str, ip: &str) {
        if service.starts_with("imap") || service.starts_with("pop3") {
            let s = self.session();
            let login = if service.starts_with("imap") {
                "imap-login"
            } else {
                "pop3-login"
            };
            self.line(t, "dovecot", &format!("{login}: Disconnected: Connection closed (no auth attempts in 0 secs): user=<>, rip={ip}, lip=192.0.2.1, session=<{s}>"));
        } else {
            let pid = self.pid();
            let host = format!("unknown[{ip}]");
            self.smtpd(t, service, pid, &format!("connect from {host}"));
            self.smtpd(
                t,
                service,
                pid,
                &format!("lost connection after CONNECT from {host}"),
            );
            self.smtpd(
                t,
                service,
                pid,
                &format!("disconnect from {host} commands=0/0"),
            );
        }
    }
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args.first().cloned().unwrap_or_else(|| "mail.log".into());
    let target: u64 = args
        .get(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let truth_path = args.get(2).cloned();
    let mut g = Gen {
        rng: Rng(0x6d61_696c_7761_7264),
        out: String::with_capacity(1 << 20),
        lines: 0,
        pid: 1000,
        session: 42,
    };
    let file = std::fs::File::create(&path)?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let day = 86_400u64;
    let mut truth = Vec::new();
    let mut attack = |what: &str, who: &str, detector: &str| {
        truth.push(format!(
            "{{\"source\":\"{who}\",\"does\":\"{what}\",\"expected\":\"{detector}\"}}"
        ))
    };
    attack(
        "brute force on admin over IMAP, about one try a minute for half an hour",
        "203.0.113.10",
        "brute-force",
    );
    attack(
        "slow password spraying: 60 accounts, one try every 4 min, alternating SMTP AUTH and IMAP (each jail sees one try per 8 min)",
        "203.0.113.20",
        "password-spraying",
    );
    attack(
        "botnet on ceo@example.org: 30 addresses, 2 tries each over 20 hours",
        "198.51.100.1-30",
        "distributed-attack",
    );
    attack(
        "port scan: connect and drop on 25, 465, 587, 143, 110",
        "192.0.2.66",
        "scanning",
    );
    attack(
        "relay probing, 12 outside recipients",
        "192.0.2.77",
        "relay-probing",
    );
    attack(
        "TLS 1.0-only clients against the TLS ports",
        "192.0.2.88",
        "tls-downgrade",
    );
    attack(
        "6 failures then a successful login as bob",
        "203.0.113.30",
        "success-after-failures",
    );
    attack(
        "protocol violations: pipelining, HTTP on port 25",
        "192.0.2.99",
        "protocol-violations",
    );
    attack(
        "account mallory suddenly sends to 400 recipients",
        "203.0.113.40",
        "sending-spike",
    );
    attack(
        "IPv6 brute force on root from rotating addresses of one /64",
        "2001:db8:bad:1::/64",
        "brute-force",
    );

    // The timeline: a sorted list of (time, action) built from a seeded schedule.
    let mut step = 0u32;
    while g.lines < target {
        let t = (u64::from(step) * day / (target / 7).max(1)).min(86_300) as u32;
        step += 1;
        let roll = g.rng.below(1000);
        match roll {
            0..=599 => {
                let ip = format!("198.18.{}.{}", g.rng.below(200), g.rng.below(250) + 1);
                g.inbound(t, &ip);
            }
            600..=899 => {
                let u = g.rng.below(2000);
                let ip = format!("100.64.{}.{}", u / 250, u % 250 + 1);
                if g.rng.below(40) == 0 {
                    // A user mistypes once, then gets in.
                    g.imap_fail(t, &format!("user{u}@example.org"), &ip);
                }
                g.imap_login(t + 3, &format!("user{u}@example.org"), &ip);
            }
            900..=949 => {
                let ip = format!("198.19.{}.{}", g.rng.below(250), g.rng.below(250) + 1);
                g.noise_reject(t, &ip);
            }
            _ => {
                let u = g.rng.below(300);
                let n = 1 + g.rng.below(3) as u32;
                g.submit(
                    t,
                    &format!("user{u}@example.org"),
                    &format!("100.64.{}.{}", u / 250, u % 250 + 1),
                    n,
                );
            }
        }
        // Attackers, woven in by time.
        if step.is_multiple_of(97) && t > 3600 && t < 3600 + 1000 * 2 {
            g.imap_fail(t, "admin", "203.0.113.10");
        }
        if step.is_multiple_of(397) && t > 7200 && t < 7200 + 4 * 60 * 60 {
            let n = step / 397 % 60;
            if (step / 397).is_multiple_of(2) {
                g.sasl_fail(t, &format!("user{n}@example.org"), "203.0.113.20");
            } else {
                g.imap_fail(t, &format!("staff{n}@example.org"), "203.0.113.20");
            }
        }
        if step.is_multiple_of(1777) && (1000..73_000).contains(&t) {
            let bot = step / 1777 % 30 + 1;
            g.pop3_fail(t, "ceo@example.org", &format!("198.51.100.{bot}"));
        }
        if step == 40_000 {
            for (i, service) in ["smtp", "smtps", "submission", "imap", "pop3"]
                .iter()
                .enumerate()
            {
                g.idle(t + i as u32, service, "192.0.2.66");
            }
        }
        if step == 50_000 {
            let pid = g.pid();
            for i in 0..12 {
                g.smtpd(t + i, "smtp", pid, &format!("NOQUEUE: reject: RCPT from unknown[192.0.2.77]: 554 5.7.1 <v{i}@outside{i}.example>: Relay access denied; from=<a@b.example> to=<v{i}@outside{i}.example> proto=ESMTP helo=<x>"));
            }
        }
        if step == 60_000 {
            for (i, login) in ["imap-login", "pop3-login", "imap-login"]
                .iter()
                .enumerate()
            {
                let s = g.session();
                g.line(t + i as u32, "dovecot", &format!("{login}: Disconnected: Connection closed: SSL_accept() failed: error:0A000102:SSL routines::unsupported protocol (no auth attempts in 0 secs): user=<>, rip=192.0.2.88, lip=192.0.2.1, TLS handshaking: SSL_accept() failed: error:0A000102:SSL routines::unsupported protocol, session=<{s}>"));
            }
        }
        if step == 70_000 {
            for i in 0..6 {
                g.imap_fail(t + i * 20, "bob@example.org", "203.0.113.30");
            }
            g.imap_login(t + 200, "bob@example.org", "203.0.113.30");
        }
        if step == 80_000 {
            let pid = g.pid();
            for i in 0..4 {
                g.smtpd(t + i, "smtp", pid, "improper command pipelining after CONNECT from unknown[192.0.2.99]: EHLO x\\r\\nMAIL FROM:<>");
            }
            g.smtpd(
                t + 5,
                "smtp",
                pid,
                "non-SMTP command from unknown[192.0.2.99]: GET / HTTP/1.1",
            );
        }
        if step == 90_000 {
            g.submit(t, "mallory@example.org", "203.0.113.40", 400);
        }
        if step.is_multiple_of(211) && t > 30_000 && t < 30_000 + 900 {
            let host = g.rng.below(65_000) + 1;
            g.imap_fail(t, "root", &format!("2001:db8:bad:1::{host:x}"));
        }
        if g.out.len() > 1 << 20 {
            w.write_all(g.out.as_bytes())?;
            g.out.clear();
        }
    }
    w.write_all(g.out.as_bytes())?;
    w.flush()?;
    if let Some(truth_path) = truth_path {
        std::fs::write(truth_path, format!("[{}]\n", truth.join(",\n")))?;
    }
    eprintln!("wrote {} lines to {path}", g.lines);
    Ok(())
}
