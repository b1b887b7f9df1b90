//! A raw line of a server reply, kept verbatim as evidence.

use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One line a server sent, without its line terminator.
///
/// Evidence must never be lost or altered: a line that is valid UTF-8 is
/// serialized as a JSON string; any other line is serialized as
/// `{"base64": "..."}` holding the exact bytes.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Line(Vec<u8>);

impl Line {
    /// Wraps raw bytes; a trailing CR LF or LF is removed.
    pub fn new(mut bytes: Vec<u8>) -> Self {
        if bytes.last() == Some(&b'\n') {
            bytes.pop();
        }
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
        Line(bytes)
    }

    /// The exact bytes of the line.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// The line as text, with invalid UTF-8 replaced (for display and matching).
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.0)
    }
}

impl From<&str> for Line {
    fn from(s: &str) -> Self {
        Line::new(s.as_bytes().to_vec())
    }
}

impl std::fmt::Debug for Line {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.text())
    }
}

impl std::fmt::Display for Line {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Control characters are escaped so a hostile server cannot drive the terminal.
        for c in self.text().chars() {
            if c.is_control() {
                write!(f, "{}", c.escape_default())?;
            } else {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum LineRepr {
    Text(String),
    Binary { base64: String },
}

impl Serialize for Line {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(&self.0) {
            Ok(text) => LineRepr::Text(text.to_owned()).serialize(s),
            Err(_) => LineRepr::Binary {
                base64: base64::engine::general_purpose::STANDARD.encode(&self.0),
            }
            .serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Line {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match LineRepr::deserialize(d)? {
            LineRepr::Text(t) => Ok(Line(t.into_bytes())),
            LineRepr::Binary { base64 } => base64::engine::general_purpose::STANDARD
                .decode(base64)
                .map(Line)
                .map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_line_is_a_string_and_binary_is_base64() {
        let text = Line::new(b"220 mx ESMTP\r\n".to_vec());
        assert_eq!(serde_json::to_string(&text).unwrap(), r#""220 mx ESMTP""#);
        let bin = Line::new(vec![0xff, 0x00, b'a']);
        let json = serde_json::to_string(&bin).unwrap();
        assert_eq!(json, r#"{"base64":"/wBh"}"#);
        let back: Line = serde_json::from_str(&json).unwrap();
        assert_eq!(back, bin);
    }

    #[test]
    fn display_escapes_control_characters() {
        let l = Line::new(b"a\x1b[31mb".to_vec());
        assert_eq!(l.to_string(), "a\\u{1b}[31mb");
    }
}
