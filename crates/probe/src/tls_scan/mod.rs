//! The TLS enumeration of an endpoint whose dialog reached TLS: drives the
//! sans-IO [`Planner`] of `mailwarden-tls` over real connections.
//!
//! Every probe is a fresh connection through the prober's [`Connector`]
//! (per-host concurrency limit and pacing), repeats the STARTTLS dialog
//! where the port needs it ([`protocol::reach_starttls`]), sends one hello
//! and reads one answer within the step timeout and the reader's byte caps.
//! Probes the planner hands out together run concurrently; the connector
//! decides how many are actually open at once. A server that throttles
//! (SMTP 421, a reset before the greeting) is retried with backoff; when it
//! keeps refusing, what the probe asked about is `throttled`, never
//! "not supported", and the enumeration keeps everything learned so far.
//!
//! [`Connector`]: crate::Connector
//! [`protocol::reach_starttls`]: crate::protocol::reach_starttls

mod exchange;

use futures::StreamExt as _;
use futures::stream::FuturesUnordered;
use std::time::Duration;

use mailwarden_model::{
    Attempt, EndpointObservation, FailureKind, Line, PortState, SupportStatus, ThrottleEvent,
    TlsHandshake, TlsScan, TlsScanMode, TlsVersion,
};
use mailwarden_tls::scan::{Planner, ScanConfig};

use crate::{EndpointSpec, Prober};

pub(crate) use exchange::TlsPath;

/// The go-ahead for an early enumeration: STARTTLS was accepted.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EarlyStart {
    /// How TLS starts.
    pub path: TlsPath,
    /// What the greeting says about the server's hold after a failed
    /// handshake ([`hold_after_failed_handshake`]).
    pub hold: Option<Duration>,
}

/// An enumeration that ran alongside the endpoint's own dialog.
pub(crate) struct EarlyScan {
    path: TlsPath,
    scan: TlsScan,
    throttling: Vec<ThrottleEvent>,
}

/// Starts the enumeration as soon as the dialog says STARTTLS was
/// accepted, while the modern handshake (whose first use of aws-lc's
/// random generator costs 30 ms of jitter-entropy seeding), the
/// capabilities over TLS and QUIT go on. `None` when the enumeration is
/// off or STARTTLS never came (the sender was dropped): [`attach`] then
/// decides alone.
pub(crate) async fn early(
    prober: &Prober,
    spec: &EndpointSpec,
    go: tokio::sync::oneshot::Receiver<EarlyStart>,
) -> Option<EarlyScan> {
    let mode = prober.config.tls_scan?;
    let start = go.await.ok()?;
    let (scan, throttling) = run(prober, spec, start.path, mode, start.hold).await;
    Some(EarlyScan {
        path: start.path,
        scan,
        throttling,
    })
}

/// Runs the enumeration when the prober is configured for it and the
/// endpoint's dialog reached TLS (or takes the one that ran `early`), and
/// records it in `obs`: the scan, its connections (added to
/// `obs.connections`) and any throttling.
pub(crate) async fn attach(
    prober: &Prober,
    spec: &EndpointSpec,
    obs: &mut EndpointObservation,
    early: Option<EarlyScan>,
) {
    let Some(mode) = prober.config.tls_scan else {
        return;
    };
    let path = path_of(obs).filter(|_| obs.state == PortState::Open);
    let early = match early {
        Some(e) if Some(e.path) == path => Some(e),
        Some(e) => {
            // The dialog ended elsewhere than the go-ahead said: the
            // connections were made all the same.
            obs.connections += e.scan.connections;
            obs.throttling.extend(e.throttling);
            None
        }
        None => None,
    };
    if obs.state != PortState::Open {
        return;
    }
    let Some(path) = path else {
        obs.tls_scan = Some(Attempt::skipped(
            "no TLS to enumerate: neither STARTTLS nor implicit TLS reached a TLS answer",
        ));
        return;
    };
    let (mut scan, throttling) = match early {
        Some(e) => (e.scan, e.throttling),
        None => {
            let hold = obs
                .plaintext
                .as_ref()
                .and_then(|pt| pt.greeting.value())
                .and_then(|g| hold_after_failed_handshake(g));
            run(prober, spec, path, mode, hold).await
        }
    };
    if let Some((version, suite)) = completed_handshake(obs) {
        scan.mark_completed_handshake(version, suite);
    }
    obs.connections += scan.connections;
    obs.throttling.extend(throttling);
    let answered = scan
        .versions
        .iter()
        .any(|v| matches!(v.status, SupportStatus::Accepted | SupportStatus::Refused));
    obs.tls_scan = Some(if answered {
        Attempt::completed(scan)
    } else {
        let detail = scan
            .versions
            .iter()
            .find_map(|v| v.detail.clone())
            .unwrap_or_else(|| "no probe was answered".to_owned());
        let throttled = scan
            .versions
            .iter()
            .all(|v| v.status == SupportStatus::Throttled);
        let kind = if throttled {
            FailureKind::Throttled
        } else {
            FailureKind::HandshakeError
        };
        Attempt::failed(kind, format!("no probe was answered: {detail}"))
    });
}

