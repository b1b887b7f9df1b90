//! `check_host()` (RFC 7208 §4) through the audit resolver, counting DNS
//! lookups and void lookups across includes and redirects (§4.6.4), and the
//! static walk of the include/redirect tree that needs no client address.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;

use hickory_resolver::proto::rr::{RData, RecordType};
use mailwarden_model::{DnsLookup, SpfCheck, SpfExpansion, SpfNode, SpfResult, SyntaxError};

use super::macros::{MacroContext, expand};
use super::parse::{self, Mechanism, Qualifier, Record};
use crate::resolver::Resolver;

/// RFC 7208 §4.6.4.
pub const LOOKUP_LIMIT: u32 = 10;
/// RFC 7208 §4.6.4.
pub const VOID_LIMIT: u32 = 2;
/// Bound on the static walk, so a pathological tree cannot run forever.
const WALK_LIMIT: u32 = 40;

/// The SPF records among a TXT answer.
pub fn spf_records(lookup: &DnsLookup) -> Vec<String> {
    lookup
        .usable()
        .iter()
        .filter(|t| parse::is_spf(t))
        .cloned()
        .collect()
}

/// One `check_host()` case.
pub struct Case<'a> {
    /// The client address.
    pub ip: IpAddr,
    /// MAIL FROM (or `postmaster@<helo>`).
    pub sender: &'a str,
    /// The HELO name ("" when unknown).
    pub helo: &'a str,
}

struct Eval<'a> {
    resolver: &'a Resolver,
    ip: IpAddr,
    sender: &'a str,
    helo: &'a str,
    lookups: u32,
    voids: u32,
}

type Outcome = (SpfResult, String);

/// Evaluates `check_host(ip, domain, sender)`.
pub async fn check_host(
    resolver: &Resolver,
    domain: &str,
    case: &Case<'_>,
    purpose: &str,
) -> SpfCheck {
    let mut eval = Eval {
        resolver,
        ip: case.ip,
        sender: case.sender,
        helo: case.helo,
        lookups: 0,
        voids: 0,
    };
    let (result, reason) = eval.host(domain.to_owned(), 0).await;
    SpfCheck {
        purpose: purpose.to_owned(),
        ip: case.ip,
        sender: case.sender.to_owned(),
        helo: (!case.helo.is_empty()).then(|| case.helo.to_owned()),
        result,
        reason,
        dns_lookups: eval.lookups,
        void_lookups: eval.voids,
    }
}

fn qualified(q: Qualifier) -> SpfResult {
    match q {
        Qualifier::Pass => SpfResult::Pass,
        Qualifier::Fail => SpfResult::Fail,
        Qualifier::SoftFail => SpfResult::Softfail,
        Qualifier::Neutral => SpfResult::Neutral,
    }
}

/// A match, no match, or an error that ends evaluation.
enum Step {
    Match,
    NoMatch,
    End(SpfResult, String),
}

