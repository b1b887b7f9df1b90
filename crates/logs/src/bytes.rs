//! Small, panic-free helpers for scanning log bytes.

use std::net::IpAddr;

/// Splits at the first space: the token and what follows the space.
pub fn token(s: &[u8]) -> (&[u8], &[u8]) {
    match position(b' ', s) {
        Some(i) => (
            s.get(..i).unwrap_or_default(),
            s.get(i + 1..).unwrap_or_default(),
        ),
        None => (s, &[]),
    }
}

/// The first `b` in `s`: a plain loop over the first bytes, where the
/// tokens of a log line end, and `memchr` beyond them (its call costs more
/// than a short loop).
#[inline]
pub fn position(b: u8, s: &[u8]) -> Option<usize> {
    const NEAR: usize = 32;
    let head = s.get(..NEAR).unwrap_or(s);
    if let Some(i) = head.iter().position(|&x| x == b) {
        return Some(i);
    }
    memchr::memchr(b, s.get(NEAR..)?).map(|i| i + NEAR)
}

/// Drops leading spaces.
pub fn skip_spaces(mut s: &[u8]) -> &[u8] {
    while let [b' ', rest @ ..] = s {
        s = rest;
    }
    s
}

/// `s` without `prefix`, when it starts with it.
pub fn after<'a>(s: &'a [u8], prefix: &str) -> Option<&'a [u8]> {
    s.strip_prefix(prefix.as_bytes())
}

/// The first occurrence of `needle` in `haystack`. Log lines are short and
/// needles few: anchoring on one byte of the needle with `memchr` beats
/// building a `memmem` searcher per call (which dominated profiles). The
/// anchor is the needle's first byte that is not a space: needles like
/// `" from "` start with one, and a line has a dozen.
pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let last_start = haystack.len().checked_sub(needle.len())?;
    let k = needle.iter().position(|&b| b != b' ').unwrap_or(0);
    let Some(&anchor) = needle.get(k) else {
        return Some(0);
    };
    // The anchor can sit at k..=last_start + k.
    let mut from = k;
    let end = last_start + k + 1;
    while let Some(i) = memchr::memchr(anchor, haystack.get(from..end)?) {
        let at = from + i - k;
        if haystack.get(at..at + needle.len()) == Some(needle) {
            return Some(at);
        }
        from += i + 1;
    }
    None
}

/// What follows the first occurrence of `needle`.
pub fn after_find<'a>(s: &'a [u8], needle: &str) -> Option<&'a [u8]> {
    let i = find(s, needle.as_bytes())?;
    s.get(i + needle.len()..)
}

/// Whether `needle` occurs in `s`.
pub fn contains(s: &[u8], needle: &str) -> bool {
    find(s, needle.as_bytes()).is_some()
}

/// The bytes up to (not including) the first `stop` byte, or all of them.
pub fn until(s: &[u8], stop: u8) -> &[u8] {
    match position(stop, s) {
        Some(i) => s.get(..i).unwrap_or_default(),
        None => s,
    }
}

/// A decimal number of at most 9 digits, the whole slice.
pub fn number(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 9 {
        return None;
    }
    let mut n: u32 = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u32::from(b - b'0');
    }
    Some(n)
}

/// The leading decimal digits of `s` as a number, and the rest.
pub fn leading_number(s: &[u8]) -> Option<(u32, &[u8])> {
    let digits = s.iter().take_while(|b| b.is_ascii_digit()).count();
    let n = number(s.get(..digits)?)?;
    Some((n, s.get(digits..).unwrap_or_default()))
}

/// Text for an event field: lossy UTF-8, bounded length.
pub fn text(s: &[u8]) -> Box<str> {
    const MAX: usize = 512;
    let s = s.get(..MAX).unwrap_or(s);
    String::from_utf8_lossy(s).into_owned().into_boxed_str()
}

