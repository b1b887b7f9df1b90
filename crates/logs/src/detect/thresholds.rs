//! Detection thresholds and how they are read: from the architecture file's
//! `[logs.thresholds]` (TOML) or a `--thresholds` JSON file.
//!
//! Reading is hand-written rather than derived for two reasons. A partial
//! rule (`brute_force = { count = 10 }`) keeps *that detector's* default for
//! the missing field, which a derived `#[serde(default)]` cannot know. And
//! every mistake is an error raised while the deserializer is positioned on
//! the offending key or value, so the TOML reader attaches its span and the
//! policy file reports `file:line:col` (unknown keys through serde's
//! `unknown_field`, which the policy crate turns into "did you mean").

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

/// `count` occurrences within `window_secs` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// How many.
    pub count: u32,
    /// Within how many seconds.
    pub window_secs: u64,
}

const fn rule(count: u32, window_secs: u64) -> Rule {
    Rule { count, window_secs }
}

/// The sending-volume rule for authenticated accounts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct VolumeRule {
    /// Length of one measuring window.
    pub window_secs: u64,
    /// Recipients in one window that always alert.
    pub recipients: u32,
    /// Distinct recipient domains in one window that always alert.
    pub domains: u32,
    /// A window with this many times the account's usual recipients (its
    /// busiest earlier window) alerts, when above `min_recipients`.
    pub factor: f64,
    /// Below this many recipients in a window, the factor does not apply.
    pub min_recipients: u32,
}

impl Default for VolumeRule {
    fn default() -> Self {
        VolumeRule {
            window_secs: 3600,
            recipients: 200,
            domains: 50,
            factor: 10.0,
            min_recipients: 30,
        }
    }
}

/// Detection thresholds. Every field has a default; the architecture file
/// (`[logs.thresholds]`) or a JSON object can set any subset of them, down to
/// one field of one rule. Unknown keys, wrong types and values out of range
/// are errors.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Thresholds {
    /// Failed logins on one account from one source.
    pub brute_force: Rule,
    /// Distinct accounts failing from one source.
    pub spraying: Rule,
    /// Distinct sources failing on one account (each of them is listed).
    pub distributed: Rule,
    /// Distinct ports (services) where one source left idle sessions
    /// (connect and drop, or greet and quit, without login or mail).
    pub scanning_ports: Rule,
    /// Idle sessions of one source, on any port.
    pub scanning_sessions: Rule,
    /// Relay refusals for one source.
    pub relay_probing: Rule,
    /// TLS handshake failures of one source (not counting clients that just hang up).
    pub tls_failures: Rule,
    /// Handshakes refused for protocol version or ciphers (downgrade attempts).
    pub tls_downgrade: Rule,
    /// Protocol violations (pipelining, pregreet, non-SMTP, unknown commands, too many errors).
    pub protocol_violations: Rule,
    /// Times the server throttled one source.
    pub rate_limited: Rule,
    /// Failed logins of one source before one of its logins succeeds.
    pub success_after_failures: Rule,
    /// Sending spikes of authenticated accounts.
    pub volume: VolumeRule,
    /// IPv6 sources are grouped by this prefix length.
    pub ipv6_prefix: u8,
    /// Hard cap on sources tracked at once (the least recently seen goes first).
    pub max_sources: usize,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            brute_force: rule(5, 600),
            spraying: rule(5, 3600),
            distributed: rule(10, 86_400),
            scanning_ports: rule(3, 600),
            scanning_sessions: rule(10, 600),
            relay_probing: rule(3, 3600),
            tls_failures: rule(3, 600),
            tls_downgrade: rule(2, 3600),
            protocol_violations: rule(3, 600),
            rate_limited: rule(3, 3600),
            success_after_failures: rule(5, 3600),
            volume: VolumeRule::default(),
            ipv6_prefix: 64,
            max_sources: 200_000,
        }
    }
}

/// Largest `count` accepted: rings keep up to `count` times per source, so
/// the bound keeps one source's memory bounded too.
pub const MAX_COUNT: u64 = 1_000_000;
/// Longest window accepted (366 days): windows are added and multiplied in
/// the engine's expiry arithmetic, which must not overflow.
pub const MAX_WINDOW_SECS: u64 = 366 * 86_400;

/// The keys of `Thresholds`, in the order of the README.
pub const KEYS: &[&str] = &[
    "brute_force",
    "spraying",
    "distributed",
    "scanning_ports",
    "scanning_sessions",
    "relay_probing",
    "tls_failures",
    "tls_downgrade",
    "protocol_violations",
    "rate_limited",
    "success_after_failures",
    "volume",
    "ipv6_prefix",
    "max_sources",
];
const RULE_KEYS: &[&str] = &["count", "window_secs"];
const VOLUME_KEYS: &[&str] = &[
    "window_secs",
    "recipients",
    "domains",
    "factor",
    "min_recipients",
];

