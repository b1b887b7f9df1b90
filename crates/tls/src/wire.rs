//! Wire enumerations as newtypes over the wire integer (the rustls way): an
//! unknown value survives a round trip and prints as hex.

macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        pub struct $name:ident($int:ty);
        $( $(#[$cmeta:meta])* $konst:ident = $val:expr => $text:expr, )*
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub $int);

        impl $name {
            $( $(#[$cmeta])* pub const $konst: $name = $name($val); )*

            /// The registered name, or `None` for a value this crate does not know.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( $val => Some($text), )*
                    _ => None,
                }
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match self.name() {
                    Some(n) => write!(f, "{}({})", stringify!($name), n),
                    None => write!(f, "{}(0x{:0w$x})", stringify!($name), self.0,
                        w = 2 * std::mem::size_of::<$int>()),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match self.name() {
                    Some(n) => f.write_str(n),
                    None => write!(f, "0x{:0w$x}", self.0, w = 2 * std::mem::size_of::<$int>()),
                }
            }
        }
    };
}

wire_enum! {
    /// The record-layer content type (RFC 8446 §5.1, RFC 6520 for heartbeat).
    pub struct ContentType(u8);
    /// change_cipher_spec(20).
    CHANGE_CIPHER_SPEC = 20 => "change_cipher_spec",
    /// alert(21).
    ALERT = 21 => "alert",
    /// handshake(22).
    HANDSHAKE = 22 => "handshake",
    /// application_data(23).
    APPLICATION_DATA = 23 => "application_data",
    /// heartbeat(24), RFC 6520.
    HEARTBEAT = 24 => "heartbeat",
}

wire_enum! {
    /// The handshake message type (RFC 8446 §4, RFC 5246 §7.4, RFC 6066 §8).
    pub struct HandshakeType(u8);
    /// hello_request(0), TLS 1.2 and older.
    HELLO_REQUEST = 0 => "hello_request",
    /// client_hello(1).
    CLIENT_HELLO = 1 => "client_hello",
    /// server_hello(2).
    SERVER_HELLO = 2 => "server_hello",
    /// new_session_ticket(4).
    NEW_SESSION_TICKET = 4 => "new_session_ticket",
    /// end_of_early_data(5).
    END_OF_EARLY_DATA = 5 => "end_of_early_data",
    /// encrypted_extensions(8).
    ENCRYPTED_EXTENSIONS = 8 => "encrypted_extensions",
    /// certificate(11).
    CERTIFICATE = 11 => "certificate",
    /// server_key_exchange(12), TLS 1.2 and older.
    SERVER_KEY_EXCHANGE = 12 => "server_key_exchange",
    /// certificate_request(13).
    CERTIFICATE_REQUEST = 13 => "certificate_request",
    /// server_hello_done(14), TLS 1.2 and older.
    SERVER_HELLO_DONE = 14 => "server_hello_done",
    /// certificate_verify(15).
    CERTIFICATE_VERIFY = 15 => "certificate_verify",
    /// client_key_exchange(16), TLS 1.2 and older.
    CLIENT_KEY_EXCHANGE = 16 => "client_key_exchange",
    /// finished(20).
    FINISHED = 20 => "finished",
    /// certificate_status(22), RFC 6066 §8 (OCSP stapling in TLS 1.2).
    CERTIFICATE_STATUS = 22 => "certificate_status",
    /// key_update(24).
    KEY_UPDATE = 24 => "key_update",
    /// message_hash(254), RFC 8446 §4.4.1.
    MESSAGE_HASH = 254 => "message_hash",
}

