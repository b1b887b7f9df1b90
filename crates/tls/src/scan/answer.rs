//! What a probe brings back, and what it means for the enumeration.

use mailwarden_model::{Failure, FailureKind, SupportStatus};

use crate::error::Error;
use crate::heartbeat::HeartbeatReader;
use crate::server_flight::ServerFlight;
use crate::server_hello::ServerHello;
use crate::sslv2::Sslv2Answer;
use crate::wire::AlertDescription;

/// What the driver observed for one probe.
#[derive(Debug, Clone)]
pub enum Answer {
    /// The hello was never sent: the connection, the STARTTLS dialog or the
    /// server's load limits stopped it (kind `throttled` after the driver's
    /// retries).
    NotSent(Failure),
    /// The server's answer to a TLS (or SSL 3.0) ClientHello.
    Tls(Box<TlsAnswer>),
    /// The server's answer to an SSL 2.0 CLIENT-HELLO.
    Sslv2 {
        /// The answer, when one was read.
        answer: Option<Sslv2Answer>,
        /// Why reading ended without an answer (close, timeout, not SSL).
        ended: Option<Failure>,
    },
}

/// The server's answer to a ClientHello.
#[derive(Debug, Clone, Default)]
pub struct TlsAnswer {
    /// The flight, as far as it was read.
    pub flight: ServerFlight,
    /// A decoding error (not TLS, malformed, too large).
    pub error: Option<Error>,
    /// Why reading stopped before the flight was complete (close, reset,
    /// timeout); `None` when the flight completed.
    pub ended: Option<Failure>,
    /// For a Heartbleed probe: what came back after the heartbeat requests.
    pub heartbeat: Option<HeartbeatAnswer>,
}

/// What came back after the heartbeat requests (lengths only).
#[derive(Debug, Clone, Default)]
pub struct HeartbeatAnswer {
    /// The records read, by length.
    pub reader: HeartbeatReader,
    /// Why reading stopped, when it was not an alert (close, timeout).
    pub ended: Option<Failure>,
}

impl Answer {
    /// An answer made of a flight alone (tests, simulations).
    pub fn flight(flight: ServerFlight) -> Self {
        Answer::Tls(Box::new(TlsAnswer {
            flight,
            ..TlsAnswer::default()
        }))
    }
}

/// The meaning of an answer to a ClientHello.
#[derive(Debug)]
pub(crate) enum Reply<'a> {
    /// The server chose: a ServerHello or HelloRetryRequest.
    Chose {
        hello: &'a ServerHello,
        flight: &'a ServerFlight,
    },
    /// The server declined the offer.
    Refused(Refusal),
    /// Nothing conclusive: the probe is not known.
    Unknown(Failure),
}

/// How a server declined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    /// The fatal alert, if one was sent.
    pub alert: Option<AlertDescription>,
    /// In words.
    pub detail: String,
}

impl Refusal {
    /// protocol_version: the version is below the server's minimum (or
    /// above, for SSL 3.0 hellos to TLS-only servers).
    pub(crate) fn is_protocol_version(&self) -> bool {
        self.alert == Some(AlertDescription::PROTOCOL_VERSION)
    }

    /// A refusal that may not mean "nothing acceptable": a close without
    /// an alert, or an alert that hints at a server that failed on its own
    /// choice (internal_error) or could not read a long hello.
    pub(crate) fn is_ambiguous(&self) -> bool {
        matches!(
            self.alert,
            None | Some(
                AlertDescription::DECODE_ERROR
                    | AlertDescription::ILLEGAL_PARAMETER
                    | AlertDescription::RECORD_OVERFLOW
                    | AlertDescription::INTERNAL_ERROR
            )
        )
    }
}

/// Reads a TLS answer.
pub(crate) fn reply(answer: &Answer) -> Reply<'_> {
    let tls = match answer {
        Answer::NotSent(f) => return Reply::Unknown(f.clone()),
        Answer::Sslv2 { .. } => {
            return Reply::Unknown(Failure::new(
                FailureKind::ProtocolError,
                "an SSL 2.0 answer to a TLS probe",
            ));
        }
        Answer::Tls(tls) => tls,
    };
    if let Some(hello) = &tls.flight.server_hello {
        return Reply::Chose {
            hello,
            flight: &tls.flight,
        };
    }
    if let Some(alert) = tls.flight.alert {
        let name = alert
            .description
            .name()
            .map_or_else(|| format!("{}", alert.description.0), str::to_owned);
        return Reply::Refused(Refusal {
            alert: Some(alert.description),
            detail: format!("alert {name}"),
        });
    }
    if let Some(err) = &tls.error {
        let kind = match err {
            Error::NotTls { .. } => FailureKind::NotMail,
            _ => FailureKind::ProtocolError,
        };
        return Reply::Unknown(Failure::new(kind, err.to_string()));
    }
    match &tls.ended {
        // A close or reset in answer to the hello, with nothing sent: how
        // many servers refuse a version or a suite list.
        Some(f)
            if matches!(
                f.kind,
                FailureKind::ClosedByPeer | FailureKind::ConnectionReset
            ) && tls.flight.messages.is_empty() =>
        {
            Reply::Refused(Refusal {
                alert: None,
                detail: "connection closed after the ClientHello".to_owned(),
            })
        }
        Some(f) => Reply::Unknown(f.clone()),
        None => Reply::Unknown(Failure::new(
            FailureKind::ProtocolError,
            "no ServerHello and no alert",
        )),
    }
}

/// The status a failed probe gives what it asked about.
pub(crate) fn status_of(failure: &Failure) -> SupportStatus {
    if failure.kind == FailureKind::Throttled {
        SupportStatus::Throttled
    } else {
        SupportStatus::Error
    }
}