impl<'a> Eval<'a> {
    fn host(
        &mut self,
        domain: String,
        depth: u32,
    ) -> Pin<Box<dyn Future<Output = Outcome> + Send + '_>> {
        Box::pin(async move {
            if depth > LOOKUP_LIMIT + 1 {
                return (SpfResult::Permerror, format!("{domain}: nesting too deep"));
            }
            let txt = self.resolver.lookup(&domain, RecordType::TXT).await;
            if txt.lookup.outcome.is_failure()
                || txt.lookup.dnssec == mailwarden_model::DnssecStatus::Bogus
            {
                return (SpfResult::Temperror, txt.lookup.summary());
            }
            let records = spf_records(&txt.lookup);
            let record = match records.as_slice() {
                [] => return (SpfResult::None, format!("{domain}: no SPF record")),
                [one] => one.clone(),
                _ => {
                    return (
                        SpfResult::Permerror,
                        format!("{domain}: {} SPF records (RFC 7208 §4.5)", records.len()),
                    );
                }
            };
            let parsed = parse::parse(&record);
            if let Some(e) = parsed.errors.first() {
                return (
                    SpfResult::Permerror,
                    format!("{domain}: syntax error at {}: {}", e.position, e.message),
                );
            }
            self.record(&domain, &parsed, depth).await
        })
    }

    async fn record(&mut self, domain: &str, rec: &Record, depth: u32) -> Outcome {
        for d in &rec.directives {
            match self.mechanism(domain, &d.mechanism, depth).await {
                Step::Match => return (qualified(d.qualifier), format!("{domain}: {}", d.text)),
                Step::NoMatch => {}
                Step::End(r, why) => return (r, why),
            }
        }
        let Some(redirect) = &rec.redirect else {
            return (
                SpfResult::Neutral,
                format!("{domain}: no mechanism matched"),
            );
        };
        if let Err(e) = self.count(domain, "redirect") {
            return e;
        }
        let Some(target) = self.expand(redirect, domain) else {
            return (
                SpfResult::Permerror,
                format!("{domain}: bad macro in redirect"),
            );
        };
        match self.host(target.clone(), depth + 1).await {
            (SpfResult::None, _) => (
                SpfResult::Permerror,
                format!("{domain}: redirect to {target}, which has no SPF record"),
            ),
            other => other,
        }
    }

    fn expand(&self, spec: &str, domain: &str) -> Option<String> {
        let cx = MacroContext {
            sender: self.sender,
            domain,
            ip: self.ip,
            helo: self.helo,
        };
        expand(spec, &cx)
    }

    fn count(&mut self, domain: &str, term: &str) -> Result<(), Outcome> {
        self.lookups += 1;
        if self.lookups > LOOKUP_LIMIT {
            return Err((
                SpfResult::Permerror,
                format!("{domain}: {term}: more than {LOOKUP_LIMIT} DNS lookups (RFC 7208 §4.6.4)"),
            ));
        }
        Ok(())
    }

    /// Counts a void lookup; an error past the limit.
    fn void(&mut self, domain: &str, lookup: &DnsLookup) -> Result<(), Step> {
        if lookup.outcome.is_negative() {
            self.voids += 1;
            if self.voids > VOID_LIMIT {
                return Err(Step::End(
                    SpfResult::Permerror,
                    format!("{domain}: more than {VOID_LIMIT} void lookups (RFC 7208 §4.6.4)"),
                ));
            }
        }
        if lookup.outcome.is_failure() {
            return Err(Step::End(SpfResult::Temperror, lookup.summary()));
        }
        Ok(())
    }

    async fn mechanism(&mut self, domain: &str, m: &Mechanism, depth: u32) -> Step {
        if m.queries_dns()
            && let Err((r, why)) = self.count(domain, "lookup")
        {
            return Step::End(r, why);
        }
        let target = |spec: &Option<String>, this: &Self| match spec {
            Some(s) => this.expand(s, domain),
            None => Some(domain.to_owned()),
        };
        match m {
            Mechanism::All => Step::Match,
            Mechanism::Ip4(net, len) => matches_net(self.ip, IpAddr::V4(*net), *len),
            Mechanism::Ip6(net, len) => matches_net(self.ip, IpAddr::V6(*net), *len),
            Mechanism::Include(spec) => {
                let Some(t) = self.expand(spec, domain) else {
                    return Step::End(SpfResult::Permerror, format!("{domain}: bad macro"));
                };
                match self.host(t.clone(), depth + 1).await {
                    (SpfResult::Pass, _) => Step::Match,
                    (SpfResult::Fail | SpfResult::Softfail | SpfResult::Neutral, _) => {
                        Step::NoMatch
                    }
                    (SpfResult::Temperror, why) => Step::End(SpfResult::Temperror, why),
                    (SpfResult::None, _) => Step::End(
                        SpfResult::Permerror,
                        format!("{domain}: include:{t} has no SPF record"),
                    ),
                    (SpfResult::Permerror, why) => Step::End(SpfResult::Permerror, why),
                }
            }
            Mechanism::A(spec, v4, v6) => {
                let Some(t) = target(spec, self) else {
                    return Step::End(SpfResult::Permerror, format!("{domain}: bad macro"));
                };
                self.address_match(domain, &t, *v4, *v6).await
            }
            Mechanism::Mx(spec, v4, v6) => {
                let Some(t) = target(spec, self) else {
                    return Step::End(SpfResult::Permerror, format!("{domain}: bad macro"));
                };
                let mx = self.resolver.lookup(&t, RecordType::MX).await;
                if let Err(step) = self.void(domain, &mx.lookup) {
                    return step;
                }
                let hosts: Vec<String> = mx
                    .data
                    .iter()
                    .filter_map(|d| match d {
                        RData::MX(mx) => Some(mx.exchange.to_ascii()),
                        _ => None,
                    })
                    .collect();
                if hosts.len() > 10 {
                    return Step::End(
                        SpfResult::Permerror,
                        format!("{domain}: mx:{t} has more than 10 MX hosts"),
                    );
                }
                for h in hosts {
                    match self.address_match(domain, &h, *v4, *v6).await {
                        Step::NoMatch => {}
                        other => return other,
                    }
                }
                Step::NoMatch
            }
            Mechanism::Exists(spec) => {
                let Some(t) = self.expand(spec, domain) else {
                    return Step::End(SpfResult::Permerror, format!("{domain}: bad macro"));
                };
                let a = self.resolver.lookup(&t, RecordType::A).await;
                if let Err(step) = self.void(domain, &a.lookup) {
                    return step;
                }
                if a.data.is_empty() {
                    Step::NoMatch
                } else {
                    Step::Match
                }
            }
            Mechanism::Ptr(spec) => {
                let Some(t) = target(spec, self) else {
                    return Step::End(SpfResult::Permerror, format!("{domain}: bad macro"));
                };
                self.ptr_match(&t).await
            }
        }
    }

    async fn address_match(&mut self, domain: &str, host: &str, v4: u8, v6: u8) -> Step {
        let (rtype, len) = match self.ip {
            IpAddr::V4(_) => (RecordType::A, v4),
            IpAddr::V6(_) => (RecordType::AAAA, v6),
        };
        let answer = self.resolver.lookup(host, rtype).await;
        if let Err(step) = self.void(domain, &answer.lookup) {
            return step;
        }
        for d in &answer.data {
            let ip = match d {
                RData::A(a) => IpAddr::V4(a.0),
                RData::AAAA(a) => IpAddr::V6(a.0),
                _ => continue,
            };
            if let Step::Match = matches_net(self.ip, ip, len) {
                return Step::Match;
            }
        }
        Step::NoMatch
    }

    /// RFC 7208 §5.5: validated PTR names (at most 10) ending in the target.
    async fn ptr_match(&mut self, target: &str) -> Step {
        let rev = reverse_name(self.ip);
        let ptr = self.resolver.lookup(&rev, RecordType::PTR).await;
        let names: Vec<String> = ptr
            .data
            .iter()
            .filter_map(|d| match d {
                RData::PTR(p) => Some(p.0.to_ascii().trim_end_matches('.').to_ascii_lowercase()),
                _ => None,
            })
            .take(10)
            .collect();
        let target = target.trim_end_matches('.').to_ascii_lowercase();
        for name in names {
            if name != target && !name.ends_with(&format!(".{target}")) {
                continue;
            }
            let (_, ips) = crate::resolver::addresses(self.resolver, &name).await;
            if ips.contains(&self.ip) {
                return Step::Match;
            }
        }
        Step::NoMatch
    }
}

