//! Reading a ClientHello back (RFC 8446 §4.1.2): for round-trip tests and
//! for the fake servers of the hostile-server tests.

use crate::codec::Reader;
use crate::error::Error;
use crate::hello::{ClientHelloSpec, EMPTY_RENEGOTIATION_INFO_SCSV, FALLBACK_SCSV, KeyShareEntry};
use crate::record::split_records;
use crate::wire::{
    ContentType, Extension, ExtensionType, HandshakeType, NamedGroup, SignatureScheme,
    parse_extensions,
};

/// A parsed ClientHello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHello {
    /// `legacy_record_version` of the first record.
    pub record_version: u16,
    /// `legacy_version`/`client_version`.
    pub client_version: u16,
    /// The random.
    pub random: [u8; 32],
    /// `legacy_session_id`.
    pub session_id: Vec<u8>,
    /// The suites, SCSVs included, in order.
    pub suites: Vec<u16>,
    /// The compression methods.
    pub compression_methods: Vec<u8>,
    /// The extensions as sent, in order.
    pub extensions: Vec<Extension>,
}

impl ClientHello {
    /// Parses one ClientHello from whole handshake records (it may span
    /// several). Bytes after the message are an error.
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        let records = split_records(bytes).ok_or(Error::Malformed {
            what: "ClientHello: truncated record",
        })?;
        let record_version = records.first().map(|(h, _)| h.version).unwrap_or_default();
        let mut message = Vec::new();
        for (header, payload) in records {
            if header.content_type != ContentType::HANDSHAKE {
                return Err(Error::Malformed {
                    what: "ClientHello: not a handshake record",
                });
            }
            message.extend_from_slice(payload);
        }
        let mut r = Reader::new(&message);
        if r.u8() != Some(HandshakeType::CLIENT_HELLO.0) {
            return Err(Error::Malformed {
                what: "ClientHello: wrong handshake type",
            });
        }
        let body = r.vec_u24().ok_or(Error::Malformed {
            what: "ClientHello: truncated message",
        })?;
        if !r.is_empty() {
            return Err(Error::Malformed {
                what: "ClientHello: bytes after the message",
            });
        }
        let mut hello = Self::parse_body(body)?;
        hello.record_version = record_version;
        Ok(hello)
    }

    /// Parses a ClientHello body (after the 4-byte handshake header);
    /// `record_version` is left 0.
    pub fn parse_body(body: &[u8]) -> Result<Self, Error> {
        let bad = |what| Error::Malformed { what };
        let mut r = Reader::new(body);
        let client_version = r.u16().ok_or(bad("ClientHello: truncated version"))?;
        let random: [u8; 32] = r
            .take(32)
            .and_then(|b| b.try_into().ok())
            .ok_or(bad("ClientHello: truncated random"))?;
        let session_id = r.vec_u8().ok_or(bad("ClientHello: truncated session id"))?;
        let suites = r
            .vec_u16()
            .and_then(Reader::u16_list)
            .ok_or(bad("ClientHello: bad cipher suite list"))?;
        let compression_methods = r
            .vec_u8()
            .ok_or(bad("ClientHello: bad compression methods"))?;
        let extensions = if r.is_empty() {
            Vec::new()
        } else {
            let block = r
                .vec_u16()
                .ok_or(bad("ClientHello: truncated extensions"))?;
            if !r.is_empty() {
                return Err(bad("ClientHello: bytes after the extensions"));
            }
            parse_extensions(block).ok_or(bad("ClientHello: malformed extension list"))?
        };
        Ok(Self {
            record_version: 0,
            client_version,
            random,
            session_id: session_id.to_vec(),
            suites,
            compression_methods: compression_methods.to_vec(),
            extensions,
        })
    }

    /// The body of the first extension of `typ`.
    pub fn extension(&self, typ: ExtensionType) -> Option<&[u8]> {
        self.extensions
            .iter()
            .find(|e| e.typ == typ)
            .map(|e| e.data.as_slice())
    }

    /// The host_name of server_name (RFC 6066 §3).
    pub fn server_name(&self) -> Option<String> {
        let mut r = Reader::new(self.extension(ExtensionType::SERVER_NAME)?);
        let mut list = Reader::new(r.vec_u16()?);
        while !list.is_empty() {
            let typ = list.u8()?;
            let name = list.vec_u16()?;
            if typ == 0 {
                return String::from_utf8(name.to_vec()).ok();
            }
        }
        None
    }

    /// supported_groups.
    pub fn groups(&self) -> Option<Vec<NamedGroup>> {
        let list = self.u16_list_extension(ExtensionType::SUPPORTED_GROUPS)?;
        Some(list.into_iter().map(NamedGroup).collect())
    }

    /// signature_algorithms.
    pub fn signature_algorithms(&self) -> Option<Vec<SignatureScheme>> {
        let list = self.u16_list_extension(ExtensionType::SIGNATURE_ALGORITHMS)?;
        Some(list.into_iter().map(SignatureScheme).collect())
    }

    /// supported_versions (RFC 8446 §4.2.1, the ClientHello form).
    pub fn supported_versions(&self) -> Option<Vec<u16>> {
        let mut r = Reader::new(self.extension(ExtensionType::SUPPORTED_VERSIONS)?);
        let list = Reader::u16_list(r.vec_u8()?)?;
        r.is_empty().then_some(list)
    }

    /// key_share entries (RFC 8446 §4.2.8, the ClientHello form).
    pub fn key_shares(&self) -> Option<Vec<KeyShareEntry>> {
        let mut r = Reader::new(self.extension(ExtensionType::KEY_SHARE)?);
        let mut list = Reader::new(r.vec_u16()?);
        let mut out = Vec::new();
        while !list.is_empty() {
            let group = NamedGroup(list.u16()?);
            let key_exchange = list.vec_u16()?.to_vec();
            out.push(KeyShareEntry {
                group,
                key_exchange,
            });
        }
        r.is_empty().then_some(out)
    }

    /// ALPN protocol names.
    pub fn alpn(&self) -> Option<Vec<Vec<u8>>> {
        let mut r = Reader::new(self.extension(ExtensionType::ALPN)?);
        let mut list = Reader::new(r.vec_u16()?);
        let mut out = Vec::new();
        while !list.is_empty() {
            out.push(list.vec_u8()?.to_vec());
        }
        Some(out)
    }

    fn u16_list_extension(&self, typ: ExtensionType) -> Option<Vec<u16>> {
        let mut r = Reader::new(self.extension(typ)?);
        let list = Reader::u16_list(r.vec_u16()?)?;
        r.is_empty().then_some(list)
    }

    /// The spec that encodes to this hello, as far as the spec can express
    /// it; extensions it has no field for land in `extra_extensions`.
    pub fn to_spec(&self) -> ClientHelloSpec {
        let has = |t| self.extension(t).is_some();
        let known = [
            ExtensionType::SERVER_NAME,
            ExtensionType::EC_POINT_FORMATS,
            ExtensionType::SUPPORTED_GROUPS,
            ExtensionType::SESSION_TICKET,
            ExtensionType::ENCRYPT_THEN_MAC,
            ExtensionType::EXTENDED_MASTER_SECRET,
            ExtensionType::SIGNATURE_ALGORITHMS,
            ExtensionType::STATUS_REQUEST,
            ExtensionType::ALPN,
            ExtensionType::HEARTBEAT,
            ExtensionType::SUPPORTED_VERSIONS,
            ExtensionType::KEY_SHARE,
            ExtensionType::RENEGOTIATION_INFO,
            ExtensionType::PADDING,
        ];
        let mut suites = self.suites.clone();
        let fallback_scsv = suites.last() == Some(&FALLBACK_SCSV);
        if fallback_scsv {
            suites.pop();
        }
        ClientHelloSpec {
            record_version: self.record_version,
            client_version: self.client_version,
            random: self.random,
            session_id: self.session_id.clone(),
            renegotiation_scsv: suites.contains(&EMPTY_RENEGOTIATION_INFO_SCSV),
            suites,
            fallback_scsv,
            compression_methods: self.compression_methods.clone(),
            server_name: self.server_name(),
            groups: self.groups().unwrap_or_default(),
            ec_point_formats: has(ExtensionType::EC_POINT_FORMATS),
            signature_algorithms: self.signature_algorithms().unwrap_or_default(),
            supported_versions: self.supported_versions(),
            key_shares: self.key_shares().unwrap_or_default(),
            alpn: self.alpn().unwrap_or_default(),
            renegotiation_info: has(ExtensionType::RENEGOTIATION_INFO),
            extended_master_secret: has(ExtensionType::EXTENDED_MASTER_SECRET),
            encrypt_then_mac: has(ExtensionType::ENCRYPT_THEN_MAC),
            session_ticket: has(ExtensionType::SESSION_TICKET),
            status_request: has(ExtensionType::STATUS_REQUEST),
            heartbeat: self
                .extension(ExtensionType::HEARTBEAT)
                .and_then(|d| d.first().copied()),
            extra_extensions: self
                .extensions
                .iter()
                .filter(|e| !known.contains(&e.typ))
                .cloned()
                .collect(),
            pad_to_512: has(ExtensionType::PADDING),
        }
    }
}

#[cfg(test)]
#[path = "client_hello_tests.rs"]
mod tests;
