//! The rule catalogue of mailwarden: pure functions from observations to the
//! posture verdict of each endpoint and to findings.
//!
//! Probes record facts ([`mailwarden_model::EndpointObservation`]); this crate
//! decides what they mean, and never touches the network, so a stored scan can
//! be re-judged (`audit --from scan.json`) and every rule is tested from
//! fixtures.
//!
//! * [`assess`] computes the [`Assessment`] of a scan: the [`Context`] and
//!   [`Posture`](mailwarden_model::Posture) of each endpoint, and the findings, most severe first.
//! * [`catalogue`] lists every [`Rule`], each declared once with its id,
//!   name, severities per context, rationale, remediation for Postfix, Dovecot
//!   and Exim, references and check; [`rule`] looks one up.
//! * [`catalogue_markdown`] renders the catalogue as `docs/rules.md`.
//! * With a policy ([`AssessContext::with_policy`], parsed by [`parse_policy`]),
//!   declared roles decide contexts, the DRIFT rules compare the scan with the
//!   declared architecture, and the policy's overrides apply to every
//!   finding; [`judge`] also returns what `allow` suppressed.
//!
//! ```
//! use mailwarden_rules::{AssessContext, assess, rule};
//!
//! let r = rule("MW-AUTH-001").expect("a stable id");
//! assert_eq!(r.name, "auth-offered-before-tls");
//! let ctx = AssessContext::new(jiff::Timestamp::now());
//! let assessment = assess(&[], &[], &ctx);
//! assert!(assessment.findings.is_empty());
//! ```
//!
//! Severity depends on where an endpoint sits (see [`Context`]): opportunistic
//! STARTTLS is what a public MX should do, and fatal on a submission port.
#![deny(missing_docs)]

mod auth;
mod catalogue;
mod cert;
mod context;
mod dns;
mod docs;
mod drift;
mod facts;
#[cfg(feature = "fixtures")]
pub mod fixtures;
mod info;
mod posture;
mod tls;
mod tls_scan;
mod transport;

use std::borrow::Cow;
use std::sync::Arc;

use jiff::Timestamp;
use mailwarden_model::{
    Assessment, DomainObservation, EndpointAssessment, EndpointObservation, Evidence, Finding,
    Line, Severity, TargetResult,
};
use mailwarden_policy::{KnownRules, Policy, PolicyError};

pub use catalogue::{Family, Level, Reference, Remediation, Rule, Severities, catalogue, rule};
pub use context::Context;
pub use dns::{mx_authenticated, mx_pattern_matches};
pub use docs::catalogue_markdown;
pub use facts::Software;
pub use posture::{ALL_POSTURES, describe as describe_posture, posture};

use catalogue::Check;
use facts::{Endpoint, Hit};

/// What the rules need to know besides the observations.
#[derive(Debug, Clone, PartialEq)]
pub struct AssessContext {
    /// The instant the scan ran: certificates are judged valid or expired at
    /// this time, so re-assessing a stored scan gives the same answer.
    pub scan_time: Timestamp,
    /// True when the domain publishes DANE (RFC 7672) or MTA-STS (RFC 8461),
    /// so that senders authenticate its MX: certificate identity problems on
    /// port 25 then become high instead of info. Not discovered yet: false
    /// unless the caller knows better.
    pub mx_authenticated_tls: bool,
    /// The declared architecture (`audit --policy`). With it, declared roles
    /// decide contexts, the DRIFT rules run, and its overrides apply to every
    /// finding.
    pub policy: Option<Arc<Policy>>,
    /// The mail domains observed (`scan DOMAIN`, `dns DOMAIN`): the domain
    /// rules (DNS, SPF, DMARC, DKIM, MTA-STS, TLS-RPT, DANE) run on each, and
    /// an MX host whose senders authenticate it (a usable, secure TLSA set or
    /// an enforced MTA-STS policy covering it) gets the `mx + DANE/MTA-STS`
    /// severities on its own endpoints.
    pub domains: Vec<DomainObservation>,
}

impl AssessContext {
    /// A context for a scan made at `scan_time`, with no DANE or MTA-STS known.
    pub fn new(scan_time: Timestamp) -> Self {
        AssessContext {
            scan_time,
            mx_authenticated_tls: false,
            policy: None,
            domains: Vec::new(),
        }
    }

