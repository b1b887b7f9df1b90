//! Probing one endpoint (address and port): reachability, protocol, plaintext
//! dialog, STARTTLS, implicit TLS. Produces an [`EndpointObservation`] and
//! never fails: every problem becomes part of the observation.

use std::net::SocketAddr;
use std::time::Duration;

use mailwarden_model::{
    Attempt, EndpointObservation, EnforcementOutcome, Failure, FailureKind, ImplicitTlsSession,
    Line, PlaintextSession, PortState, Protocol, ServiceRole, ThrottleEvent, TlsHandshake,
};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;

use crate::Prober;
use crate::conn::{Conn, human};
use crate::connector::Link;
use crate::protocol::{self, FirstLine, Greeting};

mod tls;

/// One endpoint to probe.
#[derive(Debug, Clone)]
pub struct EndpointSpec {
    /// The target as the user gave it.
    pub target: String,
    /// Address and port.
    pub address: SocketAddr,
    /// The expected service (port table or declared).
    pub role: Option<ServiceRole>,
    /// The name certificates are checked against (and sent as SNI when it is a DNS name).
    pub check_name: String,
}

/// The bookkeeping of one endpoint probe.
struct Probe<'a> {
    prober: &'a Prober,
    spec: &'a EndpointSpec,
    connections: u32,
    throttling: Vec<ThrottleEvent>,
    /// Starts the TLS enumeration as soon as STARTTLS is accepted, while
    /// the modern handshake goes on (see [`crate::tls_scan::early`]).
    early_tls: Option<tokio::sync::oneshot::Sender<crate::tls_scan::EarlyStart>>,
    /// What the greeting says about how long the server holds a failed
    /// handshake's session.
    hold: Option<Duration>,
}

/// How a plaintext connection opened.
enum Opened {
    /// A mail greeting.
    Greeted(Conn<Link>, Greeting),
    /// The server said nothing within the wait.
    Silent,
    /// The server spoke, but not a mail protocol.
    NotMail(Vec<Line>),
    /// Every attempt was refused for load reasons.
    Throttled(Failure),
}

impl Prober {
    /// Probes one endpoint. Never fails: the observation says what happened.
    pub async fn probe(&self, spec: &EndpointSpec) -> EndpointObservation {
        let started = std::time::Instant::now();
        let (early_tx, early_rx) = tokio::sync::oneshot::channel();
        let mut probe = Probe {
            prober: self,
            spec,
            connections: 0,
            throttling: Vec::new(),
            early_tls: Some(early_tx),
            hold: None,
        };
        let mut obs = EndpointObservation {
            target: spec.target.clone(),
            address: spec.address,
            role: spec.role,
            state: PortState::Open,
            state_detail: None,
            protocol: None,
            plaintext: None,
            implicit_tls: None,
            tls_scan: None,
            non_mail_reply: Vec::new(),
            throttling: Vec::new(),
            connections: 0,
            duration_ms: 0,
        };
        let foundation = async {
            if spec.role.is_some_and(ServiceRole::implicit_tls) {
                probe.tls_first(&mut obs).await;
            } else {
                probe.plaintext_first(&mut obs).await;
            }
            // No STARTTLS: the early enumeration ends without a probe.
            probe.early_tls = None;
        };
        let ((), early) = tokio::join!(foundation, crate::tls_scan::early(self, spec, early_rx));
        obs.connections = probe.connections;
        obs.throttling = probe.throttling;
        crate::tls_scan::attach(self, spec, &mut obs, early).await;
        obs.duration_ms = started.elapsed().as_millis() as u64;
        obs
    }
}

/// The port state a connect failure means.
fn state_of_connect_failure(f: &Failure) -> PortState {
    match f.kind {
        FailureKind::ConnectionRefused => PortState::Closed,
        FailureKind::ConnectTimeout => PortState::Filtered,
        _ => PortState::Error,
    }
}

