//! An incremental reader of the server's first flight (RFC 5246 §7.3,
//! RFC 8446 §2): ServerHello, Certificate, ServerKeyExchange,
//! CertificateRequest, CertificateStatus, ServerHelloDone — or an alert, a
//! HelloRetryRequest, or a TLS 1.3 ServerHello after which everything is
//! encrypted.
//!
//! Records and handshake messages are reassembled across any chunking of
//! the input. Every buffered length is capped: a record may carry at most
//! [`MAX_RECORD_PAYLOAD`] bytes, a handshake message at most
//! [`MAX_HANDSHAKE_MESSAGE_LEN`], the whole flight at most [`MAX_FLIGHT_LEN`].

use mailwarden_model::{LegacyHello, TlsVersion};

use crate::codec::Reader;
use crate::error::Error;
use crate::record::{MAX_RECORD_PAYLOAD, RECORD_HEADER_LEN, RecordHeader, is_tls_content_type};
use crate::server_hello::ServerHello;
use crate::wire::{AlertDescription, AlertLevel, ContentType, HandshakeType};

/// Largest handshake message buffered (a long certificate chain fits).
pub const MAX_HANDSHAKE_MESSAGE_LEN: usize = 128 * 1024;
/// Largest first flight read, record headers included.
pub const MAX_FLIGHT_LEN: usize = 256 * 1024;
/// How many of the first bytes are kept as evidence.
pub const EVIDENCE_LEN: usize = 64;

/// A TLS alert (RFC 8446 §6, RFC 5246 §7.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Alert {
    /// The level.
    pub level: AlertLevel,
    /// The description.
    pub description: AlertDescription,
}

/// What the server sent in its first flight, as far as it was read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerFlight {
    /// The ServerHello (or HelloRetryRequest).
    pub server_hello: Option<ServerHello>,
    /// The DER certificates of a TLS 1.2-or-older Certificate message, leaf first.
    pub certificates: Option<Vec<Vec<u8>>>,
    /// The raw ServerKeyExchange body.
    pub server_key_exchange: Option<ServerKeyExchange>,
    /// A CertificateRequest was sent (the server asks for a client certificate).
    pub certificate_request: bool,
    /// The OCSP response of a CertificateStatus message (RFC 6066 §8).
    pub ocsp_response: Option<Vec<u8>>,
    /// ServerHelloDone was received.
    pub hello_done: bool,
    /// The alert that ended the flight.
    pub alert: Option<Alert>,
    /// Warning alerts the server sent and carried on after
    /// (unrecognized_name, no_renegotiation).
    pub warnings: Vec<Alert>,
    /// The ServerHello was a HelloRetryRequest (RFC 8446 §4.1.4).
    pub hello_retry_request: bool,
    /// The handshake message types received, in order.
    pub messages: Vec<HandshakeType>,
    /// Why the flight ended, once it has.
    pub end: Option<FlightEnd>,
}

/// The raw body of a ServerKeyExchange (RFC 5246 §7.4.3, RFC 8422 §5.4).
/// Its syntax depends on the key exchange of the chosen suite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerKeyExchange {
    /// The message body as sent.
    pub raw: Vec<u8>,
}

impl ServerKeyExchange {
    /// For ECDHE suites: the named curve of `ServerECDHParams`
    /// (curve_type named_curve(3), then the group).
    pub fn ecdhe_group(&self) -> Option<crate::NamedGroup> {
        let mut r = Reader::new(&self.raw);
        (r.u8()? == 3).then_some(())?;
        Some(crate::NamedGroup(r.u16()?))
    }

    /// For DHE suites: the size in bits of the prime `dh_p` of
    /// `ServerDHParams`, leading zero bytes not counted.
    pub fn dhe_prime_bits(&self) -> Option<usize> {
        let p = Reader::new(&self.raw).vec_u16()?;
        let skip = p.iter().take_while(|&&b| b == 0).count();
        let p = p.get(skip..)?;
        let first = *p.first()?;
        Some(p.len() * 8 - first.leading_zeros() as usize)
    }
}

/// Why a flight is complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlightEnd {
    /// ServerHelloDone: the TLS 1.2-or-older flight is whole.
    HelloDone,
    /// An alert (other than a tolerated warning).
    Alert,
    /// A TLS 1.3 ServerHello: what follows is encrypted.
    Tls13ServerHello,
    /// A HelloRetryRequest: the server wants another ClientHello.
    HelloRetryRequest,
    /// ChangeCipherSpec before ServerHelloDone (an abbreviated handshake):
    /// what follows is encrypted.
    ChangeCipherSpec,
}

