//! Helpers shared by the rule tests: assess one observation, list what fired.
#![allow(dead_code)] // Each test file uses a different subset.

use mailwarden_model::{Assessment, EndpointObservation, Finding, Posture, Severity};
use mailwarden_rules::{AssessContext, assess, fixtures};

/// The assessment of one endpoint at the fixtures' scan time.
pub fn assess_one(obs: EndpointObservation) -> Assessment {
    assess(&[obs], &[], &AssessContext::new(fixtures::scan_time()))
}

/// The same, for a domain whose MX senders authenticate (DANE or MTA-STS).
pub fn assess_authenticated_mx(obs: EndpointObservation) -> Assessment {
    let ctx = AssessContext {
        mx_authenticated_tls: true,
        ..AssessContext::new(fixtures::scan_time())
    };
    assess(&[obs], &[], &ctx)
}

/// The posture verdict of one endpoint.
pub fn posture(obs: EndpointObservation) -> Posture {
    let a = assess_one(obs);
    a.endpoints
        .first()
        .map(|e| e.posture)
        .unwrap_or(Posture::NotAssessed)
}

/// The context name of one endpoint.
pub fn context(obs: EndpointObservation) -> String {
    let a = assess_one(obs);
    a.endpoints
        .first()
        .map(|e| e.context.clone())
        .unwrap_or_default()
}

/// Rule ids that fired, with their severities, in report order.
pub fn fired(obs: EndpointObservation) -> Vec<(String, Severity)> {
    pairs(&assess_one(obs))
}

/// Rule ids and severities of an assessment.
pub fn pairs(a: &Assessment) -> Vec<(String, Severity)> {
    a.findings
        .iter()
        .map(|f| (f.rule_id.clone(), f.severity))
        .collect()
}

/// The one finding of rule `id`, failing the test when there is not exactly one.
pub fn only<'a>(a: &'a Assessment, id: &str) -> &'a Finding {
    let matching: Vec<&Finding> = a.findings.iter().filter(|f| f.rule_id == id).collect();
    assert_eq!(
        matching.len(),
        1,
        "expected one {id}, got {:#?}",
        a.findings
    );
    matching[0]
}

/// True when rule `id` fired.
pub fn has(a: &Assessment, id: &str) -> bool {
    a.findings.iter().any(|f| f.rule_id == id)
}

/// All evidence lines of a finding, as text.
pub fn evidence_text(f: &Finding) -> Vec<String> {
    f.evidence
        .iter()
        .flat_map(|e| e.lines.iter().map(|l| l.to_string()))
        .collect()
}