/// How long Exim keeps a session after a failed TLS handshake: its GnuTLS
/// code sleeps 500 ms (`millisleep(500)` in `tls-gnu.c`) before the child
/// exits, and the daemon counts the child against `smtp_accept_max`
/// (default 20) until it has reaped it. Every probe is a failed handshake
/// for the server, so without this 50 probes a second fill Exim's slots
/// and the rest get `421 Too many concurrent SMTP connections`. The margin
/// covers the child's logging, exit and reaping on a busy machine.
pub(crate) const EXIM_HOLD: Duration = Duration::from_millis(550);

/// How long the server is known to keep a session busy after a failed
/// handshake, from the software its greeting names (only Exim, so far).
pub(crate) fn hold_after_failed_handshake(greeting: &[Line]) -> Option<Duration> {
    let exim = greeting.iter().any(|l| {
        l.text()
            .split_whitespace()
            .any(|w| w.eq_ignore_ascii_case("exim"))
    });
    exim.then_some(EXIM_HOLD)
}

/// How TLS starts, if the dialog got there: STARTTLS accepted (whatever
/// the modern handshake did next), or an implicit-TLS port that answered
/// in TLS.
pub(crate) fn path_of(obs: &EndpointObservation) -> Option<TlsPath> {
    if let (Some(protocol), Some(pt)) = (obs.protocol, &obs.plaintext)
        && pt.starttls.value().is_some_and(|ex| ex.accepted)
    {
        return Some(TlsPath::StartTls(protocol));
    }
    let hs = obs.implicit_tls.as_ref()?.handshake.value()?;
    let spoke_tls = hs.completed
        || hs.certificate_chain.is_some()
        || hs.alert_received.is_some()
        || hs
            .legacy_hello
            .as_ref()
            .is_some_and(|l| l.version.is_some() || l.alert.is_some());
    spoke_tls.then_some(TlsPath::Implicit)
}

/// The version and suite of the foundation's completed modern handshake.
fn completed_handshake(obs: &EndpointObservation) -> Option<(TlsVersion, Option<u16>)> {
    let implicit = obs.implicit_tls.as_ref().and_then(|i| i.handshake.value());
    let starttls = obs
        .plaintext
        .as_ref()
        .and_then(|p| p.starttls.value())
        .and_then(|ex| ex.handshake.value());
    let hs: &TlsHandshake = implicit.into_iter().chain(starttls).find(|h| h.completed)?;
    Some((hs.version?, hs.cipher_suite.as_ref().map(|s| s.code)))
}

/// Runs the planner to the end over real connections.
pub(crate) async fn run(
    prober: &Prober,
    spec: &EndpointSpec,
    path: TlsPath,
    mode: TlsScanMode,
    hold: Option<Duration>,
) -> (TlsScan, Vec<ThrottleEvent>) {
    let started = std::time::Instant::now();
    let sni = mailwarden_tls::sni_host_name(&spec.check_name);
    let mut config = ScanConfig::new(mode, sni.as_deref());
    // A server that keeps every probe's slot for a while is limited by how
    // many probes there are, not by how long they wait for each other: no
    // lanes (they cost a refusal each).
    config.lanes = hold.is_none();
    let mut planner = Planner::new(config);
    let mut running = FuturesUnordered::new();
    let mut connections = 0u32;
    let mut throttling = Vec::new();
    loop {
        for request in planner.poll() {
            running.push(async move {
                let (answer, cost) =
                    exchange::exchange(prober, spec.address, path, &request, hold).await;
                (request.id, answer, cost)
            });
        }
        let Some((id, answer, cost)) = running.next().await else {
            if planner.is_done() {
                break;
            }
            continue;
        };
        connections += cost.connections;
        throttling.extend(cost.throttling);
        planner.answer(id, answer);
    }
    let finished = planner.finish();
    let mut scan = finished.scan;
    for (index, der) in finished.leaves {
        if let Some(key) = scan.certificate_keys.get_mut(index) {
            let cert = mailwarden_cert::parse_certificate(&der);
            key.public_key = Some(cert.public_key);
            key.sha256 = Some(cert.sha256);
        }
    }
    scan.connections = connections;
    scan.duration_ms = started.elapsed().as_millis() as u64;
    (scan, throttling)
}
