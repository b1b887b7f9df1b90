//! TLS baselines: versioned data files (`baselines/ID.vREVISION.toml`, with a
//! `CHANGELOG.md`) saying which protocol versions, suite classes or suites,
//! key sizes, groups and TLS features a published guideline allows.
//!
//! A policy names one as `baseline = "ID"` (latest revision) or `"ID@REV"`
//! (pinned). The files are embedded at build time; [`Baseline::all`] lists them.

use std::sync::OnceLock;

use mailwarden_model::{SuiteFlag, TlsVersion};
use serde::Deserialize;

/// The embedded files, in catalogue order: (file name, text).
const FILES: [(&str, &str); 4] = [
    (
        "rfc8314.v1.toml",
        include_str!("../baselines/rfc8314.v1.toml"),
    ),
    (
        "mozilla-intermediate.v1.toml",
        include_str!("../baselines/mozilla-intermediate.v1.toml"),
    ),
    (
        "bsi-tr-03108.v1.toml",
        include_str!("../baselines/bsi-tr-03108.v1.toml"),
    ),
    (
        "nist-800-177.v1.toml",
        include_str!("../baselines/nist-800-177.v1.toml"),
    ),
];

/// The changelog of the baseline files.
pub const CHANGELOG: &str = include_str!("../baselines/CHANGELOG.md");

/// One revision of a published TLS guideline, as data.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// Stable id, e.g. `rfc8314`.
    pub id: String,
    /// Revision of our data file (see `CHANGELOG.md`).
    pub revision: u32,
    /// The guideline's name.
    pub title: String,
    /// One paragraph: what the baseline asks.
    pub summary: String,
    /// Where each requirement comes from.
    pub sources: Vec<Source>,
    /// Where the data approximates the guideline, in words.
    #[serde(default)]
    pub approximations: Vec<String>,
    /// Protocol versions.
    pub versions: Versions,
    /// Cipher suites.
    pub suites: Suites,
    /// Key sizes, certificate key types and key-exchange groups.
    pub keys: Keys,
    /// TLS features.
    pub features: Features,
}

/// A document a baseline cites.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// "RFC 9325", "BSI TR-02102-2".
    pub document: String,
    /// Section, or empty.
    #[serde(default)]
    pub section: String,
    /// Address, when it is not an RFC.
    #[serde(default)]
    pub url: Option<String>,
    /// What it says that the baseline encodes.
    pub says: String,
}

/// Protocol versions.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Versions {
    /// No version below this may be accepted.
    pub min: TlsVersion,
    /// These versions must be accepted.
    #[serde(default)]
    pub required: Vec<TlsVersion>,
}

/// Cipher suites.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suites {
    /// No accepted suite may have any of these classes.
    #[serde(default)]
    pub forbidden_classes: Vec<SuiteFlag>,
    /// Every accepted suite must have all of these classes (TLS 1.3 suites
    /// count as having forward secrecy and AEAD).
    #[serde(default)]
    pub required_classes: Vec<SuiteFlag>,
    /// When not empty: the only suites (IANA names) allowed at TLS 1.2 and older.
    #[serde(default)]
    pub allowed_tls12: Vec<String>,
    /// When not empty: the only TLS 1.3 suites allowed.
    #[serde(default)]
    pub allowed_tls13: Vec<String>,
}

/// Key sizes, key types and groups.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Keys {
    /// Minimum RSA modulus of certificate keys.
    pub min_rsa_bits: u32,
    /// Minimum prime size of finite-field DHE groups.
    pub min_dh_bits: u32,
    /// Minimum field size of EC certificate keys.
    pub min_ec_bits: u32,
    /// When not empty: the only certificate key types allowed (`rsa`, `ecdsa`, ...).
    #[serde(default)]
    pub certificate_types: Vec<String>,
    /// When not empty: the only key-exchange groups allowed (IANA names,
    /// compared without regard to case).
    #[serde(default)]
    pub groups: Vec<String>,
}

/// A TLS feature a baseline requires or forbids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Feature {
    /// renegotiation_info (RFC 5746).
    SecureRenegotiation,
    /// TLS compression (CRIME).
    Compression,
    /// extended_master_secret (RFC 7627).
    ExtendedMasterSecret,
    /// encrypt_then_mac (RFC 7366).
    EncryptThenMac,
    /// Session tickets (RFC 5077).
    SessionTicket,
    /// OCSP stapling (RFC 6066 §8).
    OcspStapling,
    /// The heartbeat extension (RFC 6520).
    Heartbeat,
    /// TLS_FALLBACK_SCSV honoured (RFC 7507).
    FallbackScsv,
}

impl Feature {
    /// The name used in the data files.
    pub fn as_str(self) -> &'static str {
        match self {
            Feature::SecureRenegotiation => "secure-renegotiation",
            Feature::Compression => "compression",
            Feature::ExtendedMasterSecret => "extended-master-secret",
            Feature::EncryptThenMac => "encrypt-then-mac",
            Feature::SessionTicket => "session-ticket",
            Feature::OcspStapling => "ocsp-stapling",
            Feature::Heartbeat => "heartbeat",
            Feature::FallbackScsv => "fallback-scsv",
        }
    }
}

/// Features.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Features {
    /// Must be present.
    #[serde(default)]
    pub required: Vec<Feature>,
    /// Must be absent.
    #[serde(default)]
    pub forbidden: Vec<Feature>,
}

impl Baseline {
    /// Every embedded baseline revision, in catalogue order (ids in the order
    /// `rfc8314`, `mozilla-intermediate`, `bsi-tr-03108`, `nist-800-177`).
    pub fn all() -> &'static [Baseline] {
        static ALL: OnceLock<Vec<Baseline>> = OnceLock::new();
        ALL.get_or_init(|| {
            FILES
                .iter()
                .filter_map(|(_, text)| Baseline::from_toml(text).ok())
                .collect()
        })
    }

    /// The embedded files (name, text): for tests and `policy check --baselines`.
    pub fn files() -> &'static [(&'static str, &'static str)] {
        &FILES
    }

    /// Parses one data file.
    pub fn from_toml(text: &str) -> Result<Baseline, toml::de::Error> {
        toml::from_str(text)
    }

    /// The ids, without revisions, in catalogue order.
    pub fn ids() -> Vec<&'static str> {
        let mut ids: Vec<&'static str> = Vec::new();
        for b in Baseline::all() {
            if !ids.contains(&b.id.as_str()) {
                ids.push(b.id.as_str());
            }
        }
        ids
    }

    /// `ID` (latest revision) or `ID@REVISION`.
    pub fn find(spec: &str) -> Option<&'static Baseline> {
        let (id, revision) = match spec.split_once('@') {
            Some((id, rev)) => (id, Some(rev.parse::<u32>().ok()?)),
            None => (spec, None),
        };
        Baseline::all()
            .iter()
            .filter(|b| b.id == id && revision.is_none_or(|r| r == b.revision))
            .max_by_key(|b| b.revision)
    }

    /// `ID@REVISION`.
    pub fn label(&self) -> String {
        format!("{}@{}", self.id, self.revision)
    }

    /// True when `version` is below the minimum.
    pub fn version_too_old(&self, version: TlsVersion) -> bool {
        version < self.versions.min
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_parses() {
        for (name, text) in FILES {
            if let Err(e) = Baseline::from_toml(text) {
                panic!("{name}: {e}");
            }
        }
    }
}