impl Probe<'_> {
    fn timeout(&self) -> Duration {
        self.prober.config.timeout
    }

    async fn connect(&mut self) -> Result<Conn<Link>, Failure> {
        self.connections += 1;
        let link = self.prober.connector.connect(self.spec.address).await?;
        Ok(Conn::new(link, self.timeout(), self.prober.config.limits))
    }

    /// Ports where the client speaks first with TLS (465, 993, 995).
    async fn tls_first(&mut self, obs: &mut EndpointObservation) {
        let session = match self.implicit_session().await {
            Err(f) => {
                obs.state = state_of_connect_failure(&f);
                obs.state_detail = Some(f);
                return;
            }
            Ok(s) => s,
        };
        let (session, protocol, not_tls) = session;
        obs.protocol = protocol;
        let completed = handshake_completed(&session.handshake);
        obs.implicit_tls = Some(session);
        if completed {
            if protocol.is_none() {
                obs.state = PortState::OpenNotMail;
            }
            return;
        }
        // The handshake failed: does the port speak plaintext instead?
        let wait = self.prober.config.silent_wait.min(self.timeout());
        match self.open_plaintext(wait).await {
            Err(f) => {
                obs.state = PortState::Error;
                obs.state_detail = Some(f);
            }
            Ok(Opened::Greeted(conn, greeting)) => {
                let (session, proto) = self.plaintext_dialog(conn, greeting).await;
                obs.protocol = Some(proto);
                if let Some(f) = session.capabilities.failure() {
                    // It spoke mail, then the dialog broke (flood, reset, nonsense).
                    obs.state = PortState::Error;
                    obs.state_detail = Some(f.clone());
                }
                obs.plaintext = Some(session);
            }
            Ok(Opened::Silent) => {
                obs.plaintext = Some(silent_session(wait));
                if let Some(reply) = not_tls {
                    obs.state = PortState::OpenNotMail;
                    obs.non_mail_reply = reply;
                } else if !saw_tls(obs.implicit_tls.as_ref()) {
                    obs.state = PortState::OpenNotMail;
                    obs.state_detail = Some(Failure::new(
                        FailureKind::NotMail,
                        "no TLS handshake and no plaintext greeting",
                    ));
                }
            }
            Ok(Opened::NotMail(lines)) => {
                obs.state = PortState::OpenNotMail;
                obs.non_mail_reply = lines;
            }
            Ok(Opened::Throttled(f)) => {
                obs.state = PortState::Throttled;
                obs.state_detail = Some(f);
            }
        }
    }

    /// Ports where the server speaks first in plaintext (25, 587, 143, 110, 4190, others).
    async fn plaintext_first(&mut self, obs: &mut EndpointObservation) {
        let wait = if self.spec.role.is_some() {
            self.timeout()
        } else {
            // On an unknown port a silent server may be waiting for a TLS hello.
            self.prober.config.silent_wait.min(self.timeout())
        };
        match self.open_plaintext(wait).await {
            Err(f) => {
                obs.state = match f.kind {
                    FailureKind::ConnectionRefused | FailureKind::ConnectTimeout => {
                        state_of_connect_failure(&f)
                    }
                    _ => PortState::Error,
                };
                obs.state_detail = Some(f);
            }
            Ok(Opened::Greeted(conn, greeting)) => {
                let (session, proto) = self.plaintext_dialog(conn, greeting).await;
                obs.protocol = Some(proto);
                if let Some(f) = session.capabilities.failure() {
                    // It spoke mail, then the dialog broke (flood, reset, nonsense).
                    obs.state = PortState::Error;
                    obs.state_detail = Some(f.clone());
                }
                obs.plaintext = Some(session);
            }
            Ok(Opened::NotMail(lines)) => {
                obs.state = PortState::OpenNotMail;
                obs.non_mail_reply = lines;
            }
            Ok(Opened::Throttled(f)) => {
                obs.state = PortState::Throttled;
                obs.state_detail = Some(f);
            }
            Ok(Opened::Silent) => {
                // A silent server may be TLS-first on a port we did not expect it on.
                obs.plaintext = Some(silent_session(wait));
                match self.implicit_session().await {
                    Err(f) => {
                        obs.state = PortState::Error;
                        obs.state_detail = Some(f);
                    }
                    Ok((session, protocol, not_tls)) => {
                        let tls_seen = saw_tls(Some(&session));
                        obs.protocol = protocol;
                        obs.implicit_tls = Some(session);
                        if protocol.is_none() {
                            obs.state = PortState::OpenNotMail;
                            if let Some(reply) = not_tls {
                                obs.non_mail_reply = reply;
                            } else if !tls_seen {
                                obs.state_detail = Some(Failure::new(
                                    FailureKind::NotMail,
                                    format!(
                                        "connected, but no greeting within {} and no TLS handshake",
                                        human(wait)
                                    ),
                                ));
                            }
                        }
                    }
                }
            }
        }
    }

    /// Connects and reads the greeting, retrying politely when throttled.
    async fn open_plaintext(&mut self, wait: Duration) -> Result<Opened, Failure> {
        let cfg = &self.prober.config;
        let (retries, base) = (cfg.throttle_retries, cfg.throttle_backoff);
        let mut last = Failure::new(FailureKind::Throttled, "throttled");
        for attempt in 0..=retries {
            let mut conn = self.connect().await?;
            let first = match conn.wait_for_data(Instant::now() + wait).await {
                Ok(false) => return Ok(Opened::Silent),
                Ok(true) => conn.read_line(conn.deadline()).await,
                Err(f) => Err(f),
            };
            let first = match first {
                Ok(line) => line,
                Err(f)
                    if matches!(
                        f.kind,
                        FailureKind::ConnectionReset | FailureKind::ClosedByPeer
                    ) =>
                {
                    // Dropped before any greeting: a connection limit, most likely.
                    last = f.clone();
                    self.backoff(
                        vec![Line::from(format!("({})", f).as_str())],
                        attempt,
                        retries,
                        base,
                    )
                    .await;
                    continue;
                }
                Err(f)
                    if f.kind == FailureKind::ReplyTooLarge || f.kind == FailureKind::IoTimeout =>
                {
                    // Bytes without a line end. If they start like a mail greeting the
                    // server is broken or hostile (drip, flood): report the failure;
                    // otherwise it is not a line protocol at all.
                    let bytes = conn.pending();
                    let head = Line::new(bytes[..bytes.len().min(512)].to_vec());
                    if protocol::recognize(&head) != FirstLine::NotMail {
                        return Err(f);
                    }
                    return Ok(Opened::NotMail(vec![head]));
                }
                Err(f) => return Err(f),
            };
            if protocol::recognize(&first) == FirstLine::NotMail {
                let mut lines = vec![first];
                // Keep what else is already buffered, as evidence (bounded).
                if let Some(next) = buffered_lines(&mut conn).await {
                    lines.extend(next);
                }
                return Ok(Opened::NotMail(lines));
            }
            let greeting = protocol::finish_greeting(&mut conn, first).await?;
            if greeting.refusal && is_throttle(&greeting) {
                last = Failure::new(
                    FailureKind::Throttled,
                    format!(
                        "the server refused service: {}",
                        protocol::first_text(&greeting.lines)
                    ),
                );
                self.backoff(greeting.lines.clone(), attempt, retries, base)
                    .await;
                continue;
            }
            return Ok(Opened::Greeted(conn, greeting));
        }
        Ok(Opened::Throttled(last))
    }

    async fn backoff(&mut self, evidence: Vec<Line>, attempt: u32, retries: u32, base: Duration) {
        let wait = if attempt < retries {
            base * 2u32.pow(attempt)
        } else {
            Duration::ZERO
        };
        self.throttling.push(ThrottleEvent {
            evidence,
            backoff_ms: wait.as_millis() as u64,
        });
        tokio::time::sleep(wait).await;
    }

    /// Greeting received: capabilities, enforcement checks, STARTTLS, capabilities after TLS.
    async fn plaintext_dialog(
        &mut self,
        mut conn: Conn<Link>,
        greeting: Greeting,
    ) -> (PlaintextSession, Protocol) {
        let mut protocol = greeting.protocol;
        let mut session = PlaintextSession {
            greeting: Attempt::completed(greeting.lines.clone()),
            capabilities: Attempt::skipped("the greeting refused service"),
            starttls: Attempt::skipped("the greeting refused service"),
            enforcement: Vec::new(),
        };
        if greeting.refusal {
            protocol::quit(&mut conn, protocol).await;
            return (session, protocol);
        }
        let caps = match protocol::capabilities(&mut conn, protocol, &greeting.lines).await {
            Ok((p, caps)) => {
                protocol = p;
                caps
            }
            Err(f) => {
                session.capabilities = Attempt::Failed { error: f };
                session.starttls = Attempt::skipped("capabilities could not be read");
                return (session, protocol);
            }
        };
        let starttls_offered = caps.starttls;
        self.hold = crate::tls_scan::hold_after_failed_handshake(&greeting.lines);
        session.capabilities = Attempt::completed(caps);
        session.enforcement = protocol::enforcement(&mut conn, protocol, self.spec.role).await;
        if !starttls_offered {
            session.starttls = Attempt::skipped("STARTTLS is not advertised");
            protocol::quit(&mut conn, protocol).await;
            return (session, protocol);
        }
        // After a POP3 USER was taken, the session awaits PASS: start clean.
        let pop3_user_taken = session.enforcement.iter().any(|e| {
            e.outcome == EnforcementOutcome::AcceptedWithoutTls && protocol == Protocol::Pop3
        });
        if pop3_user_taken {
            protocol::quit(&mut conn, protocol).await;
            session.starttls = self.starttls_on_new_connection(protocol).await;
        } else {
            session.starttls = self.starttls(conn, protocol).await;
        }
        (session, protocol)
    }
}

