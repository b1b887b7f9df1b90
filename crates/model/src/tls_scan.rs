//! The TLS enumeration of one endpoint: which protocol versions, cipher
//! suites, key-exchange groups, certificate key types and TLS features the
//! server accepts, learned from hand-built ClientHellos.
//!
//! Everything here is **hello-level evidence**: the server answered a
//! ClientHello with a ServerHello (or a HelloRetryRequest) choosing that
//! version, suite or group. That proves the server is willing to negotiate
//! it, not that a handshake with it completes. Only the modern handshake of
//! the foundation ([`crate::TlsHandshake::completed`]) proves that TLS works;
//! the version and suite it negotiated carry [`Proof::Handshake`] here.

use serde::{Deserialize, Serialize};

use crate::{CipherSuiteId, PublicKeyInfo, TlsVersion};

/// How thoroughly the enumeration ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TlsScanMode {
    /// Every version, every suite per version (accepted + 1 probes each),
    /// server order, groups, certificate key types and features.
    Full,
    /// Versions, then one probe per weak suite class found (NULL, anonymous,
    /// EXPORT, RC4, DES, 3DES, no forward secrecy) and the features: every
    /// security question, not every suite.
    Quick,
}

impl TlsScanMode {
    /// `full` or `quick`.
    pub fn as_str(self) -> &'static str {
        match self {
            TlsScanMode::Full => "full",
            TlsScanMode::Quick => "quick",
        }
    }
}

/// What the enumeration found at one endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TlsScan {
    /// Full or quick.
    pub mode: TlsScanMode,
    /// One entry per protocol version, SSLv2 to TLSv1.3, in that order.
    pub versions: Vec<VersionScan>,
    /// The certificate key types the server authenticates with (RSA and
    /// ECDSA both, when it has two certificates); omitted when none was seen.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certificate_keys: Vec<CertificateKey>,
    /// Protocol features read from the ServerHellos.
    pub features: TlsFeatures,
    /// ClientHellos sent (each on its own connection).
    pub probes: u32,
    /// TCP connections opened for the enumeration (probes plus retries).
    pub connections: u32,
    /// Wall time of the enumeration, in milliseconds.
    pub duration_ms: u64,
}

/// What the server did with one protocol version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionScan {
    /// The version.
    pub version: TlsVersion,
    /// Accepted, refused, or why it is not known.
    pub status: SupportStatus,
    /// For an accepted version: what proves it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<Proof>,
    /// Why a version is refused or not known ("alert protocol_version",
    /// "answered TLSv1.2 to a TLSv1.3 offer", "throttled: 421 ...").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The suites the server chose for this version, in the order it chose
    /// them (its preference order when `server_order` is `server`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suites: Vec<AcceptedSuite>,
    /// True when every candidate suite was offered until the server refused
    /// the rest: `suites` is then the whole list. False in quick mode and
    /// when the enumeration was cut short.
    pub suites_complete: bool,
    /// Whether the server imposes its own suite order; omitted when fewer
    /// than two suites are known or it was not tested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_order: Option<CipherOrder>,
    /// SSL 2.0 only: the cipher kinds of the SERVER-HELLO.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sslv2_ciphers: Vec<Sslv2Cipher>,
    /// Key-exchange groups the server chose at this version: for TLSv1.3
    /// from HelloRetryRequest/key_share, for older versions the ECDHE
    /// curves of ServerKeyExchange. Omitted when not enumerated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<GroupScan>,
}

impl VersionScan {
    /// An entry with nothing known yet.
    pub fn new(version: TlsVersion, status: SupportStatus) -> Self {
        VersionScan {
            version,
            status,
            proof: None,
            detail: None,
            suites: Vec::new(),
            suites_complete: false,
            server_order: None,
            sslv2_ciphers: Vec::new(),
            groups: None,
        }
    }

    /// True when the server accepted the version.
    pub fn accepted(&self) -> bool {
        self.status == SupportStatus::Accepted
    }
}

