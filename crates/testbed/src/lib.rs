//! The mailwarden test bed: real mail servers and hostile fake ones on
//! loopback, for the scanner's integration tests and for the demo.
//!
//! [`Testbed::start`] generates a throwaway PKI ([`pki`]), starts a real
//! Dovecot ([`dovecot`]: IMAP, POP3, ManageSieve, SASL) and a real Postfix
//! ([`postfix`]: one `smtpd` per TLS/auth posture) as root on loopback high
//! ports without systemd, plus in-process misbehaving servers ([`hostile`]),
//! and waits until every listener serves its protocol. Dropping it stops
//! exactly the processes it started; [`Testbed::shared`] gives one per test
//! process, cleaned up by a watchdog child when the process exits.
//!
//! ```no_run
//! let tb = mailwarden_testbed::Testbed::shared();
//! let addr = tb.endpoint("submission-enforced");
//! let ca = tb.ca_file();
//! # let _ = (addr, ca);
//! ```
//!
//! Endpoints (Postfix on 127.0.0.1; Dovecot on 127.0.0.2, 127.0.0.3 and
//! 127.0.0.4 so that clients from 127.0.0.1 are not "local" to it; hostile
//! servers on 127.0.0.1):
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
//! | `imap-starttls` | IMAP, STARTTLS, LOGINDISABLED before TLS |
//! | `imap-plain-allowed` | IMAP, STARTTLS optional, plaintext LOGIN accepted |
//! | `imaps` | IMAP over implicit TLS |
//! | `pop3-plain` | POP3 without TLS, USER/PASS accepted |
//! | `pop3s` | POP3 over implicit TLS |
//! | `pop3-starttls` | POP3 with STLS, USER/PASS refused before TLS |
//! | `sieve` | ManageSieve with STARTTLS |
//! | `drip`, `flood`, `garbage`, `fake-starttls`, `silent`, `tls-bogus-length`, `tls-bad-inner-length`, `accept-then-close`, `http`, `closed` | see [`hostile`] |
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