impl<'de> Deserialize<'de> for Thresholds {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut t = Thresholds::default();
        d.deserialize_map(Patch {
            target: &mut t,
            path: "",
        })?;
        Ok(t)
    }
}

/// Overwrites the fields a table names, leaving the others as they are.
struct Patch<'a, T> {
    target: &'a mut T,
    /// Where the table is, for messages (`""` at the top).
    path: &'static str,
}

impl<'de, 'a, T> DeserializeSeed<'de> for Patch<'a, T>
where
    Patch<'a, T>: Visitor<'de, Value = ()>,
{
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Patch<'_, Thresholds> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a table of detection thresholds")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let t = self.target;
        while let Some(key) = map.next_key_seed(Key(KEYS))? {
            let rule = match key {
                "brute_force" => &mut t.brute_force,
                "spraying" => &mut t.spraying,
                "distributed" => &mut t.distributed,
                "scanning_ports" => &mut t.scanning_ports,
                "scanning_sessions" => &mut t.scanning_sessions,
                "relay_probing" => &mut t.relay_probing,
                "tls_failures" => &mut t.tls_failures,
                "tls_downgrade" => &mut t.tls_downgrade,
                "protocol_violations" => &mut t.protocol_violations,
                "rate_limited" => &mut t.rate_limited,
                "success_after_failures" => &mut t.success_after_failures,
                "volume" => {
                    map.next_value_seed(Patch {
                        target: &mut t.volume,
                        path: "volume",
                    })?;
                    continue;
                }
                "ipv6_prefix" => {
                    t.ipv6_prefix = map.next_value_seed(Int::new("ipv6_prefix", 1, 128))? as u8;
                    continue;
                }
                // `Key` lets only the names above through: this is `max_sources`.
                _ => {
                    let n = map.next_value_seed(Int::new("max_sources", 1, u32::MAX.into()))?;
                    t.max_sources = usize::try_from(n).unwrap_or(usize::MAX);
                    continue;
                }
            };
            map.next_value_seed(Patch {
                target: rule,
                path: key,
            })?;
        }
        Ok(())
    }
}

impl<'de> Visitor<'de> for Patch<'_, Rule> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a table with `count` and/or `window_secs` for `{}`",
            self.path
        )
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let path = self.path;
        while let Some(key) = map.next_key_seed(Key(RULE_KEYS))? {
            if key == "count" {
                let n = map.next_value_seed(Int::at(path, key, 1, MAX_COUNT))?;
                self.target.count = u32::try_from(n).unwrap_or(u32::MAX);
            } else {
                self.target.window_secs =
                    map.next_value_seed(Int::at(path, key, 1, MAX_WINDOW_SECS))?;
            }
        }
        Ok(())
    }
}

impl<'de> Visitor<'de> for Patch<'_, VolumeRule> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a table with any of `window_secs`, `recipients`, `domains`, `factor`, `min_recipients` for `volume`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let v = self.target;
        let p = self.path;
        let count = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
        while let Some(key) = map.next_key_seed(Key(VOLUME_KEYS))? {
            match key {
                "window_secs" => {
                    v.window_secs = map.next_value_seed(Int::at(p, key, 1, MAX_WINDOW_SECS))?;
                }
                "recipients" => {
                    v.recipients = count(map.next_value_seed(Int::at(p, key, 1, MAX_COUNT))?);
                }
                "domains" => {
                    v.domains = count(map.next_value_seed(Int::at(p, key, 1, MAX_COUNT))?);
                }
                "min_recipients" => {
                    v.min_recipients = count(map.next_value_seed(Int::at(p, key, 0, MAX_COUNT))?);
                }
                _ => v.factor = map.next_value_seed(Factor)?,
            }
        }
        Ok(())
    }
}

/// A key of a table with these names; anything else is `unknown_field`,
/// raised while the reader is on the key (so TOML points at it).
struct Key(&'static [&'static str]);

impl<'de> DeserializeSeed<'de> for Key {
    type Value = &'static str;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<&'static str, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for Key {
    type Value = &'static str;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key name")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<&'static str, E> {
        self.0
            .iter()
            .find(|k| **k == v)
            .copied()
            .ok_or_else(|| E::unknown_field(v, self.0))
    }
}

/// A whole number in `min..=max`, named by its key in errors.
struct Int {
    parent: &'static str,
    key: &'static str,
    min: u64,
    max: u64,
}

impl Int {
    fn new(key: &'static str, min: u64, max: u64) -> Int {
        Int::at("", key, min, max)
    }

    fn at(parent: &'static str, key: &'static str, min: u64, max: u64) -> Int {
        Int {
            parent,
            key,
            min,
            max,
        }
    }