/// An IP address, accepting a `::ffff:` mapped IPv4 as IPv4 and an `IPv6:` prefix.
pub fn ip(s: &[u8]) -> Option<IpAddr> {
    let s = s
        .strip_prefix(b"IPv6:")
        .or_else(|| s.strip_prefix(b"ipv6:"))
        .unwrap_or(s);
    if s.is_empty() || s.len() > 64 {
        return None;
    }
    match ipv4_or_colon(s) {
        V4::Addr(a) => return Some(IpAddr::V4(a)),
        V4::Not => return None,
        // Every IPv6 text has a colon.
        V4::Colon => {}
    }
    let addr: IpAddr = std::str::from_utf8(s).ok()?.parse().ok()?;
    Some(match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    })
}

enum V4 {
    Addr(std::net::Ipv4Addr),
    /// Not IPv4, and no colon in it: not IPv6 either.
    Not,
    /// A colon: maybe IPv6.
    Colon,
}

/// [`ipv4_strict`], and when it fails whether the text may be IPv6.
fn ipv4_or_colon(s: &[u8]) -> V4 {
    match ipv4_strict(s) {
        Some(a) => V4::Addr(a),
        None if s.contains(&b':') => V4::Colon,
        None => V4::Not,
    }
}

/// Dotted-quad IPv4, as strict as `Ipv4Addr::from_str` (four octets of one
/// to three digits, at most 255, no leading zero) without a UTF-8 check and
/// the generic parser: it runs for nearly every line.
fn ipv4_strict(s: &[u8]) -> Option<std::net::Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut i = 0;
    let mut n: u32 = 0;
    let mut digits = 0;
    for &b in s {
        if b == b'.' {
            if digits == 0 || i == 3 {
                return None;
            }
            *octets.get_mut(i)? = u8::try_from(n).ok()?;
            i += 1;
            n = 0;
            digits = 0;
        } else if b.is_ascii_digit() {
            if digits == 1 && n == 0 {
                return None;
            }
            n = n * 10 + u32::from(b - b'0');
            digits += 1;
            if digits > 3 || n > 255 {
                return None;
            }
        } else {
            return None;
        }
    }
    if i != 3 || digits == 0 {
        return None;
    }
    *octets.get_mut(3)? = u8::try_from(n).ok()?;
    Some(octets.into())
}

/// The address in Postfix's `name[address]` (optionally followed by `:port`),
/// searching from the start of `s`: returns the address and what follows `]`.
pub fn bracketed_ip(s: &[u8]) -> Option<(IpAddr, &[u8])> {
    let mut rest = s;
    loop {
        let open = memchr::memchr(b'[', rest)?;
        let inner = rest.get(open + 1..)?;
        let close = memchr::memchr(b']', inner)?;
        if let Some(addr) = ip(inner.get(..close)?) {
            return Some((addr, inner.get(close + 1..).unwrap_or_default()));
        }
        rest = inner;
    }
}

/// The value of `key=` up to `,`, space or end (`rip=192.0.2.4,`).
pub fn field<'a>(s: &'a [u8], key: &str) -> Option<&'a [u8]> {
    let mut rest = s;
    loop {
        let i = find(rest, key.as_bytes())?;
        let at_boundary = i == 0
            || matches!(
                rest.get(i - 1),
                Some(b' ' | b',' | b'(' | b'[' | b';' | b'\t')
            );
        let value = rest.get(i + key.len()..)?;
        if at_boundary {
            let end = value
                .iter()
                .position(|&b| b == b',' || b == b' ' || b == b')')
                .unwrap_or(value.len());
            return value.get(..end);
        }
        rest = value;
    }
}

/// The value of `key=<...>` between the angle brackets (`user=<bob>`).
pub fn angle_field<'a>(s: &'a [u8], key: &str) -> Option<&'a [u8]> {
    let mut rest = s;
    loop {
        let i = find(rest, key.as_bytes())?;
        let at_boundary = i == 0 || matches!(rest.get(i - 1), Some(b' ' | b',' | b'('));
        let value = rest.get(i + key.len()..)?;
        if at_boundary && let Some(v) = value.strip_prefix(b"<") {
            return Some(until(v, b'>'));
        }
        rest = value;
    }
}

