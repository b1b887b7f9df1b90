//! DANE for SMTP (RFC 7672, RFC 7671): TLSA records at `_<port>._tcp.<host>`
//! and their match against the chain an MX address really presented.

use hickory_resolver::proto::rr::{RData, RecordType};
use mailwarden_model::{DaneMatch, DaneObservation, DnssecStatus, TlsaRecord};
use sha2::{Digest as _, Sha256, Sha512};
use x509_parser::prelude::FromDer as _;

use crate::resolver::Resolver;

/// Asks for the TLSA records of `host` on `port`.
pub async fn observe(
    resolver: &Resolver,
    host: &str,
    port: u16,
    host_dnssec: DnssecStatus,
) -> DaneObservation {
    let answer = resolver
        .lookup(&format!("_{port}._tcp.{host}"), RecordType::TLSA)
        .await;
    let records = answer
        .data
        .iter()
        .filter_map(|d| match d {
            RData::TLSA(t) => Some(TlsaRecord {
                usage: u8::from(t.cert_usage),
                selector: u8::from(t.selector),
                matching_type: u8::from(t.matching),
                data: hex::encode(&t.cert_data),
            }),
            _ => None,
        })
        .collect();
    DaneObservation {
        host: host.to_owned(),
        port,
        lookup: answer.lookup,
        host_dnssec,
        records,
        matches: Vec::new(),
    }
}

/// True for the usages an SMTP client uses (RFC 7672 §3.1: DANE-TA and
/// DANE-EE; PKIX-TA and PKIX-EE are unusable for SMTP).
pub fn usable_for_smtp(r: &TlsaRecord) -> bool {
    matches!(r.usage, 2 | 3) && r.selector <= 1 && r.matching_type <= 2
}

/// Matches the TLSA records against a chain (DER, leaf first): DANE-EE
/// against the leaf, DANE-TA against any other certificate of the chain.
/// Returns the indices of the records that matched, and a sentence.
pub fn match_chain(records: &[TlsaRecord], chain: &[Vec<u8>]) -> (Vec<usize>, String) {
    if chain.is_empty() {
        return (Vec::new(), "no certificate was presented".to_owned());
    }
    let mut matched = Vec::new();
    for (i, r) in records.iter().enumerate() {
        if !usable_for_smtp(r) {
            continue;
        }
        let candidates: &[Vec<u8>] = if r.usage == 3 {
            &chain[..1]
        } else {
            &chain[1..]
        };
        if candidates.iter().any(|der| matches_one(r, der)) {
            matched.push(i);
        }
    }
    let detail = if matched.is_empty() {
        format!(
            "none of the {} usable TLSA records matches the {} certificates presented",
            records.iter().filter(|r| usable_for_smtp(r)).count(),
            chain.len()
        )
    } else {
        let which: Vec<String> = matched
            .iter()
            .filter_map(|&i| records.get(i))
            .map(|r| format!("{} {} {}", r.usage, r.selector, r.matching_type))
            .collect();
        format!("matched by {}", which.join(", "))
    };
    (matched, detail)
}

fn matches_one(r: &TlsaRecord, der: &[u8]) -> bool {
    let selected: Vec<u8> = match r.selector {
        0 => der.to_vec(),
        1 => match spki(der) {
            Some(s) => s,
            None => return false,
        },
        _ => return false,
    };
    let digest = match r.matching_type {
        0 => selected,
        1 => Sha256::digest(&selected).to_vec(),
        2 => Sha512::digest(&selected).to_vec(),
        _ => return false,
    };
    hex::encode(digest).eq_ignore_ascii_case(&r.data)
}

/// The DER SubjectPublicKeyInfo of a certificate.
pub fn spki(der: &[u8]) -> Option<Vec<u8>> {
    let (_, cert) = x509_parser::certificate::X509Certificate::from_der(der).ok()?;
    Some(cert.tbs_certificate.subject_pki.raw.to_vec())
}

/// Builds the match observation for one endpoint.
pub fn check_endpoint(
    records: &[TlsaRecord],
    address: std::net::SocketAddr,
    chain: Option<&[Vec<u8>]>,
) -> DaneMatch {
    match chain {
        None => DaneMatch {
            address,
            chain_presented: false,
            matched: Vec::new(),
            detail: "no TLS handshake reached the certificate".to_owned(),
        },
        Some(chain) => {
            let (matched, detail) = match_chain(records, chain);
            DaneMatch {
                address,
                chain_presented: !chain.is_empty(),
                matched,
                detail,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert() -> Vec<u8> {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["mx.example".to_owned()]).unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    fn tlsa(usage: u8, selector: u8, matching_type: u8, data: Vec<u8>) -> TlsaRecord {
        TlsaRecord {
            usage,
            selector,
            matching_type,
            data: hex::encode(data),
        }
    }

    #[test]
    fn usages_selectors_and_matching_types() {
        let leaf = cert();
        let ca = cert();
        let chain = vec![leaf.clone(), ca.clone()];
        let leaf_spki = spki(&leaf).unwrap();
        let records = vec![
            tlsa(3, 1, 1, Sha256::digest(&leaf_spki).to_vec()),
            tlsa(3, 0, 2, Sha512::digest(&leaf).to_vec()),
            tlsa(3, 0, 0, leaf.clone()),
            tlsa(2, 0, 1, Sha256::digest(&ca).to_vec()),
            // DANE-TA naming the leaf does not match: the TA must be above it.
            tlsa(2, 0, 1, Sha256::digest(&leaf).to_vec()),
            // PKIX-EE is unusable for SMTP even when it matches.
            tlsa(1, 1, 1, Sha256::digest(&leaf_spki).to_vec()),
            tlsa(3, 1, 1, vec![0; 32]),
        ];
        let (matched, detail) = match_chain(&records, &chain);
        assert_eq!(matched, vec![0, 1, 2, 3], "{detail}");
        let (none, detail) = match_chain(&records[4..], &chain);
        assert!(none.is_empty());
        assert!(detail.contains("none of the 2 usable"), "{detail}");
        assert!(match_chain(&records, &[]).0.is_empty());
        assert!(match_chain(&records, &[b"garbage".to_vec()]).0.is_empty());
    }
}
