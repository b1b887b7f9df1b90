//! The TLS baseline of the policy (`mailwarden_policy::Baseline`) against the
//! TLS observations: the modern handshake (and the legacy hello after a
//! failed one), and the enumeration (`tls_scan`) when it ran. Each rule gives
//! one finding per endpoint listing every deviation.
//!
//! The baseline of an endpoint is its service's, else the file's; endpoints
//! of undeclared ports on declared hosts are held to the file's baseline.

use mailwarden_model::{SuiteFlag, SupportStatus, TlsScan, TlsVersion};
use mailwarden_policy::{Baseline, Feature};

use super::{Audit, AuditHit};
use crate::catalogue::{Check, Family, Reference, Remediation, Rule, Severities};
use crate::facts::{self, Endpoint, Hit};
use crate::tls_scan::listed;
use mailwarden_model::Severity;

const BASELINE_REFERENCE: Reference = Reference::doc(
    "mailwarden docs/policy.md, Baselines",
    "what each baseline encodes from its guideline, with sources and approximations",
    "",
);

const fn baseline_remediation(generic: &'static str) -> Remediation {
    Remediation {
        generic,
        postfix: "`smtpd_tls_protocols`, `smtpd_tls_mandatory_protocols`, `smtpd_tls_ciphers`, \
            `tls_high_cipherlist`, `smtpd_tls_exclude_ciphers`, `smtpd_tls_chain_files`",
        dovecot: "`ssl_min_protocol`, `ssl_cipher_list`, `ssl_cipher_suites` (TLS 1.3), \
            `ssl_curve_list`, `ssl_dh`, `ssl_cert`/`ssl_key`",
        exim: "`tls_require_ciphers`, `openssl_options`, `tls_dhparam`, `tls_certificate`",
    }
}

/// Runs `check` on every open endpoint of a declared host that has a baseline.
fn each<'a>(
    audit: &'a Audit<'a>,
    check: impl Fn(&Endpoint<'a>, &Baseline) -> Vec<String>,
    summary: impl Fn(&Endpoint<'a>, &Baseline, usize) -> String,
) -> Vec<AuditHit> {
    let mut out = Vec::new();
    for (i, ep) in audit.declared_hosts() {
        if ep.obs.state != mailwarden_model::PortState::Open {
            continue;
        }
        let Some(baseline) = audit
            .policy
            .baseline_at(&ep.obs.target, ep.obs.address.port())
        else {
            continue;
        };
        let problems = check(ep, baseline);
        if problems.is_empty() {
            continue;
        }
        let n = problems.len();
        let mut proof = listed(problems);
        if let Some(e) = proof.first_mut() {
            e.label = format!("outside baseline {}", baseline.label());
        }
        out.push(audit.on(i, Hit::new(summary(ep, baseline, n), proof)));
    }
    out
}

fn scan<'a>(ep: &Endpoint<'a>) -> Option<&'a TlsScan> {
    ep.obs.tls_scan.as_ref()?.value()
}

fn where_(ep: &Endpoint<'_>) -> String {
    format!("{} on {}", facts::service(ep.obs), ep.obs.target)
}

/// MW-DRIFT-008.
pub(crate) const VERSION_OUTSIDE_BASELINE: Rule = Rule {
    id: "MW-DRIFT-008",
    name: "tls-version-outside-baseline",
    family: Family::Drift,
    title: "TLS versions outside the policy's baseline",
    severities: Severities::everywhere(Severity::Medium),
    rationale: "The baseline the organization chose (RFC 8314/BCP 195, Mozilla, BSI, NIST) sets \
        a minimum protocol version and the versions that must be offered. A server accepting an \
        older version, or lacking a required one, no longer meets the declared standard.",
    remediation: baseline_remediation(
        "Set the minimum protocol version to the baseline's and enable every version it requires.",
    ),
    references: &[BASELINE_REFERENCE],
    check: Check::Audit(version_outside),
};

