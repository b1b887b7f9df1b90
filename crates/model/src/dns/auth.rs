//! Sender authentication records of a domain: SPF (with its include and
//! redirect tree and `check_host()` results), DMARC and DKIM keys.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::{DnsLookup, SyntaxError};

/// SPF of the domain: the record, its include/redirect tree with the lookup
/// counts, and `check_host` results for the MX and declared addresses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpfObservation {
    /// The TXT question at the domain.
    pub lookup: DnsLookup,
    /// Every TXT string that starts with `v=spf1`.
    pub records: Vec<String>,
    /// Syntax errors of the record (only when exactly one exists).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<SyntaxError>,
    /// The terms of the record, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub terms: Vec<SpfTerm>,
    /// The include/redirect tree walked statically.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expansion: Option<SpfExpansion>,
    /// `check_host()` results.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<SpfCheck>,
}

/// One term of an SPF record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpfTerm {
    /// The term as written.
    pub text: String,
    /// Byte offset in the record.
    pub position: usize,
    /// `all`, `include`, `a`, `mx`, `ptr`, `ip4`, `ip6`, `exists`,
    /// `redirect`, `exp`, or another modifier's name.
    pub kind: String,
    /// `+`, `-`, `~`, `?` for mechanisms; absent for modifiers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qualifier: Option<char>,
}

/// The SPF tree walked without an address: every include and redirect
/// followed, DNS-querying terms counted (RFC 7208 §4.6.4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpfExpansion {
    /// Terms causing a DNS query (include, a, mx, ptr, exists, redirect),
    /// across the whole tree; over 10 is a permerror.
    pub dns_lookups: u32,
    /// Lookups that returned NXDOMAIN or NODATA; over 2 is a permerror.
    pub void_lookups: u32,
    /// Each record reached, depth first.
    pub nodes: Vec<SpfNode>,
    /// Domains reached again while already on the path (include loops).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub loops: Vec<String>,
    /// `ptr` mechanisms, anywhere in the tree.
    pub ptr_terms: u32,
}

/// One record in the SPF tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpfNode {
    /// The domain whose record this is.
    pub domain: String,
    /// Depth (0 = the domain itself).
    pub depth: u32,
    /// How it was reached: "record", "include" or "redirect".
    pub via: String,
    /// The TXT question.
    pub lookup: DnsLookup,
    /// The SPF record found (none, or the first of several).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    /// How many SPF records were there.
    pub record_count: u32,
    /// Syntax errors of this record.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<SyntaxError>,
}

/// The result of `check_host()` (RFC 7208 §2.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SpfResult {
    /// No record.
    None,
    /// `?` matched, or nothing matched without a default.
    Neutral,
    /// Authorized.
    Pass,
    /// Not authorized.
    Fail,
    /// `~`: probably not authorized.
    Softfail,
    /// A transient DNS error.
    Temperror,
    /// The record is broken (syntax, limits, loops, several records).
    Permerror,
}

impl SpfResult {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            SpfResult::None => "none",
            SpfResult::Neutral => "neutral",
            SpfResult::Pass => "pass",
            SpfResult::Fail => "fail",
            SpfResult::Softfail => "softfail",
            SpfResult::Temperror => "temperror",
            SpfResult::Permerror => "permerror",
        }
    }
}

/// One `check_host()` evaluation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpfCheck {
    /// Why this case was evaluated: "mx", "outbound" or "cli".
    pub purpose: String,
    /// The client address.
    pub ip: IpAddr,
    /// The sender (MAIL FROM, or `postmaster@HELO`).
    pub sender: String,
    /// The HELO name, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helo: Option<String>,
    /// The result.
    pub result: SpfResult,
    /// The term that decided it (`domain: term`), or the error.
    pub reason: String,
    /// DNS-querying terms evaluated.
    pub dns_lookups: u32,
    /// Void lookups met.
    pub void_lookups: u32,
}

/// DMARC of the domain (RFC 7489).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DmarcObservation {
    /// The TXT question at `_dmarc.<domain>`.
    pub lookup: DnsLookup,
    /// The organizational domain (public suffix list, RFC 7489 §3.2).
    pub organizational_domain: String,
    /// The TXT question at `_dmarc.<organizational domain>`, when the
    /// domain has none and is not itself the organizational domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_lookup: Option<DnsLookup>,
    /// The record that applies (`v=DMARC1` strings at the chosen name).
    pub records: Vec<String>,
    /// Where the record was found: the domain or its organizational domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub found_at: Option<String>,
    /// Parsed tags, when exactly one record exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<DmarcPolicy>,
    /// Syntax errors.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<SyntaxError>,
    /// External report destinations and their authorization (RFC 7489 §7.1).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub external_destinations: Vec<DmarcExternalDestination>,
}

/// The tags of a DMARC record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DmarcPolicy {
    /// `p`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p: Option<String>,
    /// `sp` (defaults to `p`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sp: Option<String>,
    /// `pct` (default 100).
    pub pct: u8,
    /// `rua` URIs.
    pub rua: Vec<String>,
    /// `ruf` URIs.
    pub ruf: Vec<String>,
    /// `adkim` (r or s).
    pub adkim: String,
    /// `aspf` (r or s).
    pub aspf: String,
    /// Every tag as written, in order.
    pub tags: Vec<(String, String)>,
}

/// One report destination outside the organizational domain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DmarcExternalDestination {
    /// The URI as written.
    pub uri: String,
    /// The destination's domain.
    pub domain: String,
    /// The question at `<domain>._report._dmarc.<destination>`.
    pub lookup: DnsLookup,
    /// True when a `v=DMARC1` record authorizes it.
    pub authorized: bool,
}

/// One DKIM selector's key record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DkimObservation {
    /// The selector.
    pub selector: String,
    /// Where it came from: "given" (`--dkim-selector`) or "common" (a guess).
    pub source: String,
    /// The TXT question at `<selector>._domainkey.<domain>`.
    pub lookup: DnsLookup,
    /// The key, when a record was found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<DkimKey>,
}

/// The facts of a DKIM key record (RFC 6376 §3.6.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DkimKey {
    /// The record text.
    pub record: String,
    /// `k=` (default rsa).
    pub key_type: String,
    /// Key size in bits, when the key parsed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bits: Option<u32>,
    /// True for an empty `p=`: the key is revoked.
    pub revoked: bool,
    /// `t=y`: the domain is testing DKIM.
    pub testing: bool,
    /// `t=s`: no subdomains.
    pub strict: bool,
    /// `h=` acceptable hash algorithms, when restricted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hashes: Vec<String>,
    /// Syntax or key errors.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<SyntaxError>,
}
