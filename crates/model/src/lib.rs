//! The data model of mailwarden: what a scan observed, what the rules concluded,
//! and the report that carries both.
//!
//! These serde types *are* the JSON schema of `mailwarden scan --format json`
//! (documented in `docs/scan-json.md`, snapshot-tested). Two rules keep the
//! schema useful:
//!
//! * Observations are facts only: raw reply lines beside their parsed form,
//!   handshake outcomes, certificate fields. Nothing here says "bad".
//! * Every step that talks to a peer is an [`Attempt`]: completed, failed with a
//!   classified [`Failure`], or skipped with a reason, so "not assessed" can
//!   never be mistaken for "secure".
//!
//! Findings ([`Finding`]) and the per-endpoint [`Posture`] are produced by the
//! `mailwarden-rules` crate from observations; they live here only so that a
//! report can be serialized and read back (`audit --from scan.json`).
#![deny(missing_docs)]

mod attempt;
mod cert;
mod dns;
mod finding;
mod line;
mod observation;
mod report;
mod service;
mod tls;
mod tls_scan;

pub use attempt::{Attempt, Failure, FailureKind};
pub use cert::{Certificate, CertificateChain, ChainValidation, NameCheck, PublicKeyInfo};
pub use dns::{
    DaneMatch, DaneObservation, DkimKey, DkimObservation, DmarcExternalDestination,
    DmarcObservation, DmarcPolicy, DnsLookup, DnsOutcome, DnssecMode, DnssecStatus,
    DomainObservation, FcrdnsObservation, MtaStsObservation, MtaStsPolicy, MtaStsPolicyFetch,
    MxHost, MxObservation, MxTlsObservation, ResolverInfo, SpfCheck, SpfExpansion, SpfNode,
    SpfObservation, SpfResult, SpfTerm, SrvObservation, SrvTarget, SyntaxError, TlsRptObservation,
    TlsaRecord,
};
pub use finding::{EndpointAssessment, Evidence, Finding, Posture, Severity};
pub use line::Line;
pub use observation::{
    Capabilities, EndpointObservation, EnforcementKind, EnforcementOutcome, EnforcementProbe,
    ImplicitTlsSession, PlaintextSession, PortState, StartTlsExchange, ThrottleEvent,
};
pub use report::{Assessment, SCHEMA_ID, ScanOptions, ScanReport, TargetResult, ToolInfo};
pub use service::{DEFAULT_PORTS, Protocol, ServiceRole};
pub use tls::{CipherSuiteId, LegacyHello, TlsHandshake, TlsVersion};
pub use tls_scan::{
    AcceptedSuite, CertificateKey, CipherOrder, FallbackOutcome, FallbackScsv, GroupId, GroupScan,
    HeartbleedCheck, HeartbleedOutcome, Proof, Sslv2Cipher, SuiteFlag, SupportStatus, TlsFeatures,
    TlsScan, TlsScanMode, VersionScan,
};