/// Whether a version (or a probe) found support.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SupportStatus {
    /// The server chose it in a ServerHello (or HelloRetryRequest).
    Accepted,
    /// The server answered, and not with it (alert, lower version, close).
    Refused,
    /// Not asked (quick mode skips nothing here; kept for partial scans).
    NotTested,
    /// The server refused service for load reasons on every retry: not known.
    Throttled,
    /// The probe failed (timeout, reset, not TLS): not known.
    Error,
}

impl SupportStatus {
    /// Kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            SupportStatus::Accepted => "accepted",
            SupportStatus::Refused => "refused",
            SupportStatus::NotTested => "not-tested",
            SupportStatus::Throttled => "throttled",
            SupportStatus::Error => "error",
        }
    }
}

/// What proves that a version or suite is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Proof {
    /// Only a ServerHello (or HelloRetryRequest): the server chose it, but no
    /// handshake with it was completed.
    ServerHello,
    /// The modern handshake of the scan completed with it.
    Handshake,
}

/// Who decides the suite when a client offers several.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CipherOrder {
    /// The server's preference wins: `suites` is in the server's order.
    Server,
    /// The client's order wins.
    Client,
}

/// A suite the server chose, with its classification from the IANA registry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AcceptedSuite {
    /// Code point and IANA name.
    #[serde(flatten)]
    pub id: CipherSuiteId,
    /// Key exchange: `ECDHE`, `DHE`, `RSA`, `DH_anon`, `TLS13`, ...
    pub kx: String,
    /// Authentication: `RSA`, `ECDSA`, `DSS`, `NULL` (anonymous), `TLS13`, ...
    pub auth: String,
    /// Bulk cipher: `AES_GCM`, `CHACHA20_POLY1305`, `3DES_EDE_CBC`, `RC4`, ...
    pub cipher: String,
    /// Nominal key bits of the cipher.
    pub bits: u16,
    /// MAC: `AEAD`, `SHA1`, `SHA256`, `MD5`, ...
    pub mac: String,
    /// Properties worth a finding (and `forward-secrecy`, `aead`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<SuiteFlag>,
    /// ServerHello only, or a completed handshake.
    pub proof: Proof,
    /// DHE suites: the size of the server's prime `dh_p` (ServerKeyExchange).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dh_bits: Option<u32>,
    /// ECDHE suites of TLSv1.2 and older: the curve of ServerKeyExchange.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecdh_group: Option<GroupId>,
}

impl AcceptedSuite {
    /// True when the suite has `flag`.
    pub fn has(&self, flag: SuiteFlag) -> bool {
        self.flags.contains(&flag)
    }
}

/// A classification of a cipher suite (the registry's flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SuiteFlag {
    /// No encryption.
    Null,
    /// No server authentication.
    Anonymous,
    /// Export-grade (40/56-bit cipher or 512-bit key exchange).
    Export,
    /// RC4 (RFC 7465).
    Rc4,
    /// Single DES.
    Des,
    /// Triple DES (64-bit block: Sweet32).
    #[serde(rename = "3des")]
    TripleDes,
    /// A block cipher in CBC mode.
    Cbc,
    /// HMAC-SHA-1.
    Sha1Mac,
    /// HMAC-MD5.
    Md5Mac,
    /// Ephemeral, authenticated key exchange.
    ForwardSecrecy,
    /// An AEAD cipher.
    Aead,
}

impl SuiteFlag {
    /// The kebab-case name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            SuiteFlag::Null => "null",
            SuiteFlag::Anonymous => "anonymous",
            SuiteFlag::Export => "export",
            SuiteFlag::Rc4 => "rc4",
            SuiteFlag::Des => "des",
            SuiteFlag::TripleDes => "3des",
            SuiteFlag::Cbc => "cbc",
            SuiteFlag::Sha1Mac => "sha1-mac",
            SuiteFlag::Md5Mac => "md5-mac",
            SuiteFlag::ForwardSecrecy => "forward-secrecy",
            SuiteFlag::Aead => "aead",
        }
    }
}

/// A key-exchange group: code point and IANA name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GroupId {
    /// The code point, e.g. `0x001d`.
    pub code: u16,
    /// The IANA name, e.g. `x25519`, `X25519MLKEM768`; absent when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl std::fmt::Display for GroupId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.name {
            Some(n) => f.write_str(n),
            None => write!(f, "0x{:04x}", self.code),
        }
    }
}

