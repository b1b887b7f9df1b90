//! DKIM key rules (RFC 6376, RFC 8301).

use mailwarden_model::{DkimObservation, Severity};

use super::{DomainHit, DomainView, at, dns_fix, facts, lookup_evidence, rule};
use crate::Family;
use crate::catalogue::{Reference, Rule};

fn key_hit(v: &DomainView<'_>, d: &DkimObservation, summary: String) -> DomainHit {
    DomainHit::domain(v, summary, vec![lookup_evidence(&d.lookup)])
}

fn rsa_bits(d: &DkimObservation) -> Option<u32> {
    let k = d.key.as_ref()?;
    (k.key_type == "rsa" && !k.revoked)
        .then_some(k.bits)
        .flatten()
}

/// MW-DKIM-001.
pub(crate) const DKIM_KEY_TOO_WEAK: Rule = rule(
    "MW-DKIM-001",
    "dkim-key-too-weak",
    Family::Dkim,
    "A DKIM key is RSA under 1024 bits",
    at(Severity::High),
    "RFC 8301 forbids verifying with RSA keys under 1024 bits: receivers treat the signatures as \
     invalid, and such keys can be factored by anyone with modest means.",
    dns_fix(
        "Generate an RSA-2048 (or Ed25519 alongside RSA) key under a new selector, sign with \
             it, then remove the old key.",
    ),
    &[Reference::rfc(
        "RFC 8301",
        "3.2",
        "RSA keys of at least 1024 bits; 2048 recommended",
    )],
    too_weak,
);

fn too_weak(v: &DomainView<'_>) -> Vec<DomainHit> {
    v.obs
        .dkim
        .iter()
        .filter_map(|d| rsa_bits(d).filter(|b| *b < 1024).map(|b| (d, b)))
        .map(|(d, b)| key_hit(v, d, format!("DKIM key {} is RSA-{b}", d.selector)))
        .collect()
}

/// MW-DKIM-002.
pub(crate) const DKIM_KEY_SHORT: Rule = rule(
    "MW-DKIM-002",
    "dkim-key-short",
    Family::Dkim,
    "A DKIM key is RSA under 2048 bits",
    at(Severity::Medium),
    "RSA-1024 is still accepted but below what RFC 8301 recommends and within reach of \
     well-funded attackers; a factored key lets anyone sign mail as the domain.",
    dns_fix("Rotate to an RSA-2048 key under a new selector."),
    &[Reference::rfc(
        "RFC 8301",
        "3.2",
        "signers should use 2048-bit keys",
    )],
    short,
);

fn short(v: &DomainView<'_>) -> Vec<DomainHit> {
    v.obs
        .dkim
        .iter()
        .filter_map(|d| {
            rsa_bits(d)
                .filter(|b| (1024..2048).contains(b))
                .map(|b| (d, b))
        })
        .map(|(d, b)| key_hit(v, d, format!("DKIM key {} is RSA-{b}", d.selector)))
        .collect()
}

/// MW-DKIM-003.
pub(crate) const DKIM_TESTING: Rule = rule(
    "MW-DKIM-003",
    "dkim-testing-mode",
    Family::Dkim,
    "A DKIM key is flagged as testing (`t=y`)",
    at(Severity::Low),
    "Receivers must not treat mail signed with a testing key differently from unsigned mail.",
    dns_fix("Remove `t=y` from the key record once signing works."),
    &[Reference::rfc(
        "RFC 6376",
        "3.6.1",
        "t=y: the domain is testing DKIM",
    )],
    testing,
);

fn testing(v: &DomainView<'_>) -> Vec<DomainHit> {
    v.obs
        .dkim
        .iter()
        .filter(|d| d.key.as_ref().is_some_and(|k| k.testing && !k.revoked))
        .map(|d| {
            key_hit(
                v,
                d,
                format!("DKIM key {} is in testing mode (t=y)", d.selector),
            )
        })
        .collect()
}

