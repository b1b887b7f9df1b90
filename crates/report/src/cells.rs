//! The facts shown in one row of the endpoint table, read from observations.
//!
//! Every cell is plain text; server-sent text goes through `Line`'s `Display`
//! (control characters escaped) before it is truncated.

use jiff::Timestamp;
use mailwarden_model::{
    Capabilities, CertificateChain, EndpointObservation, Line, Protocol, TlsHandshake,
};

/// What a cell shows when there is nothing to show.
pub(crate) const NONE: &str = "—";

/// The longest banner shown in the table, in characters.
const BANNER_CHARS: usize = 40;

/// "SMTP", or "—" when nothing was recognized.
pub(crate) fn protocol(obs: &EndpointObservation) -> String {
    obs.protocol
        .map_or_else(|| NONE.to_owned(), |p| p.as_str().to_owned())
}

/// The handshakes recorded, implicit first.
fn handshakes(obs: &EndpointObservation) -> impl Iterator<Item = &TlsHandshake> {
    let implicit = obs.implicit_tls.as_ref().and_then(|i| i.handshake.value());
    let starttls = obs
        .plaintext
        .as_ref()
        .and_then(|p| p.starttls.value())
        .and_then(|ex| ex.handshake.value());
    implicit.into_iter().chain(starttls)
}

/// "TLSv1.3 TLS_AES_256_GCM_SHA384" for the completed handshake, else "—".
pub(crate) fn tls(obs: &EndpointObservation) -> String {
    let Some(hs) = handshakes(obs).find(|h| h.completed) else {
        return NONE.to_owned();
    };
    let version = hs
        .version
        .map_or_else(|| "TLS".to_owned(), |v| v.to_string());
    match &hs.cipher_suite {
        Some(suite) => format!("{version} {suite}"),
        None => version,
    }
}

/// The common name of an RFC 4514 distinguished name, if it has one.
fn common_name(dn: &str) -> Option<&str> {
    dn.split(',')
        .map(str::trim)
        .find_map(|rdn| rdn.strip_prefix("CN=").or_else(|| rdn.strip_prefix("cn=")))
}

/// "mail.example.test, 59d, trusted, name ok": subject CN (or first SAN),
/// whole days left at `now` (or how long ago it expired), trust and name verdicts.
pub(crate) fn certificate(obs: &EndpointObservation, now: Timestamp) -> String {
    let Some(chain) = handshakes(obs).find_map(|h| h.certificate_chain.as_ref()) else {
        return NONE.to_owned();
    };
    let Some(leaf) = chain.leaf() else {
        return "no certificate".to_owned();
    };
    let name = common_name(&leaf.subject)
        .or_else(|| leaf.dns_names.first().map(String::as_str))
        .unwrap_or(&leaf.subject);
    let validity = match (leaf.not_before, leaf.not_after) {
        (_, Some(not_after)) if not_after < now => {
            let days = (not_after.as_second() - now.as_second()).div_euclid(86_400);
            format!("expired {}d ago", -days)
        }
        (Some(not_before), _) if not_before > now => "not yet valid".to_owned(),
        (_, Some(not_after)) => {
            let days = (not_after.as_second() - now.as_second()).div_euclid(86_400);
            format!("{days}d left")
        }
        (_, None) => "validity unknown".to_owned(),
    };
    format!(
        "{}, {validity}, {}, {}",
        Line::from(name),
        trust(chain),
        if chain.name_check.matched {
            "name ok"
        } else {
            "name mismatch"
        }
    )
}

fn trust(chain: &CertificateChain) -> &'static str {
    match chain.leaf() {
        _ if chain.validation.trusted => "trusted",
        Some(leaf) if leaf.self_signed => "self-signed",
        _ => "untrusted",
    }
}

/// What a capability listing lets a client authenticate with: SASL
/// mechanisms, plus IMAP LOGIN (without LOGINDISABLED) and POP3 USER.
fn auth_offers(protocol: Option<Protocol>, caps: &Capabilities) -> Vec<String> {
    let mut offers = caps.auth_mechanisms.clone();
    match protocol {
        // The protocol's own password commands, told apart from SASL names
        // (IMAP's LOGIN command is not the SASL LOGIN mechanism).
        Some(Protocol::Imap) if !caps.login_disabled => offers.push("cmd:LOGIN".to_owned()),
        Some(Protocol::Pop3) if caps.keywords.iter().any(|k| k == "USER") => {
            offers.push("cmd:USER".to_owned());
        }
        _ => {}
    }
    offers
}

fn offers_cell(offers: Option<Vec<String>>) -> String {
    match offers {
        Some(o) if !o.is_empty() => o.join(" "),
        _ => NONE.to_owned(),
    }
}

/// "PLAIN LOGIN / PLAIN LOGIN": what is offered before TLS, then over TLS.
pub(crate) fn auth(obs: &EndpointObservation) -> String {
    let plaintext_greeted = obs
        .plaintext
        .as_ref()
        .and_then(|p| p.greeting.value())
        .is_some_and(|g| !g.is_empty());
    let before = obs
        .plaintext
        .as_ref()
        .filter(|_| plaintext_greeted)
        .and_then(|p| p.capabilities.value())
        .map(|c| auth_offers(obs.protocol, c));
    let inside = obs
        .implicit_tls
        .as_ref()
        .and_then(|i| i.capabilities.value())
        .or_else(|| {
            obs.plaintext
                .as_ref()
                .and_then(|p| p.starttls.value())
                .and_then(|ex| ex.capabilities_after_tls.value())
        })
        .map(|c| auth_offers(obs.protocol, c));
    format!("{} / {}", offers_cell(before), offers_cell(inside))
}

/// The software banner (the implementation string the capabilities carry),
/// else the first line the server said (greeting in plaintext, else over TLS,
/// else a non-mail reply), escaped and truncated.
pub(crate) fn banner(obs: &EndpointObservation) -> String {
    let implementation = [
        obs.plaintext.as_ref().and_then(|p| p.capabilities.value()),
        obs.implicit_tls
            .as_ref()
            .and_then(|i| i.capabilities.value()),
    ]
    .into_iter()
    .flatten()
    .find_map(|c| c.implementation.as_deref());
    if let Some(text) = implementation {
        return truncate(
            &mailwarden_model::Line::from(text).to_string(),
            BANNER_CHARS,
        );
    }
    let plaintext = obs.plaintext.as_ref().and_then(|p| p.greeting.value());
    let implicit = obs.implicit_tls.as_ref().and_then(|i| i.greeting.value());
    let first = [plaintext, implicit]
        .into_iter()
        .flatten()
        .chain(std::iter::once(&obs.non_mail_reply))
        .find_map(|lines| lines.first());
    match first {
        Some(line) => truncate(&line.to_string(), BANNER_CHARS),
        None => NONE.to_owned(),
    }
}

/// At most `max` characters, the last one an ellipsis when cut.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_name_is_read_from_the_dn() {
        assert_eq!(
            common_name("CN=mx.example.org,O=Example"),
            Some("mx.example.org")
        );
        assert_eq!(common_name("O=Example, CN=a"), Some("a"));
        assert_eq!(common_name("O=Example"), None);
    }

    #[test]
    fn truncation_counts_characters() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("äöü", 3), "äöü");
    }
}
