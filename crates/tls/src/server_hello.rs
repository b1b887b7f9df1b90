//! The ServerHello message (RFC 8446 §4.1.3, RFC 5246 §7.4.1.3) and the
//! extensions a server may answer with.
//!
//! ```text
//! struct {
//!     ProtocolVersion legacy_version;
//!     Random random;
//!     opaque legacy_session_id_echo<0..32>;
//!     CipherSuite cipher_suite;
//!     uint8 legacy_compression_method;
//!     Extension extensions<6..2^16-1>;   /* absent in SSL 3.0 / old TLS */
//! } ServerHello;
//! ```

use mailwarden_model::{CipherSuiteId, TlsVersion};

use crate::codec::Reader;
use crate::error::Error;
use crate::wire::{Extension, ExtensionType, NamedGroup, parse_extensions};

/// The random of a HelloRetryRequest: SHA-256("HelloRetryRequest")
/// (RFC 8446 §4.1.3).
pub const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// A parsed ServerHello (or HelloRetryRequest, which shares its syntax).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHello {
    /// The negotiated version: supported_versions when present, else
    /// `legacy_version` (RFC 8446 §4.2.1).
    pub version: TlsVersion,
    /// `legacy_version` (`server_version` before TLS 1.3) as sent.
    pub legacy_version: TlsVersion,
    /// The server random.
    pub random: [u8; 32],
    /// The session id (echo).
    pub session_id: Vec<u8>,
    /// The chosen cipher suite code point.
    pub cipher_suite: u16,
    /// The chosen compression method (0 = null, 1 = DEFLATE).
    pub compression_method: u8,
    /// The extensions as sent, in order. Empty when the block was absent.
    pub extensions: Vec<Extension>,
    /// The extensions this crate understands, parsed.
    pub parsed: ServerExtensions,
}

/// Extensions of a ServerHello, parsed. A malformed body leaves its field
/// unset and its type listed in `malformed`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerExtensions {
    /// supported_versions: the selected version (RFC 8446 §4.2.1).
    pub supported_version: Option<TlsVersion>,
    /// key_share: the server's group (RFC 8446 §4.2.8).
    pub key_share_group: Option<NamedGroup>,
    /// key_share: the server's public value (empty in a HelloRetryRequest).
    pub key_share: Option<Vec<u8>>,
    /// renegotiation_info: `renegotiated_connection` (empty on an initial
    /// handshake) when the server supports secure renegotiation (RFC 5746).
    pub renegotiation_info: Option<Vec<u8>>,
    /// extended_master_secret acknowledged (RFC 7627).
    pub extended_master_secret: bool,
    /// encrypt_then_mac acknowledged (RFC 7366).
    pub encrypt_then_mac: bool,
    /// session_ticket acknowledged: the server will send a ticket (RFC 5077).
    pub session_ticket: bool,
    /// status_request acknowledged: a CertificateStatus follows (RFC 6066 §8).
    pub status_request: bool,
    /// heartbeat mode (RFC 6520): 1 = peer_allowed_to_send, 2 = not.
    pub heartbeat: Option<u8>,
    /// The ALPN protocol selected (RFC 7301 §3.1).
    pub alpn: Option<Vec<u8>>,
    /// ec_point_formats (RFC 8422 §5.2).
    pub ec_point_formats: Option<Vec<u8>>,
    /// An empty server_name: the server used the name sent (RFC 6066 §3).
    pub server_name_ack: bool,
    /// A cookie in a HelloRetryRequest (RFC 8446 §4.2.2).
    pub cookie: Option<Vec<u8>>,
    /// Extensions whose body did not parse.
    pub malformed: Vec<ExtensionType>,
}

impl ServerHello {
    /// Parses a ServerHello body (after the 4-byte handshake header).
    pub fn parse(body: &[u8]) -> Result<Self, Error> {
        let bad = |what| Error::Malformed { what };
        let mut r = Reader::new(body);
        let legacy_version = TlsVersion(r.u16().ok_or(bad("ServerHello: truncated version"))?);
        let random: [u8; 32] = r
            .take(32)
            .and_then(|b| b.try_into().ok())
            .ok_or(bad("ServerHello: truncated random"))?;
        let session_id = r.vec_u8().ok_or(bad("ServerHello: truncated session id"))?;
        if session_id.len() > 32 {
            return Err(bad("ServerHello: session id longer than 32 bytes"));
        }
        let cipher_suite = r.u16().ok_or(bad("ServerHello: truncated cipher suite"))?;
        let compression_method = r
            .u8()
            .ok_or(bad("ServerHello: truncated compression method"))?;
        let extensions = if r.is_empty() {
            Vec::new()
        } else {
            let block = r
                .vec_u16()
                .ok_or(bad("ServerHello: truncated extensions"))?;
            if !r.is_empty() {
                return Err(bad("ServerHello: bytes after the extensions"));
            }
            parse_extensions(block).ok_or(bad("ServerHello: malformed extension list"))?
        };
        let parsed = ServerExtensions::parse(&extensions);
        Ok(Self {
            version: parsed.supported_version.unwrap_or(legacy_version),
            legacy_version,
            random,
            session_id: session_id.to_vec(),
            cipher_suite,
            compression_method,
            extensions,
            parsed,
        })
    }

