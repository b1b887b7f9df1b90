//! ClientHello construction (RFC 8446 §4.1.2, RFC 5246 §7.4.1.2).
//!
//! [`ClientHelloSpec`] says what to offer; [`ClientHelloSpec::encode`] turns
//! it into the bytes of one or more handshake records. No cryptography is
//! involved: the random is supplied by the caller or derived from a seed, and
//! TLS 1.3 key shares are placeholders (see [`KeyShareEntry`]).

use mailwarden_model::TlsVersion;

use crate::codec::{put_u16, put_vec_u8, put_vec_u16, u16_list_bytes};
use crate::record::{encode_handshake, encode_records};
use crate::wire::{
    ContentType, Extension, ExtensionType, HandshakeType, NamedGroup, SignatureScheme,
};

/// TLS_EMPTY_RENEGOTIATION_INFO_SCSV (RFC 5746 §3.3).
pub const EMPTY_RENEGOTIATION_INFO_SCSV: u16 = 0x00ff;
/// TLS_FALLBACK_SCSV (RFC 7507 §2).
pub const FALLBACK_SCSV: u16 = 0x5600;

/// The suites of [`legacy_client_hello`], strongest first: ECDHE, DHE and
/// RSA key exchange with AES-GCM, ChaCha20-Poly1305, AES-CBC (SHA-1, SHA-256,
/// SHA-384), Camellia, 3DES and RC4, then the renegotiation SCSV.
pub const LEGACY_SUITES: &[u16] = &[
    // AEAD with forward secrecy.
    0xc02c,
    0xc030,
    0xc02b,
    0xc02f,
    0xcca9,
    0xcca8,
    0x009f,
    0x009e,
    0xccaa,
    // ECDHE and DHE with AES-CBC.
    0xc024,
    0xc028,
    0xc023,
    0xc027,
    0xc00a,
    0xc014,
    0xc009,
    0xc013,
    0x006b,
    0x0067,
    0x0039,
    0x0033,
    0x006a,
    0x0040,
    0x0038,
    0x0032,
    // RSA key exchange.
    0x009d,
    0x009c,
    0x003d,
    0x003c,
    0x0035,
    0x002f,
    // Camellia.
    0xc077,
    0xc076,
    0x0088,
    0x0045,
    0x0084,
    0x0041,
    // 3DES.
    0xc012,
    0xc008,
    0x0016,
    0x0013,
    0x000a,
    // RC4.
    0xc011,
    0xc007,
    0x0005,
    0x0004,
    EMPTY_RENEGOTIATION_INFO_SCSV,
];

/// The groups of [`legacy_client_hello`].
pub const LEGACY_GROUPS: &[NamedGroup] = &[
    NamedGroup::X25519,
    NamedGroup::SECP256R1,
    NamedGroup::SECP384R1,
    NamedGroup::SECP521R1,
    NamedGroup::FFDHE2048,
    NamedGroup::FFDHE3072,
    NamedGroup::FFDHE4096,
    NamedGroup::FFDHE6144,
    NamedGroup::FFDHE8192,
];

/// The signature algorithms of [`legacy_client_hello`]: ECDSA, RSA-PSS,
/// EdDSA, PKCS#1 v1.5 with SHA-2, then the SHA-1 and SHA-224 pairs and DSA
/// that old servers need. OpenSSL 3 refuses a TLS 1.2 hello without this
/// extension.
pub const LEGACY_SIGNATURE_ALGORITHMS: &[SignatureScheme] = &[
    SignatureScheme::ECDSA_SECP256R1_SHA256,
    SignatureScheme::ECDSA_SECP384R1_SHA384,
    SignatureScheme::ECDSA_SECP521R1_SHA512,
    SignatureScheme::ED25519,
    SignatureScheme::ED448,
    SignatureScheme::RSA_PSS_RSAE_SHA256,
    SignatureScheme::RSA_PSS_RSAE_SHA384,
    SignatureScheme::RSA_PSS_RSAE_SHA512,
    SignatureScheme::RSA_PSS_PSS_SHA256,
    SignatureScheme::RSA_PSS_PSS_SHA384,
    SignatureScheme::RSA_PSS_PSS_SHA512,
    SignatureScheme::RSA_PKCS1_SHA256,
    SignatureScheme::RSA_PKCS1_SHA384,
    SignatureScheme::RSA_PKCS1_SHA512,
    SignatureScheme::ECDSA_SHA224,
    SignatureScheme::RSA_PKCS1_SHA224,
    SignatureScheme::DSA_SHA256,
    SignatureScheme::ECDSA_SHA1,
    SignatureScheme::RSA_PKCS1_SHA1,
    SignatureScheme::DSA_SHA1,
];

