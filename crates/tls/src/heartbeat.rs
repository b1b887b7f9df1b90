//! Heartbeat records (RFC 6520) for a safe, read-only Heartbleed check
//! (CVE-2014-0160).
//!
//! After the server's first flight (ServerHelloDone) the client sends, in
//! clear:
//!
//! 1. a heartbeat request claiming [`HEARTBLEED_CLAIMED_LEN`] payload bytes
//!    while carrying none. RFC 6520 §4 says such a message "MUST be
//!    discarded silently"; a vulnerable OpenSSL (1.0.1 to 1.0.1f) copies
//!    that many bytes of its memory into the response instead;
//! 2. a well-formed request with a [`CONTROL_PAYLOAD`], so that a patched
//!    server which processes heartbeats answers *something* and the
//!    difference is visible;
//! 3. a `close_notify` warning, so that the server ends the connection and
//!    the check never waits for a timeout.
//!
//! [`HeartbeatReader`] then reads the records that come back and keeps only
//! their lengths: the bytes of a leaked response are counted and dropped,
//! never stored.
//!
//! ```text
//! struct {
//!     HeartbeatMessageType type;      /* 1 = request, 2 = response */
//!     uint16 payload_length;
//!     opaque payload[HeartbeatMessage.payload_length];
//!     opaque padding[padding_length]; /* at least 16 bytes */
//! } HeartbeatMessage;
//! ```

use crate::codec::Reader;
use crate::error::Error;
use crate::record::{MAX_RECORD_PAYLOAD, RECORD_HEADER_LEN, RecordHeader, encode_records};
use crate::wire::{AlertDescription, AlertLevel, ContentType};

/// The `payload_length` claimed by the oversized request: 16 KiB.
pub const HEARTBLEED_CLAIMED_LEN: u16 = 0x4000;

/// The payload of the well-formed control request.
pub const CONTROL_PAYLOAD: &[u8; 16] = b"mailwarden-probe";

/// Largest number of bytes [`HeartbeatReader`] reads before giving up: two
/// full records, more than any honest answer.
pub const MAX_HEARTBEAT_READ: usize = 2 * (MAX_RECORD_PAYLOAD + RECORD_HEADER_LEN);

const REQUEST: u8 = 1;
const RESPONSE: u8 = 2;

/// The bytes to send after ServerHelloDone, in records of `record_version`
/// (the version the server chose): the oversized request, the control
/// request, and a close_notify warning.
pub fn heartbleed_requests(record_version: u16) -> Vec<u8> {
    let hi = (HEARTBLEED_CLAIMED_LEN >> 8) as u8;
    let lo = (HEARTBLEED_CLAIMED_LEN & 0xff) as u8;
    let mut out = encode_records(ContentType::HEARTBEAT, record_version, &[REQUEST, hi, lo]);
    let mut control = vec![REQUEST, 0, CONTROL_PAYLOAD.len() as u8];
    control.extend_from_slice(CONTROL_PAYLOAD);
    control.extend_from_slice(&[0u8; 16]);
    out.extend(encode_records(
        ContentType::HEARTBEAT,
        record_version,
        &control,
    ));
    out.extend(encode_records(
        ContentType::ALERT,
        record_version,
        &[AlertLevel::WARNING.0, AlertDescription::CLOSE_NOTIFY.0],
    ));
    out
}

/// One heartbeat response, by its lengths only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeartbeatResponse {
    /// The `payload_length` the server declared.
    pub payload_length: u16,
    /// The bytes received for it (message type, length field, payload,
    /// padding), over one or more records.
    pub record_len: usize,
}

impl HeartbeatResponse {
    /// True when this answers the oversized request: it declares more
    /// payload than the control request carried.
    pub fn is_leak(&self) -> bool {
        usize::from(self.payload_length) > CONTROL_PAYLOAD.len()
    }

    /// Payload bytes actually present (at most the declared length).
    pub fn payload_present(&self) -> usize {
        usize::from(self.payload_length).min(self.record_len.saturating_sub(3))
    }

    /// The length of the whole message: header, declared payload and the
    /// 16 bytes of padding RFC 6520 requires.
    fn full_len(&self) -> usize {
        3 + usize::from(self.payload_length) + 16
    }
}

/// The first bytes of a record body: enough for a heartbeat header or an alert.
#[derive(Debug, Clone, Copy)]
struct Head {
    first: Option<u8>,
    second: Option<u8>,
    length: Option<u16>,
    record_len: usize,
}

impl Head {
    fn read(payload: &[u8]) -> Self {
        let mut r = Reader::new(payload);
        let first = r.u8();
        Head {
            first,
            second: payload.get(1).copied(),
            length: r.u16(),
            record_len: payload.len(),
        }
    }
}

/// Reads what the server sends after the heartbeat requests, keeping only
/// lengths. Never panics; stops at [`MAX_HEARTBEAT_READ`] bytes.
#[derive(Debug, Clone, Default)]
pub struct HeartbeatReader {
    pending: Vec<u8>,
    read: usize,
    /// Heartbeat responses, in order.
    pub responses: Vec<HeartbeatResponse>,
    /// The first alert the server sent, if any.
    pub alert: Option<(AlertLevel, AlertDescription)>,
    /// Records of other types (handshake, application data) seen.
    pub other_records: usize,
}