    fn name(&self) -> String {
        if self.parent.is_empty() {
            format!("`{}`", self.key)
        } else {
            format!("`{}.{}`", self.parent, self.key)
        }
    }
}

impl<'de> DeserializeSeed<'de> for Int {
    type Value = u64;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<u64, D::Error> {
        let got = d.deserialize_any(Scalar)?;
        let n = match got {
            Got::Int(n) => n,
            // 10.0 is ten; 2.5 is not a count.
            Got::Float(f) if f.fract() == 0.0 && f.is_finite() => f as i128,
            other => {
                return Err(de::Error::custom(format!(
                    "{} must be a whole number from {} to {}, not {other}",
                    self.name(),
                    self.min,
                    self.max
                )));
            }
        };
        u64::try_from(n)
            .ok()
            .filter(|n| (self.min..=self.max).contains(n))
            .ok_or_else(|| {
                de::Error::custom(format!(
                    "{} must be from {} to {}, not {n}",
                    self.name(),
                    self.min,
                    self.max
                ))
            })
    }
}

/// `volume.factor`: a number of at least 1.
struct Factor;

impl<'de> DeserializeSeed<'de> for Factor {
    type Value = f64;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<f64, D::Error> {
        let f = match d.deserialize_any(Scalar)? {
            Got::Int(n) => n as f64,
            Got::Float(f) => f,
            other => {
                return Err(de::Error::custom(format!(
                    "`volume.factor` must be a number of at least 1, not {other}"
                )));
            }
        };
        if f.is_finite() && (1.0..=1e6).contains(&f) {
            Ok(f)
        } else {
            Err(de::Error::custom(format!(
                "`volume.factor` must be a number from 1 to 1000000, not {f}"
            )))
        }
    }
}

/// Whatever value was there, reduced to what the messages need.
enum Got {
    Int(i128),
    Float(f64),
    Other(&'static str),
}

impl fmt::Display for Got {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Got::Int(n) => write!(f, "{n}"),
            Got::Float(x) => write!(f, "{x}"),
            Got::Other(what) => f.write_str(what),
        }
    }
}

struct Scalar;

impl<'de> Visitor<'de> for Scalar {
    type Value = Got;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Got, E> {
        Ok(Got::Other("a boolean"))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Got, E> {
        Ok(Got::Int(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Got, E> {
        Ok(Got::Int(v.into()))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Got, E> {
        Ok(Got::Int(v))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Got, E> {
        Ok(Got::Int(i128::try_from(v).unwrap_or(i128::MAX)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Got, E> {
        Ok(Got::Float(v))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Got, E> {
        Ok(Got::Other("a string"))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Got, E> {
        Ok(Got::Other("null"))
    }
    fn visit_none<E: de::Error>(self) -> Result<Got, E> {
        Ok(Got::Other("null"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Got, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Got::Other("an array"))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Got, A::Error> {
        // TOML hands dates over as a one-key table too; either way, not a number.
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Got::Other("a table"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_rule_keeps_that_detectors_other_default() {
        let t: Thresholds = serde_json::from_str(
            r#"{"scanning_ports": {"count": 2}, "volume": {"factor": 4}, "ipv6_prefix": 56}"#,
        )
        .unwrap();
        assert_eq!(t.scanning_ports, rule(2, 600));
        assert_eq!(t.volume.factor, 4.0);
        assert_eq!(t.volume.recipients, 200);
        assert_eq!(t.ipv6_prefix, 56);
        assert_eq!(t.brute_force, Thresholds::default().brute_force);
    }

    #[test]
    fn mistakes_name_the_key() {
        let err = |json: &str| {
            serde_json::from_str::<Thresholds>(json)
                .unwrap_err()
                .to_string()
        };
        assert!(err(r#"{"brute_forse": {}}"#).starts_with("unknown field `brute_forse`"));
        assert!(err(r#"{"brute_force": {"cout": 1}}"#).starts_with("unknown field `cout`"));
        assert!(err(r#"{"brute_force": {"count": "ten"}}"#).starts_with(
            "`brute_force.count` must be a whole number from 1 to 1000000, not a string"
        ));
        assert!(
            err(r#"{"relay_probing": {"count": 0}}"#)
                .starts_with("`relay_probing.count` must be from 1")
        );
        assert!(err(r#"{"ipv6_prefix": 129}"#).starts_with("`ipv6_prefix` must be from 1 to 128"));
        assert!(err(r#"{"volume": {"factor": 0.5}}"#).starts_with("`volume.factor` must be"));
        assert!(err(r#"{"tls_failures": 3}"#).contains("a table with `count`"));
        assert!(err(r#"{"spraying": {"window_secs": -1}}"#).contains("not -1"));
    }
}
