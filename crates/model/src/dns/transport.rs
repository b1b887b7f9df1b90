//! Transport security of a domain's mail: the MTA-STS record and policy
//! fetched over HTTPS, SMTP TLS reporting, DANE TLSA records with their match
//! against the chains presented, and the TLS seen on each MX address.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use super::{DnsLookup, DnssecStatus, SyntaxError};
use crate::{Attempt, TlsHandshake};

/// MTA-STS of the domain (RFC 8461).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MtaStsObservation {
    /// The TXT question at `_mta-sts.<domain>`.
    pub lookup: DnsLookup,
    /// The `v=STSv1` strings.
    pub records: Vec<String>,
    /// The `id` of the record, when exactly one parsed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Syntax errors of the record.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<SyntaxError>,
    /// The policy fetch; skipped without a record.
    pub policy: Attempt<MtaStsPolicyFetch>,
}

/// `GET https://mta-sts.<domain>/.well-known/mta-sts.txt`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MtaStsPolicyFetch {
    /// The URL.
    pub url: String,
    /// The address connected to.
    pub address: SocketAddr,
    /// The TLS handshake, with the policy host's certificate chain checked
    /// against `mta-sts.<domain>`.
    pub tls: TlsHandshake,
    /// The HTTP status code (0 when no response).
    pub status: u16,
    /// The Content-Type header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// The `Location` header of a redirect, which is never followed (RFC 8461 §3.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect: Option<String>,
    /// The body, as text (capped).
    pub body: String,
    /// The parsed policy, when the body is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<MtaStsPolicy>,
    /// Why the fetch did not produce a policy, if it did not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// An MTA-STS policy file (RFC 8461 §3.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MtaStsPolicy {
    /// `version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// `mode`: enforce, testing or none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// `max_age` in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<u64>,
    /// `mx` patterns.
    pub mx: Vec<String>,
    /// Problems, each with the line (1-based, as a position).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<SyntaxError>,
}

/// SMTP TLS reporting (RFC 8460).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TlsRptObservation {
    /// The TXT question at `_smtp._tls.<domain>`.
    pub lookup: DnsLookup,
    /// The `v=TLSRPTv1` strings.
    pub records: Vec<String>,
    /// `rua` URIs of the record.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rua: Vec<String>,
    /// Syntax errors.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<SyntaxError>,
}

/// TLSA records of one MX host and port (RFC 6698, RFC 7672).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DaneObservation {
    /// The MX host.
    pub host: String,
    /// The port the records are for (25, 465, 587).
    pub port: u16,
    /// The TLSA question at `_<port>._tcp.<host>`.
    pub lookup: DnsLookup,
    /// The DNSSEC status of the host's address records: DANE needs the
    /// host's own zone signed too (RFC 7672 §2.2.2).
    pub host_dnssec: DnssecStatus,
    /// The records.
    pub records: Vec<TlsaRecord>,
    /// The match against each address's presented chain (from the scan).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matches: Vec<DaneMatch>,
}

/// One TLSA record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsaRecord {
    /// Certificate usage: 0 PKIX-TA, 1 PKIX-EE, 2 DANE-TA, 3 DANE-EE.
    pub usage: u8,
    /// Selector: 0 full certificate, 1 SubjectPublicKeyInfo.
    pub selector: u8,
    /// Matching type: 0 exact, 1 SHA-256, 2 SHA-512.
    pub matching_type: u8,
    /// The association data, lower-case hex.
    pub data: String,
}

/// The TLSA set checked against the chain one address presented.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaneMatch {
    /// The endpoint.
    pub address: SocketAddr,
    /// True when the endpoint presented a certificate chain.
    pub chain_presented: bool,
    /// Indices (into `records`) of the records that matched.
    pub matched: Vec<usize>,
    /// Why no record matched, or what matched.
    pub detail: String,
}

/// TLS as seen on one MX address (a digest of the endpoint scan).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MxTlsObservation {
    /// The MX host.
    pub host: String,
    /// The endpoint.
    pub address: SocketAddr,
    /// True when STARTTLS completed.
    pub tls: bool,
    /// The negotiated version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// SHA-256 of the leaf certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaf_sha256: Option<String>,
    /// The leaf's DNS names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub leaf_names: Vec<String>,
    /// True when the chain validated against the trust anchors.
    pub trusted: bool,
}
