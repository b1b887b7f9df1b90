//! Rendering: events and alerts as JSON lines or text, the per-source
//! summary, and ban lists (`plain`, `ipset`, `nft`).

use std::fmt::Write as _;

use crate::Stats;
use crate::detect::{Alert, Severity, SourceKey, SourceSummary};
use crate::event::Event;

/// One event as a JSON line (no newline).
pub fn event_json(event: &Event) -> String {
    serde_json::to_string(event).unwrap_or_default()
}

/// One alert as a JSON line (no newline).
pub fn alert_json(alert: &Alert) -> String {
    serde_json::to_string(alert).unwrap_or_default()
}

/// One alert as a line of text, with its first supporting lines.
pub fn alert_text(a: &Alert) -> String {
    let time = a.time.map(|t| t.to_string()).unwrap_or_else(|| "-".into());
    let mut lines = String::new();
    let mut last_file: Option<&str> = None;
    for (i, l) in a.evidence.iter().enumerate() {
        if i == 8 {
            let _ = write!(lines, ",… ({} lines)", a.evidence.len());
            break;
        }
        let sep = if i == 0 { "" } else { "," };
        if last_file == Some(&*l.file) {
            let _ = write!(lines, "{sep}{}", l.line);
        } else {
            let _ = write!(lines, "{sep}{}:{}", l.file, l.line);
            last_file = Some(&l.file);
        }
    }
    format!(
        "{time} ALERT {:<8} {:<22} {}: {} [lines {lines}]",
        a.severity.as_str(),
        a.alert.as_str(),
        a.source,
        a.message
    )
}

/// The per-source summary and the line counts, for people.
pub fn summary_text(summary: &[SourceSummary], stats: &Stats, quiet_sources: u64) -> String {
    let mut out = String::new();
    if summary.is_empty() {
        out.push_str("No source crossed a threshold.\n");
    } else {
        let _ = writeln!(out, "{} source(s) with alerts:\n", summary.len());
    }
    for s in summary {
        let span =
            |t: Option<jiff::Timestamp>| t.map(|t| t.to_string()).unwrap_or_else(|| "-".into());
        let _ = writeln!(out, "{}  {} ({})", s.source, s.verdict, s.severity.as_str());
        let alerts: Vec<&str> = s.alerts.iter().map(|a| a.as_str()).collect();
        let _ = writeln!(out, "  alerts:    {}", alerts.join(", "));
        let _ = writeln!(
            out,
            "  seen:      {} .. {}",
            span(s.first_seen),
            span(s.last_seen)
        );
        let _ = writeln!(out, "  services:  {}", s.services.join(", "));
        let c = &s.counts;
        let mut did = Vec::new();
        for (n, what) in [
            (c.connect, "connections"),
            (c.idle_sessions, "idle sessions"),
            (c.auth_failed, "failed logins"),
            (c.auth_succeeded, "successful logins"),
            (c.relay_denied, "relay refusals"),
            (c.rejected, "other rejections"),
            (c.tls_failed, "TLS failures"),
            (c.plaintext_refused, "plaintext logins refused"),
            (c.protocol_errors, "protocol errors"),
            (c.rate_limited, "rate limits"),
            (c.lost_connections, "lost connections"),
            (c.messages, "messages"),
        ] {
            if n > 0 {
                did.push(format!("{n} {what}"));
            }
        }
        let _ = writeln!(out, "  did:       {}", did.join(", "));
        if s.users_tried > 0 && !s.users.is_empty() {
            let more = s
                .users_tried
                .saturating_sub(u32::try_from(s.users.len()).unwrap_or(0));
            let more = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            let _ = writeln!(out, "  accounts:  {}{more}", s.users.join(", "));
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "{} lines: {} recognized ({} events), {} other mail lines, {} other programs, {} unrecognized, {} blank or continuation, {} cut at the length cap, {} input(s) ended early; {} quiet source(s).",
        stats.lines,
        stats.recognized,
        stats.events,
        stats.uninteresting,
        stats.other_programs,
        stats.unrecognized,
        stats.skipped,
        stats.oversized,
        stats.truncated_inputs,
        quiet_sources
    );
    out
}

/// Ban list formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BanFormat {
    /// One address or prefix per line.
    Plain,
    /// `ipset restore` input (sets `mailwarden4`, `mailwarden6`).
    Ipset,
    /// An nftables table with two interval sets and a drop rule for the mail ports.
    Nft,
}

/// The mail ports the nft snippet closes to banned sources.
pub const MAIL_PORTS: &str = "25, 465, 587, 110, 995, 143, 993, 4190";

/// Sources whose worst alert reaches `min`.
pub fn ban_sources(summary: &[SourceSummary], min: Severity) -> Vec<SourceKey> {
    let mut out: Vec<SourceKey> = summary
        .iter()
        .filter(|s| s.severity >= min)
        .map(|s| s.source)
        .collect();
    out.sort();
    out
}

/// A ban list in `format`.
pub fn ban_list(format: BanFormat, sources: &[SourceKey]) -> String {
    let v4: Vec<String> = sources
        .iter()
        .filter(|s| s.is_v4())
        .map(ToString::to_string)
        .collect();
    let v6: Vec<String> = sources
        .iter()
        .filter(|s| !s.is_v4())
        .map(ToString::to_string)
        .collect();
    let mut out = String::new();
    match format {
        BanFormat::Plain => {
            for s in v4.iter().chain(&v6) {
                let _ = writeln!(out, "{s}");
            }
        }
        BanFormat::Ipset => {
            out.push_str("create mailwarden4 hash:net family inet -exist\ncreate mailwarden6 hash:net family inet6 -exist\n");
            for s in &v4 {
                let _ = writeln!(out, "add mailwarden4 {s} -exist");
            }
            for s in &v6 {
                let _ = writeln!(out, "add mailwarden6 {s} -exist");
            }
        }
        BanFormat::Nft => {
            let elements = |list: &[String]| {
                if list.is_empty() {
                    String::new()
                } else {
                    format!("\n        elements = {{ {} }}", list.join(", "))
                }
            };
            let _ = write!(
                out,
                "# mailwarden logs: {} source(s). Load with `nft -f FILE`.
table inet mailwarden {{
    set banned4 {{
        type ipv4_addr
        flags interval
        auto-merge{}
    }}
    set banned6 {{
        type ipv6_addr
        flags interval
        auto-merge{}
    }}
    chain input {{
        type filter hook input priority filter - 10; policy accept;
        ip saddr @banned4 tcp dport {{ {MAIL_PORTS} }} drop
        ip6 saddr @banned6 tcp dport {{ {MAIL_PORTS} }} drop
    }}
}}
",
                sources.len(),
                elements(&v4),
                elements(&v6)
            );
        }
    }
    out
}
