//! Shared helpers for the probe's integration tests: the shared test bed and a
//! prober that trusts its CA.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use mailwarden_model::{
    Attempt, Capabilities, EndpointObservation, EnforcementProbe, ServiceRole, StartTlsExchange,
    TlsHandshake,
};
use mailwarden_probe::{ConnectPolicy, EndpointSpec, ProbeConfig, Prober, TlsSettings};
use mailwarden_testbed::Testbed;

pub fn testbed() -> &'static Testbed {
    Testbed::shared()
}

/// A prober with test-friendly timeouts (hostile servers must not make the suite slow).
pub fn prober(timeout: Duration) -> Arc<Prober> {
    let tb = testbed();
    let anchors = mailwarden_cert::TrustAnchors::mozilla()
        .with_ca_file(tb.ca_file())
        .expect("test CA loads");
    let config = ProbeConfig {
        timeout,
        silent_wait: Duration::from_secs(1).min(timeout),
        throttle_retries: 2,
        throttle_backoff: Duration::from_millis(100),
        connect: ConnectPolicy {
            connect_timeout: timeout,
            ..ConnectPolicy::default()
        },
        ..ProbeConfig::default()
    };
    Arc::new(Prober::new(config, TlsSettings::new(anchors)))
}

/// Probes a named test bed endpoint in the given role.
pub fn probe(name: &str, role: Option<ServiceRole>) -> EndpointObservation {
    probe_with(name, role, Duration::from_secs(10))
}

pub fn probe_with(name: &str, role: Option<ServiceRole>, timeout: Duration) -> EndpointObservation {
    let tb = testbed();
    let spec = EndpointSpec {
        target: name.to_owned(),
        address: tb.endpoint(name),
        role,
        check_name: "mail.test".to_owned(),
    };
    let prober = prober(timeout);
    runtime().block_on(async move { prober.probe(&spec).await })
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

pub fn caps(obs: &EndpointObservation) -> &Capabilities {
    obs.plaintext
        .as_ref()
        .and_then(|p| p.capabilities.value())
        .unwrap_or_else(|| panic!("no plaintext capabilities: {obs:#?}"))
}

pub fn starttls(obs: &EndpointObservation) -> &StartTlsExchange {
    obs.plaintext
        .as_ref()
        .and_then(|p| p.starttls.value())
        .unwrap_or_else(|| panic!("no STARTTLS exchange: {obs:#?}"))
}

pub fn starttls_handshake(obs: &EndpointObservation) -> &TlsHandshake {
    starttls(obs)
        .handshake
        .value()
        .unwrap_or_else(|| panic!("no handshake: {obs:#?}"))
}

pub fn implicit_handshake(obs: &EndpointObservation) -> &TlsHandshake {
    obs.implicit_tls
        .as_ref()
        .and_then(|s| s.handshake.value())
        .unwrap_or_else(|| panic!("no implicit handshake: {obs:#?}"))
}

pub fn enforcement(obs: &EndpointObservation) -> &[EnforcementProbe] {
    obs.plaintext
        .as_ref()
        .map(|p| p.enforcement.as_slice())
        .unwrap_or(&[])
}

pub fn lines_text<T>(a: &Attempt<Vec<T>>) -> String
where
    T: std::fmt::Display,
{
    a.value()
        .map(|v| {
            v.iter()
                .map(|l| l.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}
