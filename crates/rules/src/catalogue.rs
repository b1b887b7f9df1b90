//! The rule catalogue: what a rule is, and the one ordered list of them.
//!
//! Each rule is declared once, as a `const` next to its check in the module of
//! its family (`transport`, `auth`, `cert`, `tls`, `tls_scan`, `info`, `drift`): id, name, title,
//! severities per context, rationale, remediation per server, references, check.
//! [`CATALOGUE`] only lists them in order. The `rules` command, the generated
//! `docs/rules.md` and the snapshot test of ids all read this list, so an id can
//! never change or disappear without a test failing.

use mailwarden_model::{Severity, TargetResult};

use crate::dns::{dane, dkim, dmarc, mtasts, records, spf};
use crate::drift::baseline as drift_baseline;
use crate::drift::{Audit, AuditHit, certs, declared, mode};
use crate::facts::{Endpoint, Hit, Software};
use crate::tls_scan::{features, suites};
use crate::{Context, auth, cert, info, tls, tls_scan, transport};

/// A rule: one bad thing, how bad it is where, and how to fix it.
#[derive(Debug)]
pub struct Rule {
    /// Stable id, `MW-<FAMILY>-NNN`. Never reused, never renumbered.
    pub id: &'static str,
    /// Stable kebab-case name naming the bad thing.
    pub name: &'static str,
    /// The family (the middle part of the id).
    pub family: Family,
    /// One line saying what is wrong.
    pub title: &'static str,
    /// How severe a finding is, per context.
    pub severities: Severities,
    /// Why it matters (a short paragraph).
    pub rationale: &'static str,
    /// How to fix it.
    pub remediation: Remediation,
    /// Where the requirement comes from.
    pub references: &'static [Reference],
    /// The check; private so that rules are only declared in this crate.
    pub(crate) check: Check,
}

/// The check function of a rule.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Check {
    /// Runs on each endpoint whose context the rule applies to.
    Endpoint(fn(&Endpoint<'_>) -> Vec<Hit>),
    /// Runs on each target (name resolution).
    Target(fn(&TargetResult) -> Vec<Hit>),
    /// Runs once on the whole scan against the policy (DRIFT rules); only
    /// when a policy is given.
    Audit(fn(&Audit<'_>) -> Vec<AuditHit>),
    /// Runs once per domain of `AssessContext::domains` (domain rules).
    Domain(fn(&crate::dns::DomainView<'_>) -> Vec<crate::dns::DomainHit>),
}

/// The family of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// Whether TLS protects the dialog at all, and exposure of ports.
    Transport,
    /// Authentication without TLS.
    Auth,
    /// The server certificate.
    Cert,
    /// The TLS handshake and protocol version.
    Tls,
    /// Information and coverage: disclosure, ports not assessed.
    Info,
    /// Differences from the declared architecture (policy file).
    Drift,
    /// Domain DNS: failed lookups, DNSSEC, the MX set and its hosts.
    Dns,
    /// SPF records (RFC 7208).
    Spf,
    /// DMARC records (RFC 7489).
    Dmarc,
    /// DKIM keys (RFC 6376).
    Dkim,
    /// MTA-STS (RFC 8461).
    MtaSts,
    /// SMTP TLS reporting (RFC 8460).
    TlsRpt,
    /// DANE TLSA records (RFC 7672).
    Dane,
}

impl Family {
    /// Every family, in catalogue order.
    pub const ALL: [Family; 13] = [
        Family::Transport,
        Family::Auth,
        Family::Cert,
        Family::Tls,
        Family::Info,
        Family::Drift,
        Family::Dns,
        Family::Spf,
        Family::Dmarc,
        Family::Dkim,
        Family::MtaSts,
        Family::TlsRpt,
        Family::Dane,
    ];

    /// The upper-case name used in rule ids.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Transport => "TRANSPORT",
            Family::Auth => "AUTH",
            Family::Cert => "CERT",
            Family::Tls => "TLS",
            Family::Info => "INFO",
            Family::Drift => "DRIFT",
            Family::Dns => "DNS",
            Family::Spf => "SPF",
            Family::Dmarc => "DMARC",
            Family::Dkim => "DKIM",
            Family::MtaSts => "MTASTS",
            Family::TlsRpt => "TLSRPT",
            Family::Dane => "DANE",
        }
    }
}

/// Whether, and how severely, a rule applies in one context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// At the rule's default severity.
    Default,
    /// At this severity.
    At(Severity),
    /// The rule does not apply here.
    No,
}

/// A rule's severity per context: the small table shown by `mailwarden rules`.
///
/// Declarations start from [`Severities::everywhere`] or [`Severities::only`]
/// and override contexts with struct-update syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Severities {
    /// The headline severity, used where a context says [`Level::Default`].
    pub default: Severity,
    /// SMTP on port 25 (opportunistic TLS).
    pub mx: Level,
    /// SMTP on port 25 when the domain publishes DANE or MTA-STS, so senders
    /// authenticate the server; `None` means the same as `mx`.
    pub mx_authenticated: Option<Severity>,
    /// Message submission (587, 465, 2525, other SMTP ports).
    pub submission: Level,
    /// IMAP and POP3.
    pub mail_access: Level,
    /// ManageSieve.
    pub sieve: Level,
    /// LMTP.
    pub lmtp: Level,
    /// Unrecognized.
    pub other: Level,
}

