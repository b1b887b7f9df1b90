//! Decoding errors. Each says what was wrong with the peer's bytes; none is
//! ever a panic.

/// Why bytes from a peer could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The first byte is not a TLS content type (or the first record's
    /// version is not 3.x): the peer speaks something else, e.g. an HTTP or
    /// SMTP server answering in plain text, or an SSL 2.0-only server (whose
    /// records start with a byte with the high bit set; see
    /// [`crate::parse_sslv2_answer`]). `first_bytes` keeps up to 64 bytes of
    /// what it said, for evidence.
    NotTls {
        /// The first bytes received.
        first_bytes: Vec<u8>,
    },
    /// A length beyond what this crate buffers, e.g. a record claiming
    /// 0xffff bytes or a handshake message claiming 16 MiB.
    TooLarge {
        /// What carried the length.
        what: &'static str,
        /// The length claimed, or reached.
        len: usize,
        /// The cap.
        max: usize,
    },
    /// The bytes are TLS but do not follow the message syntax.
    Malformed {
        /// What was wrong, e.g. "ServerHello: truncated random".
        what: &'static str,
    },
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::NotTls { first_bytes } => {
                write!(
                    f,
                    "peer did not answer with TLS; it sent {:?}",
                    Printable(first_bytes)
                )
            }
            Error::TooLarge { what, len, max } => {
                write!(f, "{what} of {len} bytes exceeds the limit of {max} bytes")
            }
            Error::Malformed { what } => write!(f, "malformed TLS message: {what}"),
        }
    }
}

impl std::error::Error for Error {}

/// Shows bytes as text where printable, `\xNN` elsewhere.
struct Printable<'a>(&'a [u8]);

impl std::fmt::Debug for Printable<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"")?;
        for &b in self.0 {
            match b {
                b'\r' => f.write_str("\\r")?,
                b'\n' => f.write_str("\\n")?,
                b'"' => f.write_str("\\\"")?,
                0x20..=0x7e => write!(f, "{}", char::from(b))?,
                _ => write!(f, "\\x{b:02x}")?,
            }
        }
        f.write_str("\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_tls_shows_the_text() {
        let e = Error::NotTls {
            first_bytes: b"220 mx ESMTP\r\n\x01".to_vec(),
        };
        assert_eq!(
            e.to_string(),
            r#"peer did not answer with TLS; it sent "220 mx ESMTP\r\n\x01""#
        );
    }
}
