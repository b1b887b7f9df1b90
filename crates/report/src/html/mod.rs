//! One self-contained HTML file: a posture matrix (addresses × ports), a
//! table per address, the findings with their evidence, and a certificate
//! expiry timeline drawn as inline SVG.
//!
//! No external asset of any kind: CSS and a few lines of JavaScript (a
//! severity filter) are inline, and a Content-Security-Policy meta tag
//! (`default-src 'none'`, the script allowed by its SHA-256 hash only)
//! forbids every request and every other script. Everything that came from a
//! server is hostile input: the template is rendered by minijinja with HTML
//! auto-escaping on every value, and control characters are escaped before
//! that (as in the text report). Even if an escape were missed, the CSP would
//! keep an injected `<script>` inert and an injected `<img>` offline.

mod timeline;

use std::collections::BTreeSet;
use std::net::IpAddr;

use base64::Engine as _;
use mailwarden_model::{EndpointObservation, Finding, Line, Posture, ScanReport, Severity};
use minijinja::{AutoEscape, Environment};
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use crate::cells;

const TEMPLATE: &str = include_str!("report.html");

/// The filter script; its hash goes into the Content-Security-Policy.
const SCRIPT: &str = "document.documentElement.dataset.js='ok';\
for(const box of document.querySelectorAll('input[data-sev]')){\
box.addEventListener('change',()=>{\
for(const f of document.querySelectorAll('.finding.sev-'+box.dataset.sev)){\
f.hidden=!box.checked;}});}";

#[derive(Serialize)]
struct Page {
    tool: String,
    started: String,
    finished: String,
    csp: String,
    script: &'static str,
    counts: Vec<Count>,
    ports: Vec<u16>,
    matrix: Vec<MatrixRow>,
    targets: Vec<TargetView>,
    timeline: Option<timeline::Timeline>,
}

#[derive(Serialize)]
struct Count {
    severity: &'static str,
    n: usize,
}

#[derive(Serialize)]
struct MatrixRow {
    target: String,
    ip: String,
    cells: Vec<MatrixCell>,
}

#[derive(Serialize)]
struct MatrixCell {
    text: String,
    class: String,
    title: String,
}

#[derive(Serialize)]
struct TargetView {
    name: String,
    check_name: Option<String>,
    addresses: Vec<AddressView>,
    findings: Vec<FindingView>,
}

#[derive(Serialize)]
struct AddressView {
    ip: String,
    rows: Vec<EndpointRow>,
}

#[derive(Serialize)]
struct EndpointRow {
    port: u16,
    state: &'static str,
    protocol: String,
    posture: &'static str,
    class: String,
    tls: String,
    certificate: String,
    auth: String,
    banner: String,
}

#[derive(Serialize)]
struct FindingView {
    severity: &'static str,
    rule_id: String,
    rule: String,
    place: String,
    summary: String,
    evidence: Vec<EvidenceView>,
    remediation: String,
}

#[derive(Serialize)]
struct EvidenceView {
    label: String,
    lines: String,
}

/// The report as one HTML document.
pub fn render_html(report: &ScanReport) -> String {
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(SCRIPT.as_bytes()));
    let page = Page {
        tool: shown(&format!("{} {}", report.tool.name, report.tool.version)),
        started: report.started_at.to_string(),
        finished: report.finished_at.to_string(),
        csp: format!(
            "default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{hash}'; \
             img-src data:; base-uri 'none'; form-action 'none'"
        ),
        script: SCRIPT,
        counts: Severity::ALL
            .iter()
            .rev()
            .map(|&s| Count {
                severity: s.as_str(),
                n: report
                    .assessment
                    .findings
                    .iter()
                    .filter(|f| f.severity == s)
                    .count(),
            })
            .collect(),
        ports: ports(report),
        matrix: matrix(report),
        targets: crate::target_names(report)
            .iter()
            .map(|t| target_view(report, t))
            .collect(),
        timeline: timeline::build(report),
    };
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    let rendered = env
        .add_template("report.html", TEMPLATE)
        .and_then(|()| env.get_template("report.html"))
        .and_then(|t| t.render(&page));
    match rendered {
        Ok(html) => html,
        // The template is ours and tested; keep the output a valid page anyway.
        Err(e) => format!(
            "<!DOCTYPE html><html><body><p>cannot render the report: {}</p></body></html>\n",
            crate::junit::xml(&e.to_string())
        ),
    }
}

