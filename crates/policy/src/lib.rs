//! The architecture file of mailwarden: which mail services an organization
//! runs, on which hosts and ports, with which TLS mode and authentication;
//! which ports and protocols must never answer; the TLS baseline they are
//! held to; and per-rule overrides. `mailwarden audit` scans what the file
//! declares and reports drift from it.
//!
//! * [`Policy::parse`] reads and validates a file (TOML). Every problem is a
//!   [`Diagnostic`] with the span of the offending text, so
//!   [`PolicyError`] renders as `file:line:col: error: ...`, the line, a
//!   caret and a hint ("did you mean `starttls`?").
//! * [`Baseline`] is a published TLS guideline as versioned data
//!   (`baselines/*.toml`, with a changelog): `rfc8314`, `mozilla-intermediate`,
//!   `bsi-tr-03108`, `nist-800-177`.
//! * [`init::render`] writes a starting file from what a scan found.
//!
//! The format is documented in `docs/policy.md`.
//!
//! ```
//! use mailwarden_policy::{KnownRules, Policy, TlsMode};
//!
//! let text = r#"
//! baseline = "mozilla-intermediate"
//!
//! [[service]]
//! name = "inbound-mx"
//! hosts = ["mx1.example.org"]
//! port = 25
//! protocol = "smtp"
//! tls = "starttls"
//! "#;
//! let policy = Policy::parse(text, "mail.toml", KnownRules::default()).expect("valid");
//! let mx = policy.service_at("MX1.example.org.", 25).expect("declared");
//! assert_eq!(mx.tls, TlsMode::Starttls);
//! assert_eq!(policy.baseline.map(|b| b.id.as_str()), Some("mozilla-intermediate"));
//!
//! let err = Policy::parse("[[service]]\nname = 1\n", "bad.toml", KnownRules::default()).unwrap_err();
//! assert!(err.to_string().starts_with("bad.toml:2:8: error:"));
//! ```
//!
//! The crate parses and validates; it never touches the network.
#![deny(missing_docs)]

mod baseline;
mod cidr;
mod diag;
pub mod init;
mod load;
mod modes;
mod policy;
mod schema;

pub use baseline::{
    Baseline, CHANGELOG as BASELINE_CHANGELOG, Feature, Features, Keys, Source, Suites, Versions,
};
pub use cidr::{Cidr, CidrError};
pub use diag::{Diagnostic, Level, PolicyError, closest, suggestion};
pub use load::KnownRules;
pub use modes::{AuthMode, Override, TlsMode};
pub use policy::{
    DeclaredPort, Dns, Forbid, Logs, Policy, RuleOverride, Service, default_audit_ports,
    derive_role, same_host,
};
