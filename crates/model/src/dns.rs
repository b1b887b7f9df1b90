//! What `mailwarden dns` (and `scan DOMAIN`) observed about a mail domain:
//! each DNS answer with its outcome and DNSSEC status, the records parsed
//! from it, the MTA-STS policy fetched over HTTPS, and the DANE and MTA-STS
//! checks of the certificates the MX hosts really presented.
//!
//! Facts only. A lookup that timed out is a [`DnsOutcome::Timeout`], never an
//! empty answer: the rules turn it into "not assessed", not "no record".

use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};

use crate::{Attempt, TlsHandshake};

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

/// A syntax error in a record, at a byte offset of its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyntaxError {
    /// Byte offset in the record text (0-based).
    pub position: usize,
    /// What is wrong.
    pub message: String,
}

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
