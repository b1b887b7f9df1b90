//! SPF record syntax (RFC 7208 §4.6 and §12), with the byte offset of every
//! term and of every error, so a report can point at the broken character.

use std::net::{Ipv4Addr, Ipv6Addr};

use mailwarden_model::{SpfTerm, SyntaxError};

/// `+`, `-`, `~`, `?` (RFC 7208 §4.6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Qualifier {
    /// `+` (the default): pass.
    Pass,
    /// `-`: fail.
    Fail,
    /// `~`: softfail.
    SoftFail,
    /// `?`: neutral.
    Neutral,
}

impl Qualifier {
    fn from_char(c: char) -> Option<Qualifier> {
        Some(match c {
            '+' => Qualifier::Pass,
            '-' => Qualifier::Fail,
            '~' => Qualifier::SoftFail,
            '?' => Qualifier::Neutral,
            _ => return None,
        })
    }

    /// The character.
    pub fn as_char(self) -> char {
        match self {
            Qualifier::Pass => '+',
            Qualifier::Fail => '-',
            Qualifier::SoftFail => '~',
            Qualifier::Neutral => '?',
        }
    }
}

/// A mechanism (RFC 7208 §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mechanism {
    /// `all`.
    All,
    /// `include:<domain-spec>`.
    Include(String),
    /// `a[:<domain-spec>][/<v4>][//<v6>]`.
    A(Option<String>, u8, u8),
    /// `mx[:<domain-spec>][/<v4>][//<v6>]`.
    Mx(Option<String>, u8, u8),
    /// `ptr[:<domain-spec>]` (deprecated).
    Ptr(Option<String>),
    /// `ip4:<network>[/<len>]`.
    Ip4(Ipv4Addr, u8),
    /// `ip6:<network>[/<len>]`.
    Ip6(Ipv6Addr, u8),
    /// `exists:<domain-spec>`.
    Exists(String),
}

impl Mechanism {
    /// True for the mechanisms that cost a DNS lookup (RFC 7208 §4.6.4).
    pub fn queries_dns(&self) -> bool {
        matches!(
            self,
            Mechanism::Include(_)
                | Mechanism::A(..)
                | Mechanism::Mx(..)
                | Mechanism::Ptr(_)
                | Mechanism::Exists(_)
        )
    }
}

/// A qualified mechanism and where it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// The qualifier.
    pub qualifier: Qualifier,
    /// The mechanism.
    pub mechanism: Mechanism,
    /// The term as written.
    pub text: String,
}

/// A parsed SPF record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    /// The mechanisms, in order.
    pub directives: Vec<Directive>,
    /// `redirect=`.
    pub redirect: Option<String>,
    /// `exp=`.
    pub exp: Option<String>,
    /// Every term, for the report.
    pub terms: Vec<SpfTerm>,
    /// Every syntax error; any makes evaluation a permerror.
    pub errors: Vec<SyntaxError>,
}

/// True when a TXT string is an SPF record (`v=spf1` then a space or the end).
pub fn is_spf(txt: &str) -> bool {
    let t = txt.as_bytes();
    t.len() >= 6 && t[..6].eq_ignore_ascii_case(b"v=spf1") && (t.len() == 6 || t[6] == b' ')
}

/// Parses an SPF record. Never fails: problems are in `errors`.
pub fn parse(record: &str) -> Record {
    let mut out = Record::default();
    if !is_spf(record) {
        out.errors
            .push(err(0, "the record does not start with \"v=spf1\""));
        return out;
    }
    let mut offset = 6;
    for word in record[6..].split(' ') {
        let pos = offset;
        offset += word.len() + 1;
        if word.is_empty() {
            continue;
        }
        term(&mut out, word, pos);
    }
    out
}

fn err(position: usize, message: impl Into<String>) -> SyntaxError {
    SyntaxError {
        position,
        message: message.into(),
    }
}

fn term(out: &mut Record, word: &str, pos: usize) {
    if let Some(c) = word.chars().find(|c| !c.is_ascii_graphic()) {
        out.errors
            .push(err(pos, format!("character {c:?} is not allowed")));
        return;
    }
    // A modifier is `name=value` where the name has no ':' or '/'.
    let name_end = word.find(['=', ':', '/']).unwrap_or(word.len());
    if word[name_end..].starts_with('=') {
        modifier(out, word, pos, name_end);
        return;
    }
    let (qualifier, body, qlen) = match word.chars().next().and_then(Qualifier::from_char) {
        Some(q) => (q, &word[1..], 1),
        None => (Qualifier::Pass, word, 0),
    };
    out.terms.push(SpfTerm {
        text: word.to_owned(),
        position: pos,
        kind: kind_of(body),
        qualifier: Some(qualifier.as_char()),
    });
    match mechanism(body, pos + qlen) {
        Ok(mechanism) => out.directives.push(Directive {
            qualifier,
            mechanism,
            text: word.to_owned(),
        }),
        Err(e) => out.errors.push(e),
    }
}

fn kind_of(body: &str) -> String {
    let end = body.find([':', '/']).unwrap_or(body.len());
    body[..end].to_ascii_lowercase()
}