/// A throttling refusal (retry later) as opposed to a permanent one.
fn is_throttle(greeting: &Greeting) -> bool {
    let first = protocol::first_text(&greeting.lines);
    match greeting.protocol {
        // 4xx is temporary by definition (RFC 5321 §4.2.1); 554 is a policy refusal.
        Protocol::Smtp | Protocol::Lmtp => first.starts_with('4'),
        _ => true,
    }
}

fn handshake_completed(hs: &Attempt<TlsHandshake>) -> bool {
    hs.value().is_some_and(|h| h.completed)
}

/// True when the server spoke TLS at all (a ServerHello, certificate or alert was seen).
fn saw_tls(session: Option<&ImplicitTlsSession>) -> bool {
    let Some(hs) = session.and_then(|s| s.handshake.value()) else {
        return false;
    };
    hs.completed
        || hs.certificate_chain.is_some()
        || hs.alert_received.is_some()
        || hs
            .legacy_hello
            .as_ref()
            .is_some_and(|l| l.version.is_some() || l.alert.is_some())
}

fn silent_session(wait: Duration) -> PlaintextSession {
    PlaintextSession {
        greeting: Attempt::failed(
            FailureKind::IoTimeout,
            format!("no plaintext greeting within {}", human(wait)),
        ),
        capabilities: Attempt::skipped("no greeting"),
        starttls: Attempt::skipped("no greeting"),
        enforcement: Vec::new(),
    }
}

fn handshake_failed_early(failure: Failure) -> TlsHandshake {
    TlsHandshake {
        completed: false,
        failure: Some(failure),
        alert_received: None,
        version: None,
        cipher_suite: None,
        key_exchange_group: None,
        server_signature_valid: None,
        certificate_chain: None,
        legacy_hello: None,
        duration_ms: 0,
    }
}

/// Lines already received after a non-mail first line (at most a few, no waiting).
async fn buffered_lines<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut Conn<S>,
) -> Option<Vec<Line>> {
    let mut lines = Vec::new();
    let soon = Instant::now() + Duration::from_millis(200);
    while lines.len() < 8 {
        match conn.read_line(soon).await {
            Ok(l) => lines.push(l),
            Err(_) => break,
        }
    }
    (!lines.is_empty()).then_some(lines)
}