/// The groups accepted at one version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupScan {
    /// In the order the server chose them.
    pub groups: Vec<GroupId>,
    /// True when every candidate group was offered until the server refused the rest.
    pub complete: bool,
}

/// An SSL 2.0 cipher kind of a SERVER-HELLO.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sslv2Cipher {
    /// The three-byte code, e.g. `0x010080`.
    pub code: u32,
    /// The spec name, e.g. `SSL_CK_RC4_128_WITH_MD5`; absent when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A certificate key type the server authenticates with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CertificateKey {
    /// `rsa`, `ecdsa`, `dsa` (from the suite's authentication or the
    /// TLSv1.3 signature algorithms offered).
    pub key_type: String,
    /// The versions at which the server chose it.
    pub versions: Vec<TlsVersion>,
    /// The leaf's key, when its certificate was seen (TLSv1.2 and older
    /// send it in clear).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<PublicKeyInfo>,
    /// SHA-256 fingerprint of that leaf, lowercase hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// TLS features, from the extensions of the ServerHellos of TLSv1.2 and
/// older (TLSv1.3 moved them into encrypted messages). `None`: not
/// determined (e.g. no ServerHello of TLSv1.2 or older was seen).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TlsFeatures {
    /// renegotiation_info in the ServerHello (RFC 5746).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secure_renegotiation: Option<bool>,
    /// The server chose DEFLATE when it was offered (CRIME).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<bool>,
    /// extended_master_secret acknowledged (RFC 7627).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extended_master_secret: Option<bool>,
    /// encrypt_then_mac acknowledged with a CBC suite (RFC 7366); only
    /// determined when a CBC suite was chosen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypt_then_mac: Option<bool>,
    /// session_ticket acknowledged (RFC 5077).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_ticket: Option<bool>,
    /// A CertificateStatus (stapled OCSP response) was sent (RFC 6066 §8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ocsp_stapling: Option<bool>,
    /// The heartbeat extension was acknowledged (RFC 6520).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat: Option<bool>,
    /// TLS_FALLBACK_SCSV (RFC 7507), tested when two or more versions are
    /// accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_scsv: Option<FallbackScsv>,
    /// The Heartbleed check (CVE-2014-0160), made when heartbeat is acknowledged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbleed: Option<HeartbleedCheck>,
}

/// The answer to a lower-version hello carrying TLS_FALLBACK_SCSV.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FallbackScsv {
    /// The highest version the probe offered (below the server's best).
    pub offered_version: TlsVersion,
    /// What the server did.
    pub outcome: FallbackOutcome,
    /// The alert received, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<u8>,
    /// What happened, in words.
    pub detail: String,
}

/// The outcome of the fallback probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FallbackOutcome {
    /// inappropriate_fallback: the server detects downgrades.
    Refused,
    /// A ServerHello at the lower version: the SCSV is ignored.
    Accepted,
    /// Another alert, a close or a timeout: not determined.
    Inconclusive,
}

/// The Heartbleed check: a heartbeat request whose `payload_length` claims
/// more bytes than it carries, sent after ServerHelloDone.
///
/// Read-only: the bytes a vulnerable server returns are counted and thrown
/// away, never stored or printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeartbleedCheck {
    /// The version of the probe.
    pub version: TlsVersion,
    /// Vulnerable, not vulnerable, or not determined.
    pub outcome: HeartbleedOutcome,
    /// The `payload_length` the request claimed.
    pub requested_length: u16,
    /// The payload bytes the request actually carried.
    pub sent_length: u16,
    /// Payload bytes the server returned in heartbeat responses to the
    /// oversized request (its memory, discarded unread).
    pub echoed_bytes: u32,
    /// What happened, in words.
    pub detail: String,
}

/// The outcome of the Heartbleed check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HeartbleedOutcome {
    /// The server answered the oversized request with more bytes than sent.
    Vulnerable,
    /// The server ignored or refused the oversized request.
    NotVulnerable,
    /// The check could not be completed.
    Inconclusive,
}

