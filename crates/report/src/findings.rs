//! One finding as text: severity, rule, where; what is wrong; the evidence;
//! how to fix it.

use std::fmt::Write as _;

use mailwarden_model::{Finding, Line};

use crate::style::{paint, tag};

/// Evidence lines shown per item; the JSON report keeps them all.
const MAX_EVIDENCE_LINES: usize = 12;

/// Text with control characters escaped, as `Line` displays server replies.
/// Summaries quote server-chosen text (certificate subjects, banners), so
/// they go through the same escaping.
pub(crate) fn escape(text: &str) -> String {
    Line::from(text).to_string()
}

/// ```text
/// [HIGH] MW-AUTH-001 auth-offered-before-tls  127.0.0.1:587
///   SMTP on port 587 offers AUTH PLAIN LOGIN before TLS, ...
///   reply to `EHLO mailwarden.invalid` before TLS:
///     250-AUTH PLAIN LOGIN
///   fix: Postfix: `smtpd_tls_auth_only = yes` ...
/// ```
pub(crate) fn render_finding(out: &mut String, f: &Finding, color: bool) {
    let where_ = match f.address {
        Some(addr) => addr.to_string(),
        None => escape(&f.target),
    };
    let _ = writeln!(
        out,
        "{} {} {}  {where_}",
        paint(&tag(f.severity), Some(f.severity), color),
        escape(&f.rule_id),
        escape(&f.rule)
    );
    let _ = writeln!(out, "  {}", escape(&f.summary));
    for ev in &f.evidence {
        let _ = writeln!(out, "  {}:", escape(&ev.label));
        for line in ev.lines.iter().take(MAX_EVIDENCE_LINES) {
            let _ = writeln!(out, "    {line}");
        }
        let hidden = ev.lines.len().saturating_sub(MAX_EVIDENCE_LINES);
        if hidden > 0 {
            let _ = writeln!(out, "    … {hidden} more (see --format json)");
        }
    }
    let _ = writeln!(out, "  fix: {}", escape(&f.remediation));
}
