//! Observations of a certificate chain presented in a TLS handshake.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The chain a server presented, with the validation facts computed from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CertificateChain {
    /// The certificates in the order the server sent them (leaf first).
    pub certificates: Vec<Certificate>,
    /// Path validation against the trust anchors.
    pub validation: ChainValidation,
    /// Name check of the leaf against the name the user scanned.
    pub name_check: NameCheck,
}

impl CertificateChain {
    /// The end-entity certificate, if any certificate was sent.
    pub fn leaf(&self) -> Option<&Certificate> {
        self.certificates.first()
    }
}

/// Parsed facts of one X.509 certificate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Certificate {
    /// Subject distinguished name (RFC 4514 string).
    pub subject: String,
    /// Issuer distinguished name (RFC 4514 string).
    pub issuer: String,
    /// Serial number, hex.
    pub serial: String,
    /// Start of validity; absent when the certificate could not be parsed that far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<Timestamp>,
    /// End of validity; absent when the certificate could not be parsed that far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<Timestamp>,
    /// DNS names from subjectAltName.
    pub dns_names: Vec<String>,
    /// IP addresses from subjectAltName.
    pub ip_addresses: Vec<String>,
    /// The subject's public key.
    pub public_key: PublicKeyInfo,
    /// Signature algorithm name, e.g. "sha256WithRSAEncryption" (or the OID when unknown).
    pub signature_algorithm: String,
    /// True when subject equals issuer and the signature verifies with the certificate's own key.
    pub self_signed: bool,
    /// True when basicConstraints says CA.
    pub is_ca: bool,
    /// SHA-256 fingerprint of the DER encoding, lowercase hex.
    pub sha256: String,
    /// The DER encoding, base64 (so a stored scan can be re-validated).
    pub der_base64: String,
    /// Why the certificate could not be fully parsed, if it could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parse_error: Option<String>,
}

/// A public key's algorithm and strength.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicKeyInfo {
    /// "rsa", "ecdsa", "ed25519", "ed448", "dsa", or the OID when unknown.
    pub algorithm: String,
    /// Key size in bits (modulus for RSA, field size for EC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bits: Option<u32>,
    /// Named curve for EC keys, e.g. "P-256".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub curve: Option<String>,
}

/// Result of path validation (rustls-webpki) at the time of the scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainValidation {
    /// True when a path to a trust anchor was built and every certificate is valid now.
    pub trusted: bool,
    /// The validation error when not trusted: one of the stable names listed in
    /// `mailwarden_cert::VALIDATION_ERRORS` (`unknown-issuer`, `expired`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Which anchors were used: "mozilla" and/or "ca-file:PATH".
    pub anchors: Vec<String>,
    /// The instant validation was evaluated at.
    pub checked_at: Timestamp,
}

/// Whether the leaf certificate is valid for the name the user scanned
/// (RFC 6125 / RFC 7817: a wildcard only as the whole left-most label).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameCheck {
    /// The name checked (the scanned host name, `--name`, or the IP literal).
    pub name: String,
    /// True when a SAN (or, without SANs, nothing: the CN is never used) matches.
    pub matched: bool,
    /// The SAN entry that matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matched_by: Option<String>,
}