/// MW-DKIM-004.
pub(crate) const DKIM_REVOKED: Rule = rule(
    "MW-DKIM-004",
    "dkim-key-revoked",
    Family::Dkim,
    "A DKIM selector publishes a revoked key (empty `p=`)",
    at(Severity::Info),
    "Revoking a retired key is the right thing to do; reported so a revoked selector still in use \
     by a signer is noticed.",
    dns_fix("Nothing, unless a signer still uses this selector: then give it a current key."),
    &[Reference::rfc(
        "RFC 6376",
        "3.6.1",
        "an empty p= means the key was revoked",
    )],
    revoked,
);

fn revoked(v: &DomainView<'_>) -> Vec<DomainHit> {
    v.obs
        .dkim
        .iter()
        .filter(|d| d.key.as_ref().is_some_and(|k| k.revoked))
        .map(|d| key_hit(v, d, format!("DKIM key {} is revoked", d.selector)))
        .collect()
}

/// MW-DKIM-005.
pub(crate) const DKIM_SELECTOR_NOT_FOUND: Rule = rule(
    "MW-DKIM-005",
    "dkim-selector-not-found",
    Family::Dkim,
    "A DKIM selector that was named has no key",
    at(Severity::Medium),
    "The selector was given as in use (`--dkim-selector` or the policy), yet no key record exists: \
     signatures made with it fail verification.",
    dns_fix(
        "Publish the selector's public key at `<selector>._domainkey.<domain>`, or fix the \
             signer's selector.",
    ),
    &[Reference::rfc(
        "RFC 6376",
        "3.6.2.1",
        "key records live at <selector>._domainkey",
    )],
    not_found,
);

fn not_found(v: &DomainView<'_>) -> Vec<DomainHit> {
    v.obs
        .dkim
        .iter()
        .filter(|d| d.source == "given" && d.key.is_none() && !d.lookup.outcome.is_failure())
        .map(|d| key_hit(v, d, format!("DKIM selector {} has no key", d.selector)))
        .collect()
}

/// MW-DKIM-006.
pub(crate) const DKIM_KEY_INVALID: Rule = rule(
    "MW-DKIM-006",
    "dkim-key-invalid",
    Family::Dkim,
    "A DKIM key record is malformed",
    at(Severity::High),
    "A key that does not parse makes every signature made with it fail.",
    dns_fix("Republish the key record: `v=DKIM1; k=rsa; p=<base64 SubjectPublicKeyInfo>`."),
    &[Reference::rfc("RFC 6376", "3.6.1", "the key record's tags")],
    invalid,
);

fn invalid(v: &DomainView<'_>) -> Vec<DomainHit> {
    v.obs
        .dkim
        .iter()
        .filter_map(|d| {
            let k = d.key.as_ref()?;
            let e = k.errors.first()?;
            Some(DomainHit::domain(
                v,
                format!(
                    "DKIM key {} is malformed at {}: {}",
                    d.selector, e.position, e.message
                ),
                vec![lookup_evidence(&d.lookup)],
            ))
        })
        .collect()
}

/// MW-DKIM-007.
pub(crate) const DKIM_NONE_FOUND: Rule = rule(
    "MW-DKIM-007",
    "dkim-no-key-found",
    Family::Dkim,
    "No DKIM key was found under the selectors tried",
    at(Severity::Info),
    "Selectors are arbitrary names, so this proves nothing: give the real ones with \
     `--dkim-selector` to have their keys checked.",
    dns_fix("Run again with `--dkim-selector NAME` for each selector your signers use."),
    &[Reference::rfc("RFC 6376", "3.1", "selectors")],
    none_found,
);

fn none_found(v: &DomainView<'_>) -> Vec<DomainHit> {
    let any_given = v.obs.dkim.iter().any(|d| d.source == "given");
    let all_concluded = v.obs.dkim.iter().all(|d| !d.lookup.outcome.is_failure());
    if any_given || !all_concluded || v.obs.dkim.iter().any(|d| d.key.is_some()) || v.obs.mx.null_mx
    {
        return Vec::new();
    }
    let tried: Vec<&str> = v.obs.dkim.iter().map(|d| d.selector.as_str()).collect();
    vec![DomainHit::domain(
        v,
        format!("no DKIM key under the {} common selectors", tried.len()),
        vec![facts("selectors tried", tried)],
    )]
}
