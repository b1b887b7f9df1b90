//! TLS handshakes as a modern client would make them (rustls: TLS 1.2 and 1.3,
//! its default suites), recording the certificate chain instead of failing on
//! it, plus a raw legacy hello when the modern handshake fails.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mailwarden_cert::TrustAnchors;
use mailwarden_model::{
    CertificateChain, Failure, FailureKind, LegacyHello, TlsHandshake, TlsVersion,
};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::conn::{human, io_failure, preview};

/// What every handshake needs: the crypto provider and the trust anchors.
#[derive(Clone)]
pub struct TlsSettings {
    provider: Arc<CryptoProvider>,
    anchors: Arc<TrustAnchors>,
}

impl TlsSettings {
    /// Settings with the given trust anchors and the aws-lc-rs provider.
    pub fn new(anchors: TrustAnchors) -> Self {
        TlsSettings {
            provider: Arc::new(rustls::crypto::aws_lc_rs::default_provider()),
            anchors: Arc::new(anchors),
        }
    }

    /// The trust anchors.
    pub fn anchors(&self) -> &TrustAnchors {
        &self.anchors
    }
}

/// Records the chain and checks handshake signatures, but never rejects a
/// certificate: judging it is the rules' job, after the fact.
#[derive(Debug)]
struct RecordingVerifier {
    chain: Mutex<Vec<Vec<u8>>>,
    signature_valid: Mutex<Option<bool>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl RecordingVerifier {
    fn note_signature(&self, ok: bool) {
        let mut slot = self
            .signature_valid
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        *slot = Some(slot.unwrap_or(true) && ok);
    }
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut chain = self.chain.lock().unwrap_or_else(|p| p.into_inner());
        *chain = std::iter::once(end_entity)
            .chain(intermediates)
            .map(|c| c.as_ref().to_vec())
            .collect();
        Ok(ServerCertVerified::assertion())
    }

    // A bad handshake signature is recorded, not fatal: keys that aws-lc-rs
    // refuses for signatures (RSA under 2048 bits) must not make TLS look broken.
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let ok =
            rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms).is_ok();
        self.note_signature(ok);
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let ok =
            rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms).is_ok();
        self.note_signature(ok);
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The name sent as SNI: DNS names only (RFC 6066 §3 forbids IP literals).
fn server_name(check_name: &str, ip: IpAddr) -> ServerName<'static> {
    if check_name.parse::<IpAddr>().is_err()
        && let Ok(name) = ServerName::try_from(check_name.to_owned())
    {
        return name;
    }
    ServerName::IpAddress(ip.into())
}

/// Runs a modern TLS handshake over `stream`. Returns the TLS stream when the
/// handshake completed, and in every case the observation.
pub async fn modern<S>(
    stream: S,
    check_name: &str,
    peer_ip: IpAddr,
    settings: &TlsSettings,
    timeout: Duration,
) -> (Option<TlsStream<S>>, TlsHandshake)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let started = std::time::Instant::now();
    let verifier = Arc::new(RecordingVerifier {
        chain: Mutex::new(Vec::new()),
        signature_valid: Mutex::new(None),
        algorithms: settings.provider.signature_verification_algorithms,
    });
    let config = rustls::ClientConfig::builder_with_provider(settings.provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12]);
    let mut config = match config {
        Ok(c) => c
            .dangerous()
            .with_custom_certificate_verifier(verifier.clone())
            .with_no_client_auth(),
        Err(e) => {
            let failure = Failure::new(FailureKind::Io, format!("TLS configuration: {e}"));
            return (None, failed(failure, None, started));
        }
    };
    config.enable_sni = true;
    let connector = TlsConnector::from(Arc::new(config));
    let name = server_name(check_name, peer_ip);
    let result = tokio::time::timeout(timeout, connector.connect(name, stream)).await;
    let chain_der = verifier
        .chain
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let chain = (!chain_der.is_empty()).then(|| analyze(&chain_der, check_name, settings));
    let signature = *verifier
        .signature_valid
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    match result {
        Err(_) => {
            let failure = Failure::new(
                FailureKind::IoTimeout,
                format!("TLS handshake did not complete within {}", human(timeout)),
            );
            (None, failed(failure, chain, started))
        }
        Ok(Err(e)) => {
            let (failure, alert) = classify(&e);
            let mut obs = failed(failure, chain, started);
            obs.alert_received = alert;
            (None, obs)
        }
        Ok(Ok(tls)) => {
            let (_, conn) = tls.get_ref();
            let obs = TlsHandshake {
                completed: true,
                failure: None,
                alert_received: None,
                version: conn.protocol_version().map(|v| TlsVersion(u16::from(v))),
                cipher_suite: conn
                    .negotiated_cipher_suite()
                    .map(|s| mailwarden_tls::suite_id(u16::from(s.suite()))),
                key_exchange_group: conn
                    .negotiated_key_exchange_group()
                    .map(|g| format!("{:?}", g.name())),
                server_signature_valid: signature,
                certificate_chain: chain,
                legacy_hello: None,
                duration_ms: started.elapsed().as_millis() as u64,
            };
            (Some(tls), obs)
        }
    }
}

