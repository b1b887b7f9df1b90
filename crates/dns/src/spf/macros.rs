//! SPF macro expansion (RFC 7208 §7).

use std::net::IpAddr;

/// What macros expand from.
pub struct MacroContext<'a> {
    /// `%{s}`: the sender.
    pub sender: &'a str,
    /// `%{d}`: the current domain.
    pub domain: &'a str,
    /// `%{i}`: the client address.
    pub ip: IpAddr,
    /// `%{h}`: the HELO name.
    pub helo: &'a str,
}

/// Expands a macro-string; `None` when it is malformed (the parser has
/// already reported it).
pub fn expand(spec: &str, cx: &MacroContext<'_>) -> Option<String> {
    let mut out = String::new();
    let mut rest = spec;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        match after.chars().next()? {
            '%' => {
                out.push('%');
                rest = &after[1..];
            }
            '_' => {
                out.push(' ');
                rest = &after[1..];
            }
            '-' => {
                out.push_str("%20");
                rest = &after[1..];
            }
            '{' => {
                let close = after.find('}')?;
                out.push_str(&one(&after[1..close], cx)?);
                rest = &after[close + 1..];
            }
            _ => return None,
        }
    }
    out.push_str(rest);
    Some(truncate(out))
}

/// RFC 7208 §7.3: a name longer than 253 octets loses left-hand labels.
fn truncate(mut s: String) -> String {
    while s.trim_end_matches('.').len() > 253 {
        match s.find('.') {
            Some(i) => s = s[i + 1..].to_owned(),
            None => break,
        }
    }
    s
}

fn one(inner: &str, cx: &MacroContext<'_>) -> Option<String> {
    let mut chars = inner.chars();
    let letter = chars.next()?;
    let rest: String = chars.collect();
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let after = &rest[digits.len()..];
    let (reverse, delims) = match after.strip_prefix(['r', 'R']) {
        Some(d) => (true, d),
        None => (false, after),
    };
    let (local, sender_domain) = cx
        .sender
        .rsplit_once('@')
        .unwrap_or(("postmaster", cx.sender));
    let value = match letter.to_ascii_lowercase() {
        's' => cx.sender.to_owned(),
        'l' => local.to_owned(),
        'o' => sender_domain.to_owned(),
        'd' => cx.domain.to_owned(),
        'i' => dotted(cx.ip),
        'p' => "unknown".to_owned(),
        'v' => match cx.ip {
            IpAddr::V4(_) => "in-addr".to_owned(),
            IpAddr::V6(_) => "ip6".to_owned(),
        },
        'h' => cx.helo.to_owned(),
        'c' => cx.ip.to_string(),
        'r' => "unknown".to_owned(),
        't' => "0".to_owned(),
        _ => return None,
    };
    let delims: Vec<char> = if delims.is_empty() {
        vec!['.']
    } else {
        delims.chars().collect()
    };
    let mut parts: Vec<&str> = value.split(|c| delims.contains(&c)).collect();
    if reverse {
        parts.reverse();
    }
    if !digits.is_empty() {
        let n: usize = digits.parse().ok()?;
        if n == 0 {
            return None;
        }
        let skip = parts.len().saturating_sub(n);
        parts = parts.split_off(skip);
    }
    let joined = parts.join(".");
    Some(if letter.is_ascii_uppercase() {
        url_escape(&joined)
    } else {
        joined
    })
}

/// `%{i}`: dotted quad, or dot-separated nibbles for IPv6 (RFC 7208 §7.3).
fn dotted(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => v6
            .octets()
            .iter()
            .flat_map(|b| [b >> 4, b & 0xf])
            .map(|n| format!("{n:x}"))
            .collect::<Vec<_>>()
            .join("."),
    }
}

fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The examples of RFC 7208 §7.4.
    #[test]
    fn rfc_examples() {
        let cx = MacroContext {
            sender: "strong-bad@email.example.com",
            domain: "email.example.com",
            ip: "192.0.2.3".parse().unwrap(),
            helo: "mx.example.org",
        };
        let e = |s: &str| expand(s, &cx).unwrap();
        assert_eq!(e("%{s}"), "strong-bad@email.example.com");
        assert_eq!(e("%{o}"), "email.example.com");
        assert_eq!(e("%{d}"), "email.example.com");
        assert_eq!(e("%{d4}"), "email.example.com");
        assert_eq!(e("%{d3}"), "email.example.com");
        assert_eq!(e("%{d2}"), "example.com");
        assert_eq!(e("%{d1}"), "com");
        assert_eq!(e("%{dr}"), "com.example.email");
        assert_eq!(e("%{d2r}"), "example.email");
        assert_eq!(e("%{l}"), "strong-bad");
        assert_eq!(e("%{l-}"), "strong.bad");
        assert_eq!(e("%{lr}"), "strong-bad");
        assert_eq!(e("%{lr-}"), "bad.strong");
        assert_eq!(e("%{l1r-}"), "strong");
        assert_eq!(
            e("%{ir}.%{v}._spf.%{d2}"),
            "3.2.0.192.in-addr._spf.example.com"
        );
        assert_eq!(e("%{lr-}.lp._spf.%{d2}"), "bad.strong.lp._spf.example.com");
        let cx6 = MacroContext {
            ip: "2001:db8::cb01".parse().unwrap(),
            ..cx
        };
        assert_eq!(
            expand("%{ir}.%{v}._spf.%{d2}", &cx6).unwrap(),
            "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com"
        );
        assert_eq!(expand("%{z}", &cx6), None);
        assert_eq!(expand("%", &cx6), None);
    }
}
