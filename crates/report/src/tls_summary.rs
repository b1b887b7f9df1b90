//! The compact summary of each endpoint's TLS enumeration, printed under
//! the address's table: versions with their suite counts, weak classes,
//! groups, certificate keys, features and the connections it took.
//!
//! ```text
//! TLS enumeration (full; accepted means the server chose it in a ServerHello):
//!   port 25    TLSv1.3: 3 suites, client order · TLSv1.2: 71 suites, client order · refused: SSLv2, SSLv3, TLSv1.0, TLSv1.1 · 93 connections
//!              weak: 15 anonymous, 14 without forward secrecy, DH 1024–3072 bits
//!              groups: x25519, x448, secp256r1, secp521r1, secp384r1 · keys: ecdsa P-256, rsa 2048
//!              secure renegotiation · no compression · EMS · no OCSP stapling · session tickets · fallback SCSV honoured · no heartbeat
//! ```

use std::fmt::Write as _;

use mailwarden_model::{
    Attempt, CipherOrder, EndpointObservation, FallbackOutcome, HeartbleedOutcome, SuiteFlag,
    SupportStatus, TlsScan, VersionScan,
};

use crate::findings::escape;

/// The weak classes counted in the summary, with their words.
const WEAK: [(SuiteFlag, &str); 6] = [
    (SuiteFlag::Null, "NULL"),
    (SuiteFlag::Anonymous, "anonymous"),
    (SuiteFlag::Export, "EXPORT"),
    (SuiteFlag::Rc4, "RC4"),
    (SuiteFlag::Des, "DES"),
    (SuiteFlag::TripleDes, "3DES"),
];

/// Appends the summary of every endpoint of `rows` that has an
/// enumeration; nothing when none has.
pub(crate) fn render(out: &mut String, rows: &[&EndpointObservation]) {
    let scans: Vec<(&EndpointObservation, &Attempt<TlsScan>)> = rows
        .iter()
        .filter_map(|o| o.tls_scan.as_ref().map(|s| (*o, s)))
        .collect();
    let Some(mode) = scans
        .iter()
        .find_map(|(_, s)| s.value().map(|v| v.mode.as_str()))
    else {
        if scans.is_empty() {
            return;
        }
        let _ = writeln!(out, "TLS enumeration:");
        for (obs, attempt) in scans {
            let _ = writeln!(out, "  {:<11}{}", port_label(obs), not_enumerated(attempt));
        }
        return;
    };
    let _ = writeln!(
        out,
        "TLS enumeration ({mode}; accepted means the server chose it in a ServerHello):"
    );
    for (obs, attempt) in scans {
        let Some(scan) = attempt.value() else {
            let _ = writeln!(out, "  {:<11}{}", port_label(obs), not_enumerated(attempt));
            continue;
        };
        let mut lines = vec![versions_line(scan)];
        lines.extend(weak_line(scan));
        lines.extend(groups_and_keys(scan));
        lines.push(features_line(scan));
        for (i, line) in lines.iter().enumerate() {
            let label = if i == 0 {
                port_label(obs)
            } else {
                String::new()
            };
            let _ = writeln!(out, "  {label:<11}{line}");
        }
    }
}

fn port_label(obs: &EndpointObservation) -> String {
    format!("port {}", obs.address.port())
}

fn not_enumerated(attempt: &Attempt<TlsScan>) -> String {
    match attempt {
        Attempt::Completed { .. } => String::new(),
        Attempt::Failed { error } => format!("not enumerated: {}", escape(&error.to_string())),
        Attempt::Skipped { reason } => format!("not enumerated: {}", escape(reason)),
    }
}

fn versions_line(scan: &TlsScan) -> String {
    let mut parts: Vec<String> = scan
        .versions
        .iter()
        .rev()
        .filter(|v| v.accepted())
        .map(version_part)
        .collect();
    let with = |status: SupportStatus| -> Vec<String> {
        scan.versions
            .iter()
            .filter(|v| v.status == status)
            .map(|v| v.version.to_string())
            .collect()
    };
    for (status, word) in [
        (SupportStatus::Refused, "refused"),
        (SupportStatus::Throttled, "throttled"),
        (SupportStatus::Error, "not determined"),
    ] {
        let list = with(status);
        if !list.is_empty() {
            parts.push(format!("{word}: {}", list.join(", ")));
        }
    }
    let connections = if scan.connections == 1 {
        "1 connection".to_owned()
    } else {
        format!("{} connections", scan.connections)
    };
    parts.push(connections);
    parts.join(" · ")
}