fn failed(
    failure: Failure,
    chain: Option<CertificateChain>,
    started: std::time::Instant,
) -> TlsHandshake {
    TlsHandshake {
        completed: false,
        failure: Some(failure),
        alert_received: None,
        version: None,
        cipher_suite: None,
        key_exchange_group: None,
        server_signature_valid: None,
        certificate_chain: chain,
        legacy_hello: None,
        duration_ms: started.elapsed().as_millis() as u64,
    }
}

/// Builds the chain facts at the current time.
pub fn analyze(chain: &[Vec<u8>], check_name: &str, settings: &TlsSettings) -> CertificateChain {
    mailwarden_cert::analyze_chain(chain, check_name, &settings.anchors, jiff::Timestamp::now())
}

/// Maps a tokio-rustls error to the failure taxonomy and the alert received.
fn classify(e: &std::io::Error) -> (Failure, Option<u8>) {
    let Some(tls_error) = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    else {
        let mut f = io_failure(e);
        if f.kind == FailureKind::Io && e.kind() == std::io::ErrorKind::UnexpectedEof {
            f.kind = FailureKind::ClosedByPeer;
        }
        f.detail = format!("during the TLS handshake: {}", f.detail);
        return (f, None);
    };
    match tls_error {
        rustls::Error::AlertReceived(alert) => (
            Failure::new(
                FailureKind::HandshakeError,
                format!("the server sent the TLS alert {alert:?}"),
            ),
            Some(u8::from(*alert)),
        ),
        rustls::Error::InvalidMessage(m) => (
            Failure::new(
                FailureKind::ProtocolError,
                format!("the server's answer is not valid TLS ({m:?})"),
            ),
            None,
        ),
        other => (
            Failure::new(FailureKind::HandshakeError, other.to_string()),
            None,
        ),
    }
}

/// Sends a raw legacy ClientHello (TLS 1.0 to 1.2, broad suite list) and reads
/// the server's first flight: what an old client would get. Also captures
/// what a non-TLS service answers. Returns the observation and the
/// certificates, if the server sent them (TLS 1.2 and older send them in clear).
pub async fn legacy<S>(
    stream: &mut S,
    check_name: &str,
    timeout: Duration,
) -> (LegacyHello, Vec<Vec<u8>>, Option<Vec<u8>>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let sni = check_name.parse::<IpAddr>().is_err().then_some(check_name);
    let hello = mailwarden_tls::legacy_client_hello_with_random(sni, legacy_random());
    let mut obs = LegacyHello {
        version: None,
        cipher_suite: None,
        alert: None,
        failure: None,
    };
    let deadline = tokio::time::Instant::now() + timeout;
    if let Err(e) = tokio::time::timeout_at(deadline, stream.write_all(&hello))
        .await
        .unwrap_or_else(|_| {
            Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "write timed out",
            ))
        })
    {
        obs.failure = Some(io_failure(&e));
        return (obs, Vec::new(), None);
    }
    let mut reader = mailwarden_tls::ServerFlightReader::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => {
                obs.failure = Some(Failure::new(
                    FailureKind::IoTimeout,
                    format!(
                        "no complete answer to a legacy ClientHello within {}",
                        human(timeout)
                    ),
                ));
                break;
            }
            Ok(Err(e)) => {
                obs.failure = Some(io_failure(&e));
                break;
            }
            Ok(Ok(0)) => {
                obs.failure = Some(Failure::new(
                    FailureKind::ClosedByPeer,
                    "the server closed the connection after the legacy ClientHello",
                ));
                break;
            }
            Ok(Ok(n)) => n,
        };
        match reader.feed(&buf[..n]) {
            Ok(mailwarden_tls::Progress::NeedMore) => continue,
            Ok(mailwarden_tls::Progress::Complete(_)) => break,
            Err(e) => {
                let not_tls = reader.not_tls_prefix().map(<[u8]>::to_vec);
                obs.failure = Some(Failure::new(
                    if not_tls.is_some() {
                        FailureKind::NotMail
                    } else {
                        FailureKind::ProtocolError
                    },
                    match &not_tls {
                        Some(bytes) => format!("the answer is not TLS: {:?}", preview(bytes)),
                        None => e.to_string(),
                    },
                ));
                let flight = reader.flight();
                fill_from_flight(&mut obs, flight);
                return (
                    obs,
                    flight.certificates.clone().unwrap_or_default(),
                    not_tls,
                );
            }
        }
    }
    let flight = reader.flight();
    fill_from_flight(&mut obs, flight);
    if obs.version.is_some() || obs.alert.is_some() {
        // The hello exchange happened; a later close or timeout is not the news.
        obs.failure = None;
    }
    (obs, flight.certificates.clone().unwrap_or_default(), None)
}

fn fill_from_flight(obs: &mut LegacyHello, flight: &mailwarden_tls::ServerFlight) {
    let seen = flight.legacy_hello();
    obs.version = seen.version;
    obs.cipher_suite = seen.cipher_suite;
    obs.alert = seen.alert;
}

/// ClientHello randomness: not secret (no key is ever derived from it), only
/// unpredictable enough that servers do not treat hellos as replays.
fn legacy_random() -> [u8; 32] {
    use std::hash::{BuildHasher, Hasher};
    let mut out = [0u8; 32];
    for chunk in out.chunks_mut(8) {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
        );
        chunk.copy_from_slice(&h.finish().to_le_bytes());
    }
    out
}