fn modifier(out: &mut Record, word: &str, pos: usize, eq: usize) {
    let name = word[..eq].to_ascii_lowercase();
    let value = &word[eq + 1..];
    out.terms.push(SpfTerm {
        text: word.to_owned(),
        position: pos,
        kind: name.clone(),
        qualifier: None,
    });
    let valid_name = name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if !valid_name {
        out.errors
            .push(err(pos, format!("{name:?} is not a valid modifier name")));
        return;
    }
    let value_pos = pos + eq + 1;
    if let Err(e) = check_macro_string(value, value_pos) {
        out.errors.push(e);
        return;
    }
    match name.as_str() {
        "redirect" | "exp" => {
            if let Err(e) = domain_spec(value, value_pos) {
                out.errors.push(e);
                return;
            }
            let slot = if name == "redirect" {
                &mut out.redirect
            } else {
                &mut out.exp
            };
            if slot.is_some() {
                out.errors
                    .push(err(pos, format!("\"{name}=\" appears twice (RFC 7208 §6)")));
            } else {
                *slot = Some(value.to_owned());
            }
        }
        _ => {} // unknown modifiers are ignored (RFC 7208 §6)
    }
}

fn mechanism(body: &str, pos: usize) -> Result<Mechanism, SyntaxError> {
    let name_end = body.find([':', '/']).unwrap_or(body.len());
    let name = body[..name_end].to_ascii_lowercase();
    let rest = &body[name_end..];
    let arg_pos = pos + name_end + 1;
    let required = |rest: &str| -> Result<String, SyntaxError> {
        let Some(spec) = rest.strip_prefix(':') else {
            return Err(err(pos, format!("\"{name}\" needs \":<domain>\"")));
        };
        domain_spec(spec, arg_pos)?;
        Ok(spec.to_owned())
    };
    match name.as_str() {
        "all" if rest.is_empty() => Ok(Mechanism::All),
        "all" => Err(err(pos + 3, "\"all\" takes no argument")),
        "include" => Ok(Mechanism::Include(required(rest)?)),
        "exists" => Ok(Mechanism::Exists(required(rest)?)),
        "a" | "mx" => {
            let (spec, cidr) = split_cidr(rest);
            let domain = match spec.strip_prefix(':') {
                Some(d) => {
                    domain_spec(d, arg_pos)?;
                    Some(d.to_owned())
                }
                None if spec.is_empty() => None,
                None => return Err(err(pos, format!("unexpected {spec:?} after \"{name}\""))),
            };
            let cidr_pos = pos + name_end + spec.len();
            let (v4, v6) = dual_cidr(cidr, cidr_pos)?;
            Ok(if name == "a" {
                Mechanism::A(domain, v4, v6)
            } else {
                Mechanism::Mx(domain, v4, v6)
            })
        }
        "ptr" => match rest.strip_prefix(':') {
            Some(d) => {
                domain_spec(d, arg_pos)?;
                Ok(Mechanism::Ptr(Some(d.to_owned())))
            }
            None if rest.is_empty() => Ok(Mechanism::Ptr(None)),
            None => Err(err(pos, "unexpected text after \"ptr\"")),
        },
        "ip4" | "ip6" => {
            let Some(arg) = rest.strip_prefix(':') else {
                return Err(err(pos, format!("\"{name}\" needs \":<address>\"")));
            };
            let (addr, len) = match arg.split_once('/') {
                Some((a, l)) => (a, Some(l)),
                None => (arg, None),
            };
            let max = if name == "ip4" { 32 } else { 128 };
            let prefix = match len {
                None => max,
                Some(l) => cidr_len(l, max, arg_pos + addr.len() + 1)?,
            };
            if name == "ip4" {
                let ip: Ipv4Addr = addr
                    .parse()
                    .map_err(|_| err(arg_pos, format!("{addr:?} is not an IPv4 address")))?;
                Ok(Mechanism::Ip4(ip, prefix))
            } else {
                let ip: Ipv6Addr = addr
                    .parse()
                    .map_err(|_| err(arg_pos, format!("{addr:?} is not an IPv6 address")))?;
                Ok(Mechanism::Ip6(ip, prefix))
            }
        }
        "" => Err(err(pos, "empty mechanism")),
        other => Err(err(pos, format!("unknown mechanism {other:?}"))),
    }
}

/// Splits `:<domain>/<v4>//<v6>` into the domain part and the CIDR part.
fn split_cidr(rest: &str) -> (&str, &str) {
    match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    }
}

fn dual_cidr(cidr: &str, pos: usize) -> Result<(u8, u8), SyntaxError> {
    if cidr.is_empty() {
        return Ok((32, 128));
    }
    if let Some(v6) = cidr.strip_prefix("//") {
        return Ok((32, cidr_len(v6, 128, pos + 2)?));
    }
    let body = &cidr[1..];
    match body.split_once("//") {
        Some((v4, v6)) => Ok((
            cidr_len(v4, 32, pos + 1)?,
            cidr_len(v6, 128, pos + 3 + v4.len())?,
        )),
        None => Ok((cidr_len(body, 32, pos + 1)?, 128)),
    }
}

