//! What changed between two runs: ports opened and closed, posture, protocol
//! and TLS changes, certificates renewed or replaced, TLS versions and suites
//! (when both runs enumerated them), findings new and fixed.
//!
//! A pure function of two reports, so `diff` works on stored runs and on
//! JSON files alike. Endpoints are matched by target, address and port;
//! findings by rule, target and address (their summaries may change from one
//! day to the next, "expires in 9 days", without the finding changing).

mod text;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;

use jiff::Timestamp;
use mailwarden_model::{
    Certificate, EndpointObservation, Finding, PortState, ScanReport, Severity, SupportStatus,
    TlsScan,
};
use serde::Serialize;

use crate::rows;

pub use text::render_text;

/// The changes from one run to the next. Every list is sorted by target,
/// address and port; empty lists are left out of the JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RunDiff {
    /// Ports that answer now and did not (or were not scanned) before.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ports_opened: Vec<PortChange>,
    /// Ports that answered before and no longer do (`new_state` absent: the
    /// port was not in the new run, e.g. not found by `--all-ports`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ports_closed: Vec<PortChange>,
    /// Other state changes of ports that answer in both (open → throttled, ...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub states_changed: Vec<PortChange>,
    /// Posture verdicts that changed (starttls-enforced → starttls-optional).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub postures_changed: Vec<ValueChange>,
    /// Protocols recognized differently.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub protocols_changed: Vec<ValueChange>,
    /// The modern handshake's version and suite changed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tls_changed: Vec<ValueChange>,
    /// Leaf certificates renewed, replaced, added or gone.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<CertificateChange>,
    /// TLS versions and suites accepted, when both runs enumerated them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tls_scan: Vec<TlsScanChange>,
    /// Findings in the new run only.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub findings_new: Vec<FindingRef>,
    /// Findings in the old run only.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub findings_fixed: Vec<FindingRef>,
}

impl RunDiff {
    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        self == &RunDiff::default()
    }

    /// The number of changes, all kinds together.
    pub fn len(&self) -> usize {
        self.ports_opened.len()
            + self.ports_closed.len()
            + self.states_changed.len()
            + self.postures_changed.len()
            + self.protocols_changed.len()
            + self.tls_changed.len()
            + self.certificates.len()
            + self.tls_scan.len()
            + self.findings_new.len()
            + self.findings_fixed.len()
    }
}

/// Where: a target and an endpoint address.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Place {
    /// The target as given.
    pub target: String,
    /// Address and port.
    pub address: SocketAddr,
}

/// A port whose reachability changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortChange {
    /// Where.
    #[serde(flatten)]
    pub place: Place,
    /// The service role the port was judged in (new run, else old).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The protocol recognized (new run, else old).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// State in the old run; absent when the port was not scanned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_state: Option<String>,
    /// State in the new run; absent when the port was not scanned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_state: Option<String>,
}

/// A value that changed at one endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValueChange {
    /// Where.
    #[serde(flatten)]
    pub place: Place,
    /// Before ("none" when there was none).
    pub old: String,
    /// After.
    pub new: String,
}

/// How a leaf certificate changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CertificateChangeKind {
    /// A new certificate for the same subject, issuer and names, valid
    /// longer than the old one (a renewal).
    Renewed,
    /// A different certificate: other subject, names or issuer, or one
    /// that expires no later than the old one.
    Replaced,
    /// A certificate where there was none.
    Added,
    /// No certificate where there was one.
    Removed,
}

/// A leaf certificate that changed at one endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertificateChange {
    /// Where.
    #[serde(flatten)]
    pub place: Place,
    /// Renewed, replaced, added or removed.
    pub change: CertificateChangeKind,
    /// The certificate before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<CertificateSummary>,
    /// The certificate after.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<CertificateSummary>,
}

/// What identifies a certificate in a diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertificateSummary {
    /// SHA-256 fingerprint.
    pub sha256: String,
    /// Subject DN.
    pub subject: String,
    /// Issuer DN.
    pub issuer: String,
    /// DNS names.
    pub dns_names: Vec<String>,
    /// End of validity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_after: Option<Timestamp>,
}