/// A non-empty user name as an event field.
pub fn user(s: &[u8]) -> Option<Box<str>> {
    let s = s.trim_ascii();
    if s.is_empty() { None } else { Some(text(s)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_agrees_with_memmem() {
        let hay = b"abcabd abcabd, rip=1";
        for needle in [
            &b""[..],
            b"a",
            b"abd",
            b"rip=",
            b"d, r",
            b"x",
            b"abcabd abcabd, rip=1",
            b"abcabd abcabd, rip=12",
        ] {
            assert_eq!(
                find(hay, needle),
                memchr::memmem::find(hay, needle),
                "{needle:?}"
            );
        }
    }

    #[test]
    fn find_agrees_with_memmem_on_log_like_text() {
        // Every needle position in a real line, and needles with repeated
        // anchors, overlaps and near misses.
        let hay = b"Nov 27 00:00:00 mail postfix/smtpd[2007]: Anonymous TLS connection established from mx44.example.net[198.51.100.135]: TLSv1.3 from from";
        for start in 0..hay.len() {
            for len in 0..12.min(hay.len() - start + 1) {
                let needle = &hay[start..start + len];
                assert_eq!(
                    find(hay, needle),
                    memchr::memmem::find(hay, needle),
                    "{needle:?}"
                );
            }
        }
        for needle in [
            &b" from "[..],
            b"from from",
            b"TLSv1.4",
            b"]: T",
            b"aaa",
            b"135]",
            b"x",
        ] {
            assert_eq!(
                find(hay, needle),
                memchr::memmem::find(hay, needle),
                "{needle:?}"
            );
        }
        assert_eq!(find(b"aaaa", b"aaa"), Some(0));
        assert_eq!(find(b"ab", b"abc"), None);
        assert_eq!(find(b"", b""), Some(0));
    }

    #[test]
    fn ipv4_agrees_with_std() {
        let cases = [
            "192.0.2.1",
            "0.0.0.0",
            "255.255.255.255",
            "256.1.1.1",
            "0192.0.2.4",
            "192.0.2.04",
            "192.0.2",
            "192.0.2.4.5",
            "192..0.2",
            ".192.0.2",
            "192.0.2.",
            "192.0.2.4 ",
            "",
            "1192.0.2.1",
            "0.0.0.00",
            "10.0.0.1x",
            "999.0.0.0",
        ];
        for c in cases {
            assert_eq!(ipv4_strict(c.as_bytes()), c.parse().ok(), "{c:?}");
        }
        // Every short string over the alphabet that matters.
        let alphabet = b"0129.5";
        let mut s = Vec::new();
        for len in 0..=7u32 {
            for n in 0..6usize.pow(len) {
                s.clear();
                let mut k = n;
                for _ in 0..len {
                    s.push(alphabet[k % 6]);
                    k /= 6;
                }
                let text = std::str::from_utf8(&s).unwrap();
                assert_eq!(ipv4_strict(&s), text.parse().ok(), "{text:?}");
            }
        }
    }

    #[test]
    fn helpers_handle_edges() {
        assert_eq!(token(b"a b c"), (&b"a"[..], &b"b c"[..]));
        assert_eq!(token(b"abc"), (&b"abc"[..], &b""[..]));
        assert_eq!(number(b"123"), Some(123));
        assert_eq!(number(b""), None);
        assert_eq!(number(b"9999999999"), None);
        assert_eq!(
            bracketed_ip(b"unknown[192.0.2.1]: x").map(|(a, _)| a.to_string()),
            Some("192.0.2.1".into())
        );
        assert_eq!(
            bracketed_ip(b"h[IPv6:2001:db8::1]:25").map(|(a, r)| (a.to_string(), r.to_vec())),
            Some(("2001:db8::1".into(), b":25".to_vec()))
        );
        assert_eq!(
            bracketed_ip(b"[::ffff:192.0.2.1]").map(|(a, _)| a.to_string()),
            Some("192.0.2.1".into())
        );
        assert_eq!(bracketed_ip(b"unknown[x"), None);
        assert_eq!(
            field(b"a, rip=192.0.2.4, lip=5", "rip="),
            Some(&b"192.0.2.4"[..])
        );
        assert_eq!(field(b"xrip=1, rip=2", "rip="), Some(&b"2"[..]));
        assert_eq!(angle_field(b"x, user=<bob>, y", "user="), Some(&b"bob"[..]));
        assert_eq!(angle_field(b"user=<bob", "user="), Some(&b"bob"[..]));
    }
}