/// Text as shown: control characters escaped (HTML escaping is the template's).
fn shown(text: &str) -> String {
    Line::from(text).to_string()
}

fn ports(report: &ScanReport) -> Vec<u16> {
    let set: BTreeSet<u16> = report.endpoints.iter().map(|e| e.address.port()).collect();
    set.into_iter().collect()
}

fn worst(report: &ScanReport, obs: &EndpointObservation) -> Option<Severity> {
    report
        .assessment
        .findings
        .iter()
        .filter(|f| f.address == Some(obs.address) && f.target == obs.target)
        .map(|f| f.severity)
        .max()
}

/// The CSS class of a cell: the worst finding's severity, else the verdict.
fn class(report: &ScanReport, obs: &EndpointObservation, posture: Posture) -> String {
    match worst(report, obs) {
        Some(s) if s >= Severity::Low => format!("sev-{}", s.as_str()),
        _ if posture == Posture::NotAssessed => "na".to_owned(),
        _ => "ok".to_owned(),
    }
}

fn matrix(report: &ScanReport) -> Vec<MatrixRow> {
    let ports = ports(report);
    let mut keys: Vec<(String, IpAddr)> = Vec::new();
    for e in &report.endpoints {
        let key = (e.target.clone(), e.address.ip());
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys.into_iter()
        .map(|(target, ip)| MatrixRow {
            cells: ports
                .iter()
                .map(|&port| {
                    let obs = report.endpoints.iter().find(|e| {
                        e.target == target && e.address.ip() == ip && e.address.port() == port
                    });
                    match obs {
                        None => MatrixCell {
                            text: String::new(),
                            class: "none".to_owned(),
                            title: "not scanned".to_owned(),
                        },
                        Some(obs) => {
                            let (posture, context) = crate::verdict(report, obs);
                            MatrixCell {
                                text: posture.as_str().to_owned(),
                                class: class(report, obs, posture),
                                title: format!(
                                    "{} · {} · {} ({})",
                                    obs.address,
                                    obs.state.as_str(),
                                    cells::protocol(obs),
                                    context
                                ),
                            }
                        }
                    }
                })
                .collect(),
            target: shown(&target),
            ip: ip.to_string(),
        })
        .collect()
}

fn target_view(report: &ScanReport, target: &str) -> TargetView {
    let endpoints: Vec<&EndpointObservation> = report
        .endpoints
        .iter()
        .filter(|e| e.target == target)
        .collect();
    let mut ips: Vec<IpAddr> = Vec::new();
    for e in &endpoints {
        if !ips.contains(&e.address.ip()) {
            ips.push(e.address.ip());
        }
    }
    let addresses = ips
        .into_iter()
        .map(|ip| AddressView {
            ip: ip.to_string(),
            rows: endpoints
                .iter()
                .filter(|e| e.address.ip() == ip)
                .map(|obs| {
                    let (posture, context) = crate::verdict(report, obs);
                    EndpointRow {
                        port: obs.address.port(),
                        state: obs.state.as_str(),
                        protocol: format!("{} ({context})", cells::protocol(obs)),
                        posture: posture.as_str(),
                        class: class(report, obs, posture),
                        tls: cells::tls(obs),
                        certificate: cells::certificate(obs, report.started_at),
                        auth: cells::auth(obs),
                        banner: cells::banner(obs),
                    }
                })
                .collect(),
        })
        .collect();
    TargetView {
        name: shown(target),
        check_name: report
            .targets
            .iter()
            .find(|t| t.input == target && t.check_name != target)
            .map(|t| shown(&t.check_name)),
        addresses,
        findings: report
            .assessment
            .findings
            .iter()
            .filter(|f| f.target == target)
            .map(finding_view)
            .collect(),
    }
}

fn finding_view(f: &Finding) -> FindingView {
    FindingView {
        severity: f.severity.as_str(),
        rule_id: shown(&f.rule_id),
        rule: shown(&f.rule),
        place: f
            .address
            .map_or_else(|| shown(&f.target), |a| a.to_string()),
        summary: shown(&f.summary),
        evidence: f
            .evidence
            .iter()
            .map(|ev| EvidenceView {
                label: shown(&ev.label),
                lines: ev
                    .lines
                    .iter()
                    .map(Line::to_string)
                    .collect::<Vec<_>>()
                    .join("\n"),
            })
            .collect(),
        remediation: shown(&f.remediation),
    }
}
