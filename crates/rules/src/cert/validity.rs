//! Validity periods: expired, not yet valid, expiring soon.

use mailwarden_model::Severity;

use super::*;
use crate::catalogue::{Check, Family, Level, Remediation, Rule, Severities};
use crate::facts::{self, Endpoint, Hit};

/// MW-CERT-001.
pub(crate) const CERTIFICATE_EXPIRED: Rule = Rule {
    id: "MW-CERT-001",
    name: "certificate-expired",
    family: Family::Cert,
    title: "A certificate in the chain has expired",
    severities: VALIDITY,
    rationale: "Clients that validate certificates refuse the connection, and users who click \
        through the warning learn to accept any certificate, which is what an attacker needs. \
        On an MX with MTA-STS or DANE-TA, senders defer mail.",
    remediation: RENEW,
    references: &[VALIDITY_REFERENCE, CLIENTS_VALIDATE, MTA_STS],
    check: Check::Endpoint(expired),
};

/// MW-CERT-002.
pub(crate) const CERTIFICATE_NOT_YET_VALID: Rule = Rule {
    id: "MW-CERT-002",
    name: "certificate-not-yet-valid",
    family: Family::Cert,
    title: "A certificate in the chain is not valid yet",
    severities: VALIDITY,
    rationale: "Clients that validate certificates refuse the connection. A notBefore in the \
        future usually means a clock error on the issuing side or on the server, or a \
        certificate installed before its time.",
    remediation: Remediation {
        generic: "Check the server clock and the certificate's notBefore; install a certificate \
            that is valid now.",
        ..RENEW
    },
    references: &[VALIDITY_REFERENCE, CLIENTS_VALIDATE],
    check: Check::Endpoint(not_yet_valid),
};

/// MW-CERT-003.
pub(crate) const CERTIFICATE_EXPIRES_WITHIN_7_DAYS: Rule = Rule {
    id: "MW-CERT-003",
    name: "certificate-expires-within-7-days",
    family: Family::Cert,
    title: "A certificate in the chain expires within 7 days",
    severities: VALIDITY,
    rationale: "Automated renewal normally replaces certificates 30 days before expiry; one this \
        close to expiry means renewal has failed or is manual, and the service will break within \
        the week.",
    remediation: RENEW,
    references: &[VALIDITY_REFERENCE, CLIENTS_VALIDATE],
    check: Check::Endpoint(expires_within_7_days),
};

/// MW-CERT-004.
pub(crate) const CERTIFICATE_EXPIRES_WITHIN_30_DAYS: Rule = Rule {
    id: "MW-CERT-004",
    name: "certificate-expires-within-30-days",
    family: Family::Cert,
    title: "A certificate in the chain expires within 30 days",
    severities: Severities {
        mx: Level::At(Severity::Info),
        mx_authenticated: Some(Severity::Medium),
        ..Severities::everywhere(Severity::Medium)
    },
    rationale: "Automated renewal normally replaces certificates 30 days before expiry; check \
        that renewal is scheduled and that the renewed certificate is actually loaded by the \
        mail service.",
    remediation: RENEW,
    references: &[VALIDITY_REFERENCE],
    check: Check::Endpoint(expires_within_30_days),
};

fn expired(ep: &Endpoint<'_>) -> Vec<Hit> {
    let mut hits = Vec::new();
    for seen in facts::chains(ep.obs) {
        for (i, cert, not_after) in relevant(seen.chain)
            .filter_map(|(i, c)| Some((i, c, c.not_after?)))
            .filter(|(_, _, t)| *t < ep.scan_time)
        {
            let days = -days_between(ep.scan_time, not_after);
            hits.push(Hit::new(
                format!(
                    "{} ({}) expired on {} ({} before the scan).",
                    capitalized(which(i)),
                    cert.subject,
                    not_after,
                    day_count(days)
                ),
                cert_evidence(&seen, i, cert),
            ));
        }
    }
    hits
}

fn not_yet_valid(ep: &Endpoint<'_>) -> Vec<Hit> {
    let mut hits = Vec::new();
    for seen in facts::chains(ep.obs) {
        for (i, cert, not_before) in relevant(seen.chain)
            .filter_map(|(i, c)| Some((i, c, c.not_before?)))
            .filter(|(_, _, t)| *t > ep.scan_time)
        {
            hits.push(Hit::new(
                format!(
                    "{} ({}) is not valid before {}.",
                    capitalized(which(i)),
                    cert.subject,
                    not_before
                ),
                cert_evidence(&seen, i, cert),
            ));
        }
    }
    hits
}

/// The certificate of a chain that expires first, among those still valid,
/// when no certificate of the chain has expired already (then MW-CERT-001 says it).
fn soonest_expiry<'a>(
    seen: &ChainSeen<'a>,
    now: Timestamp,
) -> Option<(usize, &'a Certificate, i64)> {
    // Certificates whose dates could not be parsed are left out: unknown is not expired.
    if relevant(seen.chain).any(|(_, c)| c.not_after.is_some_and(|t| t < now)) {
        return None;
    }
    relevant(seen.chain)
        .filter_map(|(i, c)| Some((i, c, c.not_after?)))
        .min_by_key(|(_, _, t)| *t)
        .map(|(i, c, t)| (i, c, t.as_second() - now.as_second()))
}

fn expiring(ep: &Endpoint<'_>, more_than_days: i64, at_most_days: i64) -> Vec<Hit> {
    let mut hits = Vec::new();
    for seen in facts::chains(ep.obs) {
        let Some((i, cert, seconds_left)) = soonest_expiry(&seen, ep.scan_time) else {
            continue;
        };
        let in_window = seconds_left > more_than_days * SECONDS_PER_DAY
            && seconds_left <= at_most_days * SECONDS_PER_DAY;
        if !in_window {
            continue;
        }
        let days = seconds_left.div_euclid(SECONDS_PER_DAY);
        hits.push(Hit::new(
            format!(
                "{} ({}) expires on {} ({} after the scan).",
                capitalized(which(i)),
                cert.subject,
                cert.not_after.map(|t| t.to_string()).unwrap_or_default(),
                day_count(days)
            ),
            cert_evidence(&seen, i, cert),
        ));
    }
    hits
}

fn expires_within_7_days(ep: &Endpoint<'_>) -> Vec<Hit> {
    expiring(ep, 0, 7)
}

fn expires_within_30_days(ep: &Endpoint<'_>) -> Vec<Hit> {
    expiring(ep, 7, 30)
}