wire_enum! {
    /// A hello extension type (IANA "TLS ExtensionType Values").
    pub struct ExtensionType(u16);
    /// server_name(0), RFC 6066 §3.
    SERVER_NAME = 0 => "server_name",
    /// status_request(5), RFC 6066 §8.
    STATUS_REQUEST = 5 => "status_request",
    /// supported_groups(10), RFC 8422 §5.1.1 / RFC 7919.
    SUPPORTED_GROUPS = 10 => "supported_groups",
    /// ec_point_formats(11), RFC 8422 §5.1.2.
    EC_POINT_FORMATS = 11 => "ec_point_formats",
    /// signature_algorithms(13), RFC 8446 §4.2.3.
    SIGNATURE_ALGORITHMS = 13 => "signature_algorithms",
    /// heartbeat(15), RFC 6520.
    HEARTBEAT = 15 => "heartbeat",
    /// application_layer_protocol_negotiation(16), RFC 7301.
    ALPN = 16 => "application_layer_protocol_negotiation",
    /// signed_certificate_timestamp(18), RFC 6962.
    SIGNED_CERTIFICATE_TIMESTAMP = 18 => "signed_certificate_timestamp",
    /// padding(21), RFC 7685.
    PADDING = 21 => "padding",
    /// encrypt_then_mac(22), RFC 7366.
    ENCRYPT_THEN_MAC = 22 => "encrypt_then_mac",
    /// extended_master_secret(23), RFC 7627.
    EXTENDED_MASTER_SECRET = 23 => "extended_master_secret",
    /// session_ticket(35), RFC 5077.
    SESSION_TICKET = 35 => "session_ticket",
    /// pre_shared_key(41), RFC 8446 §4.2.11.
    PRE_SHARED_KEY = 41 => "pre_shared_key",
    /// early_data(42), RFC 8446 §4.2.10.
    EARLY_DATA = 42 => "early_data",
    /// supported_versions(43), RFC 8446 §4.2.1.
    SUPPORTED_VERSIONS = 43 => "supported_versions",
    /// cookie(44), RFC 8446 §4.2.2.
    COOKIE = 44 => "cookie",
    /// psk_key_exchange_modes(45), RFC 8446 §4.2.9.
    PSK_KEY_EXCHANGE_MODES = 45 => "psk_key_exchange_modes",
    /// signature_algorithms_cert(50), RFC 8446 §4.2.3.
    SIGNATURE_ALGORITHMS_CERT = 50 => "signature_algorithms_cert",
    /// key_share(51), RFC 8446 §4.2.8.
    KEY_SHARE = 51 => "key_share",
    /// renegotiation_info(65281), RFC 5746 §3.2.
    RENEGOTIATION_INFO = 0xff01 => "renegotiation_info",
}

wire_enum! {
    /// A key-exchange group (IANA "TLS Supported Groups", RFC 8446 §4.2.7).
    ///
    /// Only the groups the builders use have constants here; the full
    /// registry is [`crate::group`].
    pub struct NamedGroup(u16);
    /// secp256r1(23).
    SECP256R1 = 0x0017 => "secp256r1",
    /// secp384r1(24).
    SECP384R1 = 0x0018 => "secp384r1",
    /// secp521r1(25).
    SECP521R1 = 0x0019 => "secp521r1",
    /// x25519(29), RFC 7748.
    X25519 = 0x001d => "x25519",
    /// x448(30), RFC 7748.
    X448 = 0x001e => "x448",
    /// ffdhe2048(256), RFC 7919.
    FFDHE2048 = 0x0100 => "ffdhe2048",
    /// ffdhe3072(257), RFC 7919.
    FFDHE3072 = 0x0101 => "ffdhe3072",
    /// ffdhe4096(258), RFC 7919.
    FFDHE4096 = 0x0102 => "ffdhe4096",
    /// ffdhe6144(259), RFC 7919.
    FFDHE6144 = 0x0103 => "ffdhe6144",
    /// ffdhe8192(260), RFC 7919.
    FFDHE8192 = 0x0104 => "ffdhe8192",
    /// SecP256r1MLKEM768 (0x11EB), draft-ietf-tls-ecdhe-mlkem.
    SECP256R1_MLKEM768 = 0x11eb => "SecP256r1MLKEM768",
    /// X25519MLKEM768 (0x11EC), draft-ietf-tls-ecdhe-mlkem.
    X25519_MLKEM768 = 0x11ec => "X25519MLKEM768",
    /// SecP384r1MLKEM1024 (0x11ED), draft-ietf-tls-ecdhe-mlkem.
    SECP384R1_MLKEM1024 = 0x11ed => "SecP384r1MLKEM1024",
    /// X25519Kyber768Draft00 (0x6399), obsolete pre-standard hybrid.
    X25519_KYBER768_DRAFT00 = 0x6399 => "X25519Kyber768Draft00",
}