/// What [`ServerFlightReader::feed`] made of the bytes so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// The flight is not complete: read more.
    NeedMore,
    /// The flight is complete; later bytes are ignored.
    Complete(FlightEnd),
}

/// Reassembles the server's first flight from bytes fed in any chunking.
///
/// ```
/// use mailwarden_tls::{Progress, ServerFlightReader};
/// let mut reader = ServerFlightReader::new();
/// // A fatal handshake_failure alert, fed in two pieces.
/// assert_eq!(reader.feed(&[21, 3, 3, 0]).unwrap(), Progress::NeedMore);
/// assert!(matches!(reader.feed(&[2, 2, 40]).unwrap(), Progress::Complete(_)));
/// assert_eq!(reader.flight().alert.unwrap().description.name(), Some("handshake_failure"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct ServerFlightReader {
    /// Input not yet consumed: less than one whole record.
    pending: Vec<u8>,
    /// Handshake bytes not yet forming a whole message.
    handshake: Vec<u8>,
    /// Alert bytes not yet forming a whole alert.
    alert: Vec<u8>,
    flight: ServerFlight,
    failed: Option<Error>,
    evidence: Vec<u8>,
    consumed: usize,
    seen_record: bool,
}

impl ServerFlightReader {
    /// A reader that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the next bytes from the server. After completion or an error
    /// the same outcome is returned again and the bytes are ignored.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Progress, Error> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        if let Some(end) = self.flight.end {
            return Ok(Progress::Complete(end));
        }
        let room = EVIDENCE_LEN.saturating_sub(self.evidence.len());
        self.evidence.extend(bytes.iter().take(room));
        // Never buffer more than the flight cap could use: a record header
        // past it is enough to report TooLarge.
        let limit =
            (MAX_FLIGHT_LEN + RECORD_HEADER_LEN).saturating_sub(self.consumed + self.pending.len());
        self.pending
            .extend_from_slice(bytes.get(..limit.min(bytes.len())).unwrap_or_default());
        let result = self.consume_records();
        if let Err(err) = &result {
            self.failed = Some(err.clone());
            self.pending = Vec::new();
        }
        result
    }

    /// What was read so far (all of it, once complete).
    pub fn flight(&self) -> &ServerFlight {
        &self.flight
    }

    /// The flight read so far, consuming the reader.
    pub fn into_flight(self) -> ServerFlight {
        self.flight
    }

    /// True once the flight is complete.
    pub fn is_complete(&self) -> bool {
        self.flight.end.is_some()
    }

    /// The first bytes received (up to [`EVIDENCE_LEN`]), for evidence.
    pub fn first_bytes(&self) -> &[u8] {
        &self.evidence
    }

    /// The first bytes received, when the reader failed with
    /// [`Error::NotTls`]: what the peer said instead of TLS.
    pub fn not_tls_prefix(&self) -> Option<&[u8]> {
        matches!(self.failed, Some(Error::NotTls { .. })).then_some(self.evidence.as_slice())
    }

    /// The error the reader failed with, if it did.
    pub fn error(&self) -> Option<&Error> {
        self.failed.as_ref()
    }

    /// How many bytes of complete records were consumed.
    pub fn bytes_consumed(&self) -> usize {
        self.consumed
    }

    fn consume_records(&mut self) -> Result<Progress, Error> {
        let mut offset = 0;
        let result = loop {
            if let Some(end) = self.flight.end {
                break Ok(Progress::Complete(end));
            }
            let input = self.pending.get(offset..).unwrap_or_default();
            if let Some(&first) = input.first()
                && !self.seen_record
                && !is_tls_content_type(first)
            {
                break Err(self.not_tls());
            }
            let Some(header) = RecordHeader::parse(input) else {
                break Ok(Progress::NeedMore);
            };
            if let Err(err) = self.check_header(&header) {
                break Err(err);
            }
            let total = RECORD_HEADER_LEN + usize::from(header.len);
            let Some(payload) = input.get(RECORD_HEADER_LEN..total) else {
                break Ok(Progress::NeedMore);
            };
            let payload = payload.to_vec();
            offset += total;
            self.consumed += total;
            self.seen_record = true;
            if let Err(err) = self.record(header.content_type, &payload) {
                break Err(err);
            }
        };
        self.pending.drain(..offset.min(self.pending.len()));
        result
    }

    fn check_header(&self, header: &RecordHeader) -> Result<(), Error> {
        if header.version >> 8 != 3 {
            if !self.seen_record {
                return Err(self.not_tls());
            }
            return Err(Error::Malformed {
                what: "record version is not 3.x",
            });
        }
        if !is_tls_content_type(header.content_type.0) {
            return Err(Error::Malformed {
                what: "unknown record content type",
            });
        }
        let len = usize::from(header.len);
        if len > MAX_RECORD_PAYLOAD {
            return Err(Error::TooLarge {
                what: "record",
                len,
                max: MAX_RECORD_PAYLOAD,
            });
        }
        let flight = self.consumed + RECORD_HEADER_LEN + len;
        if flight > MAX_FLIGHT_LEN {
            return Err(Error::TooLarge {
                what: "server flight",
                len: flight,
                max: MAX_FLIGHT_LEN,
            });
        }
        Ok(())
    }

    fn not_tls(&self) -> Error {
        Error::NotTls {
            first_bytes: self.evidence.clone(),
        }
    }

    fn record(&mut self, content_type: ContentType, payload: &[u8]) -> Result<(), Error> {
        match content_type {
            ContentType::HANDSHAKE => {
                self.handshake.extend_from_slice(payload);
                self.handshake_messages()
            }
            ContentType::ALERT => {
                self.alert.extend_from_slice(payload);
                self.alerts();
                Ok(())
            }
            ContentType::CHANGE_CIPHER_SPEC => {
                if self.flight.server_hello.is_none() {
                    return Err(Error::Malformed {
                        what: "ChangeCipherSpec before ServerHello",
                    });
                }
                self.flight.end = Some(FlightEnd::ChangeCipherSpec);
                Ok(())
            }
            ContentType::APPLICATION_DATA => Err(Error::Malformed {
                what: "application data before the handshake completed",
            }),
            // Heartbeat records (RFC 6520) carry nothing for the flight.
            _ => Ok(()),
        }
    }

    fn alerts(&mut self) {
        while self.flight.end.is_none() && self.alert.len() >= 2 {
            let level = AlertLevel(self.alert.first().copied().unwrap_or_default());
            let description = AlertDescription(self.alert.get(1).copied().unwrap_or_default());
            self.alert.drain(..2);
            let alert = Alert { level, description };
            let tolerated = level == AlertLevel::WARNING
                && matches!(
                    description,
                    AlertDescription::UNRECOGNIZED_NAME | AlertDescription::NO_RENEGOTIATION
                );
            if tolerated {
                self.flight.warnings.push(alert);
            } else {
                self.flight.alert = Some(alert);
                self.flight.end = Some(FlightEnd::Alert);
            }
        }
    }

    fn handshake_messages(&mut self) -> Result<(), Error> {
        let mut offset = 0;
        let result = loop {
            if self.flight.end.is_some() {
                break Ok(());
            }
            let mut r = Reader::new(self.handshake.get(offset..).unwrap_or_default());
            let (Some(typ), Some(len)) = (r.u8(), r.u24()) else {
                break Ok(());
            };
            let len = len as usize;
            if len > MAX_HANDSHAKE_MESSAGE_LEN {
                break Err(Error::TooLarge {
                    what: "handshake message",
                    len,
                    max: MAX_HANDSHAKE_MESSAGE_LEN,
                });
            }
            let Some(body) = r.take(len) else {
                break Ok(());
            };
            let body = body.to_vec();
            offset += 4 + len;
            if let Err(err) = self.handshake_message(HandshakeType(typ), &body) {
                break Err(err);
            }
        };
        self.handshake.drain(..offset.min(self.handshake.len()));
        result
    }

    fn handshake_message(&mut self, typ: HandshakeType, body: &[u8]) -> Result<(), Error> {
        if typ == HandshakeType::HELLO_REQUEST {
            return Ok(());
        }
        self.flight.messages.push(typ);
        if typ == HandshakeType::SERVER_HELLO {
            return self.server_hello(body);
        }
        if self.flight.server_hello.is_none() {
            return Err(Error::Malformed {
                what: "handshake message before ServerHello",
            });
        }
        match typ {
            HandshakeType::CERTIFICATE => {
                self.flight.certificates = Some(parse_certificate_list(body)?);
            }
            HandshakeType::SERVER_KEY_EXCHANGE => {
                self.flight.server_key_exchange = Some(ServerKeyExchange { raw: body.to_vec() });
            }
            HandshakeType::CERTIFICATE_REQUEST => self.flight.certificate_request = true,
            HandshakeType::CERTIFICATE_STATUS => {
                // CertificateStatus: status_type ocsp(1), then OCSPResponse<1..2^24-1>.
                let mut r = Reader::new(body);
                let response = (r.u8() == Some(1)).then(|| r.vec_u24()).flatten();
                self.flight.ocsp_response = Some(
                    response
                        .ok_or(Error::Malformed {
                            what: "CertificateStatus: not an OCSP response",
                        })?
                        .to_vec(),
                );
            }
            HandshakeType::SERVER_HELLO_DONE => {
                self.flight.hello_done = true;
                self.flight.end = Some(FlightEnd::HelloDone);
            }
            // Other types are listed in `messages` and otherwise ignored.
            _ => {}
        }
        Ok(())
    }

    fn server_hello(&mut self, body: &[u8]) -> Result<(), Error> {
        if self.flight.server_hello.is_some() {
            return Err(Error::Malformed {
                what: "a second ServerHello",
            });
        }
        let hello = ServerHello::parse(body)?;
        if hello.is_hello_retry_request() {
            self.flight.hello_retry_request = true;
            self.flight.end = Some(FlightEnd::HelloRetryRequest);
        } else if hello.version == TlsVersion::TLS13 {
            self.flight.end = Some(FlightEnd::Tls13ServerHello);
        }
        self.flight.server_hello = Some(hello);
        Ok(())
    }
}