    /// Adds the observed mail domains (see [`AssessContext::domains`]).
    pub fn with_domains(mut self, domains: Vec<DomainObservation>) -> Self {
        self.domains = domains;
        self
    }

    /// True when senders authenticate the MX `host` (DANE or MTA-STS), from
    /// the caller's knowledge or the observed domains.
    pub fn mx_authenticated_for(&self, host: &str) -> bool {
        self.mx_authenticated_tls || self.domains.iter().any(|d| dns::mx_authenticated(d, host))
    }

    /// Adds a policy; its `[dns]` facts (MTA-STS enforce, DANE) make the MX
    /// authenticated.
    pub fn with_policy(mut self, policy: Arc<Policy>) -> Self {
        self.mx_authenticated_tls |= policy.dns.mx_authenticated();
        self.policy = Some(policy);
        self
    }
}

/// Parses a policy file, checking `[rules]` keys against the catalogue (ids
/// or names; names are normalized to ids).
pub fn parse_policy(source: &str, origin: &str) -> Result<Policy, PolicyError> {
    let known: Vec<(&str, &str)> = catalogue().iter().map(|r| (r.id, r.name)).collect();
    Policy::parse(source, origin, KnownRules { rules: &known })
}

/// Where an endpoint offers authentication, as `(before TLS, inside TLS)`:
/// SASL mechanisms, IMAP `LOGIN` without `LOGINDISABLED`, POP3 `USER`.
/// (`policy init` writes a service's `auth` from it.)
pub fn auth_offered(obs: &EndpointObservation) -> (bool, bool) {
    drift::mode::offered(obs)
}

/// The outcome of [`assess`] with the overrides' bookkeeping.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Judgement {
    /// The assessment (overrides applied).
    pub assessment: Assessment,
    /// Findings removed by an `allow` override.
    pub suppressed: Vec<Finding>,
}

/// Judges a whole scan: postures in endpoint order, and findings sorted most
/// severe first, then by rule id, then by address. With a policy, findings an
/// `allow` override suppresses are dropped (see [`judge`] to keep them).
pub fn assess(
    report_endpoints: &[EndpointObservation],
    targets: &[TargetResult],
    ctx: &AssessContext,
) -> Assessment {
    judge(report_endpoints, targets, ctx).assessment
}

/// [`assess`], also returning the findings that policy overrides suppressed.
pub fn judge(
    report_endpoints: &[EndpointObservation],
    targets: &[TargetResult],
    ctx: &AssessContext,
) -> Judgement {
    let policy = ctx.policy.as_deref();
    // A declared role decides the context, also when re-judging a stored scan.
    let observations: Vec<Cow<'_, EndpointObservation>> = report_endpoints
        .iter()
        .map(
            |obs| match policy.and_then(|p| p.role_at(&obs.target, obs.address.port())) {
                Some(role) if obs.role != Some(role) => {
                    let mut owned = obs.clone();
                    owned.role = Some(role);
                    Cow::Owned(owned)
                }
                _ => Cow::Borrowed(obs),
            },
        )
        .collect();
    let endpoints: Vec<Endpoint<'_>> = observations
        .iter()
        .map(|obs| {
            let context = Context::of_endpoint(obs);
            Endpoint {
                obs,
                context,
                posture: posture::posture(obs, context),
                software: Software::detect(obs),
                scan_time: ctx.scan_time,
            }
        })
        .collect();
    let mut findings = Vec::new();
    for ep in &endpoints {
        findings.extend(endpoint_findings(ep, ctx));
    }
    for target in targets {
        findings.extend(target_findings(target, ctx));
    }
    findings.extend(dns::findings(report_endpoints, ctx));
    let mut suppressed = Vec::new();
    if let Some(policy) = policy {
        let audit = drift::Audit {
            endpoints: &endpoints,
            targets,
            policy,
        };
        findings.extend(audit_findings(&audit, ctx));
        (findings, suppressed) = apply_overrides(findings, policy);
    }
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.rule_id.cmp(&b.rule_id))
            .then_with(|| a.address.cmp(&b.address))
            .then_with(|| a.target.cmp(&b.target))
    });
    let endpoints = endpoints
        .iter()
        .map(|ep| EndpointAssessment {
            target: ep.obs.target.clone(),
            address: ep.obs.address,
            protocol: ep.obs.protocol,
            context: ep.context.as_str().to_owned(),
            posture: ep.posture,
        })
        .collect();
    Judgement {
        assessment: Assessment {
            endpoints,
            findings,
        },
        suppressed,
    }
}

