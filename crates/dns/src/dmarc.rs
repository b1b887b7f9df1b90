//! DMARC (RFC 7489): policy discovery through the organizational domain
//! (public suffix list, the `psl` crate), tags, and the authorization of
//! external report destinations (§7.1).

use hickory_resolver::proto::rr::RecordType;
use mailwarden_model::{
    DmarcExternalDestination, DmarcObservation, DmarcPolicy, DnsLookup, SyntaxError,
};

use crate::resolver::Resolver;
use crate::tags::{self, Tag};

/// The organizational domain of `domain` (RFC 7489 §3.2): the registrable
/// domain under the public suffix list; the name itself when it is a suffix.
pub fn organizational_domain(domain: &str) -> String {
    let d = domain.trim_end_matches('.').to_ascii_lowercase();
    match psl::domain_str(&d) {
        Some(org) => org.to_owned(),
        None => d,
    }
}

fn dmarc_records(lookup: &DnsLookup) -> Vec<String> {
    lookup
        .usable()
        .iter()
        .filter(|t| {
            let t = t.trim_start();
            t.starts_with("v=DMARC1") && matches!(t.as_bytes().get(8), None | Some(b';' | b' '))
        })
        .cloned()
        .collect()
}

/// Observes the DMARC policy that applies to `domain`.
pub async fn observe(resolver: &Resolver, domain: &str) -> DmarcObservation {
    let org = organizational_domain(domain);
    let lookup = resolver
        .lookup(&format!("_dmarc.{domain}"), RecordType::TXT)
        .await
        .lookup;
    let mut records = dmarc_records(&lookup);
    let mut found_at = (!records.is_empty()).then(|| domain.to_owned());
    let mut org_lookup = None;
    // Fall back to the organizational domain only when the domain's answer is
    // a real "no record": after a failure nothing may be concluded.
    if records.is_empty() && !lookup.outcome.is_failure() && org != domain {
        let l = resolver
            .lookup(&format!("_dmarc.{org}"), RecordType::TXT)
            .await
            .lookup;
        records = dmarc_records(&l);
        if !records.is_empty() {
            found_at = Some(org.clone());
        }
        org_lookup = Some(l);
    }
    let (policy, errors) = match records.as_slice() {
        [one] => parse_policy(one),
        _ => (None, Vec::new()),
    };
    let mut external_destinations = Vec::new();
    if let (Some(p), Some(at)) = (&policy, &found_at) {
        for uri in p.rua.iter().chain(&p.ruf) {
            if let Some(dest) = external(resolver, at, &org, uri).await
                && !external_destinations
                    .iter()
                    .any(|d: &DmarcExternalDestination| d.domain == dest.domain)
            {
                external_destinations.push(dest);
            }
        }
    }
    DmarcObservation {
        lookup,
        organizational_domain: org,
        org_lookup,
        records,
        found_at,
        policy,
        errors,
        external_destinations,
    }
}

/// The domain of a `mailto:` report URI (`mailto:a@b.example!10m`).
pub fn uri_domain(uri: &str) -> Option<String> {
    let rest = uri.trim().strip_prefix("mailto:")?;
    let addr = rest.split('!').next()?;
    let (_, domain) = addr.rsplit_once('@')?;
    Some(domain.trim_end_matches('.').to_ascii_lowercase())
}

async fn external(
    resolver: &Resolver,
    policy_domain: &str,
    org: &str,
    uri: &str,
) -> Option<DmarcExternalDestination> {
    let dest = uri_domain(uri)?;
    if organizational_domain(&dest) == org {
        return None;
    }
    let lookup = resolver
        .lookup(
            &format!("{policy_domain}._report._dmarc.{dest}"),
            RecordType::TXT,
        )
        .await
        .lookup;
    let authorized = !dmarc_records(&lookup).is_empty();
    Some(DmarcExternalDestination {
        uri: uri.to_owned(),
        domain: dest,
        lookup,
        authorized,
    })
}

fn error(tag: &Tag, message: String) -> SyntaxError {
    SyntaxError {
        position: tag.position,
        message,
    }
}