fn version_outside(audit: &Audit<'_>) -> Vec<AuditHit> {
    each(
        audit,
        |ep, b| {
            let mut accepted: Vec<(TlsVersion, &str)> = Vec::new();
            if let Some(s) = scan(ep) {
                accepted.extend(s.accepted_versions().map(|v| (v.version, "enumeration")));
            }
            for (_, hs) in facts::handshakes(ep.obs) {
                if hs.completed
                    && let Some(v) = hs.version
                {
                    accepted.push((v, "handshake"));
                }
                if let Some(v) = hs.legacy_hello.as_ref().and_then(|l| l.version) {
                    accepted.push((v, "legacy ClientHello"));
                }
            }
            let mut out: Vec<String> = Vec::new();
            let mut seen: Vec<TlsVersion> = Vec::new();
            for (v, how) in accepted {
                if b.version_too_old(v) && !seen.contains(&v) {
                    seen.push(v);
                    out.push(format!("{v} accepted ({how}); minimum {}", b.versions.min));
                }
            }
            if let Some(s) = scan(ep) {
                for required in &b.versions.required {
                    if s.version(*required)
                        .is_some_and(|v| v.status == SupportStatus::Refused)
                    {
                        out.push(format!("{required} refused; the baseline requires it"));
                    }
                }
            }
            out
        },
        |ep, b, n| {
            format!(
                "{} has {n} protocol version issue{} against baseline {}.",
                where_(ep),
                if n == 1 { "" } else { "s" },
                b.label()
            )
        },
    )
}

/// MW-DRIFT-009.
pub(crate) const SUITE_OUTSIDE_BASELINE: Rule = Rule {
    id: "MW-DRIFT-009",
    name: "cipher-suite-outside-baseline",
    family: Family::Drift,
    title: "Cipher suites outside the policy's baseline",
    severities: Severities::everywhere(Severity::Medium),
    rationale: "The baseline forbids suite classes (NULL, anonymous, export, RC4, DES, 3DES, \
        MD5 and, for some, SHA-1 MACs), requires others (forward secrecy, AEAD), or lists the \
        only suites allowed. A server accepting any other suite does not meet it, whether or \
        not a client would choose that suite.",
    remediation: baseline_remediation(
        "Restrict the suite list to the baseline's (for TLS 1.2 and older and for TLS 1.3).",
    ),
    references: &[BASELINE_REFERENCE],
    check: Check::Audit(suite_outside),
};

fn suite_outside(audit: &Audit<'_>) -> Vec<AuditHit> {
    each(
        audit,
        |ep, b| {
            let mut out = Vec::new();
            let mut scanned: Vec<u16> = Vec::new();
            if let Some(s) = scan(ep) {
                for (version, suite) in s.accepted_suites() {
                    scanned.push(suite.id.code);
                    let tls13 = version == TlsVersion::TLS13;
                    let mut why: Vec<String> = Vec::new();
                    for class in &b.suites.forbidden_classes {
                        if suite.has(*class) {
                            why.push(class.as_str().to_owned());
                        }
                    }
                    for class in &b.suites.required_classes {
                        let implied =
                            tls13 && matches!(class, SuiteFlag::ForwardSecrecy | SuiteFlag::Aead);
                        if !implied && !suite.has(*class) {
                            why.push(format!("no {}", class.as_str()));
                        }
                    }
                    if why.is_empty() && !allowed(b, tls13, &suite.id.to_string()) {
                        why.push("not in the baseline's list".to_owned());
                    }
                    if !why.is_empty() {
                        out.push(format!("{version} {}: {}", suite.id, why.join(", ")));
                    }
                }
            }
            for (_, hs) in facts::handshakes(ep.obs) {
                let (Some(version), Some(suite)) = (hs.version, &hs.cipher_suite) else {
                    continue;
                };
                if !hs.completed || scanned.contains(&suite.code) {
                    continue;
                }
                if !allowed(b, version == TlsVersion::TLS13, &suite.to_string()) {
                    scanned.push(suite.code);
                    out.push(format!(
                        "{version} {suite}: not in the baseline's list (handshake)"
                    ));
                }
            }
            out
        },
        |ep, b, n| {
            format!(
                "{} accepts {n} cipher suite{} outside baseline {}.",
                where_(ep),
                if n == 1 { "" } else { "s" },
                b.label()
            )
        },
    )
}

