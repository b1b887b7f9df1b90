//! The catalogue as Markdown: the source of `docs/rules.md`.

use std::fmt::Write as _;

use mailwarden_model::Severity;

use crate::catalogue::{Rule, Severities, catalogue};
use crate::posture::{ALL_POSTURES, describe};
use crate::{Context, Family};

/// Column headers of the severity table, with the lookup for each column.
const COLUMNS: [(&str, Context, bool); 7] = [
    ("mx", Context::Mx, false),
    ("mx + DANE/MTA-STS", Context::Mx, true),
    ("submission", Context::Submission, false),
    ("mail-access", Context::MailAccess, false),
    ("sieve", Context::Sieve, false),
    ("lmtp", Context::Lmtp, false),
    ("other", Context::Other, false),
];

fn cell(severities: &Severities, context: Context, mx_authenticated: bool) -> &'static str {
    severities
        .for_context(context, mx_authenticated)
        .map_or("—", Severity::as_str)
}

/// The whole catalogue as Markdown: contexts, verdicts, a summary table of
/// every rule's severity per context, then each rule in full.
///
/// `docs/rules.md` is this text; a test fails when they differ
/// (`UPDATE_DOCS=1 cargo test -p mailwarden-rules` rewrites the file).
pub fn catalogue_markdown() -> String {
    let mut md = String::new();
    md.push_str(
        "<!-- Generated from crates/rules by `UPDATE_DOCS=1 cargo test -p mailwarden-rules`. \
         Do not edit. -->\n\n",
    );
    md.push_str("# mailwarden rule catalogue\n\n");
    md.push_str(
        "Every finding mailwarden reports comes from one rule below. Ids are stable: a rule \
         may be retired, never renumbered. `mailwarden rules` prints the same catalogue, and \
         `mailwarden rules ID` one rule.\n\n",
    );
    contexts(&mut md);
    postures(&mut md);
    summary(&mut md);
    for family in Family::ALL {
        let _ = writeln!(md, "## {} rules\n", family.as_str());
        for rule in catalogue().iter().filter(|r| r.family == family) {
            rule_section(&mut md, rule);
        }
    }
    md
}

fn contexts(md: &mut String) {
    md.push_str("## Contexts\n\n");
    md.push_str(
        "Severity depends on where a port sits. The context comes from the protocol the \
         server was recognized to speak and from the port's role (declared with \
         `--ports PORT/ROLE` or a policy, else registered for the port number: 25 smtp, \
         587 and 2525 submission, 465 submissions, 143/993 imap(s), 110/995 pop3(s), \
         4190 sieve, 24 lmtp). The protocol wins when it contradicts the role; the role \
         decides between `mx` and `submission` for SMTP, and gives closed or throttled \
         ports their context.\n\n",
    );
    md.push_str("| context | covers |\n|---|---|\n");
    for c in Context::ALL {
        let _ = writeln!(md, "| `{}` | {} |", c.as_str(), c.description());
    }
    md.push('\n');
}

fn postures(md: &mut String) {
    md.push_str("## Verdicts\n\n");
    md.push_str("Each endpoint gets one posture verdict.\n\n");
    md.push_str("| verdict | meaning |\n|---|---|\n");
    for p in ALL_POSTURES {
        let _ = writeln!(md, "| `{}` | {} |", p.as_str(), describe(p));
    }
    md.push('\n');
}

fn summary(md: &mut String) {
    md.push_str("## Summary\n\n");
    md.push_str("Severity per context; — means the rule does not apply there.\n\n");
    md.push_str("| id | name |");
    for (title, _, _) in COLUMNS {
        let _ = write!(md, " {title} |");
    }
    md.push_str("\n|---|---|");
    for _ in COLUMNS {
        md.push_str("---|");
    }
    md.push('\n');
    for rule in catalogue() {
        let _ = write!(md, "| [{}](#{}) | `{}` |", rule.id, anchor(rule), rule.name);
        for (_, context, auth) in COLUMNS {
            let _ = write!(md, " {} |", cell(&rule.severities, context, auth));
        }
        md.push('\n');
    }
    md.push('\n');
}

/// The GitHub-style anchor of a rule's heading.
fn anchor(rule: &Rule) -> String {
    format!("{}-{}", rule.id, rule.name).to_ascii_lowercase()
}

fn rule_section(md: &mut String, rule: &Rule) {
    let _ = writeln!(md, "### {} {}\n", rule.id, rule.name);
    let _ = writeln!(md, "**{}**\n", rule.title);
    let _ = writeln!(md, "{}\n", rule.rationale);
    let _ = writeln!(md, "Default severity: **{}**.\n", rule.severities.default);
    md.push_str("| context | severity |\n|---|---|\n");
    for (title, context, auth) in COLUMNS {
        let _ = writeln!(
            md,
            "| {title} | {} |",
            cell(&rule.severities, context, auth)
        );
    }
    md.push_str("\nRemediation:\n\n");
    let r = &rule.remediation;
    let _ = writeln!(md, "- Any server: {}", r.generic);
    let _ = writeln!(md, "- Postfix: {}", r.postfix);
    let _ = writeln!(md, "- Dovecot: {}", r.dovecot);
    let _ = writeln!(md, "- Exim: {}", r.exim);
    md.push_str("\nReferences:\n\n");
    for reference in rule.references {
        let title = if reference.section.is_empty() {
            reference.document.to_owned()
        } else {
            format!("{} §{}", reference.document, reference.section)
        };
        match reference.url() {
            Some(url) => {
                let _ = writeln!(md, "- [{title}]({url}): {}", reference.note);
            }
            None => {
                let _ = writeln!(md, "- {title}: {}", reference.note);
            }
        }
    }
    md.push('\n');
}