/// The ClientHello of a legacy client: record version TLS 1.0, client
/// version TLS 1.2 (so the server answers with its best version up to 1.2),
/// the broad [`LEGACY_SUITES`] list and no TLS 1.3 offer.
///
/// `server_name` goes into the server_name extension when it is a DNS name;
/// IP literals are never sent (RFC 6066 §3). Both the renegotiation SCSV and
/// an empty renegotiation_info extension are sent: RFC 5746 §3.4 calls that
/// "NOT RECOMMENDED" but servers accept it, and the SCSV still signals
/// secure renegotiation to servers that drop unknown extensions. The random is derived
/// deterministically from the name; use
/// [`legacy_client_hello_with_random`] to supply one.
pub fn legacy_client_hello(server_name: Option<&str>) -> Vec<u8> {
    ClientHelloSpec::legacy(server_name).encode()
}

/// [`legacy_client_hello`] with a caller-provided random.
pub fn legacy_client_hello_with_random(server_name: Option<&str>, random: [u8; 32]) -> Vec<u8> {
    let mut spec = ClientHelloSpec::legacy(server_name);
    spec.random = random;
    spec.encode()
}

/// One entry of the key_share extension (RFC 8446 §4.2.8).
///
/// No key is generated here: the bytes are a syntactically valid public value
/// that nobody holds the private key for usefully. For X25519 any 32 bytes
/// pass ([`KeyShareEntry::x25519`] uses the base point). For the NIST curves
/// [`KeyShareEntry::secp256r1`] and [`KeyShareEntry::secp384r1`] send the
/// curve's generator as an uncompressed point, which is on the curve and so
/// passes a server's point validation; arbitrary bytes would be rejected with
/// illegal_parameter. A probe should offer an X25519 share and let the server
/// ask for other groups with a HelloRetryRequest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyShareEntry {
    /// The group.
    pub group: NamedGroup,
    /// The public value (`key_exchange`).
    pub key_exchange: Vec<u8>,
}

impl KeyShareEntry {
    /// An X25519 share with the given 32 bytes.
    pub fn x25519(public: [u8; 32]) -> Self {
        Self {
            group: NamedGroup::X25519,
            key_exchange: public.to_vec(),
        }
    }

    /// An X25519 share holding the base point u = 9 (RFC 7748 §4.1).
    pub fn x25519_placeholder() -> Self {
        let mut u = [0u8; 32];
        u[0] = 9;
        Self::x25519(u)
    }

    /// A secp256r1 share holding the curve generator, 0x04 || X || Y (SEC 1 §2.3.3).
    pub fn secp256r1() -> Self {
        let mut key = vec![0x04];
        key.extend_from_slice(&P256_GX);
        key.extend_from_slice(&P256_GY);
        Self {
            group: NamedGroup::SECP256R1,
            key_exchange: key,
        }
    }

    /// A secp384r1 share holding the curve generator, 0x04 || X || Y.
    pub fn secp384r1() -> Self {
        let mut key = vec![0x04];
        key.extend_from_slice(&P384_GX);
        key.extend_from_slice(&P384_GY);
        Self {
            group: NamedGroup::SECP384R1,
            key_exchange: key,
        }
    }
}

const P256_GX: [u8; 32] =
    hex32(b"6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296");
const P256_GY: [u8; 32] =
    hex32(b"4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5");
const P384_GX: [u8; 48] = hex48(
    b"aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab7",
);
const P384_GY: [u8; 48] = hex48(
    b"3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5f",
);

const fn hex_nibble(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => panic!("not lowercase hex"),
    }
}

const fn hex32(s: &[u8; 64]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = hex_nibble(s[2 * i]) << 4 | hex_nibble(s[2 * i + 1]);
        i += 1;
    }
    out
}

const fn hex48(s: &[u8; 96]) -> [u8; 48] {
    let mut out = [0u8; 48];
    let mut i = 0;
    while i < 48 {
        out[i] = hex_nibble(s[2 * i]) << 4 | hex_nibble(s[2 * i + 1]);
        i += 1;
    }
    out
}

