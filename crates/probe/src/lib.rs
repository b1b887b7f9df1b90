//! Speaks SMTP, LMTP, IMAP, POP3 and ManageSieve to mail endpoints and records
//! what they say: greetings, capabilities before and after TLS, STARTTLS or
//! implicit TLS handshakes, certificate chains, and whether a client may
//! authenticate or send mail without TLS.
//!
//! With [`ProbeConfig::tls_scan`] set, every port whose dialog reached TLS
//! is then enumerated (versions, suites, groups, features; see the
//! `tls_scan` module) with hand-built ClientHellos on further connections.
//!
//! Probes observe; they never judge. Every step is an
//! [`Attempt`](mailwarden_model::Attempt), every read has a deadline and a byte
//! cap, and connections are paced per host (see [`connector`]). The protocol is
//! recognized from what the server says, not from the port number.
#![deny(missing_docs)]

pub mod conn;
pub mod connector;
mod endpoint;
pub mod handshake;
pub mod protocol;
mod resolve;
mod tls_scan;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use mailwarden_model::EndpointObservation;

pub use connector::{ConnectPolicy, Connector};
pub use endpoint::EndpointSpec;
pub use handshake::TlsSettings;
pub use resolve::{check_name_for, resolve};

/// How a probe behaves.
#[derive(Debug, Clone)]
pub struct ProbeConfig {
    /// Deadline of each network step (a reply, a write, a handshake).
    pub timeout: Duration,
    /// How long to wait for a greeting before concluding a server is silent
    /// (on ports with no known role, and for the plaintext check on implicit-TLS ports).
    pub silent_wait: Duration,
    /// Reply caps.
    pub limits: conn::Limits,
    /// How often to retry after the server throttled us.
    pub throttle_retries: u32,
    /// First backoff after throttling; doubles on each retry.
    pub throttle_backoff: Duration,
    /// Send a raw legacy ClientHello when the modern handshake fails.
    pub legacy_hello: bool,
    /// Connection limits.
    pub connect: ConnectPolicy,
    /// Enumerate what each port's TLS accepts (versions, suites, groups,
    /// features) after the dialog reached TLS; `None`: off.
    pub tls_scan: Option<mailwarden_model::TlsScanMode>,
}

impl Default for ProbeConfig {
    fn default() -> Self {
        ProbeConfig {
            timeout: Duration::from_secs(10),
            silent_wait: Duration::from_secs(3),
            limits: conn::Limits::default(),
            throttle_retries: 2,
            throttle_backoff: Duration::from_secs(1),
            legacy_hello: true,
            connect: ConnectPolicy::default(),
            tls_scan: None,
        }
    }
}

/// Probes endpoints with shared connection limits and TLS settings.
pub struct Prober {
    config: ProbeConfig,
    connector: Connector,
    tls: TlsSettings,
    /// True once aws-lc's random generator is seeded.
    rng_ready: tokio::sync::watch::Receiver<bool>,
}

impl Prober {
    /// A prober; `tls` carries the trust anchors certificates are validated against.
    ///
    /// Seeds aws-lc's random generator on a thread of its own at once: its
    /// first use costs about 30 ms of CPU (jitter entropy), which would
    /// otherwise stall the first modern handshake and, with it, the TLS
    /// enumeration that runs alongside (see [`Prober::rng_ready`]).
    pub fn new(config: ProbeConfig, tls: TlsSettings) -> Self {
        let (ready, rng_ready) = tokio::sync::watch::channel(false);
        let seeded = std::thread::Builder::new()
            .name("mailwarden-rng-seed".into())
            .spawn(move || {
                let random = rustls::crypto::aws_lc_rs::default_provider().secure_random;
                let _ = random.fill(&mut [0u8; 1]);
                let _ = ready.send(true);
            });
        if seeded.is_err() {
            // No thread: the first handshake seeds it, as it would anyway
            // (the sender is gone, so nobody waits).
        }
        Prober {
            connector: Connector::new(config.connect),
            config,
            tls,
            rng_ready,
        }
    }

    /// Waits (without blocking the task) until aws-lc's random generator is
    /// seeded, so that a handshake never stalls the futures polled with it.
    pub(crate) async fn rng_ready(&self) {
        let mut ready = self.rng_ready.clone();
        let _ = ready.wait_for(|seeded| *seeded).await;
    }

    /// The configuration.
    pub fn config(&self) -> &ProbeConfig {
        &self.config
    }

    /// Probes all endpoints concurrently (bounded by the connection policy) and
    /// returns the observations in the order of `specs`. `on_done` is called as
    /// each endpoint finishes (for progress display).
    pub async fn probe_all(
        self: &Arc<Self>,
        specs: Vec<EndpointSpec>,
        on_done: impl Fn(&EndpointObservation) + Send + Sync,
    ) -> Vec<EndpointObservation> {
        let on_done = &on_done;
        let mut results: Vec<(usize, EndpointObservation)> =
            futures::stream::iter(specs.into_iter().enumerate())
                .map(|(i, spec)| {
                    let prober = self.clone();
                    async move {
                        let obs = prober.probe(&spec).await;
                        on_done(&obs);
                        (i, obs)
                    }
                })
                // Endpoints are cheap to start; the connector bounds real concurrency.
                .buffer_unordered(self.config.connect.concurrency.max(1) * 4)
                .collect()
                .await;
        results.sort_by_key(|(i, _)| *i);
        results.into_iter().map(|(_, o)| o).collect()
    }
}