/// Changes in what the TLS enumeration found at one endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlsScanChange {
    /// Where.
    #[serde(flatten)]
    pub place: Place,
    /// Versions accepted now and not before.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub versions_added: Vec<String>,
    /// Versions accepted before and refused now.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub versions_removed: Vec<String>,
    /// Suites accepted now and not before, as "TLSv1.2 NAME".
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub suites_added: Vec<String>,
    /// Suites accepted before and not now.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub suites_removed: Vec<String>,
}

/// A finding, as a diff names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FindingRef {
    /// Rule id.
    pub rule_id: String,
    /// Rule name.
    pub rule: String,
    /// Severity.
    pub severity: Severity,
    /// The target.
    pub target: String,
    /// The endpoint, when the finding is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<SocketAddr>,
    /// What is wrong.
    pub summary: String,
}

impl From<&Finding> for FindingRef {
    fn from(f: &Finding) -> Self {
        FindingRef {
            rule_id: f.rule_id.clone(),
            rule: f.rule.clone(),
            severity: f.severity,
            target: f.target.clone(),
            address: f.address,
            summary: f.summary.clone(),
        }
    }
}

/// The changes from `old` to `new`.
pub fn diff(old: &ScanReport, new: &ScanReport) -> RunDiff {
    let mut out = RunDiff::default();
    let old_eps = by_place(old);
    let new_eps = by_place(new);
    let places: BTreeSet<&Place> = old_eps.keys().chain(new_eps.keys()).collect();
    for place in places {
        let (o, n) = (old_eps.get(place).copied(), new_eps.get(place).copied());
        ports(&mut out, place, o, n);
        // A port that opened or closed is reported as such; its other
        // facts are compared only while it answers in both runs.
        let (Some(o), Some(n)) = (o, n) else { continue };
        if !(answers(o.state) && answers(n.state)) {
            continue;
        }
        let change = |old: String, new: String| {
            (old != new).then(|| ValueChange {
                place: place.clone(),
                old,
                new,
            })
        };
        out.postures_changed
            .extend(change(posture(old, o), posture(new, n)));
        out.protocols_changed.extend(change(
            o.protocol.map_or("none", |p| p.as_str()).to_owned(),
            n.protocol.map_or("none", |p| p.as_str()).to_owned(),
        ));
        out.tls_changed.extend(change(tls(o), tls(n)));
        out.certificates.extend(certificate(place, o, n));
        out.tls_scan.extend(tls_scan(place, o, n));
    }
    findings(&mut out, old, new);
    out
}

fn by_place(report: &ScanReport) -> BTreeMap<Place, &EndpointObservation> {
    report
        .endpoints
        .iter()
        .map(|e| {
            (
                Place {
                    target: e.target.clone(),
                    address: e.address,
                },
                e,
            )
        })
        .collect()
}

/// Something answered: a mail service, another service, a throttling
/// server, or a dialog that broke.
fn answers(state: PortState) -> bool {
    !matches!(state, PortState::Closed | PortState::Filtered)
}

fn ports(
    out: &mut RunDiff,
    place: &Place,
    o: Option<&EndpointObservation>,
    n: Option<&EndpointObservation>,
) {
    let either = n.or(o);
    let change = PortChange {
        place: place.clone(),
        role: either.and_then(|e| e.role).map(|r| r.as_str().to_owned()),
        protocol: n
            .and_then(|e| e.protocol)
            .or_else(|| o.and_then(|e| e.protocol))
            .map(|p| p.as_str().to_owned()),
        old_state: o.map(|e| e.state.as_str().to_owned()),
        new_state: n.map(|e| e.state.as_str().to_owned()),
    };
    let (was, is) = (
        o.is_some_and(|e| answers(e.state)),
        n.is_some_and(|e| answers(e.state)),
    );
    match (was, is) {
        (false, true) => out.ports_opened.push(change),
        (true, false) => out.ports_closed.push(change),
        (true, true) if o.map(|e| e.state) != n.map(|e| e.state) => {
            out.states_changed.push(change);
        }
        _ => {}
    }
}

fn posture(report: &ScanReport, obs: &EndpointObservation) -> String {
    report
        .assessment
        .endpoints
        .iter()
        .find(|a| a.address == obs.address && a.target == obs.target)
        .map_or("not-assessed", |a| a.posture.as_str())
        .to_owned()
}

fn tls(obs: &EndpointObservation) -> String {
    match rows::completed_handshake(obs) {
        None => "none".to_owned(),
        Some(h) => {
            let version = h
                .version
                .map_or_else(|| "TLS".to_owned(), |v| v.to_string());
            match &h.cipher_suite {
                Some(s) => format!("{version} {s}"),
                None => version,
            }
        }
    }
}