/// Everything a ClientHello offers. Build one with [`ClientHelloSpec::legacy`]
/// or [`ClientHelloSpec::tls13`] and adjust the fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHelloSpec {
    /// `legacy_record_version` of the record header (RFC 8446 §5.1).
    pub record_version: u16,
    /// `legacy_version`/`client_version` of the hello (RFC 8446 §4.1.2).
    pub client_version: u16,
    /// The 32 random bytes.
    pub random: [u8; 32],
    /// `legacy_session_id`, at most 32 bytes (longer is cut).
    pub session_id: Vec<u8>,
    /// Cipher suite code points, in order of preference.
    pub suites: Vec<u16>,
    /// Append TLS_EMPTY_RENEGOTIATION_INFO_SCSV when not already listed.
    pub renegotiation_scsv: bool,
    /// Append TLS_FALLBACK_SCSV (RFC 7507) when not already listed.
    pub fallback_scsv: bool,
    /// Compression methods; `[0]` (null) unless probing for compression.
    pub compression_methods: Vec<u8>,
    /// The DNS name for server_name (RFC 6066 §3); set through
    /// [`sni_host_name`] so that IP literals are never sent.
    pub server_name: Option<String>,
    /// supported_groups; omitted when empty.
    pub groups: Vec<NamedGroup>,
    /// Send ec_point_formats with `uncompressed` only (RFC 8422 §5.1.2).
    pub ec_point_formats: bool,
    /// signature_algorithms; omitted when empty.
    pub signature_algorithms: Vec<SignatureScheme>,
    /// supported_versions (RFC 8446 §4.2.1); omitted when `None`.
    pub supported_versions: Option<Vec<u16>>,
    /// key_share entries (RFC 8446 §4.2.8); sent when `supported_versions`
    /// is present, even if empty (asking the server for an HRR).
    pub key_shares: Vec<KeyShareEntry>,
    /// ALPN protocol names (RFC 7301); omitted when empty.
    pub alpn: Vec<Vec<u8>>,
    /// renegotiation_info with an empty `renegotiated_connection` (RFC 5746).
    pub renegotiation_info: bool,
    /// extended_master_secret (RFC 7627).
    pub extended_master_secret: bool,
    /// encrypt_then_mac (RFC 7366).
    pub encrypt_then_mac: bool,
    /// An empty session_ticket (RFC 5077 §3.2).
    pub session_ticket: bool,
    /// status_request for OCSP (RFC 6066 §8).
    pub status_request: bool,
    /// heartbeat with this mode (RFC 6520 §2: 1 = peer_allowed_to_send).
    pub heartbeat: Option<u8>,
    /// Further extensions, sent as given before the padding.
    pub extra_extensions: Vec<Extension>,
    /// Pad the hello to 512 bytes when it would be 256..=511 bytes long
    /// (RFC 7685 §4: some servers hang on hellos of that size).
    pub pad_to_512: bool,
}

impl ClientHelloSpec {
    /// The spec of [`legacy_client_hello`].
    pub fn legacy(server_name: Option<&str>) -> Self {
        let server_name = server_name.and_then(sni_host_name);
        let random = derive_random(server_name.as_deref().unwrap_or("").as_bytes());
        Self {
            record_version: TlsVersion::TLS10.0,
            client_version: TlsVersion::TLS12.0,
            random,
            session_id: Vec::new(),
            suites: LEGACY_SUITES.to_vec(),
            renegotiation_scsv: false,
            fallback_scsv: false,
            compression_methods: vec![0],
            server_name,
            groups: LEGACY_GROUPS.to_vec(),
            ec_point_formats: true,
            signature_algorithms: LEGACY_SIGNATURE_ALGORITHMS.to_vec(),
            supported_versions: None,
            key_shares: Vec::new(),
            alpn: Vec::new(),
            renegotiation_info: true,
            extended_master_secret: true,
            encrypt_then_mac: false,
            session_ticket: true,
            status_request: false,
            heartbeat: None,
            extra_extensions: Vec::new(),
            pad_to_512: true,
        }
    }