fn allowed(b: &Baseline, tls13: bool, name: &str) -> bool {
    let list = if tls13 {
        &b.suites.allowed_tls13
    } else {
        &b.suites.allowed_tls12
    };
    list.is_empty() || list.iter().any(|n| n.eq_ignore_ascii_case(name))
}

/// MW-DRIFT-010.
pub(crate) const KEY_OUTSIDE_BASELINE: Rule = Rule {
    id: "MW-DRIFT-010",
    name: "key-outside-baseline",
    family: Family::Drift,
    title: "Keys or key-exchange groups outside the policy's baseline",
    severities: Severities::everywhere(Severity::Medium),
    rationale: "The baseline sets minimum sizes for the certificate's RSA or EC key and for \
        finite-field Diffie-Hellman groups, and may list the certificate key types and \
        key-exchange groups allowed. Smaller keys fall short of the security level the \
        organization declared.",
    remediation: baseline_remediation(
        "Issue a certificate with a key of the baseline's size and type, use DH parameters of \
            the baseline's size (or drop DHE suites), and restrict the groups to the baseline's.",
    ),
    references: &[BASELINE_REFERENCE],
    check: Check::Audit(key_outside),
};

fn key_outside(audit: &Audit<'_>) -> Vec<AuditHit> {
    each(
        audit,
        |ep, b| {
            let mut out: Vec<String> = Vec::new();
            let mut push = |line: String| {
                if !out.contains(&line) {
                    out.push(line);
                }
            };
            let mut keys: Vec<(mailwarden_model::PublicKeyInfo, String)> = Vec::new();
            for seen in facts::chains(ep.obs) {
                if let Some(leaf) = seen.chain.leaf() {
                    keys.push((
                        leaf.public_key.clone(),
                        format!("certificate {}", short(&leaf.sha256)),
                    ));
                }
            }
            if let Some(s) = scan(ep) {
                for k in &s.certificate_keys {
                    if let Some(pk) = &k.public_key {
                        let id = k
                            .sha256
                            .as_deref()
                            .map_or_else(|| k.key_type.clone(), short);
                        keys.push((pk.clone(), format!("certificate {id}")));
                    }
                }
            }
            for (pk, what) in &keys {
                let bits = pk.bits.unwrap_or(0);
                let algorithm = pk.algorithm.to_ascii_lowercase();
                if !b.keys.certificate_types.is_empty()
                    && !b
                        .keys
                        .certificate_types
                        .iter()
                        .any(|t| t.eq_ignore_ascii_case(&algorithm))
                {
                    push(format!(
                        "{what}: {algorithm} key; allowed: {}",
                        b.keys.certificate_types.join(", ")
                    ));
                }
                if algorithm == "rsa" && pk.bits.is_some() && bits < b.keys.min_rsa_bits {
                    push(format!(
                        "{what}: RSA {bits} bits; minimum {}",
                        b.keys.min_rsa_bits
                    ));
                }
                if algorithm == "ecdsa" && pk.bits.is_some() && bits < b.keys.min_ec_bits {
                    push(format!(
                        "{what}: EC {bits} bits; minimum {}",
                        b.keys.min_ec_bits
                    ));
                }
            }
            let mut groups: Vec<String> = Vec::new();
            if let Some(s) = scan(ep) {
                for (version, suite) in s.accepted_suites() {
                    if let Some(dh) = suite.dh_bits
                        && dh < b.keys.min_dh_bits
                    {
                        push(format!(
                            "{version} {}: DH {dh} bits; minimum {}",
                            suite.id, b.keys.min_dh_bits
                        ));
                    }
                    if let Some(g) = &suite.ecdh_group {
                        groups.push(g.to_string());
                    }
                }
                for v in &s.versions {
                    if let Some(gs) = &v.groups {
                        groups.extend(gs.groups.iter().map(ToString::to_string));
                    }
                }
            }
            for (_, hs) in facts::handshakes(ep.obs) {
                if hs.completed
                    && let Some(g) = &hs.key_exchange_group
                {
                    groups.push(g.clone());
                }
            }
            if !b.keys.groups.is_empty() {
                for g in groups {
                    if !b.keys.groups.iter().any(|a| a.eq_ignore_ascii_case(&g)) {
                        push(format!(
                            "group {g}: not in the baseline's list ({})",
                            b.keys.groups.join(", ")
                        ));
                    }
                }
            }
            out
        },
        |ep, b, n| {
            format!(
                "{} uses {n} key{} or group{} outside baseline {}.",
                where_(ep),
                if n == 1 { "" } else { "s" },
                if n == 1 { "" } else { "s" },
                b.label()
            )
        },
    )
}

