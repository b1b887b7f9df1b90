//! Observations of one TLS handshake.

use serde::{Deserialize, Serialize};

use crate::{CertificateChain, Failure};

/// A TLS (or SSL) protocol version, by its wire value.
///
/// Serialized as its name ("TLSv1.2"); unknown values as "0xNNNN".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TlsVersion(pub u16);

impl TlsVersion {
    /// SSL 2.0 (wire value as used in SSLv2 records).
    pub const SSL2: TlsVersion = TlsVersion(0x0002);
    /// SSL 3.0.
    pub const SSL3: TlsVersion = TlsVersion(0x0300);
    /// TLS 1.0.
    pub const TLS10: TlsVersion = TlsVersion(0x0301);
    /// TLS 1.1.
    pub const TLS11: TlsVersion = TlsVersion(0x0302);
    /// TLS 1.2.
    pub const TLS12: TlsVersion = TlsVersion(0x0303);
    /// TLS 1.3.
    pub const TLS13: TlsVersion = TlsVersion(0x0304);

    /// The conventional name, or `None` for an unknown wire value.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            TlsVersion::SSL2 => "SSLv2",
            TlsVersion::SSL3 => "SSLv3",
            TlsVersion::TLS10 => "TLSv1.0",
            TlsVersion::TLS11 => "TLSv1.1",
            TlsVersion::TLS12 => "TLSv1.2",
            TlsVersion::TLS13 => "TLSv1.3",
            _ => return None,
        })
    }

    fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "SSLv2" => TlsVersion::SSL2,
            "SSLv3" => TlsVersion::SSL3,
            "TLSv1.0" => TlsVersion::TLS10,
            "TLSv1.1" => TlsVersion::TLS11,
            "TLSv1.2" => TlsVersion::TLS12,
            "TLSv1.3" => TlsVersion::TLS13,
            _ => {
                let hex = s.strip_prefix("0x")?;
                TlsVersion(u16::from_str_radix(hex, 16).ok()?)
            }
        })
    }
}

impl std::fmt::Display for TlsVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "0x{:04x}", self.0),
        }
    }
}

impl Serialize for TlsVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TlsVersion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        TlsVersion::from_name(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown TLS version {s:?}")))
    }
}

/// A cipher suite: its IANA code point and, when known, its IANA name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CipherSuiteId {
    /// The two-byte code point, e.g. `0x1301`.
    pub code: u16,
    /// The IANA name, e.g. `TLS_AES_128_GCM_SHA256`; absent when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl std::fmt::Display for CipherSuiteId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.name {
            Some(n) => f.write_str(n),
            None => write!(f, "0x{:04x}", self.code),
        }
    }
}

/// One TLS handshake attempt, as made by a modern client (TLS 1.2 and 1.3,
/// the default suites of rustls).
///
/// `completed` is the only proof that TLS works: a server may send its
/// ServerHello and certificate and still fail the handshake, in which case the
/// certificate chain is still recorded here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TlsHandshake {
    /// True when the handshake completed (both Finished messages verified).
    pub completed: bool,
    /// Why it failed, when it did not complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// The TLS alert the server sent, if any (RFC 8446 §6 code).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_received: Option<u8>,
    /// The negotiated version (completed handshakes only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<TlsVersion>,
    /// The negotiated cipher suite (completed handshakes only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cipher_suite: Option<CipherSuiteId>,
    /// The key-exchange group, e.g. "X25519MLKEM768" (completed handshakes only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_exchange_group: Option<String>,
    /// Whether the server's handshake signature (ServerKeyExchange or
    /// CertificateVerify) verified with the leaf key: `false` for keys the
    /// verifier refuses (e.g. RSA under 2048 bits) — the handshake still
    /// completes so the weak key can be reported; `None` when none was checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_signature_valid: Option<bool>,
    /// The certificate chain the server presented, even when the handshake failed later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_chain: Option<CertificateChain>,
    /// When the modern handshake failed: what a legacy client offering
    /// TLS 1.0 to 1.2 with a broad suite list gets from the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legacy_hello: Option<LegacyHello>,
    /// Wall time of the handshake, in milliseconds.
    pub duration_ms: u64,
}

/// The server's answer to a raw legacy ClientHello (TLS 1.0 to 1.2, broad suite
/// list): only a hello exchange, never a completed handshake.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LegacyHello {
    /// The version the server chose, when it sent a ServerHello.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<TlsVersion>,
    /// The suite the server chose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cipher_suite: Option<CipherSuiteId>,
    /// The alert the server answered with instead, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<u8>,
    /// Failure to get any answer (timeout, reset, not TLS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
}
