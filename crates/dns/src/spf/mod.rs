//! SPF (RFC 7208): the record at the domain, its syntax with positions, the
//! include/redirect tree with lookup counts, and `check_host()` for the MX
//! addresses and the declared outbound addresses.

pub mod eval;
mod macros;
pub mod parse;

use std::net::IpAddr;

use hickory_resolver::proto::rr::RecordType;
use mailwarden_model::SpfObservation;

pub use eval::{Case, check_host};

use crate::resolver::Resolver;

/// Observes the SPF of `domain`, evaluating each `(purpose, address, helo)`
/// case with the sender `postmaster@<domain>`.
pub async fn observe(
    resolver: &Resolver,
    domain: &str,
    cases: &[(&str, IpAddr, String)],
) -> SpfObservation {
    let txt = resolver.lookup(domain, RecordType::TXT).await;
    let records = eval::spf_records(&txt.lookup);
    let errors = eval::root_errors(&records);
    let terms = match records.as_slice() {
        [one] => parse::parse(one).terms,
        _ => Vec::new(),
    };
    let expansion = if records.is_empty() {
        None
    } else {
        Some(eval::expand_tree(resolver, domain, &txt.lookup).await)
    };
    let sender = format!("postmaster@{domain}");
    let mut checks = Vec::new();
    if !records.is_empty() {
        for (purpose, ip, helo) in cases {
            let case = Case {
                ip: *ip,
                sender: &sender,
                helo,
            };
            checks.push(check_host(resolver, domain, &case, purpose).await);
        }
    }
    SpfObservation {
        lookup: txt.lookup,
        records,
        errors,
        terms,
        expansion,
        checks,
    }
}