fn short(sha256: &str) -> String {
    sha256.get(..16).unwrap_or(sha256).to_owned()
}

/// MW-DRIFT-011.
pub(crate) const FEATURE_OUTSIDE_BASELINE: Rule = Rule {
    id: "MW-DRIFT-011",
    name: "tls-feature-outside-baseline",
    family: Family::Drift,
    title: "TLS features outside the policy's baseline",
    severities: Severities::everywhere(Severity::Medium),
    rationale: "Some baselines require TLS features (secure renegotiation) or forbid others \
        (compression, heartbeat). The enumeration reads them from the server's answers; a \
        server that differs does not meet the declared standard.",
    remediation: baseline_remediation(
        "Upgrade the TLS library or change its options so the required features are on and \
            the forbidden ones off.",
    ),
    references: &[BASELINE_REFERENCE],
    check: Check::Audit(feature_outside),
};

fn feature_outside(audit: &Audit<'_>) -> Vec<AuditHit> {
    each(
        audit,
        |ep, b| {
            let Some(s) = scan(ep) else {
                return Vec::new();
            };
            let mut out = Vec::new();
            for f in &b.features.required {
                if feature(s, *f) == Some(false) {
                    out.push(format!("{}: absent; the baseline requires it", f.as_str()));
                }
            }
            for f in &b.features.forbidden {
                if feature(s, *f) == Some(true) {
                    out.push(format!("{}: present; the baseline forbids it", f.as_str()));
                }
            }
            out
        },
        |ep, b, n| {
            format!(
                "{} has {n} TLS feature{} outside baseline {}.",
                where_(ep),
                if n == 1 { "" } else { "s" },
                b.label()
            )
        },
    )
}

/// Whether the enumeration saw a feature; `None` when not determined.
fn feature(s: &TlsScan, f: Feature) -> Option<bool> {
    let x = &s.features;
    match f {
        Feature::SecureRenegotiation => x.secure_renegotiation,
        Feature::Compression => x.compression,
        Feature::ExtendedMasterSecret => x.extended_master_secret,
        Feature::EncryptThenMac => x.encrypt_then_mac,
        Feature::SessionTicket => x.session_ticket,
        Feature::OcspStapling => x.ocsp_stapling,
        Feature::Heartbeat => x.heartbeat,
        Feature::FallbackScsv => x.fallback_scsv.as_ref().and_then(|f| match f.outcome {
            mailwarden_model::FallbackOutcome::Refused => Some(true),
            mailwarden_model::FallbackOutcome::Accepted => Some(false),
            mailwarden_model::FallbackOutcome::Inconclusive => None,
        }),
    }
}
