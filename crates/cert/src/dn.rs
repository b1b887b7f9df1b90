//! Distinguished names as RFC 4514 strings.
//!
//! * RDNs in reverse order of the encoding (most specific first: `CN=mx,O=Acme,C=DE`), joined by
//!   `,` without spaces; the attributes of a multi-valued RDN joined by `+`, also in reverse
//!   order of the encoding (RFC 4514 allows any order; this is OpenSSL's).
//! * Attribute types by the short names of RFC 4514 §3 (CN, L, ST, O, OU, C, STREET, DC, UID),
//!   plus the names OpenSSL prints for a few other common ones (emailAddress, serialNumber, SN,
//!   GN, title, ...); any other type as its dotted OID.
//! * String values (UTF8String, PrintableString, IA5String, TeletexString read as Latin-1,
//!   BMPString, UniversalString) as UTF-8 with the escapes of RFC 4514 §2.4 (control
//!   characters as `\XX`). A value of a dotted-OID type, of a non-string type, or that does not
//!   decode, as `#` and the hex of its DER encoding (RFC 4514 §2.4).
//!
//! For ASCII names this is what `openssl x509 -nameopt RFC2253` prints.

use std::fmt::Write;

use x509_parser::asn1_rs::{Any, Class, Tag};
use x509_parser::x509::X509Name;

/// Formats a name as an RFC 4514 string.
pub(crate) fn rfc4514(name: &X509Name<'_>) -> String {
    let rdns: Vec<String> = name
        .iter()
        .map(|rdn| {
            let mut members: Vec<String> = rdn
                .iter()
                .map(|atv| {
                    let oid = atv.attr_type().to_id_string();
                    match short_name(&oid) {
                        Some(short) => format!("{short}={}", value(atv.attr_value())),
                        None => format!("{oid}={}", hex_value(atv.attr_value())),
                    }
                })
                .collect();
            members.reverse();
            members.join("+")
        })
        .collect();
    let mut out = String::new();
    for (i, rdn) in rdns.iter().rev().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(rdn);
    }
    out
}

fn short_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        // RFC 4514 §3.
        "2.5.4.3" => "CN",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.6" => "C",
        "2.5.4.9" => "STREET",
        "0.9.2342.19200300.100.1.25" => "DC",
        "0.9.2342.19200300.100.1.1" => "UID",
        // Names OpenSSL uses for other common attributes.
        "2.5.4.4" => "SN",
        "2.5.4.5" => "serialNumber",
        "2.5.4.12" => "title",
        "2.5.4.15" => "businessCategory",
        "2.5.4.17" => "postalCode",
        "2.5.4.42" => "GN",
        "2.5.4.43" => "initials",
        "2.5.4.44" => "generationQualifier",
        "2.5.4.46" => "dnQualifier",
        "2.5.4.65" => "pseudonym",
        "2.5.4.97" => "organizationIdentifier",
        "1.2.840.113549.1.9.1" => "emailAddress",
        "1.3.6.1.4.1.311.60.2.1.1" => "jurisdictionL",
        "1.3.6.1.4.1.311.60.2.1.2" => "jurisdictionST",
        "1.3.6.1.4.1.311.60.2.1.3" => "jurisdictionC",
        _ => return None,
    })
}

fn value(any: &Any<'_>) -> String {
    match decode_string(any) {
        Some(text) => escape(&text),
        None => hex_value(any),
    }
}

/// Decodes the directory string types; `None` for any other type or an invalid encoding.
fn decode_string(any: &Any<'_>) -> Option<String> {
    if any.header.class() != Class::Universal || any.header.is_constructed() {
        return None;
    }
    let data = any.data;
    match any.header.tag() {
        Tag::Utf8String | Tag::PrintableString | Tag::Ia5String | Tag::VisibleString => {
            std::str::from_utf8(data).ok().map(str::to_owned)
        }
        // T.61 in theory, Latin-1 in practice.
        Tag::TeletexString => Some(data.iter().map(|&b| char::from(b)).collect()),
        Tag::BmpString => {
            let (units, []) = data.as_chunks::<2>() else {
                return None;
            };
            char::decode_utf16(units.iter().map(|unit| u16::from_be_bytes(*unit)))
                .collect::<Result<String, _>>()
                .ok()
        }
        Tag::UniversalString => {
            let (chars, []) = data.as_chunks::<4>() else {
                return None;
            };
            chars
                .iter()
                .map(|c| char::from_u32(u32::from_be_bytes(*c)))
                .collect()
        }
        _ => None,
    }
}

