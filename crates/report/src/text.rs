//! The text report: per target, a table of its endpoints and its findings;
//! then a legend of the verdicts shown and a one-line summary.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::IpAddr;

use comfy_table::{Cell, ColumnConstraint, ContentArrangement, Table, presets};
use mailwarden_model::{EndpointObservation, Finding, Posture, ScanReport, Severity};
use mailwarden_rules::{ALL_POSTURES, describe_posture};

use crate::TextOptions;
use crate::cells::{self, NONE};
use crate::findings::{escape, render_finding};
use crate::style::{cell_color, paint};

/// The report as text for a terminal or a log.
///
/// For each target (in the order given): a header, one table per address
/// with one row per port (state, protocol and context, verdict, TLS,
/// certificate, AUTH before / over TLS, banner) and, when the TLS of the
/// ports was enumerated, a few summary lines per port; then that target's findings,
/// most severe first, each with its evidence and a remediation line. Last, a
/// legend of the verdicts that appear and a summary line: findings by
/// severity, ports, connections and duration.
pub fn render_text(report: &ScanReport, opts: &TextOptions) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {}: scan started {}",
        escape(&report.tool.name),
        escape(&report.tool.version),
        report.started_at
    );
    for target in target_names(report) {
        out.push('\n');
        render_target(&mut out, report, &target, opts);
    }
    out.push('\n');
    legend(&mut out, report);
    summary(&mut out, report, opts);
    out
}

/// Target names in report order: declared targets first, then any endpoint's
/// target that was not declared.
fn target_names(report: &ScanReport) -> Vec<String> {
    let mut names: Vec<String> = report.targets.iter().map(|t| t.input.clone()).collect();
    for e in &report.endpoints {
        if !names.contains(&e.target) {
            names.push(e.target.clone());
        }
    }
    names
}

fn render_target(out: &mut String, report: &ScanReport, target: &str, opts: &TextOptions) {
    let endpoints: Vec<&EndpointObservation> = report
        .endpoints
        .iter()
        .filter(|e| e.target == target)
        .collect();
    let mut addresses: Vec<IpAddr> = Vec::new();
    for e in &endpoints {
        if !addresses.contains(&e.address.ip()) {
            addresses.push(e.address.ip());
        }
    }
    let check_name = report
        .targets
        .iter()
        .find(|t| t.input == target)
        .map(|t| t.check_name.as_str())
        .filter(|n| *n != target);
    let note = match check_name {
        Some(name) => format!(", certificates checked for {}", escape(name)),
        None => String::new(),
    };
    if addresses.is_empty() {
        let _ = writeln!(out, "{}: no address scanned{note}", escape(target));
    }
    for ip in addresses {
        let rows: Vec<&EndpointObservation> = endpoints
            .iter()
            .copied()
            .filter(|e| e.address.ip() == ip)
            .collect();
        let _ = writeln!(out, "{} ({ip}{note})", escape(target));
        let _ = writeln!(out, "{}", table(report, &rows, opts));
        crate::tls_summary::render(out, &rows);
    }
    let findings: Vec<&Finding> = report
        .assessment
        .findings
        .iter()
        .filter(|f| f.target == target)
        .collect();
    if findings.is_empty() {
        let _ = writeln!(out, "\nNo findings.");
        return;
    }
    let _ = writeln!(out, "\nFindings ({}):", findings.len());
    for f in findings {
        out.push('\n');
        render_finding(out, f, opts.color);
    }
}

/// The assessment of one endpoint, if the report has it.
fn verdict<'a>(report: &'a ScanReport, obs: &EndpointObservation) -> Option<(Posture, &'a str)> {
    report
        .assessment
        .endpoints
        .iter()
        .find(|a| a.address == obs.address && a.target == obs.target)
        .map(|a| (a.posture, a.context.as_str()))
}

/// The most severe finding about one endpoint.
fn worst(report: &ScanReport, obs: &EndpointObservation) -> Option<Severity> {
    report
        .assessment
        .findings
        .iter()
        .filter(|f| f.address == Some(obs.address) && f.target == obs.target)
        .map(|f| f.severity)
        .max()
}