impl Severities {
    /// Applies in every context at `default`.
    pub const fn everywhere(default: Severity) -> Severities {
        Severities {
            default,
            mx: Level::Default,
            mx_authenticated: None,
            submission: Level::Default,
            mail_access: Level::Default,
            sieve: Level::Default,
            lmtp: Level::Default,
            other: Level::Default,
        }
    }

    /// Applies nowhere until contexts are set (to `Level::Default` or `Level::At`).
    pub const fn only(default: Severity) -> Severities {
        Severities {
            default,
            mx: Level::No,
            mx_authenticated: None,
            submission: Level::No,
            mail_access: Level::No,
            sieve: Level::No,
            lmtp: Level::No,
            other: Level::No,
        }
    }

    /// The severity in `context`, or `None` when the rule does not apply there.
    /// `mx_authenticated` selects the MX column for domains whose senders
    /// authenticate the MX (DANE, MTA-STS).
    pub fn for_context(&self, context: Context, mx_authenticated: bool) -> Option<Severity> {
        let level = match context {
            Context::Mx => {
                let mx = self.resolve(self.mx);
                return match (mx, self.mx_authenticated) {
                    (Some(_), Some(auth)) if mx_authenticated => Some(auth),
                    _ => mx,
                };
            }
            Context::Submission => self.submission,
            Context::MailAccess => self.mail_access,
            Context::Sieve => self.sieve,
            Context::Lmtp => self.lmtp,
            Context::Other => self.other,
        };
        self.resolve(level)
    }

    fn resolve(&self, level: Level) -> Option<Severity> {
        match level {
            Level::Default => Some(self.default),
            Level::At(s) => Some(s),
            Level::No => None,
        }
    }

    /// The most severe level the rule can have anywhere (for listings).
    pub fn max(&self) -> Option<Severity> {
        Context::ALL
            .into_iter()
            .flat_map(|c| [self.for_context(c, false), self.for_context(c, true)])
            .flatten()
            .max()
    }
}

/// How to fix what a rule found, for the servers we recognize and in general.
/// Each is one line naming concrete configuration parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Remediation {
    /// For any server.
    pub generic: &'static str,
    /// Postfix (`main.cf` / `master.cf`).
    pub postfix: &'static str,
    /// Dovecot (`dovecot.conf` / `conf.d`).
    pub dovecot: &'static str,
    /// Exim (the runtime configuration).
    pub exim: &'static str,
}

impl Remediation {
    /// The line for `software`, or the generic one.
    pub fn for_software(&self, software: Option<Software>) -> String {
        match software {
            Some(Software::Postfix) => format!("Postfix: {}", self.postfix),
            Some(Software::Dovecot) => format!("Dovecot: {}", self.dovecot),
            Some(Software::Exim) => format!("Exim: {}", self.exim),
            None => self.generic.to_owned(),
        }
    }
}

