//! Lenient X.509 parsing into [`mailwarden_model::Certificate`].

use std::net::{Ipv4Addr, Ipv6Addr};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use jiff::Timestamp;
use mailwarden_model::{Certificate, PublicKeyInfo};
use sha2::{Digest as _, Sha256};
use x509_parser::certificate::{TbsCertificate, TbsCertificateParser, X509CertificateParser};
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::nom::Parser as _;
use x509_parser::time::ASN1Time;

use crate::{dn, key};

const SUBJECT_ALT_NAME: &str = "2.5.29.17";
const BASIC_CONSTRAINTS: &str = "2.5.29.19";

/// Parses one DER certificate into its facts. Never panics, whatever the input.
///
/// `sha256` (lowercase hex of the SHA-256 of the bytes given) and `der_base64` are always
/// filled. When the certificate cannot be fully parsed, `parse_error` says why, and the other
/// fields are filled as far as they could be read:
///
/// * trailing bytes after the certificate, a malformed subjectAltName or basicConstraints
///   extension, a SAN iPAddress that is neither 4 nor 16 bytes: every field that could be read
///   is filled, `parse_error` names the problems (joined by "; ");
/// * the outer structure is broken (e.g. truncated signature) but the to-be-signed part parses:
///   fields come from it (the signature algorithm from its inner `signature` field),
///   `self_signed` is false;
/// * nothing parses: empty strings and lists, `not_before` and `not_after` absent,
///   `public_key.algorithm` "unknown", `signature_algorithm` "unknown".
///
/// Field conventions: `subject`/`issuer` as RFC 4514 strings (most specific RDN first, e.g.
/// `CN=mx.example.org,O=Example,C=DE`); `serial` the lowercase hex of the serial's content
/// octets without leading zero octets; `ip_addresses` in Rust's canonical form (IPv6 as RFC
/// 5952); `dns_names` exactly as encoded (case kept).
///
/// `self_signed`: the subject equals the issuer (as RFC 4514 strings) and the signature
/// verifies with the certificate's own public key (aws-lc-rs, legacy algorithms included).
/// When no verifier exists for the signature/key combination (MD5, DSA, RSA under 1024 bits,
/// unknown algorithms), it falls back to the key identifiers: subject equals issuer and the
/// authority key identifier is absent or equals the subject key identifier.
pub fn parse_certificate(der: &[u8]) -> Certificate {
    let mut facts = Facts::default();
    match X509CertificateParser::new().parse(der) {
        Ok((rest, cert)) => {
            if !rest.is_empty() {
                facts.problem(format!(
                    "{} bytes of trailing data after the certificate",
                    rest.len()
                ));
            }
            facts.read_tbs(&cert.tbs_certificate);
            facts.signature_algorithm = key::signature_algorithm_name(&cert.signature_algorithm);
            facts.self_signed = facts.subject == facts.issuer
                && match key::verifies_with_own_key(&cert) {
                    Some(verified) => verified,
                    None => facts.key_ids_match,
                };
        }
        Err(error) => {
            facts.problem(format!("not a parsable X.509 certificate: {error}"));
            if let Some(tbs) = inner_tbs(der) {
                facts.problem("read from its to-be-signed part only".to_owned());
                facts.read_tbs(&tbs);
                facts.signature_algorithm = key::signature_algorithm_name(&tbs.signature);
            }
        }
    }
    facts.into_certificate(der)
}

/// What has been read so far.
struct Facts {
    subject: String,
    issuer: String,
    serial: String,
    not_before: Option<Timestamp>,
    not_after: Option<Timestamp>,
    dns_names: Vec<String>,
    ip_addresses: Vec<String>,
    public_key: PublicKeyInfo,
    signature_algorithm: String,
    self_signed: bool,
    is_ca: bool,
    key_ids_match: bool,
    problems: Vec<String>,
}

impl Default for Facts {
    fn default() -> Self {
        Self {
            subject: String::new(),
            issuer: String::new(),
            serial: String::new(),
            not_before: None,
            not_after: None,
            dns_names: Vec::new(),
            ip_addresses: Vec::new(),
            public_key: PublicKeyInfo {
                algorithm: "unknown".to_owned(),
                bits: None,
                curve: None,
            },
            signature_algorithm: "unknown".to_owned(),
            self_signed: false,
            is_ca: false,
            key_ids_match: false,
            problems: Vec::new(),
        }
    }
}

impl Facts {
    fn problem(&mut self, problem: String) {
        self.problems.push(problem);
    }

    fn read_tbs(&mut self, tbs: &TbsCertificate<'_>) {
        self.subject = dn::rfc4514(tbs.subject());
        self.issuer = dn::rfc4514(tbs.issuer());
        self.serial = serial_hex(tbs.raw_serial());
        self.not_before = self.timestamp(&tbs.validity().not_before, "notBefore");
        self.not_after = self.timestamp(&tbs.validity().not_after, "notAfter");
        self.public_key = key::public_key_info(tbs.public_key());
        self.read_extensions(tbs);
    }

    fn timestamp(&mut self, time: &ASN1Time, field: &str) -> Option<Timestamp> {
        match Timestamp::from_second(time.timestamp()) {
            Ok(timestamp) => Some(timestamp),
            Err(_) => {
                self.problem(format!("{field} {time} is out of range"));
                None
            }
        }
    }