/// The findings of the DRIFT rules.
fn audit_findings(audit: &drift::Audit<'_>, ctx: &AssessContext) -> Vec<Finding> {
    let mut out = Vec::new();
    for rule in catalogue() {
        let Check::Audit(check) = rule.check else {
            continue;
        };
        for hit in check(audit) {
            let ep = hit.endpoint.and_then(|i| audit.endpoints.get(i));
            let context = match (ep, hit.port) {
                (Some(ep), _) => ep.context,
                (None, Some((port, role))) => Context::of(port, Some(role), None),
                (None, None) => Context::Other,
            };
            let Some(severity) = rule
                .severities
                .for_context(context, ctx.mx_authenticated_tls)
            else {
                continue;
            };
            out.push(finding(
                rule,
                severity,
                &hit.target,
                ep.map(|e| e.obs),
                context,
                ep.and_then(|e| e.software),
                hit.hit,
            ));
        }
    }
    out
}

/// Applies `[rules]` and per-service overrides: returns the kept findings
/// (severity changed, with an evidence line saying so) and the suppressed ones.
fn apply_overrides(findings: Vec<Finding>, policy: &Policy) -> (Vec<Finding>, Vec<Finding>) {
    let mut kept = Vec::new();
    let mut suppressed = Vec::new();
    for mut f in findings {
        let port = f.address.map(|a| a.port());
        let Some(action) = policy.override_for(&f.rule_id, &f.target, port) else {
            kept.push(f);
            continue;
        };
        match action.apply(f.severity) {
            None => suppressed.push(f),
            Some(severity) => {
                if severity != f.severity {
                    f.evidence
                        .push(override_evidence(&f, action.as_str(), severity));
                    f.severity = severity;
                }
                kept.push(f);
            }
        }
    }
    (kept, suppressed)
}

fn override_evidence(f: &Finding, action: &str, to: Severity) -> Evidence {
    Evidence {
        label: "policy override".to_owned(),
        lines: vec![Line::from(
            format!("\"{}\" = \"{action}\": {} -> {to}", f.rule_id, f.severity).as_str(),
        )],
    }
}

/// The findings of every endpoint rule that applies in the endpoint's context.
fn endpoint_findings(ep: &Endpoint<'_>, ctx: &AssessContext) -> Vec<Finding> {
    let mut out = Vec::new();
    for rule in catalogue() {
        let Check::Endpoint(check) = rule.check else {
            continue;
        };
        let Some(severity) = rule
            .severities
            .for_context(ep.context, ctx.mx_authenticated_for(&ep.obs.target))
        else {
            continue;
        };
        for hit in check(ep) {
            out.push(finding(
                rule,
                severity,
                &ep.obs.target,
                Some(ep.obs),
                ep.context,
                ep.software,
                hit,
            ));
        }
    }
    out
}

/// The findings about a target as a whole (name resolution).
fn target_findings(target: &TargetResult, ctx: &AssessContext) -> Vec<Finding> {
    let mut out = Vec::new();
    for rule in catalogue() {
        let Check::Target(check) = rule.check else {
            continue;
        };
        let Some(severity) = rule
            .severities
            .for_context(Context::Other, ctx.mx_authenticated_tls)
        else {
            continue;
        };
        for hit in check(target) {
            out.push(finding(
                rule,
                severity,
                &target.input,
                None,
                Context::Other,
                None,
                hit,
            ));
        }
    }
    out
}

fn finding(
    rule: &Rule,
    severity: mailwarden_model::Severity,
    target: &str,
    obs: Option<&EndpointObservation>,
    context: Context,
    software: Option<Software>,
    hit: Hit,
) -> Finding {
    Finding {
        rule_id: rule.id.to_owned(),
        rule: rule.name.to_owned(),
        severity,
        target: target.to_owned(),
        address: obs.map(|o| o.address),
        context: context.as_str().to_owned(),
        summary: hit.summary,
        evidence: hit.evidence,
        remediation: rule.remediation.for_software(software),
    }
}