impl HeartbeatReader {
    /// A reader that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the next bytes. `Ok(true)` once an alert arrived or the byte
    /// cap is reached (stop reading); `Err` when the bytes are not TLS
    /// records.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<bool, Error> {
        let room = MAX_HEARTBEAT_READ.saturating_sub(self.read);
        let take = bytes.get(..room.min(bytes.len())).unwrap_or_default();
        self.read += take.len();
        self.pending.extend_from_slice(take);
        while let Some(header) = RecordHeader::parse(&self.pending) {
            if header.version >> 8 != 3 || usize::from(header.len) > MAX_RECORD_PAYLOAD {
                return Err(Error::Malformed {
                    what: "heartbeat answer: not a TLS record",
                });
            }
            let total = RECORD_HEADER_LEN + usize::from(header.len);
            let Some(payload) = self.pending.get(RECORD_HEADER_LEN..total) else {
                break;
            };
            // Only the first bytes matter; the payload itself is dropped unread.
            let head = Head::read(payload);
            self.pending.drain(..total);
            self.record(header.content_type, head);
        }
        Ok(self.alert.is_some() || self.read >= MAX_HEARTBEAT_READ)
    }

    fn record(&mut self, content_type: ContentType, head: Head) {
        match content_type {
            ContentType::HEARTBEAT => {
                // A long response may arrive split into several records
                // (OpenSSL fragments at 2^14 bytes): continue the last one.
                if let Some(last) = self.responses.last_mut()
                    && last.record_len < last.full_len()
                {
                    last.record_len += head.record_len;
                    return;
                }
                if let (Some(RESPONSE), Some(payload_length)) = (head.first, head.length) {
                    self.responses.push(HeartbeatResponse {
                        payload_length,
                        record_len: head.record_len,
                    });
                }
            }
            ContentType::ALERT if self.alert.is_none() => {
                if let (Some(level), Some(desc)) = (head.first, head.second) {
                    self.alert = Some((AlertLevel(level), AlertDescription(desc)));
                }
            }
            _ => self.other_records += 1,
        }
    }

    /// Bytes read so far.
    pub fn bytes_read(&self) -> usize {
        self.read
    }

    /// Payload bytes returned for the oversized request (0 when none).
    pub fn leaked_bytes(&self) -> usize {
        self.responses
            .iter()
            .filter(|r| r.is_leak())
            .map(HeartbeatResponse::payload_present)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::split_records;

    fn response(declared: u16, carried: usize) -> Vec<u8> {
        let mut body = vec![RESPONSE];
        body.extend_from_slice(&declared.to_be_bytes());
        body.extend(std::iter::repeat_n(0xaa, carried + 16));
        encode_records(ContentType::HEARTBEAT, 0x0302, &body)
    }

    #[test]
    fn requests_are_three_records() {
        let bytes = heartbleed_requests(0x0302);
        let records = split_records(&bytes).unwrap();
        assert_eq!(records.len(), 3);
        assert_eq!(records[0].0.content_type, ContentType::HEARTBEAT);
        assert_eq!(records[0].1, &[1, 0x40, 0x00]);
        assert_eq!(records[1].1.len(), 3 + 16 + 16);
        assert_eq!(&records[1].1[3..19], CONTROL_PAYLOAD);
        assert_eq!(records[2].0.content_type, ContentType::ALERT);
        assert!(records.iter().all(|(h, _)| h.version == 0x0302));
    }

    #[test]
    fn a_leak_is_counted_not_kept() {
        let mut bytes = response(0x4000, 0x4000);
        bytes.extend(response(16, 16));
        bytes.extend(encode_records(ContentType::ALERT, 0x0302, &[1, 0]));
        let mut reader = HeartbeatReader::new();
        let mut done = false;
        for chunk in bytes.chunks(1000) {
            done = reader.feed(chunk).unwrap();
        }
        assert!(done);
        assert_eq!(reader.responses.len(), 2);
        assert_eq!(reader.leaked_bytes(), 0x4000);
        assert!(!reader.responses[1].is_leak());
        // Nothing of the payload is retained.
        assert!(reader.pending.is_empty());
    }

    #[test]
    fn a_patched_server_answers_only_the_control_request() {
        let mut reader = HeartbeatReader::new();
        reader.feed(&response(16, 16)).unwrap();
        assert_eq!(reader.leaked_bytes(), 0);
        assert_eq!(reader.responses.len(), 1);
    }

    #[test]
    fn a_short_leak_counts_only_what_arrived() {
        // Declared 16384, but the record carries only 100 bytes.
        let mut body = vec![RESPONSE, 0x40, 0x00];
        body.extend([0u8; 100]);
        let mut reader = HeartbeatReader::new();
        reader
            .feed(&encode_records(ContentType::HEARTBEAT, 0x0303, &body))
            .unwrap();
        assert_eq!(reader.leaked_bytes(), 100);
    }

    #[test]
    fn every_truncation_and_garbage_is_safe() {
        let mut bytes = response(0x4000, 200);
        bytes.extend(encode_records(ContentType::ALERT, 0x0302, &[2, 10]));
        for cut in 0..=bytes.len() {
            let mut reader = HeartbeatReader::new();
            let _ = reader.feed(&bytes[..cut]);
            // 200 bytes of payload and 16 of padding were sent.
            assert!(reader.leaked_bytes() <= 216);
        }
        let mut reader = HeartbeatReader::new();
        assert!(reader.feed(b"220 mail ESMTP\r\n").is_err());
        let mut reader = HeartbeatReader::new();
        assert!(reader.feed(&[24, 3, 3, 0xff, 0xff]).is_err());
    }

    #[test]
    fn reading_stops_at_the_cap() {
        let mut reader = HeartbeatReader::new();
        let record = response(0x4000, 0x4000);
        let mut done = false;
        for _ in 0..10 {
            done = reader.feed(&record).unwrap();
            if done {
                break;
            }
        }
        assert!(done);
        assert!(reader.bytes_read() <= MAX_HEARTBEAT_READ);
    }
}
