//! SMTP TLS reporting (RFC 8460 §3): `_smtp._tls.<domain>`.

use hickory_resolver::proto::rr::RecordType;
use mailwarden_model::{SyntaxError, TlsRptObservation};

use crate::resolver::Resolver;
use crate::tags;

/// Observes the TLS-RPT record of `domain`.
pub async fn observe(resolver: &Resolver, domain: &str) -> TlsRptObservation {
    let lookup = resolver
        .lookup(&format!("_smtp._tls.{domain}"), RecordType::TXT)
        .await
        .lookup;
    let records: Vec<String> = lookup
        .usable()
        .iter()
        .filter(|t| t.starts_with("v=TLSRPTv1"))
        .cloned()
        .collect();
    let (rua, errors) = match records.as_slice() {
        [one] => parse(one),
        _ => (Vec::new(), Vec::new()),
    };
    TlsRptObservation {
        lookup,
        records,
        rua,
        errors,
    }
}

/// The `rua` URIs and the errors of a TLS-RPT record.
pub fn parse(record: &str) -> (Vec<String>, Vec<SyntaxError>) {
    let (tags, mut errors) = tags::parse(record);
    let Some(rua) = tags::get(&tags, "rua") else {
        errors.push(SyntaxError {
            position: record.len(),
            message: "the required tag \"rua\" is missing".to_owned(),
        });
        return (Vec::new(), errors);
    };
    let uris: Vec<String> = rua.value.split(',').map(|u| u.trim().to_owned()).collect();
    for u in &uris {
        if !(u.starts_with("mailto:") || u.starts_with("https:")) {
            errors.push(SyntaxError {
                position: rua.position,
                message: format!("{u:?}: rua takes mailto: or https: URIs"),
            });
        }
    }
    (uris, errors)
}