    /// A TLS 1.3-only hello offering the three common TLS 1.3 suites, an
    /// X25519 placeholder key share and a 32-byte session id (middlebox
    /// compatibility, RFC 8446 §D.4).
    pub fn tls13(server_name: Option<&str>) -> Self {
        let mut spec = Self::legacy(server_name);
        spec.record_version = TlsVersion::TLS10.0;
        spec.client_version = TlsVersion::TLS12.0;
        spec.session_id = derive_random(&spec.random).to_vec();
        spec.suites = vec![0x1301, 0x1302, 0x1303];
        spec.groups = vec![
            NamedGroup::X25519,
            NamedGroup::SECP256R1,
            NamedGroup::SECP384R1,
            NamedGroup::SECP521R1,
            NamedGroup::X448,
            NamedGroup::FFDHE2048,
            NamedGroup::FFDHE3072,
        ];
        spec.ec_point_formats = false;
        spec.supported_versions = Some(vec![TlsVersion::TLS13.0]);
        spec.key_shares = vec![KeyShareEntry::x25519_placeholder()];
        spec.renegotiation_info = false;
        spec.extended_master_secret = false;
        spec.session_ticket = false;
        spec.extra_extensions = vec![Extension::new(
            ExtensionType::PSK_KEY_EXCHANGE_MODES,
            vec![1, 1], // psk_dhe_ke
        )];
        spec
    }

    /// The bytes to send: the ClientHello handshake message in records of
    /// `record_version`.
    pub fn encode(&self) -> Vec<u8> {
        encode_records(
            ContentType::HANDSHAKE,
            self.record_version,
            &self.handshake_message(),
        )
    }

    /// The ClientHello handshake message (type, length, body), unframed.
    pub fn handshake_message(&self) -> Vec<u8> {
        let mut extensions = self.extensions();
        let unpadded = encode_handshake(HandshakeType::CLIENT_HELLO, &self.body(&extensions));
        if let Some(padding) = self.padding_len(unpadded.len(), !extensions.is_empty()) {
            extensions.push(Extension::new(ExtensionType::PADDING, vec![0; padding]));
            return encode_handshake(HandshakeType::CLIENT_HELLO, &self.body(&extensions));
        }
        unpadded
    }

    /// All suites as sent, SCSVs included.
    pub fn offered_suites(&self) -> Vec<u16> {
        let mut suites = self.suites.clone();
        if self.renegotiation_scsv && !suites.contains(&EMPTY_RENEGOTIATION_INFO_SCSV) {
            suites.push(EMPTY_RENEGOTIATION_INFO_SCSV);
        }
        if self.fallback_scsv && !suites.contains(&FALLBACK_SCSV) {
            suites.push(FALLBACK_SCSV);
        }
        suites
    }

    /// BoringSSL's rule: pad a 256..=511-byte message to 512, with at least
    /// one byte of padding body.
    fn padding_len(&self, message_len: usize, has_extensions: bool) -> Option<usize> {
        if !self.pad_to_512 || !has_extensions || !(256..512).contains(&message_len) {
            return None;
        }
        Some((512 - message_len).saturating_sub(4).max(1))
    }

    fn body(&self, extensions: &[Extension]) -> Vec<u8> {
        let mut body = Vec::with_capacity(512);
        put_u16(&mut body, self.client_version);
        body.extend_from_slice(&self.random);
        put_vec_u8(&mut body, &self.session_id[..self.session_id.len().min(32)]);
        put_vec_u16(&mut body, &u16_list_bytes(&self.offered_suites()));
        put_vec_u8(&mut body, &self.compression_methods);
        if !extensions.is_empty() {
            let mut block = Vec::new();
            for ext in extensions {
                put_u16(&mut block, ext.typ.0);
                put_vec_u16(&mut block, &ext.data);
            }
            put_vec_u16(&mut body, &block);
        }
        body
    }