fn table(report: &ScanReport, rows: &[&EndpointObservation], opts: &TextOptions) -> String {
    let mut table = Table::new();
    table
        .load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    // Cells are only coloured when asked, so comfy-table never emits a code
    // otherwise; it still measures the terminal when no width is given.
    if opts.color {
        table.enforce_styling();
    }
    if let Some(w) = opts.width {
        table.set_width(w);
    }
    table.set_header(vec![
        "Port",
        "State",
        "Protocol",
        "Verdict",
        "TLS",
        "Certificate",
        "AUTH before / over TLS",
        "Banner",
    ]);
    // Port, state and verdict are short words that must never wrap; the
    // other columns share what is left.
    for index in [0, 1, 3] {
        if let Some(column) = table.column_mut(index) {
            column.set_constraint(ColumnConstraint::ContentWidth);
        }
    }
    for obs in rows {
        let (posture, context) = verdict(report, obs).unwrap_or((Posture::NotAssessed, NONE));
        let protocol = match obs.protocol {
            Some(_) => format!("{} ({context})", cells::protocol(obs)),
            None => format!("{NONE} ({context})"),
        };
        let mut verdict_cell = Cell::new(posture.as_str());
        if let Some(sev) = worst(report, obs).filter(|_| opts.color) {
            verdict_cell = verdict_cell.fg(cell_color(sev));
        }
        table.add_row(vec![
            Cell::new(obs.address.port()),
            Cell::new(obs.state.as_str()),
            Cell::new(protocol),
            verdict_cell,
            Cell::new(cells::tls(obs)),
            Cell::new(cells::certificate(obs, report.started_at)),
            Cell::new(cells::auth(obs)),
            Cell::new(cells::banner(obs)),
        ]);
    }
    table.to_string()
}

/// One line per verdict that appears in the report.
fn legend(out: &mut String, report: &ScanReport) {
    let shown: BTreeSet<&str> = report
        .assessment
        .endpoints
        .iter()
        .map(|e| e.posture.as_str())
        .collect();
    let present: Vec<Posture> = ALL_POSTURES
        .into_iter()
        .filter(|p| shown.contains(p.as_str()))
        .collect();
    if present.is_empty() {
        return;
    }
    let _ = writeln!(out, "Verdicts:");
    let width = present.iter().map(|p| p.as_str().len()).max().unwrap_or(0);
    for p in present {
        let _ = writeln!(out, "  {:<width$}  {}", p.as_str(), describe_posture(p));
    }
    out.push('\n');
}

fn summary(out: &mut String, report: &ScanReport, opts: &TextOptions) {
    let counts: Vec<String> = Severity::ALL
        .iter()
        .rev()
        .map(|&sev| {
            let n = report
                .assessment
                .findings
                .iter()
                .filter(|f| f.severity == sev)
                .count();
            let text = format!("{n} {sev}");
            paint(&text, Some(sev).filter(|_| n > 0), opts.color)
        })
        .collect();
    let addresses: BTreeSet<IpAddr> = report.endpoints.iter().map(|e| e.address.ip()).collect();
    let connections: u64 = report
        .endpoints
        .iter()
        .map(|e| u64::from(e.connections))
        .sum();
    let millis = report
        .finished_at
        .duration_since(report.started_at)
        .as_millis()
        .max(0);
    let _ = writeln!(
        out,
        "Summary: {} · {} scanned on {} · {} · {}.{} s",
        counts.join(", "),
        plural(report.endpoints.len(), "port"),
        plural(addresses.len(), "address"),
        plural(
            usize::try_from(connections).unwrap_or(usize::MAX),
            "connection"
        ),
        millis / 1000,
        (millis % 1000) / 100
    );
}

fn plural(n: usize, noun: &str) -> String {
    match (n, noun) {
        (1, _) => format!("1 {noun}"),
        (_, "address") => format!("{n} addresses"),
        _ => format!("{n} {noun}s"),
    }
}