    fn read_extensions(&mut self, tbs: &TbsCertificate<'_>) {
        let mut san_count = 0;
        let mut authority_key_id = None;
        let mut subject_key_id = None;
        for extension in tbs.extensions() {
            let oid = extension.oid.to_id_string();
            match extension.parsed_extension() {
                ParsedExtension::SubjectAlternativeName(san) => {
                    san_count += 1;
                    for name in &san.general_names {
                        self.read_general_name(name);
                    }
                }
                ParsedExtension::BasicConstraints(constraints) => self.is_ca = constraints.ca,
                ParsedExtension::AuthorityKeyIdentifier(aki) => {
                    authority_key_id = Some(aki.key_identifier.as_ref().map(|id| id.0));
                }
                ParsedExtension::SubjectKeyIdentifier(ski) => subject_key_id = Some(ski.0),
                ParsedExtension::ParseError { error } => {
                    let name = match oid.as_str() {
                        SUBJECT_ALT_NAME => "subjectAltName".to_owned(),
                        BASIC_CONSTRAINTS => "basicConstraints".to_owned(),
                        _ => format!("extension {oid}"),
                    };
                    self.problem(format!("malformed {name}: {error}"));
                }
                _ => {}
            }
        }
        if san_count > 1 {
            self.problem(format!("{san_count} subjectAltName extensions"));
        }
        self.key_ids_match = match authority_key_id {
            None | Some(None) => true,
            Some(Some(aki)) => subject_key_id == Some(aki),
        };
    }

    fn read_general_name(&mut self, name: &GeneralName<'_>) {
        match name {
            GeneralName::DNSName(dns) => self.dns_names.push((*dns).to_owned()),
            GeneralName::IPAddress(bytes) => match ip_address(bytes) {
                Some(ip) => self.ip_addresses.push(ip),
                None => self.problem(format!(
                    "subjectAltName iPAddress of {} bytes: {}",
                    bytes.len(),
                    hex::encode(bytes)
                )),
            },
            GeneralName::Invalid(tag, data) if tag.0 == 2 => self.problem(format!(
                "subjectAltName dNSName is not text: {}",
                hex::encode(data)
            )),
            GeneralName::Invalid(tag, _) if tag.0 == 7 => {
                self.problem("malformed subjectAltName iPAddress".to_owned());
            }
            _ => {}
        }
    }

    fn into_certificate(self, der: &[u8]) -> Certificate {
        Certificate {
            subject: self.subject,
            issuer: self.issuer,
            serial: self.serial,
            not_before: self.not_before,
            not_after: self.not_after,
            dns_names: self.dns_names,
            ip_addresses: self.ip_addresses,
            public_key: self.public_key,
            signature_algorithm: self.signature_algorithm,
            self_signed: self.self_signed,
            is_ca: self.is_ca,
            sha256: hex::encode(Sha256::digest(der)),
            der_base64: BASE64.encode(der),
            parse_error: (!self.problems.is_empty()).then(|| self.problems.join("; ")),
        }
    }
}

/// The TBSCertificate inside a certificate whose outer SEQUENCE does not parse (truncated
/// signature, wrong outer length, ...).
fn inner_tbs(der: &[u8]) -> Option<TbsCertificate<'_>> {
    let (&tag, rest) = der.split_first()?;
    if tag != 0x30 {
        return None;
    }
    let (&len, rest) = rest.split_first()?;
    let skip = if len & 0x80 == 0 {
        0
    } else {
        usize::from(len & 0x7f)
    };
    let tbs = rest.get(skip..)?;
    TbsCertificateParser::new()
        .parse(tbs)
        .ok()
        .map(|(_, tbs)| tbs)
}

fn serial_hex(raw: &[u8]) -> String {
    let skip = raw.iter().take_while(|&&b| b == 0).count();
    match raw.get(skip..) {
        Some(rest) if !rest.is_empty() => hex::encode(rest),
        _ if raw.is_empty() => String::new(),
        _ => "00".to_owned(),
    }
}

pub(crate) fn ip_address(bytes: &[u8]) -> Option<String> {
    if let Ok(v4) = <[u8; 4]>::try_from(bytes) {
        return Some(Ipv4Addr::from(v4).to_string());
    }
    let v6 = <[u8; 16]>::try_from(bytes).ok()?;
    Some(Ipv6Addr::from(v6).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials() {
        assert_eq!(serial_hex(&[0x00, 0x8f, 0x01]), "8f01");
        assert_eq!(serial_hex(&[0x01, 0x00]), "0100");
        assert_eq!(serial_hex(&[0x00]), "00");
        assert_eq!(serial_hex(&[]), "");
    }

    #[test]
    fn ip_addresses() {
        assert_eq!(ip_address(&[127, 0, 0, 1]).as_deref(), Some("127.0.0.1"));
        let mut v6 = [0u8; 16];
        v6[15] = 1;
        assert_eq!(ip_address(&v6).as_deref(), Some("::1"));
        assert_eq!(ip_address(&[1, 2, 3]), None);
    }

    #[test]
    fn garbage_is_reported_not_panicked_on() {
        let cert = parse_certificate(b"not a certificate");
        assert!(cert.parse_error.is_some());
        assert_eq!(cert.subject, "");
        assert_eq!(cert.public_key.algorithm, "unknown");
        assert_eq!(cert.der_base64, "bm90IGEgY2VydGlmaWNhdGU=");
        assert_eq!(cert.sha256.len(), 64);
    }
}
