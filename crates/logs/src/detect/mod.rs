//! Detectors over normalized events, per source (an IPv4 address or an IPv6
//! /64) and across ports and servers: brute force, password spraying,
//! distributed attacks on one account, scanning, relay probing, TLS failures
//! and downgrade attempts, protocol-violation bursts, rate limiting, success
//! after a run of failures, and sending spikes of authenticated accounts.
//!
//! Windows are in log time (the timestamps of the lines), so a file read
//! today gives the same answer as the live stream did. State is kept per
//! active source and account and expires with the longest window: memory
//! grows with the number of sources active at once (plus the alerted ones,
//! kept for the summary), not with the size of the input.

mod dedup;
mod engine;
mod state;
mod summary;
mod thresholds;

use std::fmt;
use std::net::IpAddr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

pub use engine::Engine;
pub use summary::{Counts, SourceSummary};
pub use thresholds::{Rule, Thresholds, VolumeRule};

use crate::event::LineRef;

/// How bad an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing.
    Low,
    /// Probably hostile.
    Medium,
    /// Hostile.
    High,
    /// An account is probably compromised.
    Critical,
}

impl Severity {
    /// Parses `low`, `medium`, `high`, `critical`.
    pub fn parse(s: &str) -> Option<Severity> {
        Some(match s {
            "low" => Severity::Low,
            "medium" => Severity::Medium,
            "high" => Severity::High,
            "critical" => Severity::Critical,
            _ => return None,
        })
    }

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// The detectors, by stable kebab-case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Detector {
    /// Many failed logins on one account from one source.
    BruteForce,
    /// Failed logins on many accounts from one source.
    PasswordSpraying,
    /// Many sources failing on one account.
    DistributedAttack,
    /// Idle sessions on several ports, or many of them.
    Scanning,
    /// Relay attempts refused.
    RelayProbing,
    /// Repeated TLS handshake failures.
    TlsFailures,
    /// Handshakes offering only old protocol versions or weak ciphers.
    TlsDowngrade,
    /// A burst of protocol violations.
    ProtocolViolations,
    /// Repeatedly throttled by the server.
    RateLimited,
    /// A login succeeded after a run of failures: possible compromise.
    SuccessAfterFailures,
    /// An authenticated account's sending volume or recipient spread jumped.
    SendingSpike,
}

impl Detector {
    /// Every detector, in report order.
    pub const ALL: [Detector; 11] = [
        Detector::SuccessAfterFailures,
        Detector::SendingSpike,
        Detector::BruteForce,
        Detector::PasswordSpraying,
        Detector::DistributedAttack,
        Detector::RelayProbing,
        Detector::Scanning,
        Detector::ProtocolViolations,
        Detector::TlsDowngrade,
        Detector::TlsFailures,
        Detector::RateLimited,
    ];

    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Detector::BruteForce => "brute-force",
            Detector::PasswordSpraying => "password-spraying",
            Detector::DistributedAttack => "distributed-attack",
            Detector::Scanning => "scanning",
            Detector::RelayProbing => "relay-probing",
            Detector::TlsFailures => "tls-failures",
            Detector::TlsDowngrade => "tls-downgrade",
            Detector::ProtocolViolations => "protocol-violations",
            Detector::RateLimited => "rate-limited",
            Detector::SuccessAfterFailures => "success-after-failures",
            Detector::SendingSpike => "sending-spike",
        }
    }

    /// Its severity.
    pub fn severity(self) -> Severity {
        match self {
            Detector::SuccessAfterFailures => Severity::Critical,
            Detector::BruteForce
            | Detector::PasswordSpraying
            | Detector::DistributedAttack
            | Detector::RelayProbing
            | Detector::SendingSpike => Severity::High,
            Detector::Scanning | Detector::ProtocolViolations | Detector::TlsDowngrade => {
                Severity::Medium
            }
            Detector::TlsFailures | Detector::RateLimited => Severity::Low,
        }
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// A source as detectors see it: an IPv4 address, or an IPv6 prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SourceKey {
    /// One IPv4 address.
    V4(std::net::Ipv4Addr),
    /// An IPv6 network (address masked to the prefix, prefix length).
    V6(std::net::Ipv6Addr, u8),
}

impl SourceKey {
    /// The key of an address under an IPv6 prefix length.
    pub fn of(addr: IpAddr, v6_prefix: u8) -> SourceKey {
        match addr {
            IpAddr::V4(v4) => SourceKey::V4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => SourceKey::V4(v4),
                None => {
                    let prefix = v6_prefix.min(128);
                    let mask = u128::MAX.checked_shl(u32::from(128 - prefix)).unwrap_or(0);
                    SourceKey::V6((u128::from(v6) & mask).into(), prefix)
                }
            },
        }
    }

    /// Whether this is an IPv4 source.
    pub fn is_v4(&self) -> bool {
        matches!(self, SourceKey::V4(_))
    }
}

/// One or two words per key (the derived hash writes a discriminant, a
/// length and the octets apart): every event of a tracked source hashes it.
impl std::hash::Hash for SourceKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        match self {
            SourceKey::V4(a) => state.write_u64(u64::from(a.to_bits()) | 1 << 40),
            SourceKey::V6(a, prefix) => {
                state.write_u128(a.to_bits());
                state.write_u8(*prefix);
            }
        }
    }
}

impl fmt::Display for SourceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceKey::V4(a) => write!(f, "{a}"),
            SourceKey::V6(a, 128) => write!(f, "{a}"),
            SourceKey::V6(a, p) => write!(f, "{a}/{p}"),
        }
    }
}

impl Serialize for SourceKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One alert: a detector fired for a source.
///
/// JSON: `{"alert":"brute-force","severity":"high","source":"192.0.2.8","time":"...",
/// "first_seen":"...","count":5,"window_secs":600,"users":["alice"],"services":["imap"],
/// "message":"...","evidence":[{"file":"mail.log","line":12}, ...]}`
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    /// Which detector.
    pub alert: Detector,
    /// Its severity.
    pub severity: Severity,
    /// The source (IPv4 address or IPv6 prefix).
    pub source: SourceKey,
    /// Time of the event that crossed the threshold.
    pub time: Option<Timestamp>,
    /// When the source was first seen.
    pub first_seen: Option<Timestamp>,
    /// The count that crossed the threshold.
    pub count: u32,
    /// The window it was counted in.
    pub window_secs: u64,
    /// Accounts involved (a sample).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<Box<str>>,
    /// Services and ports touched by the source so far.
    pub services: Vec<Box<str>>,
    /// One sentence for people.
    pub message: String,
    /// The lines that support it (the most recent ones, at most 20).
    pub evidence: Vec<LineRef>,
}