/// A reference: a document, optionally a section, and what it says there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reference {
    /// "RFC 8314", "NIST SP 800-52r2", "CWE-200".
    pub document: &'static str,
    /// "3.3" for RFC 8314 §3.3; empty for the whole document.
    pub section: &'static str,
    /// What the reference says that matters here.
    pub note: &'static str,
    /// Where to read it; empty for RFCs and CWEs, whose address is derived.
    pub link: &'static str,
}

impl Reference {
    /// A reference to an RFC section (empty `section`: the whole RFC).
    pub const fn rfc(document: &'static str, section: &'static str, note: &'static str) -> Self {
        Reference {
            document,
            section,
            note,
            link: "",
        }
    }

    /// A reference to another document, with its address when it has a stable one.
    pub const fn doc(document: &'static str, note: &'static str, link: &'static str) -> Self {
        Reference {
            document,
            section: "",
            note,
            link,
        }
    }

    /// A link: the declared one, or the rfc-editor.org page (with the section
    /// anchor) of an RFC, or the MITRE page of a CWE.
    pub fn url(&self) -> Option<String> {
        if !self.link.is_empty() {
            return Some(self.link.to_owned());
        }
        if let Some(number) = self.document.strip_prefix("RFC ") {
            let anchor = if self.section.is_empty() {
                String::new()
            } else {
                format!("#section-{}", self.section)
            };
            return Some(format!(
                "https://www.rfc-editor.org/rfc/rfc{number}{anchor}"
            ));
        }
        if let Some(number) = self.document.strip_prefix("CWE-") {
            return Some(format!(
                "https://cwe.mitre.org/data/definitions/{number}.html"
            ));
        }
        None
    }
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.section.is_empty() {
            write!(f, "{}: {}", self.document, self.note)
        } else {
            write!(f, "{} §{}: {}", self.document, self.section, self.note)
        }
    }
}