fn version_part(v: &VersionScan) -> String {
    let n = if v.sslv2_ciphers.is_empty() {
        v.suites.len()
    } else {
        v.sslv2_ciphers.len()
    };
    let count = match (n, v.suites_complete) {
        (1, true) => "1 suite".to_owned(),
        (n, true) => format!("{n} suites"),
        (n, false) => format!("{n} seen"),
    };
    let order = match v.server_order {
        Some(CipherOrder::Server) => ", server order",
        Some(CipherOrder::Client) => ", client order",
        None => "",
    };
    format!("{}: {count}{order}", v.version)
}

fn weak_line(scan: &TlsScan) -> Option<String> {
    let suites: Vec<_> = scan.accepted_suites().map(|(_, s)| s).collect();
    let mut parts: Vec<String> = WEAK
        .iter()
        .filter_map(|(flag, word)| {
            let n = suites.iter().filter(|s| s.has(*flag)).count();
            (n > 0).then(|| format!("{n} {word}"))
        })
        .collect();
    let static_kx = suites
        .iter()
        .filter(|s| {
            !s.has(SuiteFlag::ForwardSecrecy)
                && !s.has(SuiteFlag::Anonymous)
                && !s.has(SuiteFlag::Null)
                && s.kx != "TLS13"
        })
        .count();
    if static_kx > 0 {
        parts.push(format!("{static_kx} without forward secrecy"));
    }
    let dh: Vec<u32> = suites.iter().filter_map(|s| s.dh_bits).collect();
    if let (Some(min), Some(max)) = (dh.iter().min(), dh.iter().max()) {
        parts.push(if min == max {
            format!("DH {min} bits")
        } else {
            format!("DH {min}–{max} bits")
        });
    }
    (!parts.is_empty()).then(|| format!("weak: {}", parts.join(", ")))
}

fn groups_and_keys(scan: &TlsScan) -> Option<String> {
    let mut parts = Vec::new();
    let best = scan
        .versions
        .iter()
        .rev()
        .find_map(|v| v.groups.as_ref().filter(|g| !g.groups.is_empty()));
    if let Some(g) = best {
        let names: Vec<String> = g.groups.iter().map(|g| escape(&g.to_string())).collect();
        parts.push(format!("groups: {}", names.join(", ")));
    }
    if !scan.certificate_keys.is_empty() {
        let keys: Vec<String> = scan
            .certificate_keys
            .iter()
            .map(|k| {
                let detail = k
                    .public_key
                    .as_ref()
                    .and_then(|p| p.curve.clone().or_else(|| p.bits.map(|b| b.to_string())));
                match detail {
                    Some(d) => format!("{} {}", escape(&k.key_type), escape(&d)),
                    None => escape(&k.key_type),
                }
            })
            .collect();
        parts.push(format!("keys: {}", keys.join(", ")));
    }
    (!parts.is_empty()).then(|| parts.join(" · "))
}

fn features_line(scan: &TlsScan) -> String {
    let f = &scan.features;
    let mut parts = Vec::new();
    let flag =
        |v: Option<bool>, yes: &str, no: &str| v.map(|v| if v { yes } else { no }.to_owned());
    parts.extend(flag(
        f.secure_renegotiation,
        "secure renegotiation",
        "NO secure renegotiation",
    ));
    parts.extend(flag(f.compression, "COMPRESSION", "no compression"));
    parts.extend(flag(f.extended_master_secret, "EMS", "no EMS"));
    parts.extend(flag(f.ocsp_stapling, "OCSP stapling", "no OCSP stapling"));
    parts.extend(flag(
        f.session_ticket,
        "session tickets",
        "no session tickets",
    ));
    if let Some(fb) = &f.fallback_scsv {
        parts.push(
            match fb.outcome {
                FallbackOutcome::Refused => "fallback SCSV honoured",
                FallbackOutcome::Accepted => "fallback SCSV IGNORED",
                FallbackOutcome::Inconclusive => "fallback SCSV not determined",
            }
            .to_owned(),
        );
    }
    match (&f.heartbleed, f.heartbeat) {
        (Some(h), _) => parts.push(match h.outcome {
            HeartbleedOutcome::Vulnerable => {
                format!("HEARTBLEED ({} bytes leaked, not kept)", h.echoed_bytes)
            }
            HeartbleedOutcome::NotVulnerable => "heartbeat, not Heartbleed".to_owned(),
            HeartbleedOutcome::Inconclusive => "heartbeat, Heartbleed not determined".to_owned(),
        }),
        (None, Some(false)) => parts.push("no heartbeat".to_owned()),
        _ => {}
    }
    if parts.is_empty() {
        "features not determined (no TLSv1.2-or-older ServerHello)".to_owned()
    } else {
        parts.join(" · ")
    }
}