wire_enum! {
    /// A signature scheme (RFC 8446 §4.2.3; the TLS 1.2 hash/signature pairs
    /// of RFC 5246 §7.4.1.4.1 share this code space).
    pub struct SignatureScheme(u16);
    /// rsa_pkcs1_sha1 (TLS 1.2 sha1/rsa).
    RSA_PKCS1_SHA1 = 0x0201 => "rsa_pkcs1_sha1",
    /// dsa_sha1 (TLS 1.2 sha1/dsa).
    DSA_SHA1 = 0x0202 => "dsa_sha1",
    /// ecdsa_sha1 (TLS 1.2 sha1/ecdsa).
    ECDSA_SHA1 = 0x0203 => "ecdsa_sha1",
    /// sha224/rsa (TLS 1.2).
    RSA_PKCS1_SHA224 = 0x0301 => "rsa_pkcs1_sha224",
    /// sha224/ecdsa (TLS 1.2).
    ECDSA_SHA224 = 0x0303 => "ecdsa_sha224",
    /// rsa_pkcs1_sha256.
    RSA_PKCS1_SHA256 = 0x0401 => "rsa_pkcs1_sha256",
    /// dsa_sha256 (TLS 1.2).
    DSA_SHA256 = 0x0402 => "dsa_sha256",
    /// ecdsa_secp256r1_sha256.
    ECDSA_SECP256R1_SHA256 = 0x0403 => "ecdsa_secp256r1_sha256",
    /// rsa_pkcs1_sha384.
    RSA_PKCS1_SHA384 = 0x0501 => "rsa_pkcs1_sha384",
    /// ecdsa_secp384r1_sha384.
    ECDSA_SECP384R1_SHA384 = 0x0503 => "ecdsa_secp384r1_sha384",
    /// rsa_pkcs1_sha512.
    RSA_PKCS1_SHA512 = 0x0601 => "rsa_pkcs1_sha512",
    /// ecdsa_secp521r1_sha512.
    ECDSA_SECP521R1_SHA512 = 0x0603 => "ecdsa_secp521r1_sha512",
    /// rsa_pss_rsae_sha256.
    RSA_PSS_RSAE_SHA256 = 0x0804 => "rsa_pss_rsae_sha256",
    /// rsa_pss_rsae_sha384.
    RSA_PSS_RSAE_SHA384 = 0x0805 => "rsa_pss_rsae_sha384",
    /// rsa_pss_rsae_sha512.
    RSA_PSS_RSAE_SHA512 = 0x0806 => "rsa_pss_rsae_sha512",
    /// ed25519.
    ED25519 = 0x0807 => "ed25519",
    /// ed448.
    ED448 = 0x0808 => "ed448",
    /// rsa_pss_pss_sha256.
    RSA_PSS_PSS_SHA256 = 0x0809 => "rsa_pss_pss_sha256",
    /// rsa_pss_pss_sha384.
    RSA_PSS_PSS_SHA384 = 0x080a => "rsa_pss_pss_sha384",
    /// rsa_pss_pss_sha512.
    RSA_PSS_PSS_SHA512 = 0x080b => "rsa_pss_pss_sha512",
}

wire_enum! {
    /// Alert level (RFC 5246 §7.2; ignored by TLS 1.3 receivers, RFC 8446 §6).
    pub struct AlertLevel(u8);
    /// warning(1).
    WARNING = 1 => "warning",
    /// fatal(2).
    FATAL = 2 => "fatal",
}

