//! The file as serde reads it: every key of the format, with spans where a
//! later check may need to point at a value. Unknown keys are errors.

use std::collections::BTreeMap;

use mailwarden_model::{Protocol, ServiceRole};
use serde::Deserialize;
use toml::Spanned;

use crate::{AuthMode, TlsMode};

/// Overrides: rule id or name -> action.
pub(crate) type RawRules = BTreeMap<Spanned<String>, Spanned<String>>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPolicy {
    pub version: Option<Spanned<i64>>,
    pub name: Option<String>,
    pub baseline: Option<Spanned<String>>,
    #[serde(default)]
    pub service: Vec<Spanned<RawService>>,
    pub forbid: Option<RawForbid>,
    pub audit: Option<RawAudit>,
    pub dns: Option<RawDns>,
    #[serde(default)]
    pub rules: RawRules,
    pub logs: Option<RawLogs>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawService {
    pub name: Spanned<String>,
    pub description: Option<String>,
    pub hosts: Spanned<Vec<Spanned<String>>>,
    pub port: Option<Spanned<u16>>,
    pub ports: Option<Spanned<Vec<Spanned<u16>>>>,
    pub protocol: Option<Spanned<Protocol>>,
    pub role: Option<Spanned<ServiceRole>>,
    pub tls: Spanned<TlsMode>,
    pub auth: Option<Spanned<AuthMode>>,
    pub allowed_sources: Option<Vec<Spanned<String>>>,
    pub certificate_name: Option<Spanned<String>>,
    pub baseline: Option<Spanned<String>>,
    #[serde(default)]
    pub rules: RawRules,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawForbid {
    #[serde(default)]
    pub ports: Vec<Spanned<u16>>,
    #[serde(default)]
    pub protocols: Vec<Spanned<Protocol>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAudit {
    pub ports: Option<Vec<Spanned<u16>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDns {
    #[serde(default)]
    pub domains: Vec<Spanned<String>>,
    #[serde(default)]
    pub dkim_selectors: Vec<Spanned<String>>,
    pub mta_sts: Option<Spanned<MtaSts>>,
    #[serde(default)]
    pub dane: bool,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum MtaSts {
    None,
    Testing,
    Enforce,
}

impl MtaSts {
    pub fn as_str(self) -> &'static str {
        match self {
            MtaSts::None => "none",
            MtaSts::Testing => "testing",
            MtaSts::Enforce => "enforce",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLogs {
    /// Read by the analyzer's own deserializer, which raises its errors on
    /// the offending key or value: they carry that span.
    pub thresholds: Option<mailwarden_logs::detect::Thresholds>,
}

/// Hints for keys serde reports missing, by key name.
pub(crate) fn missing_key_hint(key: &str) -> Option<String> {
    Some(match key {
        "name" => "every service has a unique name: name = \"inbound-mx\"".to_owned(),
        "hosts" => {
            "list the hosts that serve it: hosts = [\"mx1.example.org\", \"mx2.example.org\"]"
                .to_owned()
        }
        "tls" => format!(
            "declare how the service protects sessions: tls = one of {}",
            TlsMode::names().join(", ")
        ),
        _ => return None,
    })
}

/// Every key a table may hold, for "did you mean" hints on unknown keys the
/// deserializer names without a list.
pub(crate) const TOP_LEVEL_KEYS: [&str; 9] = [
    "version", "name", "baseline", "service", "forbid", "audit", "dns", "rules", "logs",
];
