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
mod docs;
mod facts;
#[cfg(feature = "fixtures")]
pub mod fixtures;
mod info;
mod posture;
mod tls;
mod tls_scan;
mod transport;

use jiff::Timestamp;
use mailwarden_model::{
    Assessment, EndpointAssessment, EndpointObservation, Finding, TargetResult,
};

pub use catalogue::{Family, Level, Reference, Remediation, Rule, Severities, catalogue, rule};
pub use context::Context;
pub use docs::catalogue_markdown;
pub use facts::Software;
pub use posture::{ALL_POSTURES, describe as describe_posture, posture};

use catalogue::Check;
use facts::{Endpoint, Hit};

/// What the rules need to know besides the observations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssessContext {
    /// The instant the scan ran: certificates are judged valid or expired at
    /// this time, so re-assessing a stored scan gives the same answer.
    pub scan_time: Timestamp,
    /// True when the domain publishes DANE (RFC 7672) or MTA-STS (RFC 8461),
    /// so that senders authenticate its MX: certificate identity problems on
    /// port 25 then become high instead of info. Not discovered yet: false
    /// unless the caller knows better.
    pub mx_authenticated_tls: bool,
}

impl AssessContext {
    /// A context for a scan made at `scan_time`, with no DANE or MTA-STS known.
    pub fn new(scan_time: Timestamp) -> Self {
        AssessContext {
            scan_time,
            mx_authenticated_tls: false,
        }
    }
}

/// Judges a whole scan: postures in endpoint order, and findings sorted most
/// severe first, then by rule id, then by address.
pub fn assess(
    report_endpoints: &[EndpointObservation],
    targets: &[TargetResult],
    ctx: &AssessContext,
) -> Assessment {
    let mut endpoints = Vec::with_capacity(report_endpoints.len());
    let mut findings = Vec::new();
    for obs in report_endpoints {
        let context = Context::of_endpoint(obs);
        let posture = posture::posture(obs, context);
        endpoints.push(EndpointAssessment {
            target: obs.target.clone(),
            address: obs.address,
            protocol: obs.protocol,
            context: context.as_str().to_owned(),
            posture,
        });
        let endpoint = Endpoint {
            obs,
            context,
            posture,
            software: Software::detect(obs),
            scan_time: ctx.scan_time,
        };
        findings.extend(endpoint_findings(&endpoint, ctx));
    }
    for target in targets {
        findings.extend(target_findings(target, ctx));
    }
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.rule_id.cmp(&b.rule_id))
            .then_with(|| a.address.cmp(&b.address))
            .then_with(|| a.target.cmp(&b.target))
    });
    Assessment {
        endpoints,
        findings,
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
            .for_context(ep.context, ctx.mx_authenticated_tls)
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