impl TlsScan {
    /// The entry of `version`, if the scan has one.
    pub fn version(&self, version: TlsVersion) -> Option<&VersionScan> {
        self.versions.iter().find(|v| v.version == version)
    }

    /// The versions accepted, oldest first.
    pub fn accepted_versions(&self) -> impl Iterator<Item = &VersionScan> {
        self.versions.iter().filter(|v| v.accepted())
    }

    /// Every accepted suite with the version it was chosen at.
    pub fn accepted_suites(&self) -> impl Iterator<Item = (TlsVersion, &AcceptedSuite)> {
        self.versions
            .iter()
            .flat_map(|v| v.suites.iter().map(move |s| (v.version, s)))
    }

    /// Marks what the modern handshake of the scan completed with as
    /// [`Proof::Handshake`].
    pub fn mark_completed_handshake(&mut self, version: TlsVersion, suite: Option<u16>) {
        for v in self.versions.iter_mut().filter(|v| v.version == version) {
            if v.accepted() {
                v.proof = Some(Proof::Handshake);
            }
            for s in v.suites.iter_mut().filter(|s| Some(s.id.code) == suite) {
                s.proof = Proof::Handshake;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn suite(code: u16, flags: Vec<SuiteFlag>) -> AcceptedSuite {
        AcceptedSuite {
            id: CipherSuiteId {
                code,
                name: Some("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256".to_owned()),
            },
            kx: "ECDHE".to_owned(),
            auth: "RSA".to_owned(),
            cipher: "AES_GCM".to_owned(),
            bits: 128,
            mac: "AEAD".to_owned(),
            flags,
            proof: Proof::ServerHello,
            dh_bits: None,
            ecdh_group: Some(GroupId {
                code: 0x1d,
                name: Some("x25519".to_owned()),
            }),
        }
    }

    #[test]
    fn json_shape_of_a_version() {
        let mut v = VersionScan::new(TlsVersion::TLS12, SupportStatus::Accepted);
        v.proof = Some(Proof::ServerHello);
        v.suites = vec![suite(
            0xc02f,
            vec![SuiteFlag::ForwardSecrecy, SuiteFlag::Aead],
        )];
        v.suites_complete = true;
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "version": "TLSv1.2",
                "status": "accepted",
                "proof": "server-hello",
                "suites": [{
                    "code": 0xc02f,
                    "name": "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                    "kx": "ECDHE", "auth": "RSA", "cipher": "AES_GCM", "bits": 128,
                    "mac": "AEAD", "flags": ["forward-secrecy", "aead"],
                    "proof": "server-hello",
                    "ecdh_group": {"code": 29, "name": "x25519"}
                }],
                "suites_complete": true
            })
        );
        let back: VersionScan = serde_json::from_value(json).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn triple_des_is_spelled_3des() {
        assert_eq!(
            serde_json::to_string(&SuiteFlag::TripleDes).unwrap(),
            "\"3des\""
        );
        assert_eq!(SuiteFlag::TripleDes.as_str(), "3des");
    }

    #[test]
    fn the_completed_handshake_is_marked() {
        let mut v = VersionScan::new(TlsVersion::TLS13, SupportStatus::Accepted);
        v.proof = Some(Proof::ServerHello);
        v.suites = vec![suite(0x1301, vec![]), suite(0x1302, vec![])];
        let mut scan = TlsScan {
            mode: TlsScanMode::Full,
            versions: vec![v],
            certificate_keys: Vec::new(),
            features: TlsFeatures::default(),
            probes: 3,
            connections: 3,
            duration_ms: 1,
        };
        scan.mark_completed_handshake(TlsVersion::TLS13, Some(0x1302));
        let v = scan.version(TlsVersion::TLS13).unwrap();
        assert_eq!(v.proof, Some(Proof::Handshake));
        assert_eq!(v.suites[0].proof, Proof::ServerHello);
        assert_eq!(v.suites[1].proof, Proof::Handshake);
        assert_eq!(scan.accepted_suites().count(), 2);
    }
}
