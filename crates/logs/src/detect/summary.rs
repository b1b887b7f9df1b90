//! What the engine reports about a source: counts, the summary, and the
//! one-sentence alert messages.

use jiff::Timestamp;
use serde::Serialize;

use super::engine::Source;
use super::{Detector, Severity, SourceKey};
use crate::hash::FastMap;

/// Event counts of one source.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    /// Connections.
    pub connect: u32,
    /// Failed login attempts (each counted once).
    pub auth_failed: u32,
    /// Successful logins.
    pub auth_succeeded: u32,
    /// Relay refusals.
    pub relay_denied: u32,
    /// Other rejections.
    pub rejected: u32,
    /// TLS handshake failures.
    pub tls_failed: u32,
    /// Plaintext logins refused.
    pub plaintext_refused: u32,
    /// Protocol violations.
    pub protocol_errors: u32,
    /// Times throttled.
    pub rate_limited: u32,
    /// Sessions without login or mail.
    pub idle_sessions: u32,
    /// Connections lost or timed out.
    pub lost_connections: u32,
    /// Messages submitted after login.
    pub messages: u32,
}

/// What one source did, for the summary.
///
/// JSON: `{"source":"192.0.2.8","verdict":"attacker","first_seen":"...","last_seen":"...",
/// "alerts":["brute-force"],"services":["imap","pop3"],"users":["alice"],"users_tried":1,
/// "counts":{"connect":3,"auth_failed":5,...}}`
#[derive(Debug, Clone, Serialize)]
pub struct SourceSummary {
    /// The source.
    pub source: SourceKey,
    /// `compromise-suspected`, `attacker`, `suspicious`, `noisy` (by the worst alert).
    pub verdict: &'static str,
    /// The worst alert's severity.
    pub severity: Severity,
    /// First event.
    pub first_seen: Option<Timestamp>,
    /// Last event.
    pub last_seen: Option<Timestamp>,
    /// Detectors that fired.
    pub alerts: Vec<Detector>,
    /// Services (with port when known) touched.
    pub services: Vec<Box<str>>,
    /// Accounts tried (a sample).
    pub users: Vec<Box<str>>,
    /// How many distinct accounts were tried.
    pub users_tried: u32,
    /// Event counts.
    pub counts: Counts,
}

/// The summary of every alerted source, worst first.
pub(super) fn summarize(sources: &FastMap<SourceKey, Source>) -> Vec<SourceSummary> {
    let mut out: Vec<SourceSummary> = sources
        .iter()
        .filter(|(_, s)| !s.alerts.is_empty())
        .map(|(k, s)| {
            let severity = s
                .alerts
                .iter()
                .map(|d| d.severity())
                .max()
                .unwrap_or(Severity::Low);
            let mut alerts = s.alerts.clone();
            alerts.sort_by_key(|d| Detector::ALL.iter().position(|x| x == d));
            SourceSummary {
                source: *k,
                verdict: match severity {
                    Severity::Critical => "compromise-suspected",
                    Severity::High => "attacker",
                    Severity::Medium => "suspicious",
                    Severity::Low => "noisy",
                },
                severity,
                first_seen: s.first,
                last_seen: s.last,
                alerts,
                services: s.services.items().to_vec(),
                users: s
                    .users
                    .items()
                    .iter()
                    .filter(|u| !u.is_empty())
                    .cloned()
                    .collect(),
                users_tried: s.users.distinct,
                counts: s.counts.clone(),
            }
        })
        .collect();
    out.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.source.cmp(&b.source)));
    out
}

pub(super) fn message(
    d: Detector,
    count: u32,
    window: u64,
    users: &[Box<str>],
    s: &Source,
) -> String {
    let span = if window.is_multiple_of(3600) {
        format!("{} h", window / 3600)
    } else if window.is_multiple_of(60) {
        format!("{} min", window / 60)
    } else {
        format!("{window} s")
    };
    let who = users.first().map_or(String::new(), |u| format!(" for {u}"));
    let services = s.services.items().join(", ");
    match d {
        Detector::BruteForce => format!("{count} failed logins{who} within {span} ({services})"),
        Detector::PasswordSpraying => format!(
            "failed logins on {count} accounts within {span} ({})",
            users.join(", ")
        ),
        Detector::DistributedAttack => {
            format!("one of {count} sources failing to log in{who} within {span}")
        }
        Detector::Scanning => format!(
            "{count} idle sessions or ports without login or mail within {span} ({services})"
        ),
        Detector::RelayProbing => format!("{count} relay attempts refused within {span}"),
        Detector::TlsFailures => format!("{count} TLS handshake failures within {span}"),
        Detector::TlsDowngrade => {
            format!("{count} handshakes refused for old protocol versions or ciphers within {span}")
        }
        Detector::ProtocolViolations => format!("{count} protocol violations within {span}"),
        Detector::RateLimited => format!("throttled by the server {count} times within {span}"),
        Detector::SuccessAfterFailures => format!(
            "login succeeded{who} after {count} failures within {span}: possible compromise, reset the password"
        ),
        Detector::SendingSpike => format!(
            "account{who} sent to {count} recipients or domains within {span}, far above its usual volume"
        ),
    }
}