/// Parses a DMARC record's tags (RFC 7489 §6.3).
pub fn parse_policy(record: &str) -> (Option<DmarcPolicy>, Vec<SyntaxError>) {
    let (tags, mut errors) = tags::parse(record);
    if tags
        .first()
        .is_none_or(|t| t.name != "v" || t.value != "DMARC1")
    {
        errors.push(SyntaxError {
            position: 0,
            message: "the record must start with \"v=DMARC1\"".to_owned(),
        });
    }
    let mut policy = DmarcPolicy {
        p: None,
        sp: None,
        pct: 100,
        rua: Vec::new(),
        ruf: Vec::new(),
        adkim: "r".to_owned(),
        aspf: "r".to_owned(),
        tags: tags
            .iter()
            .map(|t| (t.name.clone(), t.value.clone()))
            .collect(),
    };
    for t in &tags {
        let v = t.value.as_str();
        match t.name.to_ascii_lowercase().as_str() {
            "p" | "sp" => {
                let lower = v.to_ascii_lowercase();
                if !matches!(lower.as_str(), "none" | "quarantine" | "reject") {
                    errors.push(error(
                        t,
                        format!("{}={v:?}: use none, quarantine or reject", t.name),
                    ));
                } else if t.name.eq_ignore_ascii_case("p") {
                    policy.p = Some(lower);
                } else {
                    policy.sp = Some(lower);
                }
            }
            "pct" => match v.parse::<u8>() {
                Ok(n) if n <= 100 => policy.pct = n,
                _ => errors.push(error(t, format!("pct={v:?} is not 0 to 100"))),
            },
            "adkim" | "aspf" => {
                let lower = v.to_ascii_lowercase();
                if lower != "r" && lower != "s" {
                    errors.push(error(t, format!("{}={v:?}: use r or s", t.name)));
                } else if t.name.eq_ignore_ascii_case("adkim") {
                    policy.adkim = lower;
                } else {
                    policy.aspf = lower;
                }
            }
            "rua" | "ruf" => {
                let uris: Vec<String> = v.split(',').map(|u| u.trim().to_owned()).collect();
                for u in &uris {
                    let scheme_ok = u.contains(':') && !u.starts_with(':');
                    if !scheme_ok {
                        errors.push(error(t, format!("{u:?} is not a URI")));
                    }
                }
                if t.name.eq_ignore_ascii_case("rua") {
                    policy.rua = uris;
                } else {
                    policy.ruf = uris;
                }
            }
            "v" | "fo" | "rf" | "ri" => {}
            other => errors.push(error(t, format!("unknown tag {other:?}"))),
        }
    }
    if policy.p.is_none() && !errors.iter().any(|e| e.message.starts_with("p=")) {
        errors.push(SyntaxError {
            position: record.len(),
            message: "the required tag \"p\" is missing".to_owned(),
        });
    }
    (Some(policy), errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn org_domains() {
        assert_eq!(organizational_domain("mail.example.co.uk"), "example.co.uk");
        assert_eq!(organizational_domain("a.b.example.org."), "example.org");
        assert_eq!(organizational_domain("weak.test"), "weak.test");
        assert_eq!(organizational_domain("sub.mail.test"), "mail.test");
    }

    #[test]
    fn policies() {
        let (p, e) = parse_policy(
            "v=DMARC1; p=reject; sp=quarantine; pct=50; rua=mailto:d@rep.example!10m,mailto:x@y.example",
        );
        assert!(e.is_empty(), "{e:?}");
        let p = p.unwrap();
        assert_eq!(p.p.as_deref(), Some("reject"));
        assert_eq!(p.sp.as_deref(), Some("quarantine"));
        assert_eq!(p.pct, 50);
        assert_eq!(p.rua.len(), 2);
        assert_eq!(uri_domain(&p.rua[0]).as_deref(), Some("rep.example"));
        let (_, e) = parse_policy("v=DMARC1; p=block; pct=200");
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].position, 10);
        let (_, e) = parse_policy("p=none; v=DMARC1");
        assert!(e.iter().any(|e| e.message.contains("must start")));
        let (_, e) = parse_policy("v=DMARC1; rua=mailto:a@b.example");
        assert!(e.iter().any(|e| e.message.contains("\"p\" is missing")));
    }
}
