//! RFC 6125 / RFC 7817 §3 name check of a leaf certificate.

use std::net::{IpAddr, Ipv6Addr};

use mailwarden_model::{Certificate, NameCheck};

/// Checks whether `leaf` is valid for `name` (the scanned host name, the `--name` override, or
/// an IP literal). Pure: only the certificate's parsed SANs are used, so a stored scan can be
/// checked again.
///
/// The rules (RFC 6125 §6, as RFC 7817 §3 applies them to mail; also what the CA/Browser Forum
/// and rustls-webpki do):
///
/// * A DNS name is compared with the subjectAltName dNSName entries only. The subject's CN is
///   **never** used, not even when the certificate has no SAN at all (RFC 6125 would allow the
///   CN then; modern practice, CA/B and webpki, does not): such a certificate matches no name.
/// * Comparison is ASCII case-insensitive; one trailing dot on either side is ignored.
/// * A wildcard matches only as the entire left-most label of a pattern of at least three
///   labels, and stands for exactly one non-empty label: `*.example.org` matches
///   `mx.example.org`, but not `a.b.example.org` nor `example.org`. `m*.example.org`,
///   `*x.example.org`, `mx.*.org` and `*.org` never match anything. (There is no public-suffix
///   list: `*.co.uk` has three labels and is accepted.)
/// * Internationalized names are compared as given: pass the A-label form (`xn--...`), which is
///   what certificates contain; a U-label name does not match its A-label SAN.
/// * An IP literal (IPv4, IPv6, or IPv6 in brackets: `[::1]`) matches only a SAN iPAddress entry of the
///   same family and value (`::1` and `0:0::1` are the same; `127.0.0.1` does not match
///   `::ffff:127.0.0.1`), never a dNSName.
/// * A name that is empty, has an empty label, or contains `*` matches nothing.
///
/// `matched_by` is the SAN entry that matched, as it appears in
/// [`Certificate::dns_names`] or [`Certificate::ip_addresses`].
pub fn check_name(leaf: &Certificate, name: &str) -> NameCheck {
    let matched_by = match Reference::parse(name) {
        Some(Reference::Ip(ip)) => leaf
            .ip_addresses
            .iter()
            .find(|san| san.parse::<IpAddr>().is_ok_and(|san| san == ip)),
        Some(Reference::Dns(host)) => leaf
            .dns_names
            .iter()
            .find(|pattern| dns_matches(pattern, &host)),
        None => None,
    }
    .cloned();
    NameCheck {
        name: name.to_owned(),
        matched: matched_by.is_some(),
        matched_by,
    }
}

/// The reference identifier: what the client wants the certificate to be for.
enum Reference {
    Ip(IpAddr),
    /// Lowercase, without trailing dot, non-empty labels, no `*`.
    Dns(String),
}

impl Reference {
    fn parse(name: &str) -> Option<Self> {
        if let Ok(ip) = name.parse::<IpAddr>() {
            return Some(Self::Ip(ip));
        }
        if let Some(inner) = name.strip_prefix('[').and_then(|n| n.strip_suffix(']')) {
            return inner
                .parse::<Ipv6Addr>()
                .ok()
                .map(|ip| Self::Ip(IpAddr::V6(ip)));
        }
        let host = normalize(name)?;
        if host.contains('*') {
            return None;
        }
        Some(Self::Dns(host))
    }
}

/// Lowercase (ASCII), one trailing dot removed; `None` when empty or with an empty label.
fn normalize(name: &str) -> Option<String> {
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() || name.split('.').any(str::is_empty) {
        return None;
    }
    Some(name.to_ascii_lowercase())
}