wire_enum! {
    /// Alert description (RFC 8446 §6, plus the codes of SSL 3.0 and TLS
    /// 1.0–1.2 that TLS 1.3 retired, RFC 6066, RFC 7301, RFC 7507).
    pub struct AlertDescription(u8);
    /// close_notify(0).
    CLOSE_NOTIFY = 0 => "close_notify",
    /// unexpected_message(10).
    UNEXPECTED_MESSAGE = 10 => "unexpected_message",
    /// bad_record_mac(20).
    BAD_RECORD_MAC = 20 => "bad_record_mac",
    /// decryption_failed_RESERVED(21), TLS 1.0 only.
    DECRYPTION_FAILED = 21 => "decryption_failed",
    /// record_overflow(22).
    RECORD_OVERFLOW = 22 => "record_overflow",
    /// decompression_failure_RESERVED(30), SSL 3.0 to TLS 1.2.
    DECOMPRESSION_FAILURE = 30 => "decompression_failure",
    /// handshake_failure(40): no acceptable parameters (e.g. no common suite).
    HANDSHAKE_FAILURE = 40 => "handshake_failure",
    /// no_certificate_RESERVED(41), SSL 3.0 only.
    NO_CERTIFICATE = 41 => "no_certificate",
    /// bad_certificate(42).
    BAD_CERTIFICATE = 42 => "bad_certificate",
    /// unsupported_certificate(43).
    UNSUPPORTED_CERTIFICATE = 43 => "unsupported_certificate",
    /// certificate_revoked(44).
    CERTIFICATE_REVOKED = 44 => "certificate_revoked",
    /// certificate_expired(45).
    CERTIFICATE_EXPIRED = 45 => "certificate_expired",
    /// certificate_unknown(46).
    CERTIFICATE_UNKNOWN = 46 => "certificate_unknown",
    /// illegal_parameter(47).
    ILLEGAL_PARAMETER = 47 => "illegal_parameter",
    /// unknown_ca(48).
    UNKNOWN_CA = 48 => "unknown_ca",
    /// access_denied(49).
    ACCESS_DENIED = 49 => "access_denied",
    /// decode_error(50).
    DECODE_ERROR = 50 => "decode_error",
    /// decrypt_error(51).
    DECRYPT_ERROR = 51 => "decrypt_error",
    /// export_restriction_RESERVED(60), TLS 1.0 only.
    EXPORT_RESTRICTION = 60 => "export_restriction",
    /// protocol_version(70): the offered version is refused.
    PROTOCOL_VERSION = 70 => "protocol_version",
    /// insufficient_security(71): the offered parameters are too weak.
    INSUFFICIENT_SECURITY = 71 => "insufficient_security",
    /// internal_error(80).
    INTERNAL_ERROR = 80 => "internal_error",
    /// inappropriate_fallback(86), RFC 7507.
    INAPPROPRIATE_FALLBACK = 86 => "inappropriate_fallback",
    /// user_canceled(90).
    USER_CANCELED = 90 => "user_canceled",
    /// no_renegotiation_RESERVED(100), TLS 1.0 to 1.2.
    NO_RENEGOTIATION = 100 => "no_renegotiation",
    /// missing_extension(109).
    MISSING_EXTENSION = 109 => "missing_extension",
    /// unsupported_extension(110).
    UNSUPPORTED_EXTENSION = 110 => "unsupported_extension",
    /// certificate_unobtainable_RESERVED(111), RFC 6066.
    CERTIFICATE_UNOBTAINABLE = 111 => "certificate_unobtainable",
    /// unrecognized_name(112), RFC 6066 §3.
    UNRECOGNIZED_NAME = 112 => "unrecognized_name",
    /// bad_certificate_status_response(113), RFC 6066 §8.
    BAD_CERTIFICATE_STATUS_RESPONSE = 113 => "bad_certificate_status_response",
    /// bad_certificate_hash_value_RESERVED(114), RFC 6066.
    BAD_CERTIFICATE_HASH_VALUE = 114 => "bad_certificate_hash_value",
    /// unknown_psk_identity(115).
    UNKNOWN_PSK_IDENTITY = 115 => "unknown_psk_identity",
    /// certificate_required(116).
    CERTIFICATE_REQUIRED = 116 => "certificate_required",
    /// general_error(117), RFC 8446bis.
    GENERAL_ERROR = 117 => "general_error",
    /// no_application_protocol(120), RFC 7301.
    NO_APPLICATION_PROTOCOL = 120 => "no_application_protocol",
    /// ech_required(121), draft-ietf-tls-esni.
    ECH_REQUIRED = 121 => "ech_required",
}

/// One hello extension: its type and its body as sent (RFC 8446 §4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    /// The extension type.
    pub typ: ExtensionType,
    /// The extension body (`extension_data`), without type and length.
    pub data: Vec<u8>,
}

impl Extension {
    /// An extension of `typ` with body `data`.
    pub fn new(typ: ExtensionType, data: Vec<u8>) -> Self {
        Self { typ, data }
    }
}

/// Reads an extension block body (`Extension extensions<0..2^16-1>` without
/// its length prefix); `None` when it does not split exactly.
pub(crate) fn parse_extensions(bytes: &[u8]) -> Option<Vec<Extension>> {
    let mut r = crate::codec::Reader::new(bytes);
    let mut out = Vec::new();
    while !r.is_empty() {
        let typ = ExtensionType(r.u16()?);
        let data = r.vec_u16()?.to_vec();
        out.push(Extension { typ, data });
    }
    Some(out)
}

/// The name of a TLS alert description code (RFC 8446 §6 and the codes of
/// older versions), e.g. `alert_name(40) == Some("handshake_failure")`.
pub fn alert_name(code: u8) -> Option<&'static str> {
    AlertDescription(code).name()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_values_print_as_hex() {
        assert_eq!(ExtensionType(0x1234).to_string(), "0x1234");
        assert_eq!(format!("{:?}", ContentType(0x48)), "ContentType(0x48)");
        assert_eq!(format!("{:?}", ContentType::ALERT), "ContentType(alert)");
        assert_eq!(NamedGroup::X25519_MLKEM768.to_string(), "X25519MLKEM768");
    }

    #[test]
    fn alert_names() {
        assert_eq!(alert_name(40), Some("handshake_failure"));
        assert_eq!(alert_name(70), Some("protocol_version"));
        assert_eq!(alert_name(71), Some("insufficient_security"));
        assert_eq!(alert_name(86), Some("inappropriate_fallback"));
        assert_eq!(alert_name(112), Some("unrecognized_name"));
        assert_eq!(alert_name(0), Some("close_notify"));
        assert_eq!(alert_name(200), None);
    }
}