fn summary(c: &Certificate) -> CertificateSummary {
    CertificateSummary {
        sha256: c.sha256.clone(),
        subject: c.subject.clone(),
        issuer: c.issuer.clone(),
        dns_names: c.dns_names.clone(),
        not_after: c.not_after,
    }
}

fn certificate(
    place: &Place,
    o: &EndpointObservation,
    n: &EndpointObservation,
) -> Option<CertificateChange> {
    let leaf = |e| rows::chain(e).and_then(|c| c.leaf());
    let (old, new) = (leaf(o), leaf(n));
    let change = match (old, new) {
        (None, None) => return None,
        (Some(a), Some(b)) if a.sha256 == b.sha256 => return None,
        (Some(a), Some(b)) => {
            let same_names: BTreeSet<&String> = a.dns_names.iter().collect();
            // A renewal keeps subject, issuer and names and lasts longer;
            // anything else (another CA, other names, an earlier expiry) is
            // a replacement.
            let renewed = a.subject == b.subject
                && a.issuer == b.issuer
                && same_names == b.dns_names.iter().collect()
                && matches!((a.not_after, b.not_after), (Some(x), Some(y)) if y > x);
            if renewed {
                CertificateChangeKind::Renewed
            } else {
                CertificateChangeKind::Replaced
            }
        }
        (None, Some(_)) => CertificateChangeKind::Added,
        (Some(_), None) => CertificateChangeKind::Removed,
    };
    Some(CertificateChange {
        place: place.clone(),
        change,
        old: old.map(summary),
        new: new.map(summary),
    })
}

/// Accepted versions and "version suite" strings of a completed enumeration.
fn accepted(scan: &TlsScan) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut versions = BTreeSet::new();
    let mut suites = BTreeSet::new();
    for v in &scan.versions {
        if v.status == SupportStatus::Accepted {
            versions.insert(v.version.to_string());
        }
        for s in &v.suites {
            suites.insert(format!("{} {}", v.version, s.id));
        }
    }
    (versions, suites)
}

fn tls_scan(
    place: &Place,
    o: &EndpointObservation,
    n: &EndpointObservation,
) -> Option<TlsScanChange> {
    let old = o.tls_scan.as_ref()?.value()?;
    let new = n.tls_scan.as_ref()?.value()?;
    let (ov, os) = accepted(old);
    let (nv, ns) = accepted(new);
    let change = TlsScanChange {
        place: place.clone(),
        versions_added: nv.difference(&ov).cloned().collect(),
        versions_removed: ov.difference(&nv).cloned().collect(),
        suites_added: ns.difference(&os).cloned().collect(),
        suites_removed: os.difference(&ns).cloned().collect(),
    };
    let unchanged = change.versions_added.is_empty()
        && change.versions_removed.is_empty()
        && change.suites_added.is_empty()
        && change.suites_removed.is_empty();
    (!unchanged).then_some(change)
}

type FindingKey = (String, Option<SocketAddr>, String);

fn finding_key(f: &Finding) -> FindingKey {
    (f.target.clone(), f.address, f.rule_id.clone())
}

fn grouped(r: &ScanReport) -> BTreeMap<FindingKey, Vec<&Finding>> {
    let mut m: BTreeMap<FindingKey, Vec<&Finding>> = BTreeMap::new();
    for f in &r.assessment.findings {
        m.entry(finding_key(f)).or_default().push(f);
    }
    m
}

fn findings(out: &mut RunDiff, old: &ScanReport, new: &ScanReport) {
    let (o, n) = (grouped(old), grouped(new));
    for (key, list) in &n {
        let before = o.get(key).map_or(0, Vec::len);
        out.findings_new
            .extend(list.iter().skip(before).map(|f| FindingRef::from(*f)));
    }
    for (key, list) in &o {
        let after = n.get(key).map_or(0, Vec::len);
        out.findings_fixed
            .extend(list.iter().skip(after).map(|f| FindingRef::from(*f)));
    }
    for list in [&mut out.findings_new, &mut out.findings_fixed] {
        list.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| a.target.cmp(&b.target))
                .then_with(|| a.address.cmp(&b.address))
                .then_with(|| a.rule_id.cmp(&b.rule_id))
        });
    }
}
