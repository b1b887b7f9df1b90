//! DKIM public keys (RFC 6376 §3.6.1) under the selectors given and a few
//! common ones: key type and size, revocation, testing mode.

use base64::Engine as _;
use hickory_resolver::proto::rr::RecordType;
use mailwarden_model::{DkimKey, DkimObservation, SyntaxError};
use x509_parser::prelude::FromDer as _;
use x509_parser::public_key::PublicKey;
use x509_parser::x509::SubjectPublicKeyInfo;

use crate::resolver::Resolver;
use crate::tags;

/// Selectors tried when none is given: the defaults of common signers and
/// providers. A miss means nothing (selectors are arbitrary).
pub const COMMON_SELECTORS: [&str; 8] = [
    "default",
    "dkim",
    "mail",
    "selector1",
    "selector2",
    "google",
    "k1",
    "s1",
];

/// Looks up every selector: the `given` ones, then the common ones.
pub async fn observe(resolver: &Resolver, domain: &str, given: &[String]) -> Vec<DkimObservation> {
    let mut wanted: Vec<(&str, &str)> = Vec::new();
    let given = given.iter().map(|s| (s.as_str(), "given"));
    let common = COMMON_SELECTORS.iter().map(|s| (*s, "common"));
    for (selector, source) in given.chain(common) {
        if !wanted.iter().any(|(w, _)| w.eq_ignore_ascii_case(selector)) {
            wanted.push((selector, source));
        }
    }
    // Asked together: a dead resolver costs one timeout, not one per selector.
    let asks = wanted.iter().map(|(selector, source)| async move {
        let answer = resolver
            .lookup(&format!("{selector}._domainkey.{domain}"), RecordType::TXT)
            .await;
        (*selector, *source, answer)
    });
    futures::future::join_all(asks)
        .await
        .into_iter()
        .map(|(selector, source, answer)| {
            let key = answer
                .lookup
                .usable()
                .iter()
                .find(|t| is_key_record(t))
                .map(|t| parse_key(t));
            DkimObservation {
                selector: selector.to_owned(),
                source: source.to_owned(),
                lookup: answer.lookup,
                key,
            }
        })
        .collect()
}

/// A key record has a `p=` tag (and `v=DKIM1` first, when `v` is present).
fn is_key_record(txt: &str) -> bool {
    let (tags, _) = tags::parse(txt);
    tags::get(&tags, "p").is_some()
}

/// Parses a DKIM key record.
pub fn parse_key(record: &str) -> DkimKey {
    let (tags, mut errors) = tags::parse(record);
    if let Some(v) = tags::get(&tags, "v")
        && (v.value != "DKIM1" || v.position != 0)
    {
        errors.push(SyntaxError {
            position: v.position,
            message: "\"v\" must be \"DKIM1\" and come first".to_owned(),
        });
    }
    let key_type = tags::get(&tags, "k").map_or("rsa".to_owned(), |t| t.value.to_ascii_lowercase());
    let flags: Vec<String> = tags::get(&tags, "t")
        .map(|t| {
            t.value
                .split(':')
                .map(|f| f.trim().to_ascii_lowercase())
                .collect()
        })
        .unwrap_or_default();
    let hashes: Vec<String> = tags::get(&tags, "h")
        .map(|t| {
            t.value
                .split(':')
                .map(|h| h.trim().to_ascii_lowercase())
                .collect()
        })
        .unwrap_or_default();
    let p = tags::get(&tags, "p");
    let data: String = p
        .map(|t| t.value.chars().filter(|c| !c.is_whitespace()).collect())
        .unwrap_or_default();
    let revoked = p.is_some() && data.is_empty();
    let mut bits = None;
    if let Some(p) = p
        && !revoked
    {
        match base64::engine::general_purpose::STANDARD.decode(&data) {
            Err(e) => errors.push(SyntaxError {
                position: p.position,
                message: format!("p= is not base64: {e}"),
            }),
            Ok(der) => match key_bits(&key_type, &der) {
                Ok(b) => bits = Some(b),
                Err(message) => errors.push(SyntaxError {
                    position: p.position,
                    message,
                }),
            },
        }
    }
    DkimKey {
        record: record.to_owned(),
        key_type,
        bits,
        revoked,
        testing: flags.iter().any(|f| f == "y"),
        strict: flags.iter().any(|f| f == "s"),
        hashes,
        errors,
    }
}

fn key_bits(key_type: &str, der: &[u8]) -> Result<u32, String> {
    match key_type {
        "ed25519" if der.len() == 32 => Ok(256),
        "ed25519" => Err(format!("an Ed25519 key is 32 bytes, not {}", der.len())),
        "rsa" => {
            let (_, spki) = SubjectPublicKeyInfo::from_der(der)
                .map_err(|e| format!("p= is not a SubjectPublicKeyInfo: {e}"))?;
            match spki.parsed() {
                Ok(PublicKey::RSA(rsa)) => Ok(rsa.key_size() as u32),
                Ok(_) => Err("k=rsa but the key is not RSA".to_owned()),
                Err(e) => Err(format!("the RSA key does not parse: {e}")),
            }
        }
        other => Err(format!("unknown key type k={other}")),
    }
}