/// RFC 4514 §2.4 escaping of a string value.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let last = text.chars().count().saturating_sub(1);
    for (i, c) in text.chars().enumerate() {
        match c {
            '"' | '+' | ',' | ';' | '<' | '>' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '#' if i == 0 => out.push_str("\\#"),
            ' ' if i == 0 || i == last => out.push_str("\\ "),
            c if c.is_control() => {
                let mut buf = [0u8; 4];
                for byte in c.encode_utf8(&mut buf).bytes() {
                    let _ = write!(out, "\\{byte:02X}");
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// `#` and the hex of the value's DER encoding (identifier, length, contents).
fn hex_value(any: &Any<'_>) -> String {
    let mut der = Vec::with_capacity(any.data.len() + 6);
    match any.header.raw_tag() {
        Some(raw) => der.extend_from_slice(raw),
        None => encode_identifier(any, &mut der),
    }
    encode_length(any.data.len(), &mut der);
    der.extend_from_slice(any.data);
    format!("#{}", hex::encode(der))
}

fn encode_identifier(any: &Any<'_>, out: &mut Vec<u8>) {
    let class = match any.header.class() {
        Class::Universal => 0x00,
        Class::Application => 0x40,
        Class::ContextSpecific => 0x80,
        Class::Private => 0xc0,
    };
    let constructed = if any.header.is_constructed() { 0x20 } else { 0 };
    let number = any.header.tag().0;
    if let Ok(small @ 0..31) = u8::try_from(number) {
        out.push(class | constructed | small);
        return;
    }
    out.push(class | constructed | 0x1f);
    let mut groups = Vec::new();
    let mut rest = number;
    loop {
        groups.push((rest & 0x7f) as u8);
        rest >>= 7;
        if rest == 0 {
            break;
        }
    }
    let count = groups.len();
    for (i, group) in groups.into_iter().rev().enumerate() {
        out.push(if i + 1 < count { group | 0x80 } else { group });
    }
}

/// Appends a DER length.
pub(crate) fn encode_length(len: usize, out: &mut Vec<u8>) {
    if let Ok(short @ 0..0x80) = u8::try_from(len) {
        out.push(short);
        return;
    }
    let bytes = len.to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count();
    let significant = bytes.get(skip..).unwrap_or_default();
    // At most 8 bytes (usize), so the count fits the low bits.
    out.push(0x80 | u8::try_from(significant.len()).unwrap_or(0x7f));
    out.extend_from_slice(significant);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_specials_leading_and_trailing() {
        assert_eq!(escape("Acme, Inc."), "Acme\\, Inc.");
        assert_eq!(escape("#1"), "\\#1");
        assert_eq!(escape("a#1"), "a#1");
        assert_eq!(escape(" padded "), "\\ padded\\ ");
        assert_eq!(escape("a+b;c<d>e\"f\\g"), "a\\+b\\;c\\<d\\>e\\\"f\\\\g");
        assert_eq!(escape("nul\0"), "nul\\00");
        assert_eq!(escape("Müller"), "Müller");
        assert_eq!(escape("tab\there"), "tab\\09here");
        assert_eq!(escape(" "), "\\ ");
        assert_eq!(escape(""), "");
    }

    #[test]
    fn length_encoding() {
        let mut out = Vec::new();
        encode_length(5, &mut out);
        encode_length(200, &mut out);
        encode_length(0x1234, &mut out);
        assert_eq!(out, [5, 0x81, 200, 0x82, 0x12, 0x34]);
    }

    fn any(tag: Tag, data: &[u8]) -> Any<'_> {
        Any::from_tag_and_data(tag, data)
    }

    #[test]
    fn decodes_directory_strings() {
        let bmp = [0x00, 0x4d, 0x00, 0xfc];
        assert_eq!(
            decode_string(&any(Tag::BmpString, &bmp)).as_deref(),
            Some("Mü")
        );
        assert_eq!(decode_string(&any(Tag::BmpString, &bmp[..3])), None);
        let universal = [0, 0, 0, 0x4d, 0, 0, 0, 0xfc];
        assert_eq!(
            decode_string(&any(Tag::UniversalString, &universal)).as_deref(),
            Some("Mü")
        );
        assert_eq!(
            decode_string(&any(Tag::UniversalString, &universal[..5])),
            None
        );
        assert_eq!(
            decode_string(&any(Tag::TeletexString, &[0x4d, 0xfc])).as_deref(),
            Some("Mü")
        );
        assert_eq!(decode_string(&any(Tag::Utf8String, &[0xff])), None);
        assert_eq!(decode_string(&any(Tag::Integer, &[1])), None);
    }

    #[test]
    fn undecodable_values_as_hex_der() {
        assert_eq!(hex_value(&any(Tag::Utf8String, &[0xff])), "#0c01ff");
        assert_eq!(hex_value(&any(Tag::Integer, &[1])), "#020101");
        assert_eq!(value(&any(Tag::Integer, &[1])), "#020101");
        assert_eq!(value(&any(Tag::PrintableString, b"DE")), "DE");
    }
}
