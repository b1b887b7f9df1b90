//! What `mailwarden dns` (and `scan DOMAIN`) observed about a mail domain:
//! each DNS answer with its outcome and DNSSEC status, the records parsed
//! from it, the MTA-STS policy fetched over HTTPS, and the DANE and MTA-STS
//! checks of the certificates the MX hosts really presented.
//!
//! Facts only. A lookup that timed out is a [`DnsOutcome::Timeout`], never an
//! empty answer: the rules turn it into "not assessed", not "no record".

mod auth;
mod hosts;
mod transport;

use serde::{Deserialize, Serialize};

pub use auth::{
    DkimKey, DkimObservation, DmarcExternalDestination, DmarcObservation, DmarcPolicy, SpfCheck,
    SpfExpansion, SpfNode, SpfObservation, SpfResult, SpfTerm,
};
pub use hosts::{FcrdnsObservation, MxHost, MxObservation, SrvObservation, SrvTarget};
pub use transport::{
    DaneMatch, DaneObservation, MtaStsObservation, MtaStsPolicy, MtaStsPolicyFetch,
    MxTlsObservation, TlsRptObservation, TlsaRecord,
};

/// Everything observed about one mail domain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DomainObservation {
    /// The domain, lower-case, without the trailing dot.
    pub domain: String,
    /// How names were resolved.
    pub resolver: ResolverInfo,
    /// The MX record set and its hosts.
    pub mx: MxObservation,
    /// RFC 6186 / RFC 8314 SRV records, one entry per service label asked.
    pub srv: Vec<SrvObservation>,
    /// SPF (RFC 7208).
    pub spf: SpfObservation,
    /// DMARC (RFC 7489).
    pub dmarc: DmarcObservation,
    /// DKIM keys (RFC 6376), one entry per selector asked.
    pub dkim: Vec<DkimObservation>,
    /// MTA-STS (RFC 8461).
    pub mta_sts: MtaStsObservation,
    /// SMTP TLS reporting (RFC 8460).
    pub tls_rpt: TlsRptObservation,
    /// DANE TLSA record sets (RFC 7672), one per MX host and port asked.
    pub dane: Vec<DaneObservation>,
    /// Forward-confirmed reverse DNS of every MX address.
    pub fcrdns: Vec<FcrdnsObservation>,
    /// TLS seen on each MX address (filled from the endpoint scan), for the
    /// consistency of one MX host's addresses and the MTA-STS certificate check.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mx_tls: Vec<MxTlsObservation>,
}

/// The resolver that answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolverInfo {
    /// The name servers asked (`ADDR:PORT`); the system's from resolv.conf
    /// unless `--resolver` was given.
    pub servers: Vec<String>,
    /// True when the servers came from the system configuration.
    pub system: bool,
    /// How DNSSEC status was decided.
    pub dnssec_mode: DnssecMode,
    /// The trust anchor file, when not the built-in root anchor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_anchor: Option<String>,
}

/// How the DNSSEC status of an answer is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DnssecMode {
    /// mailwarden validates signatures itself from the trust anchor (hickory).
    Validate,
    /// The upstream resolver validates: its AD bit says secure, a SERVFAIL that
    /// disappears with checking disabled (CD) says bogus.
    UpstreamAd,
}

/// The DNSSEC status of an answer (RFC 4035 §4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DnssecStatus {
    /// A chain of trust from the anchor proves the answer (or the denial).
    Secure,
    /// Provably unsigned: a delegation without DS on the way.
    Insecure,
    /// Signed, but the signatures do not verify (expired, wrong key, tampered).
    Bogus,
    /// Could not be decided (no answer, no anchor covering the name).
    Indeterminate,
}

impl DnssecStatus {
    /// Kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            DnssecStatus::Secure => "secure",
            DnssecStatus::Insecure => "insecure",
            DnssecStatus::Bogus => "bogus",
            DnssecStatus::Indeterminate => "indeterminate",
        }
    }
}

/// What a DNS question got back. The negative outcomes stay distinct: a
/// timeout or SERVFAIL says nothing about whether the record exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DnsOutcome {
    /// NOERROR with records of the type asked.
    Answer,
    /// NXDOMAIN: the name does not exist.
    Nxdomain,
    /// NOERROR without records of that type (NODATA).
    Nodata,
    /// SERVFAIL (also what a validating resolver answers for bogus data).
    Servfail,
    /// REFUSED.
    Refused,
    /// No answer within the timeout.
    Timeout,
    /// Another failure (network error, malformed answer, other RCODE).
    Error,
}

impl DnsOutcome {
    /// Kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            DnsOutcome::Answer => "answer",
            DnsOutcome::Nxdomain => "nxdomain",
            DnsOutcome::Nodata => "nodata",
            DnsOutcome::Servfail => "servfail",
            DnsOutcome::Refused => "refused",
            DnsOutcome::Timeout => "timeout",
            DnsOutcome::Error => "error",
        }
    }

    /// True when the name provably has no record of the type (NXDOMAIN or NODATA).
    pub fn is_negative(self) -> bool {
        matches!(self, DnsOutcome::Nxdomain | DnsOutcome::Nodata)
    }

    /// True when the question got no usable answer either way (SERVFAIL,
    /// REFUSED, timeout, error): nothing may be concluded.
    pub fn is_failure(self) -> bool {
        !matches!(
            self,
            DnsOutcome::Answer | DnsOutcome::Nxdomain | DnsOutcome::Nodata
        )
    }
}

/// One DNS question and its answer, records in presentation format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsLookup {
    /// The name asked, without the trailing dot.
    pub name: String,
    /// The record type asked ("TXT", "MX", ...).
    #[serde(rename = "type")]
    pub rtype: String,
    /// What came back.
    pub outcome: DnsOutcome,
    /// DNSSEC status of the answer or of the denial.
    pub dnssec: DnssecStatus,
    /// The records (presentation format; TXT strings joined, unquoted).
    /// With `outcome: servfail` and `dnssec: bogus`, what the upstream
    /// returned with checking disabled: evidence, never used.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub records: Vec<String>,
    /// The error or the validation detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl DnsLookup {
    /// The records when the answer can be used: an answer that is not bogus.
    pub fn usable(&self) -> &[String] {
        if self.outcome == DnsOutcome::Answer && self.dnssec != DnssecStatus::Bogus {
            &self.records
        } else {
            &[]
        }
    }

    /// `NAME TYPE: outcome (dnssec)` for evidence lines.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{} {}: {} (dnssec {})",
            self.name,
            self.rtype,
            self.outcome.as_str(),
            self.dnssec.as_str()
        );
        if let Some(d) = &self.detail {
            s.push_str(": ");
            s.push_str(d);
        }
        s
    }
}

/// A syntax error in a record, at a byte offset of its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyntaxError {
    /// Byte offset in the record text (0-based).
    pub position: usize,
    /// What is wrong.
    pub message: String,
}
