//! The small vocabularies of the file: TLS modes, authentication modes and
//! rule overrides.

use mailwarden_model::{Posture, Severity};
use serde::Deserialize;

/// How a service protects its sessions, as declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TlsMode {
    /// No TLS (legacy; RFC 8314 deprecates it for clients).
    Plaintext,
    /// STARTTLS offered; sessions may go on without it (what an MX on 25 does).
    Starttls,
    /// STARTTLS offered, and nothing (authentication, mail) is accepted before it.
    StarttlsRequired,
    /// TLS from the first byte (465, 993, 995).
    Implicit,
}

impl TlsMode {
    /// Every mode, weakest first.
    pub const ALL: [TlsMode; 4] = [
        TlsMode::Plaintext,
        TlsMode::Starttls,
        TlsMode::StarttlsRequired,
        TlsMode::Implicit,
    ];

    /// The name used in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            TlsMode::Plaintext => "plaintext",
            TlsMode::Starttls => "starttls",
            TlsMode::StarttlsRequired => "starttls-required",
            TlsMode::Implicit => "implicit",
        }
    }

    /// Every name, for hints.
    pub fn names() -> Vec<&'static str> {
        TlsMode::ALL.iter().map(|m| m.as_str()).collect()
    }

    /// The mode a posture verdict shows; `None` when the verdict says nothing
    /// about a working mode (`tls-broken`, `not-assessed`).
    pub fn of_posture(posture: Posture) -> Option<TlsMode> {
        match posture {
            Posture::PlaintextOnly => Some(TlsMode::Plaintext),
            Posture::StarttlsOptional => Some(TlsMode::Starttls),
            Posture::StarttlsEnforced => Some(TlsMode::StarttlsRequired),
            Posture::ImplicitTls => Some(TlsMode::Implicit),
            Posture::TlsBroken | Posture::NotAssessed => None,
        }
    }

    /// True when a port observed in `observed` mode gives clients at least
    /// the protection this declared mode promises. `starttls` is satisfied by
    /// `starttls-required` too (stricter is fine); `implicit` and the STARTTLS
    /// modes are different services and never satisfy each other.
    pub fn satisfied_by(self, observed: TlsMode) -> bool {
        match self {
            TlsMode::Starttls => matches!(observed, TlsMode::Starttls | TlsMode::StarttlsRequired),
            _ => self == observed,
        }
    }

    /// True when `observed` protects less than this declared mode: plaintext
    /// where TLS was declared, optional STARTTLS where required STARTTLS or
    /// implicit TLS was declared. Required STARTTLS where implicit TLS was
    /// declared (or the reverse) is a different mode, not a weaker one.
    pub fn weakened_by(self, observed: TlsMode) -> bool {
        let rank = |m: TlsMode| match m {
            TlsMode::Plaintext => 0,
            TlsMode::Starttls => 1,
            TlsMode::StarttlsRequired | TlsMode::Implicit => 2,
        };
        rank(observed) < rank(self)
    }
}

impl std::fmt::Display for TlsMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether and where a service offers authentication, as declared.
///
/// | mode        | offered inside TLS | offered before TLS |
/// |-------------|--------------------|--------------------|
/// | `none`      | must not           | must not           |
/// | `optional`  | not checked        | not checked        |
/// | `required`  | must               | not checked here   |
/// | `after-tls` | must               | must not           |
///
/// "Offered" means a SASL mechanism listed, IMAP `LOGIN` without
/// `LOGINDISABLED`, or POP3 `USER`. Whether authentication is *mandatory*
/// cannot be observed without credentials; `required` checks that it is
/// offered. On a `plaintext` service "inside TLS" reads "in the session".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthMode {
    /// No authentication offered (an MX receiving from the Internet).
    None,
    /// Not checked.
    Optional,
    /// Authentication offered.
    Required,
    /// Authentication offered, and only after TLS.
    AfterTls,
}

impl AuthMode {
    /// Every mode.
    pub const ALL: [AuthMode; 4] = [
        AuthMode::None,
        AuthMode::Optional,
        AuthMode::Required,
        AuthMode::AfterTls,
    ];

    /// The name used in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMode::None => "none",
            AuthMode::Optional => "optional",
            AuthMode::Required => "required",
            AuthMode::AfterTls => "after-tls",
        }
    }

    /// Every name, for hints.
    pub fn names() -> Vec<&'static str> {
        AuthMode::ALL.iter().map(|m| m.as_str()).collect()
    }
}

impl std::fmt::Display for AuthMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A per-rule override from `[rules]` (or a service's `rules`).
///
/// | value        | effect on each finding of the rule            |
/// |--------------|-----------------------------------------------|
/// | `deny`       | severity raised to at least `high`            |
/// | `warn`       | severity capped at `medium`                   |
/// | `allow`      | finding suppressed                            |
/// | a severity   | severity set to exactly that (`info` ... `critical`) |
///
/// `deny` makes a rule fail `--fail-on high`; `warn` keeps it visible
/// without failing `--fail-on high`; `allow` records an accepted risk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Override {
    /// At least high.
    Deny,
    /// At most medium.
    Warn,
    /// Suppressed.
    Allow,
    /// Exactly this severity.
    Set(Severity),
}

impl Override {
    /// Parses `deny`, `warn`, `allow` or a severity name.
    pub fn parse(s: &str) -> Option<Override> {
        match s {
            "deny" => Some(Override::Deny),
            "warn" => Some(Override::Warn),
            "allow" => Some(Override::Allow),
            _ => Severity::ALL
                .into_iter()
                .find(|sev| sev.as_str() == s)
                .map(Override::Set),
        }
    }

    /// Every accepted value, for hints.
    pub fn names() -> Vec<&'static str> {
        let mut v = vec!["deny", "warn", "allow"];
        v.extend(Severity::ALL.iter().map(|s| s.as_str()));
        v
    }

    /// The severity a finding gets, or `None` when it is suppressed.
    pub fn apply(self, severity: Severity) -> Option<Severity> {
        match self {
            Override::Deny => Some(severity.max(Severity::High)),
            Override::Warn => Some(severity.min(Severity::Medium)),
            Override::Allow => None,
            Override::Set(s) => Some(s),
        }
    }

    /// The value as written in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            Override::Deny => "deny",
            Override::Warn => "warn",
            Override::Allow => "allow",
            Override::Set(s) => s.as_str(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn override_semantics() {
        use Severity::*;
        assert_eq!(Override::Deny.apply(Low), Some(High));
        assert_eq!(Override::Deny.apply(Critical), Some(Critical));
        assert_eq!(Override::Warn.apply(Critical), Some(Medium));
        assert_eq!(Override::Warn.apply(Info), Some(Info));
        assert_eq!(Override::Allow.apply(Critical), None);
        assert_eq!(Override::Set(Info).apply(Critical), Some(Info));
        assert_eq!(Override::parse("low"), Some(Override::Set(Low)));
        assert_eq!(Override::parse("DENY"), None);
    }

    #[test]
    fn tls_mode_comparisons() {
        use TlsMode::*;
        assert!(Starttls.satisfied_by(StarttlsRequired));
        assert!(!StarttlsRequired.satisfied_by(Starttls));
        assert!(StarttlsRequired.weakened_by(Starttls));
        assert!(Implicit.weakened_by(Starttls));
        assert!(Implicit.weakened_by(Plaintext));
        assert!(!Implicit.weakened_by(StarttlsRequired));
        assert!(!Starttls.weakened_by(Implicit));
        assert!(!Plaintext.weakened_by(Starttls));
        assert!(!Implicit.satisfied_by(StarttlsRequired));
    }
}