    fn extensions(&self) -> Vec<Extension> {
        let mut exts = Vec::new();
        let mut push = |typ: ExtensionType, data: Vec<u8>| exts.push(Extension::new(typ, data));
        if let Some(name) = &self.server_name {
            // ServerNameList with one host_name(0) entry.
            let mut entry = vec![0];
            put_vec_u16(&mut entry, name.as_bytes());
            let mut list = Vec::new();
            put_vec_u16(&mut list, &entry);
            push(ExtensionType::SERVER_NAME, list);
        }
        if self.ec_point_formats {
            push(ExtensionType::EC_POINT_FORMATS, vec![1, 0]);
        }
        if !self.groups.is_empty() {
            let codes: Vec<u16> = self.groups.iter().map(|g| g.0).collect();
            push(
                ExtensionType::SUPPORTED_GROUPS,
                prefixed16(&u16_list_bytes(&codes)),
            );
        }
        if self.session_ticket {
            push(ExtensionType::SESSION_TICKET, Vec::new());
        }
        if self.encrypt_then_mac {
            push(ExtensionType::ENCRYPT_THEN_MAC, Vec::new());
        }
        if self.extended_master_secret {
            push(ExtensionType::EXTENDED_MASTER_SECRET, Vec::new());
        }
        if !self.signature_algorithms.is_empty() {
            let codes: Vec<u16> = self.signature_algorithms.iter().map(|s| s.0).collect();
            push(
                ExtensionType::SIGNATURE_ALGORITHMS,
                prefixed16(&u16_list_bytes(&codes)),
            );
        }
        if self.status_request {
            // status_type ocsp(1), empty responder_id_list and request_extensions.
            push(ExtensionType::STATUS_REQUEST, vec![1, 0, 0, 0, 0]);
        }
        if !self.alpn.is_empty() {
            let mut list = Vec::new();
            for proto in &self.alpn {
                put_vec_u8(&mut list, proto);
            }
            push(ExtensionType::ALPN, prefixed16(&list));
        }
        if let Some(mode) = self.heartbeat {
            push(ExtensionType::HEARTBEAT, vec![mode]);
        }
        if let Some(versions) = &self.supported_versions {
            let mut body = Vec::new();
            put_vec_u8(&mut body, &u16_list_bytes(versions));
            push(ExtensionType::SUPPORTED_VERSIONS, body);
            let mut shares = Vec::new();
            for share in &self.key_shares {
                put_u16(&mut shares, share.group.0);
                put_vec_u16(&mut shares, &share.key_exchange);
            }
            push(ExtensionType::KEY_SHARE, prefixed16(&shares));
        }
        if self.renegotiation_info {
            push(ExtensionType::RENEGOTIATION_INFO, vec![0]);
        }
        exts.extend(self.extra_extensions.iter().cloned());
        exts
    }
}

fn prefixed16(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 2);
    put_vec_u16(&mut out, body);
    out
}

/// The name to put in server_name, or `None` when `name` must not be sent:
/// IP literals (RFC 6066 §3: "Literal IPv4 and IPv6 addresses are not
/// permitted"), empty names and names that are not ASCII host names. A
/// trailing dot is removed and the name lowercased.
pub fn sni_host_name(name: &str) -> Option<String> {
    let bare = name.trim_start_matches('[').trim_end_matches(']');
    if bare.parse::<std::net::IpAddr>().is_ok() {
        return None;
    }
    let name = name.strip_suffix('.').unwrap_or(name);
    let ok = !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_');
    if !ok || name.split('.').any(str::is_empty) {
        return None;
    }
    Some(name.to_ascii_lowercase())
}

/// 32 bytes derived from `seed` (FNV-1a, then SplitMix64). Not random and
/// not secret: a hello probe needs neither, and deterministic output keeps
/// captures reproducible.
pub fn derive_random(seed: &[u8]) -> [u8; 32] {
    let mut state = seed.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    let mut out = [0u8; 32];
    for chunk in out.chunks_exact_mut(8) {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        chunk.copy_from_slice(&z.to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sni_refuses_ip_literals() {
        assert_eq!(sni_host_name("127.0.0.1"), None);
        assert_eq!(sni_host_name("::1"), None);
        assert_eq!(sni_host_name("[2001:db8::1]"), None);
        assert_eq!(sni_host_name(""), None);
        assert_eq!(sni_host_name("a..b"), None);
        assert_eq!(sni_host_name("mx b.example"), None);
        assert_eq!(
            sni_host_name("MX.Example.org."),
            Some("mx.example.org".into())
        );
    }

    #[test]
    fn legacy_hello_is_padded_out_of_the_f5_range() {
        let bytes = legacy_client_hello(Some("mx.example.org"));
        let len = bytes.len() - crate::record::RECORD_HEADER_LEN;
        assert!(!(256..512).contains(&len), "hello of {len} bytes");
        assert_eq!(&bytes[..3], &[22, 3, 1]);
        assert_eq!(&bytes[9..11], &[3, 3]);
    }

    #[test]
    fn derived_random_depends_on_the_seed() {
        assert_ne!(derive_random(b"a"), derive_random(b"b"));
        assert_eq!(derive_random(b"a"), derive_random(b"a"));
    }

    #[test]
    fn generator_points_are_uncompressed() {
        assert_eq!(KeyShareEntry::secp256r1().key_exchange.len(), 65);
        assert_eq!(KeyShareEntry::secp384r1().key_exchange.len(), 97);
        assert_eq!(KeyShareEntry::secp256r1().key_exchange[1], 0x6b);
    }
}