fn matches_net(ip: IpAddr, net: IpAddr, len: u8) -> Step {
    let within = match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = if len == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(len.min(32)))
            };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = if len == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(len.min(128)))
            };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    };
    if within { Step::Match } else { Step::NoMatch }
}

/// The reverse-lookup name of an address (in-addr.arpa / ip6.arpa).
pub fn reverse_name(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.{}.in-addr.arpa", o[3], o[2], o[1], o[0])
        }
        IpAddr::V6(v6) => {
            let mut s = String::new();
            for b in v6.octets().iter().rev() {
                s.push_str(&format!("{:x}.{:x}.", b & 0xf, b >> 4));
            }
            s.push_str("ip6.arpa");
            s
        }
    }
}

/// Walks the include/redirect tree of `domain` without a client address:
/// every DNS-querying term counted, includes and redirects followed, void
/// lookups of include/redirect/a/mx targets counted, loops noted.
pub async fn expand_tree(resolver: &Resolver, domain: &str, root: &DnsLookup) -> SpfExpansion {
    let mut walk = Walk {
        resolver,
        out: SpfExpansion {
            dns_lookups: 0,
            void_lookups: 0,
            nodes: Vec::new(),
            loops: Vec::new(),
            ptr_terms: 0,
        },
        path: Vec::new(),
    };
    walk.node(
        domain.to_owned(),
        0,
        "record".to_owned(),
        Some(root.clone()),
    )
    .await;
    walk.out
}

