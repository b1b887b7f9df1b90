//! Forward-confirmed reverse DNS: the PTR of an address names a host whose
//! A/AAAA records contain the address again.

use std::net::IpAddr;

use hickory_resolver::proto::rr::{RData, RecordType};
use mailwarden_model::FcrdnsObservation;

use crate::resolver::{Resolver, addresses};
use crate::spf::eval::reverse_name;

/// Checks one address of an MX host.
pub async fn observe(resolver: &Resolver, host: &str, ip: IpAddr) -> FcrdnsObservation {
    let ptr = resolver.lookup(&reverse_name(ip), RecordType::PTR).await;
    let names: Vec<String> = ptr
        .data
        .iter()
        .filter_map(|d| match d {
            RData::PTR(p) => Some(p.0.to_ascii().trim_end_matches('.').to_ascii_lowercase()),
            _ => None,
        })
        .take(10)
        .collect();
    let mut forward = Vec::new();
    let mut confirmed = Vec::new();
    for name in names {
        let (lookups, ips) = addresses(resolver, &name).await;
        forward.extend(lookups);
        if ips.contains(&ip) {
            confirmed.push(name);
        }
    }
    FcrdnsObservation {
        host: host.to_owned(),
        address: ip,
        ptr: ptr.lookup,
        forward,
        confirmed,
    }
}
