//! A diff as text, one line per change, grouped by kind.
//!
//! Everything that came from a server (subjects, summaries) has its control
//! characters escaped, so a hostile certificate cannot drive the terminal.

use std::fmt::Write as _;

use mailwarden_model::Line;

use super::{CertificateChangeKind, PortChange, RunDiff};

fn esc(text: &str) -> String {
    Line::from(text).to_string()
}

fn state(s: &Option<String>) -> &str {
    s.as_deref().unwrap_or("not scanned")
}

fn port_line(c: &PortChange) -> String {
    let what = [c.protocol.as_deref(), c.role.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ");
    let what = if what.is_empty() {
        String::new()
    } else {
        format!(" ({what})")
    };
    format!(
        "{} {}{what}: {} -> {}",
        esc(&c.place.target),
        c.place.address,
        state(&c.old_state),
        state(&c.new_state)
    )
}

/// The diff as text; `header` is the first line (which runs were compared).
pub fn render_text(d: &RunDiff, header: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{header}");
    if d.is_empty() {
        let _ = writeln!(out, "No changes.");
        return out;
    }
    let mut section = |title: &str, lines: Vec<String>| {
        if lines.is_empty() {
            return;
        }
        let _ = writeln!(out, "\n{title} ({}):", lines.len());
        for l in lines {
            let _ = writeln!(out, "  {l}");
        }
    };
    section(
        "Ports opened",
        d.ports_opened.iter().map(port_line).collect(),
    );
    section(
        "Ports closed",
        d.ports_closed.iter().map(port_line).collect(),
    );
    section(
        "Port states changed",
        d.states_changed.iter().map(port_line).collect(),
    );
    let value = |c: &super::ValueChange| {
        format!(
            "{} {}: {} -> {}",
            esc(&c.place.target),
            c.place.address,
            esc(&c.old),
            esc(&c.new)
        )
    };
    section(
        "Postures changed",
        d.postures_changed.iter().map(value).collect(),
    );
    section(
        "Protocols changed",
        d.protocols_changed.iter().map(value).collect(),
    );
    section("TLS changed", d.tls_changed.iter().map(value).collect());
    section(
        "Certificates",
        d.certificates
            .iter()
            .map(|c| {
                let kind = match c.change {
                    CertificateChangeKind::Renewed => "renewed",
                    CertificateChangeKind::Replaced => "replaced",
                    CertificateChangeKind::Added => "added",
                    CertificateChangeKind::Removed => "removed",
                };
                let describe = |s: &Option<super::CertificateSummary>| match s {
                    None => "none".to_owned(),
                    Some(s) => format!(
                        "{} (sha256 {}…, expires {})",
                        esc(&s.subject),
                        s.sha256.get(..16).unwrap_or(&s.sha256),
                        s.not_after.map_or_else(
                            || "unknown".to_owned(),
                            |t| t.strftime("%Y-%m-%d").to_string()
                        )
                    ),
                };
                format!(
                    "{} {} {kind}: {} -> {}",
                    esc(&c.place.target),
                    c.place.address,
                    describe(&c.old),
                    describe(&c.new)
                )
            })
            .collect(),
    );
    section(
        "TLS enumeration",
        d.tls_scan
            .iter()
            .map(|c| {
                let mut parts = Vec::new();
                let mut part = |label: &str, items: &[String]| {
                    if !items.is_empty() {
                        parts.push(format!("{label} {}", items.join(", ")));
                    }
                };
                part("versions +", &c.versions_added);
                part("versions -", &c.versions_removed);
                part("suites +", &c.suites_added);
                part("suites -", &c.suites_removed);
                format!(
                    "{} {}: {}",
                    esc(&c.place.target),
                    c.place.address,
                    parts.join("; ")
                )
            })
            .collect(),
    );
    let finding = |f: &super::FindingRef| {
        let at = f
            .address
            .map_or_else(|| esc(&f.target), |a| format!("{} {a}", esc(&f.target)));
        format!(
            "[{}] {} {}  {at}: {}",
            f.severity.as_str().to_ascii_uppercase(),
            esc(&f.rule_id),
            esc(&f.rule),
            esc(&f.summary)
        )
    };
    section("Findings new", d.findings_new.iter().map(finding).collect());
    section(
        "Findings fixed",
        d.findings_fixed.iter().map(finding).collect(),
    );
    out
}
