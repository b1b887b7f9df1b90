//! Where a domain's mail goes: the MX record set and its hosts (with the
//! implicit MX), the SRV records of the client services, and the
//! forward-confirmed reverse DNS of every MX address.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::DnsLookup;

/// The MX record set (RFC 5321 §5.1, RFC 7505).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MxObservation {
    /// The MX question.
    pub lookup: DnsLookup,
    /// True for the null MX `0 .` (RFC 7505): the domain accepts no mail.
    pub null_mx: bool,
    /// The hosts, by preference.
    pub hosts: Vec<MxHost>,
    /// Without MX, the A/AAAA of the domain itself (RFC 5321 §5.1 implicit MX).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub implicit: Vec<DnsLookup>,
}

/// One MX host and its addresses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MxHost {
    /// The preference.
    pub preference: u16,
    /// The host name, without the trailing dot.
    pub name: String,
    /// The A and AAAA questions.
    pub lookups: Vec<DnsLookup>,
    /// The addresses found.
    pub addresses: Vec<IpAddr>,
}

/// One SRV service label (`_submissions._tcp`, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SrvObservation {
    /// The service label, e.g. `_submissions._tcp`.
    pub service: String,
    /// The SRV question.
    pub lookup: DnsLookup,
    /// The targets; a single target `.` means "not offered" (RFC 2782).
    pub targets: Vec<SrvTarget>,
}

/// One SRV target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SrvTarget {
    /// Priority.
    pub priority: u16,
    /// Weight.
    pub weight: u16,
    /// Port.
    pub port: u16,
    /// Target host, without the trailing dot ("" for `.`).
    pub target: String,
    /// The A and AAAA questions.
    pub lookups: Vec<DnsLookup>,
    /// The addresses found.
    pub addresses: Vec<IpAddr>,
}

/// Forward-confirmed reverse DNS of one MX address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FcrdnsObservation {
    /// The MX host.
    pub host: String,
    /// The address.
    pub address: IpAddr,
    /// The PTR question.
    pub ptr: DnsLookup,
    /// The forward questions of each PTR name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forward: Vec<DnsLookup>,
    /// The PTR names whose forward lookup contains the address.
    pub confirmed: Vec<String>,
}
