//! The TLS record layer, plaintext only (RFC 8446 §5.1, RFC 5246 §6.2.1).
//!
//! ```text
//! struct {
//!     ContentType type;
//!     ProtocolVersion legacy_record_version;
//!     uint16 length;
//!     opaque fragment[TLSPlaintext.length];
//! } TLSPlaintext;
//! ```

use crate::codec::{Reader, put_u16};
use crate::wire::{ContentType, HandshakeType};

/// Size of a record header: type, version, length.
pub const RECORD_HEADER_LEN: usize = 5;

/// Largest plaintext fragment a peer may send: 2^14 bytes (RFC 8446 §5.1).
pub const MAX_FRAGMENT_LEN: usize = 1 << 14;

/// Largest record payload this crate accepts from a peer: 2^14 + 2048, the
/// TLSCiphertext bound of RFC 5246 §6.2.3, so that lenient servers pass while
/// a bogus length near 2^16 is refused with [`crate::Error::TooLarge`].
pub const MAX_RECORD_PAYLOAD: usize = MAX_FRAGMENT_LEN + 2048;

/// The header of one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    /// The content type.
    pub content_type: ContentType,
    /// `legacy_record_version` as sent.
    pub version: u16,
    /// The declared payload length.
    pub len: u16,
}

impl RecordHeader {
    /// Reads a header from the first five bytes, or `None` when fewer are given.
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        let mut r = Reader::new(bytes);
        Some(Self {
            content_type: ContentType(r.u8()?),
            version: r.u16()?,
            len: r.u16()?,
        })
    }
}

/// True when `byte` is a content type a TLS (or SSL 3.0) peer sends in
/// plaintext: change_cipher_spec, alert, handshake, application_data or
/// heartbeat.
pub fn is_tls_content_type(byte: u8) -> bool {
    (20..=24).contains(&byte)
}

/// Wraps `payload` into records of `content_type`, split at 2^14 bytes.
/// An empty payload yields one empty record.
pub fn encode_records(content_type: ContentType, version: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + RECORD_HEADER_LEN);
    let mut chunks = payload.chunks(MAX_FRAGMENT_LEN).peekable();
    if chunks.peek().is_none() {
        push_record(&mut out, content_type, version, &[]);
    }
    for chunk in chunks {
        push_record(&mut out, content_type, version, chunk);
    }
    out
}

fn push_record(out: &mut Vec<u8>, content_type: ContentType, version: u16, fragment: &[u8]) {
    out.push(content_type.0);
    put_u16(out, version);
    put_u16(out, fragment.len() as u16);
    out.extend_from_slice(fragment);
}

/// Frames a handshake message body: type and a 24-bit length (RFC 8446 §4).
pub fn encode_handshake(typ: HandshakeType, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 4);
    out.push(typ.0);
    crate::codec::put_vec_u24(&mut out, body);
    out
}

/// Splits a byte string made of whole plaintext records into `(header,
/// payload)` pairs; `None` when a record is cut short. Meant for tests and
/// fake servers reading a ClientHello; network input goes through
/// [`crate::ServerFlightReader`].
pub fn split_records(mut bytes: &[u8]) -> Option<Vec<(RecordHeader, &[u8])>> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let header = RecordHeader::parse(bytes)?;
        let mut r = Reader::new(bytes.get(RECORD_HEADER_LEN..)?);
        let payload = r.take(usize::from(header.len))?;
        out.push((header, payload));
        bytes = r.rest();
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_payloads_are_split_at_two_to_the_fourteen() {
        let payload = vec![7u8; MAX_FRAGMENT_LEN + 10];
        let bytes = encode_records(ContentType::HANDSHAKE, 0x0301, &payload);
        let records = split_records(&bytes).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].1.len(), MAX_FRAGMENT_LEN);
        assert_eq!(records[1].1.len(), 10);
        assert_eq!(records[1].0.version, 0x0301);
    }

    #[test]
    fn truncated_records_do_not_split() {
        assert!(split_records(&[22, 3, 1, 0, 5, 1]).is_none());
        assert!(split_records(&[22, 3]).is_none());
    }
}
