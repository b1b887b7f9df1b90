//! STARTTLS on a connection of its own, the STARTTLS exchange itself, what a
//! legacy hello gets after a failed modern handshake, and implicit TLS
//! sessions: the TLS half of probing one endpoint.

use mailwarden_model::{
    Attempt, Failure, FailureKind, ImplicitTlsSession, Line, Protocol, StartTlsExchange,
    TlsHandshake,
};

use super::{Probe, handshake_failed_early};
use crate::conn::Conn;
use crate::connector::Link;
use crate::{handshake, protocol};

impl Probe<'_> {
    pub(super) async fn starttls_on_new_connection(
        &mut self,
        protocol: Protocol,
    ) -> Attempt<StartTlsExchange> {
        let mut conn = match self.connect().await {
            Ok(c) => c,
            Err(f) => return Attempt::Failed { error: f },
        };
        let deadline = conn.deadline();
        let greeting = match conn.read_line(deadline).await {
            Ok(first) => protocol::finish_greeting(&mut conn, first).await,
            Err(f) => Err(f),
        };
        if let Err(f) = greeting {
            return Attempt::Failed { error: f };
        }
        if protocol == Protocol::Pop3
            || protocol == Protocol::Imap
            || protocol == Protocol::ManageSieve
        {
            return self.starttls(conn, protocol).await;
        }
        match protocol::capabilities(&mut conn, protocol, &[]).await {
            Ok(_) => self.starttls(conn, protocol).await,
            Err(f) => Attempt::Failed { error: f },
        }
    }

    /// STARTTLS, handshake, capabilities again.
    pub(super) async fn starttls(
        &mut self,
        mut conn: Conn<Link>,
        protocol: Protocol,
    ) -> Attempt<StartTlsExchange> {
        let reply = match protocol::starttls(&mut conn, protocol).await {
            Ok(r) => r,
            Err(f) => return Attempt::Failed { error: f },
        };
        let mut exchange = StartTlsExchange {
            command: reply.command,
            reply: reply.reply,
            accepted: reply.accepted,
            handshake: Attempt::skipped("the server refused STARTTLS"),
            capabilities_after_tls: Attempt::skipped("no TLS session"),
        };
        if !reply.accepted {
            protocol::quit(&mut conn, protocol).await;
            return Attempt::completed(exchange);
        }
        if let Some(tx) = self.early_tls.take() {
            let start = crate::tls_scan::EarlyStart {
                path: crate::tls_scan::TlsPath::StartTls(protocol),
                hold: self.hold,
            };
            // The receiver is gone only when no enumeration was asked for.
            let _ = tx.send(start);
        }
        let (link, early) = conn.into_parts();
        if !early.is_empty() {
            // Bytes after "go ahead" and before any ClientHello: the server is not
            // starting TLS (or is injecting plaintext into the TLS stream).
            let failure = Failure::new(
                FailureKind::ProtocolError,
                format!(
                    "the server sent data after accepting STARTTLS, before the TLS handshake: {:?}",
                    crate::conn::preview(&early)
                ),
            );
            exchange.handshake = Attempt::completed(handshake_failed_early(failure));
            return Attempt::completed(exchange);
        }
        self.prober.rng_ready().await;
        let (tls, mut hs) = handshake::modern(
            link,
            &self.spec.check_name,
            self.spec.address.ip(),
            &self.prober.tls,
            self.timeout(),
        )
        .await;
        match tls {
            Some(stream) => {
                let mut conn = Conn::new(stream, self.timeout(), self.prober.config.limits);
                exchange.capabilities_after_tls = Attempt::from_result(
                    protocol::capabilities_after_starttls(&mut conn, protocol).await,
                );
                protocol::quit(&mut conn, protocol).await;
            }
            None => {
                exchange.capabilities_after_tls = Attempt::skipped("the TLS handshake failed");
                self.legacy_after_failure(&mut hs, Some(protocol)).await;
            }
        }
        exchange.handshake = Attempt::completed(hs);
        Attempt::completed(exchange)
    }

    /// When the modern handshake failed: what does a legacy client get? Also
    /// fills in the chain from the legacy flight when rustls saw none.
    /// Returns what a non-TLS service answered, if that is what happened.
    pub(super) async fn legacy_after_failure(
        &mut self,
        hs: &mut TlsHandshake,
        starttls: Option<Protocol>,
    ) -> Option<Vec<Line>> {
        if !self.prober.config.legacy_hello {
            return None;
        }
        // A silent server will be silent again; do not wait twice.
        if hs
            .failure
            .as_ref()
            .is_some_and(|f| f.kind == FailureKind::IoTimeout)
        {
            return None;
        }
        let mut conn = match self.connect().await {
            Ok(c) => c,
            Err(f) => {
                hs.legacy_hello = Some(mailwarden_model::LegacyHello {
                    version: None,
                    cipher_suite: None,
                    alert: None,
                    failure: Some(f),
                });
                return None;
            }
        };
        if let Some(protocol) = starttls
            && let Err(f) = protocol::reach_starttls(&mut conn, protocol).await
        {
            hs.legacy_hello = Some(mailwarden_model::LegacyHello {
                version: None,
                cipher_suite: None,
                alert: None,
                failure: Some(f),
            });
            return None;
        }
        let (mut link, _) = conn.into_parts();
        let (legacy, certs, not_tls) =
            handshake::legacy(&mut link, &self.spec.check_name, self.timeout()).await;
        if hs.certificate_chain.is_none() && !certs.is_empty() {
            hs.certificate_chain = Some(handshake::analyze(
                &certs,
                &self.spec.check_name,
                &self.prober.tls,
            ));
        }
        hs.legacy_hello = Some(legacy);
        not_tls.map(|bytes| vec![Line::new(bytes)])
    }

    /// Implicit TLS: handshake at connect, then greeting and capabilities inside TLS.
    /// Returns the session, the protocol recognized inside TLS, and what a
    /// non-TLS service answered, if that is what happened.
    pub(super) async fn implicit_session(
        &mut self,
    ) -> Result<(ImplicitTlsSession, Option<Protocol>, Option<Vec<Line>>), Failure> {
        let conn = self.connect().await?;
        let (link, _) = conn.into_parts();
        self.prober.rng_ready().await;
        let (tls, mut hs) = handshake::modern(
            link,
            &self.spec.check_name,
            self.spec.address.ip(),
            &self.prober.tls,
            self.timeout(),
        )
        .await;
        let Some(stream) = tls else {
            let not_tls = self.legacy_after_failure(&mut hs, None).await;
            return Ok((
                ImplicitTlsSession {
                    handshake: Attempt::completed(hs),
                    greeting: Attempt::skipped("the TLS handshake failed"),
                    capabilities: Attempt::skipped("the TLS handshake failed"),
                },
                None,
                not_tls,
            ));
        };
        let mut conn = Conn::new(stream, self.timeout(), self.prober.config.limits);
        let mut session = ImplicitTlsSession {
            handshake: Attempt::completed(hs),
            greeting: Attempt::skipped("no greeting"),
            capabilities: Attempt::skipped("no greeting"),
        };
        let deadline = conn.deadline();
        let greeting = match conn.read_line(deadline).await {
            Ok(first) => protocol::finish_greeting(&mut conn, first).await,
            Err(f) => Err(f),
        };
        let greeting = match greeting {
            Ok(g) => g,
            Err(f) => {
                session.greeting = Attempt::Failed { error: f };
                return Ok((session, None, None));
            }
        };
        let mut protocol = greeting.protocol;
        session.greeting = Attempt::completed(greeting.lines.clone());
        if greeting.refusal {
            session.capabilities = Attempt::skipped("the greeting refused service");
            return Ok((session, Some(protocol), None));
        }
        session.capabilities =
            match protocol::capabilities(&mut conn, protocol, &greeting.lines).await {
                Ok((p, caps)) => {
                    protocol = p;
                    Attempt::completed(caps)
                }
                Err(f) => Attempt::Failed { error: f },
            };
        protocol::quit(&mut conn, protocol).await;
        Ok((session, Some(protocol), None))
    }
}
