//! The domain posture of mailwarden: what a mail domain publishes in DNS and
//! whether it holds up against the live servers.
//!
//! * [`Resolver`]: the system resolver or `--resolver ADDR:PORT`; every
//!   answer becomes a [`DnsLookup`](mailwarden_model::DnsLookup) with its
//!   outcome (answer, NXDOMAIN, NODATA, SERVFAIL, REFUSED, timeout) and
//!   DNSSEC status (secure, insecure, bogus, indeterminate), validated by
//!   hickory from a trust anchor or taken from a validating upstream's AD bit.
//! * [`domain::observe`]: discovery (MX with null MX, RFC 6186/8314 SRV,
//!   A/AAAA of each host) and the records: [`spf`] (syntax with positions,
//!   `check_host()`, lookup and void-lookup counts), [`dmarc`]
//!   (organizational domain from the public suffix list, external report
//!   destinations), [`dkim`], [`mtasts`] (the policy fetched over HTTPS),
//!   [`tlsrpt`], [`dane`] (TLSA), [`fcrdns`].
//! * [`domain::attach_scan`]: after the MX hosts were scanned, the DANE match
//!   of the chain each address presented, and a TLS digest per address.
//!
//! It observes only; `mailwarden-rules` decides what the facts mean.
#![deny(missing_docs)]

pub mod dane;
pub mod dkim;
pub mod dmarc;
pub mod domain;
pub mod fcrdns;
pub mod mtasts;
mod resolver;
pub mod spf;
mod tags;
pub mod tlsrpt;

pub use domain::{Discovered, DomainSettings, SRV_SERVICES, attach_scan, discovered};
pub use resolver::{Answer, Resolver, ResolverError, ResolverSettings, addresses};

/// Record types, re-exported for callers of [`Resolver::lookup`].
pub use hickory_resolver::proto::rr::RecordType;
