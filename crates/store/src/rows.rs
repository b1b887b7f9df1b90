//! The indexed rows of a run, extracted from its report: one per endpoint,
//! finding and presented certificate.

use mailwarden_model::{CertificateChain, EndpointObservation, ScanReport, TlsHandshake};
use rusqlite::{Transaction, params};

use crate::{Context as _, StoreError};

/// Inserts the rows of `report` for run `id` (inside the run's transaction).
pub(crate) fn insert(tx: &Transaction<'_>, id: i64, report: &ScanReport) -> Result<(), StoreError> {
    let mut endpoint = tx
        .prepare(
            "INSERT OR IGNORE INTO endpoints (run_id, target, ip, port, role, state, protocol,
                context, posture, tls_version, cipher_suite)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )
        .context("preparing endpoint rows")?;
    let mut certificate = tx
        .prepare(
            "INSERT OR IGNORE INTO certificates (run_id, target, ip, port, position, sha256,
                subject, issuer, serial, not_before, not_after)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )
        .context("preparing certificate rows")?;
    for obs in &report.endpoints {
        let verdict = report
            .assessment
            .endpoints
            .iter()
            .find(|a| a.address == obs.address && a.target == obs.target);
        let handshake = completed_handshake(obs);
        endpoint
            .execute(params![
                id,
                obs.target,
                obs.address.ip().to_string(),
                obs.address.port(),
                obs.role.map(|r| r.as_str()),
                obs.state.as_str(),
                obs.protocol.map(|p| p.as_str()),
                verdict.map(|v| v.context.as_str()),
                verdict.map(|v| v.posture.as_str()),
                handshake.and_then(|h| h.version).map(|v| v.to_string()),
                handshake
                    .and_then(|h| h.cipher_suite.as_ref())
                    .map(ToString::to_string),
            ])
            .context("storing an endpoint")?;
        let Some(chain) = chain(obs) else { continue };
        for (position, cert) in chain.certificates.iter().enumerate() {
            certificate
                .execute(params![
                    id,
                    obs.target,
                    obs.address.ip().to_string(),
                    obs.address.port(),
                    i64::try_from(position).unwrap_or(i64::MAX),
                    cert.sha256,
                    cert.subject,
                    cert.issuer,
                    cert.serial,
                    cert.not_before.map(|t| t.to_string()),
                    cert.not_after.map(|t| t.to_string()),
                ])
                .context("storing a certificate")?;
        }
    }
    let mut finding = tx
        .prepare(
            "INSERT INTO findings (run_id, seq, rule_id, rule, severity, target, ip, port,
                context, summary)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )
        .context("preparing finding rows")?;
    for (seq, f) in report.assessment.findings.iter().enumerate() {
        finding
            .execute(params![
                id,
                i64::try_from(seq).unwrap_or(i64::MAX),
                f.rule_id,
                f.rule,
                f.severity.as_str(),
                f.target,
                f.address.map(|a| a.ip().to_string()),
                f.address.map(|a| a.port()),
                f.context,
                f.summary,
            ])
            .context("storing a finding")?;
    }
    Ok(())
}

/// The targets of a report without declared targets: those of its endpoints.
pub(crate) fn endpoint_targets(report: &ScanReport) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for e in &report.endpoints {
        if !out.contains(&e.target) {
            out.push(e.target.clone());
        }
    }
    out
}

/// The handshakes recorded at an endpoint, implicit TLS first.
pub(crate) fn handshakes(obs: &EndpointObservation) -> impl Iterator<Item = &TlsHandshake> {
    let implicit = obs.implicit_tls.as_ref().and_then(|i| i.handshake.value());
    let starttls = obs
        .plaintext
        .as_ref()
        .and_then(|p| p.starttls.value())
        .and_then(|ex| ex.handshake.value());
    implicit.into_iter().chain(starttls)
}

/// The handshake that completed, if one did.
pub(crate) fn completed_handshake(obs: &EndpointObservation) -> Option<&TlsHandshake> {
    handshakes(obs).find(|h| h.completed)
}

/// The certificate chain the endpoint presented (even if the handshake failed later).
pub(crate) fn chain(obs: &EndpointObservation) -> Option<&CertificateChain> {
    handshakes(obs).find_map(|h| h.certificate_chain.as_ref())
}
