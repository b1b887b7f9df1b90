//! Turning a target (host name or IP literal) into addresses.

use std::net::IpAddr;
use std::time::Duration;

use mailwarden_model::{Attempt, FailureKind};

/// Parses an IP literal, with or without brackets (`[::1]`).
fn ip_literal(target: &str) -> Option<IpAddr> {
    let t = target
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(target);
    t.parse().ok()
}

/// Resolves a target with the system resolver (A and AAAA), within `timeout`.
/// Duplicates are removed; order is kept (IPv6 and IPv4 as the resolver gives them).
pub async fn resolve(target: &str, timeout: Duration) -> Attempt<Vec<IpAddr>> {
    if let Some(ip) = ip_literal(target) {
        return Attempt::completed(vec![ip]);
    }
    if target.is_empty() || target.len() > 253 || target.contains(['/', ' ', ':']) {
        return Attempt::failed(
            FailureKind::Unresolvable,
            format!("{target:?} is neither a host name nor an IP address"),
        );
    }
    match tokio::time::timeout(timeout, tokio::net::lookup_host((target, 0))).await {
        Err(_) => Attempt::failed(
            FailureKind::IoTimeout,
            format!("resolving {target} took longer than {}s", timeout.as_secs()),
        ),
        Ok(Err(e)) => Attempt::failed(
            FailureKind::Unresolvable,
            format!("{target} does not resolve: {e}"),
        ),
        Ok(Ok(addrs)) => {
            let mut ips: Vec<IpAddr> = Vec::new();
            for a in addrs {
                if !ips.contains(&a.ip()) {
                    ips.push(a.ip());
                }
            }
            if ips.is_empty() {
                Attempt::failed(
                    FailureKind::Unresolvable,
                    format!("{target} has no A or AAAA record"),
                )
            } else {
                Attempt::completed(ips)
            }
        }
    }
}

/// The name certificates are checked against: `--name` when given, else the
/// target itself (an IP literal without brackets).
pub fn check_name_for(target: &str, name_override: Option<&str>) -> String {
    if let Some(n) = name_override {
        return n.trim_end_matches('.').to_owned();
    }
    match ip_literal(target) {
        Some(ip) => ip.to_string(),
        None => target.trim_end_matches('.').to_ascii_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn literals_and_bad_names() {
        assert_eq!(
            resolve("127.0.0.1", Duration::from_secs(1))
                .await
                .value()
                .unwrap(),
            &["127.0.0.1".parse::<IpAddr>().unwrap()]
        );
        assert_eq!(
            resolve("[::1]", Duration::from_secs(1))
                .await
                .value()
                .unwrap(),
            &["::1".parse::<IpAddr>().unwrap()]
        );
        let bad = resolve("no such host", Duration::from_secs(1)).await;
        assert_eq!(bad.failure().unwrap().kind, FailureKind::Unresolvable);
        let nx = resolve("does-not-exist.invalid", Duration::from_secs(5)).await;
        assert!(nx.failure().is_some(), "{nx:?}");
        assert_eq!(check_name_for("[::1]", None), "::1");
        assert_eq!(check_name_for("MX.Example.org.", None), "mx.example.org");
        assert_eq!(check_name_for("127.0.0.1", Some("mail.test")), "mail.test");
    }
}