fn cidr_len(text: &str, max: u8, pos: usize) -> Result<u8, SyntaxError> {
    // RFC 7208 §5.6: no leading zeros.
    let valid = !text.is_empty()
        && text.chars().all(|c| c.is_ascii_digit())
        && !(text.len() > 1 && text.starts_with('0'));
    match text.parse::<u8>() {
        Ok(n) if valid && n <= max => Ok(n),
        _ => Err(err(
            pos,
            format!("{text:?} is not a prefix length between 0 and {max}"),
        )),
    }
}

/// Checks a macro-string (RFC 7208 §7.1).
fn check_macro_string(s: &str, pos: usize) -> Result<(), SyntaxError> {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'%' {
            i += 1;
            continue;
        }
        match bytes.get(i + 1) {
            Some(b'%' | b'_' | b'-') => i += 2,
            Some(b'{') => {
                let Some(close) = s[i..].find('}') else {
                    return Err(err(pos + i, "\"%{\" without \"}\""));
                };
                let inner = &s[i + 2..i + close];
                let mut chars = inner.chars();
                let letter = chars.next().map(|c| c.to_ascii_lowercase());
                if !letter.is_some_and(|c| "slodiphcrtv".contains(c)) {
                    return Err(err(
                        pos + i,
                        format!("unknown macro letter in %{{{inner}}}"),
                    ));
                }
                let rest: String = chars.collect();
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                let after = &rest[digits.len()..];
                let after = after.strip_prefix(['r', 'R']).unwrap_or(after);
                if !after.chars().all(|c| ".-+,/_=".contains(c)) {
                    return Err(err(pos + i, format!("invalid transformer in %{{{inner}}}")));
                }
                i += close + 1;
            }
            _ => {
                return Err(err(
                    pos + i,
                    "a \"%\" must be followed by \"{\", \"%\", \"_\" or \"-\"",
                ));
            }
        }
    }
    Ok(())
}

/// Checks a domain-spec: a macro-string ending in a top label or a macro.
fn domain_spec(s: &str, pos: usize) -> Result<(), SyntaxError> {
    if s.is_empty() {
        return Err(err(pos, "empty domain"));
    }
    check_macro_string(s, pos)?;
    if s.ends_with('}') {
        return Ok(());
    }
    let trimmed = s.strip_suffix('.').unwrap_or(s);
    let top = trimmed.rsplit('.').next().unwrap_or("");
    let labels_ok =
        trimmed.contains('.') && trimmed.split('.').all(|l| !l.is_empty() && l.len() <= 63);
    // toplabel: alphanumerics with at least one letter, or a hyphenated label.
    let top_ok = top.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && top.chars().any(|c| c.is_ascii_alphabetic())
        && !top.starts_with('-')
        && !top.ends_with('-');
    if labels_ok && top_ok {
        Ok(())
    } else {
        Err(err(pos, format!("{s:?} is not a domain name")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_typical_record() {
        let r = parse(
            "v=spf1 mx a:mail.example.org/24 ip4:192.0.2.0/24 ip6:2001:db8::/32 include:_spf.example.net ~all",
        );
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        assert_eq!(r.directives.len(), 6);
        assert_eq!(r.directives[0].mechanism, Mechanism::Mx(None, 32, 128));
        assert_eq!(
            r.directives[1].mechanism,
            Mechanism::A(Some("mail.example.org".into()), 24, 128)
        );
        assert_eq!(r.directives[5].qualifier, Qualifier::SoftFail);
        assert_eq!(r.terms[2].position, 32);
    }

    #[test]
    fn errors_carry_positions() {
        let r = parse("v=spf1 ip4:300.1.1.1 foo:bar -all");
        assert_eq!(r.errors.len(), 2);
        assert_eq!(r.errors[0].position, 11);
        assert!(r.errors[0].message.contains("IPv4"));
        assert_eq!(r.errors[1].position, 21);
        assert!(r.errors[1].message.contains("unknown mechanism"));
        let r = parse("v=spf1 redirect=a.example redirect=b.example");
        assert_eq!(r.errors.len(), 1);
        assert_eq!(r.errors[0].position, 26);
        let r = parse("v=spf1 ip4:192.0.2.1/33");
        assert_eq!(r.errors[0].position, 21);
        let r = parse("v=spf1 include:%{z}.example");
        assert_eq!(r.errors[0].position, 15);
        let r = parse("v=spf1 a/24//64 mx//48 exists:%{ir}.%{l1r+-}._spf.%{d}");
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        assert_eq!(r.directives[0].mechanism, Mechanism::A(None, 24, 64));
        assert!(!is_spf("v=spf10"));
        assert!(is_spf("V=SPF1"));
    }

    #[test]
    fn never_panics_on_truncations() {
        let full = "v=spf1 a:x.example/24//64 ip6:2001:db8::1/128 exists:%{ir}.%{l1r+-}.e.example redirect=%{d}.x ~all";
        for i in 0..=full.len() {
            if full.is_char_boundary(i) {
                let _ = parse(&full[..i]);
            }
        }
    }
}
