//! The mailwarden test bed: real mail servers and hostile fake ones on
//! loopback, for the scanner's integration tests and for the demo.
//!
//! [`Testbed::start`] generates a throwaway PKI ([`pki`]), starts a real
//! Dovecot ([`dovecot`]: IMAP, POP3, ManageSieve, LMTP, SASL), a real Postfix
//! ([`postfix`]: one `smtpd` per TLS/auth posture) and real Exim daemons
//! ([`exim`]: GnuTLS, one per posture) as root on loopback high ports without
//! systemd, plus in-process misbehaving servers ([`hostile`]), and waits until
//! every listener serves its protocol (about 2 to 3 s; Exim starts alongside
//! the others). Dropping it stops exactly the processes it started;
//! [`Testbed::shared`] gives one per test process, cleaned up by a watchdog
//! child when the process exits.
//!
//! ```no_run
//! let tb = mailwarden_testbed::Testbed::shared();
//! let addr = tb.endpoint("submission-enforced");
//! let ca = tb.ca_file();
//! # let _ = (addr, ca);
//! ```
//!
//! Endpoints (Postfix and Exim on 127.0.0.1; Dovecot on 127.0.0.2, 127.0.0.3
//! and 127.0.0.4 so that clients from 127.0.0.1 are not "local" to it;
//! hostile servers on 127.0.0.1). Versions and suites below were verified
//! with `openssl s_client` and `gnutls-cli` on Debian 12 (OpenSSL 3.0,
//! GnuTLS 3.7.9, Postfix 3.7, Dovecot 2.3.19, Exim 4.96):
//!
//! | name | what it is |
//! |---|---|
//! | `smtp-mx` | SMTP, STARTTLS offered, no AUTH, valid certificate |
//! | `smtp-plain` | SMTP without STARTTLS |
//! | `submission-enforced` | STARTTLS required (530 before it), AUTH only after TLS |
//! | `submission-auth-before-tls` | STARTTLS optional, AUTH PLAIN LOGIN and MAIL before TLS |
//! | `smtps` | implicit TLS, AUTH |
//! | `smtp-tls10` | STARTTLS negotiating TLS 1.0 only |
//! | `smtp-expired`, `smtp-not-yet-valid`, `smtp-expiring`, `smtp-self-signed`, `smtp-wrong-name`, `smtp-rsa1024`, `smtp-sha1` | STARTTLS with that certificate |
//! | `smtp-no-relay` | SMTP refusing relay to other domains even from loopback (`mynetworks` is 127.0.0.0/8 elsewhere) |
//! | `smtp-banner-version` | banner `mail.test ESMTP Postfix 3.7.11 (Debian)` |
//! | `smtp-tls13-only` | STARTTLS, TLS 1.3 only (TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256, TLS_AES_128_GCM_SHA256); TLS 1.0–1.2 get a `protocol_version` alert |
//! | `smtp-cbc-only` | STARTTLS, TLS 1.2 only, exactly `ECDHE-RSA-AES128-SHA` and `AES128-SHA` (RSA key exchange: no forward secrecy), RSA certificate; Postfix follows the client's order |
//! | `smtp-dhe-1024` | STARTTLS, TLS 1.2 only, exactly `DHE-RSA-AES256-GCM-SHA384`, `DHE-RSA-AES128-GCM-SHA256`, `DHE-RSA-AES128-SHA` with a 1024-bit DH group (a default OpenSSL client refuses: "dh key too small") |
//! | `smtp-throttled` | SMTP, one connection per client at a time, loopback included: the second concurrent one gets `421 4.7.0 mail.test Error: too many connections from 127.0.0.1` |
//! | `imap-starttls` | IMAP, STARTTLS, LOGINDISABLED before TLS |
//! | `imap-plain-allowed` | IMAP, STARTTLS optional, plaintext LOGIN accepted |
//! | `imaps` | IMAP over implicit TLS |
//! | `pop3-plain` | POP3 without TLS, USER/PASS accepted |
//! | `pop3s` | POP3 over implicit TLS |
//! | `pop3-starttls` | POP3 with STLS, USER/PASS refused before TLS |
//! | `sieve` | ManageSieve with STARTTLS |
//! | `lmtp` | Dovecot LMTP on 127.0.0.2: `220 mail.test Dovecot (Debian) ready.`, LHLO (EHLO refused), STARTTLS (TLS 1.3 by default) |
//! | `exim-mx` | Exim, STARTTLS with Debian's default GnuTLS priorities (`NORMAL`): TLS 1.0 and 1.1 (8 AES-CBC-SHA1 suites each), TLS 1.2 (25 suites: ECDHE/DHE/RSA with AES-GCM, AES-CCM, ChaCha20, AES-CBC-SHA1), TLS 1.3 (AES-256-GCM, ChaCha20, AES-128-GCM, AES-128-CCM); DHE with ffdhe2048; no 3DES, no RC4; AUTH PLAIN LOGIN only after TLS; `smtp_accept_max` 20 |
//! | `exim-weak` | like `exim-mx` plus 3DES and RC4 (priority [`exim::WEAK_PRIORITY`]): 15 suites each in TLS 1.0 and 1.1, 32 in TLS 1.2, among them `TLS_RSA_WITH_RC4_128_SHA`, `TLS_ECDHE_RSA_WITH_RC4_128_SHA`, `TLS_ECDHE_ECDSA_WITH_RC4_128_SHA`, `TLS_RSA_WITH_3DES_EDE_CBC_SHA`, `TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA`, `TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA`, `TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA` |
//! | `exim-limited` | Exim with `smtp_accept_max = 5`: the sixth concurrent client gets `421 Too many concurrent SMTP connections; please try again later.`; after 3 syntax errors the 4th gets `501 Too many syntax or protocol errors` and is dropped |
//! | `drip`, `flood`, `garbage`, `fake-starttls`, `silent`, `tls-bogus-length`, `tls-bad-inner-length`, `accept-then-close`, `http`, `closed` | see [`hostile`] |
//!
//! Logs: [`Testbed::postfix_log`], [`Testbed::dovecot_log`], and Exim's
//! [`Testbed::exim_log`] (mainlog) and [`Testbed::exim_reject_log`]
//! (rejectlog), shared by the Exim daemons (`I=[127.0.0.1]:PORT` names one).
//! Exim keeps what it accepts in its spool (`queue_only`): nothing is ever
//! delivered anywhere. Traps met on the way: `crates/testbed/TRAPS.md`.
#![deny(missing_docs)]

mod dhparam;
pub mod dovecot;
mod endpoint;
pub mod exim;
pub mod hostile;
pub mod pki;
pub mod postfix;
mod reaper;
mod testbed;
mod util;

pub use endpoint::{Endpoint, Server};
pub use pki::{CertFiles, Pki};
pub use testbed::Testbed;