struct Walk<'a> {
    resolver: &'a Resolver,
    out: SpfExpansion,
    path: Vec<String>,
}

impl Walk<'_> {
    fn node(
        &mut self,
        domain: String,
        depth: u32,
        via: String,
        known: Option<DnsLookup>,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            let lookup = match known {
                Some(l) => l,
                None => self.resolver.lookup(&domain, RecordType::TXT).await.lookup,
            };
            if depth > 0 && lookup.outcome.is_negative() {
                self.out.void_lookups += 1;
            }
            let records = spf_records(&lookup);
            let parsed = records.first().map(|r| parse::parse(r));
            self.out.nodes.push(SpfNode {
                domain: domain.clone(),
                depth,
                via,
                lookup,
                record: records.first().cloned(),
                record_count: records.len() as u32,
                errors: parsed
                    .as_ref()
                    .map(|p| p.errors.clone())
                    .unwrap_or_default(),
            });
            let Some(parsed) = parsed else {
                return;
            };
            self.path.push(domain.to_ascii_lowercase());
            for d in &parsed.directives {
                if d.mechanism.queries_dns() {
                    self.out.dns_lookups += 1;
                }
                match &d.mechanism {
                    Mechanism::Ptr(_) => self.out.ptr_terms += 1,
                    Mechanism::Include(spec) => {
                        self.follow(spec, depth, "include").await;
                    }
                    Mechanism::A(spec, ..) | Mechanism::Mx(spec, ..) => {
                        let target = spec.clone().unwrap_or_else(|| domain.clone());
                        if !target.contains('%') && self.out.dns_lookups <= WALK_LIMIT {
                            self.void_check(&target, &d.mechanism).await;
                        }
                    }
                    _ => {}
                }
            }
            if let Some(r) = &parsed.redirect {
                self.out.dns_lookups += 1;
                self.follow(r, depth, "redirect").await;
            }
            self.path.pop();
        })
    }

    async fn follow(&mut self, spec: &str, depth: u32, via: &str) {
        if spec.contains('%') || self.out.dns_lookups > WALK_LIMIT {
            return; // depends on the sender or the address: only evaluation can tell
        }
        let target = spec.trim_end_matches('.').to_ascii_lowercase();
        if self.path.contains(&target) {
            if !self.out.loops.contains(&target) {
                self.out.loops.push(target);
            }
            return;
        }
        self.node(target, depth + 1, via.to_owned(), None).await;
    }

    async fn void_check(&mut self, target: &str, m: &Mechanism) {
        let negative = match m {
            Mechanism::Mx(..) => self
                .resolver
                .lookup(target, RecordType::MX)
                .await
                .lookup
                .outcome
                .is_negative(),
            _ => {
                let (a, aaaa) = futures::join!(
                    self.resolver.lookup(target, RecordType::A),
                    self.resolver.lookup(target, RecordType::AAAA)
                );
                a.lookup.outcome.is_negative() && aaaa.lookup.outcome.is_negative()
            }
        };
        if negative {
            self.out.void_lookups += 1;
        }
    }
}

/// Syntax errors of the root record, for the observation.
pub fn root_errors(records: &[String]) -> Vec<SyntaxError> {
    match records {
        [one] => parse::parse(one).errors,
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks() {
        let ip: IpAddr = "192.0.2.77".parse().unwrap();
        assert!(matches!(
            matches_net(ip, "192.0.2.0".parse().unwrap(), 24),
            Step::Match
        ));
        assert!(matches!(
            matches_net(ip, "192.0.3.0".parse().unwrap(), 24),
            Step::NoMatch
        ));
        assert!(matches!(
            matches_net(ip, "0.0.0.0".parse().unwrap(), 0),
            Step::Match
        ));
        assert!(matches!(
            matches_net(ip, "::".parse().unwrap(), 0),
            Step::NoMatch
        ));
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert!(matches!(
            matches_net(v6, "2001:db8::".parse().unwrap(), 32),
            Step::Match
        ));
        assert_eq!(
            reverse_name("192.0.2.1".parse().unwrap()),
            "1.2.0.192.in-addr.arpa"
        );
        assert!(reverse_name("::1".parse().unwrap()).starts_with("1.0.0.0."));
    }
}