/// Reads a TLS 1.2-or-older Certificate body: `ASN.1Cert
/// certificate_list<0..2^24-1>` (RFC 5246 §7.4.2).
fn parse_certificate_list(body: &[u8]) -> Result<Vec<Vec<u8>>, Error> {
    let bad = Error::Malformed {
        what: "Certificate: bad certificate list",
    };
    let mut r = Reader::new(body);
    let list = r.vec_u24().ok_or(bad.clone())?;
    if !r.is_empty() {
        return Err(bad);
    }
    let mut certs = Reader::new(list);
    let mut out = Vec::new();
    while !certs.is_empty() {
        out.push(certs.vec_u24().ok_or(bad.clone())?.to_vec());
    }
    Ok(out)
}

impl ServerFlight {
    /// The summary the observation model keeps for a legacy hello probe.
    /// `failure` is left unset: the caller knows about timeouts and resets.
    pub fn legacy_hello(&self) -> LegacyHello {
        LegacyHello {
            version: self.server_hello.as_ref().map(|h| h.version),
            cipher_suite: self.server_hello.as_ref().map(ServerHello::suite_id),
            alert: self.alert.map(|a| a.description.0),
            failure: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_banner_is_not_tls() {
        let mut reader = ServerFlightReader::new();
        let err = reader.feed(b"220 mx.example ESMTP\r\n").unwrap_err();
        assert!(matches!(&err, Error::NotTls { first_bytes } if first_bytes.starts_with(b"220 ")));
        // The outcome is sticky.
        assert_eq!(reader.feed(&[22]).unwrap_err(), err);
        assert_eq!(
            reader.not_tls_prefix(),
            Some(&b"220 mx.example ESMTP\r\n"[..])
        );
        assert_eq!(reader.error(), Some(&err));
    }

    #[test]
    fn bogus_record_length_is_too_large() {
        let mut reader = ServerFlightReader::new();
        let err = reader.feed(&[22, 3, 3, 0xff, 0xff]).unwrap_err();
        assert!(matches!(err, Error::TooLarge { what: "record", .. }));
    }

    #[test]
    fn huge_handshake_message_is_too_large() {
        let mut reader = ServerFlightReader::new();
        let err = reader
            .feed(&[22, 3, 3, 0, 4, 11, 0xff, 0xff, 0xff])
            .unwrap_err();
        assert!(matches!(
            err,
            Error::TooLarge {
                what: "handshake message",
                ..
            }
        ));
    }

    #[test]
    fn warning_unrecognized_name_does_not_end_the_flight() {
        let mut reader = ServerFlightReader::new();
        assert_eq!(
            reader.feed(&[21, 3, 1, 0, 2, 1, 112]).unwrap(),
            Progress::NeedMore
        );
        assert_eq!(reader.flight().warnings.len(), 1);
    }

    #[test]
    fn dhe_prime_bits_ignore_leading_zeros() {
        let ske = ServerKeyExchange {
            raw: vec![0, 3, 0, 0x01, 0xff, 0, 1, 2],
        };
        assert_eq!(ske.dhe_prime_bits(), Some(9));
        assert_eq!(
            ServerKeyExchange {
                raw: vec![3, 0, 0x17]
            }
            .ecdhe_group(),
            Some(crate::NamedGroup::SECP256R1)
        );
    }
}
