//! SSL 2.0 (the Netscape "SSL 0.2" spec of 1995, Hickman; RFC 6176 forbids
//! it): the CLIENT-HELLO, including the SSLv2-compatible form that SSL 3.0
//! and TLS clients may send (RFC 5246 §E.2, RFC 6101 §E.1), and the
//! server's SERVER-HELLO or ERROR answer. The SSL 2.0 cipher kinds are the
//! data file `data/sslv2-suites.csv`.
//!
//! ```text
//! record header: 2 bytes, high bit set: length = ((b0 & 0x7f) << 8) | b1
//!             or 3 bytes, high bit clear: length = ((b0 & 0x3f) << 8) | b1, padding = b2
//! CLIENT-HELLO: 1, version(2), cipher-specs-len(2), session-id-len(2),
//!               challenge-len(2), cipher-specs (3 bytes each), session id, challenge
//! SERVER-HELLO: 4, session-id-hit(1), certificate-type(1), version(2),
//!               certificate-len(2), cipher-specs-len(2), connection-id-len(2),
//!               certificate, cipher-specs, connection id
//! ERROR:        0, error-code(2)
//! ```

use std::sync::OnceLock;

use crate::codec::{Reader, put_u16};
use crate::error::Error;
use crate::record::is_tls_content_type;
use crate::registry::{Cipher, Mac, data_rows};
use crate::wire::ContentType;

const SSLV2_CSV: &str = include_str!("../data/sslv2-suites.csv");

/// Largest SSL 2.0 record body (a two-byte header holds 15 bits).
pub const SSLV2_MAX_RECORD: usize = 0x7fff;

/// A CLIENT-HELLO, pure SSL 2.0 or SSLv2-compatible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sslv2ClientHello {
    /// 0x0002 for SSL 2.0; 0x0300..=0x0303 for an SSLv2-compatible hello.
    pub version: u16,
    /// Three-byte cipher specs. TLS suites are written `0x00XXXX`.
    pub cipher_specs: Vec<u32>,
    /// Session id (empty, or 16 bytes).
    pub session_id: Vec<u8>,
    /// The challenge, 16 to 32 bytes.
    pub challenge: Vec<u8>,
}

impl Sslv2ClientHello {
    /// A pure SSL 2.0 hello offering every SSL 2.0 cipher kind in the registry.
    pub fn sslv2(challenge: [u8; 16]) -> Self {
        Self {
            version: 0x0002,
            cipher_specs: sslv2_suites().iter().map(|s| s.code).collect(),
            session_id: Vec::new(),
            challenge: challenge.to_vec(),
        }
    }

    /// An SSLv2-compatible hello for `version` offering TLS `suites`
    /// (RFC 5246 §E.2). It cannot carry extensions: no SNI, no
    /// signature_algorithms.
    pub fn compatible(version: u16, suites: &[u16], challenge: [u8; 32]) -> Self {
        Self {
            version,
            cipher_specs: suites.iter().map(|&s| u32::from(s)).collect(),
            session_id: Vec::new(),
            challenge: challenge.to_vec(),
        }
    }

    /// The record to send (two-byte header, no padding). Lists longer than
    /// a record holds are cut.
    pub fn encode(&self) -> Vec<u8> {
        let specs: Vec<u8> = self
            .cipher_specs
            .iter()
            .flat_map(|c| c.to_be_bytes().into_iter().skip(1))
            .take(0x7f00 / 3 * 3)
            .collect();
        let session_id = &self.session_id[..self.session_id.len().min(32)];
        let challenge = &self.challenge[..self.challenge.len().min(32)];
        let mut body = vec![1];
        put_u16(&mut body, self.version);
        put_u16(&mut body, specs.len() as u16);
        put_u16(&mut body, session_id.len() as u16);
        put_u16(&mut body, challenge.len() as u16);
        body.extend_from_slice(&specs);
        body.extend_from_slice(session_id);
        body.extend_from_slice(challenge);
        let mut out = Vec::with_capacity(body.len() + 2);
        put_u16(&mut out, 0x8000 | body.len() as u16);
        out.extend_from_slice(&body);
        out
    }