/// Whether the presented identifier `pattern` (a SAN dNSName) matches the normalized `host`.
fn dns_matches(pattern: &str, host: &str) -> bool {
    let Some(pattern) = normalize(pattern) else {
        return false;
    };
    if !pattern.contains('*') {
        return pattern == host;
    }
    let Some(parent) = pattern.strip_prefix("*.") else {
        return false;
    };
    // At least three labels in the pattern: the wildcard and two more.
    if parent.contains('*') || !parent.contains('.') {
        return false;
    }
    match host.split_once('.') {
        Some((first, rest)) => !first.is_empty() && rest == parent,
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mailwarden_model::PublicKeyInfo;

    fn cert(dns: &[&str], ips: &[&str]) -> Certificate {
        Certificate {
            subject: "CN=mx.example.org".to_owned(),
            issuer: "CN=Test CA".to_owned(),
            serial: "01".to_owned(),
            not_before: None,
            not_after: None,
            dns_names: dns.iter().map(|s| (*s).to_owned()).collect(),
            ip_addresses: ips.iter().map(|s| (*s).to_owned()).collect(),
            public_key: PublicKeyInfo {
                algorithm: "ecdsa".to_owned(),
                bits: Some(256),
                curve: Some("P-256".to_owned()),
            },
            signature_algorithm: "ecdsa-with-SHA256".to_owned(),
            self_signed: false,
            is_ca: false,
            sha256: String::new(),
            der_base64: String::new(),
            parse_error: None,
        }
    }

    /// (SAN dNSName, name, matches)
    const DNS_TABLE: &[(&str, &str, bool)] = &[
        ("mx.example.org", "mx.example.org", true),
        ("MX.Example.ORG", "mx.example.org", true),
        ("mx.example.org", "MX.EXAMPLE.ORG", true),
        ("mx.example.org.", "mx.example.org", true),
        ("mx.example.org", "mx.example.org.", true),
        ("mx.example.org", "mx.example.org..", false),
        ("mx.example.org", "mx2.example.org", false),
        ("mx.example.org", "example.org", false),
        ("mx.example.org", "a.mx.example.org", false),
        ("mx.example.org", "", false),
        ("mx.example.org", ".", false),
        ("mx.example.org", "mx..example.org", false),
        ("", "mx.example.org", false),
        ("*.example.org", "mx.example.org", true),
        ("*.Example.Org", "MX.example.org", true),
        ("*.example.org.", "mx.example.org", true),
        ("*.example.org", "a.b.example.org", false),
        ("*.example.org", "example.org", false),
        ("*.example.org", ".example.org", false),
        ("*.example.org", "*.example.org", false),
        ("*.example.org", "xn--bcher-kva.example.org", true),
        ("m*.example.org", "mx.example.org", false),
        ("*x.example.org", "mx.example.org", false),
        ("m*x.example.org", "mx.example.org", false),
        ("mx.*.org", "mx.example.org", false),
        ("*.*.org", "mx.example.org", false),
        ("**.example.org", "mx.example.org", false),
        ("*", "mx", false),
        ("*.org", "example.org", false),
        ("*.", "org", false),
        ("*.co.uk", "example.co.uk", true),
        ("*..example.org", "mx..example.org", false),
        ("xn--bcher-kva.example", "xn--bcher-kva.example", true),
        ("xn--bcher-kva.example", "bücher.example", false),
        ("bücher.example", "BÜCHER.example", false),
        ("127.0.0.1", "127.0.0.1", false),
    ];

    #[test]
    fn dns_table() {
        for &(san, name, expected) in DNS_TABLE {
            let check = check_name(&cert(&[san], &[]), name);
            assert_eq!(check.matched, expected, "SAN {san:?} vs name {name:?}");
            assert_eq!(check.matched_by.as_deref(), expected.then_some(san));
            assert_eq!(check.name, name);
        }
    }

    /// (SAN iPAddress as parsed, name, matches)
    const IP_TABLE: &[(&str, &str, bool)] = &[
        ("127.0.0.1", "127.0.0.1", true),
        ("127.0.0.1", "127.0.0.2", false),
        ("::1", "::1", true),
        ("::1", "0:0:0:0:0:0:0:1", true),
        ("::1", "[::1]", true),
        ("2001:db8::1", "2001:DB8:0::1", true),
        ("::ffff:127.0.0.1", "127.0.0.1", false),
        ("127.0.0.1", "::ffff:127.0.0.1", false),
        ("127.0.0.1", "[127.0.0.1]", false),
        ("::1", "[::1", false),
        ("::1", "::1%lo", false),
    ];

    #[test]
    fn ip_table() {
        for &(san, name, expected) in IP_TABLE {
            let check = check_name(&cert(&[], &[san]), name);
            assert_eq!(check.matched, expected, "SAN {san:?} vs name {name:?}");
            assert_eq!(check.matched_by.as_deref(), expected.then_some(san));
        }
    }

    #[test]
    fn ip_literal_never_matches_dns_san_and_names_never_match_ip_san() {
        let leaf = cert(&["127.0.0.1", "localhost"], &["127.0.0.1"]);
        let check = check_name(&leaf, "127.0.0.1");
        assert_eq!(check.matched_by.as_deref(), Some("127.0.0.1"));
        let only_dns = cert(&["127.0.0.1"], &[]);
        assert!(!check_name(&only_dns, "127.0.0.1").matched);
        let only_ip = cert(&[], &["127.0.0.1"]);
        assert!(!check_name(&only_ip, "localhost").matched);
    }

    #[test]
    fn no_san_never_falls_back_to_cn() {
        let leaf = cert(&[], &[]);
        let check = check_name(&leaf, "mx.example.org");
        assert!(!check.matched);
        assert_eq!(check.matched_by, None);
    }

    #[test]
    fn first_matching_entry_is_reported() {
        let leaf = cert(
            &["other.example.org", "*.example.org", "mx.example.org"],
            &[],
        );
        let check = check_name(&leaf, "mx.example.org");
        assert_eq!(check.matched_by.as_deref(), Some("*.example.org"));
    }
}
