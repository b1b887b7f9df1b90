//! Turning hickory's responses and errors into observations: the outcome
//! (answer, NXDOMAIN, NODATA, SERVFAIL, REFUSED, timeout, error) and the
//! DNSSEC status of the answer or of the denial.

use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::dnssec::Proof;
use hickory_resolver::proto::dnssec::rdata::DNSSECRData;
use hickory_resolver::proto::op::{DnsResponse, ResponseCode};
use hickory_resolver::proto::rr::{RData, Record, RecordType};
use mailwarden_model::{DnsLookup, DnsOutcome, DnssecStatus};

use super::Answer;

pub(super) fn lookup(
    name: &str,
    rtype: RecordType,
    outcome: DnsOutcome,
    dnssec: DnssecStatus,
    detail: Option<String>,
) -> DnsLookup {
    DnsLookup {
        name: name.to_owned(),
        rtype: rtype.to_string(),
        outcome,
        dnssec,
        records: Vec::new(),
        detail,
    }
}

pub(super) fn typed(records: &[Record], rtype: RecordType) -> impl Iterator<Item = &Record> {
    records.iter().filter(move |r| r.record_type() == rtype)
}

/// Presentation format; TXT strings are joined (RFC 7208 §3.3) and unquoted.
pub(crate) fn presentation(data: &RData) -> String {
    match data {
        RData::TXT(txt) => txt_text(txt),
        other => other.to_string(),
    }
}

/// The character-strings of a TXT record joined, invalid UTF-8 replaced.
pub(crate) fn txt_text(txt: &hickory_resolver::proto::rr::rdata::TXT) -> String {
    let bytes: Vec<u8> = txt
        .txt_data
        .iter()
        .flat_map(|s| s.iter().copied())
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

pub(super) fn status_of(proof: Proof) -> DnssecStatus {
    match proof {
        Proof::Secure => DnssecStatus::Secure,
        Proof::Insecure => DnssecStatus::Insecure,
        Proof::Bogus => DnssecStatus::Bogus,
        _ => DnssecStatus::Indeterminate,
    }
}

/// The status of a set of records: the weakest proof among them.
pub(super) fn weakest(records: &[&Record]) -> DnssecStatus {
    let proofs: Vec<Proof> = records.iter().map(|r| r.proof).collect();
    if proofs.contains(&Proof::Bogus) {
        DnssecStatus::Bogus
    } else if proofs.contains(&Proof::Indeterminate) {
        DnssecStatus::Indeterminate
    } else if proofs.contains(&Proof::Insecure) {
        DnssecStatus::Insecure
    } else if proofs.is_empty() {
        DnssecStatus::Indeterminate
    } else {
        DnssecStatus::Secure
    }
}

/// A negative answer's status from its authority section: signed NSEC or
/// NSEC3 records prove the denial.
pub(super) fn denial_status(authorities: &[Record], validating: bool) -> DnssecStatus {
    let denials: Vec<&Record> = authorities
        .iter()
        .filter(|r| {
            matches!(
                r.data,
                RData::DNSSEC(DNSSECRData::NSEC(_)) | RData::DNSSEC(DNSSECRData::NSEC3(_))
            )
        })
        .collect();
    if denials.is_empty() {
        return DnssecStatus::Insecure;
    }
    if validating {
        weakest(&denials)
    } else {
        // The upstream validated it, or it would have answered SERVFAIL.
        DnssecStatus::Secure
    }
}

pub(super) fn classify(
    display: &str,
    rtype: RecordType,
    result: Result<DnsResponse, NetError>,
    validating: bool,
) -> Answer {
    let failed = |outcome, detail: String| Answer {
        lookup: lookup(
            display,
            rtype,
            outcome,
            DnssecStatus::Indeterminate,
            Some(detail),
        ),
        data: Vec::new(),
    };
    match result {
        Ok(response) => positive(display, rtype, &response, validating),
        Err(NetError::Dns(DnsError::NoRecordsFound(nr))) => {
            let outcome = if nr.response_code == ResponseCode::NXDomain {
                DnsOutcome::Nxdomain
            } else {
                DnsOutcome::Nodata
            };
            let authorities: Vec<Record> = nr
                .authorities
                .as_deref()
                .map(<[Record]>::to_vec)
                .unwrap_or_default();
            let dnssec = denial_status(&authorities, validating);
            Answer {
                lookup: lookup(display, rtype, outcome, dnssec, None),
                data: Vec::new(),
            }
        }
        Err(NetError::Dns(DnsError::Nsec {
            response, proof, ..
        })) => {
            let outcome = if response.response_code == ResponseCode::NXDomain {
                DnsOutcome::Nxdomain
            } else {
                DnsOutcome::Nodata
            };
            Answer {
                lookup: lookup(
                    display,
                    rtype,
                    outcome,
                    status_of(proof),
                    Some(format!("denial of existence: {proof}")),
                ),
                data: Vec::new(),
            }
        }
        Err(NetError::Dns(DnsError::DnssecBogus)) => Answer {
            lookup: lookup(
                display,
                rtype,
                DnsOutcome::Answer,
                DnssecStatus::Bogus,
                Some("DNSSEC validation fails".to_owned()),
            ),
            data: Vec::new(),
        },
        Err(NetError::Dns(DnsError::ResponseCode(code))) => {
            let outcome = match code {
                ResponseCode::ServFail => DnsOutcome::Servfail,
                ResponseCode::Refused => DnsOutcome::Refused,
                ResponseCode::NXDomain => DnsOutcome::Nxdomain,
                _ => DnsOutcome::Error,
            };
            failed(outcome, format!("response code {code}"))
        }
        Err(NetError::Timeout) => failed(DnsOutcome::Timeout, "no answer in time".to_owned()),
        Err(other) => {
            let text = other.to_string();
            let outcome = if text.contains("timed out") || text.contains("timeout") {
                DnsOutcome::Timeout
            } else {
                DnsOutcome::Error
            };
            failed(outcome, text)
        }
    }
}

pub(super) fn positive(
    display: &str,
    rtype: RecordType,
    response: &DnsResponse,
    validating: bool,
) -> Answer {
    let records: Vec<&Record> = typed(&response.answers, rtype).collect();
    let code = response.response_code;
    if records.is_empty() {
        let outcome = match code {
            ResponseCode::NXDomain => DnsOutcome::Nxdomain,
            ResponseCode::NoError => DnsOutcome::Nodata,
            ResponseCode::ServFail => DnsOutcome::Servfail,
            ResponseCode::Refused => DnsOutcome::Refused,
            _ => DnsOutcome::Error,
        };
        let dnssec = if outcome.is_negative() {
            if !validating && response.authentic_data {
                DnssecStatus::Secure
            } else {
                denial_status(&response.authorities, validating)
            }
        } else {
            DnssecStatus::Indeterminate
        };
        return Answer {
            lookup: lookup(display, rtype, outcome, dnssec, None),
            data: Vec::new(),
        };
    }
    let dnssec = if validating {
        weakest(&records)
    } else if response.authentic_data {
        DnssecStatus::Secure
    } else {
        DnssecStatus::Insecure
    };
    let mut out = lookup(display, rtype, DnsOutcome::Answer, dnssec, None);
    out.records = records.iter().map(|r| presentation(&r.data)).collect();
    let data = if dnssec == DnssecStatus::Bogus {
        Vec::new()
    } else {
        records.iter().map(|r| r.data.clone()).collect()
    };
    Answer { lookup: out, data }
}