    /// True for a HelloRetryRequest (RFC 8446 §4.1.4): the special random.
    pub fn is_hello_retry_request(&self) -> bool {
        self.random == HRR_RANDOM
    }

    /// The chosen suite with its IANA name when known.
    pub fn suite_id(&self) -> CipherSuiteId {
        crate::registry::suite_id(self.cipher_suite)
    }

    /// The downgrade sentinel of RFC 8446 §4.1.3 in the last 8 bytes of the
    /// random: `Some(TLS12)` for "DOWNGRD\x01" (a TLS 1.3 server answering
    /// with TLS 1.2), `Some(TLS11)` for "DOWNGRD\x00" (1.1 or below).
    pub fn downgrade_sentinel(&self) -> Option<TlsVersion> {
        match self.random.get(24..)? {
            b"DOWNGRD\x01" => Some(TlsVersion::TLS12),
            b"DOWNGRD\x00" => Some(TlsVersion::TLS11),
            _ => None,
        }
    }

    /// The first extension of `typ`, if sent.
    pub fn extension(&self, typ: ExtensionType) -> Option<&Extension> {
        self.extensions.iter().find(|e| e.typ == typ)
    }
}

impl ServerExtensions {
    fn parse(extensions: &[Extension]) -> Self {
        let mut out = Self::default();
        for ext in extensions {
            if out.apply(ext).is_none() {
                out.malformed.push(ext.typ);
            }
        }
        out
    }

    /// Records one extension; `None` when its body is malformed.
    fn apply(&mut self, ext: &Extension) -> Option<()> {
        let data = ext.data.as_slice();
        let mut r = Reader::new(data);
        match ext.typ {
            ExtensionType::SUPPORTED_VERSIONS => {
                self.supported_version = Some(TlsVersion(r.u16()?));
            }
            ExtensionType::KEY_SHARE => {
                self.key_share_group = Some(NamedGroup(r.u16()?));
                // A HelloRetryRequest carries only the group.
                self.key_share = Some(if r.is_empty() {
                    Vec::new()
                } else {
                    r.vec_u16()?.to_vec()
                });
            }
            ExtensionType::RENEGOTIATION_INFO => {
                self.renegotiation_info = Some(r.vec_u8()?.to_vec());
            }
            ExtensionType::EXTENDED_MASTER_SECRET => self.extended_master_secret = true,
            ExtensionType::ENCRYPT_THEN_MAC => self.encrypt_then_mac = true,
            ExtensionType::SESSION_TICKET => self.session_ticket = true,
            ExtensionType::STATUS_REQUEST => self.status_request = true,
            ExtensionType::SERVER_NAME => self.server_name_ack = true,
            ExtensionType::HEARTBEAT => self.heartbeat = Some(r.u8()?),
            ExtensionType::EC_POINT_FORMATS => {
                self.ec_point_formats = Some(r.vec_u8()?.to_vec());
            }
            ExtensionType::COOKIE => self.cookie = Some(r.vec_u16()?.to_vec()),
            ExtensionType::ALPN => {
                let mut list = Reader::new(r.vec_u16()?);
                self.alpn = Some(list.vec_u8()?.to_vec());
                if !list.is_empty() {
                    return None;
                }
            }
            _ => return Some(()),
        }
        r.is_empty().then_some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hello_body(exts: &[u8]) -> Vec<u8> {
        let mut b = vec![0x03, 0x03];
        b.extend_from_slice(&[0x11; 32]);
        b.extend_from_slice(&[0x00, 0xc0, 0x2f, 0x00]);
        b.extend_from_slice(exts);
        b
    }

    #[test]
    fn a_hello_without_extensions_parses() {
        let hello = ServerHello::parse(&hello_body(&[])).unwrap();
        assert_eq!(hello.version, TlsVersion::TLS12);
        assert_eq!(hello.cipher_suite, 0xc02f);
        assert!(hello.extensions.is_empty());
    }

    #[test]
    fn supported_versions_overrides_the_legacy_version() {
        let hello = ServerHello::parse(&hello_body(&[0, 6, 0, 43, 0, 2, 3, 4])).unwrap();
        assert_eq!(hello.version, TlsVersion::TLS13);
        assert_eq!(hello.legacy_version, TlsVersion::TLS12);
    }

    #[test]
    fn malformed_extension_bodies_are_listed_not_fatal() {
        // renegotiation_info claiming 5 bytes with 0 present; EMS fine.
        let hello =
            ServerHello::parse(&hello_body(&[0, 9, 0xff, 1, 0, 1, 5, 0, 23, 0, 0])).unwrap();
        assert_eq!(
            hello.parsed.malformed,
            vec![ExtensionType::RENEGOTIATION_INFO]
        );
        assert!(hello.parsed.extended_master_secret);
    }

    #[test]
    fn trailing_bytes_are_malformed() {
        assert!(ServerHello::parse(&hello_body(&[0, 0, 9])).is_err());
        assert!(ServerHello::parse(&hello_body(&[0, 4, 0])).is_err());
    }
}