/// Every rule, in id order: family by family, number by number.
pub(crate) static CATALOGUE: [Rule; 103] = [
    transport::PLAINTEXT_ONLY_CLIENT_PORT,
    transport::MX_WITHOUT_STARTTLS,
    transport::STARTTLS_OPTIONAL_CLIENT_PORT,
    transport::IMPLICIT_TLS_PORT_SPEAKS_PLAINTEXT,
    transport::STARTTLS_ADVERTISED_INSIDE_TLS,
    transport::LMTP_EXPOSED,
    auth::AUTH_OFFERED_BEFORE_TLS,
    auth::PLAINTEXT_LOGIN_ACCEPTED,
    cert::CERTIFICATE_EXPIRED,
    cert::CERTIFICATE_NOT_YET_VALID,
    cert::CERTIFICATE_EXPIRES_WITHIN_7_DAYS,
    cert::CERTIFICATE_EXPIRES_WITHIN_30_DAYS,
    cert::CERTIFICATE_UNTRUSTED,
    cert::CERTIFICATE_SELF_SIGNED,
    cert::CERTIFICATE_NAME_MISMATCH,
    cert::WEAK_RSA_KEY,
    cert::WEAK_CERTIFICATE_SIGNATURE,
    tls::TLS_HANDSHAKE_FAILS,
    tls::LEGACY_TLS_VERSION,
    tls_scan::SSLV2_ACCEPTED,
    tls_scan::SSLV3_ACCEPTED,
    tls_scan::TLS10_ACCEPTED,
    tls_scan::TLS11_ACCEPTED,
    tls_scan::NO_TLS12,
    tls_scan::NO_TLS13,
    suites::NULL_SUITES,
    suites::ANONYMOUS_SUITES,
    suites::EXPORT_SUITES,
    suites::RC4_SUITES,
    suites::DES_SUITES,
    suites::TRIPLE_DES_SUITES,
    suites::NO_FORWARD_SECRECY,
    suites::WEAK_DH_GROUP,
    features::NO_SECURE_RENEGOTIATION,
    features::COMPRESSION,
    features::HEARTBLEED,
    features::NO_FALLBACK_SCSV,
    info::SOFTWARE_VERSION_DISCLOSED,
    info::OPEN_PORT_NOT_MAIL,
    info::ENDPOINT_NOT_ASSESSED,
    info::TARGET_NOT_RESOLVED,
    declared::UNDECLARED_OPEN_PORT,
    declared::DECLARED_SERVICE_DOWN,
    mode::TLS_WEAKER_THAN_DECLARED,
    mode::TLS_MODE_DIFFERS,
    mode::AUTH_DIFFERS,
    declared::PROTOCOL_DIFFERS,
    declared::FORBIDDEN_PORT_ANSWERS,
    drift_baseline::VERSION_OUTSIDE_BASELINE,
    drift_baseline::SUITE_OUTSIDE_BASELINE,
    drift_baseline::KEY_OUTSIDE_BASELINE,
    drift_baseline::FEATURE_OUTSIDE_BASELINE,
    certs::CERTIFICATES_INCONSISTENT,
    records::LOOKUP_FAILED,
    records::DNSSEC_BOGUS,
    records::DOMAIN_NOT_SIGNED,
    records::NO_MX,
    records::MX_UNRESOLVABLE,
    records::FCRDNS_MISSING,
    records::MX_INCONSISTENT,
    spf::SPF_MISSING,
    spf::SPF_MULTIPLE,
    spf::SPF_SYNTAX,
    spf::SPF_TOO_MANY_LOOKUPS,
    spf::SPF_VOID_LOOKUPS,
    spf::SPF_LOOP,
    spf::SPF_PTR,
    spf::SPF_PASS_ALL,
    spf::SPF_NEUTRAL_ALL,
    spf::SPF_SOFTFAIL_ALL,
    spf::SPF_MX_NOT_AUTHORIZED,
    spf::SPF_OUTBOUND_NOT_AUTHORIZED,
    dmarc::DMARC_MISSING,
    dmarc::DMARC_MULTIPLE,
    dmarc::DMARC_SYNTAX,
    dmarc::DMARC_NONE,
    dmarc::DMARC_SUBDOMAIN_WEAKER,
    dmarc::DMARC_PARTIAL,
    dmarc::DMARC_NO_RUA,
    dmarc::DMARC_EXTERNAL_UNAUTHORIZED,
    dkim::DKIM_KEY_TOO_WEAK,
    dkim::DKIM_KEY_SHORT,
    dkim::DKIM_TESTING,
    dkim::DKIM_REVOKED,
    dkim::DKIM_SELECTOR_NOT_FOUND,
    dkim::DKIM_KEY_INVALID,
    dkim::DKIM_NONE_FOUND,
    mtasts::MTASTS_MISSING,
    mtasts::MTASTS_RECORD_INVALID,
    mtasts::MTASTS_POLICY_UNAVAILABLE,
    mtasts::MTASTS_POLICY_HOST_CERT,
    mtasts::MTASTS_POLICY_INVALID,
    mtasts::MTASTS_NOT_ENFORCED,
    mtasts::MTASTS_MX_NOT_COVERED,
    mtasts::MTASTS_MX_CERT,
    mtasts::MTASTS_MAX_AGE_SHORT,
    mtasts::TLSRPT_MISSING,
    mtasts::TLSRPT_INVALID,
    dane::DANE_INSECURE,
    dane::DANE_NO_MATCH,
    dane::DANE_UNUSABLE,
    dane::DANE_ROLLOVER_UNSAFE,
    dane::DANE_NOT_DEPLOYED,
];

/// Every rule, in id order.
pub fn catalogue() -> &'static [Rule] {
    &CATALOGUE
}

/// The rule with this id (case-insensitive) or kebab-case name.
pub fn rule(id_or_name: &str) -> Option<&'static Rule> {
    CATALOGUE
        .iter()
        .find(|r| r.id.eq_ignore_ascii_case(id_or_name) || r.name == id_or_name)
}