    /// Parses a CLIENT-HELLO record (for tests and fake servers).
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        let bad = |what| Error::Malformed { what };
        let Some((body, _)) = sslv2_record(bytes)? else {
            return Err(bad("SSLv2 CLIENT-HELLO: truncated record"));
        };
        let mut r = Reader::new(body);
        if r.u8() != Some(1) {
            return Err(bad("SSLv2 CLIENT-HELLO: wrong message type"));
        }
        let fields = (r.u16(), r.u16(), r.u16(), r.u16());
        let (Some(version), Some(specs), Some(sid), Some(challenge)) = fields else {
            return Err(bad("SSLv2 CLIENT-HELLO: truncated header"));
        };
        let specs = r.take(usize::from(specs));
        let sid = r.take(usize::from(sid));
        let challenge = r.take(usize::from(challenge));
        let (Some(specs), Some(sid), Some(challenge)) = (specs, sid, challenge) else {
            return Err(bad("SSLv2 CLIENT-HELLO: truncated body"));
        };
        if !r.is_empty() || !specs.len().is_multiple_of(3) {
            return Err(bad("SSLv2 CLIENT-HELLO: bad lengths"));
        }
        Ok(Self {
            version,
            cipher_specs: cipher_specs(specs),
            session_id: sid.to_vec(),
            challenge: challenge.to_vec(),
        })
    }
}

/// A SERVER-HELLO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sslv2ServerHello {
    /// The server resumed the session.
    pub session_id_hit: bool,
    /// The certificate type (1 = X.509).
    pub certificate_type: u8,
    /// The server version (0x0002).
    pub version: u16,
    /// The DER certificate.
    pub certificate: Vec<u8>,
    /// The cipher kinds the server accepts among those offered.
    pub cipher_specs: Vec<u32>,
    /// The connection id.
    pub connection_id: Vec<u8>,
}

/// What a server answered to a CLIENT-HELLO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sslv2Answer {
    /// A SERVER-HELLO: the server speaks SSL 2.0.
    ServerHello(Sslv2ServerHello),
    /// An ERROR message with its code (1 = NO-CIPHER-ERROR).
    Error(u16),
    /// A TLS/SSL 3.0 record: the server answered in the newer protocol;
    /// feed the same bytes to [`crate::ServerFlightReader`].
    TlsRecord(ContentType),
}

/// Reads the server's answer from the bytes buffered so far: `Ok(None)`
/// while more are needed. Never panics; a record holds at most
/// [`SSLV2_MAX_RECORD`] bytes, so no other cap is needed.
pub fn parse_sslv2_answer(bytes: &[u8]) -> Result<Option<Sslv2Answer>, Error> {
    if let (Some(&first), Some(&second)) = (bytes.first(), bytes.get(1))
        && is_tls_content_type(first)
        && second == 3
    {
        return Ok(Some(Sslv2Answer::TlsRecord(ContentType(first))));
    }
    // A server's SSL 2.0 answer is never padded, so it has a two-byte
    // header with the high bit set; text such as "220 ..." does not.
    if bytes.first().is_some_and(|&b| b & 0x80 == 0) {
        return Err(not_sslv2(bytes));
    }
    let Some((body, _)) = sslv2_record(bytes)? else {
        return Ok(None);
    };
    let bad = |what| Error::Malformed { what };
    let mut r = Reader::new(body);
    match r.u8() {
        Some(0) => {
            let code = r.u16().ok_or(bad("SSLv2 ERROR: truncated"))?;
            Ok(Some(Sslv2Answer::Error(code)))
        }
        Some(4) => {
            let header = (r.u8(), r.u8(), r.u16(), r.u16(), r.u16(), r.u16());
            let (Some(hit), Some(cert_type), Some(version), Some(cert), Some(specs), Some(cid)) =
                header
            else {
                return Err(bad("SSLv2 SERVER-HELLO: truncated header"));
            };
            let parts = (
                r.take(usize::from(cert)),
                r.take(usize::from(specs)),
                r.take(usize::from(cid)),
            );
            let (Some(cert), Some(specs), Some(cid)) = parts else {
                return Err(bad("SSLv2 SERVER-HELLO: truncated body"));
            };
            if !specs.len().is_multiple_of(3) {
                return Err(bad("SSLv2 SERVER-HELLO: cipher specs not in threes"));
            }
            Ok(Some(Sslv2Answer::ServerHello(Sslv2ServerHello {
                session_id_hit: hit != 0,
                certificate_type: cert_type,
                version,
                certificate: cert.to_vec(),
                cipher_specs: cipher_specs(specs),
                connection_id: cid.to_vec(),
            })))
        }
        _ => Err(not_sslv2(bytes)),
    }
}

fn not_sslv2(bytes: &[u8]) -> Error {
    Error::NotTls {
        first_bytes: bytes.iter().take(crate::EVIDENCE_LEN).copied().collect(),
    }
}

/// Splits off one SSL 2.0 record: `Ok(None)` when incomplete, else the body
/// (padding removed) and the bytes consumed.
fn sslv2_record(bytes: &[u8]) -> Result<Option<(&[u8], usize)>, Error> {
    let mut r = Reader::new(bytes);
    let (Some(b0), Some(b1)) = (r.u8(), r.u8()) else {
        return Ok(None);
    };
    let (len, padding, header) = if b0 & 0x80 != 0 {
        (usize::from(b0 & 0x7f) << 8 | usize::from(b1), 0, 2)
    } else {
        let Some(padding) = r.u8() else {
            return Ok(None);
        };
        (
            usize::from(b0 & 0x3f) << 8 | usize::from(b1),
            usize::from(padding),
            3,
        )
    };
    let Some(body) = r.take(len) else {
        return Ok(None);
    };
    let body = body.get(
        ..len.checked_sub(padding).ok_or(Error::Malformed {
            what: "SSLv2 record: padding longer than the record",
        })?,
    );
    Ok(body.map(|b| (b, header + len)))
}

fn cipher_specs(bytes: &[u8]) -> Vec<u32> {
    bytes
        .chunks_exact(3)
        .map(|c| u32::from_be_bytes([0, c[0], c[1], c[2]]))
        .collect()
}

/// An SSL 2.0 cipher kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sslv2SuiteInfo {
    /// The three-byte code, e.g. `0x010080`.
    pub code: u32,
    /// The spec name, e.g. `SSL_CK_RC4_128_WITH_MD5`.
    pub name: &'static str,
    /// The OpenSSL name, e.g. `RC4-MD5`.
    pub openssl_name: Option<&'static str>,
    /// The cipher.
    pub cipher: Cipher,
    /// Effective key bits (40 for export kinds).
    pub bits: u16,
    /// The MAC.
    pub mac: Mac,
    /// Export-grade.
    pub export: bool,
}

/// The registry entry of an SSL 2.0 cipher kind.
pub fn sslv2_suite(code: u32) -> Option<&'static Sslv2SuiteInfo> {
    sslv2_suites().iter().find(|s| s.code == code)
}

/// All SSL 2.0 cipher kinds, ordered by code.
pub fn sslv2_suites() -> &'static [Sslv2SuiteInfo] {
    static TABLE: OnceLock<Vec<Sslv2SuiteInfo>> = OnceLock::new();
    TABLE.get_or_init(|| data_rows(SSLV2_CSV).filter_map(parse_row).collect())
}

/// Columns: code, name, openssl_name, cipher, bits, mac, flags.
fn parse_row(row: Vec<&'static str>) -> Option<Sslv2SuiteInfo> {
    let [code, name, openssl, cipher, bits, mac, flags] = row.as_slice() else {
        return None;
    };
    Some(Sslv2SuiteInfo {
        code: u32::from_str_radix(code.strip_prefix("0x")?, 16).ok()?,
        name,
        openssl_name: (!openssl.is_empty()).then_some(*openssl),
        cipher: Cipher::from_token(cipher)?,
        bits: bits.parse().ok()?,
        mac: Mac::from_token(mac)?,
        export: flags.split('|').any(|f| f == "export"),
    })
}

#[cfg(test)]
#[path = "sslv2_tests.rs"]
mod tests;
